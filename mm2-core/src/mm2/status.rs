//! `kubectl mm2 status`: one dense report per direction (in the spirit of `kubectl cnpg status`).
//!
//! Health comes from connectors and tasks, not from the Ready condition alone: Strimzi has
//! reported Ready while connectors were FAILED (strimzi-kafka-operator#5715), and a FAILED task
//! never makes the CR NotReady (research/strimzi.md §1).
//!
//! The JSON/YAML form of [`StatusReport`] is a documented, stable schema (`schema` field).

use crate::clients::{ContextClient, Op};
use crate::direction::Direction;
use crate::error::{Error, Result};
use crate::mm2::inventory::Mm2Object;
use crate::mm2::layout::{self, Rejection};
use crate::mm2::serving;
use crate::resources::flux::{self, FluxOwner, KustomizationSpec, KustomizationStatus};
use crate::resources::strimzi::{ConnectorKind, ConnectorState, Mm2Shape};
use crate::resources::{Condition, api_resource, condition};
use crate::topology::{Route, Topology};
use serde::Serialize;

/// Schema identifier of the JSON/YAML output; bumped only on incompatible change.
pub const SCHEMA: &str = "kubectl-mm2.dev/status/v1";

/// Overall verdict, also the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Healthy,
    Degraded,
    /// Strimzi rejects the KafkaMirrorMaker2 (InvalidResourceException): nothing runs.
    Invalid,
    /// The credentials were rejected (HTTP 401): the state is unknown, not degraded.
    Unauthorized,
    /// RBAC refused a read (HTTP 403): the state is unknown, not degraded.
    Forbidden,
    Unreachable,
}

impl Verdict {
    pub fn exit_code(self) -> u8 {
        use crate::error::exit;
        match self {
            Verdict::Healthy => exit::OK,
            Verdict::Degraded | Verdict::Invalid => exit::DEGRADED,
            Verdict::Unauthorized => exit::UNAUTHORIZED,
            Verdict::Forbidden => exit::FORBIDDEN,
            Verdict::Unreachable => exit::UNREACHABLE,
        }
    }

