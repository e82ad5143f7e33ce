//! `kubectl mm2 pause|resume` (and `pause --stop`): set the connectors' `state` on a direction's
//! KafkaMirrorMaker2, then wait until the operator reports it.
//!
//! Per direction: [`prepare`] reads the object once, [`decide`] (pure) turns it and the user's
//! flags into a refusal, a patch to print, or a write with its Flux step (and the question the
//! user must answer first), and [`execute`] writes, waits and undoes a Flux suspension we made.
//! The binary asks the questions and renders; nothing here prompts or prints.

use crate::clients::ContextClient;
use crate::direction::Direction;
use crate::error::{Error, Result};
use crate::mm2::flux_gate::{self, FluxStep, GateFlags};
use crate::mm2::gitops::{self, Touches};
use crate::mm2::lifecycle::{self, StateEdit, StatePlan};
use crate::mm2::status::{FluxReport, flux_report, read_flux_report};
use crate::resources::inventory::{Mm2Object, get_mm2};
use crate::resources::strimzi::{ConnectorKind, ConnectorState};
use crate::topology::Route;
use crate::write::{DryRun, WriteOutcome};
use serde::Serialize;
use std::time::Duration;

/// Schema of `pause`/`resume` machine output.
pub const SCHEMA: &str = "kubectl-mm2.dev/state/v1";

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct StateRequest {
    pub kinds: Vec<ConnectorKind>,
    pub to: ConnectorState,
    pub gate: GateFlags,
    pub print_patch: bool,
    pub dry_run: DryRun,
    /// Wait until the operator reports the state.
    pub wait: bool,
    pub timeout: Duration,
}

impl StateRequest {
    /// `pause`, `stop` or `resume`.
    pub fn verb(&self) -> &'static str {
        match self.to {
            ConnectorState::Paused => "pause",
            ConnectorState::Stopped => "stop",
            _ => "resume",
        }
    }

    /// `paused`, `stopped` or `running`.
    pub fn done_word(&self) -> &'static str {
        match self.to {
            ConnectorState::Paused => "paused",
            ConnectorState::Stopped => "stopped",
            _ => "running",
        }
    }
}

/// The question to ask before stopping replication in every direction at once (pure): `None`
/// for one direction, for a resume, and when nothing will be written.
pub fn all_directions_question(dirs: &[Direction], req: &StateRequest) -> Option<String> {
    if dirs.len() < 2 || req.to == ConnectorState::Running || !req.dry_run.writes() || req.print_patch {
        return None;
    }
    Some(format!(
        "This will {} ALL {} directions ({}): no replication at all. Continue?",
        req.verb(),
        dirs.len(),
        dirs.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
    ))
}

/// Refusals that protect the user, checked on the freshly read object before each write (pure):
/// the operator would ignore the change (reconciliation paused), or Connect cannot pause a FAILED
/// connector. `--force` skips them.
pub fn refusal(m: &Mm2Object, d: &Direction, to: ConnectorState, force: bool) -> Option<Error> {
    if force {
        return None;
    }
    if m.reconciliation_paused() {
        return Some(Error::Refused {
            reason: format!(
                "{}/{} in {} has strimzi.io/pause-reconciliation=true: the operator would not act on this change",
                m.namespace, m.name, m.context
            ),
            hint: format!(
                "remove it first (`kubectl annotate kmm2 {} -n {} --context {} strimzi.io/pause-reconciliation-`), or --force to write anyway",
                m.name, m.namespace, m.context
            ),
        });
    }
    if to == ConnectorState::Running {
        return None;
    }
    let prefix = format!("{}.", d.connector_prefix());
    let failed = m.status.as_ref()?.connectors.iter().find(|c| {
        c.name.starts_with(&prefix) && ConnectorState::parse(&c.connector.state) == ConnectorState::Failed
    })?;
    Some(Error::Refused {
        reason: format!(
            "{} is FAILED: Kafka Connect cannot pause a failed connector",
            failed.name
        ),
        hint: format!(
            "restart it first: `{}`, or --force",
            crate::mm2::restart::restart_command(
                d,
                &m.context,
                ConnectorKind::from_connector_name(&failed.name).unwrap_or(ConnectorKind::Source),
                None
            )
        ),
    })
}

/// What [`decide`] needs to know about one direction.
#[derive(Debug, Clone)]
pub struct StateFacts {
    pub mm2: Mm2Object,
    pub plan: StatePlan,
    /// The owning Kustomization, read only when a write is planned.
    pub flux: Option<FluxReport>,
}

/// The direction, read once.
pub type Prepared<'t> = crate::write::Prepared<'t, StateFacts>;

