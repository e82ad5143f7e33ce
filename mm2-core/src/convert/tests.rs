//! `convert` specifications: the runbook's MM2s become the working layout (the test bed's
//! `fixtures::working_mm2`, an independent definition), Strimzi's v1 mapping rule by rule, the
//! upstream examples of 0.48.0 and 1.2.0, refusals, pass-through and idempotence.

use super::*;
use serde_json::json;
use std::path::PathBuf;

fn testdata(rel: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/convert")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).expect("test YAML parses")
}

fn opts(to: Shape, brokers: &[(&str, u32)]) -> Options {
    Options {
        to,
        brokers: brokers.iter().map(|(a, n)| (a.to_string(), *n)).collect(),
        ..Default::default()
    }
}

fn bed_brokers(to: Shape) -> Options {
    opts(to, &[("aws", 1), ("proxmox", 3)])
}

fn one(o: &Outcome) -> &Converted {
    let c: Vec<&Converted> = o.converted().collect();
    assert_eq!(c.len(), 1, "{o:#?}");
    c[0]
}

fn convert(text: &str, o: &Options) -> Outcome {
    convert_text(text, o).expect("conversion succeeds")
}

/// Compare with a golden file; `UPDATE_GOLDEN=1` rewrites it.
fn golden(name: &str, actual: &str) {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/convert/golden")
        .join(name);
    crate::golden::assert_golden(&p, actual);
}

// ------------------------------------------------------------------ the runbook, layout fix

#[test]
fn the_runbook_proxmox_mm2_becomes_the_working_layout_in_aws_v1beta2() {
    for o in [bed_brokers(Shape::V1beta2), opts(Shape::V1beta2, &[])] {
        let out = convert(&testdata("runbook-proxmox.yaml"), &o);
        let c = one(&out);
        assert_eq!(c.action, Action::Moved);
        assert_eq!(c.placement.cluster, "aws");
        assert_eq!(c.name, "mm2-proxmox-to-aws");
        assert_eq!(c.directions, ["proxmox->aws"]);
        assert_eq!(
            c.manifest,
            yaml(&testdata("working-aws.yaml")),
            "brokers {:?}",
            o.brokers
        );
    }
}

#[test]
fn the_runbook_aws_mm2_becomes_the_working_layout_in_proxmox_v1beta2() {
    for o in [bed_brokers(Shape::V1beta2), opts(Shape::V1beta2, &[])] {
        let out = convert(&testdata("runbook-aws.yaml"), &o);
        let c = one(&out);
        assert_eq!(c.placement.cluster, "proxmox");
        assert_eq!(c.manifest, yaml(&testdata("working-proxmox.yaml")));
        // Connect storage in proxmox: 3; mirror topics in proxmox: 3.
        let spec = &c.manifest["spec"];
        assert_eq!(
            spec["clusters"][0]["config"]["config.storage.replication.factor"],
            3
        );
    }
}

