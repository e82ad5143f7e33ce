//! `kubectl mm2 doctor`: every pitfall of the runbook and of Strimzi's v1 migration, found across
//! the clusterset with evidence and a fix.
//!
//! Facts ([`gather`], one concurrent pass per context, into the plain [`facts::ContextFacts`]) →
//! rules ([`rules`], one pure function per check family, unit-tested) → report ([`report`], the
//! typed `doctor/v1` outcome and its table). Read-only: doctor never writes.

pub mod facts;
pub mod gather;
pub mod report;
pub mod rules;

use crate::output::to_yaml;
use facts::{ContextFacts, Meta};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The check families (`--only`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Check {
    /// Not selectable: a context that could not be asked.
    Reachability,
    Topology,
    Memory,
    Replication,
    Credentials,
    Networking,
    Metrics,
    V1,
    Flux,
    Sizing,
}

impl Check {
    /// The selectable checks, in report order.
    pub const ALL: [Check; 9] = [
        Check::Topology,
        Check::Memory,
        Check::Replication,
        Check::Credentials,
        Check::Networking,
        Check::Metrics,
        Check::V1,
        Check::Flux,
        Check::Sizing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Check::Reachability => "reachability",
            Check::Topology => "topology",
            Check::Memory => "memory",
            Check::Replication => "replication",
            Check::Credentials => "credentials",
            Check::Networking => "networking",
            Check::Metrics => "metrics",
            Check::V1 => "v1",
            Check::Flux => "flux",
            Check::Sizing => "sizing",
        }
    }

    pub const NAMES: [&'static str; 9] = [
        "topology",
        "memory",
        "replication",
        "credentials",
        "networking",
        "metrics",
        "v1",
        "flux",
        "sizing",
    ];

    /// Parse `--only` values (`memory,v1`).
    pub fn parse_list(values: &[String]) -> Result<Vec<Check>, String> {
        let mut out = Vec::new();
        for v in values
            .iter()
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
        {
            let c = Check::ALL
                .into_iter()
                .find(|c| c.as_str() == v)
                .ok_or_else(|| format!("unknown check '{v}'; checks: {}", Check::NAMES.join(", ")))?;
            if !out.contains(&c) {
                out.push(c);
            }
        }
        Ok(out)
    }
}

pub use crate::finding::Severity;

/// What to change, and where.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Fix {
    /// One sentence: what to do.
    pub summary: String,
    /// Directory of the Flux repository the object comes from (the Kustomization's `spec.path`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flux_path: Option<String>,
    /// A YAML patch (strategic merge, kustomize `patches:`-ready) for the manifest in Git.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// The command that fixes it (e.g. `kubectl mm2 convert proxmox:aws`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable id, `<check>.<what>` (e.g. `memory.heap-over-limit`).
    pub id: String,
    pub check: Check,
    pub severity: Severity,
    pub context: String,
    /// `Kind namespace/name`.
    pub object: String,
    /// The replication direction it concerns, when it concerns one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    pub message: String,
    /// The values compared.
    pub evidence: BTreeMap<String, String>,
    pub fix: Fix,
}

impl Finding {
    pub fn new(
        id: &str,
        check: Check,
        severity: Severity,
        cx: &ContextFacts,
        object: String,
        message: String,
    ) -> Self {
        Finding {
            id: id.into(),
            check,
            severity,
            context: cx.context.clone(),
            object,
            direction: None,
            message,
            evidence: BTreeMap::new(),
            fix: Fix::default(),
        }
    }

    pub fn evidence(mut self, key: &str, value: impl Into<String>) -> Self {
        self.evidence.insert(key.into(), value.into());
        self
    }

    pub fn direction(mut self, d: &crate::direction::Direction) -> Self {
        self.direction = Some(d.to_string());
        self
    }

    pub fn fix(mut self, fix: Fix) -> Self {
        self.fix = fix;
        self
    }
}

/// Every context's facts, and the lookups the rules share.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub contexts: Vec<ContextFacts>,
}

impl Facts {
    /// The reachable context whose cluster has `alias`.
    pub fn by_alias(&self, alias: &str) -> Option<&ContextFacts> {
        self.contexts.iter().find(|c| c.alias.as_deref() == Some(alias))
    }

    pub fn reachable(&self) -> impl Iterator<Item = &ContextFacts> {
        self.contexts.iter().filter(|c| c.unreachable.is_none())
    }

    /// `spec.path` of the Kustomization that applied an object (looked up in its context).
    pub fn flux_path(&self, cx: &ContextFacts, meta: &Meta) -> Option<String> {
        let owner = meta.flux()?;
        cx.kustomizations
            .iter()
            .find(|k| k.meta.name == owner.name && k.meta.namespace == owner.namespace)
            .and_then(|k| k.path.clone())
            .or_else(|| Some(format!("(Kustomization {}/{})", owner.namespace, owner.name)))
    }
}

