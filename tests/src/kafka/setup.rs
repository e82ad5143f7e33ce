//! Fixtures for tests on real data: a namespace whose `mm2-user` Secrets hold the passwords the
//! bed's brokers know, and a real KafkaMirrorMaker2 in the working layout.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, DeleteParams, DynamicObject, PostParams};
use serde_json::{Value, json};

use super::{KafkaBed, kafka};
use crate::bed::{ALIASES, Bed, bed, ensure_namespace};
use crate::fixtures::{self, KAFKA, MM2_USER, PeerSecret, RunbookOptions};
use crate::{crds, kafka::mm2::REAL_ANNOTATION};

/// Name of the ConfigMap with Strimzi 0.51's example MirrorMaker 2 rules that [`real_mm2`] makes.
pub const STRIMZI_METRICS_CM: &str = "mm2-strimzi-metrics";
/// Its key.
pub const STRIMZI_METRICS_KEY: &str = "metrics-config.yml";
/// Strimzi 0.51's example rules (`packaging/examples/metrics/kafka-mirror-maker-2-metrics.yaml` at
/// tag 0.51.0, the ConfigMap's `metrics-config.yml`; Apache-2.0).
pub const STRIMZI_RULES: &str = include_str!("strimzi-0.51-mm2-metrics.yml");

/// Which metrics rules the real MM2's `metricsConfig` points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rules {
    /// The runbook's ConfigMap `mm2-jmx-metrics` (installed by the runbook fixtures).
    Runbook,
    /// Strimzi 0.51's example rules ([`STRIMZI_METRICS_CM`]).
    Strimzi,
}

/// Starts the brokers if needed, then installs the runbook objects in `ns` on both clusters with
/// `mm2-user` Secrets that hold the brokers' passwords, peer copies made by
/// `kubectl clusterset copy-secret --mm2`, and no runbook
/// KafkaMirrorMaker2 (the tests add the working-layout one they need).
pub async fn real_namespace(ns: &str) -> Result<&'static KafkaBed> {
    let b = bed();
    let k = tokio::task::spawn_blocking(kafka).await?;
    for alias in ALIASES {
        let client = b.client(alias).await;
        ensure_namespace(&client, ns).await?;
        let secrets: Api<Secret> = Api::namespaced(client, ns);
        if secrets.get_opt(MM2_USER).await?.is_none() {
            let s: Secret = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": MM2_USER, "namespace": ns},
                "data": {"password": ByteString(k.password(alias).as_bytes().to_vec())}}))?;
            secrets.create(&PostParams::default(), &s).await?;
        }
    }
    fixtures::install_runbook_with(
        b,
        ns,
        RunbookOptions {
            peer_secret: PeerSecret::Absent,
            ..Default::default()
        },
    )
    .await?;
    // The peer copies as the project's tool makes them (GC-safe), so tests can make it again.
    let out = std::process::Command::new(crate::bed::product_bin("kubectl-clusterset"))
        .args(["copy-secret", "--mm2", "-n", ns])
        .env("KUBECONFIG", b.kubeconfig())
        .env("NO_COLOR", "1")
        .env("XDG_CONFIG_HOME", "/nonexistent-config")
        .env_remove("MM2_CLUSTERSET_CONFIG")
        .stdin(std::process::Stdio::null())
        .output()?;
    if !out.status.success() {
        bail!(
            "kubectl clusterset copy-secret --mm2 -n {ns}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for alias in ALIASES {
        let api: Api<DynamicObject> = Api::namespaced_with(b.client(alias).await, ns, &crds::mm2("v1beta2"));
        let _ = api
            .delete(&fixtures::mm2_name(alias), &DeleteParams::default())
            .await;
    }
    Ok(k)
}

/// Creates (server-side apply as `kubectl`) a real KafkaMirrorMaker2 `mm2-<source>-to-<target>` in
/// the target cluster, v1 shape, 1 replica, mirroring topics `topics` with a source connector
/// (1 task, `source_config` added to its config) and a checkpoint connector. Returns its name.
pub async fn real_mm2(
    ns: &str,
    source: &str,
    topics: &str,
    rules: Rules,
    source_config: Value,
) -> Result<String> {
    real_mm2_with(
        ns,
        source,
        topics,
        rules,
        Mm2Extras {
            source_config,
            ..Default::default()
        },
    )
    .await
}

/// What a test adds to the KafkaMirrorMaker2 [`real_mm2_with`] makes.
#[derive(Debug, Clone, Default)]
pub struct Mm2Extras {
    /// Added to `sourceConnector.config`.
    pub source_config: Value,
    /// Added to `checkpointConnector.config`.
    pub checkpoint_config: Value,
    /// Added to `target.config` (Strimzi writes it into the worker's properties: e.g. the
    /// `producer.*` of every source task, or `offset.flush.interval.ms`).
    pub target_config: Value,
    /// `sourceConnector.listOffsets.toConfigMap.name`.
    pub list_offsets: Option<String>,
}

fn merged(mut base: Value, extra: &Value) -> Value {
    for (k, v) in extra.as_object().into_iter().flatten() {
        base[k] = v.clone();
    }
    base
}