#[test]
fn the_runbook_mm2_in_v1_runs_in_aws_with_strimzis_mapping() {
    let out = convert(&testdata("runbook-proxmox.yaml"), &bed_brokers(Shape::V1));
    let c = one(&out);
    let m = &c.manifest;
    assert_eq!(m["apiVersion"], "kafka.strimzi.io/v1");
    assert_eq!(c.api_version, "kafka.strimzi.io/v1");
    let t = &m["spec"]["target"];
    assert_eq!(t["alias"], "aws");
    assert_eq!(
        t["bootstrapServers"],
        "kafka-rciis-prod-kafka-bootstrap.rciis-prod.svc:9092"
    );
    assert_eq!(t["groupId"], "mirrormaker2-cluster");
    assert_eq!(t["configStorageTopic"], "mirrormaker2-cluster-configs");
    assert_eq!(t["offsetStorageTopic"], "mirrormaker2-cluster-offsets");
    assert_eq!(t["statusStorageTopic"], "mirrormaker2-cluster-status");
    assert_eq!(t["authentication"]["passwordSecret"]["secretName"], "mm2-user");
    assert_eq!(t["config"]["offset.storage.replication.factor"], 1);
    let mirror = &m["spec"]["mirrors"][0];
    assert_eq!(mirror["source"]["alias"], "proxmox");
    assert_eq!(
        mirror["source"]["bootstrapServers"],
        "kafka-bootstrap-proxmox.rciis-prod.svc.clusterset.local:9092"
    );
    assert_eq!(
        mirror["source"]["authentication"]["passwordSecret"]["secretName"],
        "mm2-user-proxmox"
    );
    assert!(mirror.get("heartbeatConnector").is_none());
    assert!(mirror.get("sourceCluster").is_none() && mirror.get("targetCluster").is_none());
    assert_eq!(mirror["sourceConnector"]["config"]["replication.factor"], 1);
    for k in ["connectCluster", "clusters"] {
        assert!(m["spec"].get(k).is_none(), "{k} left in v1");
    }
    assert!(
        c.notes.iter().any(|n| n.contains("heartbeatConnector dropped")),
        "{:?}",
        c.notes
    );
    // Exactly the lead's v1 working fixture (tests/src/fixtures/manifests.rs working_mm2_v1): the v1beta2
    // working layout through Strimzi's mapping.
    let mut expected = yaml(&testdata("working-aws.yaml"));
    expected["apiVersion"] = json!("kafka.strimzi.io/v1");
    let spec = expected["spec"].as_object_mut().unwrap();
    let clusters = spec.remove("clusters").unwrap();
    spec.remove("connectCluster");
    let mut target = clusters[0].clone();
    target["groupId"] = json!("mirrormaker2-cluster");
    target["configStorageTopic"] = json!("mirrormaker2-cluster-configs");
    target["offsetStorageTopic"] = json!("mirrormaker2-cluster-offsets");
    target["statusStorageTopic"] = json!("mirrormaker2-cluster-status");
    spec.insert("target".into(), target);
    let mirror = spec["mirrors"][0].as_object_mut().unwrap();
    mirror.remove("sourceCluster");
    mirror.remove("targetCluster");
    mirror.remove("heartbeatConnector");
    mirror.insert("source".into(), clusters[1].clone());
    assert_eq!(*m, expected);
}

#[test]
fn broker_counts_size_every_replication_factor_for_the_target() {
    // A runbook MM2 sized wrongly for its target (3 on a 1-broker aws): --brokers wins.
    let text = testdata("runbook-proxmox.yaml").replace("replication.factor: 1", "replication.factor: 3");
    let c = convert(&text, &bed_brokers(Shape::V1beta2));
    let spec = &one(&c).manifest["spec"];
    assert_eq!(
        spec["clusters"][0]["config"]["status.storage.replication.factor"],
        1
    );
    let m = &spec["mirrors"][0];
    assert_eq!(m["sourceConnector"]["config"]["replication.factor"], 1);
    assert_eq!(
        m["sourceConnector"]["config"]["offset-syncs.topic.replication.factor"],
        1
    );
    assert_eq!(
        m["checkpointConnector"]["config"]["checkpoints.topic.replication.factor"],
        1
    );
    assert_eq!(
        m["heartbeatConnector"]["config"]["heartbeats.topic.replication.factor"],
        1
    );
    // More than 3 brokers: capped at 3.
    let c = convert(
        &testdata("runbook-aws.yaml"),
        &opts(Shape::V1beta2, &[("proxmox", 5)]),
    );
    assert_eq!(
        one(&c).manifest["spec"]["clusters"][0]["config"]["config.storage.replication.factor"],
        3
    );
    // Without broker counts nor a replication.factor to go by: the broker default, said so.
    let text = testdata("runbook-proxmox.yaml").replace("        replication.factor: 1\n", "");
    let c = convert(&text, &opts(Shape::V1beta2, &[]));
    let c = one(&c);
    assert_eq!(
        c.manifest["spec"]["clusters"][0]["config"]["config.storage.replication.factor"],
        -1
    );
    assert!(
        c.notes.iter().any(|n| n.contains("--brokers aws=N")),
        "{:?}",
        c.notes
    );
}

