//! `kubectl clusterset copy-secret|export|resolve` against the two real API servers, with the
//! garbage collector running and the Strimzi CRDs installed.
//!
//! Every output of every run is grepped for the SCRAM passwords (and their base64 form).
//! The bed has no Cilium: ServiceExport conditions and ServiceImports are written by the tests
//! the way Cilium's MCS controller writes them (research/mcs-flux.md §2.2).

use crate::cli::{Out, run};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use mm2_e2e::fixtures::{self, MM2_USER};
use mm2_e2e::{PeerSecret, RunbookOptions, bed, crds};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

const ANN: &str = "clusterset.kubectl-mm2.dev/";

/// `kubectl-clusterset ARGS` against the bed's admin kubeconfig.
fn cs(args: &[&str]) -> Out {
    run("kubectl-clusterset", bed().kubeconfig(), args)
}

fn cs_with(kubeconfig: &Path, args: &[&str]) -> Out {
    run("kubectl-clusterset", kubeconfig, args)
}

fn assert_code(o: &Out, code: i32) {
    assert_eq!(o.code, code, "{o}");
}

/// `copy-secret mm2-user --from rciis-aws --to rciis-proxmox --as AS -n NS`: aws's MM2 user to
/// proxmox, one Secret.
fn aws_user_to_proxmox<'a>(as_name: &'a str, ns: &'a str) -> Vec<&'a str> {
    vec![
        "copy-secret",
        MM2_USER,
        "--from",
        "rciis-aws",
        "--to",
        "rciis-proxmox",
        "--as",
        as_name,
        "-n",
        ns,
    ]
}

/// `export --kafka kafka-rciis-prod --as NAME --context rciis-proxmox -n NS`.
fn kafka_export_from_proxmox<'a>(name: &'a str, ns: &'a str) -> Vec<&'a str> {
    vec![
        "export",
        "--kafka",
        "kafka-rciis-prod",
        "--as",
        name,
        "--context",
        "rciis-proxmox",
        "-n",
        ns,
    ]
}

fn b64(input: &[u8]) -> String {
    mm2_core::clusterset::secret::base64_engine::encode(input)
}

/// No password, raw or base64 (whole, or the stable middle of it), anywhere in what the user saw.
fn assert_no_secret(o: &Out, passwords: &[&str]) {
    let all = format!("{}{}", o.stdout, o.stderr);
    for p in passwords {
        assert!(!p.is_empty());
        assert!(!all.contains(p), "password leaked:\n{o}");
        let enc = b64(p.as_bytes());
        assert!(
            !all.contains(&enc[..enc.len().saturating_sub(4)]),
            "base64 password leaked:\n{o}"
        );
    }
}

/// The runbook deployment in `ns` without any peer copy (each test makes its own).
async fn fresh(ns: &str) -> fixtures::Runbook {
    let opts = RunbookOptions {
        peer_secret: PeerSecret::Absent,
        ..Default::default()
    };
    fixtures::install_runbook_with(bed(), ns, opts)
        .await
        .expect("install runbook")
}

async fn secrets(alias: &str, ns: &str) -> Api<Secret> {
    Api::namespaced(bed().client(alias).await, ns)
}

async fn get_secret(alias: &str, ns: &str, name: &str) -> Option<Secret> {
    secrets(alias, ns).await.get_opt(name).await.expect("get secret")
}

