//! Typed views of the custom resources we read and write: Strimzi, MCS and Flux.
//!
//! Objects travel as `DynamicObject` (so no field we do not model is ever dropped on a write) and
//! are *viewed* through the serde types here. Which API version to read is decided per object by
//! [`versions`]: Strimzi 0.51 serves `v1` and `v1beta2` with no conversion, and reading an old-shape
//! object at `v1` silently prunes its topology (shared/testbed/RECIPE.md).

pub mod flux;
pub mod inventory;
pub mod mcs;
pub mod pods;
pub mod strimzi;
pub mod validation;
pub mod versions;

use kube::core::{ApiResource, GroupVersionKind};
use serde::{Deserialize, Serialize};

/// A Kubernetes condition as Strimzi, mcs-api, Cilium and Flux write it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
}

/// Find a condition by type.
pub fn condition<'a>(conds: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conds.iter().find(|c| c.type_ == type_)
}

/// Build an `ApiResource` with an explicit plural (the plural guessed by `from_gvk` is a guess).
pub fn api_resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}
