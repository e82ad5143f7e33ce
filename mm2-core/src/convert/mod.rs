//! `kubectl mm2 convert`: the manifests of a KafkaMirrorMaker2 layout that Strimzi runs, for Git.
//!
//! Pure: YAML text (and the facts live mode gathered: broker counts, contexts, Flux paths) in, a
//! typed [`Outcome`] out. Every document that is not a KafkaMirrorMaker2 passes through byte for
//! byte, in order. Each KafkaMirrorMaker2 goes through two steps:
//!
//! 1. [`layout`]: an MM2 whose mirrors write to another cluster than its Connect cluster (the
//!    runbook's, rejected by Strimzi since 0.41/0.49) is moved to its TARGET cluster, one MM2 per
//!    target;
//! 2. [`v1`]: the shape, `kafka.strimzi.io/v1` by default (Strimzi's own v1 mapping), or kept in
//!    `v1beta2` (`--to v1beta2`).
//!
//! What cannot be converted is refused with the manual step (OAuth, external configuration,
//! fields the target API does not have). Every manifest produced is checked with Strimzi 0.51's
//! own validation ([`crate::resources::validation::validate`]); one that fails is a bug, reported as an
//! error rather than printed.

pub mod layout;
pub mod live;
mod render;
pub mod v1;

pub use render::{header, render_notes, render_yaml};

use crate::direction::Direction;
use crate::error::{Error, Result};
use crate::resources::validation;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `schema` of the `-o json|yaml` document.
pub const SCHEMA: &str = "kubectl-mm2.dev/convert/v1";
/// Strimzi's API group.
pub const GROUP: &str = "kafka.strimzi.io";

/// The API shape to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// `kafka.strimzi.io/v1`: `target` + `mirrors[].source` (Strimzi ≥ 0.49, the only API of 1.x).
    #[default]
    V1,
    /// `kafka.strimzi.io/v1beta2`: `connectCluster` + `clusters` (Strimzi < 0.49 knows only this).
    V1beta2,
}

impl Shape {
    pub fn version(self) -> &'static str {
        match self {
            Shape::V1 => "v1",
            Shape::V1beta2 => "v1beta2",
        }
    }
    pub fn api_version(self) -> String {
        format!("{GROUP}/{}", self.version())
    }
}

impl std::str::FromStr for Shape {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "v1" => Ok(Shape::V1),
            "v1beta2" => Ok(Shape::V1beta2),
            o => Err(format!("unknown API version '{o}' (allowed: v1, v1beta2)")),
        }
    }
}

/// Where a Flux Kustomization deploys from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FluxPath {
    pub kustomization: String,
    pub namespace: String,
    /// `spec.path` of the Kustomization (`./flux/apps/aws/kafka`).
    pub path: Option<String>,
}

/// Where a KafkaMirrorMaker2 was read from (live mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub context: String,
    pub namespace: String,
    pub name: String,
    pub flux: Option<FluxPath>,
}

/// What the conversion knows besides the manifests. Everything optional: `-f` mode works with
/// none of it.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub to: Shape,
    /// Broker count per cluster alias (`--brokers`, or read from the KafkaNodePools).
    pub brokers: BTreeMap<String, u32>,
    /// Kube context per cluster alias (clusterset config, `--cluster`, discovery).
    pub contexts: BTreeMap<String, String>,
    /// The Kustomization that deploys the Kafka apps of each cluster alias (live mode).
    pub flux: BTreeMap<String, FluxPath>,
    /// Name of the Strimzi `Kafka` of each cluster alias (live mode).
    pub kafka_names: BTreeMap<String, String>,
    /// Where the converted MM2 lives today (live mode).
    pub origin: Option<Origin>,
}

/// What happened to a KafkaMirrorMaker2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Moved to its target cluster (the layout fix), and reshaped if asked.
    Moved,
    /// One of several MM2s made from an MM2 whose mirrors have different targets.
    Split,
    /// Layout already right; only the API shape changed.
    Reshaped,
    /// Nothing to change.
    Unchanged,
}

