//! `kubectl mm2 restart` and `kubectl mm2 offsets` (issue 14) against the two real API servers,
//! the simulated operator processing Strimzi 0.51's annotations (`operator_annotations.rs`) and the
//! Connect REST double.

use crate::cli::{Out, mm2};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use mm2_e2e::doubles::CONNECT_PORT;
use mm2_e2e::{bed, crds, fixtures};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const SOURCE: &str = "proxmox->aws.MirrorSourceConnector";
const CHECKPOINT: &str = "proxmox->aws.MirrorCheckpointConnector";

fn assert_code(o: &Out, code: i32) {
    assert_eq!(o.code, code, "{o}");
}

pub(crate) async fn api(ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(bed().client("aws").await, ns, &crds::mm2("v1"))
}

/// A v1-shape `mm2-proxmox-to-aws` in aws (1 worker, source tasksMax 2, checkpoint), Ready.
async fn setup(ns: &str) -> String {
    fixtures::install_mm2_v1(bed(), ns, "aws").await.expect("v1 mm2")
}

pub(crate) async fn merge(ns: &str, name: &str, p: Value) {
    api(ns)
        .await
        .patch(name, &PatchParams::default(), &Patch::Merge(p))
        .await
        .expect("patch");
}

/// Poll the object until `f` holds (20 s).
pub(crate) async fn until(
    ns: &str,
    name: &str,
    what: &str,
    f: impl Fn(&DynamicObject) -> bool,
) -> DynamicObject {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let o = api(ns).await.get(name).await.expect("get");
        if f(&o) {
            return o;
        }
        assert!(
            Instant::now() < deadline,
            "never: {what}; last status {}",
            o.data["status"]
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

fn connector<'a>(o: &'a DynamicObject, name: &str) -> Option<&'a Value> {
    o.data["status"]["connectors"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == name)
}

fn state_of(o: &DynamicObject, name: &str) -> String {
    connector(o, name)
        .and_then(|c| c["connector"]["state"].as_str())
        .unwrap_or("-")
        .to_string()
}

fn annotation(o: &DynamicObject, key: &str) -> Option<String> {
    o.metadata.annotations.as_ref().and_then(|a| a.get(key)).cloned()
}

/// POST .../restart requests the Connect doubles of this MM2 received: (decoded path, query).
fn restart_calls(ns: &str, name: &str) -> Vec<(String, String, String)> {
    bed()
        .doubles()
        .requests_of_mm2("aws", ns, name)
        .into_iter()
        .filter(|(_, r)| r.method == "POST" && r.path().contains("/restart"))
        .map(|(_, r)| (r.path(), r.query().to_string(), r.target.clone()))
        .collect()
}

pub(crate) fn restart(ns: &str, extra: &[&str]) -> Out {
    let mut args = vec![
        "restart",
        "proxmox:aws",
        "-n",
        ns,
        "--context",
        "rciis-aws",
        "--timeout",
        "40s",
    ];
    args.extend_from_slice(extra);
    mm2(&args)
}

// ---------------------------------------------------------------- restart

