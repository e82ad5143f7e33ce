//! Issue 14 on real data: `kubectl mm2 restart` and `kubectl mm2 offsets` against a real
//! MirrorMaker 2 (mm2_e2e::kafka), the simulated operator processing Strimzi 0.51's annotations
//! over real Kafka Connect (tests/src/operator_annotations.rs). Every state, offset and counter
//! asserted here comes from Kafka or Connect themselves; the tests share kafka_real.rs's helpers
//! and its one-at-a-time lock.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use crate::cli::Out;
use crate::kafka_real::{CHECKPOINT, SERIAL, SOURCE, blocking, running, start_real, wait_records};
use crate::restart_offsets::{api, merge, offsets, restart, until};
use kube::api::Api;
use mm2_e2e::bed;
use mm2_e2e::kafka::mm2::{real_pod_ip, worker_log};
use mm2_e2e::kafka::setup::{Mm2Extras, Rules, real_namespace, retire, states, wait_status};
use mm2_e2e::kafka::{rest, tools};
use serde_json::{Value, json};

const RESTART_CONNECTOR: &str = "strimzi.io/restart-connector";
const RESTART_CONNECTOR_TASK: &str = "strimzi.io/restart-connector-task";

async fn annotation(ns: &str, name: &str, key: &str) -> Option<String> {
    let o = api(ns).await.get(name).await.expect("get");
    o.metadata.annotations.and_then(|a| a.get(key).cloned())
}

/// The REST and exporter address of worker 0 of the real MirrorMaker 2.
fn worker0(ns: &str, name: &str) -> Ipv4Addr {
    real_pod_ip("aws", ns, &format!("{name}-mirrormaker2-0")).expect("a real worker")
}