    /// The verdict of a direction that could not be read because of `e`: what is unknown is
    /// never reported as degraded.
    pub fn of_error(e: &Error) -> Verdict {
        match e {
            Error::Unreachable { .. } | Error::Timeout { .. } => Verdict::Unreachable,
            Error::Forbidden { .. } => Verdict::Forbidden,
            Error::Unauthorized { .. } => Verdict::Unauthorized,
            _ => Verdict::Degraded,
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub schema: &'static str,
    pub verdict: Verdict,
    pub directions: Vec<DirectionStatus>,
    /// Contexts that could not be read, and why (also when no direction could be found at all).
    pub problems: Vec<Problem>,
    /// KafkaMirrorMaker2s that name no direction (no readable mirror): never silently ignored.
    pub without_direction: Vec<OtherMm2>,
}

/// A failure as it appears in the report.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// `unreachable`, `timeout`, `forbidden`, `crd-missing`, `not-found`, `error`.
    pub kind: &'static str,
    pub context: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub fn from_error(e: &Error) -> Self {
        Problem {
            kind: e.kind(),
            context: e.context().map(str::to_string),
            message: e.to_string(),
            hint: e.hint(),
        }
    }
}

/// One direction.
#[derive(Debug, Clone, Serialize)]
pub struct DirectionStatus {
    pub direction: String,
    pub source: String,
    pub target: String,
    pub verdict: Verdict,
    /// Why the direction could not be read (unreachable, forbidden ...).
    pub error: Option<Problem>,
    /// The MM2 that runs the direction (a valid one when there is one).
    pub mm2: Option<Mm2Report>,
    /// Every other KafkaMirrorMaker2 that also serves this direction (mid-migration leftovers,
    /// duplicates): each one listed, never silently dropped.
    pub also_served_by: Vec<OtherMm2>,
}

/// Another KafkaMirrorMaker2 serving the same direction.
#[derive(Debug, Clone, Serialize)]
pub struct OtherMm2 {
    pub name: String,
    pub namespace: String,
    pub context: String,
    /// Strimzi rejects it (so it replicates nothing) when set.
    pub rejection: Option<Rejection>,
}

impl OtherMm2 {
    fn new(m: &Mm2Object, rejection: Option<Rejection>) -> OtherMm2 {
        OtherMm2 {
            name: m.name.clone(),
            namespace: m.namespace.clone(),
            context: m.context.clone(),
            rejection,
        }
    }
}

/// Everything about the KafkaMirrorMaker2 that runs a direction.
#[derive(Debug, Clone, Serialize)]
pub struct Mm2Report {
    pub name: String,
    pub namespace: String,
    pub context: String,
    pub api_version: String,
    pub shape: Mm2Shape,
    pub connect_cluster: Option<String>,
    pub source_bootstrap: Option<String>,
    pub target_bootstrap: Option<String>,
    pub replicas: Replicas,
    pub ready: Option<ConditionReport>,
    /// Other conditions (warnings such as DeprecatedFields, ReconciliationPaused).
    pub conditions: Vec<ConditionReport>,
    pub generation: Option<i64>,
    pub observed_generation: Option<i64>,
    pub reconciled: bool,
    pub reconciliation_paused: bool,
    /// Set when Strimzi rejects this MM2: then no connector exists and nothing replicates.
    pub rejection: Option<Rejection>,
    pub connectors: Vec<ConnectorReport>,
    pub secrets: Vec<SecretReport>,
    pub flux: Option<FluxReport>,
    /// Human-readable reasons for a degraded verdict, each with what to do.
    pub findings: Vec<String>,
    /// Differences between Kafka Connect's REST API and the CR status (`--live`).
    pub live: Option<LiveReport>,
}

/// Replica counts.
#[derive(Debug, Clone, Serialize)]
pub struct Replicas {
    pub desired: Option<i32>,
    pub status: Option<i32>,
    /// Pods matching `status.labelSelector` with condition Ready=True (`None`: could not list).
    pub ready_pods: Option<i32>,
    pub pods: Vec<String>,
}

/// A condition with its age.
#[derive(Debug, Clone, Serialize)]
pub struct ConditionReport {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub last_transition_time: Option<String>,
    pub age: Option<String>,
}

impl ConditionReport {
    /// The condition with its age at `now`.
    fn from(c: &Condition, now: std::time::SystemTime) -> Self {
        ConditionReport {
            type_: c.type_.clone(),
            status: c.status.clone(),
            reason: c.reason.clone(),
            message: c.message.clone(),
            last_transition_time: c.last_transition_time.clone(),
            age: c
                .last_transition_time
                .as_deref()
                .and_then(|t| crate::output::age(t, now)),
        }
    }
}

/// One connector: desired (spec) vs actual (status).
#[derive(Debug, Clone, Serialize)]
pub struct ConnectorReport {
    pub kind: ConnectorKind,
    pub name: String,
    pub desired_state: ConnectorState,
    /// The deprecated `pause` field, reported because `state` overrides it.
    pub deprecated_pause: Option<bool>,
    pub tasks_max: Option<i32>,
    /// `None` when the operator has not reported the connector.
    pub state: Option<ConnectorState>,
    pub worker: Option<String>,
    pub trace: Option<String>,
    pub tasks: Vec<TaskReport>,
    pub auto_restarts: Option<i64>,
    pub healthy: bool,
}

/// One task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskReport {
    pub id: i64,
    pub state: ConnectorState,
    pub worker: Option<String>,
    /// First line of the stack trace (the exception), never the whole trace.
    pub trace: Option<String>,
}

