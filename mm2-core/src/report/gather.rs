//! Reading everything the report holds from one context, read-only, under that context's
//! budget. Each part stands alone: a part that is refused (RBAC, the pod proxy, a timeout) is
//! recorded as missing with the error, and the others are still collected. What was collected
//! before a budget ran out is kept (the sink lives outside the timed future).

use super::plan::{self, namespace_dir, pod_dir};
use super::pod_logs;
use super::{Collected, Content, Missing};
use crate::clients::{ContextClient, Op, resource_name};
use crate::clusterset::secret::SecretView;
use crate::error::{Error, Result};
use crate::lag::report::METRICS_PORT;
use crate::resources::inventory::Mm2Object;
use crate::resources::versions::{endpointslice_version, served_versions};
use crate::resources::{api_resource, flux, mcs, strimzi};
use k8s_openapi::api::core::v1::{Pod, Secret};
use k8s_openapi::jiff::Timestamp;
use kube::api::{ListParams, LogParams};
use kube::core::ApiResource;
use serde_json::{Value, json};
use std::sync::Mutex;
use std::time::Duration;

/// Kafka Connect's REST port on every MirrorMaker 2 worker.
pub const CONNECT_PORT: u16 = 8083;

/// What to read in one context.
#[derive(Debug, Clone)]
pub struct ContextPlan {
    pub context: String,
    pub namespaces: Vec<String>,
    /// The KafkaMirrorMaker2s discovery already read (at the right version) in this context.
    pub mm2s: Vec<Mm2Object>,
    /// Why discovery could not list the KafkaMirrorMaker2s here (RBAC …), if it could not.
    pub mm2_error: Option<Error>,
    pub since: Duration,
    pub now: Timestamp,
    /// `--logs`: the last N lines of each worker container.
    pub logs_tail: Option<i64>,
}

/// Everything one context contributed. Filled as parts arrive, so a budget that runs out keeps
/// what was already read.
#[derive(Debug, Default)]
pub struct Sink {
    inner: Mutex<SinkData>,
}

#[derive(Debug, Default)]
pub struct SinkData {
    pub files: Vec<Collected>,
    pub missing: Vec<Missing>,
    pub notes: Vec<String>,
    /// Every Secret value read: the redactor searches for them; they are never written.
    pub secret_values: Vec<Vec<u8>>,
    pub secrets_read: usize,
    pub server_version: Option<String>,
}

