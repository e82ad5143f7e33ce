//! The simulated operator's handling of Strimzi 0.51's KafkaMirrorMaker2 annotations:
//! `strimzi.io/restart-connector`, `strimzi.io/restart-connector-task` and
//! `strimzi.io/connector-offsets=list` + `strimzi.io/mirrormaker-connector`.
//!
//! Follows `AbstractConnectOperator` (`maybeRestartConnector`, `maybeRestartConnectorTask`,
//! `manageConnectorOffsets`, `listConnectorOffsets`, `generateListOffsetsConfigMap`) and
//! `KafkaMirrorMaker2AssemblyOperator` (`hasRestartAnnotation` = `value.contains(connector)`,
//! `restartAnnotationIsValid`, `getRestartTaskAnnotationTaskID`, `getConnectorOffsetsOperation`,
//! `getConnectorOffsetsConfigMapEntryKey`) at tag 0.51.0:
//! - per connector, offsets first, then restart, then task restart;
//! - the operator calls Connect over HTTP, exactly as `KafkaConnectApiImpl` does: the real Connect
//!   workers of a CR annotated `test.mm2.dev/kafka: real` ([`crate::kafka::mm2`]), else the REST
//!   double of a simulated pod (`POST /connectors/<n>/restart?includeTasks=..&onlyFailed=..`,
//!   `POST /connectors/<n>/tasks/<id>/restart`, `GET /connectors/<n>/offsets`, with `->` sent as
//!   `%2D%3E`), so tests can assert the request;
//! - an annotation is removed only after Connect answered 202/204 (200 for offsets); otherwise a
//!   `Warning` condition with Strimzi's reason and message, and a retry next reconcile.
//!
//! The bed's failure hooks model a transient fault: a restart Connect accepted clears the
//! `test.mm2.dev/fail-connector` / `test.mm2.dev/fail-task` entries it covers (a FAILED connector
//! when restarted; its FAILED tasks with `includeTasks`; the task of a task restart), unless
//! `test.mm2.dev/fail-persistent: "true"` says the fault survives restarts.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Result, anyhow};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::bed::PodIps;
use crate::crds;
use crate::doubles::CONNECT_PORT;
use crate::operator::{FAIL_CONNECTOR_ANNOTATION, FAIL_TASK_ANNOTATION};

pub const RESTART_CONNECTOR: &str = "strimzi.io/restart-connector";
pub const RESTART_CONNECTOR_TASK: &str = "strimzi.io/restart-connector-task";
pub const CONNECTOR_OFFSETS: &str = "strimzi.io/connector-offsets";
pub const MIRRORMAKER_CONNECTOR: &str = "strimzi.io/mirrormaker-connector";
/// Test hook: simulated failures survive restarts.
pub const FAIL_PERSISTENT_ANNOTATION: &str = "test.mm2.dev/fail-persistent";
/// Connect and answer, per worker (a real restart is planned and written to Connect's config
/// topic before the answer).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A Warning condition the reconcile adds to the status (`StatusUtils.buildWarningCondition`).
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub reason: String,
    pub message: String,
}

/// What processing the annotations did: the object as it is after our metadata patch, and the
/// Warning conditions of this reconcile.
pub struct Processed {
    pub obj: DynamicObject,
    pub warnings: Vec<Warning>,
}

/// Owned: the object is read again while the values are still compared.
fn annotation(obj: &DynamicObject, key: &str) -> Option<String> {
    crate::operator::annotation(obj, key).map(str::to_string)
}

/// `KafkaMirrorMaker2AssemblyOperator.restartAnnotationIsValid` (Java `split` drops trailing
/// empty strings).
pub fn restart_annotation_is_valid(value: &str, connector: &str) -> bool {
    let mut parts: Vec<&str> = value.split(':').collect();
    while parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    if parts.len() != 1 && parts.len() != 2 {
        return false;
    }
    if !parts[0].eq_ignore_ascii_case(connector) {
        return false;
    }
    parts.len() == 1
        || parts[1].split(',').all(|a| {
            let a = a.trim();
            a.eq_ignore_ascii_case("includeTasks") || a.eq_ignore_ascii_case("onlyFailed")
        })
}

