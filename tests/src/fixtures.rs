//! The runbook deployment (shared/reference/kafka-replication-runbook.txt), recreated in both
//! clusters in any namespace.
//!
//! Flux-deployed objects (Kafka, KafkaNodePool, KafkaUser, KafkaMirrorMaker2, the
//! `kafka-bootstrap-<alias>` Service + ServiceExport, ConfigMap `mm2-jmx-metrics`) carry the
//! kustomize-controller labels and are written by server-side apply with field manager
//! `kustomize-controller`. The Strimzi-made objects (Secret `mm2-user`, bootstrap Service,
//! broker Pods, statuses) are written as the operators would. The MM2 statuses and pods come
//! from the simulated operator ([`crate::operator`]).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::Client;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::bed::{Bed, FLUX_NS, ensure_namespace, random_alnum};
use crate::crds::{self, parse_yaml_docs, resource};
use crate::operator::{now_k8s, running_pod_status};

/// The Kafka cluster name in both clusters.
pub const KAFKA: &str = "kafka-rciis-prod";
/// The KafkaUser (and its Secret) MM2 uses.
pub const MM2_USER: &str = "mm2-user";
/// The node pool name of the brokers.
pub const POOL: &str = "dual-role";
/// The Flux Kustomization that deploys the kafka apps.
pub const KUSTOMIZATION: &str = "kafka";
/// The Flux field manager.
pub const FLUX_MANAGER: &str = "kustomize-controller";
/// Git revision shown by the Flux fixtures.
pub const FLUX_REVISION: &str = "main@sha1:4d8c2f1a9b7e6d5c3b2a190817f6e5d4c3b2a190";
/// Broker image.
pub const KAFKA_IMAGE: &str = "quay.io/strimzi/kafka:0.51.0-kafka-4.1.0";

/// `mm2-<alias>-to-<peer>`: the runbook MM2 running in cluster `alias`.
pub fn mm2_name(alias: &str) -> String {
    format!("mm2-{alias}-to-{}", Bed::peer(alias))
}

/// Names of the pods of an MM2 with `replicas` replicas.
pub fn mm2_pods(mm2: &str, replicas: usize) -> Vec<String> {
    (0..replicas).map(|i| format!("{mm2}-mirrormaker2-{i}")).collect()
}

/// Broker pod names in cluster `alias` (aws: 1 broker, proxmox: 3).
pub fn broker_pods(alias: &str) -> Vec<String> {
    (0..brokers(alias))
        .map(|i| format!("{KAFKA}-{POOL}-{i}"))
        .collect()
}

fn brokers(alias: &str) -> usize {
    if alias == "aws" { 1 } else { 3 }
}

/// Which `mm2-user-<peer>` Secret [`install_runbook_with`] makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PeerSecret {
    /// Exactly what the runbook's `kubectl get -o json | jq ... | kubectl apply` copy makes: the
    /// peer's Secret renamed, with its labels and its ownerReference to the *peer's* KafkaUser
    /// uid, and kubectl's last-applied-configuration annotation. The controller manager's
    /// garbage collector deletes it within seconds (same-named KafkaUser, another uid).
    #[default]
    JqCopy,
    /// A clean copy: same password, no ownerReferences, no Strimzi labels.
    Clean,
    /// No copied Secret (deleted if present).
    Absent,
}

/// Where each direction's KafkaMirrorMaker2 runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Layout {
    /// The runbook as written: each MM2 in its SOURCE cluster (`mm2-proxmox-to-aws` in proxmox,
    /// `connectCluster: proxmox`). Strimzi 0.51 rejects both: NotReady, nothing runs.
    #[default]
    Runbook,
    /// The layout that runs: each MM2 in its TARGET cluster, v1beta2 shape
    /// (`mm2-proxmox-to-aws` in aws, `connectCluster: aws`).
    Working,
    /// The working layout in the Strimzi v1 shape (`target` + `mirrors[].source`).
    WorkingV1,
}

impl Layout {
    /// The cluster whose MM2 runs `source->peer`.
    pub fn home_of(self, source: &str) -> &'static str {
        match self {
            Layout::Runbook => Bed::peer(Bed::peer(source)),
            Layout::Working | Layout::WorkingV1 => Bed::peer(source),
        }
    }

    /// The KafkaMirrorMaker2 this layout runs in cluster `alias`.
    pub fn manifest(self, alias: &str, ns: &str) -> Value {
        match self {
            Layout::Runbook => runbook_mm2(alias, ns),
            Layout::Working => working_mm2(alias, ns),
            Layout::WorkingV1 => working_mm2_v1(alias, ns),
        }
    }
}

/// Options of [`install_runbook_with`].
#[derive(Clone, Debug, Default)]
pub struct RunbookOptions {
    pub peer_secret: PeerSecret,
    pub layout: Layout,
}

/// What [`install_runbook`] made.
#[derive(Clone, Debug)]
pub struct Runbook {
    pub ns: String,
    pub layout: Layout,
    /// SCRAM password of `mm2-user` per cluster alias.
    pub passwords: BTreeMap<String, String>,
}

impl Runbook {
    /// (cluster it runs in, name) of the KafkaMirrorMaker2 that replicates `source->peer`.
    pub fn mm2_of(&self, source: &str) -> (&'static str, String) {
        (
            self.layout.home_of(source),
            format!("mm2-{source}-to-{}", Bed::peer(source)),
        )
    }

    pub fn password(&self, alias: &str) -> &str {
        self.passwords
            .get(alias)
            .map(|s| s.as_str())
            .unwrap_or_else(|| panic!("no password for {alias}"))
    }
}