impl Sink {
    fn lock(&self) -> std::sync::MutexGuard<'_, SinkData> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn file(&self, path: String, content: Content) {
        self.lock().files.push(Collected { path, content });
    }
    pub fn missing(&self, context: &str, part: String, e: &Error) {
        self.lock().missing.push(Missing {
            context: Some(context.to_string()),
            part,
            kind: e.kind().to_string(),
            reason: e.to_string(),
        });
    }
    fn note(&self, note: String) {
        self.lock().notes.push(note);
    }
    pub fn take(self) -> SinkData {
        self.inner.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

/// `GET /version`: who answers, and whether the cluster is there at all.
pub async fn server_version(cc: &ContextClient, sink: &Sink) -> Result<()> {
    let op = Op::new("get", "version", "Version");
    let text = cc.get_raw(op, "/version").await?;
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    sink.lock().server_version = v["gitVersion"].as_str().map(str::to_string);
    sink.file(
        format!("{}/version.json", plan::context_dir(&cc.context)),
        Content::Json(v),
    );
    Ok(())
}

/// Read every part of every namespace of the plan into `sink`.
pub async fn gather_context(cc: &ContextClient, p: &ContextPlan, sink: &Sink) {
    for ns in &p.namespaces {
        gather_namespace(cc, p, ns, sink).await;
    }
}

async fn gather_namespace(cc: &ContextClient, p: &ContextPlan, ns: &str, sink: &Sink) {
    let dir = namespace_dir(&cc.context, ns);
    let mm2s: Vec<&Mm2Object> = p.mm2s.iter().filter(|m| m.namespace == ns).collect();
    let mm2_docs: Vec<Value> = mm2s.iter().map(|m| object(m.obj.clone(), &m.ar)).collect();
    let mm2_path = format!("{dir}/kafkamirrormaker2s.yaml");
    match &p.mm2_error {
        Some(e) => record(cc, sink, mm2_path, e),
        None => sink.file(mm2_path, Content::Json(plan::list_doc(mm2_docs.clone()))),
    }
    let services_ar = api_resource("", "v1", "Service", "services");
    // Independent parts, concurrently; each records its own outcome.
    let (strimzi_docs, services, mcs_docs, configmaps, ..) = tokio::join!(
        strimzi_kinds(cc, ns, &dir, sink),
        list_part(cc, &services_ar, ns, &dir, "services", sink),
        mcs_kinds(cc, ns, &dir, sink),
        metrics_config_maps(cc, ns, &dir, &mm2_docs, sink),
        events(cc, p, ns, &dir, sink),
        endpoint_slices(cc, ns, &dir, sink),
        secrets(cc, ns, &dir, sink),
        worker_pods(cc, p, &mm2s, &dir, sink),
    );
    let owned = mm2_docs
        .iter()
        .chain(strimzi_docs.iter())
        .chain(services.iter())
        .chain(mcs_docs.iter())
        .chain(configmaps.iter());
    flux_kustomizations(cc, plan::flux_owners(owned), &dir, sink).await;
}

/// LIST one namespaced resource into `<dir>/<file>.yaml`; returns the items (empty when refused).
async fn list_part(
    cc: &ContextClient,
    ar: &ApiResource,
    ns: &str,
    dir: &str,
    file: &str,
    sink: &Sink,
) -> Vec<Value> {
    match cc.list(ar, ns).await {
        Ok(items) => {
            let items: Vec<Value> = items.into_iter().map(|o| object(o, ar)).collect();
            sink.file(
                format!("{dir}/{file}.yaml"),
                Content::Json(plan::list_doc(items.clone())),
            );
            items
        }
        Err(e) => {
            record(cc, sink, format!("{dir}/{file}.yaml"), &e);
            vec![]
        }
    }
}

/// A dynamic object as the archive holds it: typed, without managedFields.
fn object(o: kube::core::DynamicObject, ar: &ApiResource) -> Value {
    plan::tidy(plan::typed(
        serde_json::to_value(o).unwrap_or_default(),
        &ar.api_version,
        &ar.kind,
    ))
}

/// A part that could not be read: an API that is not installed is a note (there is nothing to
/// collect), anything else is missing.
fn record(cc: &ContextClient, sink: &Sink, part: String, e: &Error) {
    match e {
        Error::CrdMissing { group, kind, .. } => sink.note(format!(
            "{}: {part}: the {kind} API ({group}) is not installed",
            cc.context
        )),
        _ => sink.missing(&cc.context, part, e),
    }
}

/// Kafka, KafkaNodePool, KafkaUser, each object at the served version that kept most of it.
async fn strimzi_kinds(cc: &ContextClient, ns: &str, dir: &str, sink: &Sink) -> Vec<Value> {
    let served = match served_versions(cc, strimzi::GROUP, strimzi::KAFKA_KIND).await {
        Ok(s) => s,
        Err(e) => {
            for file in ["kafkas", "kafkanodepools", "kafkausers"] {
                record(cc, sink, format!("{dir}/{file}.yaml"), &e);
            }
            return vec![];
        }
    };
    let mut versions: Vec<String> = ["v1beta2", "v1"]
        .into_iter()
        .filter(|v| served.serves(v))
        .map(String::from)
        .collect();
    if versions.is_empty() {
        versions = served.versions.clone();
    }
    let kinds = [
        (strimzi::KAFKA_KIND, strimzi::KAFKA_PLURAL),
        (strimzi::NODEPOOL_KIND, strimzi::NODEPOOL_PLURAL),
        (strimzi::KAFKAUSER_KIND, strimzi::KAFKAUSER_PLURAL),
    ];
    let per_kind = futures::future::join_all(kinds.iter().map(|(kind, plural)| {
        let versions = &versions;
        async move {
            let reads = futures::future::join_all(versions.iter().map(|v| async move {
                let ar = api_resource(strimzi::GROUP, v, kind, plural);
                cc.list(&ar, ns).await.map(|items| (ar, items))
            }))
            .await;
            let mut ok = Vec::new();
            let mut first_err = None;
            for r in reads {
                match r {
                    Ok((ar, items)) => ok.push(items.into_iter().map(|o| object(o, &ar)).collect()),
                    Err(e) => first_err = first_err.or(Some(e)),
                }
            }
            let path = format!("{dir}/{plural}.yaml");
            match (ok.is_empty(), first_err) {
                (true, Some(e)) => {
                    record(cc, sink, path, &e);
                    vec![]
                }
                _ => {
                    let items = plan::richest_per_object(ok);
                    sink.file(path, Content::Json(plan::list_doc(items.clone())));
                    items
                }
            }
        }
    }))
    .await;
    per_kind.into_iter().flatten().collect()
}

/// ServiceExports and ServiceImports at the MCS version the cluster serves.
async fn mcs_kinds(cc: &ContextClient, ns: &str, dir: &str, sink: &Sink) -> Vec<Value> {
    let version = match served_versions(cc, mcs::GROUP, mcs::EXPORT_KIND).await {
        Ok(s) if s.serves(mcs::VERSION) => mcs::VERSION.to_string(),
        Ok(s) => s.preferred.clone().unwrap_or_else(|| mcs::VERSION.to_string()),
        Err(e) => {
            for file in ["serviceexports", "serviceimports"] {
                record(cc, sink, format!("{dir}/{file}.yaml"), &e);
            }
            return vec![];
        }
    };
    let export = api_resource(mcs::GROUP, &version, mcs::EXPORT_KIND, mcs::EXPORT_PLURAL);
    let import = api_resource(mcs::GROUP, &version, mcs::IMPORT_KIND, mcs::IMPORT_PLURAL);
    let (mut e, i) = tokio::join!(
        list_part(cc, &export, ns, dir, "serviceexports", sink),
        list_part(cc, &import, ns, dir, "serviceimports", sink),
    );
    e.extend(i);
    e
}

/// EndpointSlices that back a multi-cluster service, at the version the cluster serves.
async fn endpoint_slices(cc: &ContextClient, ns: &str, dir: &str, sink: &Sink) {
    let path = format!("{dir}/endpointslices.yaml");
    let version = match endpointslice_version(cc).await {
        Ok(v) => v,
        Err(e) => return record(cc, sink, path, &e),
    };
    let ar = api_resource("discovery.k8s.io", &version, "EndpointSlice", "endpointslices");
    let api = cc.dynamic(&ar, ns);
    let lp = ListParams::default().labels(mcs::SERVICE_NAME_LABEL);
    let res = resource_name(&ar);
    match cc
        .call(Op::new("list", &res, &ar.kind).ns(ns), api.list(&lp))
        .await
    {
        Ok(list) => {
            let items = list.items.into_iter().map(|o| object(o, &ar)).collect();
            sink.file(path, Content::Json(plan::list_doc(items)));
        }
        Err(e) => record(cc, sink, path, &e),
    }
}

/// Events of the namespace within `--since`.
async fn events(cc: &ContextClient, p: &ContextPlan, ns: &str, dir: &str, sink: &Sink) {
    let path = format!("{dir}/events.yaml");
    let ar = api_resource("", "v1", "Event", "events");
    match cc.list(&ar, ns).await {
        Ok(items) => {
            let items = items.into_iter().map(|o| object(o, &ar)).collect();
            let mut recent = plan::recent_events(items, p.now, p.since);
            recent.sort_by_key(|e| plan::event_time(e).map(|t| t.as_second()).unwrap_or(i64::MAX));
            sink.file(
                path,
                Content::Json(json!({"apiVersion": "v1", "kind": "List", "items": recent})),
            );
        }
        Err(e) => record(cc, sink, path, &e),
    }
}

/// Secrets as metadata only. The values are read (to hash them, and so the redactor can find
/// them anywhere else) and never written.
async fn secrets(cc: &ContextClient, ns: &str, dir: &str, sink: &Sink) {
    let path = format!("{dir}/secrets.yaml");
    let api: kube::Api<Secret> = kube::Api::namespaced(cc.client.clone(), ns);
    let list = match cc
        .call(
            Op::new("list", "secrets", "Secret").ns(ns),
            api.list(&ListParams::default()),
        )
        .await
    {
        Ok(l) => l,
        Err(e) => return record(cc, sink, path, &e),
    };
    let mut items = Vec::new();
    let mut values = Vec::new();
    for s in list.items {
        let view = SecretView::from_secret(s);
        values.extend(
            view.data
                .0
                .iter()
                .filter(|(k, _)| !is_public_key(&view.type_, k))
                .map(|(_, v)| v.clone()),
        );
        items.push(secret_metadata(&view));
    }
    let count = items.len();
    sink.file(path, Content::Json(plan::list_doc(items)));
    let mut d = sink.lock();
    d.secrets_read += count;
    d.secret_values.extend(values);
}

/// Keys whose values are not secret and so common that searching for them would blank the
/// archive: a service-account token Secret holds the namespace name.
fn is_public_key(type_: &str, key: &str) -> bool {
    type_ == "kubernetes.io/service-account-token" && key == "namespace"
}

/// What the archive says about one Secret: enough to see it exists, who owns it and whether two
/// copies agree, and nothing that reveals a value.
pub fn secret_metadata(v: &SecretView) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {
            "name": v.name, "namespace": v.namespace, "uid": v.uid,
            "resourceVersion": v.resource_version,
            "labels": v.labels,
            // Annotation values may hold the whole Secret (last-applied-configuration).
            "annotationKeys": v.annotations.0.keys().collect::<Vec<_>>(),
            "ownerReferences": v.owner_references,
        },
        "type": v.type_,
        "keys": v.data.keys(),
        "contentHash": v.content_hash(),
        "immutable": v.immutable,
    })
}

