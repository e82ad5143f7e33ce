//! `export`: the runbook's Phase 1 as a command. A ServiceExport for an existing Service, or with
//! `--kafka` also the uniquely named Service that selects the Strimzi broker pods.
//!
//! Before writing, the clusterset is checked: MCS merges same-named exports of all clusters into
//! one service, so the same name exported elsewhere with other ports or another type is a
//! conflict the oldest export wins (mcs-flux.md §2.3).

use super::apply::{Applied, apply};
use super::members::Clusterset;
use crate::clients::ContextClient;
use crate::error::{Error, Result};
use crate::resources::{api_resource, flux, mcs};
use crate::write::DryRun;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A port as MCS compares it (name, port, protocol; no targetPort in a ServiceImport).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PortSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub port: i64,
    pub protocol: String,
}

impl std::fmt::Display for PortSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{n} {}/{}", self.port, self.protocol),
            None => write!(f, "{}/{}", self.port, self.protocol),
        }
    }
}

/// What an export contributes to the clusterset service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExportShape {
    /// `ClusterSetIP` or `Headless` (ServiceImport types).
    #[serde(rename = "type")]
    pub type_: String,
    pub ports: Vec<PortSpec>,
}

impl std::fmt::Display for ExportShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "type {}, ports [{}]",
            self.type_,
            self.ports
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The shape of a Service (`spec` as JSON): Headless when `clusterIP: None`.
pub fn shape_of_service(spec: &Value) -> ExportShape {
    let headless = spec["clusterIP"].as_str() == Some("None");
    let mut ports: Vec<PortSpec> = spec["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| PortSpec {
            name: p["name"].as_str().map(str::to_string),
            port: p["port"].as_i64().unwrap_or_default(),
            protocol: p["protocol"].as_str().unwrap_or("TCP").to_string(),
        })
        .collect();
    ports.sort();
    ExportShape {
        type_: if headless { "Headless" } else { "ClusterSetIP" }.into(),
        ports,
    }
}

/// The fields in which two exports of one name disagree, named as Cilium's conflict reasons are.
pub fn conflicts(a: &ExportShape, b: &ExportShape) -> Vec<&'static str> {
    let mut out = Vec::new();
    if a.type_ != b.type_ {
        out.push("TypeConflict");
    }
    if a.ports != b.ports {
        out.push("PortConflict");
    }
    out
}

/// The Service the runbook writes for a Kafka cluster (ports 9092 tcp-scram, 9093 tcp-plain).
pub fn kafka_service(name: &str, namespace: &str, kafka: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "type": "ClusterIP",
            "selector": {
                "strimzi.io/broker-role": "true",
                "strimzi.io/cluster": kafka,
                "strimzi.io/kind": "Kafka",
                "strimzi.io/name": format!("{kafka}-kafka"),
            },
            "ports": [
                {"name": "tcp-scram", "port": 9092, "targetPort": 9092, "protocol": "TCP"},
                {"name": "tcp-plain", "port": 9093, "targetPort": 9093, "protocol": "TCP"},
            ],
        },
    })
}

/// A ServiceExport (it has no spec: its name is the Service it exports).
pub fn service_export(name: &str, namespace: &str, version: &str) -> Value {
    json!({
        "apiVersion": format!("{}/{version}", mcs::GROUP),
        "kind": mcs::EXPORT_KIND,
        "metadata": {"name": name, "namespace": namespace},
    })
}

/// Multi-document YAML for a Git repository, `---` before each document like the runbook.
pub fn manifests_yaml(docs: &[Value]) -> String {
    docs.iter()
        .map(|d| format!("---\n{}", crate::output::to_yaml(d)))
        .collect()
}

pub fn service_resource() -> kube::core::ApiResource {
    api_resource("", "v1", "Service", "services")
}

pub fn export_resource(version: &str) -> kube::core::ApiResource {
    api_resource(mcs::GROUP, version, mcs::EXPORT_KIND, mcs::EXPORT_PLURAL)
}

