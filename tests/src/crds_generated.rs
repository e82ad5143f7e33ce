//! `apiextensions.k8s.io/v1` CustomResourceDefinitions generated from mm2-core's typed views
//! (they derive `JsonSchema` under mm2-core's feature `crd-gen`, which only this test crate turns
//! on): the e2e bed installs them when no upstream CRDs are at hand. Test-only, so it lives here,
//! not in the product.
//!
//! Each view is turned into a JSON schema by `schemars` (OpenAPI 3 settings, every subschema
//! inlined) and then rewritten into a Kubernetes *structural* schema: no `$ref`/`$defs`, no
//! `anyOf`/`oneOf`/`allOf`, every node typed, `Option<T>` simply not required (and, like upstream,
//! not `nullable`, so a `null` is pruned), no `default` (the API server would apply it) and only
//! the formats Kubernetes knows for our scalars.
//!
//! Our types are partial *views*, so the fields upstream has and we do not model are added back
//! per node, under their upstream names and types (objects free-form), and the fields of the other
//! API version are removed: at KafkaMirrorMaker2 `v1` there is no `connectCluster`, `clusters`,
//! `mirrors[].sourceCluster/targetCluster/heartbeatConnector` nor connector `pause`, so reading an
//! old-shape object at `v1` prunes them exactly as Strimzi 0.51's CRD does. Whatever a node neither
//! models nor lists is pruned, as upstream would prune it. Exceptions, free of pruning below them:
//! `authentication` (upstream lists some thirty OAuth fields) and `status.connectors[]` (free-form
//! upstream, the Kafka Connect REST body). MCS and Flux views model a sliver of their upstream
//! schemas, so their generated objects keep unknown fields at every node and only type what we
//! model.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value, json};

use mm2_core::resources::strimzi::{self, ConnectorStatus, Mm2Spec, Mm2Status};
use mm2_core::resources::{flux, mcs};

const PRESERVE: &str = "x-kubernetes-preserve-unknown-fields";

/// Formats the API server validates and that our scalars produce (`u32` & co. get `uint32`,
/// which is dropped: the `minimum: 0` schemars adds stays).
const FORMATS: &[&str] = &["int32", "int64", "float", "double", "byte", "date", "date-time"];

/// The structural schema of `T`. With `keep_nullable`, `Option`s stay `nullable` (for nodes that
/// are free-form upstream, where a `null` survives).
pub fn schema_of<T: JsonSchema>(keep_nullable: bool) -> Value {
    let mut settings = SchemaSettings::openapi3();
    settings.inline_subschemas = true;
    settings.meta_schema = None;
    let schema = settings.into_generator().into_root_schema_for::<T>();
    structural(schema.to_value(), keep_nullable)
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type") == Some(&json!("null"))
        || v.get("const") == Some(&Value::Null)
        || v.get("enum") == Some(&json!([null]))
        || v.as_object()
            .is_some_and(|m| m.len() == 1 && m.get("nullable") == Some(&json!(true)))
}

fn structural(v: Value, keep_nullable: bool) -> Value {
    let Value::Object(mut m) = v else { return v };
    let mut nullable = m.remove("nullable") == Some(json!(true));
    // `anyOf: [T, null]` (Option of an inlined struct) and single-element `allOf` collapse into T.
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(variants)) = m.remove(key) {
            let (nulls, rest): (Vec<Value>, Vec<Value>) = variants.into_iter().partition(is_null_schema);
            nullable |= !nulls.is_empty();
            let [only] = <[Value; 1]>::try_from(rest)
                .unwrap_or_else(|r| panic!("{key} with {} non-null variants is not structural", r.len()));
            let Value::Object(only) = only else {
                panic!("{key} variant is not a schema")
            };
            for (k, v) in only {
                if k == "nullable" {
                    nullable |= v == json!(true);
                } else {
                    m.entry(k).or_insert(v);
                }
            }
        }
    }
    if let Some(Value::Array(types)) = m.get("type").cloned() {
        let rest: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        nullable |= rest.len() < types.len();
        let [only] =
            <[Value; 1]>::try_from(rest).unwrap_or_else(|r| panic!("type with {} non-null types", r.len()));
        m.insert("type".into(), only);
    }
    for k in [
        "$schema",
        "$id",
        "title",
        "default",
        "examples",
        "example",
        "$defs",
        "definitions",
        "readOnly",
        "writeOnly",
    ] {
        m.remove(k);
    }
    if m.get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| !FORMATS.contains(&f))
    {
        m.remove("format");
    }
    assert!(!m.contains_key("$ref"), "unresolved $ref in generated schema");
    if nullable && keep_nullable {
        m.insert("nullable".into(), Value::Bool(true));
    }
    if let Some(Value::Object(props)) = m.remove("properties") {
        let props: Map<String, Value> = props
            .into_iter()
            .map(|(k, v)| (k, structural(v, keep_nullable)))
            .collect();
        m.insert("properties".into(), Value::Object(props));
        m.entry("type").or_insert_with(|| json!("object"));
    }
    for k in ["items", "additionalProperties"] {
        if let Some(v) = m.remove(k) {
            m.insert(
                k.into(),
                if v.is_object() {
                    structural(v, keep_nullable)
                } else {
                    v
                },
            );
        }
    }
    if m.get("required")
        .is_some_and(|r| r.as_array().is_some_and(Vec::is_empty))
    {
        m.remove("required");
    }
    Value::Object(m)
}

