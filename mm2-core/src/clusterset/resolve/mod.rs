//! `resolve`: why does (or doesn't) `NAME.NS.svc.clusterset.local` resolve? Facts are gathered
//! from every context concurrently; [`findings`] turns them into diagnoses with a next step. The
//! judgement is a pure function of the facts, so it is unit-tested without clusters.
//!
//! Condition types and reasons are those mcs-api and Cilium write (mcs-flux.md §1.2, §2.2): the
//! robust health check is `Valid==True && Conflict!=True` (Cilium's MID generation keeps
//! `Ready=True` during a conflict).
//!
//! Facts → rules → report: [`gather`](mod@gather) reads one context, [`rules`] judges (pure), [`report`] holds
//! the facts and the `resolve/v1` document; this module runs them over the clusterset.

pub mod gather;
pub mod report;
pub mod rules;

pub use gather::gather;
pub use report::*;
pub use rules::findings;

use crate::clusterset::members::Clusterset;

/// Gather every member concurrently and judge.
pub async fn resolve(cs: &Clusterset, name: &str) -> ResolveReport {
    let ns = cs.namespace.clone();
    let mut sections: Vec<ContextSection> = futures::future::join_all(cs.clients.values().map(|cc| {
        let alias = cs.alias_of(&cc.context).map(str::to_string);
        let ns = ns.clone();
        async move { gather(cc, alias, &ns, name).await }
    }))
    .await;
    for p in &cs.problems {
        sections.push(ContextSection {
            context: p.context.clone(),
            alias: cs.alias_of(&p.context).map(str::to_string),
            reachable: false,
            error: Some(p.error.to_string()),
            ..Default::default()
        });
    }
    // Member order (kubeconfig order), not hash-map order.
    let order = |c: &str| {
        cs.members
            .iter()
            .position(|m| m.context == c)
            .unwrap_or(usize::MAX)
    };
    sections.sort_by_key(|s| order(&s.context));
    build(name, &ns, sections)
}

/// Assemble the report from gathered sections.
pub fn build(name: &str, ns: &str, sections: Vec<ContextSection>) -> ResolveReport {
    let (findings, resolvable) = findings(name, ns, &sections);
    ResolveReport {
        schema: SCHEMA,
        name: name.into(),
        namespace: ns.into(),
        dns: crate::clusterset::clusterset_dns(name, ns),
        resolvable,
        exporting_contexts: sections
            .iter()
            .filter(|s| s.service_export.is_some())
            .map(|s| s.context.clone())
            .collect(),
        contexts: sections,
        findings,
    }
}
