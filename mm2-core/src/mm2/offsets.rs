//! `kubectl mm2 offsets`: per source partition, the last offset MirrorMaker 2 replicated (the
//! MirrorSourceConnector's Connect offsets) next to the replication consumer's `records-lag`, and
//! a failover-readiness verdict per consumer group.
//!
//! Two ways to read the Connect offsets, both through the API server:
//! - Strimzi's list operation: `strimzi.io/connector-offsets=list` + `strimzi.io/mirrormaker-connector=<connector>`
//!   on the KafkaMirrorMaker2; the operator (`AbstractConnectOperator.listConnectorOffsets`) writes
//!   `GET /connectors/<connector>/offsets`, pretty-printed, under the key
//!   `<connector with "->" as "-->">.json` of the ConfigMap named by
//!   `spec.mirrors[].sourceConnector.listOffsets.toConfigMap.name`, then removes both annotations.
//! - `--live`: the same GET through the API server's pod proxy. Strimzi's NetworkPolicy admits
//!   only Connect and operator pods to 8083 by default, so a refused connection falls back to the
//!   annotation path.
//!
//! The MirrorCheckpointConnector's own Connect offsets are always 0 (`MirrorCheckpointTask` wraps
//! offset 0): they carry no translation data and are never shown as such.
//!
//! What the metrics can tell about checkpoints: `checkpoint-latency-ms` per group and partition is
//! the time from a checkpoint's creation to the target's ack (`MirrorCheckpointTask.commitRecord`).
//! Its presence proves a checkpoint for the group was written since the worker started; its value
//! is not the checkpoint's age, and the translated offsets themselves live only in the
//! `<source>.checkpoints.internal` topic on the target cluster, which this tool does not read.

use crate::clients::{ContextClient, Op};
use crate::direction::Direction;
use crate::error::{Error, Result};
use crate::lag::model::{DirectionLag, GroupCheckpoint, MissingFamily, PartitionLag};
use crate::mm2::inventory::{Mm2Object, get_mm2};
use crate::resources::api_resource;
use crate::resources::strimzi::ConnectorKind;
use crate::topology::{Route, Topology};
use crate::write::DryRun;
use regex::Regex;
use serde::Serialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Schema id of `kubectl mm2 offsets -o json|yaml`.
pub const SCHEMA: &str = "kubectl-mm2.dev/offsets/v1";
/// Strimzi's offsets operation annotation (`list|alter|reset`).
pub const CONNECTOR_OFFSETS: &str = "strimzi.io/connector-offsets";
/// Strimzi's annotation naming the MM2 connector of the offsets operation.
pub const MIRRORMAKER_CONNECTOR: &str = "strimzi.io/mirrormaker-connector";
/// Warning reasons of the offsets operations.
pub const WARNING_REASONS: [&str; 2] = ["ListOffsets", "ManageOffsets"];
/// Kafka's `DefaultGroupFilter` default for `groups.exclude`.
pub const DEFAULT_GROUPS_EXCLUDE: [&str; 3] = ["console-consumer-.*", "connect-.*", "__.*"];

/// ConfigMap key Strimzi writes a connector's offsets under
/// (`KafkaMirrorMaker2AssemblyOperator.getConnectorOffsetsConfigMapEntryKey`).
pub fn configmap_key(connector: &str) -> String {
    format!("{}.json", connector.replace("->", "--"))
}

/// One source partition's last replicated offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceOffset {
    /// Source cluster alias (`cluster` in the partition map).
    pub cluster: Option<String>,
    pub topic: String,
    pub partition: i64,
    /// Offset of the last record replicated (the next to replicate is `offset + 1`).
    pub offset: i64,
}

/// Parse Connect's `{"offsets":[{"partition":{cluster,topic,partition},"offset":{"offset":n}}]}`
/// (MirrorSourceConnector, `MirrorUtils.wrapPartition/wrapOffset`). Entries without a topic,
/// partition or offset are skipped and counted; anything else malformed is an error. Never panics.
pub fn parse_source_offsets(text: &str) -> std::result::Result<(Vec<SourceOffset>, usize), String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let list = v
        .get("offsets")
        .and_then(Value::as_array)
        .ok_or_else(|| "no \"offsets\" array".to_string())?;
    let mut out = Vec::new();
    let mut skipped = 0;
    for e in list {
        let p = &e["partition"];
        let int = |v: &Value| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()));
        match (
            p["topic"].as_str(),
            int(&p["partition"]),
            int(&e["offset"]["offset"]),
        ) {
            (Some(topic), Some(partition), Some(offset)) => out.push(SourceOffset {
                cluster: p["cluster"].as_str().map(str::to_string),
                topic: topic.to_string(),
                partition,
                offset,
            }),
            _ => skipped += 1,
        }
    }
    out.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    Ok((out, skipped))
}

