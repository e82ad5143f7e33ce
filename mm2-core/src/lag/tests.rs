//! Scenario tests on realistic JMX exporter output of MirrorMaker 2 pods.

use std::time::Duration;

use regex::Regex;

use super::*;

/// A proxmox→aws pod exporting with Strimzi's example rules. `@LAG@` is the records-lag of
/// `orders-0`; the other partitions lag 12 and 0 records. In flight is 12.
const STRIMZI_POD: &str = r#"# HELP jvm_threads_current Current thread count of a JVM
# TYPE jvm_threads_current gauge
jvm_threads_current 62.0
# HELP jvm_memory_bytes_used Used bytes of a given JVM memory area.
# TYPE jvm_memory_bytes_used gauge
jvm_memory_bytes_used{area="heap",} 2.68435456E8
# HELP kafka_connect_worker_connector_count The number of connectors run in this worker. kafka.connect:name=null,type=connect-worker-metrics,attribute=connector-count
# TYPE kafka_connect_worker_connector_count gauge
kafka_connect_worker_connector_count 3.0
# HELP kafka_connect_connector_status Connector status
# TYPE kafka_connect_connector_status gauge
kafka_connect_connector_status{connector="\"proxmox->aws.MirrorSourceConnector\"",status="running",task="0",} 1.0

# HELP kafka_consumer_fetch_manager_records_lag The latest lag of the partition kafka.consumer:type=consumer-fetch-manager-metrics,client-id=...,topic=...,partition=...
# TYPE kafka_consumer_fetch_manager_records_lag gauge
kafka_consumer_fetch_manager_records_lag{clientid="\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\"",partition="0",topic="orders",} @LAG@
kafka_consumer_fetch_manager_records_lag{clientid="\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\"",partition="1",topic="orders",} 12.0
kafka_consumer_fetch_manager_records_lag{clientid="\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\"",partition="0",topic="payments",} 0.0
kafka_consumer_fetch_manager_records_lag{clientid="consumer-mirrormaker2-cluster-1",partition="0",topic="mirrormaker2-cluster-offsets",} 999999.0
kafka_consumer_fetch_manager_records_lag{clientid="\"aws->proxmox|aws->proxmox.MirrorSourceConnector|replication-consumer\"",partition="0",topic="orders",} 777777.0
# HELP kafka_consumer_fetch_manager_records_lead The latest lead of the partition
# TYPE kafka_consumer_fetch_manager_records_lead gauge
kafka_consumer_fetch_manager_records_lead{clientid="\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\"",partition="0",topic="orders",} 1.2345678E7
kafka_consumer_fetch_manager_records_lag_avg{clientid="\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\"",partition="0",topic="orders",} NaN
# HELP kafka_connect_mirror_mirrorsourceconnector_replication_latency_ms Kafka Mirror Maker 2 Source Connector metrics
# TYPE kafka_connect_mirror_mirrorsourceconnector_replication_latency_ms gauge
kafka_connect_mirror_mirrorsourceconnector_replication_latency_ms{partition="0",source="proxmox",target="aws",topic="proxmox.orders",} 42.0
kafka_connect_mirror_mirrorsourceconnector_replication_latency_ms{partition="1",source="proxmox",target="aws",topic="proxmox.orders",} 55.0
kafka_connect_mirror_mirrorsourceconnector_replication_latency_ms{partition="0",source="proxmox",target="aws",topic="proxmox.payments",} NaN
kafka_connect_mirror_mirrorsourceconnector_replication_latency_ms_max{partition="0",source="proxmox",target="aws",topic="proxmox.orders",} 9000.0
kafka_connect_mirror_mirrorsourceconnector_record_age_ms{partition="0",source="proxmox",target="aws",topic="proxmox.orders",} 37.0
kafka_connect_mirror_mirrorsourceconnector_record_age_ms{partition="1",source="proxmox",target="aws",topic="proxmox.orders",} 40.0
kafka_connect_mirror_mirrorsourceconnector_record_rate{partition="0",source="proxmox",target="aws",topic="proxmox.orders",} 250.5
kafka_connect_mirror_mirrorsourceconnector_byte_rate{partition="0",source="proxmox",target="aws",topic="proxmox.orders",} 10240.5
kafka_connect_mirror_mirrorsourceconnector_record_count{partition="0",source="proxmox",target="aws",topic="proxmox.orders",} 1.23456E5
# HELP kafka_connect_mirror_mirrorcheckpointconnector_checkpoint_latency_ms Kafka Mirror Maker 2 Checkpoint Connector metrics
# TYPE kafka_connect_mirror_mirrorcheckpointconnector_checkpoint_latency_ms gauge
kafka_connect_mirror_mirrorcheckpointconnector_checkpoint_latency_ms{group="billing",partition="0",source="proxmox",target="aws",topic="proxmox.orders",} 5.0
kafka_connect_mirror_mirrorcheckpointconnector_checkpoint_latency_ms{group="billing",partition="1",source="proxmox",target="aws",topic="proxmox.orders",} 7.0
kafka_connect_mirror_mirrorcheckpointconnector_checkpoint_latency_ms{group="audit",partition="0",source="proxmox",target="aws",topic="proxmox.payments",} 3.0
kafka_connect_mirror_mirrorcheckpointconnector_checkpoint_latency_ms_max{group="audit",partition="0",source="proxmox",target="aws",topic="proxmox.payments",} 300.0
# HELP kafka_connect_source_task_source_record_poll_total The total number of records produced/polled
# TYPE kafka_connect_source_task_source_record_poll_total gauge
kafka_connect_source_task_source_record_poll_total{connector="\"proxmox->aws.MirrorSourceConnector\"",task="0",} 1.000012E6
kafka_connect_source_task_source_record_write_total{connector="\"proxmox->aws.MirrorSourceConnector\"",task="0",} 1000000.0
"#;

