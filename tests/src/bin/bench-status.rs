//! Benchmark (not a test): `kubectl mm2 status` on the two-cluster bed.
//!
//! 1. median wall time of `kubectl-mm2 status` vs one `kubectl get kafkamirrormaker2 -A` against
//!    one context, measured in the same loop (target: ≤ 1.2×);
//! 2. `status` over 20 contexts of which one never answers (a black hole), `--timeout 2s`
//!    (target: ≤ timeout + 0.5 s, not 20 × timeout).
//!
//! Run inside the bed's network namespace: `scripts/bench.sh` does it.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(cmd: &mut Command) -> Duration {
    let t = Instant::now();
    let st = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .status()
        .expect("run");
    let d = t.elapsed();
    assert!(st.code().is_some(), "{cmd:?} was killed");
    d
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let bed = mm2_e2e::bed();
    let mm2 = mm2_e2e::product_bin("kubectl-mm2");
    let kc = bed.kubeconfig().to_path_buf();
    // Warm-up (first TLS handshakes, page cache).
    time(
        Command::new(&mm2)
            .args(["status", "-n", "rciis-prod"])
            .env("KUBECONFIG", &kc),
    );
    let (mut ours, mut kubectl) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        ours.push(time(
            Command::new(&mm2)
                .args(["status", "-n", "rciis-prod"])
                .env("KUBECONFIG", &kc),
        ));
        kubectl.push(time(
            Command::new("kubectl")
                .args(["get", "kafkamirrormaker2", "-A", "--context", "rciis-aws"])
                .env("KUBECONFIG", &kc),
        ));
    }
    let (o, k) = (median(ours), median(kubectl));
    println!(
        "status (2 contexts)            median {:>7.1} ms over {runs} runs",
        o.as_secs_f64() * 1e3
    );
    println!(
        "kubectl get kmm2 -A (1 context) median {:>7.1} ms over {runs} runs",
        k.as_secs_f64() * 1e3
    );
    println!(
        "ratio                           {:>7.2}x (target ≤ 1.20x)",
        o.as_secs_f64() / k.as_secs_f64()
    );

    // 20 contexts: 19 answer (copies of the two live clusters), one is a black hole.
    let mut v = bed.kubeconfig_value().clone();
    let base: Vec<serde_json::Value> = v["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .take(2)
        .cloned()
        .collect();
    let mut contexts = Vec::new();
    let mut names = Vec::new();
    for i in 0..19 {
        let mut c = base[i % 2].clone();
        let name = format!("ctx-{i:02}");
        c["name"] = serde_json::json!(name);
        names.push(name);
        contexts.push(c);
    }
    let dead_kc = bed.kubeconfig_with_dead_context("aws");
    let dead: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(&dead_kc).unwrap()).unwrap();
    let mut dead_ctx = dead["contexts"][0].clone();
    dead_ctx["name"] = serde_json::json!("ctx-dead");
    dead_ctx["context"]["cluster"] = serde_json::json!("dead");
    let mut dead_cluster = dead["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "rciis-aws")
        .unwrap()
        .clone();
    dead_cluster["name"] = serde_json::json!("dead");
    names.push("ctx-dead".into());
    contexts.push(dead_ctx);
    v["contexts"] = serde_json::Value::Array(contexts);
    v["clusters"].as_array_mut().unwrap().push(dead_cluster);
    let path = bed.dir().join("twenty.kubeconfig");
    std::fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    let list = names.join(",");
    let mut twenty = Vec::new();
    for _ in 0..5 {
        twenty.push(time(
            Command::new(&mm2)
                .args([
                    "status",
                    "-n",
                    "rciis-prod",
                    "--timeout",
                    "2s",
                    "--context",
                    &list,
                ])
                .env("KUBECONFIG", &path),
        ));
    }
    let t = median(twenty);
    println!(
        "status, 20 contexts, 1 dead, --timeout 2s: median {:>7.1} ms (target ≤ 2500 ms)",
        t.as_secs_f64() * 1e3
    );
}
