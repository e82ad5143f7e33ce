//! `restart`: flags and rendering; planning, refusals and the annotate → wait cycles are in
//! `mm2_core::mm2::restart`.

use crate::interact::{Progress, pick_directions};
use clap::Args;
use mm2_core::cli::GlobalArgs;
use mm2_core::error::{Error, Result};
use mm2_core::mm2::restart::{
    self, DirectionOutcome, DirectionRestart, RestartReport, RestartRequest, StepResult,
};
use mm2_core::output::Palette;
use mm2_core::resources::strimzi::ConnectorKind;
use mm2_core::topology::serving::writable_for_arg;

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
    let topo = mm2_core::cli::discover(g, mm2_core::timeouts::DISCOVER_FOR_WRITE).await?;
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
        let (route, cc) = writable_for_arg(&topo, d, a.direction.as_deref())?;
        let progress = Progress::new(&format!("restart {d}: reading {}/{}", route.namespace, route.mm2));
        let result = restart::execute(
            cc,
            route,
            &req,
            g.dry_run,
            a.wait,
            g.timeout_or(mm2_core::timeouts::RESTART_WAIT),
            |ev| match ev {
                restart::Progress::Annotated(s) => progress.update(&format!(
                    "{}: {}={} written, waiting for the operator",
                    d, s.annotation, s.value
                )),
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
        mm2_core::hprint!("{s}");
    }
    Ok(report.exit_code())
}

/// Human lines: stdout for a table, stderr when stdout carries the JSON/YAML document.
fn render(dr: &DirectionRestart, machine: bool, dry_run: mm2_core::write::DryRun) {
    let pal = if machine {
        Palette::for_stderr()
    } else {
        Palette::for_stdout()
    };
    for l in lines(dr, &pal, dry_run) {
        if machine {
            mm2_core::heprintln!("{l}")
        } else {
            mm2_core::hprintln!("{l}")
        }
    }
}

/// The human report of one direction.
pub fn lines(dr: &DirectionRestart, pal: &Palette, dry_run: mm2_core::write::DryRun) -> Vec<String> {
    let mut out = Vec::new();
    let mut say = |l: String| out.push(l);
    let d = &dr.direction;
    let place = format!("{}/{} in {}", dr.namespace, dr.mm2, dr.context);
    if dr.outcome == DirectionOutcome::NothingToRestart {
        let why: Vec<String> = dr
            .skipped
            .iter()
            .map(|s| format!("{}: {}", short(&s.connector), s.why))
            .collect();
        let why = if why.is_empty() {
            "no selected connector is configured in this direction".to_string()
        } else {
            why.join("; ")
        };
        say(format!("{d}: nothing to restart ({why}) — unchanged ({place})"));
        return out;
    }
    for s in &dr.steps {
        let what = format!("{}={}", s.step.annotation, s.step.value);
        match &s.result {
            StepResult::DryRun => say(format!(
                "{d}: would annotate {what} ({}) ({})",
                s.step.why,
                if dry_run == mm2_core::write::DryRun::Server {
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
            s.connector.clone() + &s.task.map(|t| format!(" task {t}")).unwrap_or_default(),
            s.why
        ));
    }
    match dr.outcome {
        DirectionOutcome::Restarted => say(format!("{} {d}: restarted, RUNNING ({place})", pal.good("✔"))),
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
    out
}

fn short(connector: &str) -> &str {
    connector.rsplit('.').next().unwrap_or(connector)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mm2_core::mm2::restart::{NotRunning, RestartStep, Skipped, StepReport};
    use mm2_core::resources::strimzi::ConnectorState;

    fn step(value: &str, why: &str, spurious: &[&str]) -> RestartStep {
        RestartStep {
            connector: "proxmox->aws.MirrorSourceConnector".into(),
            kind: ConnectorKind::Source,
            task: None,
            annotation: restart::RESTART_CONNECTOR.into(),
            value: value.into(),
            include_tasks: true,
            only_failed: true,
            why: why.into(),
            spurious_warnings_for: spurious.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn direction(
        outcome: DirectionOutcome,
        steps: Vec<StepReport>,
        not_running: Vec<NotRunning>,
    ) -> DirectionRestart {
        DirectionRestart {
            direction: "proxmox->aws".into(),
            context: "rciis-proxmox".into(),
            namespace: "rciis-prod".into(),
            mm2: "mm2-proxmox-to-aws".into(),
            outcome,
            failed_only: true,
            steps,
            skipped: vec![Skipped {
                connector: "proxmox->aws.MirrorCheckpointConnector".into(),
                task: None,
                state: Some(ConnectorState::Running),
                why: "RUNNING, no FAILED task".into(),
            }],
            not_running,
            warnings: vec![],
        }
    }

    /// Golden file check; `UPDATE_GOLDEN=1` rewrites the file.
    fn golden(file: &str, actual: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(file);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, actual).unwrap();
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(actual, expected, "golden {}", path.display());
    }

    #[test]
    fn restart_report_golden() {
        let v = "proxmox->aws.MirrorSourceConnector:includeTasks,onlyFailed";
        let why = "connector FAILED: org.apache.kafka.connect.errors.ConnectException: simulated failure";
        let done = direction(
            DirectionOutcome::Restarted,
            vec![StepReport {
                step: step(v, why, &["roxmox->aws.MirrorSourceConnector"]),
                result: StepResult::Accepted,
                warnings: vec![],
            }],
            vec![],
        );
        let stuck = direction(
            DirectionOutcome::Incomplete,
            vec![StepReport {
                step: step(v, why, &[]),
                result: StepResult::Accepted,
                warnings: vec![],
            }],
            vec![NotRunning {
                connector: "proxmox->aws.MirrorSourceConnector".into(),
                task: None,
                state: Some(ConnectorState::Failed),
                trace: Some("org.apache.kafka.connect.errors.ConnectException: still broken".into()),
            }],
        );
        let mut nothing = direction(DirectionOutcome::NothingToRestart, vec![], vec![]);
        nothing.failed_only = true;
        let dry = direction(
            DirectionOutcome::DryRun,
            vec![StepReport {
                step: step(v, why, &[]),
                result: StepResult::DryRun,
                warnings: vec![],
            }],
            vec![],
        );
        let pal = Palette::plain();
        let mut text = String::new();
        for d in [&done, &stuck, &nothing, &dry] {
            for l in lines(d, &pal, mm2_core::write::DryRun::Client) {
                text.push_str(&l);
                text.push('\n');
            }
        }
        golden("restart.txt", &text);
    }
}
