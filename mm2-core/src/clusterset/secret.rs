//! Secret material and the pure logic of a GC-safe copy: what metadata survives, the content
//! hash, the key-level diff. Nothing here talks to a cluster, so all of it is unit-tested.
//!
//! Values never leave this module in readable form: [`SecretData`] prints key names only, and
//! every report built here names keys, never values (the e2e tests grep all output for the
//! passwords). Annotation *values* are treated the same way, because the
//! `kubectl.kubernetes.io/last-applied-configuration` of a hand-made copy holds the whole Secret.

use super::{ANN_CONTENT_HASH, ANN_PREFIX, ANN_SOURCE_RV};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// The `data` of a Secret. Its `Debug` lists key names and sizes only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretData(pub BTreeMap<String, Vec<u8>>);

impl std::fmt::Debug for SecretData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, format!("<{} bytes>", v.len()))))
            .finish()
    }
}

impl SecretData {
    pub fn keys(&self) -> BTreeSet<String> {
        self.0.keys().cloned().collect()
    }
}

/// A map whose values must not be printed (labels are harmless, annotations are not).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Redacted(pub BTreeMap<String, String>);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

/// An ownerReference, as far as the copy logic cares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
}

/// The parts of a Secret we read, copy and compare.
#[derive(Debug, Clone, Default)]
pub struct SecretView {
    pub name: String,
    pub namespace: String,
    pub resource_version: String,
    pub uid: String,
    pub type_: String,
    pub data: SecretData,
    pub labels: BTreeMap<String, String>,
    pub annotations: Redacted,
    pub owner_references: Vec<OwnerRef>,
    /// Field managers from managedFields (`kubectl-client-side-apply`, `kubectl-clusterset` ...).
    pub managers: Vec<String>,
    pub immutable: bool,
    /// `deletionTimestamp` is set: finalizers keep it until they are done.
    pub deleting: bool,
}

impl SecretView {
    /// Take what we need from a typed Secret; the typed object is dropped by the caller.
    pub fn from_secret(s: k8s_openapi::api::core::v1::Secret) -> SecretView {
        let m = s.metadata;
        let deleting = m.deletion_timestamp.is_some();
        let mut managers: Vec<String> = m
            .managed_fields
            .iter()
            .flatten()
            .filter_map(|f| f.manager.clone())
            .collect();
        managers.sort();
        managers.dedup();
        SecretView {
            name: m.name.unwrap_or_default(),
            namespace: m.namespace.unwrap_or_default(),
            resource_version: m.resource_version.unwrap_or_default(),
            uid: m.uid.unwrap_or_default(),
            type_: s.type_.unwrap_or_else(|| "Opaque".into()),
            data: SecretData(
                s.data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.0))
                    .collect(),
            ),
            labels: m.labels.unwrap_or_default(),
            annotations: Redacted(m.annotations.unwrap_or_default()),
            owner_references: m
                .owner_references
                .unwrap_or_default()
                .into_iter()
                .map(|o| OwnerRef {
                    api_version: o.api_version,
                    kind: o.kind,
                    name: o.name,
                    uid: o.uid,
                })
                .collect(),
            managers,
            immutable: s.immutable.unwrap_or(false),
            deleting,
        }
    }

    /// Hash of the current content (not the recorded annotation).
    pub fn content_hash(&self) -> String {
        content_hash(&self.type_, &self.data)
    }

    /// Our provenance annotation, if present.
    pub fn provenance(&self, key: &str) -> Option<&str> {
        self.annotations.0.get(key).map(String::as_str)
    }
}