pub fn import_resource(version: &str) -> kube::core::ApiResource {
    api_resource(mcs::GROUP, version, mcs::IMPORT_KIND, mcs::IMPORT_PLURAL)
}

/// The MCS version to use in a cluster: `v1alpha1` (runbook, Cilium) while served, else `v1beta1`.
pub async fn mcs_version(cc: &ContextClient) -> Result<String> {
    let served = crate::resources::versions::served_versions(cc, mcs::GROUP, mcs::EXPORT_KIND).await?;
    Ok(["v1alpha1", "v1beta1"]
        .into_iter()
        .find(|v| served.serves(v))
        .map(str::to_string)
        .or_else(|| served.preferred.clone())
        .unwrap_or_else(|| mcs::VERSION.into()))
}

/// The same name exported from another cluster.
#[derive(Debug, Clone, Serialize)]
pub struct PeerExport {
    pub context: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// The peer's Service (None: exported without a Service).
    pub shape: Option<ExportShape>,
    /// Conflict reasons against ours (empty: compatible).
    pub conflicts: Vec<&'static str>,
}

/// Peers we could not ask (they may hold a conflicting export).
#[derive(Debug, Clone, Serialize)]
pub struct Unchecked {
    pub context: String,
    pub error: String,
}

/// Look for `name` exported from every other member of the clusterset.
pub async fn peer_exports(
    cs: &Clusterset,
    exclude_context: &str,
    name: &str,
    ours: &ExportShape,
) -> (Vec<PeerExport>, Vec<Unchecked>) {
    let ns = cs.namespace.clone();
    let peers: Vec<&ContextClient> = cs
        .clients
        .values()
        .filter(|c| c.context != exclude_context)
        .collect();
    let results = futures::future::join_all(peers.iter().map(|cc| {
        let ns = ns.clone();
        async move {
            let version = mcs_version(cc).await?;
            let Some(_) = cc.get_opt(&export_resource(&version), &ns, name).await? else {
                return Ok(None);
            };
            let svc = cc.get_opt(&service_resource(), &ns, name).await?;
            Ok::<_, Error>(Some(svc.map(|s| shape_of_service(&s.data["spec"]))))
        }
    }))
    .await;
    let mut found = Vec::new();
    let mut unchecked: Vec<Unchecked> = cs
        .problems
        .iter()
        .filter(|p| p.context != exclude_context)
        .map(|p| Unchecked {
            context: p.context.clone(),
            error: p.error.to_string(),
        })
        .collect();
    for (cc, r) in peers.iter().zip(results) {
        match r {
            Ok(None) => {}
            // No MCS CRDs there: nothing can be exported from it.
            Err(Error::CrdMissing { .. }) => {}
            Ok(Some(shape)) => found.push(PeerExport {
                context: cc.context.clone(),
                alias: cs.alias_of(&cc.context).map(str::to_string),
                conflicts: shape.as_ref().map(|s| conflicts(ours, s)).unwrap_or_default(),
                shape,
            }),
            Err(e) => unchecked.push(Unchecked {
                context: cc.context.clone(),
                error: e.to_string(),
            }),
        }
    }
    (found, unchecked)
}

/// Is the namespace (or anything in it we look at) applied by Flux? Returns the Kustomization.
pub async fn flux_owner(
    cc: &ContextClient,
    ns: &str,
    objects: &[Option<&BTreeMap<String, String>>],
) -> Option<String> {
    let from_labels = |l: &BTreeMap<String, String>| {
        l.get(flux::NAME_LABEL).map(|n| {
            format!(
                "{}/{n}",
                l.get(flux::NAMESPACE_LABEL)
                    .map(String::as_str)
                    .unwrap_or("flux-system")
            )
        })
    };
    for l in objects.iter().flatten() {
        if let Some(k) = from_labels(l) {
            return Some(k);
        }
    }
    let ns_ar = api_resource("", "v1", "Namespace", "namespaces");
    let api: kube::Api<kube::core::DynamicObject> = kube::Api::all_with(cc.client.clone(), &ns_ar);
    // Namespaces are cluster-scoped and a namespaced user may not read them: no answer is "unknown".
    if let Ok(Some(n)) = cc
        .call(
            crate::clients::Op::new("get", "namespaces", "Namespace").name(ns),
            api.get_opt(ns),
        )
        .await
        && let Some(k) = n.metadata.labels.as_ref().and_then(from_labels)
    {
        return Some(k);
    }
    // Anything else in the namespace Flux applied (Services are what we are about to write).
    if let Ok(list) = cc.list(&service_resource(), ns).await {
        for s in &list {
            if let Some(k) = s.metadata.labels.as_ref().and_then(from_labels) {
                return Some(k);
            }
        }
    }
    None
}

