//! `mm2-demo`: the end-to-end test bed as a local demo. Two Kubernetes API servers (`aws`,
//! `proxmox`) with the runbook's KafkaMirrorMaker2s, Kafkas, users and Secrets in `rciis-prod`,
//! and the simulated Strimzi operator keeping their status, until Ctrl-C (SIGINT) or SIGTERM.
//!
//! It must run inside a private network namespace like the tests; `scripts/demo.sh` builds it,
//! starts it there and gives you a shell (or the `nsenter` line) to reach it.
//!
//! Prints `export KUBECONFIG=<path>` on stdout once everything is ready; with
//! `MM2_DEMO_READY=<file>` it also writes the kubeconfig path to that file (for scripts).

use std::process::ExitCode;

fn main() -> ExitCode {
    let bed = match std::panic::catch_unwind(mm2_e2e::bed) {
        Ok(b) => b,
        Err(_) => {
            eprintln!("mm2-demo: the test bed did not start (see above)");
            // `exit` runs the harness's clean-up (kills what it started, removes the bed folder).
            std::process::exit(1);
        }
    };
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
