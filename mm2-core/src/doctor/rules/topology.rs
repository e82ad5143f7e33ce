//! Topology: Strimzi's own verdict on each MM2 (topology::layout, never a second copy), one MM2 per
//! direction running in its target cluster, a replication policy that stops cycles, the same
//! policy on source and checkpoint connectors, an exclude pattern that keeps MM2's and Kafka's
//! internal topics out, and topic ACL sync off next to the User Operator.

use super::{config_str, connector_config, mirror_source, mirror_target};
use crate::direction::Direction;
use crate::doctor::facts::{ContextFacts, Mm2Fact};
use crate::doctor::{Check, Facts, Finding, Fix, Severity, object, patch_yaml};
use crate::topology::layout;
use regex::Regex;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Id of the finding reported first.
pub const REJECTED: &str = "topology.rejected";

const DEFAULT_POLICY: &str = "org.apache.kafka.connect.mirror.DefaultReplicationPolicy";
const IDENTITY: &str = "IdentityReplicationPolicy";
/// Topics the exclude pattern must keep out: MM2's internal topics and Kafka's own.
const MUST_EXCLUDE: [&str; 3] = [
    "mm2-offset-syncs.aws.internal",
    "proxmox.checkpoints.internal",
    "__consumer_offsets",
];
const SAFE_EXCLUDE: &str = ".*[\\-\\.]internal|__.*";

fn mm2_object(m: &Mm2Fact) -> String {
    object("KafkaMirrorMaker2", &m.meta)
}

/// Strimzi's verdict on `m` (the operator's, or 0.51's validation as a prediction).
pub fn rejection(m: &Mm2Fact) -> Option<layout::Rejection> {
    layout::judge(&m.spec, m.status.as_ref(), m.meta.generation)
}

pub fn check(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut by_direction: BTreeMap<Direction, Vec<(&ContextFacts, &Mm2Fact)>> = BTreeMap::new();
    let all_directions: Vec<Direction> = facts
        .reachable()
        .flat_map(|cx| cx.mm2s.iter().flat_map(|m| m.directions()))
        .collect();
    for cx in facts.reachable() {
        for m in &cx.mm2s {
            let dirs = m.directions();
            match rejection(m) {
                Some(r) => {
                    let mut f = Finding::new(
                        REJECTED,
                        Check::Topology,
                        Severity::Error,
                        cx,
                        mm2_object(m),
                        format!("Strimzi rejects this KafkaMirrorMaker2: {}", r.explanation),
                    )
                    .evidence("reason", r.reason.clone())
                    .evidence("message", r.message.clone())
                    .evidence(
                        "verdict",
                        if r.reported_by_operator {
                            "reported by the operator (NotReady)"
                        } else {
                            "predicted from Strimzi 0.51's validation"
                        },
                    )
                    .evidence("connect cluster", m.connect_alias().unwrap_or("-"))
                    .evidence(
                        "mirrors",
                        dirs.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "),
                    )
                    .fix(Fix {
                        summary: match &r.fix {
                            Some(_) => "write the layout Strimzi runs (the MM2 in its target cluster) into the Flux repository with the command; it replaces this manifest".into(),
                            None => "fix the manifest in Git as the operator's message says".into(),
                        },
                        flux_path: facts.flux_path(cx, &m.meta),
                        command: r.fix.clone(),
                        ..Default::default()
                    });
                    if let Some(d) = dirs.first() {
                        f = f.direction(d);
                    }
                    out.push(f);
                }
                None => {
                    for d in dirs {
                        by_direction.entry(d).or_default().push((cx, m));
                    }
                }
            }
            out.extend(mirror_checks(facts, cx, m, &all_directions));
        }
    }
    for (d, runs) in &by_direction {
        if runs.len() > 1 {
            let (cx, m) = runs[0];
            let all: Vec<String> = runs
                .iter()
                .map(|(c, m)| format!("{} in {}", mm2_object(m), c.context))
                .collect();
            out.push(
                Finding::new(
                    "topology.duplicate-direction",
                    Check::Topology,
                    Severity::Error,
                    cx,
                    mm2_object(m),
                    format!(
                        "{d} is replicated by {} MirrorMaker 2s: every record is copied more than once",
                        runs.len()
                    ),
                )
                .direction(d)
                .evidence("serving", all.join("; "))
                .fix(Fix {
                    summary: format!(
                        "keep one MM2 for {d}, in its target cluster {}, and delete the others from Git",
                        d.target
                    ),
                    ..Default::default()
                }),
            );
        }
        for (cx, m) in runs {
            if let Some(alias) = &cx.alias
                && alias != &d.target
            {
                out.push(
                    Finding::new(
                        "topology.wrong-cluster",
                        Check::Topology,
                        Severity::Error,
                        cx,
                        mm2_object(m),
                        format!(
                            "{d} runs in cluster {alias}, not in its target {}: its Connect workers and internal topics live in the wrong cluster",
                            d.target
                        ),
                    )
                    .direction(d)
                    .evidence("cluster", alias.clone())
                    .evidence("target", d.target.clone())
                    .fix(Fix {
                        summary: format!("move the manifest to the Flux path of cluster {}", d.target),
                        command: Some(format!("kubectl mm2 convert {}", d.shell_safe())),
                        ..Default::default()
                    }),
                );
            }
        }
    }
    out
}

