//! `kubectl clusterset`: Multi-Cluster Services exports, cross-cluster diagnosis and GC-safe
//! secret sync for a Cilium Cluster Mesh clusterset. Thin: the logic lives in `mm2-core`.

// mm2_core::Error is the core's shared error type (>128 bytes: it names context, server and cause);
// boxing it is the core's call, not this binary's.
#![allow(clippy::result_large_err)]

mod copy_cmd;
mod export_cmd;
mod resolve_cmd;

use clap::{Parser, Subcommand};
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
  kubectl clusterset export --kafka kafka-rciis-prod --as kafka-bootstrap-aws --context rciis-aws -o yaml

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
    #[command(flatten)]
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    ExitCode::from(rt.block_on(run(cli)))
}

async fn run(cli: Cli) -> u8 {
    let g = &cli.global;
    let result: Result<u8, Error> = match &cli.cmd {
        Cmd::Export(a) => export_cmd::run(g, a).await,
        Cmd::Resolve(a) => resolve_cmd::run(g, a).await,
        Cmd::CopySecret(a) => copy_cmd::run(g, a).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => report_error("kubectl clusterset", &e),
    }
}
