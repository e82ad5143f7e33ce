//! `kubectl mm2 status`: one dense report per direction (in the spirit of `kubectl cnpg status`).
//!
//! Health comes from connectors and tasks, not from the Ready condition alone: Strimzi has
//! reported Ready while connectors were FAILED (strimzi-kafka-operator#5715), and a FAILED task
//! never makes the CR NotReady (research/strimzi.md §1).
//!
//! Facts → rules → report: [`gather`](mod@gather) reads (concurrently), [`rules`] judges (pure, unit-tested),
//! [`report`] is the typed `status/v1` document ([`StatusReport`], a documented, stable schema);
//! this module runs them for every direction at once.

pub mod gather;
pub mod report;
pub mod rules;

pub use gather::{Mm2Facts, flux_report, gather, read_flux_report};
pub use report::*;
pub use rules::{
    compare_live, connector_reports, direction_verdict, duplicate_findings, judge, judge_mm2,
    judged_direction, unread_direction,
};

use crate::clients::Kubeconfigs;
use crate::direction::Direction;
use crate::error::{Problem, Result};
use crate::topology::{self, Topology, TopologyRequest, serving};
use std::time::Duration;

/// `kubectl mm2 status [DIRECTION|MM2]`: discover the clusterset, pick what was named, report.
/// Nothing found and nothing failed is an error (a namespace or context question); nothing found
/// because contexts failed is the report itself (unreachable, forbidden, unauthorized).
pub async fn run(
    kc: &Kubeconfigs,
    req: &TopologyRequest,
    direction: Option<&str>,
    live: bool,
    timeout: Duration,
) -> Result<StatusReport> {
    let topo = topology::discover(kc, req, timeout).await?;
    let only = serving::directions_named(&topo, direction)?;
    if topo.directions().is_empty() && only.is_empty() && topo.problems.is_empty() {
        return Err(topo.nothing_found(kc));
    }
    Ok(build(&topo, &only, live).await)
}

/// Build the report for the requested directions (all when empty).
pub async fn build(topo: &Topology, only: &[Direction], live: bool) -> StatusReport {
    let mut dirs = topo.directions();
    if !only.is_empty() {
        dirs.retain(|d| only.contains(d));
        for d in only {
            if !dirs.contains(d) {
                dirs.push(d.clone());
            }
        }
    }
    let futures = dirs.iter().map(|d| direction_status(topo, d, live));
    let directions = futures::future::join_all(futures).await;
    let verdict = directions
        .iter()
        .map(|d| d.verdict)
        .chain(
            // With no direction at all, the contexts that failed are the verdict.
            directions
                .is_empty()
                .then(|| topo.problems.iter().map(|p| Verdict::of_error(&p.error)))
                .into_iter()
                .flatten(),
        )
        .max()
        .unwrap_or(Verdict::Healthy);
    // Only in the whole report: one direction asked for is not judged by an unrelated object.
    let without_direction: Vec<OtherMm2> = topo
        .mm2s
        .iter()
        .filter(|m| only.is_empty() && m.spec.routes().is_empty())
        .map(|m| OtherMm2::new(m, judge(m)))
        .collect();
    let verdict = if without_direction.is_empty() {
        verdict
    } else {
        verdict.max(Verdict::Degraded)
    };
    StatusReport {
        schema: SCHEMA,
        verdict,
        directions,
        problems: topo
            .problems
            .iter()
            .map(|p| Problem::from_error(&p.error))
            .collect(),
        without_direction,
    }
}

async fn direction_status(topo: &Topology, d: &Direction, live: bool) -> DirectionStatus {
    let base = |verdict, error: Option<Problem>, mm2| DirectionStatus {
        direction: d.to_string(),
        source: d.source.clone(),
        target: d.target.clone(),
        verdict,
        error,
        mm2,
        also_served_by: Vec::new(),
    };
    // Every MM2 naming the direction, the one that runs first (a rejected MM2 replicates nothing).
    let cands = serving::candidates(topo, d);
    let Some(first) = cands.first() else {
        // Not found: explain with the problem of a context this direction could run in.
        let ctx = topo.context_of(&d.target).or(topo.context_of(&d.source));
        if let Some(err) = topo.problem_for(d) {
            return unread_direction(d, err);
        }
        let msg = format!("no KafkaMirrorMaker2 runs {d} in the contexts asked");
        return base(
            Verdict::Degraded,
            Some(Problem {
                kind: "not-found",
                context: ctx.map(str::to_string),
                message: msg,
                hint: Some(
                    "check -n/--namespace and --context, or list them with `kubectl get kmm2 -A`".into(),
                ),
            }),
            None,
        );
    };
    let Some(cc) = topo.clients.get(&first.route.context) else {
        return base(Verdict::Degraded, None, None);
    };
    let facts = gather(cc, first.mm2, live).await;
    let report = judge_mm2(first.mm2, first.route, facts);
    let others: Vec<OtherMm2> = cands[1..]
        .iter()
        .map(|c| OtherMm2::new(c.mm2, c.rejection.clone()))
        .collect();
    judged_direction(d, report, others)
}
