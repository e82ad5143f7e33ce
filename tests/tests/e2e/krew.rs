//! krew packaging without krew (it cannot be downloaded here): `scripts/release.sh` packs the
//! built binaries and fills the manifest templates in `plugins/`; the manifests are checked the
//! way krew's validation and the krew-index review do, and an install into a krew-shaped
//! `$KREW_ROOT` is run through the real `kubectl` plugin dispatch.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

const PLUGINS: [&str; 2] = ["mm2", "clusterset"];
/// krew's `os`/`arch` values are Go's GOOS/GOARCH.
const GOOS: [&str; 3] = ["linux", "darwin", "windows"];
const GOARCH: [&str; 2] = ["amd64", "arm64"];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn workspace_version() -> String {
    let cargo = std::fs::read_to_string(repo().join("Cargo.toml")).expect("Cargo.toml");
    let section = cargo
        .split("[workspace.package]")
        .nth(1)
        .expect("[workspace.package]");
    let line = section
        .lines()
        .find(|l| l.trim_start().starts_with("version"))
        .expect("version");
    format!("v{}", line.split('"').nth(1).expect("quoted version"))
}

/// The release directory, made once per test process from the binaries under test.
fn release() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = tempfile::Builder::new()
            .prefix("mm2-release-")
            .tempdir()
            .expect("tempdir")
            .keep();
        mm2_e2e::procs::remove_at_exit(&out);
        let bin_dir = mm2_e2e::product_bin("kubectl-mm2")
            .parent()
            .expect("bin dir")
            .to_path_buf();
        let o = Command::new("bash")
            .arg(repo().join("scripts/release.sh"))
            .arg("--bin-dir")
            .arg(&bin_dir)
            .arg("--out")
            .arg(&out)
            .stdin(Stdio::null())
            .output()
            .expect("run release.sh");
        assert!(
            o.status.success(),
            "release.sh failed:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        out
    })
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()))
}

fn sha256(path: &Path) -> String {
    let o = Command::new("sha256sum").arg(path).output().expect("sha256sum");
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// `(path, mode)` of every member of a .tar.gz.
fn tar_members(archive: &Path) -> Vec<(String, String)> {
    let o = Command::new("tar")
        .arg("tzvf")
        .arg(archive)
        .output()
        .expect("tar");
    assert!(o.status.success(), "tar tzvf {}", archive.display());
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (
                f.last().unwrap_or(&"").trim_start_matches("./").to_string(),
                f[0].to_string(),
            )
        })
        .filter(|(p, _)| !p.is_empty())
        .collect()
}

