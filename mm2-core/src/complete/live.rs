//! Live candidates: directions from topology discovery, namespaces, Secrets, Services, Kafka
//! clusters and MCS names listed from the clusters, each lookup under a per-context deadline
//! ([`LIVE_TIMEOUT`]) because the shell is waiting, and answered from the [`Cache`] when it can.
//! Contexts and `--cluster` entries come from the kubeconfig alone (a local file read).

use super::cache::{Cache, cache_key};
use super::{Candidate, Lookup, Typed, ValueKind, env_u64};
use crate::clients::{ContextClient, Kubeconfigs, Op};
use crate::topology::{ClustersetConfig, TopologyRequest, parse_cluster_flag};
use std::path::Path;
use std::time::Duration;

/// Budget of a live lookup per context (connect + call); the whole lookup is capped a bit above.
pub const LIVE_TIMEOUT: Duration = crate::timeouts::COMPLETION_LIVE;

/// Live lookups against the kubeconfig's clusters.
pub struct Live {
    /// Per-context budget.
    pub timeout: Duration,
    pub cache: Cache,
}

impl Live {
    /// Defaults, with `MM2_COMPLETION_TIMEOUT_MS` and `MM2_COMPLETION_TTL` (seconds) overrides.
    pub fn from_env() -> Self {
        let timeout = env_u64("MM2_COMPLETION_TIMEOUT_MS")
            .map(Duration::from_millis)
            .unwrap_or(LIVE_TIMEOUT)
            .min(LIVE_TIMEOUT);
        Live {
            timeout,
            cache: Cache::from_env(),
        }
    }
}

impl Lookup for Live {
    fn lookup(&self, kind: ValueKind, typed: &Typed) -> Vec<Candidate> {
        match kind {
            // Local file reads: cheap, never cached.
            ValueKind::Context => local_contexts(typed),
            ValueKind::ClusterEntry => cluster_entries(typed),
            ValueKind::Path => vec![],
            _ => {
                let key = cache_key(kind, typed);
                let (items, ok) = match self.cache.get(&key) {
                    Some(hit) => hit,
                    None => {
                        let (items, ok) = match live(kind, typed, self.timeout) {
                            Some(items) => (items, true),
                            None => (vec![], false),
                        };
                        self.cache.put(&key, &items, ok);
                        (items, ok)
                    }
                };
                // No cluster answered: a guess from the names beats an empty list.
                if !ok && kind == ValueKind::Direction {
                    return guessed_directions(typed);
                }
                items
            }
        }
    }
}

fn kubeconfigs(typed: &Typed) -> Option<Kubeconfigs> {
    Kubeconfigs::load(typed.get("kubeconfig").map(Path::new)).ok()
}

fn request(typed: &Typed) -> TopologyRequest {
    TopologyRequest {
        contexts: typed.all("context"),
        clusters: typed
            .all("clusters")
            .iter()
            .filter_map(|c| parse_cluster_flag(c).ok())
            .collect(),
        namespace: typed.get("namespace").map(String::from),
        all_namespaces: typed.has("all_namespaces"),
        config: ClustersetConfig::load(typed.get("clusterset_config").map(Path::new))
            .ok()
            .flatten(),
    }
}

fn local_contexts(typed: &Typed) -> Vec<Candidate> {
    let Some(kc) = kubeconfigs(typed) else {
        return vec![];
    };
    let current = kc.current_context();
    kc.contexts()
        .into_iter()
        .map(|c| {
            let mut help = kc.server_of(&c).unwrap_or_default();
            if current.as_deref() == Some(c.as_str()) {
                help = format!("current; {help}");
            }
            Candidate::new(c, help)
        })
        .collect()
}

