//! The status Strimzi 0.51 writes for a KafkaMirrorMaker2 (strimzi.md §1-§3), computed from the
//! object alone: pure, so the reconcile loop only decides when to write it.

use std::collections::HashSet;

use kube::api::DynamicObject;
use mm2_core::resources::validation;
use serde_json::{Value, json};

use super::{FAIL_CONNECTOR_ANNOTATION, FAIL_TASK_ANNOTATION, PAUSE_ANNOTATION, SIMULATED_TRACE};

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

/// Which served version holds this object's shape.
pub(super) fn pick_version(b2: Option<&DynamicObject>, v1: Option<&DynamicObject>) -> &'static str {
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

/// One annotation of an object.
pub fn annotation<'a>(o: &'a DynamicObject, key: &str) -> Option<&'a str> {
    o.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(|s| s.as_str())
}

/// Conditions with `lastTransitionTime` removed, to compare statuses.
pub(super) fn strip_times(v: &Value) -> Value {
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

pub(super) fn condition(
    prev: &Value,
    typ: &str,
    reason: Option<&str>,
    message: Option<&str>,
    now: &str,
) -> Value {
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
pub(super) fn deprecation_warnings(obj: &DynamicObject, prev: &Value, now: &str) -> Vec<Value> {
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
