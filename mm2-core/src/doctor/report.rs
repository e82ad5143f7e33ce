//! The typed outcome of doctor (`kubectl-mm2.dev/doctor/v1`) and its human rendering.

use super::facts::{ContextFacts, Kind, Refusal};
use super::{Check, Facts, Finding, Options, Severity, diagnose};
use crate::output::{Palette, Table};
use serde::Serialize;
use std::fmt::Write as _;

pub const SCHEMA: &str = "kubectl-mm2.dev/doctor/v1";

/// The overall result, also the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No error or warning (info findings allowed): exit 0.
    Clean,
    /// Warnings, no error: exit 1.
    Warnings,
    /// At least one error (an unreachable cluster is one): exit 2.
    Errors,
}

impl Verdict {
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Clean => 0,
            Verdict::Warnings => 1,
            Verdict::Errors => 2,
        }
    }
}

/// What was read in one context, and what could not be.
#[derive(Debug, Clone, Serialize)]
pub struct ContextReport {
    pub context: String,
    pub alias: Option<String>,
    pub namespace: String,
    pub reachable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Reads RBAC refused, and the checks that could not look because of it.
    pub refused: Vec<Refusal>,
    /// APIs not installed in this cluster (read as "none").
    pub not_installed: Vec<Kind>,
    pub read_errors: Vec<String>,
}

