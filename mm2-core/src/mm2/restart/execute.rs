//! Running a plan (I/O): annotate, wait for the operator to take it, then for RUNNING.

use crate::clients::{ContextClient, Op, resource_name};
use crate::error::{Error, Result};
use crate::mm2::FIELD_MANAGER;
use crate::poll::{self, Look, Waited};
use crate::resources::inventory::{Mm2Object, get_mm2};
use crate::resources::strimzi::ConnectorState;
use crate::write::DryRun;
use kube::api::{Patch, PatchParams};
use serde::Serialize;
use serde_json::json;
use std::cell::RefCell;
use std::time::{Duration, Instant};

use super::*;

/// What happened to one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepResult {
    /// The operator removed the annotation: Connect accepted the restart.
    Accepted,
    /// `--dry-run`: not written (client) or validated by the server.
    DryRun,
    /// The operator kept the annotation and reported why (Warning condition message).
    Rejected { warning: String },
    /// The annotation was still there at the deadline.
    Pending,
}

/// One executed step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepReport {
    #[serde(flatten)]
    pub step: RestartStep,
    pub result: StepResult,
    /// Restart Warning conditions seen while waiting (messages).
    pub warnings: Vec<String>,
}

/// A connector or task still not RUNNING after the wait.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotRunning {
    pub connector: String,
    pub task: Option<i64>,
    pub state: Option<ConnectorState>,
    /// First line of the trace.
    pub trace: Option<String>,
}

/// The outcome of one direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectionOutcome {
    /// Nothing selected needs a restart; nothing was written.
    NothingToRestart,
    DryRun,
    /// Every annotation was accepted; with `--wait`, everything restarted is RUNNING.
    Restarted,
    /// Accepted, but `--wait=false`: RUNNING not checked.
    Requested,
    /// Some annotation was rejected or still pending, or something is still not RUNNING.
    Incomplete,
}

/// `restart/v1` for one direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DirectionRestart {
    pub direction: String,
    pub context: String,
    pub namespace: String,
    pub mm2: String,
    pub outcome: DirectionOutcome,
    pub failed_only: bool,
    pub steps: Vec<StepReport>,
    pub skipped: Vec<Skipped>,
    pub not_running: Vec<NotRunning>,
    /// Restart Warning conditions on the object at the end (message per condition).
    pub warnings: Vec<String>,
}

/// `kubectl mm2 restart -o json|yaml`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestartReport {
    pub schema: &'static str,
    pub directions: Vec<DirectionRestart>,
}

impl RestartReport {
    /// 0 done (or nothing to do), 5 not converged (rejected, pending, or still not RUNNING).
    pub fn exit_code(&self) -> u8 {
        if self
            .directions
            .iter()
            .any(|d| d.outcome == DirectionOutcome::Incomplete)
        {
            crate::error::exit::NOT_CONVERGED
        } else {
            0
        }
    }
}

/// Progress events for the terminal.
#[derive(Debug, Clone)]
pub enum Progress<'a> {
    /// Annotation written, waiting for the operator.
    Annotated(&'a RestartStep),
    /// Still waiting; one line of what the status shows.
    Waiting(String),
    /// Waiting for RUNNING.
    WaitingRunning(String),
}

