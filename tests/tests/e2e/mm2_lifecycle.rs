//! `kubectl mm2 status|pause|resume|scale` against the two real API servers, upstream CRDs and
//! the simulated operator.

use crate::cli::{Out, mm2, run};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use mm2_core::clients::Kubeconfigs;
use mm2_core::error::Error;
use mm2_core::topology::{TopologyRequest, discover};
use mm2_e2e::fixtures::{self, mm2_name};
use mm2_e2e::{DEFAULT_NS, bed, crds};
use serde_json::{Value, json};
use std::time::Duration;

async fn mm2_obj(alias: &str, ns: &str, name: &str, version: &str) -> DynamicObject {
    let client = bed().client(alias).await;
    Api::<DynamicObject>::namespaced_with(client, ns, &crds::mm2(version))
        .get(name)
        .await
        .expect("get mm2")
}

/// A namespace holding the deployment in the layout Strimzi runs (each MM2 in its target
/// cluster: `mm2-proxmox-to-aws` in aws) with clean peer Secret copies, for a test that needs
/// replication running.
async fn fresh(ns: &str) -> fixtures::Runbook {
    fixtures::install_working(bed(), ns)
        .await
        .expect("install the working layout")
}

/// Drop Flux's ownership labels so the object is no longer Flux-managed.
async fn unflux(alias: &str, ns: &str, name: &str) {
    let client = bed().client(alias).await;
    let api = Api::<DynamicObject>::namespaced_with(client, ns, &crds::mm2("v1beta2"));
    let p = json!({"metadata": {"labels": {"kustomize.toolkit.fluxcd.io/name": null, "kustomize.toolkit.fluxcd.io/namespace": null}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(p))
        .await
        .expect("unflux");
}

fn connector_states(o: &DynamicObject) -> Vec<(String, String, Vec<String>)> {
    o.data["status"]["connectors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                c["connector"]["state"].as_str().unwrap_or_default().to_string(),
                c["tasks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| t["state"].as_str().unwrap_or_default().to_string())
                    .collect(),
            )
        })
        .collect()
}

/// Remove the connector `state` fields so two specs can be compared for "nothing else changed".
fn without_states(spec: &Value) -> Value {
    let mut s = spec.clone();
    for m in s["mirrors"].as_array_mut().into_iter().flatten() {
        for k in ["sourceConnector", "checkpointConnector", "heartbeatConnector"] {
            if let Some(c) = m.get_mut(k).and_then(Value::as_object_mut) {
                c.remove("state");
            }
        }
    }
    s
}

fn assert_code(o: &Out, code: i32) {
    assert_eq!(o.code, code, "{o}");
}

// ---------------------------------------------------------------- foundation (issue 3)

#[tokio::test]
async fn zero_config_discovery_finds_both_directions() {
    let b = bed();
    let kc = Kubeconfigs::load(Some(b.kubeconfig())).unwrap();
    let req = TopologyRequest {
        namespace: Some(DEFAULT_NS.into()),
        ..Default::default()
    };
    let topo = discover(&kc, &req, Duration::from_secs(10))
        .await
        .expect("discover");
    assert!(topo.problems.is_empty(), "{:?}", topo.problems);
    let routes: Vec<(String, String, String)> = topo
        .routes
        .iter()
        .map(|r| (r.direction.to_string(), r.context.clone(), r.mm2.clone()))
        .collect();
    assert_eq!(
        routes,
        vec![
            (
                "aws->proxmox".into(),
                "rciis-aws".into(),
                "mm2-aws-to-proxmox".into()
            ),
            (
                "proxmox->aws".into(),
                "rciis-proxmox".into(),
                "mm2-proxmox-to-aws".into()
            ),
        ]
    );
    assert_eq!(topo.context_of("aws"), Some("rciis-aws"));
    assert_eq!(topo.context_of("proxmox"), Some("rciis-proxmox"));
    // The viewer contexts point at the same API servers and are not asked twice.
    assert_eq!(topo.clusters.len(), 2);
}

#[tokio::test]
async fn dead_context_times_out_typed_while_the_other_answers() {
    let b = bed();
    let kc = Kubeconfigs::load(Some(&b.kubeconfig_with_dead_context("aws"))).unwrap();
    let req = TopologyRequest {
        namespace: Some(DEFAULT_NS.into()),
        ..Default::default()
    };
    let t0 = std::time::Instant::now();
    let topo = discover(&kc, &req, Duration::from_secs(2))
        .await
        .expect("discover");
    assert!(
        t0.elapsed() < Duration::from_millis(5000),
        "took {:?}",
        t0.elapsed()
    );
    let p = topo
        .problems
        .iter()
        .find(|p| p.context == "rciis-aws")
        .expect("aws problem");
    assert!(
        matches!(p.error, Error::Timeout { ref context, .. } if context == "rciis-aws"),
        "{:?}",
        p.error
    );
    assert!(
        topo.routes
            .iter()
            .any(|r| r.direction.to_string() == "proxmox->aws")
    );
    // The dead cluster keeps its alias (context named after it) so its direction still shows.
    assert!(
        topo.directions().iter().any(|d| d.to_string() == "aws->proxmox"),
        "{:?}",
        topo.directions()
    );
}

#[tokio::test]
async fn viewer_gets_typed_forbidden_naming_verb_resource_context() {
    let b = bed();
    let kc = Kubeconfigs::load(Some(b.viewer_kubeconfig())).unwrap();
    let cc = kc.connect("rciis-proxmox", Duration::from_secs(5)).await.unwrap();
    let ar = mm2_core::resources::api_resource("", "v1", "Secret", "secrets");
    let err = cc.list(&ar, DEFAULT_NS).await.unwrap_err();
    match &err {
        Error::Forbidden {
            context,
            verb,
            resource,
            namespace,
            ..
        } => {
            assert_eq!(
                (context.as_str(), verb.as_str(), resource.as_str()),
                ("rciis-proxmox", "list", "secrets")
            );
            assert_eq!(namespace.as_deref(), Some(DEFAULT_NS));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.exit_code(), mm2_core::error::exit::FORBIDDEN);
    assert!(
        err.hint()
            .unwrap()
            .contains("kubectl auth can-i list secrets -n rciis-prod --context rciis-proxmox")
    );
}

#[tokio::test]
async fn runbook_mm2_through_our_types_loses_no_field_under_the_crd_schema() {
    // The fixture object is the runbook's manifest; read at the version we pick it must come back
    // whole, and our typed view of it must survive a write/read at that version.
    let b = bed();
    let name = mm2_name("proxmox");
    let stored = mm2_obj("proxmox", DEFAULT_NS, &name, "v1beta2").await;
    let manifest = fixtures::runbook_mm2("proxmox", DEFAULT_NS);
    assert_eq!(
        stored.data["spec"], manifest["spec"],
        "the stored runbook spec differs from the manifest"
    );

    let kc = Kubeconfigs::load(Some(b.kubeconfig())).unwrap();
    let cc = kc.connect("rciis-proxmox", Duration::from_secs(5)).await.unwrap();
    let read = mm2_core::resources::inventory::get_mm2(&cc, DEFAULT_NS, &name)
        .await
        .unwrap();
    assert_eq!(
        read.version, "v1beta2",
        "must read at the version whose schema holds the old shape"
    );
    assert_eq!(read.obj.data["spec"], manifest["spec"]);
    // What a client that picks the preferred version sees: the topology is pruned away.
    let at_v1 = mm2_obj("proxmox", DEFAULT_NS, &name, "v1").await;
    assert!(
        at_v1.data["spec"].get("clusters").is_none() && at_v1.data["spec"].get("connectCluster").is_none()
    );

    // Our typed view, serialized and written as a new object at v1beta2, reads back identical.
    let view = serde_json::to_value(&read.spec).unwrap();
    let ns = "t-types";
    let client = b.client("proxmox").await;
    mm2_e2e::bed::ensure_namespace(&client, ns).await.unwrap();
    let api = Api::<DynamicObject>::namespaced_with(client, ns, &crds::mm2("v1beta2"));
    let obj = json!({"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaMirrorMaker2",
                     "metadata": {"name": "typed", "namespace": ns, "annotations": {"test.mm2.dev/operator": "frozen"}},
                     "spec": view});
    let pp = PatchParams::apply("mm2-e2e").force();
    let written = api
        .patch("typed", &pp, &Patch::Apply(&obj))
        .await
        .expect("apply typed view");
    assert_eq!(
        written.data["spec"], view,
        "a field of our types was pruned by the CRD schema"
    );
    let typed_again = mm2_core::resources::strimzi::Mm2Spec::parse(&written.data["spec"]).unwrap();
    assert_eq!(serde_json::to_value(&typed_again).unwrap(), view);
}

// ---------------------------------------------------------------- status

#[tokio::test]
async fn status_shows_the_runbook_secret_copy_collected_by_the_gc() {
    // rciis-prod holds the runbook's jq copies, which carry an ownerReference to the peer's
    // KafkaUser uid: the garbage collector deletes them, and status must say so.
    let mut seen = None;
    for _ in 0..100 {
        let o = mm2(&["status", "-n", DEFAULT_NS, "-o", "json"]);
        let j = o.json();
        let missing: Vec<String> = j["directions"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|d| d["mm2"]["secrets"].as_array().cloned().unwrap_or_default())
            .filter(|s| s["present"] == false)
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect();
        if missing.len() == 2 {
            seen = Some((o, missing));
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (o, mut missing) = seen.expect("the GC never deleted the runbook's jq copies");
    missing.sort();
    assert_eq!(missing, vec!["mm2-user-aws", "mm2-user-proxmox"]);
    assert_code(&o, 3);
    let t = mm2(&["status", "-n", DEFAULT_NS]);
    assert!(
        t.stdout.contains("mm2-user-aws missing") && t.stdout.contains("copy-secret --mm2"),
        "{t}"
    );
}

#[tokio::test]
async fn status_reports_both_directions_healthy() {
    let ns = "t-status";
    fresh(ns).await;
    let o = mm2(&["status", "-n", ns, "-o", "json"]);
    assert_code(&o, 0);
    let j = o.json();
    assert_eq!(j["schema"], "kubectl-mm2.dev/status/v1");
    assert_eq!(j["verdict"], "healthy");
    let dirs: Vec<&str> = j["directions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["direction"].as_str().unwrap())
        .collect();
    assert_eq!(dirs, vec!["aws->proxmox", "proxmox->aws"]);
    let p2a = &j["directions"][1]["mm2"];
    assert_eq!(p2a["name"], "mm2-proxmox-to-aws");
    assert_eq!(p2a["context"], "rciis-aws");
    assert_eq!(p2a["connect_cluster"], "aws");
    assert_eq!(p2a["api_version"], "kafka.strimzi.io/v1beta2");
    // The working layout: the MM2 runs in aws, reads proxmox through the clusterset name.
    assert_eq!(
        p2a["source_bootstrap"],
        format!("kafka-bootstrap-proxmox.{ns}.svc.clusterset.local:9092")
    );
    assert_eq!(
        p2a["target_bootstrap"],
        format!("kafka-rciis-prod-kafka-bootstrap.{ns}.svc:9092")
    );
    assert!(p2a["rejection"].is_null(), "{p2a}");
    assert_eq!(p2a["replicas"]["desired"], 2);
    assert_eq!(p2a["replicas"]["ready_pods"], 2);
    assert_eq!(p2a["ready"]["status"], "True");
    assert_eq!(p2a["connectors"].as_array().unwrap().len(), 3);
    assert_eq!(p2a["connectors"][0]["name"], "proxmox->aws.MirrorSourceConnector");
    assert_eq!(p2a["connectors"][0]["tasks"].as_array().unwrap().len(), 5);
    assert_eq!(p2a["flux"]["kustomization"], "kafka");
    assert_eq!(p2a["flux"]["ready"], "True");
    let secrets: Vec<(&str, bool)> = p2a["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["present"].as_bool().unwrap()))
        .collect();
    assert!(secrets.contains(&("mm2-user", true)), "{secrets:?}");

    let t = mm2(&["status", "proxmox:aws", "-n", ns, "-v"]);
    assert_code(&t, 0);
    // -v traces every API call with its context, never a body.
    assert!(
        t.stderr
            .contains("I [rciis-proxmox] list kafkamirrormaker2s.kafka.strimzi.io -n t-status: ok in"),
        "{t}"
    );
    assert!(
        t.stderr
            .contains("I [rciis-aws] get secrets t-status/mm2-user: ok in"),
        "{t}"
    );
    assert!(t.stdout.contains("proxmox → aws  healthy"), "{t}");
    assert!(t.stdout.contains("proxmox->aws.MirrorCheckpointConnector"), "{t}");
    assert!(!t.stdout.contains("aws → proxmox"), "{t}");
}

#[tokio::test]
async fn status_with_one_api_server_dead_shows_the_other_in_full_within_timeout() {
    let b = bed();
    let ns = "t-dead";
    fresh(ns).await;
    let kc = b.kubeconfig_with_dead_context("aws");
    let o = run(
        "kubectl-mm2",
        &kc,
        &["status", "-n", ns, "--timeout", "2s", "-o", "json"],
    );
    assert_code(&o, 4);
    assert!(
        o.elapsed < Duration::from_millis(6000),
        "bounded by --timeout, not hung: {o}"
    );
    let j = o.json();
    assert_eq!(j["verdict"], "unreachable");
    // aws runs proxmox->aws (its target); proxmox runs aws->proxmox.
    let p2a = j["directions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["direction"] == "proxmox->aws")
        .expect("the dead cluster's direction is still listed");
    assert_eq!(p2a["verdict"], "unreachable");
    assert_eq!(p2a["error"]["context"], "rciis-aws");
    let a2p = j["directions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["direction"] == "aws->proxmox")
        .unwrap();
    assert_eq!(
        a2p["verdict"], "healthy",
        "the live cluster's direction in full: {a2p:#}"
    );
    assert_eq!(a2p["mm2"]["connectors"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn status_flags_failed_connector_and_live_disagreement() {
    let ns = "t-failed";
    fresh(ns).await;
    let client = bed().client("aws").await;
    let api = Api::<DynamicObject>::namespaced_with(client, ns, &crds::mm2("v1beta2"));
    let p = json!({"metadata": {"annotations": {"test.mm2.dev/fail-connector": "proxmox->aws.MirrorSourceConnector"}}});
    api.patch("mm2-proxmox-to-aws", &PatchParams::default(), &Patch::Merge(p))
        .await
        .unwrap();
    let mut last = None;
    for _ in 0..50 {
        let o = mm2(&["status", "proxmox:aws", "-n", ns, "--live"]);
        if o.code == 3 && o.stdout.contains("simulated failure") {
            last = Some(o);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let o = last.expect("status never showed the FAILED connector");
    assert!(
        o.stdout.contains("simulated failure"),
        "first trace line shown: {o}"
    );
    assert!(
        o.stdout
            .contains("kubectl mm2 restart proxmox:aws --context rciis-aws --connector source"),
        "restart advice: {o}"
    );
    // Pausing a FAILED connector is refused with the way out.
    unflux("aws", ns, "mm2-proxmox-to-aws").await;
    let pz = mm2(&["pause", "proxmox:aws", "-n", ns]);
    assert_code(&pz, 6);
    assert!(
        pz.stderr.contains("FAILED") && pz.stderr.contains("kubectl mm2 restart proxmox:aws"),
        "{pz}"
    );
}

// ---------------------------------------------------------------- pause / resume

#[tokio::test]
async fn pause_waits_for_the_operator_and_is_idempotent_then_resume() {
    let ns = "t-pause";
    fresh(ns).await;
    unflux("aws", ns, "mm2-proxmox-to-aws").await;
    let before = mm2_obj("aws", ns, "mm2-proxmox-to-aws", "v1beta2").await;

    let o = mm2(&["pause", "proxmox->aws", "-n", ns, "--timeout", "30s"]);
    assert_code(&o, 0);
    assert!(o.stderr.contains("reported PAUSED"), "{o}");
    let after = mm2_obj("aws", ns, "mm2-proxmox-to-aws", "v1beta2").await;
    let m = &after.data["spec"]["mirrors"][0];
    for k in ["sourceConnector", "checkpointConnector", "heartbeatConnector"] {
        assert_eq!(m[k]["state"], "paused", "{k}");
    }
    // Nothing but the state fields changed: spec, labels and annotations.
    assert_eq!(without_states(&after.data["spec"]), before.data["spec"]);
    assert_eq!(after.metadata.labels, before.metadata.labels);
    assert_eq!(after.metadata.annotations, before.metadata.annotations);
    for (name, state, tasks) in connector_states(&after) {
        assert_eq!(state, "PAUSED", "{name}");
        assert!(tasks.iter().all(|t| t == "PAUSED"), "{name}: {tasks:?}");
    }
    assert!(
        after
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .any(|m| m.manager.as_deref() == Some("kubectl-mm2"))
    );

    // Second run: no write at all.
    let rv = after.metadata.resource_version.clone();
    let again = mm2(&["pause", "proxmox:aws", "-n", ns]);
    assert_code(&again, 0);
    assert!(
        again.stdout.contains("already paused") && again.stdout.contains("unchanged"),
        "{again}"
    );
    let same = mm2_obj("aws", ns, "mm2-proxmox-to-aws", "v1beta2").await;
    assert_eq!(same.metadata.resource_version, rv);

    let r = mm2(&["resume", "proxmox-to-aws", "-n", ns, "--timeout", "30s"]);
    assert_code(&r, 0);
    let resumed = mm2_obj("aws", ns, "mm2-proxmox-to-aws", "v1beta2").await;
    for (name, state, tasks) in connector_states(&resumed) {
        assert_eq!(state, "RUNNING", "{name}");
        assert!(tasks.iter().all(|t| t == "RUNNING"));
    }
    assert_eq!(without_states(&resumed.data["spec"]), before.data["spec"]);
}

#[tokio::test]
async fn stop_one_connector_without_waiting() {
    let ns = "t-stop";
    fresh(ns).await;
    unflux("proxmox", ns, "mm2-aws-to-proxmox").await;
    let o = mm2(&[
        "pause",
        "aws:proxmox",
        "-n",
        ns,
        "--stop",
        "--connector",
        "source",
        "--wait=false",
    ]);
    assert_code(&o, 0);
    assert!(!o.stderr.contains("reported"), "--wait=false must not wait: {o}");
    let obj = mm2_obj("proxmox", ns, "mm2-aws-to-proxmox", "v1beta2").await;
    let m = &obj.data["spec"]["mirrors"][0];
    assert_eq!(m["sourceConnector"]["state"], "stopped");
    assert!(m["checkpointConnector"].get("state").is_none());
    // Then wait: a stopped connector lists no tasks.
    let w = mm2(&[
        "pause",
        "aws:proxmox",
        "-n",
        ns,
        "--stop",
        "--connector",
        "source",
    ]);
    assert_code(&w, 0);
    let mut ok = false;
    for _ in 0..50 {
        let obj = mm2_obj("proxmox", ns, "mm2-aws-to-proxmox", "v1beta2").await;
        if connector_states(&obj)
            .iter()
            .any(|(n, s, t)| n.ends_with("MirrorSourceConnector") && s == "STOPPED" && t.is_empty())
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ok, "source connector never reported STOPPED");
}

#[tokio::test]
async fn timeout_when_the_operator_does_not_act() {
    let ns = "t-frozen";
    fresh(ns).await;
    unflux("aws", ns, "mm2-proxmox-to-aws").await;
    let client = bed().client("aws").await;
    let api = Api::<DynamicObject>::namespaced_with(client, ns, &crds::mm2("v1beta2"));
    let p = json!({"metadata": {"annotations": {"test.mm2.dev/operator": "frozen"}}});
    api.patch("mm2-proxmox-to-aws", &PatchParams::default(), &Patch::Merge(p))
        .await
        .unwrap();
    let o = mm2(&["pause", "proxmox:aws", "-n", ns, "--timeout", "3s"]);
    assert_code(&o, 5);
    assert!(
        o.stderr.contains("timed out after 3s") && o.stderr.contains("MirrorSourceConnector"),
        "{o}"
    );
}

#[tokio::test]
async fn pause_reconciliation_is_refused_unless_forced() {
    let ns = "t-paused-rec";
    fresh(ns).await;
    unflux("aws", ns, "mm2-proxmox-to-aws").await;
    let client = bed().client("aws").await;
    let api = Api::<DynamicObject>::namespaced_with(client, ns, &crds::mm2("v1beta2"));
    let p = json!({"metadata": {"annotations": {"strimzi.io/pause-reconciliation": "true"}}});
    api.patch("mm2-proxmox-to-aws", &PatchParams::default(), &Patch::Merge(p))
        .await
        .unwrap();
    let rv = api
        .get("mm2-proxmox-to-aws")
        .await
        .unwrap()
        .metadata
        .resource_version;
    let o = mm2(&["pause", "proxmox:aws", "-n", ns]);
    assert_code(&o, 6);
    assert!(o.stderr.contains("pause-reconciliation"), "{o}");
    assert_eq!(
        api.get("mm2-proxmox-to-aws")
            .await
            .unwrap()
            .metadata
            .resource_version,
        rv,
        "nothing written"
    );
    let f = mm2(&["pause", "proxmox:aws", "-n", ns, "--force", "--wait=false"]);
    assert_code(&f, 0);
}

#[tokio::test]
async fn v1_shape_object_pauses_and_resumes_at_v1() {
    let ns = "t-v1";
    let name = fixtures::install_mm2_v1(bed(), ns, "aws").await.expect("v1 mm2");
    let before = mm2_obj("aws", ns, &name, "v1").await;
    let o = mm2(&[
        "pause",
        "proxmox:aws",
        "-n",
        ns,
        "--context",
        "rciis-aws",
        "--timeout",
        "30s",
    ]);
    assert_code(&o, 0);
    let after = mm2_obj("aws", ns, &name, "v1").await;
    assert_eq!(
        after.data["spec"]["mirrors"][0]["sourceConnector"]["state"],
        "paused"
    );
    assert_eq!(
        after.data["spec"]["mirrors"][0]["checkpointConnector"]["state"],
        "paused"
    );
    assert_eq!(
        without_states(&after.data["spec"]),
        before.data["spec"],
        "byte-level: nothing else changed"
    );
    let r = mm2(&[
        "resume",
        "proxmox:aws",
        "-n",
        ns,
        "--context",
        "rciis-aws",
        "--timeout",
        "30s",
    ]);
    assert_code(&r, 0);
    let resumed = mm2_obj("aws", ns, &name, "v1").await;
    assert_eq!(
        resumed.data["spec"]["mirrors"][0]["sourceConnector"]["state"],
        "running"
    );
    assert_eq!(without_states(&resumed.data["spec"]), before.data["spec"]);
}

#[tokio::test]
async fn concurrent_pauses_of_different_connectors_lose_nothing() {
    let ns = "t-concurrent";
    fresh(ns).await;
    unflux("aws", ns, "mm2-proxmox-to-aws").await;
    let before = mm2_obj("aws", ns, "mm2-proxmox-to-aws", "v1beta2").await;
    let kinds = ["source", "checkpoint", "heartbeat"];
    let handles: Vec<_> = kinds
        .iter()
        .map(|k| {
            let k = k.to_string();
            let ns = ns.to_string();
            std::thread::spawn(move || {
                mm2(&[
                    "pause",
                    "proxmox:aws",
                    "-n",
                    &ns,
                    "--connector",
                    &k,
                    "--wait=false",
                ])
            })
        })
        .collect();
    for h in handles {
        let o = h.join().unwrap();
        assert_code(&o, 0);
    }
    let after = mm2_obj("aws", ns, "mm2-proxmox-to-aws", "v1beta2").await;
    for k in ["sourceConnector", "checkpointConnector", "heartbeatConnector"] {
        assert_eq!(after.data["spec"]["mirrors"][0][k]["state"], "paused", "{k} lost");
    }
    assert_eq!(without_states(&after.data["spec"]), before.data["spec"]);
}

// ---------------------------------------------------------------- Flux

#[tokio::test]
async fn flux_managed_mm2_is_refused_by_default_with_three_ways_forward() {
    let ns = "t-flux";
    fresh(ns).await;
    let before = mm2_obj("aws", ns, "mm2-proxmox-to-aws", "v1beta2").await;
    let o = mm2(&["pause", "proxmox:aws", "-n", ns]);
    assert_code(&o, 6);
    for s in [
        "Flux Kustomization flux-system/kafka",
        "--print-patch",
        "--suspend-flux",
        "--force",
        "revert",
    ] {
        assert!(o.stderr.contains(s), "missing {s:?}: {o}");
    }
    let same = mm2_obj("aws", ns, "mm2-proxmox-to-aws", "v1beta2").await;
    assert_eq!(same.metadata.resource_version, before.metadata.resource_version);

    // --print-patch: a manifest change that applies cleanly and does exactly the pause.
    let pp = mm2(&[
        "pause",
        "proxmox:aws",
        "-n",
        ns,
        "--print-patch",
        "--connector",
        "source",
    ]);
    assert_code(&pp, 0);
    let patch: Value = serde_saphyr::from_str(&pp.stdout).expect("YAML patch");
    assert_eq!(patch["kind"], "KafkaMirrorMaker2");
    assert_eq!(patch["spec"]["mirrors"][0]["sourceConnector"]["state"], "paused");
    let client = bed().client("aws").await;
    let api = Api::<DynamicObject>::namespaced_with(client, ns, &crds::mm2("v1beta2"));
    let merge = json!({"spec": patch["spec"].clone()});
    let applied = api
        .patch(
            "mm2-proxmox-to-aws",
            &PatchParams::default(),
            &Patch::Merge(merge),
        )
        .await
        .expect("patch applies");
    assert_eq!(
        applied.data["spec"]["mirrors"][0]["sourceConnector"]["state"],
        "paused"
    );
    assert_eq!(without_states(&applied.data["spec"]), before.data["spec"]);
}

#[tokio::test]
async fn suspend_flux_then_resume_unsuspends_only_what_we_suspended() {
    let ns = "t-suspend";
    fresh(ns).await;
    let client = bed().client("aws").await;
    let ks = Api::<DynamicObject>::namespaced_with(client.clone(), "flux-system", &crds::kustomization());
    // The Kustomization lives in flux-system, shared by tests: point the MM2 at a private one.
    let own = json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "kafka-t-suspend", "namespace": "flux-system"},
        "spec": {"interval": "10m", "path": "./flux/apps/proxmox/kafka", "prune": true,
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}});
    ks.patch(
        "kafka-t-suspend",
        &PatchParams::apply("mm2-e2e").force(),
        &Patch::Apply(&own),
    )
    .await
    .unwrap();
    let mm2api = Api::<DynamicObject>::namespaced_with(client, ns, &crds::mm2("v1beta2"));
    let p = json!({"metadata": {"labels": {"kustomize.toolkit.fluxcd.io/name": "kafka-t-suspend"}}});
    mm2api
        .patch("mm2-proxmox-to-aws", &PatchParams::default(), &Patch::Merge(p))
        .await
        .unwrap();

    let o = mm2(&[
        "pause",
        "proxmox:aws",
        "-n",
        ns,
        "--suspend-flux",
        "--yes",
        "--timeout",
        "30s",
    ]);
    assert_code(&o, 0);
    let k = ks.get("kafka-t-suspend").await.unwrap();
    assert_eq!(k.data["spec"]["suspend"], true);
    let note = k.metadata.annotations.clone().unwrap_or_default();
    assert!(
        note.get("kubectl-mm2.dev/suspended-by")
            .is_some_and(|n| n.contains("pause proxmox->aws")),
        "{note:?}"
    );

    let st = mm2(&["status", "proxmox:aws", "-n", ns, "-o", "json"]);
    assert_eq!(
        st.json()["directions"][0]["mm2"]["flux"]["suspended"],
        true,
        "{st}"
    );

    let r = mm2(&["resume", "proxmox:aws", "-n", ns, "--timeout", "30s"]);
    assert_code(&r, 0);
    assert!(
        r.stderr
            .contains("resumed Flux Kustomization flux-system/kafka-t-suspend"),
        "{r}"
    );
    let k = ks.get("kafka-t-suspend").await.unwrap();
    assert_eq!(k.data["spec"]["suspend"], false);
    assert!(
        !k.metadata
            .annotations
            .unwrap_or_default()
            .contains_key("kubectl-mm2.dev/suspended-by")
    );
}

// ---------------------------------------------------------------- read-only, non-TTY, scale

#[tokio::test]
async fn viewer_pause_is_forbidden_and_writes_nothing() {
    let ns = "t-viewer";
    fresh(ns).await;
    unflux("aws", ns, "mm2-proxmox-to-aws").await;
    let before = mm2_obj("aws", ns, "mm2-proxmox-to-aws", "v1beta2").await;
    let o = run(
        "kubectl-mm2",
        bed().viewer_kubeconfig(),
        &["pause", "proxmox:aws", "-n", ns],
    );
    assert_code(&o, 7);
    assert!(
        o.stderr
            .contains("context rciis-aws: forbidden: user may not patch kafkamirrormaker2s.kafka.strimzi.io"),
        "{o}"
    );
    let after = mm2_obj("aws", ns, "mm2-proxmox-to-aws", "v1beta2").await;
    assert_eq!(after.metadata.resource_version, before.metadata.resource_version);
    // status works read-only.
    let s = run(
        "kubectl-mm2",
        bed().viewer_kubeconfig(),
        &["status", "-n", ns, "-o", "json"],
    );
    assert!(s.code == 0 || s.code == 3, "{s}");
    assert_eq!(s.json()["directions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn non_tty_without_direction_lists_valid_ones() {
    let o = mm2(&["pause", "-n", DEFAULT_NS]);
    assert_code(&o, 2);
    assert!(
        o.stderr.contains("aws->proxmox") && o.stderr.contains("proxmox->aws"),
        "{o}"
    );
    let bad = mm2(&["pause", "proxmx->aws", "-n", DEFAULT_NS]);
    assert_code(&bad, 2);
    assert!(bad.stderr.contains("did you mean proxmox"), "{bad}");
    let trap = mm2(&["pause", "proxmox-", "-n", DEFAULT_NS]);
    assert_code(&trap, 2);
    assert!(
        trap.all().contains("redirect") && trap.stderr.contains("'proxmox->aws'"),
        "{trap}"
    );
}

#[tokio::test]
async fn scale_goes_through_the_subresource_and_waits_for_pods() {
    let ns = "t-scale";
    fresh(ns).await;
    unflux("aws", ns, "mm2-proxmox-to-aws").await;
    let o = mm2(&["scale", "proxmox:aws", "3", "-n", ns, "--timeout", "30s"]);
    assert_code(&o, 0);
    assert!(o.stderr.contains("3/3 workers ready"), "{o}");
    let obj = mm2_obj("aws", ns, "mm2-proxmox-to-aws", "v1beta2").await;
    assert_eq!(obj.data["spec"]["replicas"], 3);
    assert_eq!(obj.data["status"]["replicas"], 3);
    // Only replicas changed (v1.20 does not record /scale writes in managedFields, so the
    // subresource is checked by what changed, not by who).
    let mut spec = obj.data["spec"].clone();
    spec["replicas"] = json!(2);
    assert_eq!(spec, fixtures::working_mm2("aws", ns)["spec"]);
    let again = mm2(&["scale", "proxmox:aws", "3", "-n", ns]);
    assert_code(&again, 0);
    assert!(again.stdout.contains("unchanged"), "{again}");
    let warn = mm2(&["scale", "proxmox:aws", "9", "-n", ns, "--wait=false"]);
    assert_code(&warn, 0);
    assert!(warn.stderr.contains("would sit idle"), "{warn}");
    let zero = mm2(&["scale", "proxmox:aws", "0", "-n", ns]);
    assert_code(&zero, 6);
    assert!(
        zero.stderr.contains("not a pause") && zero.stderr.contains("--yes"),
        "{zero}"
    );
    let tm = mm2(&["scale", "proxmox:aws", "--tasks-max", "10", "-n", ns]);
    assert_code(&tm, 0);
    let obj = mm2_obj("aws", ns, "mm2-proxmox-to-aws", "v1beta2").await;
    assert_eq!(obj.data["spec"]["mirrors"][0]["sourceConnector"]["tasksMax"], 10);
}

/// A namespace with no KafkaMirrorMaker2 in either cluster: not an empty report, an error that
/// names what was asked (every context, the namespace) and what to try next; `lag` says the same
/// with its UNKNOWN exit code.
#[tokio::test]
async fn nothing_found_names_the_contexts_and_namespace_asked() {
    let ns = "e2e-nothing-here";
    for alias in ["aws", "proxmox"] {
        let client = bed().client(alias).await;
        mm2_e2e::bed::ensure_namespace(&client, ns)
            .await
            .expect("namespace");
    }
    let o = mm2(&["status", "-n", ns]);
    assert_code(&o, 1);
    assert!(o.stdout.is_empty(), "{o}");
    for context in ["rciis-aws", "rciis-proxmox"] {
        assert!(
            o.stderr.contains(&format!("{context} (namespace {ns})")),
            "names {context} and the namespace: {o}"
        );
    }
    assert!(
        o.stderr.contains("kubectl get kmm2 -A"),
        "says how to look elsewhere: {o}"
    );
    let l = mm2(&["lag", "-n", ns]);
    assert_code(&l, 3);
    assert!(l.stderr.contains(&format!("rciis-aws (namespace {ns})")), "{l}");
}