#[test]
fn the_moved_mm2_says_what_it_assumed_and_what_it_needs() {
    let out = convert(&testdata("runbook-proxmox.yaml"), &bed_brokers(Shape::V1));
    let c = one(&out);
    let notes = c.notes.join("\n");
    for want in [
        "moved from proxmox to aws",
        "assumed: aws's Kafka is named kafka-rciis-prod like proxmox's",
        "kubectl clusterset export --kafka kafka-rciis-prod --as kafka-bootstrap-proxmox",
        "Secret mm2-user-aws → mm2-user",
        "Secret mm2-user → mm2-user-proxmox",
        "label environment: proxmox → aws",
    ] {
        assert!(notes.contains(want), "missing {want:?} in\n{notes}");
    }
    assert_eq!(
        c.secrets,
        vec![
            SecretNeed {
                name: "mm2-user".into(),
                of_cluster: "aws".into(),
                peer_copy: false,
                purpose: "password of mm2-user in aws".into(),
                copy_with: None,
            },
            SecretNeed {
                name: "mm2-user-proxmox".into(),
                of_cluster: "proxmox".into(),
                peer_copy: true,
                purpose: "password of mm2-user in proxmox".into(),
                copy_with: Some("kubectl clusterset copy-secret --mm2".into()),
            },
        ]
    );
}

#[test]
fn live_facts_name_the_context_the_kafka_and_the_flux_path() {
    let mut o = bed_brokers(Shape::V1);
    o.contexts.insert("aws".into(), "rciis-aws".into());
    o.kafka_names.insert("aws".into(), "kafka-aws".into());
    o.flux.insert(
        "aws".into(),
        FluxPath {
            kustomization: "kafka".into(),
            namespace: "flux-system".into(),
            path: Some("./flux/apps/aws/kafka".into()),
        },
    );
    o.origin = Some(Origin {
        context: "rciis-proxmox".into(),
        namespace: "rciis-prod".into(),
        name: "mm2-proxmox-to-aws".into(),
        flux: None,
    });
    let out = convert(&testdata("runbook-proxmox.yaml"), &o);
    let c = one(&out);
    assert_eq!(c.placement.context.as_deref(), Some("rciis-aws"));
    assert_eq!(
        c.manifest["spec"]["target"]["bootstrapServers"],
        "kafka-aws-kafka-bootstrap.rciis-prod.svc:9092"
    );
    let h = header(c);
    assert!(
        h.contains("# Cluster: aws (context rciis-aws), namespace rciis-prod"),
        "{h}"
    );
    assert!(
        h.contains("# Flux path: ./flux/apps/aws/kafka (Kustomization flux-system/kafka)"),
        "{h}"
    );
    assert!(
        c.notes
            .iter()
            .any(|n| n
                .contains("delete rciis-prod/mm2-proxmox-to-aws from its Git path (context rciis-proxmox)")),
        "{:?}",
        c.notes
    );
}

#[test]
fn golden_runbook_manifests() {
    for (file, stem) in [
        ("runbook-proxmox.yaml", "proxmox-to-aws"),
        ("runbook-aws.yaml", "aws-to-proxmox"),
    ] {
        for (to, suffix) in [(Shape::V1, "v1"), (Shape::V1beta2, "v1beta2")] {
            let out = convert(&testdata(file), &bed_brokers(to));
            golden(&format!("{stem}.{suffix}.yaml"), &render_yaml(&out));
            golden(&format!("{stem}.{suffix}.notes.txt"), &render_notes(&out));
        }
    }
}

