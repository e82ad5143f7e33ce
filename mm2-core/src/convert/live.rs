//! DIRECTION mode: the facts `convert` needs, read from the clusterset (read-only).
//!
//! The MM2 that serves the direction (the one that runs first, see [`crate::topology::serving`]),
//! the broker count of each cluster it touches (KafkaNodePools with the `broker` role of the
//! Kafka, or `spec.kafka.replicas`), the name of each cluster's Kafka, and the Flux
//! Kustomization (and its `spec.path`) that deploys the Kafka apps of each cluster. Then the
//! pure conversion runs on them.

use super::{FluxPath, Options, Origin, Outcome};
use crate::clients::ContextClient;
use crate::direction::Direction;
use crate::error::Result;
use crate::resources::flux;
use crate::resources::inventory::Mm2Object;
use crate::resources::{api_resource, strimzi};
use crate::topology::Topology;
use crate::topology::serving;
use kube::core::DynamicObject;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Facts read about one cluster.
#[derive(Debug, Default)]
struct ClusterFacts {
    kafka: Option<String>,
    brokers: Option<u32>,
    flux: Option<FluxPath>,
    problems: Vec<String>,
}

/// The MM2 object as a manifest (`apiVersion` at the version it was read at).
fn manifest_of(m: &Mm2Object) -> Value {
    json!({
        "apiVersion": format!("{}/{}", strimzi::GROUP, m.version),
        "kind": strimzi::MM2_KIND,
        "metadata": serde_json::to_value(&m.obj.metadata).unwrap_or_default(),
        "spec": m.obj.data["spec"],
    })
}

async fn list_strimzi(cc: &ContextClient, kind: &str, plural: &str, ns: &str) -> Result<Vec<DynamicObject>> {
    let mut last = None;
    for v in ["v1beta2", "v1"] {
        match cc.list(&api_resource(strimzi::GROUP, v, kind, plural), ns).await {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("tried at least one version"))
}

/// The Kustomization owning `obj` (by Flux's labels), with its `spec.path`.
async fn flux_of(cc: &ContextClient, labels: &BTreeMap<String, String>) -> Option<FluxPath> {
    let owner = flux::owner(labels, &BTreeMap::new())?;
    // The path is a hint for the manifests' destination: an unreadable Kustomization leaves it out.
    let spec = flux::read_kustomization(cc, &owner)
        .await
        .ok()
        .flatten()
        .map(|k| k.spec)
        .unwrap_or_default();
    Some(FluxPath {
        kustomization: owner.name,
        namespace: owner.namespace,
        path: spec.path,
    })
}

/// Kafka name, broker count and Flux path of the cluster behind `cc`, in namespace `ns`.
async fn cluster_facts(topo: &Topology, cc: &ContextClient, ns: &str) -> ClusterFacts {
    let mut f = ClusterFacts::default();
    let kafkas = match list_strimzi(cc, "Kafka", "kafkas", ns).await {
        Ok(k) => k,
        Err(e) => {
            f.problems.push(format!("cannot list Kafka in {ns}: {e}"));
            vec![]
        }
    };
    let kafka = (kafkas.len() == 1).then(|| kafkas[0].clone());
    if kafkas.len() > 1 {
        f.problems.push(format!(
            "{} Kafka clusters in {ns}: the broker count is ambiguous",
            kafkas.len()
        ));
    }
    if let Some(k) = &kafka {
        let name = k.metadata.name.clone().unwrap_or_default();
        let pools = list_strimzi(cc, "KafkaNodePool", "kafkanodepools", ns)
            .await
            .unwrap_or_default();
        let brokers: i64 = pools
            .iter()
            .filter(|p| {
                p.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("strimzi.io/cluster"))
                    == Some(&name)
                    && p.data["spec"]["roles"]
                        .as_array()
                        .is_some_and(|r| r.iter().any(|x| x == "broker"))
            })
            .filter_map(|p| p.data["spec"]["replicas"].as_i64())
            .sum();
        f.brokers = if brokers > 0 {
            u32::try_from(brokers).ok()
        } else {
            k.data["spec"]["kafka"]["replicas"]
                .as_i64()
                .and_then(|r| u32::try_from(r).ok())
        };
        f.kafka = Some(name);
    }
    // The Flux path: where the MM2s of this cluster are deployed from, else where its Kafka is.
    let mm2_labels = topo
        .mm2s
        .iter()
        .filter(|m| m.context == cc.context && m.namespace == ns)
        .map(|m| m.labels())
        .find(|l| l.contains_key(flux::NAME_LABEL));
    let labels = mm2_labels.or_else(|| kafka.as_ref().and_then(|k| k.metadata.labels.clone()));
    if let Some(l) = labels {
        f.flux = flux_of(cc, &l).await;
    }
    f
}

