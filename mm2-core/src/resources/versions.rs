//! Which API versions a cluster serves, and at which version to read each object.
//!
//! Asked with `GET /apis/<group>` rather than aggregated discovery: the latter answers an empty
//! list (no error) on Kubernetes < 1.26 (research/kube-rs.md §2).

use crate::clients::{ContextClient, Op};
use crate::error::{Error, Result};
use serde::Deserialize;

/// Versions of one API group served by one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedVersions {
    pub group: String,
    /// In the server's order (most preferred first).
    pub versions: Vec<String>,
    pub preferred: Option<String>,
}

impl ServedVersions {
    pub fn serves(&self, v: &str) -> bool {
        self.versions.iter().any(|x| x == v)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ApiGroupDoc {
    #[serde(default)]
    versions: Vec<GroupVersionDoc>,
    #[serde(default)]
    preferred_version: Option<GroupVersionDoc>,
}

#[derive(Deserialize)]
struct GroupVersionDoc {
    version: String,
}

/// `GET /apis/<group>`; a group that is not served becomes [`Error::CrdMissing`].
pub async fn served_versions(cc: &ContextClient, group: &str, kind: &str) -> Result<ServedVersions> {
    let path = format!("/apis/{group}");
    let op = Op::new("get", group, kind);
    let text = match cc.get_raw(op, &path).await {
        Ok(t) => t,
        Err(Error::NotFound { .. }) | Err(Error::CrdMissing { .. }) => {
            return Err(Error::CrdMissing {
                context: cc.context.clone(),
                group: group.into(),
                kind: kind.into(),
            });
        }
        Err(e) => return Err(e),
    };
    let doc: ApiGroupDoc = serde_json::from_str(&text).map_err(|e| {
        Error::Invalid(format!(
            "context {}: unexpected discovery document for {group}: {e}",
            cc.context
        ))
    })?;
    Ok(ServedVersions {
        group: group.into(),
        versions: doc.versions.into_iter().map(|v| v.version).collect(),
        preferred: doc.preferred_version.map(|v| v.version),
    })
}

/// The EndpointSlice version a cluster serves: `v1` on 1.21+, `v1beta1` on older clusters.
pub async fn endpointslice_version(cc: &ContextClient) -> Result<String> {
    let served = served_versions(cc, "discovery.k8s.io", "EndpointSlice").await?;
    ["v1", "v1beta1"]
        .into_iter()
        .find(|v| served.serves(v))
        .map(str::to_string)
        .ok_or_else(|| Error::CrdMissing {
            context: cc.context.clone(),
            group: "discovery.k8s.io".into(),
            kind: "EndpointSlice".into(),
        })
}