fn policy_of(config: Option<&Value>) -> (String, String) {
    (
        config_str(config, "replication.policy.class").unwrap_or_else(|| DEFAULT_POLICY.into()),
        config_str(config, "replication.policy.separator").unwrap_or_else(|| ".".into()),
    )
}

/// True when `pattern` (MM2's comma-separated regex list) excludes `topic`.
fn excludes(pattern: &str, topic: &str) -> bool {
    pattern
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .any(|p| Regex::new(&format!("^(?:{p})$")).is_ok_and(|re| re.is_match(topic)))
}

fn mirrors_patch(m: &Mm2Fact, edit: impl Fn(usize, &mut Value)) -> String {
    let mut mirrors: Vec<Value> = m.mirrors().into_iter().cloned().collect();
    for (i, mir) in mirrors.iter_mut().enumerate() {
        edit(i, mir);
    }
    patch_yaml(
        &m.api_version,
        "KafkaMirrorMaker2",
        &m.meta,
        json!({"spec": {"mirrors": mirrors}}),
    )
}

fn set_config(mirror: &mut Value, connector: &str, key: &str, value: Value) {
    if !mirror[connector].is_object() {
        mirror[connector] = json!({});
    }
    if !mirror[connector]["config"].is_object() {
        mirror[connector]["config"] = json!({});
    }
    mirror[connector]["config"][key] = value;
}

