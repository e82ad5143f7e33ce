//! `kubectl mm2 restart`: restart FAILED (or chosen) connectors and tasks of a direction through
//! Strimzi's annotations on the KafkaMirrorMaker2, never by calling Kafka Connect ourselves.
//!
//! Facts (Strimzi 0.51, `KafkaMirrorMaker2AssemblyOperator` / `AbstractConnectOperator`):
//! - `strimzi.io/restart-connector=<connector>[:includeTasks[,onlyFailed]]`. The operator matches
//!   it to a connector with `value.contains(connectorName)`, then validates it: split on `:`, one or
//!   two parts, part 0 `equalsIgnoreCase` the connector, every argument `includeTasks` or
//!   `onlyFailed`. A value that *contains* a connector's name without naming it (alias `a` inside
//!   `xa`) gives that connector a `Warning` "RestartConnector" / "Invalid annotation format".
//!   The arguments are then read with `value.contains("includeTasks")` / `contains("onlyFailed")`.
//! - `strimzi.io/restart-connector-task=<connector>:<taskId>` (regex `^(.+):(\d+)$`, exact match).
//! - One value per key, removed by the operator only after Connect accepted the restart; on a
//!   failed call a `Warning` ("Failed to restart connector ...") and a retry next reconcile.
//! - Nothing is processed while `strimzi.io/pause-reconciliation` is set or `spec.replicas` is 0.
//!
//! So a restart is a sequence of annotate → wait-for-removal steps; this module plans them
//! ([`plan`], pure and unit-tested) and runs them ([`execute`]).

use crate::clients::{ContextClient, Op, resource_name};
use crate::direction::Direction;
use crate::error::{Error, Result};
use crate::mm2::FIELD_MANAGER;
use crate::mm2::inventory::{Mm2Object, get_mm2};
use crate::resources::Condition;
use crate::resources::strimzi::{ConnectorKind, ConnectorState};
use crate::write::DryRun;
use kube::api::{Patch, PatchParams};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Schema id of `kubectl mm2 restart -o json|yaml`.
pub const SCHEMA: &str = "kubectl-mm2.dev/restart/v1";
/// Strimzi's connector restart annotation (KafkaMirrorMaker2).
pub const RESTART_CONNECTOR: &str = "strimzi.io/restart-connector";
/// Strimzi's task restart annotation (KafkaMirrorMaker2).
pub const RESTART_CONNECTOR_TASK: &str = "strimzi.io/restart-connector-task";
/// Warning reasons the operator writes for the two annotations.
pub const WARNING_REASONS: [&str; 2] = ["RestartConnector", "RestartConnectorTask"];
/// The message of a Warning for an annotation the operator cannot parse.
pub const INVALID_FORMAT: &str = "Invalid annotation format";
const INCLUDE_TASKS: &str = "includeTasks";
const ONLY_FAILED: &str = "onlyFailed";

/// What the user asked for (flags of `kubectl mm2 restart`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestartRequest {
    /// `--connector`; empty: every connector of the direction.
    pub kinds: Vec<ConnectorKind>,
    /// `--failed-only[=BOOL]`; `None`: failed-only when anything selected is FAILED.
    pub failed_only: Option<bool>,
    /// `--include-tasks` (also restart the tasks when restarting a connector that is not FAILED).
    pub include_tasks: bool,
    /// `--task N` (restart one task instead of the connector).
    pub task: Option<i64>,
}

/// One task as the status reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFacts {
    pub id: i64,
    pub state: ConnectorState,
    pub trace: Option<String>,
}

/// One connector of the direction, from spec and status.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorFacts {
    pub kind: ConnectorKind,
    pub name: String,
    /// `None`: not in `status.connectors`.
    pub state: Option<ConnectorState>,
    pub trace: Option<String>,
    pub tasks: Vec<TaskFacts>,
}

impl ConnectorFacts {
    fn failed(&self) -> bool {
        self.state == Some(ConnectorState::Failed)
    }
    fn failed_tasks(&self) -> Vec<i64> {
        self.tasks
            .iter()
            .filter(|t| t.state == ConnectorState::Failed)
            .map(|t| t.id)
            .collect()
    }
}

