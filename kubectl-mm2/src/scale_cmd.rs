//! `scale`: flags, warnings, questions and rendering. The plan, the Flux gate, the writes and the
//! wait for workers are `mm2_core::mm2::scale`.

use crate::interact::{LazyProgress, confirm_all, say};
use crate::state_cmd::{WriteFlags, before_write, suspended_line};
use clap::Args;
use mm2_core::cli::GlobalArgs;
use mm2_core::error::{Error, Result};
use mm2_core::mm2::scale::{self, Event, FieldPlan, ScaleReport, ScaleRequest, ScaleWarning};
use mm2_core::output::Palette;
use mm2_core::timeouts;

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

pub async fn run(g: &GlobalArgs, a: &ScaleArgs) -> Result<u8> {
    let req = ScaleRequest {
        replicas: a.replicas,
        tasks_max: a.tasks_max,
        gate: a.write.gate(),
        print_patch: a.write.print_patch,
        dry_run: g.dry_run,
        wait: a.write.wait,
        timeout: g.timeout_or(timeouts::OPERATOR_WAIT),
    };
    scale::validate(&req)?;
    mm2_core::cli::direction_precheck(g, Some(&a.direction)).await?;
    let topo = mm2_core::cli::discover(g, timeouts::DISCOVER_FOR_WRITE).await?;
    let sel = mm2_core::topology::serving::select(&topo, &a.direction)?;
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
    let (route, cc) = mm2_core::topology::serving::writable_for_arg(&topo, d, Some(&a.direction))?;
    let prepared = scale::prepare(cc, route, &req).await?;
    let dec = scale::decide(&prepared.facts, route, &req)?;
    if req.print_patch {
        for plan in [&dec.tasks_max, &dec.replicas].into_iter().flatten() {
            if let FieldPlan::PrintPatch(p) = plan {
                mm2_core::hprint!("{p}");
            }
        }
        let report = ScaleReport::planned(&prepared.facts, route, &req, &dec);
        unchanged_lines(g, &report);
        return finish(g, &report);
    }
    warn(&dec.warnings, d);
    before_write(&dec.flux);
    confirm_all(g, &dec.questions)?;
    let mut progress = LazyProgress::default();
    let result = scale::execute(prepared, dec, &req, |ev| match ev {
        Event::SuspendedFlux {
            namespace,
            kustomization,
        } => suspended_line(namespace, kustomization),
        Event::Writing { mm2 } => {
            mm2_core::heprintln!("► {}/{} as context {}", mm2.namespace, mm2.name, mm2.context)
        }
        Event::TasksMaxWritten { to } => say(
            g,
            &format!("{d}: source connector tasksMax → {to}{}", req.dry_run.suffix()),
        ),
        Event::ReplicasWritten { from, to } => say(
            g,
            &format!(
                "{d}: replicas {} → {to}{}",
                from.map(|r| r.to_string()).unwrap_or_else(|| "-".into()),
                req.dry_run.suffix()
            ),
        ),
        Event::Waiting(line) => progress.update(
            || {
                format!(
                    "waiting for {} ready workers of {d}",
                    a.replicas.unwrap_or_default()
                )
            },
            &line,
        ),
    })
    .await;
    progress.finish();
    let report = result?;
    unchanged_lines(g, &report);
    if let (Some(n), Some(r)) = (report.ready_workers, &report.replicas)
        && r.outcome == Some(scale::FieldOutcome::Written)
    {
        mm2_core::heprintln!("✔ {d}: {n}/{n} workers ready");
    }
    finish(g, &report)
}

fn warn(warnings: &[ScaleWarning], d: &mm2_core::direction::Direction) {
    let pal = Palette::for_stderr();
    for w in warnings {
        match w {
            ScaleWarning::ZeroWorkers => mm2_core::heprintln!(
                "{} 0 replicas stops every Connect worker of {d}: this is not a pause (connectors are not reconciled, status.url disappears); `kubectl mm2 pause` is the gentle way",
                pal.warn("⚠")
            ),
            ScaleWarning::IdleWorkers { workers, tasks } => mm2_core::heprintln!(
                "{} {workers} workers for {tasks} tasks: {} would sit idle; raise --tasks-max",
                pal.warn("⚠"),
                workers - tasks
            ),
        }
    }
}

/// "already N" lines: a second run says what it left alone.
fn unchanged_lines(g: &GlobalArgs, r: &ScaleReport) {
    let d = &r.direction;
    if let Some(t) = &r.tasks_max
        && t.outcome == Some(scale::FieldOutcome::Unchanged)
    {
        say(g, &format!("{d}: tasksMax already {} — unchanged", t.to));
    }
    if let Some(rep) = &r.replicas
        && rep.outcome == Some(scale::FieldOutcome::Unchanged)
    {
        say(
            g,
            &format!(
                "{d}: already {} replicas ({}/{} in {}) — unchanged",
                rep.to, r.namespace, r.mm2, r.context
            ),
        );
    }
}

fn finish(g: &GlobalArgs, report: &ScaleReport) -> Result<u8> {
    if let Some(s) = g.output.serialize(report) {
        mm2_core::hprint!("{s}");
    }
    Ok(0)
}
