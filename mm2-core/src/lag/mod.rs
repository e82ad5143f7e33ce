//! MirrorMaker 2 replication lag from the pods' JMX exporter `/metrics`.
//!
//! Figures, per source partition:
//! - records behind: the replication consumer's `records-lag` (primary figure);
//! - time behind: MirrorSourceConnector `replication-latency-ms` and `record-age-ms`;
//! - throughput: `record-rate` and `byte-rate`;
//!
//! and per direction the checkpoint latency per consumer group and the runbook's "in flight"
//! (`source_record_poll_total - source_record_write_total`).
//!
//! Both exporter naming schemes are read: Strimzi's example rules
//! (`kafka_connect_mirror_mirrorsourceconnector_*`, labels source/target/topic/partition) and the
//! replication runbook's ConfigMap (`kafka_connect_mirror_source_connector_*`, no source label).
//!
//! Flow: [`PodScrape`]s → [`aggregate()`] → [`DirectionLag`] → [`evaluate()`] / [`advise`] / [`catch_up`].

pub mod advice;
pub mod aggregate;
pub mod evaluate;
pub mod model;
pub mod parse;
pub mod prometheus;
pub mod report;
pub mod watch;

#[cfg(test)]
mod tests;

pub use advice::{Advice, advice_for, advise};
pub use aggregate::{aggregate, aggregate_direction};
pub use evaluate::{
    Evaluation, LagBasis, Severity, Thresholds, evaluate, filter_topics, overall, partition_severity,
    sort_worst_first, top,
};
pub use model::{
    Direction, DirectionLag, FigureSources, GroupCheckpoint, MetricSource, MissingFamily, NamingScheme,
    PartitionLag, PodError, PodScrape, remote_topic, source_topic_of,
};
pub use parse::{Label, Sample, Scrape, parse};
pub use watch::{CatchUp, catch_up};