/// One row of the partition table: two independent witnesses of replication progress.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartitionRow {
    pub topic: String,
    pub partition: i64,
    /// From the MirrorSourceConnector's Connect offsets.
    pub last_replicated_offset: Option<i64>,
    /// From the replication consumer's `records-lag` (exporter).
    pub records_lag: Option<f64>,
    /// `last_replicated_offset + 1 + records_lag`: the source log end both witnesses imply.
    pub source_end_estimate: Option<i64>,
    /// `records_lag == 0`; `None` when the exporter does not report it.
    pub caught_up: Option<bool>,
}

/// Join Connect offsets and exporter lag by (source topic, partition).
pub fn join_partitions(offsets: &[SourceOffset], lag: &[PartitionLag]) -> Vec<PartitionRow> {
    let mut keys: Vec<(String, i64)> = offsets
        .iter()
        .map(|o| (o.topic.clone(), o.partition))
        .chain(lag.iter().map(|l| (l.topic.clone(), i64::from(l.partition))))
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|(topic, partition)| {
            let off = offsets
                .iter()
                .find(|o| o.topic == topic && o.partition == partition)
                .map(|o| o.offset);
            let lag = lag
                .iter()
                .find(|l| l.topic == topic && i64::from(l.partition) == partition)
                .and_then(|l| l.records_lag);
            let source_end_estimate = match (off, lag) {
                (Some(o), Some(l)) if l.is_finite() && l >= 0.0 => {
                    o.checked_add(1).and_then(|n| n.checked_add(l as i64))
                }
                _ => None,
            };
            PartitionRow {
                topic,
                partition,
                last_replicated_offset: off,
                records_lag: lag,
                source_end_estimate,
                caught_up: lag.map(|l| l <= 0.0),
            }
        })
        .collect()
}

/// Which groups MirrorMaker 2 checkpoints (Kafka `DefaultGroupFilter`: full-match regexes, a
/// comma list joined with `|`).
#[derive(Debug, Clone, Serialize)]
pub struct GroupFilter {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    #[serde(skip)]
    include_re: Option<Regex>,
    #[serde(skip)]
    exclude_re: Vec<(String, Regex)>,
}

fn list_of(v: &Value) -> Option<Vec<String>> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","),
        _ => return None,
    };
    Some(
        s.split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
    )
}

impl GroupFilter {
    /// From a mirror (raw `spec.mirrors[i]`): Strimzi's `groupsPattern` / `groupsExcludePattern`
    /// (`groupsBlacklistPattern`, deprecated) win over the checkpoint connector's `groups` /
    /// `groups.exclude` config (`groups.blacklist`, old name); Kafka's defaults otherwise.
    pub fn from_mirror(mirror: &Value) -> GroupFilter {
        let config = &mirror["checkpointConnector"]["config"];
        let include = list_of(&mirror["groupsPattern"])
            .or_else(|| list_of(&config["groups"]))
            .unwrap_or_else(|| vec![".*".into()]);
        let exclude = list_of(&mirror["groupsExcludePattern"])
            .or_else(|| list_of(&mirror["groupsBlacklistPattern"]))
            .or_else(|| list_of(&config["groups.exclude"]))
            .or_else(|| list_of(&config["groups.blacklist"]))
            .unwrap_or_else(|| DEFAULT_GROUPS_EXCLUDE.iter().map(|s| s.to_string()).collect());
        GroupFilter::new(include, exclude)
    }

    pub fn new(include: Vec<String>, exclude: Vec<String>) -> GroupFilter {
        let full = |p: &str| Regex::new(&format!("^(?:{p})$")).ok();
        let include_re = full(&include.join("|"));
        let exclude_re = exclude
            .iter()
            .filter_map(|p| full(p).map(|r| (p.clone(), r)))
            .collect();
        GroupFilter {
            include,
            exclude,
            include_re,
            exclude_re,
        }
    }

    /// The exclude pattern that matches `group`, if any.
    pub fn excluded_by(&self, group: &str) -> Option<&str> {
        self.exclude_re
            .iter()
            .find(|(_, r)| r.is_match(group))
            .map(|(p, _)| p.as_str())
    }

    pub fn included(&self, group: &str) -> bool {
        self.include_re.as_ref().is_some_and(|r| r.is_match(group))
    }
}

