//! The JMX exporter's naming, simulated: which metric names a rule set exports from the MBeans
//! Kafka 4.1's MirrorMaker 2 registers. Rules are tried in order and the first whose pattern
//! matches the whole `domain<key=value, ...><>attribute` string wins (string attributes carry
//! `: value`); `$n` in `name` takes the pattern's groups; the result is made a legal Prometheus
//! name (illegal characters → `_`, runs of `_` collapsed) and lower-cased with
//! `lowercaseOutputName`. The MBean names are those documented in research/kafka-bed.md §7
//! (JmxReporter, MirrorSourceMetrics, MirrorCheckpointMetrics, FetchMetricsRegistry,
//! ConnectMetricsRegistry); re-check them against real scrapes when they are captured.

use crate::direction::Direction;
use regex::Regex;
use serde_json::Value;
use std::collections::BTreeSet;

/// One rule of the exporter's configuration.
#[derive(Debug, Clone)]
pub struct Rule {
    /// 1-based position in `rules`.
    pub index: usize,
    pub pattern: Option<String>,
    pub name: Option<String>,
    compiled: Option<Regex>,
    /// Why the pattern cannot be judged (Java-only regex syntax).
    pub error: Option<String>,
}

/// A parsed exporter configuration.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub lowercase_output_name: bool,
    pub rules: Vec<Rule>,
}

/// Parse the exporter's YAML.
pub fn parse(yaml: &str) -> Result<RuleSet, String> {
    let v: Value = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
    let rules = v
        .get("rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let pattern = r.get("pattern").and_then(Value::as_str).map(str::to_string);
            let (compiled, error) = match &pattern {
                Some(p) => match Regex::new(&format!("^(?:{p})$")) {
                    Ok(re) => (Some(re), None),
                    Err(e) => (None, Some(e.to_string())),
                },
                None => (None, None),
            };
            Rule {
                index: i + 1,
                pattern,
                name: r.get("name").and_then(Value::as_str).map(str::to_string),
                compiled,
                error,
            }
        })
        .collect();
    Ok(RuleSet {
        lowercase_output_name: v
            .get("lowercaseOutputName")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        rules,
    })
}

/// The exporter's `safeName`: illegal characters become `_`, and `_` never repeats.
pub fn safe_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut prev_underscore = false;
    for c in name.chars() {
        let legal = c.is_ascii_alphanumeric() || c == ':';
        if !legal || c == '_' {
            if !prev_underscore {
                out.push('_');
            }
            prev_underscore = true;
        } else {
            out.push(c);
            prev_underscore = false;
        }
    }
    out
}

/// What one rule set exports from `mbeans`.
#[derive(Debug, Clone, Default)]
pub struct Exported {
    pub names: BTreeSet<String>,
    /// Indexes (1-based) of rules that matched at least one MBean attribute.
    pub matched_rules: BTreeSet<usize>,
}

fn default_name(sample: &str) -> String {
    // `domain<type=x, ...><>attr` → `domain_x_attr`, the exporter's default for a nameless match.
    let (domain, rest) = sample.split_once('<').unwrap_or((sample, ""));
    let first_value = rest.split(['=', ',', '>']).nth(1).unwrap_or("");
    let attr = sample
        .rsplit("><>")
        .next()
        .unwrap_or("")
        .split(':')
        .next()
        .unwrap_or("");
    format!("{domain}_{first_value}_{attr}")
}

/// Run `set` over `mbeans` the way the exporter does.
pub fn export(set: &RuleSet, mbeans: &[String]) -> Exported {
    let dollar = Regex::new(r"\$(\d+)").expect("static regex");
    let mut out = Exported::default();
    for sample in mbeans {
        for rule in &set.rules {
            let hit = match (&rule.pattern, &rule.compiled) {
                (None, _) => true,
                (Some(_), Some(re)) => re.is_match(sample),
                (Some(_), None) => false,
            };
            if !hit {
                continue;
            }
            out.matched_rules.insert(rule.index);
            let raw = match (&rule.name, &rule.compiled) {
                (Some(n), Some(re)) => re
                    .replace(sample, dollar.replace_all(n, "$${$1}").as_ref())
                    .into_owned(),
                (Some(n), None) => n.clone(),
                (None, _) => default_name(sample),
            };
            let mut name = safe_name(&raw);
            if set.lowercase_output_name {
                name = name.to_lowercase();
            }
            out.names.insert(name);
            break;
        }
    }
    out
}

