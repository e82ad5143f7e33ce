//! Flux: the Kustomizations that apply the MirrorMaker 2 deployment are Ready and not suspended;
//! a suspension says who suspended it and when (`kubectl mm2 pause` records itself).

use crate::doctor::facts::{FluxRef, Kind, Meta};
use crate::doctor::{Check, Facts, Finding, Fix, Severity};
use crate::mm2::SUSPENDED_BY_ANNOTATION;
use crate::resources::condition;
use std::collections::BTreeMap;

pub fn check(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for cx in facts.reachable() {
        if !cx.can_read(Kind::Kustomization) {
            continue;
        }
        let metas: Vec<(&str, &Meta)> = cx
            .mm2s
            .iter()
            .map(|m| ("KafkaMirrorMaker2", &m.meta))
            .chain(cx.kafkas.iter().map(|k| ("Kafka", &k.meta)))
            .chain(cx.node_pools.iter().map(|p| ("KafkaNodePool", &p.meta)))
            .chain(cx.users.iter().map(|u| ("KafkaUser", &u.meta)))
            .chain(cx.exports.iter().map(|e| ("ServiceExport", &e.meta)))
            .chain(cx.config_maps.iter().map(|c| ("ConfigMap", &c.meta)))
            .collect();
        let mut owners: BTreeMap<FluxRef, Vec<String>> = BTreeMap::new();
        for (kind, meta) in metas {
            if let Some(o) = meta.flux() {
                owners.entry(o).or_default().push(format!("{kind}/{}", meta.name));
            }
        }
        for (o, objs) in owners {
            let obj = format!("Kustomization {}/{}", o.namespace, o.name);
            let applies = objs.join(", ");
            let Some(k) = cx
                .kustomizations
                .iter()
                .find(|k| k.meta.name == o.name && k.meta.namespace == o.namespace)
            else {
                out.push(
                    Finding::new("flux.kustomization-missing", Check::Flux, Severity::Warning, cx, obj,
                        "the objects name a Flux Kustomization that does not exist: Flux no longer manages them (they drift from Git)".into())
                    .evidence("applies", applies)
                    .fix(Fix { summary: format!("flux get kustomizations -A --context {}", cx.context), ..Default::default() }),
                );
                continue;
            };
            if k.suspend {
                let who = k
                    .meta
                    .annotations
                    .get(SUSPENDED_BY_ANNOTATION)
                    .cloned()
                    .unwrap_or_else(|| "unknown (no kubectl-mm2 annotation)".into());
                out.push(
                    Finding::new(
                        "flux.suspended",
                        Check::Flux,
                        Severity::Warning,
                        cx,
                        obj.clone(),
                        format!(
                            "suspended: Git changes to {} are not applied; suspended by {who}",
                            applies
                        ),
                    )
                    .evidence("spec.suspend", "true")
                    .evidence("suspended by", who)
                    .fix(Fix {
                        summary: "resume it when the maintenance is over".into(),
                        command: Some(format!(
                            "flux resume kustomization {} -n {} --context {}",
                            o.name, o.namespace, cx.context
                        )),
                        ..Default::default()
                    }),
                );
            }
            let ready = condition(&k.conditions, "Ready");
            if ready.is_none_or(|c| c.status != "True") {
                out.push(
                    Finding::new(
                        "flux.not-ready",
                        Check::Flux,
                        Severity::Error,
                        cx,
                        obj,
                        format!("not Ready: the last apply of {applies} failed or never ran"),
                    )
                    .evidence(
                        "Ready",
                        ready
                            .map(|c| {
                                format!(
                                    "{} {}: {}",
                                    c.status,
                                    c.reason.clone().unwrap_or_default(),
                                    c.message.clone().unwrap_or_default()
                                )
                            })
                            .unwrap_or_else(|| "no condition".into()),
                    )
                    .fix(Fix {
                        summary: "fix what the condition says in Git, then reconcile".into(),
                        command: Some(format!(
                            "flux reconcile kustomization {} -n {} --context {} --with-source",
                            o.name, o.namespace, cx.context
                        )),
                        ..Default::default()
                    }),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::rules::topology::tests::{facts_with, mm2};
    use serde_json::{Value, json};

    fn flux_mm2() -> Value {
        let mut m = mm2("mm2-proxmox-to-aws", "aws", "proxmox", "aws");
        m["metadata"]["labels"] = json!({"kustomize.toolkit.fluxcd.io/name": "kafka", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"});
        m
    }
    fn ks(suspend: bool, ready: &str) -> Value {
        json!({"kind": "Kustomization", "metadata": {"name": "kafka", "namespace": "flux-system",
                "annotations": {SUSPENDED_BY_ANNOTATION: "alice@laptop at 2026-11-30T05:00:00Z: pause proxmox->aws"}},
               "spec": {"suspend": suspend, "path": "./flux/apps/aws/kafka"},
               "status": {"conditions": [{"type": "Ready", "status": ready, "reason": "ReconciliationSucceeded"}]}})
    }

    #[test]
    fn a_ready_kustomization_passes() {
        assert!(check(&facts_with(&[("aws", flux_mm2()), ("aws", ks(false, "True"))])).is_empty());
    }

    #[test]
    fn suspended_and_failing_trip_and_say_who() {
        let f = check(&facts_with(&[("aws", flux_mm2()), ("aws", ks(true, "False"))]));
        let ids: Vec<&str> = f.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["flux.suspended", "flux.not-ready"]);
        assert!(f[0].evidence["suspended by"].starts_with("alice@laptop at 2026-11-30"));
        let f = check(&facts_with(&[("aws", flux_mm2())]));
        assert_eq!(f[0].id, "flux.kustomization-missing");
    }
}
