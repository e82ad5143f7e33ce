//! Human rendering of reports (`-o table|wide`). JSON/YAML come straight from serde.

use mm2_core::mm2::status::{DirectionStatus, Mm2Report, StatusReport, Verdict};
use mm2_core::output::{Health, Palette, Table, key_values};
use mm2_core::resources::strimzi::ConnectorState;
use std::fmt::Write as _;

fn state_health(s: Option<ConnectorState>, desired: ConnectorState) -> Health {
    match s {
        Some(ConnectorState::Failed) | None => Health::Bad,
        Some(x) if x == desired && x == ConnectorState::Running => Health::Good,
        Some(x) if x == desired => Health::Warn,
        Some(_) => Health::Bad,
    }
}

fn verdict_word(p: &Palette, v: Verdict) -> String {
    match v {
        Verdict::Healthy => p.good("healthy"),
        Verdict::Degraded => p.warn("degraded"),
        Verdict::Invalid => p.bad("invalid"),
        Verdict::Unauthorized => p.bad("unauthorized"),
        Verdict::Forbidden => p.bad("forbidden"),
        Verdict::Unreachable => p.bad("unreachable"),
    }
}

/// The whole status report, coloured with `p` (`Palette::plain()` gives text without ANSI).
pub fn status(r: &StatusReport, wide: bool, p: &Palette) -> String {
    let mut out = String::new();
    if r.directions.is_empty() {
        let _ = writeln!(out, "no direction could be read: {}", verdict_word(p, r.verdict));
        for e in &r.problems {
            let _ = writeln!(out, "  {} {}", p.bad(&format!("[{}]", e.kind)), e.message);
            if let Some(h) = &e.hint {
                let _ = writeln!(out, "  {} {h}", p.dim("hint:"));
            }
        }
    }
    for m in &r.without_direction {
        let why = match &m.rejection {
            Some(r) => format!("rejected by Strimzi: {}", r.message),
            None => "no mirror could be read".to_string(),
        };
        let _ = writeln!(
            out,
            "{} {}/{} (context {}) names no replication direction: {why}",
            p.warn("⚠"),
            m.namespace,
            m.name,
            m.context
        );
    }
    for (i, d) in r.directions.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        direction(&mut out, p, d, wide);
    }
    out
}

fn direction(out: &mut String, p: &Palette, d: &DirectionStatus, wide: bool) {
    let _ = writeln!(
        out,
        "{}  {}",
        p.bold(&format!("{} → {}", d.source, d.target)),
        verdict_word(p, d.verdict)
    );
    if let Some(e) = &d.error {
        let _ = writeln!(out, "  {} {}", p.bad(&format!("[{}]", e.kind)), e.message);
        if let Some(h) = &e.hint {
            let _ = writeln!(out, "  {} {h}", p.dim("hint:"));
        }
    }
    if let Some(m) = &d.mm2 {
        mm2(out, p, d, m, wide);
    }
    for o in &d.also_served_by {
        let what = match &o.rejection {
            Some(r) => format!("rejected by Strimzi: {}", r.message),
            None => p.bad("also running"),
        };
        let _ = writeln!(
            out,
            "  {} {}/{} (context {}): {what}",
            p.warn("also serves this direction:"),
            o.namespace,
            o.name,
            o.context
        );
    }
}

/// One MM2 the way `kubectl cnpg status` prints a cluster: a key/value block by section, the
/// connector table, then what Connect said live and the findings.
fn mm2(out: &mut String, p: &Palette, d: &DirectionStatus, m: &Mm2Report, wide: bool) {
    let mut kv: Vec<(String, String)> = Vec::new();
    identity(&mut kv, d, m);
    connect(&mut kv, p, m);
    readiness(&mut kv, p, m);
    conditions(&mut kv, p, m);
    secrets(&mut kv, p, m);
    flux(&mut kv, p, m);
    out.push_str(&key_values(&kv, 2));
    connector_table(out, p, m, wide);
    live(out, p, m);
    findings(out, p, m);
}