#[tokio::test]
async fn restart_failed_only_restores_the_failed_connector_and_leaves_running_ones_alone() {
    let ns = "t-restart-failed";
    let name = setup(ns).await;
    merge(
        ns,
        &name,
        json!({"metadata": {"annotations": {"test.mm2.dev/fail-connector": SOURCE}}}),
    )
    .await;
    until(ns, &name, "source FAILED", |o| state_of(o, SOURCE) == "FAILED").await;

    let o = restart(ns, &["--failed-only", "-o", "json"]);
    assert_code(&o, 0);
    let j = o.json();
    assert_eq!(j["schema"], "kubectl-mm2.dev/restart/v1");
    let d = &j["directions"][0];
    assert_eq!(d["outcome"], "restarted", "{o}");
    assert_eq!(d["steps"].as_array().unwrap().len(), 1, "{o}");
    assert_eq!(d["steps"][0]["annotation"], "strimzi.io/restart-connector");
    assert_eq!(
        d["steps"][0]["value"],
        format!("{SOURCE}:includeTasks,onlyFailed")
    );
    assert_eq!(d["steps"][0]["result"], "accepted");
    assert_eq!(d["skipped"][0]["connector"], CHECKPOINT);
    assert!(
        o.stderr.contains("the operator took"),
        "human lines on stderr: {o}"
    );

    // The exact REST call the operator made: one restart, of the failed connector only, with
    // onlyFailed so RUNNING instances are left alone; '->' encoded as Strimzi does.
    let calls = restart_calls(ns, &name);
    assert_eq!(
        calls
            .iter()
            .map(|(p, q, _)| (p.as_str(), q.as_str()))
            .collect::<Vec<_>>(),
        vec![(
            "/connectors/proxmox->aws.MirrorSourceConnector/restart",
            "includeTasks=true&onlyFailed=true"
        )],
        "{o}"
    );
    assert!(calls[0].2.contains("%2D%3E"), "{}", calls[0].2);

    let after = api(ns).await.get(&name).await.unwrap();
    assert_eq!(annotation(&after, "strimzi.io/restart-connector"), None);
    assert_eq!(state_of(&after, SOURCE), "RUNNING");
    assert_eq!(state_of(&after, CHECKPOINT), "RUNNING");
    assert!(
        connector(&after, SOURCE).unwrap()["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["state"] == "RUNNING")
    );
}

#[tokio::test]
async fn restart_of_a_failed_task_uses_only_failed_and_status_hints_the_command() {
    let ns = "t-restart-task";
    let name = setup(ns).await;
    merge(
        ns,
        &name,
        json!({"metadata": {"annotations": {"test.mm2.dev/fail-task": format!("{SOURCE}:1")}}}),
    )
    .await;
    until(ns, &name, "task 1 FAILED", |o| {
        connector(o, SOURCE).is_some_and(|c| c["tasks"][1]["state"] == "FAILED")
    })
    .await;
    let st = mm2(&["status", "proxmox:aws", "-n", ns, "--context", "rciis-aws"]);
    assert!(
        st.stdout
            .contains("kubectl mm2 restart proxmox:aws --context rciis-aws --connector source --task 1"),
        "status shows the restart command: {st}"
    );
    let o = restart(ns, &[]);
    assert_code(&o, 0);
    assert!(o.stdout.contains("task 1 FAILED"), "{o}");
    let calls = restart_calls(ns, &name);
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].1, "includeTasks=true&onlyFailed=true");
    let after = api(ns).await.get(&name).await.unwrap();
    assert_eq!(connector(&after, SOURCE).unwrap()["tasks"][1]["state"], "RUNNING");
}

#[tokio::test]
async fn restart_with_nothing_failed_writes_nothing() {
    let ns = "t-restart-noop";
    let name = setup(ns).await;
    let before = api(ns).await.get(&name).await.unwrap();
    let o = restart(ns, &[]);
    assert_code(&o, 0);
    assert!(o.stdout.contains("nothing to restart"), "{o}");
    assert!(o.stdout.contains("unchanged"), "{o}");
    let after = api(ns).await.get(&name).await.unwrap();
    assert_eq!(
        after.metadata.resource_version, before.metadata.resource_version,
        "no write at all"
    );
    assert!(restart_calls(ns, &name).is_empty());
    // -o json: one document, outcome nothing_to_restart.
    let j = restart(ns, &["-o", "json"]);
    assert_code(&j, 0);
    assert_eq!(j.json()["directions"][0]["outcome"], "nothing_to_restart");
}

#[tokio::test]
async fn restart_dry_run_shows_the_annotation_and_writes_nothing() {
    let ns = "t-restart-dry";
    let name = setup(ns).await;
    merge(
        ns,
        &name,
        json!({"metadata": {"annotations": {"test.mm2.dev/fail-connector": SOURCE}}}),
    )
    .await;
    let o = until(ns, &name, "source FAILED", |o| state_of(o, SOURCE) == "FAILED").await;
    let d = restart(ns, &["--dry-run"]);
    assert_code(&d, 0);
    assert!(
        d.stdout
            .contains("would annotate strimzi.io/restart-connector=proxmox->aws.MirrorSourceConnector:includeTasks,onlyFailed"),
        "{d}"
    );
    let after = api(ns).await.get(&name).await.unwrap();
    assert_eq!(annotation(&after, "strimzi.io/restart-connector"), None);
    assert_eq!(after.metadata.resource_version, o.metadata.resource_version);
}

