//! `pause`, `resume` (and `pause --stop`): flags, questions and rendering. Refusals, the Flux
//! gate, the write and the wait are `mm2_core::mm2::state`.

use crate::interact::{LazyProgress, confirm_all, pick_directions, say};
use clap::Args;
use mm2_core::cli::GlobalArgs;
use mm2_core::error::{Error, Result};
use mm2_core::mm2::flux_gate::{FluxStep, GateFlags};
use mm2_core::mm2::state::{self, Decision, DirectionState, Event, FluxAfter, StateReport, StateRequest};
use mm2_core::output::Palette;
use mm2_core::resources::strimzi::{ConnectorKind, ConnectorState};
use mm2_core::timeouts;
use mm2_core::topology::serving::writable_for_arg;
use mm2_core::write::{DryRun, WriteOutcome};

/// Flags shared by pause and resume.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// Direction, e.g. 'proxmox->aws', proxmox:aws, proxmox-to-aws (prompted for on a terminal when omitted)
    pub direction: Option<String>,
    /// Every direction of the clusterset
    #[arg(long, conflicts_with = "direction")]
    pub all: bool,
    /// Which connectors (repeatable or comma-separated)
    #[arg(long, value_delimiter = ',', default_value = "all", value_parser = ["source", "checkpoint", "heartbeat", "all"])]
    pub connector: Vec<String>,
    #[command(flatten)]
    pub write: WriteFlags,
}

/// How a write proceeds: waiting, and the ways past Flux and the safety refusals.
#[derive(Debug, Args)]
pub struct WriteFlags {
    /// Wait for the operator to apply the change (--wait=false returns after the write)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub wait: bool,
    /// Write even when Flux would revert it, reconciliation is paused or a connector FAILED
    #[arg(long)]
    pub force: bool,
    /// Print the manifest change to commit to the Flux repository instead of writing
    #[arg(long)]
    pub print_patch: bool,
    /// Suspend the owning Flux Kustomization first (resume unsuspends it)
    #[arg(long)]
    pub suspend_flux: bool,
}

impl WriteFlags {
    pub(crate) fn gate(&self) -> GateFlags {
        GateFlags {
            force: self.force,
            suspend_flux: self.suspend_flux,
        }
    }
}

fn kinds(args: &[String]) -> Vec<ConnectorKind> {
    if args.iter().any(|c| c == "all") {
        return ConnectorKind::ALL.to_vec();
    }
    let mut k: Vec<ConnectorKind> = args.iter().filter_map(|c| c.parse().ok()).collect();
    k.sort();
    k.dedup();
    k
}

pub async fn run(g: &GlobalArgs, a: &StateArgs, to: ConnectorState) -> Result<u8> {
    let req = StateRequest {
        kinds: kinds(&a.connector),
        to,
        gate: a.write.gate(),
        print_patch: a.write.print_patch,
        dry_run: g.dry_run,
        wait: a.write.wait,
        timeout: g.timeout_or(timeouts::OPERATOR_WAIT),
    };
    mm2_core::cli::direction_precheck(g, a.direction.as_deref()).await?;
    let topo = mm2_core::cli::discover(g, timeouts::DISCOVER_FOR_WRITE).await?;
    let dirs = pick_directions(&topo, a.direction.as_deref(), a.all, req.verb())?;
    if dirs.is_empty() {
        return Err(Error::Topology("no replication directions found".into()));
    }
    confirm_all(
        g,
        &state::all_directions_question(&dirs, &req)
            .into_iter()
            .collect::<Vec<_>>(),
    )?;
    let mut report = StateReport::new(&req);
    for d in &dirs {
        let (route, cc) = writable_for_arg(&topo, d, a.direction.as_deref())?;
        let prepared = state::prepare(cc, route, &req).await?;
        let flux = match state::decide(&prepared.facts, d, &req)? {
            Decision::PrintPatch(Some(patch)) => {
                mm2_core::hprint!("{patch}");
                continue;
            }
            Decision::PrintPatch(None) => {
                mm2_core::heprintln!("{d}: already {}; nothing to commit", req.done_word());
                continue;
            }
            Decision::Apply { flux, question } => {
                before_write(&flux);
                confirm_all(g, &question.into_iter().collect::<Vec<_>>())?;
                flux
            }
        };
        let mut progress = LazyProgress::default();
        let result = state::execute(prepared, flux, &req, |ev| on_event(g, &req, d, &mut progress, ev)).await;
        progress.finish();
        let done = result?;
        after_write(&done, &req);
        report.directions.push(done);
    }
    // One document for scripts; every human line above went to stderr.
    if let Some(s) = g.output.serialize(&report) {
        mm2_core::hprint!("{s}");
    }
    Ok(0)
}