fn sub(template: &str, vars: &[(&str, &str)]) -> String {
    let mut s = template.to_string();
    for (k, v) in vars {
        s = s.replace(&format!("@{k}@"), v);
    }
    assert!(
        !s.contains("@NS@") && !s.contains("@LOCAL@") && !s.contains("@HOME@"),
        "unsubstituted template"
    );
    s
}

fn one_doc(yaml: &str) -> Value {
    let mut docs = parse_yaml_docs(yaml).expect("fixture YAML parses");
    assert_eq!(docs.len(), 1, "one document expected");
    docs.remove(0)
}

const MM2_TEMPLATE: &str = r#"
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaMirrorMaker2
metadata:
  name: @NAME@
  namespace: @NS@
  labels:
    app: kafka-mirrormaker2
    environment: @HOME@
spec:
  version: 4.1.0
  replicas: 2
  connectCluster: "@HOME@"
  clusters:
  - alias: "@HOME@"
    bootstrapServers: kafka-rciis-prod-kafka-bootstrap.@NS@.svc:9092
    authentication:
      type: scram-sha-512
      username: mm2-user
      passwordSecret:
        secretName: mm2-user
        password: password
    config:
      config.storage.replication.factor: @CONNECT_RF@
      offset.storage.replication.factor: @CONNECT_RF@
      status.storage.replication.factor: @CONNECT_RF@
  - alias: "@PEER@"
    bootstrapServers: kafka-bootstrap-@PEER@.@NS@.svc.clusterset.local:9092
    authentication:
      type: scram-sha-512
      username: mm2-user
      passwordSecret:
        secretName: mm2-user-@PEER@
        password: password
  mirrors:
  - sourceCluster: "@SOURCE@"
    targetCluster: "@TARGET@"
    sourceConnector:
      tasksMax: 5
      autoRestart:
        enabled: true
      config:
        replication.factor: @TARGET_RF@
        offset-syncs.topic.replication.factor: @TARGET_RF@
        offset-syncs.topic.location: "target"
        refresh.topics.interval.seconds: 60
        replication.policy.class: "org.apache.kafka.connect.mirror.DefaultReplicationPolicy"
        replication.policy.separator: "."
        sync.topic.acls.enabled: "false"
        producer.override.acks: all
        producer.override.compression.type: lz4
        producer.override.batch.size: 327680
        producer.override.linger.ms: 100
    checkpointConnector:
      autoRestart:
        enabled: true
      config:
        checkpoints.topic.replication.factor: @TARGET_RF@
        sync.group.offsets.enabled: true
        sync.group.offsets.interval.seconds: 60
        emit.checkpoints.interval.seconds: 60
        refresh.groups.interval.seconds: 600
        replication.policy.class: "org.apache.kafka.connect.mirror.DefaultReplicationPolicy"
    heartbeatConnector:
      config:
        heartbeats.topic.replication.factor: @TARGET_RF@
        emit.heartbeats.interval.seconds: 10
    topicsPattern: ".*"
    topicsExcludePattern: ".*[\\-\\.]internal|__.*"
    groupsPattern: ".*"
  resources:
    requests:
      cpu: "500m"
      memory: 1Gi
    limits:
      cpu: "2000m"
      memory: 4Gi
  jvmOptions:
    -Xms: 1024m
    -Xmx: 3072m
  logging:
    type: inline
    loggers:
      rootLogger.level: INFO
      logger.mirror.name: org.apache.kafka.connect.mirror
      logger.mirror.level: DEBUG
  livenessProbe:
    initialDelaySeconds: 60
    timeoutSeconds: 5
  readinessProbe:
    initialDelaySeconds: 30
    timeoutSeconds: 5
  metricsConfig:
    type: jmxPrometheusExporter
    valueFrom:
      configMapKeyRef:
        name: mm2-jmx-metrics
        key: mm2-metrics-config.yml
"#;

/// The KafkaMirrorMaker2 of direction `source->target` (v1beta2 shape) running in cluster `home`:
/// the runbook's manifest with the Connect cluster (and its local bootstrap, `mm2-user` Secret and
/// storage replication factor) moved to `home`. Replication factors follow the runbook's table:
/// the mirror's topics live in the target (aws 1, proxmox 3), Connect's storage topics in `home`.
pub fn mm2_manifest(source: &str, target: &str, home: &str, ns: &str) -> Value {
    let peer = if home == source { target } else { source };
    let rf = |alias: &str| brokers(alias).to_string();
    let name = format!("mm2-{source}-to-{target}");
    one_doc(&sub(
        MM2_TEMPLATE,
        &[
            ("NAME", &name),
            ("NS", ns),
            ("HOME", home),
            ("PEER", peer),
            ("SOURCE", source),
            ("TARGET", target),
            ("CONNECT_RF", &rf(home)),
            ("TARGET_RF", &rf(target)),
        ],
    ))
}

/// The runbook's KafkaMirrorMaker2 of cluster `alias` (v1beta2 shape) in namespace `ns`, exactly
/// as the runbook deploys it, in its SOURCE cluster: `mm2-proxmox-to-aws` in proxmox with
/// `connectCluster: proxmox` (Strimzi 0.51 rejects it); `mm2-aws-to-proxmox` for aws likewise.
pub fn runbook_mm2(alias: &str, ns: &str) -> Value {
    mm2_manifest(alias, Bed::peer(alias), alias, ns)
}

/// The working layout's KafkaMirrorMaker2 running in cluster `alias` (v1beta2 shape): direction
/// `peer->alias`, in its TARGET cluster, `connectCluster: alias` (what `kubectl mm2 convert
/// --to v1beta2` produces).
pub fn working_mm2(alias: &str, ns: &str) -> Value {
    mm2_manifest(Bed::peer(alias), alias, alias, ns)
}

