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

pub mod layout;
pub mod serving;

use crate::clients::{ContextClient, Kubeconfigs};
use crate::direction::Direction;
use crate::error::{Error, Result};
use crate::resources::inventory::{Mm2Object, list_mm2};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The documented config file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ClustersetConfig {
    /// Namespace of the MM2s, exports and secrets (default: each context's namespace).
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub clusters: Vec<ClusterEntry>,
}

/// One cluster of the clusterset.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ClusterEntry {
    pub alias: String,
    pub context: String,
}

impl ClustersetConfig {
    /// Default location: `$XDG_CONFIG_HOME/kubectl-mm2/clusterset.yaml` (or `~/.config/...`).
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("kubectl-mm2").join("clusterset.yaml"))
    }

    /// Read the file at `explicit`, or `$MM2_CLUSTERSET_CONFIG`, or the default path if it exists.
    pub fn load(explicit: Option<&Path>) -> Result<Option<Self>> {
        let (path, must_exist) = match explicit {
            Some(p) => (p.to_path_buf(), true),
            None => match std::env::var_os("MM2_CLUSTERSET_CONFIG") {
                Some(p) if !p.is_empty() => (PathBuf::from(p), true),
                _ => match Self::default_path() {
                    Some(p) => (p, false),
                    None => return Ok(None),
                },
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if !must_exist && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::Config {
                    path: path.display().to_string(),
                    message: e.to_string(),
                });
            }
        };
        Self::parse(&text).map(Some).map_err(|message| Error::Config {
            path: path.display().to_string(),
            message,
        })
    }

    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let cfg: ClustersetConfig = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let mut seen = std::collections::BTreeSet::new();
        for c in &cfg.clusters {
            if c.alias.is_empty() || c.context.is_empty() {
                return Err("every cluster needs an alias and a context".into());
            }
            if !seen.insert(&c.alias) {
                return Err(format!("alias '{}' appears twice", c.alias));
            }
        }
        Ok(cfg)
    }
}

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct TopologyRequest {
    /// `--context` values: only these contexts are asked (empty: all).
    pub contexts: Vec<String>,
    /// `--cluster alias=context` values.
    pub clusters: Vec<ClusterEntry>,
    /// `-n`.
    pub namespace: Option<String>,
    /// `-A`.
    pub all_namespaces: bool,
    pub config: Option<ClustersetConfig>,
}

/// Parse `aws=rciis-aws`.
pub fn parse_cluster_flag(s: &str) -> std::result::Result<ClusterEntry, String> {
    let (alias, context) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}': expected ALIAS=CONTEXT, e.g. aws=rciis-aws"))?;
    if alias.is_empty() || context.is_empty() {
        return Err(format!("'{s}': expected ALIAS=CONTEXT, e.g. aws=rciis-aws"));
    }
    Ok(ClusterEntry {
        alias: alias.into(),
        context: context.into(),
    })
}

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

/// Which contexts to ask, with the alias each is already known by (if any).
pub fn candidate_contexts(kc: &Kubeconfigs, req: &TopologyRequest) -> Result<Vec<(String, Option<String>)>> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    let explicit: Vec<ClusterEntry> = if !req.clusters.is_empty() {
        req.clusters.clone()
    } else {
        req.config
            .as_ref()
            .map(|c| c.clusters.clone())
            .unwrap_or_default()
    };
    for c in &explicit {
        kc.check_context(&c.context)?;
        out.push((c.context.clone(), Some(c.alias.clone())));
    }
    if !req.contexts.is_empty() {
        for c in &req.contexts {
            kc.check_context(c)?;
        }
        if out.is_empty() {
            out = req.contexts.iter().map(|c| (c.clone(), None)).collect();
        } else {
            out.retain(|(c, _)| req.contexts.contains(c));
        }
        return Ok(out);
    }
    if out.is_empty() {
        out = zero_config(kc).into_iter().map(|c| (c.context, None)).collect();
    }
    Ok(out)
}

