use super::*;
use crate::direction::Direction;
use crate::error::Error;
use crate::resources::strimzi::{ConnectorKind, ConnectorState};
use serde_json::json;
use std::collections::BTreeMap;

fn conn(
    kind: ConnectorKind,
    d: &Direction,
    state: ConnectorState,
    tasks: &[(i64, ConnectorState)],
) -> ConnectorFacts {
    ConnectorFacts {
        kind,
        name: kind.connector_name(d),
        state: Some(state),
        trace: (state == ConnectorState::Failed).then(|| "ConnectException: boom".into()),
        tasks: tasks
            .iter()
            .map(|(id, s)| TaskFacts {
                id: *id,
                state: *s,
                trace: None,
            })
            .collect(),
    }
}

fn facts_with(d: &Direction, connectors: Vec<ConnectorFacts>, all: &[&str]) -> RestartFacts {
    RestartFacts {
        direction: d.clone(),
        context: "rciis-aws".into(),
        namespace: "rciis-prod".into(),
        mm2: "mm2-proxmox-to-aws".into(),
        reconciliation_paused: false,
        replicas: Some(1),
        annotations: BTreeMap::new(),
        all_connectors: all.iter().map(|s| s.to_string()).collect(),
        connectors,
        warnings: vec![],
    }
}

use ConnectorKind::{Checkpoint, Heartbeat, Source};
use ConnectorState::{Failed, Running, Stopped};

fn d() -> Direction {
    Direction::new("proxmox", "aws")
}

#[test]
fn failed_connector_gets_the_failed_instances_restart_and_running_ones_are_left_alone() {
    let f = facts_with(
        &d(),
        vec![
            conn(Source, &d(), Failed, &[]),
            conn(Checkpoint, &d(), Running, &[(0, Running)]),
        ],
        &[],
    );
    let p = plan(&f, &RestartRequest::default());
    assert!(p.failed_only);
    assert_eq!(p.steps.len(), 1);
    assert_eq!(p.steps[0].annotation, RESTART_CONNECTOR);
    assert_eq!(
        p.steps[0].value,
        "proxmox->aws.MirrorSourceConnector:includeTasks,onlyFailed"
    );
    assert!(p.steps[0].why.contains("ConnectException: boom"));
    assert_eq!(p.skipped[0].connector, "proxmox->aws.MirrorCheckpointConnector");
}

#[test]
fn failed_task_under_running_connector_is_restarted_through_only_failed() {
    let f = facts_with(
        &d(),
        vec![conn(Source, &d(), Running, &[(0, Running), (1, Failed)])],
        &[],
    );
    let p = plan(&f, &RestartRequest::default());
    assert_eq!(p.steps[0].why, "task 1 FAILED");
    assert!(p.steps[0].only_failed && p.steps[0].include_tasks);
}

#[test]
fn a_failed_tasks_trace_says_why_it_is_restarted() {
    let mut c = conn(Source, &d(), Running, &[(0, Failed), (1, Failed)]);
    c.tasks[0].trace = Some("ConnectException: Unrecoverable exception from producer send callback".into());
    let f = facts_with(&d(), vec![c], &[]);
    let p = plan(&f, &RestartRequest::default());
    assert_eq!(
        p.steps[0].why,
        "tasks 0,1 FAILED: ConnectException: Unrecoverable exception from producer send callback"
    );
}

#[test]
fn nothing_failed_and_nothing_named_is_nothing_to_restart() {
    let f = facts_with(&d(), vec![conn(Source, &d(), Running, &[(0, Running)])], &[]);
    let p = plan(&f, &RestartRequest::default());
    assert!(p.is_noop());
    assert_eq!(p.skipped[0].why, "RUNNING, no FAILED task");
    let p = plan(
        &f,
        &RestartRequest {
            failed_only: Some(true),
            kinds: vec![Source],
            ..Default::default()
        },
    );
    assert!(p.is_noop());
}

