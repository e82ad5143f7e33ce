//! The I/O of doctor: one pass per context, every read of a context concurrent, every context
//! concurrent, each call under the context's deadline. What a read could not get is recorded
//! (RBAC refusal, API not installed, unreachable) so the rules know what they cannot judge.

use super::Facts;
use super::facts::{ContextFacts, Kind, Refusal};
use crate::clients::{ContextClient, Kubeconfigs, Op, resource_name};
use crate::error::{Error, Result};
use crate::resources::api_resource;
use crate::resources::inventory::list_mm2;
use crate::topology::{TopologyRequest, alias_from_context_name, candidate_contexts, namespace_for};
use futures::future::join_all;
use kube::core::{ApiResource, DynamicObject};
use serde_json::{Value, json};
use std::time::Duration;

/// Where each kind is read: (group, versions to try in order, plural, cluster-wide).
fn location(kind: Kind) -> (&'static str, &'static [&'static str], &'static str, bool) {
    match kind {
        Kind::KafkaMirrorMaker2 => (
            "kafka.strimzi.io",
            &["v1beta2", "v1"],
            "kafkamirrormaker2s",
            false,
        ),
        Kind::Kafka => ("kafka.strimzi.io", &["v1beta2", "v1"], "kafkas", false),
        Kind::KafkaNodePool => ("kafka.strimzi.io", &["v1beta2", "v1"], "kafkanodepools", false),
        Kind::KafkaUser => ("kafka.strimzi.io", &["v1beta2", "v1"], "kafkausers", false),
        Kind::KafkaTopic => ("kafka.strimzi.io", &["v1beta2", "v1"], "kafkatopics", false),
        Kind::Secret => ("", &["v1"], "secrets", false),
        Kind::Service => ("", &["v1"], "services", false),
        Kind::ConfigMap => ("", &["v1"], "configmaps", false),
        Kind::Pod => ("", &["v1"], "pods", false),
        Kind::ServiceExport => ("multicluster.x-k8s.io", &["v1alpha1"], "serviceexports", false),
        Kind::ServiceImport => ("multicluster.x-k8s.io", &["v1alpha1"], "serviceimports", false),
        Kind::PrometheusRule => ("monitoring.coreos.com", &["v1"], "prometheusrules", false),
        Kind::CustomResourceDefinition => {
            ("apiextensions.k8s.io", &["v1"], "customresourcedefinitions", true)
        }
        // Flux keeps its Kustomizations in its own namespace (flux-system): read them all.
        Kind::Kustomization => (
            "kustomize.toolkit.fluxcd.io",
            &["v1", "v1beta2"],
            "kustomizations",
            true,
        ),
    }
}

async fn list(
    cc: &ContextClient,
    ar: &ApiResource,
    ns: &str,
    cluster_wide: bool,
) -> Result<Vec<DynamicObject>> {
    if !cluster_wide {
        return cc.list(ar, ns).await;
    }
    let api: kube::Api<DynamicObject> = kube::Api::all_with(cc.client.clone(), ar);
    let res = resource_name(ar);
    Ok(cc
        .call(Op::new("list", &res, &ar.kind), api.list(&Default::default()))
        .await?
        .items)
}

/// Read one kind: its objects as JSON with `kind` and `apiVersion` set.
async fn read(cc: &ContextClient, kind: Kind, ns: &str) -> Result<Vec<Value>> {
    if kind == Kind::KafkaMirrorMaker2 {
        // Each MM2 at the served version that holds its fields (resources::inventory).
        let mm2s = list_mm2(cc, Some(ns)).await?;
        return Ok(mm2s
            .into_iter()
            .map(|m| {
                let mut v = serde_json::to_value(&m.obj).unwrap_or(Value::Null);
                v["kind"] = json!(kind.name());
                v["apiVersion"] = json!(format!("kafka.strimzi.io/{}", m.version));
                v
            })
            .collect());
    }
    let (group, versions, plural, cluster_wide) = location(kind);
    let mut last = None;
    for v in versions {
        let ar = api_resource(group, v, kind.name(), plural);
        match list(cc, &ar, ns, cluster_wide).await {
            Ok(items) => {
                return Ok(items
                    .into_iter()
                    .map(|o| {
                        let mut val = serde_json::to_value(&o).unwrap_or(Value::Null);
                        val["kind"] = json!(kind.name());
                        val["apiVersion"] = json!(if group.is_empty() {
                            v.to_string()
                        } else {
                            format!("{group}/{v}")
                        });
                        val
                    })
                    .collect());
            }
            Err(e @ Error::CrdMissing { .. }) => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| Error::Invalid(format!("no version of {} to read", kind.name()))))
}

/// Read everything doctor needs from one context, concurrently.
pub async fn gather_context(cc: &ContextClient, alias: Option<&str>, ns: &str) -> ContextFacts {
    let mut cx = ContextFacts::new(&cc.context, alias, ns);
    let reads = join_all(
        Kind::ALL
            .into_iter()
            .map(|k| async move { (k, read(cc, k, ns).await) }),
    )
    .await;
    for (kind, r) in reads {
        match r {
            Ok(objs) => {
                for o in &objs {
                    cx.add(o);
                }
            }
            // Unreachable, or credentials rejected (401): nothing in this context can be read.
            Err(e) if e.is_unreachable() || matches!(e, Error::Unauthorized { .. }) => {
                cx.unreachable.get_or_insert_with(|| e.to_string());
            }
            Err(Error::Forbidden {
                verb,
                resource,
                namespace,
                ..
            }) => cx.refused.push(Refusal {
                kind,
                request: match namespace {
                    Some(n) => format!("{verb} {resource} in {n}"),
                    None => format!("{verb} {resource} (cluster-wide)"),
                },
                skipped: kind.skipped_checks().to_string(),
            }),
            Err(Error::CrdMissing { .. }) => cx.not_installed.push(kind),
            Err(e) => cx.read_errors.push(e.to_string()),
        }
    }
    if cx.unreachable.is_some() {
        // Half-read facts would pass for "nothing wrong": keep none.
        return ContextFacts {
            unreachable: cx.unreachable,
            ..ContextFacts::new(&cc.context, alias, ns)
        };
    }
    cx
}

/// Every context of the clusterset, gathered concurrently; aliases from the flags or config,
/// else from the MM2s' connect cluster, else from the context's name.
pub async fn gather(kc: &Kubeconfigs, req: &TopologyRequest, timeout: Duration) -> Result<Facts> {
    let candidates = candidate_contexts(kc, req)?;
    let names: Vec<String> = candidates.iter().map(|(c, _)| c.clone()).collect();
    let connected = kc.connect_all(&names, timeout).await;
    let cap = timeout * 2;
    let per_context = join_all(connected.into_iter().map(|(ctx, client)| {
        let alias = candidates
            .iter()
            .find(|(c, _)| c == &ctx)
            .and_then(|(_, a)| a.clone());
        let ns = namespace_for(kc, req, &ctx);
        async move {
            let cc = match client {
                Ok(cc) => cc,
                Err(e) => {
                    let mut cx =
                        ContextFacts::new(&ctx, alias.as_deref(), ns.as_deref().unwrap_or("default"));
                    cx.unreachable = Some(e.to_string());
                    return cx;
                }
            };
            let ns = ns.unwrap_or_else(|| cc.default_namespace.clone());
            match tokio::time::timeout(cap, gather_context(&cc, alias.as_deref(), &ns)).await {
                Ok(cx) => cx,
                Err(_) => {
                    let mut cx = ContextFacts::new(&ctx, alias.as_deref(), &ns);
                    cx.unreachable = Some(
                        Error::Timeout {
                            context: ctx.clone(),
                            server: cc.server.clone(),
                            timeout: cap,
                        }
                        .to_string(),
                    );
                    cx
                }
            }
        }
    }))
    .await;
    let mut facts = Facts {
        contexts: per_context,
    };
    name_clusters(&mut facts);
    Ok(facts)
}

/// Aliases for contexts that have none yet: the connect cluster of their MM2s, else the alias
/// their name ends with (`rciis-aws` → `aws`) among the aliases the MM2s mention.
pub fn name_clusters(facts: &mut Facts) {
    let mut mentioned: Vec<String> = facts
        .contexts
        .iter()
        .flat_map(|c| c.mm2s.iter().flat_map(|m| m.directions()))
        .flat_map(|d| [d.source, d.target])
        .collect();
    mentioned.sort();
    mentioned.dedup();
    let taken: Vec<String> = facts.contexts.iter().filter_map(|c| c.alias.clone()).collect();
    for cx in facts.contexts.iter_mut().filter(|c| c.alias.is_none()) {
        let from_mm2 = cx.mm2s.iter().find_map(|m| m.connect_alias().map(str::to_string));
        cx.alias = from_mm2
            .filter(|a| !taken.contains(a))
            .or_else(|| alias_from_context_name(&cx.context, &mentioned).cloned());
    }
}