/// The checks krew (`pkg/index/validation`) and the krew-index reviewers apply to a manifest.
fn check_manifest(m: &Value, plugin: &str, file: &str, template: bool) {
    assert_eq!(
        m["apiVersion"], "krew.googlecontainertools.github.com/v1alpha2",
        "{file}"
    );
    assert_eq!(m["kind"], "Plugin", "{file}");
    assert_eq!(
        m["metadata"]["name"], plugin,
        "{file}: metadata.name must equal the file name"
    );
    let name = plugin;
    assert!(
        name.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.starts_with("kube"),
        "{file}: krew names are lowercase kebab-case without a kube prefix"
    );
    let spec = &m["spec"];
    for field in ["version", "homepage", "shortDescription", "description"] {
        assert!(
            spec[field].as_str().is_some_and(|s| !s.trim().is_empty()),
            "{file}: spec.{field} missing"
        );
    }
    let short = spec["shortDescription"].as_str().unwrap_or_default();
    assert!(
        short.len() <= 60,
        "{file}: shortDescription is meant to be a few words ({short:?})"
    );
    assert!(
        spec["homepage"]
            .as_str()
            .unwrap_or_default()
            .starts_with("https://"),
        "{file}: homepage"
    );
    let desc = spec["description"].as_str().unwrap_or_default();
    match plugin {
        "mm2" => assert!(
            desc.contains("Strimzi") && desc.contains("MirrorMaker2"),
            "{file}: say it is for Strimzi MM2"
        ),
        _ => assert!(
            desc.contains("Multi-Cluster Services") && desc.contains("cluster set"),
            "{file}: say it is for MCS"
        ),
    }
    let platforms = spec["platforms"]
        .as_array()
        .unwrap_or_else(|| panic!("{file}: spec.platforms"));
    assert!(!platforms.is_empty(), "{file}: no platform");
    let mut seen = BTreeSet::new();
    for p in platforms {
        let labels = &p["selector"]["matchLabels"];
        let (os, arch) = (
            labels["os"].as_str().unwrap_or_default(),
            labels["arch"].as_str().unwrap_or_default(),
        );
        assert!(
            GOOS.contains(&os) && GOARCH.contains(&arch),
            "{file}: selector {labels}"
        );
        assert!(
            seen.insert((os, arch)),
            "{file}: two platforms select {os}/{arch}"
        );
        let bin = p["bin"].as_str().unwrap_or_default();
        let want = if os == "windows" {
            format!("kubectl-{plugin}.exe")
        } else {
            format!("kubectl-{plugin}")
        };
        assert_eq!(bin, want, "{file}: bin of {os}/{arch}");
        let uri = p["uri"].as_str().unwrap_or_default();
        assert!(
            template || uri.ends_with(".tar.gz") || uri.ends_with(".zip"),
            "{file}: krew downloads .tar.gz or .zip, got {uri}"
        );
        assert!(p["sha256"].as_str().is_some(), "{file}: sha256 of {os}/{arch}");
    }
}

#[test]
fn committed_manifests_are_templates_for_every_platform() {
    for plugin in PLUGINS {
        let file = format!("plugins/{plugin}.yaml");
        let m = yaml(&repo().join(&file));
        check_manifest(&m, plugin, &file, true);
        assert_eq!(m["spec"]["version"], "@VERSION@", "{file}");
        let platforms = m["spec"]["platforms"].as_array().expect("platforms");
        assert_eq!(
            platforms.len(),
            5,
            "{file}: linux/darwin × amd64/arm64 and windows/amd64"
        );
        for p in platforms {
            let key = format!(
                "{}_{}",
                p["selector"]["matchLabels"]["os"].as_str().unwrap(),
                p["selector"]["matchLabels"]["arch"].as_str().unwrap()
            );
            assert_eq!(p["uri"], format!("@URI_{key}@"), "{file}");
            assert_eq!(p["sha256"], format!("@SHA256_{key}@"), "{file}");
        }
    }
}

#[test]
fn release_manifests_validate_against_their_archives() {
    let out = release();
    let version = workspace_version();
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).expect("SHA256SUMS");
    for plugin in PLUGINS {
        let file = out.join("plugins").join(format!("{plugin}.yaml"));
        let m = yaml(&file);
        check_manifest(&m, plugin, &file.display().to_string(), false);
        assert_eq!(m["spec"]["version"], version.as_str());
        let text = std::fs::read_to_string(&file).expect("manifest");
        assert!(
            !text.contains('@'),
            "placeholders left in {}:\n{text}",
            file.display()
        );
        let platforms = m["spec"]["platforms"].as_array().expect("platforms");
        assert!(
            platforms
                .iter()
                .any(|p| p["selector"]["matchLabels"]["os"] == "linux"
                    && p["selector"]["matchLabels"]["arch"] == "amd64"),
            "linux/amd64 is always built"
        );
        for p in platforms {
            let uri = p["uri"].as_str().expect("uri");
            assert!(uri.contains(&format!("/{version}/")), "{uri}");
            let archive = out.join(uri.rsplit('/').next().expect("file name"));
            assert!(
                archive.is_file(),
                "{} referenced by {} is missing",
                archive.display(),
                file.display()
            );
            let sum = sha256(&archive);
            assert_eq!(p["sha256"], sum.as_str(), "sha256 of {}", archive.display());
            assert!(sums.contains(&sum), "SHA256SUMS lacks {}", archive.display());
            if uri.ends_with(".tar.gz") {
                let members = tar_members(&archive);
                let bin = p["bin"].as_str().expect("bin");
                let (_, mode) = members
                    .iter()
                    .find(|(path, _)| path == bin)
                    .unwrap_or_else(|| panic!("bin {bin} not in {}: {members:?}", archive.display()));
                assert!(
                    mode.starts_with("-rwx"),
                    "{bin} is not executable in the archive ({mode})"
                );
                let shim = format!("kubectl_complete-{plugin}");
                assert!(
                    members.iter().any(|(p, m)| *p == shim && m.starts_with("-rwx")),
                    "{shim} not shipped: {members:?}"
                );
            }
        }
    }
}