/// [`working_mm2`] in the Strimzi v1 layout (`target` + `mirrors[].source`), as Strimzi's own
/// v1 mapping turns it: group id and storage topics explicit, no heartbeat connector (v1 runs it
/// as a KafkaConnector of its own), the rest of the mirror unchanged.
pub fn working_mm2_v1(alias: &str, ns: &str) -> Value {
    let mut o = working_mm2(alias, ns);
    o["apiVersion"] = json!("kafka.strimzi.io/v1");
    let spec = o["spec"].as_object_mut().expect("spec");
    let clusters = spec.remove("clusters").unwrap_or_default();
    let home = spec.remove("connectCluster").unwrap_or_default();
    let by_alias = |a: &Value| {
        clusters
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| &c["alias"] == a)
            .cloned()
            .unwrap_or_default()
    };
    let mut target = by_alias(&home);
    target["groupId"] = json!("mirrormaker2-cluster");
    target["configStorageTopic"] = json!("mirrormaker2-cluster-configs");
    target["offsetStorageTopic"] = json!("mirrormaker2-cluster-offsets");
    target["statusStorageTopic"] = json!("mirrormaker2-cluster-status");
    spec.insert("target".into(), target);
    for m in spec
        .get_mut("mirrors")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        let m = m.as_object_mut().expect("mirror");
        let source = m.remove("sourceCluster").unwrap_or_default();
        m.remove("targetCluster");
        m.remove("heartbeatConnector");
        m.insert("source".into(), by_alias(&source));
    }
    o
}

const KAFKA_USER_TEMPLATE: &str = r#"
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaUser
metadata:
  name: mm2-user
  namespace: @NS@
  labels:
    strimzi.io/cluster: kafka-rciis-prod
spec:
  authentication:
    type: scram-sha-512
  authorization:
    type: simple
    acls:
      # Read/Write all application topics
      - resource:
          type: topic
          name: "*"
          patternType: literal
        operations: [Read, Write, Create, Describe]
      # Consumer groups
      - resource:
          type: group
          name: "*"
          patternType: literal
        operations: [Read, Write, Describe]
      # MM2 internal topics
      - resource:
          type: topic
          name: mm2-offset-syncs
          patternType: prefix
        operations: [Read, Write, Create, Describe]
      - resource:
          type: topic
          name: heartbeats
          patternType: literal
        operations: [Read, Write, Create, Describe]
      - resource:
          type: topic
          name: mirrormaker2-cluster
          patternType: prefix
        operations: [Read, Write, Create, Describe]
      # Kafka Connect internal topics
      - resource:
          type: topic
          name: connect-cluster
          patternType: prefix
        operations: [Read, Write, Create, Describe]
"#;

const EXPORT_TEMPLATE: &str = r#"
---
apiVersion: v1
kind: Service
metadata:
  name: kafka-bootstrap-@LOCAL@
  namespace: @NS@
spec:
  type: ClusterIP
  selector:
    strimzi.io/broker-role: "true"
    strimzi.io/cluster: kafka-rciis-prod
    strimzi.io/kind: Kafka
    strimzi.io/name: kafka-rciis-prod-kafka
  ports:
  - name: tcp-scram
    port: 9092
    targetPort: 9092
    protocol: TCP
  - name: tcp-plain
    port: 9093
    targetPort: 9093
    protocol: TCP
---
apiVersion: multicluster.x-k8s.io/v1alpha1
kind: ServiceExport
metadata:
  name: kafka-bootstrap-@LOCAL@
  namespace: @NS@
"#;

/// The runbook's `mm2-jmx-metrics` rules (Phase 4), one file shared with mm2-core's tests.
const RUNBOOK_METRICS_RULES: &str = include_str!("../../mm2-core/testdata/runbook/mm2-metrics-config.yml");

/// The runbook's metrics ConfigMap in namespace `ns`.
fn metrics_config_map(ns: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "mm2-jmx-metrics", "namespace": ns},
           "data": {"mm2-metrics-config.yml": RUNBOOK_METRICS_RULES}})
}

const KAFKA_TEMPLATE: &str = r#"
---
apiVersion: kafka.strimzi.io/v1beta2
kind: Kafka
metadata:
  name: kafka-rciis-prod
  namespace: @NS@
  annotations:
    strimzi.io/node-pools: enabled
    strimzi.io/kraft: enabled
spec:
  kafka:
    version: 4.1.0
    metadataVersion: 4.1-IV1
    listeners:
      - name: scram
        port: 9092
        type: internal
        tls: false
        authentication:
          type: scram-sha-512
      - name: plain
        port: 9093
        type: internal
        tls: false
    authorization:
      type: simple
    config:
      offsets.topic.replication.factor: @RF@
      transaction.state.log.replication.factor: @RF@
      transaction.state.log.min.isr: @MINISR@
      default.replication.factor: @RF@
      min.insync.replicas: @MINISR@
    jvmOptions:
      -Xms: 2048m
      -Xmx: 8192m
  entityOperator:
    topicOperator: {}
    userOperator: {}
---
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaNodePool
metadata:
  name: dual-role
  namespace: @NS@
  labels:
    strimzi.io/cluster: kafka-rciis-prod
spec:
  replicas: @REPLICAS@
  roles:
    - controller
    - broker
  storage:
    type: jbod
    volumes:
      - id: 0
        type: persistent-claim
        size: 100Gi
        class: @STORAGE_CLASS@
        deleteClaim: false
        kraftMetadata: shared
  resources:
    requests:
      memory: @MEM_REQ@
      cpu: "500m"
    limits:
      memory: @MEM_LIMIT@
      cpu: "2"
"#;