/// The node at `path` (`"mirrors"`, `"[]"` for array items, ...), which must exist.
fn at<'a>(schema: &'a mut Value, path: &[&str]) -> &'a mut Value {
    path.iter().fold(schema, |node, seg| {
        let next = if *seg == "[]" {
            node.get_mut("items")
        } else {
            node.get_mut("properties").and_then(|p| p.get_mut(*seg))
        };
        next.unwrap_or_else(|| panic!("no schema node at {path:?} ({seg})"))
    })
}

fn add(node: &mut Value, fields: Vec<(&str, Value)>) {
    let props = node["properties"]
        .as_object_mut()
        .expect("an object node with properties");
    for (k, v) in fields {
        assert!(
            props.insert(k.to_string(), v).is_none(),
            "{k} is modelled already"
        );
    }
}

fn remove(node: &mut Value, fields: &[&str]) {
    for f in fields {
        assert!(
            node["properties"]
                .as_object_mut()
                .and_then(|p| p.remove(*f))
                .is_some(),
            "no field {f} to remove"
        );
    }
    if let Some(req) = node.get_mut("required").and_then(Value::as_array_mut) {
        req.retain(|r| !fields.iter().any(|f| r == f));
    }
}

fn require(node: &mut Value, fields: &[&str]) {
    let req = node
        .as_object_mut()
        .expect("an object node")
        .entry("required")
        .or_insert_with(|| json!([]));
    for f in fields {
        if !req.as_array().unwrap().iter().any(|r| r == f) {
            req.as_array_mut().unwrap().push(json!(f));
        }
    }
}

/// Keeps unknown fields at this node (not below the modelled ones).
fn preserve(node: &mut Value) {
    node[PRESERVE] = json!(true);
}

/// Keeps unknown fields at every object node of this subtree.
fn preserve_all(node: &mut Value) {
    if node.get("type") == Some(&json!("object")) {
        preserve(node);
    }
    if let Some(props) = node.get_mut("properties").and_then(Value::as_object_mut) {
        props.values_mut().for_each(preserve_all);
    }
    if let Some(items) = node.get_mut("items") {
        preserve_all(items);
    }
}

fn string() -> Value {
    json!({"type": "string"})
}
/// A free-form object: an upstream field we do not model.
fn object() -> Value {
    json!({"type": "object", PRESERVE: true})
}

/// The root schema of a custom resource with these `spec` and `status`.
fn root(spec: Value, status: Value) -> Value {
    json!({"openAPIV3Schema": {"type": "object", "properties": {
        "apiVersion": string(), "kind": string(), "metadata": {"type": "object"},
        "spec": spec, "status": status}}})
}

/// KafkaMirrorMaker2 API versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mm2Version {
    V1,
    V1beta2,
}