#[test]
fn krew_style_install_runs_through_kubectl_dispatch() {
    let out = release();
    let version = workspace_version();
    let root = tempfile::Builder::new()
        .prefix("krew-root-")
        .tempdir()
        .expect("KREW_ROOT");
    let krew_bin = root.path().join("bin");
    std::fs::create_dir_all(&krew_bin).expect("mkdir bin");
    for plugin in PLUGINS {
        // What `kubectl krew install --manifest=... --archive=...` does: unpack the archive into
        // store/<name>/<version>/ (files: default `*` → `.`) and symlink bin/kubectl-<name>.
        let store = root.path().join("store").join(plugin).join(&version);
        std::fs::create_dir_all(&store).expect("mkdir store");
        let archive = out.join(format!("kubectl-{plugin}_linux_amd64.tar.gz"));
        let st = Command::new("tar")
            .arg("xzf")
            .arg(&archive)
            .arg("-C")
            .arg(&store)
            .status()
            .expect("tar");
        assert!(st.success());
        let m = yaml(&out.join("plugins").join(format!("{plugin}.yaml")));
        let bin = m["spec"]["platforms"][0]["bin"]
            .as_str()
            .expect("bin")
            .to_string();
        std::os::unix::fs::symlink(store.join(&bin), krew_bin.join(format!("kubectl-{plugin}")))
            .expect("symlink");
    }
    let path = format!("{}:/usr/local/bin:/usr/bin:/bin", krew_bin.display());
    let kubectl = |args: &[&str]| {
        let o = Command::new("kubectl")
            .args(args)
            .env("PATH", &path)
            .env("KREW_ROOT", root.path())
            .env("KUBECONFIG", "/nonexistent/kubeconfig")
            .env("XDG_CACHE_HOME", root.path().join("cache"))
            .stdin(Stdio::null())
            .output()
            .expect("kubectl");
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let bare = version.trim_start_matches('v');
    for plugin in PLUGINS {
        let (code, stdout, stderr) = kubectl(&[plugin, "--version"]);
        assert_eq!(code, 0, "kubectl {plugin} --version: {stdout}{stderr}");
        assert!(
            stdout.contains(bare),
            "kubectl {plugin} --version printed {stdout:?}"
        );
    }
    let (_, list, _) = kubectl(&["plugin", "list"]);
    for plugin in PLUGINS {
        assert!(
            list.contains(&krew_bin.join(format!("kubectl-{plugin}")).display().to_string()),
            "{list}"
        );
    }
    // The caveat's one-liner: completion for krew users, beside krew's own symlink.
    let (code, stdout, stderr) = kubectl(&["mm2", "completion", "kubectl", "--install"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(krew_bin.join("kubectl_complete-mm2").exists(), "{stdout}");
    let (code, stdout, _) = kubectl(&["__complete", "mm2", "re"]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with("resume\t") && stdout.ends_with(":36\n"),
        "{stdout}"
    );
}
