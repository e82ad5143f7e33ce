//! Strimzi's model of the CR, v1 and v1beta2 (pure): the connectors' configuration
//! `KafkaMirrorMaker2Connectors` generates and each worker's properties.

use std::hash::Hash;
use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::{Result, anyhow};
use serde_json::{Map, Value, json};

use super::*;

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

pub(super) fn auth_of(v: &Value) -> Option<Auth> {
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

pub(super) fn cluster_of(v: &Value) -> ClusterRef {
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
pub(super) fn text(v: &Value) -> Value {
    match v {
        Value::String(s) => json!(s),
        other => json!(other.to_string()),
    }
}

/// The password placeholder Strimzi writes (`KafkaMirrorMaker2Connectors`:
/// `${strimzidir:<mount>/<alias>/<secret>:<key>}`, mount `/opt/kafka/mm2-password/` there).
pub(super) fn mm2_password(files: &Path, alias: &str, a: &Auth) -> String {
    format!(
        "${{strimzidir:{}/mm2-password/{alias}/{}:{}}}",
        files.display(),
        a.secret,
        a.key
    )
}

pub(super) fn jaas(mechanism: &str, user: &str, password: &str) -> String {
    let module = if mechanism == "PLAIN" {
        "org.apache.kafka.common.security.plain.PlainLoginModule"
    } else {
        "org.apache.kafka.common.security.scram.ScramLoginModule"
    };
    format!("{module} required username=\"{user}\" password=\"{password}\";")
}

/// `prepareMirrorMaker2ConnectorConfig`'s cluster block under `prefix`.
pub(super) fn cluster_keys(out: &mut Map<String, Value>, prefix: &str, c: &ClusterRef, files: &Path) {
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
        // Bed: find the connectors through their ServiceLoader manifests instead of
        // reflect-scanning the whole class path (Kafka's default `hybrid_warn`): ~1.3 s of CPU
        // and ~300 MiB of RSS less per worker; the MirrorMaker 2 connectors and config providers
        // all have manifests (Strimzi 1.2's MM2 example sets it too). A `target.config` value
        // comes later in the file and wins.
        "plugin.discovery=service_load".into(),
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
