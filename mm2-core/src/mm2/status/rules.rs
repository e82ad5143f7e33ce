//! The judgement of `status` (pure): an MM2 object and the facts read about it become findings,
//! connector reports and a verdict. Unit-tested without a cluster.

use super::gather::{LiveFacts, Mm2Facts};
use super::report::*;
use crate::direction::Direction;
use crate::error::Error;
use crate::error::Problem;
use crate::resources::condition;
use crate::resources::inventory::Mm2Object;
use crate::resources::strimzi::ConnectorState;
use crate::topology::Route;
use crate::topology::layout::{self, Rejection};

pub fn judge(m: &Mm2Object) -> Option<Rejection> {
    layout::judge(&m.obj.data["spec"], m.status.as_ref(), m.generation())
}

/// Findings about the other MM2s of a direction: a second running one double-writes the target;
/// a rejected leftover is harmless but should leave Git.
pub fn duplicate_findings(d: &Direction, primary: &Mm2Report, others: &[OtherMm2]) -> Vec<String> {
    let mut out = Vec::new();
    for o in others {
        let at = format!("{} in {} (namespace {})", o.name, o.context, o.namespace);
        match (&o.rejection, &primary.rejection) {
            (None, None) => out.push(format!(
                "{d} is served twice: {at} also replicates it, so every record is written to the target twice — delete one of them from its Flux path"
            )),
            (Some(_), None) => out.push(format!(
                "{at} also names {d} but Strimzi rejects it (nothing runs there): remove it from its Flux path now that {} in {} runs the direction",
                primary.name, primary.context
            )),
            (_, Some(_)) => out.push(format!("{at} also names {d}")),
        }
    }
    out
}

/// Judge one MM2 from its object and the facts read around it: every finding, in the order a
/// reader needs them (a rejection first, then the status, workers, connectors and Secrets). Pure.
pub fn judge_mm2(mm2: &Mm2Object, route: &Route, facts: Mm2Facts) -> Mm2Report {
    let d = &route.direction;
    let spec = &mm2.spec;
    let status = mm2.status.clone().unwrap_or_default();
    let spec_route = spec.routes().into_iter().find(|r| r.index == route.mirror_index);
    let mut findings = Vec::new();
    // A rejected MM2 has no pods and no connectors: say why once, first, instead of listing every
    // consequence as if something had broken.
    let rejection = judge(mm2);
    if let Some(r) = &rejection {
        findings.push(format!(
            "rejected by Strimzi ({}: {}): nothing replicates{}",
            r.reason,
            r.message,
            r.fix
                .as_ref()
                .map(|f| format!(" — `{f}` prints the manifests of a layout that runs"))
                .unwrap_or_default()
        ));
    }
    let rejected = rejection.is_some();
    findings.extend(
        status
            .unreadable
            .iter()
            .map(|u| format!("{u} — the rest of the status is shown")),
    );

    let Mm2Facts {
        pods,
        secrets,
        flux,
        live,
        now,
    } = facts;
    let (pods, ready_pods) = match pods {
        Ok(p) => p,
        Err(e) => {
            findings.push(format!("cannot list pods: {e}"));
            (vec![], None)
        }
    };
    let replicas = Replicas {
        desired: spec.replicas,
        status: status.replicas,
        ready_pods,
        pods,
    };
    let ready = condition(&status.conditions, "Ready").or_else(|| condition(&status.conditions, "NotReady"));
    let ready_report = ready.map(|c| ConditionReport::of(c, now));
    let conditions: Vec<ConditionReport> = status
        .conditions
        .iter()
        .filter(|c| c.type_ != "Ready" && c.type_ != "NotReady")
        .map(|c| ConditionReport::of(c, now))
        .collect();

    match ready {
        Some(c) if c.type_ == "Ready" && c.status == "True" => {}
        Some(_) if rejected => {}
        Some(c) => findings.push(condition_text(c)),
        None if !mm2.reconciliation_paused() => {
            findings.push("no Ready condition yet: the operator has not reported".into())
        }
        None => {}
    }
    if mm2.reconciliation_paused() {
        findings.push(format!(
            "reconciliation is paused ({}=true): the operator ignores every change; remove the annotation to resume",
            crate::resources::strimzi::PAUSE_RECONCILIATION
        ));
    }
    if !mm2.reconciled() && !mm2.reconciliation_paused() && !rejected {
        findings.push(format!(
            "generation {} not yet reconciled (observedGeneration {})",
            mm2.generation().unwrap_or_default(),
            status
                .observed_generation
                .map(|g| g.to_string())
                .unwrap_or_else(|| "none".into())
        ));
    }
    if let (Some(want), Some(have)) = (spec.replicas, ready_pods)
        && have < want
        && !rejected
    {
        findings.push(format!("{have}/{want} Connect workers ready"));
    }

    let connectors = if rejected {
        Vec::new()
    } else {
        connector_reports(mm2, route.mirror_index, d, &mut findings)
    };
    for s in &secrets {
        if s.present == Some(false) {
            findings.push(format!(
                "credentials Secret {} (cluster {}) is missing: `kubectl clusterset copy-secret --mm2` recreates peer copies",
                s.name, s.alias
            ));
        }
    }
    let live = live.map(|l| live_report(l, &connectors));
    if let Some(l) = &live {
        findings.extend(l.disagreements.iter().map(|x| format!("live: {x}")));
    }

    Mm2Report {
        name: mm2.name.clone(),
        namespace: mm2.namespace.clone(),
        context: mm2.context.clone(),
        api_version: format!("{}/{}", mm2.ar.group, mm2.version),
        shape: spec.shape(),
        connect_cluster: spec.connect_alias().map(str::to_string),
        source_bootstrap: spec_route.as_ref().and_then(|r| r.source_bootstrap.clone()),
        target_bootstrap: spec_route.as_ref().and_then(|r| r.target_bootstrap.clone()),
        replicas,
        ready: ready_report,
        conditions,
        generation: mm2.generation(),
        observed_generation: status.observed_generation,
        reconciled: mm2.reconciled(),
        reconciliation_paused: mm2.reconciliation_paused(),
        rejection,
        connectors,
        secrets,
        flux,
        findings,
        live,
    }
}

