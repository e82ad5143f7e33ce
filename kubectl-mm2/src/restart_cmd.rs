//! `restart`: flags and rendering; planning, refusals and the annotate → wait cycles are in
//! `mm2_core::mm2::restart`.

use crate::lifecycle_cmd::{Progress, discover, pick_directions, route_client};
use clap::Args;
use mm2_core::cli::GlobalArgs;
use mm2_core::error::{Error, Result};
use mm2_core::mm2::restart::{
    self, DirectionOutcome, DirectionRestart, RestartReport, RestartRequest, StepResult,
};
use mm2_core::output::Palette;
use mm2_core::resources::strimzi::ConnectorKind;
use std::time::Duration;

/// Flags of restart.
#[derive(Debug, Args)]
pub struct RestartArgs {
    /// Direction, e.g. 'proxmox->aws', proxmox:aws (prompted for on a terminal when omitted)
    pub direction: Option<String>,
    /// Every direction of the clusterset
    #[arg(long, conflicts_with = "direction")]
    pub all: bool,
    /// Which connectors (repeatable or comma-separated; default: every connector of the direction that needs it)
    #[arg(long, value_delimiter = ',', value_parser = ["source", "checkpoint", "heartbeat"])]
    pub connector: Vec<String>,
    /// Only FAILED connectors and tasks (the default when anything is FAILED; --failed-only=false to restart RUNNING ones too)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub failed_only: Option<bool>,
    /// Also restart the tasks of a connector restarted on request
    #[arg(long)]
    pub include_tasks: bool,
    /// Restart this task only (of --connector, default source)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(0..))]
    pub task: Option<i64>,
    /// Wait until the restarted connectors and tasks are RUNNING (--wait=false returns once the operator took the annotations)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub wait: bool,
}

const WAIT_TIMEOUT: Duration = Duration::from_secs(180);

impl RestartArgs {
    fn request(&self) -> RestartRequest {
        let mut kinds: Vec<ConnectorKind> = self.connector.iter().filter_map(|c| c.parse().ok()).collect();
        if self.task.is_some() && kinds.is_empty() {
            kinds.push(ConnectorKind::Source);
        }
        kinds.sort();
        kinds.dedup();
        RestartRequest {
            kinds,
            failed_only: self.failed_only,
            include_tasks: self.include_tasks,
            task: self.task,
        }
    }
}

pub async fn run(g: &GlobalArgs, a: &RestartArgs) -> Result<u8> {
    if a.task.is_some() && a.connector.len() > 1 {
        return Err(Error::Usage("--task N needs one --connector".into()));
    }
    mm2_core::cli::direction_precheck(g, a.direction.as_deref()).await?;
    let topo = discover(g).await?;
    let dirs = pick_directions(&topo, a.direction.as_deref(), a.all, "restart")?;
    if dirs.is_empty() {
        return Err(Error::Topology("no replication directions found".into()));
    }
    let req = a.request();
    let machine = g.output.is_machine();
    let mut report = RestartReport {
        schema: restart::SCHEMA,
        directions: vec![],
    };
    for d in &dirs {
        let (route, cc) = route_client(&topo, d)?;
        let progress = Progress::new(&format!("restart {d}: reading {}/{}", route.namespace, route.mm2));
        let result = restart::execute(
            cc,
            route,
            &req,
            g.dry_run,
            a.wait,
            g.timeout_or(WAIT_TIMEOUT),
            |ev| match ev {
                restart::Progress::Annotated(s) => {
                    progress.update(&format!("{}: {}={} written, waiting for the operator", d, s.annotation, s.value))
                }
                restart::Progress::Waiting(l) => progress.update(&format!("{d}: {l}")),
                restart::Progress::WaitingRunning(l) => {
                    progress.update(&format!("{d}: waiting for RUNNING: {l}"))
                }
            },
        )
        .await;
        progress.finish();
        let dr = result?;
        render(&dr, machine, g.dry_run);
        report.directions.push(dr);
    }
    if let Some(s) = g.output.serialize(&report) {
        print!("{s}");
    }
    Ok(report.exit_code())
}

/// Human lines: stdout for a table, stderr when stdout carries the JSON/YAML document.
fn render(dr: &DirectionRestart, machine: bool, dry_run: mm2_core::mm2::lifecycle::DryRun) {
    let pal = if machine { Palette::for_stderr() } else { Palette::for_stdout() };
    let say = |l: String| {
        if machine {
            eprintln!("{l}")
        } else {
            println!("{l}")
        }
    };
    let d = &dr.direction;
    let place = format!("{}/{} in {}", dr.namespace, dr.mm2, dr.context);
    if dr.outcome == DirectionOutcome::NothingToRestart {
        let why: Vec<String> = dr
            .skipped
            .iter()
            .map(|s| format!("{}: {}", short(&s.connector), s.why))
            .collect();
        say(format!("{d}: nothing to restart ({}) — unchanged ({place})", why.join("; ")));
        return;
    }
    for s in &dr.steps {
        let what = format!("{}={}", s.step.annotation, s.step.value);
        match &s.result {
            StepResult::DryRun => say(format!(
                "{d}: would annotate {what} ({}) ({})",
                s.step.why,
                if dry_run == mm2_core::mm2::lifecycle::DryRun::Server {
                    "server dry run"
                } else {
                    "dry run"
                }
            )),
            StepResult::Accepted => say(format!(
                "{} {}: the operator took {what} ({})",
                pal.good("✔"),
                s.step.connector,
                s.step.why
            )),
            StepResult::Rejected { warning } => say(format!(
                "{} {}: the operator rejected {what}: {warning}",
                pal.bad("✗"),
                s.step.connector
            )),
            StepResult::Pending => say(format!(
                "{} {}: {what} still pending at the deadline (the operator retries every reconcile; remove it with `kubectl annotate kmm2 {} -n {} --context {} {}-`)",
                pal.bad("✗"),
                s.step.connector,
                dr.mm2,
                dr.namespace,
                dr.context,
                s.step.annotation
            )),
        }
        for other in &s.step.spurious_warnings_for {
            say(format!(
                "{} the operator also reports Warning RestartConnector \"Invalid annotation format\" for {other} in that reconcile: Strimzi matches the annotation by substring; harmless",
                pal.dim("ℹ")
            ));
        }
        for w in &s.warnings {
            say(format!("{} operator Warning while waiting: {w}", pal.warn("⚠")));
        }
    }
    for s in dr.skipped.iter() {
        say(format!(
            "  {} left alone: {}",
            s.connector
                .clone()
                + &s.task.map(|t| format!(" task {t}")).unwrap_or_default(),
            s.why
        ));
    }
    match dr.outcome {
        DirectionOutcome::Restarted => say(format!(
            "{} {d}: restarted, RUNNING ({place})",
            pal.good("✔")
        )),
        DirectionOutcome::Requested => say(format!(
            "{d}: restart requested; not waiting for RUNNING (--wait=false)"
        )),
        DirectionOutcome::Incomplete => {
            for n in &dr.not_running {
                say(format!(
                    "{} {}{} still {}{}",
                    pal.bad("✗"),
                    n.connector,
                    n.task.map(|t| format!(" task {t}")).unwrap_or_default(),
                    n.state.map(|s| s.as_str()).unwrap_or("not reported"),
                    n.trace.as_deref().map(|t| format!(": {t}")).unwrap_or_default()
                ));
            }
        }
        _ => {}
    }
    for w in &dr.warnings {
        say(format!("{} operator Warning: {w}", pal.warn("⚠")));
    }
}

fn short(connector: &str) -> &str {
    connector.rsplit('.').next().unwrap_or(connector)
}
