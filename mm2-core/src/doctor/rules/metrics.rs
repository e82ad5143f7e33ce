//! Metrics: the ConfigMap an MM2's `metricsConfig` names exists and holds the key; its exporter
//! rules, run over the MBeans Kafka 4.1 registers ([`super::jmx`]), export the families `lag`
//! reads and every `kafka_*` metric the namespace's PrometheusRules use. A rule that matches
//! nothing is named, with the rule that would match (Strimzi's, from `lag`'s advice).

use super::jmx::{self, Exported, RuleSet};
use crate::doctor::facts::{ConfigMapFact, ContextFacts, Kind, Mm2Fact};
use crate::doctor::{Check, Facts, Finding, Fix, Severity, object};
use crate::lag::advice::{self, advice_for};
use crate::lag::aggregate::{
    POLL_TOTAL, RECORDS_LAG, RUNBOOK_CHECKPOINT_PREFIX, RUNBOOK_LATENCY, RUNBOOK_SOURCE_PREFIX,
    STRIMZI_CHECKPOINT_PREFIX, STRIMZI_SOURCE_PREFIX, WRITE_TOTAL,
};
use crate::lag::model::{MissingFamily, NamingScheme};
use regex::Regex;
use std::collections::BTreeSet;

/// Strimzi 1.2.0's MM2 example rules (`packaging/examples/metrics/kafka-mirror-maker-2-metrics.yaml`,
/// the one with the `source=` key Kafka ≥ 3.5 registers): the reference for "the rule that would".
pub const STRIMZI_RULES: &str = include_str!("strimzi-1.2.0-mm2-metrics.yml");

const FAMILIES: [MissingFamily; 4] = [
    MissingFamily::RecordsLag,
    MissingFamily::MirrorSource,
    MissingFamily::Checkpoint,
    MissingFamily::InFlight,
];

/// Does the exported set hold `family` (in either naming scheme `lag` reads)?
pub fn has_family(names: &BTreeSet<String>, family: MissingFamily) -> bool {
    let any_prefix = |ps: &[&str]| names.iter().any(|n| ps.iter().any(|p| n.starts_with(p)));
    match family {
        MissingFamily::RecordsLag => names.contains(RECORDS_LAG),
        MissingFamily::MirrorSource => {
            any_prefix(&[STRIMZI_SOURCE_PREFIX, RUNBOOK_SOURCE_PREFIX]) || names.contains(RUNBOOK_LATENCY)
        }
        MissingFamily::Checkpoint => any_prefix(&[STRIMZI_CHECKPOINT_PREFIX, RUNBOOK_CHECKPOINT_PREFIX]),
        MissingFamily::InFlight => names.contains(POLL_TOTAL) && names.contains(WRITE_TOTAL),
    }
}

fn family_name(f: MissingFamily) -> &'static str {
    match f {
        MissingFamily::RecordsLag => "records-lag (records behind per partition)",
        MissingFamily::MirrorSource => {
            "MirrorSourceConnector metrics (replication latency, record age, rates)"
        }
        MissingFamily::Checkpoint => "MirrorCheckpointConnector checkpoint latency",
        MissingFamily::InFlight => "Connect source-task poll/write totals (in flight)",
    }
}

/// Which family a rule's `name` template aims at.
fn aimed_family(name: &str) -> Option<MissingFamily> {
    let n = name.to_lowercase();
    if n.starts_with(STRIMZI_SOURCE_PREFIX)
        || n.starts_with(RUNBOOK_SOURCE_PREFIX)
        || n.starts_with(RUNBOOK_LATENCY)
    {
        Some(MissingFamily::MirrorSource)
    } else if n.starts_with(STRIMZI_CHECKPOINT_PREFIX) || n.starts_with(RUNBOOK_CHECKPOINT_PREFIX) {
        Some(MissingFamily::Checkpoint)
    } else if n.starts_with("kafka_consumer") || n.contains("records_lag") {
        Some(MissingFamily::RecordsLag)
    } else if n.starts_with("kafka_connect_source_task") {
        Some(MissingFamily::InFlight)
    } else {
        None
    }
}

