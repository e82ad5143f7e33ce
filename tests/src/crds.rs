//! CustomResourceDefinitions of the bed and `ApiResource`s of the kinds the harness writes.
//!
//! With `MM2_CRDS_DIR` set, every CRD in `$MM2_CRDS_DIR/{strimzi,mcs,flux}/*.yaml` is created
//! with a plain POST (server-side apply of CRDs carrying `x-kubernetes-validations` fails on
//! v1.20). Otherwise [`fallback_crds`] is installed.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use serde_json::{Value, json};

/// An `ApiResource` from group, version, kind and plural.
pub fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// `kafka.strimzi.io/<version>` KafkaMirrorMaker2.
pub fn mm2(version: &str) -> ApiResource {
    resource(
        "kafka.strimzi.io",
        version,
        "KafkaMirrorMaker2",
        "kafkamirrormaker2s",
    )
}
/// `kafka.strimzi.io/<version>` Kafka.
pub fn kafka(version: &str) -> ApiResource {
    resource("kafka.strimzi.io", version, "Kafka", "kafkas")
}
/// `kafka.strimzi.io/<version>` KafkaNodePool.
pub fn node_pool(version: &str) -> ApiResource {
    resource("kafka.strimzi.io", version, "KafkaNodePool", "kafkanodepools")
}
/// `kafka.strimzi.io/<version>` KafkaUser.
pub fn kafka_user(version: &str) -> ApiResource {
    resource("kafka.strimzi.io", version, "KafkaUser", "kafkausers")
}
/// `multicluster.x-k8s.io/v1alpha1` ServiceExport.
pub fn service_export() -> ApiResource {
    resource(
        "multicluster.x-k8s.io",
        "v1alpha1",
        "ServiceExport",
        "serviceexports",
    )
}
/// `multicluster.x-k8s.io/v1alpha1` ServiceImport.
pub fn service_import() -> ApiResource {
    resource(
        "multicluster.x-k8s.io",
        "v1alpha1",
        "ServiceImport",
        "serviceimports",
    )
}
/// `kustomize.toolkit.fluxcd.io/v1` Kustomization.
pub fn kustomization() -> ApiResource {
    resource(
        "kustomize.toolkit.fluxcd.io",
        "v1",
        "Kustomization",
        "kustomizations",
    )
}
/// `source.toolkit.fluxcd.io/v1` GitRepository.
pub fn git_repository() -> ApiResource {
    resource(
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
        "gitrepositories",
    )
}
/// `apiextensions.k8s.io/v1` CustomResourceDefinition.
pub fn crd_resource() -> ApiResource {
    resource(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
    )
}

/// Parses every YAML document of `text` into JSON values (empty documents are skipped).
pub fn parse_yaml_docs(text: &str) -> Result<Vec<Value>> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| anyhow!("{e}"))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Every CustomResourceDefinition in `dir/{strimzi,mcs,flux}/*.yaml|*.yml` (sorted by file name).
pub fn crds_from_dir(dir: &Path) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for sub in ["strimzi", "mcs", "flux"] {
        let d = dir.join(sub);
        let mut files: Vec<_> = std::fs::read_dir(&d)
            .with_context(|| format!("read {}", d.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f)?;
            let docs = parse_yaml_docs(&text).with_context(|| format!("parse {}", f.display()))?;
            out.extend(
                docs.into_iter()
                    .filter(|d| d["kind"] == "CustomResourceDefinition"),
            );
        }
    }
    if out.is_empty() {
        bail!(
            "no CustomResourceDefinition under {}/{{strimzi,mcs,flux}}",
            dir.display()
        );
    }
    Ok(out)
}

/// The CRDs the bed installs: `$MM2_CRDS_DIR` when set, else [`fallback_crds`].
pub fn selected_crds() -> Result<Vec<Value>> {
    match std::env::var_os("MM2_CRDS_DIR").filter(|d| !d.is_empty()) {
        Some(d) => crds_from_dir(Path::new(&d)),
        None => Ok(fallback_crds()),
    }
}

/// Creates each CRD (plain POST; an existing one is left alone) and waits until all are
/// Established.
pub async fn install(client: &Client, crds: &[Value]) -> Result<()> {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &crd_resource());
    let mut names = Vec::new();
    for crd in crds {
        let obj: DynamicObject = serde_json::from_value(crd.clone())?;
        let name = obj
            .metadata
            .name
            .clone()
            .ok_or_else(|| anyhow!("CRD without a name"))?;
        match api.create(&PostParams::default(), &obj).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.is_already_exists() => {}
            Err(e) => return Err(anyhow!(e).context(format!("create CRD {name}"))),
        }
        names.push(name);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for name in names {
        loop {
            let o = api.get(&name).await?;
            let established = o.data["status"]["conditions"]
                .as_array()
                .map(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "Established" && c["status"] == "True")
                })
                .unwrap_or(false);
            if established {
                break;
            }
            if Instant::now() > deadline {
                bail!("CRD {name} not Established after 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

fn preserve() -> Value {
    json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

fn open_schema() -> Value {
    json!({"openAPIV3Schema": {"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
        "spec": preserve(), "status": preserve()}}})
}

/// Marks a generated CRD as the harness's fallback (the bed test tells it from upstream by this).
fn fallback_label(mut crd: Value) -> Value {
    crd["metadata"]["labels"] = json!({"mm2-e2e/fallback": "true"});
    crd
}

/// The CRDs installed when `MM2_CRDS_DIR` is not set. Same groups, kinds, plurals, versions,
/// storage versions and subresources as upstream (Strimzi 0.51, MCS API v0.5.0, Flux v2).
///
/// KafkaMirrorMaker2, ServiceExport, ServiceImport and Kustomization are generated from
/// mm2-core's typed views ([`crate::crds_generated`]): the fields we model are typed, the
/// upstream fields we do not model are listed, and anything else is pruned as upstream would prune
/// it; at KafkaMirrorMaker2 `v1` the v1beta2-only topology is absent, so reading an old-shape object
/// at `v1` prunes it. Kafka, KafkaNodePool, KafkaUser and GitRepository, which we have no typed
/// views of, are hand-written minimal structural CRDs that keep every unknown field.
pub fn fallback_crds() -> Vec<Value> {
    use crate::crds_generated::{self as generated, Version as Ver, crd};
    let strimzi = |kind: &str, plural: &str, short: &[&str], scale: bool| {
        crd(
            "kafka.strimzi.io",
            kind,
            plural,
            short,
            &["strimzi"],
            vec![
                Ver {
                    name: "v1",
                    storage: false,
                    schema: open_schema(),
                },
                Ver {
                    name: "v1beta2",
                    storage: true,
                    schema: open_schema(),
                },
            ],
            scale,
            json!([]),
        )
    };
    vec![
        fallback_label(strimzi("Kafka", "kafkas", &["k"], false)),
        fallback_label(strimzi("KafkaNodePool", "kafkanodepools", &["knp"], true)),
        fallback_label(strimzi("KafkaUser", "kafkausers", &["ku"], false)),
        fallback_label(generated::kafkamirrormaker2()),
        fallback_label(generated::serviceexport()),
        fallback_label(generated::serviceimport()),
        fallback_label(generated::kustomization()),
        fallback_label(crd(
            "source.toolkit.fluxcd.io",
            "GitRepository",
            "gitrepositories",
            &["gitrepo"],
            &[],
            vec![Ver {
                name: "v1",
                storage: true,
                schema: open_schema(),
            }],
            false,
            json!([]),
        )),
    ]
}
