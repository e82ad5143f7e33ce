//! Fixtures of the golden tests: KafkaMirrorMaker2 objects read from the runbook's YAML, the
//! operator's status from `testdata/fixtures/`, real MirrorMaker 2 metrics, one fixed clock.
//! The golden files themselves live in `testdata/golden/` (`UPDATE_GOLDEN=1` rewrites them).

use mm2_core::direction::Direction;
use mm2_core::resources::inventory::{Mm2Object, mm2_resource};
use mm2_core::topology::Route;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A YAML file as JSON.
pub fn yaml(path: &Path) -> Value {
    serde_saphyr::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fixture of mm2-core (the runbook's manifests, real metric captures).
pub fn core_testdata(rel: &str) -> PathBuf {
    crate_dir().join("../mm2-core/testdata").join(rel)
}

/// One of this crate's fixtures.
pub fn fixture(name: &str) -> PathBuf {
    crate_dir().join("testdata/fixtures").join(name)
}

/// A real MirrorMaker 2 `/metrics` capture (see mm2-core/testdata/real/README.md).
pub fn real_metrics(name: &str) -> String {
    read(&core_testdata(&format!("real/{name}")))
}

/// The clock of every golden file: 2026-11-30T12:00:00Z.
pub fn now() -> SystemTime {
    let secs = mm2_core::output::parse_rfc3339("2026-11-30T12:00:00Z").expect("a valid time");
    UNIX_EPOCH + Duration::from_secs(secs as u64)
}

/// The MM2 of `manifest` (under mm2-core/testdata) as read in `context`, with `status` (a file of
/// testdata/fixtures) as the operator wrote it; its generation is the one the status observed.
pub fn mm2(manifest: &str, status: Option<&str>, context: &str) -> Mm2Object {
    mm2_with(yaml(&core_testdata(manifest)), status, context)
}

/// [`mm2`] of an object already read (and perhaps edited the way a command would).
pub fn mm2_with(mut obj: Value, status: Option<&str>, context: &str) -> Mm2Object {
    obj["metadata"]["generation"] = 1.into();
    if let Some(s) = status {
        let status = yaml(&fixture(s));
        obj["metadata"]["generation"] = status["observedGeneration"].as_i64().unwrap_or(1).into();
        obj["status"] = status;
    }
    let obj = serde_json::from_value(obj).expect("a Kubernetes object");
    Mm2Object::from_dynamic(context, &mm2_resource("v1beta2"), obj).expect("a readable MM2")
}

/// The route of the first mirror of `m`.
pub fn route(m: &Mm2Object) -> Route {
    let r = m.spec.routes().into_iter().next().expect("one mirror");
    Route {
        direction: r.direction,
        context: m.context.clone(),
        namespace: m.namespace.clone(),
        mm2: m.name.clone(),
        mirror_index: r.index,
    }
}

pub fn direction(s: &str) -> Direction {
    mm2_core::direction::parse(s, &[]).expect("a direction")
}

/// Compare with `testdata/golden/<name>`.
pub fn golden(name: &str, actual: &str) {
    assert!(
        !actual.contains('\u{1b}'),
        "{name}: golden files are rendered without colour"
    );
    mm2_core::golden::assert_golden(&crate_dir().join("testdata/golden").join(name), actual);
}
