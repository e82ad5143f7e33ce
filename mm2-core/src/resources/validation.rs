//! Strimzi 0.51's own validation of a KafkaMirrorMaker2, ported once as pure functions.
//!
//! `status`, `doctor`, `convert` and the test bed's simulated operator all call these, so what
//! the tools say about an MM2 is what the operator would do with it. Ported from
//! `KafkaMirrorMaker2Cluster.validateAndUpdateToNewAPI` (strimzi-kafka-operator tag 0.51.0),
//! which `KafkaMirrorMaker2AssemblyOperator.createOrUpdate` calls before creating anything: on
//! an `InvalidResourceException` the operator writes a `NotReady` condition with the exception's
//! message and stops (no Service, no pods, no connectors). The messages below are Strimzi's,
//! byte for byte, because users search for them.
//!
//! Since 0.49 the check is strict: every mirror must write into the cluster the Connect workers
//! run against (`connectCluster` in v1beta2, `target` in v1). The runbook runs each MM2 in its
//! SOURCE cluster, which 0.51 rejects with [`Invalid::TargetMismatch`].
//!
//! [`deprecations`] ports the `DeprecatedFields` warnings (`ValidationVisitor`) that the operator
//! adds to the status of a v1beta2-shaped object, whether or not it is valid.

use serde::Serialize;
use serde_json::Value;

/// `reason` of the NotReady condition the operator writes for an invalid resource.
pub const INVALID_REASON: &str = "InvalidResourceException";

/// Defaults Strimzi uses for the Connect group and storage topics of a v1beta2 MM2
/// (`extractAndRemoveValueFromConfig`), taken from the connect cluster's `config` when set there.
pub const DEFAULT_GROUP_ID: &str = "mirrormaker2-cluster";
pub const DEFAULT_CONFIG_TOPIC: &str = "mirrormaker2-cluster-configs";
pub const DEFAULT_OFFSET_TOPIC: &str = "mirrormaker2-cluster-offsets";
pub const DEFAULT_STATUS_TOPIC: &str = "mirrormaker2-cluster-status";

/// Why Strimzi 0.51 refuses a KafkaMirrorMaker2, in the order its checks run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "check", rename_all = "kebab-case")]
pub enum Invalid {
    /// `spec` is null (AbstractOperator checks this before the MM2 model is built).
    SpecNull,
    /// `spec.mirrors` null or empty.
    MirrorsMissing,
    /// `connectCluster` names no entry of `clusters`.
    ConnectClusterNotInClusters { alias: String },
    /// Neither `target` nor `connectCluster` + a non-empty `clusters`.
    NoTarget,
    /// Mirror `mirror` has neither `source` nor `sourceCluster`.
    SourceMissing { mirror: usize },
    /// Mirror `mirror` targets `target_cluster`, but the Connect workers run against `target`.
    TargetMismatch {
        mirror: usize,
        target_cluster: String,
        target: String,
    },
    /// Mirror `mirror`'s `sourceCluster` names no entry of `clusters`.
    SourceUnknownAlias { mirror: usize, alias: String },
    /// Target and source aliases repeat.
    AliasesNotUnique { aliases: Vec<String> },
}

impl Invalid {
    /// The exception message Strimzi 0.51 writes into the NotReady condition.
    pub fn message(&self) -> String {
        match self {
            Invalid::SpecNull => "Spec cannot be null".into(),
            Invalid::MirrorsMissing => ".spec.mirrors section is required in KafkaMirrorMaker2 resource".into(),
            Invalid::ConnectClusterNotInClusters { alias } => {
                format!("connectCluster with alias {alias} cannot be found in the list of clusters at .spec.clusters")
            }
            Invalid::NoTarget => {
                "Either .spec.target or .spec.connectCluster and .spec.clusters have to be specified".into()
            }
            Invalid::SourceMissing { .. } => {
                "Both .spec.mirrors[].source and .spec.mirrors[].sourceCluster are missing. Cannot determine source cluster."
                    .into()
            }
            Invalid::TargetMismatch { .. } => {
                "The .spec.mirrors[].targetCluster alias is not the same as the actual target cluster alias.".into()
            }
            Invalid::SourceUnknownAlias { .. } => {
                ".spec.mirrors[].sourceCluster is set to an non-existent alias. Cannot determine source cluster."
                    .into()
            }
            Invalid::AliasesNotUnique { .. } => "The target and source cluster aliases must be unique.".into(),
        }
    }
}

