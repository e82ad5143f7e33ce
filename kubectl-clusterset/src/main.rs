//! `kubectl clusterset`: Multi-Cluster Services exports, cross-cluster diagnosis and GC-safe
//! secret sync for a Cilium Cluster Mesh clusterset. Thin: the logic lives in `mm2-core`.

// mm2_core::Error is the core's shared error type (>128 bytes: it names context, server and cause);
// boxing it is the core's call, not this binary's.
#![allow(clippy::result_large_err)]

mod copy_cmd;
mod export_cmd;
mod resolve_cmd;

use clap::{CommandFactory, Parser, Subcommand};
use mm2_core::cli::{GlobalArgs, report_error};
use mm2_core::error::Error;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  # Copy each cluster's mm2-user Secret to every peer as mm2-user-<alias> (the runbook's two copies)
  kubectl clusterset copy-secret --mm2

  # Copy one Secret, showing which keys would change (never values)
  kubectl clusterset copy-secret mm2-user --from rciis-aws --to rciis-proxmox --as mm2-user-aws --diff

  # Export the Kafka bootstrap Service of a cluster under a clusterset-unique name
  kubectl clusterset export --kafka kafka-rciis-prod --as kafka-bootstrap-aws --context rciis-aws

  # Emit the manifests for the Flux repository instead of applying them
  kubectl clusterset export --kafka kafka-rciis-prod --as kafka-bootstrap-aws --context rciis-aws --print-manifests

  # Why does kafka-bootstrap-aws.rciis-prod.svc.clusterset.local not resolve?
  kubectl clusterset resolve kafka-bootstrap-aws

Exit codes: 0 ok, 1 error, 2 usage, 4 unreachable, 6 refused, 7 forbidden; resolve: 3 when not resolvable.";

#[derive(Debug, Parser)]
#[command(
    name = "kubectl clusterset",
    bin_name = "kubectl clusterset",
    version,
    about = "MCS ServiceExports, cross-cluster diagnosis and GC-safe Secret copies for Cilium Cluster Mesh cluster sets",
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
    /// Export a Service to the clusterset (ServiceExport; with --kafka also the uniquely named Service)
    Export(export_cmd::ExportArgs),
    /// Diagnose a clusterset service across all contexts: export, import, endpoints, DNS name (exit 3: not resolvable)
    Resolve(resolve_cmd::ResolveArgs),
    /// Copy a Secret between clusters without the metadata that lets the target delete it
    CopySecret(copy_cmd::CopySecretArgs),
    /// Shell completion: `completion kubectl --install` for `kubectl clusterset <TAB>`; bash, zsh, fish scripts
    Completion(mm2_core::complete::CompletionArgs),
}

fn main() -> ExitCode {
    // `kubectl clusterset <TAB>`: kubectl runs kubectl_complete-clusterset, a symlink to this binary or
    // a shim calling `kubectl-clusterset __complete`. Answer before clap parses anything.
    if let Some(code) = mm2_core::complete::dispatch(Cli::command, "clusterset") {
        return code;
    }
    let cli = Cli::parse();
    if let Cmd::Completion(a) = &cli.cmd {
        return ExitCode::from(mm2_core::complete::run(Cli::command(), a, "clusterset"));
    }
    mm2_core::cli::block_on(run(cli))
}

async fn run(cli: Cli) -> u8 {
    mm2_core::clients::set_verbosity(cli.global.verbose);
    let g = &cli.global;
    let result: Result<u8, Error> = match &cli.cmd {
        Cmd::Completion(_) => unreachable!("handled in main"),
        Cmd::Export(a) => export_cmd::run(g, a).await,
        Cmd::Resolve(a) => resolve_cmd::run(g, a).await,
        Cmd::CopySecret(a) => copy_cmd::run(g, a).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => report_error(&e),
    }
}