/// `getRestartTaskAnnotationTaskID`: `^(?<connector>.+):(?<task>\d+)$`, connector equal.
pub fn restart_task_id(value: &str, connector: &str) -> Option<i64> {
    let (c, t) = value.trim().rsplit_once(':')?;
    (!c.is_empty() && c == connector && !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .then(|| t.parse().ok())
        .flatten()
}

/// `encodeURLString`.
fn encode(path: &str) -> String {
    path.replace("->", "%2D%3E")
}

/// Like the `-api` Service: the first worker whose REST port answers. A worker is a real Connect
/// JVM ([`crate::kafka::mm2`]) or a Connect REST double; both get the request Strimzi's
/// `KafkaConnectApiImpl` sends (no body, `Accept: application/json`).
async fn call_connect(workers: &[Ipv4Addr], method: &str, target: &str) -> Result<(u16, String)> {
    let mut last = anyhow!("no worker pod");
    for ip in workers {
        let addr = SocketAddr::from((*ip, CONNECT_PORT));
        match crate::kafka::rest::call(addr, method, target, None, CONNECT_TIMEOUT).await {
            Ok(a) => return Ok((a.status, a.body)),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The REST address of each pod of `ns/name` that exists (index < `replicas`), in order: a real
/// Connect worker's address when the pod is served by one, else the simulated pod's.
fn worker_ips(ips: &PodIps, alias: &str, ns: &str, name: &str, replicas: i64) -> Vec<Ipv4Addr> {
    (0..replicas)
        .filter_map(|i| {
            let pod = format!("{name}-mirrormaker2-{i}");
            crate::kafka::mm2::real_pod_ip(alias, ns, &pod).or_else(|| ips.lookup(alias, ns, &pod))
        })
        .collect()
}

/// Jackson's `writerWithDefaultPrettyPrinter()` layout, as `KafkaConnectApiImpl.getConnectorOffsets`
/// writes the offsets into the ConfigMap.
pub fn jackson_pretty(v: &Value) -> String {
    fn go(v: &Value, indent: usize, out: &mut String) {
        match v {
            Value::Object(m) if !m.is_empty() => {
                out.push_str("{\n");
                let n = m.len();
                for (i, (k, val)) in m.iter().enumerate() {
                    out.push_str(&"  ".repeat(indent + 1));
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push_str(" : ");
                    go(val, indent + 1, out);
                    if i + 1 < n {
                        out.push(',');
                    }
                    out.push('\n');
                }
                out.push_str(&"  ".repeat(indent));
                out.push('}');
            }
            Value::Object(_) => out.push_str("{ }"),
            Value::Array(a) if !a.is_empty() => {
                out.push_str("[ ");
                for (i, val) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    go(val, indent, out);
                }
                out.push_str(" ]");
            }
            Value::Array(_) => out.push_str("[ ]"),
            other => out.push_str(&other.to_string()),
        }
    }
    let mut s = String::new();
    go(v, 0, &mut s);
    s
}

fn list_without(value: Option<String>, remove: &dyn Fn(&str) -> bool) -> Option<String> {
    let kept: Vec<String> = value
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && !remove(s))
        .collect();
    (!kept.is_empty()).then(|| kept.join(","))
}

/// Process the annotations of one KafkaMirrorMaker2 (not paused, replicas > 0) as one reconcile
/// of Strimzi 0.51 would. `workers`: addresses of its pods, in order.
pub async fn process(
    client: &Client,
    obj: &DynamicObject,
    version: &str,
    ips: &PodIps,
    alias: &str,
) -> Result<Processed> {
    let name = obj.metadata.name.clone().unwrap_or_default();
    let ns = obj.metadata.namespace.clone().unwrap_or_default();
    let replicas = obj.data["spec"]["replicas"].as_i64().unwrap_or(3).max(0);
    let mut warnings = Vec::new();
    let mut obj = obj.clone();
    if replicas == 0 {
        return Ok(Processed { obj, warnings });
    }
    let interesting = [
        RESTART_CONNECTOR,
        RESTART_CONNECTOR_TASK,
        CONNECTOR_OFFSETS,
        MIRRORMAKER_CONNECTOR,
    ];
    if !interesting.iter().any(|k| annotation(&obj, k).is_some()) {
        return Ok(Processed { obj, warnings });
    }
    let workers = worker_ips(ips, alias, &ns, &name, replicas);
    let persistent = annotation(&obj, FAIL_PERSISTENT_ANNOTATION).as_deref() == Some("true");
    // Annotation changes of this reconcile: key -> new value (None: remove).
    let mut changes: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut fail_connector = annotation(&obj, FAIL_CONNECTOR_ANNOTATION);
    let mut fail_task = annotation(&obj, FAIL_TASK_ANNOTATION);

    for (connector, cspec) in crate::operator::connector_specs(&obj, version) {
        // manageConnectorOffsets
        let offsets_op = annotation(&obj, CONNECTOR_OFFSETS);
        let offsets_conn = annotation(&obj, MIRRORMAKER_CONNECTOR);
        match (&offsets_op, &offsets_conn) {
            (Some(_), None) => warnings.push(Warning {
                reason: "ManageOffsets".into(),
                message: format!("Encountered error getting connector offsets annotation. KafkaMirrorMaker2 resource {ns}/{name} is missing annotation strimzi.io/mirrormaker-connector"),
            }),
            (None, Some(_)) => warnings.push(Warning {
                reason: "ManageOffsets".into(),
                message: format!("Encountered error getting connector offsets annotation. KafkaMirrorMaker2 resource {ns}/{name} is missing annotation strimzi.io/connector-offsets"),
            }),
            (Some(op), Some(c)) if op == "list" && *c == connector && !changes.contains_key(CONNECTOR_OFFSETS) => {
                match cspec["listOffsets"]["toConfigMap"]["name"].as_str() {
                    None => warnings.push(Warning {
                        reason: "ListOffsets".into(),
                        message: "Failed to list the connector offsets due to missing property listOffsets in KafkaMirrorMaker2 CR.".into(),
                    }),
                    Some(cm) => {
                        let target = encode(&format!("/connectors/{connector}/offsets"));
                        let listed = match call_connect(&workers, "GET", &target).await {
                            Ok((200, body)) => serde_json::from_str::<Value>(&body)
                                .map_err(|e| anyhow!("Failed to parse connector offsets: {e}")),
                            Ok((code, body)) => Err(anyhow!("Unexpected status code {code}: {body}")),
                            Err(e) => Err(e),
                        };
                        let written = match listed {
                            Ok(v) => write_offsets_configmap(client, &obj, version, cm, &connector, &jackson_pretty(&v)).await,
                            Err(e) => Err(e),
                        };
                        match written {
                            Ok(()) => {
                                changes.insert(CONNECTOR_OFFSETS.into(), None);
                                changes.insert(MIRRORMAKER_CONNECTOR.into(), None);
                            }
                            Err(e) => warnings.push(Warning {
                                reason: "ListOffsets".into(),
                                message: format!("Encountered error listing connector offsets. {e}"),
                            }),
                        }
                    }
                }
            }
            _ => {}
        }

        // maybeRestartConnector
        if let Some(v) = annotation(&obj, RESTART_CONNECTOR)
            && v.contains(&connector)
            && !changes.contains_key(RESTART_CONNECTOR)
        {
            if !restart_annotation_is_valid(&v, &connector) {
                warnings.push(Warning {
                    reason: "RestartConnector".into(),
                    message: "Invalid annotation format".into(),
                });
            } else {
                let include_tasks = v.contains("includeTasks");
                let only_failed = v.contains("onlyFailed");
                let target = encode(&format!(
                    "/connectors/{connector}/restart?includeTasks={include_tasks}&onlyFailed={only_failed}"
                ));
                match call_connect(&workers, "POST", &target).await {
                    Ok((202 | 204, _)) => {
                        changes.insert(RESTART_CONNECTOR.into(), None);
                        if !persistent {
                            // A FAILED connector is restarted whatever onlyFailed says.
                            fail_connector = list_without(fail_connector.take(), &|c| c == connector);
                            if include_tasks {
                                fail_task = list_without(fail_task.take(), &|t| {
                                    t.rsplit_once(':').is_some_and(|(c, _)| c == connector)
                                });
                            }
                        }
                    }
                    other => {
                        let why = match other {
                            Ok((code, body)) => format!("Unexpected status code {code}: {body}"),
                            Err(e) => e.to_string(),
                        };
                        warnings.push(Warning {
                            reason: "RestartConnector".into(),
                            message: format!("Failed to restart connector {connector}. {why}"),
                        });
                    }
                }
            }
        }

        // maybeRestartConnectorTask
        if let Some(v) = annotation(&obj, RESTART_CONNECTOR_TASK)
            && let Some(task) = restart_task_id(&v, &connector)
            && !changes.contains_key(RESTART_CONNECTOR_TASK)
        {
            let target = encode(&format!("/connectors/{connector}/tasks/{task}/restart"));
            match call_connect(&workers, "POST", &target).await {
                Ok((202 | 204, _)) => {
                    changes.insert(RESTART_CONNECTOR_TASK.into(), None);
                    if !persistent {
                        let me = format!("{connector}:{task}");
                        fail_task = list_without(fail_task.take(), &|t| t == me);
                    }
                }
                other => {
                    let why = match other {
                        Ok((code, body)) => format!("Unexpected status code {code}: {body}"),
                        Err(e) => e.to_string(),
                    };
                    warnings.push(Warning {
                        reason: "RestartConnectorTask".into(),
                        message: format!("Failed to restart connector task {connector}:{task}. {why}"),
                    });
                }
            }
        }
    }
    if fail_connector != annotation(&obj, FAIL_CONNECTOR_ANNOTATION) {
        changes.insert(FAIL_CONNECTOR_ANNOTATION.into(), fail_connector);
    }
    if fail_task != annotation(&obj, FAIL_TASK_ANNOTATION) {
        changes.insert(FAIL_TASK_ANNOTATION.into(), fail_task);
    }
    if !changes.is_empty() {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &crds::mm2(version));
        let p = json!({"metadata": {"annotations": changes}});
        obj = api
            .patch(&name, &PatchParams::default(), &Patch::Merge(p))
            .await?;
    }
    warnings.dedup();
    Ok(Processed { obj, warnings })
}

/// `generateListOffsetsConfigMap` + `configMapOperations.reconcile`.
async fn write_offsets_configmap(
    client: &Client,
    mm2: &DynamicObject,
    version: &str,
    cm: &str,
    connector: &str,
    offsets: &str,
) -> Result<()> {
    let ns = mm2.metadata.namespace.clone().unwrap_or_default();
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let key = format!("{}.json", connector.replace("->", "--"));
    let labels = mm2.metadata.labels.clone().unwrap_or_default();
    let owner = json!({"apiVersion": format!("kafka.strimzi.io/{version}"), "kind": "KafkaMirrorMaker2", "name": mm2.metadata.name,
                       "uid": mm2.metadata.uid, "controller": false, "blockOwnerDeletion": false});
    match api.get_opt(cm).await? {
        None => {
            let obj: ConfigMap = serde_json::from_value(json!({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": cm, "namespace": ns, "labels": labels, "ownerReferences": [owner]},
                "data": {key: offsets}}))?;
            api.create(&PostParams::default(), &obj).await?;
        }
        Some(mut existing) => {
            let mut l = existing.metadata.labels.take().unwrap_or_default();
            l.extend(labels);
            existing.metadata.labels = Some(l);
            existing.metadata.managed_fields = None;
            if existing
                .metadata
                .owner_references
                .as_ref()
                .is_none_or(|o| o.is_empty())
            {
                existing.metadata.owner_references = Some(vec![serde_json::from_value(owner)?]);
            }
            existing
                .data
                .get_or_insert_with(Default::default)
                .insert(key, offsets.to_string());
            api.replace(cm, &PostParams::default(), &existing).await?;
        }
    }
    Ok(())
}

/// Add this reconcile's Warning conditions to a desired status (Strimzi appends them after the
/// Ready/NotReady condition's siblings; the transition time is kept while the same warning stays).
pub fn add_warnings(desired: &mut Value, warnings: &[Warning], prev: &Value, now: &str) {
    let Some(conds) = desired["conditions"].as_array_mut() else {
        return;
    };
    for w in warnings {
        let kept = prev["conditions"].as_array().and_then(|cs| {
            cs.iter()
                .find(|c| {
                    c["type"] == "Warning"
                        && c["reason"] == w.reason.as_str()
                        && c["message"] == w.message.as_str()
                })
                .and_then(|c| c["lastTransitionTime"].as_str().map(str::to_string))
        });
        conds.push(
            json!({"type": "Warning", "status": "True", "reason": w.reason, "message": w.message,
                          "lastTransitionTime": kept.unwrap_or_else(|| now.to_string())}),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_matches_strimzi() {
        let c = "a->b.MirrorSourceConnector";
        assert!(restart_annotation_is_valid(c, c));
        assert!(restart_annotation_is_valid(
            &format!("{c}:includeTasks,onlyFailed"),
            c
        ));
        assert!(!restart_annotation_is_valid("includeTasks,onlyFailed", c));
        assert!(!restart_annotation_is_valid(&format!("x{c}"), c));
        assert!(!restart_annotation_is_valid(&format!("{c}:bogus"), c));
        assert_eq!(restart_task_id(&format!("{c}:3"), c), Some(3));
        assert_eq!(restart_task_id(&format!("{c}:x"), c), None);
    }

    #[test]
    fn jackson_layout() {
        let v = json!({"offsets": [{"partition": {"cluster": "p", "partition": 0, "topic": "t"}, "offset": {"offset": 5}}]});
        assert_eq!(
            jackson_pretty(&v),
            "{\n  \"offsets\" : [ {\n    \"partition\" : {\n      \"cluster\" : \"p\",\n      \"partition\" : 0,\n      \"topic\" : \"t\"\n    },\n    \"offset\" : {\n      \"offset\" : 5\n    }\n  } ]\n}"
        );
        assert_eq!(
            jackson_pretty(&json!({"offsets": []})),
            "{\n  \"offsets\" : [ ]\n}"
        );
    }
}
