//! What to add to the JMX exporter configuration when a metric family is missing.
//!
//! The rules are Strimzi's (`examples/metrics/kafka-mirror-maker-2-metrics.yaml`) because they match
//! the MBeans of current Kafka; they assume `lowercaseOutputName: true` and
//! `lowercaseOutputLabelNames: true`, and must come before any catch-all rule (the exporter uses the
//! first rule that matches).

use serde::{Deserialize, Serialize};

use super::model::{DirectionLag, MissingFamily, NamingScheme};

/// One piece of advice for a missing family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advice {
    pub family: MissingFamily,
    /// Plain statement of what is missing and why.
    pub statement: String,
    /// JMX exporter rule (YAML list item) that exports the family.
    pub rule_yaml: String,
}

/// Strimzi's consumer-fetch-manager rule: gives `kafka_consumer_fetch_manager_records_lag`.
pub const RECORDS_LAG_RULE: &str = r#"- pattern: kafka.(.+)<type=(.+)-metrics, client-id=(.+), topic=(.+), partition=(.+)><>(compression-rate|.+-avg|.+-replica|.+-lag|.+-lead)
  name: kafka_$2_$6
  labels:
    clientId: "$3"
    topic: "$4"
    partition: "$5"
  type: GAUGE
"#;

/// Strimzi's MirrorSourceConnector rule: gives `kafka_connect_mirror_mirrorsourceconnector_*`.
pub const MIRROR_SOURCE_RULE: &str = r#"- pattern: kafka.connect.mirror<type=MirrorSourceConnector, source=(.+), target=(.+), topic=(.+), partition=(.+)><>([a-z-_]+)
  name: kafka_connect_mirror_mirrorsourceconnector_$5
  labels:
    source: "$1"
    target: "$2"
    topic: "$3"
    partition: "$4"
  help: "Kafka Mirror Maker 2 Source Connector metrics"
  type: GAUGE
"#;

/// Strimzi's MirrorCheckpointConnector rule: gives `kafka_connect_mirror_mirrorcheckpointconnector_*`.
pub const CHECKPOINT_RULE: &str = r#"- pattern: kafka.connect.mirror<type=MirrorCheckpointConnector, source=(.+), target=(.+), group=(.+), topic=(.+), partition=(.+)><>([a-z-_]+)
  name: kafka_connect_mirror_mirrorcheckpointconnector_$6
  labels:
    source: "$1"
    target: "$2"
    group: "$3"
    topic: "$4"
    partition: "$5"
  help: "Kafka Mirror Maker 2 Checkpoint Connector metrics"
  type: GAUGE
"#;

/// Connect source-task rule: gives `kafka_connect_source_task_source_record_{poll,write}_total`.
pub const SOURCE_TASK_RULE: &str = r#"- pattern: kafka.connect<type=source-task-metrics, connector=(.+), task=(.+)><>(.+-total|.+-count|.+-ms|.+-ratio|.+-rate|.+-avg|.+-max|.+-min)
  name: kafka_connect_source_task_$3
  labels:
    connector: "$1"
    task: "$2"
  type: GAUGE
"#;

/// Advice for every family `lag` is missing, in the order of [`DirectionLag::missing`].
pub fn advise(lag: &DirectionLag) -> Vec<Advice> {
    lag.missing
        .iter()
        .map(|family| advice_for(*family, &lag.naming_schemes))
        .collect()
}

/// Advice for one missing family, given the naming schemes seen in the pods' output.
pub fn advice_for(family: MissingFamily, schemes: &[NamingScheme]) -> Advice {
    let runbook = schemes.contains(&NamingScheme::Runbook);
    let (statement, rule) = match family {
        MissingFamily::RecordsLag => (records_lag_statement(), RECORDS_LAG_RULE),
        MissingFamily::MirrorSource => (mirror_source_statement(runbook), MIRROR_SOURCE_RULE),
        MissingFamily::Checkpoint => (checkpoint_statement(runbook), CHECKPOINT_RULE),
        MissingFamily::InFlight => (in_flight_statement(), SOURCE_TASK_RULE),
    };
    Advice {
        family,
        statement,
        rule_yaml: rule.to_owned(),
    }
}

fn records_lag_statement() -> String {
    "records-lag of the replication consumer (kafka_consumer_fetch_manager_records_lag, client id \
     <src>-><tgt>|<connector>|replication-consumer) is not exported, so records behind per partition \
     are unknown; MM2's consumer uses assign() without a consumer group, so no group-lag tool can \
     replace it. Add a consumer-fetch-manager rule to the metrics ConfigMap:"
        .to_owned()
}

fn mirror_source_statement(runbook: bool) -> String {
    let mut s = String::from(
        "MirrorSourceConnector metrics (replication-latency-ms, record-age-ms, record-rate, byte-rate) \
         are not exported, so time behind and throughput are unknown.",
    );
    if runbook {
        s.push_str(
            " The runbook's rule `kafka.connect.mirror<type=MirrorSourceConnector, target=(.+), \
             topic=(.+), partition=([0-9]+)>` has no `source=` key, but the MBean of current Kafka is \
             `type=MirrorSourceConnector,source=<src>,target=<tgt>,topic=<topic>,partition=<n>`, so it \
             matches nothing.",
        );
    }
    s.push_str(" Use Strimzi's rule:");
    s
}

fn checkpoint_statement(runbook: bool) -> String {
    let mut s = String::from(
        "MirrorCheckpointConnector checkpoint-latency-ms is not exported (or no consumer group has been \
         checkpointed yet), so consumer-group offset translation cannot be judged.",
    );
    if runbook {
        s.push_str(
            " The runbook's checkpoint rule captures group, topic and partition inside its `target` \
             label; Strimzi's rule keeps them as separate labels.",
        );
    }
    s.push_str(" Add Strimzi's rule:");
    s
}

fn in_flight_statement() -> String {
    "Connect source-task totals (kafka_connect_source_task_source_record_poll_total and \
     _write_total, used by the runbook's MM2ReplicationLag alerts as \"in flight\") are not exported. \
     Add a source-task-metrics rule:"
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_gets_a_rule() {
        for family in [
            MissingFamily::RecordsLag,
            MissingFamily::MirrorSource,
            MissingFamily::Checkpoint,
            MissingFamily::InFlight,
        ] {
            let advice = advice_for(family, &[]);
            assert!(advice.rule_yaml.starts_with("- pattern: "), "{family:?}");
            assert!(advice.statement.ends_with(':'), "{family:?}");
        }
    }

    #[test]
    fn runbook_scheme_explains_the_missing_source_key() {
        let advice = advice_for(MissingFamily::MirrorSource, &[NamingScheme::Runbook]);
        assert!(advice.statement.contains("no `source=` key"));
        assert!(
            advice
                .rule_yaml
                .contains("source=(.+), target=(.+), topic=(.+), partition=(.+)")
        );
        let plain = advice_for(MissingFamily::MirrorSource, &[NamingScheme::Strimzi]);
        assert!(!plain.statement.contains("source=` key"));
    }

    #[test]
    fn records_lag_rule_is_strimzis() {
        let advice = advice_for(MissingFamily::RecordsLag, &[]);
        assert!(
            advice
                .rule_yaml
                .contains("(compression-rate|.+-avg|.+-replica|.+-lag|.+-lead)")
        );
        assert!(advice.rule_yaml.contains("name: kafka_$2_$6"));
    }
}