/// A strategic-merge patch for `kind namespace/name` with `body` merged at the top level.
pub fn patch_yaml(api_version: &str, kind: &str, meta: &Meta, body: Value) -> String {
    let mut doc = json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": meta.name, "namespace": meta.namespace},
    });
    if let (Some(d), Some(b)) = (doc.as_object_mut(), body.as_object()) {
        for (k, v) in b {
            d.insert(k.clone(), v.clone());
        }
    }
    to_yaml(&doc)
}

/// `Kind ns/name`.
pub fn object(kind: &str, meta: &Meta) -> String {
    format!("{kind} {}/{}", meta.namespace, meta.name)
}

/// What to run and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Only findings of this direction (and the cluster-wide ones of its two clusters).
    pub direction: Option<crate::direction::Direction>,
    /// Only these checks (empty: all).
    pub only: Vec<Check>,
}

/// Run every selected rule over the facts: the findings, the rejected layouts first.
pub fn diagnose(facts: &Facts, opts: &Options) -> Vec<Finding> {
    let selected = |c: Check| opts.only.is_empty() || opts.only.contains(&c);
    let mut out: Vec<Finding> = rules::reachability(facts);
    for check in Check::ALL {
        if selected(check) {
            out.extend(rules::run(check, facts));
        }
    }
    if let Some(d) = &opts.direction {
        let ends: Vec<&str> = [&d.source, &d.target]
            .iter()
            .filter_map(|a| facts.by_alias(a).map(|c| c.context.as_str()))
            .collect();
        let want = d.to_string();
        out.retain(|f| match &f.direction {
            Some(fd) => fd == &want,
            None => ends.contains(&f.context.as_str()) || f.check == Check::Reachability,
        });
    }
    sort(&mut out);
    out
}

/// Rejected layouts first (nothing else matters until they run), then by severity, check,
/// context and object.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let first = |f: &Finding| f.id != rules::topology::REJECTED;
        (first(a), a.severity, a.check, &a.context, &a.object, &a.id).cmp(&(
            first(b),
            b.severity,
            b.check,
            &b.context,
            &b.object,
            &b.id,
        ))
    });
}

/// `kubectl mm2 doctor`: gather every context concurrently, judge, report. `direction` is
/// parsed against the aliases found; an unknown check or direction is a usage error.
pub async fn run(
    kc: &crate::clients::Kubeconfigs,
    req: &crate::topology::TopologyRequest,
    timeout: std::time::Duration,
    direction: Option<&str>,
    only: &[String],
) -> crate::Result<report::DoctorReport> {
    let only = Check::parse_list(only).map_err(crate::Error::Usage)?;
    let facts = gather::gather(kc, req, timeout).await?;
    let aliases: Vec<String> = {
        let mut a: Vec<String> = facts.contexts.iter().filter_map(|c| c.alias.clone()).collect();
        a.sort();
        a.dedup();
        a
    };
    let direction = match direction {
        Some(d) => Some(crate::direction::parse(d, &aliases)?),
        None => None,
    };
    Ok(report::build(&facts, &Options { direction, only }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_accepts_known_checks_in_lists() {
        let v = vec!["memory,v1".to_string(), "memory".to_string()];
        assert_eq!(Check::parse_list(&v).unwrap(), [Check::Memory, Check::V1]);
        assert!(
            Check::parse_list(&["bogus".to_string()])
                .unwrap_err()
                .contains("checks: topology")
        );
    }

    #[test]
    fn clusters_are_named_after_their_mm2s_then_their_context_names() {
        let mut aws = ContextFacts::new("rciis-aws", None, "ns");
        aws.add(
            &json!({"kind": "KafkaMirrorMaker2", "metadata": {"name": "m", "namespace": "ns"},
            "spec": {"connectCluster": "aws", "clusters": [{"alias": "aws"}, {"alias": "proxmox"}],
                     "mirrors": [{"sourceCluster": "proxmox", "targetCluster": "aws"}]}}),
        );
        let mut dead = ContextFacts::new("rciis-proxmox", None, "ns");
        dead.unreachable = Some("timeout".into());
        let other = ContextFacts::new("kind-gcp", None, "ns");
        let mut facts = Facts {
            contexts: vec![aws, dead, other],
        };
        gather::name_clusters(&mut facts);
        let aliases: Vec<Option<&str>> = facts.contexts.iter().map(|c| c.alias.as_deref()).collect();
        assert_eq!(aliases, [Some("aws"), Some("proxmox"), None]);
    }
}
