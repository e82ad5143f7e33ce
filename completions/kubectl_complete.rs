//! `kubectl_complete-mm2` / `kubectl_complete-clusterset` for `cargo install`: kubectl (≥ 1.26)
//! runs this when completing `kubectl <plugin> ...`; it hands the words to the plugin itself,
//! `kubectl-<plugin> __complete ...`, preferring the plugin installed in the same directory.
//!
//! One source for both packages: the plugin name comes from the binary's own name
//! (`[[bin]] name = "kubectl_complete-mm2", path = "../completions/kubectl_complete.rs"`).

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let name = env!("CARGO_BIN_NAME");
    let plugin = name.strip_prefix("kubectl_complete-").unwrap_or(name);
    let exe = format!("kubectl-{plugin}{}", std::env::consts::EXE_SUFFIX);
    let program = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join(&exe)))
        .filter(|p| p.is_file())
        .map(|p| p.into_os_string())
        .unwrap_or_else(|| exe.clone().into());
    let mut cmd = Command::new(program);
    cmd.arg("__complete").args(std::env::args_os().skip(1));
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        let err = cmd.exec();
        eprintln!("{name}: cannot run {exe}: {err}");
        ExitCode::FAILURE
    }
    #[cfg(not(unix))]
    {
        match cmd.status() {
            Ok(s) if s.success() => ExitCode::SUCCESS,
            Ok(_) => ExitCode::FAILURE,
            Err(err) => {
                eprintln!("{name}: cannot run {exe}: {err}");
                ExitCode::FAILURE
            }
        }
    }
}
