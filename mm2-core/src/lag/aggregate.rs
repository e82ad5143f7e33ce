//! Turns pod scrapes into one [`DirectionLag`] per replication direction.
//!
//! Samples are streamed from the parser (no sample vector is built), filtered to the direction and
//! folded into per-partition accumulators. A partition is owned by one task at a time, but during a
//! rebalance two pods can briefly both report it; taking the maximum then errs on the side of lag.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::model::{
    Direction, DirectionLag, GroupCheckpoint, MetricSource, MissingFamily, NamingScheme, PartitionLag,
    PodError, PodScrape, remote_topic, source_topic_of,
};
use super::parse::{self, Label};

/// Replication consumer lag (Strimzi's consumer-fetch-manager rule: `kafka_$2_$6`).
pub const RECORDS_LAG: &str = "kafka_consumer_fetch_manager_records_lag";
/// Strimzi example rule: `kafka_connect_mirror_mirrorsourceconnector_$5`.
pub const STRIMZI_SOURCE_PREFIX: &str = "kafka_connect_mirror_mirrorsourceconnector_";
/// Runbook ConfigMap rule: `kafka_connect_mirror_source_connector_$4`.
pub const RUNBOOK_SOURCE_PREFIX: &str = "kafka_connect_mirror_source_connector_";
/// Runbook ConfigMap's dedicated latency rule.
pub const RUNBOOK_LATENCY: &str = "kafka_connect_mirror_replication_latency_ms";
/// Strimzi example rule: `kafka_connect_mirror_mirrorcheckpointconnector_$6`.
pub const STRIMZI_CHECKPOINT_PREFIX: &str = "kafka_connect_mirror_mirrorcheckpointconnector_";
/// Runbook ConfigMap rule: `kafka_connect_mirror_checkpoint_connector_$3`.
pub const RUNBOOK_CHECKPOINT_PREFIX: &str = "kafka_connect_mirror_checkpoint_connector_";
/// Connect source-task counters behind the runbook's "in flight" expression.
pub const POLL_TOTAL: &str = "kafka_connect_source_task_source_record_poll_total";
pub const WRITE_TOTAL: &str = "kafka_connect_source_task_source_record_write_total";

/// Suffix of the MM2 replication consumer's client id (`<src>-><tgt>|<connector>|replication-consumer`).
const REPLICATION_CONSUMER_SUFFIX: &str = "|replication-consumer";

/// Aggregates every direction present in `scrapes`, in first-seen order.
pub fn aggregate(scrapes: &[PodScrape]) -> Vec<DirectionLag> {
    let mut directions: Vec<&Direction> = Vec::new();
    for scrape in scrapes {
        if !directions.contains(&&scrape.direction) {
            directions.push(&scrape.direction);
        }
    }
    directions
        .into_iter()
        .map(|d| aggregate_direction(d, scrapes))
        .collect()
}

/// Aggregates the pods of `direction`; scrapes of other directions are ignored.
pub fn aggregate_direction(direction: &Direction, scrapes: &[PodScrape]) -> DirectionLag {
    let mut acc = Accumulator::new(direction);
    for scrape in scrapes.iter().filter(|s| s.direction == *direction) {
        match &scrape.result {
            Ok(text) => acc.add_pod(text),
            Err(reason) => acc.pod_errors.push(PodError {
                pod: scrape.pod.clone(),
                reason: reason.clone(),
            }),
        }
    }
    acc.finish()
}

/// Per-partition figures of the mirror source connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Figure {
    ReplicationLatency,
    RecordAge,
    RecordRate,
    ByteRate,
}

/// What a metric name is, as far as lag is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    RecordsLag,
    /// Any MirrorSourceConnector attribute; `None` for the ones we do not display.
    MirrorSource(MetricSource, Option<Figure>),
    /// Any MirrorCheckpointConnector attribute; `true` for `checkpoint_latency_ms` itself.
    Checkpoint(MetricSource, bool),
    PollTotal,
    WriteTotal,
    Other,
}

