//! Benchmark (not a test): the bed with Kafka and a real MirrorMaker 2, from nothing to
//! replicating, and the bed's peak memory.
//!
//! 1. time until the two control planes are up, the two Kafka 4.1 brokers are up, and a real
//!    MirrorMaker 2 (`proxmox->aws`, one Connect worker with the JMX exporter agent) has copied
//!    1,000 records to `aws` (target, caches warm: ≤ 60 s);
//! 2. peak resident memory of this process and everything it started (control planes, brokers,
//!    worker, tools), sampled every 200 ms (target: ≤ 6 GiB).
//!
//! Run inside the bed's network namespace: `scripts/bench.sh` does it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mm2_e2e::kafka::setup::{Rules, real_mm2, real_namespace};
use mm2_e2e::kafka::{kafka, tools};

/// Resident set of `root` and all its descendants, in bytes.
fn tree_rss(root: u32) -> u64 {
    let mut parent: HashMap<u32, u32> = HashMap::new();
    let mut rss: HashMap<u32, u64> = HashMap::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        for line in status.lines() {
            if let Some(v) = line.strip_prefix("PPid:") {
                parent.insert(pid, v.trim().parse().unwrap_or(0));
            } else if let Some(v) = line.strip_prefix("VmRSS:") {
                let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                rss.insert(pid, kb * 1024);
            }
        }
    }
    let descends = |mut p: u32| {
        for _ in 0..64 {
            if p == root {
                return true;
            }
            match parent.get(&p) {
                Some(&q) if q != 0 => p = q,
                _ => return false,
            }
        }
        false
    };
    rss.iter().filter(|(p, _)| descends(**p)).map(|(_, r)| r).sum()
}

fn main() {
    let me = std::process::id();
    let peak = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(tree_rss(me), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let t0 = Instant::now();
    let bed = mm2_e2e::bed();
    let t_bed = t0.elapsed();
    let k = kafka();
    let t_kafka = t0.elapsed();
    bed.block_on(async {
        let ns = "bench-kafka";
        real_namespace(ns).await.expect("namespace");
        tokio::task::spawn_blocking(move || tools::produce(k, "proxmox", "orders", 1_000, 100))
            .await
            .expect("join")
            .expect("produce");
        real_mm2(ns, "proxmox", "orders", Rules::Strimzi, serde_json::json!({}))
            .await
            .expect("mm2");
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let n = tokio::task::spawn_blocking(move || tools::total_records(k, "aws", "proxmox.orders"))
                .await
                .expect("join")
                .unwrap_or(0);
            if n >= 1_000 {
                break;
            }
            assert!(Instant::now() < deadline, "not replicating after 180 s");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    let t_repl = t0.elapsed();
    // A few more samples with everything running.
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let gib = peak.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0 * 1024.0);
    println!(
        "bed (2 control planes)             {:>6.1} s",
        t_bed.as_secs_f64()
    );
    println!(
        "+ Kafka 4.1 brokers                {:>6.1} s",
        t_kafka.as_secs_f64()
    );
    println!(
        "+ real MirrorMaker 2 replicating   {:>6.1} s   (target ≤ 60 s, caches warm){}",
        t_repl.as_secs_f64(),
        if t_repl <= Duration::from_secs(60) {
            ""
        } else {
            "  OVER"
        }
    );
    println!(
        "peak memory of the bed             {gib:>6.2} GiB (target ≤ 6 GiB){}",
        if gib <= 6.0 { "" } else { "  OVER" }
    );
}