/// Connectors of one mirror: spec vs status, with findings for everything not as desired.
pub fn connector_reports(
    mm2: &Mm2Object,
    index: usize,
    d: &Direction,
    findings: &mut Vec<String>,
) -> Vec<ConnectorReport> {
    let status = mm2.status.clone().unwrap_or_default();
    let stopped_workers = mm2.spec.replicas == Some(0);
    mm2.spec
        .connector_kinds(index)
        .into_iter()
        .map(|kind| {
            let name = kind.connector_name(d);
            let spec = mm2.spec.connector(index, kind).cloned().unwrap_or_default();
            let desired = spec.desired_state();
            let st = status.connectors.iter().find(|c| c.name == name);
            let state = st.map(|c| ConnectorState::parse(&c.connector.state));
            let tasks: Vec<TaskReport> = st
                .map(|c| {
                    c.tasks
                        .iter()
                        .map(|t| TaskReport {
                            id: t.id,
                            state: ConnectorState::parse(&t.state),
                            worker: t.worker_id.clone(),
                            trace: t.trace.as_deref().map(first_line),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let auto_restarts = status
                .auto_restart_statuses
                .iter()
                .find(|a| a.connector_name == name)
                .map(|a| a.count);
            let mut healthy = true;
            match state {
                None if !stopped_workers => {
                    healthy = false;
                    findings.push(format!("{name}: not reported by the operator"));
                }
                Some(ConnectorState::Failed) => {
                    healthy = false;
                    let trace = st
                        .and_then(|c| c.connector.trace.as_deref())
                        .map(first_line)
                        .unwrap_or_default();
                    findings.push(format!(
                        "{name} FAILED: {trace} — fix the cause, then restart it: `{}`",
                        crate::mm2::restart::restart_command(d, &mm2.context, kind, None)
                    ));
                }
                Some(s) if s != desired => {
                    healthy = false;
                    findings.push(format!("{name}: {s}, desired {desired}"));
                }
                _ => {}
            }
            for t in &tasks {
                let expected = match desired {
                    ConnectorState::Paused => ConnectorState::Paused,
                    _ => ConnectorState::Running,
                };
                if t.state != expected {
                    healthy = false;
                    let what = if t.state == ConnectorState::Failed {
                        format!(
                            " ({}) — restart it: `{}`",
                            t.trace.clone().unwrap_or_default(),
                            crate::mm2::restart::restart_command(d, &mm2.context, kind, Some(t.id))
                        )
                    } else {
                        String::new()
                    };
                    findings.push(format!(
                        "{name} task {}: {}, desired {expected}{what}",
                        t.id, t.state
                    ));
                }
            }
            ConnectorReport {
                kind,
                name,
                desired_state: desired,
                deprecated_pause: spec.pause,
                tasks_max: spec.tasks_max,
                state,
                worker: st.and_then(|c| c.connector.worker_id.clone()),
                trace: st.and_then(|c| c.connector.trace.as_deref()).map(first_line),
                tasks,
                auto_restarts,
                healthy,
            }
        })
        .collect()
}

/// A direction that could not be read because of `err`: its verdict is the error's (what is
/// unknown is never degraded), the error its one line.
pub fn unread_direction(d: &Direction, err: &Error) -> DirectionStatus {
    DirectionStatus {
        direction: d.to_string(),
        source: d.source.clone(),
        target: d.target.clone(),
        verdict: Verdict::of_error(err),
        error: Some(Problem::from_error(err)),
        mm2: None,
        also_served_by: Vec::new(),
    }
}

/// The direction run by the MM2 of `report`, with the other MM2s that also name it: a rejected
/// MM2 makes it invalid, any finding degraded.
pub fn judged_direction(d: &Direction, mut report: Mm2Report, others: Vec<OtherMm2>) -> DirectionStatus {
    report.findings.extend(duplicate_findings(d, &report, &others));
    DirectionStatus {
        direction: d.to_string(),
        source: d.source.clone(),
        target: d.target.clone(),
        verdict: direction_verdict(&report),
        error: None,
        mm2: Some(report),
        also_served_by: others,
    }
}

/// The verdict of a direction served by `report`: invalid when rejected, healthy when nothing was
/// found, else degraded.
pub fn direction_verdict(report: &Mm2Report) -> Verdict {
    if report.rejection.is_some() {
        Verdict::Invalid
    } else if report.findings.is_empty() {
        Verdict::Healthy
    } else {
        Verdict::Degraded
    }
}

/// Connect's view against the CR status's.
fn live_report(l: LiveFacts, connectors: &[ConnectorReport]) -> LiveReport {
    match l.body {
        Err(e) => LiveReport {
            pod: Some(l.pod),
            error: Some(e),
            disagreements: vec![],
        },
        Ok(body) => LiveReport {
            pod: Some(l.pod),
            error: None,
            disagreements: compare_live(&body, connectors),
        },
    }
}

/// Differences between Connect's `?expand=status` map and what the CR status says.
pub fn compare_live(live: &serde_json::Value, connectors: &[ConnectorReport]) -> Vec<String> {
    let mut out = Vec::new();
    for c in connectors {
        let Some(st) = live.get(&c.name).and_then(|v| v.get("status")) else {
            out.push(format!(
                "{}: Connect does not know this connector (CR status says {})",
                c.name,
                c.state.map(|s| s.as_str()).unwrap_or("nothing")
            ));
            continue;
        };
        let live_state = ConnectorState::parse(st["connector"]["state"].as_str().unwrap_or_default());
        if Some(live_state) != c.state {
            out.push(format!(
                "{}: Connect says {live_state}, CR status says {}",
                c.name,
                c.state.map(|s| s.as_str()).unwrap_or("nothing")
            ));
        }
        for t in st["tasks"].as_array().into_iter().flatten() {
            let id = t["id"].as_i64().unwrap_or(-1);
            let ls = ConnectorState::parse(t["state"].as_str().unwrap_or_default());
            match c.tasks.iter().find(|x| x.id == id) {
                Some(x) if x.state == ls => {}
                Some(x) => out.push(format!(
                    "{} task {id}: Connect says {ls}, CR status says {}",
                    c.name, x.state
                )),
                None => out.push(format!(
                    "{} task {id}: Connect says {ls}, CR status lists no such task",
                    c.name
                )),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn running(name: &str, tasks: Value) -> Value {
        json!({"name": name, "connector": {"state": "RUNNING", "worker_id": "10.0.0.1:8083"}, "tasks": tasks, "type": "source"})
    }

    /// The working layout's `proxmox->aws` in aws, with `connect_cluster` and `status` chosen.
    fn mm2(connect_cluster: &str, status: Value) -> Mm2Object {
        Mm2Object::from_json(
            "rciis-aws",
            json!({
                "apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaMirrorMaker2",
                "metadata": {"name": "mm2-proxmox-to-aws", "namespace": "rciis-prod", "generation": 2},
                "spec": {"connectCluster": connect_cluster, "replicas": 1,
                    "clusters": [
                        {"alias": "aws", "bootstrapServers": "kafka-rciis-prod-kafka-bootstrap:9092"},
                        {"alias": "proxmox", "bootstrapServers": "kafka-bootstrap-proxmox.rciis-prod.svc.clusterset.local:9092"}],
                    "mirrors": [{"sourceCluster": "proxmox", "targetCluster": "aws",
                                 "sourceConnector": {"tasksMax": 1}, "checkpointConnector": {}}]},
                "status": status
            }),
        )
        .unwrap()
    }

    fn ready_status(source_tasks: Value) -> Value {
        json!({"observedGeneration": 2, "replicas": 1,
               "conditions": [{"type": "Ready", "status": "True"}],
               "connectors": [running("proxmox->aws.MirrorSourceConnector", source_tasks),
                              running("proxmox->aws.MirrorCheckpointConnector", json!([{"id": 0, "state": "RUNNING", "worker_id": "w"}]))]})
    }

    fn facts() -> Mm2Facts {
        Mm2Facts {
            pods: Ok((vec!["mm2-proxmox-to-aws-mirrormaker2-0".into()], Some(1))),
            secrets: vec![SecretReport {
                alias: "proxmox".into(),
                name: "mm2-user-proxmox".into(),
                present: Some(true),
            }],
            flux: None,
            live: None,
            now: std::time::SystemTime::now(),
        }
    }

    fn route() -> Route {
        Route {
            direction: Direction::new("proxmox", "aws"),
            context: "rciis-aws".into(),
            namespace: "rciis-prod".into(),
            mm2: "mm2-proxmox-to-aws".into(),
            mirror_index: 0,
        }
    }

    #[test]
    fn a_healthy_direction_has_no_findings() {
        let m = mm2(
            "aws",
            ready_status(json!([{"id": 0, "state": "RUNNING", "worker_id": "w"}])),
        );
        let r = judge_mm2(&m, &route(), facts());
        assert_eq!(r.findings, Vec::<String>::new());
        assert_eq!(direction_verdict(&r), Verdict::Healthy);
        assert_eq!(r.connectors.len(), 2);
        assert!(r.connectors.iter().all(|c| c.healthy));
    }

    #[test]
    fn a_rejected_layout_says_why_once_and_lists_no_connectors() {
        // The runbook's layout: the MM2 of proxmox->aws runs its Connect cluster in proxmox.
        let m = mm2(
            "proxmox",
            json!({"observedGeneration": 2, "conditions": [{"type": "NotReady", "status": "True",
                   "reason": "InvalidResourceException",
                   "message": "The .spec.mirrors[].targetCluster alias is not the same as the actual target cluster alias."}]}),
        );
        let r = judge_mm2(&m, &route(), facts());
        assert_eq!(direction_verdict(&r), Verdict::Invalid);
        assert!(r.connectors.is_empty());
        assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
        assert!(
            r.findings[0].starts_with("rejected by Strimzi"),
            "{:?}",
            r.findings
        );
        assert!(r.findings[0].contains("kubectl mm2 convert"), "{:?}", r.findings);
    }

    #[test]
    fn a_failed_task_names_its_trace_and_the_restart_command() {
        let m = mm2(
            "aws",
            ready_status(json!([{"id": 0, "state": "FAILED", "worker_id": "w",
                                 "trace": "org.apache.kafka.common.errors.SaslAuthenticationException: bad creds\n\tat x"}])),
        );
        let r = judge_mm2(&m, &route(), facts());
        assert_eq!(direction_verdict(&r), Verdict::Degraded);
        let f = r.findings.join("\n");
        assert!(f.contains("task 0: FAILED"), "{f}");
        assert!(f.contains("SaslAuthenticationException: bad creds"), "{f}");
        assert!(!f.contains("\tat x"), "only the trace's first line: {f}");
        assert!(f.contains("kubectl mm2 restart"), "{f}");
    }

    #[test]
    fn unreadable_pods_and_a_missing_secret_are_findings_not_failures() {
        let m = mm2(
            "aws",
            ready_status(json!([{"id": 0, "state": "RUNNING", "worker_id": "w"}])),
        );
        let mut f = facts();
        f.pods = Err("forbidden: cannot list pods in rciis-aws".into());
        f.secrets[0].present = Some(false);
        let r = judge_mm2(&m, &route(), f);
        let text = r.findings.join("\n");
        assert!(text.contains("cannot list pods: forbidden"), "{text}");
        assert!(
            text.contains("mm2-user-proxmox") && text.contains("copy-secret --mm2"),
            "{text}"
        );
        assert_eq!(r.replicas.ready_pods, None);
    }

    #[test]
    fn live_disagreement_is_a_finding_and_a_refused_proxy_is_not() {
        let m = mm2(
            "aws",
            ready_status(json!([{"id": 0, "state": "RUNNING", "worker_id": "w"}])),
        );
        let mut f = facts();
        f.live = Some(LiveFacts {
            pod: "mm2-proxmox-to-aws-mirrormaker2-0".into(),
            body: Ok(json!({
                "proxmox->aws.MirrorSourceConnector": {"status": {"connector": {"state": "PAUSED"}, "tasks": [{"id": 0, "state": "PAUSED"}]}},
                "proxmox->aws.MirrorCheckpointConnector": {"status": {"connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "RUNNING"}]}}})),
        });
        let r = judge_mm2(&m, &route(), f);
        let text = r.findings.join("\n");
        assert!(
            text.contains(
                "live: proxmox->aws.MirrorSourceConnector: Connect says PAUSED, CR status says RUNNING"
            ),
            "{text}"
        );
        assert!(
            text.contains("live: proxmox->aws.MirrorSourceConnector task 0: Connect says PAUSED"),
            "{text}"
        );

        let mut f = facts();
        f.live = Some(LiveFacts {
            pod: "mm2-proxmox-to-aws-mirrormaker2-0".into(),
            body: Err("connection refused".into()),
        });
        let r = judge_mm2(&m, &route(), f);
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        assert_eq!(r.live.unwrap().error.as_deref(), Some("connection refused"));
    }

    #[test]
    fn paused_reconciliation_is_said_without_a_stale_generation_complaint() {
        let m = Mm2Object::from_json("rciis-aws", {
            let mut v =
                serde_json::to_value(&mm2("aws", ready_status(json!([{"id": 0, "state": "RUNNING"}]))).obj)
                    .unwrap();
            v["metadata"]["annotations"] = json!({"strimzi.io/pause-reconciliation": "true"});
            v["metadata"]["generation"] = json!(3);
            v
        })
        .unwrap();
        let r = judge_mm2(&m, &route(), facts());
        let text = r.findings.join("\n");
        assert!(text.contains("reconciliation is paused"), "{text}");
        assert!(!text.contains("not yet reconciled"), "{text}");
    }
}