/// A Secret the cluster of a converted MM2 needs (name only: values are never read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretNeed {
    pub name: String,
    /// The cluster whose Secret it is (the one the credentials belong to).
    pub of_cluster: String,
    /// True when it is a copy of another cluster's Secret (`kubectl clusterset copy-secret`).
    pub peer_copy: bool,
    /// What it holds: `password of mm2-user`, `CA certificates`...
    pub purpose: String,
    /// How to make the copy (peer copies only): `kubectl clusterset copy-secret --mm2` for the
    /// runbook's `<user>-<cluster>` copies, a single copy-secret otherwise.
    pub copy_with: Option<String>,
}

/// Where a converted MM2 belongs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placement {
    /// Cluster alias it must run in (its target).
    pub cluster: String,
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub flux: Option<FluxPath>,
}

/// One converted KafkaMirrorMaker2.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Converted {
    pub action: Action,
    pub name: String,
    pub namespace: Option<String>,
    /// Name of the input MM2 it was made from.
    pub from: String,
    /// The cluster its Connect workers ran against before the move (moved and split MM2s).
    pub from_cluster: Option<String>,
    pub api_version: String,
    /// `source->target` of every mirror.
    pub directions: Vec<String>,
    pub placement: Placement,
    pub secrets: Vec<SecretNeed>,
    pub manifest: Value,
    pub notes: Vec<String>,
}

/// A document that is not a KafkaMirrorMaker2, kept as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PassThrough {
    pub kind: Option<String>,
    pub name: Option<String>,
    /// The document's text, byte for byte.
    pub text: String,
}

/// One output document, in input order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum Document {
    /// A KafkaMirrorMaker2, converted.
    #[serde(rename = "converted")]
    KafkaMirrorMaker2(Box<Converted>),
    #[serde(rename = "pass-through")]
    PassThrough(PassThrough),
}

/// A KafkaMirrorMaker2 that cannot be converted, and what to do by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub name: String,
    pub namespace: Option<String>,
    pub reason: String,
    pub manual_step: String,
}

/// The result of `kubectl mm2 convert`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub schema: &'static str,
    pub to: Shape,
    pub documents: Vec<Document>,
    pub refusals: Vec<Refusal>,
    /// What the conversion found around the MM2s (other MM2s of the direction, unknown facts).
    pub notes: Vec<String>,
}

impl Outcome {
    /// Every converted MM2.
    pub fn converted(&self) -> impl Iterator<Item = &Converted> {
        self.documents.iter().filter_map(|d| match d {
            Document::KafkaMirrorMaker2(c) => Some(c.as_ref()),
            Document::PassThrough(_) => None,
        })
    }

    /// Exit code: 0, or 6 (refused) when a KafkaMirrorMaker2 could not be converted.
    pub fn exit_code(&self) -> u8 {
        if self.refusals.is_empty() {
            crate::error::exit::OK
        } else {
            crate::error::exit::REFUSED
        }
    }
}

/// Why one MM2 is refused (internal: becomes a [`Refusal`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refuse {
    pub reason: String,
    pub manual_step: String,
}

impl Refuse {
    pub fn new(reason: impl Into<String>, manual_step: impl Into<String>) -> Self {
        Refuse {
            reason: reason.into(),
            manual_step: manual_step.into(),
        }
    }
}

/// Split multi-document YAML text into documents, keeping each one's text byte for byte.
/// A document starts after a line `---` (optionally followed by a space and a comment/content)
/// and ends at the next one or at a line `...`. Top-level block scalars cannot hold such a line,
/// so the split is textual.
pub fn split_documents(text: &str) -> Vec<String> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare == "---" || bare.starts_with("--- ") || bare.starts_with("---\t") {
            docs.push(std::mem::take(&mut cur));
            let rest = bare[3..].trim_start();
            if !rest.is_empty() {
                cur.push_str(rest);
                cur.push('\n');
            }
        } else if bare == "..." {
            docs.push(std::mem::take(&mut cur));
        } else {
            cur.push_str(line);
        }
    }
    docs.push(cur);
    docs.into_iter().filter(|d| !d.trim().is_empty()).collect()
}

/// True when the text holds only comments and blank lines.
fn comments_only(doc: &str) -> bool {
    doc.lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
}

fn is_mm2(v: &Value) -> bool {
    v.get("kind").and_then(Value::as_str) == Some("KafkaMirrorMaker2")
        && v.get("apiVersion")
            .and_then(Value::as_str)
            .is_some_and(|a| a.starts_with(&format!("{GROUP}/")))
}