fn classify(name: &str) -> Kind {
    // Most lines of a Connect pod are JVM/worker/other-client metrics; one prefix test rejects them,
    // and the mirror names share a longer prefix, so each name costs few comparisons.
    let Some(rest) = name.strip_prefix("kafka_con") else {
        return Kind::Other;
    };
    if let Some(mirror) = rest.strip_prefix("nect_mirror_") {
        return classify_mirror(name, mirror);
    }
    match name {
        RECORDS_LAG => Kind::RecordsLag,
        POLL_TOTAL => Kind::PollTotal,
        WRITE_TOTAL => Kind::WriteTotal,
        _ => Kind::Other,
    }
}

/// `mirror` is the part of `name` after `kafka_connect_mirror_`.
fn classify_mirror(name: &str, mirror: &str) -> Kind {
    if let Some(attr) = mirror.strip_prefix("mirrorsourceconnector_") {
        Kind::MirrorSource(MetricSource::MirrorSourceStrimzi, figure(attr))
    } else if let Some(attr) = mirror.strip_prefix("source_connector_") {
        Kind::MirrorSource(MetricSource::MirrorSourceRunbook, figure(attr))
    } else if name == RUNBOOK_LATENCY {
        Kind::MirrorSource(
            MetricSource::MirrorSourceRunbook,
            Some(Figure::ReplicationLatency),
        )
    } else if let Some(attr) = mirror.strip_prefix("mirrorcheckpointconnector_") {
        Kind::Checkpoint(
            MetricSource::MirrorCheckpointStrimzi,
            attr == "checkpoint_latency_ms",
        )
    } else if let Some(attr) = mirror.strip_prefix("checkpoint_connector_") {
        Kind::Checkpoint(
            MetricSource::MirrorCheckpointRunbook,
            attr == "checkpoint_latency_ms",
        )
    } else {
        Kind::Other
    }
}

/// Only the current gauges; `_min`/`_max`/`_avg` and the cumulative counts are not lag figures.
fn figure(attr: &str) -> Option<Figure> {
    match attr {
        "replication_latency_ms" => Some(Figure::ReplicationLatency),
        "record_age_ms" => Some(Figure::RecordAge),
        "record_rate" => Some(Figure::RecordRate),
        "byte_rate" => Some(Figure::ByteRate),
        _ => None,
    }
}

/// Naming scheme a metric name belongs to, whatever its direction.
pub fn naming_scheme(name: &str) -> Option<NamingScheme> {
    let strimzi = [STRIMZI_SOURCE_PREFIX, STRIMZI_CHECKPOINT_PREFIX];
    let runbook = [RUNBOOK_SOURCE_PREFIX, RUNBOOK_CHECKPOINT_PREFIX, RUNBOOK_LATENCY];
    if strimzi.iter().any(|p| name.starts_with(p)) {
        Some(NamingScheme::Strimzi)
    } else if runbook.iter().any(|p| name.starts_with(p)) {
        Some(NamingScheme::Runbook)
    } else {
        None
    }
}

fn scheme_of(source: MetricSource) -> NamingScheme {
    match source {
        MetricSource::MirrorSourceRunbook | MetricSource::MirrorCheckpointRunbook => NamingScheme::Runbook,
        _ => NamingScheme::Strimzi,
    }
}

/// JMX quotes ObjectName values with characters outside `[\w-%. \t]` (client ids and connector names
/// contain `>` and `|`), and the exporter keeps the quotes in the label value.
fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value)
}

fn label<'l>(labels: &'l [Label<'_>], key: &str) -> Option<&'l str> {
    parse::label(labels, key).map(unquote)
}

/// The exporter lower-cases label names (`clientid`), but rules written by hand use `clientId` or
/// `client_id`.
fn client_id<'l>(labels: &'l [Label<'_>]) -> Option<&'l str> {
    labels
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("clientid") || k.eq_ignore_ascii_case("client_id"))
        .map(|(_, v)| unquote(v))
}

/// The runbook's checkpoint pattern ends in `target=(.+)>`, and the greedy group swallows the MBean's
/// remaining keys: `target="aws, group=billing, topic=proxmox.orders, partition=0"`. Split them out.
#[derive(Debug, Default, PartialEq, Eq)]
struct TargetKeys<'v> {
    target: &'v str,
    group: Option<&'v str>,
    topic: Option<&'v str>,
    partition: Option<&'v str>,
}

