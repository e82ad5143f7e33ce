//! The API shape: Strimzi's v1beta2 → v1 mapping for KafkaMirrorMaker2, and back.
//!
//! v1beta2 → v1 is what Strimzi's `v1-api-conversion` tool does (strimzi-kafka-operator 1.0.x,
//! `MirrorMaker2Conversions` + `KafkaMirrorMaker2Converter`), which matches the operator's own
//! `KafkaMirrorMaker2Cluster.validateAndUpdateToNewAPI` at 0.51:
//! - `connectCluster` + `clusters` → `target`, with `groupId` and the storage topics taken out of
//!   the Connect cluster's `config` (defaults `mirrormaker2-cluster`, `mirrormaker2-cluster-
//!   configs|offsets|status`); `mirrors[].sourceCluster` → `mirrors[].source`;
//! - `heartbeatConnector` removed (v1 runs heartbeats as a KafkaConnector of its own);
//! - `pause: true` → `state: paused` (unless `state` is set); `*BlacklistPattern` →
//!   `*ExcludePattern` (unless set);
//! - `replicas` defaults to 3; `template.deployment` and `tracing.type: jaeger` are dropped;
//! - refused: `oauth` authentication, `externalConfiguration`.
//!
//! v1 → v1beta2 (`--to v1beta2`, for operators below 0.49) is the inverse layout mapping.

use super::{Refuse, Shape};
use crate::resources::validation::{
    DEFAULT_CONFIG_TOPIC, DEFAULT_GROUP_ID, DEFAULT_OFFSET_TOPIC, DEFAULT_STATUS_TOPIC,
};
use serde_json::{Map, Value, json};

/// (v1 field of `target`, Connect config key, Strimzi's default).
const TARGET_FROM_CONFIG: [(&str, &str, &str); 4] = [
    ("groupId", "group.id", DEFAULT_GROUP_ID),
    ("configStorageTopic", "config.storage.topic", DEFAULT_CONFIG_TOPIC),
    ("statusStorageTopic", "status.storage.topic", DEFAULT_STATUS_TOPIC),
    ("offsetStorageTopic", "offset.storage.topic", DEFAULT_OFFSET_TOPIC),
];

/// Strimzi's refusal text for OAuth (v1-api-conversion, `enforceOauth`).
pub const OAUTH_MESSAGE: &str = "The OAuth authentication is removed in the v1 API version. Use the Custom authentication instead. Please fix the resource manually and re-run the conversion tool.";
/// Strimzi's refusal text for `externalConfiguration` (`enforceExternalConfiguration`).
pub const EXTERNAL_CONFIGURATION_MESSAGE: &str = "The External Configuration is removed in the v1 API version. Use the .spec.template section instead. Please fix the resource manually and re-run the conversion tool.";

/// Fields of the v1 schema (Strimzi 0.51 and 1.2.0 `048-Crd-kafkamirrormaker2.yaml`, v1).
const SPEC_V1: [&str; 16] = [
    "version",
    "replicas",
    "image",
    "target",
    "mirrors",
    "resources",
    "livenessProbe",
    "readinessProbe",
    "jvmOptions",
    "jmxOptions",
    "logging",
    "clientRackInitImage",
    "rack",
    "metricsConfig",
    "tracing",
    "template",
];
const SPEC_V1BETA2_ONLY: [&str; 3] = ["connectCluster", "clusters", "externalConfiguration"];
const TARGET_FIELDS: [&str; 9] = [
    "alias",
    "bootstrapServers",
    "groupId",
    "configStorageTopic",
    "statusStorageTopic",
    "offsetStorageTopic",
    "tls",
    "authentication",
    "config",
];
const CLUSTER_FIELDS: [&str; 5] = ["alias", "bootstrapServers", "tls", "authentication", "config"];
const MIRROR_V1: [&str; 7] = [
    "source",
    "sourceConnector",
    "checkpointConnector",
    "topicsPattern",
    "topicsExcludePattern",
    "groupsPattern",
    "groupsExcludePattern",
];
const MIRROR_V1BETA2_ONLY: [&str; 5] = [
    "sourceCluster",
    "targetCluster",
    "heartbeatConnector",
    "topicsBlacklistPattern",
    "groupsBlacklistPattern",
];
const CONNECTOR_V1: [&str; 7] = [
    "tasksMax",
    "version",
    "config",
    "state",
    "autoRestart",
    "listOffsets",
    "alterOffsets",
];
const TEMPLATE_V1: [&str; 14] = [
    "apiService",
    "buildConfig",
    "buildContainer",
    "buildPod",
    "buildServiceAccount",
    "clusterRoleBinding",
    "connectContainer",
    "headlessService",
    "initContainer",
    "jmxSecret",
    "pod",
    "podDisruptionBudget",
    "podSet",
    "serviceAccount",
];

