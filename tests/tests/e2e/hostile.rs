//! Issue 16 (and 12's machine output): truth and safety under hostile conditions — every context
//! failing, rejected credentials, hostile text in a status, malformed status entries, retries
//! after a timeout, and `-o json` that scripts can parse.

use crate::cli::{Out, mm2, run};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use mm2_e2e::{DEFAULT_NS, bed, crds, fixtures};
use serde_json::{Value, json};
use std::path::PathBuf;

fn assert_code(o: &Out, code: i32) {
    assert_eq!(o.code, code, "{o}");
}

/// The bed's admin kubeconfig with `user` applied to every user and `cluster` to every cluster.
fn kubeconfig_variant(name: &str, user: impl Fn(&mut Value), cluster: impl Fn(&mut Value)) -> PathBuf {
    let mut v = bed().kubeconfig_value().clone();
    for u in v["users"].as_array_mut().unwrap() {
        user(&mut u["user"]);
    }
    for c in v["clusters"].as_array_mut().unwrap() {
        cluster(&mut c["cluster"]);
    }
    let p = bed().dir().join(format!("{name}.kubeconfig"));
    std::fs::write(&p, serde_saphyr::to_string(&v).unwrap()).unwrap();
    p
}

/// The working layout in `ns`, with `mm2-proxmox-to-aws` (in aws) taken out of Flux's hands so a
/// write is not refused by the Flux gate; its API at v1beta2.
async fn working_without_flux(ns: &str) -> Api<DynamicObject> {
    fixtures::install_working(bed(), ns)
        .await
        .expect("working layout");
    let api = Api::<DynamicObject>::namespaced_with(bed().client("aws").await, ns, &crds::mm2("v1beta2"));
    let unflux = json!({"metadata": {"labels": {"kustomize.toolkit.fluxcd.io/name": null, "kustomize.toolkit.fluxcd.io/namespace": null}}});
    api.patch(
        "mm2-proxmox-to-aws",
        &PatchParams::default(),
        &Patch::Merge(unflux),
    )
    .await
    .unwrap();
    api
}

#[tokio::test]
async fn every_context_unreachable_is_a_document_with_verdict_unreachable() {
    // One black-hole port per cluster: two contexts of one server would be asked once.
    let ip = bed().black_hole_addr().ip();
    let port = std::sync::atomic::AtomicU16::new(6443);
    let kc = kubeconfig_variant(
        "all-dead",
        |_| {},
        |c| {
            let p = port.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            c["server"] = json!(format!("https://{ip}:{p}"))
        },
    );
    let o = run(
        "kubectl-mm2",
        &kc,
        &["status", "-n", DEFAULT_NS, "--timeout", "2s", "-o", "json"],
    );
    assert_code(&o, 4);
    let j = o.json();
    assert_eq!(j["schema"], "kubectl-mm2.dev/status/v1");
    assert_eq!(j["verdict"], "unreachable");
    assert_eq!(j["problems"].as_array().unwrap().len(), 2, "{o}");
    let p = run(
        "kubectl-mm2",
        &kc,
        &["pause", "proxmox:aws", "-n", DEFAULT_NS, "--timeout", "2s"],
    );
    assert_code(&p, 4);
    assert!(
        p.stderr.contains("rciis-aws") && p.stderr.contains("rciis-proxmox"),
        "{p}"
    );
}

