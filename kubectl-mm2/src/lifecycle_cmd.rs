//! `pause`, `resume` and `scale`: argument handling, prompts, progress; the logic is in
//! `mm2_core::mm2::{lifecycle, gitops}`.

use clap::Args;
use mm2_core::cli::{GlobalArgs, confirm, interactive};
use mm2_core::clients::ContextClient;
use mm2_core::direction::Direction;
use mm2_core::error::{Error, Result};
use mm2_core::mm2::gitops::{self, FluxImpact, Touches};
use mm2_core::mm2::inventory::{Mm2Object, get_mm2};
use mm2_core::mm2::lifecycle::{self, DryRun, WriteOutcome};
use mm2_core::mm2::status::flux_report;
use mm2_core::output::Palette;
use mm2_core::resources::strimzi::{ConnectorKind, ConnectorState};
use mm2_core::topology::{Route, Topology};
use std::time::Duration;

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

/// Flags of scale.
#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// Direction, e.g. proxmox:aws
    pub direction: String,
    /// Number of Connect workers
    pub replicas: Option<i32>,
    /// Set the source connector's tasksMax
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..))]
    pub tasks_max: Option<i32>,
    #[command(flatten)]
    pub write: WriteFlags,
}

const READ_TIMEOUT: Duration = Duration::from_secs(15);
const WAIT_TIMEOUT: Duration = Duration::from_secs(120);

fn kinds(args: &[String]) -> Vec<ConnectorKind> {
    if args.iter().any(|c| c == "all") {
        return ConnectorKind::ALL.to_vec();
    }
    let mut k: Vec<ConnectorKind> = args.iter().filter_map(|c| c.parse().ok()).collect();
    k.sort();
    k.dedup();
    k
}

/// Progress for waits: a spinner on a terminal, one line per change elsewhere.
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    pub(crate) fn new(msg: &str) -> Self {
        if console::Term::stderr().is_term() {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(100));
            bar.set_message(msg.to_string());
            Progress { bar: Some(bar) }
        } else {
            mm2_core::heprintln!("◎ {msg}");
            Progress { bar: None }
        }
    }
    pub(crate) fn update(&self, line: &str) {
        match &self.bar {
            Some(b) => b.set_message(line.to_string()),
            None => mm2_core::heprintln!("  … {line}"),
        }
    }
    pub(crate) fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
    }
}

pub(crate) async fn discover(g: &GlobalArgs) -> Result<Topology> {
    let kc = g.kubeconfigs()?;
    let req = g.topology_request()?;
    let topo = mm2_core::topology::discover(&kc, &req, g.timeout_or(WAIT_TIMEOUT).min(READ_TIMEOUT)).await?;
    match topo.unusable() {
        Some(e) => Err(e),
        None => Ok(topo),
    }
}

/// Which directions the user means: the argument (a direction or an MM2's name), --all, a
/// picker on a terminal, or an error.
pub(crate) fn pick_directions(
    topo: &Topology,
    arg: Option<&str>,
    all: bool,
    verb: &str,
) -> Result<Vec<Direction>> {
    let known = topo.directions();
    if let Some(a) = arg {
        return Ok(mm2_core::mm2::serving::select(topo, a)?.directions);
    }
    if all {
        return Ok(known);
    }
    let listing: Vec<String> = known.iter().map(|d| d.to_string()).collect();
    if !interactive() {
        return Err(Error::Usage(format!(
            "which direction? valid: {} (quote the arrow, or write SOURCE:TARGET; --all for every direction)",
            if listing.is_empty() {
                "none found".to_string()
            } else {
                listing.join(", ")
            }
        )));
    }
    let items: Vec<String> = known
        .iter()
        .map(|d| {
            let state = topo
                .routes_for(d)
                .first()
                .and_then(|r| topo.mm2(r).map(|m| summary_state(m, r)))
                .unwrap_or_else(|| "unreachable".into());
            format!("{d}   ({state})")
        })
        .collect();
    let idx = dialoguer::Select::new()
        .with_prompt(format!("Direction to {verb}"))
        .items(&items)
        .default(0)
        .interact()
        .map_err(|e| Error::Usage(e.to_string()))?;
    Ok(vec![known[idx].clone()])
}