#[test]
fn an_mm2_with_mirrors_into_two_clusters_is_split_per_target() {
    let text = r#"
apiVersion: kafka.strimzi.io/v1beta2
kind: KafkaMirrorMaker2
metadata: {name: hub, namespace: kafka}
spec:
  replicas: 1
  connectCluster: a
  clusters:
  - {alias: a, bootstrapServers: "a-kafka-bootstrap.kafka.svc:9092"}
  - {alias: b, bootstrapServers: "kafka-bootstrap-b.kafka.svc.clusterset.local:9092"}
  - {alias: c, bootstrapServers: "kafka-bootstrap-c.kafka.svc.clusterset.local:9092"}
  mirrors:
  - {sourceCluster: a, targetCluster: b, sourceConnector: {}}
  - {sourceCluster: a, targetCluster: c, sourceConnector: {}}
  - {sourceCluster: b, targetCluster: a, sourceConnector: {}}
"#;
    let out = convert(text, &opts(Shape::V1beta2, &[]));
    let c: Vec<&Converted> = out.converted().collect();
    let names: Vec<(&str, &str, Action)> = c
        .iter()
        .map(|c| (c.name.as_str(), c.placement.cluster.as_str(), c.action))
        .collect();
    assert_eq!(
        names,
        [
            ("hub-to-b", "b", Action::Split),
            ("hub-to-c", "c", Action::Split),
            ("hub", "a", Action::Split)
        ]
    );
    // The part that stays keeps only what it uses.
    let stays = &c[2].manifest["spec"];
    let aliases: Vec<&str> = stays["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["alias"].as_str().unwrap())
        .collect();
    assert_eq!(aliases, ["a", "b"]);
    assert_eq!(
        c[0].manifest["spec"]["clusters"][1]["bootstrapServers"],
        "kafka-bootstrap-a.kafka.svc.clusterset.local:9092"
    );
    assert_eq!(
        c[0].manifest["spec"]["clusters"][0]["bootstrapServers"],
        "a-kafka-bootstrap.kafka.svc:9092"
    );
}

// ------------------------------------------------------------------ Strimzi's v1 mapping

fn mm2_v1beta2(mirror_extra: Value, spec_extra: Value) -> String {
    let mut m = json!({"sourceCluster": "src", "targetCluster": "tgt",
        "sourceConnector": {"tasksMax": 2, "config": {"replication.factor": 1}},
        "checkpointConnector": {"config": {"checkpoints.topic.replication.factor": 1}}});
    for (k, v) in mirror_extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    let mut spec = json!({"version": "4.1.0", "replicas": 1, "connectCluster": "tgt",
        "clusters": [{"alias": "src", "bootstrapServers": "src:9092"},
                     {"alias": "tgt", "bootstrapServers": "tgt:9092",
                      "config": {"group.id": "my-group", "offset.storage.topic": "my-offsets", "key.converter": "x"}}],
        "mirrors": [m]});
    for (k, v) in spec_extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    serde_json::to_string(
        &json!({"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaMirrorMaker2",
        "metadata": {"name": "x"}, "spec": spec}),
    )
    .unwrap()
}

#[test]
fn group_id_and_storage_topics_come_out_of_config_with_strimzis_defaults() {
    let out = convert(&mm2_v1beta2(json!({}), json!({})), &opts(Shape::V1, &[]));
    let c = one(&out);
    assert_eq!(c.action, Action::Reshaped);
    let t = &c.manifest["spec"]["target"];
    assert_eq!(t["groupId"], "my-group");
    assert_eq!(t["offsetStorageTopic"], "my-offsets");
    assert_eq!(t["configStorageTopic"], "mirrormaker2-cluster-configs");
    assert_eq!(t["statusStorageTopic"], "mirrormaker2-cluster-status");
    assert_eq!(t["config"], json!({"key.converter": "x"}));
    // Field order as Strimzi's tool writes it.
    let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "alias",
            "bootstrapServers",
            "groupId",
            "configStorageTopic",
            "statusStorageTopic",
            "offsetStorageTopic",
            "config"
        ]
    );
}

