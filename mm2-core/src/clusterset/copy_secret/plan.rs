//! Plan one copy (reads only): the source, the target and who owns it, the key-level diff, a
//! rotation or drift since the last copy, and what the target's garbage collector would do.

use crate::clients::{ContextClient, Op};
use crate::clusterset::FIELD_MANAGER;
use crate::clusterset::secret::{Desired, OwnerRef, Provenance, SecretDiff, SecretView, diff};
use crate::error::{Error, Result};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::core::GroupVersionKind;
use serde::Serialize;

/// One copy: where from, where to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopySpec {
    pub source_context: String,
    pub source_namespace: String,
    pub source_name: String,
    pub target_context: String,
    pub target_namespace: String,
    pub target_name: String,
}

impl std::fmt::Display for CopySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} ({}) → {}/{} ({})",
            self.source_namespace,
            self.source_name,
            self.source_context,
            self.target_namespace,
            self.target_name,
            self.target_context
        )
    }
}

/// What the garbage collector of the target cluster makes of an ownerReference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OwnerFate {
    /// No such owner, or one with another uid: the GC deletes the dependent.
    Dangling,
    /// The owner exists with that uid.
    Solid,
    /// The owner's kind is not served: the GC cannot resolve it and retries (deletes it later,
    /// once the CRD appears).
    KindUnknown,
    /// We could not find out (forbidden ...).
    Unknown,
}

/// One ownerReference of a target Secret, judged.
#[derive(Debug, Clone, Serialize)]
pub struct OwnerCheck {
    pub owner: OwnerRef,
    pub fate: OwnerFate,
    pub explanation: String,
}

/// Who made the target Secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ownership {
    /// There is no target yet.
    Absent,
    /// Made by kubectl-clusterset from this same source.
    Ours,
    /// Made by kubectl-clusterset, but from another source object.
    OursOtherSource,
    /// Not made by kubectl-clusterset (by hand, by the runbook's jq pipeline, by an operator).
    Foreign,
}

/// Source changed since the last copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rotation {
    pub from: String,
    pub to: String,
}

/// Everything known before writing.
#[derive(Debug, Clone)]
pub struct CopyPlan {
    pub spec: CopySpec,
    pub source: SecretView,
    pub target: Option<SecretView>,
    pub desired: Desired,
    pub diff: SecretDiff,
    pub ownership: Ownership,
    pub recorded: Option<Provenance>,
    pub owner_checks: Vec<OwnerCheck>,
    pub rotated: Option<Rotation>,
    /// The target's content no longer matches the hash recorded when we wrote it.
    pub drifted: bool,
    /// Things worth telling (no values).
    pub notes: Vec<String>,
}

impl CopyPlan {
    pub fn unchanged(&self) -> bool {
        self.target.is_some() && self.diff.is_empty()
    }

    /// Writing needs consent: the target exists and is not our copy of this source.
    pub fn needs_consent(&self) -> bool {
        matches!(self.ownership, Ownership::Foreign | Ownership::OursOtherSource) && !self.unchanged()
    }

    /// Changes no flag can make: the Secret type is immutable; so is the data of an immutable Secret.
    pub fn blocker(&self) -> Option<Error> {
        let t = self.target.as_ref()?;
        let delete_first = || {
            format!(
                "delete it first: kubectl delete secret {} -n {} --context {}",
                t.name, t.namespace, self.spec.target_context
            )
        };
        if let Some((from, to)) = &self.diff.type_change {
            return Some(Error::Refused {
                reason: format!(
                    "context {}: Secret {}/{} has type {from}, the source has {to}, and a Secret's type cannot be changed",
                    self.spec.target_context, t.namespace, t.name
                ),
                hint: delete_first(),
            });
        }
        if t.deleting {
            return Some(Error::Refused {
                reason: format!(
                    "context {}: Secret {}/{} is being deleted (deletionTimestamp set; finalizers keep it for now)",
                    self.spec.target_context, t.namespace, t.name
                ),
                hint: "re-run once it is gone; the copy is then created fresh".into(),
            });
        }
        if t.immutable && !self.diff.data.is_empty() {
            return Some(Error::Refused {
                reason: format!(
                    "context {}: Secret {}/{} is immutable and its data differs from the source",
                    self.spec.target_context, t.namespace, t.name
                ),
                hint: delete_first(),
            });
        }
        None
    }

