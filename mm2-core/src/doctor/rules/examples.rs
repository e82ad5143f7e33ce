//! Every KafkaMirrorMaker2 of Strimzi's own examples (0.48.0 in the v1beta2 shape, 1.2.0 in the
//! v1 shape), judged by doctor's checks as Strimzi 0.51 judges them: all are valid, the v1beta2
//! ones are flagged for `kubectl mm2 convert`, and the 0.48.0 metrics rule without `source=` is
//! named as matching nothing on Kafka 4.1.

use crate::doctor::facts::ContextFacts;
use crate::doctor::rules::{metrics, topology, v1};
use crate::doctor::{Facts, Finding};
use crate::resources::validation;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn example_files(version: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/doctor/realworld")
        .join(format!("strimzi-{version}"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// The example's documents in one context with no alias (the examples name no clusterset).
fn facts_of(path: &Path) -> (Facts, Vec<Value>) {
    let text = std::fs::read_to_string(path).unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text).unwrap();
    let mut cx = ContextFacts::new("example", None, "myproject");
    let mut mm2s = Vec::new();
    for mut d in docs.into_iter().filter(|d| !d.is_null()) {
        if d["metadata"]["namespace"].is_null() {
            d["metadata"]["namespace"] = "myproject".into();
        }
        if d["kind"] == "KafkaMirrorMaker2" {
            mm2s.push(d.clone());
        }
        cx.add(&d);
    }
    (Facts { contexts: vec![cx] }, mm2s)
}

fn ids(f: &[Finding]) -> Vec<String> {
    f.iter().map(|f| f.id.clone()).collect()
}

#[test]
fn every_strimzi_example_is_judged_as_strimzi_0_51_judges_it() {
    let mut judged = 0;
    for version in ["0.48.0", "1.2.0"] {
        for path in example_files(version) {
            let (facts, mm2s) = facts_of(&path);
            assert!(!mm2s.is_empty(), "{}", path.display());
            judged += mm2s.len();
            // Strimzi 0.51 accepts every one of its examples; so does the topology check.
            for m in &mm2s {
                assert!(validation::validate(m.get("spec")).is_ok(), "{}", path.display());
            }
            let topo = topology::check(&facts);
            assert!(ids(&topo).is_empty(), "{}: {:#?}", path.display(), topo);
            // The v1beta2 ones carry the fields Strimzi 0.51 reports as deprecated.
            let old = ids(&v1::check(&facts));
            let expected: Vec<String> = if version == "0.48.0" {
                vec!["v1.old-shape".into()]
            } else {
                vec![]
            };
            assert_eq!(old, expected, "{}", path.display());
        }
    }
    assert_eq!(
        judged, 16,
        "8 files of each version hold one KafkaMirrorMaker2 each"
    );
}

#[test]
fn the_same_examples_in_the_runbooks_layout_are_rejected() {
    // Control: move the Connect cluster to the source, as the runbook does.
    for path in example_files("0.48.0") {
        let (mut facts, _) = facts_of(&path);
        for m in &mut facts.contexts[0].mm2s {
            let source = m.spec["mirrors"][0]["sourceCluster"].clone();
            m.spec["connectCluster"] = source;
        }
        let f = topology::check(&facts);
        assert_eq!(ids(&f), [topology::REJECTED], "{}", path.display());
    }
}

#[test]
fn the_0_48_metrics_example_has_a_dead_mirror_source_rule_and_1_2_passes() {
    let old = example_files("0.48.0")
        .into_iter()
        .find(|p| p.ends_with("metrics_kafka-mirror-maker-2-metrics.yaml"))
        .unwrap();
    let f = metrics::check(&facts_of(&old).0);
    assert_eq!(ids(&f), ["metrics.rule-matches-nothing"], "{f:#?}");
    assert!(f[0].evidence["rule"].contains("MirrorSourceConnector, target=(.+)"));
    let new = example_files("1.2.0")
        .into_iter()
        .find(|p| p.ends_with("metrics_kafka-mirror-maker-2-metrics.yaml"))
        .unwrap();
    assert!(metrics::check(&facts_of(&new).0).is_empty());
}
