//! The documents `kubectl clusterset copy-secret` and `export` print with `-o json|yaml`: one per
//! run, tagged with a versioned `schema`, snake_case keys, built from what the run did (real,
//! `--dry-run=client|server`, or an unchanged re-run). A Secret's values never appear: a copy is
//! described by its key names and content hash only.

use super::apply::Applied;
use super::copy_secret::{CopyPlan, CopyResult};
use super::export::{ExportPlan, ExportResult, PeerExport, Unchecked};
use crate::write::DryRun;
use serde::Serialize;
use serde_json::Value;

/// Schema of `copy-secret -o json|yaml`; bumped only on incompatible change.
pub const COPY_SECRET_SCHEMA: &str = "kubectl-clusterset.dev/copy-secret/v1";
/// Schema of `export -o json|yaml`; bumped only on incompatible change.
pub const EXPORT_SCHEMA: &str = "kubectl-clusterset.dev/export/v1";

/// Everything one `copy-secret` run did (or, with `--diff`, would change).
#[derive(Debug, Clone, Serialize)]
pub struct CopySecretOutcome {
    pub schema: &'static str,
    pub dry_run: DryRun,
    /// `--diff`: planned only, nothing written; every `action` is null.
    pub diff_only: bool,
    pub copies: Vec<CopyResult>,
}

impl CopySecretOutcome {
    /// The copies a run made.
    pub fn of_results(dry_run: DryRun, results: Vec<CopyResult>) -> Self {
        CopySecretOutcome {
            schema: COPY_SECRET_SCHEMA,
            dry_run,
            diff_only: false,
            copies: results,
        }
    }

    /// `--diff`: what each copy would change, nothing written.
    pub fn of_plans(dry_run: DryRun, plans: &[CopyPlan]) -> Self {
        CopySecretOutcome {
            schema: COPY_SECRET_SCHEMA,
            dry_run,
            diff_only: true,
            copies: plans.iter().map(CopyResult::planned).collect(),
        }
    }
}

/// Everything one `export` run did.
#[derive(Debug, Clone, Serialize)]
pub struct ExportOutcome {
    pub schema: &'static str,
    pub context: String,
    pub namespace: String,
    pub name: String,
    /// `NAME.NS.svc.clusterset.local`.
    pub dns: String,
    pub dry_run: DryRun,
    /// The Service (`--kafka` only) and the ServiceExport, in the order they were applied.
    pub objects: Vec<AppliedObject>,
    /// `namespace/name` of the Flux Kustomization that owns the namespace: what was applied is
    /// not in Git.
    pub flux_kustomization: Option<String>,
    /// The same name exported from other contexts, and how it conflicts.
    pub peers: Vec<PeerExport>,
    /// Contexts that could not be checked for a conflicting export.
    pub unchecked: Vec<Unchecked>,
    /// Every warning the run printed, conflicts included.
    pub warnings: Vec<String>,
    /// The manifests applied (or, in a dry run, that would be).
    pub manifests: Vec<Value>,
}

/// One object an export applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedObject {
    pub kind: String,
    pub api_version: String,
    pub namespace: String,
    pub name: String,
    /// `created`, `configured`, `unchanged`, `would-create`, `would-configure`,
    /// `server-dry-run-create`, `server-dry-run-configure`.
    pub action: Applied,
}