/// [`real_mm2`] with [`Mm2Extras`].
pub async fn real_mm2_with(
    ns: &str,
    source: &str,
    topics: &str,
    rules: Rules,
    extras: Mm2Extras,
) -> Result<String> {
    let target = Bed::peer(source);
    let name = format!("mm2-{source}-to-{target}");
    let client = bed().client(target).await;
    let (cm, key) = match rules {
        Rules::Runbook => ("mm2-jmx-metrics", "mm2-metrics-config.yml"),
        Rules::Strimzi => {
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
            if api.get_opt(STRIMZI_METRICS_CM).await?.is_none() {
                let c: ConfigMap = serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": STRIMZI_METRICS_CM, "namespace": ns},
                    "data": {STRIMZI_METRICS_KEY: STRIMZI_RULES}}))?;
                api.create(&PostParams::default(), &c).await?;
            }
            (STRIMZI_METRICS_CM, STRIMZI_METRICS_KEY)
        }
    };
    let auth = |secret: &str| {
        json!({"type": "scram-sha-512", "username": MM2_USER,
               "passwordSecret": {"secretName": secret, "password": "password"}})
    };
    let source_cfg = merged(
        json!({"replication.factor": -1, "offset-syncs.topic.replication.factor": -1,
               "sync.topic.acls.enabled": "false", "refresh.topics.interval.seconds": 2}),
        &extras.source_config,
    );
    let checkpoint_cfg = merged(
        json!({"checkpoints.topic.replication.factor": -1, "emit.checkpoints.interval.seconds": 5}),
        &extras.checkpoint_config,
    );
    let target_cfg = merged(
        json!({"config.storage.replication.factor": -1, "offset.storage.replication.factor": -1,
               "status.storage.replication.factor": -1}),
        &extras.target_config,
    );
    let mut source_connector = json!({"tasksMax": 1, "config": source_cfg});
    if let Some(cm) = &extras.list_offsets {
        source_connector["listOffsets"] = json!({"toConfigMap": {"name": cm}});
    }
    let obj = json!({
    "apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaMirrorMaker2",
    "metadata": {"name": name, "namespace": ns, "annotations": {REAL_ANNOTATION: "real"},
                 "labels": {"app": "kafka-mirrormaker2", "environment": target}},
    "spec": {
        "version": "4.1.0", "replicas": 1,
        "target": {"alias": target, "bootstrapServers": format!("{KAFKA}-kafka-bootstrap.{ns}.svc:9092"),
                   "groupId": "mirrormaker2-cluster", "configStorageTopic": "mirrormaker2-cluster-configs",
                   "offsetStorageTopic": "mirrormaker2-cluster-offsets", "statusStorageTopic": "mirrormaker2-cluster-status",
                   "authentication": auth(MM2_USER),
                   "config": target_cfg},
        "mirrors": [{
            "source": {"alias": source, "bootstrapServers": format!("kafka-bootstrap-{source}.{ns}.svc.clusterset.local:9092"),
                       "authentication": auth(&format!("{MM2_USER}-{source}"))},
            "sourceConnector": source_connector,
            "checkpointConnector": {"config": checkpoint_cfg},
            "topicsPattern": topics, "groupsPattern": ".*"}],
        "metricsConfig": {"type": "jmxPrometheusExporter",
                          "valueFrom": {"configMapKeyRef": {"name": cm, "key": key}}}
    }});
    fixtures::apply(&client, &obj, "kubectl").await?;
    Ok(name)
}

/// Deletes the KafkaMirrorMaker2 `ns/name` of `alias` at the end of a test: its worker JVMs stop
/// a few seconds later ([`super::mm2`] forgets a CR it no longer sees), so the tests after it do
/// not share the 2 cores with an idle MirrorMaker 2.
pub async fn retire(alias: &str, ns: &str, name: &str) -> Result<()> {
    let api: Api<DynamicObject> = Api::namespaced_with(bed().client(alias).await, ns, &crds::mm2("v1"));
    api.delete(name, &DeleteParams::default()).await?;
    Ok(())
}

/// The connector entries of `status.connectors` of `ns/name` in `alias`.
pub async fn status_connectors(alias: &str, ns: &str, name: &str) -> Result<Vec<Value>> {
    let api: Api<DynamicObject> = Api::namespaced_with(bed().client(alias).await, ns, &crds::mm2("v1"));
    let o = api.get(name).await?;
    Ok(o.data["status"]["connectors"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

/// `(connector state, task states)` of connector `connector` in a `status.connectors` list.
pub fn states(connectors: &[Value], connector: &str) -> Option<(String, Vec<String>)> {
    let c = connectors.iter().find(|c| c["name"] == connector)?;
    let tasks = c["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["state"].as_str().unwrap_or_default().to_string())
        .collect();
    Some((
        c["connector"]["state"].as_str().unwrap_or_default().to_string(),
        tasks,
    ))
}

/// Polls `status.connectors` of `ns/name` in `alias` until `ok` holds; fails with the last value.
pub async fn wait_status<F>(alias: &str, ns: &str, name: &str, timeout: Duration, ok: F) -> Result<Vec<Value>>
where
    F: Fn(&[Value]) -> bool,
{
    let deadline = Instant::now() + timeout;
    loop {
        let c = status_connectors(alias, ns, name).await.unwrap_or_default();
        if ok(&c) {
            return Ok(c);
        }
        if Instant::now() > deadline {
            bail!("{alias}: {ns}/{name} status.connectors not as expected after {timeout:?}: {c:?}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
