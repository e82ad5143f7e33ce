//! A real MirrorMaker 2 for a KafkaMirrorMaker2, doing what Strimzi 0.51's operator does for it:
//! Kafka Connect distributed workers at the pods' addresses (REST on 8083, the JMX exporter agent
//! on 9404 with the rules of the CR's `metricsConfig` ConfigMap), the connectors with the
//! configuration `KafkaMirrorMaker2Connectors` generates, undeclared connectors deleted, `state`
//! applied with `PUT /connectors/<n>/pause|resume|stop`, and `status.connectors` from the real
//! `GET /connectors?expand=status` (research: shared/research/kafka-bed.md §1-§3).
//!
//! Opt-in, per CR, with the annotation [`REAL_ANNOTATION`]`: real`: a JVM per worker costs ~10 s
//! of CPU on this 2-core machine and ~0.4 GiB, so the many MM2s the suite creates for status,
//! pause or validation tests keep the simulated pods (crate::doubles), and the tests about real
//! data create theirs with the annotation. Only the working layout runs (each MM2 in its target
//! cluster: v1 `spec.target.alias`, v1beta2 `connectCluster` = every mirror's `targetCluster` =
//! the cluster the operator plays in); anything else stays simulated.
//!
//! Bed-only differences from a Strimzi pod, each needed because all pods share one host:
//! - every worker JVM runs in its own mount namespace with a private `/etc/hosts` that resolves
//!   the CR's bootstrap names (`kafka-bootstrap-<alias>.<ns>.svc.clusterset.local`,
//!   `kafka-rciis-prod-kafka-bootstrap.<ns>.svc`) to the bed's brokers and the pods' DNS names to
//!   their addresses, so the configuration keeps the CR's names (the product never sees which);
//! - `listeners=http://<pod IP>:8083` (Strimzi binds all addresses of its own pod);
//! - Connect's group id and internal topics get a `<namespace>.` prefix: one bed broker stands for
//!   the Kafka of every namespace, where each namespace has its own Kafka in real life;
//! - Secrets are read through the API and written as the files Strimzi mounts; a Secret that is
//!   missing gives an empty file (a real pod would not start; here the worker starts and the
//!   broker refuses the credential), and a changed one restarts the connectors and their tasks
//!   (a real pod would be rolled);
//! - at most [`MAX_REAL_WORKERS`] workers: `spec.replicas` beyond that stay simulated pods, since
//!   two JVMs already show a Connect group's rebalancing and each more costs memory and CPU.

use std::collections::{HashMap, hash_map::DefaultHasher};
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Client;
use kube::api::{Api, DynamicObject};
use serde_json::{Map, Value, json};

use super::rest::{self, encode};
use crate::procs::{self, Proc};

/// `test.mm2.dev/kafka: real` runs this KafkaMirrorMaker2 on real Kafka Connect.
pub const REAL_ANNOTATION: &str = "test.mm2.dev/kafka";
/// Real worker JVMs per KafkaMirrorMaker2 (see the module comment).
pub const MAX_REAL_WORKERS: usize = 2;
/// Connect's REST port and the JMX exporter's port.
pub const REST_PORT: u16 = 8083;
pub const METRICS_PORT: u16 = 9404;
/// A CR not seen for this long (deleted, frozen, no longer real) loses its workers.
const FORGET_AFTER: Duration = Duration::from_secs(3);
const STEP: Duration = Duration::from_millis(500);
const REST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the operator should do with a KafkaMirrorMaker2.
#[derive(Debug, Clone, PartialEq)]
pub enum Real {
    /// Not a real one: simulate it.
    No,
    /// Real, but Connect has not answered yet: write no status (Strimzi is still reconciling).
    Starting,
    /// Real: `status.connectors` as Connect reports them.
    Observed(Vec<Value>),
}

// ---------------------------------------------------------------------------------------------
// Strimzi's model of the CR, v1 and v1beta2 (pure).

