//! The Connect worker pods of a KafkaMirrorMaker2, found the way the scale subresource does:
//! through `status.labelSelector` (whose key order is not stable, so it is parsed as a set).

use crate::clients::{ContextClient, Op};
use crate::error::Result;
use crate::resources::inventory::Mm2Object;
use crate::resources::strimzi::parse_label_selector;
use k8s_openapi::api::core::v1::Pod;

/// Pods selected by the MM2's `status.labelSelector`; `None` before the operator reported one.
pub async fn pods_of(cc: &ContextClient, mm2: &Mm2Object) -> Result<Option<Vec<Pod>>> {
    let Some(sel) = mm2.status.as_ref().and_then(|s| s.label_selector.clone()) else {
        return Ok(None);
    };
    let selector: Vec<String> = parse_label_selector(&sel)
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let api: kube::Api<Pod> = kube::Api::namespaced(cc.client.clone(), &mm2.namespace);
    let lp = kube::api::ListParams::default().labels(&selector.join(","));
    let pods = cc
        .call(Op::new("list", "pods", "Pod").ns(&mm2.namespace), api.list(&lp))
        .await?;
    Ok(Some(pods.items))
}

/// Condition Ready=True.
pub fn is_ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}
