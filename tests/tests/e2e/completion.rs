//! Shell completion as users get it: the real `kubectl` (v1.32) running `kubectl_complete-mm2`
//! for `kubectl mm2 <TAB>`, kubectl's own bash script on top, and the clap-generated bash script
//! for people who call `kubectl-mm2` directly. Live candidates come from the bed; a dead cluster
//! must not make the shell wait.

use mm2_e2e::{DEFAULT_NS, bed};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A PATH directory as `cargo install` + the release archive lay it out: the two plugins and the
/// sh shims from `completions/`.
struct PluginDir {
    dir: tempfile::TempDir,
    /// A fresh completion cache per test.
    cache: tempfile::TempDir,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

impl PluginDir {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("mm2-completion-")
            .tempdir()
            .expect("tempdir");
        for p in ["mm2", "clusterset"] {
            let exe = format!("kubectl-{p}");
            std::os::unix::fs::symlink(mm2_e2e::product_bin(&exe), dir.path().join(&exe))
                .expect("link plugin");
            let shim = format!("kubectl_complete-{p}");
            std::fs::copy(repo().join("completions").join(&shim), dir.path().join(&shim)).expect("copy shim");
        }
        let cache = tempfile::tempdir().expect("cache dir");
        PluginDir { dir, cache }
    }

    fn path_var(&self) -> String {
        format!("{}:/usr/local/bin:/usr/bin:/bin", self.dir.path().display())
    }

    fn command(&self, program: &str, kubeconfig: &Path) -> Command {
        let mut c = Command::new(program);
        c.env("PATH", self.path_var())
            .env("KUBECONFIG", kubeconfig)
            .env("XDG_CACHE_HOME", self.cache.path())
            .env("XDG_CONFIG_HOME", "/nonexistent-config")
            .env("NO_COLOR", "1")
            .env_remove("MM2_CLUSTERSET_CONFIG")
            .env_remove("MM2_COMPLETION_TTL")
            .env_remove("MM2_COMPLETION_OFFLINE")
            .stdin(Stdio::null());
        c
    }

    /// `kubectl_complete-<plugin> <words...>`: what kubectl runs, timed without kubectl itself
    /// (the image's kubectl is the Cloud SDK dispatcher, which asks the current context's API
    /// server for its version first, and waits ~5 s on a black hole before giving up).
    fn completer(&self, kubeconfig: &Path, plugin: &str, words: &[&str]) -> Answer {
        let start = Instant::now();
        let out = self
            .command(&format!("kubectl_complete-{plugin}"), kubeconfig)
            .args(words)
            .output()
            .expect("run kubectl_complete");
        Answer::parse(&out, start.elapsed())
    }

    /// `kubectl __complete <plugin> <words...>`: what kubectl's shell scripts run on TAB.
    fn kubectl_complete(&self, kubeconfig: &Path, plugin: &str, words: &[&str]) -> Answer {
        let start = Instant::now();
        let out = self
            .command("kubectl", kubeconfig)
            .arg("__complete")
            .arg(plugin)
            .args(words)
            .output()
            .expect("run kubectl");
        Answer::parse(&out, start.elapsed())
    }
}

/// A parsed Cobra answer.
#[derive(Debug)]
struct Answer {
    /// `(value, description)` per line.
    lines: Vec<(String, String)>,
    directive: u32,
    elapsed: Duration,
    stderr: String,
}