/// The `spec` schema of a KafkaMirrorMaker2 at `version`.
pub fn mm2_spec_schema(version: Mm2Version) -> Value {
    let v1 = version == Mm2Version::V1;
    let mut spec = schema_of::<Mm2Spec>(false);

    let mut extra = vec![
        ("image", string()),
        ("resources", object()),
        ("livenessProbe", object()),
        ("readinessProbe", object()),
        ("jvmOptions", object()),
        ("jmxOptions", object()),
        ("logging", object()),
        ("clientRackInitImage", string()),
        ("rack", object()),
        ("metricsConfig", object()),
        ("tracing", object()),
        ("template", object()),
    ];
    if !v1 {
        extra.push(("externalConfiguration", object()));
    }
    add(&mut spec, extra);

    // Kafka cluster entries: `target`, `mirrors[].source` and (v1beta2) `clusters[]`.
    let cluster = |node: &mut Value, connect_target: bool| {
        add(node, vec![("tls", object()), ("config", object())]);
        require(node, &["alias", "bootstrapServers"]);
        if connect_target {
            let topics = [
                "groupId",
                "configStorageTopic",
                "statusStorageTopic",
                "offsetStorageTopic",
            ];
            add(node, topics.iter().map(|t| (*t, string())).collect());
            require(node, &topics);
        }
        let auth = at(node, &["authentication"]);
        preserve(auth);
        require(auth, &["type"]);
        require(at(auth, &["passwordSecret"]), &["secretName", "password"]);
    };
    cluster(at(&mut spec, &["target"]), true);
    cluster(at(&mut spec, &["mirrors", "[]", "source"]), false);
    cluster(at(&mut spec, &["clusters", "[]"]), false);

    let mirror = at(&mut spec, &["mirrors", "[]"]);
    let mut extra: Vec<(&str, Value)> = [
        "topicsPattern",
        "topicsExcludePattern",
        "groupsPattern",
        "groupsExcludePattern",
    ]
    .iter()
    .map(|f| (*f, string()))
    .collect();
    if !v1 {
        extra.push(("topicsBlacklistPattern", string()));
        extra.push(("groupsBlacklistPattern", string()));
    }
    add(mirror, extra);
    for c in ["sourceConnector", "checkpointConnector", "heartbeatConnector"] {
        let conn = at(mirror, &[c]);
        add(
            conn,
            vec![
                ("version", string()),
                ("config", object()),
                ("autoRestart", object()),
                ("listOffsets", object()),
                ("alterOffsets", object()),
            ],
        );
        at(conn, &["state"])["enum"] = json!(["paused", "stopped", "running"]);
        at(conn, &["tasksMax"])["minimum"] = json!(1);
        if v1 {
            remove(conn, &["pause"]);
        }
    }

    if v1 {
        remove(mirror, &["sourceCluster", "targetCluster", "heartbeatConnector"]);
        require(mirror, &["source"]);
        remove(&mut spec, &["connectCluster", "clusters"]);
        require(&mut spec, &["replicas", "target", "mirrors"]);
    }
    spec
}

/// The `status` schema of a KafkaMirrorMaker2 (the same at both versions).
pub fn mm2_status_schema() -> Value {
    let mut status = schema_of::<Mm2Status>(false);
    // Free-form upstream: the Kafka Connect REST body, nulls included.
    let mut connector = schema_of::<ConnectorStatus>(true);
    preserve_all(&mut connector);
    *at(&mut status, &["connectors", "[]"]) = connector;
    add(
        &mut status,
        vec![(
            "connectorPlugins",
            json!({"type": "array", "items": {"type": "object", "properties": {
                "class": string(), "type": string(), "version": string()}}}),
        )],
    );
    status
}

/// One served version of a CRD.
pub struct Version {
    pub name: &'static str,
    pub storage: bool,
    /// The `schema` field (`{"openAPIV3Schema": ...}`).
    pub schema: Value,
}

/// A namespaced apiextensions.k8s.io/v1 CustomResourceDefinition, conversion `None`, with the
/// `status` (and optionally Strimzi-style `scale`) subresources.
#[allow(clippy::too_many_arguments)]
pub fn crd(
    group: &str,
    kind: &str,
    plural: &str,
    short: &[&str],
    categories: &[&str],
    versions: Vec<Version>,
    scale: bool,
    columns: Value,
) -> Value {
    let versions: Vec<Value> = versions
        .into_iter()
        .map(|v| {
            let mut sub = json!({"status": {}});
            if scale {
                sub["scale"] = json!({"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
                                      "labelSelectorPath": ".status.labelSelector"});
            }
            let mut out = json!({"name": v.name, "served": true, "storage": v.storage, "subresources": sub,
                                 "schema": v.schema});
            if columns.as_array().is_some_and(|c| !c.is_empty()) {
                out["additionalPrinterColumns"] = columns.clone();
            }
            out
        })
        .collect();
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {"group": group, "scope": "Namespaced", "conversion": {"strategy": "None"},
                 "names": {"kind": kind, "listKind": format!("{kind}List"), "plural": plural,
                           "singular": kind.to_lowercase(), "shortNames": short, "categories": categories},
                 "versions": versions}
    })
}