/// What `export` will write (or print), decided before touching anything.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportPlan {
    pub context: String,
    pub namespace: String,
    pub name: String,
    /// The Service to write (`--kafka`), or None when exporting an existing one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Value>,
    pub service_export: Value,
    pub shape: ExportShape,
    pub dns: String,
    pub peers: Vec<PeerExport>,
    pub unchecked: Vec<Unchecked>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flux_kustomization: Option<String>,
    pub warnings: Vec<String>,
}

impl ExportPlan {
    pub fn documents(&self) -> Vec<Value> {
        self.service
            .iter()
            .cloned()
            .chain(std::iter::once(self.service_export.clone()))
            .collect()
    }

    /// One warning per conflicting peer, with both definitions.
    pub fn conflict_warnings(&self) -> Vec<String> {
        let here = self.context.as_str();
        self.peers
            .iter()
            .filter(|p| !p.conflicts.is_empty())
            .map(|p| {
                format!(
                    "MCS conflict ({}): {} is also exported from context {}, and MCS merges same-named exports into one \
                     service where the oldest export wins.\n  {here}: {}\n  {}: {}\n  Use a clusterset-unique name per \
                     cluster (e.g. --as {}-<alias>) or make the definitions match.",
                    p.conflicts.join(", "),
                    self.name,
                    p.context,
                    self.shape,
                    p.context,
                    p.shape.as_ref().map(|s| s.to_string()).unwrap_or_default(),
                    self.name
                )
            })
            .collect()
    }
}

/// Which export to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportWhat {
    /// Export an existing Service.
    Service(String),
    /// Create `name` selecting the brokers of Kafka cluster `kafka`, and export it.
    Kafka { kafka: String, name: String },
}

