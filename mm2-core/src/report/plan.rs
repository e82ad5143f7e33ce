//! What goes into the archive and where: the layout, the file names, and the pure rules that pick
//! what to keep from what was read (which version of an object, which events, which owners).
//! No I/O here; `gather` does the reading.
//!
//! Layout (one folder per context, one per namespace inside it):
//!
//! ```text
//! mm2-report-20261130T031500Z/
//!   README.txt                         index: versions, files, what is missing and why
//!   status.json  lag.json              `kubectl mm2 status -o json --live`, `kubectl mm2 lag -o json`
//!   contexts/<context>/version.json    the API server's /version
//!   contexts/<context>/<namespace>/
//!     kafkamirrormaker2s.yaml kafkas.yaml kafkanodepools.yaml kafkausers.yaml
//!     pods.yaml events.yaml services.yaml serviceexports.yaml serviceimports.yaml
//!     endpointslices.yaml configmaps.yaml secrets.yaml flux-kustomizations.yaml
//!     pods/<pod>/metrics.txt           one /metrics scrape (JMX exporter, through the pod proxy)
//!     pods/<pod>/connectors.json       Connect's GET /connectors?expand=status (pod proxy)
//!     pods/<pod>/<container>.log       with --logs: the last --tail lines
//!     pods/<pod>/<part>.error.txt      instead of a part that was refused, with the error
//! ```

use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// Name of the archive when `-f` is not given: `mm2-report-20261130T031500Z.tar.gz`.
pub fn default_file_name(now: Timestamp) -> String {
    format!("{}.tar.gz", root_dir(now))
}

/// The single top folder inside the archive (so unpacking never litters the current folder).
pub fn root_dir(now: Timestamp) -> String {
    format!("mm2-report-{}", now.strftime("%Y%m%dT%H%M%SZ"))
}

/// A context or object name as one safe path segment: no `/`, no `..`, nothing hidden.
pub fn segment(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() { "_".into() } else { s }
}

/// `contexts/<context>`.
pub fn context_dir(context: &str) -> String {
    format!("contexts/{}", segment(context))
}

/// `contexts/<context>/<namespace>`.
pub fn namespace_dir(context: &str, namespace: &str) -> String {
    format!("{}/{}", context_dir(context), segment(namespace))
}

/// `contexts/<context>/<namespace>/pods/<pod>`.
pub fn pod_dir(context: &str, namespace: &str, pod: &str) -> String {
    format!("{}/pods/{}", namespace_dir(context, namespace), segment(pod))
}

/// The namespaced lists every context contributes, by file name. The first column is the file
/// (without `.yaml`), the second what README.txt says it holds.
pub const NAMESPACED_LISTS: &[(&str, &str)] = &[
    (
        "kafkamirrormaker2s",
        "KafkaMirrorMaker2s, each at the API version whose schema holds its fields",
    ),
    ("kafkas", "Kafka clusters (status included)"),
    ("kafkanodepools", "KafkaNodePools"),
    ("kafkausers", "KafkaUsers (status included)"),
    ("pods", "the MirrorMaker 2 worker pods with their status"),
    ("events", "events of the namespace within --since"),
    ("services", "Services"),
    ("serviceexports", "MCS ServiceExports"),
    ("serviceimports", "MCS ServiceImports"),
    (
        "endpointslices",
        "multi-cluster EndpointSlices (label multicluster.kubernetes.io/service-name), at the served version",
    ),
    (
        "configmaps",
        "the metrics ConfigMaps the MirrorMaker 2s reference",
    ),
    (
        "secrets",
        "Secrets as metadata only: name, type, keys, owner references, content hash",
    ),
    (
        "flux-kustomizations",
        "the Flux Kustomizations that own the objects above",
    ),
];

