//! `copy-secret`: arguments, consent and rendering; the logic is `mm2_core::clusterset::copy_secret`.
//!
//! Secret values never pass through this file: plans and results carry key names, hashes and
//! resourceVersions only.

use clap::Args;
use mm2_core::cli::{GlobalArgs, confirm, interactive};
use mm2_core::clients::ContextClient;
use mm2_core::clusterset::copy_secret::{self, CopyPlan, CopyResult, CopySpec, Ownership};
use mm2_core::clusterset::members;
use mm2_core::clusterset::outcome::CopySecretOutcome;
use mm2_core::error::{Error, Result, exit};
use mm2_core::mm2::lifecycle::DryRun;
use mm2_core::output::Palette;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct CopySecretArgs {
    /// Secret to copy
    pub name: Option<String>,
    /// Source context
    #[arg(long, value_name = "CONTEXT")]
    pub from: Option<String>,
    /// Target context
    #[arg(long, value_name = "CONTEXT")]
    pub to: Option<String>,
    /// Name in the target cluster (default: the same name)
    #[arg(long = "as", value_name = "NAME")]
    pub as_name: Option<String>,
    /// Sync the MM2 credentials of the whole topology: each cluster's mm2-user to every peer as mm2-user-<alias>
    #[arg(long, conflicts_with_all = ["name", "from", "to", "as_name"])]
    pub mm2: bool,
    /// Only show which keys would be added, removed or changed (never values); writes nothing
    #[arg(long)]
    pub diff: bool,
    /// Overwrite a target Secret that kubectl-clusterset did not create
    #[arg(long)]
    pub force: bool,
}

pub async fn run(g: &GlobalArgs, a: &CopySecretArgs) -> Result<u8> {
    let kc = g.kubeconfigs()?;
    let timeout = g.timeout_or(mm2_core::timeouts::CLUSTERSET_WRITE);
    let pal = Palette::for_stderr();
    // Plan everything (reads only) before any write: an unreachable cluster or a missing source
    // fails here and nothing is half-copied.
    let (clients, plans) = if a.mm2 {
        plan_mm2(g, &kc, timeout).await?
    } else {
        plan_one(g, a, &kc, timeout).await?
    };
    if a.diff {
        return show_diff(g, &plans);
    }
    // Consent first: a refusal explains the most (who made the target, what the GC will do).
    let consented = consent(g, a, &plans, &pal)?;
    for p in &plans {
        if let Some(b) = p.blocker() {
            return Err(b);
        }
    }
    let mut results = Vec::new();
    for (p, c) in plans.into_iter().zip(consented) {
        let (src, dst) = (&clients[&p.spec.source_context], &clients[&p.spec.target_context]);
        mm2_core::heprintln!("► copying {}", p.spec);
        let r = copy_secret::execute(src, dst, p, g.dry_run, c).await?;
        report(&r, &pal, g.output.is_machine());
        results.push(r);
    }
    // -o json|yaml: one document on stdout, every human line above went to stderr.
    if let Some(s) = g
        .output
        .serialize(&CopySecretOutcome::of_results(g.dry_run, results))
    {
        mm2_core::hprint!("{s}");
    }
    Ok(exit::OK)
}

type Clients = std::collections::BTreeMap<String, ContextClient>;