/// The runbook's Kafka + KafkaNodePool of `alias` (aws: 1 broker, 2Gi limit but -Xmx 8192m, as
/// the runbook warns; proxmox: 3 brokers, 8Gi).
pub fn kafka_objects(alias: &str, ns: &str) -> Vec<Value> {
    let aws = alias == "aws";
    let text = sub(
        KAFKA_TEMPLATE,
        &[
            ("NS", ns),
            ("RF", if aws { "1" } else { "3" }),
            ("MINISR", if aws { "1" } else { "2" }),
            ("REPLICAS", if aws { "1" } else { "3" }),
            ("STORAGE_CLASS", if aws { "gp3" } else { "ceph-rbd-single" }),
            ("MEM_REQ", if aws { "1Gi" } else { "4Gi" }),
            ("MEM_LIMIT", if aws { "2Gi" } else { "8Gi" }),
        ],
    );
    parse_yaml_docs(&text).expect("kafka fixture parses")
}

fn flux_labels(obj: &mut Value) {
    let labels = &mut obj["metadata"]["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    labels["kustomize.toolkit.fluxcd.io/name"] = json!(KUSTOMIZATION);
    labels["kustomize.toolkit.fluxcd.io/namespace"] = json!(FLUX_NS);
}

fn ar_of(obj: &Value) -> Result<ApiResource> {
    let api_version = obj["apiVersion"]
        .as_str()
        .ok_or_else(|| anyhow!("no apiVersion"))?;
    let kind = obj["kind"].as_str().ok_or_else(|| anyhow!("no kind"))?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let plural = match kind {
        "KafkaMirrorMaker2" => "kafkamirrormaker2s".to_string(),
        k if k.ends_with('y') => format!("{}ies", k[..k.len() - 1].to_lowercase()),
        k => format!("{}s", k.to_lowercase()),
    };
    Ok(resource(group, version, kind, &plural))
}

/// Server-side apply of `obj` (namespaced) with `manager`, forced.
pub async fn apply(client: &Client, obj: &Value, manager: &str) -> Result<DynamicObject> {
    let ar = ar_of(obj)?;
    let ns = obj["metadata"]["namespace"]
        .as_str()
        .ok_or_else(|| anyhow!("no namespace"))?;
    let name = obj["metadata"]["name"]
        .as_str()
        .ok_or_else(|| anyhow!("no name"))?;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &ar);
    let o = api
        .patch(name, &PatchParams::apply(manager).force(), &Patch::Apply(obj))
        .await
        .with_context(|| format!("apply {} {ns}/{name}", ar.kind))?;
    Ok(o)
}

async fn patch_status(
    client: &Client,
    ar: &ApiResource,
    ns: &str,
    name: &str,
    manager: &str,
    status: Value,
) -> Result<()> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, ar);
    let pp = PatchParams {
        field_manager: Some(manager.to_string()),
        ..Default::default()
    };
    api.patch_status(name, &pp, &Patch::Merge(json!({"status": status})))
        .await
        .with_context(|| format!("status of {} {ns}/{name}", ar.kind))?;
    Ok(())
}

fn ready(now: &str, reason: Option<&str>, message: Option<&str>, generation: Option<i64>) -> Value {
    let mut c = json!({"type": "Ready", "status": "True", "lastTransitionTime": now});
    if let Some(g) = generation {
        c["observedGeneration"] = json!(g);
    }
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    c
}

fn inventory_id(obj: &Value) -> (String, String) {
    let api_version = obj["apiVersion"].as_str().unwrap_or("");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let id = format!(
        "{}_{}_{}_{}",
        obj["metadata"]["namespace"].as_str().unwrap_or(""),
        obj["metadata"]["name"].as_str().unwrap_or(""),
        group,
        obj["kind"].as_str().unwrap_or("")
    );
    (id, version.to_string())
}

