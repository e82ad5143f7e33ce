//! Issue 10: the runbook's layout (each MM2 in its source cluster) is rejected by Strimzi 0.51;
//! the tools say so, refuse to act on it, and a direction named by several MM2s lists them all.

use crate::cli::{Out, mm2};
use kube::api::{Api, DynamicObject};
use mm2_e2e::fixtures::{self, Layout, RunbookOptions};
use mm2_e2e::{DEFAULT_NS, PeerSecret, bed, crds};
use serde_json::{Value, json};
use std::time::Duration;

const MISMATCH: &str =
    "The .spec.mirrors[].targetCluster alias is not the same as the actual target cluster alias.";

fn assert_code(o: &Out, code: i32) {
    assert_eq!(o.code, code, "{o}");
}

async fn mm2_rv(alias: &str, ns: &str, name: &str) -> Option<String> {
    let api = Api::<DynamicObject>::namespaced_with(bed().client(alias).await, ns, &crds::mm2("v1beta2"));
    api.get(name).await.expect("get mm2").metadata.resource_version
}

fn direction<'a>(j: &'a Value, d: &str) -> &'a Value {
    j["directions"]
        .as_array()
        .expect("directions")
        .iter()
        .find(|x| x["direction"] == d)
        .unwrap_or_else(|| panic!("{d} missing in {j}"))
}

