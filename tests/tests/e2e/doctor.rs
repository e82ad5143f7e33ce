//! `kubectl mm2 doctor` against the two real API servers: the runbook as written yields exactly
//! its known pitfalls, the working layout with the runbook's fixes is clean, a dead cluster does
//! not hide the other's findings, and a read-only user is told what RBAC kept from it.
//!
//! The bed has no Cilium: the ServiceExport conditions and ServiceImports of the "fixed" test are
//! written the way Cilium's MCS controller writes them (as in clusterset.rs).

use crate::cli::{Out, mm2, run};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use mm2_e2e::fixtures::{self, KAFKA, MM2_USER};
use mm2_e2e::{Layout, PeerSecret, RunbookOptions, bed, crds};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

fn doctor_json(o: &Out) -> Value {
    let v = o.json();
    assert_eq!(v["schema"], "kubectl-mm2.dev/doctor/v1", "{o}");
    v
}

/// (id, context, object) of every error and warning.
fn problems(v: &Value) -> BTreeSet<(String, String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["context"].as_str().unwrap().to_string(),
                f["object"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn set(items: &[(&str, &str, String)]) -> BTreeSet<(String, String, String)> {
    items
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.clone()))
        .collect()
}

/// Waits until the garbage collector has deleted the runbook's jq copies (their ownerReference
/// names the peer's KafkaUser uid), so the expected findings do not race it.
async fn wait_copies_collected(ns: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    for alias in ["aws", "proxmox"] {
        let name = format!("{MM2_USER}-{}", mm2_e2e::Bed::peer(alias));
        let api: Api<Secret> = Api::namespaced(bed().client(alias).await, ns);
        while api.get_opt(&name).await.unwrap().is_some() {
            assert!(
                Instant::now() < deadline,
                "the garbage collector kept {ns}/{name} in {alias}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The runbook's pitfalls, in both clusters, as doctor must report them (errors and warnings).
fn runbook_expected(ns: &str) -> BTreeSet<(String, String, String)> {
    let mut e = Vec::new();
    for (ctx, alias, peer) in [
        ("rciis-aws", "aws", "proxmox"),
        ("rciis-proxmox", "proxmox", "aws"),
    ] {
        let mm2 = format!("KafkaMirrorMaker2 {ns}/mm2-{alias}-to-{peer}");
        // Strimzi 0.51 rejects the MM2 in its source cluster; 1.0 drops its v1beta2 fields.
        e.push(("topology.rejected", ctx, mm2.clone()));
        e.push(("v1.old-shape", ctx, mm2.clone()));
        // The jq copy of the peer's Secret was collected by the garbage collector.
        e.push((
            "credentials.secret-missing",
            ctx,
            format!("Secret {ns}/mm2-user-{peer}"),
        ));
        // No MCS controller processed the export; brokers advertise cluster-local names.
        e.push((
            "networking.export-unprocessed",
            ctx,
            format!("ServiceExport {ns}/kafka-bootstrap-{alias}"),
        ));
        e.push((
            "networking.advertised-host-local",
            ctx,
            format!("Kafka {ns}/{KAFKA}"),
        ));
        // The runbook's metrics rules: two MirrorSourceConnector rules without `source=`, and
        // neither records-lag nor the source-task totals exported.
        let cm = format!("ConfigMap {ns}/mm2-jmx-metrics");
        e.push(("metrics.rule-matches-nothing", ctx, cm.clone()));
        e.push(("metrics.family-not-exported", ctx, cm));
    }
    // The runbook's "Critical Fix": -Xmx 8192m under aws's 2Gi node pool limit.
    e.push((
        "memory.heap-over-limit",
        "rciis-aws",
        format!("Kafka {ns}/{KAFKA}"),
    ));
    set(&e)
}

#[tokio::test]
async fn doctor_finds_exactly_the_runbooks_pitfalls() {
    let ns = "t-doctor-runbook";
    fixtures::install_runbook(bed(), ns)
        .await
        .expect("install runbook");
    wait_copies_collected(ns).await;
    let o = mm2(&["doctor", "-n", ns, "-o", "json"]);
    assert_eq!(o.code, 2, "{o}");
    let v = doctor_json(&o);
    assert_eq!(v["verdict"], "errors");
    assert_eq!(problems(&v), runbook_expected(ns), "{o}");
    let findings = v["findings"].as_array().unwrap();
    // Duplicated ids: two dead rules and two missing families per context.
    let count = |id: &str| findings.iter().filter(|f| f["id"] == id).count();
    assert_eq!(
        (
            count("metrics.rule-matches-nothing"),
            count("metrics.family-not-exported")
        ),
        (4, 4)
    );
    assert_eq!(
        (v["summary"]["errors"].as_u64(), v["summary"]["warnings"].as_u64()),
        (Some(7), Some(12)),
        "{o}"
    );
    // The rejected layout comes first, with the operator's verbatim message and the command.
    let first = &findings[0];
    assert_eq!(first["id"], "topology.rejected");
    assert_eq!(
        first["evidence"]["verdict"],
        "reported by the operator (NotReady)"
    );
    assert!(
        first["fix"]["command"]
            .as_str()
            .unwrap()
            .starts_with("kubectl mm2 convert "),
        "{first}"
    );
    // Evidence is the values compared; the fix is a patch for the Flux path.
    let heap = findings
        .iter()
        .find(|f| f["id"] == "memory.heap-over-limit")
        .unwrap();
    assert!(
        heap["evidence"]["-Xmx"]
            .as_str()
            .unwrap()
            .starts_with("8192m (8Gi)"),
        "{heap}"
    );
    assert!(
        heap["evidence"]["limits.memory"]
            .as_str()
            .unwrap()
            .starts_with("2Gi"),
        "{heap}"
    );
    assert_eq!(heap["fix"]["flux_path"], "./flux/apps/aws/kafka");
    assert!(
        heap["fix"]["patch"].as_str().unwrap().contains("-Xmx: 1024m"),
        "{heap}"
    );
    let copy = findings
        .iter()
        .find(|f| f["id"] == "credentials.secret-missing" && f["context"] == "rciis-aws")
        .unwrap();
    assert_eq!(
        copy["fix"]["command"],
        "kubectl clusterset copy-secret mm2-user --from rciis-proxmox --to rciis-aws --as mm2-user-proxmox"
    );
    // The table says the same, on stdout, rejected layout first.
    let t = mm2(&["doctor", "-n", ns]);
    assert_eq!(t.code, 2, "{t}");
    let first_block = t
        .stdout
        .lines()
        .find(|l| l.starts_with("✗") || l.starts_with('!'))
        .unwrap();
    assert!(first_block.contains("topology.rejected"), "{t}");
    assert!(t.stdout.contains("7 error(s), 12 warning(s)"), "{t}");
    // Passwords never reach the output.
    let rb_passwords = [
        fixtures::password_of(bed(), "aws", ns).await.unwrap(),
        fixtures::password_of(bed(), "proxmox", ns).await.unwrap(),
    ];
    for p in rb_passwords {
        assert!(!o.all().contains(&p) && !t.all().contains(&p));
    }
    // -o yaml: one document, the same schema, nothing human on stdout.
    let y = mm2(&["doctor", "-n", ns, "-o", "yaml"]);
    assert_eq!(y.code, 2, "{y}");
    assert!(y.stdout.starts_with("schema: kubectl-mm2.dev/doctor/v1\n"), "{y}");
    assert!(!y.stdout.contains("\n---"), "one YAML document: {y}");
    // --only and a direction narrow the report.
    let only = mm2(&[
        "doctor",
        "aws:proxmox",
        "--only",
        "memory,topology",
        "-n",
        ns,
        "-o",
        "json",
    ]);
    let v = doctor_json(&only);
    let ids: BTreeSet<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids,
        ["memory.heap-over-limit", "topology.rejected"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        "{only}"
    );
}

async fn merge(alias: &str, ns: &str, ar: &kube::api::ApiResource, name: &str, body: Value) {
    let api: Api<DynamicObject> = Api::namespaced_with(bed().client(alias).await, ns, ar);
    api.patch(name, &PatchParams::default(), &Patch::Merge(&body))
        .await
        .unwrap_or_else(|e| panic!("patch {name}: {e}"));
}

/// The runbook's fixes on the working layout, in `ns`:
/// - layout: each MM2 in its target cluster in the v1 shape (what `kubectl mm2 convert` writes);
/// - credentials: GC-safe copies (what `kubectl clusterset copy-secret --mm2` makes);
/// - memory: the "Critical Fix" (aws heap 1024m under its 2Gi limit);
/// - networking: the exports processed and imported (Cilium's MCS controller), and brokers that
///   advertise clusterset names with their headless Service exported;
/// - metrics: Strimzi's rules in `mm2-jmx-metrics`.
async fn apply_fixes(ns: &str) {
    merge(
        "aws",
        ns,
        &crds::kafka("v1beta2"),
        KAFKA,
        json!({"spec": {"kafka": {"jvmOptions": {"-Xms": "1024m", "-Xmx": "1024m"}}}}),
    )
    .await;
    let rules = mm2_core::doctor::rules::metrics::STRIMZI_RULES;
    let cm = crds::resource("", "v1", "ConfigMap", "configmaps");
    for alias in ["aws", "proxmox"] {
        let peer = mm2_e2e::Bed::peer(alias);
        merge(
            alias,
            ns,
            &cm,
            "mm2-jmx-metrics",
            json!({"data": {"mm2-metrics-config.yml": rules}}),
        )
        .await;
        // Export processed (conditions as Cilium writes them) and imported by the peer.
        let exports: Api<DynamicObject> =
            Api::namespaced_with(bed().client(alias).await, ns, &crds::service_export());
        let valid = json!({"status": {"conditions": [
            {"type": "Valid", "status": "True", "reason": "Valid", "message": "Service is Valid for export", "lastTransitionTime": "2026-11-30T05:00:00Z"},
            {"type": "Ready", "status": "True", "reason": "Exported", "message": "Service is exported", "lastTransitionTime": "2026-11-30T05:00:00Z"}]}});
        exports
            .patch_status(
                &format!("kafka-bootstrap-{alias}"),
                &PatchParams::default(),
                &Patch::Merge(&valid),
            )
            .await
            .unwrap();
        let import = json!({"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceImport",
            "metadata": {"name": format!("kafka-bootstrap-{peer}"), "namespace": ns},
            "spec": {"type": "ClusterSetIP", "ports": [{"name": "tcp-scram", "port": 9092, "protocol": "TCP"}], "ips": ["10.96.200.17"]}});
        fixtures::apply(&bed().client(alias).await, &import, "cilium-operator")
            .await
            .unwrap();
        // Brokers advertise `<pod>.<alias>.<kafka>-kafka-brokers.<ns>.svc.clusterset.local`.
        let template = format!("{{nodePodName}}.{alias}.{KAFKA}-kafka-brokers.{ns}.svc.clusterset.local");
        merge(alias, ns, &crds::kafka("v1beta2"), KAFKA, json!({"spec": {"kafka": {"listeners": [
            {"name": "scram", "port": 9092, "type": "internal", "tls": false, "authentication": {"type": "scram-sha-512"},
             "configuration": {"advertisedHostTemplate": template}},
            {"name": "plain", "port": 9093, "type": "internal", "tls": false}]}}})).await;
        let brokers_export = json!({"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceExport",
            "metadata": {"name": format!("{KAFKA}-kafka-brokers"), "namespace": ns}});
        fixtures::apply(&bed().client(alias).await, &brokers_export, "kubectl-clusterset")
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn doctor_is_clean_on_the_working_layout_with_the_runbooks_fixes() {
    let ns = "t-doctor-fixed";
    let opts = RunbookOptions {
        peer_secret: PeerSecret::Clean,
        layout: Layout::WorkingV1,
    };
    fixtures::install_runbook_with(bed(), ns, opts)
        .await
        .expect("install working layout");
    // Before the fixes: the heap, the exports, the advertised hosts and the metrics rules.
    let before = doctor_json(&mm2(&["doctor", "-n", ns, "-o", "json"]));
    let ids: BTreeSet<String> = problems(&before).into_iter().map(|(id, _, _)| id).collect();
    for id in [
        "memory.heap-over-limit",
        "networking.export-unprocessed",
        "networking.advertised-host-local",
        "metrics.rule-matches-nothing",
    ] {
        assert!(ids.contains(id), "{id} missing before the fixes: {ids:?}");
    }
    assert!(
        !ids.iter().any(|i| i.starts_with("topology.")
            || i.starts_with("credentials.")
            || i.starts_with("replication.")),
        "{ids:?}"
    );
    apply_fixes(ns).await;
    let o = mm2(&["doctor", "-n", ns, "-o", "json"]);
    let v = doctor_json(&o);
    assert_eq!(problems(&v), BTreeSet::new(), "{o}");
    assert_eq!((o.code, v["verdict"].as_str()), (0, Some("clean")), "{o}");
    // What remains is information about the 1.x upgrade (Strimzi 0.51's CRDs store v1beta2, and
    // Flux applies the Kafka, node pool and user at v1beta2).
    let infos: BTreeSet<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        infos,
        ["v1.applied-at-v1beta2", "v1.crd-storage-v1beta2"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        "{o}"
    );
    let t = mm2(&["doctor", "-n", ns]);
    assert_eq!(t.code, 0, "{t}");
    assert!(t.stdout.contains("clean (exit 0)"), "{t}");
}

#[tokio::test]
async fn doctor_reports_a_dead_cluster_without_hiding_the_others_findings() {
    let ns = "t-doctor-dead";
    fixtures::install_runbook(bed(), ns)
        .await
        .expect("install runbook");
    let dead = bed().kubeconfig_with_dead_context("proxmox");
    let o = run(
        "kubectl-mm2",
        &dead,
        &["doctor", "-n", ns, "--timeout", "3s", "-o", "json"],
    );
    assert_eq!(o.code, 2, "{o}");
    let v = doctor_json(&o);
    let ctx = |name: &str| {
        v["contexts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["context"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(ctx("rciis-proxmox")["reachable"], false, "{o}");
    assert_eq!(ctx("rciis-aws")["reachable"], true, "{o}");
    let p = problems(&v);
    let expect = [
        (
            "reachability.unreachable",
            "rciis-proxmox",
            "context rciis-proxmox".to_string(),
        ),
        (
            "topology.rejected",
            "rciis-aws",
            format!("KafkaMirrorMaker2 {ns}/mm2-aws-to-proxmox"),
        ),
        (
            "memory.heap-over-limit",
            "rciis-aws",
            format!("Kafka {ns}/{KAFKA}"),
        ),
        (
            "v1.old-shape",
            "rciis-aws",
            format!("KafkaMirrorMaker2 {ns}/mm2-aws-to-proxmox"),
        ),
        (
            "metrics.family-not-exported",
            "rciis-aws",
            format!("ConfigMap {ns}/mm2-jmx-metrics"),
        ),
    ];
    for (id, c, obj) in expect {
        assert!(
            p.contains(&(id.to_string(), c.to_string(), obj.clone())),
            "{id} {c} {obj} missing:\n{o}"
        );
    }
    // Nothing is claimed about the dead cluster beyond its being dead (not even about its
    // export, which only proxmox's MM2 uses).
    assert!(
        p.iter()
            .filter(|(_, c, _)| c == "rciis-proxmox")
            .all(|(id, _, _)| id == "reachability.unreachable"),
        "{o}"
    );
    // Bounded by the per-context deadline (2 x --timeout), not hung on the black hole.
    assert!(o.elapsed < Duration::from_secs(30), "{o}");
}

#[tokio::test]
async fn doctor_tells_a_read_only_user_what_rbac_refused() {
    let ns = "t-doctor-viewer";
    fixtures::install_runbook(bed(), ns)
        .await
        .expect("install runbook");
    wait_copies_collected(ns).await;
    let o = run(
        "kubectl-mm2",
        bed().viewer_kubeconfig(),
        &["doctor", "-n", ns, "-o", "json"],
    );
    assert_eq!(o.code, 2, "{o}");
    let v = doctor_json(&o);
    for c in v["contexts"].as_array().unwrap() {
        let refused: Vec<&str> = c["refused"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["kind"].as_str().unwrap())
            .collect();
        assert!(
            refused.contains(&"secret") && refused.contains(&"custom-resource-definition"),
            "{o}"
        );
        assert_eq!(c["reachable"], true);
    }
    let ids: BTreeSet<String> = problems(&v).into_iter().map(|(id, _, _)| id).collect();
    // What it may read is judged as for an admin ...
    for id in [
        "topology.rejected",
        "memory.heap-over-limit",
        "networking.export-unprocessed",
        "metrics.rule-matches-nothing",
        "v1.old-shape",
    ] {
        assert!(ids.contains(id), "{id} missing for the viewer:\n{o}");
    }
    // ... and nothing is claimed about Secrets it could not read.
    assert!(
        !ids.iter()
            .any(|i| i.starts_with("credentials.secret") || i.starts_with("credentials.copy")),
        "{o}"
    );
    let t = run("kubectl-mm2", bed().viewer_kubeconfig(), &["doctor", "-n", ns]);
    assert!(t.stdout.contains("Not checked (RBAC refused the read):"), "{t}");
    assert!(
        t.stdout
            .contains(&format!("rciis-aws: list secrets in {ns} → credentials")),
        "{t}"
    );
}

#[test]
fn doctor_usage_errors_exit_64_not_2() {
    let o = mm2(&["doctor", "--only", "nonsense"]);
    assert_eq!(o.code, 64, "{o}");
    assert!(o.stdout.is_empty(), "{o}");
}