#[test]
fn a_named_running_connector_is_restarted_when_nothing_failed() {
    let f = facts_with(&d(), vec![conn(Source, &d(), Running, &[(0, Running)])], &[]);
    let req = RestartRequest {
        kinds: vec![Source],
        include_tasks: true,
        ..Default::default()
    };
    let p = plan(&f, &req);
    assert!(!p.failed_only);
    assert_eq!(
        p.steps[0].value,
        "proxmox->aws.MirrorSourceConnector:includeTasks"
    );
    let p = plan(
        &f,
        &RestartRequest {
            kinds: vec![Source],
            ..Default::default()
        },
    );
    assert_eq!(p.steps[0].value, "proxmox->aws.MirrorSourceConnector");
}

#[test]
fn task_restart_uses_the_task_annotation() {
    let f = facts_with(
        &d(),
        vec![conn(Source, &d(), Running, &[(0, Running), (2, Failed)])],
        &[],
    );
    let req = RestartRequest {
        kinds: vec![Source],
        task: Some(2),
        ..Default::default()
    };
    let p = plan(&f, &req);
    assert_eq!(p.steps[0].annotation, RESTART_CONNECTOR_TASK);
    assert_eq!(p.steps[0].value, "proxmox->aws.MirrorSourceConnector:2");
    assert_eq!(
        strimzi_reads_task(&p.steps[0].value, "proxmox->aws.MirrorSourceConnector"),
        Some(2)
    );
    // Failed-only (something failed) and task 0 is RUNNING: skipped.
    let p = plan(
        &f,
        &RestartRequest {
            task: Some(0),
            ..req.clone()
        },
    );
    assert!(p.is_noop());
    assert_eq!(p.skipped[0].why, "task 0 is RUNNING");
    let p = plan(&f, &RestartRequest { task: Some(7), ..req });
    assert_eq!(p.skipped[0].why, "has no task 7");
}

#[test]
fn stopped_and_unreported_connectors_are_skipped_with_the_way_out() {
    let mut hb = conn(Heartbeat, &d(), Running, &[]);
    hb.state = None;
    let f = facts_with(&d(), vec![conn(Source, &d(), Stopped, &[]), hb], &[]);
    let p = plan(
        &f,
        &RestartRequest {
            failed_only: Some(false),
            ..Default::default()
        },
    );
    assert!(p.is_noop());
    assert!(p.skipped[0].why.contains("kubectl mm2 resume proxmox:aws"));
    assert!(p.skipped[1].why.contains("not reported"));
}

#[test]
fn every_value_we_write_is_read_back_by_strimzi_as_meant() {
    for (inc, only) in [(false, false), (true, false), (false, true), (true, true)] {
        let c = "proxmox->aws.MirrorSourceConnector";
        let v = connector_annotation(c, inc, only);
        assert_eq!(strimzi_reads_restart(&v, c), Some(Ok((inc, only))), "{v}");
    }
}

#[test]
fn strimzi_validation_rules() {
    let c = "a->b.MirrorSourceConnector";
    // Only arguments: contains no name, so not even matched.
    assert_eq!(strimzi_reads_restart("includeTasks,onlyFailed", c), None);
    assert_eq!(
        strimzi_reads_restart("a->b.MirrorSourceConnector:includeTasks:x", c),
        Some(Err(INVALID_FORMAT))
    );
    assert_eq!(
        strimzi_reads_restart("a->b.MirrorSourceConnector:everything", c),
        Some(Err(INVALID_FORMAT))
    );
    assert_eq!(
        strimzi_reads_restart("A->B.mirrorsourceconnector", "A->B.mirrorsourceconnector"),
        Some(Ok((false, false)))
    );
    assert_eq!(strimzi_reads_task("a->b.MirrorSourceConnector:x", c), None);
    assert_eq!(strimzi_reads_task("a->b.MirrorSourceConnector:", c), None);
    assert_eq!(strimzi_reads_task("aa->b.MirrorSourceConnector:1", c), None);
}

