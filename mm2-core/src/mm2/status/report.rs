//! What `kubectl mm2 status` reports: the typed `status/v1` document (serialisable, stable) and
//! the small text helpers its findings use.

use crate::error::{Error, Problem};
use crate::resources::Condition;
use crate::resources::inventory::Mm2Object;
use crate::resources::strimzi::{ConnectorKind, ConnectorState, Mm2Shape};
use crate::topology::layout::Rejection;
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
    pub fn new(m: &Mm2Object, rejection: Option<Rejection>) -> OtherMm2 {
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
    pub fn of(c: &Condition, now: std::time::SystemTime) -> Self {
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
    /// `spec.interval`: when Flux re-applies Git next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    pub managed_by_field_manager: bool,
    /// Annotation we set when `--suspend-flux` suspended it.
    pub suspended_by_kubectl_mm2: Option<String>,
}

#[cfg(test)]
impl FluxReport {
    /// Kustomization `flux-system/kafka`, Ready, reconciling every `interval`.
    pub(crate) fn ready_for_tests(suspended: bool, interval: &str) -> Self {
        FluxReport {
            kustomization: "kafka".into(),
            namespace: "flux-system".into(),
            found: true,
            ready: Some("True".into()),
            ready_reason: None,
            ready_message: None,
            suspended,
            reconcile_disabled: false,
            ssa_policy: String::new(),
            path: Some("./clusters/aws/kafka".into()),
            interval: Some(interval.into()),
            managed_by_field_manager: true,
            suspended_by_kubectl_mm2: None,
        }
    }
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

pub use crate::output::first_line;

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