impl Answer {
    fn parse(out: &std::process::Output, elapsed: Duration) -> Self {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "kubectl __complete failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut lines: Vec<&str> = stdout.lines().filter(|l| !l.is_empty()).collect();
        let last = lines.pop().unwrap_or_default();
        let directive = last
            .strip_prefix(':')
            .and_then(|d| d.parse().ok())
            .unwrap_or_else(|| panic!("no directive line in {stdout:?}"));
        Answer {
            lines: lines
                .iter()
                .map(|l| match l.split_once('\t') {
                    Some((v, d)) => (v.to_string(), d.to_string()),
                    None => (l.to_string(), String::new()),
                })
                .collect(),
            directive,
            elapsed,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn values(&self) -> Vec<&str> {
        self.lines.iter().map(|(v, _)| v.as_str()).collect()
    }

    fn has(&self, v: &str) -> bool {
        self.values().contains(&v)
    }
}

fn no_kubeconfig() -> PathBuf {
    PathBuf::from("/nonexistent/kubeconfig")
}

#[test]
fn kubectl_completes_subcommands_flags_and_values_without_a_cluster() {
    let d = PluginDir::new();
    let a = d.kubectl_complete(&no_kubeconfig(), "mm2", &[""]);
    for sub in [
        "status",
        "pause",
        "resume",
        "scale",
        "lag",
        "restart",
        "offsets",
        "report",
        "doctor",
        "completion",
    ] {
        assert!(a.has(sub), "{sub} missing: {a:?}");
    }
    assert_eq!(a.directive, 4 | 32, "NoFileComp + KeepOrder");
    assert!(
        a.lines.iter().any(|(v, d)| v == "pause" && d.contains("Pause")),
        "{a:?}"
    );

    let a = d.kubectl_complete(&no_kubeconfig(), "mm2", &["pa"]);
    assert_eq!(a.values(), vec!["pause"]);

    let a = d.kubectl_complete(&no_kubeconfig(), "mm2", &["pause", "--c"]);
    assert!(a.has("--connector") && a.has("--context"), "{a:?}");
    assert!(!a.has("--all-namespaces"), "prefix filtered: {a:?}");

    let a = d.kubectl_complete(&no_kubeconfig(), "mm2", &["status", "-o", ""]);
    assert_eq!(a.values(), vec!["table", "wide", "json", "yaml"]);

    let a = d.kubectl_complete(&no_kubeconfig(), "mm2", &["pause", "--connector", ""]);
    assert_eq!(a.values(), vec!["source", "checkpoint", "heartbeat", "all"]);

    let a = d.kubectl_complete(&no_kubeconfig(), "mm2", &["doctor", "--only", ""]);
    assert_eq!(a.values(), mm2_core::doctor::Check::NAMES.to_vec(), "{a:?}");

    let a = d.kubectl_complete(&no_kubeconfig(), "mm2", &["completion", ""]);
    assert!(
        a.has("kubectl") && a.has("bash") && a.has("zsh") && a.has("fish"),
        "{a:?}"
    );

    let a = d.kubectl_complete(&no_kubeconfig(), "clusterset", &[""]);
    for sub in ["export", "resolve", "copy-secret", "completion"] {
        assert!(a.has(sub), "{sub} missing: {a:?}");
    }
}

#[test]
fn live_directions_are_offered_without_a_shell_redirect() {
    let d = PluginDir::new();
    let kc = bed().kubeconfig();
    let a = d.kubectl_complete(kc, "mm2", &["pause", ""]);
    assert_eq!(
        a.values(),
        vec!["aws:proxmox", "proxmox:aws"],
        "{a:?}\n{}",
        a.stderr
    );
    assert!(
        a.lines.iter().all(|(v, _)| !v.contains('>') && !v.contains('<')),
        "{a:?}"
    );
    assert!(
        a.lines[1].1.starts_with("proxmox->aws"),
        "the description shows the arrow: {a:?}"
    );
    assert_eq!(a.directive & 4, 4, "never fall back to file names");

    // The other safe spellings appear once the word leads there.
    let a = d.kubectl_complete(kc, "mm2", &["resume", "proxmox-"]);
    assert_eq!(a.values(), vec!["proxmox-to-aws"]);
    let a = d.kubectl_complete(kc, "mm2", &["status", "mm2-a"]);
    assert_eq!(a.values(), vec!["mm2-aws-to-proxmox"]);
    let a = d.kubectl_complete(kc, "mm2", &["scale", "aws"]);
    assert_eq!(a.values(), vec!["aws:proxmox"]);

    // Every spelling offered is one the plugin accepts.
    for form in ["aws:proxmox", "proxmox-to-aws", "mm2-aws-to-proxmox"] {
        let out = d
            .command("kubectl", kc)
            .args(["mm2", "status", form, "-o", "json"])
            .output()
            .expect("kubectl mm2 status");
        // 0 healthy, 3 degraded: either way the direction was understood (1/2 would be an error).
        assert!(
            matches!(out.status.code(), Some(0 | 3)) && !out.stdout.is_empty(),
            "status {form}: {:?}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn live_contexts_namespaces_secrets_services_and_exports() {
    let d = PluginDir::new();
    let kc = bed().kubeconfig();

    let a = d.kubectl_complete(kc, "mm2", &["status", "--context", ""]);
    for c in ["rciis-aws", "rciis-proxmox", "viewer@rciis-aws"] {
        assert!(a.has(c), "{c}: {a:?}");
    }
    let a = d.kubectl_complete(kc, "mm2", &["status", "--context", "rciis-aws,rciis-p"]);
    assert_eq!(a.values(), vec!["rciis-aws,rciis-proxmox"]);

    let a = d.kubectl_complete(kc, "mm2", &["status", "-n", ""]);
    for ns in [DEFAULT_NS, "flux-system", "kube-system"] {
        assert!(a.has(ns), "{ns}: {a:?}\n{}", a.stderr);
    }
    let a = d.kubectl_complete(
        kc,
        "mm2",
        &["--context", "rciis-proxmox", "status", "--namespace=rciis"],
    );
    assert!(a.has("--namespace=rciis-prod"), "{a:?}");

    let a = d.kubectl_complete(kc, "clusterset", &["copy-secret", "--from", "rciis-proxmox", ""]);
    assert!(a.has("mm2-user"), "{a:?}\n{}", a.stderr);
    let a = d.kubectl_complete(kc, "clusterset", &["copy-secret", "--from", ""]);
    assert!(a.has("rciis-aws") && a.has("rciis-proxmox"), "{a:?}");

    let a = d.kubectl_complete(kc, "clusterset", &["export", ""]);
    assert!(
        a.has("kafka-bootstrap-aws"),
        "services of the current context (rciis-aws): {a:?}\n{}",
        a.stderr
    );
    let a = d.kubectl_complete(kc, "clusterset", &["export", "--kafka", ""]);
    assert!(a.has(mm2_e2e::fixtures::KAFKA), "{a:?}\n{}", a.stderr);

    let a = d.kubectl_complete(kc, "clusterset", &["resolve", ""]);
    assert!(
        a.has("kafka-bootstrap-aws") && a.has("kafka-bootstrap-proxmox"),
        "exports of every cluster: {a:?}\n{}",
        a.stderr
    );
}

/// A copy of the bed's kubeconfig where every cluster is the black hole (TCP accepts, TLS never
/// completes).
fn all_dead_kubeconfig(dir: &Path) -> PathBuf {
    let b = bed();
    let mut v = b.kubeconfig_value().clone();
    for c in v["clusters"].as_array_mut().expect("clusters") {
        c["cluster"]["server"] = json!(format!("https://{}", b.black_hole_addr()));
    }
    let p = dir.join("all-dead.kubeconfig");
    std::fs::write(&p, serde_json::to_string(&v).expect("json")).expect("write kubeconfig");
    p
}

#[test]
fn a_dead_cluster_never_makes_the_shell_wait() {
    let d = PluginDir::new();
    let half = bed().kubeconfig_with_dead_context("aws");

    // Static candidates: no cluster is asked at all.
    let a = d.completer(&half, "mm2", &["pause", "--"]);
    assert!(a.has("--connector"), "{a:?}");
    assert!(
        a.elapsed < Duration::from_secs(1),
        "static completion took {:?}",
        a.elapsed
    );

    // Live: aws is a black hole; proxmox still answers within the 2 s budget.
    let a = d.completer(&half, "mm2", &["pause", ""]);
    assert!(
        a.elapsed < Duration::from_millis(3500),
        "live completion took {:?}",
        a.elapsed
    );
    assert!(
        a.has("proxmox:aws"),
        "the reachable cluster's direction: {a:?}\n{}",
        a.stderr
    );

    // The answer (and the failure) are cached: the next TAB is immediate.
    let again = d.completer(&half, "mm2", &["pause", ""]);
    assert!(
        again.elapsed < Duration::from_secs(1),
        "cached completion took {:?}",
        again.elapsed
    );
    assert_eq!(again.values(), a.values());

    eprintln!(
        "completion timings: live with aws dead {:?}, cached {:?}",
        a.elapsed, again.elapsed
    );

    // kubectl passes the same answer through (not timed: see `completer`).
    let via = d.kubectl_complete(&half, "mm2", &["pause", ""]);
    assert_eq!(via.values(), a.values());

    // Nothing reachable: still bounded, and a guess from the context names beats nothing.
    let dir = tempfile::tempdir().expect("tempdir");
    let dead = all_dead_kubeconfig(dir.path());
    let a = d.completer(&dead, "mm2", &["resume", ""]);
    assert!(a.elapsed < Duration::from_millis(3500), "took {:?}", a.elapsed);
    assert_eq!(a.values(), vec!["aws:proxmox", "proxmox:aws"], "{a:?}");
    let again = d.completer(&dead, "mm2", &["resume", ""]);
    assert_eq!(again.values(), a.values(), "the cached failure still guesses");
    assert!(again.elapsed < Duration::from_secs(1), "{:?}", again.elapsed);
    let a = d.completer(&dead, "mm2", &["status", "-n", ""]);
    assert!(
        a.lines.is_empty() && a.elapsed < Duration::from_millis(3500),
        "{a:?}"
    );
    let a = d.completer(&dead, "mm2", &["status", "-n", ""]);
    assert!(
        a.elapsed < Duration::from_secs(1),
        "failed lookups are remembered: {:?}",
        a.elapsed
    );
}

/// Runs `script` in a non-interactive bash with PATH set to the plugin dir.
fn bash(d: &PluginDir, kubeconfig: &Path, script: &str) -> String {
    let out = d
        .command("bash", kubeconfig)
        .args(["--norc", "--noprofile", "-c", script])
        .env("COLUMNS", "200")
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "bash failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn clap_bash_script_completes_the_binary_called_directly() {
    let d = PluginDir::new();
    let kc = no_kubeconfig();
    for (bin, words, cword, want) in [
        ("kubectl-mm2", "kubectl-mm2 st", 1, vec!["status"]),
        (
            "kubectl-mm2",
            "kubectl-mm2 pause --connector ''",
            3,
            vec!["source", "checkpoint", "heartbeat", "all"],
        ),
        (
            "kubectl-mm2",
            "kubectl-mm2 status -o ''",
            3,
            vec!["table", "wide", "json", "yaml"],
        ),
        (
            "kubectl-mm2",
            "kubectl-mm2 resume --sus",
            2,
            vec!["--suspend-flux"],
        ),
        (
            "kubectl-clusterset",
            "kubectl-clusterset copy-secret --fr",
            2,
            vec!["--from"],
        ),
    ] {
        let script = format!(
            r#"set -e
{bin} completion bash > "$XDG_CACHE_HOME/{bin}.bash"
source "$XDG_CACHE_HOME/{bin}.bash"
fn=$(sed -n 's/^ *complete -F \([^ ]*\) .*/\1/p' "$XDG_CACHE_HOME/{bin}.bash" | head -n1)
COMP_WORDS=({words}); COMP_CWORD={cword}
cur="${{COMP_WORDS[COMP_CWORD]}}"; prev="${{COMP_WORDS[COMP_CWORD-1]}}"
COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}
"$fn" {bin} "$cur" "$prev"
printf '%s\n' "${{COMPREPLY[@]}}""#
        );
        let got = bash(&d, &kc, &script);
        let got: Vec<&str> = got.lines().collect();
        assert_eq!(got, want, "{words}");
    }
}

/// kubectl's own bash completion (`kubectl completion bash`, cobra's v2 script) on top of the
/// plugin: what a user's TAB inserts. bash-completion's `_get_comp_words_by_ref` is stubbed the
/// way it behaves with `-n =:` (no word splitting on `:`), so `proxmox:aws` stays one word.
#[test]
fn kubectl_bash_completion_inserts_safe_directions() {
    let d = PluginDir::new();
    let script = r#"
_get_comp_words_by_ref() { cur="${COMP_WORDS[COMP_CWORD]}"; prev="${COMP_WORDS[COMP_CWORD-1]}"; words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
compopt() { :; }
source <(kubectl completion bash)
complete_line() {
  COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMP_TYPE=9
  COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  __start_kubectl kubectl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
  printf '%s\n' "${COMPREPLY[@]}"; echo ---
}
complete_line kubectl mm2 pause ''
complete_line kubectl mm2 pause proxm
complete_line kubectl mm2 pa
"#;
    let out = bash(&d, bed().kubeconfig(), script);
    let parts: Vec<Vec<&str>> = out
        .split("---\n")
        .map(|p| p.lines().filter(|l| !l.is_empty()).collect())
        .collect();
    // Several candidates: shown with their descriptions.
    assert_eq!(parts[0].len(), 2, "{out}");
    assert!(
        parts[0][0].starts_with("aws:proxmox") && parts[0][0].contains("(aws->proxmox"),
        "{out}"
    );
    // One candidate: exactly the word inserted, no `>` anywhere.
    assert_eq!(parts[1], vec!["proxmox:aws"], "{out}");
    assert_eq!(parts[2], vec!["pause"], "{out}");
}

#[test]
fn completion_kubectl_install_links_beside_the_plugin_idempotently() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("mkdir");
    std::os::unix::fs::symlink(mm2_e2e::product_bin("kubectl-mm2"), bin.join("kubectl-mm2")).expect("link");
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
    let run = |args: &[&str]| {
        let out = Command::new("kubectl")
            .args(args)
            .env("PATH", &path)
            .env("KUBECONFIG", no_kubeconfig())
            .env("XDG_CACHE_HOME", dir.path().join("cache"))
            .stdin(Stdio::null())
            .output()
            .expect("kubectl");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Through kubectl's dispatch, as krew users run it.
    let first = run(&["mm2", "completion", "kubectl", "--install"]);
    let link = bin.join("kubectl_complete-mm2");
    assert!(
        first.contains(&format!("installed {}", link.display())),
        "{first}"
    );
    assert_eq!(
        std::fs::read_link(&link).expect("symlink"),
        PathBuf::from("kubectl-mm2")
    );
    let second = run(&["mm2", "completion", "kubectl", "--install"]);
    assert!(second.contains("already installed"), "{second}");
    // kubectl now finds it, and the plugin answers under that name.
    let a = run(&["__complete", "mm2", "sta"]);
    assert!(
        a.starts_with("status\t") && a.ends_with("\n:36\n") && a.lines().count() == 2,
        "{a}"
    );

    // Without --install: the shim on stdout, identical to the committed one.
    let shim = run(&["mm2", "completion", "kubectl"]);
    let committed = std::fs::read_to_string(repo().join("completions/kubectl_complete-mm2")).expect("shim");
    assert_eq!(shim, committed);
}