fn summary_state(m: &Mm2Object, r: &Route) -> String {
    m.spec
        .connector_kinds(r.mirror_index)
        .into_iter()
        .map(|k| {
            let st = m.status.as_ref().and_then(|s| {
                s.connectors
                    .iter()
                    .find(|c| c.name == k.connector_name(&r.direction))
            });
            format!(
                "{}={}",
                k.as_str(),
                st.map(|c| c.connector.state.as_str()).unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The one MM2 a write to `d` may go to (refuses on a rejected or doubly served direction);
/// only the MM2 named by `arg` when the user named one.
pub(crate) fn route_client<'t>(
    topo: &'t Topology,
    d: &Direction,
    arg: Option<&str>,
) -> Result<(&'t Route, &'t ContextClient)> {
    let only = arg
        .and_then(|a| mm2_core::mm2::serving::select(topo, a).ok())
        .and_then(|s| s.mm2);
    mm2_core::mm2::serving::writable_named(topo, d, only.as_deref())
}

/// Decide how to handle Flux before a write. Returns false when nothing must be written
/// (`--print-patch`).
async fn flux_gate(
    g: &GlobalArgs,
    cc: &ContextClient,
    mm2: &Mm2Object,
    touches: Touches,
    change: &str,
    force: bool,
    suspend_flux: bool,
) -> Result<()> {
    let pal = Palette::for_stderr();
    let report = flux_report(cc, mm2).await;
    let interval = match &report {
        Some(r) => gitops::interval(cc, &r.namespace, &r.kustomization).await,
        None => None,
    };
    match gitops::impact(mm2, report.as_ref(), touches, interval.as_deref()) {
        FluxImpact::None(note) => {
            if let Some(n) = note {
                mm2_core::heprintln!("{} Flux owns this object, but {n}", pal.dim("ℹ"));
            }
            Ok(())
        }
        FluxImpact::SuspendedNow { kustomization } => {
            mm2_core::heprintln!(
                "{} Flux Kustomization {kustomization} is suspended: this change sticks until it is resumed, then Flux re-applies Git",
                pal.warn("⚠")
            );
            Ok(())
        }
        FluxImpact::WillRevert {
            kustomization,
            namespace,
            when,
        } => {
            let r = report
                .as_ref()
                .ok_or_else(|| Error::Invalid("flux report vanished".into()))?;
            if suspend_flux {
                confirm(
                    &format!(
                        "Suspend Flux Kustomization {namespace}/{kustomization} in {} and {change}?",
                        cc.context
                    ),
                    g.yes,
                )?;
                gitops::suspend(cc, &namespace, &kustomization, change, g.dry_run != DryRun::None).await?;
                mm2_core::heprintln!(
                    "► suspended Flux Kustomization {namespace}/{kustomization} (annotation {}); `kubectl mm2 resume` unsuspends it",
                    mm2_core::mm2::SUSPENDED_BY_ANNOTATION
                );
                Ok(())
            } else if force {
                mm2_core::heprintln!(
                    "{} Flux Kustomization {namespace}/{kustomization} will revert this {when}",
                    pal.warn("⚠")
                );
                confirm(
                    &format!("Write to a Flux-managed object anyway ({change})?"),
                    g.yes,
                )?;
                Ok(())
            } else {
                Err(gitops::refusal(mm2, r, change, &when))
            }
        }
    }
}

/// pause / stop / resume.
pub async fn set_state(g: &GlobalArgs, a: &StateArgs, to: ConnectorState) -> Result<u8> {
    let verb = match to {
        ConnectorState::Paused => "pause",
        ConnectorState::Stopped => "stop",
        _ => "resume",
    };
    let done_word = match to {
        ConnectorState::Paused => "paused",
        ConnectorState::Stopped => "stopped",
        _ => "running",
    };
    mm2_core::cli::direction_precheck(g, a.direction.as_deref()).await?;
    let topo = discover(g).await?;
    let dirs = pick_directions(&topo, a.direction.as_deref(), a.all, verb)?;
    if dirs.is_empty() {
        return Err(Error::Topology("no replication directions found".into()));
    }
    if dirs.len() > 1 && to != ConnectorState::Running && g.dry_run == DryRun::None && !a.write.print_patch {
        confirm(
            &format!(
                "This will {verb} ALL {} directions ({}): no replication at all. Continue?",
                dirs.len(),
                dirs.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
            ),
            g.yes,
        )?;
    }
    let kinds = kinds(&a.connector);
    let mut results = Vec::new();
    for d in &dirs {
        let (route, cc) = route_client(&topo, d, a.direction.as_deref())?;
        let mm2 = get_mm2(cc, &route.namespace, &route.mm2).await?;
        let plan = lifecycle::plan_state(&mm2.spec, &mm2.obj.data["spec"], route.mirror_index, &kinds, to);
        if a.write.print_patch {
            if plan.is_noop() {
                mm2_core::heprintln!("{d}: already {done_word}; nothing to commit");
            } else {
                mm2_core::hprint!("{}", gitops::print_patch(&mm2, &plan.patch)?);
            }
            continue;
        }
        if !plan.is_noop() {
            // Refusals first: never suspend Flux for a write we are going to refuse anyway.
            precheck(&mm2, route, to, a.write.force)?;
            let change = format!("{verb} {d}");
            flux_gate(
                g,
                cc,
                &mm2,
                Touches::Mirrors,
                &change,
                a.write.force,
                a.write.suspend_flux,
            )
            .await?;
        }
        for e in &plan.edits {
            if e.deprecated_pause == Some(true) && to == ConnectorState::Running {
                mm2_core::heprintln!(
                    "ℹ {} connector has the deprecated `pause: true`; setting `state: running` overrides it",
                    e.kind.as_str()
                );
            }
        }
        if !plan.is_noop() && g.dry_run == DryRun::None {
            mm2_core::heprintln!(
                "► writing {}/{} as context {}",
                mm2.namespace,
                mm2.name,
                mm2.context
            );
        }
        let force = a.write.force;
        // The object just read serves the first attempt: one read per pause, not two.
        let (mm2, plan, outcome) =
            lifecycle::set_state(cc, route, &kinds, to, g.dry_run, Some(mm2), |m, _| {
                precheck(m, route, to, force)
            })
            .await?;
        let names: Vec<String> = plan.edits.iter().map(|e| e.kind.connector_name(d)).collect();
        match &outcome {
            WriteOutcome::Unchanged => {
                say(
                    g,
                    &format!(
                        "{d}: already {done_word} ({}/{} in {}) — unchanged",
                        mm2.namespace, mm2.name, mm2.context
                    ),
                );
                // "Unchanged" skips the write, never the wait: a retry after a timeout must not
                // report success while the operator still reports the old state.
                if a.write.wait && g.dry_run == DryRun::None {
                    let names: Vec<String> = mm2
                        .spec
                        .connector_kinds(route.mirror_index)
                        .into_iter()
                        .filter(|k| kinds.contains(k))
                        .map(|k| k.connector_name(d))
                        .collect();
                    let what = format!("the operator to report {} as {to}", names.join(", "));
                    let p = Progress::new(&format!("waiting for the operator to report {d} {}", to.as_str()));
                    let r = lifecycle::wait_for(
                        cc,
                        &route.namespace,
                        &route.mm2,
                        g.timeout_or(WAIT_TIMEOUT),
                        &what,
                        |m| lifecycle::converged_state(m, &names, to, mm2.generation()),
                        |l| p.update(l),
                    )
                    .await;
                    p.finish();
                    r?;
                }
            }
            WriteOutcome::DryRun => {
                let mode = if g.dry_run == DryRun::Server {
                    "server dry run"
                } else {
                    "dry run"
                };
                say(
                    g,
                    &format!(
                        "{d}: would set state={} on {} ({mode})",
                        to.spec_value(),
                        names.join(", ")
                    ),
                );
            }
            WriteOutcome::Written { generation, .. } => {
                say(
                    g,
                    &format!(
                        "{d}: {} → state={} ({}/{} in {})",
                        plan.edits
                            .iter()
                            .map(|e| e.kind.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                        to.spec_value(),
                        mm2.namespace,
                        mm2.name,
                        mm2.context
                    ),
                );
                if a.write.wait {
                    let p = Progress::new(&format!("waiting for the operator to report {d} {}", to.as_str()));
                    let timeout = g.timeout_or(WAIT_TIMEOUT);
                    let what = format!("the operator to report {} as {to}", names.join(", "));
                    let r = lifecycle::wait_for(
                        cc,
                        &route.namespace,
                        &route.mm2,
                        timeout,
                        &what,
                        |m| lifecycle::converged_state(m, &names, to, *generation),
                        |l| p.update(l),
                    )
                    .await;
                    p.finish();
                    r?;
                    mm2_core::heprintln!("✔ {d}: {} reported {}", names.join(", "), to.as_str());
                }
            }
        }
        if to == ConnectorState::Running
            && g.dry_run == DryRun::None
            && let Some(fr) = flux_report(cc, &mm2).await
        {
            if let Some(note) = gitops::resume_if_ours(cc, &fr.namespace, &fr.kustomization, false).await? {
                mm2_core::heprintln!(
                    "► resumed Flux Kustomization {}/{} that kubectl-mm2 suspended ({note})",
                    fr.namespace,
                    fr.kustomization
                );
            } else if fr.suspended {
                mm2_core::heprintln!(
                    "ℹ Flux Kustomization {}/{} is suspended, but not by kubectl-mm2: left as it is",
                    fr.namespace,
                    fr.kustomization
                );
            }
        }
        results.push(
            serde_json::json!({"direction": d.to_string(), "mm2": mm2.name, "namespace": mm2.namespace,
            "context": mm2.context, "outcome": outcome, "edits": plan.edits}),
        );
    }
    // One document for scripts; every human line above went to stderr.
    let doc = serde_json::json!({"schema": STATE_SCHEMA, "action": verb, "state": to.spec_value(),
                                 "dry_run": g.dry_run, "directions": results});
    if let Some(s) = g.output.serialize(&doc) {
        print!("{s}");
    }
    Ok(0)
}

/// Refusals that protect the user, checked on the freshly read object before each write.
fn precheck(m: &Mm2Object, route: &Route, to: ConnectorState, force: bool) -> Result<()> {
    if force {
        return Ok(());
    }
    if m.reconciliation_paused() {
        return Err(Error::Refused {
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
    if to != ConnectorState::Running
        && let Some(st) = &m.status
    {
        for c in &st.connectors {
            if c.name
                .starts_with(&format!("{}.", route.direction.connector_prefix()))
                && ConnectorState::parse(&c.connector.state) == ConnectorState::Failed
            {
                return Err(Error::Refused {
                    reason: format!(
                        "{} is FAILED: Kafka Connect cannot pause a failed connector",
                        c.name
                    ),
                    hint: format!(
                        "restart it first: `{}`, or --force",
                        mm2_core::mm2::restart::restart_command(
                            &route.direction,
                            &m.context,
                            ConnectorKind::from_connector_name(&c.name).unwrap_or(ConnectorKind::Source),
                            None
                        )
                    ),
                });
            }
        }
    }
    Ok(())
}

/// scale.
pub async fn scale(g: &GlobalArgs, a: &ScaleArgs) -> Result<u8> {
    if a.replicas.is_none() && a.tasks_max.is_none() {
        return Err(Error::Usage("give REPLICAS, --tasks-max N, or both".into()));
    }
    if let Some(r) = a.replicas
        && r < 0
    {
        return Err(Error::Usage("REPLICAS must be 0 or more".into()));
    }
    mm2_core::cli::direction_precheck(g, Some(&a.direction)).await?;
    let topo = discover(g).await?;
    let sel = mm2_core::mm2::serving::select(&topo, &a.direction)?;
    let [d] = sel.directions.as_slice() else {
        return Err(Error::Usage(format!(
            "{} serves {} directions ({}): scale one MM2 by direction",
            a.direction,
            sel.directions.len(),
            sel.directions
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let d = d.clone();
    let (route, cc) = route_client(&topo, &d, Some(&a.direction))?;
    let mm2 = get_mm2(cc, &route.namespace, &route.mm2).await?;
    let pal = Palette::for_stderr();
    if g.dry_run == DryRun::None && !a.write.print_patch {
        mm2_core::heprintln!("► {}/{} as context {}", mm2.namespace, mm2.name, mm2.context);
    }
    let mut tasks_outcome: Option<&str> = None;
    let mut replicas_outcome: Option<&str> = None;

    if let Some(n) = a.tasks_max {
        if let Some(ops) = lifecycle::plan_tasks_max(&mm2.spec, &mm2.obj.data["spec"], route.mirror_index, n)
        {
            if a.write.print_patch {
                mm2_core::hprint!("{}", gitops::print_patch(&mm2, &ops)?);
            } else {
                flux_gate(
                    g,
                    cc,
                    &mm2,
                    Touches::Mirrors,
                    &format!("tasksMax={n} on {d}"),
                    a.write.force,
                    a.write.suspend_flux,
                )
                .await?;
                if g.dry_run != DryRun::Client {
                    lifecycle::json_patch(cc, &mm2, &ops, g.dry_run == DryRun::Server).await?;
                }
                say(g, &format!("{d}: source connector tasksMax → {n}{}", dry(g)));
                tasks_outcome = Some(if g.dry_run == DryRun::None {
                    "written"
                } else {
                    "dry-run"
                });
            }
        } else {
            say(g, &format!("{d}: tasksMax already {n} — unchanged"));
            tasks_outcome = Some("unchanged");
        }
    }
    if let Some(n) = a.replicas {
        if mm2.spec.replicas == Some(n) {
            say(
                g,
                &format!(
                    "{d}: already {n} replicas ({}/{} in {}) — unchanged",
                    mm2.namespace, mm2.name, mm2.context
                ),
            );
            replicas_outcome = Some("unchanged");
            // Unchanged skips the write, never the wait (a retry after a timeout).
            if a.write.wait && g.dry_run == DryRun::None {
                wait_workers(g, cc, route, &d, n).await?;
            }
        } else if a.write.print_patch {
            let ops = vec![serde_json::json!({"op": "add", "path": "/spec/replicas", "value": n})];
            mm2_core::hprint!("{}", gitops::print_patch(&mm2, &ops)?);
        } else {
            if n == 0 {
                mm2_core::heprintln!(
                    "{} 0 replicas stops every Connect worker of {d}: this is not a pause (connectors are not reconciled, status.url disappears); `kubectl mm2 pause` is the gentle way",
                    pal.warn("⚠")
                );
                confirm(&format!("Scale {d} to 0 workers?"), g.yes)?;
            }
            let tasks = total_tasks(&mm2, route.mirror_index, a.tasks_max);
            if n > tasks {
                mm2_core::heprintln!(
                    "{} {n} workers for {tasks} tasks: {} would sit idle; raise --tasks-max",
                    pal.warn("⚠"),
                    n - tasks
                );
            }
            flux_gate(
                g,
                cc,
                &mm2,
                Touches::Replicas,
                &format!("scale {d} to {n}"),
                a.write.force,
                a.write.suspend_flux,
            )
            .await?;
            if g.dry_run != DryRun::Client {
                lifecycle::scale(cc, &mm2, n, g.dry_run == DryRun::Server).await?;
            }
            say(
                g,
                &format!(
                    "{d}: replicas {} → {n}{}",
                    mm2.spec
                        .replicas
                        .map(|r| r.to_string())
                        .unwrap_or_else(|| "-".into()),
                    dry(g)
                ),
            );
            replicas_outcome = Some(if g.dry_run == DryRun::None {
                "written"
            } else {
                "dry-run"
            });
            if a.write.wait && g.dry_run == DryRun::None {
                wait_workers(g, cc, route, &d, n).await?;
                mm2_core::heprintln!("✔ {d}: {n}/{n} workers ready");
            }
        }
    }
    let doc = serde_json::json!({"schema": SCALE_SCHEMA, "direction": d.to_string(), "mm2": mm2.name,
        "namespace": mm2.namespace, "context": mm2.context, "dry_run": g.dry_run,
        "replicas": a.replicas.map(|n| serde_json::json!({"from": mm2.spec.replicas, "to": n, "outcome": replicas_outcome})),
        "tasks_max": a.tasks_max.map(|n| serde_json::json!({"to": n, "outcome": tasks_outcome}))});
    if let Some(s) = g.output.serialize(&doc) {
        print!("{s}");
    }
    Ok(0)
}

/// Wait, with a spinner on a terminal, until `n` workers of the direction's MM2 are ready.
async fn wait_workers(
    g: &GlobalArgs,
    cc: &ContextClient,
    route: &Route,
    d: &Direction,
    n: i32,
) -> Result<()> {
    let p = Progress::new(&format!("waiting for {n} ready workers of {d}"));
    let r = lifecycle::wait_scaled(
        cc,
        &route.namespace,
        &route.mm2,
        n,
        g.timeout_or(WAIT_TIMEOUT),
        |l| p.update(l),
    )
    .await;
    p.finish();
    r.map(|_| ())
}

/// Schema of `pause`/`resume` machine output.
const STATE_SCHEMA: &str = "kubectl-mm2.dev/state/v1";
/// Schema of `scale` machine output.
const SCALE_SCHEMA: &str = "kubectl-mm2.dev/scale/v1";

/// A human line: stdout for a table run, stderr when stdout holds the JSON/YAML document.
fn say(g: &GlobalArgs, line: &str) {
    if g.output.is_machine() {
        mm2_core::heprintln!("{line}");
    } else {
        mm2_core::hprintln!("{line}");
    }
}

fn dry(g: &GlobalArgs) -> &'static str {
    match g.dry_run {
        DryRun::None => "",
        DryRun::Client => " (dry run)",
        DryRun::Server => " (server dry run)",
    }
}

/// Tasks the workers can share: the source connector's tasksMax plus one per other connector.
fn total_tasks(mm2: &Mm2Object, index: usize, new_tasks_max: Option<i32>) -> i32 {
    mm2.spec
        .connector_kinds(index)
        .into_iter()
        .map(|k| match k {
            ConnectorKind::Source => new_tasks_max
                .or_else(|| mm2.spec.connector(index, k).and_then(|c| c.tasks_max))
                .unwrap_or(1),
            _ => 1,
        })
        .sum()
}