#[tokio::test]
async fn restart_is_refused_while_reconciliation_is_paused_or_scaled_to_zero() {
    let ns = "t-restart-refused";
    let name = setup(ns).await;
    merge(
        ns,
        &name,
        json!({"metadata": {"annotations": {"test.mm2.dev/fail-connector": SOURCE}}}),
    )
    .await;
    until(ns, &name, "source FAILED", |o| state_of(o, SOURCE) == "FAILED").await;
    merge(
        ns,
        &name,
        json!({"metadata": {"annotations": {"strimzi.io/pause-reconciliation": "true"}}}),
    )
    .await;
    let o = restart(ns, &[]);
    assert_code(&o, 6);
    assert!(o.stderr.contains("pause-reconciliation=true"), "{o}");
    assert!(
        o.stderr.contains("strimzi.io/pause-reconciliation-"),
        "way out: {o}"
    );
    let now = api(ns).await.get(&name).await.unwrap();
    assert_eq!(
        annotation(&now, "strimzi.io/restart-connector"),
        None,
        "nothing written"
    );

    merge(
        ns,
        &name,
        json!({"metadata": {"annotations": {"strimzi.io/pause-reconciliation": null}}, "spec": {"replicas": 0}}),
    )
    .await;
    let z = restart(ns, &[]);
    assert_code(&z, 6);
    assert!(z.stderr.contains("spec.replicas 0"), "{z}");
    assert!(
        z.stderr.contains("kubectl mm2 scale proxmox:aws 1"),
        "way out: {z}"
    );
    assert!(restart_calls(ns, &name).is_empty());
}

#[tokio::test]
async fn a_pending_badly_formatted_annotation_is_refused_with_the_operators_warning() {
    let ns = "t-restart-badformat";
    let name = setup(ns).await;
    merge(
        ns,
        &name,
        json!({"metadata": {"annotations": {"strimzi.io/restart-connector": format!("{SOURCE}:bogus")}}}),
    )
    .await;
    until(ns, &name, "Warning Invalid annotation format", |o| {
        o.data["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter().any(|c| {
                c["type"] == "Warning"
                    && c["reason"] == "RestartConnector"
                    && c["message"] == "Invalid annotation format"
            })
        })
    })
    .await;
    let o = restart(ns, &["--connector", "source"]);
    assert_code(&o, 6);
    assert!(o.stderr.contains("already pending"), "{o}");
    assert!(
        o.stderr
            .contains("the operator reports Warning: Invalid annotation format"),
        "{o}"
    );
    assert!(o.stderr.contains("strimzi.io/restart-connector-"), "way out: {o}");
    // The operator never called Connect for it.
    assert!(restart_calls(ns, &name).is_empty());
}

// ---------------------------------------------------------------- offsets

const METRICS: &str = r#"# TYPE kafka_consumer_fetch_manager_records_lag gauge
kafka_consumer_fetch_manager_records_lag{clientid="\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\"",partition="0",topic="orders",} 0.0
kafka_consumer_fetch_manager_records_lag{clientid="\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\"",partition="1",topic="orders",} 3.0
# TYPE kafka_connect_mirror_mirrorcheckpointconnector_checkpoint_latency_ms gauge
kafka_connect_mirror_mirrorcheckpointconnector_checkpoint_latency_ms{group="billing",partition="0",source="proxmox",target="aws",topic="proxmox.orders",} 5.0
"#;

fn offsets_body() -> Value {
    json!({"offsets": [
        {"partition": {"cluster": "proxmox", "partition": 1, "topic": "orders"}, "offset": {"offset": 7}},
        {"partition": {"cluster": "proxmox", "partition": 0, "topic": "orders"}, "offset": {"offset": 41}}
    ]})
}

/// Connect offsets and exporter metrics the doubles serve for this MM2's pods.
fn feed(ns: &str, name: &str, replicas: usize) {
    bed()
        .doubles()
        .set_offsets("aws", ns, name, SOURCE, offsets_body());
    for p in fixtures::mm2_pods(name, replicas) {
        bed().doubles().set_metrics("aws", ns, &p, METRICS);
    }
}