impl ExportOutcome {
    pub fn new(plan: &ExportPlan, result: &ExportResult, dry_run: DryRun) -> Self {
        let applied = |doc: &Value, action: Applied| AppliedObject {
            kind: doc["kind"].as_str().unwrap_or_default().into(),
            api_version: doc["apiVersion"].as_str().unwrap_or_default().into(),
            namespace: plan.namespace.clone(),
            name: plan.name.clone(),
            action,
        };
        let objects = plan
            .service
            .iter()
            .zip(result.service)
            .map(|(doc, a)| applied(doc, a))
            .chain(std::iter::once(applied(
                &plan.service_export,
                result.service_export,
            )))
            .collect();
        ExportOutcome {
            schema: EXPORT_SCHEMA,
            context: plan.context.clone(),
            namespace: plan.namespace.clone(),
            name: plan.name.clone(),
            dns: plan.dns.clone(),
            dry_run,
            objects,
            flux_kustomization: plan.flux_kustomization.clone(),
            peers: plan.peers.clone(),
            unchecked: plan.unchecked.clone(),
            warnings: plan
                .warnings
                .iter()
                .cloned()
                .chain(plan.conflict_warnings())
                .collect(),
            manifests: plan.documents(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clusterset::copy_secret::tests::{plan_for, source};
    use crate::clusterset::copy_secret::{CopyAction, SecretRef};
    use crate::clusterset::export::{ExportShape, kafka_service, service_export, shape_of_service};

    /// The value of the source's `password` key, and its base64 form.
    const PASSWORD: &str = "pw-1";
    const PASSWORD_B64: &str = "cHctMQ";

    fn plan() -> CopyPlan {
        plan_for(None, &source())
    }

    fn result(action: CopyAction, target_rv: Option<&str>) -> CopyResult {
        let planned = CopyResult::planned(&plan());
        CopyResult {
            target: SecretRef {
                resource_version: target_rv.map(str::to_string),
                ..planned.target.clone()
            },
            action: Some(action),
            written: action.wrote(),
            attempts: 1,
            ..planned
        }
    }

    #[test]
    fn a_copy_is_described_by_key_names_and_hash_never_values() {
        let doc = CopySecretOutcome::of_results(DryRun::None, vec![result(CopyAction::Created, Some("7"))]);
        let text = serde_json::to_string(&doc).unwrap();
        assert!(!text.contains(PASSWORD) && !text.contains(PASSWORD_B64), "{text}");
        let v = serde_json::to_value(&doc).unwrap();
        assert_eq!(v["schema"], COPY_SECRET_SCHEMA);
        assert_eq!(v["dry_run"], "none");
        assert_eq!(v["diff_only"], false);
        let c = &v["copies"][0];
        assert_eq!(c["action"], "created");
        assert_eq!(c["written"], true);
        assert_eq!(c["keys"], serde_json::json!(["password"]));
        assert_eq!(c["source"]["resource_version"], "100");
        assert_eq!(c["target"]["resource_version"], "7");
        assert!(c["content_hash"].as_str().unwrap().starts_with("sha256:"));
        assert_eq!(c["diff"]["data"]["added"], serde_json::json!(["password"]));
        assert!(
            c["diff"].get("owner_references_removed").is_some(),
            "snake_case keys: {c}"
        );
    }

    #[test]
    fn dry_runs_and_diffs_write_nothing_and_say_so() {
        let doc = CopySecretOutcome::of_results(DryRun::Client, vec![result(CopyAction::WouldCreate, None)]);
        let v = serde_json::to_value(&doc).unwrap();
        assert_eq!(v["dry_run"], "client");
        assert_eq!(v["copies"][0]["action"], "would-create");
        assert_eq!(v["copies"][0]["written"], false);
        assert!(v["copies"][0]["target"]["resource_version"].is_null());

        let doc = CopySecretOutcome::of_plans(DryRun::None, &[plan()]);
        let text = serde_json::to_string(&doc).unwrap();
        assert!(!text.contains(PASSWORD) && !text.contains(PASSWORD_B64), "{text}");
        let v = serde_json::to_value(&doc).unwrap();
        assert_eq!(v["diff_only"], true);
        assert!(v["copies"][0]["action"].is_null());
        assert_eq!(v["copies"][0]["written"], false);
        assert_eq!(v["copies"][0]["ownership"], "absent");
    }

    #[test]
    fn an_export_lists_each_object_applied_with_every_warning() {
        let svc = kafka_service("kafka-bootstrap-aws", "rciis-prod", "kafka-rciis-prod");
        let shape = shape_of_service(&svc["spec"]);
        let plan = ExportPlan {
            context: "rciis-aws".into(),
            namespace: "rciis-prod".into(),
            name: "kafka-bootstrap-aws".into(),
            service: Some(svc),
            service_export: service_export("kafka-bootstrap-aws", "rciis-prod", "v1alpha1"),
            shape: shape.clone(),
            dns: "kafka-bootstrap-aws.rciis-prod.svc.clusterset.local".into(),
            peers: vec![PeerExport {
                context: "rciis-proxmox".into(),
                alias: Some("proxmox".into()),
                shape: Some(ExportShape {
                    type_: "ClusterSetIP".into(),
                    ports: vec![],
                }),
                conflicts: vec!["PortConflict"],
            }],
            unchecked: vec![],
            flux_kustomization: Some("flux-system/kafka".into()),
            warnings: vec!["a plan warning".into()],
        };
        let result = ExportResult {
            service: Some(Applied::Created),
            service_export: Applied::Unchanged,
        };
        let v = serde_json::to_value(ExportOutcome::new(&plan, &result, DryRun::None)).unwrap();
        assert_eq!(v["schema"], EXPORT_SCHEMA);
        assert_eq!(v["objects"][0]["kind"], "Service");
        assert_eq!(v["objects"][0]["api_version"], "v1");
        assert_eq!(v["objects"][0]["action"], "created");
        assert_eq!(v["objects"][1]["kind"], "ServiceExport");
        assert_eq!(v["objects"][1]["api_version"], "multicluster.x-k8s.io/v1alpha1");
        assert_eq!(v["objects"][1]["action"], "unchanged");
        assert_eq!(v["flux_kustomization"], "flux-system/kafka");
        assert_eq!(v["peers"][0]["conflicts"][0], "PortConflict");
        let warnings = v["warnings"].as_array().unwrap();
        assert_eq!(warnings[0], "a plan warning");
        assert!(
            warnings[1]
                .as_str()
                .unwrap()
                .starts_with("MCS conflict (PortConflict)")
        );
        assert_eq!(v["manifests"].as_array().unwrap().len(), 2);

        // Exporting an existing Service writes the ServiceExport only.
        let plan = ExportPlan {
            service: None,
            ..plan
        };
        let result = ExportResult {
            service: None,
            service_export: Applied::WouldCreate,
        };
        let v = serde_json::to_value(ExportOutcome::new(&plan, &result, DryRun::Client)).unwrap();
        assert_eq!(v["dry_run"], "client");
        assert_eq!(v["objects"].as_array().unwrap().len(), 1);
        assert_eq!(v["objects"][0]["action"], "would-create");
    }
}
