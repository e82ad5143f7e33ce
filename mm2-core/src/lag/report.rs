//! `kubectl mm2 lag`: scrape every MM2 pod's JMX exporter through the API server's pod proxy
//! (`/api/v1/namespaces/{ns}/pods/{pod}:9404/proxy/metrics`: works from a laptop, no
//! port-forward, no exec), or read the same series from Prometheus with `--prometheus`
//! ([`crate::lag::prometheus`]), then aggregate and judge with [`crate::lag`].

use crate::clients::Kubeconfigs;
use crate::clients::{ContextClient, Op};
use crate::direction::Direction;
use crate::error::Problem;
use crate::lag::prometheus::PrometheusSource;
use crate::lag::{self, Advice, DirectionLag, Evaluation, PodScrape, Severity, Thresholds};
use crate::resources::inventory::Mm2Object;
use crate::topology::{self, Topology, TopologyRequest, serving};
use serde::Serialize;
use std::time::Duration;

/// Port of the `tcp-prometheus` container port Strimzi opens for the JMX exporter.
pub const METRICS_PORT: u16 = 9404;
/// Schema identifier of the JSON/YAML output.
pub const SCHEMA: &str = "kubectl-mm2.dev/lag/v1";

/// Options that shape the report.
#[derive(Debug, Clone, Default)]
pub struct LagOptions {
    pub thresholds: Thresholds,
    pub topic: Option<regex::Regex>,
    pub top: Option<usize>,
    /// Read the series from this Prometheus instead of scraping the pods.
    pub prometheus: Option<PrometheusSource>,
}

/// Where a direction's metrics were read: `pod-proxy` (each pod's `/metrics` through the API
/// server) or `prometheus`.
pub const SOURCE_POD_PROXY: &str = "pod-proxy";
pub const SOURCE_PROMETHEUS: &str = "prometheus";