/// A proxmox→aws pod on the runbook's ConfigMap: its MirrorSourceConnector rule matches nothing, its
/// checkpoint rule swallows group/topic/partition into `target`, and no consumer rule exists.
/// In flight (task 0 + task 1) is @IN_FLIGHT@ via task 0.
const RUNBOOK_POD: &str = r#"# HELP kafka_connect_connector_count The number of connectors run in this worker.
# TYPE kafka_connect_connector_count gauge
kafka_connect_connector_count 3.0
kafka_connect_task_count 6.0
# HELP kafka_connect_mirror_checkpoint_connector_checkpoint_latency_ms Kafka Mirror Maker 2 checkpoint
# TYPE kafka_connect_mirror_checkpoint_connector_checkpoint_latency_ms gauge
kafka_connect_mirror_checkpoint_connector_checkpoint_latency_ms{source="proxmox",target="aws, group=billing, topic=proxmox.orders, partition=0",} 61000.0
kafka_connect_mirror_checkpoint_connector_checkpoint_latency_ms_avg{source="proxmox",target="aws, group=billing, topic=proxmox.orders, partition=0",} 60500.0
# HELP kafka_connect_source_task_source_record_poll_total ...
# TYPE kafka_connect_source_task_source_record_poll_total gauge
kafka_connect_source_task_source_record_poll_total{connector="\"proxmox->aws.MirrorSourceConnector\"",task="0",} @POLL@
kafka_connect_source_task_source_record_write_total{connector="\"proxmox->aws.MirrorSourceConnector\"",task="0",} 1.0E6
kafka_connect_source_task_source_record_poll_total{connector="\"proxmox->aws.MirrorHeartbeatConnector\"",task="0",} 500.0
kafka_connect_source_task_source_record_write_total{connector="\"proxmox->aws.MirrorHeartbeatConnector\"",task="0",} 500.0
kafka_connect_source_task_source_record_poll_total{connector="\"aws->proxmox.MirrorSourceConnector\"",task="0",} 9.0E9
kafka_connect_source_task_source_record_write_total{connector="\"aws->proxmox.MirrorSourceConnector\"",task="0",} 0.0
"#;

fn dir() -> Direction {
    Direction::new("proxmox", "aws")
}

fn pod(name: &str, text: String) -> PodScrape {
    PodScrape {
        pod: name.to_owned(),
        direction: dir(),
        result: Ok(text),
    }
}

fn strimzi(lag: &str) -> String {
    STRIMZI_POD.replace("@LAG@", lag)
}

fn runbook(poll: &str) -> String {
    RUNBOOK_POD.replace("@POLL@", poll)
}

fn one_direction(pods: Vec<PodScrape>) -> DirectionLag {
    let mut all = aggregate(&pods);
    assert_eq!(all.len(), 1);
    all.remove(0)
}

