//! Flux `kustomize.toolkit.fluxcd.io` Kustomization and the ownership marks Flux leaves on
//! the objects it applies (research/mcs-flux.md §5).

use super::Condition;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const GROUP: &str = "kustomize.toolkit.fluxcd.io";
pub const VERSION: &str = "v1";
pub const KIND: &str = "Kustomization";
pub const PLURAL: &str = "kustomizations";
pub const NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
pub const NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";
/// Opt-out annotation/label: Flux no longer applies or prunes the object.
pub const RECONCILE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/reconcile";
/// Per-object apply policy: Override (default), Merge, IfNotPresent, Ignore.
pub const SSA_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/ssa";
/// The field manager kustomize-controller applies with.
pub const FIELD_MANAGER: &str = "kustomize-controller";

/// The Kustomization resource, for dynamic reads and patches.
pub fn kustomization_resource() -> kube::core::ApiResource {
    crate::resources::api_resource(GROUP, VERSION, KIND, PLURAL)
}

/// A Kustomization as read, through the typed views (a field that does not parse counts as unset).
#[derive(Debug, Clone, Default)]
pub struct Kustomization {
    pub spec: KustomizationSpec,
    pub status: KustomizationStatus,
    pub annotations: BTreeMap<String, String>,
}

/// Read the Kustomization `owner` names; `None` when it does not exist. A failed read is an
/// error: callers that only describe ownership (who owns an object is known from its labels
/// either way) may ignore it, callers that act on it (resuming a suspension we made) must not.
pub async fn read_kustomization(
    cc: &crate::clients::ContextClient,
    owner: &FluxOwner,
) -> crate::Result<Option<Kustomization>> {
    let Some(ks) = cc
        .get_opt(&kustomization_resource(), &owner.namespace, &owner.name)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Kustomization {
        spec: serde_json::from_value(ks.data["spec"].clone()).unwrap_or_default(),
        status: serde_json::from_value(ks.data["status"].clone()).unwrap_or_default(),
        annotations: ks.metadata.annotations.unwrap_or_default(),
    }))
}

/// `spec` of a Kustomization (what we read and toggle).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    #[serde(default)]
    pub suspend: Option<bool>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub source_ref: Option<SourceRef>,
}

/// The Git (or OCI, bucket) source of a Kustomization.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
pub struct SourceRef {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// `status` of a Kustomization.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct KustomizationStatus {
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default)]
    pub last_applied_revision: Option<String>,
}

/// The Kustomization that owns an object, read from its labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FluxOwner {
    pub name: String,
    pub namespace: String,
    /// `kustomize.toolkit.fluxcd.io/reconcile: disabled` on the object.
    pub reconcile_disabled: bool,
    /// `kustomize.toolkit.fluxcd.io/ssa` policy (Override when absent).
    pub ssa_policy: String,
}

/// Who owns an object according to Flux's labels and annotations.
pub fn owner(labels: &BTreeMap<String, String>, annotations: &BTreeMap<String, String>) -> Option<FluxOwner> {
    let name = labels.get(NAME_LABEL)?;
    let namespace = labels
        .get(NAMESPACE_LABEL)
        .cloned()
        .unwrap_or_else(|| "flux-system".into());
    let disabled = |m: &BTreeMap<String, String>| {
        m.get(RECONCILE_ANNOTATION)
            .is_some_and(|v| v.eq_ignore_ascii_case("disabled"))
    };
    Some(FluxOwner {
        name: name.clone(),
        namespace,
        reconcile_disabled: disabled(labels) || disabled(annotations),
        ssa_policy: annotations
            .get(SSA_ANNOTATION)
            .cloned()
            .unwrap_or_else(|| "Override".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_from_labels_and_opt_outs() {
        let mut labels = BTreeMap::new();
        let mut ann = BTreeMap::new();
        assert!(owner(&labels, &ann).is_none());
        labels.insert(NAME_LABEL.into(), "kafka".into());
        labels.insert(NAMESPACE_LABEL.into(), "flux-system".into());
        let o = owner(&labels, &ann).unwrap();
        assert_eq!(
            (o.name.as_str(), o.reconcile_disabled, o.ssa_policy.as_str()),
            ("kafka", false, "Override")
        );
        ann.insert(RECONCILE_ANNOTATION.into(), "Disabled".into());
        assert!(owner(&labels, &ann).unwrap().reconcile_disabled);
    }
}