fn is_v1_shape(spec: &Value) -> bool {
    spec.get("target").is_some_and(Value::is_object)
}

/// Reshape a (layout-fixed) MM2 object to `to`.
pub fn reshape(obj: &Value, to: Shape, notes: &mut Vec<String>) -> Result<Value, Refuse> {
    let mut o = obj.clone();
    o["apiVersion"] = json!(to.api_version());
    let spec = &obj["spec"];
    match to {
        Shape::V1 => {
            refuse_oauth(spec)?;
            if spec.get("externalConfiguration").is_some_and(|v| !v.is_null()) {
                return Err(Refuse::new(
                    EXTERNAL_CONFIGURATION_MESSAGE,
                    "mount the Secrets/ConfigMaps through .spec.template.connectContainer.volumeMounts and .spec.template.pod.volumes (or use KafkaConnect's config providers), remove .spec.externalConfiguration, then re-run",
                ));
            }
            let mut s = if is_v1_shape(spec) {
                spec.clone()
            } else {
                old_to_v1(spec)
            };
            cleanups_v1(&mut s, notes);
            o["spec"] = s;
        }
        Shape::V1beta2 => {
            if is_v1_shape(spec) {
                o["spec"] = v1_to_old(spec);
                notes.push("written in the v1beta2 layout (connectCluster + clusters) for operators below 0.49; Strimzi 0.49+ reports its fields as deprecated".into());
            }
        }
    }
    Ok(o)
}

/// Refuse OAuth anywhere (Strimzi's own check, with its message).
fn refuse_oauth(spec: &Value) -> Result<(), Refuse> {
    for (alias, e) in super::cluster_entries(spec) {
        if e.get("authentication")
            .and_then(|a| a.get("type"))
            .and_then(Value::as_str)
            == Some("oauth")
        {
            return Err(Refuse::new(
                format!("{OAUTH_MESSAGE} (cluster {alias})"),
                format!(
                    "rewrite the authentication of cluster {alias} as `type: custom` with the SASL OAUTHBEARER settings (Strimzi's v1 upgrade guide, ref-kafkamirrormaker2-v1-changes), or convert with --to v1beta2 to keep OAuth on Strimzi < 1.0"
                ),
            ));
        }
    }
    Ok(())
}