fn mirror_checks(facts: &Facts, cx: &ContextFacts, m: &Mm2Fact, all: &[Direction]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, mirror) in m.mirrors().into_iter().enumerate() {
        let Some(source) = mirror_source(mirror) else {
            continue;
        };
        let Some(target) = mirror_target(m, mirror).map(str::to_string) else {
            continue;
        };
        let d = Direction::new(source, target.as_str());
        let src_cfg = connector_config(mirror, "sourceConnector");
        let cp_cfg = connector_config(mirror, "checkpointConnector");
        let (class, sep) = policy_of(src_cfg);
        let bidirectional = all.contains(&Direction::new(target.as_str(), source));
        if bidirectional && class.ends_with(IDENTITY) {
            out.push(
                Finding::new(
                    "topology.identity-policy-in-cycle",
                    Check::Topology,
                    Severity::Error,
                    cx,
                    mm2_object(m),
                    format!(
                        "{d} uses IdentityReplicationPolicy while {} also replicates back: topics keep their names, so MM2 cannot tell replicated records from local ones and mirrors them back and forth forever",
                        Direction::new(target.as_str(), source)
                    ),
                )
                .direction(&d)
                .evidence("replication.policy.class", class.clone())
                .fix(Fix {
                    summary: "use DefaultReplicationPolicy (topics prefixed with the source alias) in both directions".into(),
                    flux_path: facts.flux_path(cx, &m.meta),
                    patch: Some(mirrors_patch(m, |j, mir| {
                        if j == i {
                            set_config(mir, "sourceConnector", "replication.policy.class", json!(DEFAULT_POLICY));
                            if mir.get("checkpointConnector").is_some() {
                                set_config(mir, "checkpointConnector", "replication.policy.class", json!(DEFAULT_POLICY));
                            }
                        }
                    })),
                    ..Default::default()
                }),
            );
        }
        if mirror.get("checkpointConnector").is_some() {
            let (cp_class, cp_sep) = policy_of(cp_cfg);
            if (cp_class.as_str(), cp_sep.as_str()) != (class.as_str(), sep.as_str()) {
                out.push(
                    Finding::new(
                        "topology.policy-mismatch",
                        Check::Topology,
                        Severity::Error,
                        cx,
                        mm2_object(m),
                        format!(
                            "{d}: the checkpoint connector names remote topics with another policy or separator than the source connector, so translated consumer offsets point at topics that do not exist"
                        ),
                    )
                    .direction(&d)
                    .evidence("source connector", format!("{class} separator '{sep}'"))
                    .evidence("checkpoint connector", format!("{cp_class} separator '{cp_sep}'"))
                    .fix(Fix {
                        summary: "set the same replication.policy.class and replication.policy.separator on both connectors".into(),
                        flux_path: facts.flux_path(cx, &m.meta),
                        patch: Some(mirrors_patch(m, |j, mir| {
                            if j == i {
                                set_config(mir, "checkpointConnector", "replication.policy.class", json!(class));
                                set_config(mir, "checkpointConnector", "replication.policy.separator", json!(sep));
                            }
                        })),
                        ..Default::default()
                    }),
                );
            }
        }
        let exclude = mirror
            .get("topicsExcludePattern")
            .or_else(|| mirror.get("topicsBlacklistPattern"))
            .and_then(Value::as_str);
        if let Some(p) = exclude {
            let leaks: Vec<&str> = MUST_EXCLUDE.iter().copied().filter(|t| !excludes(p, t)).collect();
            if !leaks.is_empty() {
                out.push(
                    Finding::new(
                        "topology.exclude-pattern",
                        Check::Topology,
                        Severity::Warning,
                        cx,
                        mm2_object(m),
                        format!(
                            "{d}: topicsExcludePattern replaces Kafka's default exclusions and lets internal topics through ({}), which MM2 then replicates",
                            leaks.join(", ")
                        ),
                    )
                    .direction(&d)
                    .evidence("topicsExcludePattern", p)
                    .evidence("not excluded", leaks.join(", "))
                    .fix(Fix {
                        summary: format!("keep `{SAFE_EXCLUDE}` in the pattern"),
                        flux_path: facts.flux_path(cx, &m.meta),
                        patch: Some(mirrors_patch(m, |j, mir| {
                            if j == i {
                                mir["topicsExcludePattern"] = json!(format!("{p}|{SAFE_EXCLUDE}"));
                            }
                        })),
                        ..Default::default()
                    }),
                );
            }
        }
        let acls = config_str(src_cfg, "sync.topic.acls.enabled").unwrap_or_else(|| "true".into());
        let user_operator = facts
            .by_alias(&target)
            .and_then(|t| t.kafka_for(None))
            .is_some_and(|k| k.user_operator());
        if acls.eq_ignore_ascii_case("true") && user_operator {
            out.push(
                Finding::new(
                    "topology.sync-topic-acls",
                    Check::Topology,
                    Severity::Warning,
                    cx,
                    mm2_object(m),
                    format!(
                        "{d}: sync.topic.acls.enabled is true (Kafka's default) while the User Operator manages the ACLs of {target}: the two overwrite each other's ACLs"
                    ),
                )
                .direction(&d)
                .evidence("sync.topic.acls.enabled", acls)
                .evidence("user operator", format!("Kafka of {target} has entityOperator.userOperator"))
                .fix(Fix {
                    summary: "turn MM2's ACL sync off and grant ACLs through KafkaUsers".into(),
                    flux_path: facts.flux_path(cx, &m.meta),
                    patch: Some(mirrors_patch(m, |j, mir| {
                        if j == i {
                            set_config(mir, "sourceConnector", "sync.topic.acls.enabled", json!("false"));
                        }
                    })),
                    ..Default::default()
                }),
            );
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::doctor::facts::ContextFacts;

    pub fn mm2(name: &str, connect: &str, source: &str, target: &str) -> Value {
        json!({"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaMirrorMaker2",
            "metadata": {"name": name, "namespace": "rciis-prod", "generation": 1},
            "spec": {"replicas": 2, "connectCluster": connect,
              "clusters": [{"alias": "aws", "bootstrapServers": "kafka-rciis-prod-kafka-bootstrap.rciis-prod.svc:9092"},
                           {"alias": "proxmox", "bootstrapServers": "kafka-bootstrap-proxmox.rciis-prod.svc.clusterset.local:9092"}],
              "mirrors": [{"sourceCluster": source, "targetCluster": target,
                "sourceConnector": {"tasksMax": 5, "config": {"replication.policy.class": DEFAULT_POLICY,
                    "replication.policy.separator": ".", "sync.topic.acls.enabled": "false"}},
                "checkpointConnector": {"config": {"replication.policy.class": DEFAULT_POLICY}},
                "topicsPattern": ".*", "topicsExcludePattern": ".*[\\-\\.]internal|__.*"}]}})
    }

    pub fn facts_with(objs: &[(&str, Value)]) -> Facts {
        let mut aws = ContextFacts::new("rciis-aws", Some("aws"), "rciis-prod");
        let mut px = ContextFacts::new("rciis-proxmox", Some("proxmox"), "rciis-prod");
        for (alias, o) in objs {
            if *alias == "aws" { aws.add(o) } else { px.add(o) }
        }
        Facts {
            contexts: vec![aws, px],
        }
    }

    fn ids(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.id.as_str()).collect()
    }

    #[test]
    fn the_runbook_layout_is_rejected_with_the_convert_command() {
        let f = check(&facts_with(&[(
            "aws",
            mm2("mm2-aws-to-proxmox", "aws", "aws", "proxmox"),
        )]));
        assert_eq!(ids(&f), [REJECTED]);
        assert_eq!(
            f[0].fix.command.as_deref(),
            Some("kubectl mm2 convert aws:proxmox")
        );
        assert!(f[0].evidence["message"].contains("targetCluster alias is not the same"));
    }

    #[test]
    fn the_working_layout_passes() {
        let f = check(&facts_with(&[
            ("proxmox", mm2("mm2-aws-to-proxmox", "proxmox", "aws", "proxmox")),
            ("aws", mm2("mm2-proxmox-to-aws", "aws", "proxmox", "aws")),
        ]));
        assert!(f.is_empty(), "{f:#?}");
    }

    #[test]
    fn a_direction_served_twice_is_an_error() {
        let f = check(&facts_with(&[
            ("proxmox", mm2("mm2-aws-to-proxmox", "proxmox", "aws", "proxmox")),
            (
                "proxmox",
                mm2("mm2-aws-to-proxmox-2", "proxmox", "aws", "proxmox"),
            ),
        ]));
        assert_eq!(ids(&f), ["topology.duplicate-direction"]);
    }

    #[test]
    fn a_valid_mm2_in_another_cluster_than_its_target_is_an_error() {
        // Context rciis-aws is known as aws, but holds an MM2 whose workers target proxmox.
        let f = check(&facts_with(&[(
            "aws",
            mm2("mm2-aws-to-proxmox", "proxmox", "aws", "proxmox"),
        )]));
        assert_eq!(ids(&f), ["topology.wrong-cluster"]);
    }

    #[test]
    fn identity_policy_in_a_pair_mismatch_exclude_and_acls_trip() {
        let mut a = mm2("mm2-aws-to-proxmox", "proxmox", "aws", "proxmox");
        a["spec"]["mirrors"][0]["sourceConnector"]["config"]["replication.policy.class"] =
            json!("org.apache.kafka.connect.mirror.IdentityReplicationPolicy");
        a["spec"]["mirrors"][0]["topicsExcludePattern"] = json!("foo.*");
        a["spec"]["mirrors"][0]["sourceConnector"]["config"]
            .as_object_mut()
            .unwrap()
            .remove("sync.topic.acls.enabled");
        let kafka = json!({"kind": "Kafka", "metadata": {"name": "kafka-rciis-prod", "namespace": "rciis-prod"},
            "spec": {"kafka": {}, "entityOperator": {"userOperator": {}}}});
        let f = check(&facts_with(&[
            ("proxmox", a),
            ("proxmox", kafka),
            ("aws", mm2("mm2-proxmox-to-aws", "aws", "proxmox", "aws")),
        ]));
        let mut got = ids(&f);
        got.sort();
        assert_eq!(
            got,
            [
                "topology.exclude-pattern",
                "topology.identity-policy-in-cycle",
                "topology.policy-mismatch",
                "topology.sync-topic-acls"
            ]
        );
        let ex = f.iter().find(|f| f.id == "topology.exclude-pattern").unwrap();
        assert!(
            ex.fix
                .patch
                .as_deref()
                .unwrap()
                .contains("foo.*|.*[\\-\\.]internal|__.*"),
            "{}",
            ex.fix.patch.as_deref().unwrap()
        );
    }

    #[test]
    fn exclusion_is_judged_as_regexes() {
        assert!(excludes(SAFE_EXCLUDE, "mm2-offset-syncs.aws.internal"));
        assert!(excludes("a.*, __.*", "__consumer_offsets"));
        assert!(!excludes("__.*", "aws.checkpoints.internal"));
    }
}
