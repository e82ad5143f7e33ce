//! `kubectl clusterset copy-secret` as a use case: what the user asked for ([`CopyRequest`],
//! checked before any cluster is contacted), the plans for every copy (reads only, all before
//! any write), and who must consent to what ([`consent`], pure).

use crate::clients::{ContextClient, Kubeconfigs};
use crate::clusterset::copy_secret::{self, CopyPlan, CopySpec};
use crate::clusterset::members;
use crate::error::{Error, Result};
use crate::topology::TopologyRequest;
use crate::write::DryRun;
use std::collections::BTreeMap;
use std::time::Duration;

/// What to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyRequest {
    /// `NAME --from A --to B [--as NEW]`.
    One {
        name: String,
        from: String,
        to: String,
        as_name: Option<String>,
    },
    /// `--mm2`: each cluster's MM2 user to every peer, as the peers' MM2s expect it.
    Mm2,
}

impl CopyRequest {
    /// The request the flags describe, or the usage error (no cluster needed to tell).
    pub fn from_flags(
        mm2: bool,
        name: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        as_name: Option<&str>,
        known_contexts: &[String],
    ) -> Result<Self> {
        if mm2 {
            return Ok(CopyRequest::Mm2);
        }
        let name = name.ok_or_else(|| {
            Error::Usage("which Secret? give NAME --from CONTEXT --to CONTEXT, or --mm2".into())
        })?;
        let (Some(from), Some(to)) = (from, to) else {
            return Err(Error::Usage(format!(
                "copy-secret {name} needs --from CONTEXT and --to CONTEXT (known contexts: {})",
                known_contexts.join(", ")
            )));
        };
        if from == to && as_name.is_none_or(|n| n == name) {
            return Err(Error::Usage(format!(
                "--from and --to are both {from} and the name stays {name}: nothing to copy (use --as NEWNAME)"
            )));
        }
        Ok(CopyRequest::One {
            name: name.into(),
            from: from.into(),
            to: to.into(),
            as_name: as_name.map(str::to_string),
        })
    }
}

/// One client per context the copies touch.
pub type Clients = BTreeMap<String, ContextClient>;

/// Plan every copy (reads only) before anything is written: an unreachable cluster or a missing
/// source fails here, and nothing is half-copied.
pub async fn plan_copies(
    kc: &Kubeconfigs,
    req: &TopologyRequest,
    what: &CopyRequest,
    timeout: Duration,
) -> Result<(Clients, Vec<CopyPlan>)> {
    match what {
        CopyRequest::One {
            name,
            from,
            to,
            as_name,
        } => {
            kc.check_context(from)?;
            kc.check_context(to)?;
            let ns = crate::topology::one_namespace(kc, req, Some(from));
            let spec = CopySpec {
                source_context: from.clone(),
                source_namespace: ns.clone(),
                source_name: name.clone(),
                target_context: to.clone(),
                target_namespace: ns,
                target_name: as_name.clone().unwrap_or_else(|| name.clone()),
            };
            let mut clients = Clients::new();
            for (ctx, r) in kc.connect_all(&[from.clone(), to.clone()], timeout).await {
                clients.insert(ctx, r?);
            }
            let plan = copy_secret::plan(&clients[from], &clients[to], &spec).await?;
            Ok((clients, vec![plan]))
        }
        CopyRequest::Mm2 => plan_mm2(kc, req, timeout).await,
    }
}

async fn plan_mm2(
    kc: &Kubeconfigs,
    req: &TopologyRequest,
    timeout: Duration,
) -> Result<(Clients, Vec<CopyPlan>)> {
    let cs = members::load(kc, req, timeout).await?;
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
    let specs: Vec<(String, crate::resources::strimzi::Mm2Spec)> = cs
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

/// Who consents to overwriting a Secret kubectl-clusterset did not create, per plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consent {
    /// Nothing foreign is overwritten.
    NotNeeded,
    /// `--force`: given, with the reason worth saying.
    Forced { reason: String },
    /// Ask: say `reason`, then `question`.
    Ask { reason: String, question: String },
}