/// Metric names a PromQL expression uses (identifiers not followed by `(`, minus keywords).
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let re = Regex::new(r#"(?:"[^"]*"|'[^']*')|([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?"#).expect("static regex");
    const KEYWORDS: [&str; 12] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "offset",
        "bool",
        "time",
    ];
    re.captures_iter(expr)
        .filter_map(|c| {
            let id = c.get(1)?.as_str();
            (c.get(2).is_none() && id.starts_with("kafka_") && !KEYWORDS.contains(&id))
                .then(|| id.to_string())
        })
        .collect()
}

fn metrics_ref(m: &Mm2Fact) -> Option<(String, String)> {
    let mc = m.spec.get("metricsConfig")?;
    if mc.get("type").and_then(|t| t.as_str()) != Some("jmxPrometheusExporter") {
        return None;
    }
    let r = mc.get("valueFrom")?.get("configMapKeyRef")?;
    Some((
        r.get("name")?.as_str()?.to_string(),
        r.get("key")?.as_str()?.to_string(),
    ))
}

pub fn check(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    let strimzi = jmx::parse(STRIMZI_RULES).expect("Strimzi's rules parse");
    for cx in facts.reachable() {
        let mut judged = BTreeSet::new();
        for m in &cx.mm2s {
            let Some((name, key)) = metrics_ref(m) else {
                continue;
            };
            if !cx.can_read(Kind::ConfigMap) || !judged.insert((name.clone(), key.clone())) {
                continue;
            }
            let Some(d) = m.directions().into_iter().next() else {
                continue;
            };
            let cm_obj = format!("ConfigMap {}/{name}", cx.namespace);
            let Some(cm) = cx.config_maps.iter().find(|c| c.meta.name == name) else {
                out.push(
                    Finding::new("metrics.configmap-missing", Check::Metrics, Severity::Error, cx, cm_obj,
                        format!("{} exports metrics with the rules of ConfigMap {name}, which does not exist: the operator cannot roll out the workers", object("KafkaMirrorMaker2", &m.meta)))
                    .evidence("metricsConfig", format!("{name}/{key}"))
                    .fix(Fix { summary: "add the metrics ConfigMap (Strimzi's kafka-mirror-maker-2-metrics.yaml) to the Flux path".into(), flux_path: facts.flux_path(cx, &m.meta), ..Default::default() }),
                );
                continue;
            };
            let Some(text) = cm.data.get(&key) else {
                out.push(
                    Finding::new(
                        "metrics.configmap-key-missing",
                        Check::Metrics,
                        Severity::Error,
                        cx,
                        cm_obj,
                        format!("ConfigMap {name} has no key {key}"),
                    )
                    .evidence("keys", cm.data.keys().cloned().collect::<Vec<_>>().join(", "))
                    .fix(Fix {
                        summary: format!(
                            "rename the key to {key} or point metricsConfig at the existing key"
                        ),
                        ..Default::default()
                    }),
                );
                continue;
            };
            let set = match jmx::parse(text) {
                Ok(s) => s,
                Err(e) => {
                    out.push(
                        Finding::new(
                            "metrics.rules-unparseable",
                            Check::Metrics,
                            Severity::Error,
                            cx,
                            cm_obj,
                            format!("the exporter configuration in {name}/{key} is not valid YAML: {e}"),
                        )
                        .fix(Fix {
                            summary: "fix the YAML".into(),
                            ..Default::default()
                        }),
                    );
                    continue;
                }
            };
            let mbeans = jmx::kafka_4_1_mm2_mbeans(&d);
            let exported = jmx::export(&set, &mbeans);
            let reference = jmx::export(&strimzi, &mbeans);
            out.extend(judge_rules(facts, cx, cm, &key, &set, &exported));
            out.extend(judge_alerts(cx, cm, &exported, &reference));
        }
    }
    out
}

fn rule_text(r: &jmx::Rule) -> String {
    format!(
        "#{} `{}`",
        r.index,
        r.pattern.as_deref().unwrap_or("(no pattern)")
    )
}

