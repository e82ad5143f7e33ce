//! `kubectl mm2 lag` against JMX-exporter doubles bound to each simulated MM2 pod's podIP:9404,
//! reached only through the real API server's pod proxy.

use crate::cli::{Out, mm2, run};
use mm2_e2e::doubles::PodKey;
use mm2_e2e::fixtures::mm2_pods;
use mm2_e2e::{HttpResponse, bed, fixtures};
use std::fmt::Write as _;

const MM2: &str = "mm2-proxmox-to-aws";
/// The cluster `MM2` runs in (its target).
const HOME: &str = "aws";
const CLIENT: &str = "\\\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\\\"";

/// The working layout: `mm2-proxmox-to-aws` runs in aws, so its pods (and their exporters)
/// are aws pods.
async fn fresh(ns: &str) {
    fixtures::install_working(bed(), ns)
        .await
        .expect("install the working layout");
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
    bed().doubles().set_metrics(HOME, ns, pod, m.text);
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
    let reqs = bed().doubles().requests(HOME, ns, &p[0]);
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
        &PodKey::new(HOME, ns, &p[1]),
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
    tokio::time::sleep(std::time::Duration::from_millis(4000)).await;
    let pid = child.id() as i32;
    unsafe { libc::kill(pid, libc::SIGINT) };
    // Ctrl-C must end it promptly, even in the middle of a refresh; never hang the suite.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        std::thread::spawn(move || {
            for _ in 0..150 {
                std::thread::sleep(std::time::Duration::from_millis(100));
                if done.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
            }
            unsafe { libc::kill(pid, libc::SIGKILL) };
        })
    };
    let out = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = watchdog.join();
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

/// Address of the Prometheus HTTP API double (outside the pod networks 198.18.1/2.0/24).
const PROM_IP: std::net::Ipv4Addr = std::net::Ipv4Addr::new(198, 18, 3, 10);
const PROM_PORT: u16 = 9090;

/// One vector sample as Prometheus returns it for a series scraped by Strimzi's PodMonitor.
fn prom_sample(ns: &str, pod: &str, name: &str, labels: &[(&str, &str)], value: &str) -> serde_json::Value {
    let mut metric = serde_json::json!({
        "__name__": name,
        "container": "mirror-maker-2",
        "endpoint": "tcp-prometheus",
        "job": format!("{ns}/mirror-maker-2-metrics"),
        "kubernetes_pod_name": pod,
        "namespace": ns,
        "node_name": "node-1",
        "strimzi_io_cluster": MM2,
        "strimzi_io_kind": "KafkaMirrorMaker2",
    });
    for (k, v) in labels {
        metric[*k] = serde_json::Value::from(*v);
    }
    serde_json::json!({"metric": metric, "value": [1_712_345_678.123, value]})
}

