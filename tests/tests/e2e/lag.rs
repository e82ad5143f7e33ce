//! `kubectl mm2 lag` against JMX-exporter doubles bound to each simulated MM2 pod's podIP:9404,
//! reached only through the real API server's pod proxy.

use crate::cli::{Out, mm2, run};
use mm2_e2e::doubles::PodKey;
use mm2_e2e::fixtures::mm2_pods;
use mm2_e2e::{HttpResponse, PeerSecret, RunbookOptions, bed, fixtures};
use std::fmt::Write as _;

const MM2: &str = "mm2-proxmox-to-aws";
const CLIENT: &str = "\\\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\\\"";

async fn fresh(ns: &str) {
    let opts = RunbookOptions {
        peer_secret: PeerSecret::Clean,
    };
    fixtures::install_runbook_with(bed(), ns, opts)
        .await
        .expect("install runbook");
}

fn assert_code(o: &Out, code: i32) {
    assert_eq!(o.code, code, "{o}");
}

/// Exposition text as jmx_exporter 1.x writes it: HELP/TYPE lines, trailing commas, Java numbers,
/// quoted client ids, NaN for idle partitions.
struct Metrics {
    text: String,
}

impl Metrics {
    fn new() -> Self {
        let mut text = String::new();
        text.push_str("# HELP jvm_threads_current Current thread count of a JVM\n# TYPE jvm_threads_current gauge\njvm_threads_current 52.0\n");
        Metrics { text }
    }
    fn records_lag(mut self, topic: &str, partition: u32, lag: f64) -> Self {
        let _ = writeln!(
            self.text,
            "kafka_consumer_fetch_manager_records_lag{{clientid=\"{CLIENT}\",partition=\"{partition}\",topic=\"{topic}\",}} {}",
            java(lag)
        );
        self
    }
    fn strimzi_mirror(
        mut self,
        topic: &str,
        partition: u32,
        latency_ms: f64,
        age_ms: f64,
        rate: f64,
    ) -> Self {
        for (attr, v) in [
            ("replication_latency_ms", latency_ms),
            ("record_age_ms", age_ms),
            ("record_rate", rate),
            ("byte_rate", rate * 100.0),
        ] {
            let _ = writeln!(
                self.text,
                "kafka_connect_mirror_mirrorsourceconnector_{attr}{{partition=\"{partition}\",source=\"proxmox\",target=\"aws\",topic=\"proxmox.{topic}\",}} {}",
                java(v)
            );
        }
        self
    }
    fn runbook_mirror(mut self, topic: &str, partition: u32, latency_ms: f64, age_ms: f64) -> Self {
        let _ = writeln!(
            self.text,
            "kafka_connect_mirror_replication_latency_ms{{target=\"aws\",topic=\"proxmox.{topic}\",partition=\"{partition}\",}} {}",
            java(latency_ms)
        );
        let _ = writeln!(
            self.text,
            "kafka_connect_mirror_source_connector_record_age_ms{{target=\"aws\",topic=\"proxmox.{topic}\",partition=\"{partition}\",}} {}",
            java(age_ms)
        );
        self
    }
    fn in_flight(mut self, task: u32, poll: f64, write: f64) -> Self {
        let c = "\\\"proxmox->aws.MirrorSourceConnector\\\"";
        let _ = writeln!(
            self.text,
            "kafka_connect_source_task_source_record_poll_total{{connector=\"{c}\",task=\"{task}\",}} {}",
            java(poll)
        );
        let _ = writeln!(
            self.text,
            "kafka_connect_source_task_source_record_write_total{{connector=\"{c}\",task=\"{task}\",}} {}",
            java(write)
        );
        self
    }
}

/// Java's Double.toString: `1.2345678E7` above 10^7, `42.0` below.
fn java(v: f64) -> String {
    if v.abs() >= 1e7 {
        let exp = v.abs().log10().floor() as i32;
        format!("{}E{exp}", v / 10f64.powi(exp))
    } else {
        format!("{v:.1}")
    }
}

fn serve(ns: &str, pod: &str, m: Metrics) {
    bed().doubles().set_metrics("proxmox", ns, pod, m.text);
}

fn pods() -> Vec<String> {
    mm2_pods(MM2, 2)
}