fn find<'l>(lag: &'l DirectionLag, topic: &str, partition: u32) -> &'l PartitionLag {
    lag.partitions
        .iter()
        .find(|p| p.topic == topic && p.partition == partition)
        .unwrap_or_else(|| panic!("no {topic}-{partition} in {:?}", lag.partitions))
}

#[test]
fn healthy_strimzi_pod() {
    let lag = one_direction(vec![pod("mm2-proxmox-to-aws-mirrormaker2-0", strimzi("17.0"))]);
    assert_eq!((lag.source.as_str(), lag.target.as_str()), ("proxmox", "aws"));
    assert_eq!(lag.partitions.len(), 3, "{:?}", lag.partitions);
    let orders0 = find(&lag, "orders", 0);
    assert_eq!(orders0.remote_topic, "proxmox.orders");
    assert_eq!(orders0.records_lag, Some(17.0));
    assert_eq!(orders0.replication_latency_ms, Some(42.0));
    assert_eq!(orders0.record_age_ms, Some(37.0));
    assert_eq!(orders0.record_rate, Some(250.5));
    assert_eq!(orders0.byte_rate, Some(10240.5));
    assert_eq!(
        orders0.sources.records_lag,
        Some(MetricSource::ConsumerFetchManager)
    );
    assert_eq!(
        orders0.sources.replication_latency_ms,
        Some(MetricSource::MirrorSourceStrimzi)
    );
    let payments = find(&lag, "payments", 0);
    assert_eq!(payments.remote_topic, "proxmox.payments");
    assert_eq!(payments.replication_latency_ms, None, "NaN is no measurement");
    assert_eq!(lag.total_records_lag(), Some(29.0));
    assert_eq!(lag.in_flight, Some(12.0));
    assert_eq!(lag.missing, []);
    assert_eq!(lag.naming_schemes, [NamingScheme::Strimzi]);
    assert_eq!(lag.skipped_lines, 0);
    assert_eq!(lag.groups.len(), 2);
    assert_eq!(lag.groups[0].group, "audit");
    assert_eq!(lag.groups[1].group, "billing");
    assert_eq!(lag.groups[1].partitions, 2);
    assert_eq!(lag.groups[1].max_checkpoint_latency_ms, Some(7.0));
    let eval = evaluate(&lag, &Thresholds::default());
    assert_eq!(eval.severity, Severity::Ok);
    assert_eq!(eval.basis, Some(LagBasis::RecordsLag));
    assert_eq!(eval.max_latency_ms, Some(55.0));
    assert!(advise(&lag).is_empty());
}

#[test]
fn lag_of_20k_is_warning() {
    let lag = one_direction(vec![pod("p0", strimzi("20000.0"))]);
    let eval = evaluate(&lag, &Thresholds::default());
    assert_eq!(eval.severity, Severity::Warning);
    assert_eq!(eval.severity.exit_code(), 1);
    assert_eq!(eval.records_behind, Some(20_012.0));
    assert_eq!(eval.max_partition_records_lag, Some(20_000.0));
    assert_eq!(eval.reasons, ["20012 records behind > 10000"]);
}

#[test]
fn lag_of_80k_in_java_notation_is_critical() {
    let lag = one_direction(vec![pod("p0", strimzi("8.0E4"))]);
    assert_eq!(find(&lag, "orders", 0).records_lag, Some(80_000.0));
    let eval = evaluate(&lag, &Thresholds::default());
    assert_eq!(eval.severity, Severity::Critical);
    assert_eq!(eval.severity.exit_code(), 2);
}

#[test]
fn in_flight_decides_when_records_lag_is_absent() {
    let lag = one_direction(vec![pod("p0", runbook("1.06E6"))]);
    assert!(lag.partitions.is_empty());
    assert_eq!(
        lag.in_flight,
        Some(60_000.0),
        "heartbeat adds 0, the other direction is ignored"
    );
    assert_eq!(
        lag.missing,
        [MissingFamily::RecordsLag, MissingFamily::MirrorSource]
    );
    assert_eq!(lag.naming_schemes, [NamingScheme::Runbook]);
    let eval = evaluate(&lag, &Thresholds::default());
    assert_eq!(eval.basis, Some(LagBasis::InFlight));
    assert_eq!(eval.severity, Severity::Critical);
    assert_eq!(eval.reasons, ["60000 records in flight > 50000"]);
}

