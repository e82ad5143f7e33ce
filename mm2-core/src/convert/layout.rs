//! The layout fix: a KafkaMirrorMaker2 runs in the cluster its mirrors write to.
//!
//! Since Strimzi 0.41 (strictly since 0.49) every mirror's `targetCluster` must be the Connect
//! cluster (`connectCluster`). The runbook runs each MM2 in its SOURCE cluster
//! (`mm2-proxmox-to-aws` in proxmox, `connectCluster: proxmox`); the fix moves it to its target:
//!
//! - `connectCluster` becomes the target; the target's entry becomes the cluster the workers run
//!   against (its clusterset address `kafka-bootstrap-<alias>.<ns>.svc.clusterset.local` becomes
//!   the in-cluster `<kafka>-kafka-bootstrap.<ns>.svc`), the source, once local, is now reached
//!   through its clusterset address;
//! - credentials follow the runbook's naming: the cluster the workers run in uses its local
//!   `mm2-user`, a peer uses the copy `mm2-user-<peer>`;
//! - the Connect worker settings (group id, storage topics and their replication factors) move
//!   to the new Connect cluster, with replication factors for its broker count;
//! - an MM2 whose mirrors have different targets is split, one MM2 per target.

use super::{Action, Options, Refuse, obj_mut};
use crate::resources::validation;
use regex::Regex;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

/// One MM2 after the layout step (still in its input shape).
#[derive(Debug, Clone)]
pub struct Piece {
    pub action: Action,
    /// The cluster it ran against before the move.
    pub from_cluster: Option<String>,
    pub manifest: Value,
    pub notes: Vec<String>,
}

/// Kafka Connect worker settings: they belong to the Connect cluster's entry.
pub const WORKER_KEYS: [&str; 7] = [
    "group.id",
    "config.storage.topic",
    "offset.storage.topic",
    "status.storage.topic",
    "config.storage.replication.factor",
    "offset.storage.replication.factor",
    "status.storage.replication.factor",
];
/// Replication factors of Connect's own topics (in the cluster the workers run in).
pub const STORAGE_RF_KEYS: [&str; 3] = [
    "config.storage.replication.factor",
    "offset.storage.replication.factor",
    "status.storage.replication.factor",
];
/// Replication factors of the topics the mirror creates in its target: (connector, key).
pub const MIRROR_RF_KEYS: [(&str, &str); 4] = [
    ("sourceConnector", "replication.factor"),
    ("sourceConnector", "offset-syncs.topic.replication.factor"),
    ("checkpointConnector", "checkpoints.topic.replication.factor"),
    ("heartbeatConnector", "heartbeats.topic.replication.factor"),
];
/// Metadata the API server or Flux fills in: never part of a manifest for Git.
const FLUX_LABELS: [&str; 2] = [
    "kustomize.toolkit.fluxcd.io/name",
    "kustomize.toolkit.fluxcd.io/namespace",
];
const DROPPED_ANNOTATIONS: [&str; 1] = ["kubectl.kubernetes.io/last-applied-configuration"];

/// `kafka-bootstrap-<alias>.<ns>.svc.clusterset.local:<port>`: the runbook's MCS name.
static CLUSTERSET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^kafka-bootstrap-(?P<alias>[a-z0-9-]+)\.(?P<ns>[a-z0-9-]+)\.svc\.clusterset\.local:(?P<port>\d+)$",
    )
    .expect("valid regex")
});
/// `<kafka>-kafka-bootstrap.<ns>.svc[.cluster.local]:<port>`: Strimzi's in-cluster bootstrap.
static IN_CLUSTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?P<kafka>[a-z0-9-]+)-kafka-bootstrap\.(?P<ns>[a-z0-9-]+)\.svc(\.cluster\.local)?:(?P<port>\d+)$",
    )
    .expect("valid regex")
});

/// The clusterset address the runbook exports cluster `alias`'s Kafka under.
pub fn clusterset_bootstrap(alias: &str, ns: &str, port: &str) -> String {
    format!("kafka-bootstrap-{alias}.{ns}.svc.clusterset.local:{port}")
}

/// The in-cluster bootstrap Service Strimzi makes for Kafka `kafka`.
pub fn in_cluster_bootstrap(kafka: &str, ns: &str, port: &str) -> String {
    format!("{kafka}-kafka-bootstrap.{ns}.svc:{port}")
}

