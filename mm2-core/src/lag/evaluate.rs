//! Thresholds, severities (Nagios exit codes) and the list helpers behind `--topic` and `--top`.

use std::cmp::Ordering;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::model::{DirectionLag, PartitionLag};

/// Lag thresholds. Records are compared with `>`, like the runbook's PrometheusRule expressions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub warn_records: u64,
    pub crit_records: u64,
    pub warn_latency_ms: Option<f64>,
    pub crit_latency_ms: Option<f64>,
}

impl Default for Thresholds {
    /// The runbook's `MM2ReplicationLagHigh` (> 10,000) and `MM2ReplicationLagCritical` (> 50,000).
    fn default() -> Self {
        Thresholds {
            warn_records: 10_000,
            crit_records: 50_000,
            warn_latency_ms: None,
            crit_latency_ms: None,
        }
    }
}

/// Nagios plugin states; the discriminant is the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum Severity {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl Severity {
    pub fn exit_code(self) -> i32 {
        self as i32
    }

    /// Nagios status word.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "OK",
            Severity::Warning => "WARNING",
            Severity::Critical => "CRITICAL",
            Severity::Unknown => "UNKNOWN",
        }
    }

    /// Badness order: Ok < Warning < Unknown < Critical. A measured critical lag must not be hidden by
    /// another direction whose metrics are unavailable, so Critical ranks above Unknown even though
    /// its exit code is lower.
    fn rank(self) -> u8 {
        match self {
            Severity::Ok => 0,
            Severity::Warning => 1,
            Severity::Unknown => 2,
            Severity::Critical => 3,
        }
    }

    pub fn worst(self, other: Severity) -> Severity {
        if other.rank() > self.rank() { other } else { self }
    }

    /// Worst of `severities`; Unknown when there is none (nothing was checked).
    pub fn worst_of(severities: impl IntoIterator<Item = Severity>) -> Severity {
        severities
            .into_iter()
            .reduce(Severity::worst)
            .unwrap_or(Severity::Unknown)
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which figure the records thresholds were applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LagBasis {
    /// Sum of the replication consumer's records-lag over the direction's partitions.
    RecordsLag,
    /// The runbook's poll − write totals, used only when records-lag is not exported.
    InFlight,
}

/// Verdict for one direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub source: String,
    pub target: String,
    pub severity: Severity,
    pub basis: Option<LagBasis>,
    /// The figure the records thresholds were applied to.
    pub records_behind: Option<f64>,
    pub max_partition_records_lag: Option<f64>,
    /// Highest replication latency, or record age where latency is not exported.
    pub max_latency_ms: Option<f64>,
    /// Human-readable reasons for a non-OK severity.
    pub reasons: Vec<String>,
}

/// Applies `thresholds` to one direction. The records thresholds apply to the direction's total
/// (records-lag summed over partitions, else in flight), matching the runbook's alerts; Unknown when
/// neither figure exists.
pub fn evaluate(lag: &DirectionLag, thresholds: &Thresholds) -> Evaluation {
    let (basis, records_behind) = match (lag.total_records_lag(), lag.in_flight) {
        (Some(total), _) => (Some(LagBasis::RecordsLag), Some(total)),
        (None, Some(in_flight)) => (Some(LagBasis::InFlight), Some(in_flight)),
        (None, None) => (None, None),
    };
    let max_latency_ms = lag
        .max_replication_latency_ms()
        .or_else(|| lag.max_record_age_ms());
    let mut reasons = Vec::new();
    let records = match records_behind {
        Some(records) => records_severity(records, basis, thresholds, &mut reasons),
        None => {
            reasons.push(unknown_reason(lag));
            Severity::Unknown
        }
    };
    let latency = latency_severity(max_latency_ms, thresholds, &mut reasons);
    Evaluation {
        source: lag.source.clone(),
        target: lag.target.clone(),
        severity: records.worst(latency),
        basis,
        records_behind,
        max_partition_records_lag: lag.max_records_lag(),
        max_latency_ms,
        reasons,
    }
}