#[test]
fn in_flight_is_ignored_when_records_lag_exists() {
    // Records-lag says 29 behind; in flight is 12. Both OK here, but the basis must be records-lag.
    let mut text = strimzi("17.0");
    text = text.replace("1.000012E6", "1.09E6");
    let lag = one_direction(vec![pod("p0", text)]);
    assert_eq!(lag.in_flight, Some(90_000.0));
    let eval = evaluate(&lag, &Thresholds::default());
    assert_eq!(eval.basis, Some(LagBasis::RecordsLag));
    assert_eq!(eval.severity, Severity::Ok);
}

#[test]
fn runbook_checkpoint_target_is_split_into_group_topic_partition() {
    let lag = one_direction(vec![pod("p0", runbook("1.0E6"))]);
    assert_eq!(lag.groups.len(), 1);
    let group = &lag.groups[0];
    assert_eq!(group.group, "billing");
    assert_eq!(group.partitions, 1);
    assert_eq!(group.max_checkpoint_latency_ms, Some(61_000.0));
    assert_eq!(group.source, MetricSource::MirrorCheckpointRunbook);
}

#[test]
fn runbook_source_names_without_source_label() {
    let text = r#"# TYPE kafka_connect_mirror_source_connector_replication_latency_ms gauge
kafka_connect_mirror_source_connector_replication_latency_ms{target="aws",topic="proxmox.orders",partition="0",} 120.0
kafka_connect_mirror_source_connector_record_age_ms{target="aws",topic="proxmox.orders",partition="0",} 110.0
kafka_connect_mirror_replication_latency_ms{target="aws",topic="proxmox.orders",partition="1",} 130.0
kafka_connect_mirror_source_connector_record_age_ms{target="elsewhere",topic="proxmox.orders",partition="0",} 99999.0
kafka_consumer_fetch_manager_records_lag{clientId="\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\"",partition="0",topic="orders",} 3.0
"#;
    let lag = one_direction(vec![pod("p0", text.to_owned())]);
    let p0 = find(&lag, "orders", 0);
    assert_eq!(p0.remote_topic, "proxmox.orders");
    assert_eq!(p0.records_lag, Some(3.0));
    assert_eq!(p0.replication_latency_ms, Some(120.0));
    assert_eq!(p0.record_age_ms, Some(110.0));
    assert_eq!(
        p0.sources.replication_latency_ms,
        Some(MetricSource::MirrorSourceRunbook)
    );
    assert_eq!(find(&lag, "orders", 1).replication_latency_ms, Some(130.0));
    assert_eq!(lag.naming_schemes, [NamingScheme::Runbook]);
}

#[test]
fn mirror_metrics_absent() {
    let text = r#"# HELP kafka_consumer_fetch_manager_records_lag The latest lag of the partition
# TYPE kafka_consumer_fetch_manager_records_lag gauge
kafka_consumer_fetch_manager_records_lag{clientid="\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\"",partition="0",topic="orders",} 15000.0
jvm_threads_current 62.0
"#;
    let lag = one_direction(vec![pod("p0", text.to_owned())]);
    assert_eq!(
        lag.missing,
        [
            MissingFamily::MirrorSource,
            MissingFamily::Checkpoint,
            MissingFamily::InFlight
        ]
    );
    assert!(lag.naming_schemes.is_empty());
    let orders0 = find(&lag, "orders", 0);
    assert_eq!(
        (orders0.records_lag, orders0.replication_latency_ms),
        (Some(15_000.0), None)
    );
    let eval = evaluate(&lag, &Thresholds::default());
    assert_eq!(eval.severity, Severity::Warning);
    assert_eq!(eval.max_latency_ms, None);
    let advice = advise(&lag);
    assert_eq!(advice.len(), 3);
    assert!(
        advice[0]
            .rule_yaml
            .contains("kafka_connect_mirror_mirrorsourceconnector_$5")
    );
    assert!(advice[2].rule_yaml.contains("type=source-task-metrics"));
}

#[test]
fn nothing_exported_is_unknown_with_advice_for_every_family() {
    let lag = one_direction(vec![pod("p0", "jvm_threads_current 62.0\n".to_owned())]);
    assert_eq!(lag.missing.len(), 4);
    let eval = evaluate(&lag, &Thresholds::default());
    assert_eq!(eval.severity, Severity::Unknown);
    assert_eq!(eval.severity.exit_code(), 3);
    assert_eq!(eval.basis, None);
    assert_eq!(advise(&lag)[0].family, MissingFamily::RecordsLag);
    assert!(advise(&lag)[0].rule_yaml.contains("name: kafka_$2_$6"));
}