    /// Why we will not overwrite the target without consent, for the refusal and the prompt.
    pub fn consent_reason(&self) -> String {
        let Some(t) = &self.target else {
            return String::new();
        };
        let where_ = format!(
            "Secret {}/{} in context {}",
            t.namespace, t.name, self.spec.target_context
        );
        match self.ownership {
            Ownership::OursOtherSource => {
                let r = self.recorded.as_ref();
                format!(
                    "{where_} is a kubectl-clusterset copy of another Secret ({}/{} in {}), not of {}/{} in {}",
                    r.map(|r| r.namespace.as_str()).unwrap_or("?"),
                    r.map(|r| r.name.as_str()).unwrap_or("?"),
                    r.map(|r| r.context.as_str()).unwrap_or("?"),
                    self.spec.source_namespace,
                    self.spec.source_name,
                    self.spec.source_context
                )
            }
            _ => {
                let mut s = format!(
                    "{where_} was not created by kubectl-clusterset (no {}* annotations)",
                    crate::clusterset::ANN_PREFIX
                );
                if t.annotations
                    .0
                    .contains_key("kubectl.kubernetes.io/last-applied-configuration")
                {
                    s.push_str(
                        "\n  - it carries kubectl's last-applied-configuration: a copy made by hand with \
                         `kubectl apply`, like the runbook's jq pipeline",
                    );
                }
                let managers: Vec<&str> = t
                    .managers
                    .iter()
                    .map(String::as_str)
                    .filter(|m| *m != FIELD_MANAGER)
                    .collect();
                if !managers.is_empty() {
                    s.push_str(&format!("\n  - written by: {}", managers.join(", ")));
                }
                if t.deleting {
                    s.push_str("\n  - it is already being deleted (deletionTimestamp set)");
                }
                for c in &self.owner_checks {
                    s.push_str("\n  - ");
                    s.push_str(&c.explanation);
                }
                s
            }
        }
    }

    /// The error when consent is missing.
    pub fn refusal(&self) -> Error {
        let gc = self.owner_checks.iter().any(|c| c.fate == OwnerFate::Dangling);
        Error::Refused {
            reason: format!("refusing to overwrite: {}", self.consent_reason()),
            hint: format!(
                "re-run with --force to replace it with a GC-safe copy{} (--diff shows which keys change, never values)",
                if gc {
                    ": the existing one will be deleted by the garbage collector anyway"
                } else {
                    ""
                }
            ),
        }
    }
}

/// Read a Secret into a [`SecretView`]; the typed object (with values) goes out of scope here.
pub async fn read_secret(cc: &ContextClient, ns: &str, name: &str) -> Result<Option<SecretView>> {
    let api: Api<Secret> = Api::namespaced(cc.client.clone(), ns);
    let s = cc
        .call(
            Op::new("get", "secrets", "Secret").ns(ns).name(name),
            api.get_opt(name),
        )
        .await?;
    Ok(s.map(SecretView::from_secret))
}

/// Judge an ownerReference the way the target's garbage collector will (mcs-flux.md §6.1: the
/// owner is looked up by kind and name in the dependent's namespace; a uid mismatch counts as
/// absent).
pub async fn check_owner(cc: &ContextClient, ns: &str, o: &OwnerRef) -> OwnerCheck {
    let (group, version) = match o.api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), o.api_version.clone()),
    };
    let what = format!("ownerReference {}/{} (uid {})", o.kind, o.name, o.uid);
    let gvk = GroupVersionKind::gvk(&group, &version, &o.kind);
    let found = cc
        .call(
            Op::new("get", &o.api_version, &o.kind),
            kube::discovery::pinned_kind(&cc.client, &gvk),
        )
        .await;
    let ar = match found {
        Ok((ar, _)) => ar,
        Err(Error::CrdMissing { .. }) | Err(Error::NotFound { .. }) => {
            return OwnerCheck {
                owner: o.clone(),
                fate: OwnerFate::KindUnknown,
                explanation: format!(
                    "its {what} names a kind ({}) context {} does not serve: the garbage collector cannot \
                     resolve it and retries, and deletes the Secret once that API is installed",
                    o.api_version, cc.context
                ),
            };
        }
        Err(e) => {
            return OwnerCheck {
                owner: o.clone(),
                fate: OwnerFate::Unknown,
                explanation: format!("could not check its {what}: {e}"),
            };
        }
    };
    match cc.get_opt(&ar, ns, &o.name).await {
        Ok(None) => OwnerCheck {
            owner: o.clone(),
            fate: OwnerFate::Dangling,
            explanation: format!(
                "its {what} points at nothing in context {}: the garbage collector will delete this Secret",
                cc.context
            ),
        },
        Ok(Some(owner)) if owner.metadata.uid.as_deref() != Some(o.uid.as_str()) => OwnerCheck {
            owner: o.clone(),
            fate: OwnerFate::Dangling,
            explanation: format!(
                "its {what} was copied from another cluster: {} {ns}/{} in context {} has uid {}, so for the \
                 garbage collector the owner does not exist and it will delete this Secret",
                o.kind,
                o.name,
                cc.context,
                owner.metadata.uid.as_deref().unwrap_or("?")
            ),
        },
        Ok(Some(_)) => OwnerCheck {
            owner: o.clone(),
            fate: OwnerFate::Solid,
            explanation: format!(
                "its {what} exists in context {}: the Secret lives and dies with that owner",
                cc.context
            ),
        },
        Err(e) => OwnerCheck {
            owner: o.clone(),
            fate: OwnerFate::Unknown,
            explanation: format!("could not check its {what}: {e}"),
        },
    }
}

