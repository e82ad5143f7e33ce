//! `kubectl mm2 convert`: parse, pick the mode, call `mm2_core::convert`, render.

use clap::Args;
use mm2_core::cli::GlobalArgs;
use mm2_core::convert::{self, Options, Shape};
use mm2_core::error::Error;
use mm2_core::output::OutputFormat;
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Direction whose KafkaMirrorMaker2 to read from the clusters (e.g. proxmox:aws)
    #[arg(conflicts_with = "filename")]
    direction: Option<String>,
    /// Convert the manifests of a file instead (`-` for stdin); works offline
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    filename: Option<PathBuf>,
    /// API version to write: v1 (Strimzi ≥ 0.49, the only one of 1.x) or v1beta2 (below 0.49)
    // id `api_version`: the completion engine takes an id `to` for a kube context (copy-secret).
    #[arg(long = "to", id = "api_version", value_name = "VERSION", default_value = "v1", value_parser = ["v1", "v1beta2"])]
    to: String,
    /// Broker count per cluster alias, for the replication factors (default: read from each
    /// cluster's KafkaNodePools in DIRECTION mode), e.g. aws=1,proxmox=3
    #[arg(long, value_name = "ALIAS=COUNT,...", value_parser = convert::parse_brokers)]
    brokers: Option<BTreeMap<String, u32>>,
}

pub async fn run(g: &GlobalArgs, a: &ConvertArgs) -> Result<u8, Error> {
    if matches!(g.output, OutputFormat::Wide) {
        return Err(Error::Usage(
            "convert prints manifests: use -o yaml (the default) or -o json".into(),
        ));
    }
    let mut opts = Options {
        to: a.to.parse::<Shape>().map_err(Error::Usage)?,
        brokers: a.brokers.clone().unwrap_or_default(),
        ..Default::default()
    };
    let outcome = match (&a.direction, &a.filename) {
        (None, None) => {
            return Err(Error::Usage(
                "say what to convert: a DIRECTION (e.g. proxmox:aws) read from the clusters, or -f FILE (- for stdin)"
                    .into(),
            ));
        }
        (Some(_), Some(_)) => unreachable!("clap: conflicts_with"),
        (None, Some(file)) => {
            // Offline: aliases → contexts only from the flags and the clusterset config file.
            let req = g.topology_request()?;
            let entries = if req.clusters.is_empty() {
                req.config.map(|c| c.clusters).unwrap_or_default()
            } else {
                req.clusters
            };
            opts.contexts = entries.into_iter().map(|c| (c.alias, c.context)).collect();
            let text = read_input(file)?;
            convert::convert_text(&text, &opts)?
        }
        (Some(dir), None) => {
            mm2_core::cli::direction_precheck(g, Some(dir)).await?;
            let kc = g.kubeconfigs()?;
            let req = g.topology_request()?;
            let timeout = g.timeout_or(mm2_core::timeouts::READ);
            let topo = mm2_core::topology::discover(&kc, &req, timeout).await?;
            if let Some(e) = topo.unusable() {
                return Err(e);
            }
            let d = mm2_core::direction::parse(dir, &topo.aliases())?;
            convert::live::convert_direction(&topo, &d, &opts).await?
        }
    };
    match g.output {
        OutputFormat::Json => print!("{}", g.output.serialize(&outcome).unwrap_or_default()),
        // Manifests: YAML from serde (strings escaped), headers escaped, other documents as the
        // user wrote them (byte for byte, from their own file).
        _ => print!("{}", convert::render_yaml(&outcome)),
    }
    mm2_core::heprint!("{}", convert::render_notes(&outcome));
    Ok(outcome.exit_code())
}

fn read_input(file: &std::path::Path) -> Result<String, Error> {
    if file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::Usage(format!("cannot read stdin: {e}")))?;
        return Ok(s);
    }
    std::fs::read_to_string(file).map_err(|e| Error::Usage(format!("cannot read {}: {e}", file.display())))
}