/// What Flux will make of the change, said before the question.
pub(crate) fn before_write(flux: &FluxStep) {
    let pal = Palette::for_stderr();
    match flux {
        FluxStep::Clear { note: Some(n) } => {
            mm2_core::heprintln!("{} Flux owns this object, but {n}", pal.dim("ℹ"))
        }
        FluxStep::AlreadySuspended { kustomization } => mm2_core::heprintln!(
            "{} Flux Kustomization {kustomization} is suspended: this change sticks until it is resumed, then Flux re-applies Git",
            pal.warn("⚠")
        ),
        FluxStep::Override {
            namespace,
            kustomization,
            when,
        } => mm2_core::heprintln!(
            "{} Flux Kustomization {namespace}/{kustomization} will revert this {when}",
            pal.warn("⚠")
        ),
        FluxStep::Clear { note: None } | FluxStep::Suspend { .. } => {}
    }
}

/// The lines said while a write runs (also shared by `scale`).
pub(crate) fn suspended_line(namespace: &str, kustomization: &str) {
    mm2_core::heprintln!(
        "► suspended Flux Kustomization {namespace}/{kustomization} (annotation {}); `kubectl mm2 resume` unsuspends it",
        mm2_core::mm2::SUSPENDED_BY_ANNOTATION
    );
}

fn on_event(
    g: &GlobalArgs,
    req: &StateRequest,
    d: &mm2_core::direction::Direction,
    progress: &mut LazyProgress,
    ev: Event<'_>,
) {
    match ev {
        Event::SuspendedFlux {
            namespace,
            kustomization,
        } => suspended_line(namespace, kustomization),
        Event::Writing { mm2 } => {
            mm2_core::heprintln!(
                "► writing {}/{} as context {}",
                mm2.namespace,
                mm2.name,
                mm2.context
            )
        }
        Event::Wrote { mm2, outcome, edits } => {
            let place = format!("{}/{} in {}", mm2.namespace, mm2.name, mm2.context);
            for e in edits {
                if e.deprecated_pause == Some(true) && req.to == ConnectorState::Running {
                    mm2_core::heprintln!(
                        "ℹ {} connector has the deprecated `pause: true`; setting `state: running` overrides it",
                        e.kind.as_str()
                    );
                }
            }
            let names: Vec<String> = edits.iter().map(|e| e.kind.connector_name(d)).collect();
            match outcome {
                WriteOutcome::Unchanged => say(
                    g,
                    &format!("{d}: already {} ({place}) — unchanged", req.done_word()),
                ),
                WriteOutcome::DryRun => say(
                    g,
                    &format!(
                        "{d}: would set state={} on {} ({})",
                        req.to.spec_value(),
                        names.join(", "),
                        if req.dry_run == DryRun::Server {
                            "server dry run"
                        } else {
                            "dry run"
                        }
                    ),
                ),
                WriteOutcome::Written { .. } => say(
                    g,
                    &format!(
                        "{d}: {} → state={} ({place})",
                        edits
                            .iter()
                            .map(|e| e.kind.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        req.to.spec_value(),
                    ),
                ),
            }
        }
        Event::Waiting(line) => progress.update(
            || format!("waiting for the operator to report {d} {}", req.to.as_str()),
            &line,
        ),
    }
}

fn after_write(done: &DirectionState, req: &StateRequest) {
    let d = &done.direction;
    if let (WriteOutcome::Written { .. }, Some(names)) = (&done.outcome, &done.converged) {
        mm2_core::heprintln!("✔ {d}: {} reported {}", names.join(", "), req.to.as_str());
    }
    match &done.flux_after {
        Some(FluxAfter::Resumed {
            namespace,
            kustomization,
            note,
        }) => mm2_core::heprintln!(
            "► resumed Flux Kustomization {namespace}/{kustomization} that kubectl-mm2 suspended ({note})"
        ),
        Some(FluxAfter::LeftSuspended {
            namespace,
            kustomization,
        }) => mm2_core::heprintln!(
            "ℹ Flux Kustomization {namespace}/{kustomization} is suspended, but not by kubectl-mm2: left as it is"
        ),
        None => {}
    }
}