/// Copy of an MM2 object with only what belongs in Git: apiVersion, kind, name, namespace, user
/// labels and annotations, spec. (Live reads carry uid, managedFields, status, Flux's labels.)
pub fn clean(obj: &Value) -> Value {
    let mut meta = Map::new();
    let m = &obj["metadata"];
    for k in ["name", "namespace"] {
        if let Some(v) = m.get(k) {
            meta.insert(k.into(), v.clone());
        }
    }
    for (k, drop) in [
        ("labels", &FLUX_LABELS[..]),
        ("annotations", &DROPPED_ANNOTATIONS[..]),
    ] {
        if let Some(map) = m.get(k).and_then(Value::as_object) {
            let kept: Map<String, Value> = map
                .iter()
                .filter(|(key, _)| !drop.contains(&key.as_str()))
                .map(|(a, b)| (a.clone(), b.clone()))
                .collect();
            if !kept.is_empty() {
                meta.insert(k.into(), Value::Object(kept));
            }
        }
    }
    json!({
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "metadata": meta,
        "spec": obj["spec"],
    })
}

fn alias_of(v: &Value) -> Option<&str> {
    v.get("alias").and_then(Value::as_str)
}

/// Where a mirror writes: its `targetCluster`, else the Connect cluster.
fn mirror_target<'a>(m: &'a Value, connect: &'a str) -> &'a str {
    m.get("targetCluster").and_then(Value::as_str).unwrap_or(connect)
}