/// The metrics ConfigMaps the MM2s reference.
async fn metrics_config_maps(
    cc: &ContextClient,
    ns: &str,
    dir: &str,
    mm2s: &[Value],
    sink: &Sink,
) -> Vec<Value> {
    let ar = api_resource("", "v1", "ConfigMap", "configmaps");
    let mut items = Vec::new();
    for name in plan::metrics_config_maps(mm2s) {
        match cc.get_opt(&ar, ns, &name).await {
            Ok(Some(o)) => items.push(object(o, &ar)),
            Ok(None) => sink.note(format!(
                "{}: metrics ConfigMap {ns}/{name} referenced by a KafkaMirrorMaker2 does not exist",
                cc.context
            )),
            Err(e) => record(cc, sink, format!("{dir}/configmaps.yaml ({name})"), &e),
        }
    }
    sink.file(
        format!("{dir}/configmaps.yaml"),
        Content::Json(plan::list_doc(items.clone())),
    );
    items
}

/// The Flux Kustomizations named by ownership labels.
async fn flux_kustomizations(
    cc: &ContextClient,
    owners: std::collections::BTreeSet<(String, String)>,
    dir: &str,
    sink: &Sink,
) {
    let ar = flux::kustomization_resource();
    let path = format!("{dir}/flux-kustomizations.yaml");
    let mut items = Vec::new();
    for (ns, name) in owners {
        match cc.get_opt(&ar, &ns, &name).await {
            Ok(Some(o)) => items.push(object(o, &ar)),
            Ok(None) => sink.note(format!(
                "{}: Flux Kustomization {ns}/{name} named by ownership labels does not exist",
                cc.context
            )),
            Err(Error::NotFound { .. }) => {}
            Err(e) => record(cc, sink, format!("{path} ({ns}/{name})"), &e),
        }
    }
    sink.file(path, Content::Json(plan::list_doc(items)));
}

