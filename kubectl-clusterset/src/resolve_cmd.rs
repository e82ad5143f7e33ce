//! `resolve`: render the report of `mm2_core::clusterset::resolve`.

use clap::Args;
use mm2_core::cli::GlobalArgs;
use mm2_core::clusterset::members;
use mm2_core::clusterset::resolve::{self, ContextSection, ResolveReport, Severity};
use mm2_core::error::Result;
use mm2_core::output::{Palette, Table};
use mm2_core::resources::condition;

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Exported service name, e.g. kafka-bootstrap-aws
    pub name: String,
}

pub async fn run(g: &GlobalArgs, a: &ResolveArgs) -> Result<u8> {
    // A usage error needs no cluster: a Service name is a DNS-1035 label.
    if let Some(why) = resolve::invalid_service_name(&a.name) {
        return Err(mm2_core::error::Error::Usage(format!(
            "'{}' is not a Service name: {why}",
            a.name
        )));
    }
    let kc = g.kubeconfigs()?;
    let req = g.topology_request()?;
    let timeout = g.timeout_or(mm2_core::timeouts::READ);
    let mut cs = members::load(&kc, &req, timeout).await?;
    // An explicit --context acts as that user, even if it shares a server with another member.
    for c in &g.context {
        cs.ensure_context(&kc, c, timeout).await?;
    }
    if !g.context.is_empty() {
        cs.members.retain(|m| g.context.contains(&m.context));
        cs.clients.retain(|c, _| g.context.contains(c));
        cs.problems.retain(|p| g.context.contains(&p.context));
    }
    let report = resolve::resolve(&cs, &a.name).await;
    match g.output.serialize(&report) {
        Some(s) => mm2_core::hprint!("{s}"),
        None => mm2_core::hprint!("{}", render(&report, &Palette::for_stdout())),
    }
    Ok(report.exit_code())
}