/// A credentials Secret the MM2 references. Only existence is checked, through metadata.
#[derive(Debug, Clone, Serialize)]
pub struct SecretReport {
    pub alias: String,
    pub name: String,
    /// `None`: could not check (forbidden).
    pub present: Option<bool>,
}

/// Flux ownership.
#[derive(Debug, Clone, Serialize)]
pub struct FluxReport {
    pub kustomization: String,
    pub namespace: String,
    pub found: bool,
    pub ready: Option<String>,
    pub ready_reason: Option<String>,
    pub ready_message: Option<String>,
    pub suspended: bool,
    pub reconcile_disabled: bool,
    pub ssa_policy: String,
    pub path: Option<String>,
    pub managed_by_field_manager: bool,
    /// Annotation we set when `--suspend-flux` suspended it.
    pub suspended_by_kubectl_mm2: Option<String>,
}

/// Result of comparing Connect's REST view with the CR status.
#[derive(Debug, Clone, Serialize)]
pub struct LiveReport {
    pub pod: Option<String>,
    pub error: Option<String>,
    pub disagreements: Vec<String>,
}

/// `Ready=False Reason: message`, leaving out what is empty (never `Ready : `).
pub fn condition_text(c: &Condition) -> String {
    let mut t = format!("{}={}", c.type_, c.status);
    if let Some(r) = c.reason.as_deref().filter(|r| !r.is_empty()) {
        t.push(' ');
        t.push_str(r);
    }
    if let Some(m) = c.message.as_deref().filter(|m| !m.is_empty()) {
        t.push_str(": ");
        t.push_str(m);
    }
    t
}

/// First line of a Java stack trace.
pub fn first_line(trace: &str) -> String {
    trace.lines().next().unwrap_or_default().trim().to_string()
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
    let report = mm2_report(cc, first.mm2, first.route, live).await;
    let others: Vec<OtherMm2> = cands[1..]
        .iter()
        .map(|c| OtherMm2::new(c.mm2, c.rejection.clone()))
        .collect();
    judged_direction(d, report, others)
}

/// A direction that could not be read because of `err`: its verdict is the error's (what is
/// unknown is never degraded), the error its one line.
pub fn unread_direction(d: &Direction, err: &Error) -> DirectionStatus {
    DirectionStatus {
        direction: d.to_string(),
        source: d.source.clone(),
        target: d.target.clone(),
        verdict: Verdict::of_error(err),
        error: Some(Problem::from_error(err)),
        mm2: None,
        also_served_by: Vec::new(),
    }
}

/// The direction run by the MM2 of `report`, with the other MM2s that also name it: a rejected
/// MM2 makes it invalid, any finding degraded.
pub fn judged_direction(d: &Direction, mut report: Mm2Report, others: Vec<OtherMm2>) -> DirectionStatus {
    report.findings.extend(duplicate_findings(d, &report, &others));
    let verdict = if report.rejection.is_some() {
        Verdict::Invalid
    } else if report.findings.is_empty() {
        Verdict::Healthy
    } else {
        Verdict::Degraded
    };
    DirectionStatus {
        direction: d.to_string(),
        source: d.source.clone(),
        target: d.target.clone(),
        verdict,
        error: None,
        mm2: Some(report),
        also_served_by: others,
    }
}

fn judge(m: &Mm2Object) -> Option<Rejection> {
    layout::judge(&m.obj.data["spec"], m.status.as_ref(), m.generation())
}

/// Findings about the other MM2s of a direction: a second running one double-writes the target;
/// a rejected leftover is harmless but should leave Git.
pub fn duplicate_findings(d: &Direction, primary: &Mm2Report, others: &[OtherMm2]) -> Vec<String> {
    let mut out = Vec::new();
    for o in others {
        let at = format!("{} in {} (namespace {})", o.name, o.context, o.namespace);
        match (&o.rejection, &primary.rejection) {
            (None, None) => out.push(format!(
                "{d} is served twice: {at} also replicates it, so every record is written to the target twice — delete one of them from its Flux path"
            )),
            (Some(_), None) => out.push(format!(
                "{at} also names {d} but Strimzi rejects it (nothing runs there): remove it from its Flux path now that {} in {} runs the direction",
                primary.name, primary.context
            )),
            (_, Some(_)) => out.push(format!("{at} also names {d}")),
        }
    }
    out
}

