//! `offsets`: flags and rendering; reading, joining and the readiness rules are in
//! `mm2_core::mm2::offsets`.

use crate::interact::{Progress, pick_directions};
use clap::Args;
use mm2_core::cli::GlobalArgs;
use mm2_core::error::{Error, Result};
use mm2_core::mm2::offsets::{
    self, DirectionOffsets, ListOffsetsPatch, OffsetsOptions, OffsetsReport, OffsetsVia,
};
use mm2_core::output::{Palette, Table};
use mm2_core::topology::serving::writable_for_arg;
use std::fmt::Write as _;

/// Flags of offsets.
#[derive(Debug, Args)]
pub struct OffsetsArgs {
    /// Direction, e.g. 'proxmox->aws', proxmox:aws (prompted for on a terminal when omitted)
    pub direction: Option<String>,
    /// Every direction of the clusterset
    #[arg(long, conflicts_with = "direction")]
    pub all: bool,
    /// Ask Kafka Connect (GET /connectors/<name>/offsets through the pod proxy) instead of Strimzi's list operation
    #[arg(long)]
    pub live: bool,
    /// Consumer groups to judge for failover (regex; a plain name is judged even if never checkpointed)
    #[arg(long, value_name = "REGEX")]
    pub group: Option<String>,
    /// Print the manifest change that adds listOffsets (to commit to the Flux repository) instead of reading
    #[arg(long)]
    pub print_patch: bool,
}

pub async fn run(g: &GlobalArgs, a: &OffsetsArgs) -> Result<u8> {
    let group = match &a.group {
        Some(r) => Some(
            regex::Regex::new(&format!("^(?:{r})$"))
                .map_err(|e| Error::Usage(format!("--group {r}: {e}")))?,
        ),
        None => None,
    };
    mm2_core::cli::direction_precheck(g, a.direction.as_deref()).await?;
    let topo = mm2_core::cli::discover(g, mm2_core::timeouts::DISCOVER_FOR_WRITE).await?;
    let dirs = pick_directions(&topo, a.direction.as_deref(), a.all, "inspect")?;
    if dirs.is_empty() {
        return Err(Error::Topology("no replication directions found".into()));
    }
    if a.print_patch {
        for d in &dirs {
            let (route, cc) = writable_for_arg(&topo, d, a.direction.as_deref())?;
            match offsets::list_offsets_patch_for(cc, route).await? {
                ListOffsetsPatch::Configured { configmap } => mm2_core::heprintln!(
                    "{d}: listOffsets already configured (ConfigMap {configmap}); nothing to commit"
                ),
                ListOffsetsPatch::Missing { configmap, manifest } => {
                    mm2_core::heprintln!(
                        "{d}: add listOffsets → ConfigMap {configmap} to the source connector (commit this to the Flux repository, or apply it):"
                    );
                    mm2_core::hprint!("{manifest}");
                }
            }
        }
        return Ok(0);
    }
    let opts = OffsetsOptions {
        live: a.live,
        group,
        group_pattern: a.group.clone(),
        dry_run: g.dry_run,
        timeout: g.timeout_or(mm2_core::timeouts::OFFSETS_WAIT),
    };
    let progress = Progress::new("reading Connect offsets and replication metrics");
    let report = offsets::build(&topo, &dirs, &opts).await;
    progress.finish();
    match g.output.serialize(&report) {
        Some(s) => {
            for d in &report.directions {
                for n in &d.notes {
                    mm2_core::heprintln!("{}: {n}", d.direction);
                }
                if let Some(e) = &d.error {
                    mm2_core::heprintln!("{}: error: {e}", d.direction);
                }
            }
            mm2_core::hprint!("{s}");
        }
        None => mm2_core::hprint!("{}", render(&report, &Palette::for_stdout())),
    }
    Ok(report.exit_code())
}

/// The table form.
pub fn render(report: &OffsetsReport, pal: &Palette) -> String {
    let mut out = String::new();
    for d in &report.directions {
        render_direction(&mut out, d, pal);
    }
    out
}