/// Decide consent for every plan (pure). Without `--force`, where nobody can be asked (no
/// terminal, or a client dry run that must not prompt) every overwrite is refused at once, before
/// anything is written.
pub fn consent(plans: &[CopyPlan], force: bool, dry_run: DryRun, can_ask: bool) -> Result<Vec<Consent>> {
    let needing: Vec<&CopyPlan> = plans.iter().filter(|p| p.needs_consent()).collect();
    if !needing.is_empty() && !force && (dry_run == DryRun::Client || !can_ask) {
        if let [one] = needing.as_slice() {
            return Err(one.refusal());
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
    Ok(plans
        .iter()
        .map(|p| {
            if !p.needs_consent() {
                Consent::NotNeeded
            } else if force {
                Consent::Forced {
                    reason: p.consent_reason(),
                }
            } else {
                let s = &p.spec;
                Consent::Ask {
                    reason: p.consent_reason(),
                    question: format!(
                        "Replace Secret {}/{} in {} with a copy of {}/{} from {}?",
                        s.target_namespace,
                        s.target_name,
                        s.target_context,
                        s.source_namespace,
                        s.source_name,
                        s.source_context
                    ),
                }
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctxs() -> Vec<String> {
        vec!["rciis-aws".into(), "rciis-proxmox".into()]
    }

    #[test]
    fn usage_errors_need_no_cluster() {
        let e = CopyRequest::from_flags(false, None, None, None, None, &ctxs()).unwrap_err();
        assert!(matches!(e, Error::Usage(m) if m.contains("--mm2")));
        let e = CopyRequest::from_flags(false, Some("mm2-user"), Some("rciis-aws"), None, None, &ctxs())
            .unwrap_err();
        assert!(matches!(e, Error::Usage(m) if m.contains("known contexts: rciis-aws, rciis-proxmox")));
        let e = CopyRequest::from_flags(
            false,
            Some("s"),
            Some("rciis-aws"),
            Some("rciis-aws"),
            None,
            &ctxs(),
        )
        .unwrap_err();
        assert!(matches!(e, Error::Usage(m) if m.contains("--as NEWNAME")));
        assert!(
            CopyRequest::from_flags(
                false,
                Some("s"),
                Some("rciis-aws"),
                Some("rciis-aws"),
                Some("s2"),
                &ctxs()
            )
            .is_ok()
        );
        assert_eq!(
            CopyRequest::from_flags(true, None, None, None, None, &ctxs()).unwrap(),
            CopyRequest::Mm2
        );
    }

    /// The runbook's `kubectl get secret | jq | kubectl apply` copy: no provenance of ours.
    fn foreign_plan() -> CopyPlan {
        use crate::clusterset::copy_secret::tests::{plan_for, source};
        let jq = crate::clusterset::secret::SecretView {
            managers: vec!["kubectl-client-side-apply".into()],
            name: "mm2-user-aws".into(),
            ..source()
        };
        plan_for(Some(jq), &source())
    }

    #[test]
    fn nothing_foreign_needs_no_consent_anywhere() {
        use crate::clusterset::copy_secret::tests::{plan_for, source};
        assert_eq!(consent(&[], false, DryRun::Client, false).unwrap(), vec![]);
        let fresh = plan_for(None, &source());
        assert_eq!(
            consent(&[fresh], false, DryRun::None, false).unwrap(),
            vec![Consent::NotNeeded]
        );
    }

    #[test]
    fn a_foreign_target_is_refused_where_nobody_can_be_asked() {
        let e = consent(&[foreign_plan()], false, DryRun::None, false).unwrap_err();
        assert!(matches!(e, Error::Refused { .. }), "{e}");
        // A client dry run never prompts, even on a terminal.
        assert!(consent(&[foreign_plan()], false, DryRun::Client, true).is_err());
        let e = consent(&[foreign_plan(), foreign_plan()], false, DryRun::None, false).unwrap_err();
        assert!(e.to_string().contains("refusing to overwrite 2 Secrets"), "{e}");
        assert!(e.to_string().contains("nothing was written"), "{e}");
    }

    #[test]
    fn force_consents_and_a_terminal_asks_with_both_ends_named() {
        assert!(matches!(
            consent(&[foreign_plan()], true, DryRun::None, false).unwrap()[..],
            [Consent::Forced { .. }]
        ));
        let asked = consent(&[foreign_plan()], false, DryRun::None, true).unwrap();
        let [Consent::Ask { question, .. }] = &asked[..] else {
            panic!("{asked:?}")
        };
        assert_eq!(
            question,
            "Replace Secret rciis-prod/mm2-user-aws in rciis-proxmox with a copy of rciis-prod/mm2-user from rciis-aws?"
        );
    }
}
