//! The Pods the simulated operator keeps for a KafkaMirrorMaker2: Strimzi's labels and a Running
//! status at the bed's pod address.

use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::status::now_k8s;

/// Status of a Running, Ready pod at `ip` on a node at `host_ip` with the given (name, image)
/// containers.
pub fn running_pod_status(ip: Ipv4Addr, host_ip: Ipv4Addr, containers: &[(String, String)]) -> Value {
    let now = now_k8s();
    let cond =
        |t: &str| json!({"type": t, "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
    let statuses: Vec<Value> = containers
        .iter()
        .enumerate()
        .map(|(i, (n, img))| {
            json!({"name": n, "ready": true, "started": true, "restartCount": 0, "image": img,
                   "imageID": format!("{img}@sha256:{:064x}", i + 1),
                   "containerID": format!("containerd://{:064x}", u64::from(ip.to_bits()) * 31 + i as u64),
                   "state": {"running": {"startedAt": now}}})
        })
        .collect();
    json!({"phase": "Running",
           "conditions": [cond("Initialized"), cond("Ready"), cond("ContainersReady"), cond("PodScheduled")],
           "hostIP": host_ip.to_string(), "podIP": ip.to_string(), "podIPs": [{"ip": ip.to_string()}], "startTime": now,
           "containerStatuses": statuses, "qosClass": "Burstable"})
}

/// The KafkaMirrorMaker2 (or other Strimzi cluster) a pod belongs to: its `strimzi.io/cluster`
/// label, "" when it has none.
pub(crate) fn strimzi_cluster_of(pod: &Pod) -> String {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("strimzi.io/cluster"))
        .cloned()
        .unwrap_or_default()
}

/// Labels of MM2 pods: the CR's (minus Strimzi's exclusion pattern) plus Strimzi's (strimzi.md §3).
pub fn mm2_pod_labels(
    cr_labels: Option<&std::collections::BTreeMap<String, String>>,
    name: &str,
    pod: &str,
) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in cr_labels.into_iter().flatten() {
        let excluded = k.starts_with("kustomize.toolkit.fluxcd.io")
            || (k.starts_with("app.kubernetes.io/") && k != "app.kubernetes.io/part-of");
        if !excluded {
            m.insert(k.clone(), json!(v));
        }
    }
    let component = format!("{name}-mirrormaker2");
    let cut = |s: String| s.chars().take(63).collect::<String>();
    for (k, v) in [
        ("strimzi.io/cluster", name.to_string()),
        ("strimzi.io/kind", "KafkaMirrorMaker2".to_string()),
        ("strimzi.io/name", component.clone()),
        ("strimzi.io/component-type", "kafka-mirror-maker-2".to_string()),
        ("app.kubernetes.io/name", "kafka-mirror-maker-2".to_string()),
        ("app.kubernetes.io/instance", cut(name.to_string())),
        ("app.kubernetes.io/part-of", cut(format!("strimzi-{name}"))),
        (
            "app.kubernetes.io/managed-by",
            "strimzi-cluster-operator".to_string(),
        ),
        ("strimzi.io/pod-name", pod.to_string()),
        ("strimzi.io/controller", "strimzipodset".to_string()),
        ("strimzi.io/controller-name", component.clone()),
    ] {
        m.insert(k.into(), json!(v));
    }
    Value::Object(m)
}
