//! `export`: arguments, warnings and rendering; the logic is `mm2_core::clusterset::export`.
//! `-o json|yaml` prints the outcome of the apply (`kubectl-clusterset.dev/export/v1`);
//! `--print-manifests` prints the manifests for Git and applies nothing.

use clap::Args;
use mm2_core::cli::GlobalArgs;
use mm2_core::clusterset::export::{self, ExportWhat};
use mm2_core::clusterset::members;
use mm2_core::clusterset::outcome::ExportOutcome;
use mm2_core::error::{Error, Result, exit};
use mm2_core::mm2::lifecycle::DryRun;
use mm2_core::output::Palette;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Existing Service to export
    pub service: Option<String>,
    /// Kafka cluster whose brokers the new Service selects
    #[arg(long, value_name = "KAFKA", conflicts_with = "service")]
    pub kafka: Option<String>,
    /// Name of the Service to create (with --kafka; default kafka-bootstrap-<alias>)
    #[arg(long = "as", value_name = "NAME", requires = "kafka")]
    pub as_name: Option<String>,
    /// Take over fields another field manager (e.g. Flux's kustomize-controller) owns
    #[arg(long)]
    pub force: bool,
    /// Print the manifests as YAML for the Flux repository and apply nothing (the GitOps path)
    #[arg(long)]
    pub print_manifests: bool,
}

pub async fn run(g: &GlobalArgs, a: &ExportArgs) -> Result<u8> {
    // A usage error needs no cluster.
    if a.print_manifests && g.output.is_machine() {
        return Err(Error::Usage(
            "--print-manifests prints YAML manifests for the Flux repository and applies nothing; \
             -o json|yaml prints the outcome of an export that applies: choose one"
                .into(),
        ));
    }
    let pal = Palette::for_stderr();
    let kc = g.kubeconfigs()?;
    let context = match g.context.as_slice() {
        [one] => one.clone(),
        [] => kc.current_context().ok_or_else(|| {
            Error::Usage(
                "which cluster exports it? pass --context CONTEXT (no current-context either)".into(),
            )
        })?,
        many => {
            return Err(Error::Usage(format!(
                "export writes to one cluster; got --context {} (pass exactly one)",
                many.join(",")
            )));
        }
    };
    kc.check_context(&context)?;
    // The conflict check looks at the whole clusterset, not only --context.
    let mut req = g.topology_request()?;
    req.contexts.clear();
    let timeout = g.timeout_or(mm2_core::timeouts::CLUSTERSET_WRITE);
    let mut cs = members::load(&kc, &req, timeout).await?;
    cs.ensure_context(&kc, &context, timeout).await?;
    let what = match (&a.service, &a.kafka) {
        (Some(s), None) => ExportWhat::Service(s.clone()),
        (None, Some(k)) => {
            let name = match &a.as_name {
                Some(n) => n.clone(),
                None => {
                    let alias = cs.alias_of(&context).map(str::to_string).ok_or_else(|| {
                        Error::Usage(format!(
                            "no alias known for context {context}: name the Service with --as, e.g. --as kafka-bootstrap-<alias>"
                        ))
                    })?;
                    format!("kafka-bootstrap-{alias}")
                }
            };
            ExportWhat::Kafka {
                kafka: k.clone(),
                name,
            }
        }
        _ => {
            return Err(Error::Usage(
                "export what? give a SERVICE, or --kafka KAFKA-CLUSTER [--as NAME]".into(),
            ));
        }
    };
    let name = match &what {
        ExportWhat::Service(s) => s.clone(),
        ExportWhat::Kafka { name, .. } => name.clone(),
    };
    export::refuse_foreign_name(&cs, &context, &name)?;
    // Manifests for Git do not depend on the exporting cluster being up.
    let plan = export::plan(&cs, &context, &what, a.print_manifests).await?;
    for w in &plan.warnings {
        mm2_core::heprintln!("{} {w}", pal.warn("⚠"));
    }
    for u in &plan.unchecked {
        mm2_core::heprintln!(
            "{} could not check context {} for a conflicting export: {}",
            pal.warn("⚠"),
            u.context,
            u.error
        );
    }
    for w in plan.conflict_warnings() {
        mm2_core::heprintln!("{} {w}", pal.warn("⚠"));
    }
    for p in plan.peers.iter().filter(|p| p.conflicts.is_empty()) {
        mm2_core::heprintln!(
            "{} {} is also exported from {} with the same definition: MCS serves both clusters' endpoints under one name",
            pal.dim("ℹ"),
            plan.name,
            p.context
        );
    }
    if a.print_manifests {
        mm2_core::hprint!("{}", export::manifests_yaml(&plan.documents()));
        match &plan.flux_kustomization {
            Some(k) => mm2_core::heprintln!(
                "{} namespace {} in {} is managed by Flux (Kustomization {k}): commit these manifests to the Flux repository — that is the GitOps path; nothing was applied",
                pal.dim("ℹ"),
                plan.namespace,
                context
            ),
            None => mm2_core::heprintln!(
                "{} manifests only, nothing applied (commit them to the Flux repository, or drop --print-manifests to apply)",
                pal.dim("ℹ")
            ),
        }
        return Ok(exit::OK);
    }
    if let Some(k) = &plan.flux_kustomization {
        mm2_core::heprintln!(
            "{} namespace {} in {} is managed by Flux (Kustomization {k}): what is applied here is not in Git. \
             The GitOps path is `--print-manifests` into the repository",
            pal.warn("⚠"),
            plan.namespace,
            context
        );
    }
    mm2_core::heprintln!(
        "► exporting {} from {} (namespace {}){}",
        plan.name,
        cs.label(&context),
        plan.namespace,
        match g.dry_run {
            DryRun::Client => " — dry run",
            DryRun::Server => " — server dry run",
            DryRun::None => "",
        }
    );
    let result = export::execute(&cs, &plan, g.dry_run, a.force).await?;
    // -o json|yaml: one document on stdout, every human line on stderr.
    if let Some(doc) = g.output.serialize(&ExportOutcome::new(&plan, &result, g.dry_run)) {
        mm2_core::hprint!("{doc}");
    } else {
        if let Some(s) = result.service {
            mm2_core::hprintln!("service/{} {}", plan.name, s.as_str());
        }
        mm2_core::hprintln!(
            "serviceexport.multicluster.x-k8s.io/{} {}",
            plan.name,
            result.service_export.as_str()
        );
    }
    mm2_core::heprintln!(
        "{} clusterset name: {} — check it with `kubectl clusterset resolve {} -n {}`",
        pal.dim("ℹ"),
        plan.dns,
        plan.name,
        plan.namespace
    );
    Ok(exit::OK)
}