/// Read what is needed and decide what to write. `offline_ok`: for `-o yaml`, an unreachable
/// exporting cluster is a warning, not an error (the manifests do not depend on it).
pub async fn plan(cs: &Clusterset, context: &str, what: &ExportWhat, offline_ok: bool) -> Result<ExportPlan> {
    let ns = cs.namespace.clone();
    let mut warnings = Vec::new();
    let cc = match cs.client(context) {
        Ok(c) => Some(c),
        Err(e) if offline_ok => {
            warnings.push(format!("not checked against context {context}: {e}"));
            None
        }
        Err(e) => return Err(e),
    };
    let version = match cc {
        Some(cc) => match mcs_version(cc).await {
            Ok(v) => v,
            Err(Error::CrdMissing { .. }) if offline_ok => {
                warnings.push(format!(
                    "context {context} does not serve the MCS API ({}) yet: enable Cilium's MCS-API support \
                     (clustermesh.mcsapi.enabled=true) before these manifests can apply",
                    mcs::GROUP
                ));
                mcs::VERSION.into()
            }
            Err(e) => return Err(e),
        },
        None => mcs::VERSION.into(),
    };
    let (name, service, shape, existing_labels) = match what {
        ExportWhat::Service(name) => {
            let cc =
                cc.ok_or_else(|| Error::Usage("exporting an existing Service needs its cluster".into()))?;
            let svc = cc
                .get_opt(&service_resource(), &ns, name)
                .await?
                .ok_or_else(|| Error::Refused {
                    reason: format!(
                        "context {context}: Service {ns}/{name} does not exist, so there is nothing to export"
                    ),
                    hint: format!(
                        "create the Service first, or let kubectl clusterset write one for Kafka brokers: \
                         kubectl clusterset export --kafka <kafka-cluster> --as {name} --context {context}"
                    ),
                })?;
            if svc.data["spec"]["type"].as_str() == Some("ExternalName") {
                return Err(Error::Refused {
                    reason: format!(
                        "context {context}: Service {ns}/{name} is of type ExternalName, which MCS cannot export \
                         (the ServiceExport would get Valid=False InvalidServiceType)"
                    ),
                    hint: "export a ClusterIP or headless Service instead".into(),
                });
            }
            (
                name.clone(),
                None,
                shape_of_service(&svc.data["spec"]),
                svc.metadata.labels.clone(),
            )
        }
        ExportWhat::Kafka { kafka, name } => {
            let svc = kafka_service(name, &ns, kafka);
            let shape = shape_of_service(&svc["spec"]);
            let existing = match cc {
                Some(cc) => cc.get_opt(&service_resource(), &ns, name).await?,
                None => None,
            };
            (
                name.clone(),
                Some(svc),
                shape,
                existing.and_then(|e| e.metadata.labels),
            )
        }
    };
    let flux_kustomization = match cc {
        Some(cc) => flux_owner(cc, &ns, &[existing_labels.as_ref()]).await,
        None => None,
    };
    let (peers, unchecked) = peer_exports(cs, context, &name, &shape).await;
    Ok(ExportPlan {
        context: context.into(),
        namespace: ns.clone(),
        service_export: service_export(&name, &ns, &version),
        dns: super::clusterset_dns(&name, &ns),
        name,
        service,
        shape,
        peers,
        unchecked,
        flux_kustomization,
        warnings,
    })
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportResult {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<Applied>,
    pub service_export: Applied,
}

/// Apply the plan: the Service first (a ServiceExport without its Service is invalid).
pub async fn execute(
    cs: &Clusterset,
    plan: &ExportPlan,
    dry_run: DryRun,
    force: bool,
) -> Result<ExportResult> {
    let cc = cs.client(&plan.context)?;
    let service = match &plan.service {
        Some(svc) => Some(apply(cc, &service_resource(), svc, dry_run, force).await?),
        None => None,
    };
    let version = plan.service_export["apiVersion"]
        .as_str()
        .and_then(|v| v.split_once('/'))
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| mcs::VERSION.into());
    let service_export = apply(
        cc,
        &export_resource(&version),
        &plan.service_export,
        dry_run,
        force,
    )
    .await?;
    Ok(ExportResult {
        service,
        service_export,
    })
}

/// The alias of ANOTHER cluster that a clusterset name carries (`kafka-bootstrap-aws` exported
/// from proxmox), when it does not also carry the exporting cluster's own. Pure.
pub fn foreign_alias(name: &str, own: Option<&str>, known: &[String]) -> Option<String> {
    let segments: Vec<&str> = name.split(['-', '.', '_']).collect();
    if own.is_some_and(|o| segments.contains(&o)) {
        return None;
    }
    known
        .iter()
        .find(|a| Some(a.as_str()) != own && segments.contains(&a.as_str()))
        .cloned()
}

