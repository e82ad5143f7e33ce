//! `kubectl mm2 convert` against the bed's runbook deployment (rciis-prod, rejected by the
//! simulated Strimzi 0.51 operator): what it prints is applied where it says, accepted by the
//! 0.51 CRDs without pruning, Ready under the operator, and (v1) accepted by Strimzi 1.2.0's CRD.

use crate::cli::{Out, mm2, run};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use mm2_e2e::bed::ensure_namespace;
use mm2_e2e::crds::{self, parse_yaml_docs};
use mm2_e2e::fixtures::{self, password_of};
use mm2_e2e::{DEFAULT_NS, bed, wait_mm2_ready};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

fn assert_code(o: &Out, code: i32) {
    assert_eq!(o.code, code, "{o}");
}

/// A namespace name no other test uses.
fn fresh_ns(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "convert-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// resourceVersion of every KafkaMirrorMaker2 in rciis-prod, per cluster: convert must not write.
async fn mm2_versions() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for alias in ["aws", "proxmox"] {
        let api: Api<DynamicObject> =
            Api::namespaced_with(bed().client(alias).await, DEFAULT_NS, &crds::mm2("v1beta2"));
        for o in api.list(&ListParams::default()).await.expect("list mm2").items {
            out.insert(
                format!("{alias}/{}", o.metadata.name.unwrap_or_default()),
                o.metadata.resource_version.unwrap_or_default(),
            );
        }
    }
    out
}

/// Server-side apply `obj` in `alias` and read it back at the version it was applied at.
async fn apply_and_read(client: kube::Client, obj: &Value) -> Value {
    let applied = fixtures::apply(&client, obj, "flux-e2e")
        .await
        .expect("apply converted manifest");
    let version = obj["apiVersion"].as_str().unwrap().split('/').nth(1).unwrap();
    let api: Api<DynamicObject> = Api::namespaced_with(
        client,
        obj["metadata"]["namespace"].as_str().unwrap(),
        &crds::mm2(version),
    );
    let back = api
        .get(applied.metadata.name.as_deref().unwrap())
        .await
        .expect("read back");
    serde_json::to_value(back).expect("object as JSON")
}

/// Everything applied comes back (nothing pruned by the CRD schema).
fn assert_not_pruned(applied: &Value, back: &Value, what: &str) {
    assert_eq!(
        applied["spec"], back["spec"],
        "{what}: the API server pruned or changed the spec"
    );
    for (k, v) in applied["metadata"]["labels"].as_object().into_iter().flatten() {
        assert_eq!(&back["metadata"]["labels"][k], v, "{what}: label {k}");
    }
}