/// A replication factor written as a number or a numeric string.
fn rf_value(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The layout step for one MM2: unchanged, moved, or split per target.
pub fn fix(obj: &Value, spec: &Value, opts: &Options) -> Result<Vec<Piece>, Refuse> {
    let cleaned = clean(obj);
    let unchanged = || {
        vec![Piece {
            action: Action::Unchanged,
            from_cluster: None,
            manifest: cleaned.clone(),
            notes: vec![],
        }]
    };
    if spec.get("target").is_some_and(Value::is_object) {
        // The v1 layout: the Connect cluster IS the target, nothing to move.
        return Ok(unchanged());
    }
    let Some(connect) = spec.get("connectCluster").and_then(Value::as_str) else {
        return Err(strimzi_refusal(spec));
    };
    let mirrors: Vec<&Value> = spec
        .get("mirrors")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let misplaced = mirrors.iter().any(|m| mirror_target(m, connect) != connect);
    if !misplaced {
        return match validation::validate(Some(spec)) {
            Ok(_) => Ok(unchanged()),
            Err(_) => Err(strimzi_refusal(spec)),
        };
    }
    let clusters: Vec<&Value> = spec
        .get("clusters")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let entry = |alias: &str| clusters.iter().find(|c| alias_of(c) == Some(alias)).copied();
    if entry(connect).is_none() {
        return Err(strimzi_refusal(spec));
    }
    // Group the mirrors by target, in order of first appearance.
    let mut groups: Vec<(String, Vec<&Value>)> = Vec::new();
    for m in &mirrors {
        let t = mirror_target(m, connect).to_string();
        if entry(&t).is_none() {
            return Err(Refuse::new(
                format!("a mirror writes to cluster '{t}', which no entry of .spec.clusters defines"),
                format!(
                    "add the '{t}' cluster (alias, bootstrapServers, authentication) to .spec.clusters, then re-run"
                ),
            ));
        }
        match groups.iter_mut().find(|(g, _)| *g == t) {
            Some((_, list)) => list.push(m),
            None => groups.push((t, vec![m])),
        }
    }
    let split = groups.len() > 1;
    let name = super::str_at(obj, &["metadata", "name"]).unwrap_or_default();
    let mut out = Vec::new();
    for (target, group) in groups {
        if target == connect {
            // The part already in the right cluster stays as it is.
            let mut manifest = cleaned.clone();
            manifest["spec"]["mirrors"] = Value::Array(group.into_iter().cloned().collect());
            keep_clusters(&mut manifest["spec"], &target);
            out.push(Piece {
                action: Action::Split,
                from_cluster: None,
                manifest,
                notes: vec![format!(
                    "{name} keeps the mirrors that write to {target}, the cluster it runs in"
                )],
            });
            continue;
        }
        let mut piece = move_to(&cleaned, connect, &target, &group, opts);
        if split {
            piece.action = Action::Split;
            let new_name = format!("{name}-to-{target}");
            piece.notes.insert(
                0,
                format!("{name} has mirrors into several clusters: the ones into {target} become {new_name}"),
            );
            piece.manifest["metadata"]["name"] = json!(new_name);
        }
        out.push(piece);
    }
    Ok(out)
}

/// Strimzi's own verdict as a refusal (an MM2 we do not know how to repair).
fn strimzi_refusal(spec: &Value) -> Refuse {
    let msg = validation::validate(Some(spec))
        .err()
        .map(|e| e.message())
        .unwrap_or_else(|| {
            "Either .spec.target or .spec.connectCluster and .spec.clusters have to be specified".into()
        });
    Refuse::new(
        format!("Strimzi 0.51 rejects it ({msg}) and the conversion cannot tell what was meant"),
        "fix the manifest as the message says (see `kubectl mm2 status`), then re-run the conversion",
    )
}

/// Keep only the cluster entries the remaining mirrors (and the Connect cluster) use.
fn keep_clusters(spec: &mut Value, connect: &str) {
    let mut used = vec![connect.to_string()];
    for m in spec["mirrors"].as_array().into_iter().flatten() {
        if let Some(s) = m.get("sourceCluster").and_then(Value::as_str) {
            used.push(s.to_string());
        }
    }
    if let Some(list) = spec.get_mut("clusters").and_then(Value::as_array_mut) {
        list.retain(|c| alias_of(c).is_some_and(|a| used.iter().any(|u| u == a)));
    }
}

/// The runbook's credential naming: `<secret>` is the local user, `<secret>-<alias>` a peer's copy.
fn rename_secret(entry: &mut Value, f: impl Fn(&str) -> Option<String>, notes: &mut Vec<String>, why: &str) {
    for path in [
        ["passwordSecret", "secretName"],
        ["certificateAndKey", "secretName"],
    ] {
        let Some(auth) = entry.get_mut("authentication") else {
            return;
        };
        let Some(slot) = auth.get_mut(path[0]).and_then(|p| p.get_mut(path[1])) else {
            continue;
        };
        let Some(old) = slot.as_str().map(String::from) else {
            continue;
        };
        if let Some(new) = f(&old) {
            notes.push(format!("{why}: Secret {old} → {new}"));
            *slot = json!(new);
        }
    }
}

/// Move the mirrors `group` (all into `target`) of an MM2 running in `connect` to `target`.
fn move_to(cleaned: &Value, connect: &str, target: &str, group: &[&Value], opts: &Options) -> Piece {
    let mut notes = Vec::new();
    let mut m = cleaned.clone();
    let spec = &mut m["spec"];
    let old: Vec<Value> = spec["clusters"].as_array().cloned().unwrap_or_default();
    let find = |a: &str| old.iter().find(|c| alias_of(c) == Some(a)).cloned();
    let mut new_target = find(target).unwrap_or_else(|| json!({"alias": target}));
    let mut old_connect = find(connect).unwrap_or_else(|| json!({"alias": connect}));

    notes.push(format!(
        "moved from {connect} to {target}: Strimzi runs a mirror only in the cluster it writes to (since 0.41; strictly since 0.49), so {connect} never ran it"
    ));

    // Connect worker settings follow the workers.
    let mut moved_keys = Vec::new();
    if let Some(cfg) = old_connect.get_mut("config").and_then(Value::as_object_mut) {
        for k in WORKER_KEYS {
            if let Some(v) = cfg.shift_remove(k) {
                let tcfg = obj_mut(&mut new_target, "config");
                if !tcfg.contains_key(k) {
                    tcfg.insert(k.into(), v);
                }
                moved_keys.push(k);
            }
        }
        if cfg.is_empty() {
            old_connect.as_object_mut().map(|o| o.shift_remove("config"));
        } else {
            notes.push(format!(
                "{connect}'s entry keeps its other config ({}): it now configures the clients that read from {connect}",
                cfg.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    if !moved_keys.is_empty() {
        notes.push(format!(
            "Connect worker settings moved from {connect}'s entry to {target}'s: {}",
            moved_keys.join(", ")
        ));
    }

    // Bootstrap addresses: the workers reach their own Kafka in-cluster, the source through MCS.
    let connect_bs = old_connect["bootstrapServers"].as_str().map(String::from);
    let local_kafka = connect_bs
        .as_deref()
        .and_then(|b| IN_CLUSTER.captures(b))
        .map(|c| c["kafka"].to_string());
    if let Some(bs) = new_target["bootstrapServers"].as_str().map(String::from) {
        match CLUSTERSET.captures(&bs) {
            Some(c) if &c["alias"] == target => {
                let (ns, port) = (c["ns"].to_string(), c["port"].to_string());
                let kafka = opts.kafka_names.get(target).cloned().or(local_kafka.clone());
                match kafka {
                    Some(k) => {
                        let new = in_cluster_bootstrap(&k, &ns, &port);
                        let assumed = if opts.kafka_names.contains_key(target) {
                            format!("the Kafka found in {target}")
                        } else {
                            format!("assumed: {target}'s Kafka is named {k} like {connect}'s (the runbook's convention)")
                        };
                        notes.push(format!(
                            "{target} is now the cluster the workers run in: bootstrap {bs} → {new} ({assumed})"
                        ));
                        new_target["bootstrapServers"] = json!(new);
                    }
                    None => notes.push(format!(
                        "{target}'s bootstrap kept as {bs}: the name of its Kafka is unknown; the in-cluster `<kafka>-kafka-bootstrap.{ns}.svc:{port}` saves the detour through the clusterset"
                    )),
                }
            }
            _ => notes.push(format!(
                "{target}'s bootstrap kept as {bs}: check that it resolves inside {target}"
            )),
        }
    }

    // Credentials: the target's own user is local now; the old local user is a peer's.
    let suffix = format!("-{target}");
    rename_secret(
        &mut new_target,
        |s| {
            s.strip_suffix(&suffix)
                .filter(|b| !b.is_empty())
                .map(String::from)
        },
        &mut notes,
        &format!("{target} uses its local user"),
    );

    // Which sources this MM2 reads from, in mirror order.
    let mut sources: Vec<String> = Vec::new();
    for m in group {
        if let Some(s) = m.get("sourceCluster").and_then(Value::as_str)
            && s != target
            && !sources.iter().any(|x| x == s)
        {
            sources.push(s.to_string());
        }
    }
    let mut clusters = vec![new_target];
    for s in &sources {
        let mut e = if s == connect {
            old_connect.clone()
        } else {
            find(s).unwrap_or_else(|| json!({"alias": s}))
        };
        if s == connect {
            if let Some(bs) = e["bootstrapServers"].as_str().map(String::from) {
                match IN_CLUSTER.captures(&bs) {
                    Some(c) => {
                        let new = clusterset_bootstrap(s, &c["ns"], &c["port"]);
                        let ctx = opts.contexts.get(s).cloned().unwrap_or_else(|| format!("<{s}>"));
                        notes.push(format!(
                            "{s} is now a remote source: bootstrap {bs} → {new}, the MCS export of {s}'s Kafka (`kubectl clusterset export --kafka {} --as kafka-bootstrap-{s} --context {ctx}`; check with `kubectl clusterset resolve kafka-bootstrap-{s}`)",
                            &c["kafka"]
                        ));
                        e["bootstrapServers"] = json!(new);
                    }
                    None => notes.push(format!(
                        "{s}'s bootstrap kept as {bs}: check that {target} can reach it"
                    )),
                }
            }
            let peer_suffix = format!("-{s}");
            rename_secret(
                &mut e,
                |x| (!x.ends_with(&peer_suffix)).then(|| format!("{x}{peer_suffix}")),
                &mut notes,
                &format!("{s}'s credentials are a peer copy in {target}"),
            );
        }
        clusters.push(e);
    }
    spec["connectCluster"] = json!(target);
    spec["clusters"] = Value::Array(clusters);
    spec["mirrors"] = Value::Array(group.iter().map(|m| (*m).clone()).collect());

    // Replication factors: Connect's topics now live in the target, like the mirror's.
    let brokers = opts.brokers.get(target).copied();
    let storage_rf: i64 = match brokers {
        Some(b) => {
            let rf = i64::from(b.min(3));
            notes.push(format!(
                "replication factors for {target} ({b} broker{}): {rf} (at most 3)",
                if b == 1 { "" } else { "s" }
            ));
            rf
        }
        None => match group.first().and_then(|m| {
            rf_value(
                m.get("sourceConnector")
                    .and_then(|c| c.get("config"))
                    .and_then(|c| c.get("replication.factor")),
            )
        }) {
            Some(rf) => {
                notes.push(format!(
                    "Connect's storage topics now live in {target}: replication factor {rf}, assumed from the mirror's replication.factor, which already sizes topics for {target} (pass --brokers {target}=N to size it from the broker count)"
                ));
                rf
            }
            None => {
                notes.push(format!(
                    "Connect's storage topics now live in {target}: replication factor -1 (the broker default); pass --brokers {target}=N to set it"
                ));
                -1
            }
        },
    };
    let tcfg = obj_mut(&mut spec["clusters"][0], "config");
    for k in STORAGE_RF_KEYS {
        tcfg.insert(k.into(), json!(storage_rf));
    }
    if let Some(b) = brokers {
        let rf = i64::from(b.min(3));
        for m in spec["mirrors"].as_array_mut().into_iter().flatten() {
            for (connector, key) in MIRROR_RF_KEYS {
                if let Some(c) = m.get_mut(connector).filter(|c| c.is_object()) {
                    let cfg = obj_mut(c, "config");
                    if rf_value(cfg.get(key)) != Some(rf) {
                        cfg.insert(key.into(), json!(rf));
                    }
                }
            }
        }
    }

    // The runbook labels each MM2 with the cluster it runs in.
    if m["metadata"]["labels"]["environment"] == json!(connect) {
        m["metadata"]["labels"]["environment"] = json!(target);
        notes.push(format!(
            "label environment: {connect} → {target} (the cluster it runs in)"
        ));
    }
    Piece {
        action: Action::Moved,
        from_cluster: Some(connect.to_string()),
        manifest: m,
        notes,
    }
}
