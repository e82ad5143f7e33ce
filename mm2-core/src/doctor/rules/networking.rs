//! Networking: a remote `bootstrapServers` must be the clusterset name of a Service the peer
//! exports (ServiceExport processed and Valid) and this cluster imports; and every broker's
//! advertised host must be reachable through the clusterset too, because a Kafka client talks to
//! each broker after bootstrap. Same-named Kafkas in both clusters make a cluster-local advertised
//! name resolve to the LOCAL broker: this hides with one broker and breaks when brokers are added.

use crate::doctor::facts::{ContextFacts, KafkaFact, Kind, Mm2Fact};
use crate::doctor::{Check, Facts, Finding, Fix, Severity, object, patch_yaml};
use crate::resources::condition;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const CLUSTERSET_SUFFIX: &str = ".svc.clusterset.local";

/// `svc.ns.svc.clusterset.local:9092` → (svc, ns, port); `None` when it is not a clusterset name.
pub fn clusterset_service(bootstrap: &str) -> Option<(String, String, Option<i64>)> {
    let first = bootstrap.split(',').next()?.trim();
    let (host, port) = match first.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()),
        None => (first, None),
    };
    let stem = host.strip_suffix(CLUSTERSET_SUFFIX)?;
    let mut labels: Vec<&str> = stem.split('.').collect();
    let ns = labels.pop()?;
    let svc = labels.pop()?;
    Some((svc.to_string(), ns.to_string(), port))
}

fn port_of(bootstrap: &str) -> Option<i64> {
    bootstrap.split(',').next()?.rsplit_once(':')?.1.parse().ok()
}

pub fn check(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for cx in facts.reachable() {
        for m in &cx.mm2s {
            for entry in m.clusters() {
                let alias = entry["alias"].as_str().unwrap_or_default();
                if cx.alias.as_deref() == Some(alias) {
                    continue;
                }
                let Some(bootstrap) = entry["bootstrapServers"].as_str() else {
                    continue;
                };
                if !seen.insert((cx.context.clone(), alias.to_string(), bootstrap.to_string())) {
                    continue;
                }
                let Some(peer) = facts.by_alias(alias) else {
                    continue;
                };
                match clusterset_service(bootstrap) {
                    None if cx.alias.is_some() => out.push(
                        Finding::new("networking.bootstrap-not-clusterset", Check::Networking, Severity::Error, cx,
                            object("KafkaMirrorMaker2", &m.meta),
                            format!("the bootstrap of remote cluster {alias} ({bootstrap}) is not a clusterset name: it resolves, if at all, inside {}", cx.label()))
                        .evidence("bootstrapServers", bootstrap)
                        .fix(Fix { summary: format!("use the clusterset name of {alias}'s exported bootstrap Service, e.g. kafka-bootstrap-{alias}.{}.svc.clusterset.local:9092", cx.namespace), ..Default::default() }),
                    ),
                    None => {}
                    Some((svc, ns, _)) => out.extend(exported(cx, peer, m, alias, bootstrap, &svc, &ns)),
                }
                if peer.unreachable.is_none() {
                    out.extend(advertised(facts, cx, peer, bootstrap));
                }
            }
        }
    }
    out
}