/// A `kind: List` document, items sorted by namespace and name so two runs diff cleanly.
pub fn list_doc(mut items: Vec<Value>) -> Value {
    items.sort_by_key(|i| {
        (
            i["metadata"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            i["metadata"]["name"].as_str().unwrap_or_default().to_string(),
        )
    });
    json!({"apiVersion": "v1", "kind": "List", "items": items})
}

/// Drop what only adds noise to a debugging archive (kubectl hides it by default too).
pub fn tidy(mut obj: Value) -> Value {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    obj
}

/// Objects in a list answer carry no `apiVersion`/`kind` of their own (the list does): put them
/// back, so every item of the archive says what it is.
pub fn typed(obj: Value, api_version: &str, kind: &str) -> Value {
    let Value::Object(map) = obj else { return obj };
    let missing = |k: &str| map.get(k).is_none_or(|v| v.as_str().is_none_or(str::is_empty));
    let mut out = serde_json::Map::new();
    // First, where kubectl puts them.
    if missing("apiVersion") {
        out.insert("apiVersion".into(), Value::String(api_version.into()));
    }
    if missing("kind") {
        out.insert("kind".into(), Value::String(kind.into()));
    }
    out.extend(map);
    Value::Object(out)
}

/// Of the reads of the same object at several API versions, keep the one that lost the least:
/// Strimzi 0.51 serves `v1` and `v1beta2` without conversion, so the API server prunes the
/// fields the asked version's schema lacks. The biggest `spec` + `status` wins; ties go to the
/// first read (callers list the old shape, `v1beta2`, first).
pub fn richest_read(reads: Vec<Value>) -> Option<Value> {
    let size = |v: &Value| {
        serde_json::to_string(&v["spec"]).map(|s| s.len()).unwrap_or(0)
            + serde_json::to_string(&v["status"]).map(|s| s.len()).unwrap_or(0)
    };
    let mut best: Option<(usize, Value)> = None;
    for r in reads {
        let s = size(&r);
        if best.as_ref().is_none_or(|(b, _)| s > *b) {
            best = Some((s, r));
        }
    }
    best.map(|(_, v)| v)
}

/// Group reads of several versions by name and keep the richest of each.
pub fn richest_per_object(per_version: Vec<Vec<Value>>) -> Vec<Value> {
    let mut by_name: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for items in per_version {
        for i in items {
            let name = i["metadata"]["name"].as_str().unwrap_or_default().to_string();
            by_name.entry(name).or_default().push(i);
        }
    }
    by_name.into_values().filter_map(richest_read).collect()
}

/// When an event last happened: `lastTimestamp`, else `eventTime` (events.k8s.io writers),
/// else `firstTimestamp`, else its creation.
pub fn event_time(ev: &Value) -> Option<Timestamp> {
    ["lastTimestamp", "eventTime", "firstTimestamp"]
        .iter()
        .filter_map(|k| ev[*k].as_str())
        .chain(ev["metadata"]["creationTimestamp"].as_str())
        .find_map(|t| t.parse::<Timestamp>().ok())
}

/// Events that happened within `since` before `now` (an event without any time is kept: better
/// one line too many than the one that explains the incident).
pub fn recent_events(events: Vec<Value>, now: Timestamp, since: Duration) -> Vec<Value> {
    let since = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
    let cutoff = now.as_second().saturating_sub(since);
    events
        .into_iter()
        .filter(|e| event_time(e).is_none_or(|t| t.as_second() >= cutoff))
        .collect()
}

/// Flux Kustomizations `(namespace, name)` named by the ownership labels of these objects.
pub fn flux_owners<'a>(objects: impl IntoIterator<Item = &'a Value>) -> BTreeSet<(String, String)> {
    use crate::resources::flux::{NAME_LABEL, NAMESPACE_LABEL};
    objects
        .into_iter()
        .filter_map(|o| {
            let labels = &o["metadata"]["labels"];
            let name = labels[NAME_LABEL].as_str()?;
            let ns = labels[NAMESPACE_LABEL].as_str().unwrap_or("flux-system");
            Some((ns.to_string(), name.to_string()))
        })
        .collect()
}