/// `NAME --from A --to B [--as NEW]`.
async fn plan_one(
    g: &GlobalArgs,
    a: &CopySecretArgs,
    kc: &mm2_core::clients::Kubeconfigs,
    timeout: Duration,
) -> Result<(Clients, Vec<CopyPlan>)> {
    let name = a.name.clone().ok_or_else(|| {
        Error::Usage("which Secret? give NAME --from CONTEXT --to CONTEXT, or --mm2".into())
    })?;
    let (Some(from), Some(to)) = (a.from.clone(), a.to.clone()) else {
        return Err(Error::Usage(format!(
            "copy-secret {name} needs --from CONTEXT and --to CONTEXT (known contexts: {})",
            kc.contexts().join(", ")
        )));
    };
    kc.check_context(&from)?;
    kc.check_context(&to)?;
    let req = g.topology_request()?;
    let ns = mm2_core::topology::one_namespace(kc, &req, Some(&from));
    let target_name = a.as_name.clone().unwrap_or_else(|| name.clone());
    if from == to && target_name == name {
        return Err(Error::Usage(format!(
            "--from and --to are both {from} and the name stays {name}: nothing to copy (use --as NEWNAME)"
        )));
    }
    let spec = CopySpec {
        source_context: from.clone(),
        source_namespace: ns.clone(),
        source_name: name,
        target_context: to.clone(),
        target_namespace: ns,
        target_name,
    };
    let mut clients = Clients::new();
    for (ctx, r) in kc.connect_all(&[from.clone(), to.clone()], timeout).await {
        clients.insert(ctx, r?);
    }
    let plan = copy_secret::plan(&clients[&from], &clients[&to], &spec).await?;
    Ok((clients, vec![plan]))
}