/// The first broken link of bootstrap → Service → ServiceExport (Valid) → ServiceImport.
fn exported(
    cx: &ContextFacts,
    peer: &ContextFacts,
    m: &Mm2Fact,
    alias: &str,
    bootstrap: &str,
    svc: &str,
    ns: &str,
) -> Option<Finding> {
    let used_by = format!("{} in {}", object("KafkaMirrorMaker2", &m.meta), cx.context);
    let resolve = format!("kubectl clusterset resolve {svc} -n {ns}");
    if peer.unreachable.is_some() {
        return None;
    }
    let f = |id: &str, in_cx: &ContextFacts, obj: String, msg: String| {
        Finding::new(id, Check::Networking, Severity::Error, in_cx, obj, msg)
            .evidence("bootstrapServers", bootstrap)
            .evidence("used by", used_by.clone())
    };
    if peer.can_read(Kind::Service)
        && !peer
            .services
            .iter()
            .any(|s| s.meta.name == svc && s.meta.namespace == ns)
    {
        return Some(
            f(
                "networking.service-missing",
                peer,
                format!("Service {ns}/{svc}"),
                format!("{alias} has no Service {svc} in {ns}, the name the MM2 bootstraps from"),
            )
            .fix(Fix {
                summary: format!(
                    "deploy the runbook's service-export-{alias}.yaml (Service + ServiceExport) in {alias}"
                ),
                command: Some(format!(
                    "kubectl clusterset export {svc} --context {} -n {ns}",
                    peer.context
                )),
                ..Default::default()
            }),
        );
    }
    if !peer.can_read(Kind::ServiceExport) {
        return None;
    }
    let Some(export) = peer
        .exports
        .iter()
        .find(|e| e.meta.name == svc && e.meta.namespace == ns)
    else {
        return Some(
            f(
                "networking.not-exported",
                peer,
                format!("ServiceExport {ns}/{svc}"),
                format!(
                    "Service {svc} is not exported from {alias}: {svc}.{ns}{CLUSTERSET_SUFFIX} does not exist"
                ),
            )
            .fix(Fix {
                summary: "add a ServiceExport of the same name".into(),
                command: Some(format!(
                    "kubectl clusterset export {svc} --context {} -n {ns}",
                    peer.context
                )),
                ..Default::default()
            }),
        );
    };
    let valid = condition(&export.conditions, "Valid");
    match valid {
        None => {
            return Some(f("networking.export-unprocessed", peer, format!("ServiceExport {ns}/{svc}"),
                format!("ServiceExport {svc} in {alias} has no status conditions: no MCS controller processed it, so no other cluster can resolve {svc}.{ns}{CLUSTERSET_SUFFIX}"))
                .evidence("conditions", "none")
                .fix(Fix { summary: format!("enable Cilium's MCS-API support in {alias} (Helm clustermesh.mcsapi.enabled=true) and check the export"), command: Some(resolve), ..Default::default() }));
        }
        Some(c) if c.status != "True" => {
            return Some(
                f(
                    "networking.export-invalid",
                    peer,
                    format!("ServiceExport {ns}/{svc}"),
                    format!(
                        "ServiceExport {svc} in {alias} is not Valid: {}",
                        c.message.clone().unwrap_or_default()
                    ),
                )
                .evidence(
                    "Valid",
                    format!("{} ({})", c.status, c.reason.clone().unwrap_or_default()),
                )
                .fix(Fix {
                    summary: "fix what the condition says".into(),
                    command: Some(resolve),
                    ..Default::default()
                }),
            );
        }
        Some(_) => {}
    }
    if cx.can_read(Kind::ServiceImport)
        && !cx
            .imports
            .iter()
            .any(|i| i.meta.name == svc && i.meta.namespace == ns)
    {
        return Some(f("networking.not-imported", cx, format!("ServiceImport {ns}/{svc}"),
            format!("{alias}'s export {svc} has not reached {}: no ServiceImport, so {svc}.{ns}{CLUSTERSET_SUFFIX} does not resolve here", cx.label()))
            .fix(Fix { summary: format!("check Cluster Mesh and MCS-API support in {}: `cilium clustermesh status --context {}`", cx.label(), cx.context), command: Some(resolve), ..Default::default() }));
    }
    None
}