async fn configure_list_offsets(ns: &str, name: &str) {
    // A merge patch replaces the mirrors array: send it whole with the one field added.
    let o = api(ns).await.get(name).await.unwrap();
    let mut mirrors = o.data["spec"]["mirrors"].clone();
    mirrors[0]["sourceConnector"]["listOffsets"] = json!({"toConfigMap": {"name": "mm2-offsets"}});
    merge(ns, name, json!({"spec": {"mirrors": mirrors}})).await;
    until(ns, name, "the operator saw listOffsets", |o| {
        o.data["status"]["observedGeneration"].as_i64() == o.metadata.generation
    })
    .await;
}

pub(crate) fn offsets(ns: &str, extra: &[&str]) -> Out {
    let mut args = vec![
        "offsets",
        "proxmox:aws",
        "-n",
        ns,
        "--context",
        "rciis-aws",
        "--timeout",
        "40s",
    ];
    args.extend_from_slice(extra);
    mm2(&args)
}

fn partitions(j: &Value) -> Vec<(String, i64, Option<i64>, Option<f64>)> {
    j["directions"][0]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["topic"].as_str().unwrap().to_string(),
                p["partition"].as_i64().unwrap(),
                p["last_replicated_offset"].as_i64(),
                p["records_lag"].as_f64(),
            )
        })
        .collect()
}

#[tokio::test]
async fn offsets_through_the_operator_and_live_agree_with_connect() {
    let ns = "t-offsets";
    let name = setup(ns).await;
    feed(ns, &name, 1);
    configure_list_offsets(ns, &name).await;

    let a = offsets(ns, &["-o", "json", "--group", "billing|connect-sink"]);
    assert_code(&a, 3); // orders-1 is 3 records behind
    let ja = a.json();
    assert_eq!(ja["schema"], "kubectl-mm2.dev/offsets/v1");
    assert_eq!(ja["directions"][0]["via"], "annotation", "{a}");
    let expected = vec![
        ("orders".to_string(), 0, Some(41), Some(0.0)),
        ("orders".to_string(), 1, Some(7), Some(3.0)),
    ];
    assert_eq!(partitions(&ja), expected, "{a}");
    assert_eq!(ja["directions"][0]["partitions"][1]["source_end_estimate"], 11);
    // What the operator wrote, where Strimzi writes it; both annotations removed.
    let cm = kube::Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(bed().client("aws").await, ns)
        .get("mm2-offsets")
        .await
        .expect("offsets ConfigMap");
    let text = cm.data.unwrap()["proxmox--aws.MirrorSourceConnector.json"].clone();
    assert!(text.contains("\"offsets\" : [ {"), "Jackson layout: {text}");
    let o = api(ns).await.get(&name).await.unwrap();
    assert_eq!(annotation(&o, "strimzi.io/connector-offsets"), None);
    assert_eq!(annotation(&o, "strimzi.io/mirrormaker-connector"), None);
    let groups = &ja["directions"][0]["groups"];
    assert_eq!(groups[0]["group"], "billing");
    assert_eq!(groups[0]["verdict"], "checkpointed");
    assert_eq!(groups[1]["group"], "connect-sink");
    assert_eq!(groups[1]["verdict"], "excluded");
    assert_eq!(ja["directions"][0]["sync_group_offsets_enabled"], true);

    let l = offsets(ns, &["-o", "json", "--live"]);
    assert_code(&l, 3);
    let jl = l.json();
    assert_eq!(jl["directions"][0]["via"], "live", "{l}");
    assert_eq!(partitions(&jl), partitions(&ja), "both paths agree");

    // Table form: both witnesses side by side, and what cannot be known.
    let t = offsets(ns, &["--live"]);
    assert!(t.stdout.contains("REPLICATED-OFFSET"), "{t}");
    assert!(t.stdout.contains("checkpoints.internal"), "{t}");
}

