//! Which kube contexts form the clusterset, and the one namespace the MCS commands work in.
//!
//! The clusterset is the MM2 topology when there is one (aliases come from the KafkaMirrorMaker2s'
//! `connectCluster`, `--cluster` or the config file), plus every other context of the kubeconfig
//! that points at a distinct API server: a Service can be exported from a cluster that runs no
//! MirrorMaker. MCS requires namespace sameness, so one namespace is used in every cluster.

use crate::clients::{ContextClient, Kubeconfigs};
use crate::error::{Error, Result};
use crate::topology::{self, ContextProblem, Topology, TopologyRequest};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// One cluster of the clusterset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub context: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// The clusterset, connected.
#[derive(Debug, Default)]
pub struct Clusterset {
    pub namespace: String,
    pub members: Vec<Member>,
    pub clients: BTreeMap<String, ContextClient>,
    /// Contexts that could not be reached (only reachability counts here: a cluster without the
    /// Strimzi CRDs is still a fine member of an MCS clusterset).
    pub problems: Vec<ContextProblem>,
    pub topology: Topology,
}

impl Clusterset {
    /// The client of a member, or the reason there is none.
    pub fn client(&self, context: &str) -> Result<&ContextClient> {
        if let Some(c) = self.clients.get(context) {
            return Ok(c);
        }
        match self.problems.iter().find(|p| p.context == context) {
            Some(p) => Err(p.error.clone()),
            None => Err(Error::Kubeconfig(format!(
                "context \"{context}\" is not part of the clusterset ({})",
                self.members
                    .iter()
                    .map(|m| m.context.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    pub fn alias_of(&self, context: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|m| m.context == context)
            .and_then(|m| m.alias.as_deref())
    }

    pub fn context_of(&self, alias: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|m| m.alias.as_deref() == Some(alias))
            .map(|m| m.context.as_str())
    }

    /// `aws (rciis-aws)` or just the context.
    pub fn label(&self, context: &str) -> String {
        match self.alias_of(context) {
            Some(a) => format!("{a} ({context})"),
            None => context.to_string(),
        }
    }

    /// The first unreachable member, as an error.
    pub fn first_problem(&self) -> Option<Error> {
        self.problems.first().map(|p| p.error.clone())
    }

    /// Make `context` a member, replacing the member that reaches the same API server (zero-config
    /// discovery keeps one context per server, e.g. `rciis-aws` but not `viewer@rciis-aws`; a
    /// command run with `--context viewer@rciis-aws` must act as that user).
    pub async fn ensure_context(&mut self, kc: &Kubeconfigs, context: &str, timeout: Duration) -> Result<()> {
        kc.check_context(context)?;
        if self.members.iter().any(|m| m.context == context) {
            return Ok(());
        }
        let server = kc.server_of(context);
        let mut alias = None;
        if let Some(pos) = self
            .members
            .iter()
            .position(|m| server.is_some() && kc.server_of(&m.context) == server)
        {
            let old = self.members.remove(pos);
            self.clients.remove(&old.context);
            self.problems.retain(|p| p.context != old.context);
            alias = old.alias;
        }
        match kc.connect(context, timeout).await {
            Ok(c) => {
                self.clients.insert(context.to_string(), c);
            }
            Err(error) => self.problems.push(ContextProblem {
                context: context.to_string(),
                error,
            }),
        }
        self.members.push(Member {
            context: context.to_string(),
            alias,
        });
        Ok(())
    }
}

/// The namespace MCS commands use: `-n`, the config file's, the current context's, `default`.
pub fn namespace(kc: &Kubeconfigs, req: &TopologyRequest) -> String {
    crate::topology::one_namespace(kc, req, kc.current_context().as_deref())
}

/// Discover and connect the clusterset.
pub async fn load(kc: &Kubeconfigs, req: &TopologyRequest, timeout: Duration) -> Result<Clusterset> {
    let ns = namespace(kc, req);
    let mut req = req.clone();
    // MM2s are looked up in the clusterset namespace (namespace sameness).
    req.namespace = Some(ns.clone());
    req.all_namespaces = false;
    let topo = topology::discover(kc, &req, timeout).await?;
    let mut members: Vec<Member> = topo
        .clusters
        .iter()
        .map(|c| Member {
            context: c.context.clone(),
            alias: Some(c.alias.clone()),
        })
        .collect();
    for (ctx, alias) in topology::candidate_contexts(kc, &req)? {
        if !members.iter().any(|m| m.context == ctx) {
            members.push(Member { context: ctx, alias });
        }
    }
    let mut clients = topo.clients.clone();
    let mut problems = Vec::new();
    for p in &topo.problems {
        if p.error.is_unreachable() || matches!(p.error, Error::Kubeconfig(_)) {
            clients.remove(&p.context);
            problems.push(ContextProblem {
                context: p.context.clone(),
                error: p.error.clone(),
            });
        }
    }
    // Members discovery did not connect (explicit --cluster entries of other servers ...).
    let missing: Vec<String> = members
        .iter()
        .filter(|m| !clients.contains_key(&m.context) && !problems.iter().any(|p| p.context == m.context))
        .map(|m| m.context.clone())
        .collect();
    for (ctx, r) in kc.connect_all(&missing, timeout).await {
        match r {
            Ok(c) => {
                clients.insert(ctx, c);
            }
            Err(error) => problems.push(ContextProblem { context: ctx, error }),
        }
    }
    Ok(Clusterset {
        namespace: ns,
        members,
        clients,
        problems,
        topology: topo,
    })
}