/// Run `plan` on one direction: annotate → wait for removal, step by step, then (with `wait`)
/// wait for RUNNING. `timeout` bounds the whole direction.
pub async fn execute(
    cc: &ContextClient,
    route: &crate::topology::Route,
    req: &RestartRequest,
    dry_run: DryRun,
    wait: bool,
    timeout: Duration,
    mut progress: impl FnMut(Progress<'_>),
) -> Result<DirectionRestart> {
    let deadline = Instant::now() + timeout;
    let mm2 = get_mm2(cc, &route.namespace, &route.mm2).await?;
    let f = facts(&mm2, route.mirror_index, &route.direction);
    let plan = plan(&f, req);
    let mut report = DirectionRestart {
        direction: route.direction.to_string(),
        context: mm2.context.clone(),
        namespace: mm2.namespace.clone(),
        mm2: mm2.name.clone(),
        outcome: DirectionOutcome::NothingToRestart,
        failed_only: plan.failed_only,
        steps: vec![],
        skipped: plan.skipped.clone(),
        not_running: vec![],
        warnings: restart_warnings(&mm2),
    };
    // Refusals first: while paused or scaled to zero the status is stale, so even "nothing to
    // restart" could not be trusted.
    if let Some(e) = refusal(&f) {
        return Err(e);
    }
    if plan.is_noop() {
        return Ok(report);
    }
    if dry_run == DryRun::Client {
        report.outcome = DirectionOutcome::DryRun;
        report.steps = plan
            .steps
            .into_iter()
            .map(|step| StepReport {
                step,
                result: StepResult::DryRun,
                warnings: vec![],
            })
            .collect();
        return Ok(report);
    }
    let mut incomplete = false;
    for step in plan.steps {
        let (result, warnings) = run_step(cc, route, &step, dry_run, deadline, &mut progress).await?;
        if !matches!(result, StepResult::Accepted | StepResult::DryRun) {
            incomplete = true;
        }
        report.steps.push(StepReport {
            step,
            result,
            warnings,
        });
        if incomplete {
            break;
        }
    }
    if dry_run == DryRun::Server {
        report.outcome = DirectionOutcome::DryRun;
        return Ok(report);
    }
    let restarted: Vec<(String, Option<i64>)> = report
        .steps
        .iter()
        .filter(|s| s.result == StepResult::Accepted)
        .map(|s| (s.step.connector.clone(), s.step.task))
        .collect();
    if !incomplete && wait {
        let restarted = &restarted;
        let waited = poll::until_deadline(
            deadline,
            move || async move {
                let m = get_mm2(cc, &route.namespace, &route.mm2).await?;
                let nr = not_running(&m, restarted);
                if nr.is_empty() {
                    return Ok(Look::Done(restart_warnings(&m)));
                }
                Ok(Look::Pending {
                    line: waiting_for_running(&nr),
                    seen: (nr, restart_warnings(&m)),
                })
            },
            |line| progress(Progress::WaitingRunning(line.to_string())),
        )
        .await?;
        match waited {
            Waited::Done(warnings) => report.warnings = warnings,
            Waited::TimedOut(last) => {
                incomplete = true;
                if let Some((nr, warnings)) = last {
                    report.not_running = nr;
                    report.warnings = warnings;
                }
            }
        }
    }
    report.outcome = if incomplete {
        DirectionOutcome::Incomplete
    } else if wait {
        DirectionOutcome::Restarted
    } else {
        DirectionOutcome::Requested
    };
    Ok(report)
}

/// One progress line: what has not reached RUNNING yet.
fn waiting_for_running(nr: &[NotRunning]) -> String {
    nr.iter()
        .map(|n| {
            format!(
                "{}{} {}",
                n.connector,
                n.task.map(|t| format!(" task {t}")).unwrap_or_default(),
                n.state.map(|s| s.as_str()).unwrap_or("not reported")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Connectors (or tasks) among `restarted` the status does not show RUNNING.
pub fn not_running(mm2: &Mm2Object, restarted: &[(String, Option<i64>)]) -> Vec<NotRunning> {
    let status = mm2.status.clone().unwrap_or_default();
    let mut out = Vec::new();
    for (name, task) in restarted {
        let Some(c) = status.connectors.iter().find(|c| &c.name == name) else {
            out.push(NotRunning {
                connector: name.clone(),
                task: *task,
                state: None,
                trace: None,
            });
            continue;
        };
        let cs = ConnectorState::parse(&c.connector.state);
        if cs != ConnectorState::Running && cs != ConnectorState::Paused {
            out.push(NotRunning {
                connector: name.clone(),
                task: None,
                state: Some(cs),
                trace: c.connector.trace.as_deref().map(crate::output::first_line),
            });
            continue;
        }
        for t in c.tasks.iter().filter(|t| task.is_none_or(|id| id == t.id)) {
            let ts = ConnectorState::parse(&t.state);
            if ts != ConnectorState::Running && ts != cs {
                out.push(NotRunning {
                    connector: name.clone(),
                    task: Some(t.id),
                    state: Some(ts),
                    trace: t.trace.as_deref().map(crate::output::first_line),
                });
            }
        }
    }
    out
}

/// JSON patch adding annotation `key=value`, valid only at the version we read (so a concurrent
/// writer that added the same key makes it fail instead of being overwritten).
pub fn annotate_ops(
    obj_annotations_present: bool,
    resource_version: Option<&str>,
    key: &str,
    value: &str,
) -> Vec<json_patch::PatchOperation> {
    use crate::write::patch;
    let mut ops = Vec::new();
    if let Some(rv) = resource_version {
        ops.push(patch::test(["metadata", "resourceVersion"], json!(rv)));
    }
    if obj_annotations_present {
        ops.push(patch::add(["metadata", "annotations", key], json!(value)));
    } else {
        ops.push(patch::add(["metadata", "annotations"], json!({key: value})));
    }
    ops
}

/// Write annotations with the read version as precondition; re-read and re-check on a conflict.
pub(crate) async fn annotate(
    cc: &ContextClient,
    namespace: &str,
    name: &str,
    pairs: &[(&str, &str)],
    dry_run: bool,
    refuse_if_present: impl Fn(&Mm2Object) -> Option<Error>,
) -> Result<()> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mm2 = get_mm2(cc, namespace, name).await?;
        if let Some(e) = refuse_if_present(&mm2) {
            return Err(e);
        }
        let mut present = mm2.obj.metadata.annotations.is_some();
        let mut ops = Vec::new();
        for (i, (k, v)) in pairs.iter().enumerate() {
            let rv = if i == 0 { mm2.resource_version() } else { None };
            ops.extend(annotate_ops(present, rv, k, v));
            present = true;
        }
        let patch = json_patch::Patch(ops);
        let api = cc.dynamic(&mm2.ar, &mm2.namespace);
        let pp = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            dry_run,
            ..Default::default()
        };
        let res = resource_name(&mm2.ar);
        let op = Op::new("patch", &res, &mm2.ar.kind).ns(namespace).name(name);
        match cc.call(op, api.patch(name, &pp, &Patch::Json::<()>(patch))).await {
            Ok(_) => return Ok(()),
            Err(Error::Api { code: 409 | 422, .. }) if attempt < crate::write::MAX_ATTEMPTS => continue,
            Err(e) => return Err(e),
        }
    }
}

pub(super) async fn run_step(
    cc: &ContextClient,
    route: &crate::topology::Route,
    step: &RestartStep,
    dry_run: DryRun,
    deadline: Instant,
    progress: &mut impl FnMut(Progress<'_>),
) -> Result<(StepResult, Vec<String>)> {
    let d = route.direction.clone();
    let index = route.mirror_index;
    annotate(
        cc,
        &route.namespace,
        &route.mm2,
        &[(step.annotation.as_str(), step.value.as_str())],
        dry_run == DryRun::Server,
        |m| refusal(&facts(m, index, &d)),
    )
    .await?;
    if dry_run == DryRun::Server {
        return Ok((StepResult::DryRun, vec![]));
    }
    progress(Progress::Annotated(step));
    // Warnings seen while waiting, each once, in order: one may come and go between looks.
    let seen = &RefCell::new(Vec::<String>::new());
    let waited = poll::until_deadline(
        deadline,
        move || async move {
            let m = get_mm2(cc, &route.namespace, &route.mm2).await?;
            let mut seen = seen.borrow_mut();
            for msg in restart_warnings(&m) {
                if !seen.contains(&msg) {
                    seen.push(msg);
                }
            }
            if m.annotations().get(&step.annotation).map(String::as_str) != Some(step.value.as_str()) {
                return Ok(Look::Done(()));
            }
            let line = format!(
                "waiting for the operator to take {}={}{}",
                step.annotation,
                step.value,
                seen.last()
                    .map(|w| format!(" (Warning: {w})"))
                    .unwrap_or_default()
            );
            Ok(Look::Pending { line, seen: () })
        },
        |line| progress(Progress::Waiting(line.to_string())),
    )
    .await?;
    let result = match waited {
        Waited::Done(()) => StepResult::Accepted,
        Waited::TimedOut(_) => StepResult::Pending,
    };
    Ok((result, seen.take()))
}