/// Worst severity over all directions (Unknown for none).
pub fn overall(evaluations: &[Evaluation]) -> Severity {
    Severity::worst_of(evaluations.iter().map(|e| e.severity))
}

fn records_severity(
    records: f64,
    basis: Option<LagBasis>,
    t: &Thresholds,
    reasons: &mut Vec<String>,
) -> Severity {
    let what = match basis {
        Some(LagBasis::InFlight) => "records in flight",
        _ => "records behind",
    };
    let severity = level(records, t.warn_records as f64, t.crit_records as f64);
    if severity != Severity::Ok {
        let limit = if severity == Severity::Critical {
            t.crit_records
        } else {
            t.warn_records
        };
        reasons.push(format!("{records:.0} {what} > {limit}"));
    }
    severity
}

fn latency_severity(latency: Option<f64>, t: &Thresholds, reasons: &mut Vec<String>) -> Severity {
    let Some(latency) = latency else {
        return Severity::Ok;
    };
    let warn = t.warn_latency_ms.unwrap_or(f64::INFINITY);
    let crit = t.crit_latency_ms.unwrap_or(f64::INFINITY);
    let severity = level(latency, warn, crit);
    if severity != Severity::Ok {
        let limit = if severity == Severity::Critical {
            crit
        } else {
            warn
        };
        reasons.push(format!("replication latency {latency:.0} ms > {limit} ms"));
    }
    severity
}

fn level(value: f64, warn: f64, crit: f64) -> Severity {
    if value > crit {
        Severity::Critical
    } else if value > warn {
        Severity::Warning
    } else {
        Severity::Ok
    }
}

fn unknown_reason(lag: &DirectionLag) -> String {
    if lag.pods_scraped == 0 && !lag.pod_errors.is_empty() {
        format!(
            "no pod metrics could be read ({} pod errors)",
            lag.pod_errors.len()
        )
    } else if lag.pods_scraped == 0 {
        "no pods to scrape".to_owned()
    } else {
        "neither records-lag nor in-flight metrics are exported".to_owned()
    }
}

/// Severity of one partition by its records-lag and latency (for colouring rows).
pub fn partition_severity(partition: &PartitionLag, thresholds: &Thresholds) -> Severity {
    let mut ignored = Vec::new();
    let records = partition.records_lag.map_or(Severity::Ok, |r| {
        level(r, thresholds.warn_records as f64, thresholds.crit_records as f64)
    });
    let latency = partition.replication_latency_ms.or(partition.record_age_ms);
    records.worst(latency_severity(latency, thresholds, &mut ignored))
}

/// Orders partitions worst first: records-lag, then replication latency, then record age (each
/// descending, absent last), then topic and partition for a stable display.
pub fn sort_worst_first(partitions: &mut [PartitionLag]) {
    partitions.sort_by(|a, b| {
        desc(a.records_lag, b.records_lag)
            .then_with(|| desc(a.replication_latency_ms, b.replication_latency_ms))
            .then_with(|| desc(a.record_age_ms, b.record_age_ms))
            .then_with(|| a.topic.cmp(&b.topic))
            .then_with(|| a.partition.cmp(&b.partition))
    });
}

/// Descending order with `None` last; `total_cmp` keeps NaN from breaking the sort.
fn desc(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.total_cmp(&a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// `--topic REGEX`: keeps partitions whose source or remote topic matches.
pub fn filter_topics(partitions: &mut Vec<PartitionLag>, topic: &Regex) {
    partitions.retain(|p| topic.is_match(&p.topic) || topic.is_match(&p.remote_topic));
}

/// `--top N`: the N worst partitions, worst first.
pub fn top(partitions: &mut Vec<PartitionLag>, n: usize) {
    sort_worst_first(partitions);
    partitions.truncate(n);
}
