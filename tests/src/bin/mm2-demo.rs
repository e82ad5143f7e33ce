//! `mm2-demo`: the end-to-end test bed as a local demo. Two Kubernetes API servers (`aws`,
//! `proxmox`) with the runbook's KafkaMirrorMaker2s, Kafkas, users and Secrets in `rciis-prod`,
//! and the simulated Strimzi operator keeping their status, until Ctrl-C (SIGINT) or SIGTERM.
//!
//! It must run inside a private network namespace like the tests; `scripts/demo.sh` builds it,
//! starts it there and gives you a shell (or the `nsenter` line) to reach it.
//!
//! Unless `MM2_DEMO_KAFKA=0`, it also boots the bed's real Kafka half: two Kafka 4.1 brokers and,
//! in namespace `rciis-live`, a real MirrorMaker 2 per direction in the working layout (each in its
//! target cluster, on real Kafka Connect with the JMX exporter agent), with a small producer that
//! writes 100 records to `orders` on each side every 10 s, so `lag` and `status --live` read real,
//! moving figures there. From then on every valid KafkaMirrorMaker2 of the working layout runs on
//! real Kafka Connect, so the MM2s the tour converts and applies in `rciis-prod` run for real too.
//!
//! Prints `export KUBECONFIG=<path>` on stdout once everything is ready; with
//! `MM2_DEMO_READY=<file>` it also writes the kubeconfig path to that file (for scripts).

use std::process::ExitCode;
use std::time::Duration;

use mm2_e2e::kafka::setup::{Rules, real_mm2, real_namespace, states, wait_status};
use mm2_e2e::kafka::tools;

/// Namespace of the real MirrorMaker 2s.
const LIVE_NS: &str = "rciis-live";

/// Brokers, the two real MM2s, and a producer thread writing to `orders` on both sides.
async fn live_namespace() -> anyhow::Result<()> {
    let k = real_namespace(LIVE_NS).await?;
    for alias in ["proxmox", "aws"] {
        tokio::task::spawn_blocking(move || tools::produce(k, alias, "orders", 100, 100)).await??;
    }
    for source in ["proxmox", "aws"] {
        let name = real_mm2(LIVE_NS, source, "orders", Rules::Strimzi, serde_json::json!({})).await?;
        let target = mm2_e2e::Bed::peer(source);
        let connector = format!("{source}->{target}.MirrorSourceConnector");
        wait_status(target, LIVE_NS, &name, Duration::from_secs(180), |c| {
            states(c, &connector).is_some_and(|(s, t)| s == "RUNNING" && !t.is_empty())
        })
        .await?;
    }
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(10));
            for alias in ["proxmox", "aws"] {
                if let Err(e) = tools::produce(k, alias, "orders", 100, 100) {
                    eprintln!("mm2-demo: producer on {alias}: {e:#}");
                }
            }
        }
    });
    Ok(())
}

fn main() -> ExitCode {
    let bed = match std::panic::catch_unwind(mm2_e2e::bed) {
        Ok(b) => b,
        Err(_) => {
            eprintln!("mm2-demo: the test bed did not start (see above)");
            // `exit` runs the harness's clean-up (kills what it started, removes the bed folder).
            std::process::exit(1);
        }
    };
    if std::env::var("MM2_DEMO_KAFKA").as_deref() != Ok("0") {
        if let Err(e) = bed.block_on(live_namespace()) {
            eprintln!("mm2-demo: the real Kafka half did not start: {e:#}");
            std::process::exit(1);
        }
        // From here on, a KafkaMirrorMaker2 the tour makes valid (`convert`, then apply) runs on
        // real Kafka Connect too, so its `status --live` and `lag` read real figures.
        mm2_e2e::kafka::mm2::run_every_valid_mm2_for_real();
        eprintln!(
            "mm2-demo: real MirrorMaker 2 in namespace {LIVE_NS} (both directions); every valid MM2 the tour makes runs for real too"
        );
    }
    let kubeconfig = bed.kubeconfig().display().to_string();
    println!("export KUBECONFIG={kubeconfig}");
    eprintln!(
        "mm2-demo: ready in {:.1} s — contexts rciis-aws and rciis-proxmox (namespace rciis-prod); Ctrl-C stops it",
        bed.startup_time().as_secs_f64()
    );
    if let Some(ready) = std::env::var_os("MM2_DEMO_READY").filter(|v| !v.is_empty()) {
        let ready = std::path::PathBuf::from(ready);
        let tmp = ready.with_extension("tmp");
        if let Err(e) =
            std::fs::write(&tmp, format!("{kubeconfig}\n")).and_then(|_| std::fs::rename(&tmp, &ready))
        {
            eprintln!("mm2-demo: cannot write {}: {e}", ready.display());
        }
    }
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mm2-demo: {e}");
            std::process::exit(1);
        }
    };
    rt.block_on(async {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("mm2-demo: cannot watch SIGTERM: {e}");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    });
    eprintln!("mm2-demo: stopping");
    // Not a plain return: the harness's atexit handler kills the API servers, etcd and
    // controller managers it started and removes the bed folder.
    std::process::exit(0)
}