/// The worker pods of every MM2, and per pod: one /metrics scrape, Connect's connector view and
/// (with --logs) the container logs, all through the API server.
async fn worker_pods(cc: &ContextClient, p: &ContextPlan, mm2s: &[&Mm2Object], dir: &str, sink: &Sink) {
    let mut pods: Vec<Pod> = Vec::new();
    for m in mm2s {
        match crate::resources::pods::pods_of(cc, m).await {
            Ok(Some(ps)) => pods.extend(ps),
            Ok(None) => sink.note(format!(
                "{}: KafkaMirrorMaker2 {}/{} has no status.labelSelector yet: no worker pods to collect",
                cc.context, m.namespace, m.name
            )),
            Err(e) => record(cc, sink, format!("{dir}/pods.yaml ({})", m.name), &e),
        }
    }
    let docs: Vec<Value> = pods
        .iter()
        .map(|p| plan::tidy(serde_json::to_value(p).unwrap_or_default()))
        .collect();
    sink.file(format!("{dir}/pods.yaml"), Content::Json(plan::list_doc(docs)));
    futures::future::join_all(pods.iter().map(|pod| per_pod(cc, p, pod, sink))).await;
}

async fn per_pod(cc: &ContextClient, p: &ContextPlan, pod: &Pod, sink: &Sink) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let dir = pod_dir(&cc.context, &ns, &name);
    let has_ip = pod.status.as_ref().and_then(|s| s.pod_ip.as_ref()).is_some();
    let proxy = |port: u16, target: &'static str, file: &'static str| {
        let (dir, ns, name) = (dir.clone(), ns.clone(), name.clone());
        async move {
            let part = format!("{dir}/{file}");
            let error_file = format!("{dir}/{}.error.txt", file.split('.').next().unwrap_or(file));
            if !has_ip {
                let reason = "the pod has no IP (not running): the pod proxy has nowhere to go";
                sink.file(error_file, Content::Text(format!("{reason}\n")));
                sink.lock().missing.push(Missing {
                    context: Some(cc.context.clone()),
                    part,
                    kind: "not-running".into(),
                    reason: reason.into(),
                });
                return;
            }
            let path = format!("/api/v1/namespaces/{ns}/pods/{name}:{port}/proxy{target}");
            let op = Op::new("get", "pods/proxy", "Pod").ns(&ns).name(&name);
            match cc.get_raw(op, &path).await {
                Ok(text) => {
                    let content = match serde_json::from_str::<Value>(&text) {
                        Ok(v) if file.ends_with(".json") => Content::Json(v),
                        _ => Content::Text(text),
                    };
                    sink.file(part, content);
                }
                Err(e) => {
                    sink.file(error_file, Content::Text(format!("GET {path}\n{e}\n")));
                    sink.missing(&cc.context, part, &e);
                }
            }
        }
    };
    tokio::join!(
        proxy(METRICS_PORT, "/metrics", "metrics.txt"),
        proxy(CONNECT_PORT, "/connectors?expand=status", "connectors.json"),
        logs(cc, p, pod, &dir, sink),
    );
}