#[tokio::test]
async fn healthy_direction_is_ok_with_numbers_from_the_pod_proxy() {
    let ns = "t-lag-ok";
    fresh(ns).await;
    let p = pods();
    serve(
        ns,
        &p[0],
        Metrics::new()
            .records_lag("orders", 0, 12.0)
            .strimzi_mirror("orders", 0, 42.0, 37.0, 150.5)
            .records_lag("orders", 1, 3.0),
    );
    serve(
        ns,
        &p[1],
        Metrics::new()
            .records_lag("payments", 0, 7.0)
            .strimzi_mirror("payments", 0, 55.0, 40.0, 10.0),
    );
    let o = mm2(&["lag", "proxmox:aws", "-n", ns, "-o", "json"]);
    assert_code(&o, 0);
    let j = o.json();
    assert_eq!(j["schema"], "kubectl-mm2.dev/lag/v1");
    assert_eq!(j["severity"], "ok");
    let d = &j["directions"][0];
    assert_eq!(d["evaluation"]["records_behind"], 22.0);
    assert_eq!(d["evaluation"]["basis"], "records_lag");
    let parts = d["lag"]["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    // Worst first.
    assert_eq!(
        (
            parts[0]["topic"].as_str().unwrap(),
            parts[0]["records_lag"].as_f64().unwrap()
        ),
        ("orders", 12.0)
    );
    assert_eq!(parts[0]["replication_latency_ms"], 42.0);
    assert_eq!(parts[0]["remote_topic"], "proxmox.orders");
    assert_eq!(d["lag"]["pods_scraped"], 2);
    // The doubles were reached through the API server's pod proxy, nothing else.
    let reqs = bed().doubles().requests("proxmox", ns, &p[0]);
    assert!(reqs.iter().any(|r| r.path() == "/metrics"), "{reqs:?}");
    let t = mm2(&["lag", "proxmox:aws", "-n", ns]);
    assert_code(&t, 0);
    assert!(
        t.stdout
            .contains("proxmox->aws  OK  22 records behind (records-lag)"),
        "{t}"
    );
}

#[tokio::test]
async fn thresholds_give_nagios_warning_and_critical() {
    let ns = "t-lag-thresholds";
    fresh(ns).await;
    let p = pods();
    serve(
        ns,
        &p[0],
        Metrics::new()
            .records_lag("orders", 0, 15_000.0)
            .records_lag("orders", 1, 5_000.0)
            .strimzi_mirror("orders", 0, 900.0, 800.0, 1.0),
    );
    serve(ns, &p[1], Metrics::new());
    let w = mm2(&["lag", "proxmox:aws", "-n", ns]);
    assert_code(&w, 1);
    assert!(
        w.stdout.contains("WARNING") && w.stdout.contains("20,000 records behind"),
        "{w}"
    );
    let lines: Vec<&str> = w
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("orders"))
        .collect();
    assert!(
        lines[0].contains("15,000") && lines[1].contains("5,000"),
        "worst first: {w}"
    );

    serve(
        ns,
        &p[1],
        Metrics::new()
            .records_lag("payments", 0, 60_000.0)
            .records_lag("payments", 1, 1.2345678e7),
    );
    let c = mm2(&["lag", "proxmox:aws", "-n", ns, "-o", "json", "--top", "2"]);
    assert_code(&c, 2);
    let j = c.json();
    assert_eq!(j["severity"], "critical");
    let parts = j["directions"][0]["lag"]["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "--top 2");
    assert_eq!(
        parts[0]["records_lag"], 12_345_678.0,
        "Java exponent notation parsed"
    );
    // Thresholds are flags.
    let relaxed = mm2(&[
        "lag",
        "proxmox:aws",
        "-n",
        ns,
        "--warn",
        "20000000",
        "--crit",
        "30000000",
    ]);
    assert_code(&relaxed, 0);
    let filtered = mm2(&[
        "lag",
        "proxmox:aws",
        "-n",
        ns,
        "--topic",
        "^orders$",
        "-o",
        "json",
    ]);
    let parts = filtered.json()["directions"][0]["lag"]["partitions"]
        .as_array()
        .unwrap()
        .clone();
    assert!(parts.iter().all(|p| p["topic"] == "orders") && !parts.is_empty());
    // Latency thresholds.
    let lat = mm2(&[
        "lag",
        "proxmox:aws",
        "-n",
        ns,
        "--warn",
        "100000000",
        "--crit",
        "200000000",
        "--crit-latency",
        "500ms",
    ]);
    assert_code(&lat, 2);
}

#[tokio::test]
async fn in_flight_is_the_fallback_and_missing_records_lag_is_explained() {
    let ns = "t-lag-inflight";
    fresh(ns).await;
    let p = pods();
    serve(
        ns,
        &p[0],
        Metrics::new()
            .in_flight(0, 90_000.0, 20_000.0)
            .runbook_mirror("orders", 0, 1500.0, 1400.0),
    );
    serve(ns, &p[1], Metrics::new().in_flight(1, 1_000.0, 1_000.0));
    let o = mm2(&["lag", "proxmox:aws", "-n", ns, "-o", "json"]);
    assert_code(&o, 2);
    let d = &o.json()["directions"][0];
    assert_eq!(d["evaluation"]["basis"], "in_flight");
    assert_eq!(d["evaluation"]["records_behind"], 70_000.0);
    assert_eq!(
        d["lag"]["partitions"][0]["replication_latency_ms"], 1500.0,
        "runbook naming scheme read"
    );
    let families: Vec<&str> = d["advice"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["family"].as_str().unwrap())
        .collect();
    assert!(families.contains(&"records_lag"), "{families:?}");
    let t = mm2(&["lag", "proxmox:aws", "-n", ns]);
    assert!(t.stdout.contains("in flight (records-lag not exported)"), "{t}");
    assert!(
        t.stdout.contains("consumer-fetch") || t.stdout.contains("fetch-manager"),
        "rule shown: {t}"
    );
}

#[tokio::test]
async fn no_figures_at_all_is_unknown_with_advice() {
    let ns = "t-lag-none";
    fresh(ns).await;
    for pod in pods() {
        serve(ns, &pod, Metrics::new());
    }
    let o = mm2(&["lag", "proxmox:aws", "-n", ns]);
    assert_code(&o, 3);
    assert!(
        o.stdout.contains("UNKNOWN") && o.stdout.contains("missing:"),
        "{o}"
    );
    assert!(
        o.stdout.contains("kafka_$2_$6") || o.stdout.contains("replication-consumer"),
        "the exporter rule: {o}"
    );
}

#[tokio::test]
async fn one_pod_down_is_named_and_the_rest_still_show() {
    let ns = "t-lag-poddown";
    fresh(ns).await;
    let p = pods();
    serve(
        ns,
        &p[0],
        Metrics::new()
            .records_lag("orders", 0, 30.0)
            .strimzi_mirror("orders", 0, 10.0, 9.0, 1.0),
    );
    bed().doubles().set_route(
        &PodKey::new("proxmox", ns, &p[1]),
        9404,
        "GET",
        "/metrics",
        HttpResponse::text(503, "exporter down"),
    );
    let o = mm2(&["lag", "proxmox:aws", "-n", ns]);
    assert_code(&o, 0);
    assert!(o.stdout.contains(&format!("pod {}", p[1])), "pod named: {o}");
    assert!(o.stdout.contains("orders"), "{o}");
}

#[tokio::test]
async fn read_only_user_without_pods_proxy_gets_unknown_with_the_reason() {
    let ns = "t-lag-viewer";
    fresh(ns).await;
    let o = run(
        "kubectl-mm2",
        bed().viewer_kubeconfig(),
        &["lag", "proxmox:aws", "-n", ns],
    );
    assert_code(&o, 3);
    assert!(
        o.stdout.contains("forbidden") && o.stdout.contains("pods/proxy"),
        "{o}"
    );
}

#[tokio::test]
async fn all_directions_by_default_and_watch_appends_on_a_pipe() {
    let ns = "t-lag-all";
    fresh(ns).await;
    let o = mm2(&["lag", "-n", ns, "-o", "json"]);
    let dirs: Vec<String> = o.json()["directions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["direction"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(dirs, vec!["aws->proxmox", "proxmox->aws"]);
    // --watch on a pipe: appended snapshots; stopped by the test after a few.
    let child = std::process::Command::new(mm2_e2e::product_bin("kubectl-mm2"))
        .args(["lag", "proxmox:aws", "-n", ns, "--watch", "300ms"])
        .env("KUBECONFIG", bed().kubeconfig())
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.matches("--- ").count() >= 2,
        "appended snapshots: {stdout}"
    );
    assert!(
        out.status.code().is_some(),
        "exited, not killed by the signal: {:?}",
        out.status
    );
}