/// `--mm2`: every cluster's MM2 user to every peer, as the peers' MM2s expect it.
async fn plan_mm2(
    g: &GlobalArgs,
    kc: &mm2_core::clients::Kubeconfigs,
    timeout: Duration,
) -> Result<(Clients, Vec<CopyPlan>)> {
    let req = g.topology_request()?;
    let cs = members::load(kc, &req, timeout).await?;
    if let Some(e) = cs.first_problem() {
        // No partial sync: a cluster that is down would miss its copy or keep a stale one.
        return Err(e);
    }
    let clusters: Vec<(String, String)> = cs
        .members
        .iter()
        .filter_map(|m| m.alias.clone().map(|a| (a, m.context.clone())))
        .collect();
    if clusters.len() < 2 {
        return Err(Error::Topology(format!(
            "--mm2 needs at least two clusters with aliases; found {} in namespace {} (aliases come from the \
             KafkaMirrorMaker2s' connectCluster, --cluster ALIAS=CONTEXT or the clusterset config file)",
            if clusters.is_empty() {
                "none".to_string()
            } else {
                clusters
                    .iter()
                    .map(|(a, c)| format!("{a}={c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
            cs.namespace
        )));
    }
    let specs: Vec<(String, mm2_core::resources::strimzi::Mm2Spec)> = cs
        .topology
        .mm2s
        .iter()
        .map(|m| (m.context.clone(), m.spec.clone()))
        .collect();
    let copies = copy_secret::mm2_copy_specs(&clusters, &specs, &cs.namespace);
    let plans = futures::future::join_all(copies.iter().map(|spec| {
        let (src, dst) = (
            &cs.clients[&spec.source_context],
            &cs.clients[&spec.target_context],
        );
        copy_secret::plan(src, dst, spec)
    }))
    .await
    .into_iter()
    .collect::<Result<Vec<_>>>()?;
    Ok((cs.clients, plans))
}

/// Who may overwrite what. Returns one flag per plan (consent given for a foreign target).
fn consent(g: &GlobalArgs, a: &CopySecretArgs, plans: &[CopyPlan], pal: &Palette) -> Result<Vec<bool>> {
    let needing: Vec<&CopyPlan> = plans.iter().filter(|p| p.needs_consent()).collect();
    if needing.is_empty() {
        return Ok(vec![false; plans.len()]);
    }
    if a.force {
        for p in &needing {
            mm2_core::heprintln!("{} --force: replacing it. {}", pal.warn("⚠"), p.consent_reason());
        }
        return Ok(plans.iter().map(|p| p.needs_consent()).collect());
    }
    if g.dry_run == DryRun::Client || !interactive() {
        // Refuse everything before writing anything.
        if needing.len() == 1 {
            return Err(needing[0].refusal());
        }
        let reasons: Vec<String> = needing
            .iter()
            .map(|p| format!("- {}", p.consent_reason()))
            .collect();
        return Err(Error::Refused {
            reason: format!(
                "refusing to overwrite {} Secrets kubectl-clusterset did not create; nothing was written:\n{}",
                needing.len(),
                reasons.join("\n")
            ),
            hint: "re-run with --force to replace them with GC-safe copies (--diff shows which keys change, never values)"
                .into(),
        });
    }
    let mut out = Vec::new();
    for p in plans {
        if p.needs_consent() {
            mm2_core::heprintln!("{} {}", pal.warn("⚠"), p.consent_reason());
            confirm(
                &format!(
                    "Replace Secret {}/{} in {} with a copy of {}/{} from {}?",
                    p.spec.target_namespace,
                    p.spec.target_name,
                    p.spec.target_context,
                    p.spec.source_namespace,
                    p.spec.source_name,
                    p.spec.source_context
                ),
                g.yes,
            )?;
            out.push(true);
        } else {
            out.push(false);
        }
    }
    Ok(out)
}

/// `--diff`: key names per copy, nothing written.
fn show_diff(g: &GlobalArgs, plans: &[CopyPlan]) -> Result<u8> {
    if let Some(s) = g.output.serialize(&CopySecretOutcome::of_plans(g.dry_run, plans)) {
        mm2_core::hprint!("{s}");
        return Ok(exit::OK);
    }
    for p in plans {
        mm2_core::hprintln!("{}", p.spec);
        if p.target.is_none() {
            mm2_core::hprintln!("  (new Secret)");
        } else if p.unchanged() {
            mm2_core::hprintln!("  unchanged");
        }
        for l in p.diff.lines() {
            mm2_core::hprintln!("  {l}");
        }
        if let Some(r) = &p.rotated {
            mm2_core::hprintln!(
                "  rotated: source changed since the last copy (resourceVersion {} → {})",
                r.from,
                r.to
            );
        }
        if p.ownership == Ownership::Foreign || p.ownership == Ownership::OursOtherSource {
            mm2_core::hprintln!("  not created by kubectl-clusterset: writing it needs --force");
        }
    }
    mm2_core::heprintln!("ℹ diff only (key names, never values); nothing written");
    Ok(exit::OK)
}

fn report(r: &CopyResult, pal: &Palette, machine: bool) {
    for n in &r.notes {
        mm2_core::heprintln!("{} {n}", pal.dim("ℹ"));
    }
    if let Some(rot) = &r.rotated {
        mm2_core::heprintln!(
            "{} rotated: source changed since the last copy (resourceVersion {} → {})",
            pal.warn("⚠"),
            rot.from,
            rot.to
        );
    }
    if r.drifted {
        mm2_core::heprintln!(
            "{} the target had been edited since the last copy (its content no longer matched the recorded hash); restored from the source",
            pal.warn("⚠")
        );
    }
    let changes = r.diff.lines();
    let action = r.action.unwrap_or(copy_secret::CopyAction::Unchanged);
    if !r.written && action != copy_secret::CopyAction::Unchanged {
        for l in &changes {
            mm2_core::heprintln!("  {l}");
        }
    }
    let (t, s) = (&r.target, &r.source);
    let mut line = format!(
        "secret/{} ({}, {}): {}",
        t.name,
        t.context,
        t.namespace,
        action.as_str()
    );
    line.push_str(&format!(
        " from {}/{} ({}) at resourceVersion {}",
        s.namespace,
        s.name,
        s.context,
        s.resource_version.as_deref().unwrap_or("-")
    ));
    if let Some(rot) = &r.rotated {
        line.push_str(&format!(
            "; rotated: source changed since the last copy (resourceVersion {} → {})",
            rot.from, rot.to
        ));
    }
    // The result on stdout (for scripts and `| grep unchanged`), unless -o json|yaml.
    if !machine {
        mm2_core::hprintln!("{line}");
    }
}