#[tokio::test]
async fn status_explains_the_runbook_layout_and_never_says_healthy() {
    let o = mm2(&["status", "-n", DEFAULT_NS, "-o", "json"]);
    assert_code(&o, 3);
    let j = o.json();
    assert_eq!(j["verdict"], "invalid");
    for (d, home, ctx) in [
        ("proxmox->aws", "proxmox", "rciis-proxmox"),
        ("aws->proxmox", "aws", "rciis-aws"),
    ] {
        let x = direction(&j, d);
        assert_eq!(x["verdict"], "invalid", "{x}");
        let m = &x["mm2"];
        assert_eq!(m["context"], ctx);
        assert_eq!(m["connect_cluster"], home);
        let r = &m["rejection"];
        assert_eq!(r["reason"], "InvalidResourceException");
        assert_eq!(r["message"], MISMATCH, "the operator's message verbatim");
        assert_eq!(r["reported_by_operator"], true);
        let target = d.split("->").nth(1).unwrap();
        assert!(
            r["explanation"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{d} must run in the cluster it writes to ({target})")),
            "{r}"
        );
        assert_eq!(r["fix"], format!("kubectl mm2 convert {}", d.replace("->", ":")));
        assert_eq!(
            m["connectors"],
            json!([]),
            "no table of connectors that do not exist"
        );
    }
    let t = mm2(&["status", "proxmox:aws", "-n", DEFAULT_NS]);
    assert_code(&t, 3);
    assert!(t.stdout.contains("proxmox → aws  invalid"), "{t}");
    assert!(t.stdout.contains(MISMATCH), "{t}");
    assert!(t.stdout.contains("kubectl mm2 convert proxmox:aws"), "{t}");
    assert!(
        !t.stdout.contains("healthy") && !t.stdout.contains("CONNECTOR"),
        "{t}"
    );
}

#[tokio::test]
async fn writes_and_lag_refuse_on_a_rejected_mm2_without_writing() {
    let rv = mm2_rv("proxmox", DEFAULT_NS, "mm2-proxmox-to-aws").await;
    for args in [
        vec!["pause", "proxmox:aws", "-n", DEFAULT_NS],
        vec!["resume", "proxmox:aws", "-n", DEFAULT_NS],
        vec!["scale", "proxmox:aws", "3", "-n", DEFAULT_NS],
    ] {
        let o = mm2(&args);
        assert_code(&o, 6);
        assert!(
            o.stderr.contains("rejected by Strimzi") && o.stderr.contains("kubectl mm2 convert proxmox:aws"),
            "{o}"
        );
    }
    assert_eq!(
        mm2_rv("proxmox", DEFAULT_NS, "mm2-proxmox-to-aws").await,
        rv,
        "nothing written"
    );
    let l = mm2(&["lag", "proxmox:aws", "-n", DEFAULT_NS, "-o", "json"]);
    assert_code(&l, 3);
    let e = &l.json()["directions"][0]["error"];
    assert_eq!(e["kind"], "invalid", "{l}");
    assert!(
        e["hint"]
            .as_str()
            .unwrap()
            .contains("kubectl mm2 convert proxmox:aws"),
        "{l}"
    );
}

#[tokio::test]
async fn mid_migration_the_running_mm2_is_shown_and_the_leftover_listed() {
    let ns = "t-migrate";
    let opts = RunbookOptions {
        peer_secret: PeerSecret::Clean,
        layout: Layout::Runbook,
    };
    fixtures::install_runbook_with(bed(), ns, opts)
        .await
        .expect("runbook");
    // The new MM2 for proxmox->aws, applied by hand in its target cluster (no Flux labels).
    let client = bed().client("aws").await;
    fixtures::apply(&client, &fixtures::working_mm2("aws", ns), "kubectl")
        .await
        .expect("apply working MM2");
    fixtures::wait_mm2_ready(bed(), "aws", ns, "mm2-proxmox-to-aws", Duration::from_secs(60))
        .await
        .expect("the moved MM2 runs");
    let o = mm2(&["status", "proxmox:aws", "-n", ns, "-o", "json"]);
    let d = direction(&o.json(), "proxmox->aws").clone();
    assert_eq!(
        d["mm2"]["context"], "rciis-aws",
        "the one that runs is shown: {o}"
    );
    assert!(d["mm2"]["rejection"].is_null());
    let also = d["also_served_by"].as_array().unwrap();
    assert_eq!(also.len(), 1, "{o}");
    assert_eq!(also[0]["context"], "rciis-proxmox");
    assert_eq!(also[0]["rejection"]["message"], MISMATCH);
    assert_eq!(d["verdict"], "degraded", "a leftover to remove: {o}");
    assert!(
        d["mm2"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().contains("remove it from its Flux path")),
        "{o}"
    );
    // A write goes to the one that runs, not the leftover.
    let left_rv = mm2_rv("proxmox", ns, "mm2-proxmox-to-aws").await;
    let p = mm2(&["pause", "proxmox:aws", "-n", ns, "--timeout", "30s"]);
    assert_code(&p, 0);
    assert_eq!(mm2_rv("proxmox", ns, "mm2-proxmox-to-aws").await, left_rv);
    let api = Api::<DynamicObject>::namespaced_with(client, ns, &crds::mm2("v1beta2"));
    let moved = api.get("mm2-proxmox-to-aws").await.unwrap();
    assert_eq!(
        moved.data["spec"]["mirrors"][0]["sourceConnector"]["state"],
        "paused"
    );
}

#[tokio::test]
async fn two_running_mm2s_for_one_direction_are_a_finding_and_writes_refuse() {
    let ns = "t-dup";
    fixtures::install_working(bed(), ns).await.expect("working");
    let client = bed().client("aws").await;
    let mut dup = fixtures::working_mm2("aws", ns);
    dup["metadata"]["name"] = json!("mm2-proxmox-to-aws-dup");
    fixtures::apply(&client, &dup, "kubectl")
        .await
        .expect("apply duplicate");
    fixtures::wait_mm2_ready(
        bed(),
        "aws",
        ns,
        "mm2-proxmox-to-aws-dup",
        Duration::from_secs(60),
    )
    .await
    .expect("duplicate runs");
    let o = mm2(&["status", "proxmox:aws", "-n", ns, "-o", "json"]);
    assert_code(&o, 3);
    let d = direction(&o.json(), "proxmox->aws").clone();
    assert_eq!(d["verdict"], "degraded");
    assert_eq!(d["also_served_by"].as_array().unwrap().len(), 1, "{o}");
    assert!(
        d["mm2"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().contains("served twice")),
        "{o}"
    );
    let rv = mm2_rv("aws", ns, "mm2-proxmox-to-aws").await;
    let p = mm2(&["pause", "proxmox:aws", "-n", ns]);
    assert_code(&p, 6);
    assert!(
        p.stderr.contains("mm2-proxmox-to-aws in rciis-aws")
            && p.stderr.contains("mm2-proxmox-to-aws-dup in rciis-aws"),
        "names both: {p}"
    );
    assert_eq!(mm2_rv("aws", ns, "mm2-proxmox-to-aws").await, rv);
    // Either one can be addressed by its metadata.name, and only it is written.
    let by_name = mm2(&["pause", "mm2-proxmox-to-aws-dup", "-n", ns, "--timeout", "30s"]);
    assert_code(&by_name, 0);
    assert!(
        by_name.stderr.contains("writing rciis-prod")
            || by_name
                .stderr
                .contains(&format!("writing {ns}/mm2-proxmox-to-aws-dup")),
        "{by_name}"
    );
    assert_eq!(
        mm2_rv("aws", ns, "mm2-proxmox-to-aws").await,
        rv,
        "the other one untouched"
    );
    let st = mm2(&["status", "mm2-proxmox-to-aws-dup", "-n", ns, "-o", "json"]);
    assert_eq!(st.json()["directions"][0]["direction"], "proxmox->aws", "{st}");
}

#[tokio::test]
async fn the_working_pair_in_the_v1_layout_is_healthy() {
    let ns = "t-working-v1";
    let opts = RunbookOptions {
        peer_secret: PeerSecret::Clean,
        layout: Layout::WorkingV1,
    };
    fixtures::install_runbook_with(bed(), ns, opts)
        .await
        .expect("v1 pair");
    let o = mm2(&["status", "-n", ns, "-o", "json"]);
    assert_code(&o, 0);
    let j = o.json();
    assert_eq!(j["verdict"], "healthy");
    for d in ["proxmox->aws", "aws->proxmox"] {
        let x = direction(&j, d);
        assert_eq!(x["mm2"]["api_version"], "kafka.strimzi.io/v1", "{x}");
        assert_eq!(x["mm2"]["shape"], "v1");
        // No heartbeat connector in v1.
        assert_eq!(x["mm2"]["connectors"].as_array().unwrap().len(), 2, "{x}");
    }
}

/// Every KafkaMirrorMaker2 of Strimzi's own examples (0.48.0 in v1beta2, 1.2.0 in v1), applied to
/// the bed, gets the status the 0.51 operator would give it: they all run in their target
/// cluster, so Ready (with DeprecatedFields warnings for the v1beta2 ones), and `status` agrees.
#[tokio::test]
async fn strimzi_examples_get_the_status_strimzi_gives_them() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/realworld");
    let ns = "t-examples";
    let client = bed().client("aws").await;
    mm2_e2e::bed::ensure_namespace(&client, ns).await.unwrap();
    let mut applied = Vec::new();
    for dir in ["strimzi-0.48.0", "strimzi-1.2.0"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (the suite needs ../shared beside the repo)",
                    root.display()
                )
            })
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for mut doc in mm2_e2e::crds::parse_yaml_docs(&text).unwrap() {
                if doc["kind"] != "KafkaMirrorMaker2" {
                    continue;
                }
                let name = format!("ex-{}", applied.len());
                doc["metadata"]["name"] = json!(name);
                doc["metadata"]["namespace"] = json!(ns);
                let version = doc["apiVersion"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string();
                let expected = mm2_core::resources::validation::validate(Some(&doc["spec"]));
                fixtures::apply(&client, &doc, "kubectl")
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e:#}", f.display()));
                applied.push((f.clone(), name, version, expected));
            }
        }
    }
    assert!(applied.len() >= 8, "examples found: {}", applied.len());
    for (f, name, version, expected) in &applied {
        assert!(expected.is_ok(), "{}: {expected:?}", f.display());
        let o = fixtures::wait_mm2_judged(bed(), "aws", ns, name, Duration::from_secs(60))
            .await
            .unwrap();
        let conds = o.data["status"]["conditions"].as_array().unwrap();
        assert_eq!(conds[0]["type"], "Ready", "{}: {conds:?}", f.display());
        let deprecated = conds.iter().any(|c| c["reason"] == "DeprecatedFields");
        assert_eq!(deprecated, version == "v1beta2", "{}: {conds:?}", f.display());
    }
    let o = mm2(&["status", "-n", ns, "--context", "rciis-aws", "-o", "json"]);
    let j = o.json();
    for d in j["directions"].as_array().unwrap() {
        assert!(d["mm2"]["rejection"].is_null(), "{d}");
    }
}
