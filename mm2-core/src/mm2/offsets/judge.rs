//! The pure half of `offsets`: the ConfigMap key, Connect's offsets body, the join with the
//! replication consumer's lag per partition, the consumer groups' failover verdicts, and the
//! listOffsets patch. Unit- and property-tested.

use crate::direction::Direction;
use crate::lag::model::{GroupCheckpoint, PartitionLag};
use crate::resources::inventory::Mm2Object;
use regex::Regex;
use serde::Serialize;
use serde_json::{Value, json};

use super::*;

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

pub(super) fn list_of(v: &Value) -> Option<Vec<String>> {
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
pub fn list_offsets_patch(mm2: &Mm2Object, index: usize) -> (String, Vec<json_patch::PatchOperation>) {
    let name = format!("{}-offsets", mm2.name);
    let has_obj = mm2.obj.data["spec"]["mirrors"][index]
        .get("sourceConnector")
        .is_some_and(Value::is_object);
    let value = json!({"toConfigMap": {"name": name}});
    let i = index.to_string();
    let op = if has_obj {
        crate::write::patch::add(["spec", "mirrors", &i, "sourceConnector", "listOffsets"], value)
    } else {
        crate::write::patch::add(
            ["spec", "mirrors", &i, "sourceConnector"],
            json!({"listOffsets": value}),
        )
    };
    (name, vec![op])
}

/// `spec.mirrors[index].sourceConnector.listOffsets.toConfigMap.name`.
pub fn list_offsets_configmap(mm2: &Mm2Object, index: usize) -> Option<String> {
    mm2.obj.data["spec"]["mirrors"][index]["sourceConnector"]["listOffsets"]["toConfigMap"]["name"]
        .as_str()
        .map(str::to_string)
}