fn render_direction(out: &mut String, d: &DirectionOffsets, pal: &Palette) {
    let verdict = if d.ready {
        pal.good("caught up")
    } else {
        pal.warn("not ready for failover")
    };
    let place = match (&d.context, &d.namespace, &d.mm2) {
        (Some(c), Some(n), Some(m)) => format!(" ({c} {n}/{m})"),
        _ => String::new(),
    };
    let _ = writeln!(out, "{}{place}: {verdict}", pal.bold(&d.direction));
    if let Some(e) = &d.error {
        let _ = writeln!(out, "  {} {e}", pal.bad("error:"));
    }
    let via = match d.via {
        Some(OffsetsVia::Annotation) => format!(
            "strimzi.io/connector-offsets=list → ConfigMap {}",
            d.configmap.as_deref().unwrap_or("?")
        ),
        Some(OffsetsVia::Live) => "GET /connectors/<name>/offsets (pod proxy)".into(),
        Some(OffsetsVia::ExistingConfigMap) => format!(
            "existing entry of ConfigMap {} (dry run)",
            d.configmap.as_deref().unwrap_or("?")
        ),
        None => "not read".into(),
    };
    let _ = writeln!(out, "  {} offsets: {via}", d.connector);
    for n in &d.notes {
        let _ = writeln!(out, "  {} {n}", pal.dim("ℹ"));
    }
    if !d.partitions.is_empty() {
        let mut t = Table::new([
            "TOPIC",
            "PARTITION",
            "REPLICATED-OFFSET",
            "RECORDS-LAG",
            "SOURCE-END≈",
            "STATE",
        ]);
        for p in &d.partitions {
            let opt = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
            t.row([
                p.topic.clone(),
                p.partition.to_string(),
                opt(p.last_replicated_offset),
                p.records_lag
                    .map(|l| format!("{l:.0}"))
                    .unwrap_or_else(|| "-".into()),
                opt(p.source_end_estimate),
                match p.caught_up {
                    Some(true) => pal.good("caught up"),
                    Some(false) => pal.warn("behind"),
                    None => pal.dim("unknown"),
                },
            ]);
        }
        out.push_str(&t.render(2));
    }
    if !d.groups.is_empty() {
        let mut t = Table::new(["GROUP", "FAILOVER"]);
        for gr in &d.groups {
            let text = gr.verdict.describe();
            t.row([
                gr.group.clone(),
                if gr.verdict.ready() {
                    pal.good(&text)
                } else {
                    pal.warn(&text)
                },
            ]);
        }
        out.push_str(&t.render(2));
    }
    let _ = writeln!(
        out,
        "  sync.group.offsets.enabled: {}",
        if d.sync_group_offsets_enabled {
            "true (translated offsets are committed on the target for groups idle there)".to_string()
        } else {
            "false (nothing is committed on the target: consumers must translate, e.g. RemoteClusterUtils.translateOffsets)".to_string()
        }
    );
    let _ = writeln!(out, "  cannot be known here:");
    for c in &d.cannot_know {
        let _ = writeln!(out, "    - {c}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mm2_core::lag::model::{GroupCheckpoint, MetricSource, PartitionLag};
    use mm2_core::mm2::offsets::{GroupFilter, SourceOffset, cannot_know, join_partitions, judge_groups};

    fn lag(partition: u32, records_lag: f64) -> PartitionLag {
        PartitionLag {
            topic: "orders".into(),
            remote_topic: "proxmox.orders".into(),
            partition,
            records_lag: Some(records_lag),
            replication_latency_ms: None,
            record_age_ms: None,
            record_rate: None,
            byte_rate: None,
            sources: Default::default(),
        }
    }

    #[test]
    fn offsets_table_golden() {
        let d = mm2_core::direction::Direction::new("proxmox", "aws");
        let offsets = [
            SourceOffset {
                cluster: Some("proxmox".into()),
                topic: "orders".into(),
                partition: 0,
                offset: 41,
            },
            SourceOffset {
                cluster: Some("proxmox".into()),
                topic: "orders".into(),
                partition: 1,
                offset: 7,
            },
        ];
        let filter = GroupFilter::from_mirror(&serde_json::json!({}));
        let cps = [GroupCheckpoint {
            group: "billing".into(),
            partitions: 1,
            max_checkpoint_latency_ms: Some(5.0),
            source: MetricSource::MirrorCheckpointStrimzi,
        }];
        let groups = judge_groups(
            &filter,
            &cps,
            Ok(()),
            None,
            &["connect-sink".into(), "ghost".into()],
        );
        let dir = DirectionOffsets {
            direction: d.to_string(),
            context: Some("rciis-proxmox".into()),
            namespace: Some("rciis-prod".into()),
            mm2: Some("mm2-proxmox-to-aws".into()),
            connector: "proxmox->aws.MirrorSourceConnector".into(),
            via: Some(OffsetsVia::Annotation),
            configmap: Some("mm2-offsets".into()),
            notes: vec![
                "--live: Connect's REST port 8083 refused the API server's pod-proxy connection; fell back"
                    .into(),
            ],
            skipped_entries: 0,
            partitions: join_partitions(&offsets, &[lag(0, 0.0), lag(1, 3.0)]),
            sync_group_offsets_enabled: true,
            groups_filter: Some(filter),
            groups,
            cannot_know: cannot_know(&d),
            ready: false,
            error: None,
        };
        let report = OffsetsReport {
            schema: offsets::SCHEMA,
            ready: false,
            directions: vec![dir],
        };
        let text = render(&report, &Palette::plain());
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/offsets.txt");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        assert_eq!(text, std::fs::read_to_string(&path).unwrap_or_default());
    }
}