/// Everything [`plan`] needs, gathered from one read of the KafkaMirrorMaker2.
#[derive(Debug, Clone, PartialEq)]
pub struct RestartFacts {
    pub direction: Direction,
    pub context: String,
    pub namespace: String,
    pub mm2: String,
    pub reconciliation_paused: bool,
    pub replicas: Option<i32>,
    pub annotations: BTreeMap<String, String>,
    /// Every connector name of the KafkaMirrorMaker2 (all mirrors): the operator tests our value
    /// against each of them.
    pub all_connectors: Vec<String>,
    /// The connectors of this direction.
    pub connectors: Vec<ConnectorFacts>,
    /// Messages of the operator's restart `Warning` conditions.
    pub warnings: Vec<String>,
}

/// Read the facts of mirror `index` (direction `d`) from a freshly read object.
pub fn facts(mm2: &Mm2Object, index: usize, d: &Direction) -> RestartFacts {
    let status = mm2.status.clone().unwrap_or_default();
    let all_connectors = mm2
        .spec
        .routes()
        .iter()
        .flat_map(|r| {
            mm2.spec
                .connector_kinds(r.index)
                .into_iter()
                .map(|k| k.connector_name(&r.direction))
                .collect::<Vec<_>>()
        })
        .collect();
    let connectors = mm2
        .spec
        .connector_kinds(index)
        .into_iter()
        .map(|kind| {
            let name = kind.connector_name(d);
            let st = status.connectors.iter().find(|c| c.name == name);
            ConnectorFacts {
                kind,
                state: st.map(|c| ConnectorState::parse(&c.connector.state)),
                trace: st
                    .and_then(|c| c.connector.trace.as_deref())
                    .map(crate::mm2::status::first_line),
                tasks: st
                    .map(|c| {
                        c.tasks
                            .iter()
                            .map(|t| TaskFacts {
                                id: t.id,
                                state: ConnectorState::parse(&t.state),
                                trace: t.trace.as_deref().map(crate::mm2::status::first_line),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                name,
            }
        })
        .collect();
    RestartFacts {
        direction: d.clone(),
        context: mm2.context.clone(),
        namespace: mm2.namespace.clone(),
        mm2: mm2.name.clone(),
        reconciliation_paused: mm2.reconciliation_paused(),
        replicas: mm2.spec.replicas,
        annotations: mm2.annotations(),
        all_connectors,
        connectors,
        warnings: restart_warnings(mm2)
            .into_iter()
            .filter_map(|c| c.message)
            .collect(),
    }
}

/// One annotate → wait-for-removal cycle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestartStep {
    pub connector: String,
    pub kind: ConnectorKind,
    /// `None`: the connector (and, with `include_tasks`, its tasks); `Some(id)`: that task only.
    pub task: Option<i64>,
    pub annotation: String,
    pub value: String,
    pub include_tasks: bool,
    pub only_failed: bool,
    /// Why this step is in the plan ("connector FAILED: ...", "task 1 FAILED", "requested").
    pub why: String,
    /// Other connectors whose names our value contains: the operator will report
    /// "Invalid annotation format" for them in the same reconcile (harmless: it removes the
    /// annotation once the named connector restarted).
    pub spurious_warnings_for: Vec<String>,
}

/// A selected connector or task the plan leaves alone, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    pub connector: String,
    pub task: Option<i64>,
    pub state: Option<ConnectorState>,
    pub why: String,
}

/// The plan for one direction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestartPlan {
    pub failed_only: bool,
    pub steps: Vec<RestartStep>,
    pub skipped: Vec<Skipped>,
}

impl RestartPlan {
    pub fn is_noop(&self) -> bool {
        self.steps.is_empty()
    }
}

/// The restart annotation value for a connector.
pub fn connector_annotation(connector: &str, include_tasks: bool, only_failed: bool) -> String {
    let args: Vec<&str> = [(include_tasks, INCLUDE_TASKS), (only_failed, ONLY_FAILED)]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, a)| a)
        .collect();
    if args.is_empty() {
        connector.to_string()
    } else {
        format!("{connector}:{}", args.join(","))
    }
}

/// The task restart annotation value.
pub fn task_annotation(connector: &str, task: i64) -> String {
    format!("{connector}:{task}")
}