#[test]
fn pause_becomes_state_paused_unless_state_is_set() {
    let text = mm2_v1beta2(
        json!({"sourceConnector": {"pause": true}, "checkpointConnector": {"pause": true, "state": "stopped"}}),
        json!({}),
    );
    let out = convert(&text, &opts(Shape::V1, &[]));
    let m = &one(&out).manifest["spec"]["mirrors"][0];
    assert_eq!(m["sourceConnector"], json!({"state": "paused"}));
    assert_eq!(m["checkpointConnector"], json!({"state": "stopped"}));
    // pause: false just goes.
    let text = mm2_v1beta2(
        json!({"sourceConnector": {"pause": false, "tasksMax": 1}}),
        json!({}),
    );
    let out = convert(&text, &opts(Shape::V1, &[]));
    assert_eq!(
        one(&out).manifest["spec"]["mirrors"][0]["sourceConnector"],
        json!({"tasksMax": 1})
    );
    // --to v1beta2 keeps pause: it is still valid there.
    let text = mm2_v1beta2(json!({"sourceConnector": {"pause": true}}), json!({}));
    let out = convert(&text, &opts(Shape::V1beta2, &[]));
    assert_eq!(
        one(&out).manifest["spec"]["mirrors"][0]["sourceConnector"]["pause"],
        true
    );
    assert_eq!(one(&out).action, Action::Unchanged);
}

#[test]
fn blacklist_patterns_become_exclude_patterns() {
    let text = mm2_v1beta2(
        json!({"topicsBlacklistPattern": "t.*", "groupsBlacklistPattern": "g.*", "groupsExcludePattern": "keep"}),
        json!({}),
    );
    let out = convert(&text, &opts(Shape::V1, &[]));
    let c = one(&out);
    let m = &c.manifest["spec"]["mirrors"][0];
    assert_eq!(m["topicsExcludePattern"], "t.*");
    assert_eq!(m["groupsExcludePattern"], "keep");
    assert!(m.get("topicsBlacklistPattern").is_none() && m.get("groupsBlacklistPattern").is_none());
    assert!(
        c.notes
            .iter()
            .any(|n| n.contains("topicsBlacklistPattern → topicsExcludePattern"))
    );
}

#[test]
fn the_heartbeat_connector_is_dropped_with_the_way_to_keep_heartbeats() {
    let text = mm2_v1beta2(
        json!({"heartbeatConnector": {"config": {"heartbeats.topic.replication.factor": 1}}}),
        json!({}),
    );
    let out = convert(&text, &opts(Shape::V1, &[]));
    let c = one(&out);
    assert!(
        c.manifest["spec"]["mirrors"][0]
            .get("heartbeatConnector")
            .is_none()
    );
    let n = c
        .notes
        .iter()
        .find(|n| n.contains("heartbeatConnector dropped"))
        .expect("note");
    assert!(
        n.contains("KafkaConnector") && n.contains("strimzi.io/use-connector-resources"),
        "{n}"
    );
    assert!(n.contains("heartbeats.topic.replication.factor"), "{n}");
}

#[test]
fn v1_defaults_and_drops_replicas_deployment_template_jaeger() {
    let text = mm2_v1beta2(
        json!({}),
        json!({"replicas": null, "template": {"deployment": {"metadata": {}}, "pod": {"metadata": {"labels": {"a": "b"}}}},
               "tracing": {"type": "jaeger"}}),
    );
    let out = convert(&text, &opts(Shape::V1, &[]));
    let spec = &one(&out).manifest["spec"];
    assert_eq!(spec["replicas"], 3);
    assert_eq!(
        spec["template"],
        json!({"pod": {"metadata": {"labels": {"a": "b"}}}})
    );
    assert!(spec.get("tracing").is_none());
}

#[test]
fn oauth_is_refused_in_v1_with_strimzis_message_and_kept_in_v1beta2() {
    let text = mm2_v1beta2(json!({}), json!({})).replace(
        r#""alias":"src","#,
        r#""alias":"src","authentication":{"type":"oauth","tokenEndpointUri":"https://sso/token"},"#,
    );
    let out = convert(&text, &opts(Shape::V1, &[]));
    assert_eq!(out.converted().count(), 0);
    assert_eq!(out.refusals.len(), 1, "{out:#?}");
    let r = &out.refusals[0];
    assert!(r.reason.starts_with(v1::OAUTH_MESSAGE), "{}", r.reason);
    assert!(r.reason.contains("cluster src"));
    assert!(r.manual_step.contains("type: custom"), "{}", r.manual_step);
    assert_eq!(out.exit_code(), crate::error::exit::REFUSED);
    let out = convert(&text, &opts(Shape::V1beta2, &[]));
    assert!(out.refusals.is_empty());
}