/// The host every broker of `k` advertises on the listener at `port`.
pub fn advertised_hosts(peer: &ContextFacts, k: &KafkaFact, port: i64) -> Option<(String, Vec<String>)> {
    let listeners = k.spec.get("kafka")?.get("listeners")?.as_array()?;
    let l = listeners.iter().find(|l| l["port"].as_i64() == Some(port))?;
    let name = l["name"].as_str().unwrap_or_default().to_string();
    let conf = &l["configuration"];
    let kafka = &k.meta.name;
    let mut hosts = Vec::new();
    for pool in peer
        .node_pools
        .iter()
        .filter(|p| p.cluster() == Some(kafka.as_str()) && p.is_broker())
    {
        let ids: Vec<i64> = if pool.node_ids.is_empty() {
            (0..pool.replicas()).collect()
        } else {
            pool.node_ids.clone()
        };
        for id in ids {
            let pod = format!("{kafka}-{}-{id}", pool.meta.name);
            let explicit = conf["brokers"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|b| b["broker"].as_i64() == Some(id))
                .and_then(|b| b["advertisedHost"].as_str());
            let host = match (explicit, conf["advertisedHostTemplate"].as_str()) {
                (Some(h), _) => h.to_string(),
                (None, Some(t)) => t
                    .replace("{nodeId}", &id.to_string())
                    .replace("{nodePodName}", &pod),
                (None, None) => format!("{pod}.{kafka}-kafka-brokers.{}.svc", k.meta.namespace),
            };
            hosts.push(host);
        }
    }
    Some((name, hosts))
}

fn reachable_through_clusterset(peer: &ContextFacts, host: &str) -> bool {
    let Some((svc, ns, _)) = clusterset_service(host) else {
        return false;
    };
    !peer.can_read(Kind::ServiceExport)
        || peer
            .exports
            .iter()
            .any(|e| e.meta.name == svc && e.meta.namespace == ns)
}