/// `authentication` of a cluster (scram-sha-512 / scram-sha-256 / plain).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Auth {
    pub mechanism: String,
    pub username: String,
    pub secret: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterRef {
    pub alias: String,
    pub bootstrap: String,
    pub auth: Option<Auth>,
    pub config: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConnectorPlan {
    pub name: String,
    pub class: String,
    /// `running`, `paused` or `stopped`.
    pub state: String,
    pub config: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub target: ClusterRef,
    pub group_id: String,
    pub config_topic: String,
    pub offset_topic: String,
    pub status_topic: String,
    pub replicas: usize,
    /// (ConfigMap, key) of `metricsConfig`.
    pub metrics: Option<(String, String)>,
    pub connectors: Vec<ConnectorPlan>,
    /// Every Secret a password file is made from: (alias or "" for the worker, auth).
    pub secrets: Vec<(String, Auth)>,
}

fn auth_of(v: &Value) -> Option<Auth> {
    let typ = v["type"].as_str()?;
    let mechanism = match typ {
        "scram-sha-512" => "SCRAM-SHA-512",
        "scram-sha-256" => "SCRAM-SHA-256",
        "plain" => "PLAIN",
        _ => return None,
    };
    let ps = &v["passwordSecret"];
    Some(Auth {
        mechanism: mechanism.into(),
        username: v["username"].as_str()?.into(),
        secret: ps["secretName"].as_str()?.into(),
        key: ps["password"].as_str().unwrap_or("password").into(),
    })
}

fn cluster_of(v: &Value) -> ClusterRef {
    ClusterRef {
        alias: v["alias"].as_str().unwrap_or_default().into(),
        bootstrap: v["bootstrapServers"].as_str().unwrap_or_default().into(),
        auth: auth_of(&v["authentication"]),
        config: v["config"].as_object().cloned().unwrap_or_default(),
    }
}

/// True when the CR is in the working layout in cluster `local` (each MM2 in its target cluster).
pub fn is_working_layout(spec: &Value, local: &str) -> bool {
    if let Some(target) = spec["target"]["alias"].as_str() {
        return target == local;
    }
    let Some(connect) = spec["connectCluster"].as_str() else {
        return false;
    };
    let mirrors = spec["mirrors"].as_array().cloned().unwrap_or_default();
    connect == local
        && !mirrors.is_empty()
        && mirrors
            .iter()
            .all(|m| m["targetCluster"].as_str() == Some(connect))
}

/// Strimzi's value of a config entry: strings as they are, anything else as JSON text.
fn text(v: &Value) -> Value {
    match v {
        Value::String(s) => json!(s),
        other => json!(other.to_string()),
    }
}

/// The password placeholder Strimzi writes (`KafkaMirrorMaker2Connectors`:
/// `${strimzidir:<mount>/<alias>/<secret>:<key>}`, mount `/opt/kafka/mm2-password/` there).
fn mm2_password(files: &Path, alias: &str, a: &Auth) -> String {
    format!(
        "${{strimzidir:{}/mm2-password/{alias}/{}:{}}}",
        files.display(),
        a.secret,
        a.key
    )
}

fn jaas(mechanism: &str, user: &str, password: &str) -> String {
    let module = if mechanism == "PLAIN" {
        "org.apache.kafka.common.security.plain.PlainLoginModule"
    } else {
        "org.apache.kafka.common.security.scram.ScramLoginModule"
    };
    format!("{module} required username=\"{user}\" password=\"{password}\";")
}

/// `prepareMirrorMaker2ConnectorConfig`'s cluster block under `prefix`.
fn cluster_keys(out: &mut Map<String, Value>, prefix: &str, c: &ClusterRef, files: &Path) {
    out.insert(format!("{prefix}alias"), json!(c.alias));
    out.insert(format!("{prefix}bootstrap.servers"), json!(c.bootstrap));
    let protocol = match &c.auth {
        Some(a) => {
            out.insert(format!("{prefix}sasl.mechanism"), json!(a.mechanism));
            let pw = mm2_password(files, &c.alias, a);
            out.insert(
                format!("{prefix}sasl.jaas.config"),
                json!(jaas(&a.mechanism, &a.username, &pw)),
            );
            "SASL_PLAINTEXT"
        }
        None => "PLAINTEXT",
    };
    out.insert(format!("{prefix}security.protocol"), json!(protocol));
    for (k, v) in &c.config {
        out.insert(format!("{prefix}{k}"), text(v));
    }
}

/// The plan of a KafkaMirrorMaker2 spec (v1 `target`/`mirrors[].source`, or v1beta2
/// `connectCluster`/`clusters`/`sourceCluster`/`targetCluster`), normalised as Strimzi 0.51's
/// `validateAndUpdateToNewAPI` does. `files` is where password files go.
pub fn plan(spec: &Value, files: &Path) -> Result<Plan> {
    let v1 = spec["target"].is_object();
    let clusters: Vec<ClusterRef> = spec["clusters"]
        .as_array()
        .map(|cs| cs.iter().map(cluster_of).collect())
        .unwrap_or_default();
    let by_alias = |a: &str| clusters.iter().find(|c| c.alias == a).cloned();
    let (target, group_id, config_topic, offset_topic, status_topic) = if v1 {
        let t = &spec["target"];
        let s = |k: &str, d: &str| t[k].as_str().unwrap_or(d).to_string();
        (
            cluster_of(t),
            s("groupId", "mirrormaker2-cluster"),
            s("configStorageTopic", "mirrormaker2-cluster-configs"),
            s("offsetStorageTopic", "mirrormaker2-cluster-offsets"),
            s("statusStorageTopic", "mirrormaker2-cluster-status"),
        )
    } else {
        let connect = spec["connectCluster"].as_str().unwrap_or_default();
        let mut t =
            by_alias(connect).ok_or_else(|| anyhow!("connectCluster {connect:?} is not in clusters"))?;
        // KafkaMirrorMaker2Cluster: these come from the connect cluster's config, then leave it.
        let mut take = |k: &str, d: &str| {
            t.config
                .remove(k)
                .map(|v| v.as_str().map(String::from).unwrap_or_else(|| v.to_string()))
                .unwrap_or_else(|| d.to_string())
        };
        let g = take("group.id", "mirrormaker2-cluster");
        let c = take("config.storage.topic", "mirrormaker2-cluster-configs");
        let o = take("offset.storage.topic", "mirrormaker2-cluster-offsets");
        let st = take("status.storage.topic", "mirrormaker2-cluster-status");
        (t, g, c, o, st)
    };
    let mut connectors = Vec::new();
    let mut secrets: Vec<(String, Auth)> = Vec::new();
    if let Some(a) = &target.auth {
        secrets.push((String::new(), a.clone()));
        secrets.push((target.alias.clone(), a.clone()));
    }
    for m in spec["mirrors"].as_array().into_iter().flatten() {
        let source = if v1 {
            cluster_of(&m["source"])
        } else {
            let a = m["sourceCluster"].as_str().unwrap_or_default();
            by_alias(a).ok_or_else(|| anyhow!("sourceCluster {a:?} is not in clusters"))?
        };
        if let Some(a) = &source.auth {
            secrets.push((source.alias.clone(), a.clone()));
        }
        let kinds: &[(&str, &str)] = if v1 {
            &[
                ("sourceConnector", "MirrorSourceConnector"),
                ("checkpointConnector", "MirrorCheckpointConnector"),
            ]
        } else {
            &[
                ("sourceConnector", "MirrorSourceConnector"),
                ("checkpointConnector", "MirrorCheckpointConnector"),
                ("heartbeatConnector", "MirrorHeartbeatConnector"),
            ]
        };
        for (field, class) in kinds {
            let cs = &m[*field];
            if !cs.is_object() {
                continue;
            }
            let mut config = Map::new();
            cluster_keys(&mut config, "target.cluster.", &target, files);
            cluster_keys(&mut config, "source.cluster.", &source, files);
            for (k, v) in cs["config"].as_object().into_iter().flatten() {
                config.insert(k.clone(), text(v));
            }
            let pattern = |k: &str, alt: &str| m[k].as_str().or_else(|| m[alt].as_str()).map(String::from);
            if let Some(p) = pattern("topicsPattern", "topicsPattern") {
                config.insert("topics".into(), json!(p));
            }
            if let Some(p) = pattern("topicsExcludePattern", "topicsBlacklistPattern") {
                config.insert("topics.exclude".into(), json!(p));
            }
            if let Some(p) = pattern("groupsPattern", "groupsPattern") {
                config.insert("groups".into(), json!(p));
            }
            if let Some(p) = pattern("groupsExcludePattern", "groupsBlacklistPattern") {
                config.insert("groups.exclude".into(), json!(p));
            }
            // AbstractConnectOperator: tasks.max only when tasksMax is set; then the class.
            if let Some(t) = cs["tasksMax"].as_i64() {
                config.insert("tasks.max".into(), json!(t.to_string()));
            }
            config.insert(
                "connector.class".into(),
                json!(format!("org.apache.kafka.connect.mirror.{class}")),
            );
            let state = match cs["state"].as_str().map(|s| s.to_lowercase()) {
                Some(s) if s == "paused" || s == "stopped" => s,
                Some(_) => "running".into(),
                None if cs["pause"] == json!(true) => "paused".into(),
                None => "running".into(),
            };
            connectors.push(ConnectorPlan {
                name: format!("{}->{}.{class}", source.alias, target.alias),
                class: class.to_string(),
                state,
                config,
            });
        }
    }
    let metrics = (spec["metricsConfig"]["type"] == "jmxPrometheusExporter")
        .then(|| {
            let r = &spec["metricsConfig"]["valueFrom"]["configMapKeyRef"];
            Some((r["name"].as_str()?.to_string(), r["key"].as_str()?.to_string()))
        })
        .flatten();
    Ok(Plan {
        target,
        group_id,
        config_topic,
        offset_topic,
        status_topic,
        replicas: spec["replicas"].as_i64().unwrap_or(3).max(0) as usize,
        metrics,
        connectors,
        secrets,
    })
}

/// The worker's `kafka-connect.properties` as `KafkaConnectConfigurationBuilder` writes it for MM2
/// (sections in its order), plus the bed-only keys of the module comment.
pub fn worker_properties(
    p: &Plan,
    ns: &str,
    pod_host: &str,
    ip: Ipv4Addr,
    files: &Path,
    metrics: bool,
) -> String {
    let mut lines: Vec<String> = vec![
        format!("bootstrap.servers={}", p.target.bootstrap),
        format!("group.id={ns}.{}", p.group_id),
        format!("config.storage.topic={ns}.{}", p.config_topic),
        format!("status.storage.topic={ns}.{}", p.status_topic),
        format!("offset.storage.topic={ns}.{}", p.offset_topic),
        format!("rest.advertised.host.name={pod_host}"),
        format!("rest.advertised.port={REST_PORT}"),
        format!("listeners=http://{ip}:{REST_PORT}"),
        format!("plugin.path={}", files.join("plugins").display()),
    ];
    let protocol = match &p.target.auth {
        Some(a) => {
            let pw = format!(
                "${{strimzidir:{}/connect-password/{}:{}}}",
                files.display(),
                a.secret,
                a.key
            );
            let j = jaas(&a.mechanism, &a.username, &pw);
            for prefix in ["", "producer.", "consumer.", "admin."] {
                lines.push(format!("{prefix}sasl.mechanism={}", a.mechanism));
                lines.push(format!("{prefix}sasl.jaas.config={j}"));
            }
            "SASL_PLAINTEXT"
        }
        None => "PLAINTEXT",
    };
    lines.extend([
        "config.providers=strimzienv,strimzifile,strimzidir".to_string(),
        "config.providers.strimzienv.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider"
            .into(),
        "config.providers.strimzienv.param.allowlist.pattern=.*".into(),
        "config.providers.strimzifile.class=org.apache.kafka.common.config.provider.FileConfigProvider"
            .into(),
        "config.providers.strimzidir.class=org.apache.kafka.common.config.provider.DirectoryConfigProvider"
            .into(),
        format!(
            "config.providers.strimzidir.param.allowed.paths={}",
            files.display()
        ),
    ]);
    if metrics {
        for prefix in ["", "admin.", "producer.", "consumer."] {
            lines.push(format!(
                "{prefix}metric.reporters=org.apache.kafka.common.metrics.JmxReporter"
            ));
        }
    }
    for c in ["key", "value", "header"] {
        lines.push(format!(
            "{c}.converter=org.apache.kafka.connect.converters.ByteArrayConverter"
        ));
    }
    for (k, v) in &p.target.config {
        let v = v.as_str().map(String::from).unwrap_or_else(|| v.to_string());
        lines.push(format!("{k}={v}"));
    }
    for prefix in ["", "producer.", "consumer.", "admin."] {
        lines.push(format!("{prefix}security.protocol={protocol}"));
    }
    // Bed: a restarted worker's tasks come back at once instead of after 5 minutes.
    lines.push("scheduled.rebalance.max.delay.ms=0".into());
    lines.join("\n") + "\n"
}

// ---------------------------------------------------------------------------------------------
// The registry the operator talks to.

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    alias: String,
    ns: String,
    name: String,
}