/// `sync.group.offsets.enabled` of the checkpoint connector (Kafka default: false).
pub fn sync_group_offsets_enabled(mirror: &Value) -> bool {
    match &mirror["checkpointConnector"]["config"]["sync.group.offsets.enabled"] {
        Value::Bool(b) => *b,
        Value::String(s) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Failover readiness of one consumer group.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum GroupVerdict {
    /// A checkpoint was written since the worker started (`checkpoint-latency-ms` exported).
    Checkpointed {
        partitions: usize,
        /// Highest time a checkpoint took from creation to the target's ack.
        max_checkpoint_latency_ms: Option<f64>,
    },
    /// Checkpoint metrics are exported, but none for this group.
    NeverCheckpointed,
    /// Matches `groups.exclude`: MirrorMaker 2 never checkpoints it.
    Excluded { pattern: String },
    /// Not matched by `groups`.
    NotIncluded,
    /// The checkpoint metrics cannot be read, so nothing can be said.
    Unknown { why: String },
}

impl GroupVerdict {
    pub fn ready(&self) -> bool {
        matches!(self, GroupVerdict::Checkpointed { .. })
    }
    pub fn describe(&self) -> String {
        match self {
            GroupVerdict::Checkpointed {
                partitions,
                max_checkpoint_latency_ms,
            } => format!(
                "checkpointed since the worker started ({partitions} partition{}{})",
                if *partitions == 1 { "" } else { "s" },
                max_checkpoint_latency_ms
                    .map(|l| format!(", last write took ≤{l:.0} ms"))
                    .unwrap_or_default()
            ),
            GroupVerdict::NeverCheckpointed => "never checkpointed since the worker started".into(),
            GroupVerdict::Excluded { pattern } => format!("excluded by groups.exclude ({pattern})"),
            GroupVerdict::NotIncluded => "not matched by groups: never checkpointed".into(),
            GroupVerdict::Unknown { why } => format!("unknown: {why}"),
        }
    }
}

/// One group's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRow {
    pub group: String,
    #[serde(flatten)]
    pub verdict: GroupVerdict,
}

/// Judge the groups: the ones seen in the checkpoint metrics plus `named` (literal `--group`
/// names), kept when `select` matches (all when `None`).
pub fn judge_groups(
    filter: &GroupFilter,
    checkpoints: &[GroupCheckpoint],
    checkpoint_metrics: std::result::Result<(), String>,
    select: Option<&Regex>,
    named: &[String],
) -> Vec<GroupRow> {
    let mut groups: Vec<String> = checkpoints
        .iter()
        .map(|c| c.group.clone())
        .filter(|g| !g.is_empty())
        .chain(named.iter().cloned())
        .filter(|g| select.is_none_or(|r| r.is_match(g)))
        .collect();
    groups.sort();
    groups.dedup();
    groups
        .into_iter()
        .map(|group| {
            let verdict = if let Some(pattern) = filter.excluded_by(&group) {
                GroupVerdict::Excluded {
                    pattern: pattern.to_string(),
                }
            } else if !filter.included(&group) {
                GroupVerdict::NotIncluded
            } else if let Some(c) = checkpoints.iter().find(|c| c.group == group) {
                GroupVerdict::Checkpointed {
                    partitions: c.partitions,
                    max_checkpoint_latency_ms: c.max_checkpoint_latency_ms,
                }
            } else {
                match &checkpoint_metrics {
                    Ok(()) => GroupVerdict::NeverCheckpointed,
                    Err(why) => GroupVerdict::Unknown { why: why.clone() },
                }
            };
            GroupRow { group, verdict }
        })
        .collect()
}

/// The plain names among a `--group` pattern's `|` alternatives (no regex metacharacters): groups
/// to judge even when no metric names them (they may never have been checkpointed).
pub fn literal_groups(pattern: &str) -> Vec<String> {
    if pattern.contains(['(', ')', '[', ']', '\\']) {
        return vec![];
    }
    pattern
        .split('|')
        .filter(|p| !p.is_empty() && !p.contains(['.', '*', '+', '?', '{', '}', '^', '$']))
        .map(str::to_string)
        .collect()
}

/// What cannot be known without reading the checkpoints topic, said plainly.
pub fn cannot_know(d: &Direction) -> Vec<String> {
    vec![
        format!(
            "the translated offsets and their age: they live only in {}.checkpoints.internal on {} (checkpoint-latency-ms is write latency, not age)",
            d.source, d.target
        ),
        "whether a group's committed offset on the source is newer than its last checkpoint (stop the consumers, wait one emit.checkpoints.interval.seconds, default 60 s)".into(),
        "the MirrorCheckpointConnector's own Connect offsets, always 0: they carry no translation data".into(),
    ]
}

/// Does the direction look ready: every partition caught up (per records-lag) and every group
/// checkpointed? Unknown counts as not ready.
pub fn ready(partitions: &[PartitionRow], groups: &[GroupRow]) -> bool {
    !partitions.is_empty()
        && partitions.iter().all(|p| p.caught_up == Some(true))
        // An excluded or never-checkpointed group has no translated offsets on the target.
        && groups.iter().all(|g| g.verdict.ready())
}

/// The patch that adds `listOffsets` to the source connector of mirror `index`.
pub fn list_offsets_patch(mm2: &Mm2Object, index: usize) -> (String, Vec<Value>) {
    let name = format!("{}-offsets", mm2.name);
    let has_obj = mm2.obj.data["spec"]["mirrors"][index]
        .get("sourceConnector")
        .is_some_and(Value::is_object);
    let value = json!({"toConfigMap": {"name": name}});
    let op = if has_obj {
        json!({"op": "add", "path": format!("/spec/mirrors/{index}/sourceConnector/listOffsets"), "value": value})
    } else {
        json!({"op": "add", "path": format!("/spec/mirrors/{index}/sourceConnector"), "value": {"listOffsets": value}})
    };
    (name, vec![op])
}

/// `spec.mirrors[index].sourceConnector.listOffsets.toConfigMap.name`.
pub fn list_offsets_configmap(mm2: &Mm2Object, index: usize) -> Option<String> {
    mm2.obj.data["spec"]["mirrors"][index]["sourceConnector"]["listOffsets"]["toConfigMap"]["name"]
        .as_str()
        .map(str::to_string)
}

/// `offsets --print-patch` for one direction: the listOffsets configuration it lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListOffsetsPatch {
    /// Already configured: the operator writes to this ConfigMap.
    Configured { configmap: String },
    /// The manifest change (YAML, `spec.mirrors` whole) that adds it, writing to `configmap`.
    Missing { configmap: String, manifest: String },
}