/// Which object, and the two clusters it copies between.
fn identity(kv: &mut Vec<(String, String)>, d: &DirectionStatus, m: &Mm2Report) {
    kv.push((
        "MirrorMaker2".into(),
        format!(
            "{}/{}  (context {}, {}, {} shape)",
            m.namespace,
            m.name,
            m.context,
            m.api_version,
            shape(m)
        ),
    ));
    kv.push((
        "Source".into(),
        format!(
            "{}  {}",
            d.source,
            m.source_bootstrap.clone().unwrap_or_else(|| "-".into())
        ),
    ));
    kv.push((
        "Target".into(),
        format!(
            "{}  {}",
            d.target,
            m.target_bootstrap.clone().unwrap_or_else(|| "-".into())
        ),
    ));
}

/// The Connect cluster and how many of its workers are ready.
fn connect(kv: &mut Vec<(String, String)>, p: &Palette, m: &Mm2Report) {
    let rep = &m.replicas;
    let ready_pods = rep
        .ready_pods
        .map(|r| r.to_string())
        .unwrap_or_else(|| "?".into());
    let desired = rep.desired.map(|r| r.to_string()).unwrap_or_else(|| "-".into());
    let rep_health = if m.rejection.is_some() {
        Health::Bad
    } else if rep.ready_pods.is_some() && rep.ready_pods == rep.desired {
        Health::Good
    } else {
        Health::Warn
    };
    kv.push((
        "Connect".into(),
        format!(
            "cluster {}  workers {} ready (status.replicas {})",
            m.connect_cluster.clone().unwrap_or_else(|| "-".into()),
            p.health(rep_health, &format!("{ready_pods}/{desired}")),
            rep.status.map(|r| r.to_string()).unwrap_or_else(|| "-".into())
        ),
    ));
}

/// Ready, why Strimzi rejects it (and the fix), generation, paused reconciliation.
fn readiness(kv: &mut Vec<(String, String)>, p: &Palette, m: &Mm2Report) {
    let ready = match &m.ready {
        Some(c) if c.type_ == "Ready" && c.status == "True" => p.good(&format!("True{}", age(&c.age))),
        Some(c) => {
            // `NotReady InvalidResourceException (1s): message`, leaving out what is empty.
            let mut t = c.type_.clone();
            if c.type_ == "Ready" {
                t.push_str(&format!("={}", c.status));
            }
            if let Some(r) = c.reason.as_deref().filter(|r| !r.is_empty()) {
                t.push_str(&format!(" {r}"));
            }
            t.push_str(&age(&c.age));
            if let Some(m) = c.message.as_deref().filter(|m| !m.is_empty()) {
                t.push_str(&format!(": {m}"));
            }
            p.bad(&t)
        }
        None => p.warn("unknown (no condition)"),
    };
    kv.push(("Ready".into(), ready));
    if let Some(r) = &m.rejection {
        // The operator's own words are already on the Ready line; a prediction is not.
        if !r.reported_by_operator {
            kv.push((
                "Rejected".into(),
                p.bad(&format!("Strimzi 0.51 will say: {}", r.message)),
            ));
        }
        kv.push(("Why".into(), r.explanation.clone()));
        if let Some(f) = &r.fix {
            kv.push((
                "Fix".into(),
                format!("{f}   (prints the manifests of a layout that runs)"),
            ));
        }
    }
    let generation = format!(
        "{} (observed {}){}",
        m.generation.map(|g| g.to_string()).unwrap_or_else(|| "-".into()),
        m.observed_generation
            .map(|g| g.to_string())
            .unwrap_or_else(|| "-".into()),
        if m.reconciled {
            String::new()
        } else {
            p.warn("  not yet reconciled")
        }
    );
    kv.push(("Generation".into(), generation));
    if m.reconciliation_paused {
        kv.push((
            "Reconciliation".into(),
            p.bad("PAUSED (strimzi.io/pause-reconciliation=true)"),
        ));
    }
}

/// The operator's other conditions.
fn conditions(kv: &mut Vec<(String, String)>, p: &Palette, m: &Mm2Report) {
    // Warnings grouped by reason: five DeprecatedFields lines say one thing.
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for c in &m.conditions {
        let key = format!(
            "{}={} {}",
            c.type_,
            c.status,
            c.reason.clone().unwrap_or_default()
        )
        .trim_end()
        .to_string();
        let msg = c.message.clone().unwrap_or_default();
        let item = msg
            .split_once("at path ")
            .and_then(|(_, rest)| rest.split_once(' '))
            .map(|(path, _)| path.to_string())
            .unwrap_or(msg);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, items)) => items.push(item),
            None => groups.push((key, vec![item])),
        }
    }
    for (key, items) in groups {
        let mut line = format!("{key}: {}", items.join(", "));
        if key.ends_with("DeprecatedFields") {
            line.push_str(&p.dim("  (`kubectl mm2 convert` prints the resource in the v1 shape)"));
        }
        kv.push(("Condition".into(), line));
    }
}