/// One Kafka cluster of a valid MM2, in the v1 layout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterRef {
    pub alias: String,
    pub bootstrap_servers: Option<String>,
    /// The cluster entry as written (authentication, tls, config ...), for conversion.
    #[serde(skip)]
    pub raw: Value,
}

/// A valid MM2 as the operator sees it after `validateAndUpdateToNewAPI`: the v1 layout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Normalized {
    /// The cluster the Connect workers run against; every mirror writes into it.
    pub target: ClusterRef,
    /// One source per mirror, in `spec.mirrors` order.
    pub sources: Vec<ClusterRef>,
}

impl Normalized {
    /// `source->target` of every mirror.
    pub fn directions(&self) -> Vec<crate::direction::Direction> {
        self.sources
            .iter()
            .map(|s| crate::direction::Direction::new(s.alias.clone(), self.target.alias.clone()))
            .collect()
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn non_empty_array<'a>(v: &'a Value, key: &str) -> Option<&'a Vec<Value>> {
    v.get(key).and_then(Value::as_array).filter(|a| !a.is_empty())
}

fn cluster_ref(v: &Value) -> ClusterRef {
    ClusterRef {
        alias: str_of(v, "alias").unwrap_or_default().to_string(),
        bootstrap_servers: str_of(v, "bootstrapServers").map(str::to_string),
        raw: v.clone(),
    }
}

/// Validate a KafkaMirrorMaker2 `spec` (as read at the version that holds its fields) the way
/// Strimzi 0.51 does; on success, the MM2 in the v1 layout.
pub fn validate(spec: Option<&Value>) -> Result<Normalized, Invalid> {
    let spec = match spec {
        Some(s) if !s.is_null() => s,
        _ => return Err(Invalid::SpecNull),
    };
    let Some(mirrors) = non_empty_array(spec, "mirrors") else {
        return Err(Invalid::MirrorsMissing);
    };
    let clusters: Vec<&Value> = spec
        .get("clusters")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let cluster_by_alias = |alias: &str| {
        clusters
            .iter()
            .find(|c| str_of(c, "alias") == Some(alias))
            .copied()
    };

    // `target` wins when present; otherwise connectCluster + clusters build it.
    let target = match spec.get("target").filter(|t| !t.is_null()) {
        Some(t) => cluster_ref(t),
        None => match (str_of(spec, "connectCluster"), clusters.is_empty()) {
            (Some(alias), false) => match cluster_by_alias(alias) {
                Some(c) => cluster_ref(c),
                None => {
                    return Err(Invalid::ConnectClusterNotInClusters { alias: alias.into() });
                }
            },
            _ => return Err(Invalid::NoTarget),
        },
    };

    let mut aliases = std::collections::BTreeSet::new();
    let mut seen = vec![target.alias.clone()];
    aliases.insert(target.alias.clone());
    let mut sources = Vec::with_capacity(mirrors.len());
    for (i, m) in mirrors.iter().enumerate() {
        let source = m.get("source").filter(|s| !s.is_null());
        let source_cluster = str_of(m, "sourceCluster");
        let target_cluster = str_of(m, "targetCluster");
        let resolved = match (source, source_cluster, target_cluster) {
            (None, None, _) => return Err(Invalid::SourceMissing { mirror: i }),
            (_, _, Some(tc)) if tc != target.alias => {
                return Err(Invalid::TargetMismatch {
                    mirror: i,
                    target_cluster: tc.into(),
                    target: target.alias.clone(),
                });
            }
            (Some(s), _, _) => cluster_ref(s),
            (None, Some(alias), _) => match cluster_by_alias(alias) {
                Some(c) => cluster_ref(c),
                None => {
                    return Err(Invalid::SourceUnknownAlias {
                        mirror: i,
                        alias: alias.into(),
                    });
                }
            },
        };
        aliases.insert(resolved.alias.clone());
        seen.push(resolved.alias.clone());
        sources.push(resolved);
    }
    if aliases.len() != mirrors.len() + 1 {
        return Err(Invalid::AliasesNotUnique { aliases: seen });
    }
    Ok(Normalized { target, sources })
}