/// Aliases a set of context names suggests: `rciis-aws`, `rciis-proxmox` → `aws`, `proxmox`.
pub fn aliases_from_contexts(contexts: &[String]) -> Vec<(String, String)> {
    let cut = |c: &str| -> String {
        c.rsplit(['-', '_', '@', '/', '.', ':'])
            .find(|s| !s.is_empty())
            .unwrap_or(c)
            .to_string()
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for c in contexts {
        let a = cut(c);
        if !out.iter().any(|(x, _)| *x == a) {
            out.push((a, c.clone()));
        }
    }
    out
}

fn cluster_entries(typed: &Typed) -> Vec<Candidate> {
    let Some(kc) = kubeconfigs(typed) else {
        return vec![];
    };
    aliases_from_contexts(&kc.contexts())
        .into_iter()
        .map(|(a, c)| Candidate::new(format!("{a}={c}"), format!("alias {a} for context {c}")))
        .collect()
}

/// Offline fallback: every ordered pair of the aliases the flags, the config file or the context
/// names suggest (only for small clustersets; a guess is better than nothing, not than noise).
fn guessed_directions(typed: &Typed) -> Vec<Candidate> {
    let req = request(typed);
    let mut aliases: Vec<String> = req.clusters.iter().map(|c| c.alias.clone()).collect();
    if aliases.is_empty()
        && let Some(cfg) = &req.config
    {
        aliases = cfg.clusters.iter().map(|c| c.alias.clone()).collect();
    }
    if aliases.is_empty() {
        let Some(kc) = kubeconfigs(typed) else {
            return vec![];
        };
        let contexts = if req.contexts.is_empty() {
            kc.contexts()
        } else {
            req.contexts.clone()
        };
        aliases = aliases_from_contexts(&contexts)
            .into_iter()
            .map(|(a, _)| a)
            .collect();
    }
    if aliases.len() < 2 || aliases.len() > 6 {
        return vec![];
    }
    let mut out = Vec::new();
    for s in &aliases {
        for t in &aliases {
            if s != t {
                out.push(Candidate::new(format!("{s}->{t}"), "(offline guess)"));
            }
        }
    }
    out
}

/// Run one live lookup on a throw-away current-thread runtime, capped at 1.5× the per-context
/// budget. `None` when it failed or timed out everywhere.
fn live(kind: ValueKind, typed: &Typed, timeout: Duration) -> Option<Vec<Candidate>> {
    let kc = kubeconfigs(typed)?;
    let req = request(typed);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let cap = timeout + timeout / 2;
    let out = rt.block_on(async {
        tokio::time::timeout(cap, live_async(kind, typed, &kc, &req, timeout))
            .await
            .ok()
            .flatten()
    });
    // Never wait for stuck DNS resolutions or exec credential plugins: the shell is waiting.
    rt.shutdown_background();
    out
}

/// The contexts a namespaced lookup asks: `--from` (secrets), else `--context`, else the current one.
fn lookup_contexts(kind: ValueKind, typed: &Typed, kc: &Kubeconfigs) -> Vec<String> {
    if kind == ValueKind::Secret
        && let Some(f) = typed.get("from")
    {
        return vec![f.to_string()];
    }
    let explicit = typed.all("context");
    if !explicit.is_empty() {
        return explicit;
    }
    kc.current_context().into_iter().collect()
}

async fn live_async(
    kind: ValueKind,
    typed: &Typed,
    kc: &Kubeconfigs,
    req: &TopologyRequest,
    timeout: Duration,
) -> Option<Vec<Candidate>> {
    use crate::resources::{api_resource, mcs, strimzi};
    use k8s_openapi::api::core::v1::{Namespace, Secret, Service};
    use kube::api::{Api, ListParams};

    if kind == ValueKind::Direction {
        let topo = crate::topology::discover(kc, req, timeout).await.ok()?;
        // Nothing found and something failed: a failure (cached briefly), not "no directions".
        if topo.routes.is_empty() && !topo.problems.is_empty() {
            return None;
        }
        return Some(
            topo.directions()
                .into_iter()
                .map(|d| {
                    let where_ = topo
                        .routes_for(&d)
                        .first()
                        .map(|r| format!("({} in {})", r.mm2, r.context))
                        .unwrap_or_else(|| "(cluster unreachable)".into());
                    Candidate::new(d.to_string(), where_)
                })
                .collect(),
        );
    }

    let contexts = if kind == ValueKind::Export {
        crate::topology::candidate_contexts(kc, req)
            .ok()?
            .into_iter()
            .map(|(c, _)| c)
            .collect()
    } else {
        lookup_contexts(kind, typed, kc)
    };
    let connected = kc.connect_all(&contexts, timeout).await;
    let clients: Vec<_> = connected.into_iter().filter_map(|(_, r)| r.ok()).collect();
    if clients.is_empty() {
        return None;
    }
    let results = crate::clients::fan_out(&clients, |cc| async move {
        let ns = crate::topology::namespace_for(kc, req, &cc.context)
            .unwrap_or_else(|| cc.default_namespace.clone());
        let names: Vec<(String, String)> = match kind {
            ValueKind::Namespace => {
                let api: Api<Namespace> = Api::all(cc.client.clone());
                let list = cc
                    .call(
                        Op::new("list", "namespaces", "Namespace"),
                        api.list_metadata(&ListParams::default()),
                    )
                    .await?;
                list.items
                    .into_iter()
                    .filter_map(|o| o.metadata.name)
                    .map(|n| (n, String::new()))
                    .collect()
            }
            ValueKind::Secret => namespaced_names::<Secret>(cc, &ns)
                .await?
                .into_iter()
                .filter(|n| !n.starts_with("default-token-"))
                .map(|n| (n, format!("Secret in {ns}")))
                .collect(),
            ValueKind::Service => namespaced_names::<Service>(cc, &ns)
                .await?
                .into_iter()
                .map(|n| (n, format!("Service in {ns}")))
                .collect(),
            ValueKind::Kafka => {
                let ar = api_resource(
                    strimzi::GROUP,
                    "v1beta2",
                    strimzi::KAFKA_KIND,
                    strimzi::KAFKA_PLURAL,
                );
                cc.list(&ar, &ns)
                    .await?
                    .into_iter()
                    .filter_map(|o| o.metadata.name)
                    .map(|n| (n, format!("Kafka in {ns}")))
                    .collect()
            }
            ValueKind::Export => {
                let mut out = Vec::new();
                for (k, p, what) in [
                    (mcs::EXPORT_KIND, mcs::EXPORT_PLURAL, "exported"),
                    (mcs::IMPORT_KIND, mcs::IMPORT_PLURAL, "imported"),
                ] {
                    let ar = api_resource(mcs::GROUP, mcs::VERSION, k, p);
                    if let Ok(items) = cc.list(&ar, &ns).await {
                        out.extend(
                            items
                                .into_iter()
                                .filter_map(|o| o.metadata.name)
                                .map(|n| (n, format!("{what} in {ns}"))),
                        );
                    }
                }
                out
            }
            _ => vec![],
        };
        Ok(names)
    })
    .await;
    let mut out: Vec<Candidate> = Vec::new();
    let mut any_ok = false;
    for (ctx, r) in results {
        let Ok(names) = r else { continue };
        any_ok = true;
        for (n, help) in names {
            match out.iter_mut().find(|c| c.value == n) {
                Some(c) => {
                    if !c.help.contains(&ctx) {
                        c.help.push_str(&format!(", {ctx}"));
                    }
                }
                None => {
                    let help = if help.is_empty() {
                        format!("in {ctx}")
                    } else {
                        format!("{help} of {ctx}")
                    };
                    out.push(Candidate::new(n, help));
                }
            }
        }
    }
    out.sort_by(|a, b| a.value.cmp(&b.value));
    any_ok.then_some(out)
}

/// Names of the `K`s in `ns`, read as metadata only: a Secret's data never leaves the cluster for
/// a completion.
async fn namespaced_names<K>(cc: &ContextClient, ns: &str) -> crate::Result<Vec<String>>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: kube::Api<K> = kube::Api::namespaced(cc.client.clone(), ns);
    let (plural, kind) = (K::plural(&()), K::kind(&()));
    let list = cc
        .call(
            Op::new("list", &plural, &kind).ns(ns),
            api.list_metadata(&kube::api::ListParams::default()),
        )
        .await?;
    Ok(list.items.into_iter().filter_map(|o| o.metadata.name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_guessed_from_context_names() {
        let ctx = vec![
            "rciis-aws".to_string(),
            "rciis-proxmox".into(),
            "viewer@rciis-aws".into(),
        ];
        assert_eq!(
            aliases_from_contexts(&ctx),
            vec![
                ("aws".to_string(), "rciis-aws".to_string()),
                ("proxmox".into(), "rciis-proxmox".into())
            ]
        );
    }
}