/// The Secrets the MM2 mounts, and whether each exists.
fn secrets(kv: &mut Vec<(String, String)>, p: &Palette, m: &Mm2Report) {
    let secrets: Vec<String> = m
        .secrets
        .iter()
        .map(|s| match s.present {
            Some(true) => format!("{} {}", s.name, p.good("✓")),
            Some(false) => format!("{} {}", s.name, p.bad("missing")),
            None => format!("{} {}", s.name, p.dim("(cannot check)")),
        })
        .collect();
    kv.push((
        "Secrets".into(),
        if secrets.is_empty() {
            "-".into()
        } else {
            secrets.join("  ")
        },
    ));
}

/// Flux ownership of the object.
fn flux(kv: &mut Vec<(String, String)>, p: &Palette, m: &Mm2Report) {
    kv.push((
        "Flux".into(),
        match &m.flux {
            None => "not managed by Flux".into(),
            Some(f) => {
                let ready = f.ready.clone().unwrap_or_else(|| "?".into());
                let mut s = format!(
                    "Kustomization {}/{}  Ready={}",
                    f.namespace, f.kustomization, ready
                );
                if !f.found {
                    s.push_str("  (Kustomization not found)");
                }
                if f.suspended {
                    s.push_str(&p.warn("  SUSPENDED"));
                    if let Some(by) = &f.suspended_by_kubectl_mm2 {
                        s.push_str(&format!(" by kubectl-mm2: {by}"));
                    }
                }
                if f.reconcile_disabled {
                    s.push_str("  reconcile: disabled");
                }
                s
            }
        },
    ));
}

/// One row per connector (per task too with `-o wide`).
fn connector_table(out: &mut String, p: &Palette, m: &Mm2Report, wide: bool) {
    let mut t = if wide {
        Table::new([
            "CONNECTOR",
            "NAME",
            "DESIRED",
            "STATE",
            "TASKS",
            "WORKER",
            "RESTARTS",
        ])
    } else {
        Table::new(["CONNECTOR", "NAME", "DESIRED", "STATE", "TASKS"])
    };
    for c in &m.connectors {
        let state = c.state.map(|s| s.to_string()).unwrap_or_else(|| "-".into());
        let running = c
            .tasks
            .iter()
            .filter(|t| t.state == ConnectorState::Running)
            .count();
        let tasks = if c.tasks.is_empty() {
            "-".to_string()
        } else {
            let states: std::collections::BTreeSet<&str> = c.tasks.iter().map(|t| t.state.as_str()).collect();
            format!(
                "{running}/{} running{}",
                c.tasks.len(),
                if states.len() == 1 && running == 0 {
                    format!(" ({})", states.iter().next().unwrap_or(&""))
                } else {
                    String::new()
                }
            )
        };
        let mut row = vec![
            c.kind.as_str().to_string(),
            c.name.clone(),
            c.desired_state.spec_value().to_string(),
            p.health(state_health(c.state, c.desired_state), &state),
            tasks,
        ];
        if wide {
            row.push(c.worker.clone().unwrap_or_else(|| "-".into()));
            row.push(
                c.auto_restarts
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "0".into()),
            );
        }
        t.row(row);
        if wide {
            for task in &c.tasks {
                let th = if task.state == ConnectorState::Running {
                    Health::Good
                } else {
                    Health::Bad
                };
                t.row(vec![
                    String::new(),
                    format!("  task {}", task.id),
                    String::new(),
                    p.health(th, task.state.as_str()),
                    task.trace.clone().unwrap_or_default(),
                    task.worker.clone().unwrap_or_default(),
                    String::new(),
                ]);
            }
        }
    }
    if !t.is_empty() {
        out.push('\n');
        out.push_str(&t.render(2));
    }
}