/// What the cluster says around one MM2 besides the object itself, read by [`mm2_report`].
#[derive(Debug)]
pub struct Mm2Facts {
    /// Pod names and how many are Ready (`None`: cannot tell), or why they could not be listed.
    pub pods: Result<(Vec<String>, Option<i32>)>,
    /// The credentials Secrets it references, checked through metadata.
    pub secrets: Vec<SecretReport>,
    /// Its Flux Kustomization, when Flux owns it.
    pub flux: Option<FluxReport>,
    /// When the facts were read: the conditions' ages count from here.
    pub now: std::time::SystemTime,
}

/// The report for one MM2 route: read its pods, Secrets and Flux owner, judge them with
/// [`judge_mm2`], then (`--live`) compare with Kafka Connect's own view.
pub async fn mm2_report(cc: &ContextClient, mm2: &Mm2Object, route: &Route, live: bool) -> Mm2Report {
    let facts = Mm2Facts {
        pods: pods_of(cc, mm2).await,
        secrets: secret_reports(cc, mm2).await,
        flux: flux_report(cc, mm2).await,
        now: std::time::SystemTime::now(),
    };
    let mut report = judge_mm2(mm2, route, facts);
    if live {
        let l = live_report(cc, mm2, &report.connectors).await;
        report
            .findings
            .extend(l.disagreements.iter().map(|x| format!("live: {x}")));
        report.live = Some(l);
    }
    report
}

