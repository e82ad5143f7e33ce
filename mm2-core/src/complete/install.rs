//! The `completion` subcommand: clap_complete's static scripts for people who call the binary
//! directly, and the `kubectl_complete-<plugin>` shim (printed, or installed as a symlink beside
//! the plugin) that makes `kubectl <plugin> <TAB>` work. The committed copies live in
//! `completions/`.

use super::{completer_name, plugin_exe};
use clap::Command;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// `kubectl <plugin> completion SHELL [--install [--dir DIR]]`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompletionArgs {
    /// bash, zsh, fish, powershell or elvish: print a completion script for the binary called
    /// directly; kubectl: print (or --install) the kubectl_complete-<plugin> shim that makes
    /// `kubectl <plugin> <TAB>` work
    #[arg(value_name = "SHELL", value_parser = ["kubectl", "bash", "zsh", "fish", "powershell", "elvish"])]
    pub shell: String,
    /// With `kubectl`: place kubectl_complete-<plugin> beside the plugin on PATH (idempotent)
    #[arg(long)]
    pub install: bool,
    /// With --install: the directory to place it in (default: where the plugin is found on PATH)
    #[arg(long, value_name = "DIR", requires = "install")]
    pub dir: Option<PathBuf>,
}

/// Run the `completion` subcommand; returns the exit code.
pub fn run(cmd: Command, args: &CompletionArgs, plugin: &str) -> u8 {
    use clap_complete::Shell;
    let shell = match args.shell.as_str() {
        "kubectl" => return kubectl_completion(args, plugin),
        "bash" => Shell::Bash,
        "zsh" => Shell::Zsh,
        "fish" => Shell::Fish,
        "powershell" => Shell::PowerShell,
        "elvish" => Shell::Elvish,
        other => {
            crate::heprintln!("error: unknown shell '{other}'");
            return 2;
        }
    };
    if args.install {
        crate::heprintln!(
            "error: --install is only for `completion kubectl`; for {} load the script from your shell's startup file",
            args.shell
        );
        return 2;
    }
    let mut cmd = cmd;
    let mut buf = Vec::new();
    let bin = plugin_exe(plugin);
    clap_complete::generate(shell, &mut cmd, bin.clone(), &mut buf);
    if shell == Shell::Bash {
        buf = fix_bash_dashed_bin(String::from_utf8_lossy(&buf).into_owned(), &bin).into_bytes();
    }
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&buf).and_then(|_| stdout.flush()) {
        Ok(()) => 0,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            crate::heprintln!("error: {e}");
            1
        }
    }
}

/// clap_complete 4.6.11's bash script names the per-subcommand `case` arms after the bin name with
/// `-` turned into `__subcmd__` (`kubectl__subcmd__mm2__subcmd__pause`) but tracks the current
/// command with `-` turned into `__` (`kubectl__mm2__subcmd__pause`), so no arm ever matches for
/// a dashed bin name such as `kubectl-mm2`: only the top level completed. Align the arms.
fn fix_bash_dashed_bin(script: String, bin: &str) -> String {
    if !bin.contains('-') {
        return script;
    }
    let broken = format!("{}__subcmd__", bin.replace('-', "__subcmd__"));
    let fixed = format!("{}__subcmd__", bin.replace('-', "__"));
    script.replace(&broken, &fixed)
}

/// The POSIX sh shim shipped as `completions/kubectl_complete-<plugin>`.
pub fn shim_script(plugin: &str) -> String {
    let exe = plugin_exe(plugin);
    let name = completer_name(plugin);
    format!(
        "#!/bin/sh\n\
         # {name}: kubectl (>= 1.26) runs this when completing `kubectl {plugin} ...`.\n\
         # It must be executable and on PATH; {exe} answers in kubectl's __complete protocol.\n\
         # Installed by `kubectl {plugin} completion kubectl --install`, or copy it next to {exe}.\n\
         d=${{0%/*}}\n\
         if [ \"$d\" != \"$0\" ] && [ -x \"$d/{exe}\" ]; then exec \"$d/{exe}\" __complete \"$@\"; fi\n\
         exec {exe} __complete \"$@\"\n"
    )
}

fn kubectl_completion(args: &CompletionArgs, plugin: &str) -> u8 {
    if !args.install {
        crate::hprint!("{}", shim_script(plugin));
        if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            crate::heprintln!(
                "\n# Save this as an executable `{}` on PATH, or run `kubectl {plugin} completion kubectl --install`.",
                completer_name(plugin)
            );
        }
        return 0;
    }
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let plugin_path = locate_plugin(&argv0, plugin);
    let dir = match args.dir.clone().or_else(|| {
        plugin_path
            .as_ref()
            .and_then(|p| p.parent().map(Path::to_path_buf))
    }) {
        Some(d) => d,
        None => {
            crate::heprintln!(
                "error: cannot tell where {} is on PATH; pass --dir DIR",
                plugin_exe(plugin)
            );
            return 1;
        }
    };
    match install_completer(&dir, plugin, plugin_path.as_deref()) {
        Ok((path, changed)) => {
            if changed {
                crate::hprintln!("installed {}", path.display());
            } else {
                crate::hprintln!("already installed: {}", path.display());
            }
            if !on_path(&dir) {
                crate::heprintln!(
                    "warning: {} is not on PATH; kubectl only finds {} there",
                    dir.display(),
                    completer_name(plugin)
                );
            }
            crate::hprintln!(
                "kubectl now completes `kubectl {plugin} <TAB>` once kubectl's own completion is loaded (e.g. `source <(kubectl completion bash)`)"
            );
            0
        }
        Err(e) => {
            crate::heprintln!("error: cannot install into {}: {e}", dir.display());
            1
        }
    }
}

