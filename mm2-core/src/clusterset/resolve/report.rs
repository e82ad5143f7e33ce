//! What `resolve` reports: the facts per context and the typed `resolve/v1` document.

use crate::clusterset::export::PortSpec;
use crate::error::exit;
use crate::resources::Condition;
use serde::Serialize;
use std::collections::BTreeMap;

pub use crate::finding::Severity;

/// One diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    pub diagnosis: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub next_step: String,
}

/// The Service of that name in one cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ServiceFacts {
    /// `ClusterIP`, `NodePort`, `LoadBalancer`, `ExternalName`.
    #[serde(rename = "type")]
    pub type_: String,
    pub headless: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_ip: Option<String>,
    pub ports: Vec<PortSpec>,
    pub selector: BTreeMap<String, String>,
    /// Ready endpoint addresses in its EndpointSlices (None: could not read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_endpoints: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_ready_endpoints: Option<usize>,
}

/// The ServiceExport in one cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExportFacts {
    pub api_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    pub conditions: Vec<Condition>,
}

/// The ServiceImport in one cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportFacts {
    #[serde(rename = "type")]
    pub type_: String,
    pub ports: Vec<PortSpec>,
    pub ips: Vec<String>,
    /// Exporting clusters, as the MCS controller names them.
    pub clusters: Vec<String>,
    pub conditions: Vec<Condition>,
}

/// One EndpointSlice labelled `multicluster.kubernetes.io/service-name`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SliceFacts {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_cluster: Option<String>,
    pub ready: usize,
    pub total: usize,
}

/// Everything read in one context.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContextSection {
    pub context: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    pub reachable: bool,
    /// Why it could not be read at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// MCS API version used (None: the cluster does not serve multicluster.x-k8s.io).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcs_api: Option<String>,
    /// The namespace exists (None: could not tell).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace_exists: Option<bool>,
    pub service: Option<ServiceFacts>,
    pub service_export: Option<ExportFacts>,
    pub service_import: Option<ImportFacts>,
    /// EndpointSlice API version served (`v1`, or `v1beta1` on old clusters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_slice_version: Option<String>,
    pub multicluster_endpoint_slices: Vec<SliceFacts>,
    /// Reads that failed (forbidden ...), one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub read_errors: Vec<String>,
}

/// Why `name` cannot be a Service name (RFC 1035 label: lowercase alphanumerics and '-', starting
/// with a letter, ending alphanumeric, at most 63), if it cannot.
pub fn invalid_service_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.len() > 63 {
        return Some("it is longer than 63 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Some("use lowercase letters, digits and '-'");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Some("it must start with a letter");
    }
    if name.ends_with('-') {
        return Some("it must end with a letter or digit");
    }
    None
}

/// Schema identifier of `resolve -o json|yaml`.
pub const SCHEMA: &str = "kubectl-clusterset.dev/resolve/v1";

/// The report `resolve` prints (stable JSON: field order is fixed here).
#[derive(Debug, Clone, Serialize)]
pub struct ResolveReport {
    /// Schema of the JSON/YAML output, like `status` and `lag` (snake_case fields).
    pub schema: &'static str,
    pub name: String,
    pub namespace: String,
    pub dns: String,
    pub resolvable: bool,
    pub exporting_contexts: Vec<String>,
    pub contexts: Vec<ContextSection>,
    pub findings: Vec<Finding>,
}

impl ResolveReport {
    /// 0 resolvable; 4 when a cluster could not be asked; 3 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.resolvable {
            exit::OK
        } else if self.contexts.iter().any(|c| !c.reachable) {
            exit::UNREACHABLE
        } else {
            exit::DEGRADED
        }
    }
}