/// `sha256:<hex>` over the type and every key and value, keys sorted, each part length-prefixed
/// so that no two different Secrets hash alike. Identifies content without revealing it.
pub fn content_hash(type_: &str, data: &SecretData) -> String {
    let mut h = Sha256::new();
    h.update(format!("type:{}:{type_}\n", type_.len()));
    for (k, v) in &data.0 {
        h.update(format!("key:{}:{k}\nvalue:{}:", k.len(), v.len()));
        h.update(v);
        h.update(b"\n");
    }
    let digest = h.finalize();
    let mut out = String::from("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Label and annotation prefixes (ending in `/`) or exact keys that controllers act on.
/// A copy carrying them would be adopted, selected or pruned by the target's controllers:
/// - `strimzi.io/*`: the User Operator selects Secrets by `strimzi.io/kind=KafkaUser` (+ cluster)
///   and reconciles the KafkaUser of the same name (strimzi.md §6);
/// - Flux (`kustomize.toolkit.fluxcd.io/*`, `helm.toolkit.fluxcd.io/*`): prune by owner labels;
/// - Helm (`meta.helm.sh/*`, `helm.sh/chart`), Argo CD (`argocd.argoproj.io/*`,
///   `app.kubernetes.io/instance` is Argo's default tracking label);
/// - `app.kubernetes.io/managed-by`: "who owns this" for every operator;
/// - `kubectl.kubernetes.io/last-applied-configuration`: client-side apply's three-way merge base
///   (and it holds the whole source Secret, values included);
/// - `kubernetes.io/service-account.*`: the token controller;
/// - our own prefix: re-added fresh for the copy.
const CONTROLLER_KEYS: &[&str] = &[
    "strimzi.io/",
    "kustomize.toolkit.fluxcd.io/",
    "helm.toolkit.fluxcd.io/",
    "reconcile.fluxcd.io/",
    "meta.helm.sh/",
    "helm.sh/chart",
    "argocd.argoproj.io/",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/instance",
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubernetes.io/service-account.",
    ANN_PREFIX,
];

/// Does a label or annotation key mean something to a controller?
pub fn is_controller_key(key: &str) -> bool {
    CONTROLLER_KEYS.iter().any(|p| {
        if p.ends_with('/') || p.ends_with('.') {
            key.starts_with(p)
        } else {
            key == *p
        }
    })
}

/// Labels that survive the copy. When an operator wrote the Secret (`app.kubernetes.io/managed-by`
/// set), the other `app.kubernetes.io/*` labels describe that operator's instance
/// (`strimzi-user-operator`, `strimzi-<user>`) and are dropped too.
pub fn sanitize_labels(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let operator_written = labels.contains_key("app.kubernetes.io/managed-by");
    labels
        .iter()
        .filter(|(k, _)| !is_controller_key(k))
        .filter(|(k, _)| !(operator_written && k.starts_with("app.kubernetes.io/")))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Annotations that survive the copy.
pub fn sanitize_annotations(ann: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    ann.iter()
        .filter(|(k, _)| !is_controller_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Where a copy came from, recorded on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    pub context: String,
    pub namespace: String,
    pub name: String,
    pub resource_version: String,
    pub content_hash: String,
}

impl Provenance {
    pub fn annotations(&self) -> BTreeMap<String, String> {
        use super::{ANN_SOURCE_CONTEXT, ANN_SOURCE_NAME, ANN_SOURCE_NAMESPACE};
        BTreeMap::from([
            (ANN_SOURCE_CONTEXT.to_string(), self.context.clone()),
            (ANN_SOURCE_NAMESPACE.to_string(), self.namespace.clone()),
            (ANN_SOURCE_NAME.to_string(), self.name.clone()),
            (ANN_SOURCE_RV.to_string(), self.resource_version.clone()),
            (ANN_CONTENT_HASH.to_string(), self.content_hash.clone()),
        ])
    }

    /// Read back from a target Secret (None unless all identifying fields are there).
    pub fn read(v: &SecretView) -> Option<Provenance> {
        use super::{ANN_SOURCE_CONTEXT, ANN_SOURCE_NAME, ANN_SOURCE_NAMESPACE};
        Some(Provenance {
            context: v.provenance(ANN_SOURCE_CONTEXT)?.to_string(),
            namespace: v.provenance(ANN_SOURCE_NAMESPACE)?.to_string(),
            name: v.provenance(ANN_SOURCE_NAME)?.to_string(),
            resource_version: v.provenance(ANN_SOURCE_RV).unwrap_or_default().to_string(),
            content_hash: v.provenance(ANN_CONTENT_HASH).unwrap_or_default().to_string(),
        })
    }

    /// Same source object (context, namespace, name)?
    pub fn same_source(&self, other: &Provenance) -> bool {
        self.context == other.context && self.namespace == other.namespace && self.name == other.name
    }
}

/// The Secret we want in the target: sanitized source plus provenance.
#[derive(Debug, Clone)]
pub struct Desired {
    pub name: String,
    pub namespace: String,
    pub type_: String,
    pub data: SecretData,
    pub labels: BTreeMap<String, String>,
    pub annotations: Redacted,
    pub provenance: Provenance,
}

impl Desired {
    pub fn from_source(
        source: &SecretView,
        source_context: &str,
        target_name: &str,
        target_namespace: &str,
    ) -> Desired {
        let provenance = Provenance {
            context: source_context.into(),
            namespace: source.namespace.clone(),
            name: source.name.clone(),
            resource_version: source.resource_version.clone(),
            content_hash: source.content_hash(),
        };
        let mut annotations = sanitize_annotations(&source.annotations.0);
        annotations.extend(provenance.annotations());
        Desired {
            name: target_name.into(),
            namespace: target_namespace.into(),
            type_: source.type_.clone(),
            data: source.data.clone(),
            labels: sanitize_labels(&source.labels),
            annotations: Redacted(annotations),
            provenance,
        }
    }

    /// The server-side apply body. Holds the values: never print it.
    pub fn apply_body(&self, resource_version: Option<&str>) -> serde_json::Value {
        use base64_engine::encode;
        let data: serde_json::Map<String, serde_json::Value> = self
            .data
            .0
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(encode(v))))
            .collect();
        let mut metadata = serde_json::json!({
            "name": self.name,
            "namespace": self.namespace,
            "labels": self.labels,
            "annotations": self.annotations.0,
        });
        if let Some(rv) = resource_version {
            // An optimistic-concurrency precondition: a concurrent writer makes this a 409.
            metadata["resourceVersion"] = serde_json::Value::String(rv.into());
        }
        serde_json::json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata,
            "type": self.type_,
            "data": data,
        })
    }
}

