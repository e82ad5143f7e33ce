//! `export`: arguments, warnings and rendering; the logic is `mm2_core::clusterset::export`.
//! `-o json|yaml` prints the outcome of the apply (`kubectl-clusterset.dev/export/v1`);
//! `--print-manifests` prints the manifests for Git and applies nothing.

use clap::Args;
use mm2_core::cli::GlobalArgs;
use mm2_core::clusterset::export;
use mm2_core::clusterset::export_request::{self, ExportRequest};
use mm2_core::clusterset::outcome::ExportOutcome;
use mm2_core::error::{Result, exit};
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
    let req = ExportRequest {
        contexts: g.context.clone(),
        service: a.service.clone(),
        kafka: a.kafka.clone(),
        as_name: a.as_name.clone(),
        print_manifests: a.print_manifests,
        machine_output: g.output.is_machine(),
    };
    // A usage error needs no cluster.
    req.validate()?;
    let pal = Palette::for_stderr();
    let kc = g.kubeconfigs()?;
    let timeout = g.timeout_or(mm2_core::timeouts::CLUSTERSET_WRITE);
    let (cs, plan) = export_request::prepare(&kc, &g.topology_request()?, &req, timeout).await?;
    let context = plan.context.clone();
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
        g.dry_run.suffix()
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
