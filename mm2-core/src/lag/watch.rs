//! `--watch` support: how fast a direction is catching up, and when it will be done.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::evaluate::LagBasis;
use super::model::DirectionLag;

/// Change of lag between two snapshots of one direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatchUp {
    pub basis: LagBasis,
    pub previous: f64,
    pub current: f64,
    /// Records per second by which lag shrank; negative when it grew.
    pub rate_per_s: f64,
    /// Seconds until zero lag at this rate; `None` unless lag is shrinking (0 when already caught up).
    pub eta_s: Option<f64>,
}

/// Catch-up between `previous` and `current`, taken `elapsed` apart. Records-lag is compared over the
/// partitions present in both snapshots, so a pod that failed to answer once does not look like a
/// sudden catch-up; without common records-lag partitions the in-flight totals are used.
pub fn catch_up(previous: &DirectionLag, current: &DirectionLag, elapsed: Duration) -> Option<CatchUp> {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        return None;
    }
    let (basis, before, after) = match common_records_lag(previous, current) {
        Some((before, after)) => (LagBasis::RecordsLag, before, after),
        None => (LagBasis::InFlight, previous.in_flight?, current.in_flight?),
    };
    let rate_per_s = (before - after) / secs;
    let eta_s = if after <= 0.0 {
        Some(0.0)
    } else if rate_per_s > 0.0 {
        Some(after / rate_per_s)
    } else {
        None
    };
    Some(CatchUp {
        basis,
        previous: before,
        current: after,
        rate_per_s,
        eta_s,
    })
}

/// Sums of records-lag over the partitions that report it in both snapshots.
fn common_records_lag(previous: &DirectionLag, current: &DirectionLag) -> Option<(f64, f64)> {
    let before: HashMap<(&str, u32), f64> = previous
        .partitions
        .iter()
        .filter_map(|p| Some(((p.topic.as_str(), p.partition), p.records_lag?)))
        .collect();
    let mut sums: Option<(f64, f64)> = None;
    for p in &current.partitions {
        let (Some(after), Some(prev)) = (p.records_lag, before.get(&(p.topic.as_str(), p.partition))) else {
            continue;
        };
        let (b, a) = sums.unwrap_or((0.0, 0.0));
        sums = Some((b + prev, a + after));
    }
    sums
}