/// Standard base64 without pulling a crate in for a dozen lines (also used by the e2e tests to
/// look for leaked values).
pub mod base64_engine {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(input: &[u8]) -> String {
        let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
        for chunk in input.chunks(3) {
            let b = [
                chunk[0],
                chunk.get(1).copied().unwrap_or(0),
                chunk.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            out.push(ALPHABET[(n >> 18) as usize & 63] as char);
            out.push(ALPHABET[(n >> 12) as usize & 63] as char);
            out.push(if chunk.len() > 1 {
                ALPHABET[(n >> 6) as usize & 63] as char
            } else {
                '='
            });
            out.push(if chunk.len() > 2 {
                ALPHABET[n as usize & 63] as char
            } else {
                '='
            });
        }
        out
    }
}

/// Key-level difference between the target as it is and as it will be. Names only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KeyDiff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl KeyDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Compare two key→value maps by key; values are compared, never reported.
pub fn diff_keys<V: PartialEq>(before: &BTreeMap<String, V>, after: &BTreeMap<String, V>) -> KeyDiff {
    let mut d = KeyDiff::default();
    for (k, v) in after {
        match before.get(k) {
            None => d.added.push(k.clone()),
            Some(old) if old != v => d.changed.push(k.clone()),
            _ => {}
        }
    }
    d.removed = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .cloned()
        .collect();
    d
}

/// Everything that differs between a target Secret and the desired copy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SecretDiff {
    /// `data` keys.
    pub data: KeyDiff,
    pub labels: KeyDiff,
    /// Annotation keys (our `source-resource-version` excluded: a new source resourceVersion with
    /// identical content is not a reason to write).
    pub annotations: KeyDiff,
    /// `type` before → after (immutable in Kubernetes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_change: Option<(String, String)>,
    /// ownerReferences that will be removed (`Kind/name uid`).
    pub owner_references_removed: Vec<String>,
}