/// Zero-config: one context per API server, chosen by [`identity_for_server`].
pub fn zero_config(kc: &Kubeconfigs) -> Vec<IdentityChoice> {
    let mut servers: Vec<(String, Vec<String>)> = Vec::new();
    for c in kc.contexts() {
        let server = kc.server_of(&c).unwrap_or_else(|| c.clone());
        match servers.iter_mut().find(|(s, _)| *s == server) {
            Some((_, cs)) => cs.push(c),
            None => servers.push((server, vec![c])),
        }
    }
    let current = kc.current_context();
    servers
        .into_iter()
        .map(|(_, contexts)| identity_for_server(&contexts, current.as_deref(), |c| kc.cluster_of(c)))
        .collect()
}

/// Which of several contexts pointing at one API server speaks for it, and whether that was a
/// real choice. The identity decides what a write is allowed to do (an admin and a read-only
/// user often share a server), so kubeconfig order or the alphabet must not decide it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityChoice {
    pub context: String,
    /// The other contexts of that server when nothing decided between them: writes refuse.
    pub undecided: Vec<String>,
}

/// Rule: the current context; else the one context named like its kubeconfig cluster entry
/// (`kubectl config set-context rciis-aws --cluster rciis-aws`, the usual primary next to
/// `viewer@rciis-aws`); else undecided (the first, for reads only). Pure.
pub fn identity_for_server(
    contexts: &[String],
    current: Option<&str>,
    cluster_of: impl Fn(&str) -> Option<String>,
) -> IdentityChoice {
    let decided = |c: &String| IdentityChoice {
        context: c.clone(),
        undecided: Vec::new(),
    };
    if contexts.len() == 1 {
        return decided(&contexts[0]);
    }
    if let Some(c) = contexts.iter().find(|c| Some(c.as_str()) == current) {
        return decided(c);
    }
    let primary: Vec<&String> = contexts
        .iter()
        .filter(|c| cluster_of(c).as_deref() == Some(c.as_str()))
        .collect();
    if let [only] = primary.as_slice() {
        return decided(only);
    }
    IdentityChoice {
        context: contexts[0].clone(),
        undecided: contexts[1..].to_vec(),
    }
}

/// The namespace to look in for one context: `None` with `-A`, and also when neither `-n`, the
/// config file nor the context names one (discovery then looks in every namespace).
pub fn namespace_for(kc: &Kubeconfigs, req: &TopologyRequest, context: &str) -> Option<String> {
    if req.all_namespaces {
        return None;
    }
    namespace_choice(kc, req, Some(context))
}

/// The one namespace precedence rule of both plugins: `-n`, then the clusterset config file's,
/// then `context`'s namespace in the kubeconfig (`None`: nobody chose one).
pub fn namespace_choice(kc: &Kubeconfigs, req: &TopologyRequest, context: Option<&str>) -> Option<String> {
    req.namespace
        .clone()
        .or_else(|| req.config.as_ref().and_then(|c| c.namespace.clone()))
        .or_else(|| context.and_then(|c| kc.namespace_of(c)))
}

/// [`namespace_choice`] where exactly one namespace is needed (MCS namespace sameness, a Secret
/// copy): kubectl's `default` when nobody chose one.
pub fn one_namespace(kc: &Kubeconfigs, req: &TopologyRequest, context: Option<&str>) -> String {
    namespace_choice(kc, req, context).unwrap_or_else(|| "default".into())
}