/// One `DeprecatedFields` warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deprecation {
    pub property: String,
    /// Dotted path as Strimzi prints it (`spec.mirrors.sourceCluster`: no list index).
    pub path: String,
    tail: String,
}

impl Deprecation {
    /// The condition message, as `ValidationVisitor.checkForDeprecated` formats it.
    pub fn message(&self, namespace: &str, name: &str, api_version: &str) -> String {
        format!(
            "In resource KafkaMirrorMaker2({namespace}/{name}) in API version {api_version} the {} property at path {} has been deprecated{}",
            self.property, self.path, self.tail
        )
    }
}

/// `@DeprecatedProperty` of the v1beta2-only MM2 fields in 0.51: (property, movedToPath,
/// description).
const SPEC_DEPRECATED: [(&str, &str, &str); 2] = [
    (
        "clusters",
        "",
        "The `clusters` section is deprecated and will be removed in the `v1` CRD API. Please use the `.spec.target` and `.spec.mirrors[].source` sections instead.",
    ),
    (
        "connectCluster",
        ".spec.target",
        "The `connectCluster` property is deprecated and will be removed in the `v1` CRD API.",
    ),
];
const MIRROR_DEPRECATED: [(&str, &str, &str); 5] = [
    ("topicsBlacklistPattern", ".spec.mirrors.topicsExcludePattern", ""),
    ("groupsBlacklistPattern", ".spec.mirrors.groupsExcludePattern", ""),
    (
        "sourceCluster",
        ".spec.mirrors.source",
        "The `sourceCluster` property is deprecated and will be removed in the `v1` CRD API.",
    ),
    (
        "targetCluster",
        ".spec.target",
        "The `targetCluster` property is deprecated and will be removed in the `v1` CRD API.",
    ),
    (
        "heartbeatConnector",
        "",
        "The `heartbeatConnector` property is deprecated and will be removed in the `v1` CRD API.",
    ),
];
const PAUSE_DESCRIPTION: &str = "Deprecated in Strimzi 0.38.0, use state instead.";

fn tail(moved_to: &str, description: &str) -> String {
    let mut t = String::new();
    if !moved_to.is_empty() {
        t.push_str(", and should now be configured using ");
        t.push_str(moved_to);
    }
    t.push('.');
    if !description.is_empty() {
        t.push(' ');
        t.push_str(description);
    }
    t
}