#[test]
fn external_configuration_and_unknown_fields_are_refused() {
    let text = mm2_v1beta2(json!({}), json!({"externalConfiguration": {"env": []}}));
    let out = convert(&text, &opts(Shape::V1, &[]));
    assert_eq!(out.refusals[0].reason, v1::EXTERNAL_CONFIGURATION_MESSAGE);
    let text = mm2_v1beta2(json!({"offsetSyncs": true}), json!({"connectorDefaults": {}}));
    for to in [Shape::V1, Shape::V1beta2] {
        let out = convert(&text, &opts(to, &[]));
        let r = &out.refusals[0];
        assert!(
            r.reason.contains(".spec.connectorDefaults") && r.reason.contains(".spec.mirrors[].offsetSyncs"),
            "{}",
            r.reason
        );
    }
}

#[test]
fn an_mm2_strimzi_rejects_for_another_reason_is_refused_with_its_message() {
    let text = mm2_v1beta2(
        json!({"sourceCluster": "nowhere", "targetCluster": "tgt"}),
        json!({}),
    );
    let out = convert(&text, &opts(Shape::V1, &[]));
    assert!(
        out.refusals[0]
            .reason
            .contains(".spec.mirrors[].sourceCluster is set to an non-existent alias"),
        "{:?}",
        out.refusals
    );
}

// ------------------------------------------------------------------ upstream examples

const EXAMPLES: [&str; 6] = [
    "mirror-maker_kafka-mirror-maker-2-custom-replication-policy.yaml",
    "mirror-maker_kafka-mirror-maker-2-sync-groups.yaml",
    "mirror-maker_kafka-mirror-maker-2-tls.yaml",
    "mirror-maker_kafka-mirror-maker-2.yaml",
    "security_scram-sha-512-auth_mirror-maker-2.yaml",
    "security_tls-auth_mirror-maker-2.yaml",
];

#[test]
fn strimzi_0_48_examples_convert_to_v1_and_keep_their_other_documents() {
    for f in EXAMPLES {
        let text = testdata(&format!("strimzi-0.48.0/{f}"));
        let out = convert(&text, &opts(Shape::V1, &[]));
        assert!(out.refusals.is_empty(), "{f}: {:?}", out.refusals);
        let c = one(&out);
        assert_eq!(c.action, Action::Reshaped, "{f}");
        let t = &c.manifest["spec"]["target"];
        assert_eq!(t["alias"], "cluster-b", "{f}");
        assert_eq!(t["groupId"], "mirrormaker2-cluster", "{f}");
        assert!(c.manifest["spec"]["mirrors"][0]["source"]["bootstrapServers"].is_string());
        // The connect cluster's storage settings stay in config.
        assert_eq!(t["config"]["config.storage.replication.factor"], -1, "{f}");
        // Every other document (Kafka, KafkaNodePool, KafkaUser) passes through byte for byte.
        let others: Vec<&PassThrough> = out
            .documents
            .iter()
            .filter_map(|d| match d {
                Document::PassThrough(p) => Some(p),
                _ => None,
            })
            .collect();
        for p in &others {
            assert!(text.contains(p.text.trim()), "{f}: {:?} changed", p.name);
        }
        let n_docs = split_documents(&text).len();
        assert_eq!(others.len() + 1, n_docs, "{f}");
    }
}

#[test]
fn strimzi_0_48_scram_example_keeps_tls_and_credentials_and_names_the_secrets() {
    let out = convert(
        &testdata("strimzi-0.48.0/security_scram-sha-512-auth_mirror-maker-2.yaml"),
        &opts(Shape::V1, &[]),
    );
    let c = one(&out);
    let t = &c.manifest["spec"]["target"];
    assert_eq!(
        t["authentication"]["passwordSecret"]["secretName"],
        "cluster-b-user"
    );
    assert_eq!(
        t["tls"]["trustedCertificates"][0]["secretName"],
        "cluster-b-cluster-ca-cert"
    );
    let names: Vec<&str> = c.secrets.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cluster-b-user",
            "cluster-b-cluster-ca-cert",
            "cluster-a-user",
            "cluster-a-cluster-ca-cert"
        ]
    );
}

