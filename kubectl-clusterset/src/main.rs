//! `kubectl clusterset`: Multi-Cluster Services exports, cross-cluster diagnosis and GC-safe
//! secret sync for a Cilium Cluster Mesh clusterset. Thin: the logic lives in `mm2-core`.

use clap::{Args, Parser, Subcommand};
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
    Export(ExportArgs),
    /// Diagnose a clusterset service across all contexts: export, import, endpoints, DNS name
    Resolve(ResolveArgs),
    /// Copy a Secret between clusters without the metadata that lets the target delete it
    CopySecret(CopySecretArgs),
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// Service to export
    service: Option<String>,
    /// Kafka cluster whose brokers the new Service selects
    #[arg(long, value_name = "KAFKA")]
    kafka: Option<String>,
    /// Name of the Service to create (with --kafka), e.g. kafka-bootstrap-aws
    #[arg(long = "as", value_name = "NAME")]
    as_name: Option<String>,
}

#[derive(Debug, Args)]
struct ResolveArgs {
    /// Exported service name, e.g. kafka-bootstrap-aws
    name: String,
}

#[derive(Debug, Args)]
struct CopySecretArgs {
    /// Secret to copy
    name: Option<String>,
    /// Source context
    #[arg(long, value_name = "CONTEXT")]
    from: Option<String>,
    /// Target context
    #[arg(long, value_name = "CONTEXT")]
    to: Option<String>,
    /// Name in the target cluster
    #[arg(long = "as", value_name = "NAME")]
    as_name: Option<String>,
    /// Sync the MM2 credentials of the whole topology: each cluster's mm2-user to every peer as mm2-user-<alias>
    #[arg(long, conflicts_with_all = ["name", "from", "to", "as_name"])]
    mm2: bool,
    /// Show which keys would be added, removed or changed (never values)
    #[arg(long)]
    diff: bool,
    /// Overwrite a target Secret that kubectl-clusterset did not create
    #[arg(long)]
    force: bool,
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
    let _g = &cli.global;
    let result: Result<u8, Error> = match &cli.cmd {
        Cmd::Export(_) => Err(Error::NotImplemented("kubectl clusterset export")),
        Cmd::Resolve(_) => Err(Error::NotImplemented("kubectl clusterset resolve")),
        Cmd::CopySecret(_) => Err(Error::NotImplemented("kubectl clusterset copy-secret")),
    };
    match result {
        Ok(code) => code,
        Err(e) => report_error("kubectl clusterset", &e),
    }
}
