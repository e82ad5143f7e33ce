//! Server-side apply with field manager `kubectl-clusterset`, preceded by a read so that an
//! object which already says what we want is not written at all (its resourceVersion stays put,
//! whatever the API server version does with no-op applies).

use super::FIELD_MANAGER;
use crate::clients::{ContextClient, Op, resource_name};
use crate::error::{Error, Result};
use crate::write::DryRun;
use kube::api::{Patch, PatchParams};
use kube::core::ApiResource;
use serde::Serialize;
use serde_json::Value;

/// What an apply did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Applied {
    Created,
    Configured,
    Unchanged,
    /// `--dry-run=client`: nothing sent.
    WouldCreate,
    WouldConfigure,
    /// `--dry-run=server`: validated by the API server, not persisted.
    ServerDryRunCreate,
    ServerDryRunConfigure,
}

impl Applied {
    pub fn as_str(self) -> &'static str {
        match self {
            Applied::Created => "created",
            Applied::Configured => "configured",
            Applied::Unchanged => "unchanged",
            Applied::WouldCreate => "would be created (dry run)",
            Applied::WouldConfigure => "would be configured (dry run)",
            Applied::ServerDryRunCreate => "created (server dry run)",
            Applied::ServerDryRunConfigure => "configured (server dry run)",
        }
    }
}

/// Is every field of `want` present in `have` with the same value? Arrays must have the same
/// length and match element by element (the API server adds defaults, never elements).
pub fn json_subset(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w.iter().all(|(k, v)| {
            h.get(k).is_some_and(|hv| json_subset(v, hv)) || (v.is_null() && h.get(k).is_none())
        }),
        (Value::Array(w), Value::Array(h)) => {
            w.len() == h.len() && w.iter().zip(h).all(|(a, b)| json_subset(a, b))
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    }
}

/// Apply `body` (apiVersion, kind, metadata.name/namespace set) unless the live object already
/// matches it. `force` takes over fields other managers own (a 409 conflict otherwise).
pub async fn apply(
    cc: &ContextClient,
    ar: &ApiResource,
    body: &Value,
    dry_run: DryRun,
    force: bool,
) -> Result<Applied> {
    let name = body["metadata"]["name"].as_str().unwrap_or_default().to_string();
    let ns = body["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let existing = cc.get_opt(ar, &ns, &name).await?;
    let exists = existing.is_some();
    if let Some(obj) = &existing {
        let have = serde_json::to_value(obj).unwrap_or_default();
        if json_subset(body, &have) {
            return Ok(Applied::Unchanged);
        }
    }
    if dry_run == DryRun::Client {
        return Ok(if exists {
            Applied::WouldConfigure
        } else {
            Applied::WouldCreate
        });
    }
    let mut pp = PatchParams::apply(FIELD_MANAGER);
    pp.force = force;
    pp.dry_run = dry_run == DryRun::Server;
    let res = resource_name(ar);
    let api = cc.dynamic(ar, &ns);
    let r = cc
        .call(
            Op::new("patch", &res, &ar.kind).ns(&ns).name(&name),
            api.patch(&name, &pp, &Patch::Apply(body)),
        )
        .await;
    match r {
        Ok(_) => Ok(match (dry_run, exists) {
            (DryRun::Server, false) => Applied::ServerDryRunCreate,
            (DryRun::Server, true) => Applied::ServerDryRunConfigure,
            (_, false) => Applied::Created,
            (_, true) => Applied::Configured,
        }),
        Err(Error::Api {
            code: 409, message, ..
        }) => Err(Error::Refused {
            reason: format!(
                "context {}: {} {ns}/{name} has fields owned by another field manager: {message}",
                cc.context, ar.kind
            ),
            hint: "if Flux manages it, change the manifest in Git (`-o yaml` prints it); to take the fields over \
                   anyway re-run with --force"
                .into(),
        }),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subset_ignores_server_defaults_but_not_changes() {
        let want = json!({"spec": {"type": "ClusterIP", "ports": [{"name": "tcp-scram", "port": 9092}]}});
        let have = json!({"spec": {"type": "ClusterIP", "clusterIP": "10.0.0.1",
            "ports": [{"name": "tcp-scram", "port": 9092, "protocol": "TCP", "targetPort": 9092}]}});
        assert!(json_subset(&want, &have));
        let more = json!({"spec": {"ports": [{"port": 9092}, {"port": 9093}]}});
        assert!(!json_subset(&more, &have));
        let other = json!({"spec": {"type": "NodePort"}});
        assert!(!json_subset(&other, &have));
        assert!(json_subset(&json!({"a": 1.0}), &json!({"a": 1})));
    }
}
