//! The Flux gate in front of every write to a KafkaMirrorMaker2: what Flux will do to the change
//! and what the user chose to do about it (`decide`, pure), then the one write the choice may need
//! (`apply`: suspending the Kustomization, recorded so `resume` can undo it).

use crate::clients::ContextClient;
use crate::error::{Error, Result};
use crate::mm2::gitops::{self, FluxImpact, Touches};
use crate::mm2::status::FluxReport;
use crate::resources::inventory::Mm2Object;
use crate::write::DryRun;
use serde::Serialize;

/// How the user said to get past Flux (`--force`, `--suspend-flux`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GateFlags {
    pub force: bool,
    pub suspend_flux: bool,
}

/// What to do about Flux before writing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum FluxStep {
    /// Not Flux's object, or Flux leaves the field alone (`note` says why when Flux owns it).
    Clear { note: Option<String> },
    /// The Kustomization is suspended: the change sticks until someone resumes it.
    AlreadySuspended { kustomization: String },
    /// `--suspend-flux`: suspend the Kustomization first.
    Suspend {
        namespace: String,
        kustomization: String,
    },
    /// `--force`: write although Flux reverts it `when`.
    Override {
        namespace: String,
        kustomization: String,
        when: String,
    },
}

impl FluxStep {
    /// The question the user answers yes to (or `--yes`) before this step; `None`: no question.
    pub fn confirmation(&self, context: &str, change: &str) -> Option<String> {
        match self {
            FluxStep::Suspend {
                namespace,
                kustomization,
            } => Some(format!(
                "Suspend Flux Kustomization {namespace}/{kustomization} in {context} and {change}?"
            )),
            FluxStep::Override { .. } => Some(format!("Write to a Flux-managed object anyway ({change})?")),
            FluxStep::Clear { .. } | FluxStep::AlreadySuspended { .. } => None,
        }
    }

    /// The more demanding of two steps, for one object changed twice (scale: tasksMax and
    /// replicas): a suspension covers both writes, an override is asked once.
    pub fn strongest(self, other: FluxStep) -> FluxStep {
        fn rank(s: &FluxStep) -> u8 {
            match s {
                FluxStep::Clear { .. } => 0,
                FluxStep::AlreadySuspended { .. } => 1,
                FluxStep::Override { .. } => 2,
                FluxStep::Suspend { .. } => 3,
            }
        }
        if rank(&other) > rank(&self) { other } else { self }
    }
}

/// Decide what to do about Flux for `change`, touching `touches` (pure). Flux reverting the change
/// without `--suspend-flux` or `--force` is a refusal naming the three ways forward.
pub fn decide(
    mm2: &Mm2Object,
    report: Option<&FluxReport>,
    touches: Touches,
    flags: GateFlags,
    change: &str,
) -> Result<FluxStep> {
    let interval = report.and_then(|r| r.interval.as_deref());
    match gitops::impact(mm2, report, touches, interval) {
        FluxImpact::None(note) => Ok(FluxStep::Clear { note }),
        FluxImpact::SuspendedNow { kustomization } => Ok(FluxStep::AlreadySuspended { kustomization }),
        FluxImpact::WillRevert {
            kustomization,
            namespace,
            when,
        } => {
            if flags.suspend_flux {
                Ok(FluxStep::Suspend {
                    namespace,
                    kustomization,
                })
            } else if flags.force {
                Ok(FluxStep::Override {
                    namespace,
                    kustomization,
                    when,
                })
            } else {
                let r = report.ok_or_else(|| Error::Invalid("Flux impact without a Flux report".into()))?;
                Err(gitops::refusal(mm2, r, change, &when))
            }
        }
    }
}