/// Judge one MM2 from its object and the facts around it: every finding, in the order a reader
/// needs them (a rejection first, then the status, workers, connectors and Secrets). Pure.
pub fn judge_mm2(mm2: &Mm2Object, route: &Route, facts: Mm2Facts) -> Mm2Report {
    let d = &route.direction;
    let spec = &mm2.spec;
    let status = mm2.status.clone().unwrap_or_default();
    let spec_route = spec.routes().into_iter().find(|r| r.index == route.mirror_index);
    let mut findings = Vec::new();
    // A rejected MM2 has no pods and no connectors: say why once, first, instead of listing every
    // consequence as if something had broken.
    let rejection = judge(mm2);
    if let Some(r) = &rejection {
        findings.push(format!(
            "rejected by Strimzi ({}: {}): nothing replicates{}",
            r.reason,
            r.message,
            r.fix
                .as_ref()
                .map(|f| format!(" — `{f}` prints the manifests of a layout that runs"))
                .unwrap_or_default()
        ));
    }
    let rejected = rejection.is_some();
    findings.extend(
        status
            .unreadable
            .iter()
            .map(|u| format!("{u} — the rest of the status is shown")),
    );

    let (pods, ready_pods) = match facts.pods {
        Ok(p) => p,
        Err(e) => {
            findings.push(format!("cannot list pods: {e}"));
            (vec![], None)
        }
    };
    let replicas = Replicas {
        desired: spec.replicas,
        status: status.replicas,
        ready_pods,
        pods,
    };
    let ready = condition(&status.conditions, "Ready").or_else(|| condition(&status.conditions, "NotReady"));
    let ready_report = ready.map(|c| ConditionReport::from(c, facts.now));
    let conditions: Vec<ConditionReport> = status
        .conditions
        .iter()
        .filter(|c| c.type_ != "Ready" && c.type_ != "NotReady")
        .map(|c| ConditionReport::from(c, facts.now))
        .collect();

    match ready {
        Some(c) if c.type_ == "Ready" && c.status == "True" => {}
        Some(_) if rejected => {}
        Some(c) => findings.push(condition_text(c)),
        None if !mm2.reconciliation_paused() => {
            findings.push("no Ready condition yet: the operator has not reported".into())
        }
        None => {}
    }
    if mm2.reconciliation_paused() {
        findings.push(format!(
            "reconciliation is paused ({}=true): the operator ignores every change; remove the annotation to resume",
            crate::resources::strimzi::PAUSE_RECONCILIATION
        ));
    }
    if !mm2.reconciled() && !mm2.reconciliation_paused() && !rejected {
        findings.push(format!(
            "generation {} not yet reconciled (observedGeneration {})",
            mm2.generation().unwrap_or_default(),
            status
                .observed_generation
                .map(|g| g.to_string())
                .unwrap_or_else(|| "none".into())
        ));
    }
    if let (Some(want), Some(have)) = (spec.replicas, ready_pods)
        && have < want
        && !rejected
    {
        findings.push(format!("{have}/{want} Connect workers ready"));
    }

    let connectors = if rejected {
        Vec::new()
    } else {
        connector_reports(mm2, route.mirror_index, d, &mut findings)
    };
    let secrets = facts.secrets;
    for s in &secrets {
        if s.present == Some(false) {
            findings.push(format!(
                "credentials Secret {} (cluster {}) is missing: `kubectl clusterset copy-secret --mm2` recreates peer copies",
                s.name, s.alias
            ));
        }
    }

    Mm2Report {
        name: mm2.name.clone(),
        namespace: mm2.namespace.clone(),
        context: mm2.context.clone(),
        api_version: format!("{}/{}", mm2.ar.group, mm2.version),
        shape: spec.shape(),
        connect_cluster: spec.connect_alias().map(str::to_string),
        source_bootstrap: spec_route.as_ref().and_then(|r| r.source_bootstrap.clone()),
        target_bootstrap: spec_route.as_ref().and_then(|r| r.target_bootstrap.clone()),
        replicas,
        ready: ready_report,
        conditions,
        generation: mm2.generation(),
        observed_generation: status.observed_generation,
        reconciled: mm2.reconciled(),
        reconciliation_paused: mm2.reconciliation_paused(),
        rejection,
        connectors,
        secrets,
        flux: facts.flux,
        findings,
        live: None,
    }
}

