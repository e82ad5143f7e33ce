//! GitOps awareness: will Flux revert the change we are about to make, and what to do instead.
//!
//! kustomize-controller server-side applies the Git manifest with force ownership on every
//! reconcile and corrects drift (research/mcs-flux.md §5.4). `spec.mirrors` is an atomic list in
//! Strimzi's CRD, so a manifest that sets `mirrors` reverts any connector state change; a manifest
//! that sets `spec.replicas` reverts a scale.

use crate::clients::{ContextClient, Op};
use crate::error::{Error, Result};
use crate::mm2::SUSPENDED_BY_ANNOTATION;
use crate::mm2::status::FluxReport;
use crate::resources::flux;
use crate::resources::inventory::Mm2Object;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

/// The field a change touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touches {
    /// `spec.mirrors[...]` (connector state, tasksMax).
    Mirrors,
    /// `spec.replicas`.
    Replicas,
}

impl Touches {
    fn field(self) -> &'static str {
        match self {
            Touches::Mirrors => "mirrors",
            Touches::Replicas => "replicas",
        }
    }
}

/// Whether Flux will undo a change, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FluxImpact {
    /// Not managed by Flux, or Flux will leave the field alone.
    None(Option<String>),
    /// The Kustomization is suspended: the change sticks until someone resumes it.
    SuspendedNow { kustomization: String },
    /// Flux will revert the change at its next reconcile.
    WillRevert {
        kustomization: String,
        namespace: String,
        when: String,
    },
}

/// Does kustomize-controller own `spec.<field>` according to managedFields?
/// `None` when the object has no managedFields entry for it (labels alone say "Flux").
pub fn flux_owns_field(mm2: &Mm2Object, field: &str) -> Option<bool> {
    let entries: Vec<&Value> = mm2
        .obj
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| m.manager.as_deref() == Some(flux::FIELD_MANAGER))
        .filter_map(|m| m.fields_v1.as_ref().map(|f| &f.0))
        .collect();
    if entries.is_empty() {
        return None;
    }
    Some(entries.iter().any(|f| {
        f.get("f:spec")
            .and_then(|s| s.get(format!("f:{field}")))
            .is_some()
    }))
}

/// Decide what Flux will do to a change touching `touches`.
pub fn impact(
    mm2: &Mm2Object,
    report: Option<&FluxReport>,
    touches: Touches,
    interval: Option<&str>,
) -> FluxImpact {
    let Some(r) = report else {
        return FluxImpact::None(None);
    };
    if r.reconcile_disabled {
        return FluxImpact::None(Some(format!(
            "{} is set to disabled: Flux leaves this object alone",
            flux::RECONCILE_ANNOTATION
        )));
    }
    if matches!(r.ssa_policy.as_str(), "IfNotPresent" | "Ignore") {
        return FluxImpact::None(Some(format!(
            "{}: {} — Flux does not re-apply this object",
            flux::SSA_ANNOTATION,
            r.ssa_policy
        )));
    }
    if flux_owns_field(mm2, touches.field()) == Some(false) {
        return FluxImpact::None(Some(format!(
            "the Flux manifest does not set spec.{}",
            touches.field()
        )));
    }
    if r.suspended {
        return FluxImpact::SuspendedNow {
            kustomization: format!("{}/{}", r.namespace, r.kustomization),
        };
    }
    FluxImpact::WillRevert {
        kustomization: r.kustomization.clone(),
        namespace: r.namespace.clone(),
        when: match interval {
            Some(i) => format!("at its next reconcile (interval {i}), or at once on `flux reconcile`"),
            None => "at its next reconcile".into(),
        },
    }
}

