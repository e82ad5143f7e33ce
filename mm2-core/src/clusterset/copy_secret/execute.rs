//! Carry out a plan: write guarded by the target's resourceVersion, verify the source did not
//! change meanwhile, re-plan and retry on a lost race.

use crate::clients::{ContextClient, Op};
use crate::clusterset::FIELD_MANAGER;
use crate::clusterset::secret::{SecretDiff, cleanup_patch};
use crate::error::{Error, Result};
use crate::write::DryRun;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde::Serialize;

use super::*;

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
/// [`crate::clusterset::outcome::CopySecretOutcome`].
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
pub(super) fn namespace_hint(e: Error, dst: &ContextClient, ns: &str) -> Error {
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
