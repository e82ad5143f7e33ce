//! `copy-secret`: arguments, consent and rendering; the logic is `mm2_core::clusterset::copy_secret`.
//!
//! Secret values never pass through this file: plans and results carry key names, hashes and
//! resourceVersions only.

use clap::Args;
use mm2_core::cli::{GlobalArgs, confirm, interactive};
use mm2_core::clusterset::copy_request::{self, Consent, CopyRequest};
use mm2_core::clusterset::copy_secret::{self, CopyPlan, CopyResult, Ownership};
use mm2_core::clusterset::outcome::CopySecretOutcome;
use mm2_core::error::{Result, exit};
use mm2_core::output::Palette;

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
    let what = CopyRequest::from_flags(
        a.mm2,
        a.name.as_deref(),
        a.from.as_deref(),
        a.to.as_deref(),
        a.as_name.as_deref(),
        &kc.contexts(),
    )?;
    let timeout = g.timeout_or(mm2_core::timeouts::CLUSTERSET_WRITE);
    let pal = Palette::for_stderr();
    let (clients, plans) = copy_request::plan_copies(&kc, &g.topology_request()?, &what, timeout).await?;
    if a.diff {
        return show_diff(g, &plans);
    }
    // Consent first: a refusal explains the most (who made the target, what the GC will do).
    let consents = copy_request::consent(&plans, a.force, g.dry_run, interactive())?;
    let mut consented = Vec::with_capacity(consents.len());
    for c in &consents {
        match c {
            Consent::NotNeeded => consented.push(false),
            Consent::Forced { reason } => {
                mm2_core::heprintln!("{} --force: replacing it. {reason}", pal.warn("⚠"));
                consented.push(true);
            }
            Consent::Ask { reason, question } => {
                mm2_core::heprintln!("{} {reason}", pal.warn("⚠"));
                confirm(question, g.yes)?;
                consented.push(true);
            }
        }
    }
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