fn export_cell(s: &ContextSection) -> String {
    let Some(e) = &s.service_export else {
        return "-".into();
    };
    if e.conditions.is_empty() {
        return "no conditions".into();
    }
    ["Valid", "Ready", "Conflict"]
        .iter()
        .filter_map(|t| {
            condition(&e.conditions, t).map(|c| {
                format!(
                    "{t}={}{}",
                    c.status,
                    c.reason.as_ref().map(|r| format!("({r})")).unwrap_or_default()
                )
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn render(r: &ResolveReport, pal: &Palette) -> String {
    let mut out = String::new();
    let verdict = if r.resolvable {
        pal.good("resolvable")
    } else {
        pal.bad("NOT resolvable")
    };
    out.push_str(&format!("{}: {verdict}\n\n", pal.bold(&r.dns)));
    let mut t = Table::new([
        "CONTEXT",
        "ALIAS",
        "SERVICE",
        "ENDPOINTS",
        "EXPORT",
        "IMPORT",
        "MC-SLICES",
    ]);
    for s in &r.contexts {
        if !s.reachable {
            t.row([
                s.context.clone(),
                s.alias.clone().unwrap_or_else(|| "-".into()),
                pal.bad("unreachable"),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
            continue;
        }
        let svc = s
            .service
            .as_ref()
            .map(|v| {
                format!(
                    "{}{} [{}]",
                    v.type_,
                    if v.headless { " (headless)" } else { "" },
                    v.ports
                        .iter()
                        .map(|p| p.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .unwrap_or_else(|| "-".into());
        let eps = s
            .service
            .as_ref()
            .and_then(|v| v.ready_endpoints.map(|r| format!("{r} ready")))
            .unwrap_or_else(|| "-".into());
        let imp = match (&s.mcs_api, &s.service_import) {
            (None, _) => "no MCS API".to_string(),
            (_, None) => "-".to_string(),
            (_, Some(i)) => format!(
                "{} {} [{}]",
                i.type_,
                if i.ips.is_empty() {
                    "-".to_string()
                } else {
                    i.ips.join(",")
                },
                i.ports
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let slices = if s.multicluster_endpoint_slices.is_empty() {
            "-".to_string()
        } else {
            let ready: usize = s.multicluster_endpoint_slices.iter().map(|x| x.ready).sum();
            format!("{} ({ready} ready)", s.multicluster_endpoint_slices.len())
        };
        t.row([
            s.context.clone(),
            s.alias.clone().unwrap_or_else(|| "-".into()),
            svc,
            eps,
            export_cell(s),
            imp,
            slices,
        ]);
    }
    out.push_str(&t.render(0));
    if !r.findings.is_empty() {
        out.push_str("\nFindings:\n");
        for f in &r.findings {
            let glyph = match f.severity {
                Severity::Error => pal.bad("✗"),
                Severity::Warning => pal.warn("⚠"),
                Severity::Info => pal.dim("ℹ"),
            };
            out.push_str(&format!("  {glyph} {}\n", f.diagnosis));
            if !f.next_step.is_empty() {
                out.push_str(&format!("    → {}\n", f.next_step));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! Golden files of `kubectl clusterset resolve`: the facts of each context as the test bed's
    //! Cilium MCS-API writes them, judged by mm2-core, rendered without colour.

    use super::*;
    use mm2_core::clusterset::export::PortSpec;
    use mm2_core::clusterset::resolve::{ExportFacts, ImportFacts, ServiceFacts, SliceFacts};
    use mm2_core::resources::Condition;

    const NAME: &str = "kafka-bootstrap-aws";
    const NS: &str = "rciis-prod";
    const MCS: &str = "multicluster.x-k8s.io/v1alpha1";

    fn cond(type_: &str, status: &str, reason: &str, message: &str) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            reason: Some(reason.into()),
            message: Some(message.into()),
            last_transition_time: Some("2026-11-30T09:00:00Z".into()),
        }
    }

    /// Strimzi's bootstrap listeners: SCRAM on 9092, plain on 9093.
    fn ports() -> Vec<PortSpec> {
        [("tcp-scram", 9092), ("tcp-plain", 9093)]
            .into_iter()
            .map(|(n, p)| PortSpec {
                name: Some(n.into()),
                port: p,
                protocol: "TCP".into(),
            })
            .collect()
    }

    /// The ServiceImport Cilium derives in every member once aws's export is valid, each with a
    /// ClusterSetIP of that cluster.
    fn import(ip: &str) -> ImportFacts {
        ImportFacts {
            type_: "ClusterSetIP".into(),
            ports: ports(),
            ips: vec![ip.into()],
            clusters: vec!["aws".into()],
            conditions: vec![],
        }
    }

    /// aws: the Service in front of the Kafka brokers, exported and judged healthy by Cilium.
    fn aws(exported: bool) -> ContextSection {
        ContextSection {
            context: "rciis-aws".into(),
            alias: Some("aws".into()),
            reachable: true,
            mcs_api: Some(MCS.into()),
            namespace_exists: Some(true),
            service: Some(ServiceFacts {
                type_: "ClusterIP".into(),
                cluster_ip: Some("10.43.12.7".into()),
                ports: ports(),
                selector: [
                    ("strimzi.io/cluster", "kafka-rciis-prod"),
                    ("strimzi.io/kind", "Kafka"),
                    ("strimzi.io/broker-role", "true"),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
                ready_endpoints: Some(1),
                not_ready_endpoints: Some(0),
                ..Default::default()
            }),
            service_export: exported.then(|| ExportFacts {
                api_version: MCS.into(),
                created: Some("2026-11-30T09:00:00Z".into()),
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
            service_import: exported.then(|| import("10.43.200.10")),
            ..Default::default()
        }
    }

    /// proxmox: no Service of that name; the ServiceImport Cilium derives from aws's export, with
    /// its ClusterSetIP and the EndpointSlice that points at aws's broker.
    fn proxmox(imported: bool) -> ContextSection {
        ContextSection {
            context: "rciis-proxmox".into(),
            alias: Some("proxmox".into()),
            reachable: true,
            mcs_api: Some(MCS.into()),
            namespace_exists: Some(true),
            service_import: imported.then(|| import("10.96.0.42")),
            endpoint_slice_version: imported.then(|| "discovery.k8s.io/v1".into()),
            multicluster_endpoint_slices: if imported {
                vec![SliceFacts {
                    name: format!("{NAME}-aws-7x2kq"),
                    source_cluster: Some("aws".into()),
                    ready: 1,
                    total: 1,
                }]
            } else {
                vec![]
            },
            ..Default::default()
        }
    }

    fn golden(name: &str, sections: Vec<ContextSection>) -> ResolveReport {
        let report = resolve::build(NAME, NS, sections);
        let text = render(&report, &Palette::plain());
        assert!(!text.contains('\u{1b}'), "golden files hold no colour");
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/golden/resolve")
            .join(name);
        mm2_core::golden::assert_golden(&path, &text);
        report
    }

    #[test]
    fn exported_in_aws_and_imported_in_proxmox_resolves() {
        let r = golden("resolvable.txt", vec![aws(true), proxmox(true)]);
        assert!(r.resolvable);
    }

    #[test]
    fn a_service_nobody_exported_does_not_resolve() {
        let r = golden("not-exported.txt", vec![aws(false), proxmox(false)]);
        assert!(!r.resolvable);
    }

    #[test]
    fn an_unreachable_peer_is_named_once() {
        let down = ContextSection {
            context: "rciis-proxmox".into(),
            alias: Some("proxmox".into()),
            reachable: false,
            error: Some(
                "context rciis-proxmox: cannot reach the API server https://10.0.0.2:6443: tcp connect error: Connection refused (os error 111)".into(),
            ),
            ..Default::default()
        };
        let r = golden("unreachable.txt", vec![aws(true), down]);
        assert!(!r.resolvable);
        assert_eq!(r.exit_code(), mm2_core::error::exit::UNREACHABLE);
    }
}