#[test]
fn runbook_scheme_advice_explains_source_key() {
    let lag = one_direction(vec![pod("p0", runbook("1.0E6"))]);
    let advice = advise(&lag);
    let mirror = advice.iter().find(|a| a.family == MissingFamily::MirrorSource);
    assert!(
        mirror.is_some_and(|a| a.statement.contains("no `source=` key")),
        "{advice:?}"
    );
}

#[test]
fn client_id_label_spellings_and_quoting() {
    let cid = "proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer";
    let text = format!(
        "kafka_consumer_fetch_manager_records_lag{{clientid=\"{cid}\",topic=\"a\",partition=\"0\"}} 1\n\
         kafka_consumer_fetch_manager_records_lag{{clientId=\"\\\"{cid}\\\"\",topic=\"b\",partition=\"0\"}} 2\n\
         kafka_consumer_fetch_manager_records_lag{{client_id=\"\\\"{cid}\\\"\", topic=\"c\", partition=\"0\"}} 3\n\
         kafka_consumer_fetch_manager_records_lag{{partition=\"0\",topic=\"d\",clientid=\"\\\"{cid}\\\"\",}} 4\n\
         kafka_consumer_fetch_manager_records_lag{{clientid=\"proxmox->aws|x|offset-syncs-consumer\",topic=\"e\",partition=\"0\"}} 5\n"
    );
    let lag = one_direction(vec![pod("p0", text)]);
    let topics: Vec<_> = lag
        .partitions
        .iter()
        .map(|p| (p.topic.as_str(), p.records_lag))
        .collect();
    assert_eq!(
        topics,
        [
            ("a", Some(1.0)),
            ("b", Some(2.0)),
            ("c", Some(3.0)),
            ("d", Some(4.0))
        ]
    );
}

#[test]
fn two_pods_take_max_and_errors_are_listed() {
    let other = PodScrape {
        pod: "mm2-aws-to-proxmox-0".to_owned(),
        direction: Direction::new("aws", "proxmox"),
        result: Err("connection refused".to_owned()),
    };
    let pods = vec![
        pod("p0", strimzi("100.0")),
        pod("p1", strimzi("300.0")),
        PodScrape {
            pod: "p2".to_owned(),
            direction: dir(),
            result: Err("timed out after 5s".to_owned()),
        },
        other,
    ];
    let all = aggregate(&pods);
    assert_eq!(all.len(), 2);
    let lag = &all[0];
    assert_eq!(find(lag, "orders", 0).records_lag, Some(300.0));
    assert_eq!(lag.in_flight, Some(12.0), "same task on two pods counts once");
    assert_eq!(lag.pods_scraped, 2);
    assert_eq!(
        lag.pod_errors,
        [PodError {
            pod: "p2".to_owned(),
            reason: "timed out after 5s".to_owned()
        }]
    );
    let reverse = &all[1];
    assert_eq!(reverse.source, "aws");
    assert!(reverse.missing.is_empty(), "no pod read, nothing to advise");
    assert_eq!(
        evaluate(reverse, &Thresholds::default()).severity,
        Severity::Unknown
    );
}

#[test]
fn garbage_lines_are_counted_not_fatal() {
    let text = format!("{}this is not a metric\nbroken{{topic=\"x\" 1\n", strimzi("17.0"));
    let lag = one_direction(vec![pod("p0", text)]);
    assert_eq!(lag.skipped_lines, 2);
    assert_eq!(lag.partitions.len(), 3);
}

#[test]
fn latency_thresholds() {
    let lag = one_direction(vec![pod("p0", strimzi("17.0"))]);
    let warn = Thresholds {
        warn_latency_ms: Some(50.0),
        crit_latency_ms: Some(1000.0),
        ..Thresholds::default()
    };
    assert_eq!(evaluate(&lag, &warn).severity, Severity::Warning);
    let crit = Thresholds {
        crit_latency_ms: Some(54.0),
        ..Thresholds::default()
    };
    let eval = evaluate(&lag, &crit);
    assert_eq!(eval.severity, Severity::Critical);
    assert_eq!(eval.reasons, ["replication latency 55 ms > 54 ms"]);
}