/// Keys sorted recursively (how kubectl's Go JSON encoder writes the last-applied annotation).
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                out.insert(k.clone(), sorted(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn jaas(user: &str, password: &str) -> String {
    format!(
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{user}\" password=\"{password}\";"
    )
}

/// Phase A in one cluster: everything except the copied peer Secret. Returns the password.
async fn install_local(bed: &Bed, alias: &str, ns: &str, layout: Layout) -> Result<(String, Vec<Value>)> {
    let client = bed.client(alias).await;
    ensure_namespace(&client, ns).await?;
    ensure_namespace(&client, FLUX_NS).await?;
    let now = now_k8s();

    // Flux source + Kustomization.
    let repo = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "flux-system", "namespace": FLUX_NS,
                     "labels": {"kustomize.toolkit.fluxcd.io/name": "flux-system",
                                "kustomize.toolkit.fluxcd.io/namespace": FLUX_NS}},
        "spec": {"interval": "1m0s", "ref": {"branch": "main"}, "secretRef": {"name": "flux-system"},
                 "url": "ssh://git@git.rciis.example/rciis/fleet-infra.git", "timeout": "60s"}});
    let repo_o = apply(&client, &repo, FLUX_MANAGER).await?;
    patch_status(&client, &crds::git_repository(), FLUX_NS, "flux-system", "source-controller", json!({
        "conditions": [ready(&now, Some("Succeeded"), Some(&format!("stored artifact for revision '{FLUX_REVISION}'")), repo_o.metadata.generation),
                       {"type": "ArtifactInStorage", "status": "True", "reason": "Succeeded", "lastTransitionTime": now,
                        "message": format!("stored artifact for revision '{FLUX_REVISION}'")}],
        "artifact": {"revision": FLUX_REVISION, "path": "gitrepository/flux-system/flux-system/4d8c2f1a.tar.gz",
                     "url": "http://source-controller.flux-system.svc.cluster.local./gitrepository/flux-system/flux-system/4d8c2f1a.tar.gz",
                     "digest": "sha256:9f2c4e1b7a6d5c3b2a190817f6e5d4c3b2a1908176e5d4c3b2a190817f6e5d4c", "lastUpdateTime": now, "size": 48213},
        "observedGeneration": repo_o.metadata.generation}))
    .await?;
    let ks = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": KUSTOMIZATION, "namespace": FLUX_NS,
                     "labels": {"kustomize.toolkit.fluxcd.io/name": "flux-system",
                                "kustomize.toolkit.fluxcd.io/namespace": FLUX_NS}},
        "spec": {"interval": "10m", "path": format!("./flux/apps/{alias}/kafka"), "prune": true,
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}});
    apply(&client, &ks, FLUX_MANAGER).await?;

    // Flux-applied objects.
    let mut objs: Vec<Value> = Vec::new();
    objs.push(metrics_config_map(ns));
    objs.extend(kafka_objects(alias, ns));
    objs.extend(parse_yaml_docs(&sub(
        EXPORT_TEMPLATE,
        &[("NS", ns), ("LOCAL", alias)],
    ))?);
    objs.push(one_doc(&sub(KAFKA_USER_TEMPLATE, &[("NS", ns)])));
    let mm2 = layout.manifest(alias, ns);
    remove_other_mm2s(&client, ns, &mm2).await?;
    objs.push(mm2);
    let mut applied: BTreeMap<String, DynamicObject> = BTreeMap::new();
    for o in objs.iter_mut() {
        flux_labels(o);
        let r = apply(&client, o, FLUX_MANAGER).await?;
        applied.insert(o["kind"].as_str().unwrap_or("").to_string(), r);
    }
    let gen_of = |k: &str| applied.get(k).and_then(|o| o.metadata.generation);
    let uid_of = |k: &str| {
        applied
            .get(k)
            .and_then(|o| o.metadata.uid.clone())
            .unwrap_or_default()
    };

    // Strimzi cluster operator: bootstrap Service, broker pods, Kafka + node pool status.
    let n = brokers(alias);
    let broker_labels = |pod: &str| {
        json!({"strimzi.io/cluster": KAFKA, "strimzi.io/kind": "Kafka", "strimzi.io/name": format!("{KAFKA}-kafka"),
               "strimzi.io/component-type": "kafka", "strimzi.io/pool-name": POOL,
               "strimzi.io/broker-role": "true", "strimzi.io/controller-role": "true",
               "strimzi.io/pod-name": pod, "strimzi.io/controller": "strimzipodset",
               "strimzi.io/controller-name": format!("{KAFKA}-{POOL}"),
               "app.kubernetes.io/name": "kafka", "app.kubernetes.io/instance": KAFKA,
               "app.kubernetes.io/part-of": format!("strimzi-{KAFKA}"),
               "app.kubernetes.io/managed-by": "strimzi-cluster-operator"})
    };
    let kafka_owner = json!([{"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "Kafka", "name": KAFKA,
                              "uid": uid_of("Kafka"), "controller": false, "blockOwnerDeletion": false}]);
    let bootstrap = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": format!("{KAFKA}-kafka-bootstrap"), "namespace": ns, "ownerReferences": kafka_owner,
                     "labels": {"strimzi.io/cluster": KAFKA, "strimzi.io/kind": "Kafka", "strimzi.io/name": format!("{KAFKA}-kafka"),
                                "strimzi.io/component-type": "kafka", "app.kubernetes.io/name": "kafka",
                                "app.kubernetes.io/instance": KAFKA, "app.kubernetes.io/part-of": format!("strimzi-{KAFKA}"),
                                "app.kubernetes.io/managed-by": "strimzi-cluster-operator"}},
        "spec": {"type": "ClusterIP",
                 "selector": {"strimzi.io/broker-role": "true", "strimzi.io/cluster": KAFKA, "strimzi.io/kind": "Kafka",
                              "strimzi.io/name": format!("{KAFKA}-kafka")},
                 "ports": [{"name": "tcp-scram", "port": 9092, "targetPort": 9092, "protocol": "TCP"},
                           {"name": "tcp-plain", "port": 9093, "targetPort": 9093, "protocol": "TCP"}]}});
    apply(&client, &bootstrap, "strimzi-cluster-operator").await?;
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    for pod_name in broker_pods(alias) {
        if pods.get_opt(&pod_name).await?.is_none() {
            let pod: Pod = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod_name, "namespace": ns, "labels": broker_labels(&pod_name)},
                "spec": {"hostname": pod_name, "subdomain": format!("{KAFKA}-kafka-brokers"),
                         "nodeName": bed.cluster(alias).node,
                         "containers": [{"name": "kafka", "image": KAFKA_IMAGE,
                                         "command": ["/opt/kafka/kafka_run.sh"],
                                         "ports": [{"name": "tcp-ctrlplane", "containerPort": 9090},
                                                   {"name": "tcp-replication", "containerPort": 9091},
                                                   {"name": "tcp-scram", "containerPort": 9092},
                                                   {"name": "tcp-plain", "containerPort": 9093},
                                                   {"name": "tcp-prometheus", "containerPort": 9404}]}]}}))?;
            match pods.create(&PostParams::default(), &pod).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.is_already_exists() => {}
                Err(e) => return Err(e.into()),
            }
        }
        let ip = bed.pod_ips().get_or_alloc(alias, ns, &pod_name)?;
        let st = running_pod_status(
            ip,
            bed.cluster(alias).advertise,
            &[("kafka".to_string(), KAFKA_IMAGE.to_string())],
        );
        pods.patch_status(
            &pod_name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": st})),
        )
        .await?;
    }
    let node_ids: Vec<usize> = (0..n).collect();
    let bootstrap_host = format!("{KAFKA}-kafka-bootstrap.{ns}.svc");
    patch_status(&client, &crds::kafka("v1beta2"), ns, KAFKA, "strimzi-cluster-operator", json!({
        "conditions": [ready(&now, None, None, None)],
        "observedGeneration": gen_of("Kafka"),
        "listeners": [
            {"name": "scram", "addresses": [{"host": bootstrap_host, "port": 9092}], "bootstrapServers": format!("{bootstrap_host}:9092")},
            {"name": "plain", "addresses": [{"host": bootstrap_host, "port": 9093}], "bootstrapServers": format!("{bootstrap_host}:9093")}],
        "kafkaNodePools": [{"name": POOL}], "registeredNodeIds": node_ids, "clusterId": format!("rciis-{alias}-Jx3cQ0kPT5GmWq2"),
        "operatorLastSuccessfulVersion": "0.51.0", "kafkaVersion": "4.1.0", "kafkaMetadataVersion": "4.1-IV1",
        "kafkaMetadataState": "KRaft"}))
    .await?;
    patch_status(&client, &crds::node_pool("v1beta2"), ns, POOL, "strimzi-cluster-operator", json!({
        "nodeIds": node_ids, "clusterId": format!("rciis-{alias}-Jx3cQ0kPT5GmWq2"), "roles": ["controller", "broker"],
        "replicas": n, "labelSelector": format!("strimzi.io/cluster={KAFKA},strimzi.io/name={KAFKA}-{POOL},strimzi.io/kind=Kafka"),
        "observedGeneration": gen_of("KafkaNodePool")}))
    .await?;

    // Strimzi user operator: the user's Secret and status.
    let user_uid = uid_of("KafkaUser");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let existing = secrets.get_opt(MM2_USER).await?;
    let password = existing
        .as_ref()
        .and_then(|s| s.data.as_ref())
        .and_then(|d| d.get("password"))
        .map(|b| String::from_utf8_lossy(&b.0).into_owned())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| random_alnum(32));
    let owner = json!([{"apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaUser", "name": MM2_USER,
                        "uid": user_uid, "controller": false, "blockOwnerDeletion": true}]);
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": MM2_USER, "namespace": ns, "ownerReferences": owner,
                     "labels": {"strimzi.io/cluster": KAFKA, "strimzi.io/kind": "KafkaUser",
                                "app.kubernetes.io/name": "strimzi-user-operator", "app.kubernetes.io/instance": MM2_USER,
                                "app.kubernetes.io/part-of": format!("strimzi-{MM2_USER}"),
                                "app.kubernetes.io/managed-by": "strimzi-user-operator"}},
        "data": {"password": ByteString(password.clone().into_bytes()),
                 "sasl.jaas.config": ByteString(jaas(MM2_USER, &password).into_bytes())}});
    match existing {
        None => {
            let s: Secret = serde_json::from_value(secret)?;
            let pp = PostParams {
                field_manager: Some("strimzi-user-operator".into()),
                ..Default::default()
            };
            secrets.create(&pp, &s).await?;
        }
        Some(_) => {
            let pp = PatchParams {
                field_manager: Some("strimzi-user-operator".into()),
                ..Default::default()
            };
            secrets.patch(MM2_USER, &pp, &Patch::Merge(&secret)).await?;
        }
    }
    patch_status(
        &client,
        &crds::kafka_user("v1beta2"),
        ns,
        MM2_USER,
        "strimzi-user-operator",
        json!({
        "conditions": [ready(&now, None, None, None)], "observedGeneration": gen_of("KafkaUser"),
        "username": MM2_USER, "secret": MM2_USER}),
    )
    .await?;
    Ok((password, objs))
}