#[tokio::test]
async fn offsets_without_list_offsets_says_so_and_prints_the_patch() {
    let ns = "t-offsets-nolist";
    let name = setup(ns).await;
    feed(ns, &name, 1);
    let before = api(ns).await.get(&name).await.unwrap();
    let o = offsets(ns, &[]);
    assert_code(&o, 3);
    assert!(o.stdout.contains("listOffsets is not configured"), "{o}");
    assert!(o.stdout.contains("--print-patch"), "{o}");
    let p = offsets(ns, &["--print-patch"]);
    assert_code(&p, 0);
    assert!(p.stdout.contains("listOffsets:"), "{p}");
    assert!(p.stdout.contains("name: mm2-proxmox-to-aws-offsets"), "{p}");
    assert!(p.stdout.contains("kind: KafkaMirrorMaker2"), "{p}");
    let after = api(ns).await.get(&name).await.unwrap();
    assert_eq!(
        after.metadata.resource_version, before.metadata.resource_version,
        "read-only"
    );
}

#[tokio::test]
async fn offsets_live_refused_falls_back_to_the_operator() {
    let ns = "t-offsets-refused";
    let name = setup(ns).await;
    merge(ns, &name, json!({"spec": {"replicas": 2}})).await;
    fixtures::wait_mm2_ready(bed(), "aws", ns, &name, Duration::from_secs(30))
        .await
        .expect("2 workers");
    feed(ns, &name, 2);
    configure_list_offsets(ns, &name).await;
    assert!(
        bed()
            .doubles()
            .refuse_port("aws", ns, &format!("{name}-mirrormaker2-0"), CONNECT_PORT)
    );
    let o = offsets(ns, &["-o", "json", "--live"]);
    assert_code(&o, 3);
    let j = o.json();
    assert_eq!(j["directions"][0]["via"], "annotation", "{o}");
    let notes = j["directions"][0]["notes"].to_string();
    assert!(notes.contains("refused"), "{o}");
    assert!(notes.contains("NetworkPolicy"), "{o}");
    assert_eq!(partitions(&j)[0].2, Some(41));
}

#[tokio::test]
async fn a_restart_that_does_not_cure_reports_what_is_still_failed() {
    let ns = "t-restart-persistent";
    let name = setup(ns).await;
    merge(
        ns,
        &name,
        json!({"metadata": {"annotations": {"test.mm2.dev/fail-connector": SOURCE, "test.mm2.dev/fail-persistent": "true"}}}),
    )
    .await;
    until(ns, &name, "source FAILED", |o| state_of(o, SOURCE) == "FAILED").await;
    let o = mm2(&[
        "restart",
        "proxmox:aws",
        "-n",
        ns,
        "--context",
        "rciis-aws",
        "--timeout",
        "6s",
        "-o",
        "json",
    ]);
    assert_code(&o, 5);
    let d = &o.json()["directions"][0];
    assert_eq!(d["outcome"], "incomplete", "{o}");
    assert_eq!(d["steps"][0]["result"], "accepted", "Connect took it: {o}");
    assert_eq!(d["not_running"][0]["connector"], SOURCE);
    assert_eq!(d["not_running"][0]["state"], "FAILED");
    assert_eq!(
        d["not_running"][0]["trace"],
        "org.apache.kafka.connect.errors.ConnectException: simulated failure"
    );
    assert!(
        o.stderr
            .contains("still FAILED: org.apache.kafka.connect.errors.ConnectException"),
        "{o}"
    );
}