/// Carry out the step's own write: only `Suspend` writes (the Kustomization's `spec.suspend`
/// and our annotation saying who, when and why). Returns whether it suspended.
pub async fn apply(cc: &ContextClient, step: &FluxStep, change: &str, dry_run: DryRun) -> Result<bool> {
    match step {
        FluxStep::Suspend {
            namespace,
            kustomization,
        } => {
            gitops::suspend(cc, namespace, kustomization, change, !dry_run.writes()).await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mm2(flux_sets: &[&str]) -> Mm2Object {
        let fields: serde_json::Map<String, serde_json::Value> =
            flux_sets.iter().map(|f| (format!("f:{f}"), json!({}))).collect();
        Mm2Object::from_json("rciis-aws", json!({
            "apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaMirrorMaker2",
            "metadata": {"name": "mm2-proxmox-to-aws", "namespace": "rciis-prod",
                "labels": {"kustomize.toolkit.fluxcd.io/name": "kafka", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"},
                "managedFields": [{"manager": "kustomize-controller", "operation": "Apply",
                                   "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": fields}}]},
            "spec": {"connectCluster": "aws", "clusters": [], "mirrors": []}
        }))
        .unwrap()
    }

    fn report(suspended: bool) -> FluxReport {
        FluxReport::ready_for_tests(suspended, "10m")
    }

    #[test]
    fn not_flux_managed_is_clear() {
        let m = mm2(&["mirrors"]);
        let step = decide(&m, None, Touches::Mirrors, GateFlags::default(), "pause").unwrap();
        assert_eq!(step, FluxStep::Clear { note: None });
        assert_eq!(step.confirmation("rciis-aws", "pause"), None);
    }

    #[test]
    fn flux_reverting_is_refused_without_a_way_past_it() {
        let m = mm2(&["mirrors", "replicas"]);
        let e = decide(
            &m,
            Some(&report(false)),
            Touches::Mirrors,
            GateFlags::default(),
            "pause proxmox->aws",
        )
        .unwrap_err();
        let text = format!("{e} {}", e.hint().unwrap_or_default());
        assert!(text.contains("flux-system/kafka"), "{text}");
        assert!(text.contains("interval 10m"), "{text}");
        assert!(
            text.contains("--print-patch") && text.contains("--suspend-flux") && text.contains("--force")
        );
    }

    #[test]
    fn a_field_flux_does_not_set_is_clear_with_the_reason() {
        let m = mm2(&["mirrors"]);
        let step = decide(
            &m,
            Some(&report(false)),
            Touches::Replicas,
            GateFlags::default(),
            "scale",
        )
        .unwrap();
        assert_eq!(
            step,
            FluxStep::Clear {
                note: Some("the Flux manifest does not set spec.replicas".into())
            }
        );
    }

    #[test]
    fn suspend_flux_wins_over_force_and_asks_first() {
        let m = mm2(&["mirrors"]);
        let flags = GateFlags {
            force: true,
            suspend_flux: true,
        };
        let step = decide(&m, Some(&report(false)), Touches::Mirrors, flags, "pause").unwrap();
        assert!(matches!(step, FluxStep::Suspend { .. }));
        assert_eq!(
            step.confirmation("rciis-aws", "pause proxmox->aws").as_deref(),
            Some("Suspend Flux Kustomization flux-system/kafka in rciis-aws and pause proxmox->aws?")
        );
        let forced = decide(
            &m,
            Some(&report(false)),
            Touches::Mirrors,
            GateFlags {
                force: true,
                suspend_flux: false,
            },
            "pause",
        )
        .unwrap();
        assert!(matches!(&forced, FluxStep::Override { when, .. } if when.contains("10m")));
        assert!(forced.confirmation("rciis-aws", "pause").is_some());
    }

    #[test]
    fn an_already_suspended_kustomization_lets_the_change_through() {
        let m = mm2(&["mirrors"]);
        let step = decide(
            &m,
            Some(&report(true)),
            Touches::Mirrors,
            GateFlags::default(),
            "pause",
        )
        .unwrap();
        assert_eq!(
            step,
            FluxStep::AlreadySuspended {
                kustomization: "flux-system/kafka".into()
            }
        );
    }

    #[test]
    fn strongest_step_covers_both_writes() {
        let clear = FluxStep::Clear { note: None };
        let sus = FluxStep::Suspend {
            namespace: "a".into(),
            kustomization: "b".into(),
        };
        assert_eq!(clear.clone().strongest(sus.clone()), sus);
        assert_eq!(sus.clone().strongest(clear), sus);
    }
}
