//! `copy-secret`: copy a Secret between clusters so that the target's controllers leave it alone.
//!
//! Flow per copy: **plan** (read source and target, both before any write: an unreachable target
//! or a missing source fails here), **authorize** (a target we did not create needs `--force` or
//! a yes on a terminal), **write** (merge-patch away what server-side apply cannot remove, then
//! apply with field manager `kubectl-clusterset`, both guarded by the target's resourceVersion),
//! **verify** (re-read the source: if it changed while we copied, go again). Two concurrent runs
//! therefore converge on the newest source content: the loser of a resourceVersion race gets a
//! 409 and re-plans, and the last writer has checked that what it wrote is still current.

use super::FIELD_MANAGER;
use super::secret::{Desired, OwnerRef, Provenance, SecretDiff, SecretView, cleanup_patch, diff};
use crate::clients::{ContextClient, Op};
use crate::error::{Error, Result};
use crate::resources::strimzi::{Mm2Cluster, Mm2Spec};
use crate::write::DryRun;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::core::GroupVersionKind;
use serde::Serialize;

/// Default name of the MM2 KafkaUser (and of its Secret: the User Operator's prefix is empty).
pub const MM2_USER: &str = "mm2-user";

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
        if let Some((from, to)) = &self.diff.type_change {
            return Some(Error::Refused {
                reason: format!(
                    "context {}: Secret {}/{} has type {from}, the source has {to}, and a Secret's type cannot be changed",
                    self.spec.target_context, t.namespace, t.name
                ),
                hint: format!(
                    "delete it first: kubectl delete secret {} -n {} --context {}",
                    t.name, t.namespace, self.spec.target_context
                ),
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
                hint: format!(
                    "delete it first: kubectl delete secret {} -n {} --context {}",
                    t.name, t.namespace, self.spec.target_context
                ),
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
                    super::ANN_PREFIX
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

/// What a copy did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CopyAction {
    Created,
    Updated,
    Unchanged,
    WouldCreate,
    WouldUpdate,
    ServerDryRunCreate,
    ServerDryRunUpdate,
}

impl CopyAction {
    pub fn as_str(self) -> &'static str {
        match self {
            CopyAction::Created => "created",
            CopyAction::Updated => "updated",
            CopyAction::Unchanged => "unchanged",
            CopyAction::WouldCreate => "would be created (dry run)",
            CopyAction::WouldUpdate => "would be updated (dry run)",
            CopyAction::ServerDryRunCreate => "created (server dry run)",
            CopyAction::ServerDryRunUpdate => "updated (server dry run)",
        }
    }
    pub fn wrote(self) -> bool {
        matches!(self, CopyAction::Created | CopyAction::Updated)
    }
}

/// A Secret by context, namespace, name and resourceVersion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretRef {
    pub context: String,
    pub namespace: String,
    pub name: String,
    /// None for a target that does not exist (yet, or after a dry run).
    pub resource_version: Option<String>,
}

/// The outcome of one copy, or what it would do (`--diff`), safe to print in any format: names,
/// key names, hashes and resourceVersions, never a value. One entry of
/// [`super::outcome::CopySecretOutcome`].
#[derive(Debug, Clone, Serialize)]
pub struct CopyResult {
    pub source: SecretRef,
    /// Its resourceVersion afterwards (before, when nothing was written).
    pub target: SecretRef,
    /// None: planned only (`--diff`).
    pub action: Option<CopyAction>,
    /// Whether the target was written (false for dry runs, unchanged runs and `--diff`).
    pub written: bool,
    /// The `data` keys of the copy; never their values.
    pub keys: Vec<String>,
    /// `sha256:` of the copied content, as recorded on the target.
    pub content_hash: String,
    /// Who made the target before this run.
    pub ownership: Ownership,
    pub rotated: Option<Rotation>,
    /// The target had been edited since the last copy (restored when written).
    pub drifted: bool,
    pub diff: SecretDiff,
    pub attempts: u32,
    pub notes: Vec<String>,
}

