//! Replication factors, against the runbook's table: the mirror's topics live in the TARGET
//! cluster (aws: 1, proxmox: 3), Connect's storage topics in the cluster the workers run against.
//! The factor a cluster can hold is min(brokers, 3); above its broker count topic creation fails,
//! below it the cluster loses data with one broker.

use super::{config_str, connector_config, mirror_source, mirror_target};
use crate::direction::Direction;
use crate::doctor::facts::{ContextFacts, Mm2Fact};
use crate::doctor::{Check, Facts, Finding, Fix, Severity, object, patch_yaml};
use serde_json::{Value, json};

/// (connector, key, Kafka's default, lives in the target?).
const MIRROR_KEYS: [(&str, &str, i64); 4] = [
    ("sourceConnector", "replication.factor", 2),
    ("sourceConnector", "offset-syncs.topic.replication.factor", 3),
    ("checkpointConnector", "checkpoints.topic.replication.factor", 3),
    ("heartbeatConnector", "heartbeats.topic.replication.factor", 3),
];
const STORAGE_KEYS: [&str; 3] = [
    "config.storage.replication.factor",
    "offset.storage.replication.factor",
    "status.storage.replication.factor",
];

/// Brokers of the cluster with `alias` (its Kafka named by `bootstrap`, or its only one).
fn brokers(facts: &Facts, alias: &str, bootstrap: Option<&str>) -> Option<i64> {
    let cx = facts.by_alias(alias)?;
    let k = cx.kafka_for(bootstrap)?;
    cx.brokers_of(&k.meta.name)
}

struct Judged {
    key: String,
    value: i64,
    defaulted: bool,
    cluster: String,
    brokers: i64,
}

fn judge(j: &Judged) -> Option<(Severity, &'static str, String)> {
    let want = j.brokers.min(3);
    let how = if j.defaulted {
        " (Kafka's default: the key is not set)"
    } else {
        ""
    };
    if j.value > j.brokers {
        Some((
            Severity::Error,
            "replication.factor-above-brokers",
            format!(
                "{} is {}{how} but {} has {} broker(s): the topic cannot be created and the connector fails",
                j.key, j.value, j.cluster, j.brokers
            ),
        ))
    } else if j.value < want {
        Some((
            Severity::Warning,
            "replication.factor-below-brokers",
            format!(
                "{} is {}{how} but {} has {} broker(s): the topic loses data when one broker fails (the runbook's table wants {want})",
                j.key, j.value, j.cluster, j.brokers
            ),
        ))
    } else {
        None
    }
}

fn rf(config: Option<&Value>, key: &str) -> Option<i64> {
    config_str(config, key).and_then(|s| s.trim().parse().ok())
}

fn finding(
    facts: &Facts,
    cx: &ContextFacts,
    m: &Mm2Fact,
    j: Judged,
    d: Option<&Direction>,
    patch: Value,
) -> Option<Finding> {
    let (sev, id, msg) = judge(&j)?;
    let mut f = Finding::new(
        id,
        Check::Replication,
        sev,
        cx,
        object("KafkaMirrorMaker2", &m.meta),
        msg,
    )
    .evidence(&j.key, j.value.to_string())
    .evidence("cluster", j.cluster.clone())
    .evidence("brokers", j.brokers.to_string())
    .fix(Fix {
        summary: format!("set {} to {}", j.key, j.brokers.min(3)),
        flux_path: facts.flux_path(cx, &m.meta),
        patch: Some(patch_yaml(&m.api_version, "KafkaMirrorMaker2", &m.meta, patch)),
        ..Default::default()
    });
    if let Some(d) = d {
        f = f.direction(d);
    }
    Some(f)
}

