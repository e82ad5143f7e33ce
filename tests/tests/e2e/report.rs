//! `kubectl mm2 report` against the bed: the archive is unpacked with GNU tar (so its format is
//! proven readable by the tool an engineer will use), every listed part is looked for in both
//! contexts, and the whole tree is searched for the bed's Secret values and for escape bytes.

use crate::cli::{Out, run};
use mm2_core::clusterset::secret::base64_engine;
use mm2_e2e::doubles::{CONNECT_PORT, METRICS_PORT, PodKey};
use mm2_e2e::fixtures::{self, Runbook, mm2_pods};
use mm2_e2e::kubelet::Fault;
use mm2_e2e::{HttpResponse, bed};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const CONTEXTS: [(&str, &str); 2] = [("aws", "rciis-aws"), ("proxmox", "rciis-proxmox")];

/// Every list file each namespace folder holds.
const LISTS: [&str; 13] = [
    "kafkamirrormaker2s",
    "kafkas",
    "kafkanodepools",
    "kafkausers",
    "pods",
    "events",
    "services",
    "serviceexports",
    "serviceimports",
    "endpointslices",
    "configmaps",
    "secrets",
    "flux-kustomizations",
];

fn assert_code(o: &Out, code: i32) {
    assert_eq!(o.code, code, "{o}");
}

/// The unpacked archive: path below the top folder → bytes.
struct Unpacked {
    root: String,
    files: BTreeMap<String, Vec<u8>>,
}

impl Unpacked {
    fn open(archive: &Path) -> Unpacked {
        let dir = tempfile::tempdir().expect("tempdir");
        let st = Command::new("tar")
            .arg("-xzf")
            .arg(archive)
            .arg("-C")
            .arg(dir.path())
            .status()
            .expect("run tar");
        assert!(st.success(), "GNU tar cannot unpack {}", archive.display());
        let tops: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(tops.len(), 1, "one top folder: {tops:?}");
        let root = tops[0].file_name().unwrap().to_string_lossy().into_owned();
        let mut files = BTreeMap::new();
        walk(&tops[0], &tops[0], &mut files);
        Unpacked { root, files }
    }

    fn text(&self, path: &str) -> String {
        let b = self
            .files
            .get(path)
            .unwrap_or_else(|| panic!("{path} not in the archive; it has:\n{}", self.listing()));
        String::from_utf8(b.clone()).expect("UTF-8")
    }

    fn has(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    fn listing(&self) -> String {
        self.files.keys().cloned().collect::<Vec<_>>().join("\n")
    }

    /// No file holds any of `needles`.
    fn assert_free_of(&self, needles: &[String]) {
        for (path, bytes) in &self.files {
            let text = String::from_utf8_lossy(bytes);
            for n in needles {
                assert!(!text.contains(n.as_str()), "{path} holds a Secret value");
            }
        }
    }

    /// Not one escape byte or control character other than newline and tab, in any file.
    fn assert_no_escapes(&self) {
        for (path, bytes) in &self.files {
            if let Some(b) = bytes
                .iter()
                .find(|b| (**b < 0x20 && **b != b'\n' && **b != b'\t') || **b == 0x7f)
            {
                panic!("{path} holds control byte {b:#04x}");
            }
            let text = String::from_utf8_lossy(bytes);
            assert!(
                !text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)),
                "{path} holds a C1 control character"
            );
        }
    }
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(root, &p, out);
        } else {
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            out.insert(rel, std::fs::read(&p).unwrap());
        }
    }
}

/// Every form a Secret value of the bed could take in the archive.
fn secret_forms(rb: &Runbook) -> Vec<String> {
    let mut out = Vec::new();
    for pw in rb.passwords.values() {
        out.push(pw.clone());
        out.push(base64_engine::encode(pw.as_bytes()));
    }
    out
}

