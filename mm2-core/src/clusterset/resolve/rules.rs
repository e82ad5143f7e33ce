//! The judgement of `resolve` (pure): the facts of every context become findings with a next
//! step, and the answer to "does it resolve?". Unit-tested without clusters.

use crate::clusterset::export::PortSpec;
use crate::resources::{condition, mcs};

use super::report::*;

fn ports_text(p: &[PortSpec]) -> String {
    format!(
        "[{}]",
        p.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", ")
    )
}

/// One clusterset name exported by several clusters whose Services select Strimzi Kafka brokers:
/// MCS merges them, so `kafka-bootstrap-aws` would load-balance across two Kafka clusters and a
/// MirrorMaker reading "aws" could read (or write) the other one. Always an error for Kafka.
fn kafka_exported_from_several_clusters(
    name: &str,
    ns: &str,
    exporters: &[&ContextSection],
) -> Option<Finding> {
    let kafka: Vec<&str> = exporters
        .iter()
        .filter(|s| {
            s.service.as_ref().is_some_and(|svc| {
                svc.selector.get("strimzi.io/kind").is_some_and(|k| k == "Kafka")
                    || svc.selector.contains_key("strimzi.io/cluster")
            })
        })
        .map(|s| s.context.as_str())
        .collect();
    (kafka.len() > 1).then(|| Finding {
        severity: Severity::Error,
        context: None,
        diagnosis: format!(
            "{name} is exported from {}, each selecting the brokers of its own Kafka cluster: the clusterset name {} load-balances across different Kafka clusters",
            kafka.join(" and "),
            crate::clusterset::clusterset_dns(name, ns)
        ),
        next_step: format!(
            "export it only from the cluster its name stands for: `kubectl delete serviceexport {name} -n {ns} --context <the other>`"
        ),
    })
}