/// Just the target alias of a `target` label (cheaper than [`target_keys`] on the hot path).
fn target_name(value: &str) -> &str {
    value.split_once(',').map_or(value, |(target, _)| target.trim())
}

fn target_keys(value: &str) -> TargetKeys<'_> {
    let mut parts = value.split(',');
    let mut keys = TargetKeys {
        target: parts.next().unwrap_or("").trim(),
        ..TargetKeys::default()
    };
    for part in parts {
        match part.trim().split_once('=') {
            Some(("group", v)) => keys.group = Some(unquote(v)),
            Some(("topic", v)) => keys.topic = Some(unquote(v)),
            Some(("partition", v)) => keys.partition = Some(unquote(v)),
            _ => {}
        }
    }
    keys
}

/// Label the JMX exporter (1.x) adds when several MBean attributes map to one series: the
/// ObjectName and attribute, `kafka.consumer<type=..., partition=0><>records-lag-max`.
const OBJECTNAME_LABEL: &str = "_objectname";

/// False when the series carries an `_objectname` naming another MBean attribute than `attribute`.
///
/// The exporter wraps every rule pattern in `^.*(?:<pattern>).*$` (jmx_exporter 1.5.0,
/// `JmxCollector`), so Strimzi's consumer rule `...><>(...|.+-lag|.+-lead)` also matches
/// `records-lag-max` and names it `kafka_consumer_fetch_manager_records_lag` too. Seen on a real
/// MirrorMaker 2 (mm2-core/testdata/real): after a catch-up `records-lag` is 0 while the
/// same-named `records-lag-max` series still holds the backlog.
fn is_attribute(labels: &[Label<'_>], attribute: &str) -> bool {
    match parse::label(labels, OBJECTNAME_LABEL) {
        None => true,
        Some(object_name) => object_name
            .rsplit_once("><>")
            .is_some_and(|(_, attr)| attr == attribute),
    }
}

fn parse_partition(value: Option<&str>) -> Option<u32> {
    value?.trim().parse().ok()
}

/// A figure with the metric it came from.
type Fig = Option<(f64, MetricSource)>;

/// Keeps the highest value; NaN (JMX exporter's "no measurement yet") never replaces anything.
fn merge(fig: &mut Fig, value: f64, source: MetricSource) {
    if value.is_nan() {
        return;
    }
    match fig {
        Some((current, _)) if *current >= value => {}
        _ => *fig = Some((value, source)),
    }
}

#[derive(Debug, Default)]
struct PartAcc {
    remote_topic: Option<String>,
    records_lag: Fig,
    replication_latency_ms: Fig,
    record_age_ms: Fig,
    record_rate: Fig,
    byte_rate: Fig,
}

impl PartAcc {
    fn figure_mut(&mut self, figure: Figure) -> &mut Fig {
        match figure {
            Figure::ReplicationLatency => &mut self.replication_latency_ms,
            Figure::RecordAge => &mut self.record_age_ms,
            Figure::RecordRate => &mut self.record_rate,
            Figure::ByteRate => &mut self.byte_rate,
        }
    }
}

#[derive(Debug)]
struct GroupAcc {
    partitions: HashSet<(String, Option<u32>)>,
    max_latency: Fig,
    source: MetricSource,
}

/// Poll and write totals of one task within one pod.
#[derive(Debug, Default, Clone, Copy)]
struct TaskTotals {
    poll: Option<f64>,
    write: Option<f64>,
}

#[derive(Debug, Default)]
struct Seen {
    records_lag: bool,
    mirror_source: bool,
    checkpoint: bool,
    in_flight: bool,
}

struct Accumulator<'d> {
    dir: &'d Direction,
    /// `<src>-><tgt>|`, the client-id prefix of the direction's consumers.
    client_prefix: String,
    /// `<src>-><tgt>.`, the prefix of the direction's connector names.
    connector_prefix: String,
    /// Source topic → index into `topics`; lookups borrow the label `&str`, so only a topic's first
    /// sample allocates.
    topic_index: HashMap<String, usize>,
    /// (source topic, partition → figures).
    topics: Vec<(String, HashMap<u32, PartAcc>)>,
    groups: HashMap<String, GroupAcc>,
    /// (connector, task) → in flight, maximum over pods.
    in_flight: HashMap<(String, String), f64>,
    seen: Seen,
    schemes: BTreeSet<NamingScheme>,
    pod_errors: Vec<PodError>,
    pods_scraped: usize,
    skipped_lines: usize,
}

