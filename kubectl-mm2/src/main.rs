//! `kubectl mm2`: Strimzi KafkaMirrorMaker2 across clusters — status, pause, resume, scale, lag.
//!
//! Thin on purpose: arguments are parsed here, everything else lives in `mm2-core`.

// mm2_core::Error names context, verb, resource and namespace: it is large by design, and a CLI
// returns it once, to print it. Boxing it would buy nothing here.
#![allow(clippy::result_large_err)]

mod convert_cmd;
mod doctor_cmd;
#[cfg(test)]
mod fixtures;
mod interact;
mod lag_cmd;
mod offsets_cmd;
mod render;
mod report_cmd;
mod restart_cmd;
mod scale_cmd;
mod state_cmd;

use clap::{Args, CommandFactory, Parser, Subcommand};
use mm2_core::cli::{GlobalArgs, report_error};
use mm2_core::error::Error;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  # Health of every replication direction (exit 0 healthy, 3 degraded, 4 unreachable)
  kubectl mm2 status

  # One direction, with Kafka Connect's own view
  kubectl mm2 status proxmox:aws --live

  # Pause proxmox->aws declaratively and wait for the operator (quote the arrow, or use ':')
  kubectl mm2 pause 'proxmox->aws'
  kubectl mm2 pause proxmox:aws --stop --connector source

  # Resume it
  kubectl mm2 resume proxmox-to-aws

  # Three Connect workers and ten source tasks
  kubectl mm2 scale proxmox:aws 3 --tasks-max 10

Directions: SOURCE->TARGET (quoted), SOURCE:TARGET, SOURCE-to-TARGET or the MM2 name mm2-SOURCE-to-TARGET.
  # Records behind per partition; Nagios exit codes 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
  kubectl mm2 lag --top 10
  kubectl mm2 lag proxmox:aws --watch

  # Restart what FAILED in proxmox->aws through Strimzi's annotations, and wait for RUNNING
  kubectl mm2 restart proxmox:aws
  kubectl mm2 restart proxmox:aws --connector source --task 2

  # Last replicated offset per partition, and whether group 'billing' could fail over
  kubectl mm2 offsets proxmox:aws --group billing
  # Everything needed to debug an incident in one archive, Secrets redacted (exit 3: parts missing)
  kubectl mm2 report --since 2h --logs

  # The runbook's MM2 moved to the cluster it writes to, in Strimzi's v1 API, for Git
  kubectl mm2 convert proxmox:aws > kafka-mirrormaker2.yaml
  kubectl mm2 convert -f flux/apps/proxmox/kafka/kafka-mirrormaker2.yaml --to v1beta2

  # Every pitfall across the clusterset, with evidence and a Flux patch (exit 0 clean, 1 warnings, 2 errors)
  kubectl mm2 doctor
  kubectl mm2 doctor proxmox:aws --only memory,replication -o wide

Exit codes: 0 ok, 1 error, 2 usage, 3 degraded, 4 unreachable, 5 not converged in --timeout,
            6 refused (Flux, paused reconciliation, failed connector), 7 forbidden (RBAC).";

#[derive(Debug, Parser)]
#[command(
    name = "kubectl mm2",
    bin_name = "kubectl mm2",
    version,
    about = "Operate Strimzi KafkaMirrorMaker2 replication across Kubernetes clusters",
    after_help = EXAMPLES,
    propagate_version = true
)]
struct Cli {
    #[command(flatten, next_help_heading = "Global options")]
    global: GlobalArgs,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Dense health report per replication direction
    Status(StatusArgs),
    /// Pause (or --stop) the connectors of a direction by changing the KafkaMirrorMaker2 resource
    Pause(PauseArgs),
    /// Resume the connectors of a direction
    Resume(state_cmd::StateArgs),
    /// Scale the Connect workers (and optionally the source connector's tasksMax) of a direction
    Scale(scale_cmd::ScaleArgs),
    /// Replication lag per direction, topic and partition (Nagios exit codes)
    Lag(lag_cmd::LagArgs),
    /// Restart FAILED (or chosen) connectors and tasks through Strimzi's restart annotations
    Restart(restart_cmd::RestartArgs),
    /// Last replicated offset per source partition, and failover readiness per consumer group
    Offsets(offsets_cmd::OffsetsArgs),
    /// One .tar.gz with everything needed to debug replication (objects, events, Connect, metrics), Secrets redacted
    Report(report_cmd::ReportArgs),
    /// Print, for Git, the manifests of a KafkaMirrorMaker2 layout Strimzi runs (read-only)
    Convert(convert_cmd::ConvertArgs),
    /// Every pitfall of the runbook and of Strimzi's v1 migration, with evidence and a fix (read-only; exit 0 clean, 1 warnings, 2 errors, 64 usage)
    Doctor(doctor_cmd::DoctorArgs),
    /// Shell completion: `completion kubectl --install` for `kubectl mm2 <TAB>`; bash, zsh, fish scripts
    Completion(mm2_core::complete::CompletionArgs),
}