fn judge_rules(
    facts: &Facts,
    cx: &ContextFacts,
    cm: &ConfigMapFact,
    key: &str,
    set: &RuleSet,
    exported: &Exported,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let cm_obj = object("ConfigMap", &cm.meta);
    let scheme = if exported
        .names
        .iter()
        .any(|n| crate::lag::aggregate::naming_scheme(n) == Some(NamingScheme::Runbook))
        || set.rules.iter().any(|r| {
            r.name
                .as_deref()
                .is_some_and(|n| n.starts_with(RUNBOOK_SOURCE_PREFIX))
        }) {
        vec![NamingScheme::Runbook]
    } else {
        vec![NamingScheme::Strimzi]
    };
    let mut covered = BTreeSet::new();
    for r in &set.rules {
        if exported.matched_rules.contains(&r.index) {
            continue;
        }
        // Only rules aimed at a family lag reads are judged: the MBean inventory doctor runs
        // them over is complete for those families, not for every client metric.
        let Some(family) = r.name.as_deref().and_then(aimed_family) else {
            continue;
        };
        let family = Some(family);
        let (summary, patch) = match family.filter(|f| !has_family(&exported.names, *f)) {
            Some(f) => {
                covered.insert(f);
                let a = advice_for(f, &scheme);
                (
                    format!("replace it with Strimzi's rule, before any catch-all rule in data.{key}.rules"),
                    Some(a.rule_yaml),
                )
            }
            None => (
                "delete it: another rule already exports its family".to_string(),
                None,
            ),
        };
        let why = match &r.error {
            Some(e) => format!("its pattern is not a regular expression doctor can run ({e})"),
            None => "it matches no MBean attribute Kafka 4.1's MirrorMaker 2 registers".into(),
        };
        out.push(
            Finding::new(
                "metrics.rule-matches-nothing",
                Check::Metrics,
                Severity::Warning,
                cx,
                cm_obj.clone(),
                format!(
                    "rule {} exports nothing: {why}{}",
                    rule_text(r),
                    family
                        .map(|f| format!(", so {} are missing", family_name(f)))
                        .unwrap_or_default()
                ),
            )
            .evidence("rule", rule_text(r))
            .evidence("name", r.name.clone().unwrap_or_default())
            .fix(Fix {
                summary,
                flux_path: facts.flux_path(cx, &cm.meta),
                patch,
                ..Default::default()
            }),
        );
    }
    for f in FAMILIES {
        if has_family(&exported.names, f) || covered.contains(&f) {
            continue;
        }
        let a = advice_for(f, &scheme);
        out.push(
            Finding::new(
                "metrics.family-not-exported",
                Check::Metrics,
                Severity::Warning,
                cx,
                cm_obj.clone(),
                format!(
                    "no rule exports {}: `kubectl mm2 lag` cannot show it",
                    family_name(f)
                ),
            )
            .evidence("family", format!("{f:?}"))
            .evidence("advice", a.statement.clone())
            .fix(Fix {
                summary: format!("add this rule to data.{key}.rules, before any catch-all rule"),
                flux_path: facts.flux_path(cx, &cm.meta),
                patch: Some(a.rule_yaml),
                ..Default::default()
            }),
        );
    }
    out
}

fn judge_alerts(
    cx: &ContextFacts,
    cm: &ConfigMapFact,
    exported: &Exported,
    reference: &Exported,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if !cx.can_read(Kind::PrometheusRule) {
        return out;
    }
    for pr in &cx.prometheus_rules {
        for (alert, expr) in &pr.rules {
            for metric in metric_names(expr) {
                if exported.names.contains(&metric) {
                    continue;
                }
                let (summary, patch) = if reference.names.contains(&metric) {
                    ("Strimzi's rule set exports it: add its matching rule (see Strimzi's kafka-mirror-maker-2-metrics.yaml)".to_string(), rule_for(&metric))
                } else {
                    (
                        format!(
                            "no exporter rule can produce {metric} from Kafka 4.1's MBeans: change the alert"
                        ),
                        None,
                    )
                };
                out.push(
                    Finding::new("metrics.alert-metric-missing", Check::Metrics, Severity::Warning, cx, object("PrometheusRule", &pr.meta),
                        format!("alert {alert} uses {metric}, which the rules of {} do not export: the alert can never fire", cm.meta.name))
                    .evidence("alert", alert.clone())
                    .evidence("expr", expr.trim().to_string())
                    .evidence("metric", metric.clone())
                    .fix(Fix { summary, patch, ..Default::default() }),
                );
            }
        }
    }
    out
}