impl<'d> Accumulator<'d> {
    fn new(dir: &'d Direction) -> Self {
        let flow = dir.connector_prefix();
        Accumulator {
            dir,
            client_prefix: format!("{flow}|"),
            connector_prefix: format!("{flow}."),
            topic_index: HashMap::new(),
            topics: Vec::new(),
            groups: HashMap::new(),
            in_flight: HashMap::new(),
            seen: Seen::default(),
            schemes: BTreeSet::new(),
            pod_errors: Vec::new(),
            pods_scraped: 0,
            skipped_lines: 0,
        }
    }

    fn add_pod(&mut self, text: &str) {
        let mut tasks: HashMap<(String, String), TaskTotals> = HashMap::new();
        let skipped = parse::for_each_sample(text, |name, labels, value| match classify(name) {
            Kind::Other => {}
            Kind::RecordsLag => self.on_records_lag(labels, value),
            Kind::MirrorSource(source, figure) => {
                self.schemes.insert(scheme_of(source));
                self.on_mirror_source(source, figure, labels, value);
            }
            Kind::Checkpoint(source, is_latency) => {
                self.schemes.insert(scheme_of(source));
                self.on_checkpoint(source, is_latency, labels, value);
            }
            Kind::PollTotal => self.on_task_total(&mut tasks, labels, |t| &mut t.poll, value),
            Kind::WriteTotal => self.on_task_total(&mut tasks, labels, |t| &mut t.write, value),
        });
        self.fold_tasks(tasks);
        self.pods_scraped += 1;
        self.skipped_lines += skipped;
    }

    /// The accumulator of one partition, created on first sight without allocating on later ones.
    fn partition(&mut self, source_topic: &str, partition: u32) -> Option<&mut PartAcc> {
        let index = match self.topic_index.get(source_topic) {
            Some(&index) => index,
            None => {
                let index = self.topics.len();
                self.topics.push((source_topic.to_owned(), HashMap::new()));
                self.topic_index.insert(source_topic.to_owned(), index);
                index
            }
        };
        Some(self.topics.get_mut(index)?.1.entry(partition).or_default())
    }