#[tokio::test]
async fn convert_each_runbook_direction_runs_where_it_says() {
    let b = bed();
    let before = mm2_versions().await;
    let passwords = [
        password_of(b, "aws", DEFAULT_NS).await.unwrap(),
        password_of(b, "proxmox", DEFAULT_NS).await.unwrap(),
    ];
    for (dir, target, source, rf) in [
        ("proxmox:aws", "aws", "proxmox", 1),
        ("aws:proxmox", "proxmox", "aws", 3),
    ] {
        // The bed's runbook MM2 of this direction is rejected (it runs in its source cluster).
        let j = mm2(&["convert", dir, "-n", DEFAULT_NS, "-o", "json"]);
        assert_code(&j, 0);
        let out = j.json();
        assert_eq!(out["schema"], "kubectl-mm2.dev/convert/v1");
        let docs = out["documents"].as_array().unwrap();
        assert_eq!(docs.len(), 1, "{j}");
        let d = &docs[0];
        assert_eq!(d["action"], "moved", "{j}");
        assert_eq!(d["from_cluster"], source);
        assert_eq!(d["placement"]["cluster"], target);
        assert_eq!(d["placement"]["context"], format!("rciis-{target}"));
        assert_eq!(
            d["placement"]["flux"]["path"],
            format!("./flux/apps/{target}/kafka")
        );
        let notes = d["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        // Broker counts were read from the clusters' KafkaNodePools.
        assert!(
            notes.contains(&format!("replication factors for {target} ({} broker", rf)),
            "{notes}"
        );
        assert!(notes.contains(&format!("./flux/apps/{source}/kafka")), "{notes}");
        let names: Vec<&str> = d["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["mm2-user", &format!("mm2-user-{source}")]);

        // -o yaml: the manifests on stdout with their placement header, notes on stderr.
        let y = mm2(&["convert", dir, "-n", DEFAULT_NS]);
        assert_code(&y, 0);
        assert!(
            y.stdout.contains(&format!(
                "# Cluster: {target} (context rciis-{target}), namespace {DEFAULT_NS}"
            )),
            "{y}"
        );
        assert!(
            y.stdout.contains(&format!(
                "# Flux path: ./flux/apps/{target}/kafka (Kustomization flux-system/kafka)"
            )),
            "{y}"
        );
        assert!(y.stdout.contains("kubectl clusterset copy-secret --mm2"), "{y}");
        assert!(y.stderr.contains("moved to"), "{y}");
        for o in [&j, &y] {
            for p in &passwords {
                assert!(!o.all().contains(p.as_str()), "a password was printed");
            }
        }
        let from_yaml = parse_yaml_docs(&y.stdout).unwrap();
        assert_eq!(from_yaml.len(), 1);
        assert_eq!(
            from_yaml[0], d["manifest"],
            "yaml and json print the same manifest"
        );

        // Applied in the cluster it names (fresh namespace), in both shapes.
        for to in ["v1", "v1beta2"] {
            let o = mm2(&["convert", dir, "-n", DEFAULT_NS, "--to", to, "-o", "json"]);
            assert_code(&o, 0);
            let mut manifest = o.json()["documents"][0]["manifest"].clone();
            assert_eq!(manifest["apiVersion"], format!("kafka.strimzi.io/{to}"));
            let ns = fresh_ns(to);
            manifest["metadata"]["namespace"] = json!(ns);
            let client = b.client(target).await;
            ensure_namespace(&client, &ns).await.unwrap();
            let back = apply_and_read(client, &manifest).await;
            assert_not_pruned(&manifest, &back, &format!("{dir} --to {to}"));
            let name = manifest["metadata"]["name"].as_str().unwrap();
            wait_mm2_ready(b, target, &ns, name, Duration::from_secs(60))
                .await
                .unwrap_or_else(|e| panic!("{dir} --to {to}: {e}"));
        }
    }
    assert_eq!(before, mm2_versions().await, "convert wrote to a cluster");
}

/// The Strimzi 1.2.0 KafkaMirrorMaker2 CRD (v1 only), a byte copy under tests/crds.
fn strimzi_1_2_crd() -> Value {
    let p =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("crds/strimzi-1.2.0/048-Crd-kafkamirrormaker2.yaml");
    let docs = parse_yaml_docs(&std::fs::read_to_string(&p).unwrap()).unwrap();
    docs.into_iter()
        .find(|d| d["kind"] == "CustomResourceDefinition")
        .expect("CRD")
}

#[tokio::test]
async fn v1_output_is_accepted_by_strimzi_1_2_crds() {
    let b = bed();
    let extra = b.spawn_extra_cluster("strimzi-1-2").await.expect("extra cluster");
    let client = extra.client().await;
    // Replace the bed's KafkaMirrorMaker2 CRD with Strimzi 1.2.0's, the way the bed installs CRDs.
    let crd_api: Api<DynamicObject> = Api::all_with(client.clone(), &crds::crd_resource());
    let name = "kafkamirrormaker2s.kafka.strimzi.io";
    let _ = crd_api.delete(name, &DeleteParams::default()).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while crd_api.get_opt(name).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "old CRD not deleted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    crds::install(&client, &[strimzi_1_2_crd()])
        .await
        .expect("install the 1.2.0 CRD");
    let served: Vec<String> = crd_api.get(name).await.unwrap().data["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(served, ["v1"], "Strimzi 1.2.0 serves v1 only");

    // The runbook's manifests, converted offline, applied and read back at v1.
    let text = format!(
        "{}---\n{}",
        mm2_core::output::to_yaml(&fixtures::runbook_mm2("proxmox", DEFAULT_NS)),
        mm2_core::output::to_yaml(&fixtures::runbook_mm2("aws", DEFAULT_NS))
    );
    let file = extra.kubeconfig.with_file_name("runbook-mm2s.yaml");
    std::fs::write(&file, &text).unwrap();
    let o = run(
        "kubectl-mm2",
        &extra.kubeconfig,
        &["convert", "-f", file.to_str().unwrap(), "-o", "json"],
    );
    assert_code(&o, 0);
    let docs = o.json()["documents"].as_array().unwrap().clone();
    assert_eq!(docs.len(), 2);
    for d in docs {
        let manifest = d["manifest"].clone();
        let back = apply_and_read(client.clone(), &manifest).await;
        assert_not_pruned(&manifest, &back, &format!("{} on Strimzi 1.2.0", d["name"]));
    }
    // And v1beta2 is refused there: only the v1 output is for 1.x.
    let o = run(
        "kubectl-mm2",
        &extra.kubeconfig,
        &[
            "convert",
            "-f",
            file.to_str().unwrap(),
            "--to",
            "v1beta2",
            "-o",
            "json",
        ],
    );
    let m = o.json()["documents"][0]["manifest"].clone();
    assert!(
        fixtures::apply(&client, &m, "flux-e2e").await.is_err(),
        "1.2.0 has no v1beta2"
    );
    extra.stop();
}

/// `kubectl-mm2 ARGS` with a kubeconfig that does not exist and `stdin` as given.
fn offline(args: &[&str], stdin: Option<&str>) -> Out {
    let start = Instant::now();
    let mut child = Command::new(mm2_e2e::product_bin("kubectl-mm2"))
        .args(args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env("NO_COLOR", "1")
        .env("XDG_CONFIG_HOME", "/nonexistent-config")
        .env_remove("MM2_CLUSTERSET_CONFIG")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run plugin");
    if let Some(s) = stdin {
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

#[test]
fn file_mode_works_offline_and_passes_other_documents_through() {
    let kafka_user = "apiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaUser\nmetadata:\n  name: mm2-user   # kept as written\n";
    let text = format!(
        "{}---\n{kafka_user}---\n{}",
        mm2_core::output::to_yaml(&fixtures::runbook_mm2("proxmox", DEFAULT_NS)),
        mm2_core::output::to_yaml(&fixtures::runbook_mm2("aws", DEFAULT_NS))
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kafka-mirrormaker2.yaml");
    std::fs::write(&file, &text).unwrap();
    let by_file = offline(
        &[
            "convert",
            "-f",
            file.to_str().unwrap(),
            "--brokers",
            "aws=1,proxmox=3",
        ],
        None,
    );
    let by_stdin = offline(
        &["convert", "-f", "-", "--brokers", "aws=1,proxmox=3"],
        Some(&text),
    );
    for o in [&by_file, &by_stdin] {
        assert_code(o, 0);
        let docs = parse_yaml_docs(&o.stdout).unwrap();
        assert_eq!(docs.len(), 3, "{o}");
        assert_eq!(docs[0]["spec"]["target"]["alias"], "aws");
        assert_eq!(docs[2]["spec"]["target"]["alias"], "proxmox");
        assert!(o.stdout.contains(kafka_user), "{o}");
        assert!(o.stdout.contains("# Cluster: aws, namespace rciis-prod"), "{o}");
    }
    assert_eq!(by_file.stdout, by_stdin.stdout);
    // Usage errors come before any cluster is asked.
    let none = offline(&["convert"], None);
    assert_code(&none, 2);
    assert!(none.stderr.contains("-f FILE"), "{none}");
    let both = offline(&["convert", "proxmox:aws", "-f", file.to_str().unwrap()], None);
    assert_code(&both, 2);
    let bad = offline(
        &["convert", "-f", file.to_str().unwrap(), "--brokers", "aws"],
        None,
    );
    assert_code(&bad, 2);
}

#[tokio::test]
async fn the_working_layout_is_only_reshaped_never_moved() {
    let ns = fresh_ns("working");
    fixtures::install_working(bed(), &ns)
        .await
        .expect("install the working layout");
    let o = mm2(&["convert", "proxmox:aws", "-n", &ns, "-o", "json"]);
    assert_code(&o, 0);
    let d = &o.json()["documents"][0];
    assert_eq!(d["action"], "reshaped", "{o}");
    assert_eq!(d["placement"]["context"], "rciis-aws");
    assert_eq!(d["manifest"]["spec"]["target"]["alias"], "aws");
    assert!(
        !d["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("delete")),
        "{o}"
    );
    let o = mm2(&[
        "convert",
        "proxmox:aws",
        "-n",
        &ns,
        "--to",
        "v1beta2",
        "-o",
        "json",
    ]);
    assert_code(&o, 0);
    assert_eq!(o.json()["documents"][0]["action"], "unchanged", "{o}");
}