/// KafkaMirrorMaker2 (Strimzi 0.51 shape): `v1` served, `v1beta2` served and stored, no conversion,
/// `status` and `scale` subresources.
pub fn kafkamirrormaker2() -> Value {
    let version = |name, storage, v| Version {
        name,
        storage,
        schema: root(mm2_spec_schema(v), mm2_status_schema()),
    };
    crd(
        strimzi::GROUP,
        strimzi::MM2_KIND,
        strimzi::MM2_PLURAL,
        &["kmm2"],
        &["strimzi"],
        vec![
            version("v1", false, Mm2Version::V1),
            version("v1beta2", true, Mm2Version::V1beta2),
        ],
        true,
        json!([
            {"name": "Desired replicas", "description": "The desired number of Kafka MirrorMaker 2 replicas",
             "jsonPath": ".spec.replicas", "type": "integer"},
            {"name": "Ready", "description": "The state of the custom resource",
             "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status", "type": "string"}
        ]),
    )
}

/// Both MCS versions (`v1alpha1` served, `v1beta1` stored) with the same schema, as mcs-api v0.5.0.
fn mcs_crd(kind: &str, plural: &str, short: &[&str], spec: Value, status: Value) -> Value {
    let schema = root(spec, status);
    crd(
        mcs::GROUP,
        kind,
        plural,
        short,
        &[],
        vec![
            Version {
                name: "v1alpha1",
                storage: false,
                schema: schema.clone(),
            },
            Version {
                name: "v1beta1",
                storage: true,
                schema,
            },
        ],
        false,
        json!([]),
    )
}

/// A view schema that keeps unknown fields at every object node.
fn open_view<T: JsonSchema>() -> Value {
    let mut s = schema_of::<T>(false);
    preserve_all(&mut s);
    s
}

/// ServiceExport: `spec` free-form, `status.conditions` typed.
pub fn serviceexport() -> Value {
    mcs_crd(
        mcs::EXPORT_KIND,
        mcs::EXPORT_PLURAL,
        &["svcex", "svcexport"],
        object(),
        open_view::<mcs::ServiceExportStatus>(),
    )
}

/// ServiceImport: `spec.type/ports/ips` and `status.clusters/conditions` typed.
pub fn serviceimport() -> Value {
    mcs_crd(
        mcs::IMPORT_KIND,
        mcs::IMPORT_PLURAL,
        &["svcim", "svcimport"],
        open_view::<mcs::ServiceImportSpec>(),
        open_view::<mcs::ServiceImportStatus>(),
    )
}

