//! `kubectl clusterset`: Multi-Cluster Services exports, cross-cluster diagnosis and GC-safe
//! Secret copies across the contexts of a Cilium Cluster Mesh clusterset.
//!
//! | module | job |
//! |---|---|
//! | [`members`] | which contexts form the clusterset, their aliases and the shared namespace |
//! | [`secret`] | pure copy logic: sanitize, content hash, key diff, values never printed |
//! | [`copy_secret`] | plan → authorize → write → verify, for one copy or the whole MM2 topology |
//! | [`export`] | Service / ServiceExport manifests, conflict check, Flux detection, apply |
//! | [`resolve`] | the resolve report: per-context facts and findings with next steps |
//! | [`apply`] | server-side apply with an idempotency check first |
//! | [`outcome`] | the schema-tagged documents `copy-secret` and `export` print with `-o json\|yaml` |

pub mod apply;
pub mod copy_request;
pub mod copy_secret;
pub mod export;
pub mod export_request;
pub mod members;
pub mod outcome;
pub mod resolve;
pub mod secret;

/// Field manager of every write `kubectl clusterset` makes.
pub const FIELD_MANAGER: &str = "kubectl-clusterset";

/// Prefix of the provenance annotations on a copied Secret.
pub const ANN_PREFIX: &str = "clusterset.kubectl-mm2.dev/";
pub const ANN_SOURCE_CONTEXT: &str = "clusterset.kubectl-mm2.dev/source-context";
pub const ANN_SOURCE_NAMESPACE: &str = "clusterset.kubectl-mm2.dev/source-namespace";
pub const ANN_SOURCE_NAME: &str = "clusterset.kubectl-mm2.dev/source-name";
pub const ANN_SOURCE_RV: &str = "clusterset.kubectl-mm2.dev/source-resource-version";
pub const ANN_CONTENT_HASH: &str = "clusterset.kubectl-mm2.dev/content-hash";

/// `NAME.NS.svc.clusterset.local`.
pub fn clusterset_dns(name: &str, namespace: &str) -> String {
    format!("{name}.{namespace}.svc.clusterset.local")
}