/// `connectCluster` + `clusters` → `target`; `sourceCluster` → `source`.
fn old_to_v1(spec: &Value) -> Value {
    let connect = spec["connectCluster"].as_str().unwrap_or_default();
    let clusters: Vec<Value> = spec["clusters"].as_array().cloned().unwrap_or_default();
    let entry = |a: &str| clusters.iter().find(|c| c["alias"] == a).cloned();
    let mut out = Map::new();
    for (k, v) in spec.as_object().into_iter().flatten() {
        match k.as_str() {
            "connectCluster" | "clusters" => {
                if !out.contains_key("target") {
                    out.insert("target".into(), target_of(entry(connect).unwrap_or_default()));
                }
            }
            "mirrors" => {
                let mirrors: Vec<Value> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| {
                        let mut nm = Map::new();
                        if let Some(src) = m
                            .get("source")
                            .filter(|s| s.is_object())
                            .cloned()
                            .or_else(|| m["sourceCluster"].as_str().and_then(entry))
                        {
                            nm.insert("source".into(), src);
                        }
                        for (mk, mv) in m.as_object().into_iter().flatten() {
                            if !matches!(mk.as_str(), "source" | "sourceCluster" | "targetCluster") {
                                nm.insert(mk.clone(), mv.clone());
                            }
                        }
                        Value::Object(nm)
                    })
                    .collect();
                out.insert(k.clone(), Value::Array(mirrors));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// A v1beta2 cluster entry as the v1 `target`, in the order Strimzi's tool writes it.
fn target_of(entry: Value) -> Value {
    let mut config = entry
        .get("config")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut t = Map::new();
    for k in ["alias", "bootstrapServers"] {
        if let Some(v) = entry.get(k) {
            t.insert(k.into(), v.clone());
        }
    }
    for (field, key, default) in TARGET_FROM_CONFIG {
        let v = match config.shift_remove(key) {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => default.to_string(),
        };
        t.insert(field.into(), json!(v));
    }
    for k in ["tls", "authentication"] {
        if let Some(v) = entry.get(k) {
            t.insert(k.into(), v.clone());
        }
    }
    if !config.is_empty() {
        t.insert("config".into(), Value::Object(config));
    }
    Value::Object(t)
}

/// The v1-only clean-ups, on a spec already in the v1 layout.
fn cleanups_v1(spec: &mut Value, notes: &mut Vec<String>) {
    if spec.get("replicas").is_none_or(Value::is_null) {
        spec["replicas"] = json!(3);
        notes.push(
            "replicas was not set: 3, the default Strimzi's v1 conversion writes (v1 requires it)".into(),
        );
    }
    if let Some(t) = spec.get_mut("template").and_then(Value::as_object_mut)
        && t.shift_remove("deployment").is_some()
    {
        notes.push("dropped .spec.template.deployment: MirrorMaker 2 runs in StrimziPodSets, v1 has no Deployment template".into());
    }
    if spec["tracing"]["type"] == "jaeger" {
        spec.as_object_mut().map(|s| s.shift_remove("tracing"));
        notes.push("dropped .spec.tracing (type jaeger): unsupported since Strimzi 0.37 and absent from v1; use type opentelemetry".into());
    }
    let mut heartbeat = Vec::new();
    for (i, m) in spec["mirrors"].as_array_mut().into_iter().flatten().enumerate() {
        let Some(m) = m.as_object_mut() else { continue };
        let src = m
            .get("source")
            .and_then(|s| s.get("alias"))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        if let Some(h) = m.shift_remove("heartbeatConnector") {
            let cfg = h
                .get("config")
                .and_then(Value::as_object)
                .map(|c| c.keys().cloned().collect::<Vec<_>>().join(", "))
                .filter(|s| !s.is_empty());
            heartbeat.push(format!(
                "mirror {i} ({src}){}",
                cfg.map(|c| format!(", config {c}")).unwrap_or_default()
            ));
        }
        for c in ["sourceConnector", "checkpointConnector"] {
            let Some(conn) = m.get_mut(c).and_then(Value::as_object_mut) else {
                continue;
            };
            if let Some(p) = conn.shift_remove("pause") {
                if p == json!(true) && !conn.contains_key("state") {
                    conn.insert("state".into(), json!("paused"));
                    notes.push(format!("mirror {i} ({src}): {c}.pause: true → state: paused"));
                } else {
                    notes.push(format!(
                        "mirror {i} ({src}): {c}.pause removed (v1 has only state)"
                    ));
                }
            }
        }
        for (old, new) in [
            ("topicsBlacklistPattern", "topicsExcludePattern"),
            ("groupsBlacklistPattern", "groupsExcludePattern"),
        ] {
            if let Some(v) = m.shift_remove(old) {
                if m.contains_key(new) {
                    notes.push(format!("mirror {i} ({src}): {old} dropped, {new} is already set"));
                } else {
                    m.insert(new.into(), v);
                    notes.push(format!("mirror {i} ({src}): {old} → {new}"));
                }
            }
        }
    }
    if !heartbeat.is_empty() {
        notes.push(format!(
            "heartbeatConnector dropped ({}): v1 has none; to keep heartbeats, run MirrorHeartbeatConnector as a KafkaConnector on a KafkaConnect annotated strimzi.io/use-connector-resources: \"true\"",
            heartbeat.join("; ")
        ));
    }
}

/// `target` → `connectCluster` + `clusters`; `source` → `sourceCluster`/`targetCluster`.
fn v1_to_old(spec: &Value) -> Value {
    let target = &spec["target"];
    let alias = target["alias"].as_str().unwrap_or_default();
    let mut entry = Map::new();
    let mut config = target
        .get("config")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (field, key, default) in TARGET_FROM_CONFIG {
        if let Some(v) = target.get(field).and_then(Value::as_str)
            && v != default
        {
            config.insert(key.into(), json!(v));
        }
    }
    for k in ["alias", "bootstrapServers", "tls", "authentication"] {
        if let Some(v) = target.get(k) {
            entry.insert(k.into(), v.clone());
        }
    }
    if !config.is_empty() {
        entry.insert("config".into(), Value::Object(config));
    }
    let mut clusters = vec![Value::Object(entry)];
    let mut out = Map::new();
    for (k, v) in spec.as_object().into_iter().flatten() {
        match k.as_str() {
            "target" => {
                out.insert("connectCluster".into(), json!(alias));
                out.insert("clusters".into(), Value::Null); // placeholder, filled below
            }
            "mirrors" => {
                let mirrors: Vec<Value> = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| {
                        let mut nm = Map::new();
                        if let Some(src) = m.get("source") {
                            let sa = src["alias"].clone();
                            if !clusters.iter().any(|c| c["alias"] == sa) {
                                clusters.push(src.clone());
                            }
                            nm.insert("sourceCluster".into(), sa);
                            nm.insert("targetCluster".into(), json!(alias));
                        }
                        for (mk, mv) in m.as_object().into_iter().flatten() {
                            if mk != "source" {
                                nm.insert(mk.clone(), mv.clone());
                            }
                        }
                        Value::Object(nm)
                    })
                    .collect();
                out.insert(k.clone(), Value::Array(mirrors));
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.insert("clusters".into(), Value::Array(clusters));
    Value::Object(out)
}

/// Refuse fields the target API version does not have: the API server would silently drop them.
pub fn check_known_fields(spec: &Value, to: Shape) -> Result<(), Refuse> {
    let v1b2 = to == Shape::V1beta2;
    let mut unknown = Vec::new();
    let mut check = |obj: Option<&Value>, path: &str, allowed: &[&[&str]]| {
        for k in obj.and_then(Value::as_object).into_iter().flat_map(|m| m.keys()) {
            if !allowed.iter().any(|a| a.contains(&k.as_str())) {
                unknown.push(format!("{path}.{k}"));
            }
        }
    };
    let none: &[&str] = &[];
    check(
        Some(spec),
        ".spec",
        &[&SPEC_V1, if v1b2 { &SPEC_V1BETA2_ONLY } else { none }],
    );
    check(spec.get("target"), ".spec.target", &[&TARGET_FIELDS]);
    for c in spec
        .get("clusters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check(Some(c), ".spec.clusters[]", &[&CLUSTER_FIELDS]);
    }
    check(
        spec.get("template"),
        ".spec.template",
        &[&TEMPLATE_V1, if v1b2 { &["deployment"] } else { none }],
    );
    for m in spec
        .get("mirrors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        check(
            Some(m),
            ".spec.mirrors[]",
            &[&MIRROR_V1, if v1b2 { &MIRROR_V1BETA2_ONLY } else { none }],
        );
        check(m.get("source"), ".spec.mirrors[].source", &[&CLUSTER_FIELDS]);
        for c in ["sourceConnector", "checkpointConnector", "heartbeatConnector"] {
            check(
                m.get(c),
                &format!(".spec.mirrors[].{c}"),
                &[&CONNECTOR_V1, if v1b2 { &["pause"] } else { none }],
            );
        }
    }
    unknown.dedup();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(Refuse::new(
            format!(
                "{} not part of KafkaMirrorMaker2 {}: the API server would drop {} without a word",
                unknown.join(", "),
                to.version(),
                if unknown.len() == 1 { "it" } else { "them" }
            ),
            "remove the field(s), or move them where the Strimzi documentation for your version puts them, then re-run",
        ))
    }
}