/// What `--live` found when asking Kafka Connect.
fn live(out: &mut String, p: &Palette, m: &Mm2Report) {
    if let Some(l) = &m.live {
        match &l.error {
            Some(e) => {
                let _ = writeln!(
                    out,
                    "  {} could not ask Kafka Connect on {}: {e}",
                    p.warn("live:"),
                    l.pod.clone().unwrap_or_default()
                );
            }
            None if l.disagreements.is_empty() => {
                let _ = writeln!(
                    out,
                    "  {} Kafka Connect agrees with the CR status",
                    p.good("live:")
                );
            }
            None => {}
        }
    }
}

/// The rules' findings, one line each.
fn findings(out: &mut String, p: &Palette, m: &Mm2Report) {
    if !m.findings.is_empty() {
        out.push('\n');
        for f in &m.findings {
            let _ = writeln!(out, "  {} {f}", p.bad("✗"));
        }
    }
}

fn shape(m: &Mm2Report) -> &'static str {
    match m.shape {
        mm2_core::resources::strimzi::Mm2Shape::V1beta2 => "v1beta2",
        mm2_core::resources::strimzi::Mm2Shape::V1 => "v1",
        mm2_core::resources::strimzi::Mm2Shape::Unknown => "unknown",
    }
}

fn age(a: &Option<String>) -> String {
    a.as_ref().map(|a| format!(" ({a})")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    //! Golden files of `kubectl mm2 status`: each report is judged by mm2-core from the runbook's
    //! manifests and the operator's status (testdata/fixtures), then rendered without colour.

    use super::*;
    use crate::fixtures::{direction, golden, mm2, now, route};
    use mm2_core::error::{Error, Problem};
    use mm2_core::mm2::status::{
        FluxReport, Mm2Facts, SCHEMA, SecretReport, judge_mm2, judged_direction, unread_direction,
    };
    use mm2_core::resources::inventory::Mm2Object;
    use mm2_core::resources::validation;
    use std::time::Duration;

    /// Both Kustomizations of the runbook: Flux applied the MM2 and is Ready.
    fn flux(context: &str) -> FluxReport {
        let alias = context.trim_start_matches("rciis-");
        FluxReport {
            kustomization: format!("kafka-{alias}"),
            namespace: "flux-system".into(),
            found: true,
            ready: Some("True".into()),
            ready_reason: Some("ReconciliationSucceeded".into()),
            ready_message: Some("Applied revision: main@sha1:4f2c9e1".into()),
            suspended: false,
            reconcile_disabled: false,
            ssa_policy: String::new(),
            path: Some(format!("./flux/apps/{alias}/kafka")),
            interval: Some("10m".into()),
            managed_by_field_manager: true,
            suspended_by_kubectl_mm2: None,
        }
    }

    /// Pods, Secrets and Flux as a cluster that runs `m` would answer: `ready` of its workers
    /// Ready (`None`: no pod, as for a rejected MM2), every credentials Secret present.
    fn facts(m: &Mm2Object, ready: Option<i32>) -> Mm2Facts {
        let pods = (0..ready.unwrap_or(0))
            .map(|i| format!("{}-mirrormaker2-{i}", m.name))
            .collect();
        Mm2Facts {
            pods: Ok((pods, ready)),
            secrets: m
                .spec
                .credential_secrets()
                .into_iter()
                .map(|(alias, name)| SecretReport {
                    alias,
                    name,
                    present: Some(true),
                })
                .collect(),
            flux: Some(flux(&m.context)),
            live: None,
            now: now(),
        }
    }

    /// proxmox->aws as the working MM2 in aws runs it, with the operator's `status_file` and
    /// both workers Ready.
    fn proxmox_to_aws(status_file: &str) -> DirectionStatus {
        let m = mm2("convert/working-aws.yaml", Some(status_file), "rciis-aws");
        let mm2 = judge_mm2(&m, &route(&m), facts(&m, Some(2)));
        judged_direction(&direction("proxmox->aws"), mm2, vec![])
    }

    fn report(directions: Vec<DirectionStatus>, problems: Vec<Problem>) -> StatusReport {
        StatusReport {
            schema: SCHEMA,
            verdict: directions
                .iter()
                .map(|d| d.verdict)
                .max()
                .unwrap_or(Verdict::Unreachable),
            directions,
            problems,
            without_direction: vec![],
        }
    }

    fn render_both(name: &str, r: &StatusReport) {
        golden(
            &format!("status/{name}.txt"),
            &status(r, false, &Palette::plain()),
        );
        golden(
            &format!("status/{name}-wide.txt"),
            &status(r, true, &Palette::plain()),
        );
    }

    /// The fixtures' warnings are the ones mm2-core's port of Strimzi's ValidationVisitor words.
    fn assert_operator_wording(m: &Mm2Object) {
        let st = m.status.as_ref().expect("a status");
        for d in validation::deprecations(&m.obj.data["spec"]) {
            let want = d.message(&m.namespace, &m.name, "kafka.strimzi.io/v1beta2");
            assert!(
                st.conditions
                    .iter()
                    .any(|c| c.message.as_deref() == Some(want.as_str())),
                "fixture lacks: {want}"
            );
        }
    }

    #[test]
    fn healthy_direction() {
        assert_operator_wording(&mm2(
            "convert/working-aws.yaml",
            Some("status-running.yaml"),
            "rciis-aws",
        ));
        let d = proxmox_to_aws("status-running.yaml");
        assert_eq!(
            d.verdict,
            Verdict::Healthy,
            "{:?}",
            d.mm2.as_ref().map(|m| &m.findings)
        );
        render_both("healthy", &report(vec![d], vec![]));
    }

    #[test]
    fn the_runbooks_rejected_layout_is_invalid() {
        let m = mm2(
            "convert/runbook-aws.yaml",
            Some("status-rejected.yaml"),
            "rciis-aws",
        );
        assert_operator_wording(&m);
        let mm2 = judge_mm2(&m, &route(&m), facts(&m, None));
        let rejection = mm2
            .rejection
            .clone()
            .expect("Strimzi rejects the runbook's layout");
        assert!(rejection.reported_by_operator);
        let d = judged_direction(&direction("aws->proxmox"), mm2, vec![]);
        assert_eq!(d.verdict, Verdict::Invalid);
        // No connector exists, so the wide form adds nothing.
        golden(
            "status/invalid-layout.txt",
            &status(&report(vec![d], vec![]), false, &Palette::plain()),
        );
    }

    #[test]
    fn a_failed_connector_shows_its_trace() {
        let d = proxmox_to_aws("status-failed.yaml");
        assert_eq!(d.verdict, Verdict::Degraded);
        render_both("failed-connector", &report(vec![d], vec![]));
    }

    #[test]
    fn an_unreachable_context_leaves_its_direction_unknown() {
        let proxmox_down = Error::Timeout {
            context: "rciis-proxmox".into(),
            server: "https://10.0.0.2:6443".into(),
            timeout: Duration::from_secs(10),
        };
        // proxmox->aws runs in aws and is read; aws->proxmox runs in proxmox, which is down.
        let read = proxmox_to_aws("status-running.yaml");
        let unread = unread_direction(&direction("aws->proxmox"), &proxmox_down);
        assert_eq!(unread.verdict, Verdict::Unreachable);
        let r = report(vec![unread, read], vec![Problem::from_error(&proxmox_down)]);
        golden("status/unreachable.txt", &status(&r, false, &Palette::plain()));
    }

    #[test]
    fn nothing_readable_lists_every_context_that_failed() {
        let errors = [
            Error::Unreachable {
                context: "rciis-aws".into(),
                server: "https://10.0.0.1:6443".into(),
                cause: "tcp connect error: Connection refused (os error 111)".into(),
            },
            Error::Forbidden {
                context: "rciis-proxmox".into(),
                verb: "list".into(),
                resource: "kafkamirrormaker2s.kafka.strimzi.io".into(),
                namespace: Some("rciis-prod".into()),
                message: "kafkamirrormaker2s.kafka.strimzi.io is forbidden".into(),
            },
        ];
        let mut r = report(vec![], errors.iter().map(Problem::from_error).collect());
        r.verdict = errors.iter().map(Verdict::of_error).max().expect("two errors");
        assert_eq!(r.verdict, Verdict::Unreachable);
        golden(
            "status/nothing-readable.txt",
            &status(&r, false, &Palette::plain()),
        );
    }
}