/// Decide ownership, rotation and drift of an existing target (pure).
pub fn judge(
    target: &SecretView,
    desired: &Desired,
) -> (Ownership, Option<Provenance>, Option<Rotation>, bool) {
    let recorded = Provenance::read(target);
    let ownership = match &recorded {
        Some(r) if r.same_source(&desired.provenance) => Ownership::Ours,
        Some(_) => Ownership::OursOtherSource,
        None if target.managers.iter().any(|m| m == FIELD_MANAGER) => Ownership::Ours,
        None => Ownership::Foreign,
    };
    let mut rotated = None;
    let mut drifted = false;
    if ownership == Ownership::Ours
        && let Some(r) = &recorded
    {
        if !r.content_hash.is_empty() && r.content_hash != desired.provenance.content_hash {
            rotated = Some(Rotation {
                from: r.resource_version.clone(),
                to: desired.provenance.resource_version.clone(),
            });
        }
        drifted = !r.content_hash.is_empty() && r.content_hash != target.content_hash();
    }
    (ownership, recorded, rotated, drifted)
}

/// Read both sides and work out what a copy would do. Writes nothing.
pub async fn plan(src: &ContextClient, dst: &ContextClient, spec: &CopySpec) -> Result<CopyPlan> {
    let (source, target) = futures::join!(
        read_secret(src, &spec.source_namespace, &spec.source_name),
        read_secret(dst, &spec.target_namespace, &spec.target_name)
    );
    let source = source?.ok_or_else(|| Error::NotFound {
        context: spec.source_context.clone(),
        kind: "Secret".into(),
        namespace: spec.source_namespace.clone(),
        name: spec.source_name.clone(),
    })?;
    let target = target?;
    if source.type_ == "kubernetes.io/service-account-token" {
        return Err(Error::Usage(format!(
            "Secret {}/{} in {} is a service-account token: its token controller owns it and a copy would be \
             invalid in another cluster",
            source.namespace, source.name, spec.source_context
        )));
    }
    let desired = Desired::from_source(
        &source,
        &spec.source_context,
        &spec.target_name,
        &spec.target_namespace,
    );
    let mut notes = Vec::new();
    for o in &source.owner_references {
        notes.push(format!(
            "dropped ownerReference {}/{} of the source: in {} it would point at nothing (or at an object with \
             another uid) and the garbage collector would delete the copy",
            o.kind, o.name, spec.target_context
        ));
    }
    if source.immutable {
        notes.push("the source is immutable; the copy is not, so that rotations can be copied".into());
    }
    let Some(t) = target else {
        return Ok(CopyPlan {
            spec: spec.clone(),
            source,
            target: None,
            diff: diff(&SecretView::default(), &desired),
            desired,
            ownership: Ownership::Absent,
            recorded: None,
            owner_checks: vec![],
            rotated: None,
            drifted: false,
            notes,
        });
    };
    let (ownership, recorded, rotated, drifted) = judge(&t, &desired);
    let mut owner_checks = Vec::new();
    for o in &t.owner_references {
        owner_checks.push(check_owner(dst, &spec.target_namespace, o).await);
    }
    Ok(CopyPlan {
        spec: spec.clone(),
        diff: diff(&t, &desired),
        source,
        target: Some(t),
        desired,
        ownership,
        recorded,
        owner_checks,
        rotated,
        drifted,
        notes,
    })
}
