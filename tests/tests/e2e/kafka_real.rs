//! The product against real data: Kafka 4.1 brokers, MirrorMaker 2 on real Kafka Connect and the
//! real JMX exporter agent 1.5.0 (mm2_e2e::kafka), each on the working layout (the MM2 of
//! `proxmox->aws` runs in `aws`). Every figure and state asserted here comes from Kafka itself.
//!
//! Faults that cannot be induced in bounded time on a real MirrorMaker 2 stay with the doubles
//! (lag.rs, mm2_lifecycle.rs): e.g. a FAILED connector trace with a chosen text, or 1,000
//! partitions.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::cli::{Out, mm2, run};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams};
use mm2_e2e::bed;
use mm2_e2e::kafka::mm2::real_pod_ip;
use mm2_e2e::kafka::setup::{Mm2Extras, Rules, real_mm2_with, real_namespace, retire, states, wait_status};
use mm2_e2e::kafka::{rest, tools};
use serde_json::{Value, json};

pub(crate) const SOURCE: &str = "proxmox->aws.MirrorSourceConnector";
pub(crate) const CHECKPOINT: &str = "proxmox->aws.MirrorCheckpointConnector";

/// Real Kafka tests share two brokers and a 2-core machine: one at a time.
pub(crate) static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub(crate) fn running(c: &[Value]) -> bool {
    states(c, SOURCE)
        .is_some_and(|(s, t)| s == "RUNNING" && !t.is_empty() && t.iter().all(|x| x == "RUNNING"))
        && states(c, CHECKPOINT).is_some_and(|(s, _)| s == "RUNNING")
}

/// Blocking Kafka tools off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