#[test]
fn alias_inside_another_alias_warns_about_the_spurious_invalid_format_warning() {
    // Mirrors xa->b and a->b in one KafkaMirrorMaker2: "xa->b.MirrorSourceConnector" contains
    // "a->b.MirrorSourceConnector".
    let long = Direction::new("xa", "b");
    let short = Direction::new("a", "b");
    let all = [
        "xa->b.MirrorSourceConnector",
        "xa->b.MirrorCheckpointConnector",
        "a->b.MirrorSourceConnector",
        "a->b.MirrorCheckpointConnector",
    ];
    let f = facts_with(&long, vec![conn(Source, &long, Failed, &[])], &all);
    let p = plan(&f, &RestartRequest::default());
    assert_eq!(
        p.steps[0].spurious_warnings_for,
        vec!["a->b.MirrorSourceConnector"]
    );
    // What the operator does with our value for each connector:
    assert_eq!(
        strimzi_reads_restart(&p.steps[0].value, "xa->b.MirrorSourceConnector"),
        Some(Ok((true, true)))
    );
    assert_eq!(
        strimzi_reads_restart(&p.steps[0].value, "a->b.MirrorSourceConnector"),
        Some(Err(INVALID_FORMAT))
    );
    // The shorter name's value matches no other connector.
    let f = facts_with(&short, vec![conn(Source, &short, Failed, &[])], &all);
    let p = plan(&f, &RestartRequest::default());
    assert!(p.steps[0].spurious_warnings_for.is_empty());
    // Tasks are matched exactly: never spurious.
    let v = task_annotation("xa->b.MirrorSourceConnector", 0);
    assert_eq!(strimzi_reads_task(&v, "a->b.MirrorSourceConnector"), None);
}

#[test]
fn refusals_name_the_reason_and_the_way_out() {
    let base = facts_with(&d(), vec![conn(Source, &d(), Failed, &[])], &[]);
    let mut f = base.clone();
    f.reconciliation_paused = true;
    let Some(Error::Refused { reason, hint }) = refusal(&f) else {
        panic!("paused must refuse")
    };
    assert!(reason.contains("pause-reconciliation"));
    assert!(hint.contains("strimzi.io/pause-reconciliation-"));
    let mut f = base.clone();
    f.replicas = Some(0);
    let Some(Error::Refused { hint, .. }) = refusal(&f) else {
        panic!("replicas 0 must refuse")
    };
    assert!(hint.contains("kubectl mm2 scale proxmox:aws 1"));
    let mut f = base.clone();
    f.annotations.insert(
        RESTART_CONNECTOR_TASK.into(),
        "proxmox->aws.MirrorSourceConnector:0".into(),
    );
    let Some(Error::Refused { reason, hint }) = refusal(&f) else {
        panic!("pending must refuse")
    };
    assert!(reason.contains("already pending"));
    assert!(hint.contains("strimzi.io/restart-connector-task-"));
    f.warnings.push(INVALID_FORMAT.into());
    let Some(Error::Refused { reason, .. }) = refusal(&f) else {
        panic!("pending must refuse")
    };
    assert!(reason.ends_with("the operator reports Warning: Invalid annotation format"));
    assert!(refusal(&base).is_none());
}

#[test]
fn annotate_ops_create_the_map_when_absent_and_pin_the_version() {
    let json = |ops: Vec<json_patch::PatchOperation>| serde_json::to_value(ops).unwrap();
    let ops = json(annotate_ops(false, Some("42"), RESTART_CONNECTOR, "x"));
    assert_eq!(
        ops[0],
        json!({"op": "test", "path": "/metadata/resourceVersion", "value": "42"})
    );
    assert_eq!(ops[1]["path"], "/metadata/annotations");
    let ops = json(annotate_ops(true, None, RESTART_CONNECTOR, "x"));
    assert_eq!(
        ops[0]["path"],
        "/metadata/annotations/strimzi.io~1restart-connector"
    );
}

#[test]
fn restart_command_for_status() {
    assert_eq!(
        restart_command(&d(), "rciis-aws", Source, Some(1)),
        "kubectl mm2 restart proxmox:aws --context rciis-aws --connector source --task 1"
    );
}