#[tokio::test]
async fn rejected_credentials_are_unauthorized_not_degraded() {
    let kc = kubeconfig_variant("bad-token", |u| u["token"] = json!("not-a-valid-token"), |_| {});
    let o = run("kubectl-mm2", &kc, &["status", "-n", DEFAULT_NS, "-o", "json"]);
    assert_code(&o, 8);
    let j = o.json();
    assert_eq!(j["verdict"], "unauthorized", "{o}");
    assert_eq!(j["problems"][0]["kind"], "unauthorized");
    assert!(
        j["problems"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("log in again"),
        "{o}"
    );
    let p = run("kubectl-mm2", &kc, &["pause", "proxmox:aws", "-n", DEFAULT_NS]);
    assert_code(&p, 8);
    assert!(
        p.stderr.contains("HTTP 401") && p.stderr.contains("log in again"),
        "{p}"
    );
}

#[tokio::test]
async fn forbidden_everywhere_is_forbidden_naming_the_contexts() {
    // The admin impersonating a user without any binding: every list is refused (HTTP 403).
    let kc = kubeconfig_variant("nobody", |u| u["as"] = json!("nobody"), |_| {});
    let o = run("kubectl-mm2", &kc, &["status", "-n", DEFAULT_NS, "-o", "json"]);
    assert_code(&o, 7);
    assert_eq!(o.json()["verdict"], "forbidden", "{o}");
    let p = run("kubectl-mm2", &kc, &["pause", "proxmox:aws", "-n", DEFAULT_NS]);
    assert_code(&p, 7);
    assert!(
        p.stderr
            .contains("forbidden: user may not list kafkamirrormaker2s")
            && p.stderr.contains("rciis-aws")
            && p.stderr.contains("rciis-proxmox"),
        "{p}"
    );
    assert!(
        !p.stderr.contains("known directions"),
        "never 'not found' for what could not be read: {p}"
    );
}

#[tokio::test]
async fn usage_errors_need_no_cluster_and_lag_says_unknown() {
    let nowhere = bed().dir().join("no-such.kubeconfig");
    let bad = run(
        "kubectl-mm2",
        &nowhere,
        &["pause", "proxmox=aws=x", "-n", DEFAULT_NS],
    );
    assert_code(&bad, 2);
    assert!(
        !bad.stderr.contains("kubeconfig"),
        "checked before the kubeconfig: {bad}"
    );
    let same = run("kubectl-mm2", &nowhere, &["status", "aws:aws"]);
    assert_code(&same, 2);
    // lag follows Nagios: a usage error is UNKNOWN (3), never CRITICAL (2).
    assert_code(&mm2(&["lag", "--warn", "lots"]), 3);
    assert_code(&mm2(&["lag", "--no-such-flag"]), 3);
    assert_code(&mm2(&["status", "--no-such-flag"]), 2);
    let zero = mm2(&["status", "--timeout", "0s"]);
    assert_code(&zero, 2);
    assert!(zero.stderr.contains("must be positive"), "{zero}");
}

async fn frozen_with_status(ns: &str, status: Value) {
    fixtures::install_working(bed(), ns)
        .await
        .expect("working layout");
    let api = Api::<DynamicObject>::namespaced_with(bed().client("aws").await, ns, &crds::mm2("v1beta2"));
    let p = json!({"metadata": {"annotations": {"test.mm2.dev/operator": "frozen"}}});
    api.patch("mm2-proxmox-to-aws", &PatchParams::default(), &Patch::Merge(p))
        .await
        .unwrap();
    let o = api.get("mm2-proxmox-to-aws").await.unwrap();
    let mut status = status;
    status["observedGeneration"] = json!(o.metadata.generation);
    api.patch_status(
        "mm2-proxmox-to-aws",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": status})),
    )
    .await
    .unwrap();
}

fn ready() -> Value {
    json!([{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-30T05:00:00Z"}])
}

#[tokio::test]
async fn hostile_text_in_a_status_is_shown_escaped_and_json_keeps_it() {
    let ns = "t-hostile-text";
    let trace =
        "org.apache.kafka.connect.errors.ConnectException: \u{1b}[2J\u{1b}[Hall replication healthy\r\nat x";
    frozen_with_status(
        ns,
        json!({"conditions": ready(), "connectors": [
            {"name": "proxmox->aws.MirrorSourceConnector", "connector": {"state": "FAILED", "worker_id": "w", "trace": trace}, "tasks": [], "type": "source"}]}),
    )
    .await;
    let t = mm2(&["status", "proxmox:aws", "-n", ns]);
    assert!(
        !t.stdout.contains('\u{1b}') && !t.stderr.contains('\u{1b}'),
        "raw ESC reached the terminal: {t:?}"
    );
    assert!(t.stdout.contains("^[[2J^[[Hall replication healthy"), "{t}");
    let j = mm2(&["status", "proxmox:aws", "-n", ns, "-o", "json"]);
    let c = &j.json()["directions"][0]["mm2"]["connectors"][0];
    assert_eq!(
        c["trace"].as_str().unwrap(),
        trace.lines().next().unwrap(),
        "JSON keeps the text as it is"
    );
}

#[tokio::test]
async fn a_malformed_connector_entry_does_not_erase_the_status() {
    let ns = "t-malformed";
    // Upstream's schema keeps connector entries free-form, so a non-numeric task id reaches
    // clients; the fallback CRDs generated from our types type it, and the API server refuses it.
    let upstream = std::env::var_os("MM2_CRDS_DIR").is_some();
    let bad_task = if upstream {
        json!({"id": "zero", "state": "RUNNING"})
    } else {
        json!({"id": 0, "state": "RUNNING", "worker_id": "w"})
    };
    frozen_with_status(
        ns,
        json!({"conditions": ready(), "connectors": [
            {"name": "proxmox->aws.MirrorSourceConnector", "connector": {"state": "RUNNING", "worker_id": "w"},
             "tasks": [bad_task, {"id": 1, "state": "RUNNING", "worker_id": "w"}], "type": "source"},
            {"name": "proxmox->aws.MirrorCheckpointConnector", "connector": {"state": "RUNNING"}, "tasks": null},
            {"unexpected": "entry"}]}),
    )
    .await;
    let o = mm2(&["status", "proxmox:aws", "-n", ns, "-o", "json"]);
    let m = o.json()["directions"][0]["mm2"].clone();
    assert_eq!(m["ready"]["type"], "Ready", "{o}");
    assert!(m["observed_generation"].is_number(), "{o}");
    let states: Vec<&str> = m["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["state"].as_str())
        .collect();
    assert!(states.contains(&"RUNNING"), "{o}");
    let findings = m["findings"].to_string();
    if upstream {
        assert!(findings.contains("status task [0] could not be read"), "{o}");
    }
    assert!(findings.contains("status.connectors[2] could not be read"), "{o}");
}

#[tokio::test]
async fn a_retried_pause_after_a_timeout_still_waits_for_the_operator() {
    let ns = "t-retry";
    let api = working_without_flux(ns).await;
    let freeze = json!({"metadata": {"annotations": {"test.mm2.dev/operator": "frozen"}}});
    api.patch(
        "mm2-proxmox-to-aws",
        &PatchParams::default(),
        &Patch::Merge(freeze),
    )
    .await
    .unwrap();
    let first = mm2(&["pause", "proxmox:aws", "-n", ns, "--timeout", "2s"]);
    assert_code(&first, 5);
    let retry = mm2(&["pause", "proxmox:aws", "-n", ns, "--timeout", "2s"]);
    assert_code(&retry, 5);
    assert!(retry.all().contains("unchanged"), "the write is skipped: {retry}");
    // The operator comes back: the retry now converges.
    let thaw = json!({"metadata": {"annotations": {"test.mm2.dev/operator": null}}});
    api.patch("mm2-proxmox-to-aws", &PatchParams::default(), &Patch::Merge(thaw))
        .await
        .unwrap();
    let ok = mm2(&["pause", "proxmox:aws", "-n", ns, "--timeout", "30s"]);
    assert_code(&ok, 0);
}

#[tokio::test]
async fn write_commands_print_one_json_document_and_human_lines_on_stderr() {
    let ns = "t-json-writes";
    working_without_flux(ns).await;
    for (args, schema, outcome) in [
        (
            vec!["pause", "proxmox:aws"],
            "kubectl-mm2.dev/state/v1",
            "/directions/0/outcome/written",
        ),
        (
            vec!["pause", "proxmox:aws"],
            "kubectl-mm2.dev/state/v1",
            "/directions/0/outcome",
        ),
        (
            vec!["resume", "proxmox:aws"],
            "kubectl-mm2.dev/state/v1",
            "/directions/0/outcome/written",
        ),
        (
            vec!["scale", "proxmox:aws", "2"],
            "kubectl-mm2.dev/scale/v1",
            "/replicas/outcome",
        ),
        (
            vec!["scale", "proxmox:aws", "--tasks-max", "6", "--dry-run=server"],
            "kubectl-mm2.dev/scale/v1",
            "/tasks_max/outcome",
        ),
    ] {
        let mut full = args.clone();
        full.extend(["-n", ns, "-o", "json", "--timeout", "30s"]);
        let o = mm2(&full);
        assert_code(&o, 0);
        let j: Value = serde_json::from_str(&o.stdout).unwrap_or_else(|e| panic!("{e}: {o}"));
        assert_eq!(j["schema"], schema, "{o}");
        assert!(!o.stderr.is_empty(), "human lines go to stderr: {o}");
        let got = j
            .pointer(outcome)
            .unwrap_or_else(|| panic!("{outcome} missing: {o}"));
        match outcome {
            "/directions/0/outcome" => assert_eq!(got, "unchanged", "a second pause: {o}"),
            "/replicas/outcome" => assert_eq!(got, "unchanged", "already 2 replicas: {o}"),
            "/tasks_max/outcome" => assert_eq!(got, "dry-run", "{o}"),
            _ => assert!(got["generation"].is_number(), "{o}"),
        }
    }
}

#[tokio::test]
async fn exporting_another_clusters_name_is_refused_and_writes_nothing() {
    let ns = "t-export-foreign";
    fixtures::install_working(bed(), ns)
        .await
        .expect("working layout");
    let cs = |args: &[&str]| run("kubectl-clusterset", bed().kubeconfig(), args);
    let o = cs(&[
        "export",
        "--kafka",
        "kafka-rciis-prod",
        "--as",
        "kafka-bootstrap-aws",
        "--context",
        "rciis-proxmox",
        "-n",
        ns,
    ]);
    assert_code(&o, 6);
    assert!(
        o.stderr.contains("stands for cluster aws") && o.stderr.contains("--context rciis-aws"),
        "{o}"
    );
    // Without --context the current context (rciis-aws) exports: proxmox's name is refused there.
    let cur = cs(&[
        "export",
        "--kafka",
        "kafka-rciis-prod",
        "--as",
        "kafka-bootstrap-proxmox",
        "-n",
        ns,
    ]);
    assert_code(&cur, 6);
    let svcs = Api::<k8s_openapi::api::core::v1::Service>::namespaced(bed().client("proxmox").await, ns);
    assert!(
        svcs.get_opt("kafka-bootstrap-aws").await.unwrap().is_none(),
        "nothing written"
    );
    // Its own name goes through.
    let ok = cs(&[
        "export",
        "--kafka",
        "kafka-rciis-prod",
        "--context",
        "rciis-proxmox",
        "-n",
        ns,
        "--dry-run=server",
    ]);
    assert_code(&ok, 0);
}

#[tokio::test]
async fn resolve_without_read_access_concludes_nothing() {
    let kc = kubeconfig_variant("nobody-resolve", |u| u["as"] = json!("nobody"), |_| {});
    let o = run(
        "kubectl-clusterset",
        &kc,
        &["resolve", "kafka-bootstrap-aws", "-n", DEFAULT_NS, "-o", "json"],
    );
    assert!(o.code != 0, "{o}");
    let all = o.all();
    assert!(!all.contains("not exported from any context"), "{o}");
    assert!(!all.contains("do not serve the MCS API"), "{o}");
    assert!(all.contains("forbidden"), "the access problem is said: {o}");
}

#[tokio::test]
async fn an_mm2_without_mirrors_is_listed_not_ignored() {
    let ns = "t-no-mirrors";
    fixtures::install_working(bed(), ns)
        .await
        .expect("working layout");
    let client = bed().client("aws").await;
    let stray = json!({"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "KafkaMirrorMaker2",
        "metadata": {"name": "mm2-stray", "namespace": ns},
        "spec": {"version": "4.1.0", "replicas": 1, "connectCluster": "aws",
                 "clusters": [{"alias": "aws", "bootstrapServers": "kafka-rciis-prod-kafka-bootstrap:9092"}], "mirrors": []}});
    fixtures::apply(&client, &stray, "kubectl").await.expect("apply");
    fixtures::wait_mm2_judged(bed(), "aws", ns, "mm2-stray", std::time::Duration::from_secs(60))
        .await
        .expect("judged");
    let o = mm2(&["status", "-n", ns, "-o", "json"]);
    assert_code(&o, 3);
    let j = o.json();
    let w = &j["without_direction"][0];
    assert_eq!(w["name"], "mm2-stray", "{o}");
    assert_eq!(
        w["rejection"]["message"],
        ".spec.mirrors section is required in KafkaMirrorMaker2 resource"
    );
    let t = mm2(&["status", "-n", ns]);
    assert!(
        t.stdout
            .contains("mm2-stray (context rciis-aws) names no replication direction"),
        "{t}"
    );
    // Asking for one direction is not judged by the stray object.
    assert_code(&mm2(&["status", "proxmox:aws", "-n", ns]), 0);
}

#[tokio::test]
async fn copy_secret_into_a_missing_namespace_is_an_error_with_the_next_step() {
    let ns = "t-only-in-aws";
    let client = bed().client("aws").await;
    mm2_e2e::bed::ensure_namespace(&client, ns).await.unwrap();
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": ns},
                        "type": "Opaque", "stringData": {"k": "v"}});
    fixtures::apply(&client, &secret, "kubectl")
        .await
        .expect("secret");
    let o = run(
        "kubectl-clusterset",
        bed().kubeconfig(),
        &[
            "copy-secret",
            "s",
            "--from",
            "rciis-aws",
            "--to",
            "rciis-proxmox",
            "-n",
            ns,
        ],
    );
    assert_code(&o, 1);
    assert!(
        o.stderr
            .contains(&format!("context rciis-proxmox: namespace {ns} does not exist"))
            && o.stderr
                .contains(&format!("kubectl create namespace {ns} --context rciis-proxmox")),
        "{o}"
    );
}

#[tokio::test]
async fn a_pause_reads_the_mm2_once_before_writing() {
    let ns = "t-reads";
    working_without_flux(ns).await;
    let o = mm2(&["pause", "proxmox:aws", "-n", ns, "--wait=false", "-v"]);
    assert_code(&o, 0);
    // One read of the object, at each served version (v1beta2 and v1) to keep every field.
    let gets = o
        .stderr
        .lines()
        .filter(|l| l.contains("] get kafkamirrormaker2s"))
        .count();
    assert_eq!(gets, 2, "{o}");
}

#[tokio::test]
async fn every_error_is_said_once() {
    let kc = bed().kubeconfig_with_dead_context("aws");
    let lag = run(
        "kubectl-mm2",
        &kc,
        &["lag", "proxmox:aws", "-n", DEFAULT_NS, "--timeout", "2s"],
    );
    assert_eq!(lag.stdout.matches("is rejected by Strimzi").count(), 1, "{lag}");
    let r = run(
        "kubectl-clusterset",
        &kc,
        &[
            "resolve",
            "kafka-bootstrap-aws",
            "-n",
            DEFAULT_NS,
            "--timeout",
            "2s",
        ],
    );
    assert!(
        r.stdout.contains("cannot read context rciis-aws: no answer"),
        "{r}"
    );
    assert_eq!(
        r.stdout.matches("context rciis-aws: context rciis-aws").count(),
        0,
        "{r}"
    );
}