#[tokio::test]
async fn connect_refusing_the_restart_leaves_it_pending_and_surfaces_the_operators_warning() {
    let ns = "t-restart-409";
    let name = setup(ns).await;
    merge(
        ns,
        &name,
        json!({"metadata": {"annotations": {"test.mm2.dev/fail-connector": SOURCE}}}),
    )
    .await;
    until(ns, &name, "source FAILED", |o| state_of(o, SOURCE) == "FAILED").await;
    // Connect answers 409 (a rebalance is in progress) to the exact call Strimzi makes.
    let pod = mm2_e2e::doubles::PodKey::new("aws", ns, &format!("{name}-mirrormaker2-0"));
    bed().doubles().set_route(
        &pod,
        CONNECT_PORT,
        "POST",
        "/connectors/proxmox%2D%3Eaws.MirrorSourceConnector/restart?includeTasks=true&onlyFailed=true",
        mm2_e2e::HttpResponse::json(409, &json!({"error_code": 409, "message": "Cannot complete request momentarily due to stale configuration (typically caused by a concurrent config change)"})),
    );
    let o = mm2(&[
        "restart",
        "proxmox:aws",
        "-n",
        ns,
        "--context",
        "rciis-aws",
        "--timeout",
        "6s",
        "-o",
        "json",
    ]);
    assert_code(&o, 5);
    let d = &o.json()["directions"][0];
    assert_eq!(d["steps"][0]["result"], "pending", "{o}");
    let warnings = d["steps"][0]["warnings"].to_string();
    assert!(
        warnings.contains(
            "Failed to restart connector proxmox->aws.MirrorSourceConnector. Unexpected status code 409"
        ),
        "{o}"
    );
    assert!(o.stderr.contains("still pending at the deadline"), "{o}");
    assert!(o.stderr.contains("strimzi.io/restart-connector-"), "way out: {o}");
    let still = api(ns).await.get(&name).await.unwrap();
    assert_eq!(
        annotation(&still, "strimzi.io/restart-connector").as_deref(),
        Some("proxmox->aws.MirrorSourceConnector:includeTasks,onlyFailed"),
        "the operator keeps it and retries"
    );
}

#[tokio::test]
async fn on_a_terminal_restart_shows_a_spinner_naming_the_connector() {
    let ns = "t-restart-tty";
    let name = setup(ns).await;
    merge(
        ns,
        &name,
        json!({"metadata": {"annotations": {"test.mm2.dev/fail-connector": SOURCE}}}),
    )
    .await;
    until(ns, &name, "source FAILED", |o| state_of(o, SOURCE) == "FAILED").await;
    let mut cmd = std::process::Command::new(mm2_e2e::product_bin("kubectl-mm2"));
    cmd.args([
        "restart",
        "proxmox:aws",
        "-n",
        ns,
        "--context",
        "rciis-aws",
        "--timeout",
        "40s",
    ])
    .env("KUBECONFIG", bed().kubeconfig())
    .env("NO_COLOR", "1")
    .env("TERM", "xterm")
    .env_remove("CI");
    let mut p = rexpect::session::spawn_command(cmd, Some(40_000)).expect("spawn on a pty");
    // The spinner's message names the direction, then the annotation being waited for.
    p.exp_string("restart proxmox->aws").expect("spinner");
    p.exp_string("the operator took strimzi.io/restart-connector=proxmox->aws.MirrorSourceConnector")
        .expect("result line");
    p.exp_string("restarted, RUNNING").expect("final line");
    p.exp_eof().unwrap();
}

#[tokio::test]
async fn offsets_dry_run_writes_no_annotation_and_yaml_is_one_document() {
    let ns = "t-offsets-dry";
    let name = setup(ns).await;
    feed(ns, &name, 1);
    configure_list_offsets(ns, &name).await;
    let before = api(ns).await.get(&name).await.unwrap();
    let d = offsets(ns, &["--dry-run", "-o", "yaml"]);
    assert_code(&d, 3);
    let after = api(ns).await.get(&name).await.unwrap();
    assert_eq!(
        after.metadata.resource_version, before.metadata.resource_version,
        "no write"
    );
    let y: Value =
        serde_saphyr::from_str(&d.stdout).unwrap_or_else(|e| panic!("one YAML document: {e}\n{d}"));
    assert_eq!(y["schema"], "kubectl-mm2.dev/offsets/v1");
    assert!(y["directions"][0]["via"].is_null(), "no ConfigMap yet: {d}");
    assert!(
        d.stderr.contains("dry run: no annotation written"),
        "notes on stderr: {d}"
    );
    // Once the operator has listed them, a dry run shows the existing entry.
    assert_code(&offsets(ns, &["-o", "json"]), 3);
    let again = offsets(ns, &["--dry-run", "-o", "json"]);
    assert_eq!(
        again.json()["directions"][0]["via"],
        "existing_config_map",
        "{again}"
    );
    assert_eq!(partitions(&again.json())[0].2, Some(41));
}