pub fn check(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for cx in facts.reachable() {
        for m in &cx.mm2s {
            let Some(connect) = m.connect_alias() else {
                continue;
            };
            let connect_bootstrap = m.cluster(connect).and_then(|c| c["bootstrapServers"].as_str());
            for (i, mirror) in m.mirrors().into_iter().enumerate() {
                let Some(source) = mirror_source(mirror) else {
                    continue;
                };
                let Some(target) = mirror_target(m, mirror) else {
                    continue;
                };
                let target_bootstrap = m.cluster(target).and_then(|c| c["bootstrapServers"].as_str());
                let d = Direction::new(source, target);
                let source_bootstrap = m.cluster(source).and_then(|c| c["bootstrapServers"].as_str());
                for (connector, key, default) in MIRROR_KEYS {
                    if mirror.get(connector).is_none() && connector != "sourceConnector" {
                        continue;
                    }
                    let cfg = connector_config(mirror, connector);
                    let in_source = key.starts_with("offset-syncs")
                        && config_str(
                            connector_config(mirror, "sourceConnector"),
                            "offset-syncs.topic.location",
                        )
                        .is_none_or(|l| l == "source");
                    let (alias, bootstrap) = if in_source {
                        (source, source_bootstrap)
                    } else {
                        (target, target_bootstrap)
                    };
                    let Some(b) = brokers(facts, alias, bootstrap) else {
                        continue;
                    };
                    let (value, defaulted) = match rf(cfg, key) {
                        Some(v) => (v, false),
                        None => (default, true),
                    };
                    if value == -1 {
                        continue; // the broker's default.replication.factor
                    }
                    let mut mirrors: Vec<Value> = m.mirrors().into_iter().cloned().collect();
                    mirrors[i][connector]["config"][key] = json!(b.min(3));
                    let j = Judged {
                        key: key.into(),
                        value,
                        defaulted,
                        cluster: alias.into(),
                        brokers: b,
                    };
                    out.extend(finding(
                        facts,
                        cx,
                        m,
                        j,
                        Some(&d),
                        json!({"spec": {"mirrors": mirrors}}),
                    ));
                }
            }
            // Connect's storage topics: in the cluster the workers run against.
            let target = connect;
            let Some(b) = brokers(facts, target, connect_bootstrap) else {
                continue;
            };
            let Some(entry) = m.cluster(target) else { continue };
            for key in STORAGE_KEYS {
                let (value, defaulted) = match rf(entry.get("config"), key) {
                    Some(v) => (v, false),
                    None => (3, true),
                };
                if value == -1 {
                    continue;
                }
                let patch = if m.spec.get("target").is_some() {
                    json!({"spec": {"target": {"config": {key: b.min(3)}}}})
                } else {
                    let mut clusters: Vec<Value> = m.spec["clusters"].as_array().cloned().unwrap_or_default();
                    for c in clusters.iter_mut().filter(|c| c["alias"] == target) {
                        c["config"][key] = json!(b.min(3));
                    }
                    json!({"spec": {"clusters": clusters}})
                };
                let j = Judged {
                    key: key.into(),
                    value,
                    defaulted,
                    cluster: target.into(),
                    brokers: b,
                };
                out.extend(finding(facts, cx, m, j, None, patch));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::rules::topology::tests::{facts_with, mm2};

    fn pool(replicas: i64) -> Value {
        json!({"kind": "KafkaNodePool", "metadata": {"name": "dual-role", "namespace": "rciis-prod",
               "labels": {"strimzi.io/cluster": "kafka-rciis-prod"}},
               "spec": {"replicas": replicas, "roles": ["broker"]}})
    }
    fn kafka() -> Value {
        json!({"kind": "Kafka", "metadata": {"name": "kafka-rciis-prod", "namespace": "rciis-prod"}, "spec": {"kafka": {}}})
    }
    /// The runbook's table: to aws 1, to proxmox 3, Connect storage in the workers' cluster.
    fn with_table(mut m: Value, target_rf: i64, storage_rf: i64, storage_alias: &str) -> Value {
        let mir = &mut m["spec"]["mirrors"][0];
        mir["sourceConnector"]["config"]["replication.factor"] = json!(target_rf);
        mir["sourceConnector"]["config"]["offset-syncs.topic.replication.factor"] = json!(target_rf);
        mir["sourceConnector"]["config"]["offset-syncs.topic.location"] = json!("target");
        mir["checkpointConnector"]["config"]["checkpoints.topic.replication.factor"] = json!(target_rf);
        mir["heartbeatConnector"] = json!({"config": {"heartbeats.topic.replication.factor": target_rf}});
        for c in m["spec"]["clusters"].as_array_mut().unwrap() {
            if c["alias"] == storage_alias {
                for k in STORAGE_KEYS {
                    c["config"][k] = json!(storage_rf);
                }
            }
        }
        m
    }
    fn bed(objs: Vec<(&'static str, Value)>) -> Facts {
        let mut all = vec![
            ("aws", kafka()),
            ("aws", pool(1)),
            ("proxmox", kafka()),
            ("proxmox", pool(3)),
        ];
        all.extend(objs);
        facts_with(&all)
    }

    #[test]
    fn the_runbook_table_passes() {
        let m = with_table(mm2("mm2-proxmox-to-aws", "aws", "proxmox", "aws"), 1, 1, "aws");
        let p = with_table(
            mm2("mm2-aws-to-proxmox", "proxmox", "aws", "proxmox"),
            3,
            3,
            "proxmox",
        );
        let f = check(&bed(vec![("aws", m), ("proxmox", p)]));
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn factors_swapped_between_clusters_trip_both_ways() {
        // Targeting aws (1 broker) with 3, storing Connect's topics in aws with 3; and the reverse.
        let m = with_table(mm2("mm2-proxmox-to-aws", "aws", "proxmox", "aws"), 3, 3, "aws");
        let p = with_table(
            mm2("mm2-aws-to-proxmox", "proxmox", "aws", "proxmox"),
            1,
            1,
            "proxmox",
        );
        let f = check(&bed(vec![("aws", m), ("proxmox", p)]));
        let above = f
            .iter()
            .filter(|f| f.id == "replication.factor-above-brokers")
            .count();
        let below = f
            .iter()
            .filter(|f| f.id == "replication.factor-below-brokers")
            .count();
        assert_eq!((above, below), (7, 7), "{f:#?}");
        let e = f
            .iter()
            .find(|f| f.evidence.get("replication.factor").is_some_and(|v| v == "3"))
            .unwrap();
        assert_eq!(e.evidence["brokers"], "1");
        assert!(e.fix.patch.as_deref().unwrap().contains("replication.factor: 1"));
    }

    #[test]
    fn unset_keys_are_judged_at_kafkas_defaults() {
        // No factors at all, into aws: replication.factor 2 > 1 broker, the others 3 > 1.
        let mut m = mm2("mm2-proxmox-to-aws", "aws", "proxmox", "aws");
        m["spec"]["mirrors"][0]["sourceConnector"]["config"] = json!({});
        let f = check(&bed(vec![("aws", m)]));
        assert!(
            f.iter().all(|f| f.id == "replication.factor-above-brokers"),
            "{f:#?}"
        );
        assert!(f.iter().any(|f| f.message.contains("Kafka's default")));
    }
}