/// Refuse to export a name that stands for another cluster: once MCS works, one clusterset name
/// would load-balance across two Kafka clusters (and `proxmox->aws` could write into proxmox).
pub fn refuse_foreign_name(cs: &Clusterset, context: &str, name: &str) -> Result<()> {
    let mut known = cs.topology.aliases();
    known.extend(cs.members.iter().filter_map(|m| m.alias.clone()));
    let own = cs.alias_of(context);
    let Some(other) = foreign_alias(name, own, &known) else {
        return Ok(());
    };
    let here = own
        .map(|o| format!("cluster {o}"))
        .unwrap_or_else(|| "another cluster".into());
    Err(Error::Refused {
        reason: format!(
            "{name} stands for cluster {other}, but context {context} is {here}: exporting it from here would put this cluster's endpoints behind {other}'s clusterset name"
        ),
        hint: match (cs.context_of(&other), own) {
            (Some(c), Some(o)) => format!(
                "export it from {other}'s context (--context {c}); this cluster's own name is kafka-bootstrap-{o}"
            ),
            (Some(c), None) => format!("export it from {other}'s context (--context {c})"),
            (None, _) => {
                format!("export it from the context of cluster {other}, or choose a name for this cluster")
            }
        },
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_name_of_another_cluster_is_foreign_unless_it_also_names_ours() {
        let known = vec!["aws".to_string(), "proxmox".to_string()];
        assert_eq!(
            foreign_alias("kafka-bootstrap-aws", Some("proxmox"), &known).as_deref(),
            Some("aws")
        );
        assert_eq!(foreign_alias("kafka-bootstrap-aws", Some("aws"), &known), None);
        assert_eq!(foreign_alias("kafka-bootstrap", Some("proxmox"), &known), None);
        assert_eq!(
            foreign_alias("aws-to-proxmox-bridge", Some("proxmox"), &known),
            None
        );
        assert_eq!(
            foreign_alias("kafka-bootstrap-aws", None, &known).as_deref(),
            Some("aws")
        );
        // A segment, not a substring: "awsome" is not aws.
        assert_eq!(foreign_alias("kafka-awsome", Some("proxmox"), &known), None);
    }

    use super::*;

    #[test]
    fn kafka_service_matches_the_runbook() {
        let s = kafka_service("kafka-bootstrap-aws", "rciis-prod", "kafka-rciis-prod");
        assert_eq!(s["spec"]["selector"]["strimzi.io/name"], "kafka-rciis-prod-kafka");
        assert_eq!(s["spec"]["selector"]["strimzi.io/broker-role"], "true");
        let shape = shape_of_service(&s["spec"]);
        assert_eq!(shape.type_, "ClusterSetIP");
        assert_eq!(
            shape.to_string(),
            "type ClusterSetIP, ports [tcp-plain 9093/TCP, tcp-scram 9092/TCP]"
        );
        let y = manifests_yaml(&[s, service_export("kafka-bootstrap-aws", "rciis-prod", "v1alpha1")]);
        assert_eq!(y.matches("---\n").count(), 2, "{y}");
        assert!(y.contains("apiVersion: multicluster.x-k8s.io/v1alpha1"), "{y}");
        assert!(y.contains("kind: ServiceExport"), "{y}");
        assert!(y.contains("targetPort: 9093"), "{y}");
    }

    #[test]
    fn conflicts_name_the_differing_field() {
        let a = shape_of_service(&json!({"ports": [{"name": "tcp-scram", "port": 9092}]}));
        let same =
            shape_of_service(&json!({"ports": [{"name": "tcp-scram", "port": 9092, "protocol": "TCP"}]}));
        assert!(conflicts(&a, &same).is_empty());
        let ports = shape_of_service(&json!({"ports": [{"name": "tcp-scram", "port": 9094}]}));
        assert_eq!(conflicts(&a, &ports), vec!["PortConflict"]);
        let headless =
            shape_of_service(&json!({"clusterIP": "None", "ports": [{"name": "tcp-scram", "port": 9092}]}));
        assert_eq!(conflicts(&a, &headless), vec!["TypeConflict"]);
        let plan = ExportPlan {
            context: "rciis-aws".into(),
            namespace: "rciis-prod".into(),
            name: "kafka-bootstrap".into(),
            service: None,
            service_export: Value::Null,
            shape: a.clone(),
            dns: String::new(),
            peers: vec![PeerExport {
                context: "rciis-proxmox".into(),
                alias: None,
                conflicts: conflicts(&a, &ports),
                shape: Some(ports),
            }],
            unchecked: vec![],
            flux_kustomization: None,
            warnings: vec![],
        };
        let w = plan.conflict_warnings().join("\n");
        assert!(
            w.contains("rciis-aws: type ClusterSetIP, ports [tcp-scram 9092/TCP]"),
            "{w}"
        );
        assert!(
            w.contains("rciis-proxmox: type ClusterSetIP, ports [tcp-scram 9094/TCP]"),
            "{w}"
        );
        assert!(w.contains("PortConflict"), "{w}");
    }
}
