//! One pure function per check family: facts in, findings out. Each file's tests hold a fixture
//! that trips the check and one that passes.

pub mod credentials;
#[cfg(test)]
mod examples;
pub mod flux;
pub mod jmx;
pub mod memory;
pub mod metrics;
pub mod networking;
pub mod replication;
pub mod sizing;
pub mod topology;
pub mod v1;

use super::{Check, Facts, Finding, Fix, Severity};
use serde_json::Value;

/// The findings of one check family.
pub fn run(check: Check, facts: &Facts) -> Vec<Finding> {
    match check {
        Check::Reachability => reachability(facts),
        Check::Topology => topology::check(facts),
        Check::Memory => memory::check(facts),
        Check::Replication => replication::check(facts),
        Check::Credentials => credentials::check(facts),
        Check::Networking => networking::check(facts),
        Check::Metrics => metrics::check(facts),
        Check::V1 => v1::check(facts),
        Check::Flux => flux::check(facts),
        Check::Sizing => sizing::check(facts),
    }
}

/// A context that could not be asked: its findings are missing, the others' are complete.
pub fn reachability(facts: &Facts) -> Vec<Finding> {
    facts
        .contexts
        .iter()
        .filter_map(|cx| {
            let err = cx.unreachable.as_ref()?;
            Some(
                Finding::new(
                    "reachability.unreachable",
                    Check::Reachability,
                    Severity::Error,
                    cx,
                    format!("context {}", cx.context),
                    format!(
                        "could not be asked; nothing in this cluster was checked (the other clusters' findings are complete): {err}"
                    ),
                )
                .evidence("error", err.clone())
                .fix(Fix {
                    summary: if err.contains("HTTP 401") {
                        format!("log in again for context {} (its credentials were rejected), then run doctor again", cx.context)
                    } else {
                        format!(
                            "check that the API server of {} is up and reachable (`kubectl --context {} get --raw /readyz`), then run doctor again",
                            cx.context, cx.context
                        )
                    },
                    ..Default::default()
                }),
            )
        })
        .collect()
}

/// A connector config value as a string (`1`, `"1"`, `true`).
pub fn config_str(config: Option<&Value>, key: &str) -> Option<String> {
    match config?.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// `spec.mirrors[i].<connector>.config`.
pub fn connector_config<'a>(mirror: &'a Value, connector: &str) -> Option<&'a Value> {
    mirror.get(connector)?.get("config")
}

/// The source alias of a mirror in either layout.
pub fn mirror_source(mirror: &Value) -> Option<&str> {
    mirror
        .get("source")
        .and_then(|s| s.get("alias"))
        .or_else(|| mirror.get("sourceCluster"))
        .and_then(Value::as_str)
}

/// The target alias of a mirror: its `targetCluster` (v1beta2), else the Connect cluster.
pub fn mirror_target<'a>(m: &'a crate::doctor::facts::Mm2Fact, mirror: &'a Value) -> Option<&'a str> {
    mirror
        .get("targetCluster")
        .and_then(Value::as_str)
        .or_else(|| m.connect_alias())
}
