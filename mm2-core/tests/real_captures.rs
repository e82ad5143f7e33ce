//! The product's parsers on captures of a real MirrorMaker 2 (Kafka 4.1.1, JMX exporter 1.5.0).
//! How the files were made: `mm2-core/testdata/real/README.md`.

use mm2_core::lag::{
    Direction, MetricSource, MissingFamily, NamingScheme, PodScrape, aggregate_direction, parse,
};
use mm2_core::mm2::status::{ConnectorReport, TaskReport, compare_live};
use mm2_core::resources::strimzi::{ConnectorKind, ConnectorState};

fn capture(name: &str) -> String {
    let path = format!("{}/testdata/real/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

fn scrape(text: String) -> Vec<PodScrape> {
    vec![PodScrape {
        pod: "mm2-proxmox-to-aws-mirrormaker2-0".into(),
        direction: Direction::new("proxmox", "aws"),
        result: Ok(text),
    }]
}

#[test]
fn every_line_of_both_real_scrapes_parses() {
    for name in ["metrics-strimzi-0.51-rules.txt", "metrics-runbook-rules.txt"] {
        let text = capture(name);
        let parsed = parse(&text);
        assert_eq!(parsed.skipped, 0, "{name}: unreadable lines");
        assert!(
            parsed.samples.len() > 50,
            "{name}: {} samples",
            parsed.samples.len()
        );
    }
}

#[test]
fn strimzi_rules_real_scrape_reads_lag_not_lag_max() {
    let dir = Direction::new("proxmox", "aws");
    let lag = aggregate_direction(&dir, &scrape(capture("metrics-strimzi-0.51-rules.txt")));
    assert_eq!(lag.skipped_lines, 0);
    assert_eq!(lag.naming_schemes, vec![NamingScheme::Strimzi]);
    assert_eq!(lag.partitions.len(), 1, "{:?}", lag.partitions);
    let p = &lag.partitions[0];
    assert_eq!(
        (p.topic.as_str(), p.remote_topic.as_str(), p.partition),
        ("orders", "proxmox.orders", 0)
    );
    // Copied: `records-lag` is 0; the same-named `records-lag-max` series (19500) is not lag.
    assert_eq!(p.records_lag, Some(0.0));
    assert_eq!(p.sources.records_lag, Some(MetricSource::ConsumerFetchManager));
    assert_eq!(p.replication_latency_ms, Some(9979.0));
    assert_eq!(p.record_age_ms, Some(9699.0));
    assert_eq!(lag.in_flight, Some(0.0));
    // No consumer group on the source, so the checkpoint connector has no task and no series.
    assert_eq!(lag.missing, vec![MissingFamily::Checkpoint]);
}

#[test]
fn runbook_rules_real_scrape_exports_no_lag_figure() {
    let dir = Direction::new("proxmox", "aws");
    let lag = aggregate_direction(&dir, &scrape(capture("metrics-runbook-rules.txt")));
    assert_eq!(lag.skipped_lines, 0);
    assert!(lag.partitions.is_empty(), "{:?}", lag.partitions);
    assert!(lag.naming_schemes.is_empty());
    assert_eq!(
        lag.missing,
        vec![
            MissingFamily::RecordsLag,
            MissingFamily::MirrorSource,
            MissingFamily::Checkpoint,
            MissingFamily::InFlight
        ]
    );
}

fn report(
    name: &str,
    kind: ConnectorKind,
    state: ConnectorState,
    tasks: &[ConnectorState],
) -> ConnectorReport {
    ConnectorReport {
        kind,
        name: name.into(),
        desired_state: state,
        deprecated_pause: None,
        tasks_max: Some(1),
        state: Some(state),
        worker: None,
        trace: None,
        tasks: tasks
            .iter()
            .enumerate()
            .map(|(i, s)| TaskReport {
                id: i as i64,
                state: *s,
                worker: None,
                trace: None,
            })
            .collect(),
        auto_restarts: None,
        healthy: true,
    }
}

#[test]
fn real_connect_status_body_agrees_or_disagrees_with_the_cr() {
    use ConnectorState::{Paused, Running};
    let running: serde_json::Value =
        serde_json::from_str(&capture("connectors-expand-status.json")).expect("json");
    let paused: serde_json::Value =
        serde_json::from_str(&capture("connectors-expand-status-paused.json")).expect("json");
    let source = "proxmox->aws.MirrorSourceConnector";
    let checkpoint = "proxmox->aws.MirrorCheckpointConnector";
    let cr_running = [
        report(source, ConnectorKind::Source, Running, &[Running]),
        report(checkpoint, ConnectorKind::Checkpoint, Running, &[]),
    ];
    assert_eq!(compare_live(&running, &cr_running), Vec::<String>::new());
    assert_eq!(
        compare_live(&paused, &cr_running),
        vec![
            format!("{source}: Connect says PAUSED, CR status says RUNNING"),
            format!("{source} task 0: Connect says PAUSED, CR status says RUNNING"),
        ]
    );
    let cr_paused = [
        report(source, ConnectorKind::Source, Paused, &[Paused]),
        report(checkpoint, ConnectorKind::Checkpoint, Running, &[]),
    ];
    assert_eq!(compare_live(&paused, &cr_paused), Vec::<String>::new());
}