impl CopyResult {
    /// What `p` would do; nothing written (`--diff`).
    pub fn planned(p: &CopyPlan) -> Self {
        let s = &p.spec;
        CopyResult {
            source: SecretRef {
                context: s.source_context.clone(),
                namespace: s.source_namespace.clone(),
                name: s.source_name.clone(),
                resource_version: Some(p.source.resource_version.clone()),
            },
            target: SecretRef {
                context: s.target_context.clone(),
                namespace: s.target_namespace.clone(),
                name: s.target_name.clone(),
                resource_version: p.target.as_ref().map(|t| t.resource_version.clone()),
            },
            action: None,
            written: false,
            keys: p.desired.data.keys().into_iter().collect(),
            content_hash: p.desired.provenance.content_hash.clone(),
            ownership: p.ownership.clone(),
            rotated: p.rotated.clone(),
            drifted: p.drifted,
            diff: p.diff.clone(),
            attempts: 0,
            notes: p.notes.clone(),
        }
    }
}

/// Write a plan. `DryRun::Client` sends nothing; `Server` sends both requests as dry runs.
/// Returns the target's new resourceVersion (None in dry runs).
pub async fn write(dst: &ContextClient, plan: &CopyPlan, dry_run: DryRun) -> Result<Option<String>> {
    if dry_run == DryRun::Client {
        return Ok(None);
    }
    let ns = &plan.spec.target_namespace;
    let name = &plan.spec.target_name;
    let api: Api<Secret> = Api::namespaced(dst.client.clone(), ns);
    let server_dry = dry_run == DryRun::Server;
    let mut rv = plan.target.as_ref().map(|t| t.resource_version.clone());
    if let Some(t) = &plan.target
        && let Some(patch) = cleanup_patch(t, &plan.desired)
    {
        let pp = PatchParams {
            dry_run: server_dry,
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        let s = dst
            .call(
                Op::new("patch", "secrets", "Secret").ns(ns).name(name),
                api.patch(name, &pp, &Patch::Merge(&patch)),
            )
            .await?;
        if !server_dry {
            rv = s.metadata.resource_version.clone();
        }
    }
    let body = plan.desired.apply_body(rv.as_deref());
    let mut pp = PatchParams::apply(FIELD_MANAGER).force();
    pp.dry_run = server_dry;
    let s = dst
        .call(
            Op::new("patch", "secrets", "Secret").ns(ns).name(name),
            api.patch(name, &pp, &Patch::Apply(&body)),
        )
        .await
        .map_err(|e| match plan.target {
            None => namespace_hint(e, dst, ns),
            Some(_) => e,
        })?;
    Ok(if server_dry {
        None
    } else {
        s.metadata.resource_version.clone()
    })
}

/// A 404 on apply means the namespace is missing (the Secret itself is created by apply).
fn namespace_hint(e: Error, dst: &ContextClient, ns: &str) -> Error {
    match e {
        Error::NotFound { .. } => Error::MissingNamespace {
            context: dst.context.clone(),
            namespace: ns.to_string(),
        },
        other => other,
    }
}

/// Carry out a plan that has been authorized (or needs no authorization), re-planning when a
/// concurrent writer or a rotation gets in the way. `consented`: a re-plan that finds a foreign
/// target may overwrite it.
pub async fn execute(
    src: &ContextClient,
    dst: &ContextClient,
    first: CopyPlan,
    dry_run: DryRun,
    consented: bool,
) -> Result<CopyResult> {
    let mut plan = first;
    let mut attempts = 1;
    let mut notes = Vec::new();
    loop {
        if let Some(b) = plan.blocker() {
            return Err(b);
        }
        if plan.needs_consent() && !consented {
            return Err(plan.refusal());
        }
        let before = plan.target.as_ref().map(|t| t.resource_version.clone());
        let action = match (plan.unchanged(), plan.target.is_some(), dry_run) {
            (true, _, _) => CopyAction::Unchanged,
            (false, false, DryRun::None) => CopyAction::Created,
            (false, true, DryRun::None) => CopyAction::Updated,
            (false, false, DryRun::Client) => CopyAction::WouldCreate,
            (false, true, DryRun::Client) => CopyAction::WouldUpdate,
            (false, false, DryRun::Server) => CopyAction::ServerDryRunCreate,
            (false, true, DryRun::Server) => CopyAction::ServerDryRunUpdate,
        };
        let written = if action == CopyAction::Unchanged {
            Ok(before.clone())
        } else {
            write(dst, &plan, dry_run).await.map(|rv| rv.or(before.clone()))
        };
        let retry = match written {
            Err(Error::Api { code: 409, .. }) => Some("the target changed while we wrote it".to_string()),
            // The target vanished between plan and write (the garbage collector deleting a
            // hand-made copy, someone else): plan again, it becomes a create.
            Err(Error::NotFound { .. }) if plan.target.is_some() => {
                Some("the target was deleted while we wrote it".to_string())
            }
            Err(e) => return Err(e),
            Ok(target_rv) => {
                // Verify: if the source moved on while we copied, what we wrote may be stale.
                let now = if action.wrote() {
                    read_secret(src, &plan.spec.source_namespace, &plan.spec.source_name)
                        .await?
                        .map(|s| s.resource_version)
                } else {
                    Some(plan.source.resource_version.clone())
                };
                if now.as_deref() == Some(plan.source.resource_version.as_str()) {
                    notes.extend(plan.notes.clone());
                    let planned = CopyResult::planned(&plan);
                    return Ok(CopyResult {
                        target: SecretRef {
                            resource_version: target_rv,
                            ..planned.target.clone()
                        },
                        action: Some(action),
                        written: action.wrote(),
                        attempts,
                        notes,
                        ..planned
                    });
                }
                Some(format!(
                    "the source changed while we copied it (resourceVersion {} → {})",
                    plan.source.resource_version,
                    now.unwrap_or_else(|| "deleted".into())
                ))
            }
        };
        if attempts >= crate::write::MAX_ATTEMPTS {
            return Err(Error::Refused {
                reason: format!(
                    "gave up copying {} after {attempts} attempts: {}",
                    plan.spec,
                    retry.unwrap_or_default()
                ),
                hint: "something keeps rewriting the source or the target; find it (managedFields show who) and retry"
                    .into(),
            });
        }
        if let Some(why) = retry {
            notes.push(format!("attempt {attempts}: {why}; copied again"));
        }
        attempts += 1;
        plan = self::plan(src, dst, &plan.spec).await?;
    }
}

/// The copies `--mm2` makes: for every ordered pair of clusters (a → b), the Secret of a's MM2
/// user to b under the name b's KafkaMirrorMaker2 expects for cluster a. The names come from the
/// MM2 specs in b (`passwordSecret.secretName`, and the Secret of the KafkaUser named
/// `username`); without one, the runbook's convention `mm2-user` → `mm2-user-<a>`.
pub fn mm2_copy_specs(
    clusters: &[(String, String)],
    mm2_specs: &[(String, Mm2Spec)],
    namespace: &str,
) -> Vec<CopySpec> {
    let mut out = Vec::new();
    for (a_alias, a_ctx) in clusters {
        for (_, b_ctx) in clusters.iter().filter(|(_, c)| c != a_ctx) {
            let referenced = mm2_specs
                .iter()
                .filter(|(ctx, _)| ctx == b_ctx)
                .flat_map(|(_, s)| entries(s))
                .filter(|c| &c.alias == a_alias)
                .find_map(|c| {
                    let auth = c.authentication.as_ref()?;
                    let secret = auth.password_secret.as_ref()?.secret_name.clone();
                    Some((auth.username.clone().unwrap_or_else(|| MM2_USER.into()), secret))
                });
            let (source_name, target_name) =
                referenced.unwrap_or_else(|| (MM2_USER.to_string(), format!("{MM2_USER}-{a_alias}")));
            let spec = CopySpec {
                source_context: a_ctx.clone(),
                source_namespace: namespace.into(),
                source_name,
                target_context: b_ctx.clone(),
                target_namespace: namespace.into(),
                target_name,
            };
            if !out.contains(&spec) {
                out.push(spec);
            }
        }
    }
    out
}

/// Every cluster entry of an MM2 spec, both API shapes.
fn entries(s: &Mm2Spec) -> Vec<&Mm2Cluster> {
    let mut v: Vec<&Mm2Cluster> = s.clusters.iter().collect();
    v.extend(s.target.iter());
    v.extend(s.mirrors.iter().filter_map(|m| m.source.as_ref()));
    v
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::secret::{Redacted, SecretData};
    use super::*;
    use std::collections::BTreeMap;

    /// aws's `mm2-user`: one key, `password`.
    pub(crate) fn source() -> SecretView {
        SecretView {
            name: "mm2-user".into(),
            namespace: "rciis-prod".into(),
            resource_version: "100".into(),
            type_: "Opaque".into(),
            data: SecretData(BTreeMap::from([("password".into(), b"pw-1".to_vec())])),
            ..Default::default()
        }
    }

    fn copy_of(src: &SecretView, ctx: &str) -> SecretView {
        let d = Desired::from_source(src, ctx, "mm2-user-aws", "rciis-prod");
        SecretView {
            name: "mm2-user-aws".into(),
            namespace: "rciis-prod".into(),
            resource_version: "7".into(),
            type_: d.type_.clone(),
            data: d.data.clone(),
            labels: d.labels.clone(),
            annotations: d.annotations.clone(),
            managers: vec![FIELD_MANAGER.into()],
            ..Default::default()
        }
    }

    #[test]
    fn ours_unchanged_rotated_drifted_foreign() {
        let src = source();
        let target = copy_of(&src, "rciis-aws");
        let d = Desired::from_source(&src, "rciis-aws", "mm2-user-aws", "rciis-prod");
        assert_eq!(
            judge(&target, &d),
            (Ownership::Ours, Provenance::read(&target), None, false)
        );

        // Rotation: the source has new content and a new resourceVersion.
        let mut rotated_src = src.clone();
        rotated_src.resource_version = "101".into();
        rotated_src.data.0.insert("password".into(), b"pw-2".to_vec());
        let d2 = Desired::from_source(&rotated_src, "rciis-aws", "mm2-user-aws", "rciis-prod");
        let (o, _, r, drift) = judge(&target, &d2);
        assert_eq!(o, Ownership::Ours);
        assert_eq!(
            r,
            Some(Rotation {
                from: "100".into(),
                to: "101".into()
            })
        );
        assert!(!drift);

        // Drift: someone edited the copy.
        let mut edited = target.clone();
        edited.data.0.insert("password".into(), b"typo".to_vec());
        assert!(judge(&edited, &d).3);

        // Same annotations but another source: ours, other source.
        let other = copy_of(&src, "rciis-gcp");
        assert_eq!(judge(&other, &d).0, Ownership::OursOtherSource);

        // The runbook's jq copy: no provenance, another manager.
        let jq = SecretView {
            managers: vec!["kubectl-client-side-apply".into()],
            annotations: Redacted(BTreeMap::from([(
                "kubectl.kubernetes.io/last-applied-configuration".into(),
                "{}".into(),
            )])),
            ..src.clone()
        };
        assert_eq!(judge(&jq, &d).0, Ownership::Foreign);
    }

    /// The plan of copying `src` to proxmox as `mm2-user-aws`, over `target`.
    pub(crate) fn plan_for(target: Option<SecretView>, src: &SecretView) -> CopyPlan {
        let d = Desired::from_source(src, "rciis-aws", "mm2-user-aws", "rciis-prod");
        let (ownership, recorded, rotated, drifted) = match &target {
            Some(t) => judge(t, &d),
            None => (Ownership::Absent, None, None, false),
        };
        CopyPlan {
            spec: CopySpec {
                source_context: "rciis-aws".into(),
                source_namespace: "rciis-prod".into(),
                source_name: "mm2-user".into(),
                target_context: "rciis-proxmox".into(),
                target_namespace: "rciis-prod".into(),
                target_name: "mm2-user-aws".into(),
            },
            diff: diff(target.as_ref().unwrap_or(&SecretView::default()), &d),
            source: src.clone(),
            target,
            desired: d,
            ownership,
            recorded,
            owner_checks: vec![OwnerCheck {
                owner: OwnerRef {
                    api_version: "kafka.strimzi.io/v1".into(),
                    kind: "KafkaUser".into(),
                    name: "mm2-user".into(),
                    uid: "u1".into(),
                },
                fate: OwnerFate::Dangling,
                explanation: "Its ownerReference KafkaUser/mm2-user (uid u1) was copied from another cluster"
                    .into(),
            }],
            rotated,
            drifted,
            notes: vec![],
        }
    }

    #[test]
    fn consent_and_refusal_explain_the_hand_made_copy() {
        let src = source();
        let mut jq = src.clone();
        jq.name = "mm2-user-aws".into();
        jq.managers = vec!["kubectl-client-side-apply".into()];
        jq.annotations.0.insert(
            "kubectl.kubernetes.io/last-applied-configuration".into(),
            "{\"data\":{\"password\":\"cHctMQ==\"}}".into(),
        );
        let p = plan_for(Some(jq), &src);
        assert!(p.needs_consent() && !p.unchanged() && p.blocker().is_none());
        let e = p.refusal();
        assert_eq!(e.exit_code(), crate::error::exit::REFUSED);
        let text = format!("{e} {}", e.hint().unwrap());
        assert!(
            text.contains("by hand") && text.contains("kubectl-client-side-apply"),
            "{text}"
        );
        assert!(
            text.contains("--force") && text.contains("garbage collector"),
            "{text}"
        );
        assert!(!text.contains("cHctMQ") && !text.contains("pw-1"), "{text}");

        // Our own copy needs no consent; an absent target neither.
        assert!(!plan_for(Some(copy_of(&src, "rciis-aws")), &src).needs_consent());
        assert!(plan_for(Some(copy_of(&src, "rciis-aws")), &src).unchanged());
        assert!(!plan_for(None, &src).needs_consent());
    }

    #[test]
    fn type_change_and_immutable_target_are_blockers() {
        let src = source();
        let mut t = copy_of(&src, "rciis-aws");
        t.type_ = "kubernetes.io/basic-auth".into();
        assert!(
            plan_for(Some(t), &src)
                .blocker()
                .unwrap()
                .to_string()
                .contains("type")
        );
        let mut t = copy_of(&src, "rciis-aws");
        t.immutable = true;
        t.data.0.insert("password".into(), b"old".to_vec());
        assert!(
            plan_for(Some(t), &src)
                .blocker()
                .unwrap()
                .to_string()
                .contains("immutable")
        );
    }

    #[test]
    fn mm2_specs_give_the_runbook_copies() {
        let clusters = vec![
            ("aws".to_string(), "rciis-aws".to_string()),
            ("proxmox".to_string(), "rciis-proxmox".to_string()),
        ];
        let specs = mm2_copy_specs(&clusters, &[], "rciis-prod");
        let pairs: Vec<(String, String, String, String)> = specs
            .iter()
            .map(|s| {
                (
                    s.source_context.clone(),
                    s.source_name.clone(),
                    s.target_context.clone(),
                    s.target_name.clone(),
                )
            })
            .collect();
        assert_eq!(
            pairs,
            vec![
                (
                    "rciis-aws".into(),
                    "mm2-user".into(),
                    "rciis-proxmox".into(),
                    "mm2-user-aws".into()
                ),
                (
                    "rciis-proxmox".into(),
                    "mm2-user".into(),
                    "rciis-aws".into(),
                    "mm2-user-proxmox".into()
                ),
            ]
        );
        // An MM2 in proxmox that names other secrets wins over the convention.
        let mm2: Mm2Spec = serde_json::from_value(serde_json::json!({
            "connectCluster": "proxmox",
            "clusters": [
                {"alias": "proxmox", "bootstrapServers": "x:9092"},
                {"alias": "aws", "bootstrapServers": "y:9092", "authentication": {
                    "type": "scram-sha-512", "username": "replicator",
                    "passwordSecret": {"secretName": "aws-replicator", "password": "password"}}}
            ]
        }))
        .unwrap();
        let specs = mm2_copy_specs(&clusters, &[("rciis-proxmox".into(), mm2)], "rciis-prod");
        assert_eq!(specs[0].source_name, "replicator");
        assert_eq!(specs[0].target_name, "aws-replicator");
        assert_eq!(specs[1].target_name, "mm2-user-proxmox");
    }
}