#[test]
fn strimzi_1_2_examples_are_already_v1_and_go_back_to_v1beta2_on_request() {
    for f in EXAMPLES {
        let text = testdata(&format!("strimzi-1.2.0/{f}"));
        let out = convert(&text, &opts(Shape::V1, &[]));
        assert!(out.refusals.is_empty(), "{f}: {:?}", out.refusals);
        assert_eq!(one(&out).action, Action::Unchanged, "{f}");
        let out = convert(&text, &opts(Shape::V1beta2, &[]));
        let c = one(&out);
        assert_eq!(c.action, Action::Reshaped, "{f}");
        let spec = &c.manifest["spec"];
        assert_eq!(spec["connectCluster"], "cluster-b", "{f}");
        assert_eq!(spec["mirrors"][0]["sourceCluster"], "cluster-a");
        assert_eq!(spec["mirrors"][0]["targetCluster"], "cluster-b");
        // And back to v1 gives the example again.
        let back = convert(&render_yaml(&out), &opts(Shape::V1, &[]));
        let orig: Vec<Value> = split_documents(&text)
            .iter()
            .map(|d| yaml(d))
            .filter(|v| v["kind"] == "KafkaMirrorMaker2")
            .collect();
        assert_eq!(one(&back).manifest["spec"], orig[0]["spec"], "{f}");
    }
    let out = convert(
        &testdata("strimzi-1.2.0/mirror-maker_kafka-mirror-maker-2.yaml"),
        &opts(Shape::V1beta2, &[]),
    );
    let cfg = &one(&out).manifest["spec"]["clusters"][0]["config"];
    assert_eq!(cfg["group.id"], "my-mirror-maker-2-group");
    assert_eq!(cfg["config.storage.topic"], "__my-mirror-maker-2-config");
}

// ------------------------------------------------------------------ documents, idempotence

#[test]
fn other_documents_pass_through_untouched_and_in_order() {
    let text = format!(
        "# leading comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep   # odd spacing kept\ndata: {{a: \"1\"}}\n---\n{}---\napiVersion: kafka.strimzi.io/v1beta2\nkind: KafkaUser\nmetadata: {{name: mm2-user}}\n...\n",
        testdata("runbook-proxmox.yaml")
    );
    let out = convert(&text, &opts(Shape::V1, &[]));
    let kinds: Vec<String> = out
        .documents
        .iter()
        .map(|d| match d {
            Document::KafkaMirrorMaker2(c) => format!("MM2 {}", c.name),
            Document::PassThrough(p) => format!("{:?}", p.kind),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "None",
            "Some(\"ConfigMap\")",
            "MM2 mm2-proxmox-to-aws",
            "Some(\"KafkaUser\")"
        ]
    );
    let Document::PassThrough(cm) = &out.documents[1] else {
        panic!()
    };
    assert_eq!(
        cm.text,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep   # odd spacing kept\ndata: {a: \"1\"}\n"
    );
    let rendered = render_yaml(&out);
    assert!(
        rendered.starts_with("# leading comment\n---\napiVersion: v1\nkind: ConfigMap\n"),
        "{rendered}"
    );
}

