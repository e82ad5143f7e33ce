//! Cluster-scoped objects every bed cluster starts with: namespaces and its one Node.

use std::net::Ipv4Addr;

use anyhow::Result;
use k8s_openapi::api::core::v1::{Namespace, Node};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

use super::control_plane::K8S_VERSION;
use crate::kubelet::KUBELET_PORT;

pub(super) async fn create_or_exists<K>(api: &Api<K>, obj: &K) -> Result<()>
where
    K: Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    match api.create(&PostParams::default(), obj).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.is_already_exists() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Creates the cluster's one Node, Ready, with `ip` as its InternalIP and its kubelet (the
/// double of `crate::kubelet`) on port 10250 of that address.
pub(super) async fn create_node(client: &Client, name: &str, alias: &str, ip: Ipv4Addr) -> Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    let zone = if alias == "aws" {
        "eu-west-1a"
    } else {
        "pve-zone-1"
    };
    let node: Node = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                     "kubernetes.io/arch": "amd64", "topology.kubernetes.io/zone": zone}},
        "spec": {}}))?;
    create_or_exists(&api, &node).await?;
    let now = crate::operator::now_k8s();
    let cond = |t: &str, st: &str, reason: &str| {
        json!({"type": t, "status": st, "reason": reason,
        "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    let status = json!({"status": {
        "conditions": [cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                       cond("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                       cond("PIDPressure", "False", "KubeletHasSufficientPID"),
                       cond("Ready", "True", "KubeletReady")],
        "addresses": [{"type": "InternalIP", "address": ip.to_string()}, {"type": "Hostname", "address": name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": KUBELET_PORT}},
        "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
        "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
        "nodeInfo": {"kubeletVersion": K8S_VERSION, "kubeProxyVersion": K8S_VERSION, "operatingSystem": "linux",
                     "architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.24",
                     "kernelVersion": "6.1.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                     "machineID": "", "systemUUID": "", "bootID": ""}}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await?;
    Ok(())
}

/// Creates a namespace unless it exists.
pub async fn ensure_namespace(client: &Client, ns: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let obj: Namespace =
        serde_json::from_value(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))?;
    create_or_exists(&api, &obj).await
}