/// The refusal shown when Flux would revert a change, with the three ways forward.
pub fn refusal(mm2: &Mm2Object, r: &FluxReport, change: &str, when: &str) -> Error {
    let path = r.path.clone().map(|p| format!(" (path {p})")).unwrap_or_default();
    Error::Refused {
        reason: format!(
            "{} {}/{} in context {} is managed by Flux Kustomization {}/{}{path}; Flux would revert this change ({change}) {when}",
            mm2.ar.kind, mm2.namespace, mm2.name, mm2.context, r.namespace, r.kustomization
        ),
        hint: "choose one:\n  --print-patch   print the change to commit to the Flux repository (the GitOps way)\n  \
               --suspend-flux  suspend the Kustomization (recorded in an annotation), then write; `resume` unsuspends it\n  \
               --force         write anyway; Flux will revert it"
            .into(),
    }
}

/// The manifest change to commit to Git: `spec.mirrors` is atomic, so the whole list, changed.
pub fn print_patch(mm2: &Mm2Object, ops: &[json_patch::PatchOperation]) -> Result<String> {
    let mut spec = mm2.obj.data["spec"].clone();
    let mut doc = json!({"spec": spec.take()});
    json_patch::patch(&mut doc, ops).map_err(|e| Error::Invalid(format!("cannot render patch: {e}")))?;
    let mut body = serde_json::Map::new();
    if let Some(m) = doc["spec"].get("mirrors") {
        body.insert("mirrors".into(), m.clone());
    }
    if let Some(r) = doc["spec"]
        .get("replicas")
        .filter(|r| Some(*r) != mm2.obj.data["spec"].get("replicas"))
    {
        body.insert("replicas".into(), r.clone());
    }
    let out = json!({
        "apiVersion": format!("{}/{}", mm2.ar.group, mm2.version),
        "kind": mm2.ar.kind,
        "metadata": {"name": mm2.name, "namespace": mm2.namespace},
        "spec": body,
    });
    Ok(crate::output::to_yaml(&out))
}

/// Who suspends: the login name, else (no `$USER` in a CI job or a container) the identity the
/// write is made with, never "unknown".
fn who(context: &str) -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| format!("the user of context {context}"));
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    if host.is_empty() {
        user
    } else {
        format!("{user}@{host}")
    }
}

fn now_rfc3339() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Suspend a Kustomization, recording who, when and why (only `spec.suspend` and our annotation).
pub async fn suspend(
    cc: &ContextClient,
    namespace: &str,
    name: &str,
    why: &str,
    dry_run: bool,
) -> Result<()> {
    let note = format!("{} at {}: {why}", who(&cc.context), now_rfc3339());
    set_suspend(
        cc,
        namespace,
        name,
        json!({"metadata": {"annotations": {SUSPENDED_BY_ANNOTATION: note}}, "spec": {"suspend": true}}),
        dry_run,
    )
    .await
}

/// Resume a Kustomization we suspended (the caller read our annotation on it): clear the
/// annotation and `spec.suspend` in one patch.
pub async fn resume_ours(cc: &ContextClient, namespace: &str, name: &str, dry_run: bool) -> Result<()> {
    set_suspend(
        cc,
        namespace,
        name,
        json!({"metadata": {"annotations": {SUSPENDED_BY_ANNOTATION: null}}, "spec": {"suspend": false}}),
        dry_run,
    )
    .await
}

async fn set_suspend(
    cc: &ContextClient,
    namespace: &str,
    name: &str,
    patch: Value,
    dry_run: bool,
) -> Result<()> {
    let ar = flux::kustomization_resource();
    let api = cc.dynamic(&ar, namespace);
    let mut pp = PatchParams {
        field_manager: Some(crate::mm2::FIELD_MANAGER.into()),
        ..Default::default()
    };
    pp.dry_run = dry_run;
    let res = format!("{}.{}", flux::PLURAL, flux::GROUP);
    cc.call(
        Op::new("patch", &res, flux::KIND).ns(namespace).name(name),
        api.patch(name, &pp, &Patch::Merge(patch)),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20);
        assert!(crate::output::parse_rfc3339(&t).is_some());
    }
}