/// What Strimzi 0.51 makes of a `restart-connector` value for one connector: `None` when the
/// connector does not match it, `Some(Err(..))` for "Invalid annotation format", else
/// `Some(Ok((includeTasks, onlyFailed)))` (`KafkaMirrorMaker2AssemblyOperator.hasRestartAnnotation`,
/// `restartAnnotationIsValid`, `restartAnnotationHas*Arg`).
pub fn strimzi_reads_restart(
    value: &str,
    connector: &str,
) -> Option<std::result::Result<(bool, bool), &'static str>> {
    if !value.contains(connector) {
        return None;
    }
    // Java's String.split drops trailing empty strings.
    let mut parts: Vec<&str> = value.split(':').collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() != 1 && parts.len() != 2 {
        return Some(Err(INVALID_FORMAT));
    }
    if !parts[0].eq_ignore_ascii_case(connector) {
        return Some(Err(INVALID_FORMAT));
    }
    if parts.len() == 2 {
        let ok = parts[1].split(',').all(|a| {
            let a = a.trim();
            a.eq_ignore_ascii_case(INCLUDE_TASKS) || a.eq_ignore_ascii_case(ONLY_FAILED)
        });
        if !ok {
            return Some(Err(INVALID_FORMAT));
        }
    }
    Some(Ok((value.contains(INCLUDE_TASKS), value.contains(ONLY_FAILED))))
}

