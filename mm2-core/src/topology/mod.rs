//! The clusterset: which cluster aliases exist, which kube context each lives in, and which
//! KafkaMirrorMaker2 (name, namespace, context) runs each replication direction.
//!
//! Sources, strongest first:
//! 1. flags: `--cluster ALIAS=CONTEXT` (repeatable) and `--context` (restricts the contexts asked);
//! 2. the config file (`--clusterset-config`, `$MM2_CLUSTERSET_CONFIG`, or
//!    `$XDG_CONFIG_HOME/kubectl-mm2/clusterset.yaml`);
//! 3. zero-config discovery: every context of the kubeconfig (one per API server) is asked for its
//!    KafkaMirrorMaker2s; an MM2 runs in the cluster named by its `connectCluster` (v1beta2) or
//!    `target.alias` (v1), so that alias belongs to the context it was found in.
//!    A cluster that cannot be reached keeps an alias when its context is named after it
//!    (`rciis-aws` → `aws`), so its direction still shows up, as unreachable.
//!
//! One job per file: [`request`] is what the user asked, [`contexts`] which contexts to ask and in
//! which namespace, this file the discovery and the [`Topology`] it returns, [`layout`] whether
//! Strimzi runs an MM2 where it is, and [`serving`] which MM2 a command acts on.

mod contexts;
pub mod layout;
mod request;
pub mod serving;

pub use contexts::*;
pub use request::*;

use crate::clients::{ContextClient, Kubeconfigs};
use crate::direction::Direction;
use crate::error::{Error, Result};
use crate::resources::inventory::{Mm2Object, list_mm2};
use serde::Serialize;
use std::collections::BTreeMap;

/// One cluster of the resolved topology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cluster {
    pub alias: String,
    pub context: String,
}

/// Where one direction runs.
#[derive(Debug, Clone, Serialize)]
pub struct Route {
    pub direction: Direction,
    pub context: String,
    pub namespace: String,
    pub mm2: String,
    /// Index of the mirror in `spec.mirrors`.
    pub mirror_index: usize,
}

/// A context that could not be asked, and why (the report's serialisable form is
/// [`crate::error::Problem`]).
#[derive(Debug)]
pub struct ContextProblem {
    pub context: String,
    pub error: Error,
}

/// The resolved clusterset.
#[derive(Debug, Default)]
pub struct Topology {
    pub clusters: Vec<Cluster>,
    pub routes: Vec<Route>,
    pub problems: Vec<ContextProblem>,
    /// Every MM2 read, by context (reused by `status` instead of reading twice).
    pub mm2s: Vec<Mm2Object>,
    /// Connected clients, by context.
    pub clients: BTreeMap<String, ContextClient>,
    /// Namespace per context used for the lookups (`None`: all namespaces).
    pub namespaces: BTreeMap<String, Option<String>>,
    /// Contexts chosen by zero-config among others of the same API server with nothing to decide
    /// between them (not current, not the primary): context → the alternatives. Writes refuse.
    pub undecided_identities: BTreeMap<String, Vec<String>>,
}

impl Topology {
    pub fn aliases(&self) -> Vec<String> {
        let mut a: Vec<String> = self.clusters.iter().map(|c| c.alias.clone()).collect();
        for r in &self.routes {
            for x in [&r.direction.source, &r.direction.target] {
                if !a.contains(x) {
                    a.push(x.clone());
                }
            }
        }
        a.sort();
        a
    }

    pub fn context_of(&self, alias: &str) -> Option<&str> {
        self.clusters
            .iter()
            .find(|c| c.alias == alias)
            .map(|c| c.context.as_str())
    }

    pub fn alias_of(&self, context: &str) -> Option<&str> {
        self.clusters
            .iter()
            .find(|c| c.context == context)
            .map(|c| c.alias.as_str())
    }

