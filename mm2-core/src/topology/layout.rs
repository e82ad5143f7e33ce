//! Is this KafkaMirrorMaker2 one that Strimzi runs, and if not, what does that mean here?
//!
//! Facts: the spec as stored and the operator's status. Rule: the operator's own verdict when it
//! has judged the current generation (its message verbatim), otherwise Strimzi 0.51's validation
//! ([`crate::resources::validation`]) as a prediction. Report: a [`Rejection`] that says, in the terms of
//! this clusterset, where the MM2 must run and the command that writes the manifests that do.

use crate::direction::Direction;
use crate::resources::strimzi::Mm2Status;
use crate::resources::validation::{self, INVALID_REASON, Invalid};
use serde::Serialize;
use serde_json::Value;

/// Why the operator does not (or will not) run an MM2, and the way out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejection {
    /// `InvalidResourceException`.
    pub reason: String,
    /// The operator's message, verbatim (or Strimzi's, predicted, before it has reported).
    pub message: String,
    /// True when the message comes from the operator's status for the current generation.
    pub reported_by_operator: bool,
    /// Which of Strimzi's checks failed (from our port), when we can tell.
    pub check: Option<Invalid>,
    /// What it means for this clusterset.
    pub explanation: String,
    /// The command that prints a layout that runs.
    pub fix: Option<String>,
}

/// The operator's InvalidResourceException for the current generation, if it wrote one.
fn operator_verdict(status: Option<&Mm2Status>, generation: Option<i64>) -> Option<String> {
    let st = status?;
    if st.observed_generation.is_none() || st.observed_generation != generation {
        return None;
    }
    st.conditions
        .iter()
        .find(|c| c.type_ == "NotReady" && c.status == "True" && c.reason.as_deref() == Some(INVALID_REASON))
        .map(|c| c.message.clone().unwrap_or_default())
}

/// True when the operator has judged the current generation and did not reject it.
fn operator_accepted(status: Option<&Mm2Status>, generation: Option<i64>) -> bool {
    status.is_some_and(|st| {
        st.observed_generation.is_some()
            && st.observed_generation == generation
            && !st
                .conditions
                .iter()
                .any(|c| c.type_ == "NotReady" && c.reason.as_deref() == Some(INVALID_REASON))
    })
}

/// Judge one MM2. `spec` is the spec as stored (read at the version that holds its fields).
/// `None`: it runs (or will).
pub fn judge(spec: &Value, status: Option<&Mm2Status>, generation: Option<i64>) -> Option<Rejection> {
    let predicted = validation::validate(Some(spec)).err();
    let reported = operator_verdict(status, generation);
    // An older operator (0.41–0.48) may accept what 0.51 rejects: its verdict wins.
    if reported.is_none() && operator_accepted(status, generation) {
        return None;
    }
    let (message, reported_by_operator) = match (&reported, &predicted) {
        (Some(m), _) => (m.clone(), true),
        (None, Some(p)) => (p.message(), false),
        (None, None) => return None,
    };
    let check = predicted.filter(|p| p.message() == message || !reported_by_operator);
    let (explanation, fix) = explain(spec, check.as_ref());
    Some(Rejection {
        reason: INVALID_REASON.into(),
        message,
        reported_by_operator,
        check,
        explanation,
        fix,
    })
}

/// The mirrors of a spec as `source->target`, read from either layout, valid or not.
pub fn mirror_directions(spec: &Value) -> Vec<Direction> {
    let connect = spec
        .get("target")
        .and_then(|t| t.get("alias"))
        .or_else(|| spec.get("connectCluster"))
        .and_then(Value::as_str);
    spec.get("mirrors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let source = m
                .get("source")
                .and_then(|s| s.get("alias"))
                .or_else(|| m.get("sourceCluster"))
                .and_then(Value::as_str)?;
            let target = m.get("targetCluster").and_then(Value::as_str).or(connect)?;
            Some(Direction::new(source, target))
        })
        .collect()
}