/// Flux Kustomization `v1`: `suspend`, `path`, `interval`, `sourceRef` and the status we read typed.
pub fn kustomization() -> Value {
    crd(
        flux::GROUP,
        flux::KIND,
        flux::PLURAL,
        &["ks"],
        &["all", "fluxcd", "fluxcd-appliers"],
        vec![Version {
            name: flux::VERSION,
            storage: true,
            schema: root(
                open_view::<flux::KustomizationSpec>(),
                open_view::<flux::KustomizationStatus>(),
            ),
        }],
        false,
        json!([]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks every schema node: typed (or preserving unknown fields), no references or
    /// combinators, only known formats, no defaults or nullables outside free-form nodes.
    fn assert_structural(node: &Value, path: &str) {
        let m = node.as_object().unwrap_or_else(|| panic!("{path}: not a schema"));
        let preserve = m.get(PRESERVE) == Some(&json!(true));
        assert!(m.contains_key("type") || preserve, "{path}: untyped node");
        if let Some(t) = m.get("type") {
            let t = t
                .as_str()
                .unwrap_or_else(|| panic!("{path}: type {t} is not a single type"));
            assert!(
                ["object", "array", "string", "integer", "number", "boolean"].contains(&t),
                "{path}: type {t}"
            );
            if t == "array" {
                assert!(m.contains_key("items"), "{path}: array without items");
            }
        }
        for k in [
            "$ref",
            "$defs",
            "definitions",
            "anyOf",
            "oneOf",
            "allOf",
            "not",
            "default",
            "$schema",
        ] {
            assert!(!m.contains_key(k), "{path}: has {k}");
        }
        if let Some(f) = m.get("format") {
            assert!(FORMATS.contains(&f.as_str().unwrap()), "{path}: format {f}");
        }
        if m.contains_key("nullable") {
            assert!(
                path.contains("status.connectors[]"),
                "{path}: nullable outside a free-form node"
            );
        }
        if let Some(req) = m.get("required") {
            for r in req.as_array().unwrap() {
                assert!(
                    m["properties"].get(r.as_str().unwrap()).is_some(),
                    "{path}: required {r} is not a property"
                );
            }
        }
        for (k, v) in m
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            assert_structural(v, &format!("{path}.{k}"));
        }
        if let Some(items) = m.get("items") {
            assert_structural(items, &format!("{path}[]"));
        }
        if let Some(ap) = m.get("additionalProperties").filter(|a| a.is_object()) {
            assert_structural(ap, &format!("{path}.*"));
        }
    }

    fn version<'a>(crd: &'a Value, name: &str) -> &'a Value {
        crd["spec"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no version {name}"))
    }

    fn spec_at<'a>(crd: &'a Value, name: &str) -> &'a Value {
        &version(crd, name)["schema"]["openAPIV3Schema"]["properties"]["spec"]
    }

    #[test]
    fn generated_crds_are_structural() {
        for crd in [
            kafkamirrormaker2(),
            serviceexport(),
            serviceimport(),
            kustomization(),
        ] {
            let name = crd["metadata"]["name"].as_str().unwrap().to_string();
            for v in crd["spec"]["versions"].as_array().unwrap() {
                let path = format!("{name}/{}", v["name"].as_str().unwrap());
                assert_structural(&v["schema"]["openAPIV3Schema"], &path);
            }
        }
    }

    #[test]
    fn mm2_crd_has_the_upstream_names_versions_and_subresources() {
        let crd = kafkamirrormaker2();
        assert_eq!(crd["metadata"]["name"], "kafkamirrormaker2s.kafka.strimzi.io");
        assert_eq!(crd["spec"]["group"], "kafka.strimzi.io");
        assert_eq!(crd["spec"]["names"]["plural"], "kafkamirrormaker2s");
        assert_eq!(crd["spec"]["names"]["shortNames"], json!(["kmm2"]));
        assert_eq!(crd["spec"]["conversion"]["strategy"], "None");
        for (name, storage) in [("v1", false), ("v1beta2", true)] {
            let v = version(&crd, name);
            assert_eq!(
                (v["served"].clone(), v["storage"].clone()),
                (json!(true), json!(storage))
            );
            assert_eq!(
                v["subresources"]["scale"],
                json!({"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
                       "labelSelectorPath": ".status.labelSelector"})
            );
            assert!(v["subresources"]["status"].is_object());
        }
    }

    #[test]
    fn v1_lacks_the_v1beta2_topology_and_v1beta2_has_it() {
        let crd = kafkamirrormaker2();
        let (v1, v1beta2) = (spec_at(&crd, "v1"), spec_at(&crd, "v1beta2"));
        for f in ["connectCluster", "clusters"] {
            assert!(v1["properties"].get(f).is_none(), "v1 has {f}");
            assert!(v1beta2["properties"].get(f).is_some(), "v1beta2 lacks {f}");
        }
        // Neither the spec nor a mirror keeps unknown fields at v1: old-shape fields are pruned.
        let mirror = &v1["properties"]["mirrors"]["items"];
        assert!(v1.get(PRESERVE).is_none() && mirror.get(PRESERVE).is_none());
        for f in ["sourceCluster", "targetCluster", "heartbeatConnector"] {
            assert!(mirror["properties"].get(f).is_none(), "v1 mirror has {f}");
            assert!(
                v1beta2["properties"]["mirrors"]["items"]["properties"]
                    .get(f)
                    .is_some()
            );
        }
        let conn = &mirror["properties"]["sourceConnector"];
        assert!(conn["properties"].get("pause").is_none() && conn.get(PRESERVE).is_none());
        assert_eq!(
            v1beta2["properties"]["mirrors"]["items"]["properties"]["heartbeatConnector"]["properties"]["pause"]
                ["type"],
            "boolean"
        );
        assert_eq!(v1["required"], json!(["replicas", "target", "mirrors"]));
    }

    #[test]
    fn modelled_fields_are_typed_from_our_views() {
        let crd = kafkamirrormaker2();
        let s = spec_at(&crd, "v1beta2");
        assert_eq!(
            s["properties"]["replicas"],
            json!({"type": "integer", "format": "int32"})
        );
        let auth = &s["properties"]["clusters"]["items"]["properties"]["authentication"];
        assert_eq!(auth[PRESERVE], true);
        assert_eq!(
            auth["properties"]["passwordSecret"]["properties"]["secretName"]["type"],
            "string"
        );
        assert_eq!(
            auth["properties"]["passwordSecret"]["required"],
            json!(["secretName", "password"])
        );
        // Fields of the fixtures we do not model are listed with their upstream types.
        let m = &s["properties"]["mirrors"]["items"]["properties"];
        assert_eq!(m["topicsPattern"]["type"], "string");
        assert_eq!(m["sourceConnector"]["properties"]["config"][PRESERVE], true);
        let status = &version(&crd, "v1beta2")["schema"]["openAPIV3Schema"]["properties"]["status"];
        assert_eq!(status["properties"]["observedGeneration"]["type"], "integer");
        assert_eq!(status["properties"]["connectors"]["items"][PRESERVE], true);
        assert_eq!(
            status["properties"]["connectors"]["items"]["properties"]["tasks"]["items"]["properties"]["worker_id"],
            json!({"type": "string", "nullable": true})
        );
    }

    #[test]
    fn a_v1beta2_runbook_spec_fits_the_v1beta2_schema_but_not_v1() {
        // Every field of a typed runbook spec is a property of the v1beta2 schema.
        fn covered(value: &Value, schema: &Value, path: &str, missing: &mut Vec<String>) {
            if schema.get(PRESERVE) == Some(&json!(true)) && schema.get("properties").is_none() {
                return;
            }
            match value {
                Value::Object(m) => {
                    for (k, v) in m {
                        match schema["properties"].get(k) {
                            Some(s) => covered(v, s, &format!("{path}.{k}"), missing),
                            None if schema.get(PRESERVE) == Some(&json!(true)) => {}
                            None => missing.push(format!("{path}.{k}")),
                        }
                    }
                }
                Value::Array(a) => a
                    .iter()
                    .for_each(|v| covered(v, &schema["items"], &format!("{path}[]"), missing)),
                _ => {}
            }
        }
        let spec: Mm2Spec = serde_json::from_value(json!({
            "version": "4.1.0", "replicas": 2, "connectCluster": "a",
            "clusters": [{"alias": "a", "bootstrapServers": "a:9092",
                          "authentication": {"type": "scram-sha-512", "username": "u",
                                             "passwordSecret": {"secretName": "s", "password": "p"}}}],
            "mirrors": [{"sourceCluster": "a", "targetCluster": "b", "sourceConnector": {"tasksMax": 5, "pause": true},
                         "checkpointConnector": {}, "heartbeatConnector": {"state": "paused"}}]}))
        .unwrap();
        let view = serde_json::to_value(&spec).unwrap();
        let crd = kafkamirrormaker2();
        let mut missing = vec![];
        covered(&view, spec_at(&crd, "v1beta2"), "spec", &mut missing);
        assert!(missing.is_empty(), "pruned at v1beta2: {missing:?}");
        covered(&view, spec_at(&crd, "v1"), "spec", &mut missing);
        for f in [
            "spec.connectCluster",
            "spec.clusters",
            "spec.mirrors[].sourceCluster",
        ] {
            assert!(
                missing.iter().any(|m| m == f),
                "{f} not pruned at v1: {missing:?}"
            );
        }
    }

    #[test]
    fn mcs_and_flux_views_keep_unknown_fields() {
        let imp = serviceimport();
        let spec = spec_at(&imp, "v1alpha1");
        assert_eq!(spec[PRESERVE], true);
        assert_eq!(
            spec["properties"]["ports"]["items"]["properties"]["port"]["type"],
            "integer"
        );
        assert_eq!(spec["properties"]["ports"]["items"][PRESERVE], true);
        let ks = kustomization();
        assert_eq!(spec_at(&ks, "v1")["properties"]["suspend"]["type"], "boolean");
        let exp = serviceexport();
        let status = &version(&exp, "v1beta1")["schema"]["openAPIV3Schema"]["properties"]["status"];
        assert_eq!(status["properties"]["conditions"]["items"][PRESERVE], true);
    }
}