/// Where the plugin runs from, without resolving symlinks (krew's `~/.krew/bin/kubectl-mm2` is a
/// symlink into a versioned store directory that is not on PATH).
pub fn locate_plugin(argv0: &std::ffi::OsStr, plugin: &str) -> Option<PathBuf> {
    let p = Path::new(argv0);
    if p.components().count() > 1 {
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().ok()?.join(p)
        };
        if abs
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("kubectl-"))
        {
            return Some(abs);
        }
    }
    let exe = format!("{}{}", plugin_exe(plugin), std::env::consts::EXE_SUFFIX);
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join(&exe))
        .find(|p| p.is_file())
        .or_else(|| std::env::current_exe().ok())
}

fn on_path(dir: &Path) -> bool {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let want = canon(dir);
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|d| canon(&d) == want)
}

/// Place `kubectl_complete-<plugin>` in `dir`: a relative symlink to the plugin when it sits in the
/// same directory (survives krew upgrades, which re-point the plugin's own symlink), else a
/// symlink to `plugin_path`. Returns the path and whether anything changed. An existing file that
/// is neither our symlink nor our shim is left alone.
pub fn install_completer(
    dir: &Path,
    plugin: &str,
    plugin_path: Option<&Path>,
) -> std::io::Result<(PathBuf, bool)> {
    let exe = format!("{}{}", plugin_exe(plugin), std::env::consts::EXE_SUFFIX);
    let target: PathBuf = if dir.join(&exe).exists() {
        PathBuf::from(&exe)
    } else {
        match plugin_path {
            Some(p) if p.is_absolute() => p.to_path_buf(),
            Some(p) => std::env::current_dir()?.join(p),
            None => std::env::current_exe()?,
        }
    };
    std::fs::create_dir_all(dir)?;
    install_link(dir, plugin, &target)
}

#[cfg(unix)]
fn install_link(dir: &Path, plugin: &str, target: &Path) -> std::io::Result<(PathBuf, bool)> {
    let link = dir.join(completer_name(plugin));
    match std::fs::symlink_metadata(&link) {
        Ok(m) if m.file_type().is_symlink() => {
            if std::fs::read_link(&link)? == target {
                return Ok((link, false));
            }
        }
        Ok(_) => {
            let text = std::fs::read_to_string(&link).unwrap_or_default();
            if text == shim_script(plugin) {
                return Ok((link, false));
            }
            if !text.contains("__complete") {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    format!(
                        "{} exists and is not a completion shim; remove it first",
                        link.display()
                    ),
                ));
            }
        }
        Err(_) => {}
    }
    // Replace atomically: make the new link beside it, then rename over.
    let tmp = dir.join(format!(".{}.tmp{}", completer_name(plugin), std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, &link)?;
    Ok((link, true))
}

#[cfg(not(unix))]
fn install_link(dir: &Path, plugin: &str, target: &Path) -> std::io::Result<(PathBuf, bool)> {
    // Windows: kubectl finds `kubectl_complete-mm2.cmd` through PATHEXT.
    let link = dir.join(format!("{}.cmd", completer_name(plugin)));
    let body = format!("@\"{}\" __complete %*\r\n", dir.join(target).display());
    if std::fs::read_to_string(&link).is_ok_and(|t| t == body) {
        return Ok((link, false));
    }
    std::fs::write(&link, body)?;
    Ok((link, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_shims_match_the_generator() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("completions");
        for plugin in ["mm2", "clusterset"] {
            let path = root.join(completer_name(plugin));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(text, shim_script(plugin), "regenerate {}", path.display());
        }
    }

    #[cfg(unix)]
    #[test]
    fn install_is_idempotent_and_relative() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("kubectl-mm2");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        let (link, changed) = install_completer(dir.path(), "mm2", Some(&exe)).unwrap();
        assert!(changed);
        assert_eq!(std::fs::read_link(&link).unwrap(), PathBuf::from("kubectl-mm2"));
        let (_, changed) = install_completer(dir.path(), "mm2", Some(&exe)).unwrap();
        assert!(!changed);
        // Somebody else's file is left alone.
        std::fs::remove_file(&link).unwrap();
        std::fs::write(&link, "#!/bin/sh\necho mine\n").unwrap();
        assert!(install_completer(dir.path(), "mm2", Some(&exe)).is_err());
    }
}