/// Present as Strimzi's visitor sees it: non-null, and a non-empty list/string.
fn present(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

/// The deprecated v1beta2 fields a spec uses, once each (Strimzi keeps them in a set, so two
/// mirrors with `sourceCluster` give one warning). Java's reflection order is unspecified, so the
/// order here (spec, then mirrors, then connectors) is ours: compare as a set.
pub fn deprecations(spec: &Value) -> Vec<Deprecation> {
    let mut out: Vec<Deprecation> = Vec::new();
    let mut push = |property: &str, path: String, moved: &str, desc: &str| {
        let d = Deprecation {
            property: property.into(),
            path,
            tail: tail(moved, desc),
        };
        if !out.contains(&d) {
            out.push(d);
        }
    };
    for (p, moved, desc) in SPEC_DEPRECATED {
        if present(spec.get(p)) {
            push(p, format!("spec.{p}"), moved, desc);
        }
    }
    for m in spec
        .get("mirrors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for (p, moved, desc) in MIRROR_DEPRECATED {
            if present(m.get(p)) {
                push(p, format!("spec.mirrors.{p}"), moved, desc);
            }
        }
        for c in ["sourceConnector", "checkpointConnector", "heartbeatConnector"] {
            if present(m.get(c).and_then(|c| c.get("pause"))) {
                push("pause", format!("spec.mirrors.{c}.pause"), "", PAUSE_DESCRIPTION);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! Vectors from Strimzi 0.51.0's `KafkaMirrorMaker2ValidationAndNewAPITest`: `OLD_KMM2`
    //! (v1beta2 layout) and `KMM2` (v1 layout), edited the way each test edits them.
    use super::*;
    use serde_json::json;

    /// The runbook-shaped spec with a third cluster and one more mirror.
    fn with_third_cluster(mirror: Value) -> Value {
        let mut s = old_kmm2();
        s["clusters"]
            .as_array_mut()
            .unwrap()
            .push(json!({"alias": "third", "bootstrapServers": "third:9092"}));
        s["mirrors"].as_array_mut().unwrap().push(mirror);
        s
    }

    fn old_kmm2() -> Value {
        json!({
            "replicas": 3,
            "connectCluster": "target",
            "clusters": [
                {"alias": "source", "bootstrapServers": "source:9092"},
                {"alias": "target", "bootstrapServers": "target:9092"}
            ],
            "mirrors": [{
                "sourceCluster": "source", "targetCluster": "target",
                "sourceConnector": {"tasksMax": 5, "config": {"sync.topic.acls.enabled": "false"}},
                "checkpointConnector": {"tasksMax": 3, "config": {"sync.group.offsets.enabled": "true"}},
                "heartbeatConnector": {"tasksMax": 1},
                "topicsPattern": "my-topic-.*", "topicsExcludePattern": "exclude-topic-.*",
                "groupsPattern": "my-group-.*", "groupsExcludePattern": "exclude-group-.*"
            }]
        })
    }

    fn kmm2() -> Value {
        json!({
            "replicas": 3,
            "target": {"alias": "target", "groupId": "my-mm2-group", "configStorageTopic": "my-mm2-config",
                       "offsetStorageTopic": "my-mm2-offset", "statusStorageTopic": "my-mm2-status",
                       "bootstrapServers": "target:9092"},
            "mirrors": [{
                "source": {"alias": "source", "bootstrapServers": "source:9092"},
                "sourceConnector": {"tasksMax": 5, "config": {"sync.topic.acls.enabled": "false"}},
                "checkpointConnector": {"tasksMax": 3, "config": {"sync.group.offsets.enabled": "true"}},
                "heartbeatConnector": {"tasksMax": 1},
                "topicsPattern": "my-topic-.*", "topicsExcludePattern": "exclude-topic-.*",
                "groupsPattern": "my-group-.*", "groupsExcludePattern": "exclude-group-.*"
            }]
        })
    }

    fn message(spec: &Value) -> String {
        validate(Some(spec)).expect_err("Strimzi rejects this").message()
    }

    #[test]
    fn new_layout_is_valid() {
        let n = validate(Some(&kmm2())).unwrap();
        assert_eq!(n.target.alias, "target");
        assert_eq!(n.sources[0].alias, "source");
        assert_eq!(n.directions()[0].to_string(), "source->target");
    }

    #[test]
    fn old_layout_with_connect_cluster_as_target_is_valid() {
        let n = validate(Some(&old_kmm2())).unwrap();
        assert_eq!(n.target.bootstrap_servers.as_deref(), Some("target:9092"));
        assert_eq!(n.sources[0].bootstrap_servers.as_deref(), Some("source:9092"));
    }

    #[test]
    fn spec_null_is_refused_before_anything_else() {
        assert_eq!(validate(None).unwrap_err().message(), "Spec cannot be null");
        assert_eq!(validate(Some(&Value::Null)).unwrap_err(), Invalid::SpecNull);
    }

    #[test]
    fn mirrors_empty_or_null() {
        let mut s = kmm2();
        s["mirrors"] = json!([]);
        assert_eq!(
            message(&s),
            ".spec.mirrors section is required in KafkaMirrorMaker2 resource"
        );
        s["mirrors"] = Value::Null;
        assert_eq!(
            message(&s),
            ".spec.mirrors section is required in KafkaMirrorMaker2 resource"
        );
    }

    #[test]
    fn clusters_empty_null_or_connect_cluster_null() {
        let either = "Either .spec.target or .spec.connectCluster and .spec.clusters have to be specified";
        let mut s = old_kmm2();
        s["clusters"] = json!([]);
        assert_eq!(message(&s), either);
        s["clusters"] = Value::Null;
        assert_eq!(message(&s), either);
        let mut s = old_kmm2();
        s["connectCluster"] = Value::Null;
        assert_eq!(message(&s), either);
    }

    #[test]
    fn connect_cluster_that_does_not_exist() {
        let mut s = old_kmm2();
        s["connectCluster"] = json!("do-not-exist");
        assert_eq!(
            message(&s),
            "connectCluster with alias do-not-exist cannot be found in the list of clusters at .spec.clusters"
        );
    }

    #[test]
    fn wrong_target_and_wrong_or_null_source() {
        let mut s = old_kmm2();
        s["mirrors"][0]["targetCluster"] = json!("wrong-target");
        assert_eq!(
            message(&s),
            "The .spec.mirrors[].targetCluster alias is not the same as the actual target cluster alias."
        );
        let mut s = old_kmm2();
        s["mirrors"][0]["sourceCluster"] = json!("wrong-target");
        assert_eq!(
            message(&s),
            ".spec.mirrors[].sourceCluster is set to an non-existent alias. Cannot determine source cluster."
        );
        let mut s = old_kmm2();
        s["mirrors"][0]["sourceCluster"] = Value::Null;
        assert_eq!(
            message(&s),
            "Both .spec.mirrors[].source and .spec.mirrors[].sourceCluster are missing. Cannot determine source cluster."
        );
    }

    #[test]
    fn source_as_connect_cluster_is_the_runbook_layout_and_is_refused() {
        let mut s = old_kmm2();
        s["connectCluster"] = json!("source");
        assert_eq!(
            validate(Some(&s)).unwrap_err(),
            Invalid::TargetMismatch {
                mirror: 0,
                target_cluster: "target".into(),
                target: "source".into()
            }
        );
    }

    #[test]
    fn one_mirror_right_and_another_wrong() {
        let s = with_third_cluster(json!({"sourceCluster": "source", "targetCluster": "third"}));
        assert!(matches!(
            validate(Some(&s)).unwrap_err(),
            Invalid::TargetMismatch { mirror: 1, .. }
        ));
    }

    #[test]
    fn target_wins_over_connect_cluster() {
        let mut s = kmm2();
        s["connectCluster"] = json!("target");
        s["clusters"] = json!([{"alias": "third", "bootstrapServers": "source:9092"}]);
        s["mirrors"][0]["targetCluster"] = json!("third");
        assert!(matches!(
            validate(Some(&s)).unwrap_err(),
            Invalid::TargetMismatch { .. }
        ));
    }

    #[test]
    fn duplicate_and_conflicting_aliases() {
        let mut s = kmm2();
        s["mirrors"].as_array_mut().unwrap().push(
            json!({"source": {"alias": "source", "bootstrapServers": "source2:9092"}, "sourceConnector": {}}),
        );
        assert_eq!(
            message(&s),
            "The target and source cluster aliases must be unique."
        );
        let mut s = kmm2();
        s["mirrors"][0]["source"]["alias"] = json!("target");
        assert_eq!(
            message(&s),
            "The target and source cluster aliases must be unique."
        );
    }

    #[test]
    fn multiple_mirrors_with_distinct_sources() {
        let mut s = kmm2();
        s["mirrors"]
            .as_array_mut()
            .unwrap()
            .push(json!({"source": {"alias": "source2", "bootstrapServers": "source2:9092"}, "sourceConnector": {}}));
        let n = validate(Some(&s)).unwrap();
        assert_eq!(n.sources.len(), 2);
    }

    #[test]
    fn deprecations_of_the_runbook_shape_in_strimzi_words() {
        let mut s = old_kmm2();
        s["mirrors"][0]["sourceConnector"]["pause"] = json!(true);
        let d = deprecations(&s);
        let paths: Vec<&str> = d.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.clusters",
                "spec.connectCluster",
                "spec.mirrors.sourceCluster",
                "spec.mirrors.targetCluster",
                "spec.mirrors.heartbeatConnector",
                "spec.mirrors.sourceConnector.pause"
            ]
        );
        assert_eq!(
            d[1].message("rciis-prod", "mm2-proxmox-to-aws", "kafka.strimzi.io/v1beta2"),
            "In resource KafkaMirrorMaker2(rciis-prod/mm2-proxmox-to-aws) in API version kafka.strimzi.io/v1beta2 \
             the connectCluster property at path spec.connectCluster has been deprecated, and should now be \
             configured using .spec.target. The `connectCluster` property is deprecated and will be removed in \
             the `v1` CRD API."
        );
        assert!(
            deprecations(&kmm2())
                .iter()
                .all(|d| d.property == "heartbeatConnector")
        );
    }

    #[test]
    fn two_mirrors_with_the_same_deprecated_field_warn_once() {
        let s = with_third_cluster(json!({"sourceCluster": "third", "targetCluster": "target"}));
        let n = deprecations(&s)
            .iter()
            .filter(|d| d.property == "sourceCluster")
            .count();
        assert_eq!(n, 1);
    }
}