    fn on_records_lag(&mut self, labels: &[Label<'_>], value: f64) {
        if !is_attribute(labels, "records-lag") {
            return;
        }
        let Some(client) = client_id(labels) else { return };
        if !client.starts_with(&self.client_prefix) || !client.ends_with(REPLICATION_CONSUMER_SUFFIX) {
            return;
        }
        let (Some(topic), Some(partition)) = (
            label(labels, "topic"),
            parse_partition(label(labels, "partition")),
        ) else {
            return;
        };
        self.seen.records_lag = true;
        if let Some(part) = self.partition(topic, partition) {
            merge(&mut part.records_lag, value, MetricSource::ConsumerFetchManager);
        }
    }

    /// Mirror metrics carry `target` (and, in Strimzi's scheme, `source`); every label present must
    /// match, and at least one must be present.
    fn mirror_direction_matches(&self, labels: &[Label<'_>]) -> bool {
        let source = label(labels, "source");
        let target = label(labels, "target").map(target_name);
        if source.is_none() && target.is_none() {
            return false;
        }
        source.is_none_or(|s| s == self.dir.source) && target.is_none_or(|t| t == self.dir.target)
    }

    fn on_mirror_source(
        &mut self,
        source: MetricSource,
        figure: Option<Figure>,
        labels: &[Label<'_>],
        value: f64,
    ) {
        // `_max`, `_count` and the like only tell that the family exists; once known, skip them.
        if (figure.is_none() && self.seen.mirror_source) || !self.mirror_direction_matches(labels) {
            return;
        }
        let (Some(remote), Some(partition)) = (
            label(labels, "topic"),
            parse_partition(label(labels, "partition")),
        ) else {
            return;
        };
        self.seen.mirror_source = true;
        let Some(figure) = figure else { return };
        let dir = self.dir;
        if let Some(part) = self.partition(source_topic_of(dir, remote), partition) {
            if part.remote_topic.is_none() {
                part.remote_topic = Some(remote.to_owned());
            }
            merge(part.figure_mut(figure), value, source);
        }
    }

    fn on_checkpoint(&mut self, source: MetricSource, is_latency: bool, labels: &[Label<'_>], value: f64) {
        if (!is_latency && self.seen.checkpoint) || !self.mirror_direction_matches(labels) {
            return;
        }
        self.seen.checkpoint = true;
        if !is_latency {
            return;
        }
        let keys = label(labels, "target").map(target_keys).unwrap_or_default();
        let group = label(labels, "group").or(keys.group).unwrap_or("");
        let topic = label(labels, "topic").or(keys.topic).unwrap_or("");
        let partition = parse_partition(label(labels, "partition").or(keys.partition));
        if !self.groups.contains_key(group) {
            let fresh = GroupAcc {
                partitions: HashSet::new(),
                max_latency: None,
                source,
            };
            self.groups.insert(group.to_owned(), fresh);
        }
        if let Some(acc) = self.groups.get_mut(group) {
            acc.partitions.insert((topic.to_owned(), partition));
            merge(&mut acc.max_latency, value, source);
        }
    }

    fn on_task_total(
        &mut self,
        tasks: &mut HashMap<(String, String), TaskTotals>,
        labels: &[Label<'_>],
        slot: fn(&mut TaskTotals) -> &mut Option<f64>,
        value: f64,
    ) {
        let (Some(connector), Some(task)) = (label(labels, "connector"), label(labels, "task")) else {
            return;
        };
        if !connector.starts_with(&self.connector_prefix) || value.is_nan() {
            return;
        }
        let totals = tasks.entry((connector.to_owned(), task.to_owned())).or_default();
        *slot(totals) = Some(value);
    }

    /// Poll and write totals only make sense as a pair from the same pod (counters restart with the
    /// task), so the difference is taken per pod and then the maximum per task across pods.
    fn fold_tasks(&mut self, tasks: HashMap<(String, String), TaskTotals>) {
        for (key, totals) in tasks {
            let (Some(poll), Some(write)) = (totals.poll, totals.write) else {
                continue;
            };
            self.seen.in_flight = true;
            let in_flight = (poll - write).max(0.0);
            let slot = self.in_flight.entry(key).or_insert(in_flight);
            *slot = slot.max(in_flight);
        }
    }

    fn finish(self) -> DirectionLag {
        let missing = self.missing();
        let dir = self.dir;
        let mut partitions: Vec<PartitionLag> = self
            .topics
            .into_iter()
            .flat_map(|(topic, parts)| {
                parts
                    .into_iter()
                    .map(move |(partition, acc)| partition_lag(dir, &topic, partition, acc))
            })
            .collect();
        partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        let mut groups: Vec<GroupCheckpoint> = self
            .groups
            .into_iter()
            .map(|(group, acc)| GroupCheckpoint {
                group,
                partitions: acc.partitions.len(),
                max_checkpoint_latency_ms: acc.max_latency.map(|(v, _)| v),
                source: acc.max_latency.map_or(acc.source, |(_, s)| s),
            })
            .collect();
        groups.sort_by(|a, b| a.group.cmp(&b.group));
        let in_flight = self.seen.in_flight.then(|| self.in_flight.values().sum());
        DirectionLag {
            source: dir.source.clone(),
            target: dir.target.clone(),
            partitions,
            groups,
            in_flight,
            missing,
            naming_schemes: self.schemes.into_iter().collect(),
            pod_errors: self.pod_errors,
            pods_scraped: self.pods_scraped,
            skipped_lines: self.skipped_lines,
        }
    }

    /// Nothing is "missing" when no pod could be read: the pod errors explain that case.
    fn missing(&self) -> Vec<MissingFamily> {
        if self.pods_scraped == 0 {
            return Vec::new();
        }
        [
            (self.seen.records_lag, MissingFamily::RecordsLag),
            (self.seen.mirror_source, MissingFamily::MirrorSource),
            (self.seen.checkpoint, MissingFamily::Checkpoint),
            (self.seen.in_flight, MissingFamily::InFlight),
        ]
        .into_iter()
        .filter(|(seen, _)| !seen)
        .map(|(_, family)| family)
        .collect()
    }
}

fn partition_lag(dir: &Direction, topic: &str, partition: u32, acc: PartAcc) -> PartitionLag {
    let value = |fig: Fig| fig.map(|(v, _)| v);
    let source = |fig: Fig| fig.map(|(_, s)| s);
    PartitionLag {
        topic: topic.to_owned(),
        remote_topic: acc.remote_topic.unwrap_or_else(|| remote_topic(dir, topic)),
        partition,
        records_lag: value(acc.records_lag),
        replication_latency_ms: value(acc.replication_latency_ms),
        record_age_ms: value(acc.record_age_ms),
        record_rate: value(acc.record_rate),
        byte_rate: value(acc.byte_rate),
        sources: super::model::FigureSources {
            records_lag: source(acc.records_lag),
            replication_latency_ms: source(acc.replication_latency_ms),
            record_age_ms: source(acc.record_age_ms),
            record_rate: source(acc.record_rate),
            byte_rate: source(acc.byte_rate),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_both_naming_schemes() {
        use MetricSource::*;
        assert_eq!(classify(RECORDS_LAG), Kind::RecordsLag);
        assert_eq!(
            classify("kafka_connect_mirror_mirrorsourceconnector_record_age_ms"),
            Kind::MirrorSource(MirrorSourceStrimzi, Some(Figure::RecordAge))
        );
        assert_eq!(
            classify("kafka_connect_mirror_source_connector_record_age_ms"),
            Kind::MirrorSource(MirrorSourceRunbook, Some(Figure::RecordAge))
        );
        assert_eq!(
            classify("kafka_connect_mirror_replication_latency_ms"),
            Kind::MirrorSource(MirrorSourceRunbook, Some(Figure::ReplicationLatency))
        );
        assert_eq!(
            classify("kafka_connect_mirror_mirrorsourceconnector_record_age_ms_max"),
            Kind::MirrorSource(MirrorSourceStrimzi, None)
        );
        assert_eq!(
            classify("kafka_connect_mirror_checkpoint_connector_checkpoint_latency_ms"),
            Kind::Checkpoint(MirrorCheckpointRunbook, true)
        );
        assert_eq!(classify("kafka_consumer_fetch_manager_records_lead"), Kind::Other);
        assert_eq!(classify("jvm_memory_bytes_used"), Kind::Other);
    }

    #[test]
    fn splits_greedy_runbook_target() {
        let keys = target_keys("aws, group=billing, topic=proxmox.orders, partition=3");
        assert_eq!(
            keys,
            TargetKeys {
                target: "aws",
                group: Some("billing"),
                topic: Some("proxmox.orders"),
                partition: Some("3")
            }
        );
        assert_eq!(target_keys("aws").target, "aws");
    }

    #[test]
    fn unquotes_one_pair_only() {
        assert_eq!(unquote("\"a->b\""), "a->b");
        assert_eq!(unquote("plain"), "plain");
        assert_eq!(unquote("\""), "\"");
    }

    #[test]
    fn records_lag_max_under_the_same_name_is_not_lag() {
        let obj = |attr: &str| {
            format!(
                "kafka.consumer<type=consumer-fetch-manager-metrics, client-id=\"x\", topic=orders, partition=0><>{attr}"
            )
        };
        let lag = obj("records-lag");
        let max = obj("records-lag-max");
        let with =
            |o: &str| -> Vec<Label<'static>> { vec![("_objectname", std::borrow::Cow::Owned(o.to_owned()))] };
        assert!(is_attribute(&with(&lag), "records-lag"));
        assert!(!is_attribute(&with(&max), "records-lag"));
        assert!(is_attribute(&[], "records-lag"));
    }

    #[test]
    fn nan_never_wins() {
        let mut fig = None;
        merge(&mut fig, f64::NAN, MetricSource::ConsumerFetchManager);
        assert_eq!(fig, None);
        merge(&mut fig, 3.0, MetricSource::ConsumerFetchManager);
        merge(&mut fig, f64::NAN, MetricSource::ConsumerFetchManager);
        merge(&mut fig, 2.0, MetricSource::ConsumerFetchManager);
        assert_eq!(fig, Some((3.0, MetricSource::ConsumerFetchManager)));
    }
}