async fn delete_secret(alias: &str, ns: &str, name: &str) {
    let api = secrets(alias, ns).await;
    let _ = api.delete(name, &DeleteParams::default()).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.get_opt(name).await.expect("get").is_some() {
        assert!(Instant::now() < deadline, "{ns}/{name} not deleted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn data_of(s: &Secret, key: &str) -> String {
    let d = s.data.as_ref().and_then(|d| d.get(key)).expect("key");
    String::from_utf8_lossy(&d.0).into_owned()
}

fn annotation(s: &Secret, key: &str) -> Option<String> {
    s.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(&format!("{ANN}{key}")).cloned())
}

/// The runbook's copy, exactly: `kubectl get secret mm2-user -o json | jq '.metadata.name = NEW |
/// del(.metadata.resourceVersion, .metadata.uid, .metadata.creationTimestamp)' | kubectl apply -f -`
/// (kubectl hides managedFields; client-side apply adds its last-applied annotation).
async fn jq_copy(from: &str, to: &str, ns: &str, new_name: &str) {
    jq_copy_with(from, to, ns, new_name, None).await
}

/// [`jq_copy`], optionally with a finalizer that keeps the object (deletionTimestamp set) after
/// the garbage collector deletes it, so a test can look at it deterministically.
async fn jq_copy_with(from: &str, to: &str, ns: &str, new_name: &str, finalizer: Option<&str>) {
    let src = get_secret(from, ns, MM2_USER).await.expect("source secret");
    let mut v = serde_json::to_value(&src).unwrap();
    let md = v["metadata"].as_object_mut().unwrap();
    md.insert("name".into(), json!(new_name));
    for k in [
        "resourceVersion",
        "uid",
        "creationTimestamp",
        "managedFields",
        "selfLink",
    ] {
        md.remove(k);
    }
    let last_applied = serde_json::to_string(&v).unwrap();
    v["metadata"]["annotations"] = json!({"kubectl.kubernetes.io/last-applied-configuration": last_applied});
    if let Some(f) = finalizer {
        v["metadata"]["finalizers"] = json!([f]);
    }
    let s: Secret = serde_json::from_value(v).unwrap();
    let pp = PostParams {
        field_manager: Some("kubectl-client-side-apply".into()),
        ..Default::default()
    };
    secrets(to, ns).await.create(&pp, &s).await.expect("jq copy");
}

fn owner_uids(s: &Secret) -> Vec<String> {
    s.metadata
        .owner_references
        .iter()
        .flatten()
        .map(|o| o.uid.clone())
        .collect()
}

async fn kafka_user_uid(alias: &str, ns: &str) -> String {
    let api =
        Api::<DynamicObject>::namespaced_with(bed().client(alias).await, ns, &crds::kafka_user("v1beta2"));
    api.get(MM2_USER)
        .await
        .expect("KafkaUser")
        .metadata
        .uid
        .expect("uid")
}

#[tokio::test]
async fn copy_survives_the_target_gc_while_the_runbook_jq_copy_is_collected() {
    let ns = "t-cs-gc";
    let rb = fresh(ns).await;
    let pw = [rb.password("aws"), rb.password("proxmox")];
    // The setting of the runbook: the source carries the User Operator's ownerReference, and the
    // target has a KafkaUser of the same name (another uid).
    let src = get_secret("aws", ns, MM2_USER).await.unwrap();
    let src_owner = owner_uids(&src);
    assert_eq!(src_owner, vec![kafka_user_uid("aws", ns).await]);
    assert_ne!(kafka_user_uid("proxmox", ns).await, src_owner[0]);

    let o = cs(&aws_user_to_proxmox("mm2-user-aws", ns));
    assert_code(&o, 0);
    assert_no_secret(&o, &pw);
    assert!(o.stdout.contains("created"), "{o}");
    assert!(
        o.stderr.contains("dropped ownerReference KafkaUser/mm2-user"),
        "{o}"
    );
    jq_copy("aws", "proxmox", ns, "mm2-user-aws-jq").await;

    let ours = get_secret("proxmox", ns, "mm2-user-aws").await.expect("copy");
    assert!(
        ours.metadata.owner_references.is_none(),
        "{:?}",
        ours.metadata.owner_references
    );
    let labels = ours.metadata.labels.clone().unwrap_or_default();
    assert!(
        labels
            .keys()
            .all(|k| !k.starts_with("strimzi.io/") && k != "app.kubernetes.io/managed-by"),
        "{labels:?}"
    );
    assert_eq!(annotation(&ours, "source-context").as_deref(), Some("rciis-aws"));
    assert_eq!(
        annotation(&ours, "source-resource-version"),
        src.metadata.resource_version
    );
    assert!(annotation(&ours, "content-hash").unwrap().starts_with("sha256:"));
    assert!(
        ours.metadata
            .managed_fields
            .iter()
            .flatten()
            .any(|m| m.manager.as_deref() == Some("kubectl-clusterset"))
    );

    // 60 s of the target's garbage collector: the jq copy goes, ours stays.
    let start = Instant::now();
    let mut jq_gone_after = None;
    while start.elapsed() < Duration::from_secs(60) {
        if jq_gone_after.is_none() && get_secret("proxmox", ns, "mm2-user-aws-jq").await.is_none() {
            jq_gone_after = Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(
        jq_gone_after.is_some(),
        "the runbook's jq copy survived 60 s of GC: the bed's GC is not acting"
    );
    let still = get_secret("proxmox", ns, "mm2-user-aws")
        .await
        .expect("our copy was collected");
    assert_eq!(still.metadata.uid, ours.metadata.uid);
    assert_eq!(data_of(&still, "password"), rb.password("aws"));
    eprintln!(
        "jq copy collected after {:?}; ours alive after 60 s",
        jq_gone_after.unwrap()
    );
}

#[tokio::test]
async fn copy_is_idempotent_detects_rotation_and_shows_key_diffs() {
    let ns = "t-cs-idem";
    let rb = fresh(ns).await;
    let old = rb.password("aws").to_string();
    let new_pw = "rotated-Pw-7Q2x9LmN4v8Kc3Zr";
    let pw = [old.as_str(), rb.password("proxmox"), new_pw];

    let o = cs(&["copy-secret", "--mm2", "-n", ns]);
    assert_code(&o, 0);
    assert_no_secret(&o, &pw);
    assert_eq!(o.stdout.matches("created").count(), 2, "{o}");
    let a = get_secret("proxmox", ns, "mm2-user-aws")
        .await
        .expect("mm2-user-aws");
    let p = get_secret("aws", ns, "mm2-user-proxmox")
        .await
        .expect("mm2-user-proxmox");
    assert_eq!(data_of(&a, "password"), old);
    assert_eq!(data_of(&p, "password"), rb.password("proxmox"));

    // Second run: nothing written.
    let o = cs(&["copy-secret", "--mm2", "-n", ns]);
    assert_code(&o, 0);
    assert_no_secret(&o, &pw);
    assert_eq!(o.stdout.matches("unchanged").count(), 2, "{o}");
    let a2 = get_secret("proxmox", ns, "mm2-user-aws").await.unwrap();
    let p2 = get_secret("aws", ns, "mm2-user-proxmox").await.unwrap();
    assert_eq!(a2.metadata.resource_version, a.metadata.resource_version);
    assert_eq!(p2.metadata.resource_version, p.metadata.resource_version);

    // Rotation in the source (what the User Operator does on a password change).
    let src_api = secrets("aws", ns).await;
    let rv_before = src_api
        .get(MM2_USER)
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let patch = json!({"data": {"password": b64(new_pw.as_bytes())}});
    let rotated = src_api
        .patch(MM2_USER, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap();
    let rv_after = rotated.metadata.resource_version.unwrap();

    // --diff and both dry runs name keys, never values, and write nothing.
    let args = aws_user_to_proxmox("mm2-user-aws", ns);
    let d = cs(&[&args[..], &["--diff"]].concat());
    assert_code(&d, 0);
    assert_no_secret(&d, &pw);
    assert!(d.stdout.contains("data: ~password"), "{d}");
    assert!(
        d.stdout.contains(&format!(
            "rotated: source changed since the last copy (resourceVersion {rv_before} → {rv_after})"
        )),
        "{d}"
    );
    for mode in ["--dry-run=client", "--dry-run=server"] {
        let o = cs(&[&args[..], &[mode]].concat());
        assert_code(&o, 0);
        assert_no_secret(&o, &pw);
        assert!(o.stdout.contains("dry run"), "{o}");
    }
    let json = cs(&[&args[..], &["--diff", "-o", "json"]].concat());
    assert_no_secret(&json, &pw);
    let doc = json.json();
    assert_eq!(doc["schema"], "kubectl-clusterset.dev/copy-secret/v1", "{json}");
    assert_eq!(doc["diff_only"], true, "{json}");
    assert_eq!(
        doc["copies"][0]["action"],
        Value::Null,
        "--diff writes nothing: {json}"
    );
    assert_eq!(
        doc["copies"][0]["diff"]["data"]["changed"][0], "password",
        "{json}"
    );
    assert_eq!(doc["copies"][0]["rotated"]["to"], rv_after.as_str(), "{json}");
    assert_eq!(
        get_secret("proxmox", ns, "mm2-user-aws")
            .await
            .unwrap()
            .metadata
            .resource_version,
        a.metadata.resource_version
    );

    let o = cs(&args);
    assert_code(&o, 0);
    assert_no_secret(&o, &pw);
    assert!(o.stdout.contains("updated"), "{o}");
    assert!(
        o.all().contains(&format!(
            "rotated: source changed since the last copy (resourceVersion {rv_before} → {rv_after})"
        )),
        "{o}"
    );
    let a3 = get_secret("proxmox", ns, "mm2-user-aws").await.unwrap();
    assert_eq!(data_of(&a3, "password"), new_pw);
    assert_eq!(
        annotation(&a3, "source-resource-version").as_deref(),
        Some(rv_after.as_str())
    );
    // Verbose runs leak nothing either.
    let v = cs(&[&args[..], &["-vvv"]].concat());
    assert_code(&v, 0);
    assert_no_secret(&v, &pw);
    assert!(v.stdout.contains("unchanged"), "{v}");
}

#[tokio::test]
async fn mm2_sync_refuses_the_runbook_hand_made_copy_then_force_replaces() {
    let ns = "t-cs-force";
    let rb = fresh(ns).await;
    let pw = [rb.password("aws"), rb.password("proxmox")];
    // The runbook's jq copy is collected by the GC within seconds; a finalizer keeps the object
    // (then with a deletionTimestamp) so the plugin is sure to see it.
    const HOLD: &str = "e2e.kubectl-mm2.dev/hold";
    jq_copy_with("aws", "proxmox", ns, "mm2-user-aws", Some(HOLD)).await;
    let o = cs(&["copy-secret", "--mm2", "-n", ns]);
    assert_code(&o, 6);
    assert_no_secret(&o, &pw);
    assert!(o.stderr.contains("was not created by kubectl-clusterset"), "{o}");
    assert!(o.stderr.contains("made by hand"), "{o}");
    assert!(o.stderr.contains("garbage collector"), "{o}");
    assert!(
        o.stderr.contains(&kafka_user_uid("proxmox", ns).await),
        "names the target owner's uid: {o}"
    );
    assert!(o.stderr.contains("--force"), "{o}");
    // Plan first, then write: the other copy (aws side) was not made either.
    assert!(
        get_secret("aws", ns, "mm2-user-proxmox").await.is_none(),
        "partial write"
    );

    // Release it: the GC's deletion completes.
    let release = json!({"metadata": {"finalizers": null}});
    secrets("proxmox", ns)
        .await
        .patch("mm2-user-aws", &PatchParams::default(), &Patch::Merge(release))
        .await
        .unwrap();
    delete_secret("proxmox", ns, "mm2-user-aws").await;

    // --force on a hand-made copy with Strimzi labels and kubectl's annotation (no ownerReference,
    // so the GC does not race this part): replaced by a clean copy.
    let src = get_secret("aws", ns, MM2_USER).await.unwrap();
    let hand: Secret = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "mm2-user-aws", "namespace": ns,
            "labels": {"strimzi.io/kind": "KafkaUser", "strimzi.io/cluster": "kafka-rciis-prod", "team": "integration"},
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
        "data": {"password": src.data.as_ref().unwrap()["password"], "stale-key": b64(b"x")}}))
    .unwrap();
    let pp = PostParams {
        field_manager: Some("kubectl-client-side-apply".into()),
        ..Default::default()
    };
    secrets("proxmox", ns).await.create(&pp, &hand).await.unwrap();
    let o = cs(&aws_user_to_proxmox("mm2-user-aws", ns));
    assert_code(&o, 6);
    let d = cs(&[&aws_user_to_proxmox("mm2-user-aws", ns)[..], &["--diff"]].concat());
    assert_code(&d, 0);
    assert_no_secret(&d, &pw);
    assert!(
        d.stdout.contains("+sasl.jaas.config") && d.stdout.contains("-stale-key"),
        "{d}"
    );
    assert!(d.stdout.contains("-strimzi.io/kind"), "{d}");
    let f = cs(&["copy-secret", "--mm2", "-n", ns, "--force"]);
    assert_code(&f, 0);
    assert_no_secret(&f, &pw);
    let s = get_secret("proxmox", ns, "mm2-user-aws").await.unwrap();
    let labels = s.metadata.labels.clone().unwrap_or_default();
    assert!(
        !labels.contains_key("strimzi.io/kind")
            && labels.get("team").map(String::as_str) == Some("integration"),
        "{labels:?}"
    );
    let ann = s.metadata.annotations.clone().unwrap_or_default();
    assert!(
        !ann.contains_key("kubectl.kubernetes.io/last-applied-configuration"),
        "{:?}",
        ann.keys()
    );
    let keys: Vec<&String> = s.data.as_ref().unwrap().keys().collect();
    assert_eq!(keys, vec!["password", "sasl.jaas.config"]);
    assert!(get_secret("aws", ns, "mm2-user-proxmox").await.is_some());
    // Now it is ours: a plain run is unchanged.
    let again = cs(&["copy-secret", "--mm2", "-n", ns]);
    assert_code(&again, 0);
    assert_eq!(again.stdout.matches("unchanged").count(), 2, "{again}");
}

#[tokio::test]
async fn copy_errors_are_typed_and_write_nothing() {
    let ns = "t-cs-err";
    let rb = fresh(ns).await;
    let pw = [rb.password("aws"), rb.password("proxmox")];

    // Missing source.
    let o = cs(&[
        "copy-secret",
        "no-such-secret",
        "--from",
        "rciis-aws",
        "--to",
        "rciis-proxmox",
        "-n",
        ns,
    ]);
    assert_code(&o, 1);
    assert!(
        o.stderr.contains("rciis-aws") && o.stderr.contains("not found"),
        "{o}"
    );
    assert!(get_secret("proxmox", ns, "no-such-secret").await.is_none());

    // Read-only user: 403 on the source, and on the target before anything is written.
    let o = cs(&[
        "copy-secret",
        MM2_USER,
        "--from",
        "viewer@rciis-aws",
        "--to",
        "rciis-proxmox",
        "--as",
        "mm2-user-aws",
        "-n",
        ns,
    ]);
    assert_code(&o, 7);
    assert!(
        o.stderr.contains("forbidden") && o.stderr.contains("viewer@rciis-aws"),
        "{o}"
    );
    let o = cs(&[
        "copy-secret",
        MM2_USER,
        "--from",
        "rciis-aws",
        "--to",
        "viewer@rciis-proxmox",
        "--as",
        "mm2-user-aws",
        "-n",
        ns,
    ]);
    assert_code(&o, 7);
    assert_no_secret(&o, &pw);
    assert!(get_secret("proxmox", ns, "mm2-user-aws").await.is_none());
    let o = cs_with(bed().viewer_kubeconfig(), &["copy-secret", "--mm2", "-n", ns]);
    assert_code(&o, 7);
    assert_no_secret(&o, &pw);

    // Unreachable target: a clear error naming it, within the timeout, nothing written anywhere.
    let dead = bed().kubeconfig_with_dead_context("proxmox");
    let o = cs_with(
        &dead,
        &[
            "copy-secret",
            MM2_USER,
            "--from",
            "rciis-aws",
            "--to",
            "rciis-proxmox",
            "--as",
            "mm2-user-aws",
            "-n",
            ns,
            "--timeout",
            "3s",
        ],
    );
    assert_code(&o, 4);
    assert!(o.stderr.contains("rciis-proxmox"), "{o}");
    assert!(o.elapsed < Duration::from_secs(20), "{o}");
    let o = cs_with(&dead, &["copy-secret", "--mm2", "-n", ns, "--timeout", "3s"]);
    assert_code(&o, 4);
    assert_no_secret(&o, &pw);
    assert!(
        get_secret("aws", ns, "mm2-user-proxmox").await.is_none(),
        "partial write with a cluster down"
    );

    // Usage.
    let o = cs(&["copy-secret", MM2_USER, "-n", ns]);
    assert_code(&o, 2);
    assert!(o.stderr.contains("--from"), "{o}");
}

#[tokio::test]
async fn concurrent_copies_lose_no_update() {
    let ns = "t-cs-conc";
    let rb = fresh(ns).await;
    let new_pw = "concurrent-Pw-3h8Jd2Kq9xW1";
    let pw = [rb.password("aws"), rb.password("proxmox"), new_pw];
    let args: Vec<String> = [
        "copy-secret",
        MM2_USER,
        "--from",
        "rciis-aws",
        "--to",
        "rciis-proxmox",
        "--as",
        "mm2-user-aws",
        "-n",
        ns,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let spawn = |n: usize| {
        (0..n)
            .map(|_| {
                let a = args.clone();
                std::thread::spawn(move || {
                    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
                    cs(&refs)
                })
            })
            .collect::<Vec<_>>()
    };
    let first = spawn(4);
    // Rotate while they run.
    let patch = json!({"data": {"password": b64(new_pw.as_bytes())}});
    secrets("aws", ns)
        .await
        .patch(MM2_USER, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap();
    let second = spawn(4);
    for h in first.into_iter().chain(second) {
        let o = h.join().unwrap();
        assert_code(&o, 0);
        assert_no_secret(&o, &pw);
    }
    let src = get_secret("aws", ns, MM2_USER).await.unwrap();
    let t = get_secret("proxmox", ns, "mm2-user-aws").await.unwrap();
    assert_eq!(
        data_of(&t, "password"),
        new_pw,
        "lost update: the target holds the old password"
    );
    assert_eq!(
        annotation(&t, "source-resource-version"),
        src.metadata.resource_version
    );
    // And a run now has nothing to do.
    let o = cs(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.stdout.contains("unchanged"), "{o}");
}

async fn dyn_api(alias: &str, ns: &str, ar: &kube::api::ApiResource) -> Api<DynamicObject> {
    Api::namespaced_with(bed().client(alias).await, ns, ar)
}

fn svc_ar() -> kube::api::ApiResource {
    crds::resource("", "v1", "Service", "services")
}

#[tokio::test]
async fn export_is_idempotent_prints_manifests_and_warns_on_conflict() {
    let ns = "t-cs-export";
    fresh(ns).await;
    // --print-manifests: the runbook's manifests, nothing applied, Flux named.
    let y = cs(&[
        &kafka_export_from_proxmox("kafka-bootstrap-x", ns)[..],
        &["--print-manifests"],
    ]
    .concat());
    assert_code(&y, 0);
    assert_eq!(y.stdout.matches("---\n").count(), 2, "{y}");
    for s in [
        "kind: Service",
        "kind: ServiceExport",
        "multicluster.x-k8s.io/v1alpha1",
        "strimzi.io/broker-role: \"true\"",
        "strimzi.io/name: kafka-rciis-prod-kafka",
        "name: tcp-scram",
        "port: 9092",
        "name: tcp-plain",
        "port: 9093",
    ] {
        assert!(y.stdout.contains(s), "missing {s}: {y}");
    }
    assert!(y.stderr.contains("Flux") && y.stderr.contains("GitOps"), "{y}");
    let svcs = dyn_api("proxmox", ns, &svc_ar()).await;
    let exports = dyn_api("proxmox", ns, &crds::service_export()).await;
    assert!(svcs.get_opt("kafka-bootstrap-x").await.unwrap().is_none());

    // Dry run writes nothing; apply creates; a second apply changes nothing.
    let args = kafka_export_from_proxmox("kafka-bootstrap-x", ns);
    let d = cs(&[&args[..], &["--dry-run=server"]].concat());
    assert_code(&d, 0);
    assert!(svcs.get_opt("kafka-bootstrap-x").await.unwrap().is_none());
    let o = cs(&args);
    assert_code(&o, 0);
    assert!(o.stdout.contains("service/kafka-bootstrap-x created"), "{o}");
    let s1 = svcs.get("kafka-bootstrap-x").await.unwrap();
    let e1 = exports.get("kafka-bootstrap-x").await.unwrap();
    assert!(
        s1.metadata
            .managed_fields
            .iter()
            .flatten()
            .any(|m| m.manager.as_deref() == Some("kubectl-clusterset"))
    );
    let o = cs(&args);
    assert_code(&o, 0);
    assert_eq!(o.stdout.matches("unchanged").count(), 2, "{o}");
    assert_eq!(
        svcs.get("kafka-bootstrap-x")
            .await
            .unwrap()
            .metadata
            .resource_version,
        s1.metadata.resource_version
    );
    assert_eq!(
        exports
            .get("kafka-bootstrap-x")
            .await
            .unwrap()
            .metadata
            .resource_version,
        e1.metadata.resource_version
    );

    // Conflict: the same name exported from aws with other ports.
    let theirs = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kafka-bootstrap-x", "namespace": ns},
        "spec": {"selector": {"app": "other"}, "ports": [{"name": "tcp-scram", "port": 9094, "protocol": "TCP"}]}});
    fixtures::apply(&bed().client("aws").await, &theirs, "test")
        .await
        .unwrap();
    let ex = json!({"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceExport", "metadata": {"name": "kafka-bootstrap-x", "namespace": ns}});
    fixtures::apply(&bed().client("aws").await, &ex, "test")
        .await
        .unwrap();
    let o = cs(&args);
    assert_code(&o, 0);
    assert!(o.stderr.contains("MCS conflict (PortConflict)"), "{o}");
    assert!(
        o.stderr
            .contains("rciis-proxmox: type ClusterSetIP, ports [tcp-plain 9093/TCP, tcp-scram 9092/TCP]"),
        "{o}"
    );
    assert!(
        o.stderr
            .contains("rciis-aws: type ClusterSetIP, ports [tcp-scram 9094/TCP]"),
        "{o}"
    );

    // Exporting a Service that does not exist: refused with the next step.
    let o = cs(&["export", "nope", "--context", "rciis-aws", "-n", ns]);
    assert_code(&o, 6);
    assert!(o.stderr.contains("--kafka"), "{o}");
    // Export an existing Service (ServiceExport only).
    let plain = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "plain-svc", "namespace": ns},
        "spec": {"selector": {"app": "x"}, "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}});
    fixtures::apply(&bed().client("aws").await, &plain, "test")
        .await
        .unwrap();
    let o = cs(&["export", "plain-svc", "--context", "rciis-aws", "-n", ns]);
    assert_code(&o, 0);
    assert!(
        o.stdout
            .contains("serviceexport.multicluster.x-k8s.io/plain-svc created")
            && !o.stdout.contains("service/"),
        "{o}"
    );
}

/// `-o json`: stdout is one document (the whole of it parses as JSON), every human line is on
/// stderr, and the document says what the run did — for real, in both dry runs and unchanged.
#[tokio::test]
async fn copy_secret_prints_one_schema_document_per_run() {
    let ns = "t-cs-json-copy";
    let rb = fresh(ns).await;
    let pw = [rb.password("aws"), rb.password("proxmox")];
    let doc = |args: &[&str]| {
        let o = cs(&[args, &["-o", "json"]].concat());
        assert_code(&o, 0);
        assert_no_secret(&o, &pw);
        assert!(o.stderr.contains("► copying"), "human lines go to stderr: {o}");
        let j = o.json();
        assert_eq!(j["schema"], "kubectl-clusterset.dev/copy-secret/v1", "{o}");
        (o, j)
    };
    let actions = |j: &Value| -> Vec<String> {
        j["copies"]
            .as_array()
            .expect("copies")
            .iter()
            .map(|c| c["action"].as_str().unwrap_or("?").to_string())
            .collect()
    };

    let (o, j) = doc(&["copy-secret", "--mm2", "-n", ns]);
    assert_eq!(j["dry_run"], "none", "{o}");
    assert_eq!(j["diff_only"], false, "{o}");
    assert_eq!(actions(&j), ["created", "created"], "{o}");
    let copy = j["copies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["target"]["name"] == "mm2-user-aws")
        .unwrap_or_else(|| panic!("the copy of aws's user: {o}"));
    assert_eq!(copy["source"]["context"], "rciis-aws", "{o}");
    assert_eq!(copy["source"]["name"], MM2_USER, "{o}");
    assert_eq!(copy["target"]["context"], "rciis-proxmox", "{o}");
    assert_eq!(copy["written"], true, "{o}");
    assert_eq!(copy["keys"], json!(["password", "sasl.jaas.config"]), "{o}");
    assert!(
        copy["content_hash"].as_str().unwrap().starts_with("sha256:"),
        "{o}"
    );
    let live = get_secret("proxmox", ns, "mm2-user-aws").await.expect("copied");
    assert_eq!(
        copy["target"]["resource_version"].as_str(),
        live.metadata.resource_version.as_deref(),
        "{o}"
    );
    assert_eq!(
        annotation(&live, "content-hash").as_deref(),
        copy["content_hash"].as_str(),
        "{o}"
    );

    let (o, j) = doc(&["copy-secret", "--mm2", "-n", ns]);
    assert_eq!(actions(&j), ["unchanged", "unchanged"], "{o}");
    assert!(
        j["copies"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["written"] == false),
        "{o}"
    );

    let one = aws_user_to_proxmox("mm2-user-json", ns);
    for (mode, dry_run, action) in [
        ("--dry-run=client", "client", "would-create"),
        ("--dry-run=server", "server", "server-dry-run-create"),
    ] {
        let (o, j) = doc(&[&one[..], &[mode]].concat());
        assert_eq!(j["dry_run"], dry_run, "{o}");
        assert_eq!(actions(&j), [action], "{o}");
        assert_eq!(j["copies"][0]["written"], false, "{o}");
        assert_eq!(j["copies"][0]["target"]["resource_version"], Value::Null, "{o}");
    }
    assert!(
        get_secret("proxmox", ns, "mm2-user-json").await.is_none(),
        "dry runs write nothing"
    );
    let y = cs(&[&one[..], &["--dry-run=client", "-o", "yaml"]].concat());
    assert_code(&y, 0);
    assert!(
        y.stdout
            .starts_with("schema: kubectl-clusterset.dev/copy-secret/v1\n")
            && !y.stdout.contains("\n---"),
        "one YAML document: {y}"
    );
}

#[tokio::test]
async fn export_prints_one_schema_document_per_run() {
    let ns = "t-cs-json-export";
    fresh(ns).await;
    let args = [
        &kafka_export_from_proxmox("kafka-bootstrap-json", ns)[..],
        &["-o", "json"],
    ]
    .concat();
    let doc = |extra: &[&str]| {
        let o = cs(&[&args[..], extra].concat());
        assert_code(&o, 0);
        assert!(o.stderr.contains("► exporting"), "human lines go to stderr: {o}");
        let j = o.json();
        assert_eq!(j["schema"], "kubectl-clusterset.dev/export/v1", "{o}");
        assert_eq!(j["context"], "rciis-proxmox", "{o}");
        assert_eq!(j["namespace"], ns, "{o}");
        assert_eq!(
            j["dns"],
            format!("kafka-bootstrap-json.{ns}.svc.clusterset.local"),
            "{o}"
        );
        assert_eq!(j["manifests"].as_array().map(Vec::len), Some(2), "{o}");
        let objects: Vec<(String, String)> = j["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .map(|x| {
                (
                    x["kind"].as_str().unwrap_or("?").to_string(),
                    x["action"].as_str().unwrap_or("?").to_string(),
                )
            })
            .collect();
        (o, j, objects)
    };
    let both = |action: &str| {
        vec![
            ("Service".to_string(), action.to_string()),
            ("ServiceExport".to_string(), action.to_string()),
        ]
    };
    let svcs = dyn_api("proxmox", ns, &svc_ar()).await;

    for (mode, dry_run, action) in [
        ("--dry-run=client", "client", "would-create"),
        ("--dry-run=server", "server", "server-dry-run-create"),
    ] {
        let (o, j, objects) = doc(&[mode]);
        assert_eq!(j["dry_run"], dry_run, "{o}");
        assert_eq!(objects, both(action), "{o}");
    }
    assert!(
        svcs.get_opt("kafka-bootstrap-json").await.unwrap().is_none(),
        "dry runs write nothing"
    );

    let (o, j, objects) = doc(&[]);
    assert_eq!(j["dry_run"], "none", "{o}");
    assert_eq!(objects, both("created"), "{o}");
    assert!(
        j["flux_kustomization"].is_string(),
        "the runbook's namespace is Flux-managed: {o}"
    );
    assert!(svcs.get_opt("kafka-bootstrap-json").await.unwrap().is_some());
    let (o, _, objects) = doc(&[]);
    assert_eq!(objects, both("unchanged"), "{o}");

    // The GitOps path prints manifests, not the outcome: asking for both is a usage error.
    let o = cs(&[&args[..], &["--print-manifests"]].concat());
    assert_code(&o, 2);
    assert!(o.stdout.is_empty(), "{o}");
}

/// Write ServiceExport conditions the way Cilium's MID generation does.
async fn set_export_status(alias: &str, ns: &str, name: &str, conditions: Value) {
    let api = dyn_api(alias, ns, &crds::service_export()).await;
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"conditions": conditions}})),
    )
    .await
    .expect("export status");
}