fn advertised(facts: &Facts, cx: &ContextFacts, peer: &ContextFacts, bootstrap: &str) -> Option<Finding> {
    let port = port_of(bootstrap)?;
    let k = peer.kafka_for(None)?;
    let (listener, hosts) = advertised_hosts(peer, k, port)?;
    let local: Vec<&String> = hosts
        .iter()
        .filter(|h| !reachable_through_clusterset(peer, h))
        .collect();
    if local.is_empty() {
        return None;
    }
    let alias = peer.label();
    let template = format!(
        "{{nodePodName}}.{alias}.{}-kafka-brokers.{}{CLUSTERSET_SUFFIX}",
        k.meta.name, k.meta.namespace
    );
    let listeners: Vec<Value> = k.spec["kafka"]["listeners"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut l| {
            if l["port"].as_i64() == Some(port) {
                l["configuration"]["advertisedHostTemplate"] = json!(template);
            }
            l
        })
        .collect();
    let api = k
        .meta
        .managers
        .get("kustomize-controller")
        .cloned()
        .unwrap_or_else(|| "kafka.strimzi.io/v1beta2".into());
    Some(
        Finding::new("networking.advertised-host-local", Check::Networking, Severity::Warning, peer, object("Kafka", &k.meta),
            format!(
                "{alias}'s brokers advertise cluster-local names on listener {listener}: {} connects to the bootstrap through the clusterset, then to these names, which do not resolve there (or resolve to its OWN same-named broker)",
                cx.label()
            ))
        .evidence("advertised", local.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))
        .evidence("listener", format!("{listener} (port {port})"))
        .evidence("used by", cx.context.clone())
        .fix(Fix {
            summary: format!(
                "advertise clusterset names and export the brokers' headless Service ({}-kafka-brokers) from {alias}; the label after the pod name is {alias}'s MCS cluster id",
                k.meta.name
            ),
            flux_path: facts.flux_path(peer, &k.meta),
            patch: Some(patch_yaml(&api, "Kafka", &k.meta, json!({"spec": {"kafka": {"listeners": listeners}}}))),
            command: Some(format!("kubectl clusterset export {}-kafka-brokers --context {} -n {}", k.meta.name, peer.context, k.meta.namespace)),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::rules::topology::tests::{facts_with, mm2};

    fn kafka(template: Option<&str>) -> Value {
        let mut l = json!({"name": "scram", "port": 9092, "type": "internal", "tls": false});
        if let Some(t) = template {
            l["configuration"] = json!({"advertisedHostTemplate": t});
        }
        json!({"kind": "Kafka", "metadata": {"name": "kafka-rciis-prod", "namespace": "rciis-prod"},
               "spec": {"kafka": {"listeners": [l]}}})
    }
    fn pool() -> Value {
        json!({"kind": "KafkaNodePool", "metadata": {"name": "dual-role", "namespace": "rciis-prod",
               "labels": {"strimzi.io/cluster": "kafka-rciis-prod"}}, "spec": {"replicas": 3, "roles": ["broker"]},
               "status": {"nodeIds": [0, 1, 2]}})
    }
    fn export(name: &str, valid: Option<&str>) -> Value {
        let mut e = json!({"kind": "ServiceExport", "metadata": {"name": name, "namespace": "rciis-prod"}});
        if let Some(v) = valid {
            e["status"] = json!({"conditions": [{"type": "Valid", "status": v, "reason": "Valid"}]});
        }
        e
    }
    fn svc(name: &str) -> Value {
        json!({"kind": "Service", "metadata": {"name": name, "namespace": "rciis-prod"}, "spec": {"ports": [{"port": 9092}]}})
    }
    fn import(name: &str) -> Value {
        json!({"kind": "ServiceImport", "metadata": {"name": name, "namespace": "rciis-prod"}})
    }
    const TEMPLATE: &str =
        "{nodePodName}.proxmox.kafka-rciis-prod-kafka-brokers.rciis-prod.svc.clusterset.local";

    fn world(valid: Option<&str>, imported: bool, template: Option<&str>) -> Facts {
        let mut o = vec![
            ("aws", mm2("mm2-proxmox-to-aws", "aws", "proxmox", "aws")),
            ("proxmox", svc("kafka-bootstrap-proxmox")),
            ("proxmox", export("kafka-bootstrap-proxmox", valid)),
            ("proxmox", export("kafka-rciis-prod-kafka-brokers", Some("True"))),
            ("proxmox", kafka(template)),
            ("proxmox", pool()),
        ];
        if imported {
            o.push(("aws", import("kafka-bootstrap-proxmox")));
        }
        facts_with(&o)
    }

    #[test]
    fn an_exported_imported_bootstrap_and_clusterset_brokers_pass() {
        let f = check(&world(Some("True"), true, Some(TEMPLATE)));
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn the_runbooks_unprocessed_export_trips_first() {
        let f = check(&world(None, false, Some(TEMPLATE)));
        assert_eq!(
            f.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
            ["networking.export-unprocessed"]
        );
        assert_eq!(f[0].context, "rciis-proxmox");
        assert_eq!(
            f[0].fix.command.as_deref(),
            Some("kubectl clusterset resolve kafka-bootstrap-proxmox -n rciis-prod")
        );
        let f = check(&world(Some("True"), false, Some(TEMPLATE)));
        assert_eq!(f[0].id, "networking.not-imported");
        assert_eq!(f[0].context, "rciis-aws");
    }

    #[test]
    fn cluster_local_advertised_hosts_trip() {
        let f = check(&world(Some("True"), true, None));
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].id, "networking.advertised-host-local");
        assert!(
            f[0].evidence["advertised"]
                .contains("kafka-rciis-prod-dual-role-2.kafka-rciis-prod-kafka-brokers.rciis-prod.svc")
        );
        assert!(
            f[0].fix
                .patch
                .as_deref()
                .unwrap()
                .contains("advertisedHostTemplate")
        );
    }

    #[test]
    fn a_cluster_local_bootstrap_for_a_remote_cluster_trips() {
        let mut m = mm2("mm2-proxmox-to-aws", "aws", "proxmox", "aws");
        m["spec"]["clusters"][1]["bootstrapServers"] =
            json!("kafka-rciis-prod-kafka-bootstrap.rciis-prod.svc:9092");
        let f = check(&facts_with(&[
            ("aws", m),
            ("proxmox", kafka(Some(TEMPLATE))),
            ("proxmox", pool()),
            ("proxmox", export("kafka-rciis-prod-kafka-brokers", Some("True"))),
        ]));
        assert_eq!(
            f.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
            ["networking.bootstrap-not-clusterset"]
        );
    }

    #[test]
    fn clusterset_names_parse() {
        assert_eq!(
            clusterset_service("kafka-bootstrap-aws.rciis-prod.svc.clusterset.local:9092"),
            Some(("kafka-bootstrap-aws".into(), "rciis-prod".into(), Some(9092)))
        );
        assert_eq!(clusterset_service("x.rciis-prod.svc:9092"), None);
    }
}