impl SecretDiff {
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
            && self.labels.is_empty()
            && self.annotations.is_empty()
            && self.type_change.is_none()
            && self.owner_references_removed.is_empty()
    }

    /// One line per category, names only: `data: +password ~sasl.jaas.config -old`.
    pub fn lines(&self) -> Vec<String> {
        let fmt = |what: &str, d: &KeyDiff| -> Option<String> {
            if d.is_empty() {
                return None;
            }
            let mut parts = Vec::new();
            parts.extend(d.added.iter().map(|k| format!("+{k}")));
            parts.extend(d.changed.iter().map(|k| format!("~{k}")));
            parts.extend(d.removed.iter().map(|k| format!("-{k}")));
            Some(format!("{what}: {}", parts.join(" ")))
        };
        let mut out: Vec<String> = [
            fmt("data", &self.data),
            fmt("labels", &self.labels),
            fmt("annotations", &self.annotations),
        ]
        .into_iter()
        .flatten()
        .collect();
        if let Some((a, b)) = &self.type_change {
            let shown = |t: &str| {
                if t.is_empty() {
                    "(none)".to_string()
                } else {
                    t.to_string()
                }
            };
            out.push(format!("type: {} → {}", shown(a), shown(b)));
        }
        if !self.owner_references_removed.is_empty() {
            out.push(format!(
                "ownerReferences: -{}",
                self.owner_references_removed.join(" -")
            ));
        }
        out
    }
}

/// What applying `desired` over `target` changes. Labels and annotations the target carries that
/// are neither desired nor controller keys are left alone (someone else's, harmless); controller
/// keys are removed; data must match exactly.
pub fn diff(target: &SecretView, desired: &Desired) -> SecretDiff {
    let (want_labels, want_ann) = target_metadata_after(target, desired);
    let skip_rv = |m: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        m.iter()
            .filter(|(k, _)| k.as_str() != ANN_SOURCE_RV)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    SecretDiff {
        data: diff_keys(&target.data.0, &desired.data.0),
        labels: diff_keys(&target.labels, &want_labels),
        annotations: diff_keys(&skip_rv(&target.annotations.0), &skip_rv(&want_ann)),
        type_change: (target.type_ != desired.type_).then(|| (target.type_.clone(), desired.type_.clone())),
        owner_references_removed: target
            .owner_references
            .iter()
            .map(|o| format!("{}/{} uid {}", o.kind, o.name, o.uid))
            .collect(),
    }
}