fn explain(spec: &Value, check: Option<&Invalid>) -> (String, Option<String>) {
    match check {
        Some(Invalid::TargetMismatch {
            mirror,
            target_cluster,
            target,
        }) => {
            let d = mirror_directions(spec)
                .into_iter()
                .nth(*mirror)
                .unwrap_or_else(|| Direction::new("?", target_cluster.as_str()));
            let runs_in_source = &d.source == target;
            let why = if runs_in_source {
                format!(
                    "its Connect workers run against {target}, the SOURCE of {d}; since 0.49 Strimzi runs a mirror only in the cluster it writes to, so nothing replicates"
                )
            } else {
                format!(
                    "its Connect workers run against {target}, but the mirror writes to {target_cluster}; Strimzi runs a mirror only in the cluster it writes to"
                )
            };
            (
                format!(
                    "{d} must run in the cluster it writes to ({}): {why}. Move it there (the runbook puts every MM2 in its source cluster, a layout Strimzi rejects since 0.41)",
                    d.target
                ),
                Some(format!("kubectl mm2 convert {}", d.shell_safe())),
            )
        }
        Some(Invalid::AliasesNotUnique { aliases }) => (
            format!(
                "target and source aliases repeat ({}): give each cluster one alias and one mirror per source",
                aliases.join(", ")
            ),
            None,
        ),
        Some(Invalid::SpecNull) => ("the object has no spec".into(), None),
        Some(other) => (
            format!(
                "Strimzi cannot build the MirrorMaker 2 model: {}",
                other.message()
            ),
            None,
        ),
        None => (
            "the operator rejects the resource; fix the manifest in Git as the message says".into(),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Condition;
    use serde_json::json;

    fn runbook_spec() -> Value {
        json!({"connectCluster": "proxmox",
               "clusters": [{"alias": "proxmox", "bootstrapServers": "local:9092"},
                            {"alias": "aws", "bootstrapServers": "kafka-bootstrap-aws.rciis-prod.svc.clusterset.local:9092"}],
               "mirrors": [{"sourceCluster": "proxmox", "targetCluster": "aws", "sourceConnector": {}}]})
    }

    fn status(generation: i64, conds: Vec<Condition>) -> Mm2Status {
        Mm2Status {
            conditions: conds,
            observed_generation: Some(generation),
            ..Default::default()
        }
    }

    fn not_ready(msg: &str) -> Condition {
        Condition {
            type_: "NotReady".into(),
            status: "True".into(),
            reason: Some(INVALID_REASON.into()),
            message: Some(msg.into()),
            last_transition_time: None,
        }
    }

    #[test]
    fn the_runbook_layout_is_rejected_and_explained_before_the_operator_reports() {
        let r = judge(&runbook_spec(), None, Some(1)).expect("rejected");
        assert!(!r.reported_by_operator);
        assert_eq!(
            r.message,
            "The .spec.mirrors[].targetCluster alias is not the same as the actual target cluster alias."
        );
        assert!(
            r.explanation
                .starts_with("proxmox->aws must run in the cluster it writes to (aws)"),
            "{}",
            r.explanation
        );
        assert_eq!(r.fix.as_deref(), Some("kubectl mm2 convert proxmox:aws"));
    }

    #[test]
    fn the_operators_message_is_quoted_verbatim() {
        let msg =
            "The .spec.mirrors[].targetCluster alias is not the same as the actual target cluster alias.";
        let st = status(2, vec![not_ready(msg)]);
        let r = judge(&runbook_spec(), Some(&st), Some(2)).unwrap();
        assert!(r.reported_by_operator);
        assert_eq!(r.message, msg);
        assert!(r.check.is_some());
    }

    #[test]
    fn an_operator_that_accepted_the_current_generation_wins_over_the_prediction() {
        let ready = Condition {
            type_: "Ready".into(),
            status: "True".into(),
            ..Default::default()
        };
        assert_eq!(
            judge(&runbook_spec(), Some(&status(3, vec![ready.clone()])), Some(3)),
            None
        );
        // ...but not an old verdict about an earlier generation.
        assert!(judge(&runbook_spec(), Some(&status(2, vec![ready])), Some(3)).is_some());
    }

    #[test]
    fn the_working_layout_runs() {
        let mut s = runbook_spec();
        s["connectCluster"] = json!("aws");
        assert_eq!(judge(&s, None, Some(1)), None);
    }

    #[test]
    fn directions_are_read_from_either_layout() {
        assert_eq!(
            mirror_directions(&runbook_spec()),
            [Direction::new("proxmox", "aws")]
        );
        let v1 = json!({"target": {"alias": "aws"}, "mirrors": [{"source": {"alias": "proxmox"}}]});
        assert_eq!(mirror_directions(&v1), [Direction::new("proxmox", "aws")]);
    }
}
