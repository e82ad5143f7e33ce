//! `resolve`: render the report of `mm2_core::clusterset::resolve`.

use clap::Args;
use mm2_core::cli::GlobalArgs;
use mm2_core::clusterset::members;
use mm2_core::clusterset::resolve::{self, ContextSection, ResolveReport, Severity};
use mm2_core::error::Result;
use mm2_core::output::{Palette, Table};
use mm2_core::resources::condition;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Exported service name, e.g. kafka-bootstrap-aws
    pub name: String,
}

const TIMEOUT: Duration = Duration::from_secs(10);

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
    let timeout = g.timeout_or(TIMEOUT);
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