/// Phase B: the `mm2-user-<peer>` Secret in cluster `alias`, made from the peer's Secret.
async fn install_peer_secret(bed: &Bed, alias: &str, ns: &str, mode: PeerSecret) -> Result<()> {
    let peer = Bed::peer(alias);
    let name = format!("{MM2_USER}-{peer}");
    let client = bed.client(alias).await;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    match secrets.delete(&name, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.is_not_found() => {}
        Err(e) => return Err(e.into()),
    }
    // Wait for the old copy to be gone before creating the new one.
    let deadline = Instant::now() + Duration::from_secs(30);
    while secrets.get_opt(&name).await?.is_some() {
        if Instant::now() > deadline {
            bail!("old {ns}/{name} not deleted");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let peer_client = bed.client(peer).await;
    let src = Api::<Secret>::namespaced(peer_client, ns).get(MM2_USER).await?;
    match mode {
        PeerSecret::Absent => Ok(()),
        PeerSecret::Clean => {
            let s: Secret =
                serde_json::from_value(json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                "metadata": {"name": name, "namespace": ns}, "data": src.data}))?;
            let pp = PostParams {
                field_manager: Some("kubectl-create".into()),
                ..Default::default()
            };
            secrets.create(&pp, &s).await?;
            Ok(())
        }
        PeerSecret::JqCopy => {
            // kubectl get -o json (managedFields hidden) | jq rename + del(rv, uid, creationTimestamp)
            let mut v = serde_json::to_value(&src)?;
            let md = v["metadata"]
                .as_object_mut()
                .ok_or_else(|| anyhow!("secret without metadata"))?;
            md.insert("name".into(), json!(name));
            for k in [
                "resourceVersion",
                "uid",
                "creationTimestamp",
                "managedFields",
                "selfLink",
            ] {
                md.remove(k);
            }
            // | kubectl apply -f -  (client-side apply: adds the last-applied annotation)
            let last_applied = format!("{}\n", sorted(&v));
            v["metadata"]["annotations"] =
                json!({"kubectl.kubernetes.io/last-applied-configuration": last_applied});
            let s: Secret = serde_json::from_value(v)?;
            let pp = PostParams {
                field_manager: Some("kubectl-client-side-apply".into()),
                ..Default::default()
            };
            secrets.create(&pp, &s).await?;
            Ok(())
        }
    }
}