#[derive(Clone)]
struct Desired {
    spec: Value,
    kubeconfig: PathBuf,
    context: String,
    seen: Instant,
}

struct Entry {
    desired: Desired,
    observed: Option<Vec<Value>>,
    /// Address of each real pod (index < MAX_REAL_WORKERS).
    ips: Vec<Ipv4Addr>,
}

static REGISTRY: Mutex<Option<HashMap<Key, Entry>>> = Mutex::new(None);
static NEXT_IP: Mutex<Option<HashMap<u8, u8>>> = Mutex::new(None);

fn registry<T>(f: impl FnOnce(&mut HashMap<Key, Entry>) -> T) -> T {
    let mut g = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(HashMap::new))
}

/// A fresh worker address of cluster `alias` (198.18.{11,12}.20..250, never reused).
fn next_worker_ip(alias: &str) -> Result<Ipv4Addr> {
    let net = super::kafka_net(alias);
    let mut g = NEXT_IP.lock().unwrap_or_else(|e| e.into_inner());
    let n = g.get_or_insert_with(HashMap::new).entry(net).or_insert(20);
    if *n > 250 {
        bail!("no worker address left in 198.18.{net}.0/24");
    }
    let ip = Ipv4Addr::new(198, 18, net, *n);
    *n += 1;
    procs::ensure_addr(ip)?;
    Ok(ip)
}