/// What Strimzi 0.51 makes of a `restart-connector-task` value for one connector.
pub fn strimzi_reads_task(value: &str, connector: &str) -> Option<i64> {
    let (c, t) = value.trim().rsplit_once(':')?;
    if c.is_empty() || c != connector || t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// Why nothing may be written now, and the way out.
pub fn refusal(f: &RestartFacts) -> Option<Error> {
    let target = format!("kmm2 {} -n {} --context {}", f.mm2, f.namespace, f.context);
    if f.reconciliation_paused {
        return Some(Error::Refused {
            reason: format!(
                "{}/{} in {} has strimzi.io/pause-reconciliation=true: the operator processes no restart annotation while reconciliation is paused",
                f.namespace, f.mm2, f.context
            ),
            hint: format!(
                "remove it first (`kubectl annotate {target} strimzi.io/pause-reconciliation-`), then run the restart again"
            ),
        });
    }
    if f.replicas == Some(0) {
        return Some(Error::Refused {
            reason: format!(
                "{}/{} in {} has spec.replicas 0: no Connect worker runs, and the operator reconciles no connector (nor its annotations)",
                f.namespace, f.mm2, f.context
            ),
            hint: format!(
                "scale it up first (`kubectl mm2 scale {} 1 --context {}`); the connectors restart with the workers",
                f.direction.shell_safe(),
                f.context
            ),
        });
    }
    for key in [RESTART_CONNECTOR, RESTART_CONNECTOR_TASK] {
        if let Some(v) = f.annotations.get(key) {
            let operator_says = if f.warnings.is_empty() {
                String::new()
            } else {
                format!("; the operator reports Warning: {}", f.warnings.join("; "))
            };
            return Some(Error::Refused {
                reason: format!(
                    "{key}={v} is already pending on {}/{} in {}: the operator takes one value per key, and writing ours would replace it{operator_says}",
                    f.namespace, f.mm2, f.context
                ),
                hint: format!(
                    "wait for the operator to remove it (every reconcile; `kubectl mm2 status {}` shows its Warning if it cannot), or remove it: `kubectl annotate {target} {key}-`",
                    f.direction.shell_safe()
                ),
            });
        }
    }
    None
}

/// Plan the restart of one direction (pure). Refusals are separate ([`refusal`]) so that a plan
/// can still be shown for a refused direction.
pub fn plan(f: &RestartFacts, req: &RestartRequest) -> RestartPlan {
    let selected: Vec<&ConnectorFacts> = f
        .connectors
        .iter()
        .filter(|c| req.kinds.is_empty() || req.kinds.contains(&c.kind))
        .collect();
    let anything_failed = selected
        .iter()
        .any(|c| c.failed() || !c.failed_tasks().is_empty());
    let explicit = !req.kinds.is_empty() || req.task.is_some();
    // Default: failed-only when something failed; otherwise restart only what was named.
    let failed_only = req.failed_only.unwrap_or(anything_failed || !explicit);
    let mut plan = RestartPlan {
        failed_only,
        steps: vec![],
        skipped: vec![],
    };
    let skip = |plan: &mut RestartPlan, c: &ConnectorFacts, task: Option<i64>, state, why: String| {
        plan.skipped.push(Skipped {
            connector: c.name.clone(),
            task,
            state,
            why,
        })
    };
    for c in selected {
        let Some(state) = c.state else {
            skip(
                &mut plan,
                c,
                None,
                None,
                "not reported in the status yet: the operator has not created it".into(),
            );
            continue;
        };
        if state == ConnectorState::Stopped {
            skip(
                &mut plan,
                c,
                None,
                Some(state),
                format!(
                    "STOPPED on purpose: `kubectl mm2 resume {}` starts it",
                    f.direction.shell_safe()
                ),
            );
            continue;
        }
        if let Some(id) = req.task {
            let task = c.tasks.iter().find(|t| t.id == id);
            match task {
                None => skip(&mut plan, c, Some(id), None, format!("has no task {id}")),
                Some(t) if failed_only && t.state != ConnectorState::Failed => skip(
                    &mut plan,
                    c,
                    Some(id),
                    Some(t.state),
                    format!("task {id} is {}", t.state),
                ),
                Some(t) => {
                    let why = match t.state {
                        ConnectorState::Failed => format!(
                            "task {id} FAILED{}",
                            t.trace.as_deref().map(|l| format!(": {l}")).unwrap_or_default()
                        ),
                        _ => "requested".into(),
                    };
                    plan.steps.push(step(f, c, Some(id), false, false, why));
                }
            }
            continue;
        }
        let failed_tasks = c.failed_tasks();
        if failed_only {
            if !c.failed() && failed_tasks.is_empty() {
                skip(
                    &mut plan,
                    c,
                    None,
                    Some(state),
                    format!("{state}, no FAILED task"),
                );
                continue;
            }
            let why = if c.failed() {
                format!(
                    "connector FAILED{}",
                    c.trace.as_deref().map(|l| format!(": {l}")).unwrap_or_default()
                )
            } else {
                // A task's failure is in the task's trace (a real MirrorSourceTask whose producer
                // was refused: the connector stays RUNNING); the first failed task's first line
                // says why.
                let trace = c
                    .tasks
                    .iter()
                    .find(|t| t.state == ConnectorState::Failed)
                    .and_then(|t| t.trace.as_deref());
                format!(
                    "task{} {} FAILED{}",
                    if failed_tasks.len() > 1 { "s" } else { "" },
                    failed_tasks
                        .iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                    trace.map(|l| format!(": {l}")).unwrap_or_default()
                )
            };
            // Connect's "restart the failed instances" (KIP-745), the call Strimzi's auto-restart
            // makes too: RUNNING instances are left alone.
            plan.steps.push(step(f, c, None, true, true, why));
        } else {
            plan.steps
                .push(step(f, c, None, req.include_tasks, false, "requested".into()));
        }
    }
    plan
}

fn step(
    f: &RestartFacts,
    c: &ConnectorFacts,
    task: Option<i64>,
    include_tasks: bool,
    only_failed: bool,
    why: String,
) -> RestartStep {
    let (annotation, value) = match task {
        Some(id) => (RESTART_CONNECTOR_TASK, task_annotation(&c.name, id)),
        None => (
            RESTART_CONNECTOR,
            connector_annotation(&c.name, include_tasks, only_failed),
        ),
    };
    let spurious_warnings_for = if task.is_none() {
        f.all_connectors
            .iter()
            .filter(|other| **other != c.name)
            .filter(|other| matches!(strimzi_reads_restart(&value, other), Some(Err(_))))
            .cloned()
            .collect()
    } else {
        vec![]
    };
    RestartStep {
        connector: c.name.clone(),
        kind: c.kind,
        task,
        annotation: annotation.to_string(),
        value,
        include_tasks,
        only_failed,
        why,
        spurious_warnings_for,
    }
}

/// The command that restarts what `status` found FAILED (shown instead of raw annotations).
pub fn restart_command(d: &Direction, context: &str, kind: ConnectorKind, task: Option<i64>) -> String {
    let mut cmd = format!(
        "kubectl mm2 restart {} --context {context} --connector {}",
        d.shell_safe(),
        kind.as_str()
    );
    if let Some(t) = task {
        cmd.push_str(&format!(" --task {t}"));
    }
    cmd
}

/// `Warning` conditions the operator wrote about restarts (reason RestartConnector[Task]).
pub fn restart_warnings(mm2: &Mm2Object) -> Vec<Condition> {
    mm2.status
        .as_ref()
        .map(|s| {
            s.conditions
                .iter()
                .filter(|c| {
                    c.type_ == "Warning" && c.reason.as_deref().is_some_and(|r| WARNING_REASONS.contains(&r))
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Execution (I/O)

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
        warnings: restart_warnings(&mm2)
            .into_iter()
            .filter_map(|c| c.message)
            .collect(),
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
        let mut last = String::new();
        loop {
            let m = get_mm2(cc, &route.namespace, &route.mm2).await?;
            let nr = not_running(&m, &restarted);
            if nr.is_empty() {
                report.warnings = restart_warnings(&m)
                    .into_iter()
                    .filter_map(|c| c.message)
                    .collect();
                break;
            }
            let line = nr
                .iter()
                .map(|n| {
                    format!(
                        "{}{} {}",
                        n.connector,
                        n.task.map(|t| format!(" task {t}")).unwrap_or_default(),
                        n.state.map(|s| s.as_str()).unwrap_or("not reported")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            if line != last {
                progress(Progress::WaitingRunning(line.clone()));
                last = line;
            }
            if Instant::now() >= deadline {
                report.not_running = nr;
                report.warnings = restart_warnings(&m)
                    .into_iter()
                    .filter_map(|c| c.message)
                    .collect();
                incomplete = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(400)).await;
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
                trace: c.connector.trace.as_deref().map(crate::mm2::status::first_line),
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
                    trace: t.trace.as_deref().map(crate::mm2::status::first_line),
                });
            }
        }
    }
    out
}

fn escape_pointer(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// JSON patch adding annotation `key=value`, valid only at the version we read (so a concurrent
/// writer that added the same key makes it fail instead of being overwritten).
pub fn annotate_ops(
    obj_annotations_present: bool,
    resource_version: Option<&str>,
    key: &str,
    value: &str,
) -> Vec<Value> {
    let mut ops = Vec::new();
    if let Some(rv) = resource_version {
        ops.push(json!({"op": "test", "path": "/metadata/resourceVersion", "value": rv}));
    }
    if obj_annotations_present {
        ops.push(json!({"op": "add", "path": format!("/metadata/annotations/{}", escape_pointer(key)), "value": value}));
    } else {
        ops.push(json!({"op": "add", "path": "/metadata/annotations", "value": {key: value}}));
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
        let patch: json_patch::Patch = serde_json::from_value(Value::Array(ops))
            .map_err(|e| Error::Invalid(format!("internal patch error: {e}")))?;
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

async fn run_step(
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
    let mut seen: Vec<String> = Vec::new();
    let mut last = String::new();
    loop {
        let m = get_mm2(cc, &route.namespace, &route.mm2).await?;
        let current = m.annotations().get(&step.annotation).cloned();
        for w in restart_warnings(&m) {
            let msg = w.message.clone().unwrap_or_default();
            if !seen.contains(&msg) {
                seen.push(msg);
            }
        }
        if current.as_deref() != Some(step.value.as_str()) {
            return Ok((StepResult::Accepted, seen));
        }
        let line = format!(
            "waiting for the operator to take {}={}{}",
            step.annotation,
            step.value,
            seen.last()
                .map(|w| format!(" (Warning: {w})"))
                .unwrap_or_default()
        );
        if line != last {
            progress(Progress::Waiting(line.clone()));
            last = line;
        }
        if Instant::now() >= deadline {
            return Ok((StepResult::Pending, seen));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        c.tasks[0].trace =
            Some("ConnectException: Unrecoverable exception from producer send callback".into());
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
        let ops = annotate_ops(false, Some("42"), RESTART_CONNECTOR, "x");
        assert_eq!(
            ops[0],
            json!({"op": "test", "path": "/metadata/resourceVersion", "value": "42"})
        );
        assert_eq!(ops[1]["path"], "/metadata/annotations");
        let ops = annotate_ops(true, None, RESTART_CONNECTOR, "x");
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
}
