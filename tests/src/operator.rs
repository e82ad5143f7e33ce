//! The simulated Strimzi 0.51 cluster operator (KafkaMirrorMaker2 only).
//!
//! One polling task per cluster (every 200 ms) on the bed's runtime. For every
//! KafkaMirrorMaker2 in every namespace it writes the status Strimzi writes (strimzi.md §1-§3)
//! through the status subresource, at the version whose schema holds the object's shape (old
//! `clusters`/`connectCluster` shape: v1beta2; `target` shape: v1), and keeps Pods
//! `<name>-mirrormaker2-<i>` (i < spec.replicas) Running with a pod address whose Connect REST and
//! metrics doubles are served by [`crate::doubles`]. It also creates the `-api` and headless
//! Services.
//!
//! Test hooks (annotations on the CR):
//! - `test.mm2.dev/operator: frozen`: the CR is ignored entirely (no status, no pods touched).
//! - `test.mm2.dev/fail-connector: <name>[,<name>...]`: those connectors are FAILED (with a
//!   trace, no tasks); the CR becomes NotReady "One or more connectors are in FAILED state".
//! - `test.mm2.dev/fail-task: <connector>:<id>[,...]`: those tasks are FAILED (CR stays Ready).
//!
//! Strimzi's restart and offsets annotations are processed by [`crate::operator_annotations`].
//!
//! `strimzi.io/pause-reconciliation: "true"` gives the ReconciliationPaused status and nothing
//! else happens. A status change is written only after the desired status has been stable for
//! [`RECONCILE_DELAY`], so clients must wait for it.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::bed::{PodIps, client_for};
use crate::crds;
use crate::doubles::Doubles;
use mm2_core::resources::validation;

/// Minimum time between a change of the CR and the status that answers it.
pub const RECONCILE_DELAY: Duration = Duration::from_millis(300);
/// Polling interval.
pub const POLL: Duration = Duration::from_millis(200);
/// Annotation: `frozen` makes the operator ignore the object.
pub const FROZEN_ANNOTATION: &str = "test.mm2.dev/operator";
/// Annotation: connector names to report FAILED.
pub const FAIL_CONNECTOR_ANNOTATION: &str = "test.mm2.dev/fail-connector";
/// Annotation: `<connector>:<taskId>` tasks to report FAILED.
pub const FAIL_TASK_ANNOTATION: &str = "test.mm2.dev/fail-task";
/// Strimzi's pause annotation.
pub const PAUSE_ANNOTATION: &str = "strimzi.io/pause-reconciliation";
/// Image of the simulated MM2 pods.
pub const MM2_IMAGE: &str = "quay.io/strimzi/kafka:0.51.0-kafka-4.1.0";
/// Trace of a simulated failure.
pub const SIMULATED_TRACE: &str = "org.apache.kafka.connect.errors.ConnectException: simulated failure\n\
\tat org.apache.kafka.connect.mirror.MirrorSourceConnector.start(MirrorSourceConnector.java:151)\n\
\tat org.apache.kafka.connect.runtime.WorkerConnector.doStart(WorkerConnector.java:190)\n\
\tat org.apache.kafka.connect.runtime.WorkerConnector.start(WorkerConnector.java:215)\n";

pub(crate) struct OperatorConfig {
    pub alias: String,
    pub kubeconfig: PathBuf,
    pub context: String,
    pub node: String,
    pub host_ip: Ipv4Addr,
}

/// Current time as Strimzi writes it (`2026-03-01T10:00:00.123Z`).
pub fn now_strimzi() -> String {
    let ts = k8s_openapi::jiff::Timestamp::now();
    let secs = k8s_openapi::jiff::Timestamp::from_second(ts.as_second()).unwrap_or(ts);
    let s = secs.to_string();
    let millis = ts.subsec_millisecond();
    format!("{}.{millis:03}Z", s.trim_end_matches('Z'))
}