impl ContextReport {
    fn of(cx: &ContextFacts) -> Self {
        ContextReport {
            context: cx.context.clone(),
            alias: cx.alias.clone(),
            namespace: cx.namespace.clone(),
            reachable: cx.unreachable.is_none(),
            error: cx.unreachable.clone(),
            refused: cx.refused.clone(),
            not_installed: cx.not_installed.clone(),
            read_errors: cx.read_errors.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

/// `kubectl mm2 doctor -o json|yaml`.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub schema: &'static str,
    pub verdict: Verdict,
    pub checks: Vec<Check>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    pub contexts: Vec<ContextReport>,
    pub summary: Summary,
    pub findings: Vec<Finding>,
}

impl DoctorReport {
    pub fn exit_code(&self) -> u8 {
        self.verdict.exit_code()
    }
}

/// Diagnose `facts` and wrap the findings in the report.
pub fn build(facts: &Facts, opts: &Options) -> DoctorReport {
    let findings = diagnose(facts, opts);
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let summary = Summary {
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        infos: count(Severity::Info),
    };
    let verdict = if summary.errors > 0 {
        Verdict::Errors
    } else if summary.warnings > 0 {
        Verdict::Warnings
    } else {
        Verdict::Clean
    };
    DoctorReport {
        schema: SCHEMA,
        verdict,
        checks: if opts.only.is_empty() {
            Check::ALL.to_vec()
        } else {
            opts.only.clone()
        },
        direction: opts.direction.as_ref().map(|d| d.to_string()),
        contexts: facts.contexts.iter().map(ContextReport::of).collect(),
        summary,
        findings,
    }
}

fn mark(p: &Palette, s: Severity) -> String {
    match s {
        Severity::Error => p.bad("✗ error  "),
        Severity::Warning => p.warn("! warning"),
        Severity::Info => p.dim("i info   "),
    }
}

/// The table: contexts, then one block per finding (fix and command; the YAML patch with
/// `wide`), then what could not be read, then the summary.
pub fn render(r: &DoctorReport, wide: bool, p: &Palette) -> String {
    let mut out = String::new();
    let mut t = Table::new(["CONTEXT", "ALIAS", "NAMESPACE", "READ"]);
    for c in &r.contexts {
        let read = match (&c.error, c.refused.is_empty()) {
            (Some(_), _) => p.bad("UNREACHABLE"),
            (None, true) => p.good("ok"),
            (None, false) => p.warn(&format!("partial ({} refused by RBAC)", c.refused.len())),
        };
        t.row([
            c.context.clone(),
            c.alias.clone().unwrap_or_else(|| "-".into()),
            c.namespace.clone(),
            read,
        ]);
    }
    out.push_str(&t.render(0));
    out.push('\n');
    if r.findings.is_empty() {
        let _ = writeln!(out, "{}", p.good("No findings."));
    }
    for f in &r.findings {
        let _ = writeln!(
            out,
            "{} {}  {}  {}",
            mark(p, f.severity),
            p.bold(&f.id),
            f.context,
            f.object
        );
        let _ = writeln!(out, "    {}", f.message);
        for (k, v) in &f.evidence {
            let _ = writeln!(out, "    {} {k}: {v}", p.dim("·"));
        }
        if !f.fix.summary.is_empty() {
            let _ = writeln!(out, "    {} {}", p.good("fix:"), f.fix.summary);
        }
        if let Some(c) = &f.fix.command {
            let _ = writeln!(out, "      $ {c}");
        }
        if let Some(patch) = &f.fix.patch {
            let path = f.fix.flux_path.as_deref().unwrap_or("the manifest in Git");
            if wide {
                let _ = writeln!(out, "      patch for {path}:");
                for line in patch.lines() {
                    let _ = writeln!(out, "        {line}");
                }
            } else {
                let _ = writeln!(out, "      patch for {path}: shown with -o wide (or in -o yaml)");
            }
        }
    }
    let refused: Vec<(&ContextReport, &Refusal)> = r
        .contexts
        .iter()
        .flat_map(|c| c.refused.iter().map(move |x| (c, x)))
        .collect();
    if !refused.is_empty() {
        let _ = writeln!(out, "\n{}", p.warn("Not checked (RBAC refused the read):"));
        for (c, x) in refused {
            let _ = writeln!(out, "  {}: {} → {}", c.context, x.request, x.skipped);
        }
    }
    for c in r.contexts.iter().filter(|c| !c.read_errors.is_empty()) {
        for e in &c.read_errors {
            let _ = writeln!(out, "  {} {}: {e}", p.warn("read error"), c.context);
        }
    }
    let _ = writeln!(
        out,
        "\n{} error(s), {} warning(s), {} info → {}",
        r.summary.errors,
        r.summary.warnings,
        r.summary.infos,
        match r.verdict {
            Verdict::Clean => p.good("clean (exit 0)"),
            Verdict::Warnings => p.warn("warnings (exit 1)"),
            Verdict::Errors => p.bad("errors (exit 2)"),
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::rules::metrics::tests::RUNBOOK_RULES;
    use crate::doctor::rules::topology::tests::{facts_with, mm2};
    use serde_json::json;

    /// A small runbook-like clusterset: the aws heap, aws's MM2 as the runbook writes it, its
    /// metrics ConfigMap, and proxmox unreachable; aws's viewer may not read Secrets.
    fn sample() -> Facts {
        let mut m = mm2("mm2-aws-to-proxmox", "aws", "aws", "proxmox");
        m["spec"]["metricsConfig"] = json!({"type": "jmxPrometheusExporter",
            "valueFrom": {"configMapKeyRef": {"name": "mm2-jmx-metrics", "key": "mm2-metrics-config.yml"}}});
        let mut facts = facts_with(&[
            ("aws", m),
            (
                "aws",
                json!({"kind": "ConfigMap", "metadata": {"name": "mm2-jmx-metrics", "namespace": "rciis-prod"},
                           "data": {"mm2-metrics-config.yml": RUNBOOK_RULES}}),
            ),
            (
                "aws",
                json!({"kind": "Kafka", "metadata": {"name": "kafka-rciis-prod", "namespace": "rciis-prod"},
                           "spec": {"kafka": {"jvmOptions": {"-Xms": "2048m", "-Xmx": "8192m"}}}}),
            ),
            (
                "aws",
                json!({"kind": "KafkaNodePool", "metadata": {"name": "dual-role", "namespace": "rciis-prod",
                           "labels": {"strimzi.io/cluster": "kafka-rciis-prod"}},
                           "spec": {"replicas": 1, "roles": ["broker"], "resources": {"limits": {"memory": "2Gi"}}}}),
            ),
        ]);
        facts.contexts[0].refused.push(Refusal {
            kind: Kind::Secret,
            request: "list secrets in rciis-prod".into(),
            skipped: Kind::Secret.skipped_checks().into(),
        });
        facts.contexts[1].unreachable = Some(
            "context rciis-proxmox: no answer from the API server https://10.0.0.2:6443 within 5s".into(),
        );
        facts
    }

    fn golden(name: &str, actual: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/doctor")
            .join(name);
        crate::golden::assert_golden(&path, actual);
    }

    #[test]
    fn table_and_wide_match_their_golden_files() {
        let r = build(&sample(), &Options::default());
        assert_eq!(r.verdict, Verdict::Errors);
        assert_eq!(
            r.findings[0].id, "topology.rejected",
            "the rejected layout comes first"
        );
        golden("report.txt", &render(&r, false, &Palette::plain()));
        golden("report-wide.txt", &render(&r, true, &Palette::plain()));
    }

    #[test]
    fn json_is_one_schema_tagged_document() {
        let r = build(&sample(), &Options::default());
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["schema"], SCHEMA);
        assert_eq!(v["verdict"], "errors");
        assert_eq!(v["contexts"][1]["reachable"], false);
        assert_eq!(v["contexts"][0]["refused"][0]["kind"], "secret");
        assert_eq!(
            v["findings"][0]["fix"]["command"],
            "kubectl mm2 convert aws:proxmox"
        );
        assert!(
            v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["severity"].is_string() && f["evidence"].is_object())
        );
    }

    #[test]
    fn only_and_direction_filter_and_exit_codes_follow_severity() {
        let facts = sample();
        let r = build(
            &facts,
            &Options {
                only: vec![Check::Memory],
                direction: None,
            },
        );
        assert!(
            r.findings
                .iter()
                .all(|f| matches!(f.check, Check::Memory | Check::Reachability))
        );
        let mut clean = facts.clone();
        clean.contexts[1].unreachable = None;
        let r = build(
            &clean,
            &Options {
                only: vec![Check::Sizing],
                direction: None,
            },
        );
        assert_eq!((r.verdict, r.exit_code()), (Verdict::Clean, 0));
        let r = build(
            &clean,
            &Options {
                only: vec![Check::Metrics],
                direction: None,
            },
        );
        assert_eq!((r.verdict, r.exit_code()), (Verdict::Warnings, 1));
        let r = build(
            &clean,
            &Options {
                only: vec![],
                direction: Some(crate::direction::Direction::new("proxmox", "aws")),
            },
        );
        assert!(
            r.findings
                .iter()
                .all(|f| f.direction.as_deref().is_none_or(|d| d == "proxmox->aws"))
        );
    }
}