    pub fn routes_for(&self, d: &Direction) -> Vec<&Route> {
        self.routes.iter().filter(|r| &r.direction == d).collect()
    }

    /// Every direction: the ones found, plus the ones implied by a cluster that could not be
    /// read: the reverse of every found direction that involves it (replication here is
    /// bidirectional, and the reverse MM2 may live in the dead cluster whichever layout is used:
    /// the runbook's puts `aws->proxmox` in aws, the working one puts `proxmox->aws` there).
    pub fn directions(&self) -> Vec<Direction> {
        let mut d: Vec<Direction> = self.routes.iter().map(|r| r.direction.clone()).collect();
        for p in &self.problems {
            if let Some(down) = self.alias_of(&p.context) {
                for r in &self.routes {
                    let (s, t) = (&r.direction.source, &r.direction.target);
                    if s == down || t == down {
                        d.push(Direction::new(t.as_str(), s.as_str()));
                    }
                }
            }
        }
        d.sort();
        d.dedup();
        d
    }

    pub fn mm2(&self, route: &Route) -> Option<&Mm2Object> {
        self.mm2s
            .iter()
            .find(|m| m.context == route.context && m.namespace == route.namespace && m.name == route.mm2)
    }

    /// When no KafkaMirrorMaker2 could be read anywhere because every context failed: one error
    /// naming the contexts, the access problems first (401, then 403: what the user can fix),
    /// so "forbidden in rciis-proxmox, rciis-aws" is never reported as "no direction found".
    pub fn unusable(&self) -> Option<Error> {
        if !self.routes.is_empty() || self.problems.is_empty() {
            return None;
        }
        let rank = |e: &Error| match e {
            Error::Unauthorized { .. } => 0,
            Error::Forbidden { .. } => 1,
            Error::CrdMissing { .. } => 2,
            Error::Unreachable { .. } | Error::Timeout { .. } => 3,
            _ => 4,
        };
        let first = self.problems.iter().min_by_key(|p| rank(&p.error))?;
        let contexts: Vec<&str> = self
            .problems
            .iter()
            .filter(|p| rank(&p.error) == rank(&first.error))
            .map(|p| p.context.as_str())
            .collect();
        Some(first.error.clone().on_context(contexts.join(", ")))
    }

    /// Why `d` could not be found: the failure of a context it could live in — its target first
    /// (the layout Strimzi runs), then its source (the runbook's).
    pub fn problem_for(&self, d: &Direction) -> Option<&Error> {
        [&d.target, &d.source]
            .into_iter()
            .find_map(|a| self.context_of(a).and_then(|c| self.problem(c)))
    }

    pub fn problem(&self, context: &str) -> Option<&Error> {
        self.problems
            .iter()
            .find(|p| p.context == context)
            .map(|p| &p.error)
    }

    /// The error for "found nothing", naming what was asked.
    pub fn nothing_found(&self, kc: &Kubeconfigs) -> Error {
        if let Some(p) = self.problems.first() {
            let asked: Vec<&str> = self.problems.iter().map(|p| p.context.as_str()).collect();
            return Error::Topology(format!(
                "no KafkaMirrorMaker2 found; contexts that failed: {} (first error: {})",
                asked.join(", "),
                p.error
            ));
        }
        let asked: Vec<String> = self
            .namespaces
            .iter()
            .map(|(ctx, ns)| format!("{ctx} (namespace {})", ns.as_deref().unwrap_or("all")))
            .collect();
        // Name what was asked; suggest -n only when it was not given.
        let next = if self.namespaces.values().all(Option::is_none) {
            "check --context, or list them with `kubectl get kmm2 -A`"
        } else {
            "check the namespace (`kubectl get kmm2 -A` lists every one), or -A, or --context"
        };
        Error::Topology(format!(
            "no KafkaMirrorMaker2 found in {} (contexts of {}); {next}",
            if asked.is_empty() {
                kc.contexts().join(", ")
            } else {
                asked.join(", ")
            },
            kc.source
        ))
    }
}