/// Phase C: Kustomization status with the inventory of what Flux applied (merged across
/// namespaces).
async fn flux_status(bed: &Bed, alias: &str, objs: &[Value]) -> Result<()> {
    let client = bed.client(alias).await;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), FLUX_NS, &crds::kustomization());
    let ks = api.get(KUSTOMIZATION).await?;
    let mut entries: BTreeMap<String, String> = BTreeMap::new();
    for e in ks.data["status"]["inventory"]["entries"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let (Some(id), Some(v)) = (e["id"].as_str(), e["v"].as_str()) {
            entries.insert(id.to_string(), v.to_string());
        }
    }
    for o in objs {
        let (id, v) = inventory_id(o);
        entries.insert(id, v);
    }
    let entries: Vec<Value> = entries
        .into_iter()
        .map(|(id, v)| json!({"id": id, "v": v}))
        .collect();
    let now = now_k8s();
    let generation = ks.metadata.generation;
    let prev_time = ks.data["status"]["conditions"][0]["lastTransitionTime"]
        .as_str()
        .map(|s| s.to_string());
    patch_status(
        &client,
        &crds::kustomization(),
        FLUX_NS,
        KUSTOMIZATION,
        "kustomize-controller",
        json!({
        "conditions": [ready(prev_time.as_deref().unwrap_or(&now), Some("ReconciliationSucceeded"),
                             Some(&format!("Applied revision: {FLUX_REVISION}")), generation)],
        "inventory": {"entries": entries},
        "lastAppliedRevision": FLUX_REVISION, "lastAttemptedRevision": FLUX_REVISION,
        "observedGeneration": generation}),
    )
    .await
}