/// `--logs`: the last N lines of each container of a worker pod, which the API server streams
/// from the kubelet of the pod's node (a failure is said of that kubelet: [`pod_logs`]).
async fn logs(cc: &ContextClient, p: &ContextPlan, pod: &Pod, dir: &str, sink: &Sink) {
    let Some(tail) = p.logs_tail else { return };
    let name = pod.metadata.name.clone().unwrap_or_default();
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let containers: Vec<String> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
    let host_ip = pod.status.as_ref().and_then(|s| s.host_ip.as_deref());
    let api: kube::Api<Pod> = kube::Api::namespaced(cc.client.clone(), &ns);
    for c in containers {
        let part = format!("{dir}/{}.log", plan::segment(&c));
        let Some(node) = node else {
            sink.lock().missing.push(pod_logs::unscheduled(&cc.context, part));
            continue;
        };
        let lp = LogParams {
            container: Some(c.clone()),
            tail_lines: Some(tail),
            ..Default::default()
        };
        let op = Op::new("get", "pods/log", "Pod").ns(&ns).name(&name);
        match cc.call(op, api.logs(&name, &lp)).await {
            Ok(text) => sink.file(part, Content::Text(text)),
            Err(e) => {
                let node = pod_logs::Node { name: node, host_ip };
                let missing = pod_logs::explain(&cc.context, part, &c, node, &e);
                sink.file(
                    format!("{dir}/{}.log.error.txt", plan::segment(&c)),
                    Content::Text(format!("logs of container {c}\n{}\n", missing.reason)),
                );
                sink.lock().missing.push(missing);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clusterset::secret::{Redacted, SecretData};

    #[test]
    fn a_secret_is_described_without_its_values() {
        let mut data = std::collections::BTreeMap::new();
        data.insert("password".to_string(), b"Zq8sV3kL0pW2".to_vec());
        data.insert(
            "sasl.jaas.config".to_string(),
            b"x required password=\"Zq8sV3kL0pW2\";".to_vec(),
        );
        let mut ann = std::collections::BTreeMap::new();
        ann.insert(
            "kubectl.kubernetes.io/last-applied-configuration".to_string(),
            r#"{"data":{"password":"WnE4c1Yza0wwcFcy"}}"#.to_string(),
        );
        let view = SecretView {
            name: "mm2-user".into(),
            namespace: "rciis-prod".into(),
            type_: "Opaque".into(),
            data: SecretData(data),
            annotations: Redacted(ann),
            ..Default::default()
        };
        let doc = secret_metadata(&view);
        let text = doc.to_string();
        assert!(
            !text.contains("Zq8sV3kL0pW2") && !text.contains("WnE4c1Yza0wwcFcy"),
            "{text}"
        );
        assert_eq!(doc["keys"], json!(["password", "sasl.jaas.config"]));
        assert_eq!(doc["contentHash"], view.content_hash().as_str());
        assert_eq!(
            doc["metadata"]["annotationKeys"],
            json!(["kubectl.kubernetes.io/last-applied-configuration"])
        );
    }

    #[test]
    fn only_a_token_secret_namespace_is_public() {
        assert!(is_public_key("kubernetes.io/service-account-token", "namespace"));
        assert!(!is_public_key("kubernetes.io/service-account-token", "token"));
        assert!(!is_public_key("Opaque", "namespace"));
    }
}