/// Waits until `topic` on `alias` holds `n` records.
pub(crate) async fn wait_records(alias: &str, topic: &str, n: u64, timeout: Duration) {
    let k = mm2_e2e::kafka::kafka();
    let deadline = Instant::now() + timeout;
    loop {
        let (a, t) = (alias.to_string(), topic.to_string());
        let have = blocking(move || tools::total_records(k, &a, &t))
            .await
            .unwrap_or(0);
        if have >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{alias}: {topic} has {have} of {n} records after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Creates the real MirrorMaker 2 of `proxmox->aws` in `ns` mirroring `topic`, and waits until its
/// connectors are RUNNING and the `copied` records already on the source are on `aws`.
pub(crate) async fn start_real(
    ns: &str,
    topic: &str,
    rules: Rules,
    extras: Mm2Extras,
    copied: u64,
) -> String {
    let name = real_mm2_with(ns, "proxmox", topic, rules, extras)
        .await
        .expect("mm2");
    wait_status("aws", ns, &name, Duration::from_secs(120), running)
        .await
        .expect("running");
    wait_records(
        "aws",
        &format!("proxmox.{topic}"),
        copied,
        Duration::from_secs(60),
    )
    .await;
    name
}

/// Produce 20,000 records while `proxmox->aws` is paused, resume under a broker fetch quota so
/// the catch-up lasts a few seconds: `lag` reads the real exporter through the pod proxy and
/// is within 5 % of the truth (source end offset minus the records already on `aws`, measured
/// just before and just after), exits 1 past 10,000; `lag --watch --until-caught-up` then shows
/// the figure falling to 0 and ends with exit 0 (issue 11).
#[tokio::test]
async fn real_lag_counts_the_backlog_and_drains_to_zero() {
    let _one = SERIAL.lock().await;
    let ns = "kreal-lag";
    let k = real_namespace(ns).await.expect("namespace");
    blocking(move || tools::produce(k, "proxmox", "orders", 100, 100))
        .await
        .expect("produce");
    // Small fetches, so that the broker's quota paces the copy instead of one 1 MiB fetch.
    let small = json!({"consumer.fetch.max.bytes": 16384, "consumer.max.partition.fetch.bytes": 16384});
    let name = start_real(
        ns,
        "orders",
        Rules::Strimzi,
        Mm2Extras {
            source_config: small,
            ..Default::default()
        },
        100,
    )
    .await;

    let p = mm2(&["pause", "proxmox->aws", "-n", ns, "--timeout", "60s"]);
    assert_eq!(p.code, 0, "{p}");
    let c = crate::kafka_real::status_after_pause(ns, &name).await;
    assert_eq!(states(&c, SOURCE).map(|s| s.0), Some("PAUSED".to_string()));
    blocking(move || tools::produce(k, "proxmox", "orders", 20_000, 100))
        .await
        .expect("produce");
    let source_end = blocking(move || tools::total_records(k, "proxmox", "orders"))
        .await
        .expect("offsets");
    assert_eq!(source_end, 20_100);
    blocking(move || tools::consumer_quota(k, "proxmox", "mm2-user", Some(100_000)))
        .await
        .expect("quota");
    let r = mm2(&["resume", "proxmox->aws", "-n", ns, "--timeout", "60s"]);
    assert_eq!(r.code, 0, "{r}");

    // The first figure can predate the first fetch after resuming; take the first that moved.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (before, seen, after, out) = loop {
        let before = blocking(move || tools::total_records(k, "aws", "proxmox.orders"))
            .await
            .expect("offsets");
        let o = mm2(&["lag", "proxmox->aws", "-n", ns, "-o", "json"]);
        let after = blocking(move || tools::total_records(k, "aws", "proxmox.orders"))
            .await
            .expect("offsets");
        let seen = o.json()["directions"][0]["evaluation"]["records_behind"].as_f64();
        if let Some(s) = seen
            && s > 0.0
        {
            break (before, s, after, o);
        }
        assert!(Instant::now() < deadline, "lag never saw the backlog: {o}");
    };
    let truth_before = (source_end - before) as f64;
    let truth_after = (source_end - after) as f64;
    assert!(
        seen >= truth_after * 0.95 && seen <= truth_before * 1.05,
        "lag says {seen} records behind; the brokers say between {truth_after} and {truth_before}\n{out}"
    );
    if truth_after > 10_000.0 {
        assert_eq!(out.code, 1, "over 10,000 records behind is WARNING: {out}");
        assert_eq!(out.json()["severity"], "warning", "{out}");
    }
    let part = &out.json()["directions"][0]["lag"]["partitions"][0];
    assert_eq!(
        (part["topic"].as_str(), part["remote_topic"].as_str()),
        (Some("orders"), Some("proxmox.orders"))
    );

    // Issue 11: `lag --watch` over a catch-up, paced by the quota, ended by `--until-caught-up`
    // once the figure is 0. What is left of the first backlog may already be gone on a busy
    // machine, so a second batch (20,000 records, about 20 s at the quota) starts the watch on a
    // backlog it must see fall.
    blocking(move || tools::produce(k, "proxmox", "orders", 20_000, 100))
        .await
        .expect("produce");
    let watch = [
        "lag",
        "proxmox->aws",
        "-n",
        ns,
        "--watch",
        "1s",
        "--until-caught-up",
        "-o",
        "json",
    ];
    let w = blocking(move || run_bounded(&watch, Duration::from_secs(120))).await;
    assert_eq!(w.code, 0, "caught up is OK: {w}");
    let figures: Vec<f64> = serde_json::Deserializer::from_str(&w.stdout)
        .into_iter::<Value>()
        .map(|d| {
            d.expect("one JSON document per refresh")["directions"][0]["evaluation"]["records_behind"]
                .as_f64()
                .unwrap_or(f64::NAN)
        })
        .collect();
    assert!(
        figures.len() >= 2 && figures.iter().any(|f| *f > 0.0),
        "the watch saw the backlog: {figures:?}\n{w}"
    );
    assert_eq!(figures.last(), Some(&0.0), "{figures:?}");
    // records-lag is sampled at each fetch, and the quota delays fetches: the first refreshes can
    // still show a figure from before the second batch (seen: 10,469 four times, then 30,173).
    // Once a fetch has seen the final end offset (nothing is produced meanwhile), the figure only
    // falls, or holds between two fetches.
    let peak = figures
        .iter()
        .enumerate()
        .fold(0, |best, (i, f)| if *f > figures[best] { i } else { best });
    assert!(figures[peak] > 0.0, "{figures:?}");
    assert!(
        figures[peak..].windows(2).all(|p| p[1] <= p[0]),
        "falling after the peak: {figures:?}"
    );
    // The brokers agree that everything arrived.
    wait_records("aws", "proxmox.orders", 40_100, Duration::from_secs(30)).await;
    blocking(move || tools::consumer_quota(k, "proxmox", "mm2-user", None))
        .await
        .expect("quota off");
    // Its worker JVM is no longer needed.
    retire("aws", ns, &name).await.expect("retire");
}

/// `kubectl-mm2 ARGS` like [`mm2`], killed after `limit` (for `--watch`, which runs until told to
/// stop); a killed run has code -1.
pub(crate) fn run_bounded(args: &[&str], limit: Duration) -> Out {
    use std::io::Read as _;
    use std::process::{Command, Stdio};
    let start = Instant::now();
    let mut child = Command::new(mm2_e2e::product_bin("kubectl-mm2"))
        .args(args)
        .env("KUBECONFIG", bed().kubeconfig())
        .env("NO_COLOR", "1")
        .env("XDG_CONFIG_HOME", "/nonexistent-config")
        .env_remove("MM2_CLUSTERSET_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl-mm2");
    // Drain both pipes while it runs, so a long watch never blocks on a full pipe.
    let drain = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let code = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st.code().unwrap_or(-1);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break -1;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Out {
        code,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        elapsed: start.elapsed(),
    }
}

/// After `pause`, the CR's status (written from Connect) once it shows PAUSED.
async fn status_after_pause(ns: &str, name: &str) -> Vec<Value> {
    wait_status("aws", ns, name, Duration::from_secs(30), |c| {
        states(c, SOURCE).is_some_and(|(s, t)| s == "PAUSED" && t.iter().all(|x| x == "PAUSED"))
    })
    .await
    .expect("paused")
}

/// The runbook's own rules on a real worker: no MirrorSourceConnector series (the pattern lacks
/// `source=`), no consumer lag, no task totals — `lag` says exactly that and exits UNKNOWN.
#[tokio::test]
async fn runbook_rules_on_a_real_worker_export_no_lag_figure() {
    let _one = SERIAL.lock().await;
    let ns = "kreal-runbook";
    let k = real_namespace(ns).await.expect("namespace");
    blocking(move || tools::produce(k, "proxmox", "invoices", 50, 100))
        .await
        .expect("produce");
    let name = start_real(ns, "invoices", Rules::Runbook, Mm2Extras::default(), 50).await;
    let o = mm2(&["lag", "proxmox->aws", "-n", ns, "-o", "json"]);
    assert_eq!(o.code, 3, "no figure at all is UNKNOWN: {o}");
    let d = &o.json()["directions"][0];
    assert_eq!(d["lag"]["pods_scraped"], 1, "{o}");
    assert_eq!(d["lag"]["skipped_lines"], 0, "{o}");
    assert_eq!(
        d["lag"]["missing"],
        json!(["records_lag", "mirror_source", "checkpoint", "in_flight"]),
        "{o}"
    );
    let text = mm2(&["lag", "proxmox->aws", "-n", ns]);
    assert_eq!(text.code, 3, "{text}");
    // The advice names the rule that matches nothing on a real worker.
    assert!(text.all().contains("source="), "{text}");
    // Its worker JVM is no longer needed.
    retire("aws", ns, &name).await.expect("retire");
}

/// `pause`, `pause --stop` and `resume` end in the state real Connect reports (asked directly on
/// the worker's REST port), and `status --live` agrees with the CR after each.
#[tokio::test]
async fn pause_stop_resume_end_in_the_state_connect_reports() {
    let _one = SERIAL.lock().await;
    let ns = "kreal-state";
    let k = real_namespace(ns).await.expect("namespace");
    blocking(move || tools::produce(k, "proxmox", "events", 10, 100))
        .await
        .expect("produce");
    let name = start_real(ns, "events", Rules::Strimzi, Mm2Extras::default(), 10).await;
    let ip = real_pod_ip("aws", ns, &format!("{name}-mirrormaker2-0")).expect("a real pod");
    let worker = SocketAddr::from((ip, 8083));
    for (args, want) in [
        (vec!["pause", "proxmox->aws"], "PAUSED"),
        (vec!["pause", "proxmox->aws", "--stop"], "STOPPED"),
        (vec!["resume", "proxmox->aws"], "RUNNING"),
    ] {
        let mut a = args.clone();
        a.extend(["-n", ns, "--timeout", "60s"]);
        let o = mm2(&a);
        assert_eq!(o.code, 0, "{args:?}: {o}");
        let path = format!("/connectors/{}/status", rest::encode(SOURCE));
        let live = rest::call(worker, "GET", &path, None, Duration::from_secs(10))
            .await
            .expect("Connect REST");
        let body = live.json().expect("json");
        assert_eq!(body["connector"]["state"], want, "{args:?}: Connect says {body}");
        // The CR's status follows Connect within the operator's polling (tasks come back a moment
        // after their connector after a stop); `status --live` must agree once it has.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let s = mm2(&["status", "proxmox->aws", "-n", ns, "--live", "-o", "json"]);
            let agrees = !s.stdout.contains("Connect says") && s.stdout.contains(want);
            if agrees {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{args:?}: status --live never agreed: {s}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    // Its worker JVM is no longer needed.
    retire("aws", ns, &name).await.expect("retire");
}

/// The runbook's garbage-collected Secret copy (`mm2-user-proxmox` gone from `aws`): the real
/// MirrorMaker 2 has no password for `proxmox` any more (its SCRAM client fails on the empty
/// password and retries, the connectors stay RUNNING: that is what Kafka does), so nothing is
/// copied; `status` names the missing Secret, and `kubectl clusterset copy-secret --mm2` brings
/// replication back.
#[tokio::test]
async fn lost_secret_copy_stops_real_replication_and_copy_secret_restores_it() {
    let _one = SERIAL.lock().await;
    let ns = "kreal-secret";
    let k = real_namespace(ns).await.expect("namespace");
    blocking(move || tools::produce(k, "proxmox", "shipments", 10, 100))
        .await
        .expect("produce");
    let name = start_real(ns, "shipments", Rules::Strimzi, Mm2Extras::default(), 10).await;

    // What the garbage collector does to the runbook's jq copy (tests/tests/e2e/clusterset.rs
    // shows the GC doing it); here the result, so the test does not wait on the GC's timing.
    let secrets: Api<Secret> = Api::namespaced(bed().client("aws").await, ns);
    secrets
        .delete("mm2-user-proxmox", &DeleteParams::default())
        .await
        .expect("delete copy");
    // The reconciler restarts the connectors on the changed credentials within a second or two.
    tokio::time::sleep(Duration::from_secs(3)).await;
    blocking(move || tools::produce(k, "proxmox", "shipments", 10, 100))
        .await
        .expect("produce");
    tokio::time::sleep(Duration::from_secs(8)).await;
    let copied = blocking(move || tools::total_records(k, "aws", "proxmox.shipments"))
        .await
        .expect("offsets");
    assert_eq!(copied, 10, "nothing is copied without the password");
    let s = mm2(&["status", "proxmox->aws", "-n", ns]);
    assert!(
        s.all().contains("mm2-user-proxmox"),
        "status names the missing Secret: {s}"
    );
    assert_ne!(s.code, 0, "{s}");

    let c = run(
        "kubectl-clusterset",
        bed().kubeconfig(),
        &["copy-secret", "--mm2", "-n", ns],
    );
    assert_eq!(c.code, 0, "{c}");
    wait_records("aws", "proxmox.shipments", 20, Duration::from_secs(90)).await;
    wait_status("aws", ns, &name, Duration::from_secs(30), running)
        .await
        .expect("running");
    // Its worker JVM is no longer needed.
    retire("aws", ns, &name).await.expect("retire");
}

/// A source bootstrap address that does not resolve (a typo in the cluster name): the real
/// MirrorSourceConnector fails to start, Connect reports FAILED with its stack trace, the CR goes
/// NotReady, and `status` shows the trace's first line as Connect wrote it.
#[tokio::test]
async fn real_failed_connector_shows_its_trace_in_status() {
    let _one = SERIAL.lock().await;
    let ns = "kreal-failed";
    let k = real_namespace(ns).await.expect("namespace");
    blocking(move || tools::produce(k, "proxmox", "parcels", 10, 100))
        .await
        .expect("produce");
    let name = start_real(ns, "parcels", Rules::Strimzi, Mm2Extras::default(), 10).await;
    let client = bed().client("aws").await;
    let api: Api<kube::api::DynamicObject> = Api::namespaced_with(client, ns, &mm2_e2e::crds::mm2("v1"));
    let typo = json!({"spec": {"mirrors": [{
        "source": {"alias": "proxmox", "bootstrapServers": format!("kafka-bootstrap-proxmoxx.{ns}.svc.clusterset.local:9092"),
                   "authentication": {"type": "scram-sha-512", "username": "mm2-user",
                                      "passwordSecret": {"secretName": "mm2-user-proxmox", "password": "password"}}},
        "sourceConnector": {"tasksMax": 1, "config": {"replication.factor": -1, "offset-syncs.topic.replication.factor": -1,
                                                      "sync.topic.acls.enabled": "false"}},
        "checkpointConnector": {"config": {"checkpoints.topic.replication.factor": -1}},
        "topicsPattern": "parcels", "groupsPattern": ".*"}]}});
    api.patch(
        &name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(typo),
    )
    .await
    .expect("patch");
    let failed = wait_status("aws", ns, &name, Duration::from_secs(90), |c| {
        states(c, SOURCE).is_some_and(|(s, t)| s == "FAILED" || t.iter().any(|x| x == "FAILED"))
    })
    .await
    .expect("a FAILED connector");
    let c = failed
        .iter()
        .find(|c| c["name"] == SOURCE)
        .expect("source connector");
    let trace = c["connector"]["trace"]
        .as_str()
        .or_else(|| c["tasks"][0]["trace"].as_str())
        .expect("Connect's trace");
    let first = trace.lines().next().unwrap_or_default().to_string();
    assert!(first.contains("Exception"), "{trace}");
    let s = mm2(&["status", "proxmox->aws", "-n", ns]);
    assert!(s.stdout.contains("FAILED"), "{s}");
    assert!(
        s.all().contains(first.trim()),
        "status shows Connect's own first line {first:?}: {s}"
    );
    // Its worker JVM is no longer needed.
    retire("aws", ns, &name).await.expect("retire");
}