fn cond(t: &str, s: &str, r: &str, m: &str) -> Value {
    json!({"type": t, "status": s, "reason": r, "message": m, "lastTransitionTime": "2026-03-01T10:00:00Z"})
}

/// A ServiceImport as Cilium creates it in an importing cluster.
async fn create_import(alias: &str, ns: &str, name: &str, ports: Value, exporter: &str) {
    let obj = json!({"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceImport",
        "metadata": {"name": name, "namespace": ns, "annotations": {"multicluster.kubernetes.io/derived-service": "derived-abcdefghij"}},
        "spec": {"type": "ClusterSetIP", "ports": ports, "ips": ["10.96.200.17"]}});
    fixtures::apply(&bed().client(alias).await, &obj, "cilium-operator")
        .await
        .expect("import");
    let api = dyn_api(alias, ns, &crds::service_import()).await;
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"clusters": [{"cluster": exporter}]}})),
    )
    .await
    .expect("import status");
}

#[tokio::test]
async fn resolve_diagnoses_missing_import_healthy_export_and_conflict() {
    let ns = "t-cs-resolve";
    fresh(ns).await;
    let name = "kafka-bootstrap-aws";
    // The runbook's export, unprocessed (no Cilium): not resolvable, with next steps.
    let o = cs(&["resolve", name, "-n", ns]);
    assert_code(&o, 3);
    assert!(
        o.stdout.contains(&format!("{name}.{ns}.svc.clusterset.local")),
        "{o}"
    );
    assert!(
        o.stdout.contains("no status conditions") && o.stdout.contains("clustermesh.mcsapi.enabled"),
        "{o}"
    );
    assert!(
        o.stdout.contains("no ServiceImport")
            && o.stdout
                .contains("cilium clustermesh status --context rciis-proxmox"),
        "{o}"
    );

    // Cilium processed the export but the import has not reached proxmox.
    set_export_status(
        "aws",
        ns,
        name,
        json!([
            cond("Valid", "True", "Valid", "Service is Valid for export"),
            cond("Ready", "True", "Ready", "ServiceExport is ready"),
            cond(
                "Conflict",
                "False",
                "NoConflicts",
                "ServiceExport has no conflicts"
            )
        ]),
    )
    .await;
    let o = cs(&["resolve", name, "-n", ns, "-o", "json"]);
    assert_code(&o, 3);
    let j = o.json();
    assert_eq!(j["resolvable"], false);
    assert_eq!(j["exporting_contexts"], json!(["rciis-aws"]));
    let f = j["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["severity"] == "error")
        .expect("an error finding")
        .clone();
    assert_eq!(f["context"], "rciis-proxmox", "{o}");
    assert!(
        f["diagnosis"].as_str().unwrap().contains("no ServiceImport"),
        "{o}"
    );
    assert!(f["next_step"].as_str().unwrap().contains("mcsapi"), "{o}");
    let aws = j["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["context"] == "rciis-aws")
        .unwrap()
        .clone();
    assert_eq!(aws["service"]["ready_endpoints"], 1, "{o}");
    assert_eq!(aws["endpoint_slice_version"], "v1beta1", "the bed is 1.20: {o}");
    assert_eq!(aws["service_export"]["conditions"][0]["reason"], "Valid");

    // With the ServiceImport (and a multi-cluster EndpointSlice) in proxmox: resolvable.
    let ports = json!([{"name": "tcp-scram", "port": 9092, "protocol": "TCP"}, {"name": "tcp-plain", "port": 9093, "protocol": "TCP"}]);
    create_import("proxmox", ns, name, ports.clone(), "rciis-aws").await;
    let slice = json!({"apiVersion": "discovery.k8s.io/v1beta1", "kind": "EndpointSlice",
        "metadata": {"name": format!("{name}-aws-1"), "namespace": ns,
                     "labels": {"multicluster.kubernetes.io/service-name": name, "multicluster.kubernetes.io/source-cluster": "rciis-aws"}},
        "addressType": "IPv4", "endpoints": [{"addresses": ["10.244.1.7"], "conditions": {"ready": true}}],
        "ports": [{"name": "tcp-scram", "port": 9092, "protocol": "TCP"}]});
    fixtures::apply(&bed().client("proxmox").await, &slice, "cilium-operator")
        .await
        .expect("slice");
    let o = cs(&["resolve", name, "-n", ns]);
    assert_code(&o, 0);
    assert!(
        o.stdout.contains("resolvable") && o.stdout.contains("10.96.200.17"),
        "{o}"
    );
    let j = cs(&["resolve", name, "-n", ns, "-o", "yaml"]);
    assert_code(&j, 0);
    assert!(
        j.stdout.contains("resolvable: true") && j.stdout.contains("source_cluster: rciis-aws"),
        "{j}"
    );

    // Conflict as Cilium sets it when proxmox exports the same name with other ports.
    let theirs = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"app": "other"}, "ports": [{"name": "tcp-scram", "port": 9094, "protocol": "TCP"}]}});
    fixtures::apply(&bed().client("proxmox").await, &theirs, "test")
        .await
        .unwrap();
    let ex = json!({"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceExport", "metadata": {"name": name, "namespace": ns}});
    fixtures::apply(&bed().client("proxmox").await, &ex, "test")
        .await
        .unwrap();
    let conflict = cond(
        "Conflict",
        "True",
        "PortConflict",
        "Conflicting ports. 1/2 clusters disagree. Using \"tcp-scram 9092\" from oldest service export in cluster \"rciis-aws\".",
    );
    set_export_status(
        "aws",
        ns,
        name,
        json!([
            cond("Valid", "True", "Valid", "Service is Valid for export"),
            cond("Ready", "True", "Ready", "ServiceExport is ready"),
            conflict.clone()
        ]),
    )
    .await;
    set_export_status(
        "proxmox",
        ns,
        name,
        json!([
            cond("Valid", "True", "Valid", "Service is Valid for export"),
            cond("Ready", "True", "Ready", "ServiceExport is ready"),
            conflict
        ]),
    )
    .await;
    let o = cs(&["resolve", name, "-n", ns]);
    assert_code(&o, 3);
    assert!(
        o.stdout
            .contains("Conflict=True reason PortConflict (Conflicting ports."),
        "{o}"
    );
    assert!(o.stdout.contains("ports differ: rciis-aws has [tcp-plain 9093/TCP, tcp-scram 9092/TCP], rciis-proxmox has [tcp-scram 9094/TCP]"), "{o}");
    assert!(o.stdout.contains("oldest export wins"), "{o}");

    // A dead peer: exit 4, named.
    let dead = bed().kubeconfig_with_dead_context("proxmox");
    let o = cs_with(&dead, &["resolve", name, "-n", ns, "--timeout", "3s"]);
    assert_code(&o, 4);
    assert!(
        o.stdout.contains("rciis-proxmox") && o.stdout.contains("unreachable"),
        "{o}"
    );
}
