//! Sizing: connectors and tasks RUNNING; Connect workers beyond the tasks there are to run
//! (idle replicas); source tasks capped by the source partitions (KafkaTopics, when the source
//! cluster manages its topics with them).

use super::{mirror_source, mirror_target, topology::rejection};
use crate::direction::Direction;
use crate::doctor::{Check, Facts, Finding, Fix, Severity, object, patch_yaml};
use crate::resources::strimzi::ConnectorKind;
use regex::Regex;
use serde_json::{Value, json};

fn tasks_max(mirror: &Value, connector: &str) -> i64 {
    mirror
        .get(connector)
        .and_then(|c| c.get("tasksMax"))
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

pub fn check(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for cx in facts.reachable() {
        for m in &cx.mm2s {
            // A rejected MM2 runs nothing: the topology finding says why.
            if rejection(m).is_some() {
                continue;
            }
            let obj = object("KafkaMirrorMaker2", &m.meta);
            if let Some(st) = &m.status {
                for c in &st.connectors {
                    let kind = ConnectorKind::from_connector_name(&c.name);
                    let desired = kind
                        .and_then(|k| {
                            m.mirrors()
                                .into_iter()
                                .find(|mir| {
                                    c.name
                                        .starts_with(&format!("{}->", mirror_source(mir).unwrap_or_default()))
                                })
                                .and_then(|mir| mir.get(k.spec_key()))
                                .and_then(|s| s.get("state"))
                                .and_then(Value::as_str)
                                .map(str::to_uppercase)
                        })
                        .unwrap_or_else(|| "RUNNING".into());
                    let state = c.connector.state.to_uppercase();
                    if state == "FAILED" {
                        out.push(
                            Finding::new("sizing.connector-failed", Check::Sizing, Severity::Error, cx, obj.clone(), format!("connector {} is FAILED", c.name))
                                .evidence("state", state.clone())
                                .evidence("trace", c.connector.trace.as_deref().and_then(|t| t.lines().next()).unwrap_or("-"))
                                .fix(Fix { summary: "restart it once the cause is fixed".into(), command: Some(format!("kubectl annotate kafkamirrormaker2 {} -n {} --context {} strimzi.io/restart-connector={}", m.meta.name, m.meta.namespace, cx.context, c.name)), ..Default::default() }),
                        );
                    } else if state != desired {
                        out.push(
                            Finding::new(
                                "sizing.connector-not-running",
                                Check::Sizing,
                                Severity::Warning,
                                cx,
                                obj.clone(),
                                format!("connector {} is {state}, the spec wants {desired}", c.name),
                            )
                            .evidence("state", state.clone())
                            .evidence("desired", desired.clone())
                            .fix(Fix {
                                summary: "kubectl mm2 status --live shows what Kafka Connect says".into(),
                                ..Default::default()
                            }),
                        );
                    }
                    for t in c.tasks.iter().filter(|t| t.state.eq_ignore_ascii_case("FAILED")) {
                        out.push(
                            Finding::new("sizing.task-failed", Check::Sizing, Severity::Error, cx, obj.clone(), format!("task {} of {} is FAILED", t.id, c.name))
                                .evidence("task", t.id.to_string())
                                .evidence("trace", t.trace.as_deref().and_then(|t| t.lines().next()).unwrap_or("-"))
                                .fix(Fix { summary: "restart the failed tasks".into(), command: Some(format!("kubectl annotate kafkamirrormaker2 {} -n {} --context {} strimzi.io/restart-connector={}:includeTasks,onlyFailed", m.meta.name, m.meta.namespace, cx.context, c.name)), ..Default::default() }),
                        );
                    }
                }
            }
            // Idle workers: every task is one unit of work a worker can hold.
            let tasks: i64 = m
                .mirrors()
                .iter()
                .map(|mir| {
                    tasks_max(mir, "sourceConnector")
                        + if mir.get("checkpointConnector").is_some() {
                            tasks_max(mir, "checkpointConnector")
                        } else {
                            0
                        }
                        + if mir.get("heartbeatConnector").is_some() {
                            1
                        } else {
                            0
                        }
                })
                .sum();
            if let Some(r) = m.replicas()
                && r > tasks
                && tasks > 0
            {
                out.push(
                    Finding::new(
                        "sizing.idle-workers",
                        Check::Sizing,
                        Severity::Warning,
                        cx,
                        obj.clone(),
                        format!(
                            "{r} Connect workers for at most {tasks} tasks: {} worker(s) sit idle",
                            r - tasks
                        ),
                    )
                    .evidence("replicas", r.to_string())
                    .evidence("tasks (sum of tasksMax)", tasks.to_string())
                    .fix(Fix {
                        summary: format!("scale to {tasks} workers, or raise tasksMax"),
                        flux_path: facts.flux_path(cx, &m.meta),
                        patch: Some(patch_yaml(
                            &m.api_version,
                            "KafkaMirrorMaker2",
                            &m.meta,
                            json!({"spec": {"replicas": tasks}}),
                        )),
                        ..Default::default()
                    }),
                );
            }
            // Source tasks beyond the source partitions get nothing to do.
            for mir in m.mirrors() {
                let (Some(source), Some(target)) = (mirror_source(mir), mirror_target(m, mir)) else {
                    continue;
                };
                let Some(scx) = facts.by_alias(source) else {
                    continue;
                };
                if scx.topics.is_empty() {
                    continue;
                }
                let include = mir.get("topicsPattern").and_then(Value::as_str).unwrap_or(".*");
                let exclude = mir
                    .get("topicsExcludePattern")
                    .and_then(Value::as_str)
                    .unwrap_or(".*[\\-\\.]internal|.*\\.replica|__.*");
                let (Ok(inc), Ok(exc)) = (
                    Regex::new(&format!("^(?:{})$", include.replace(',', "|"))),
                    Regex::new(&format!("^(?:{})$", exclude.replace(',', "|"))),
                ) else {
                    continue;
                };
                let partitions: i64 = scx
                    .topics
                    .iter()
                    .filter(|t| inc.is_match(&t.topic_name) && !exc.is_match(&t.topic_name))
                    .filter_map(|t| t.partitions)
                    .sum();
                let tm = tasks_max(mir, "sourceConnector");
                if partitions > 0 && tm > partitions {
                    out.push(
                        Finding::new("sizing.tasks-capped", Check::Sizing, Severity::Info, cx, obj.clone(),
                            format!("tasksMax {tm} but {source} has {partitions} partition(s) to mirror: only {partitions} source task(s) get work"))
                        .direction(&Direction::new(source, target))
                        .evidence("tasksMax", tm.to_string())
                        .evidence("source partitions", partitions.to_string())
                        .fix(Fix { summary: format!("tasksMax {partitions} is enough until topics grow"), ..Default::default() }),
                    );
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::rules::topology::tests::{facts_with, mm2};

    fn running(m: &mut Value, state: &str, task: &str) {
        m["status"] = json!({"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}],
            "connectors": [{"name": "proxmox->aws.MirrorSourceConnector", "connector": {"state": state},
                            "tasks": [{"id": 0, "state": task}], "type": "source"}]});
    }

    #[test]
    fn running_connectors_and_enough_tasks_pass() {
        let mut m = mm2("mm2-proxmox-to-aws", "aws", "proxmox", "aws");
        running(&mut m, "RUNNING", "RUNNING");
        assert!(check(&facts_with(&[("aws", m)])).is_empty());
    }

    #[test]
    fn failed_connectors_tasks_idle_workers_and_capped_tasks_trip() {
        let mut m = mm2("mm2-proxmox-to-aws", "aws", "proxmox", "aws");
        running(&mut m, "FAILED", "FAILED");
        m["spec"]["replicas"] = json!(9);
        let topic = json!({"kind": "KafkaTopic", "metadata": {"name": "rect", "namespace": "rciis-prod"}, "spec": {"partitions": 2}});
        let f = check(&facts_with(&[("aws", m), ("proxmox", topic)]));
        let ids: Vec<&str> = f.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "sizing.connector-failed",
                "sizing.task-failed",
                "sizing.idle-workers",
                "sizing.tasks-capped"
            ]
        );
        assert_eq!(f[2].evidence["tasks (sum of tasksMax)"], "6");
    }
}
