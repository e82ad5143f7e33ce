//! Benchmark (not a test): the bed with Kafka and a real MirrorMaker 2, from nothing to
//! replicating, and the bed's peak memory.
//!
//! 1. time until the two control planes are up, the two Kafka 4.1 brokers are up, and a real
//!    MirrorMaker 2 (`proxmox->aws`, one Connect worker with the JMX exporter agent) has copied
//!    1,000 records to `aws` (target, caches warm: ≤ 60 s);
//! 2. peak resident memory of this process and everything it started (control planes, brokers,
//!    worker, tools), sampled every 200 ms (target: ≤ 6 GiB);
//! 3. CPU-seconds (user + sys, not wall time: the cores are shared) of each JVM kind's start: a
//!    broker until the bed finds it ready, the brokers' `StorageTool format` runs, and the Connect
//!    worker until its connectors and tasks are RUNNING. `MM2_KAFKA_CDS=off` runs them without the
//!    class-data sharing archives, for the difference.
//!
//! Run inside the bed's network namespace: `scripts/bench.sh` does it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mm2_e2e::kafka::mm2::{REST_PORT, real_pod_ip};
use mm2_e2e::kafka::setup::{Rules, real_mm2, real_namespace};
use mm2_e2e::kafka::{JvmKind, kafka, rest, tools};

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

/// The processes below `root` whose command line holds the argument `main` (a JVM's main class).
fn jvms_of(root: u32, main: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if cmdline.split(|b| *b == 0).any(|a| a == main.as_bytes()) && descends_from(pid, root) {
            out.push(pid);
        }
    }
    out
}

fn descends_from(mut pid: u32, root: u32) -> bool {
    for _ in 0..64 {
        if pid == root {
            return true;
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        match status
            .lines()
            .find_map(|l| l.strip_prefix("PPid:"))
            .and_then(|v| v.trim().parse().ok())
        {
            Some(p) if p != 0 => pid = p,
            _ => return false,
        }
    }
    false
}

/// User + system CPU-seconds of a live process so far (`/proc/<pid>/stat` fields 14 and 15).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    f.iter().sum::<u64>() as f64 / hz
}

/// CPU-seconds of the children this process has waited for (the short JVMs run with `output()`).
fn reaped_children_cpu() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(ru.ru_utime) + secs(ru.ru_stime)
}

/// True when Connect reports every connector RUNNING with at least one task, all RUNNING, except
/// the checkpoint connector, which has no task until the source has consumer groups.
fn all_running(status: &serde_json::Value) -> bool {
    let Some(cs) = status.as_object().filter(|m| !m.is_empty()) else {
        return false;
    };
    cs.iter().all(|(name, c)| {
        let s = &c["status"];
        let tasks = s["tasks"].as_array().cloned().unwrap_or_default();
        s["connector"]["state"] == "RUNNING"
            && (name.ends_with("MirrorCheckpointConnector") || !tasks.is_empty())
            && tasks.iter().all(|t| t["state"] == "RUNNING")
    })
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
    let reaped_before = reaped_children_cpu();
    let k = kafka();
    let t_kafka = t0.elapsed();
    let broker_cpu: Vec<f64> = jvms_of(me, "kafka.Kafka").into_iter().map(cpu_seconds).collect();
    let format_cpu = reaped_children_cpu() - reaped_before;
    let worker_cpu = bed.block_on(async {
        let ns = "bench-kafka";
        real_namespace(ns).await.expect("namespace");
        tokio::task::spawn_blocking(move || tools::produce(k, "proxmox", "orders", 1_000, 100))
            .await
            .expect("join")
            .expect("produce");
        let name = real_mm2(ns, "proxmox", "orders", Rules::Strimzi, serde_json::json!({}))
            .await
            .expect("mm2");
        // The worker's CPU once Connect reports its connectors and tasks RUNNING.
        let pod = format!("{name}-mirrormaker2-0");
        let deadline = Instant::now() + Duration::from_secs(180);
        let worker_cpu = loop {
            assert!(Instant::now() < deadline, "connectors not RUNNING after 180 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
            let Some(ip) = real_pod_ip("aws", ns, &pod) else {
                continue;
            };
            let addr = std::net::SocketAddr::from((ip, REST_PORT));
            let Ok(a) = rest::call(
                addr,
                "GET",
                "/connectors?expand=status",
                None,
                Duration::from_secs(2),
            )
            .await
            else {
                continue;
            };
            if a.ok() && a.json().is_ok_and(|s| all_running(&s)) {
                break jvms_of(me, "org.apache.kafka.connect.cli.ConnectDistributed")
                    .into_iter()
                    .map(cpu_seconds)
                    .sum::<f64>();
            }
        };
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
        worker_cpu
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
    let cds = |kind: JvmKind| {
        if kind.archive().is_some() {
            "with CDS"
        } else {
            "no CDS"
        }
    };
    let each: Vec<String> = broker_cpu.iter().map(|c| format!("{c:.2}")).collect();
    println!(
        "CPU: broker start to ready          {} CPU-s each ({})",
        each.join(" "),
        cds(JvmKind::Broker)
    );
    println!(
        "CPU: brokers' StorageTool format    {format_cpu:>6.2} CPU-s for {} (and the bed's helpers)",
        broker_cpu.len()
    );
    println!(
        "CPU: Connect worker to RUNNING      {worker_cpu:>6.2} CPU-s ({})",
        cds(JvmKind::Connect)
    );
    println!(
        "peak memory of the bed             {gib:>6.2} GiB (target ≤ 6 GiB){}",
        if gib <= 6.0 { "" } else { "  OVER" }
    );
}