#[test]
fn severity_worst_and_overall() {
    assert_eq!(Severity::Ok.worst(Severity::Warning), Severity::Warning);
    assert_eq!(Severity::Warning.worst(Severity::Unknown), Severity::Unknown);
    assert_eq!(Severity::Unknown.worst(Severity::Critical), Severity::Critical);
    assert_eq!(Severity::worst_of([]), Severity::Unknown);
    let ok = evaluate(
        &one_direction(vec![pod("p0", strimzi("1.0"))]),
        &Thresholds::default(),
    );
    let crit = evaluate(
        &one_direction(vec![pod("p0", strimzi("1.0E5"))]),
        &Thresholds::default(),
    );
    assert_eq!(overall(&[ok.clone(), crit]), Severity::Critical);
    assert_eq!(overall(&[ok]), Severity::Ok);
    assert_eq!(overall(&[]), Severity::Unknown);
}

#[test]
fn sort_filter_and_top() {
    let mut lag = one_direction(vec![pod("p0", strimzi("5.0"))]);
    sort_worst_first(&mut lag.partitions);
    let order: Vec<_> = lag
        .partitions
        .iter()
        .map(|p| (p.topic.as_str(), p.partition))
        .collect();
    assert_eq!(order, [("orders", 1), ("orders", 0), ("payments", 0)]);
    let mut only_payments = lag.partitions.clone();
    filter_topics(
        &mut only_payments,
        &Regex::new("^proxmox\\.pay").unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(only_payments.len(), 1);
    top(&mut lag.partitions, 1);
    assert_eq!(lag.partitions.len(), 1);
    assert_eq!(lag.partitions[0].records_lag, Some(12.0));
    let t = Thresholds {
        warn_records: 10,
        ..Thresholds::default()
    };
    assert_eq!(partition_severity(&lag.partitions[0], &t), Severity::Warning);
}

#[test]
fn catch_up_rate_and_eta() {
    let before = one_direction(vec![pod("p0", strimzi("20000.0"))]);
    let after = one_direction(vec![pod("p0", strimzi("10000.0"))]);
    let c = catch_up(&before, &after, Duration::from_secs(10)).unwrap_or_else(|| panic!("no catch-up"));
    assert_eq!(c.basis, LagBasis::RecordsLag);
    assert_eq!(c.rate_per_s, 1000.0);
    assert_eq!(c.eta_s, Some(10_012.0 / 1000.0));
    let growing = catch_up(&after, &before, Duration::from_secs(10)).unwrap_or_else(|| panic!("no catch-up"));
    assert_eq!(growing.rate_per_s, -1000.0);
    assert_eq!(growing.eta_s, None);
    assert_eq!(catch_up(&before, &after, Duration::ZERO), None);
}

#[test]
fn catch_up_falls_back_to_in_flight() {
    let before = one_direction(vec![pod("p0", runbook("1.06E6"))]);
    let after = one_direction(vec![pod("p0", runbook("1.0E6"))]);
    let c = catch_up(&before, &after, Duration::from_secs(60)).unwrap_or_else(|| panic!("no catch-up"));
    assert_eq!(c.basis, LagBasis::InFlight);
    assert_eq!(c.rate_per_s, 1000.0);
    assert_eq!(c.eta_s, Some(0.0));
}

#[test]
fn json_field_names_are_stable() {
    let lag = one_direction(vec![pod("p0", strimzi("17.0"))]);
    let json = serde_json::to_value(&lag).unwrap_or_default();
    let keys: Vec<_> = json
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let mut expected = [
        "source",
        "target",
        "partitions",
        "groups",
        "in_flight",
        "missing",
        "naming_schemes",
        "pod_errors",
        "pods_scraped",
        "skipped_lines",
    ]
    .map(String::from)
    .to_vec();
    let mut keys = keys;
    keys.sort();
    expected.sort();
    assert_eq!(keys, expected);
    let p = &json["partitions"][0];
    for key in [
        "topic",
        "remote_topic",
        "partition",
        "records_lag",
        "replication_latency_ms",
        "record_age_ms",
    ] {
        assert!(p.get(key).is_some(), "{key}");
    }
    assert_eq!(p["sources"]["records_lag"], "consumer_fetch_manager");
    let eval = serde_json::to_value(evaluate(&lag, &Thresholds::default())).unwrap_or_default();
    assert_eq!(eval["severity"], "ok");
    assert_eq!(eval["basis"], "records_lag");
}