/// The MBean attributes a Kafka 4.1 MirrorMaker 2 worker registers for direction `d`, as the
/// exporter sees them (one partition, one group, one task are enough to judge naming).
pub fn kafka_4_1_mm2_mbeans(d: &Direction) -> Vec<String> {
    let (s, t) = (d.source.as_str(), d.target.as_str());
    let src = format!("\"{s}->{t}.MirrorSourceConnector\"");
    let cp = format!("\"{s}->{t}.MirrorCheckpointConnector\"");
    let client = format!("\"{s}->{t}|{s}->{t}.MirrorSourceConnector-0|replication-consumer\"");
    let remote = format!("{s}.orders");
    let mut out = Vec::new();
    for a in [
        "record-count",
        "record-rate",
        "record-age-ms",
        "record-age-ms-max",
        "record-age-ms-min",
        "record-age-ms-avg",
        "byte-count",
        "byte-rate",
        "replication-latency-ms",
        "replication-latency-ms-max",
        "replication-latency-ms-min",
        "replication-latency-ms-avg",
    ] {
        out.push(format!(
            "kafka.connect.mirror<type=MirrorSourceConnector, source={s}, target={t}, topic={remote}, partition=0><>{a}"
        ));
    }
    for a in [
        "checkpoint-latency-ms",
        "checkpoint-latency-ms-max",
        "checkpoint-latency-ms-min",
        "checkpoint-latency-ms-avg",
    ] {
        out.push(format!(
            "kafka.connect.mirror<type=MirrorCheckpointConnector, source={s}, target={t}, group=billing, topic={remote}, partition=0><>{a}"
        ));
    }
    for a in [
        "records-lag",
        "records-lag-max",
        "records-lag-avg",
        "records-lead",
        "records-lead-min",
        "records-lead-avg",
    ] {
        out.push(format!(
            "kafka.consumer<type=consumer-fetch-manager-metrics, client-id={client}, topic=orders, partition=0><>{a}"
        ));
    }
    for a in [
        "records-lag-max",
        "bytes-consumed-total",
        "records-consumed-total",
    ] {
        out.push(format!(
            "kafka.consumer<type=consumer-fetch-manager-metrics, client-id={client}><>{a}"
        ));
    }
    for a in [
        "connector-count",
        "task-count",
        "connector-startup-attempts-total",
        "task-startup-attempts-total",
    ] {
        out.push(format!("kafka.connect<type=connect-worker-metrics><>{a}"));
    }
    for c in [&src, &cp] {
        for a in [
            "connector-total-task-count",
            "connector-running-task-count",
            "connector-failed-task-count",
        ] {
            out.push(format!(
                "kafka.connect<type=connect-worker-metrics, connector={c}><>{a}"
            ));
        }
        out.push(format!(
            "kafka.connect<type=connector-metrics, connector={c}><>status: running"
        ));
        out.push(format!(
            "kafka.connect<type=connector-task-metrics, connector={c}, task=0><>status: running"
        ));
        out.push(format!(
            "kafka.connect<type=connector-task-metrics, connector={c}, task=0><>running-ratio"
        ));
    }
    for a in [
        "source-record-poll-total",
        "source-record-write-total",
        "source-record-poll-rate",
        "source-record-write-rate",
        "source-record-active-count",
        "poll-batch-avg-time-ms",
    ] {
        out.push(format!(
            "kafka.connect<type=source-task-metrics, connector={src}, task=0><>{a}"
        ));
    }
    for a in ["completed-rebalances-total", "rebalancing", "epoch"] {
        out.push(format!(
            "kafka.connect<type=connect-worker-rebalance-metrics><>{a}"
        ));
    }
    out.push("kafka.connect<type=app-info, client-id=connect-1><>start-time-ms".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strimzi() -> RuleSet {
        parse(include_str!("strimzi-1.2.0-mm2-metrics.yml")).unwrap()
    }

    #[test]
    fn strimzis_rules_export_the_documented_names() {
        let e = export(&strimzi(), &kafka_4_1_mm2_mbeans(&Direction::new("a", "b")));
        for n in [
            "kafka_connect_mirror_mirrorsourceconnector_replication_latency_ms",
            "kafka_connect_mirror_mirrorcheckpointconnector_checkpoint_latency_ms",
            "kafka_consumer_fetch_manager_records_lag",
            "kafka_connect_source_task_source_record_poll_total",
            "kafka_connect_source_task_source_record_write_total",
            "kafka_connect_worker_connector_count",
            "kafka_connect_connector_status",
        ] {
            assert!(e.names.contains(n), "{n} missing from {:#?}", e.names);
        }
        // kafka-bed.md §7: records-lag-max is not exported by these rules, nor *-rate of source tasks.
        assert!(!e.names.contains("kafka_consumer_fetch_manager_records_lag_max"));
        assert!(
            !e.names
                .contains("kafka_connect_source_task_source_record_poll_rate")
        );
    }

    #[test]
    fn names_are_made_legal_and_collapsed() {
        assert_eq!(
            safe_name("kafka_consumer-fetch-manager_records-lag"),
            "kafka_consumer_fetch_manager_records_lag"
        );
        assert_eq!(safe_name("a__b--c"), "a_b_c");
    }

    #[test]
    fn first_matching_rule_wins() {
        let set = parse("rules:\n- pattern: 'kafka.connect<type=connect-worker-metrics><>(.+)'\n  name: first_$1\n- pattern: '.*'\n  name: second\n").unwrap();
        let e = export(
            &set,
            &["kafka.connect<type=connect-worker-metrics><>task-count".to_string()],
        );
        assert_eq!(e.names.iter().collect::<Vec<_>>(), ["first_task_count"]);
        assert_eq!(e.matched_rules.iter().collect::<Vec<_>>(), [&1]);
    }
}