/// Deletes the KafkaMirrorMaker2s in `ns` other than `keep` (another layout's), and `keep`'s
/// namesake when it has the other API shape (a server-side apply would merge both shapes).
async fn remove_other_mm2s(client: &Client, ns: &str, keep: &Value) -> Result<()> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &crds::mm2("v1beta2"));
    let name = keep["metadata"]["name"].as_str().unwrap_or_default();
    let keep_v1 = keep["spec"]["target"].is_object();
    let mut gone = Vec::new();
    for o in api.list(&ListParams::default()).await?.items {
        let n = o.metadata.name.clone().unwrap_or_default();
        let is_v1 = o.data["spec"]["target"].is_object();
        if n != name || is_v1 != keep_v1 {
            match api.delete(&n, &DeleteParams::default()).await {
                Ok(_) => gone.push(n),
                Err(kube::Error::Api(s)) if s.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for n in gone {
        while api.get_opt(&n).await?.is_some() {
            if Instant::now() > deadline {
                bail!("{ns}/{n} not deleted");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// Recreates the runbook deployment exactly as written in both clusters in namespace `ns`
/// (idempotent) with the jq-copied peer Secrets, and waits until the operator has judged both
/// MM2s (NotReady: Strimzi 0.51 rejects the runbook's layout).
pub async fn install_runbook(bed: &Bed, ns: &str) -> Result<Runbook> {
    install_runbook_with(bed, ns, RunbookOptions::default()).await
}

/// The working layout (each MM2 in its target cluster) with clean peer Secret copies, Ready.
pub async fn install_working(bed: &Bed, ns: &str) -> Result<Runbook> {
    let opts = RunbookOptions {
        peer_secret: PeerSecret::Clean,
        layout: Layout::Working,
    };
    install_runbook_with(bed, ns, opts).await
}

/// [`install_runbook`] with options: the layout decides where each MM2 runs and what to wait
/// for (Ready for the working layouts, the operator's NotReady verdict for the runbook's).
pub async fn install_runbook_with(bed: &Bed, ns: &str, opts: RunbookOptions) -> Result<Runbook> {
    let layout = opts.layout;
    let (a, p) = futures::try_join!(
        install_local(bed, "aws", ns, layout),
        install_local(bed, "proxmox", ns, layout)
    )?;
    futures::try_join!(
        install_peer_secret(bed, "aws", ns, opts.peer_secret),
        install_peer_secret(bed, "proxmox", ns, opts.peer_secret)
    )?;
    futures::try_join!(flux_status(bed, "aws", &a.1), flux_status(bed, "proxmox", &p.1))?;
    let timeout = Duration::from_secs(60);
    let rb = Runbook {
        ns: ns.to_string(),
        layout,
        passwords: BTreeMap::from([("aws".to_string(), a.0), ("proxmox".to_string(), p.0)]),
    };
    let ((home_a, name_a), (home_p, name_p)) = (rb.mm2_of("aws"), rb.mm2_of("proxmox"));
    match layout {
        Layout::Runbook => {
            futures::try_join!(
                wait_mm2_judged(bed, home_a, ns, &name_a, timeout),
                wait_mm2_judged(bed, home_p, ns, &name_p, timeout)
            )?;
        }
        Layout::Working | Layout::WorkingV1 => {
            futures::try_join!(
                wait_mm2_ready(bed, home_a, ns, &name_a, timeout),
                wait_mm2_ready(bed, home_p, ns, &name_p, timeout)
            )?;
        }
    }
    Ok(rb)
}

/// Waits until the operator has written a Ready or NotReady condition for the current generation
/// of KafkaMirrorMaker2 `ns/name` in `alias`; returns it read at v1beta2.
pub async fn wait_mm2_judged(
    bed: &Bed,
    alias: &str,
    ns: &str,
    name: &str,
    timeout: Duration,
) -> Result<DynamicObject> {
    let client = bed.client(alias).await;
    let api: Api<DynamicObject> = Api::namespaced_with(client, ns, &crds::mm2("v1beta2"));
    let deadline = Instant::now() + timeout;
    loop {
        let o = api.get_opt(name).await?;
        if let Some(o) = &o {
            let st = &o.data["status"];
            let judged = st["conditions"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" || c["type"] == "NotReady"));
            if judged && st["observedGeneration"].as_i64() == o.metadata.generation {
                return Ok(o.clone());
            }
        }
        if Instant::now() > deadline {
            bail!(
                "{alias}: KafkaMirrorMaker2 {ns}/{name} not judged by the operator after {timeout:?} ({:?})",
                o.map(|o| o.data["status"].clone())
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `mm2-user` SCRAM password in cluster `alias`, namespace `ns`.
pub async fn password_of(bed: &Bed, alias: &str, ns: &str) -> Result<String> {
    let client = bed.client(alias).await;
    let s = Api::<Secret>::namespaced(client, ns).get(MM2_USER).await?;
    let b = s
        .data
        .as_ref()
        .and_then(|d| d.get("password"))
        .ok_or_else(|| anyhow!("no password key"))?;
    Ok(String::from_utf8_lossy(&b.0).into_owned())
}

/// Waits until KafkaMirrorMaker2 `ns/name` in `alias` has a Ready condition for its current
/// generation and its pods are Running with an address. Returns the object read at v1beta2.
pub async fn wait_mm2_ready(
    bed: &Bed,
    alias: &str,
    ns: &str,
    name: &str,
    timeout: Duration,
) -> Result<DynamicObject> {
    let client = bed.client(alias).await;
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &crds::mm2("v1beta2"));
    let pods: Api<Pod> = Api::namespaced(client, ns);
    let deadline = Instant::now() + timeout;
    loop {
        let last;
        if let Some(o) = api.get_opt(name).await? {
            let st = &o.data["status"];
            let is_ready = st["conditions"]
                .as_array()
                .map(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
                .unwrap_or(false);
            let gen_ok = st["observedGeneration"].as_i64() == o.metadata.generation;
            let replicas = o.data["spec"]["replicas"].as_i64().unwrap_or(3).max(0) as usize;
            let mut pods_ok = true;
            for p in mm2_pods(name, replicas) {
                let ok = pods
                    .get_opt(&p)
                    .await?
                    .and_then(|p| p.status)
                    .map(|s| s.phase.as_deref() == Some("Running") && s.pod_ip.is_some())
                    .unwrap_or(false);
                pods_ok &= ok;
            }
            if is_ready && gen_ok && pods_ok {
                return Ok(o);
            }
            last = format!("status {st}, pods ok: {pods_ok}");
        } else {
            last = "not found".into();
        }
        if Instant::now() > deadline {
            bail!("{alias}: KafkaMirrorMaker2 {ns}/{name} not Ready after {timeout:?} ({last})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates (server-side apply at `kafka.strimzi.io/v1`, manager `kubectl`) one
/// KafkaMirrorMaker2 in the Strimzi v1 shape in cluster `alias`: `mm2-<peer>-to-<alias>`, target
/// = the local cluster (the Connect cluster in v1), one mirror from the peer, 1 replica,
/// source connector tasksMax 2, checkpoint connector. Creates the namespace if needed; waits
/// until Ready. Returns its name.
pub async fn install_mm2_v1(bed: &Bed, ns: &str, alias: &str) -> Result<String> {
    let peer = Bed::peer(alias);
    let name = format!("mm2-{peer}-to-{alias}");
    let rf = if alias == "aws" { 1 } else { 3 };
    let auth = |secret: &str| {
        json!({"type": "scram-sha-512", "username": MM2_USER,
               "passwordSecret": {"secretName": secret, "password": "password"}})
    };
    let obj = json!({
    "apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaMirrorMaker2",
    "metadata": {"name": name, "namespace": ns, "labels": {"app": "kafka-mirrormaker2", "environment": alias}},
    "spec": {
        "version": "4.1.0", "replicas": 1,
        "target": {"alias": alias, "bootstrapServers": format!("{KAFKA}-kafka-bootstrap.{ns}.svc:9092"),
                   "groupId": "mirrormaker2-cluster", "configStorageTopic": "mirrormaker2-cluster-configs",
                   "offsetStorageTopic": "mirrormaker2-cluster-offsets", "statusStorageTopic": "mirrormaker2-cluster-status",
                   "authentication": auth(MM2_USER),
                   "config": {"config.storage.replication.factor": rf, "offset.storage.replication.factor": rf,
                              "status.storage.replication.factor": rf}},
        "mirrors": [{
            "source": {"alias": peer, "bootstrapServers": format!("kafka-bootstrap-{peer}.{ns}.svc.clusterset.local:9092"),
                       "authentication": auth(&format!("{MM2_USER}-{peer}"))},
            "sourceConnector": {"tasksMax": 2, "autoRestart": {"enabled": true},
                                "config": {"replication.factor": rf, "offset-syncs.topic.replication.factor": rf,
                                           "replication.policy.class": "org.apache.kafka.connect.mirror.DefaultReplicationPolicy",
                                           "replication.policy.separator": "."}},
            "checkpointConnector": {"autoRestart": {"enabled": true},
                                    "config": {"checkpoints.topic.replication.factor": rf,
                                               "sync.group.offsets.enabled": true}},
            "topicsPattern": ".*", "topicsExcludePattern": ".*[\\-\\.]internal|__.*", "groupsPattern": ".*"}],
        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2000m", "memory": "4Gi"}}
    }});
    let client = bed.client(alias).await;
    ensure_namespace(&client, ns).await?;
    apply(&client, &obj, "kubectl").await?;
    wait_mm2_ready(bed, alias, ns, &name, Duration::from_secs(60)).await?;
    Ok(name)
}