/// Current time as Kubernetes writes it (`2026-03-01T10:00:00Z`).
pub fn now_k8s() -> String {
    let ts = k8s_openapi::jiff::Timestamp::now();
    k8s_openapi::jiff::Timestamp::from_second(ts.as_second())
        .unwrap_or(ts)
        .to_string()
}

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

pub(crate) fn spawn(
    handle: &tokio::runtime::Handle,
    cfg: OperatorConfig,
    doubles: Doubles,
    ips: Arc<PodIps>,
) {
    handle.spawn(async move {
        let log_path = cfg
            .kubeconfig
            .parent()
            .map(|d| d.join("operator.log"))
            .unwrap_or_default();
        let mut op = Operator {
            cfg,
            doubles,
            ips,
            log_path,
            pending: HashMap::new(),
            services: HashSet::new(),
            last_sweep: Instant::now(),
        };
        loop {
            match client_for(&op.cfg.kubeconfig, &op.cfg.context).await {
                Ok(client) => loop {
                    if let Err(e) = op.tick(&client).await {
                        op.log(&format!("tick failed: {e:#}"));
                    }
                    tokio::time::sleep(POLL).await;
                },
                Err(e) => {
                    op.log(&format!("no client: {e:#}"));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
}

struct Operator {
    cfg: OperatorConfig,
    doubles: Doubles,
    ips: Arc<PodIps>,
    log_path: PathBuf,
    /// uid -> (desired status without timestamps, since when)
    pending: HashMap<String, (Value, Instant)>,
    /// uids whose Services were created
    services: HashSet<String>,
    last_sweep: Instant,
}

/// Which served version holds this object's shape.
fn pick_version(b2: Option<&DynamicObject>, v1: Option<&DynamicObject>) -> &'static str {
    let old = b2.map(|o| {
        let s = &o.data["spec"];
        !s["clusters"].is_null() || !s["connectCluster"].is_null()
    });
    let new = v1.map(|o| !o.data["spec"]["target"].is_null());
    match (old, new) {
        (Some(true), _) => "v1beta2",
        (_, Some(true)) => "v1",
        (Some(_), _) => "v1beta2",
        _ => "v1",
    }
}

fn annotation<'a>(o: &'a DynamicObject, key: &str) -> Option<&'a str> {
    o.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(|s| s.as_str())
}

/// Conditions with `lastTransitionTime` removed, to compare statuses.
fn strip_times(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(cs) = v["conditions"].as_array_mut() {
        for c in cs {
            if let Some(m) = c.as_object_mut() {
                m.remove("lastTransitionTime");
            }
        }
    }
    v
}

fn condition(prev: &Value, typ: &str, reason: Option<&str>, message: Option<&str>, now: &str) -> Value {
    let kept = prev["conditions"].as_array().and_then(|cs| {
        cs.iter()
            .find(|c| {
                c["type"] == typ
                    && c["status"] == "True"
                    && c["reason"].as_str() == reason
                    && c["message"].as_str() == message
            })
            .and_then(|c| c["lastTransitionTime"].as_str().map(|s| s.to_string()))
    });
    let mut c =
        json!({"type": typ, "status": "True", "lastTransitionTime": kept.unwrap_or_else(|| now.to_string())});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    c
}

/// `DeprecatedFields` warnings, worded by mm2-core's port of Strimzi's `ValidationVisitor`.
/// The 0.51 operator reads every KafkaMirrorMaker2 at `v1beta2` (its `@Version`), so that is the
/// API version the message names; a v1-shaped object has no deprecated field to report.
fn deprecation_warnings(obj: &DynamicObject, prev: &Value, now: &str) -> Vec<Value> {
    let name = obj.metadata.name.clone().unwrap_or_default();
    let ns = obj.metadata.namespace.clone().unwrap_or_default();
    validation::deprecations(&obj.data["spec"])
        .iter()
        .map(|d| {
            let msg = d.message(&ns, &name, "kafka.strimzi.io/v1beta2");
            condition(prev, "Warning", Some("DeprecatedFields"), Some(&msg), now)
        })
        .collect()
}

/// Whether Strimzi 0.51 would run this object at all (`KafkaMirrorMaker2Cluster.fromCrd`).
pub fn is_valid(obj: &DynamicObject) -> bool {
    obj.data["spec"].is_object() && validation::validate(Some(&obj.data["spec"])).is_ok()
}

/// Every connector the MM2 declares, named as Strimzi names it (`proxmox->aws.MirrorSourceConnector`),
/// with its spec (`spec.mirrors[].sourceConnector` ...). No heartbeat connector in v1.
pub(crate) fn connector_specs(obj: &DynamicObject, version: &str) -> Vec<(String, Value)> {
    let spec = &obj.data["spec"];
    let mut out = Vec::new();
    for m in spec["mirrors"].as_array().into_iter().flatten() {
        let src = m["sourceCluster"]
            .as_str()
            .or_else(|| m["source"]["alias"].as_str())
            .unwrap_or("");
        let tgt = m["targetCluster"]
            .as_str()
            .or_else(|| spec["target"]["alias"].as_str())
            .unwrap_or("");
        for (suffix, field) in [
            ("MirrorSourceConnector", "sourceConnector"),
            ("MirrorCheckpointConnector", "checkpointConnector"),
            ("MirrorHeartbeatConnector", "heartbeatConnector"),
        ] {
            if field == "heartbeatConnector" && version != "v1beta2" {
                continue;
            }
            if m[field].is_object() {
                out.push((format!("{src}->{tgt}.{suffix}"), m[field].clone()));
            }
        }
    }
    out
}

/// The status Strimzi 0.51 would write for this object, read at `version`.
pub fn desired_status(obj: &DynamicObject, version: &str, now: &str) -> Value {
    let name = obj.metadata.name.clone().unwrap_or_default();
    let ns = obj.metadata.namespace.clone().unwrap_or_default();
    let generation = obj.metadata.generation.unwrap_or(1);
    let spec = &obj.data["spec"];
    let prev = &obj.data["status"];
    let warnings = deprecation_warnings(obj, prev, now);

    if annotation(obj, PAUSE_ANNOTATION) == Some("true") {
        let mut conds = warnings;
        conds.push(condition(prev, "ReconciliationPaused", None, None, now));
        let mut s = json!({"conditions": conds});
        if !prev["observedGeneration"].is_null() {
            s["observedGeneration"] = prev["observedGeneration"].clone();
        }
        s["replicas"] = json!(0);
        return s;
    }
    // AbstractOperator: a null spec gets its own NotReady, without the validation warnings.
    if !spec.is_object() {
        let c = condition(
            prev,
            "NotReady",
            Some(validation::INVALID_REASON),
            Some("Spec cannot be null"),
            now,
        );
        return json!({"conditions": [c], "observedGeneration": generation});
    }
    // KafkaMirrorMaker2AssemblyOperator.createOrUpdate: fromCrd validates first; on an
    // InvalidResourceException the status is exactly the NotReady condition plus observedGeneration
    // (StatusUtils.setStatusConditionAndObservedGeneration), then AbstractOperator appends the
    // deprecation warnings. Nothing else is created: no replicas, url, labelSelector or connectors.
    if let Err(invalid) = validation::validate(Some(spec)) {
        let mut conds = vec![condition(
            prev,
            "NotReady",
            Some(validation::INVALID_REASON),
            Some(&invalid.message()),
            now,
        )];
        conds.extend(warnings);
        return json!({"conditions": conds, "observedGeneration": generation});
    }

    let replicas = spec["replicas"].as_i64().unwrap_or(3).max(0);
    let component = format!("{name}-mirrormaker2");
    let pods: Vec<String> = (0..replicas.max(1)).map(|i| format!("{component}-{i}")).collect();
    let worker = |i: usize| format!("{}.{component}.{ns}.svc:8083", pods[i % pods.len()]);
    let failing: HashSet<String> = annotation(obj, FAIL_CONNECTOR_ANNOTATION)
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let failing_tasks: HashSet<(String, i64)> = annotation(obj, FAIL_TASK_ANNOTATION)
        .map(|s| {
            s.split(',')
                .filter_map(|x| x.trim().rsplit_once(':'))
                .filter_map(|(c, t)| t.parse().ok().map(|t| (c.to_string(), t)))
                .collect()
        })
        .unwrap_or_default();

    let mut specs = connector_specs(obj, version);
    specs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut connectors = Vec::new();
    if replicas > 0 {
        for (j, (cname, cs)) in specs.iter().enumerate() {
            let state = match cs["state"].as_str().map(|s| s.to_lowercase()) {
                Some(s) if s == "paused" => "PAUSED",
                Some(s) if s == "stopped" => "STOPPED",
                Some(_) => "RUNNING",
                None if cs["pause"] == json!(true) => "PAUSED",
                None => "RUNNING",
            };
            let tasks_max = cs["tasksMax"].as_i64().unwrap_or(1).max(1);
            let entry = if failing.contains(cname) {
                json!({"name": cname, "connector": {"state": "FAILED", "worker_id": worker(j), "trace": SIMULATED_TRACE},
                       "tasks": [], "type": "source"})
            } else {
                let tasks: Vec<Value> = if state == "STOPPED" {
                    Vec::new()
                } else {
                    (0..tasks_max)
                        .map(|t| {
                            let w = worker(j + t as usize + 1);
                            if failing_tasks.contains(&(cname.clone(), t)) {
                                json!({"id": t, "state": "FAILED", "worker_id": w, "trace": SIMULATED_TRACE})
                            } else {
                                json!({"id": t, "state": state, "worker_id": w})
                            }
                        })
                        .collect()
                };
                json!({"name": cname, "connector": {"state": state, "worker_id": worker(j)}, "tasks": tasks, "type": "source"})
            };
            connectors.push(entry);
        }
    }
    let failed = connectors.iter().any(|c| c["connector"]["state"] == "FAILED");
    // The reconcile's own condition first, then the warnings AbstractOperator appends.
    let mut conds = vec![if failed {
        condition(
            prev,
            "NotReady",
            Some("NoStackTraceThrowable"),
            Some("One or more connectors are in FAILED state"),
            now,
        )
    } else {
        condition(prev, "Ready", None, None, now)
    }];
    conds.extend(warnings);
    let mut s = json!({"conditions": conds, "observedGeneration": generation});
    if replicas > 0 {
        s["url"] = json!(format!("http://{component}-api.{ns}.svc:8083"));
    }
    if !connectors.is_empty() {
        s["connectors"] = json!(connectors);
    }
    s["labelSelector"] = json!(format!(
        "strimzi.io/cluster={name},strimzi.io/name={component},strimzi.io/kind=KafkaMirrorMaker2"
    ));
    s["replicas"] = json!(replicas);
    s
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

impl Operator {
    fn log(&self, msg: &str) {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
        {
            let _ = writeln!(f, "{} {msg}", now_strimzi());
        }
    }

    async fn tick(&mut self, client: &Client) -> Result<()> {
        let lp = ListParams::default();
        let b2: Api<DynamicObject> = Api::all_with(client.clone(), &crds::mm2("v1beta2"));
        let v1: Api<DynamicObject> = Api::all_with(client.clone(), &crds::mm2("v1"));
        let (l_b2, l_v1) = futures::try_join!(b2.list(&lp), v1.list(&lp))?;
        let mut by_uid: HashMap<String, (Option<DynamicObject>, Option<DynamicObject>)> = HashMap::new();
        for o in l_b2.items {
            let uid = o.metadata.uid.clone().unwrap_or_default();
            by_uid.entry(uid).or_default().0 = Some(o);
        }
        for o in l_v1.items {
            let uid = o.metadata.uid.clone().unwrap_or_default();
            by_uid.entry(uid).or_default().1 = Some(o);
        }
        let pods_api: Api<Pod> = Api::all(client.clone());
        let all_pods = pods_api.list(&ListParams::default()).await?.items;
        // Play the kubelet: pods being deleted go away at once.
        for p in all_pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_some())
        {
            let api: Api<Pod> =
                Api::namespaced(client.clone(), p.metadata.namespace.as_deref().unwrap_or(""));
            let _ = api
                .delete(
                    p.metadata.name.as_deref().unwrap_or(""),
                    &DeleteParams::default().grace_period(0),
                )
                .await;
        }
        let pods: Vec<Pod> = all_pods
            .iter()
            .filter(|p| {
                p.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("strimzi.io/kind"))
                    .map(|s| s.as_str())
                    == Some("KafkaMirrorMaker2")
            })
            .cloned()
            .collect();

        let mut existing: HashSet<(String, String)> = HashSet::new();
        let live_uids: HashSet<String> = by_uid.keys().cloned().collect();
        self.pending.retain(|k, _| live_uids.contains(k));
        self.services.retain(|k| live_uids.contains(k));

        for (uid, (ob2, ov1)) in by_uid {
            let version = pick_version(ob2.as_ref(), ov1.as_ref());
            let Some(obj) = (if version == "v1beta2" {
                ob2.or(ov1)
            } else {
                ov1.or(ob2)
            }) else {
                continue;
            };
            let name = obj.metadata.name.clone().unwrap_or_default();
            let ns = obj.metadata.namespace.clone().unwrap_or_default();
            existing.insert((ns.clone(), name.clone()));
            if annotation(&obj, FROZEN_ANNOTATION) == Some("frozen") {
                continue;
            }
            let paused = annotation(&obj, PAUSE_ANNOTATION) == Some("true");
            if let Err(e) = self.reconcile(client, &uid, &obj, version, paused, &pods).await {
                self.log(&format!("reconcile {ns}/{name}: {e:#}"));
            }
        }

        // Pods of KafkaMirrorMaker2s that are gone.
        for p in &pods {
            let ns = p.metadata.namespace.clone().unwrap_or_default();
            let cluster = strimzi_cluster_of(p);
            if !existing.contains(&(ns.clone(), cluster)) && p.metadata.deletion_timestamp.is_none() {
                let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
                let _ = api
                    .delete(
                        p.metadata.name.as_deref().unwrap_or(""),
                        &DeleteParams::default().grace_period(0),
                    )
                    .await;
            }
        }

        if self.last_sweep.elapsed() > Duration::from_secs(3) {
            self.last_sweep = Instant::now();
            let live: HashSet<(String, String)> = all_pods
                .iter()
                .map(|p| {
                    (
                        p.metadata.namespace.clone().unwrap_or_default(),
                        p.metadata.name.clone().unwrap_or_default(),
                    )
                })
                .collect();
            self.ips.retain_live(&self.cfg.alias, &live);
        }
        Ok(())
    }

    async fn reconcile(
        &mut self,
        client: &Client,
        uid: &str,
        obj: &DynamicObject,
        version: &str,
        paused: bool,
        pods: &[Pod],
    ) -> Result<()> {
        let name = obj.metadata.name.clone().unwrap_or_default();
        let ns = obj.metadata.namespace.clone().unwrap_or_default();
        let now = now_strimzi();
        // Strimzi's restart and offsets annotations (operator_annotations.rs).
        // An invalid MM2 never reaches the connectors, so its annotations stay unprocessed.
        let processed = if paused || !is_valid(obj) {
            None
        } else {
            crate::operator_annotations::process(client, obj, version, &self.ips, &self.cfg.alias)
                .await
                .inspect_err(|e| self.log(&format!("annotations of {ns}/{name}: {e:#}")))
                .ok()
        };
        let obj = processed.as_ref().map_or(obj, |p| &p.obj);
        let mut desired = desired_status(obj, version, &now);
        if let Some(p) = &processed {
            crate::operator_annotations::add_warnings(&mut desired, &p.warnings, &obj.data["status"], &now);
        }
        let current = obj.data["status"].clone();
        let alias = self.cfg.alias.clone();

        // An invalid MM2 stops the reconcile before anything is created (and leaves what an
        // earlier valid generation created alone, as Strimzi does).
        let valid = is_valid(obj);
        // A valid KafkaMirrorMaker2 run on real Kafka Connect (crate::kafka::mm2): its connectors
        // are Connect's; no status until Connect answers, as Strimzi holds it while reconciling.
        let real = if paused || !valid {
            crate::kafka::mm2::touch(&alias, obj);
            crate::kafka::mm2::Real::No
        } else {
            crate::kafka::mm2::sync(&alias, &self.cfg.kubeconfig, &self.cfg.context, obj)
        };
        if !paused && valid {
            self.reconcile_pods(client, uid, obj, version, pods).await?;
        }
        match real {
            crate::kafka::mm2::Real::No => {}
            crate::kafka::mm2::Real::Starting => return Ok(()),
            crate::kafka::mm2::Real::Observed(connectors) => {
                crate::kafka::mm2::apply_observed(&mut desired, connectors)
            }
        }

        let mut status_now = current.clone();
        if strip_times(&desired) != strip_times(&current) {
            let key = strip_times(&desired);
            let since = match self.pending.get(uid) {
                Some((v, t)) if *v == key => *t,
                _ => {
                    self.pending.insert(uid.to_string(), (key, Instant::now()));
                    Instant::now()
                }
            };
            if since.elapsed() >= RECONCILE_DELAY {
                let mut patch = desired.clone();
                if let (Some(p), Some(c)) = (patch.as_object_mut(), current.as_object()) {
                    for k in c.keys() {
                        if !p.contains_key(k) {
                            p.insert(k.clone(), Value::Null);
                        }
                    }
                }
                let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &crds::mm2(version));
                api.patch_status(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"status": patch})),
                )
                .await?;
                self.pending.remove(uid);
                self.log(&format!(
                    "{ns}/{name} ({version}) status written: {}",
                    strip_times(&desired)
                ));
                status_now = desired;
            }
        } else {
            self.pending.remove(uid);
        }
        if !paused {
            let connectors = status_now["connectors"].as_array().cloned().unwrap_or_default();
            self.doubles.set_connectors(&alias, &ns, &name, connectors);
        }
        Ok(())
    }

    async fn reconcile_pods(
        &mut self,
        client: &Client,
        uid: &str,
        obj: &DynamicObject,
        version: &str,
        pods: &[Pod],
    ) -> Result<()> {
        let name = obj.metadata.name.clone().unwrap_or_default();
        let ns = obj.metadata.namespace.clone().unwrap_or_default();
        let replicas = if obj.data["spec"].is_object() {
            obj.data["spec"]["replicas"].as_i64().unwrap_or(3).max(0)
        } else {
            0
        };
        let component = format!("{name}-mirrormaker2");
        let owner = json!([{"apiVersion": format!("kafka.strimzi.io/{version}"), "kind": "KafkaMirrorMaker2",
                            "name": name, "uid": uid, "controller": false, "blockOwnerDeletion": false}]);
        let pods_api: Api<Pod> = Api::namespaced(client.clone(), &ns);

        if !self.services.contains(uid) {
            let svc_api: Api<Service> = Api::namespaced(client.clone(), &ns);
            let sel = json!({"strimzi.io/cluster": name, "strimzi.io/kind": "KafkaMirrorMaker2", "strimzi.io/name": component});
            let labels = mm2_pod_labels(obj.metadata.labels.as_ref(), &name, "");
            let mut labels = labels.as_object().cloned().unwrap_or_default();
            for k in [
                "strimzi.io/pod-name",
                "strimzi.io/controller",
                "strimzi.io/controller-name",
            ] {
                labels.remove(k);
            }
            for (svc_name, headless) in [(format!("{component}-api"), false), (component.clone(), true)] {
                let mut spec = json!({"selector": sel, "ports": [{"name": "rest-api", "port": 8083, "targetPort": 8083, "protocol": "TCP"}]});
                if headless {
                    spec["clusterIP"] = json!("None");
                    spec["publishNotReadyAddresses"] = json!(true);
                } else {
                    spec["type"] = json!("ClusterIP");
                }
                let svc: Service = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": svc_name, "namespace": ns, "labels": labels, "ownerReferences": owner},
                    "spec": spec}))?;
                match svc_api.create(&PostParams::default(), &svc).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.is_already_exists() => {}
                    Err(e) => return Err(e.into()),
                }
            }
            self.services.insert(uid.to_string());
        }

        let mine: Vec<&Pod> = pods
            .iter()
            .filter(|p| {
                p.metadata.namespace.as_deref() == Some(&ns)
                    && p.metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get("strimzi.io/cluster"))
                        .map(|s| s.as_str())
                        == Some(&name)
            })
            .collect();
        // Extra pods.
        for p in &mine {
            let pname = p.metadata.name.clone().unwrap_or_default();
            let idx = pname
                .strip_prefix(&format!("{component}-"))
                .and_then(|i| i.parse::<i64>().ok());
            if idx.is_none_or(|i| i >= replicas) && p.metadata.deletion_timestamp.is_none() {
                let _ = pods_api
                    .delete(&pname, &DeleteParams::default().grace_period(0))
                    .await;
            }
        }
        for i in 0..replicas {
            let pname = format!("{component}-{i}");
            let found = mine.iter().find(|p| p.metadata.name.as_deref() == Some(&pname));
            // Pods served by a real Connect worker have its address and no doubles.
            let ip = match crate::kafka::mm2::real_pod_ip(&self.cfg.alias, &ns, &pname) {
                Some(ip) => ip,
                None => {
                    let ip = self.ips.get_or_alloc(&self.cfg.alias, &ns, &pname)?;
                    self.doubles
                        .register_mm2_pod(&self.cfg.alias, &ns, &pname, &name, ip)?;
                    ip
                }
            };
            let needs_status = match found {
                Some(p) if p.metadata.deletion_timestamp.is_some() => false,
                Some(p) => {
                    let st = p.status.as_ref();
                    st.and_then(|s| s.pod_ip.as_deref()) != Some(&ip.to_string())
                        || st.and_then(|s| s.phase.as_deref()) != Some("Running")
                }
                None => {
                    let pod: Pod = serde_json::from_value(json!({
                        "apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": pname, "namespace": ns,
                                     "labels": mm2_pod_labels(obj.metadata.labels.as_ref(), &name, &pname),
                                     "annotations": {"strimzi.io/revision": format!("{:08x}", obj.metadata.generation.unwrap_or(1))},
                                     "ownerReferences": owner},
                        "spec": {"hostname": pname, "subdomain": component, "nodeName": self.cfg.node,
                                 "containers": [{"name": component, "image": MM2_IMAGE,
                                                 "command": ["/opt/kafka/kafka_mirror_maker_2_run.sh"],
                                                 "ports": [{"name": "rest-api", "containerPort": 8083, "protocol": "TCP"},
                                                           {"name": "tcp-prometheus", "containerPort": 9404, "protocol": "TCP"}]}],
                                 "restartPolicy": "Always", "terminationGracePeriodSeconds": 30}
                    }))?;
                    match pods_api.create(&PostParams::default(), &pod).await {
                        Ok(_) => true,
                        Err(kube::Error::Api(s)) if s.is_already_exists() => true,
                        Err(e) => return Err(e.into()),
                    }
                }
            };
            if needs_status {
                let st = running_pod_status(
                    ip,
                    self.cfg.host_ip,
                    &[(component.clone(), MM2_IMAGE.to_string())],
                );
                pods_api
                    .patch_status(
                        &pname,
                        &PatchParams::default(),
                        &Patch::Merge(json!({"status": st})),
                    )
                    .await?;
            }
        }
        Ok(())
    }
}