/// Connectors of one mirror: spec vs status, with findings for everything not as desired.
pub fn connector_reports(
    mm2: &Mm2Object,
    index: usize,
    d: &Direction,
    findings: &mut Vec<String>,
) -> Vec<ConnectorReport> {
    let status = mm2.status.clone().unwrap_or_default();
    let stopped_workers = mm2.spec.replicas == Some(0);
    mm2.spec
        .connector_kinds(index)
        .into_iter()
        .map(|kind| {
            let name = kind.connector_name(d);
            let spec = mm2.spec.connector(index, kind).cloned().unwrap_or_default();
            let desired = spec.desired_state();
            let st = status.connectors.iter().find(|c| c.name == name);
            let state = st.map(|c| ConnectorState::parse(&c.connector.state));
            let tasks: Vec<TaskReport> = st
                .map(|c| {
                    c.tasks
                        .iter()
                        .map(|t| TaskReport {
                            id: t.id,
                            state: ConnectorState::parse(&t.state),
                            worker: t.worker_id.clone(),
                            trace: t.trace.as_deref().map(first_line),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let auto_restarts = status
                .auto_restart_statuses
                .iter()
                .find(|a| a.connector_name == name)
                .map(|a| a.count);
            let mut healthy = true;
            match state {
                None if !stopped_workers => {
                    healthy = false;
                    findings.push(format!("{name}: not reported by the operator"));
                }
                Some(ConnectorState::Failed) => {
                    healthy = false;
                    let trace = st
                        .and_then(|c| c.connector.trace.as_deref())
                        .map(first_line)
                        .unwrap_or_default();
                    findings.push(format!(
                        "{name} FAILED: {trace} — fix the cause, then restart it: `{}`",
                        crate::mm2::restart::restart_command(d, &mm2.context, kind, None)
                    ));
                }
                Some(s) if s != desired => {
                    healthy = false;
                    findings.push(format!("{name}: {s}, desired {desired}"));
                }
                _ => {}
            }
            for t in &tasks {
                let expected = match desired {
                    ConnectorState::Paused => ConnectorState::Paused,
                    _ => ConnectorState::Running,
                };
                if t.state != expected {
                    healthy = false;
                    let what = if t.state == ConnectorState::Failed {
                        format!(
                            " ({}) — restart it: `{}`",
                            t.trace.clone().unwrap_or_default(),
                            crate::mm2::restart::restart_command(d, &mm2.context, kind, Some(t.id))
                        )
                    } else {
                        String::new()
                    };
                    findings.push(format!(
                        "{name} task {}: {}, desired {expected}{what}",
                        t.id, t.state
                    ));
                }
            }
            ConnectorReport {
                kind,
                name,
                desired_state: desired,
                deprecated_pause: spec.pause,
                tasks_max: spec.tasks_max,
                state,
                worker: st.and_then(|c| c.connector.worker_id.clone()),
                trace: st.and_then(|c| c.connector.trace.as_deref()).map(first_line),
                tasks,
                auto_restarts,
                healthy,
            }
        })
        .collect()
}

async fn pods_of(cc: &ContextClient, mm2: &Mm2Object) -> Result<(Vec<String>, Option<i32>)> {
    let Some(pods) = crate::mm2::pods::pods_of(cc, mm2).await? else {
        // No selector yet; with 0 replicas there is simply nothing to run.
        return Ok((vec![], (mm2.spec.replicas == Some(0)).then_some(0)));
    };
    let ready = pods.iter().filter(|p| crate::mm2::pods::is_ready(p)).count() as i32;
    let mut names: Vec<String> = pods.iter().filter_map(|p| p.metadata.name.clone()).collect();
    names.sort();
    Ok((names, Some(ready)))
}

/// Metadata-only reads: the Secret's data never even reaches this process.
async fn secret_reports(cc: &ContextClient, mm2: &Mm2Object) -> Vec<SecretReport> {
    let ar = api_resource("", "v1", "Secret", "secrets");
    let api = cc.dynamic(&ar, &mm2.namespace);
    let checks = mm2.spec.credential_secrets().into_iter().map(|(alias, name)| {
        let api = api.clone();
        async move {
            let op = Op::new("get", "secrets", "Secret").ns(&mm2.namespace).name(&name);
            let present = match cc.call(op, api.get_metadata_opt(&name)).await {
                Ok(m) => Some(m.is_some()),
                Err(_) => None,
            };
            SecretReport { alias, name, present }
        }
    });
    futures::future::join_all(checks).await
}

/// Flux ownership from labels, then the Kustomization itself.
pub async fn flux_report(cc: &ContextClient, mm2: &Mm2Object) -> Option<FluxReport> {
    let owner: FluxOwner = flux::owner(&mm2.labels(), &mm2.annotations())?;
    let ar = api_resource(flux::GROUP, flux::VERSION, flux::KIND, flux::PLURAL);
    let ks = cc
        .get_opt(&ar, &owner.namespace, &owner.name)
        .await
        .ok()
        .flatten();
    let spec: KustomizationSpec = ks
        .as_ref()
        .and_then(|k| serde_json::from_value(k.data["spec"].clone()).ok())
        .unwrap_or_default();
    let st: KustomizationStatus = ks
        .as_ref()
        .and_then(|k| serde_json::from_value(k.data["status"].clone()).ok())
        .unwrap_or_default();
    let ready = condition(&st.conditions, "Ready");
    Some(FluxReport {
        kustomization: owner.name.clone(),
        namespace: owner.namespace.clone(),
        found: ks.is_some(),
        ready: ready.map(|c| c.status.clone()),
        ready_reason: ready.and_then(|c| c.reason.clone()),
        ready_message: ready.and_then(|c| c.message.clone()),
        suspended: spec.suspend.unwrap_or(false),
        reconcile_disabled: owner.reconcile_disabled,
        ssa_policy: owner.ssa_policy,
        path: spec.path,
        managed_by_field_manager: mm2.managers().iter().any(|m| m == flux::FIELD_MANAGER),
        suspended_by_kubectl_mm2: ks
            .as_ref()
            .and_then(|k| k.metadata.annotations.as_ref())
            .and_then(|a| a.get(crate::mm2::SUSPENDED_BY_ANNOTATION).cloned()),
    })
}

/// `--live`: ask Kafka Connect (`GET /connectors?expand=status`) through the pod proxy.
async fn live_report(cc: &ContextClient, mm2: &Mm2Object, connectors: &[ConnectorReport]) -> LiveReport {
    let pod = format!("{}-mirrormaker2-0", mm2.name);
    let path = format!(
        "/api/v1/namespaces/{}/pods/{}:8083/proxy/connectors?expand=status",
        mm2.namespace, pod
    );
    let op = Op::new("get", "pods/proxy", "Pod").ns(&mm2.namespace).name(&pod);
    let body = match cc.get_raw(op, &path).await {
        Ok(b) => b,
        Err(e) => {
            return LiveReport {
                pod: Some(pod),
                error: Some(e.to_string()),
                disagreements: vec![],
            };
        }
    };
    let parsed: serde_json::Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(e) => {
            return LiveReport {
                pod: Some(pod),
                error: Some(format!("Connect answered non-JSON: {e}")),
                disagreements: vec![],
            };
        }
    };
    LiveReport {
        pod: Some(pod),
        error: None,
        disagreements: compare_live(&parsed, connectors),
    }
}

/// Differences between Connect's `?expand=status` map and what the CR status says.
pub fn compare_live(live: &serde_json::Value, connectors: &[ConnectorReport]) -> Vec<String> {
    let mut out = Vec::new();
    for c in connectors {
        let Some(st) = live.get(&c.name).and_then(|v| v.get("status")) else {
            out.push(format!(
                "{}: Connect does not know this connector (CR status says {})",
                c.name,
                c.state.map(|s| s.as_str()).unwrap_or("nothing")
            ));
            continue;
        };
        let live_state = ConnectorState::parse(st["connector"]["state"].as_str().unwrap_or_default());
        if Some(live_state) != c.state {
            out.push(format!(
                "{}: Connect says {live_state}, CR status says {}",
                c.name,
                c.state.map(|s| s.as_str()).unwrap_or("nothing")
            ));
        }
        for t in st["tasks"].as_array().into_iter().flatten() {
            let id = t["id"].as_i64().unwrap_or(-1);
            let ls = ConnectorState::parse(t["state"].as_str().unwrap_or_default());
            match c.tasks.iter().find(|x| x.id == id) {
                Some(x) if x.state == ls => {}
                Some(x) => out.push(format!(
                    "{} task {id}: Connect says {ls}, CR status says {}",
                    c.name, x.state
                )),
                None => out.push(format!(
                    "{} task {id}: Connect says {ls}, CR status lists no such task",
                    c.name
                )),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_reads_without_empty_parts() {
        let mut c = Condition {
            type_: "Ready".into(),
            status: "False".into(),
            ..Default::default()
        };
        assert_eq!(condition_text(&c), "Ready=False");
        c.reason = Some(String::new());
        c.message = Some("connector FAILED".into());
        assert_eq!(condition_text(&c), "Ready=False: connector FAILED");
        c.type_ = "NotReady".into();
        c.status = "True".into();
        c.reason = Some("InvalidResourceException".into());
        assert_eq!(
            condition_text(&c),
            "NotReady=True InvalidResourceException: connector FAILED"
        );
    }
}
