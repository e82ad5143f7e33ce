//! Multi-Cluster Services API (`multicluster.x-k8s.io`): ServiceExport and ServiceImport.
//! The runbook and Cilium use `v1alpha1`; mcs-api v0.5.0 serves it beside `v1beta1`.

use super::Condition;
use serde::{Deserialize, Serialize};

pub const GROUP: &str = "multicluster.x-k8s.io";
pub const VERSION: &str = "v1alpha1";
pub const EXPORT_KIND: &str = "ServiceExport";
pub const EXPORT_PLURAL: &str = "serviceexports";
pub const IMPORT_KIND: &str = "ServiceImport";
pub const IMPORT_PLURAL: &str = "serviceimports";
/// Label on EndpointSlices that back a multi-cluster service.
pub const SERVICE_NAME_LABEL: &str = "multicluster.kubernetes.io/service-name";
pub const SOURCE_CLUSTER_LABEL: &str = "multicluster.kubernetes.io/source-cluster";

/// `status` of a ServiceExport.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
pub struct ServiceExportStatus {
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// `spec` of a ServiceImport.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
pub struct ServiceImportSpec {
    #[serde(rename = "type", default)]
    pub type_: Option<String>,
    #[serde(default)]
    pub ports: Vec<ImportPort>,
    #[serde(default)]
    pub ips: Vec<String>,
}

/// A port of a ServiceImport (no targetPort in MCS).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImportPort {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub port: i32,
}

/// `status` of a ServiceImport.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
pub struct ServiceImportStatus {
    #[serde(default)]
    pub clusters: Vec<ClusterStatus>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// An exporting cluster listed in a ServiceImport.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
pub struct ClusterStatus {
    #[serde(default)]
    pub cluster: String,
}