/// The listOffsets patch of the direction's MM2 (one read, nothing written).
pub async fn list_offsets_patch_for(
    cc: &ContextClient,
    route: &crate::topology::Route,
) -> Result<ListOffsetsPatch> {
    let mm2 = get_mm2(cc, &route.namespace, &route.mm2).await?;
    if let Some(configmap) = list_offsets_configmap(&mm2, route.mirror_index) {
        return Ok(ListOffsetsPatch::Configured { configmap });
    }
    let (configmap, ops) = list_offsets_patch(&mm2, route.mirror_index);
    Ok(ListOffsetsPatch::Missing {
        configmap,
        manifest: crate::mm2::gitops::print_patch(&mm2, &ops)?,
    })
}

// ---------------------------------------------------------------------------------------------
// Gathering (I/O)

/// How the Connect offsets were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetsVia {
    /// Strimzi's `connector-offsets=list` into the ConfigMap.
    Annotation,
    /// `GET /connectors/<name>/offsets` through the pod proxy.
    Live,
    /// `--dry-run`: the ConfigMap's existing entry (may be stale).
    ExistingConfigMap,
}

/// Options of `kubectl mm2 offsets`.
#[derive(Debug, Clone, Default)]
pub struct OffsetsOptions {
    pub live: bool,
    /// `--group`, anchored (full match).
    pub group: Option<Regex>,
    /// `--group` as typed (its plain names are judged even when never checkpointed).
    pub group_pattern: Option<String>,
    pub dry_run: DryRun,
    pub timeout: Duration,
}

/// `offsets/v1` for one direction.
#[derive(Debug, Clone, Serialize)]
pub struct DirectionOffsets {
    pub direction: String,
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub mm2: Option<String>,
    pub connector: String,
    pub via: Option<OffsetsVia>,
    /// The ConfigMap of `listOffsets` (`None`: not configured).
    pub configmap: Option<String>,
    /// Why offsets come from where they come from (fallbacks, not configured, dry run).
    pub notes: Vec<String>,
    /// Offsets entries that could not be read.
    pub skipped_entries: usize,
    pub partitions: Vec<PartitionRow>,
    pub sync_group_offsets_enabled: bool,
    pub groups_filter: Option<GroupFilter>,
    pub groups: Vec<GroupRow>,
    /// What this report cannot know.
    pub cannot_know: Vec<String>,
    pub ready: bool,
    pub error: Option<String>,
}

/// `kubectl mm2 offsets -o json|yaml`.
#[derive(Debug, Clone, Serialize)]
pub struct OffsetsReport {
    pub schema: &'static str,
    pub ready: bool,
    pub directions: Vec<DirectionOffsets>,
}

impl OffsetsReport {
    /// 0 every partition and selected group caught up, 3 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.ready {
            0
        } else {
            crate::error::exit::DEGRADED
        }
    }
}

/// Build the report for `dirs`, directions concurrently.
pub async fn build(topo: &Topology, dirs: &[Direction], opts: &OffsetsOptions) -> OffsetsReport {
    let directions: Vec<DirectionOffsets> =
        futures::future::join_all(dirs.iter().map(|d| direction_offsets(topo, d, opts))).await;
    OffsetsReport {
        schema: SCHEMA,
        ready: !directions.is_empty() && directions.iter().all(|d| d.ready),
        directions,
    }
}

fn empty(d: &Direction) -> DirectionOffsets {
    DirectionOffsets {
        direction: d.to_string(),
        context: None,
        namespace: None,
        mm2: None,
        connector: ConnectorKind::Source.connector_name(d),
        via: None,
        configmap: None,
        notes: vec![],
        skipped_entries: 0,
        partitions: vec![],
        sync_group_offsets_enabled: false,
        groups_filter: None,
        groups: vec![],
        cannot_know: cannot_know(d),
        ready: false,
        error: None,
    }
}