/// The ConfigMaps a KafkaMirrorMaker2 takes its JMX exporter rules from
/// (`spec.metricsConfig.valueFrom.configMapKeyRef.name`).
pub fn metrics_config_maps<'a>(mm2s: impl IntoIterator<Item = &'a Value>) -> BTreeSet<String> {
    mm2s.into_iter()
        .filter_map(|m| {
            m["spec"]["metricsConfig"]["valueFrom"]["configMapKeyRef"]["name"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

/// `--since` as README.txt and the outcome print it.
pub fn since_label(since: Duration) -> String {
    crate::error::humantime(since)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn file_and_folder_names_carry_the_utc_time() {
        let now = ts("2026-11-30T03:15:00Z");
        assert_eq!(default_file_name(now), "mm2-report-20261130T031500Z.tar.gz");
        assert_eq!(root_dir(now), "mm2-report-20261130T031500Z");
    }

    #[test]
    fn path_segments_cannot_escape_their_folder() {
        assert_eq!(segment("viewer@rciis-aws"), "viewer@rciis-aws");
        assert_eq!(segment("../../etc"), "_.._etc");
        assert_eq!(
            segment("arn:aws:eks:eu-west-1:1:cluster/x"),
            "arn_aws_eks_eu-west-1_1_cluster_x"
        );
        assert_eq!(segment(""), "_");
        assert_eq!(segment(".hidden"), "hidden");
        assert_eq!(
            pod_dir("rciis-aws", "rciis-prod", "mm2-0"),
            "contexts/rciis-aws/rciis-prod/pods/mm2-0"
        );
    }

    #[test]
    fn the_richest_read_of_an_object_wins() {
        let pruned =
            json!({"apiVersion": "kafka.strimzi.io/v1", "metadata": {"name": "k"}, "spec": {"a": 1}});
        let full = json!({"apiVersion": "kafka.strimzi.io/v1beta2", "metadata": {"name": "k"}, "spec": {"a": 1, "clusters": [1, 2]}});
        let other = json!({"metadata": {"name": "j"}, "spec": {}});
        let kept = richest_per_object(vec![vec![pruned.clone(), other.clone()], vec![full.clone()]]);
        assert_eq!(kept, vec![other, full]);
        // A tie keeps the first read.
        assert_eq!(richest_read(vec![pruned.clone(), pruned.clone()]), Some(pruned));
    }

    #[test]
    fn events_are_kept_within_since_by_their_last_time() {
        let now = ts("2026-11-30T05:00:00Z");
        let ev = |name: &str, field: &str, t: &str| json!({"metadata": {"name": name}, field: t});
        let events = vec![
            ev("old", "lastTimestamp", "2026-11-30T02:59:59Z"),
            ev("recent", "lastTimestamp", "2026-11-30T03:00:00Z"),
            ev("micro", "eventTime", "2026-11-30T04:59:00.123456Z"),
            json!({"metadata": {"name": "created", "creationTimestamp": "2026-11-30T04:00:00Z"}}),
            json!({"metadata": {"name": "timeless"}}),
        ];
        let kept: Vec<String> = recent_events(events, now, Duration::from_secs(2 * 3600))
            .iter()
            .map(|e| e["metadata"]["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(kept, ["recent", "micro", "created", "timeless"]);
    }

    #[test]
    fn flux_owners_and_metrics_config_maps_come_from_the_objects() {
        let mm2 = json!({"metadata": {"labels": {
                "kustomize.toolkit.fluxcd.io/name": "kafka",
                "kustomize.toolkit.fluxcd.io/namespace": "flux-system"}},
            "spec": {"metricsConfig": {"type": "jmxPrometheusExporter",
                "valueFrom": {"configMapKeyRef": {"name": "mm2-jmx-metrics", "key": "k"}}}}});
        let svc = json!({"metadata": {"labels": {"kustomize.toolkit.fluxcd.io/name": "infra"}}});
        let plain = json!({"metadata": {"labels": {"app": "x"}}});
        let owners = flux_owners([&mm2, &svc, &plain]);
        assert_eq!(
            owners.into_iter().collect::<Vec<_>>(),
            [
                ("flux-system".to_string(), "infra".to_string()),
                ("flux-system".to_string(), "kafka".to_string())
            ]
        );
        assert_eq!(
            metrics_config_maps([&mm2, &plain])
                .into_iter()
                .collect::<Vec<_>>(),
            ["mm2-jmx-metrics"]
        );
    }

    #[test]
    fn list_items_get_their_type_back_first() {
        let o = typed(json!({"metadata": {"name": "e"}}), "v1", "Event");
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"apiVersion":"v1","kind":"Event","metadata":{"name":"e"}}"#
        );
        let kept = typed(json!({"apiVersion": "x/v2", "kind": "K"}), "v1", "Event");
        assert_eq!(kept, json!({"apiVersion": "x/v2", "kind": "K"}));
    }

    #[test]
    fn lists_are_sorted_and_tidied() {
        let a = tidy(json!({"metadata": {"name": "b", "managedFields": [{"manager": "x"}]}}));
        assert!(a["metadata"].get("managedFields").is_none());
        let doc = list_doc(vec![a, json!({"metadata": {"name": "a"}})]);
        assert_eq!(doc["kind"], "List");
        assert_eq!(doc["items"][0]["metadata"]["name"], "a");
    }
}