/// Labels and annotations the target ends up with: its own harmless extras kept, controller keys
/// dropped, desired ones set.
pub fn target_metadata_after(
    target: &SecretView,
    desired: &Desired,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut labels: BTreeMap<String, String> = target
        .labels
        .iter()
        .filter(|(k, _)| !is_controller_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    labels.extend(desired.labels.clone());
    let mut ann: BTreeMap<String, String> = target
        .annotations
        .0
        .iter()
        .filter(|(k, _)| !is_controller_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    ann.extend(desired.annotations.0.clone());
    (labels, ann)
}

/// The JSON merge patch that removes from the target what server-side apply cannot: fields other
/// managers own (a hand-made copy's ownerReferences, Strimzi labels, last-applied annotation,
/// extra data keys). `None` when there is nothing to remove. Carries the target's
/// resourceVersion as a precondition.
pub fn cleanup_patch(target: &SecretView, desired: &Desired) -> Option<serde_json::Value> {
    let null = serde_json::Value::Null;
    let labels: serde_json::Map<String, serde_json::Value> = target
        .labels
        .keys()
        .filter(|k| is_controller_key(k) && !desired.labels.contains_key(*k))
        .map(|k| (k.clone(), null.clone()))
        .collect();
    let ann: serde_json::Map<String, serde_json::Value> = target
        .annotations
        .0
        .keys()
        .filter(|k| is_controller_key(k) && !desired.annotations.0.contains_key(*k))
        .map(|k| (k.clone(), null.clone()))
        .collect();
    let data: serde_json::Map<String, serde_json::Value> = target
        .data
        .0
        .keys()
        .filter(|k| !desired.data.0.contains_key(*k))
        .map(|k| (k.clone(), null.clone()))
        .collect();
    if labels.is_empty() && ann.is_empty() && data.is_empty() && target.owner_references.is_empty() {
        return None;
    }
    let mut metadata = serde_json::json!({ "resourceVersion": target.resource_version });
    if !labels.is_empty() {
        metadata["labels"] = labels.into();
    }
    if !ann.is_empty() {
        metadata["annotations"] = ann.into();
    }
    if !target.owner_references.is_empty() {
        metadata["ownerReferences"] = null;
    }
    let mut patch = serde_json::json!({ "metadata": metadata });
    if !data.is_empty() {
        patch["data"] = data.into();
    }
    Some(patch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> SecretData {
        SecretData(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
        )
    }

    /// A Secret as the Strimzi User Operator writes it (strimzi.md §6).
    fn uo_secret() -> SecretView {
        SecretView {
            name: "mm2-user".into(),
            namespace: "rciis-prod".into(),
            resource_version: "4711".into(),
            uid: "uid-src".into(),
            type_: "Opaque".into(),
            data: data(&[
                ("password", "s3cr3t-PASSWORD"),
                (
                    "sasl.jaas.config",
                    "ScramLoginModule required password=\"s3cr3t-PASSWORD\";",
                ),
            ]),
            labels: BTreeMap::from([
                ("strimzi.io/cluster".into(), "kafka-rciis-prod".into()),
                ("strimzi.io/kind".into(), "KafkaUser".into()),
                ("app.kubernetes.io/name".into(), "strimzi-user-operator".into()),
                ("app.kubernetes.io/instance".into(), "mm2-user".into()),
                ("app.kubernetes.io/part-of".into(), "strimzi-mm2-user".into()),
                (
                    "app.kubernetes.io/managed-by".into(),
                    "strimzi-user-operator".into(),
                ),
                ("kustomize.toolkit.fluxcd.io/name".into(), "kafka".into()),
                ("team".into(), "integration".into()),
            ]),
            annotations: Redacted(BTreeMap::from([
                (
                    "kubectl.kubernetes.io/last-applied-configuration".into(),
                    "{\"data\":{}}".into(),
                ),
                ("owner-contact".into(), "ops@example.org".into()),
            ])),
            owner_references: vec![OwnerRef {
                api_version: "kafka.strimzi.io/v1".into(),
                kind: "KafkaUser".into(),
                name: "mm2-user".into(),
                uid: "uid-kafkauser".into(),
            }],
            managers: vec!["strimzi-user-operator".into()],
            immutable: false,
            deleting: false,
        }
    }

    #[test]
    fn sanitize_drops_controller_metadata_and_keeps_user_metadata() {
        let s = uo_secret();
        let d = Desired::from_source(&s, "rciis-aws", "mm2-user-aws", "rciis-prod");
        assert_eq!(
            d.labels,
            BTreeMap::from([("team".to_string(), "integration".to_string())])
        );
        let keys: Vec<&str> = d.annotations.0.keys().map(String::as_str).collect();
        assert!(keys.contains(&"owner-contact"));
        assert!(!keys.iter().any(|k| k.starts_with("kubectl.kubernetes.io/")));
        assert_eq!(d.annotations.0[super::super::ANN_SOURCE_CONTEXT], "rciis-aws");
        assert_eq!(d.annotations.0[ANN_SOURCE_RV], "4711");
        assert!(d.annotations.0[ANN_CONTENT_HASH].starts_with("sha256:"));
        let body = d.apply_body(None).to_string();
        assert!(
            !body.contains("ownerReferences") && !body.contains("uid") && !body.contains("managedFields")
        );
        assert!(!body.contains("strimzi.io") && !body.contains("resourceVersion\":\"4711"));
        // Without an operator's managed-by, app.kubernetes.io/part-of is a user label.
        let l = BTreeMap::from([("app.kubernetes.io/part-of".to_string(), "rciis".to_string())]);
        assert_eq!(sanitize_labels(&l), l);
    }

    #[test]
    fn hash_is_stable_order_independent_and_content_sensitive() {
        let a = data(&[("a", "1"), ("b", "2")]);
        let h = content_hash("Opaque", &a);
        assert_eq!(h, content_hash("Opaque", &data(&[("b", "2"), ("a", "1")])));
        assert_ne!(h, content_hash("Opaque", &data(&[("a", "1"), ("b", "3")])));
        assert_ne!(h, content_hash("kubernetes.io/basic-auth", &a));
        // Length prefixes: moving bytes between key and value changes the hash.
        assert_ne!(
            content_hash("Opaque", &data(&[("ab", "c")])),
            content_hash("Opaque", &data(&[("a", "bc")]))
        );
        assert_eq!(h.len(), "sha256:".len() + 64);
        assert!(!h.contains('1') || h.chars().skip(7).all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn debug_never_shows_values() {
        let s = uo_secret();
        let d = Desired::from_source(&s, "rciis-aws", "mm2-user-aws", "rciis-prod");
        let dbg = format!("{s:?} {d:?}");
        assert!(!dbg.contains("s3cr3t-PASSWORD"), "{dbg}");
        assert!(!dbg.contains("ops@example.org"), "{dbg}");
        assert!(dbg.contains("password") && dbg.contains("bytes"));
        let diff = diff(&SecretView::default(), &d);
        let text = format!("{:?} {}", diff, serde_json::to_string(&diff).unwrap());
        assert!(!text.contains("s3cr3t") && text.contains("sasl.jaas.config"));
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        use base64_engine::encode;
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(i.as_bytes()), o);
        }
    }

    #[test]
    fn diff_names_keys_added_removed_changed() {
        let src = uo_secret();
        let d = Desired::from_source(&src, "rciis-aws", "mm2-user-aws", "rciis-prod");
        // A target that is a faithful copy except: one value rotated, one stale key, one missing.
        let mut t = SecretView {
            name: "mm2-user-aws".into(),
            namespace: "rciis-prod".into(),
            resource_version: "9".into(),
            type_: "Opaque".into(),
            data: data(&[("password", "old"), ("stale", "x")]),
            labels: d.labels.clone(),
            annotations: d.annotations.clone(),
            ..Default::default()
        };
        let df = diff(&t, &d);
        assert_eq!(df.data.added, vec!["sasl.jaas.config"]);
        assert_eq!(df.data.changed, vec!["password"]);
        assert_eq!(df.data.removed, vec!["stale"]);
        assert!(df.labels.is_empty() && df.annotations.is_empty());
        assert_eq!(
            df.lines(),
            vec!["data: +sasl.jaas.config ~password -stale".to_string()]
        );
        // The faithful copy is no diff, whatever the recorded source resourceVersion says.
        t.data = src.data.clone();
        t.annotations.0.insert(ANN_SOURCE_RV.into(), "1".into());
        assert!(diff(&t, &d).is_empty(), "{:?}", diff(&t, &d));
        // Harmless extra labels on the target are left alone; controller labels are removed.
        t.labels.insert("added-by-hand".into(), "yes".into());
        assert!(diff(&t, &d).is_empty());
        t.labels.insert("strimzi.io/kind".into(), "KafkaUser".into());
        assert_eq!(diff(&t, &d).labels.removed, vec!["strimzi.io/kind"]);
    }

    #[test]
    fn cleanup_patch_removes_what_apply_cannot() {
        let src = uo_secret();
        let d = Desired::from_source(&src, "rciis-aws", "mm2-user-aws", "rciis-prod");
        // The runbook's jq copy: everything of the source but rv/uid/creationTimestamp.
        let mut jq = src.clone();
        jq.name = "mm2-user-aws".into();
        jq.resource_version = "77".into();
        jq.data.0.insert("extra".into(), b"x".to_vec());
        let p = cleanup_patch(&jq, &d).unwrap();
        assert_eq!(p["metadata"]["resourceVersion"], "77");
        assert!(p["metadata"]["ownerReferences"].is_null());
        assert!(p["metadata"].as_object().unwrap().contains_key("ownerReferences"));
        assert!(
            p["metadata"]["labels"]
                .as_object()
                .unwrap()
                .contains_key("strimzi.io/kind")
        );
        assert!(!p["metadata"]["labels"].as_object().unwrap().contains_key("team"));
        assert!(
            p["metadata"]["annotations"]
                .as_object()
                .unwrap()
                .contains_key("kubectl.kubernetes.io/last-applied-configuration")
        );
        assert_eq!(
            p["data"].as_object().unwrap().keys().collect::<Vec<_>>(),
            vec!["extra"]
        );
        assert!(!p.to_string().contains("s3cr3t"));
        // A clean copy needs no cleanup.
        let clean = SecretView {
            data: src.data.clone(),
            labels: d.labels.clone(),
            annotations: d.annotations.clone(),
            ..Default::default()
        };
        assert!(cleanup_patch(&clean, &d).is_none());
    }
}