/// Diagnose. Returns the findings (errors first) and whether the name resolves everywhere.
pub fn findings(name: &str, ns: &str, sections: &[ContextSection]) -> (Vec<Finding>, bool) {
    let dns = crate::clusterset::clusterset_dns(name, ns);
    let mut out = Vec::new();
    let mut ok = true;
    let push = |out: &mut Vec<Finding>, sev: Severity, ctx: Option<&str>, d: String, n: String| {
        out.push(Finding {
            severity: sev,
            context: ctx.map(str::to_string),
            diagnosis: d,
            next_step: n,
        })
    };
    for s in sections.iter().filter(|s| !s.reachable) {
        ok = false;
        push(
            &mut out,
            Severity::Error,
            Some(&s.context),
            {
                // The error already names its context: say it once.
                let err = s.error.as_deref().unwrap_or("unreachable");
                let err = err
                    .strip_prefix(&format!("context {}: ", s.context))
                    .unwrap_or(err);
                format!("cannot read context {}: {err}", s.context)
            },
            format!(
                "check the API server of {} (`kubectl --context {} get --raw /readyz`); its part of the clusterset is unknown",
                s.context, s.context
            ),
        );
    }
    // What could not be read comes first, and nothing is concluded from it.
    for s in sections {
        for e in &s.read_errors {
            ok = false;
            push(
                &mut out,
                Severity::Error,
                Some(&s.context),
                format!("incomplete view of {}: {e}", s.context),
                "use a context whose user may read Services, EndpointSlices and the multicluster.x-k8s.io resources; nothing below is concluded from what could not be read"
                    .into(),
            );
        }
    }
    let blind: Vec<&str> = sections
        .iter()
        .filter(|s| !s.reachable || !s.read_errors.is_empty())
        .map(|s| s.context.as_str())
        .collect();
    let exporters: Vec<&ContextSection> = sections.iter().filter(|s| s.service_export.is_some()).collect();
    if exporters.is_empty() && !blind.is_empty() {
        ok = false;
        push(
            &mut out,
            Severity::Error,
            None,
            format!(
                "cannot tell whether {name} is exported: {} could not be read completely",
                blind.join(", ")
            ),
            "fix the access problems above, then run resolve again".into(),
        );
    } else if exporters.is_empty() {
        ok = false;
        let with_service: Vec<&str> = sections
            .iter()
            .filter(|s| s.service.is_some())
            .map(|s| s.context.as_str())
            .collect();
        let no_mcs: Vec<&str> = sections
            .iter()
            .filter(|s| s.reachable && s.mcs_api.is_none())
            .map(|s| s.context.as_str())
            .collect();
        let next = match with_service.first() {
            Some(c) => format!("export it: kubectl clusterset export {name} -n {ns} --context {c}"),
            None => format!(
                "create and export the Service, e.g. kubectl clusterset export --kafka <kafka-cluster> --as {name} -n {ns} --context <context>"
            ),
        };
        let mut d = format!("{name} is not exported from any context: no ServiceExport {ns}/{name}");
        if !with_service.is_empty() {
            d.push_str(&format!(
                " (a Service {name} exists in {})",
                with_service.join(", ")
            ));
        }
        if !no_mcs.is_empty() {
            d.push_str(&format!(
                "; {} do not serve the MCS API ({}) at all",
                no_mcs.join(", "),
                mcs::GROUP
            ));
        }
        push(&mut out, Severity::Error, None, d, next);
    }
    if let Some(f) = kafka_exported_from_several_clusters(name, ns, &exporters) {
        ok = false;
        out.push(f);
    }
    for e in &exporters {
        let ctx = e.context.as_str();
        let ex = e.service_export.as_ref().expect("filtered");
        match &e.service {
            None => {
                ok = false;
                push(
                    &mut out,
                    Severity::Error,
                    Some(ctx),
                    format!(
                        "ServiceExport {ns}/{name} in {ctx} has no Service of the same name (Valid=False NoService)"
                    ),
                    format!(
                        "create Service {name} in {ctx} (for Kafka brokers: kubectl clusterset export --kafka <kafka-cluster> --as {name} --context {ctx}), or delete the stale ServiceExport"
                    ),
                );
            }
            Some(svc) if svc.type_ == "ExternalName" => {
                ok = false;
                push(
                    &mut out,
                    Severity::Error,
                    Some(ctx),
                    format!(
                        "Service {name} in {ctx} is ExternalName, which MCS cannot export (InvalidServiceType)"
                    ),
                    "export a ClusterIP or headless Service instead".into(),
                );
            }
            Some(svc) => match svc.ready_endpoints {
                Some(0) => push(
                    &mut out,
                    Severity::Warning,
                    Some(ctx),
                    format!(
                        "Service {name} in {ctx} has no ready endpoints{}: the name can resolve, but connections will fail",
                        if svc.selector.is_empty() {
                            " (it has no selector)".to_string()
                        } else {
                            format!(
                                " (selector {})",
                                svc.selector
                                    .iter()
                                    .map(|(k, v)| format!("{k}={v}"))
                                    .collect::<Vec<_>>()
                                    .join(",")
                            )
                        }
                    ),
                    format!(
                        "check that pods match the selector and are ready: kubectl get endpointslices -n {ns} -l kubernetes.io/service-name={name} --context {ctx}"
                    ),
                ),
                Some(n) => push(
                    &mut out,
                    Severity::Info,
                    Some(ctx),
                    format!(
                        "Service {name} in {ctx}: {n} ready endpoint(s), ports {}",
                        ports_text(&svc.ports)
                    ),
                    String::new(),
                ),
                None => {}
            },
        }
        let valid = condition(&ex.conditions, "Valid");
        let conflict = condition(&ex.conditions, "Conflict");
        let ready = condition(&ex.conditions, "Ready");
        if ex.conditions.is_empty() {
            ok = false;
            push(
                &mut out,
                Severity::Error,
                Some(ctx),
                format!(
                    "ServiceExport {ns}/{name} in {ctx} has no status conditions: no MCS controller has processed it"
                ),
                format!(
                    "enable Cilium's MCS-API support in {ctx} (Helm clustermesh.mcsapi.enabled=true; before Cilium 1.19 clustermesh.enableMCSAPISupport=true) and check the Cilium operator and clustermesh-apiserver are running (`cilium clustermesh status --context {ctx}`)"
                ),
            );
        } else if valid.map(|c| c.status.as_str()) != Some("True") {
            ok = false;
            let reason = valid.and_then(|c| c.reason.clone()).unwrap_or_default();
            let msg = valid.and_then(|c| c.message.clone()).unwrap_or_default();
            let next = match reason.as_str() {
                "NoService" => format!("create Service {name} in {ctx} in namespace {ns}"),
                "InvalidServiceType" | "ServiceType" => {
                    "ExternalName Services cannot be exported; export a ClusterIP or headless Service".into()
                }
                "NamespaceNotGlobal" => format!(
                    "mark the namespace global for Cluster Mesh: kubectl annotate namespace {ns} clustermesh.cilium.io/global=true --context {ctx}"
                ),
                _ => format!("see `kubectl describe serviceexport {name} -n {ns} --context {ctx}`"),
            };
            push(
                &mut out,
                Severity::Error,
                Some(ctx),
                format!(
                    "ServiceExport {ns}/{name} in {ctx} is not valid: Valid={} reason {}{}",
                    valid.map(|c| c.status.as_str()).unwrap_or("missing"),
                    if reason.is_empty() { "-" } else { &reason },
                    if msg.is_empty() {
                        String::new()
                    } else {
                        format!(" ({msg})")
                    }
                ),
                next,
            );
        }
        if let Some(c) = conflict.filter(|c| c.status == "True") {
            ok = false;
            let reasons = c.reason.clone().unwrap_or_else(|| "Conflict".into());
            let mut d = format!(
                "ServiceExport {ns}/{name} in {ctx} is in conflict: Conflict=True reason {reasons}{}",
                c.message.as_ref().map(|m| format!(" ({m})")).unwrap_or_default()
            );
            // Name the differing field from what we can see ourselves.
            let others: Vec<&&ContextSection> = exporters.iter().filter(|o| o.context != e.context).collect();
            if let Some(mine) = &e.service {
                for o in &others {
                    if let Some(theirs) = &o.service {
                        if mine.ports != theirs.ports {
                            d.push_str(&format!(
                                "; ports differ: {ctx} has {}, {} has {}",
                                ports_text(&mine.ports),
                                o.context,
                                ports_text(&theirs.ports)
                            ));
                        }
                        if mine.headless != theirs.headless {
                            d.push_str(&format!(
                                "; type differs: {ctx} is {}, {} is {}",
                                if mine.headless { "Headless" } else { "ClusterSetIP" },
                                o.context,
                                if theirs.headless {
                                    "Headless"
                                } else {
                                    "ClusterSetIP"
                                }
                            ));
                        }
                    }
                }
            }
            if others.is_empty() {
                d.push_str("; the other export is in a cluster this kubeconfig cannot see");
            }
            push(
                &mut out,
                Severity::Error,
                Some(ctx),
                d,
                format!(
                    "same-named exports merge into one service and the oldest export wins; give each cluster its own name (e.g. {name}-<alias>, the runbook's kafka-bootstrap-aws / kafka-bootstrap-proxmox) or make the definitions match"
                ),
            );
        }
        if let Some(r) = ready.filter(|c| c.status != "True") {
            push(
                &mut out,
                Severity::Warning,
                Some(ctx),
                format!(
                    "ServiceExport {ns}/{name} in {ctx} is not ready: Ready={} reason {}{}",
                    r.status,
                    r.reason.as_deref().unwrap_or("-"),
                    r.message.as_ref().map(|m| format!(" ({m})")).unwrap_or_default()
                ),
                format!(
                    "Cilium has not synced the export to the mesh yet; check `cilium clustermesh status --context {ctx}`"
                ),
            );
        }
    }
    // Every other cluster needs the ServiceImport.
    let exporter_ports: Option<&Vec<PortSpec>> = exporters
        .iter()
        .find_map(|e| e.service.as_ref().map(|s| &s.ports));
    for s in sections.iter().filter(|s| s.reachable) {
        let ctx = s.context.as_str();
        let exporting = s.service_export.is_some();
        if exporters.is_empty() {
            continue;
        }
        if s.mcs_api.is_none() && s.read_errors.is_empty() {
            if !exporting {
                ok = false;
            }
            push(
                &mut out,
                if exporting {
                    Severity::Warning
                } else {
                    Severity::Error
                },
                Some(ctx),
                format!(
                    "{ctx} does not serve the MCS API ({}): no ServiceImport can exist there",
                    mcs::GROUP
                ),
                format!(
                    "enable MCS-API support of Cluster Mesh in {ctx} (Cilium installs the CRDs with clustermesh.mcsapi.enabled=true)"
                ),
            );
            continue;
        }
        match &s.service_import {
            None if exporting => push(
                &mut out,
                Severity::Info,
                Some(ctx),
                format!(
                    "no ServiceImport {name} in the exporting cluster {ctx} (Cilium creates one there too once it has processed the export)"
                ),
                String::new(),
            ),
            None => {
                ok = false;
                let (d, n) = if s.namespace_exists == Some(false) {
                    (
                        format!(
                            "no ServiceImport {ns}/{name} in {ctx}: namespace {ns} does not exist there, and Cilium only imports into clusters that have the namespace"
                        ),
                        format!("create namespace {ns} in {ctx}"),
                    )
                } else {
                    (
                        format!(
                            "no ServiceImport {ns}/{name} in {ctx}: the export from {} has not reached this cluster",
                            exporters
                                .iter()
                                .map(|e| e.context.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                        format!(
                            "check Cluster Mesh connectivity and MCS-API support in {ctx}: `cilium clustermesh status --context {ctx}` (all clusters connected, service-exports synced) and Helm clustermesh.mcsapi.enabled=true"
                        ),
                    )
                };
                push(&mut out, Severity::Error, Some(ctx), d, n);
            }
            Some(imp) => {
                if imp.ports.is_empty() {
                    if !exporting {
                        ok = false;
                    }
                    push(
                        &mut out,
                        Severity::Error,
                        Some(ctx),
                        format!("ServiceImport {ns}/{name} in {ctx} has no ports"),
                        "check the exported Service has ports and the export is Valid".into(),
                    );
                } else if let Some(p) = exporter_ports.filter(|p| *p != &imp.ports) {
                    push(
                        &mut out,
                        Severity::Warning,
                        Some(ctx),
                        format!(
                            "ServiceImport {name} in {ctx} has ports {}, the exported Service has {} (MCS takes the union; a name/port clash is resolved for the oldest export)",
                            ports_text(&imp.ports),
                            ports_text(p)
                        ),
                        "make the exported Services of this name agree".into(),
                    );
                }
                if imp.type_ == "ClusterSetIP" && imp.ips.is_empty() {
                    push(
                        &mut out,
                        Severity::Warning,
                        Some(ctx),
                        format!(
                            "ServiceImport {name} in {ctx} has no clusterset IP yet: DNS has no answer for {dns} there until the derived Service gets one"
                        ),
                        format!("check the derived-* Service in {ns} of {ctx} and the Cilium operator logs"),
                    );
                }
                if imp.type_ == "Headless" && s.multicluster_endpoint_slices.is_empty() {
                    push(
                        &mut out,
                        Severity::Warning,
                        Some(ctx),
                        format!(
                            "headless ServiceImport {name} in {ctx} but no EndpointSlices labelled {}={name}: DNS has no pod addresses to return",
                            mcs::SERVICE_NAME_LABEL
                        ),
                        "check the MCS controller's EndpointSlice sync".into(),
                    );
                }
                if let Some(r) = condition(&imp.conditions, "Ready").filter(|c| c.status != "True") {
                    push(
                        &mut out,
                        Severity::Warning,
                        Some(ctx),
                        format!(
                            "ServiceImport {name} in {ctx}: Ready={} reason {}{}",
                            r.status,
                            r.reason.as_deref().unwrap_or("-"),
                            r.message.as_ref().map(|m| format!(" ({m})")).unwrap_or_default()
                        ),
                        String::new(),
                    );
                }
                if !exporting && !imp.ports.is_empty() {
                    push(
                        &mut out,
                        Severity::Info,
                        Some(ctx),
                        format!(
                            "{dns} is imported in {ctx}: type {}, ports {}, IPs {}{}",
                            if imp.type_.is_empty() { "?" } else { &imp.type_ },
                            ports_text(&imp.ports),
                            if imp.ips.is_empty() {
                                "-".to_string()
                            } else {
                                imp.ips.join(",")
                            },
                            if s.multicluster_endpoint_slices.is_empty() {
                                String::new()
                            } else {
                                format!(
                                    ", {} multi-cluster EndpointSlice(s)",
                                    s.multicluster_endpoint_slices.len()
                                )
                            }
                        ),
                        String::new(),
                    );
                }
            }
        }
    }
    out.sort_by_key(|f| f.severity);
    (out, ok)
}

#[cfg(test)]
mod tests {
    use super::super::build;
    use super::*;
    use crate::resources::Condition;
    use std::collections::BTreeMap;

    fn cond(t: &str, s: &str, r: &str, m: &str) -> Condition {
        Condition {
            type_: t.into(),
            status: s.into(),
            reason: Some(r.into()),
            message: Some(m.into()),
            last_transition_time: None,
        }
    }

    fn port(name: &str, p: i64) -> PortSpec {
        PortSpec {
            name: Some(name.into()),
            port: p,
            protocol: "TCP".into(),
        }
    }

    /// aws exports kafka-bootstrap-aws, healthy as Cilium's MID generation writes it.
    fn exporter() -> ContextSection {
        ContextSection {
            context: "rciis-aws".into(),
            alias: Some("aws".into()),
            reachable: true,
            mcs_api: Some("multicluster.x-k8s.io/v1alpha1".into()),
            namespace_exists: Some(true),
            service: Some(ServiceFacts {
                type_: "ClusterIP".into(),
                ports: vec![port("tcp-plain", 9093), port("tcp-scram", 9092)],
                ready_endpoints: Some(1),
                not_ready_endpoints: Some(0),
                ..Default::default()
            }),
            service_export: Some(ExportFacts {
                api_version: "multicluster.x-k8s.io/v1alpha1".into(),
                created: None,
                conditions: vec![
                    cond("Valid", "True", "Valid", "Service is Valid for export"),
                    cond("Ready", "True", "Ready", "ServiceExport is ready"),
                    cond(
                        "Conflict",
                        "False",
                        "NoConflicts",
                        "ServiceExport has no conflicts",
                    ),
                ],
            }),
            ..Default::default()
        }
    }

    fn importer(with_import: bool) -> ContextSection {
        ContextSection {
            context: "rciis-proxmox".into(),
            alias: Some("proxmox".into()),
            reachable: true,
            mcs_api: Some("multicluster.x-k8s.io/v1alpha1".into()),
            namespace_exists: Some(true),
            service_import: with_import.then(|| ImportFacts {
                type_: "ClusterSetIP".into(),
                ports: vec![port("tcp-plain", 9093), port("tcp-scram", 9092)],
                ips: vec!["10.96.0.42".into()],
                clusters: vec!["rciis-aws".into()],
                conditions: vec![],
            }),
            ..Default::default()
        }
    }

    #[test]
    fn service_names_are_dns_labels() {
        assert_eq!(invalid_service_name("kafka-bootstrap-aws"), None);
        for bad in [
            "",
            "Kafka",
            "kafka.bootstrap",
            "-x",
            "x-",
            "9kafka",
            &"a".repeat(64),
        ] {
            assert!(invalid_service_name(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn a_view_blocked_by_rbac_concludes_nothing_and_puts_access_first() {
        let mut a = exporter();
        a.service_export = None;
        a.mcs_api = None;
        a.read_errors = vec!["context rciis-aws: forbidden: user may not list serviceexports".into()];
        let mut p = importer(false);
        p.mcs_api = None;
        p.read_errors = vec!["context rciis-proxmox: forbidden: user may not list serviceimports".into()];
        let (f, ok) = findings("kafka-bootstrap-aws", "rciis-prod", &[a, p]);
        assert!(!ok);
        assert!(
            f[0].diagnosis.starts_with("incomplete view of rciis-aws"),
            "{f:?}"
        );
        assert!(f.iter().any(|x| {
            x.diagnosis
                .starts_with("cannot tell whether kafka-bootstrap-aws is exported")
        }));
        assert!(
            f.iter()
                .all(|x| !x.diagnosis.contains("not exported from any context")
                    && !x.diagnosis.contains("do not serve the MCS API")
                    && !x.next_step.contains("export it")),
            "{f:?}"
        );
    }

    #[test]
    fn one_kafka_name_exported_from_two_kafka_clusters_is_an_error() {
        let kafka_selector = |s: &mut ContextSection| {
            if let Some(svc) = s.service.as_mut() {
                svc.selector = BTreeMap::from([
                    ("strimzi.io/cluster".to_string(), "kafka-rciis-prod".to_string()),
                    ("strimzi.io/kind".to_string(), "Kafka".to_string()),
                ]);
            }
        };
        let mut a = exporter();
        kafka_selector(&mut a);
        let mut p = exporter();
        p.context = "rciis-proxmox".into();
        p.alias = Some("proxmox".into());
        kafka_selector(&mut p);
        let (f, ok) = findings("kafka-bootstrap-aws", "rciis-prod", &[a.clone(), p]);
        assert!(!ok);
        assert!(
            f.iter().any(|x| x.severity == Severity::Error
                && x.diagnosis
                    .contains("load-balances across different Kafka clusters")),
            "{f:?}"
        );
        // One exporter: fine.
        let (f, _) = findings("kafka-bootstrap-aws", "rciis-prod", &[a, importer(true)]);
        assert!(
            f.iter()
                .all(|x| !x.diagnosis.contains("different Kafka clusters"))
        );
    }

    #[test]
    fn healthy_export_and_import_resolve() {
        let r = build(
            "kafka-bootstrap-aws",
            "rciis-prod",
            vec![exporter(), importer(true)],
        );
        assert!(r.resolvable, "{:#?}", r.findings);
        assert_eq!(r.exit_code(), 0);
        assert_eq!(r.dns, "kafka-bootstrap-aws.rciis-prod.svc.clusterset.local");
        assert!(r.findings.iter().all(|f| f.severity != Severity::Error));
        assert!(r.findings.iter().any(|f| f.diagnosis.contains("10.96.0.42")));
        // Stable JSON keys.
        let j = serde_json::to_value(&r).unwrap();
        assert!(j["contexts"][0]["service_export"]["conditions"][0]["reason"] == "Valid");
        assert_eq!(j["exporting_contexts"][0], "rciis-aws");
    }

    #[test]
    fn missing_import_points_at_cluster_mesh() {
        let r = build(
            "kafka-bootstrap-aws",
            "rciis-prod",
            vec![exporter(), importer(false)],
        );
        assert!(!r.resolvable);
        assert_eq!(r.exit_code(), 3);
        let f = &r.findings[0];
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.context.as_deref(), Some("rciis-proxmox"));
        assert!(f.diagnosis.contains("no ServiceImport"), "{f:?}");
        assert!(
            f.next_step.contains("cilium clustermesh status") && f.next_step.contains("mcsapi"),
            "{f:?}"
        );
        // Namespace missing there: a different diagnosis.
        let mut imp = importer(false);
        imp.namespace_exists = Some(false);
        let r = build("x", "rciis-prod", vec![exporter(), imp]);
        assert!(r.findings[0].diagnosis.contains("does not exist there"));
    }

    #[test]
    fn conflict_names_the_differing_field() {
        let mut a = exporter();
        a.service_export.as_mut().unwrap().conditions = vec![
            cond("Valid", "True", "Valid", "Service is Valid for export"),
            cond("Ready", "True", "Ready", "ServiceExport is ready"),
            cond(
                "Conflict",
                "True",
                "PortConflict",
                "Conflicting ports. 1/2 clusters disagree. Using \"[...]\" from oldest service export in cluster \"proxmox\".",
            ),
        ];
        let mut b = exporter();
        b.context = "rciis-proxmox".into();
        b.service.as_mut().unwrap().ports = vec![port("tcp-scram", 9094)];
        let r = build("kafka-bootstrap", "rciis-prod", vec![a, b]);
        assert!(!r.resolvable);
        let f = r
            .findings
            .iter()
            .find(|f| f.diagnosis.contains("in conflict"))
            .expect("conflict finding");
        assert!(
            f.diagnosis.contains("PortConflict") && f.diagnosis.contains("Conflicting ports."),
            "{f:?}"
        );
        assert!(f.diagnosis.contains("ports differ: rciis-aws has [tcp-plain 9093/TCP, tcp-scram 9092/TCP], rciis-proxmox has [tcp-scram 9094/TCP]"), "{f:?}");
        assert!(f.next_step.contains("oldest"), "{f:?}");
    }

    #[test]
    fn unexported_unprocessed_invalid_and_unreachable() {
        // Not exported anywhere, but a Service exists in aws.
        let mut a = exporter();
        a.service_export = None;
        let r = build("kafka-bootstrap-aws", "rciis-prod", vec![a, importer(false)]);
        assert!(!r.resolvable);
        assert!(
            r.findings[0]
                .next_step
                .contains("kubectl clusterset export kafka-bootstrap-aws -n rciis-prod --context rciis-aws")
        );
        // Exported but never processed (no Cilium).
        let mut a = exporter();
        a.service_export.as_mut().unwrap().conditions.clear();
        let r = build("n", "ns", vec![a, importer(true)]);
        assert!(!r.resolvable);
        assert!(
            r.findings
                .iter()
                .any(|f| f.diagnosis.contains("no status conditions") && f.next_step.contains("mcsapi"))
        );
        // NamespaceNotGlobal.
        let mut a = exporter();
        a.service_export.as_mut().unwrap().conditions = vec![cond(
            "Valid",
            "False",
            "NamespaceNotGlobal",
            "Namespace is not global",
        )];
        let r = build("n", "ns", vec![a, importer(true)]);
        assert!(
            r.findings
                .iter()
                .any(|f| f.next_step.contains("clustermesh.cilium.io/global=true"))
        );
        // Unreachable peer: exit 4.
        let down = ContextSection {
            context: "rciis-proxmox".into(),
            reachable: false,
            error: Some("connection refused".into()),
            ..Default::default()
        };
        let r = build("n", "ns", vec![exporter(), down]);
        assert!(!r.resolvable);
        assert_eq!(r.exit_code(), 4);
    }
}