/// Convert every KafkaMirrorMaker2 in `text` (multi-document YAML).
pub fn convert_text(text: &str, opts: &Options) -> Result<Outcome> {
    let mut values = Vec::new();
    for (i, doc) in split_documents(text).into_iter().enumerate() {
        if comments_only(&doc) {
            values.push((doc, None));
            continue;
        }
        let v: Value = serde_saphyr::from_str(&doc)
            .map_err(|e| Error::Invalid(format!("document {} is not valid YAML: {e}", i + 1)))?;
        values.push((doc, Some(v)));
    }
    convert_values(values, opts)
}

/// Convert documents given as (text, parsed value); `None` values pass through.
pub fn convert_values(docs: Vec<(String, Option<Value>)>, opts: &Options) -> Result<Outcome> {
    let mut out = Outcome {
        schema: SCHEMA,
        to: opts.to,
        documents: Vec::new(),
        refusals: Vec::new(),
        notes: Vec::new(),
    };
    for (text, v) in docs {
        match v {
            Some(v) if is_mm2(&v) => match convert_mm2(&v, opts) {
                Ok(list) => out
                    .documents
                    .extend(list.into_iter().map(|c| Document::KafkaMirrorMaker2(Box::new(c)))),
                Err(r) => out.refusals.push(Refusal {
                    name: str_at(&v, &["metadata", "name"]).unwrap_or_default().into(),
                    namespace: str_at(&v, &["metadata", "namespace"]).map(String::from),
                    reason: r.reason,
                    manual_step: r.manual_step,
                }),
            },
            v => out.documents.push(Document::PassThrough(PassThrough {
                kind: v.as_ref().and_then(|v| str_at(v, &["kind"])).map(String::from),
                name: v
                    .as_ref()
                    .and_then(|v| str_at(v, &["metadata", "name"]))
                    .map(String::from),
                text,
            })),
        }
    }
    // A conversion that Strimzi would reject is our bug: never print it.
    for c in out.converted() {
        check(c)?;
    }
    Ok(out)
}

/// The value at a path of object keys, as a string.
pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(*k)).and_then(Value::as_str)
}

/// Convert one KafkaMirrorMaker2 object: layout, then shape.
fn convert_mm2(obj: &Value, opts: &Options) -> std::result::Result<Vec<Converted>, Refuse> {
    let name = str_at(obj, &["metadata", "name"]).unwrap_or_default().to_string();
    let namespace = str_at(obj, &["metadata", "namespace"]).map(String::from);
    let spec = obj.get("spec").filter(|s| s.is_object()).ok_or_else(|| {
        Refuse::new(
            "the resource has no .spec",
            "add the .spec section by hand and re-run the conversion",
        )
    })?;
    let pieces = layout::fix(obj, spec, opts)?;
    let mut out = Vec::new();
    for piece in pieces {
        let mut notes = piece.notes;
        let mut manifest = v1::reshape(&piece.manifest, opts.to, &mut notes)?;
        canonical_order(&mut manifest);
        v1::check_known_fields(&manifest["spec"], opts.to)?;
        let normalized = validation::validate(manifest.get("spec")).map_err(|e| {
            Refuse::new(
                format!("Strimzi 0.51 rejects it: {}", e.message()),
                "fix the manifest by hand as the message says, then re-run the conversion",
            )
        })?;
        let target = normalized.target.alias.clone();
        let directions: Vec<String> = normalized.directions().iter().map(Direction::to_string).collect();
        let action = match piece.action {
            Action::Unchanged
                if manifest["spec"] != obj["spec"] || manifest["apiVersion"] != obj["apiVersion"] =>
            {
                Action::Reshaped
            }
            a => a,
        };
        if let Some(o) = &opts.origin
            && matches!(action, Action::Moved | Action::Split)
        {
            notes.push(format!(
                "delete {}/{} from {} (context {}){}: Strimzi rejects it there and it would stay NotReady next to the one that runs",
                o.namespace,
                o.name,
                o.flux
                    .as_ref()
                    .and_then(|f| f.path.as_deref())
                    .map(|p| format!("the Flux path {p}"))
                    .unwrap_or_else(|| "its Git path".into()),
                o.context,
                o.flux
                    .as_ref()
                    .map(|f| format!(" (Kustomization {}/{})", f.namespace, f.kustomization))
                    .unwrap_or_default()
            ));
        }
        let placement = Placement {
            cluster: target.clone(),
            context: opts.contexts.get(&target).cloned(),
            namespace: namespace.clone(),
            flux: opts.flux.get(&target).cloned(),
        };
        let secrets = secrets_needed(&manifest["spec"], &target, &opts.contexts);
        out.push(Converted {
            action,
            name: str_at(&manifest, &["metadata", "name"])
                .unwrap_or(&name)
                .to_string(),
            namespace: namespace.clone(),
            from: name.clone(),
            from_cluster: piece.from_cluster.clone(),
            api_version: opts.to.api_version(),
            directions,
            placement,
            secrets,
            manifest,
            notes,
        });
    }
    Ok(out)
}

