//! Strimzi v1 readiness (the upgrade to 1.x): MM2s still in the v1beta2 shape (the fix is
//! `kubectl mm2 convert`), Strimzi CRDs whose `status.storedVersions` still holds `v1beta2`,
//! CRDs applied by Flux (which re-applies the old storage version: strimzi#12225) and manifests
//! Flux applies at `kafka.strimzi.io/v1beta2`, an API Strimzi 1.0 no longer serves.

use crate::doctor::facts::Kind;
use crate::doctor::{Check, Facts, Finding, Fix, Severity, object};
use crate::resources::strimzi::GROUP;
use crate::resources::validation::deprecations;

pub fn check(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for cx in facts.reachable() {
        for m in &cx.mm2s {
            let deps = deprecations(&m.spec);
            if deps.is_empty() {
                continue;
            }
            let d = m.directions().into_iter().next();
            let mut f = Finding::new(
                "v1.old-shape",
                Check::V1,
                Severity::Warning,
                cx,
                object("KafkaMirrorMaker2", &m.meta),
                "still in the v1beta2 shape: Strimzi 1.0 removes these fields (and the v1beta2 API), and its conversion tool is gone from 1.1".to_string(),
            )
            .evidence("deprecated", deps.iter().map(|d| d.path.clone()).collect::<Vec<_>>().join(", "))
            .fix(Fix {
                summary: "rewrite the manifest in the v1 shape (target + mirrors[].source) in the Flux repository".into(),
                flux_path: facts.flux_path(cx, &m.meta),
                command: d.as_ref().map(|d| format!("kubectl mm2 convert {}", d.shell_safe())),
                ..Default::default()
            });
            if let Some(d) = &d {
                f = f.direction(d);
            }
            out.push(f);
        }
        // Manifests Flux applies at v1beta2.
        let old: Vec<String> = cx
            .kafkas
            .iter()
            .map(|k| ("Kafka", &k.meta))
            .chain(cx.node_pools.iter().map(|p| ("KafkaNodePool", &p.meta)))
            .chain(cx.users.iter().map(|u| ("KafkaUser", &u.meta)))
            .chain(cx.mm2s.iter().map(|m| ("KafkaMirrorMaker2", &m.meta)))
            .filter(|(_, meta)| {
                meta.managers
                    .get("kustomize-controller")
                    .is_some_and(|v| v == &format!("{GROUP}/v1beta2"))
            })
            .map(|(k, meta)| format!("{k}/{}", meta.name))
            .collect();
        if !old.is_empty() {
            out.push(
                Finding::new("v1.applied-at-v1beta2", Check::V1, Severity::Info, cx, format!("namespace {}", cx.namespace),
                    format!("Flux applies {} object(s) at {GROUP}/v1beta2, which Strimzi 1.0 no longer serves: the Kustomization fails after the upgrade until the manifests say {GROUP}/v1", old.len()))
                .evidence("objects", old.join(", "))
                .fix(Fix { summary: format!("set `apiVersion: {GROUP}/v1` in these manifests (after converting each MM2 with `kubectl mm2 convert`)"), ..Default::default() }),
            );
        }
        if !cx.can_read(Kind::CustomResourceDefinition) {
            continue;
        }
        let strimzi: Vec<_> = cx.crds.iter().filter(|c| c.group == GROUP).collect();
        let pending: Vec<String> = strimzi
            .iter()
            .filter(|c| {
                c.stored_versions.iter().any(|v| v == "v1beta2") && c.storage_version.as_deref() != Some("v1")
            })
            .map(|c| c.meta.name.clone())
            .collect();
        if !pending.is_empty() {
            out.push(
                Finding::new("v1.crd-storage-v1beta2", Check::V1, Severity::Info, cx, "Strimzi CRDs".into(),
                    format!("{} Strimzi CRD(s) still store v1beta2: Strimzi's crd-upgrade step must run before upgrading to 1.0 (normal on 0.51)", pending.len()))
                .evidence("crds", pending.join(", "))
                .fix(Fix { summary: "when every resource is in the v1 shape, run Strimzi 0.51's `bin/v1-api-conversion.sh crd-upgrade` (the tool is gone from 1.1)".into(), ..Default::default() }),
            );
        }
        for c in strimzi.iter().filter(|c| {
            c.storage_version.as_deref() == Some("v1") && c.stored_versions.iter().any(|v| v == "v1beta2")
        }) {
            out.push(
                Finding::new("v1.crd-stored-versions", Check::V1, Severity::Warning, cx, object("CustomResourceDefinition", &c.meta).replace(" /", " "),
                    "stores v1 but status.storedVersions still lists v1beta2: the migration is incomplete (or was reverted), and Strimzi 1.0's CRDs drop v1beta2".to_string())
                .evidence("storedVersions", c.stored_versions.join(", "))
                .evidence("storage", "v1")
                .fix(Fix {
                    summary: "after every object was rewritten at v1, drop v1beta2 from storedVersions".into(),
                    command: Some(format!("kubectl patch crd {} --context {} --subresource=status --type=merge -p '{{\"status\":{{\"storedVersions\":[\"v1\"]}}}}'", c.meta.name, cx.context)),
                    ..Default::default()
                }),
            );
        }
        for c in strimzi.iter().filter(|c| c.meta.flux().is_some()) {
            let owner = c.meta.flux().expect("filtered");
            out.push(
                Finding::new("v1.crd-owned-by-flux", Check::V1, Severity::Warning, cx, object("CustomResourceDefinition", &c.meta).replace(" /", " "),
                    format!("applied by Flux Kustomization {}/{}: Flux re-applies the CRD as it is in Git and reverts the storage-version change the 1.x upgrade needs (strimzi#12225)", owner.namespace, owner.name))
                .evidence("kustomize.toolkit.fluxcd.io/name", owner.name.clone())
                .fix(Fix {
                    summary: "exclude the CRD from Flux's reconciliation during the migration, then ship the 1.x CRDs through Git".into(),
                    patch: Some(crate::output::to_yaml(&serde_json::json!({
                        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                        "metadata": {"name": c.meta.name, "annotations": {"kustomize.toolkit.fluxcd.io/reconcile": "disabled"}}}))),
                    ..Default::default()
                }),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::rules::topology::tests::{facts_with, mm2};
    use serde_json::{Value, json};

    fn crd(storage: &str, stored: &[&str], flux: bool) -> Value {
        let mut c = json!({"kind": "CustomResourceDefinition", "metadata": {"name": "kafkamirrormaker2s.kafka.strimzi.io"},
            "spec": {"group": "kafka.strimzi.io", "versions": [{"name": storage, "storage": true}]},
            "status": {"storedVersions": stored}});
        if flux {
            c["metadata"]["labels"] = json!({"kustomize.toolkit.fluxcd.io/name": "infra", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"});
        }
        c
    }
    fn v1_mm2() -> Value {
        json!({"kind": "KafkaMirrorMaker2", "apiVersion": "kafka.strimzi.io/v1",
            "metadata": {"name": "mm2-proxmox-to-aws", "namespace": "rciis-prod"},
            "spec": {"target": {"alias": "aws"}, "mirrors": [{"source": {"alias": "proxmox"}}]}})
    }

    #[test]
    fn a_v1beta2_shaped_mm2_points_at_convert() {
        let f = check(&facts_with(&[(
            "aws",
            mm2("mm2-proxmox-to-aws", "aws", "proxmox", "aws"),
        )]));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].id, "v1.old-shape");
        assert_eq!(
            f[0].fix.command.as_deref(),
            Some("kubectl mm2 convert proxmox:aws")
        );
        assert!(f[0].evidence["deprecated"].contains("spec.connectCluster"));
    }

    #[test]
    fn a_v1_mm2_and_0_51_crds_pass_with_an_info_only() {
        let f = check(&facts_with(&[
            ("aws", v1_mm2()),
            ("aws", crd("v1beta2", &["v1beta2"], false)),
        ]));
        assert!(f.iter().all(|f| f.severity == Severity::Info), "{f:#?}");
        assert_eq!(f.len(), 1);
        assert!(
            check(&facts_with(&[
                ("aws", v1_mm2()),
                ("aws", crd("v1", &["v1"], false))
            ]))
            .is_empty()
        );
    }

    #[test]
    fn an_incomplete_migration_and_flux_owned_crds_trip() {
        let f = check(&facts_with(&[("aws", crd("v1", &["v1beta2", "v1"], true))]));
        let ids: Vec<&str> = f.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["v1.crd-stored-versions", "v1.crd-owned-by-flux"]);
        assert!(
            f[0].fix
                .command
                .as_deref()
                .unwrap()
                .contains("storedVersions\":[\"v1\"]")
        );
    }
}
