//! What to restart (pure): the facts of a direction, the request, the refusals and the plan of
//! annotate → wait steps.

use crate::direction::Direction;
use crate::error::Error;
use crate::resources::inventory::Mm2Object;
use crate::resources::strimzi::{ConnectorKind, ConnectorState};
use serde::Serialize;
use std::collections::BTreeMap;

use super::*;

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
                    .map(crate::output::first_line),
                tasks: st
                    .map(|c| {
                        c.tasks
                            .iter()
                            .map(|t| TaskFacts {
                                id: t.id,
                                state: ConnectorState::parse(&t.state),
                                trace: t.trace.as_deref().map(crate::output::first_line),
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
        warnings: restart_warnings(mm2),
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

pub(super) fn step(
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

/// The messages of the `Warning` conditions the operator wrote about restarts (reason
/// `RestartConnector[Task]`).
pub fn restart_warnings(mm2: &Mm2Object) -> Vec<String> {
    mm2.warnings(&WARNING_REASONS)
        .filter_map(|c| c.message.clone())
        .collect()
}
