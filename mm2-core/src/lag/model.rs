//! Input and output types of the lag computation. Output types are serialised as the CLI's JSON, so
//! their field names are part of the interface: keep them stable and snake_case.

use serde::{Deserialize, Serialize};

/// Separator of Strimzi's default `DefaultReplicationPolicy` (`replication.policy.separator: "."`).
pub const REPLICATION_SEPARATOR: &str = ".";

/// One replication direction (`proxmox` → `aws`): the crate-wide type from [`crate::direction`].
pub use crate::direction::Direction;

/// Topic name on the target cluster under DefaultReplicationPolicy: `<src>.<topic>`.
pub fn remote_topic(direction: &Direction, source_topic: &str) -> String {
    format!("{}{REPLICATION_SEPARATOR}{source_topic}", direction.source)
}

/// Inverse of [`remote_topic`]. A name without the prefix is returned unchanged, which is right for
/// IdentityReplicationPolicy.
pub fn source_topic_of<'t>(direction: &Direction, remote_topic: &'t str) -> &'t str {
    remote_topic
        .strip_prefix(direction.source.as_str())
        .and_then(|rest| rest.strip_prefix(REPLICATION_SEPARATOR))
        .unwrap_or(remote_topic)
}

/// The `/metrics` text of one MirrorMaker 2 pod, or why it could not be fetched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodScrape {
    pub pod: String,
    pub direction: Direction,
    /// `Ok(exposition text)` or `Err(reason)`.
    pub result: Result<String, String>,
}

/// The metric a figure was read from. It names both the family and the exporter naming scheme, so a
/// reader can tell which rule produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricSource {
    /// `kafka_consumer_fetch_manager_records_lag` of the replication consumer.
    ConsumerFetchManager,
    /// `kafka_connect_mirror_mirrorsourceconnector_*` (Strimzi example rules).
    MirrorSourceStrimzi,
    /// `kafka_connect_mirror_source_connector_*` / `kafka_connect_mirror_replication_latency_ms` (runbook).
    MirrorSourceRunbook,
    /// `kafka_connect_mirror_mirrorcheckpointconnector_*` (Strimzi example rules).
    MirrorCheckpointStrimzi,
    /// `kafka_connect_mirror_checkpoint_connector_*` (runbook).
    MirrorCheckpointRunbook,
}

/// JMX exporter naming scheme found in a scrape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NamingScheme {
    /// Strimzi's `examples/metrics/kafka-mirror-maker-2-metrics.yaml`.
    Strimzi,
    /// The replication runbook's `mm2-jmx-metrics` ConfigMap.
    Runbook,
}

/// A metric family that no pod of the direction exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingFamily {
    /// Replication consumer `records-lag` per partition.
    RecordsLag,
    /// MirrorSourceConnector `replication-latency-ms`, `record-age-ms`, `record-rate`, `byte-rate`.
    MirrorSource,
    /// MirrorCheckpointConnector `checkpoint-latency-ms`.
    Checkpoint,
    /// Connect `source-task-metrics` poll/write totals (in flight).
    InFlight,
}

/// Where each figure of a [`PartitionLag`] came from; `None` where the figure is absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FigureSources {
    pub records_lag: Option<MetricSource>,
    pub replication_latency_ms: Option<MetricSource>,
    pub record_age_ms: Option<MetricSource>,
    pub record_rate: Option<MetricSource>,
    pub byte_rate: Option<MetricSource>,
}

/// Replication state of one source partition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionLag {
    /// Topic name on the source cluster.
    pub topic: String,
    /// Topic name on the target cluster (`<src>.<topic>`).
    pub remote_topic: String,
    pub partition: u32,
    /// Records the replication consumer is behind the source log end. The primary lag figure.
    pub records_lag: Option<f64>,
    /// Time from record timestamp to the target's producer ack.
    pub replication_latency_ms: Option<f64>,
    /// Time from record timestamp to the poll by MM2.
    pub record_age_ms: Option<f64>,
    pub record_rate: Option<f64>,
    pub byte_rate: Option<f64>,
    pub sources: FigureSources,
}