#[tokio::test]
async fn prometheus_api_instead_of_the_pod_proxy() {
    use mm2_e2e::RecordedRequest;
    use std::sync::{Arc, Mutex};
    let ns = "t-lag-prometheus";
    fresh(ns).await;
    let p = pods();
    let client = "\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\"";
    let result = vec![
        prom_sample(
            ns,
            &p[0],
            "kafka_consumer_fetch_manager_records_lag",
            &[("clientid", client), ("partition", "0"), ("topic", "orders")],
            "15000",
        ),
        prom_sample(
            ns,
            &p[1],
            "kafka_consumer_fetch_manager_records_lag",
            &[("clientid", client), ("partition", "1"), ("topic", "orders")],
            "5000",
        ),
        prom_sample(
            ns,
            &p[1],
            "kafka_consumer_fetch_manager_records_lag",
            &[("clientid", client), ("partition", "2"), ("topic", "orders")],
            "NaN",
        ),
        prom_sample(
            ns,
            &p[0],
            "kafka_connect_mirror_mirrorsourceconnector_replication_latency_ms",
            &[
                ("partition", "0"),
                ("source", "proxmox"),
                ("target", "aws"),
                ("topic", "proxmox.orders"),
            ],
            "900",
        ),
    ];
    let answer = serde_json::json!({"status": "success", "data": {"resultType": "vector", "result": result}});
    let seen: Arc<Mutex<Vec<RecordedRequest>>> = Arc::default();
    let rec = seen.clone();
    let handler: mm2_e2e::doubles::Handler = Arc::new(move |req: &RecordedRequest| {
        rec.lock().unwrap().push(req.clone());
        if req.path().starts_with("/broken/") {
            return HttpResponse::json(
                400,
                &serde_json::json!({"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}),
            );
        }
        if req.path() != "/api/v1/query" {
            return HttpResponse::text(404, "404 page not found");
        }
        HttpResponse::json(200, &answer)
    });
    mm2_e2e::procs::ensure_addr(PROM_IP).expect("add the Prometheus address");
    bed()
        .doubles()
        .serve(PROM_IP, PROM_PORT, handler)
        .expect("serve the Prometheus double");
    let url = format!("http://{PROM_IP}:{PROM_PORT}");

    let o = mm2(&["lag", "proxmox:aws", "-n", ns, "--prometheus", &url, "-o", "json"]);
    assert_code(&o, 1);
    let j = o.json();
    assert_eq!(j["severity"], "warning");
    let d = &j["directions"][0];
    assert_eq!(d["source"], "prometheus", "{o}");
    assert_eq!(d["prometheus"], url.as_str());
    assert_eq!(d["evaluation"]["records_behind"], 20_000.0);
    assert_eq!(d["evaluation"]["basis"], "records_lag");
    assert_eq!(d["lag"]["pods_scraped"], 2);
    let parts = d["lag"]["partitions"].as_array().unwrap();
    assert_eq!(parts[0]["records_lag"], 15_000.0, "worst first: {o}");
    assert_eq!(parts[0]["replication_latency_ms"], 900.0);
    // The double got one instant query selecting the MM2 by Strimzi's PodMonitor labels.
    let want = format!(
        "{{__name__=~\"kafka_consumer_fetch_manager_records_lag|kafka_connect_mirror_.+|kafka_connect_source_task_source_record_(poll|write)_total\",namespace=\"{ns}\",strimzi_io_cluster=\"{MM2}\"}}"
    );
    {
        let reqs = seen.lock().unwrap();
        assert_eq!(reqs.len(), 1, "{reqs:?}");
        assert_eq!(reqs[0].method, "GET");
        assert_eq!(reqs[0].path(), "/api/v1/query");
        let q = reqs[0].query().strip_prefix("query=").expect("query=");
        assert_eq!(mm2_e2e::doubles::percent_decode(q), want);
    }
    // The pods were not scraped.
    assert!(
        !bed()
            .doubles()
            .requests(HOME, ns, &p[0])
            .iter()
            .any(|r| r.path() == "/metrics")
    );
    let t = mm2(&["lag", "proxmox:aws", "-n", ns, "--prometheus", &url]);
    assert_code(&t, 1);
    assert!(
        t.stdout.contains("WARNING  20,000 records behind") && t.stdout.contains("read from Prometheus"),
        "{t}"
    );

    // An error answer of the Prometheus API is UNKNOWN and names Prometheus.
    let bad = mm2(&[
        "lag",
        "proxmox:aws",
        "-n",
        ns,
        "--prometheus",
        &format!("{url}/broken"),
    ]);
    assert_code(&bad, 3);
    assert!(
        bad.stdout.contains("Prometheus") && bad.stdout.contains("bad_data"),
        "{bad}"
    );

    // k8s://NAMESPACE/SERVICE:PORT goes through the API server's service proxy. The API server
    // only proxies to an endpoint backed by a pod with that IP, so: a Running pod at the double's
    // address, a selector-less Service and Endpoints pointing at the pod.
    use k8s_openapi::api::core::v1::{Endpoints, Pod};
    use kube::api::{Api, Patch, PatchParams};
    let kc = bed().client(HOME).await;
    let pods_api: Api<Pod> = Api::namespaced(kc.clone(), ns);
    let mm2_pod = pods_api.get(&p[0]).await.expect("MM2 pod");
    let node = mm2_pod.spec.and_then(|s| s.node_name).unwrap_or_default();
    let host_ip = mm2_pod
        .status
        .and_then(|s| s.host_ip)
        .and_then(|ip| ip.parse().ok())
        .unwrap_or(PROM_IP);
    let apply = PatchParams::apply("mm2-e2e").force();
    let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "prometheus-0", "namespace": ns, "labels": {"app": "prometheus"}},
        "spec": {"nodeName": node, "containers": [{"name": "prometheus", "image": "quay.io/prometheus/prometheus:v3.5.0",
                 "ports": [{"name": "web", "containerPort": 9090, "protocol": "TCP"}]}]}});
    pods_api
        .patch("prometheus-0", &apply, &Patch::Apply(&pod))
        .await
        .expect("apply Pod");
    let status = mm2_e2e::operator::running_pod_status(
        PROM_IP,
        host_ip,
        &[("prometheus".into(), "quay.io/prometheus/prometheus:v3.5.0".into())],
    );
    pods_api
        .patch_status(
            "prometheus-0",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"status": status})),
        )
        .await
        .expect("pod status");
    let svc = serde_json::json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "prometheus", "namespace": ns},
        "spec": {"ports": [{"name": "web", "port": 9090, "targetPort": 9090, "protocol": "TCP"}]}});
    fixtures::apply(&kc, &svc, "mm2-e2e")
        .await
        .expect("apply Service");
    let eps = serde_json::json!({"apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": "prometheus", "namespace": ns},
        "subsets": [{"addresses": [{"ip": PROM_IP.to_string(),
                                    "targetRef": {"kind": "Pod", "name": "prometheus-0", "namespace": ns}}],
                     "ports": [{"name": "web", "port": 9090, "protocol": "TCP"}]}]});
    let eps_api: Api<Endpoints> = Api::namespaced(kc, ns);
    eps_api
        .patch("prometheus", &apply, &Patch::Apply(&eps))
        .await
        .expect("apply Endpoints");
    seen.lock().unwrap().clear();
    let svc_url = format!("k8s://{ns}/prometheus:9090");
    let k = mm2(&[
        "lag",
        "proxmox:aws",
        "-n",
        ns,
        "--prometheus",
        &svc_url,
        "-o",
        "json",
    ]);
    assert_code(&k, 1);
    assert_eq!(
        k.json()["directions"][0]["evaluation"]["records_behind"],
        20_000.0
    );
    let reqs = seen.lock().unwrap().clone();
    assert!(
        reqs.iter().any(|r| r.path() == "/api/v1/query"),
        "reached through the service proxy: {reqs:?}"
    );
    // https is refused with the alternatives.
    let tls = mm2(&[
        "lag",
        "proxmox:aws",
        "-n",
        ns,
        "--prometheus",
        "https://prom:9090",
    ]);
    assert!(tls.code != 0 && tls.stderr.contains("k8s://"), "{tls}");
}