fn annotation<'a>(o: &'a DynamicObject, key: &str) -> Option<&'a str> {
    o.metadata.annotations.as_ref()?.get(key).map(|s| s.as_str())
}

/// Called by the simulated operator for every KafkaMirrorMaker2 it reconciles in `alias` (not
/// paused, not frozen). Starts or updates the real MirrorMaker 2 when the CR asks for one.
pub fn sync(alias: &str, kubeconfig: &Path, context: &str, obj: &DynamicObject) -> Real {
    if annotation(obj, REAL_ANNOTATION) != Some("real") || !obj.data["spec"].is_object() {
        return Real::No;
    }
    if !is_working_layout(&obj.data["spec"], alias) || super::kafka_if_started().is_none() {
        return Real::No;
    }
    let key = Key {
        alias: alias.into(),
        ns: obj.metadata.namespace.clone().unwrap_or_default(),
        name: obj.metadata.name.clone().unwrap_or_default(),
    };
    let replicas = obj.data["spec"]["replicas"].as_i64().unwrap_or(3).max(0) as usize;
    let desired = Desired {
        spec: obj.data["spec"].clone(),
        kubeconfig: kubeconfig.to_path_buf(),
        context: context.into(),
        seen: Instant::now(),
    };
    let (fresh, observed) = registry(|r| {
        let fresh = !r.contains_key(&key);
        let e = r.entry(key.clone()).or_insert_with(|| Entry {
            desired: desired.clone(),
            observed: None,
            ips: Vec::new(),
        });
        e.desired = desired;
        while e.ips.len() < replicas.min(MAX_REAL_WORKERS) {
            match next_worker_ip(alias) {
                Ok(ip) => e.ips.push(ip),
                Err(_) => break,
            }
        }
        (fresh, e.observed.clone())
    });
    if fresh {
        tokio::spawn(run(key));
    }
    match observed {
        Some(c) => Real::Observed(c),
        None => Real::Starting,
    }
}

