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
//!
//! `status` computes the status Strimzi writes (pure), `pods` the Pods it keeps, and this file
//! is the reconcile loop that decides when to write them.

mod pods;
mod status;

pub use pods::*;
pub use status::*;

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