/// Convert the MM2 that serves `d` (see the module doc). `base` carries `--to`, `--brokers`
/// (which win over what the clusters say).
pub async fn convert_direction(topo: &Topology, d: &Direction, base: &Options) -> Result<Outcome> {
    let cands = serving::candidates(topo, d);
    if cands.is_empty() {
        return Err(serving::not_found(topo, d));
    }
    let chosen = &cands[0];
    let m = chosen.mm2;
    let mut notes = Vec::new();
    for other in &cands[1..] {
        notes.push(format!(
            "{d} is also named by {}/{} in {}{}: once the converted MM2 runs, delete the other from Git",
            other.mm2.namespace,
            other.mm2.name,
            other.mm2.context,
            other
                .rejection
                .as_ref()
                .map(|r| format!(" (rejected: {})", r.message))
                .unwrap_or_default()
        ));
    }
    let mut opts = base.clone();
    for c in &topo.clusters {
        opts.contexts.entry(c.alias.clone()).or_insert(c.context.clone());
    }
    let aliases: Vec<String> = crate::topology::layout::mirror_directions(&m.obj.data["spec"])
        .into_iter()
        .flat_map(|x| [x.source, x.target])
        .chain([d.source.clone(), d.target.clone()])
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let asked: Vec<(String, &ContextClient)> = aliases
        .iter()
        .filter_map(|a| {
            let ctx = topo.context_of(a)?;
            Some((a.clone(), topo.clients.get(ctx)?))
        })
        .collect();
    let facts = futures::future::join_all(asked.iter().map(|(a, cc)| async move {
        let cap = cc.timeout + cc.timeout / 2;
        let f = tokio::time::timeout(cap, cluster_facts(topo, cc, &m.namespace))
            .await
            .unwrap_or_else(|_| ClusterFacts {
                problems: vec![format!("no answer within {:?}", cap)],
                ..Default::default()
            });
        (a.clone(), f)
    }))
    .await;
    for (alias, f) in facts {
        for p in f.problems {
            notes.push(format!("{alias}: {p}"));
        }
        match (f.brokers, base.brokers.get(&alias)) {
            (Some(b), None) => {
                opts.brokers.insert(alias.clone(), b);
            }
            (None, None) => notes.push(format!(
                "{alias}: broker count unknown (no KafkaNodePool with the broker role found); pass --brokers {alias}=N"
            )),
            _ => {}
        }
        if let Some(k) = f.kafka {
            opts.kafka_names.insert(alias.clone(), k);
        }
        if let Some(fp) = f.flux {
            opts.flux.insert(alias, fp);
        }
    }
    for a in &aliases {
        if topo.context_of(a).is_none() {
            notes.push(format!(
                "cluster {a} has no known context (map it with --cluster {a}=CONTEXT): its broker count and Flux path are unknown"
            ));
        }
    }
    let own_flux = match topo.clients.get(&m.context) {
        Some(cc) => flux_of(cc, &m.labels()).await,
        None => None,
    };
    opts.origin = Some(Origin {
        context: m.context.clone(),
        namespace: m.namespace.clone(),
        name: m.name.clone(),
        flux: own_flux,
    });
    let text = crate::output::to_yaml(&manifest_of(m));
    let mut out = super::convert_values(vec![(text, Some(manifest_of(m)))], &opts)?;
    out.notes.splice(0..0, notes);
    Ok(out)
}