/// Checkpoint (consumer-group offset translation) latency of one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupCheckpoint {
    /// Consumer group; empty when the exporter rule does not keep the group.
    pub group: String,
    /// Distinct (remote topic, partition) pairs seen for the group.
    pub partitions: usize,
    /// Highest `checkpoint-latency-ms` over the group's partitions.
    pub max_checkpoint_latency_ms: Option<f64>,
    pub source: MetricSource,
}

/// A pod whose metrics could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodError {
    pub pod: String,
    pub reason: String,
}

/// Lag of one direction, aggregated over its pods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectionLag {
    pub source: String,
    pub target: String,
    /// Sorted by topic, then partition.
    pub partitions: Vec<PartitionLag>,
    /// Sorted by group.
    pub groups: Vec<GroupCheckpoint>,
    /// Records polled but not yet written, summed over the direction's source tasks (the runbook's
    /// `poll_total - write_total`). Shown as "in flight"; used for thresholds only without records-lag.
    pub in_flight: Option<f64>,
    /// Families no pod exported for this direction (empty when no pod could be scraped).
    pub missing: Vec<MissingFamily>,
    /// Exporter naming schemes seen in the pods' output, whatever the direction.
    pub naming_schemes: Vec<NamingScheme>,
    pub pod_errors: Vec<PodError>,
    /// Pods whose metrics were read.
    pub pods_scraped: usize,
    /// Unreadable exposition lines over all pods.
    pub skipped_lines: usize,
}

impl DirectionLag {
    pub fn direction(&self) -> Direction {
        Direction::new(self.source.clone(), self.target.clone())
    }

    /// Sum of records-lag over the partitions that report it; `None` when none does.
    pub fn total_records_lag(&self) -> Option<f64> {
        sum_present(self.partitions.iter().map(|p| p.records_lag))
    }

    pub fn max_records_lag(&self) -> Option<f64> {
        max_present(self.partitions.iter().map(|p| p.records_lag))
    }

    pub fn max_replication_latency_ms(&self) -> Option<f64> {
        max_present(self.partitions.iter().map(|p| p.replication_latency_ms))
    }

    pub fn max_record_age_ms(&self) -> Option<f64> {
        max_present(self.partitions.iter().map(|p| p.record_age_ms))
    }

    pub fn total_record_rate(&self) -> Option<f64> {
        sum_present(self.partitions.iter().map(|p| p.record_rate))
    }

    pub fn total_byte_rate(&self) -> Option<f64> {
        sum_present(self.partitions.iter().map(|p| p.byte_rate))
    }
}

pub(crate) fn sum_present(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values.flatten().fold(None, |acc, v| Some(acc.unwrap_or(0.0) + v))
}

pub(crate) fn max_present(values: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    values
        .flatten()
        .fold(None, |acc: Option<f64>, v| Some(acc.map_or(v, |a| a.max(v))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_topic_round_trip() {
        let d = Direction::new("proxmox", "aws");
        assert_eq!(remote_topic(&d, "orders"), "proxmox.orders");
        assert_eq!(source_topic_of(&d, "proxmox.orders"), "orders");
        assert_eq!(source_topic_of(&d, "proxmoxorders"), "proxmoxorders");
        assert_eq!(source_topic_of(&d, "orders"), "orders");
        assert_eq!(d.to_string(), "proxmox->aws");
    }

    #[test]
    fn enums_serialise_snake_case() {
        let json = serde_json::to_string(&(MissingFamily::RecordsLag, MetricSource::MirrorSourceStrimzi));
        assert_eq!(
            json.ok().as_deref(),
            Some(r#"["records_lag","mirror_source_strimzi"]"#)
        );
    }

    #[test]
    fn sums_and_maxima_ignore_absent_values() {
        assert_eq!(sum_present([None, Some(1.0), Some(2.0)].into_iter()), Some(3.0));
        assert_eq!(sum_present([None, None].into_iter()), None);
        assert_eq!(max_present([Some(1.0), None, Some(5.0)].into_iter()), Some(5.0));
    }
}