/// The rule of lag's advice that exports `metric`, when there is one.
fn rule_for(metric: &str) -> Option<String> {
    [
        advice::RECORDS_LAG_RULE,
        advice::MIRROR_SOURCE_RULE,
        advice::CHECKPOINT_RULE,
        advice::SOURCE_TASK_RULE,
    ]
    .into_iter()
    .find(|r| {
        jmx::parse(&format!("lowercaseOutputName: true\nrules:\n{r}"))
            .ok()
            .is_some_and(|set| {
                jmx::export(
                    &set,
                    &jmx::kafka_4_1_mm2_mbeans(&crate::direction::Direction::new("a", "b")),
                )
                .names
                .contains(metric)
            })
    })
    .map(str::to_string)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::direction::Direction;
    use crate::doctor::rules::topology::tests::{facts_with, mm2};
    use serde_json::{Value, json};

    /// The runbook's `mm2-jmx-metrics` rules (Phase 4): the one file the bed deploys too.
    pub const RUNBOOK_RULES: &str = include_str!("../../../testdata/runbook/mm2-metrics-config.yml");

    /// The runbook's PrometheusRule (Phase 5).
    fn runbook_alerts() -> Value {
        json!({"kind": "PrometheusRule", "metadata": {"name": "kafka-mirrormaker2-alerts", "namespace": "rciis-prod"},
          "spec": {"groups": [{"name": "mirrormaker2", "rules": [
            {"alert": "MM2ConnectorDown", "expr": "kafka_connect_connector_status{state=\"RUNNING\"} == 0"},
            {"alert": "MM2ReplicationLagHigh", "expr": "(kafka_connect_source_task_source_record_poll_total -\n  kafka_connect_source_task_source_record_write_total) > 10000\n"},
            {"alert": "MM2CheckpointStale", "expr": "time() - kafka_connect_source_task_last_checkpoint_timestamp_seconds > 300"}]}]}})
    }

    fn with_metrics(rules: &str) -> Vec<(&'static str, Value)> {
        let mut m = mm2("mm2-proxmox-to-aws", "aws", "proxmox", "aws");
        m["spec"]["metricsConfig"] = json!({"type": "jmxPrometheusExporter",
            "valueFrom": {"configMapKeyRef": {"name": "mm2-jmx-metrics", "key": "mm2-metrics-config.yml"}}});
        let cm = json!({"kind": "ConfigMap", "metadata": {"name": "mm2-jmx-metrics", "namespace": "rciis-prod"},
                        "data": {"mm2-metrics-config.yml": rules}});
        vec![("aws", m), ("aws", cm)]
    }

    #[test]
    fn the_runbooks_rules_name_the_dead_rules_and_missing_families() {
        let f = check(&facts_with(&with_metrics(RUNBOOK_RULES)));
        let got: Vec<(&str, String)> = f
            .iter()
            .map(|f| {
                (
                    f.id.as_str(),
                    f.evidence
                        .get("rule")
                        .or(f.evidence.get("family"))
                        .cloned()
                        .unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(got.len(), 4, "{got:#?}");
        assert!(
            got.iter()
                .filter(|(id, r)| *id == "metrics.rule-matches-nothing"
                    && (r.starts_with("#2") || r.starts_with("#3")))
                .count()
                == 2,
            "{got:#?}"
        );
        let fams: Vec<&String> = got
            .iter()
            .filter(|(id, _)| *id == "metrics.family-not-exported")
            .map(|(_, f)| f)
            .collect();
        assert_eq!(fams, ["RecordsLag", "InFlight"]);
        let dead = f.iter().find(|f| f.evidence["rule"].starts_with("#2")).unwrap();
        assert!(
            dead.fix
                .patch
                .as_deref()
                .unwrap()
                .contains("source=(.+), target=(.+), topic=(.+), partition=(.+)")
        );
    }

    /// The metrics check against real captures: the JMX exporter 1.5.0 rule engine, run on a
    /// real Kafka 4.1.1 MirrorMaker 2 worker (`testdata/real/`), exported exactly the lag families
    /// doctor's simulation says a rule set exports (with the runbook's rules: none of them).
    #[test]
    fn the_simulated_exporter_agrees_with_a_real_capture_of_the_runbooks_rules() {
        agrees_with_real(
            include_str!("../../../testdata/real/metrics-runbook-rules.txt"),
            RUNBOOK_RULES,
        );
    }

    /// The same with Strimzi's rules (the capture ran 0.51.0's example, the check uses 1.2.0's:
    /// their lag families are the same), where every family is exported.
    #[test]
    fn the_simulated_exporter_agrees_with_a_real_capture_of_strimzis_rules() {
        agrees_with_real(
            include_str!("../../../testdata/real/metrics-strimzi-0.51-rules.txt"),
            STRIMZI_RULES,
        );
    }

    fn agrees_with_real(real: &str, rules: &str) {
        let real_names: BTreeSet<String> = real
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .filter_map(|l| l.split(['{', ' ']).next())
            .map(str::to_string)
            .collect();
        let set = jmx::parse(rules).unwrap();
        let simulated = jmx::export(
            &set,
            &jmx::kafka_4_1_mm2_mbeans(&Direction::new("proxmox", "aws")),
        )
        .names;
        type IsFamily = fn(&str) -> bool;
        let families: [(&str, IsFamily); 3] = [
            ("records-lag", |n| n == "kafka_consumer_fetch_manager_records_lag"),
            ("mirror source", |n| {
                n.starts_with("kafka_connect_mirror_source_connector_")
                    || n.starts_with("kafka_connect_mirror_mirrorsourceconnector_")
                    || n == "kafka_connect_mirror_replication_latency_ms"
            }),
            ("in flight", |n| {
                n.starts_with("kafka_connect_source_task_source_record_")
            }),
        ];
        for (family, is) in families {
            let in_real = real_names.iter().any(|n| is(n));
            let in_sim = simulated.iter().any(|n| is(n));
            assert_eq!(
                in_sim, in_real,
                "{family}: simulated {in_sim}, real {in_real}; real names {real_names:?}"
            );
        }
    }

    #[test]
    fn strimzis_rules_pass() {
        assert!(check(&facts_with(&with_metrics(STRIMZI_RULES))).is_empty());
    }

    #[test]
    fn the_runbooks_alerts_are_judged_against_the_rules() {
        let mut o = with_metrics(STRIMZI_RULES);
        o.push(("aws", runbook_alerts()));
        let f = check(&facts_with(&o));
        let metrics: Vec<&str> = f.iter().map(|f| f.evidence["metric"].as_str()).collect();
        assert_eq!(
            metrics,
            ["kafka_connect_source_task_last_checkpoint_timestamp_seconds"],
            "{f:#?}"
        );
        assert!(f[0].fix.summary.contains("no exporter rule can produce"));
        // Under the runbook's rules the poll/write totals are missing too, and Strimzi's rules give them.
        let mut o = with_metrics(RUNBOOK_RULES);
        o.push(("aws", runbook_alerts()));
        let f = check(&facts_with(&o));
        let poll = f
            .iter()
            .find(|f| f.evidence.get("metric").is_some_and(|m| m == POLL_TOTAL))
            .unwrap();
        assert!(poll.fix.patch.as_deref().unwrap().contains("source-task-metrics"));
    }

    #[test]
    fn a_missing_configmap_trips() {
        let o = with_metrics(STRIMZI_RULES);
        let f = check(&facts_with(&o[..1]));
        assert_eq!(f[0].id, "metrics.configmap-missing");
    }

    #[test]
    fn promql_names_are_extracted() {
        assert_eq!(
            metric_names("time() - kafka_a_b{x=\"kafka_not\"} > 3 and rate(kafka_c[5m])")
                .into_iter()
                .collect::<Vec<_>>(),
            ["kafka_a_b", "kafka_c"]
        );
    }
}