/// One direction's lag with its verdict and advice.
#[derive(Debug, Clone, Serialize)]
pub struct DirectionLagReport {
    pub direction: String,
    pub context: Option<String>,
    pub mm2: Option<String>,
    pub namespace: Option<String>,
    /// `pod-proxy` or `prometheus`.
    pub source: &'static str,
    /// The `--prometheus` URL, when the source is Prometheus.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<String>,
    pub evaluation: Evaluation,
    pub lag: Option<DirectionLag>,
    pub advice: Vec<Advice>,
    pub error: Option<Problem>,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct LagReport {
    pub schema: &'static str,
    pub severity: Severity,
    pub thresholds: Thresholds,
    pub directions: Vec<DirectionLagReport>,
}

impl LagReport {
    /// Every direction reports 0 records behind from a figure it trusts (an UNKNOWN direction,
    /// e.g. one whose paused source froze its records-lag, is not caught up whatever its figure
    /// says): where `lag --watch --until-caught-up` stops.
    pub fn caught_up(&self) -> bool {
        !self.directions.is_empty()
            && self.directions.iter().all(|d| {
                d.evaluation.severity != Severity::Unknown && d.evaluation.records_behind == Some(0.0)
            })
    }
}

fn unknown(d: &Direction, reason: String) -> Evaluation {
    Evaluation {
        source: d.source.clone(),
        target: d.target.clone(),
        severity: Severity::Unknown,
        basis: None,
        records_behind: None,
        max_partition_records_lag: None,
        max_latency_ms: None,
        reasons: vec![reason],
    }
}

/// `kubectl mm2 lag [DIRECTION|MM2]`: discover the clusterset, pick what was named, read and
/// judge. Unlike `status`, a clusterset that could not be read at all is an error: there is no
/// figure to report.
pub async fn run(
    kc: &Kubeconfigs,
    req: &TopologyRequest,
    direction: Option<&str>,
    opts: &LagOptions,
    timeout: Duration,
) -> crate::Result<LagReport> {
    let topo = topology::discover(kc, req, timeout).await?;
    if let Some(e) = topo.unusable() {
        return Err(e);
    }
    let only = serving::directions_named(&topo, direction)?;
    if topo.directions().is_empty() && only.is_empty() {
        return Err(topo.nothing_found(kc));
    }
    Ok(build(&topo, &only, opts).await)
}

/// Build the report for the requested directions (all when empty).
pub async fn build(topo: &Topology, only: &[Direction], opts: &LagOptions) -> LagReport {
    let mut dirs = topo.directions();
    if !only.is_empty() {
        dirs = only.to_vec();
    }
    let reports = futures::future::join_all(dirs.iter().map(|d| direction_report(topo, d, opts))).await;
    report(reports, opts)
}

/// The whole report from its directions: the worst severity, UNKNOWN when there is none.
pub fn report(directions: Vec<DirectionLagReport>, opts: &LagOptions) -> LagReport {
    let severity = if directions.is_empty() {
        Severity::Unknown
    } else {
        Severity::worst_of(directions.iter().map(|r| r.evaluation.severity))
    };
    LagReport {
        schema: SCHEMA,
        severity,
        thresholds: opts.thresholds,
        directions,
    }
}

/// Where the figures come from: `pod-proxy`, or `prometheus` with its URL.
fn source_of(opts: &LagOptions) -> (&'static str, Option<String>) {
    match &opts.prometheus {
        Some(p) => (SOURCE_PROMETHEUS, Some(p.url.clone())),
        None => (SOURCE_POD_PROXY, None),
    }
}

/// A direction whose figures could not be read: UNKNOWN, with the error as its one reason.
pub fn unread(d: &Direction, error: Problem, opts: &LagOptions) -> DirectionLagReport {
    let (source, prometheus) = source_of(opts);
    DirectionLagReport {
        direction: d.to_string(),
        context: error.context.clone(),
        mm2: None,
        namespace: None,
        source,
        prometheus,
        evaluation: unknown(d, error.message.clone()),
        lag: None,
        advice: vec![],
        error: Some(error),
    }
}

/// Judge the scrapes of the MM2 that runs `d` (mirror `mirror_index` of its spec): aggregate,
/// evaluate against the thresholds, never call a frozen figure OK, advise on missing metrics, then
/// apply `--topic` and `--top` (after judging, so a filter never hides what the verdict is about).
pub fn judge(
    d: &Direction,
    mm2: &Mm2Object,
    mirror_index: usize,
    scrapes: &[PodScrape],
    opts: &LagOptions,
) -> DirectionLagReport {
    let (source, prometheus) = source_of(opts);
    let mut lag = lag::aggregate_direction(d, scrapes);
    lag::sort_worst_first(&mut lag.partitions);
    let mut evaluation = lag::evaluate(&lag, &opts.thresholds);
    if let Some(note) = frozen_figures(mm2, mirror_index, d) {
        evaluation.reasons.push(note);
        // A frozen figure is never "OK": nothing is known about what is behind now.
        if evaluation.severity == Severity::Ok {
            evaluation.severity = Severity::Unknown;
        }
    }
    let advice = lag::advise(&lag);
    if let Some(re) = &opts.topic {
        lag::filter_topics(&mut lag.partitions, re);
    }
    if let Some(n) = opts.top {
        lag::top(&mut lag.partitions, n);
    }
    DirectionLagReport {
        direction: d.to_string(),
        context: Some(mm2.context.clone()),
        mm2: Some(mm2.name.clone()),
        namespace: Some(mm2.namespace.clone()),
        source,
        prometheus,
        evaluation,
        lag: Some(lag),
        advice,
        error: None,
    }
}

async fn direction_report(topo: &Topology, d: &Direction, opts: &LagOptions) -> DirectionLagReport {
    let empty = |error: Problem| unread(d, error, opts);
    let cands = crate::topology::serving::candidates(topo, d);
    let Some(first) = cands.first() else {
        let err = topo.problem_for(d).map(Problem::from_error).unwrap_or(Problem {
            kind: "not-found",
            context: None,
            message: format!("no KafkaMirrorMaker2 runs {d}"),
            hint: None,
        });
        return empty(err);
    };
    // A rejected MM2 runs no worker: there is no lag to read, only the reason.
    if let Some(r) = &first.rejection {
        return empty(Problem {
            kind: "invalid",
            context: Some(first.mm2.context.clone()),
            message: format!(
                "{}/{} is rejected by Strimzi ({}: {}): no worker runs, so there is no lag to read",
                first.mm2.namespace, first.mm2.name, r.reason, r.message
            ),
            hint: Some(match &r.fix {
                Some(f) => format!(
                    "{}; `{f}` prints the manifests of a layout that runs",
                    r.explanation
                ),
                None => r.explanation.clone(),
            }),
        });
    }
    let route = first.route;
    let (Some(mm2), Some(cc)) = (topo.mm2(route), topo.clients.get(&route.context)) else {
        return empty(Problem {
            kind: "error",
            context: Some(route.context.clone()),
            message: "not read".into(),
            hint: None,
        });
    };
    let scrapes = match &opts.prometheus {
        Some(p) => p.scrape(cc, mm2, d).await,
        None => match scrape_pods(cc, mm2, d).await {
            Ok(s) => s,
            Err(e) => return empty(Problem::from_error(&e)),
        },
    };
    judge(d, mm2, route.mirror_index, &scrapes, opts)
}

/// Scrape every pod of an MM2 concurrently; each failure is kept with its reason.
pub async fn scrape_pods(
    cc: &ContextClient,
    mm2: &Mm2Object,
    d: &Direction,
) -> crate::Result<Vec<PodScrape>> {
    let Some(pods) = crate::resources::pods::pods_of(cc, mm2).await? else {
        return Ok(vec![PodScrape {
            pod: format!("{}-mirrormaker2-*", mm2.name),
            direction: d.clone(),
            result: Err("the operator has not reported status.labelSelector (no pods yet?)".into()),
        }]);
    };
    let scrapes = pods.iter().map(|p| async move {
        let pod = p.metadata.name.clone().unwrap_or_default();
        let ready = crate::resources::pods::is_ready(p);
        let has_ip = p.status.as_ref().and_then(|s| s.pod_ip.as_ref()).is_some();
        let result = if !has_ip {
            Err("pod has no IP (not running)".to_string())
        } else {
            let path = format!(
                "/api/v1/namespaces/{}/pods/{pod}:{METRICS_PORT}/proxy/metrics",
                mm2.namespace
            );
            let op = Op::new("get", "pods/proxy", "Pod").ns(&mm2.namespace).name(&pod);
            match cc.get_raw(op, &path).await {
                Ok(text) => Ok(text),
                Err(e) => Err(format!("{}{e}", if ready { "" } else { "pod not ready; " })),
            }
        };
        PodScrape {
            pod,
            direction: d.clone(),
            result,
        }
    });
    Ok(futures::future::join_all(scrapes).await)
}

/// A paused or stopped source task does not fetch, so its consumer's records-lag stays at the
/// last value it had (seen on a real MirrorMaker 2: 0 while 20,000 records were behind): say so
/// next to the figures instead of presenting them as current.
pub fn frozen_figures(
    mm2: &crate::resources::inventory::Mm2Object,
    index: usize,
    d: &Direction,
) -> Option<String> {
    use crate::resources::strimzi::{ConnectorKind, ConnectorState};
    let name = ConnectorKind::Source.connector_name(d);
    let reported = mm2
        .status
        .as_ref()
        .and_then(|s| s.connectors.iter().find(|c| c.name == name))
        .map(|c| ConnectorState::parse(&c.connector.state));
    let desired = mm2
        .spec
        .connector(index, ConnectorKind::Source)
        .map(|c| c.desired_state())
        .unwrap_or(ConnectorState::Running);
    let state = match (reported, desired) {
        (Some(s @ (ConnectorState::Paused | ConnectorState::Stopped)), _) => s,
        (_, s @ (ConnectorState::Paused | ConnectorState::Stopped)) => s,
        _ => return None,
    };
    Some(format!(
        "{name} is {state}: a {} task does not fetch, so records-lag is frozen at its last value and records behind keep growing unseen; resume it to read current figures",
        state.spec_value()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::{ApiResource, DynamicObject, ObjectMeta};
    use serde_json::json;

    fn mm2(spec_state: Option<&str>, reported: &str) -> Mm2Object {
        let mut source = json!({"tasksMax": 1});
        if let Some(s) = spec_state {
            source["state"] = json!(s);
        }
        let spec = json!({"connectCluster": "aws", "clusters": [{"alias": "proxmox"}, {"alias": "aws"}],
            "mirrors": [{"sourceCluster": "proxmox", "targetCluster": "aws", "sourceConnector": source}]});
        let status = json!({"connectors": [{"name": "proxmox->aws.MirrorSourceConnector",
                                             "connector": {"state": reported}, "tasks": []}]});
        let obj = DynamicObject {
            types: None,
            metadata: ObjectMeta::default(),
            data: json!({"spec": spec, "status": status}),
        };
        Mm2Object {
            context: "rciis-aws".into(),
            namespace: "rciis-prod".into(),
            name: "mm2-proxmox-to-aws".into(),
            version: "v1beta2".into(),
            ar: ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&()),
            spec: crate::resources::strimzi::Mm2Spec::parse(&obj.data["spec"]).unwrap(),
            status: Some(crate::resources::strimzi::Mm2Status::parse(&obj.data["status"])),
            obj,
        }
    }

    #[test]
    fn a_paused_or_stopped_source_freezes_the_figures() {
        let d = Direction::new("proxmox", "aws");
        assert_eq!(frozen_figures(&mm2(None, "RUNNING"), 0, &d), None);
        let paused = frozen_figures(&mm2(Some("paused"), "PAUSED"), 0, &d).expect("frozen");
        assert!(
            paused.contains("is PAUSED") && paused.contains("frozen"),
            "{paused}"
        );
        // Asked to pause, not yet reported: already no fresh figure to trust.
        assert!(frozen_figures(&mm2(Some("stopped"), "RUNNING"), 0, &d).is_some());
    }
}

/// `--watch --until-caught-up`: when a watch may stop.
#[cfg(test)]
mod caught_up_tests {
    use super::*;

    fn direction(severity: Severity, records_behind: Option<f64>) -> DirectionLagReport {
        DirectionLagReport {
            direction: "proxmox->aws".into(),
            context: None,
            mm2: None,
            namespace: None,
            source: "pod-proxy",
            prometheus: None,
            evaluation: Evaluation {
                source: "proxmox".into(),
                target: "aws".into(),
                severity,
                basis: None,
                records_behind,
                max_partition_records_lag: None,
                max_latency_ms: None,
                reasons: vec![],
            },
            lag: None,
            advice: vec![],
            error: None,
        }
    }

    fn report(directions: Vec<DirectionLagReport>) -> LagReport {
        LagReport {
            schema: "t",
            severity: Severity::Ok,
            thresholds: Thresholds::default(),
            directions,
        }
    }

    #[test]
    fn caught_up_needs_every_direction_at_zero_from_a_trusted_figure() {
        assert!(report(vec![direction(Severity::Ok, Some(0.0))]).caught_up());
        assert!(
            !report(vec![
                direction(Severity::Ok, Some(0.0)),
                direction(Severity::Ok, Some(3.0))
            ])
            .caught_up()
        );
        // A paused source's frozen 0 is UNKNOWN: not a catch-up.
        assert!(!report(vec![direction(Severity::Unknown, Some(0.0))]).caught_up());
        assert!(!report(vec![direction(Severity::Ok, None)]).caught_up());
        assert!(!report(vec![]).caught_up());
    }
}