#[test]
fn converting_the_output_again_changes_nothing() {
    for file in [
        "runbook-proxmox.yaml",
        "runbook-aws.yaml",
        "strimzi-0.48.0/security_tls-auth_mirror-maker-2.yaml",
    ] {
        for to in [Shape::V1, Shape::V1beta2] {
            let first = convert(&testdata(file), &bed_brokers(to));
            let text = render_yaml(&first);
            let second = convert(&text, &bed_brokers(to));
            let m1: Vec<&Value> = first.converted().map(|c| &c.manifest).collect();
            let m2: Vec<&Value> = second.converted().map(|c| &c.manifest).collect();
            assert_eq!(m1, m2, "{file} {to:?}");
            assert!(
                second.converted().all(|c| c.action == Action::Unchanged),
                "{file} {to:?}"
            );
            // Only the header's "moved from" line differs: the layout is fixed now.
            let strip = |s: &str| {
                s.lines()
                    .filter(|l| !l.starts_with("# kubectl mm2 convert"))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            assert_eq!(strip(&text), strip(&render_yaml(&second)), "{file} {to:?}");
        }
    }
}

#[test]
fn live_metadata_is_dropped_from_the_manifest() {
    let mut v = yaml(&testdata("runbook-proxmox.yaml"));
    v["metadata"]["uid"] = json!("abc");
    v["metadata"]["resourceVersion"] = json!("12");
    v["metadata"]["managedFields"] = json!([{"manager": "kustomize-controller"}]);
    v["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"] = json!("kafka");
    v["metadata"]["annotations"] = json!({"kubectl.kubernetes.io/last-applied-configuration": "{}"});
    v["status"] = json!({"observedGeneration": 1});
    let out = convert_values(vec![(String::new(), Some(v))], &bed_brokers(Shape::V1)).unwrap();
    let m = &one(&out).manifest;
    assert_eq!(
        m["metadata"],
        json!({"name": "mm2-proxmox-to-aws", "namespace": "rciis-prod",
               "labels": {"app": "kafka-mirrormaker2", "environment": "aws"}})
    );
    assert!(m.get("status").is_none());
}

#[test]
fn a_conversion_strimzi_would_reject_is_an_error_not_output() {
    let out = convert(&testdata("runbook-proxmox.yaml"), &bed_brokers(Shape::V1));
    let mut c = one(&out).clone();
    c.manifest["spec"]["mirrors"][0]["source"]["alias"] = json!("aws");
    let e = check(&c).unwrap_err().to_string();
    assert!(
        e.starts_with("bug:") && e.contains("aliases must be unique"),
        "{e}"
    );
    let mut c = one(&out).clone();
    c.manifest["spec"]["target"]
        .as_object_mut()
        .unwrap()
        .remove("groupId");
    assert!(
        check(&c)
            .unwrap_err()
            .to_string()
            .contains(".spec.target.groupId")
    );
}

#[test]
fn invalid_yaml_is_an_error_naming_the_document() {
    let e = convert_text("a: 1\n---\nkind: [\n", &opts(Shape::V1, &[])).unwrap_err();
    assert!(e.to_string().starts_with("document 2 is not valid YAML"), "{e}");
}

#[test]
fn brokers_flag_parses() {
    assert_eq!(
        parse_brokers("aws=1, proxmox=3").unwrap(),
        BTreeMap::from([("aws".to_string(), 1), ("proxmox".to_string(), 3)])
    );
    assert!(parse_brokers("aws").is_err());
    assert!(parse_brokers("aws=0").is_err());
}

#[test]
fn objects_read_from_a_cluster_come_out_in_the_runbooks_order() {
    // An API server returns keys sorted; the manifest for Git reads like the runbook's.
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&m[k]))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let from_file = convert(&testdata("runbook-proxmox.yaml"), &bed_brokers(Shape::V1));
    let live = sorted(&yaml(&testdata("runbook-proxmox.yaml")));
    let from_live = convert_values(vec![(String::new(), Some(live))], &bed_brokers(Shape::V1)).unwrap();
    let top = |o: &Outcome| {
        one(o).manifest["spec"]
            .as_object()
            .unwrap()
            .keys()
            .take(4)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(top(&from_live), ["version", "replicas", "target", "mirrors"]);
    let auth = |o: &Outcome| {
        one(o).manifest["spec"]["target"]["authentication"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(auth(&from_live), auth(&from_file));
}

#[test]
fn cluster_data_in_the_header_cannot_drive_the_terminal() {
    let mut o = bed_brokers(Shape::V1);
    o.flux.insert(
        "aws".into(),
        FluxPath {
            kustomization: "kafka".into(),
            namespace: "flux-system".into(),
            path: Some("./flux/\u{1b}[2Japps/aws".into()),
        },
    );
    let text = render_yaml(&convert(&testdata("runbook-proxmox.yaml"), &o));
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("# Flux path: ./flux/^[[2Japps/aws"), "{text}");
}
