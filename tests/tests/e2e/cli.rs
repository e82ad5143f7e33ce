//! Running the real plugin binaries as a user would: a process, a kubeconfig, no terminal.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a run printed and returned.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Out {
    /// Everything the user saw.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} after {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.elapsed, self.stdout, self.stderr
        )
    }
}

/// Run `bin` (kubectl-mm2, kubectl-clusterset) with `KUBECONFIG=kubeconfig`, stdin closed,
/// colour off, and no clusterset config file from the machine.
pub fn run(bin: &str, kubeconfig: &Path, args: &[&str]) -> Out {
    let start = Instant::now();
    let out = Command::new(mm2_e2e::product_bin(bin))
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("NO_COLOR", "1")
        .env("XDG_CONFIG_HOME", "/nonexistent-config")
        .env_remove("MM2_CLUSTERSET_CONFIG")
        .stdin(Stdio::null())
        .output()
        .expect("run plugin");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// `kubectl-mm2 ARGS` against the bed's admin kubeconfig.
pub fn mm2(args: &[&str]) -> Out {
    run("kubectl-mm2", mm2_e2e::bed().kubeconfig(), args)
}