/// Sum of the samples of `name` (any labels) in the worker's real `/metrics` scrape.
async fn worker_metric(ip: Ipv4Addr, name: &str) -> f64 {
    let a = rest::call(
        SocketAddr::from((ip, 9404)),
        "GET",
        "/metrics",
        None,
        Duration::from_secs(10),
    )
    .await
    .expect("scrape the exporter");
    let samples: Vec<f64> = a
        .body
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split(['{', ' ']).next() == Some(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .collect();
    assert!(!samples.is_empty(), "{name} is not in the scrape:\n{}", a.body);
    samples.iter().sum()
}

/// The lines of worker 0's Connect log (Connect's own log, its REST request log included) that
/// contain every one of `needles`.
fn connect_log(ns: &str, name: &str, needles: &[&str]) -> Vec<String> {
    let log = worker_log("aws", ns, name, 0).expect("Kafka started");
    std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .map(str::to_string)
        .collect()
}

/// Connect's REST request log lines (worker 0) of restart calls.
fn restart_requests(ns: &str, name: &str) -> Vec<String> {
    connect_log(ns, name, &["RestServer", "/restart"])
}

/// How many times worker 0 created connector instances and task instances (Connect's `Worker`
/// logs "Creating connector" and "Creating task" for each start, restarts included).
fn starts(ns: &str, name: &str) -> (usize, usize) {
    (
        connect_log(ns, name, &["Worker", "Creating connector"]).len(),
        connect_log(ns, name, &["Worker", "Creating task"]).len(),
    )
}

// ---------------------------------------------------------------- restart

/// A task made to fail for real: the target topic is made compacted, so its broker refuses the
/// copies of the source's keyless records (`InvalidRecordException`, not retriable) and Connect
/// fails the MirrorSourceConnector's task (the connector and the checkpoint connector stay
/// RUNNING). (A `max.message.bytes` below one record is no good fault: Kafka 4.1's producer
/// splits the one-record batch again and again until its network thread overflows its stack, and
/// the task hangs RUNNING.)
///
/// With nothing failed `restart` writes nothing; a bad annotation, paused reconciliation and 0
/// replicas are refused. Once the fault is gone, `restart --failed-only` brings the task back
/// through Strimzi's annotation, and Connect's own view shows that only the failed task was
/// restarted: the operator's call carried `onlyFailed=true` (Connect's request log) and the
/// worker started one task and no connector (its log, and its connector-startup counter in the
/// real exporter). `restart --task 0` goes through the task annotation to Connect's task restart.
#[tokio::test]
async fn real_failed_task_restart_failed_only_brings_it_back_and_leaves_the_rest_alone() {
    let _one = SERIAL.lock().await;
    let ns = "kreal-restart";
    let k = real_namespace(ns).await.expect("namespace");
    blocking(move || tools::produce(k, "proxmox", "payments", 10, 1000))
        .await
        .expect("produce");
    let name = start_real(ns, "payments", Rules::Strimzi, Mm2Extras::default(), 10).await;

    // Nothing failed: says so, exit 0, nothing annotated, no restart reaches Connect.
    let o = restart(ns, &[]);
    assert_eq!(o.code, 0, "{o}");
    assert!(o.stdout.contains("nothing to restart"), "{o}");
    let j = restart(ns, &["-o", "json"]);
    assert_eq!(j.code, 0, "{j}");
    assert_eq!(j.json()["directions"][0]["outcome"], "nothing_to_restart", "{j}");
    for key in [RESTART_CONNECTOR, RESTART_CONNECTOR_TASK] {
        assert_eq!(annotation(ns, &name, key).await, None, "{key} written");
    }
    assert!(restart_requests(ns, &name).is_empty());

    // A badly formatted annotation someone left: the operator (over real Connect now) keeps it
    // and says why in a Warning condition; `restart` refuses to replace it and quotes the warning.
    let bad = format!("{SOURCE}:bogus");
    merge(
        ns,
        &name,
        json!({"metadata": {"annotations": {RESTART_CONNECTOR: bad}}}),
    )
    .await;
    wait_warning(ns, &name, "RestartConnector", "Invalid annotation format").await;
    let b = restart(ns, &[]);
    assert_eq!(b.code, 6, "{b}");
    assert!(b.stderr.contains("Invalid annotation format"), "{b}");
    assert_eq!(annotation(ns, &name, RESTART_CONNECTOR).await, Some(bad));
    merge(
        ns,
        &name,
        json!({"metadata": {"annotations": {RESTART_CONNECTOR: null}}}),
    )
    .await;
    assert!(restart_requests(ns, &name).is_empty(), "nothing reached Connect");

    // The fault.
    blocking(move || tools::topic_config(k, "aws", "proxmox.payments", "cleanup.policy", Some("compact")))
        .await
        .expect("topic config");
    blocking(move || tools::produce(k, "proxmox", "payments", 5, 1000))
        .await
        .expect("produce");
    let failed = wait_status("aws", ns, &name, Duration::from_secs(60), |c| {
        states(c, SOURCE).is_some_and(|(_, t)| t.iter().any(|x| x == "FAILED"))
    })
    .await
    .expect("a FAILED task");
    assert_eq!(
        states(&failed, SOURCE).map(|s| s.0),
        Some("RUNNING".into()),
        "only the task fails: {failed:?}"
    );
    assert_eq!(
        states(&failed, CHECKPOINT).map(|s| s.0),
        Some("RUNNING".into()),
        "{failed:?}"
    );

    // Something is FAILED, but the operator would not process the annotation: refused.
    merge(
        ns,
        &name,
        json!({"metadata": {"annotations": {"strimzi.io/pause-reconciliation": "true"}}}),
    )
    .await;
    let p = restart(ns, &["--failed-only"]);
    assert_eq!(p.code, 6, "{p}");
    assert!(p.stderr.contains("pause-reconciliation=true"), "{p}");
    assert_eq!(annotation(ns, &name, RESTART_CONNECTOR).await, None);
    merge(
        ns,
        &name,
        json!({"metadata": {"annotations": {"strimzi.io/pause-reconciliation": null}}}),
    )
    .await;

    // The fault goes away; the task stays FAILED until restarted.
    blocking(move || tools::topic_config(k, "aws", "proxmox.payments", "cleanup.policy", None))
        .await
        .expect("topic config");
    let ip = worker0(ns, &name);
    let connectors_started = worker_metric(ip, "kafka_connect_worker_connector_startup_attempts_total").await;
    let (connectors_created, tasks_created) = starts(ns, &name);
    let still = task_states(ns, &name).await;
    assert!(still.iter().any(|s| s == "FAILED"), "{still:?}");

    let r = restart(ns, &["--failed-only"]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stdout.contains(
            "strimzi.io/restart-connector=proxmox->aws.MirrorSourceConnector:includeTasks,onlyFailed"
        ),
        "{r}"
    );
    assert!(
        r.stdout
            .contains("Unrecoverable exception from producer send callback"),
        "the real trace's first line says why: {r}"
    );
    assert_eq!(
        annotation(ns, &name, RESTART_CONNECTOR).await,
        None,
        "removed once Connect accepted it"
    );
    let calls = restart_requests(ns, &name);
    assert_eq!(calls.len(), 1, "one restart reached Connect: {calls:#?}");
    assert!(
        calls[0].contains("POST /connectors/proxmox%2D%3Eaws.MirrorSourceConnector/restart?includeTasks=true&onlyFailed=true"),
        "{calls:#?}"
    );
    wait_records("aws", "proxmox.payments", 15, Duration::from_secs(60)).await;
    let c = wait_status("aws", ns, &name, Duration::from_secs(30), running)
        .await
        .expect("running");
    assert!(running(&c));
    assert_eq!(
        worker_metric(ip, "kafka_connect_worker_connector_startup_attempts_total").await,
        connectors_started,
        "no connector was restarted"
    );
    // (The worker's task-startup-attempts-total stays 0 on Kafka 4.1, restarts or not: the
    // worker's log is the witness for tasks.)
    assert_eq!(
        wait_starts(ns, &name, (connectors_created, tasks_created + 1)).await,
        (connectors_created, tasks_created + 1),
        "exactly the failed task was restarted"
    );

    // The task annotation on real Connect: a RUNNING task restarted on request.
    let t = restart(ns, &["--task", "0"]);
    assert_eq!(t.code, 0, "{t}");
    assert!(
        t.stdout
            .contains("strimzi.io/restart-connector-task=proxmox->aws.MirrorSourceConnector:0"),
        "{t}"
    );
    assert_eq!(annotation(ns, &name, RESTART_CONNECTOR_TASK).await, None);
    let calls = restart_requests(ns, &name);
    assert!(
        calls.len() == 2
            && calls[1].contains("POST /connectors/proxmox%2D%3Eaws.MirrorSourceConnector/tasks/0/restart"),
        "{calls:#?}"
    );
    assert_eq!(
        wait_starts(ns, &name, (connectors_created, tasks_created + 2)).await,
        (connectors_created, tasks_created + 2),
        "the task, and only it, started again"
    );

    // No worker runs at 0 replicas, so the operator would not process it: refused.
    merge(ns, &name, json!({"spec": {"replicas": 0}})).await;
    let z = restart(ns, &["--failed-only"]);
    assert_eq!(z.code, 6, "{z}");
    assert!(z.stderr.contains("spec.replicas 0"), "{z}");
    assert_eq!(annotation(ns, &name, RESTART_CONNECTOR).await, None);
    // Its worker JVM is no longer needed.
    retire("aws", ns, &name).await.expect("retire");
}

/// [`starts`] once it equals `want`, or after 15 s (Connect creates a restarted task right after
/// it answered the restart call).
async fn wait_starts(ns: &str, name: &str, want: (usize, usize)) -> (usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = starts(ns, name);
        if now == want || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until the CR's status has the operator's Warning condition `reason` / `message`.
async fn wait_warning(ns: &str, name: &str, reason: &str, message: &str) {
    until(ns, name, &format!("Warning {reason}: {message}"), |o| {
        o.data["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Warning" && c["reason"] == reason && c["message"] == message)
    })
    .await;
}

/// The task states of the MirrorSourceConnector in the CR's status (written from real Connect).
async fn task_states(ns: &str, name: &str) -> Vec<String> {
    let c = mm2_e2e::kafka::setup::status_connectors("aws", ns, name)
        .await
        .expect("status");
    states(&c, SOURCE).map(|s| s.1).unwrap_or_default()
}

// ---------------------------------------------------------------- offsets

/// `(topic, partition, offset)` of a `GET /connectors/<n>/offsets` body, sorted.
fn connect_offsets(body: &Value) -> Vec<(String, i64, i64)> {
    let mut v: Vec<(String, i64, i64)> = body["offsets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["partition"]["topic"].as_str().unwrap_or_default().to_string(),
                e["partition"]["partition"].as_i64().unwrap_or(-1),
                e["offset"]["offset"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    v.sort();
    v
}

/// `(topic, partition, last_replicated_offset)` of `offsets -o json`.
fn reported_offsets(o: &Out) -> Vec<(String, i64, i64)> {
    o.json()["directions"][0]["partitions"]
        .as_array()
        .unwrap_or_else(|| panic!("no partitions: {o}"))
        .iter()
        .map(|p| {
            (
                p["topic"].as_str().unwrap_or_default().to_string(),
                p["partition"].as_i64().unwrap_or(-1),
                p["last_replicated_offset"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

/// The verdict `offsets --group <group>` gives `group`.
fn verdict(o: &Out, group: &str) -> String {
    o.json()["directions"][0]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["group"] == group)
        .and_then(|g| g["verdict"].as_str())
        .unwrap_or("-")
        .to_string()
}

/// Known record counts on a 3-partition topic (the source broker's end offsets are the truth):
/// once replicated, real Connect's offsets are `end - 1` per partition, and `kubectl mm2 offsets`
/// reports exactly those through Strimzi's list operation (the operator's ConfigMap) and through
/// `--live`, which agree. Before any group committed, no checkpoint series exists and the verdict
/// is unknown; once a group commits on the source, the real MirrorCheckpointConnector checkpoints
/// it (its `checkpoint-latency-ms` appears in the real exporter, and the checkpoints topic on
/// `aws` holds them), `offsets --group` calls it checkpointed and a group that never committed
/// "never checkpointed".
#[tokio::test]
async fn real_offsets_match_connect_through_the_operator_and_live_and_see_a_fresh_checkpoint() {
    let _one = SERIAL.lock().await;
    let ns = "kreal-offsets";
    let k = real_namespace(ns).await.expect("namespace");
    blocking(move || tools::create_topic(k, "proxmox", "ledger", 3))
        .await
        .expect("topic");
    // Small batches: the sticky partitioner moves on after each, so every partition gets some.
    blocking(move || tools::produce_with(k, "proxmox", "ledger", 900, 100, &["batch.size=400"]))
        .await
        .expect("produce");
    let ends = blocking(move || tools::end_offsets(k, "proxmox", "ledger"))
        .await
        .expect("end offsets");
    assert_eq!(ends.values().sum::<u64>(), 900);
    assert!(ends.len() == 3 && ends.values().all(|n| *n > 0), "{ends:?}");
    let expected: Vec<(String, i64, i64)> = ends
        .iter()
        .map(|(p, end)| ("ledger".to_string(), i64::from(*p), *end as i64 - 1))
        .collect();

    let extras = Mm2Extras {
        // Connect commits source offsets every minute by default; the test waits one second.
        target_config: json!({"offset.flush.interval.ms": 1000}),
        // Groups are looked up every 10 minutes and checkpointed every minute by default.
        checkpoint_config: json!({"refresh.groups.interval.seconds": 2, "emit.checkpoints.interval.seconds": 1}),
        list_offsets: Some("mm2-offsets".into()),
        ..Default::default()
    };
    let name = start_real(ns, "ledger", Rules::Strimzi, extras, 900).await;

    // Connect's own answer, asked on the worker, once it committed everything.
    let worker = SocketAddr::from((worker0(ns, &name), 8083));
    let path = format!("/connectors/{}/offsets", rest::encode(SOURCE));
    let deadline = Instant::now() + Duration::from_secs(30);
    let connect = loop {
        let a = rest::call(worker, "GET", &path, None, Duration::from_secs(10))
            .await
            .expect("Connect REST");
        let got = connect_offsets(&a.json().expect("json"));
        if got == expected {
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "Connect's offsets {got:?}, the source's ends imply {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };

    // Through Strimzi's list operation: the operator asks Connect and writes the ConfigMap.
    let a = offsets(ns, &["-o", "json"]);
    assert_eq!(a.json()["directions"][0]["via"], "annotation", "{a}");
    assert_eq!(reported_offsets(&a), connect, "{a}");
    assert_eq!(a.code, 0, "every partition caught up: {a}");
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(bed().client("aws").await, ns);
    let cm = cms.get("mm2-offsets").await.expect("the operator's ConfigMap");
    let body = cm.data.unwrap_or_default()["proxmox--aws.MirrorSourceConnector.json"].clone();
    assert!(
        body.contains("\"offsets\" : [ {"),
        "Strimzi's Jackson layout: {body}"
    );
    let written: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(connect_offsets(&written), connect, "{body}");
    for key in ["strimzi.io/connector-offsets", "strimzi.io/mirrormaker-connector"] {
        assert_eq!(annotation(ns, &name, key).await, None, "{key} removed");
    }

    // Through the pod proxy: the same figures.
    let l = offsets(ns, &["-o", "json", "--live"]);
    assert_eq!(l.json()["directions"][0]["via"], "live", "{l}");
    assert_eq!(
        reported_offsets(&l),
        reported_offsets(&a),
        "both paths agree: {l}"
    );
    assert_eq!(l.code, 0, "{l}");

    // A consumer group before it committed anything: no checkpoint series exists at all yet, and
    // a missing series cannot tell "not exported" from "nothing checkpointed": unknown, not ready.
    let g = offsets(ns, &["-o", "json", "--live", "--group", "billing"]);
    assert_eq!(verdict(&g, "billing"), "unknown", "{g}");
    assert!(
        g.stdout
            .contains("no group was checkpointed since the workers started"),
        "{g}"
    );
    assert_eq!(g.code, 3, "{g}");
    blocking(move || tools::commit_group_at_end(k, "proxmox", "billing", "ledger"))
        .await
        .expect("commit");
    let deadline = Instant::now() + Duration::from_secs(60);
    let g = loop {
        let g = offsets(ns, &["-o", "json", "--live", "--group", "billing|audit"]);
        if verdict(&g, "billing") == "checkpointed" {
            break g;
        }
        assert!(Instant::now() < deadline, "billing never checkpointed: {g}");
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    // Now that checkpoints are exported, a group that never committed is known to have none.
    assert_eq!(verdict(&g, "audit"), "never_checkpointed", "{g}");
    assert_eq!(g.code, 3, "audit is not ready: {g}");
    let g = offsets(ns, &["-o", "json", "--live", "--group", "billing"]);
    assert_eq!(verdict(&g, "billing"), "checkpointed", "{g}");
    assert_eq!(g.code, 0, "caught up and checkpointed: {g}");
    let row = &g.json()["directions"][0]["groups"][0];
    assert_eq!(
        row["partitions"], 3,
        "one checkpoint per partition of ledger: {g}"
    );
    // The checkpoints really exist: the checkpoint topic on the target holds them.
    let written = blocking(move || tools::total_records(k, "aws", "proxmox.checkpoints.internal"))
        .await
        .expect("end offsets");
    assert!(written > 0, "no checkpoint record on aws");
    // Its worker JVM is no longer needed.
    retire("aws", ns, &name).await.expect("retire");
}