/// Keeps a real MirrorMaker 2 as it is while the operator does not reconcile it
/// (`strimzi.io/pause-reconciliation`, or a new generation that fails validation): Strimzi then
/// leaves the running pods alone, so the workers must not be reaped.
pub fn touch(alias: &str, obj: &DynamicObject) {
    let key = Key {
        alias: alias.into(),
        ns: obj.metadata.namespace.clone().unwrap_or_default(),
        name: obj.metadata.name.clone().unwrap_or_default(),
    };
    registry(|r| {
        if let Some(e) = r.get_mut(&key) {
            e.desired.seen = Instant::now();
        }
    });
}

/// The address of a pod served by a real worker, if it is one (the operator then starts no
/// doubles for it and reports this address as its podIP).
pub fn real_pod_ip(alias: &str, ns: &str, pod: &str) -> Option<Ipv4Addr> {
    registry(|r| {
        r.iter().find_map(|(k, e)| {
            if k.alias != alias || k.ns != ns {
                return None;
            }
            let idx: usize = pod
                .strip_prefix(&format!("{}-mirrormaker2-", k.name))?
                .parse()
                .ok()?;
            e.ips.get(idx).copied()
        })
    })
}

/// Replaces the simulated `connectors` of a desired status by the real ones, and its readiness by
/// Strimzi's rule (NotReady while a connector is FAILED).
pub fn apply_observed(status: &mut Value, connectors: Vec<Value>) {
    let failed = connectors.iter().any(|c| c["connector"]["state"] == "FAILED");
    if connectors.is_empty() {
        if let Some(m) = status.as_object_mut() {
            m.remove("connectors");
        }
    } else {
        status["connectors"] = json!(connectors);
    }
    if let Some(conds) = status["conditions"].as_array_mut() {
        for c in conds.iter_mut() {
            let t = c["type"].as_str().unwrap_or_default();
            if (t == "Ready" || t == "NotReady") && failed {
                c["type"] = json!("NotReady");
                c["reason"] = json!("NoStackTraceThrowable");
                c["message"] = json!("One or more connectors are in FAILED state");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The reconciler of one real MirrorMaker 2.

struct Worker {
    ip: Ipv4Addr,
    hash: u64,
    proc: Proc,
}

struct State {
    key: Key,
    files: PathBuf,
    workers: Vec<Option<Worker>>,
    /// Connector name -> hash of the config last PUT.
    applied: HashMap<String, u64>,
    secrets_hash: Option<u64>,
}

/// Folder of the password files, worker folders and `reconciler.log` of one real MirrorMaker 2.
fn files_of(k: &super::KafkaBed, alias: &str, ns: &str, name: &str) -> PathBuf {
    k.dir().join(alias).join(ns).join(name)
}

/// The Connect log (`connect.log`: Connect's own log, REST request log included) of worker `i`
/// of the real MirrorMaker 2 `ns/name` in `alias`.
pub fn worker_log(alias: &str, ns: &str, name: &str, i: usize) -> Option<PathBuf> {
    let k = super::kafka_if_started()?;
    Some(
        files_of(k, alias, ns, name)
            .join(format!("{name}-mirrormaker2-{i}"))
            .join("connect.log"),
    )
}

fn hash_of<T: Hash>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

async fn run(key: Key) {
    let Some(k) = super::kafka_if_started() else {
        return;
    };
    let files = files_of(k, &key.alias, &key.ns, &key.name);
    let mut st = State {
        key: key.clone(),
        files,
        workers: Vec::new(),
        applied: HashMap::new(),
        secrets_hash: None,
    };
    let mut client: Option<Client> = None;
    loop {
        tokio::time::sleep(STEP).await;
        let Some((desired, ips)) = registry(|r| r.get(&key).map(|e| (e.desired.clone(), e.ips.clone())))
        else {
            return;
        };
        if desired.seen.elapsed() > FORGET_AFTER {
            registry(|r| r.remove(&key));
            st.log("no longer asked for: workers stopped");
            return; // `st.workers` drop here: their JVMs are killed.
        }
        if client.is_none() {
            client = crate::bed::client_for(&desired.kubeconfig, &desired.context)
                .await
                .ok();
        }
        let Some(c) = client.clone() else { continue };
        match st.step(&c, &desired.spec, &ips).await {
            Ok(Some(obs)) => registry(|r| {
                if let Some(e) = r.get_mut(&key) {
                    e.observed = Some(obs);
                }
            }),
            Ok(None) => {}
            Err(e) => st.log(&format!("step failed: {e:#}")),
        }
    }
}

impl State {
    fn log(&self, msg: &str) {
        let _ = std::fs::create_dir_all(&self.files);
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.files.join("reconciler.log"))
        {
            let _ = writeln!(f, "{} {msg}", crate::operator::now_strimzi());
        }
    }

    fn pod(&self, i: usize) -> String {
        format!("{}-mirrormaker2-{i}", self.key.name)
    }

    fn pod_host(&self, i: usize) -> String {
        format!(
            "{}.{}-mirrormaker2.{}.svc",
            self.pod(i),
            self.key.name,
            self.key.ns
        )
    }

    /// Password files from the Secrets (as Strimzi mounts them); returns their hash.
    async fn write_secrets(&self, client: &Client, p: &Plan) -> Result<u64> {
        let api: Api<Secret> = Api::namespaced(client.clone(), &self.key.ns);
        let mut contents = Vec::new();
        for (alias, a) in &p.secrets {
            let value = api
                .get_opt(&a.secret)
                .await?
                .and_then(|s| s.data)
                .and_then(|d| d.get(&a.key).map(|b| b.0.clone()))
                .unwrap_or_default();
            let dir = if alias.is_empty() {
                self.files.join("connect-password").join(&a.secret)
            } else {
                self.files.join("mm2-password").join(alias).join(&a.secret)
            };
            std::fs::create_dir_all(&dir)?;
            // DirectoryConfigProvider reads the raw bytes: no trailing newline.
            std::fs::write(dir.join(&a.key), &value)?;
            contents.push(value);
        }
        Ok(hash_of(&contents))
    }

    /// The rules of the `metricsConfig` ConfigMap (the agent reads YAML as Strimzi's JSON).
    async fn metrics_rules(&self, client: &Client, p: &Plan) -> Result<Option<String>> {
        let Some((name, key)) = &p.metrics else {
            return Ok(None);
        };
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), &self.key.ns);
        Ok(api
            .get_opt(name)
            .await?
            .and_then(|cm| cm.data)
            .and_then(|d| d.get(key).cloned()))
    }

    fn hosts_file(&self, ips: &[Ipv4Addr]) -> String {
        let mut s = String::from("127.0.0.1 localhost\n");
        let Some(k) = super::kafka_if_started() else {
            return s;
        };
        let ns = &self.key.ns;
        for b in k.brokers(&self.key.alias) {
            s.push_str(&format!(
                "{} kafka-rciis-prod-kafka-bootstrap.{ns}.svc kafka-rciis-prod-kafka-bootstrap.{ns}.svc.cluster.local\n",
                b.ip
            ));
        }
        for alias in crate::bed::ALIASES {
            for b in k.brokers(alias) {
                s.push_str(&format!(
                    "{} kafka-bootstrap-{alias}.{ns}.svc.clusterset.local\n",
                    b.ip
                ));
            }
        }
        for (i, ip) in ips.iter().enumerate() {
            s.push_str(&format!("{ip} {}\n", self.pod_host(i)));
        }
        s
    }

    fn start_worker(
        &self,
        i: usize,
        ip: Ipv4Addr,
        props: &str,
        rules: Option<&str>,
        hosts: &str,
    ) -> Result<Proc> {
        let dir = self.files.join(self.pod(i));
        std::fs::create_dir_all(&dir)?;
        std::fs::create_dir_all(self.files.join("plugins"))?;
        std::fs::write(dir.join("kafka-connect.properties"), props)?;
        std::fs::write(dir.join("hosts"), hosts)?;
        let log4j = dir.join("log4j2.properties");
        std::fs::write(&log4j, super::LOG4J2)?;
        let mut java = vec![super::java().display().to_string()];
        java.extend(super::jvm_opts("384m", &log4j));
        if let Some(r) = rules {
            std::fs::write(dir.join("metrics-config.yml"), r)?;
            // kafka_connect_mm2_shared_run.sh: -javaagent:<jar>=9404:<config> (here bound to the pod IP).
            java.push(format!(
                "-javaagent:{}={ip}:{METRICS_PORT}:{}",
                super::agent_jar().display(),
                dir.join("metrics-config.yml").display()
            ));
        }
        java.extend([
            "-cp".into(),
            super::class_path(),
            "org.apache.kafka.connect.cli.ConnectDistributed".into(),
            dir.join("kafka-connect.properties").display().to_string(),
        ]);
        // A private /etc/hosts for this JVM only (see the module comment).
        let mut args: Vec<String> = vec![
            "--mount".into(),
            "--propagation".into(),
            "private".into(),
            "sh".into(),
            "-c".into(),
            "mount --bind \"$0\" /etc/hosts && exec \"$@\"".into(),
            dir.join("hosts").display().to_string(),
        ];
        args.extend(java);
        Ok(Proc::spawn(
            &format!("mm2 worker {}/{}", self.key.ns, self.pod(i)),
            Path::new("unshare"),
            &args,
            &dir.join("connect.log"),
        )?)
    }

    async fn step(&mut self, client: &Client, spec: &Value, ips: &[Ipv4Addr]) -> Result<Option<Vec<Value>>> {
        let p = plan(spec, &self.files)?;
        std::fs::create_dir_all(&self.files)?;
        let secrets = self.write_secrets(client, &p).await?;
        let secrets_changed = self.secrets_hash.is_some_and(|h| h != secrets);
        self.secrets_hash = Some(secrets);
        let rules = self.metrics_rules(client, &p).await?;
        let n = p.replicas.min(MAX_REAL_WORKERS).min(ips.len());
        let hosts = self.hosts_file(&ips[..n]);
        while self.workers.len() < n {
            self.workers.push(None);
        }
        while self.workers.len() > n {
            self.workers.pop(); // dropped: killed
        }
        for (i, ip) in ips.iter().enumerate().take(n) {
            let props = worker_properties(
                &p,
                &self.key.ns,
                &self.pod_host(i),
                *ip,
                &self.files,
                rules.is_some(),
            );
            let h = hash_of(&(&props, &rules, &hosts));
            let healthy = self.workers[i]
                .as_ref()
                .is_some_and(|w| w.hash == h && w.ip == *ip && w.proc.exited().is_none());
            if !healthy {
                if let Some(old) = self.workers[i].take() {
                    let how = old
                        .proc
                        .exited()
                        .unwrap_or_else(|| "configuration changed".into());
                    self.log(&format!("restarting worker {i} ({how})"));
                    old.proc.kill();
                }
                let proc = self.start_worker(i, *ip, &props, rules.as_deref(), &hosts)?;
                self.log(&format!("worker {i} started at {ip} (pid {})", proc.pid));
                self.workers[i] = Some(Worker {
                    ip: *ip,
                    hash: h,
                    proc,
                });
            }
        }
        // Any worker forwards to the leader; take the first that answers.
        let mut rest_addr = None;
        for w in self.workers.iter().flatten() {
            let addr = SocketAddr::from((w.ip, REST_PORT));
            if let Ok(a) = rest::call(addr, "GET", "/connectors", None, Duration::from_secs(2)).await
                && a.ok()
            {
                rest_addr = Some(addr);
                break;
            }
        }
        let Some(addr) = rest_addr else { return Ok(None) };
        self.apply_connectors(addr, &p, secrets_changed).await?;
        let status = rest::call(addr, "GET", "/connectors?expand=status", None, REST_TIMEOUT).await?;
        if !status.ok() {
            bail!("GET /connectors?expand=status: {} {}", status.status, status.body);
        }
        let all = status.json()?;
        let observed = p
            .connectors
            .iter()
            .filter_map(|c| all.get(&c.name).map(|v| v["status"].clone()))
            .collect();
        Ok(Some(observed))
    }

    async fn apply_connectors(&mut self, addr: SocketAddr, p: &Plan, restart: bool) -> Result<()> {
        let listed = rest::call(addr, "GET", "/connectors", None, REST_TIMEOUT)
            .await?
            .json()?;
        let existing: Vec<String> = serde_json::from_value(listed).unwrap_or_default();
        for name in &existing {
            if !p.connectors.iter().any(|c| &c.name == name) {
                let a = rest::call(
                    addr,
                    "DELETE",
                    &format!("/connectors/{}", encode(name)),
                    None,
                    REST_TIMEOUT,
                )
                .await?;
                self.log(&format!("DELETE {name}: {}", a.status));
                self.applied.remove(name);
            }
        }
        for c in &p.connectors {
            let h = hash_of(&Value::Object(c.config.clone()).to_string());
            if !existing.contains(&c.name) || self.applied.get(&c.name) != Some(&h) {
                let path = format!("/connectors/{}/config", encode(&c.name));
                let a = rest::call(
                    addr,
                    "PUT",
                    &path,
                    Some(&Value::Object(c.config.clone())),
                    REST_TIMEOUT,
                )
                .await?;
                self.log(&format!(
                    "PUT {path}: {} {}",
                    a.status,
                    a.body.chars().take(300).collect::<String>()
                ));
                if a.ok() {
                    self.applied.insert(c.name.clone(), h);
                }
            }
        }
        let status = rest::call(addr, "GET", "/connectors?expand=status", None, REST_TIMEOUT)
            .await?
            .json()?;
        for c in &p.connectors {
            let current = status[&c.name]["status"]["connector"]["state"]
                .as_str()
                .unwrap_or_default();
            let call = match (c.state.as_str(), current) {
                (_, "") => None,
                ("running", "PAUSED" | "STOPPED") => Some("resume"),
                ("paused", "RUNNING" | "STOPPED" | "UNASSIGNED") => Some("pause"),
                ("stopped", s) if s != "STOPPED" => Some("stop"),
                _ => None,
            };
            if let Some(verb) = call {
                let path = format!("/connectors/{}/{verb}", encode(&c.name));
                let a = rest::call(addr, "PUT", &path, None, REST_TIMEOUT).await?;
                self.log(&format!("PUT {path}: {}", a.status));
            }
            if restart && c.state == "running" {
                let path = format!("/connectors/{}/restart?includeTasks=true", encode(&c.name));
                let a = rest::call(addr, "POST", &path, None, REST_TIMEOUT).await?;
                self.log(&format!("credentials changed: POST {path}: {}", a.status));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v1_spec() -> Value {
        json!({"replicas": 1,
            "target": {"alias": "aws", "bootstrapServers": "kafka-rciis-prod-kafka-bootstrap.ns.svc:9092",
                       "groupId": "g", "configStorageTopic": "c", "offsetStorageTopic": "o", "statusStorageTopic": "s",
                       "authentication": {"type": "scram-sha-512", "username": "mm2-user",
                                          "passwordSecret": {"secretName": "mm2-user", "password": "password"}},
                       "config": {"config.storage.replication.factor": -1}},
            "mirrors": [{"source": {"alias": "proxmox", "bootstrapServers": "kafka-bootstrap-proxmox.ns.svc.clusterset.local:9092",
                                    "authentication": {"type": "scram-sha-512", "username": "mm2-user",
                                                       "passwordSecret": {"secretName": "mm2-user-proxmox", "password": "password"}}},
                         "sourceConnector": {"tasksMax": 2, "state": "paused", "config": {"replication.factor": -1}},
                         "checkpointConnector": {},
                         "topicsPattern": "orders", "groupsPattern": ".*"}],
            "metricsConfig": {"type": "jmxPrometheusExporter",
                              "valueFrom": {"configMapKeyRef": {"name": "m", "key": "k.yml"}}}})
    }

    #[test]
    fn v1_plan_has_strimzis_connector_config() {
        let p = plan(&v1_spec(), Path::new("/b")).expect("plan");
        assert_eq!(p.group_id, "g");
        assert_eq!(p.metrics, Some(("m".into(), "k.yml".into())));
        let names: Vec<&str> = p.connectors.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "proxmox->aws.MirrorSourceConnector",
                "proxmox->aws.MirrorCheckpointConnector"
            ]
        );
        let src = &p.connectors[0];
        assert_eq!(src.state, "paused");
        let c = &src.config;
        assert_eq!(c["source.cluster.alias"], "proxmox");
        assert_eq!(
            c["target.cluster.bootstrap.servers"],
            "kafka-rciis-prod-kafka-bootstrap.ns.svc:9092"
        );
        assert_eq!(c["source.cluster.security.protocol"], "SASL_PLAINTEXT");
        assert_eq!(
            c["source.cluster.sasl.jaas.config"],
            "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"mm2-user\" \
             password=\"${strimzidir:/b/mm2-password/proxmox/mm2-user-proxmox:password}\";"
        );
        // target.config leaks into the connectors, prefixed (faithful to Strimzi).
        assert_eq!(c["target.cluster.config.storage.replication.factor"], "-1");
        assert_eq!(c["replication.factor"], "-1");
        assert_eq!(c["tasks.max"], "2");
        assert_eq!(c["topics"], "orders");
        assert_eq!(
            c["connector.class"],
            "org.apache.kafka.connect.mirror.MirrorSourceConnector"
        );
        assert!(!p.connectors[1].config.contains_key("tasks.max"));
    }

    #[test]
    fn v1beta2_plan_takes_connect_topics_from_the_connect_cluster_config() {
        let spec = json!({"replicas": 2, "connectCluster": "aws",
            "clusters": [{"alias": "aws", "bootstrapServers": "a:9092", "config": {"group.id": "grp", "x": 1}},
                         {"alias": "proxmox", "bootstrapServers": "p:9092"}],
            "mirrors": [{"sourceCluster": "proxmox", "targetCluster": "aws", "sourceConnector": {"pause": true},
                         "heartbeatConnector": {}}]});
        assert!(is_working_layout(&spec, "aws"));
        assert!(!is_working_layout(&spec, "proxmox"));
        let p = plan(&spec, Path::new("/b")).expect("plan");
        assert_eq!(p.group_id, "grp");
        assert_eq!(p.config_topic, "mirrormaker2-cluster-configs");
        assert!(!p.target.config.contains_key("group.id"));
        assert_eq!(p.connectors[0].state, "paused");
        assert_eq!(p.connectors[1].name, "proxmox->aws.MirrorHeartbeatConnector");
        assert_eq!(
            p.connectors[0].config["target.cluster.security.protocol"],
            "PLAINTEXT"
        );
        let props = worker_properties(
            &p,
            "ns",
            "pod.svc",
            Ipv4Addr::new(198, 18, 11, 20),
            Path::new("/b"),
            true,
        );
        assert!(props.contains("group.id=ns.grp\n"));
        assert!(props.contains("listeners=http://198.18.11.20:8083\n"));
        assert!(props.contains("x=1\n"));
        assert!(props.contains("consumer.metric.reporters=org.apache.kafka.common.metrics.JmxReporter\n"));
    }

    #[test]
    fn runbook_layout_is_not_the_working_layout() {
        let spec = json!({"connectCluster": "proxmox",
            "mirrors": [{"sourceCluster": "proxmox", "targetCluster": "aws"}]});
        assert!(!is_working_layout(&spec, "proxmox"));
    }
}