/// Read the direction's MM2 (and, when something will change, its Flux owner).
pub async fn prepare<'t>(
    cc: &'t ContextClient,
    route: &'t Route,
    req: &StateRequest,
) -> Result<Prepared<'t>> {
    let mm2 = get_mm2(cc, &route.namespace, &route.mm2).await?;
    let plan = lifecycle::plan_state(
        &mm2.spec,
        &mm2.obj.data["spec"],
        route.mirror_index,
        &req.kinds,
        req.to,
    );
    let flux = if plan.is_noop() || req.print_patch {
        None
    } else {
        flux_report(cc, &mm2).await
    };
    Ok(Prepared {
        route,
        cc,
        facts: StateFacts { mm2, plan, flux },
    })
}

/// What to do with one direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// `--print-patch`: the manifest change to commit (`None`: already in that state).
    PrintPatch(Option<String>),
    /// Write (or find it unchanged) after this Flux step; `question` must be answered yes first.
    Apply {
        flux: FluxStep,
        question: Option<String>,
    },
}

/// Decide (pure): refusals first, so Flux is never suspended for a write that would be refused.
pub fn decide(p: &StateFacts, d: &Direction, req: &StateRequest) -> Result<Decision> {
    if req.print_patch {
        return Ok(Decision::PrintPatch(if p.plan.is_noop() {
            None
        } else {
            Some(gitops::print_patch(&p.mm2, &p.plan.patch)?)
        }));
    }
    if p.plan.is_noop() {
        return Ok(Decision::Apply {
            flux: FluxStep::Clear { note: None },
            question: None,
        });
    }
    if let Some(e) = refusal(&p.mm2, d, req.to, req.gate.force) {
        return Err(e);
    }
    let change = change(d, req);
    let flux = flux_gate::decide(&p.mm2, p.flux.as_ref(), Touches::Mirrors, req.gate, &change)?;
    let question = flux.confirmation(&p.mm2.context, &change);
    Ok(Decision::Apply { flux, question })
}

fn change(d: &Direction, req: &StateRequest) -> String {
    format!("{} {d}", req.verb())
}

/// What happened to the Flux Kustomization after a resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum FluxAfter {
    /// We had suspended it (`note`: our annotation); it is resumed now.
    Resumed {
        namespace: String,
        kustomization: String,
        note: String,
    },
    /// Suspended by someone else: left as it is.
    LeftSuspended {
        namespace: String,
        kustomization: String,
    },
}

/// `state/v1` for one direction.
#[derive(Debug, Clone, Serialize)]
pub struct DirectionState {
    pub direction: String,
    pub mm2: String,
    pub namespace: String,
    pub context: String,
    pub outcome: WriteOutcome,
    pub edits: Vec<StateEdit>,
    /// Connectors already in the requested state.
    pub unchanged: Vec<ConnectorKind>,
    /// The connectors the operator was waited for (`None`: not waited).
    pub converged: Option<Vec<String>>,
    pub flux: FluxStep,
    pub flux_after: Option<FluxAfter>,
}

/// `kubectl mm2 pause|resume -o json|yaml`.
#[derive(Debug, Clone, Serialize)]
pub struct StateReport {
    pub schema: &'static str,
    pub action: &'static str,
    pub state: &'static str,
    pub dry_run: DryRun,
    pub directions: Vec<DirectionState>,
}

impl StateReport {
    pub fn new(req: &StateRequest) -> Self {
        StateReport {
            schema: SCHEMA,
            action: req.verb(),
            state: req.to.spec_value(),
            dry_run: req.dry_run,
            directions: vec![],
        }
    }
}

/// Progress while executing, for a spinner or a log line.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// `--suspend-flux` suspended this Kustomization.
    SuspendedFlux {
        namespace: &'a str,
        kustomization: &'a str,
    },
    /// About to write the object.
    Writing { mm2: &'a Mm2Object },
    /// The write is done (or found unchanged, or dry-run); waiting may follow.
    Wrote {
        mm2: &'a Mm2Object,
        outcome: &'a WriteOutcome,
        edits: &'a [StateEdit],
    },
    /// Waiting: what the operator reports so far.
    Waiting(String),
}