/// Alias a context is named after: `rciis-aws` → `aws` when `aws` is a known alias.
pub fn alias_from_context_name<'a>(context: &str, aliases: &'a [String]) -> Option<&'a String> {
    aliases.iter().find(|a| {
        context == a.as_str()
            || [format!("-{a}"), format!("_{a}"), format!("@{a}"), format!("/{a}")]
                .iter()
                .any(|suffix| context.ends_with(suffix.as_str()))
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_namespace_rule_flag_then_config_then_context_then_default() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config");
        std::fs::write(
            &p,
            "apiVersion: v1\nkind: Config\ncurrent-context: rciis-aws\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n\
             contexts:\n- name: rciis-aws\n  context:\n    cluster: c\n    user: u\n    namespace: ctx-ns\n- name: bare\n  context:\n    cluster: c\n    user: u\n\
             users:\n- name: u\n  user:\n    token: t\n",
        )
        .unwrap();
        let kc = Kubeconfigs::load(Some(&p)).unwrap();
        let mut req = TopologyRequest::default();
        assert_eq!(one_namespace(&kc, &req, Some("rciis-aws")), "ctx-ns");
        assert_eq!(one_namespace(&kc, &req, Some("bare")), "default");
        // Discovery looks everywhere when nobody chose a namespace, never silently in `default`.
        assert_eq!(namespace_for(&kc, &req, "bare"), None);
        req.config = Some(ClustersetConfig {
            namespace: Some("cfg-ns".into()),
            clusters: vec![],
        });
        assert_eq!(one_namespace(&kc, &req, Some("rciis-aws")), "cfg-ns");
        req.namespace = Some("flag-ns".into());
        assert_eq!(namespace_for(&kc, &req, "rciis-aws").as_deref(), Some("flag-ns"));
        req.all_namespaces = true;
        assert_eq!(namespace_for(&kc, &req, "rciis-aws"), None);
    }

    #[test]
    fn config_file_parses_and_rejects_duplicates() {
        let cfg = ClustersetConfig::parse(
            "namespace: rciis-prod\nclusters:\n  - alias: aws\n    context: rciis-aws\n  - alias: proxmox\n    context: rciis-proxmox\n",
        )
        .unwrap();
        assert_eq!(cfg.namespace.as_deref(), Some("rciis-prod"));
        assert_eq!(
            cfg.clusters[1],
            ClusterEntry {
                alias: "proxmox".into(),
                context: "rciis-proxmox".into()
            }
        );
        let dup = ClustersetConfig::parse("clusters:\n- {alias: a, context: x}\n- {alias: a, context: y}\n");
        assert!(dup.unwrap_err().contains("twice"));
        assert!(ClustersetConfig::parse("clusters:\n- {alias: a}\n").is_err());
    }

    #[test]
    fn the_current_context_speaks_for_its_server() {
        let cs = vec!["admin@aws".to_string(), "viewer@aws".to_string()];
        let c = identity_for_server(&cs, Some("viewer@aws"), |_| Some("aws".into()));
        assert_eq!(
            c.context, "viewer@aws",
            "a read-only current context never ends up writing as admin"
        );
        assert!(c.undecided.is_empty());
    }

    #[test]
    fn the_context_named_like_its_cluster_is_the_primary() {
        let cs = vec!["viewer@rciis-proxmox".to_string(), "rciis-proxmox".to_string()];
        let c = identity_for_server(&cs, Some("rciis-aws"), |_| Some("rciis-proxmox".into()));
        assert_eq!(c.context, "rciis-proxmox");
        assert!(c.undecided.is_empty());
    }

    #[test]
    fn nothing_decides_between_two_users_and_writes_must_refuse() {
        let cs = vec!["alice@aws".to_string(), "bob@aws".to_string()];
        let c = identity_for_server(&cs, None, |_| Some("aws".into()));
        assert_eq!(c.undecided, vec!["bob@aws".to_string()]);
    }

    #[test]
    fn cluster_flag_and_context_name_aliases() {
        assert_eq!(parse_cluster_flag("aws=rciis-aws").unwrap().context, "rciis-aws");
        assert!(parse_cluster_flag("aws").is_err());
        let known = vec!["aws".to_string(), "proxmox".to_string()];
        assert_eq!(
            alias_from_context_name("rciis-aws", &known).map(String::as_str),
            Some("aws")
        );
        assert_eq!(
            alias_from_context_name("viewer@proxmox", &known).map(String::as_str),
            Some("proxmox")
        );
        assert_eq!(alias_from_context_name("rciis-gcp", &known), None);
    }
}