async fn direction_offsets(topo: &Topology, d: &Direction, opts: &OffsetsOptions) -> DirectionOffsets {
    let mut out = empty(d);
    // The MM2 that serves the direction; a rejected or doubly served one is refused, as for writes
    // (the list operation annotates it).
    let (route, cc) = match crate::mm2::serving::writable(topo, d) {
        Ok(rc) => rc,
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    out.context = Some(route.context.clone());
    out.namespace = Some(route.namespace.clone());
    out.mm2 = Some(route.mm2.clone());
    match gather(cc, route, opts, &mut out).await {
        Ok(()) => {}
        Err(e) => out.error = Some(e.to_string()),
    }
    out.ready = out.error.is_none() && ready(&out.partitions, &out.groups);
    out
}

async fn gather(
    cc: &ContextClient,
    route: &Route,
    opts: &OffsetsOptions,
    out: &mut DirectionOffsets,
) -> Result<()> {
    let d = &route.direction;
    let mm2 = get_mm2(cc, &route.namespace, &route.mm2).await?;
    let mirror = mm2.obj.data["spec"]["mirrors"][route.mirror_index].clone();
    out.configmap = list_offsets_configmap(&mm2, route.mirror_index);
    out.sync_group_offsets_enabled = sync_group_offsets_enabled(&mirror);
    let filter = GroupFilter::from_mirror(&mirror);

    // Both witnesses at once: the metrics scrape does not wait for the operator.
    let offsets_fut = read_offsets(cc, route, &mm2, opts, out.configmap.clone());
    let lag_fut = async {
        let scrapes = crate::lag::report::scrape_pods(cc, &mm2, d).await?;
        Ok::<DirectionLag, Error>(crate::lag::aggregate_direction(d, &scrapes))
    };
    let (offsets, lag) = futures::join!(offsets_fut, lag_fut);
    let (source_offsets, via, notes, skipped) = match offsets {
        Ok(o) => o,
        Err(e) => (vec![], None, vec![e.to_string()], 0),
    };
    out.via = via;
    out.notes.extend(notes);
    out.skipped_entries = skipped;
    let (lag_partitions, checkpoints, checkpoint_metrics) = match &lag {
        Ok(l) if l.pods_scraped == 0 => (
            vec![],
            vec![],
            Err(format!(
                "no pod's metrics could be read ({})",
                l.pod_errors
                    .iter()
                    .map(|e| e.reason.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        ),
        Ok(l) => (
            l.partitions.clone(),
            l.groups.clone(),
            if l.missing.contains(&MissingFamily::Checkpoint) {
                Err("checkpoint-latency-ms is not exported (or no group was checkpointed since the workers started)".to_string())
            } else {
                Ok(())
            },
        ),
        Err(e) => (vec![], vec![], Err(format!("metrics unreadable: {e}"))),
    };
    if lag_partitions.is_empty() {
        out.notes.push(
            "records-lag: the exporter reports no replication-consumer partition (see `kubectl mm2 lag`)"
                .into(),
        );
    }
    out.partitions = join_partitions(&source_offsets, &lag_partitions);
    let named: Vec<String> = opts
        .group_pattern
        .as_deref()
        .map(literal_groups)
        .unwrap_or_default();
    out.groups = judge_groups(
        &filter,
        &checkpoints,
        checkpoint_metrics,
        opts.group.as_ref(),
        &named,
    );
    out.groups_filter = Some(filter);
    Ok(())
}

type Offsets = (Vec<SourceOffset>, Option<OffsetsVia>, Vec<String>, usize);

async fn read_offsets(
    cc: &ContextClient,
    route: &Route,
    mm2: &Mm2Object,
    opts: &OffsetsOptions,
    configmap: Option<String>,
) -> Result<Offsets> {
    let connector = ConnectorKind::Source.connector_name(&route.direction);
    let mut notes = Vec::new();
    if opts.live {
        match live_offsets(cc, mm2, &connector).await {
            Ok(text) => {
                let (o, skipped) = parse_source_offsets(&text).map_err(|e| {
                    Error::Invalid(format!(
                        "GET /connectors/{connector}/offsets answered something unreadable: {e}"
                    ))
                })?;
                return Ok((o, Some(OffsetsVia::Live), notes, skipped));
            }
            Err(e) => {
                let msg = e.to_string();
                notes.push(if msg.contains("connection refused") {
                    "--live: Connect's REST port 8083 refused the API server's pod-proxy connection (Strimzi's NetworkPolicy admits only Connect and Cluster Operator pods to 8083 by default); fell back to Strimzi's connector-offsets=list".to_string()
                } else {
                    format!("--live failed ({msg}); fell back to Strimzi's connector-offsets=list")
                });
            }
        }
    }
    let Some(cm) = configmap else {
        notes.push(format!(
            "listOffsets is not configured on the source connector of {}: Strimzi cannot list its offsets (`--print-patch` prints the change to commit; `--live` asks Connect directly)",
            route.direction
        ));
        return Ok((vec![], None, notes, 0));
    };
    if opts.dry_run != DryRun::None {
        notes.push(format!(
            "dry run: no annotation written; offsets are the existing entry of ConfigMap {cm} (possibly stale)"
        ));
        let text = read_configmap_key(cc, &mm2.namespace, &cm, &configmap_key(&connector)).await?;
        let Some(text) = text else {
            notes.push(format!("ConfigMap {cm} has no {} yet", configmap_key(&connector)));
            return Ok((vec![], None, notes, 0));
        };
        let (o, skipped) =
            parse_source_offsets(&text).map_err(|e| Error::Invalid(format!("ConfigMap {cm}: {e}")))?;
        return Ok((o, Some(OffsetsVia::ExistingConfigMap), notes, skipped));
    }
    let text = list_through_operator(cc, route, &connector, &cm, opts.timeout).await?;
    let (o, skipped) = parse_source_offsets(&text)
        .map_err(|e| Error::Invalid(format!("ConfigMap {cm} key {}: {e}", configmap_key(&connector))))?;
    Ok((o, Some(OffsetsVia::Annotation), notes, skipped))
}

/// `GET /connectors/<connector>/offsets` through the pod proxy of a ready worker.
async fn live_offsets(cc: &ContextClient, mm2: &Mm2Object, connector: &str) -> Result<String> {
    let pod = crate::mm2::pods::pods_of(cc, mm2)
        .await
        .ok()
        .flatten()
        .and_then(|pods| {
            let mut ready: Vec<String> = pods
                .iter()
                .filter(|p| crate::mm2::pods::is_ready(p))
                .filter_map(|p| p.metadata.name.clone())
                .collect();
            ready.sort();
            ready.into_iter().next()
        })
        .unwrap_or_else(|| format!("{}-mirrormaker2-0", mm2.name));
    // Strimzi's KafkaConnectApiImpl encodes "->" as "%2D%3E"; a raw '>' is not a legal URI character.
    let encoded = connector.replace("->", "%2D%3E");
    let path = format!(
        "/api/v1/namespaces/{}/pods/{pod}:8083/proxy/connectors/{encoded}/offsets",
        mm2.namespace
    );
    let op = Op::new("get", "pods/proxy", "Pod").ns(&mm2.namespace).name(&pod);
    cc.get_raw(op, &path).await
}

async fn read_configmap_key(cc: &ContextClient, ns: &str, name: &str, key: &str) -> Result<Option<String>> {
    let ar = api_resource("", "v1", "ConfigMap", "configmaps");
    let cm = cc.get_opt(&ar, ns, name).await?;
    Ok(cm.and_then(|c| c.data["data"][key].as_str().map(str::to_string)))
}

fn offsets_refusal(m: &Mm2Object, connector: &str) -> Option<Error> {
    let target = format!("kmm2 {} -n {} --context {}", m.name, m.namespace, m.context);
    if m.reconciliation_paused() {
        return Some(Error::Refused {
            reason: format!(
                "{}/{} in {} has strimzi.io/pause-reconciliation=true: the operator lists no offsets while paused",
                m.namespace, m.name, m.context
            ),
            hint: "use --live to ask Connect directly, or remove the annotation".into(),
        });
    }
    if m.spec.replicas == Some(0) {
        return Some(Error::Refused {
            reason: format!(
                "{}/{} in {} has 0 replicas: no Connect worker to ask",
                m.namespace, m.name, m.context
            ),
            hint: "scale it up first (`kubectl mm2 scale`)".into(),
        });
    }
    let a = m.annotations();
    let ours = a.get(CONNECTOR_OFFSETS).map(String::as_str) == Some("list")
        && a.get(MIRRORMAKER_CONNECTOR).map(String::as_str) == Some(connector);
    if !ours && (a.contains_key(CONNECTOR_OFFSETS) || a.contains_key(MIRRORMAKER_CONNECTOR)) {
        return Some(Error::Refused {
            reason: format!(
                "an offsets operation is pending on {}/{} in {} ({CONNECTOR_OFFSETS}={}, {MIRRORMAKER_CONNECTOR}={}): writing ours would replace it",
                m.namespace,
                m.name,
                m.context,
                a.get(CONNECTOR_OFFSETS).map(String::as_str).unwrap_or("-"),
                a.get(MIRRORMAKER_CONNECTOR).map(String::as_str).unwrap_or("-")
            ),
            hint: format!(
                "wait for the operator, or remove them: `kubectl annotate {target} {CONNECTOR_OFFSETS}- {MIRRORMAKER_CONNECTOR}-`; or use --live"
            ),
        });
    }
    None
}

/// Annotate, wait for the operator to remove both annotations, read the ConfigMap entry.
async fn list_through_operator(
    cc: &ContextClient,
    route: &Route,
    connector: &str,
    cm: &str,
    timeout: Duration,
) -> Result<String> {
    let deadline = Instant::now() + timeout;
    let m = get_mm2(cc, &route.namespace, &route.mm2).await?;
    let already = m.annotations().get(MIRRORMAKER_CONNECTOR).map(String::as_str) == Some(connector);
    if !already {
        crate::mm2::restart::annotate(
            cc,
            &route.namespace,
            &route.mm2,
            &[(CONNECTOR_OFFSETS, "list"), (MIRRORMAKER_CONNECTOR, connector)],
            false,
            |m| offsets_refusal(m, connector),
        )
        .await?;
    } else if let Some(e) = offsets_refusal(&m, connector) {
        return Err(e);
    }
    loop {
        let m = get_mm2(cc, &route.namespace, &route.mm2).await?;
        let a = m.annotations();
        if !a.contains_key(CONNECTOR_OFFSETS) && !a.contains_key(MIRRORMAKER_CONNECTOR) {
            break;
        }
        if Instant::now() >= deadline {
            let warnings: Vec<String> = m
                .status
                .iter()
                .flat_map(|s| s.conditions.iter())
                .filter(|c| {
                    c.type_ == "Warning" && c.reason.as_deref().is_some_and(|r| WARNING_REASONS.contains(&r))
                })
                .map(|c| {
                    format!(
                        "{}: {}",
                        c.reason.clone().unwrap_or_default(),
                        c.message.clone().unwrap_or_default()
                    )
                })
                .collect();
            return Err(Error::NotConverged {
                what: format!(
                    "the operator to list {connector}'s offsets into ConfigMap {cm}{} (the annotations stay; it retries every reconcile)",
                    if warnings.is_empty() {
                        String::new()
                    } else {
                        format!("; it reports {}", warnings.join("; "))
                    }
                ),
                timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    read_configmap_key(cc, &route.namespace, cm, &configmap_key(connector))
        .await?
        .ok_or_else(|| {
            Error::Invalid(format!(
                "the operator removed the annotations but ConfigMap {}/{cm} has no {}",
                route.namespace,
                configmap_key(connector)
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const JACKSON: &str = r#"{
  "offsets" : [ {
    "partition" : {
      "cluster" : "proxmox",
      "partition" : 1,
      "topic" : "orders"
    },
    "offset" : {
      "offset" : 41
    }
  }, {
    "partition" : {
      "cluster" : "proxmox",
      "partition" : 0,
      "topic" : "orders"
    },
    "offset" : {
      "offset" : 99
    }
  } ]
}"#;

    #[test]
    fn configmap_key_is_strimzis() {
        assert_eq!(
            configmap_key("proxmox->aws.MirrorSourceConnector"),
            "proxmox--aws.MirrorSourceConnector.json"
        );
    }

    #[test]
    fn parses_the_operators_pretty_printed_offsets_sorted() {
        let (o, skipped) = parse_source_offsets(JACKSON).unwrap();
        assert_eq!(skipped, 0);
        assert_eq!(
            o,
            vec![
                SourceOffset {
                    cluster: Some("proxmox".into()),
                    topic: "orders".into(),
                    partition: 0,
                    offset: 99
                },
                SourceOffset {
                    cluster: Some("proxmox".into()),
                    topic: "orders".into(),
                    partition: 1,
                    offset: 41
                },
            ]
        );
    }

    #[test]
    fn checkpoint_style_and_broken_entries_are_skipped_not_fatal() {
        let text =
            r#"{"offsets":[{"partition":{"group":"g","topic":"t","partition":0},"offset":{}},{"x":1}]}"#;
        assert_eq!(parse_source_offsets(text).unwrap(), (vec![], 2));
        assert!(parse_source_offsets("[]").is_err());
        assert!(parse_source_offsets("").is_err());
        assert_eq!(parse_source_offsets(r#"{"offsets":[]}"#).unwrap(), (vec![], 0));
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_text_never_panics(s in ".{0,400}") {
            let _ = parse_source_offsets(&s);
        }

        #[test]
        fn parsing_arbitrary_offsets_shaped_json_never_panics(
            topic in proptest::option::of(".{0,8}"),
            partition in proptest::option::of(any::<i64>()),
            offset in proptest::option::of(any::<i64>()),
            as_string in any::<bool>(),
            float in any::<f64>(),
        ) {
            let num = |n: Option<i64>| match n {
                Some(n) if as_string => json!(n.to_string()),
                Some(n) => json!(n),
                None => json!(float),
            };
            let v = json!({"offsets": [{"partition": {"topic": topic, "partition": num(partition)}, "offset": {"offset": num(offset)}}]});
            let (o, skipped) = parse_source_offsets(&v.to_string()).unwrap();
            prop_assert_eq!(o.len() + skipped, 1);
        }

        #[test]
        fn joining_never_panics_on_extreme_numbers(offset in any::<i64>(), lag in any::<f64>()) {
            let o = [SourceOffset { cluster: None, topic: "t".into(), partition: 0, offset }];
            let l = [lag_of("t", 0, Some(lag))];
            let _ = join_partitions(&o, &l);
        }
    }

    fn lag_of(topic: &str, partition: u32, records_lag: Option<f64>) -> PartitionLag {
        PartitionLag {
            topic: topic.into(),
            remote_topic: format!("proxmox.{topic}"),
            partition,
            records_lag,
            replication_latency_ms: None,
            record_age_ms: None,
            record_rate: None,
            byte_rate: None,
            sources: Default::default(),
        }
    }

    #[test]
    fn partitions_join_both_witnesses_and_estimate_the_source_end() {
        let (o, _) = parse_source_offsets(JACKSON).unwrap();
        let rows = join_partitions(
            &o,
            &[
                lag_of("orders", 0, Some(0.0)),
                lag_of("orders", 1, Some(8.0)),
                lag_of("pay", 0, None),
            ],
        );
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].source_end_estimate, Some(100));
        assert_eq!(rows[0].caught_up, Some(true));
        assert_eq!(rows[1].source_end_estimate, Some(50));
        assert_eq!(rows[1].caught_up, Some(false));
        assert_eq!(rows[2].last_replicated_offset, None);
        assert_eq!(rows[2].caught_up, None);
        assert!(!ready(&rows, &[]));
        assert!(ready(&rows[..1], &[]));
        assert!(!ready(&[], &[]));
    }

    fn cp(group: &str) -> GroupCheckpoint {
        GroupCheckpoint {
            group: group.into(),
            partitions: 2,
            max_checkpoint_latency_ms: Some(12.0),
            source: crate::lag::model::MetricSource::MirrorCheckpointStrimzi,
        }
    }

    #[test]
    fn default_filter_excludes_what_kafka_excludes() {
        let f = GroupFilter::from_mirror(&json!({}));
        assert_eq!(f.excluded_by("console-consumer-123"), Some("console-consumer-.*"));
        assert_eq!(f.excluded_by("connect-mm2"), Some("connect-.*"));
        assert_eq!(f.excluded_by("__consumer_offsets"), Some("__.*"));
        assert_eq!(f.excluded_by("billing"), None);
        // Full match, not search.
        assert_eq!(f.excluded_by("my-connect-group"), None);
        assert!(f.included("billing"));
    }

    #[test]
    fn strimzi_patterns_win_over_connector_config() {
        let m = json!({"groupsPattern": "billing|audit", "groupsExcludePattern": "audit",
                       "checkpointConnector": {"config": {"groups": ".*", "groups.exclude": "x", "sync.group.offsets.enabled": "true"}}});
        let f = GroupFilter::from_mirror(&m);
        assert!(f.included("billing") && !f.included("other"));
        assert_eq!(f.excluded_by("audit"), Some("audit"));
        assert!(sync_group_offsets_enabled(&m));
        let m = json!({"checkpointConnector": {"config": {"groups.exclude": "a.*, b", "sync.group.offsets.enabled": false}}});
        let f = GroupFilter::from_mirror(&m);
        assert_eq!(f.exclude, vec!["a.*", "b"]);
        assert!(!sync_group_offsets_enabled(&m));
    }

    #[test]
    fn group_verdicts() {
        let f = GroupFilter::from_mirror(&json!({}));
        let named = vec!["connect-sink".to_string(), "ghost".to_string()];
        let rows = judge_groups(&f, &[cp("billing")], Ok(()), None, &named);
        let v: Vec<(&str, String)> = rows
            .iter()
            .map(|r| (r.group.as_str(), r.verdict.describe()))
            .collect();
        assert_eq!(
            v,
            vec![
                (
                    "billing",
                    "checkpointed since the worker started (2 partitions, last write took ≤12 ms)"
                        .to_string()
                ),
                (
                    "connect-sink",
                    "excluded by groups.exclude (connect-.*)".to_string()
                ),
                ("ghost", "never checkpointed since the worker started".to_string()),
            ]
        );
        let rows = judge_groups(&f, &[], Err("not exported".into()), None, &["ghost".into()]);
        assert_eq!(
            rows[0].verdict,
            GroupVerdict::Unknown {
                why: "not exported".into()
            }
        );
        // --group selects.
        let sel = Regex::new("^bill").unwrap();
        let rows = judge_groups(&f, &[cp("billing"), cp("audit")], Ok(()), Some(&sel), &[]);
        assert_eq!(rows.len(), 1);
        assert_eq!(literal_groups("billing"), vec!["billing"]);
        assert_eq!(
            literal_groups("bill.*|audit|connect-sink"),
            vec!["audit", "connect-sink"]
        );
        assert!(literal_groups("(a|b)").is_empty());
    }

    #[test]
    fn a_group_that_is_not_checkpointed_makes_the_direction_not_ready() {
        let rows = join_partitions(&[], &[lag_of("orders", 0, Some(0.0))]);
        let f = GroupFilter::from_mirror(&json!({}));
        let groups = judge_groups(&f, &[], Ok(()), None, &["ghost".into()]);
        assert!(!ready(&rows, &groups));
        let groups = judge_groups(&f, &[cp("billing")], Ok(()), None, &[]);
        assert!(ready(&rows, &groups));
    }
}