/// Resolve the topology by asking every candidate context concurrently.
pub async fn discover(
    kc: &Kubeconfigs,
    req: &TopologyRequest,
    timeout: std::time::Duration,
) -> Result<Topology> {
    let candidates = candidate_contexts(kc, req)?;
    let names: Vec<String> = candidates.iter().map(|(c, _)| c.clone()).collect();
    let connected = kc.connect_all(&names, timeout).await;
    let mut topo = Topology::default();
    let explicit_identity = !req.contexts.is_empty()
        || !req.clusters.is_empty()
        || req.config.as_ref().is_some_and(|c| !c.clusters.is_empty());
    if !explicit_identity {
        topo.undecided_identities = zero_config(kc)
            .into_iter()
            .filter(|c| !c.undecided.is_empty())
            .map(|c| (c.context, c.undecided))
            .collect();
    }
    let mut clients = Vec::new();
    for (ctx, r) in connected {
        match r {
            Ok(c) => clients.push(c),
            Err(error) => topo.problems.push(ContextProblem { context: ctx, error }),
        }
    }
    let listed = crate::clients::fan_out(&clients, |cc| {
        let ns = namespace_for(kc, req, &cc.context);
        async move {
            let items = list_mm2(cc, ns.as_deref()).await?;
            Ok((ns, items))
        }
    })
    .await;

    let mut alias_by_context: BTreeMap<String, String> = candidates
        .iter()
        .filter_map(|(c, a)| a.clone().map(|a| (c.clone(), a)))
        .collect();
    for (ctx, r) in listed {
        match r {
            Ok((ns, items)) => {
                topo.namespaces.insert(ctx.clone(), ns);
                for m in items {
                    if let Some(a) = m.spec.connect_alias() {
                        alias_by_context
                            .entry(ctx.clone())
                            .or_insert_with(|| a.to_string());
                    }
                    for r in m.spec.routes() {
                        topo.routes.push(Route {
                            direction: r.direction,
                            context: ctx.clone(),
                            namespace: m.namespace.clone(),
                            mm2: m.name.clone(),
                            mirror_index: r.index,
                        });
                    }
                    topo.mm2s.push(m);
                }
            }
            // A cluster without the Strimzi CRDs is simply not part of the MM2 clusterset.
            Err(Error::CrdMissing { .. })
                if req.contexts.is_empty() && !alias_by_context.contains_key(&ctx) => {}
            Err(error) => topo.problems.push(ContextProblem { context: ctx, error }),
        }
    }
    // Name unreachable clusters after the aliases their peers' MM2s mention.
    let mut mentioned: Vec<String> = topo
        .routes
        .iter()
        .flat_map(|r| [r.direction.source.clone(), r.direction.target.clone()])
        .collect();
    mentioned.sort();
    mentioned.dedup();
    for (ctx, _) in &candidates {
        if !alias_by_context.contains_key(ctx)
            && let Some(a) = alias_from_context_name(ctx, &mentioned)
            && !alias_by_context.values().any(|v| v == a)
        {
            alias_by_context.insert(ctx.clone(), a.clone());
        }
    }
    // Keep only problems of contexts that matter: explicit ones, or ones that carry an alias.
    let explicit = !req.contexts.is_empty() || !req.clusters.is_empty() || req.config.is_some();
    topo.problems
        .retain(|p| explicit || alias_by_context.contains_key(&p.context) || mentioned.is_empty());
    for (ctx, _) in &candidates {
        if let Some(alias) = alias_by_context.get(ctx) {
            topo.clusters.push(Cluster {
                alias: alias.clone(),
                context: ctx.clone(),
            });
        }
    }
    topo.routes.sort_by(|a, b| a.direction.cmp(&b.direction));
    topo.clients = clients.into_iter().map(|c| (c.context.clone(), c)).collect();
    Ok(topo)
}