/// Carry out a [`Decision::Apply`] for one direction.
pub async fn execute(
    p: Prepared<'_>,
    flux: FluxStep,
    req: &StateRequest,
    mut progress: impl FnMut(Event<'_>),
) -> Result<DirectionState> {
    let Prepared { route, cc, facts } = p;
    let mm2 = facts.mm2;
    let d = &route.direction;
    let change = change(d, req);
    if flux_gate::apply(cc, &flux, &change, req.dry_run).await?
        && let FluxStep::Suspend {
            namespace,
            kustomization,
        } = &flux
    {
        progress(Event::SuspendedFlux {
            namespace,
            kustomization,
        });
    }
    if !facts.plan.is_noop() && req.dry_run.writes() {
        progress(Event::Writing { mm2: &mm2 });
    }
    let force = req.gate.force;
    // The object just read serves the first attempt: one read per pause, not two. Every retry
    // re-reads it and checks the refusals again.
    let (mm2, plan, outcome) =
        lifecycle::set_state(cc, route, &req.kinds, req.to, req.dry_run, Some(mm2), |m, _| {
            refusal(m, d, req.to, force).map_or(Ok(()), Err)
        })
        .await?;
    progress(Event::Wrote {
        mm2: &mm2,
        outcome: &outcome,
        edits: &plan.edits,
    });
    // "Unchanged" skips the write, never the wait: a retry after a timeout must not report
    // success while the operator still reports the old state.
    let converged = match &outcome {
        WriteOutcome::DryRun => None,
        _ if !req.wait || !req.dry_run.writes() => None,
        WriteOutcome::Unchanged => {
            let names = configured_names(&mm2, route, &req.kinds);
            wait(cc, route, req, &names, mm2.generation(), &mut progress).await?;
            Some(names)
        }
        WriteOutcome::Written { generation, .. } => {
            let names: Vec<String> = plan.edits.iter().map(|e| e.kind.connector_name(d)).collect();
            wait(cc, route, req, &names, *generation, &mut progress).await?;
            Some(names)
        }
    };
    let flux_after = if req.to == ConnectorState::Running && req.dry_run.writes() {
        resume_flux_if_ours(cc, &mm2).await?
    } else {
        None
    };
    Ok(DirectionState {
        direction: d.to_string(),
        mm2: mm2.name.clone(),
        namespace: mm2.namespace.clone(),
        context: mm2.context.clone(),
        outcome,
        edits: plan.edits,
        unchanged: plan.unchanged,
        converged,
        flux,
        flux_after,
    })
}

/// The configured connectors of the direction among `kinds`, by Connect name.
fn configured_names(mm2: &Mm2Object, route: &Route, kinds: &[ConnectorKind]) -> Vec<String> {
    mm2.spec
        .connector_kinds(route.mirror_index)
        .into_iter()
        .filter(|k| kinds.contains(k))
        .map(|k| k.connector_name(&route.direction))
        .collect()
}

async fn wait(
    cc: &ContextClient,
    route: &Route,
    req: &StateRequest,
    names: &[String],
    generation: Option<i64>,
    progress: &mut impl FnMut(Event<'_>),
) -> Result<()> {
    let what = format!("the operator to report {} as {}", names.join(", "), req.to);
    lifecycle::wait_for(
        cc,
        &route.namespace,
        &route.mm2,
        req.timeout,
        &what,
        |m| lifecycle::converged_state(m, names, req.to, generation),
        |l| progress(Event::Waiting(l.to_string())),
    )
    .await
    .map(|_| ())
}

/// A resume undoes a Flux suspension `--suspend-flux` made (recorded in our annotation) and
/// leaves anyone else's alone.
async fn resume_flux_if_ours(cc: &ContextClient, mm2: &Mm2Object) -> Result<Option<FluxAfter>> {
    // Read now, not at prepare: `--suspend-flux` may have suspended it during this command.
    let Some(fr) = read_flux_report(cc, mm2).await? else {
        return Ok(None);
    };
    if let Some(note) = fr.suspended_by_kubectl_mm2 {
        gitops::resume_ours(cc, &fr.namespace, &fr.kustomization, false).await?;
        return Ok(Some(FluxAfter::Resumed {
            namespace: fr.namespace,
            kustomization: fr.kustomization,
            note,
        }));
    }
    Ok(fr.suspended.then_some(FluxAfter::LeftSuspended {
        namespace: fr.namespace,
        kustomization: fr.kustomization,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn object(annotations: Value, status: Value) -> Mm2Object {
        Mm2Object::from_json(
            "rciis-aws",
            json!({
                "apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaMirrorMaker2",
                "metadata": {"name": "mm2-proxmox-to-aws", "namespace": "rciis-prod", "generation": 3,
                             "annotations": annotations},
                "spec": {"connectCluster": "aws", "replicas": 1,
                         "clusters": [{"alias": "aws"}, {"alias": "proxmox"}],
                         "mirrors": [{"sourceCluster": "proxmox", "targetCluster": "aws",
                                      "sourceConnector": {"tasksMax": 2}, "checkpointConnector": {}}]},
                "status": status
            }),
        )
        .unwrap()
    }

    fn dir() -> Direction {
        Direction::new("proxmox", "aws")
    }

    fn req(to: ConnectorState) -> StateRequest {
        StateRequest {
            kinds: ConnectorKind::ALL.to_vec(),
            to,
            gate: GateFlags::default(),
            print_patch: false,
            dry_run: DryRun::None,
            wait: true,
            timeout: Duration::from_secs(1),
        }
    }

    fn facts(m: Mm2Object, to: ConnectorState) -> StateFacts {
        let plan = lifecycle::plan_state(&m.spec, &m.obj.data["spec"], 0, &ConnectorKind::ALL, to);
        StateFacts {
            mm2: m,
            plan,
            flux: None,
        }
    }

    fn failed_source() -> Value {
        json!({"observedGeneration": 3, "connectors": [
            {"name": "proxmox->aws.MirrorSourceConnector", "connector": {"state": "FAILED", "trace": "boom"}, "tasks": []}]})
    }

    #[test]
    fn pausing_a_failed_connector_is_refused_with_the_restart_command() {
        let m = object(json!({}), failed_source());
        let e = refusal(&m, &dir(), ConnectorState::Paused, false).unwrap();
        let hint = e.hint().unwrap_or_default();
        assert!(
            e.to_string()
                .contains("proxmox->aws.MirrorSourceConnector is FAILED"),
            "{e}"
        );
        assert!(hint.contains("kubectl mm2 restart"), "{hint}");
        // Resuming a failed connector is not what Connect refuses; --force skips every refusal.
        assert!(refusal(&m, &dir(), ConnectorState::Running, false).is_none());
        assert!(refusal(&m, &dir(), ConnectorState::Paused, true).is_none());
    }

    #[test]
    fn paused_reconciliation_is_refused_for_every_state() {
        let m = object(json!({"strimzi.io/pause-reconciliation": "true"}), json!({}));
        for to in [
            ConnectorState::Paused,
            ConnectorState::Stopped,
            ConnectorState::Running,
        ] {
            let e = refusal(&m, &dir(), to, false).expect("refused");
            assert!(
                e.hint()
                    .unwrap_or_default()
                    .contains("strimzi.io/pause-reconciliation-")
            );
        }
    }

    #[test]
    fn decide_refuses_before_any_flux_step() {
        let m = object(json!({}), failed_source());
        let r = req(ConnectorState::Paused);
        assert!(matches!(
            decide(&facts(m, ConnectorState::Paused), &dir(), &r),
            Err(Error::Refused { .. })
        ));
    }

    #[test]
    fn decide_an_unmanaged_pause_asks_nothing() {
        let m = object(json!({}), json!({}));
        let r = req(ConnectorState::Paused);
        assert_eq!(
            decide(&facts(m, ConnectorState::Paused), &dir(), &r).unwrap(),
            Decision::Apply {
                flux: FluxStep::Clear { note: None },
                question: None
            }
        );
    }

    #[test]
    fn decide_a_noop_is_applied_unchanged_even_when_reconciliation_is_paused() {
        // Already running: nothing to write, so nothing to refuse (the wait still happens).
        let m = object(json!({"strimzi.io/pause-reconciliation": "true"}), json!({}));
        let r = req(ConnectorState::Running);
        let f = facts(m, ConnectorState::Running);
        assert!(f.plan.is_noop());
        assert!(matches!(
            decide(&f, &dir(), &r),
            Ok(Decision::Apply { question: None, .. })
        ));
    }

    #[test]
    fn print_patch_renders_the_mirrors_list_or_says_nothing_to_commit() {
        let m = object(json!({}), json!({}));
        let mut r = req(ConnectorState::Paused);
        r.print_patch = true;
        let Decision::PrintPatch(Some(text)) =
            decide(&facts(m.clone(), ConnectorState::Paused), &dir(), &r).unwrap()
        else {
            panic!("expected a patch")
        };
        assert!(text.contains("state: paused"), "{text}");
        assert!(text.contains("mirrors:"), "{text}");
        let mut r = req(ConnectorState::Running);
        r.print_patch = true;
        assert_eq!(
            decide(&facts(m, ConnectorState::Running), &dir(), &r).unwrap(),
            Decision::PrintPatch(None)
        );
    }

    #[test]
    fn stopping_everything_is_asked_about_but_resuming_is_not() {
        let both = vec![dir(), Direction::new("aws", "proxmox")];
        let r = req(ConnectorState::Stopped);
        let q = all_directions_question(&both, &r).unwrap();
        assert!(q.contains("stop ALL 2 directions"), "{q}");
        assert!(all_directions_question(&both[..1], &r).is_none());
        assert!(all_directions_question(&both, &req(ConnectorState::Running)).is_none());
        let mut dry = req(ConnectorState::Paused);
        dry.dry_run = DryRun::Client;
        assert!(all_directions_question(&both, &dry).is_none());
    }
}