/// The report command on `kubeconfig`, written to a fresh file.
fn report(kubeconfig: &Path, ns: &str, extra: &[&str]) -> (Out, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("report.tar.gz");
    let f = file.to_string_lossy().into_owned();
    let mut args = vec!["report", "-n", ns, "-f", f.as_str(), "-o", "json"];
    args.extend_from_slice(extra);
    let out = run("kubectl-mm2", kubeconfig, &args);
    (out, file, dir)
}

/// The worker pods of the MM2 running in `alias`, with the working layout.
fn workers_in(rb: &Runbook, alias: &str) -> Vec<String> {
    let source = mm2_e2e::Bed::peer(alias);
    let (home, name) = rb.mm2_of(source);
    assert_eq!(home, alias);
    mm2_pods(&name, 2)
}

/// The one container of an MM2 worker pod (`<mm2>-mirrormaker2-<i>` runs `<mm2>-mirrormaker2`).
fn container_of(pod: &str) -> &str {
    pod.rsplit_once('-').map(|(c, _)| c).unwrap()
}

fn missing_parts(o: &Out) -> Vec<(String, String, String)> {
    o.json()["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["context"].as_str().unwrap_or_default().to_string(),
                m["part"].as_str().unwrap().to_string(),
                m["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn report_of_the_deployment_holds_every_part_for_both_contexts_and_no_secret() {
    let ns = "t-report-full";
    let rb = fixtures::install_working(bed(), ns).await.expect("install");
    // A scrape that carries a Secret value and terminal escapes, as a misbehaving exporter or a
    // log line might: neither may reach the archive.
    let pw = rb.password("aws").to_string();
    let pod = workers_in(&rb, "aws")[0].clone();
    bed().doubles().set_metrics(
        "aws",
        ns,
        &pod,
        format!(
            "# HELP leak \u{1b}[31mred\u{1b}[0m\nleak{{pw=\"{pw}\",jaas=\"password=\\\"x1y2z3w4\\\"\"}} 1.0\n"
        ),
    );

    let (out, file, _dir) = report(bed().kubeconfig(), ns, &[]);
    bed().doubles().clear_metrics("aws", ns, &pod);
    assert_code(&out, 0);
    let doc = out.json();
    assert_eq!(doc["schema"], "kubectl-mm2.dev/report/v1");
    assert_eq!(doc["complete"], true, "{out}");
    assert_eq!(doc["file"], file.to_string_lossy().as_ref());
    let a = Unpacked::open(&file);
    assert_eq!(a.root, doc["root"].as_str().unwrap());

    for f in ["README.txt", "status.json", "lag.json"] {
        assert!(a.has(f), "{f} missing:\n{}", a.listing());
    }
    let status: serde_json::Value = serde_json::from_str(&a.text("status.json")).unwrap();
    assert_eq!(status["schema"], "kubectl-mm2.dev/status/v1");
    assert_eq!(status["directions"].as_array().unwrap().len(), 2);
    let lag: serde_json::Value = serde_json::from_str(&a.text("lag.json")).unwrap();
    assert_eq!(lag["schema"], "kubectl-mm2.dev/lag/v1");

    for (alias, ctx) in CONTEXTS {
        let version: serde_json::Value =
            serde_json::from_str(&a.text(&format!("contexts/{ctx}/version.json"))).unwrap();
        assert_eq!(version["gitVersion"], "v1.20.2");
        let nsdir = format!("contexts/{ctx}/{ns}");
        for l in LISTS {
            let text = a.text(&format!("{nsdir}/{l}.yaml"));
            assert!(text.contains("kind: List"), "{l}: {text}");
        }
        let mm2s = a.text(&format!("{nsdir}/kafkamirrormaker2s.yaml"));
        let (_, name) = rb.mm2_of(mm2_e2e::Bed::peer(alias));
        assert!(mm2s.contains(&name), "{mm2s}");
        // Read at v1beta2, the version whose schema holds the v1beta2-shaped fields.
        assert!(
            mm2s.contains("connectCluster") && mm2s.contains("kafka.strimzi.io/v1beta2"),
            "{mm2s}"
        );
        assert!(
            mm2s.contains("status:") && !mm2s.contains("managedFields"),
            "{mm2s}"
        );
        assert!(
            a.text(&format!("{nsdir}/kafkas.yaml"))
                .contains("kafka-rciis-prod")
        );
        assert!(
            a.text(&format!("{nsdir}/kafkanodepools.yaml"))
                .contains("dual-role")
        );
        let users = a.text(&format!("{nsdir}/kafkausers.yaml"));
        assert!(users.contains("mm2-user") && users.contains("status:"), "{users}");
        assert!(
            a.text(&format!("{nsdir}/serviceexports.yaml"))
                .contains(&format!("kafka-bootstrap-{alias}"))
        );
        assert!(
            a.text(&format!("{nsdir}/services.yaml"))
                .contains(&format!("kafka-bootstrap-{alias}"))
        );
        assert!(
            a.text(&format!("{nsdir}/configmaps.yaml"))
                .contains("mm2-jmx-metrics")
        );
        let flux = a.text(&format!("{nsdir}/flux-kustomizations.yaml"));
        assert!(
            flux.contains("kustomize.toolkit.fluxcd.io/v1") && flux.contains("name: kafka"),
            "{flux}"
        );
        let secrets = a.text(&format!("{nsdir}/secrets.yaml"));
        assert!(secrets.contains("name: mm2-user"), "{secrets}");
        assert!(secrets.contains("contentHash: sha256:"), "{secrets}");
        assert!(
            secrets.contains("- password") && secrets.contains("- sasl.jaas.config"),
            "{secrets}"
        );
        assert!(
            !secrets
                .lines()
                .any(|l| l.trim_start().starts_with("data:") || l.trim_start().starts_with("stringData:")),
            "{secrets}"
        );
        let pods = a.text(&format!("{nsdir}/pods.yaml"));
        for p in workers_in(&rb, alias) {
            assert!(pods.contains(&p), "{p} not in pods.yaml");
            let dir = format!("{nsdir}/pods/{p}");
            let metrics = a.text(&format!("{dir}/metrics.txt"));
            if p != pod {
                assert!(
                    metrics.contains("kafka_connect_worker_connector_count"),
                    "{metrics}"
                );
            }
            let connect: serde_json::Value =
                serde_json::from_str(&a.text(&format!("{dir}/connectors.json"))).unwrap();
            assert!(
                connect
                    .as_object()
                    .unwrap()
                    .keys()
                    .any(|k| k.ends_with("MirrorSourceConnector")),
                "{connect}"
            );
        }
    }
    let leaked = a.text(&format!("contexts/rciis-aws/{ns}/pods/{pod}/metrics.txt"));
    assert!(leaked.contains("leak{pw=\"<redacted>\""), "{leaked}");
    assert!(!leaked.contains("x1y2z3w4"), "{leaked}");

    let readme = a.text("README.txt");
    for want in [
        "kubectl-mm2 0.1.0",
        "rciis-aws",
        "rciis-proxmox",
        "v1.20.2",
        "nothing: every part was collected",
        "doctor: not collected",
    ] {
        assert!(readme.contains(want), "README.txt lacks {want:?}:\n{readme}");
    }
    // The index lists every file of the archive.
    for path in a.files.keys() {
        assert!(readme.contains(path.as_str()), "README.txt does not list {path}");
    }
    a.assert_free_of(&secret_forms(&rb));
    a.assert_no_escapes();
}

#[tokio::test]
async fn what_the_pod_proxy_refuses_is_listed_and_marked_with_the_error() {
    let ns = "t-report-refused";
    let rb = fixtures::install_working(bed(), ns).await.expect("install");
    let pods = workers_in(&rb, "proxmox");
    let key = PodKey::new("proxmox", ns, &pods[1]);
    let d = bed().doubles();
    // The refusal's body quotes a Secret value in colour: the error text is cleaned too.
    let pw = rb.password("proxmox").to_string();
    d.set_route(
        &key,
        CONNECT_PORT,
        "GET",
        "/connectors?expand=status",
        HttpResponse::text(503, format!("worker is rebalancing \u{1b}[31m{pw}\u{1b}[0m")),
    );
    d.set_route(
        &key,
        METRICS_PORT,
        "GET",
        "/metrics",
        HttpResponse::text(500, "exporter broke"),
    );

    let (out, file, _dir) = report(bed().kubeconfig(), ns, &["--logs", "--tail", "50"]);
    d.clear_routes("proxmox", ns, &pods[1]);
    assert_code(&out, 3);
    let doc = out.json();
    assert_eq!(doc["complete"], false);
    assert_eq!(doc["logs_tail"], 50);
    let missing = missing_parts(&out);
    let dir = format!("contexts/rciis-proxmox/{ns}/pods/{}", pods[1]);
    for part in ["connectors.json", "metrics.txt"] {
        assert!(
            missing
                .iter()
                .any(|(c, p, _)| c == "rciis-proxmox" && *p == format!("{dir}/{part}")),
            "{part} not listed as missing: {missing:?}"
        );
    }
    // Missing parts are also listed on stderr.
    assert!(out.stderr.contains(&format!("{dir}/connectors.json")), "{out}");
    assert!(out.stderr.contains("worker is rebalancing <redacted>"), "{out}");
    for printed in [&out.stdout, &out.stderr] {
        assert!(!printed.contains(&pw) && !printed.contains('\u{1b}'), "{out}");
    }

    let a = Unpacked::open(&file);
    assert!(!a.has(&format!("{dir}/connectors.json")));
    let err = a.text(&format!("{dir}/connectors.error.txt"));
    assert!(
        err.contains("connectors?expand=status") && err.contains("503"),
        "{err}"
    );
    assert!(a.text(&format!("{dir}/metrics.error.txt")).contains("500"));
    // The other worker answered.
    assert!(a.has(&format!(
        "contexts/rciis-proxmox/{ns}/pods/{}/connectors.json",
        pods[0]
    )));
    // The logs come from each node's kubelet through the API server, refused proxies or not.
    for (alias, ctx) in CONTEXTS {
        for p in workers_in(&rb, alias) {
            let log = format!("contexts/{ctx}/{ns}/pods/{p}/{}.log", container_of(&p));
            assert!(a.has(&log), "{log} missing: {missing:?}");
        }
    }
    let readme = a.text("README.txt");
    assert!(
        readme.contains("Could not be collected") && readme.contains(&format!("{dir}/metrics.txt")),
        "{readme}"
    );
    a.assert_free_of(&secret_forms(&rb));
    a.assert_no_escapes();
}

#[tokio::test]
async fn a_read_only_user_gets_a_partial_archive_with_the_refusals_listed() {
    let ns = "t-report-viewer";
    let rb = fixtures::install_working(bed(), ns).await.expect("install");
    let (out, file, _dir) = report(bed().viewer_kubeconfig(), ns, &[]);
    assert_code(&out, 3);
    let missing = missing_parts(&out);
    for (_, ctx) in CONTEXTS {
        assert!(
            missing
                .iter()
                .any(|(c, p, k)| c == ctx && p.ends_with("/secrets.yaml") && k == "forbidden"),
            "secrets not listed as forbidden in {ctx}: {missing:?}"
        );
        assert!(
            missing
                .iter()
                .any(|(c, p, k)| c == ctx && p.ends_with("/metrics.txt") && k == "forbidden"),
            "pod proxy not listed as forbidden in {ctx}: {missing:?}"
        );
    }
    let a = Unpacked::open(&file);
    for (_, ctx) in CONTEXTS {
        for l in [
            "kafkamirrormaker2s",
            "kafkausers",
            "pods",
            "services",
            "serviceexports",
        ] {
            assert!(
                a.has(&format!("contexts/{ctx}/{ns}/{l}.yaml")),
                "{l} in {ctx}:\n{}",
                a.listing()
            );
        }
        assert!(!a.has(&format!("contexts/{ctx}/{ns}/secrets.yaml")));
    }
    assert!(a.text("README.txt").contains("forbidden"));
    a.assert_free_of(&secret_forms(&rb));
    a.assert_no_escapes();
}

#[tokio::test]
async fn one_unreachable_cluster_gives_a_partial_archive_within_the_timeout() {
    let ns = "t-report-dead";
    let rb = fixtures::install_working(bed(), ns).await.expect("install");
    let kubeconfig = bed().kubeconfig_with_dead_context("aws");
    let (out, file, _dir) = report(&kubeconfig, ns, &["--timeout", "2s"]);
    assert_code(&out, 3);
    // Discovery and collection each bounded by the timeout: far from hanging (slack for a loaded
    // machine; the figures live in scripts/bench.sh).
    assert!(out.elapsed < Duration::from_secs(20), "took {:?}", out.elapsed);
    let missing = missing_parts(&out);
    assert!(
        missing.iter().any(|(c, p, k)| c == "rciis-aws"
            && p == "contexts/rciis-aws/ (everything)"
            && (k == "timeout" || k == "unreachable")),
        "{missing:?}"
    );
    assert!(
        missing.iter().all(|(c, ..)| c == "rciis-aws"),
        "only aws is missing: {missing:?}"
    );
    let a = Unpacked::open(&file);
    assert!(a.has(&format!("contexts/rciis-proxmox/{ns}/kafkamirrormaker2s.yaml")));
    assert!(a.has("contexts/rciis-proxmox/version.json"));
    assert!(
        !a.files.keys().any(|k| k.starts_with("contexts/rciis-aws/")),
        "{}",
        a.listing()
    );
    let readme = a.text("README.txt");
    assert!(
        readme.contains("unreachable") && readme.contains("rciis-aws"),
        "{readme}"
    );
    let status: serde_json::Value = serde_json::from_str(&a.text("status.json")).unwrap();
    assert_eq!(status["verdict"], "unreachable");
    a.assert_free_of(&secret_forms(&rb));
}

#[tokio::test]
async fn the_archive_goes_to_stdout_with_dash_but_not_with_a_json_outcome() {
    let ns = "t-report-stdout";
    fixtures::install_working(bed(), ns).await.expect("install");
    let out = std::process::Command::new(mm2_e2e::product_bin("kubectl-mm2"))
        .args(["report", "-n", ns, "-f", "-"])
        .env("KUBECONFIG", bed().kubeconfig())
        .env("NO_COLOR", "1")
        .env("XDG_CONFIG_HOME", "/nonexistent-config")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(&out.stdout[..2], &[0x1f, 0x8b], "stdout is a gzip stream");
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote stdout"));

    let refused = run(
        "kubectl-mm2",
        bed().kubeconfig(),
        &["report", "-n", ns, "-f", "-", "-o", "json"],
    );
    assert_code(&refused, 2);
    assert!(refused.stdout.is_empty(), "{refused}");
    assert!(refused.stderr.contains("-f FILE"), "{refused}");
}

#[tokio::test]
async fn on_a_terminal_the_archive_is_never_written_to_the_screen() {
    let ns = "t-report-tty";
    fixtures::install_working(bed(), ns).await.expect("install");
    let on_a_terminal = |args: &[&str]| {
        let mut cmd = Command::new(mm2_e2e::product_bin("kubectl-mm2"));
        cmd.args(args)
            .env("KUBECONFIG", bed().kubeconfig())
            .env("NO_COLOR", "1")
            .env("TERM", "xterm")
            .env("XDG_CONFIG_HOME", "/nonexistent-config")
            .env_remove("CI");
        rexpect::session::spawn_command(cmd, Some(30_000)).expect("spawn on a pty")
    };
    let exit_code = |p: &rexpect::session::PtySession| match p.process().wait().expect("wait") {
        rexpect::process::WaitStatus::Exited(_, code) => code,
        other => panic!("not a normal exit: {other:?}"),
    };
    let mut p = on_a_terminal(&["report", "-n", ns, "-f", "-"]);
    p.exp_string("refusing to write a binary archive to a terminal")
        .expect("refused");
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 2);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("r.tar.gz");
    let mut p = on_a_terminal(&["report", "-n", ns, "-f", file.to_str().unwrap()]);
    p.exp_string("wrote").expect("summary");
    p.exp_eof().unwrap();
    assert_eq!(exit_code(&p), 0);
    assert!(file.is_file());

    // Off a terminal: no spinner, only the summary.
    let (out, _, _dir) = report(bed().kubeconfig(), ns, &[]);
    assert_code(&out, 0);
    for spinner_text in ["discovering", "collecting from", "redacting"] {
        assert!(!out.stderr.contains(spinner_text), "{out}");
    }
}

#[tokio::test]
async fn report_of_the_runbook_deployment_as_written_shows_why_nothing_runs() {
    let ns = "t-report-runbook";
    // The runbook's own layout: Strimzi 0.51 rejects both MM2s (NotReady, no pods), and the
    // jq-copied peer Secrets carry a last-applied annotation holding the peer's password.
    let rb = fixtures::install_runbook(bed(), ns).await.expect("install");
    let (out, file, _dir) = report(bed().kubeconfig(), ns, &[]);
    assert_code(&out, 0);
    let a = Unpacked::open(&file);
    for (alias, ctx) in CONTEXTS {
        let nsdir = format!("contexts/{ctx}/{ns}");
        let mm2s = a.text(&format!("{nsdir}/kafkamirrormaker2s.yaml"));
        assert!(mm2s.contains(&format!("mm2-{alias}-to-")), "{mm2s}");
        assert!(
            mm2s.contains("NotReady") && mm2s.contains("InvalidResourceException"),
            "the operator's verdict is in the archive: {mm2s}"
        );
        let pods = a.text(&format!("{nsdir}/pods.yaml"));
        assert!(pods.contains("items: []"), "no worker pods: {pods}");
    }
    let readme = a.text("README.txt");
    assert!(readme.contains("no status.labelSelector yet"), "{readme}");
    let status: serde_json::Value = serde_json::from_str(&a.text("status.json")).unwrap();
    assert_eq!(status["verdict"], "invalid", "{status}");
    a.assert_free_of(&secret_forms(&rb));
    a.assert_no_escapes();
}

#[tokio::test]
async fn a_direction_keeps_its_own_mm2_and_the_contexts_of_both_ends() {
    let ns = "t-report-direction";
    let rb = fixtures::install_working(bed(), ns).await.expect("install");
    let (out, file, _dir) = report(bed().kubeconfig(), ns, &["proxmox:aws"]);
    assert_code(&out, 0);
    let doc = out.json();
    assert_eq!(doc["directions"], serde_json::json!(["proxmox->aws"]));
    let contexts: Vec<&str> = doc["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["context"].as_str().unwrap())
        .collect();
    assert_eq!(contexts, ["rciis-aws", "rciis-proxmox"]);
    let a = Unpacked::open(&file);
    let (home, name) = rb.mm2_of("proxmox");
    assert_eq!(home, "aws");
    assert!(
        a.text(&format!("contexts/rciis-aws/{ns}/kafkamirrormaker2s.yaml"))
            .contains(&name)
    );
    // The other direction's MM2 (it runs in proxmox) and its workers are left out.
    let other = a.text(&format!("contexts/rciis-proxmox/{ns}/kafkamirrormaker2s.yaml"));
    assert!(other.contains("items: []"), "{other}");
    assert!(
        !a.files
            .keys()
            .any(|k| k.contains("mm2-aws-to-proxmox-mirrormaker2")),
        "{}",
        a.listing()
    );
    let status: serde_json::Value = serde_json::from_str(&a.text("status.json")).unwrap();
    assert_eq!(status["directions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn when_no_cluster_answers_the_archive_still_says_why_and_exits_4() {
    let mut kc = bed().kubeconfig_value().clone();
    for c in kc["clusters"].as_array_mut().unwrap() {
        c["cluster"]["server"] = serde_json::json!(format!("https://{}", bed().black_hole_addr()));
    }
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("all-dead.kubeconfig");
    std::fs::write(&kubeconfig, kc.to_string()).unwrap();
    // Both contexts now name one server; ask both explicitly (zero-config asks one per server).
    let (out, file, _dir) = report(
        &kubeconfig,
        "t-report-all-dead",
        &["--timeout", "1s", "--context", "rciis-aws,rciis-proxmox"],
    );
    assert_code(&out, 4);
    assert!(out.elapsed < Duration::from_secs(15), "took {:?}", out.elapsed);
    let missing = missing_parts(&out);
    for (_, ctx) in CONTEXTS {
        assert!(
            missing
                .iter()
                .any(|(c, p, _)| c == ctx && p.ends_with("(everything)")),
            "{ctx}: {missing:?}"
        );
    }
    let a = Unpacked::open(&file);
    let readme = a.text("README.txt");
    assert!(
        readme.contains("rciis-aws") && readme.contains("rciis-proxmox") && readme.contains("unreachable"),
        "{readme}"
    );
}

#[tokio::test]
async fn logs_hold_each_workers_last_lines_from_its_kubelet_with_passwords_redacted() {
    let ns = "t-report-logs";
    let rb = fixtures::install_working(bed(), ns).await.expect("install");
    let k = bed().kubelets();
    let now = k8s_openapi::jiff::Timestamp::now();
    for (alias, _) in CONTEXTS {
        let pw = rb.password(alias);
        for p in workers_in(&rb, alias) {
            let c = container_of(&p);
            // A worker that echoes its client configuration unmasked, then one more line.
            let jaas = format!(
                "  sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"mm2-user\" password=\"{pw}\";"
            );
            k.append_log(alias, ns, &p, c, now, &jaas);
            k.append_log(alias, ns, &p, c, now, &format!("INFO last line of {p}"));
        }
    }
    const TAIL: usize = 5;
    let (out, file, _dir) = report(bed().kubeconfig(), ns, &["--logs", "--tail", "5"]);
    assert_code(&out, 0);
    assert_eq!(out.json()["logs_tail"], 5);
    let a = Unpacked::open(&file);
    for (alias, ctx) in CONTEXTS {
        let pw = rb.password(alias);
        for p in workers_in(&rb, alias) {
            let c = container_of(&p);
            let got = a.text(&format!("contexts/{ctx}/{ns}/pods/{p}/{c}.log"));
            let full = k.full_log(alias, ns, &p, c).await.unwrap();
            let want: Vec<&str> = full
                .lines()
                .rev()
                .take(TAIL)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let got_lines: Vec<&str> = got.lines().collect();
            assert_eq!(got_lines.len(), TAIL, "{got}");
            // The worker's own lines as the kubelet kept them, the password line redacted.
            assert_eq!(got_lines[..TAIL - 2], want[..TAIL - 2], "{got}");
            assert_eq!(got_lines[TAIL - 1], format!("INFO last line of {p}"));
            assert!(
                got_lines[TAIL - 2].contains("sasl.jaas.config=")
                    && got_lines[TAIL - 2].contains("<redacted>"),
                "{got}"
            );
            assert!(!got.contains(pw), "{p}: the password reached the archive");
            // The count went from the command line through the API server to the kubelet.
            assert!(
                k.requests(alias, ns)
                    .iter()
                    .any(|r| r.target == format!("/containerLogs/{ns}/{p}/{c}?tailLines=5")),
                "{:?}",
                k.requests(alias, ns)
            );
        }
    }
    a.assert_free_of(&secret_forms(&rb));
    a.assert_no_escapes();
}

/// The missing entry of each worker's log in `ctx`: (kind, reason).
fn log_failures(o: &Out, rb: &Runbook, ns: &str, alias: &str, ctx: &str) -> Vec<(String, String)> {
    let doc = o.json();
    workers_in(rb, alias)
        .iter()
        .map(|p| {
            let part = format!("contexts/{ctx}/{ns}/pods/{p}/{}.log", container_of(p));
            let m = doc["missing"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["context"] == ctx && m["part"] == part.as_str())
                .unwrap_or_else(|| panic!("{part} not listed as missing: {o}"));
            (
                m["kind"].as_str().unwrap().to_string(),
                m["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_kubelet_that_refuses_drops_or_hangs_is_named_and_never_holds_up_the_archive() {
    let ns = "t-report-kubelet";
    let rb = fixtures::install_working(bed(), ns).await.expect("install");
    let k = bed().kubelets();
    k.set_fault("aws", ns, Fault::Forbidden);
    k.set_fault("proxmox", ns, Fault::Hang);
    let (out, file, _dir) = report(
        bed().kubeconfig(),
        ns,
        &["--logs", "--tail", "20", "--timeout", "3s"],
    );
    k.clear_fault("proxmox", ns);
    assert_code(&out, 3);
    assert!(out.elapsed < Duration::from_secs(20), "took {:?}", out.elapsed);
    // Said of the kubelet, not as the user's RBAC or a slow API server.
    for (kind, reason) in log_failures(&out, &rb, ns, "aws", "rciis-aws") {
        assert_eq!(kind, "kubelet", "{reason}");
        assert!(
            reason.contains("the kubelet of node rciis-aws-worker-1 (198.18.0.1) refused")
                && reason.contains("subresource=proxy"),
            "{reason}"
        );
    }
    for (kind, reason) in log_failures(&out, &rb, ns, "proxmox", "rciis-proxmox") {
        assert_eq!(kind, "timeout", "{reason}");
        assert!(
            reason.contains("within 3s")
                && reason.contains("from the kubelet of node rciis-proxmox-worker-1"),
            "{reason}"
        );
    }
    let missing = missing_parts(&out);
    assert!(
        missing.iter().all(|(_, m, _)| m.ends_with(".log")),
        "only logs are missing: {missing:?}"
    );
    let a = Unpacked::open(&file);
    let readme = a.text("README.txt");
    for (alias, ctx) in CONTEXTS {
        for p in workers_in(&rb, alias) {
            let log = format!("contexts/{ctx}/{ns}/pods/{p}/{}.log", container_of(&p));
            assert!(readme.contains(&log), "{readme}");
            assert!(!a.has(&log));
            assert!(
                a.text(&format!("{log}.error.txt"))
                    .contains("the kubelet of node")
            );
            // Everything else of the pod was still collected.
            assert!(a.has(&format!("contexts/{ctx}/{ns}/pods/{p}/metrics.txt")));
        }
    }
    a.assert_free_of(&secret_forms(&rb));
    a.assert_no_escapes();

    // A kubelet that drops the connection: the API server's 500 names what happened.
    k.set_fault("aws", ns, Fault::Drop);
    let (out, _, _dir) = report(
        bed().kubeconfig(),
        ns,
        &["--logs", "--tail", "20", "--timeout", "3s"],
    );
    k.clear_fault("aws", ns);
    assert_code(&out, 3);
    for (kind, reason) in log_failures(&out, &rb, ns, "aws", "rciis-aws") {
        assert_eq!(kind, "kubelet", "{reason}");
        assert!(
            reason.contains("could not get the logs of") && reason.contains("containerLogs"),
            "{reason}"
        );
    }
    assert!(
        missing_parts(&out).iter().all(|(c, ..)| c == "rciis-aws"),
        "{out}"
    );
}