/// The cluster entries of a spec in either shape: (alias, entry), target/connect cluster first.
pub(crate) fn cluster_entries(spec: &Value) -> Vec<(String, &Value)> {
    let mut found: Vec<&Value> = Vec::new();
    if let Some(t) = spec.get("target").filter(|t| t.is_object()) {
        found.push(t);
    }
    let connect = spec.get("connectCluster").and_then(Value::as_str);
    let clusters: Vec<&Value> = spec
        .get("clusters")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    found.extend(
        clusters
            .iter()
            .filter(|e| connect.is_some() && e.get("alias").and_then(Value::as_str) == connect),
    );
    found.extend(clusters.iter());
    for m in spec
        .get("mirrors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(s) = m.get("source").filter(|s| s.is_object()) {
            found.push(s);
        }
    }
    let mut out: Vec<(String, &Value)> = Vec::new();
    for e in found {
        if let Some(a) = e.get("alias").and_then(Value::as_str)
            && !out.iter().any(|(x, _)| x == a)
        {
            out.push((a.to_string(), e));
        }
    }
    out
}

/// The Secrets a converted spec references (authentication and trusted certificates), per
/// cluster; the target's are local, the sources' are copies of the source cluster's Secrets.
pub(crate) fn secrets_needed(
    spec: &Value,
    target: &str,
    contexts: &BTreeMap<String, String>,
) -> Vec<SecretNeed> {
    let mut out: Vec<SecretNeed> = Vec::new();
    let ctx = |a: &str| {
        contexts
            .get(a)
            .cloned()
            .unwrap_or_else(|| format!("<context of {a}>"))
    };
    for (alias, e) in cluster_entries(spec) {
        let peer = alias != target;
        let mut add = |name: &str, purpose: String| {
            if out.iter().any(|s| s.name == name) {
                return;
            }
            let copy_with = peer.then(|| match name.strip_suffix(&format!("-{alias}")) {
                Some(base) if !base.is_empty() => "kubectl clusterset copy-secret --mm2".to_string(),
                _ => format!(
                    "kubectl clusterset copy-secret {name} --from {} --to {}",
                    ctx(&alias),
                    ctx(target)
                ),
            });
            out.push(SecretNeed {
                name: name.to_string(),
                of_cluster: alias.clone(),
                peer_copy: peer,
                purpose,
                copy_with,
            });
        };
        let auth = e.get("authentication");
        let user = auth
            .and_then(|a| a.get("username"))
            .and_then(Value::as_str)
            .unwrap_or("the user");
        if let Some(s) = auth
            .and_then(|a| a.get("passwordSecret"))
            .and_then(|p| p.get("secretName"))
            .and_then(Value::as_str)
        {
            add(s, format!("password of {user} in {alias}"));
        }
        if let Some(s) = auth
            .and_then(|a| a.get("certificateAndKey"))
            .and_then(|p| p.get("secretName"))
            .and_then(Value::as_str)
        {
            add(s, format!("client certificate for {alias}"));
        }
        for c in e
            .get("tls")
            .and_then(|t| t.get("trustedCertificates"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(s) = c.get("secretName").and_then(Value::as_str) {
                add(s, format!("CA certificates of {alias}"));
            }
        }
    }
    out
}

/// Strimzi 0.51 must accept what we print; anything else is a bug in this module.
fn check(c: &Converted) -> Result<()> {
    let spec = c.manifest.get("spec");
    let bug = |why: String| {
        Error::Invalid(format!(
            "bug: the conversion of KafkaMirrorMaker2 {} produced a manifest that {why}; nothing was printed (please report it with the input)",
            c.from
        ))
    };
    let n = validation::validate(spec).map_err(|e| bug(format!("Strimzi rejects ({})", e.message())))?;
    if c.placement.cluster != n.target.alias {
        return Err(bug(format!(
            "would run in {} but writes to {}",
            c.placement.cluster, n.target.alias
        )));
    }
    if c.manifest["apiVersion"] == "kafka.strimzi.io/v1" {
        let spec = spec.unwrap_or(&Value::Null);
        for k in ["replicas", "target", "mirrors"] {
            if spec.get(k).is_none_or(Value::is_null) {
                return Err(bug(format!("lacks the required .spec.{k}")));
            }
        }
        for k in [
            "alias",
            "bootstrapServers",
            "groupId",
            "configStorageTopic",
            "statusStorageTopic",
            "offsetStorageTopic",
        ] {
            if spec["target"].get(k).is_none_or(Value::is_null) {
                return Err(bug(format!("lacks the required .spec.target.{k}")));
            }
        }
    }
    Ok(())
}

/// Put the keys a reader looks for first (in Strimzi's documentation order) at the front, the
/// rest in their order. Objects read from an API server come with sorted keys; a manifest for Git
/// should read like the runbook's.
fn canonical_order(m: &mut Value) {
    fn front(v: &mut Value, first: &[&str]) {
        let Some(map) = v.as_object_mut() else { return };
        let mut out = Map::new();
        for k in first {
            if let Some(x) = map.shift_remove(*k) {
                out.insert((*k).to_string(), x);
            }
        }
        out.append(map);
        *map = out;
    }
    const ENTRY: [&str; 9] = [
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
    const AUTH: [&str; 4] = ["type", "username", "passwordSecret", "certificateAndKey"];
    const CONNECTOR: [&str; 6] = ["tasksMax", "state", "pause", "autoRestart", "config", "version"];
    front(m, &["apiVersion", "kind", "metadata", "spec"]);
    front(
        &mut m["metadata"],
        &["name", "namespace", "labels", "annotations"],
    );
    let spec = &mut m["spec"];
    front(
        spec,
        &[
            "version",
            "replicas",
            "image",
            "connectCluster",
            "clusters",
            "target",
            "mirrors",
        ],
    );
    fn entry(e: &mut Value) {
        front(e, &ENTRY);
        if let Some(a) = e.get_mut("authentication") {
            front(a, &AUTH);
            if let Some(p) = a.get_mut("passwordSecret") {
                front(p, &["secretName", "password"]);
            }
        }
    }
    if let Some(t) = spec.get_mut("target") {
        entry(t);
    }
    for c in spec
        .get_mut("clusters")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        entry(c);
    }
    for mirror in spec
        .get_mut("mirrors")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        front(
            mirror,
            &[
                "source",
                "sourceCluster",
                "targetCluster",
                "sourceConnector",
                "checkpointConnector",
                "heartbeatConnector",
                "topicsPattern",
                "topicsExcludePattern",
                "groupsPattern",
                "groupsExcludePattern",
            ],
        );
        if let Some(src) = mirror.get_mut("source") {
            entry(src);
        }
        for c in ["sourceConnector", "checkpointConnector", "heartbeatConnector"] {
            if let Some(c) = mirror.get_mut(c) {
                front(c, &CONNECTOR);
            }
        }
    }
}

/// An object's map, created when absent.
pub(crate) fn obj_mut<'a>(v: &'a mut Value, key: &str) -> &'a mut Map<String, Value> {
    if !v.get(key).is_some_and(Value::is_object) {
        v[key] = Value::Object(Map::new());
    }
    v[key].as_object_mut().expect("object just made")
}

/// Parse `aws=1,proxmox=3`.
pub fn parse_brokers(s: &str) -> std::result::Result<BTreeMap<String, u32>, String> {
    let mut out = BTreeMap::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, n) = part
            .split_once('=')
            .ok_or_else(|| format!("'{part}': expected ALIAS=COUNT, e.g. aws=1,proxmox=3"))?;
        let n: u32 = n
            .trim()
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("'{part}': the broker count must be a positive number"))?;
        out.insert(a.trim().to_string(), n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
