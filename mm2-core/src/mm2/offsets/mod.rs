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

mod judge;
mod read;
#[cfg(test)]
mod tests;

pub use judge::*;
pub use read::*;

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