#[derive(Debug, Args)]
struct StatusArgs {
    /// Direction to report (default: all)
    direction: Option<String>,
    /// Report every direction (the default)
    #[arg(long, conflicts_with = "direction")]
    all: bool,
    /// Also ask Kafka Connect's REST API (through the API server's pod proxy) and flag disagreements
    #[arg(long)]
    live: bool,
}

#[derive(Debug, Args)]
struct PauseArgs {
    #[command(flatten)]
    state: state_cmd::StateArgs,
    /// Stop instead of pause: tasks are shut down and release their resources
    #[arg(long)]
    stop: bool,
}

fn main() -> ExitCode {
    // `kubectl mm2 <TAB>`: kubectl runs kubectl_complete-mm2, a symlink to this binary or
    // a shim calling `kubectl-mm2 __complete`. Answer before clap parses anything.
    if let Some(code) = mm2_core::complete::dispatch(Cli::command, "mm2") {
        return code;
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    if let Cmd::Completion(a) = &cli.cmd {
        return ExitCode::from(mm2_core::complete::run(Cli::command(), a, "mm2"));
    }
    mm2_core::cli::block_on(run(cli))
}

/// Print a clap error; help and version are not errors. `lag` follows the Nagios convention it
/// documents: a typo in a check definition is UNKNOWN (3), never CRITICAL (2).
fn usage_error(e: clap::Error) -> ExitCode {
    let _ = e.print();
    if !e.use_stderr() {
        return ExitCode::SUCCESS;
    }
    let sub = Cli::command()
        .ignore_errors(true)
        .try_get_matches()
        .ok()
        .and_then(|m| m.subcommand_name().map(str::to_string));
    ExitCode::from(match sub.as_deref() {
        Some("lag") => lag_cmd::USAGE_EXIT,
        // doctor's 1 and 2 mean warnings and errors found.
        Some("doctor") => doctor_cmd::EXIT_USAGE,
        _ => mm2_core::error::exit::USAGE,
    })
}

async fn run(cli: Cli) -> u8 {
    mm2_core::clients::set_verbosity(cli.global.verbose);
    let g = &cli.global;
    let result = match &cli.cmd {
        Cmd::Completion(_) => unreachable!("handled in main"),
        Cmd::Status(a) => status(g, a).await,
        Cmd::Pause(a) => {
            let to = if a.stop {
                mm2_core::resources::strimzi::ConnectorState::Stopped
            } else {
                mm2_core::resources::strimzi::ConnectorState::Paused
            };
            state_cmd::run(g, &a.state, to).await
        }
        Cmd::Resume(a) => state_cmd::run(g, a, mm2_core::resources::strimzi::ConnectorState::Running).await,
        Cmd::Scale(a) => scale_cmd::run(g, a).await,
        Cmd::Lag(a) => return lag_cmd::run(g, a).await,
        Cmd::Restart(a) => restart_cmd::run(g, a).await,
        Cmd::Offsets(a) => offsets_cmd::run(g, a).await,
        Cmd::Report(a) => report_cmd::run(g, a).await,
        Cmd::Convert(a) => convert_cmd::run(g, a).await,
        Cmd::Doctor(a) => return doctor_cmd::run(g, a).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => report_error(&e),
    }
}

async fn status(g: &GlobalArgs, a: &StatusArgs) -> Result<u8, Error> {
    mm2_core::cli::direction_precheck(g, a.direction.as_deref()).await?;
    let kc = g.kubeconfigs()?;
    let req = g.topology_request()?;
    let timeout = g.timeout_or(mm2_core::timeouts::READ);
    let report = mm2_core::mm2::status::run(&kc, &req, a.direction.as_deref(), a.live, timeout).await?;
    match g.output.serialize(&report) {
        Some(s) => mm2_core::hprint!("{s}"),
        None => mm2_core::hprint!(
            "{}",
            render::status(
                &report,
                g.output == mm2_core::output::OutputFormat::Wide,
                &mm2_core::output::Palette::for_stdout()
            )
        ),
    }
    Ok(report.verdict.exit_code())
}
