//! The I/O of `offsets`: Strimzi's list operation (annotate, wait, read the ConfigMap) or
//! `--live` through the pod proxy, the exporter's figures, and the `offsets/v1` report.

use crate::clients::{ContextClient, Op};
use crate::direction::Direction;
use crate::error::{Error, Result};
use crate::lag::model::{DirectionLag, MissingFamily};
use crate::poll::{self, Look, Waited};
use crate::resources::api_resource;
use crate::resources::inventory::{Mm2Object, get_mm2};
use crate::resources::strimzi::ConnectorKind;
use crate::topology::{Route, Topology};
use crate::write::DryRun;
use regex::Regex;
use serde::Serialize;
use std::time::{Duration, Instant};

use super::*;

/// `offsets --print-patch` for one direction: the listOffsets configuration it lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListOffsetsPatch {
    /// Already configured: the operator writes to this ConfigMap.
    Configured { configmap: String },
    /// The manifest change (YAML, `spec.mirrors` whole) that adds it, writing to `configmap`.
    Missing { configmap: String, manifest: String },
}

/// The listOffsets patch of the direction's MM2 (one read, nothing written).
pub async fn list_offsets_patch_for(
    cc: &ContextClient,
    route: &crate::topology::Route,
) -> Result<ListOffsetsPatch> {
    let mm2 = get_mm2(cc, &route.namespace, &route.mm2).await?;
    if let Some(configmap) = list_offsets_configmap(&mm2, route.mirror_index) {
        return Ok(ListOffsetsPatch::Configured { configmap });
    }
    let (configmap, ops) = list_offsets_patch(&mm2, route.mirror_index);
    Ok(ListOffsetsPatch::Missing {
        configmap,
        manifest: crate::mm2::gitops::print_patch(&mm2, &ops)?,
    })
}

/// How the Connect offsets were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetsVia {
    /// Strimzi's `connector-offsets=list` into the ConfigMap.
    Annotation,
    /// `GET /connectors/<name>/offsets` through the pod proxy.
    Live,
    /// `--dry-run`: the ConfigMap's existing entry (may be stale).
    ExistingConfigMap,
}

/// Options of `kubectl mm2 offsets`.
#[derive(Debug, Clone, Default)]
pub struct OffsetsOptions {
    pub live: bool,
    /// `--group`, anchored (full match).
    pub group: Option<Regex>,
    /// `--group` as typed (its plain names are judged even when never checkpointed).
    pub group_pattern: Option<String>,
    pub dry_run: DryRun,
    pub timeout: Duration,
}

/// `offsets/v1` for one direction.
#[derive(Debug, Clone, Serialize)]
pub struct DirectionOffsets {
    pub direction: String,
    pub context: Option<String>,
    pub namespace: Option<String>,
    pub mm2: Option<String>,
    pub connector: String,
    pub via: Option<OffsetsVia>,
    /// The ConfigMap of `listOffsets` (`None`: not configured).
    pub configmap: Option<String>,
    /// Why offsets come from where they come from (fallbacks, not configured, dry run).
    pub notes: Vec<String>,
    /// Offsets entries that could not be read.
    pub skipped_entries: usize,
    pub partitions: Vec<PartitionRow>,
    pub sync_group_offsets_enabled: bool,
    pub groups_filter: Option<GroupFilter>,
    pub groups: Vec<GroupRow>,
    /// What this report cannot know.
    pub cannot_know: Vec<String>,
    pub ready: bool,
    pub error: Option<String>,
}

/// `kubectl mm2 offsets -o json|yaml`.
#[derive(Debug, Clone, Serialize)]
pub struct OffsetsReport {
    pub schema: &'static str,
    pub ready: bool,
    pub directions: Vec<DirectionOffsets>,
}

impl OffsetsReport {
    /// 0 every partition and selected group caught up, 3 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.ready {
            0
        } else {
            crate::error::exit::DEGRADED
        }
    }
}

/// Build the report for `dirs`, directions concurrently.
pub async fn build(topo: &Topology, dirs: &[Direction], opts: &OffsetsOptions) -> OffsetsReport {
    let directions: Vec<DirectionOffsets> =
        futures::future::join_all(dirs.iter().map(|d| direction_offsets(topo, d, opts))).await;
    OffsetsReport {
        schema: SCHEMA,
        ready: !directions.is_empty() && directions.iter().all(|d| d.ready),
        directions,
    }
}

pub(super) fn empty(d: &Direction) -> DirectionOffsets {
    DirectionOffsets {
        direction: d.to_string(),
        context: None,
        namespace: None,
        mm2: None,
        connector: ConnectorKind::Source.connector_name(d),
        via: None,
        configmap: None,
        notes: vec![],
        skipped_entries: 0,
        partitions: vec![],
        sync_group_offsets_enabled: false,
        groups_filter: None,
        groups: vec![],
        cannot_know: cannot_know(d),
        ready: false,
        error: None,
    }
}

pub(super) async fn direction_offsets(
    topo: &Topology,
    d: &Direction,
    opts: &OffsetsOptions,
) -> DirectionOffsets {
    let mut out = empty(d);
    // The MM2 that serves the direction; a rejected or doubly served one is refused, as for writes
    // (the list operation annotates it).
    let (route, cc) = match crate::topology::serving::writable(topo, d) {
        Ok(rc) => rc,
        Err(e) => {
            out.error = Some(e.to_string());
            return out;
        }
    };
    out.context = Some(route.context.clone());
    out.namespace = Some(route.namespace.clone());
    out.mm2 = Some(route.mm2.clone());
    match gather(cc, route, opts, &mut out).await {
        Ok(()) => {}
        Err(e) => out.error = Some(e.to_string()),
    }
    out.ready = out.error.is_none() && ready(&out.partitions, &out.groups);
    out
}

pub(super) async fn gather(
    cc: &ContextClient,
    route: &Route,
    opts: &OffsetsOptions,
    out: &mut DirectionOffsets,
) -> Result<()> {
    let d = &route.direction;
    let mm2 = get_mm2(cc, &route.namespace, &route.mm2).await?;
    let mirror = mm2.obj.data["spec"]["mirrors"][route.mirror_index].clone();
    out.configmap = list_offsets_configmap(&mm2, route.mirror_index);
    out.sync_group_offsets_enabled = sync_group_offsets_enabled(&mirror);
    let filter = GroupFilter::from_mirror(&mirror);

    // Both witnesses at once: the metrics scrape does not wait for the operator.
    let offsets_fut = read_offsets(cc, route, &mm2, opts, out.configmap.clone());
    let lag_fut = async {
        let scrapes = crate::lag::report::scrape_pods(cc, &mm2, d).await?;
        Ok::<DirectionLag, Error>(crate::lag::aggregate_direction(d, &scrapes))
    };
    let (offsets, lag) = futures::join!(offsets_fut, lag_fut);
    let (source_offsets, via, notes, skipped) = match offsets {
        Ok(o) => o,
        Err(e) => (vec![], None, vec![e.to_string()], 0),
    };
    out.via = via;
    out.notes.extend(notes);
    out.skipped_entries = skipped;
    let (lag_partitions, checkpoints, checkpoint_metrics) = match &lag {
        Ok(l) if l.pods_scraped == 0 => (
            vec![],
            vec![],
            Err(format!(
                "no pod's metrics could be read ({})",
                l.pod_errors
                    .iter()
                    .map(|e| e.reason.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        ),
        Ok(l) => (
            l.partitions.clone(),
            l.groups.clone(),
            if l.missing.contains(&MissingFamily::Checkpoint) {
                Err("checkpoint-latency-ms is not exported (or no group was checkpointed since the workers started)".to_string())
            } else {
                Ok(())
            },
        ),
        Err(e) => (vec![], vec![], Err(format!("metrics unreadable: {e}"))),
    };
    if lag_partitions.is_empty() {
        out.notes.push(
            "records-lag: the exporter reports no replication-consumer partition (see `kubectl mm2 lag`)"
                .into(),
        );
    }
    out.partitions = join_partitions(&source_offsets, &lag_partitions);
    let named: Vec<String> = opts
        .group_pattern
        .as_deref()
        .map(literal_groups)
        .unwrap_or_default();
    out.groups = judge_groups(
        &filter,
        &checkpoints,
        checkpoint_metrics,
        opts.group.as_ref(),
        &named,
    );
    out.groups_filter = Some(filter);
    Ok(())
}

type Offsets = (Vec<SourceOffset>, Option<OffsetsVia>, Vec<String>, usize);

pub(super) async fn read_offsets(
    cc: &ContextClient,
    route: &Route,
    mm2: &Mm2Object,
    opts: &OffsetsOptions,
    configmap: Option<String>,
) -> Result<Offsets> {
    let connector = ConnectorKind::Source.connector_name(&route.direction);
    let mut notes = Vec::new();
    if opts.live {
        match live_offsets(cc, mm2, &connector).await {
            Ok(text) => {
                let (o, skipped) = parse_source_offsets(&text).map_err(|e| {
                    Error::Invalid(format!(
                        "GET /connectors/{connector}/offsets answered something unreadable: {e}"
                    ))
                })?;
                return Ok((o, Some(OffsetsVia::Live), notes, skipped));
            }
            Err(e) => {
                let msg = e.to_string();
                notes.push(if msg.contains("connection refused") {
                    "--live: Connect's REST port 8083 refused the API server's pod-proxy connection (Strimzi's NetworkPolicy admits only Connect and Cluster Operator pods to 8083 by default); fell back to Strimzi's connector-offsets=list".to_string()
                } else {
                    format!("--live failed ({msg}); fell back to Strimzi's connector-offsets=list")
                });
            }
        }
    }
    let Some(cm) = configmap else {
        notes.push(format!(
            "listOffsets is not configured on the source connector of {}: Strimzi cannot list its offsets (`--print-patch` prints the change to commit; `--live` asks Connect directly)",
            route.direction
        ));
        return Ok((vec![], None, notes, 0));
    };
    if opts.dry_run != DryRun::None {
        notes.push(format!(
            "dry run: no annotation written; offsets are the existing entry of ConfigMap {cm} (possibly stale)"
        ));
        let text = read_configmap_key(cc, &mm2.namespace, &cm, &configmap_key(&connector)).await?;
        let Some(text) = text else {
            notes.push(format!("ConfigMap {cm} has no {} yet", configmap_key(&connector)));
            return Ok((vec![], None, notes, 0));
        };
        let (o, skipped) =
            parse_source_offsets(&text).map_err(|e| Error::Invalid(format!("ConfigMap {cm}: {e}")))?;
        return Ok((o, Some(OffsetsVia::ExistingConfigMap), notes, skipped));
    }
    let text = list_through_operator(cc, route, &connector, &cm, opts.timeout).await?;
    let (o, skipped) = parse_source_offsets(&text)
        .map_err(|e| Error::Invalid(format!("ConfigMap {cm} key {}: {e}", configmap_key(&connector))))?;
    Ok((o, Some(OffsetsVia::Annotation), notes, skipped))
}

/// `GET /connectors/<connector>/offsets` through the pod proxy of a ready worker.
pub(super) async fn live_offsets(cc: &ContextClient, mm2: &Mm2Object, connector: &str) -> Result<String> {
    let pod = crate::resources::pods::pods_of(cc, mm2)
        .await
        .ok()
        .flatten()
        .and_then(|pods| {
            let mut ready: Vec<String> = pods
                .iter()
                .filter(|p| crate::resources::pods::is_ready(p))
                .filter_map(|p| p.metadata.name.clone())
                .collect();
            ready.sort();
            ready.into_iter().next()
        })
        .unwrap_or_else(|| format!("{}-mirrormaker2-0", mm2.name));
    // Strimzi's KafkaConnectApiImpl encodes "->" as "%2D%3E"; a raw '>' is not a legal URI character.
    let encoded = connector.replace("->", "%2D%3E");
    let path = format!(
        "/api/v1/namespaces/{}/pods/{pod}:8083/proxy/connectors/{encoded}/offsets",
        mm2.namespace
    );
    let op = Op::new("get", "pods/proxy", "Pod").ns(&mm2.namespace).name(&pod);
    cc.get_raw(op, &path).await
}

pub(super) async fn read_configmap_key(
    cc: &ContextClient,
    ns: &str,
    name: &str,
    key: &str,
) -> Result<Option<String>> {
    let ar = api_resource("", "v1", "ConfigMap", "configmaps");
    let cm = cc.get_opt(&ar, ns, name).await?;
    Ok(cm.and_then(|c| c.data["data"][key].as_str().map(str::to_string)))
}

pub(super) fn offsets_refusal(m: &Mm2Object, connector: &str) -> Option<Error> {
    let target = format!("kmm2 {} -n {} --context {}", m.name, m.namespace, m.context);
    if m.reconciliation_paused() {
        return Some(Error::Refused {
            reason: format!(
                "{}/{} in {} has strimzi.io/pause-reconciliation=true: the operator lists no offsets while paused",
                m.namespace, m.name, m.context
            ),
            hint: "use --live to ask Connect directly, or remove the annotation".into(),
        });
    }
    if m.spec.replicas == Some(0) {
        return Some(Error::Refused {
            reason: format!(
                "{}/{} in {} has 0 replicas: no Connect worker to ask",
                m.namespace, m.name, m.context
            ),
            hint: "scale it up first (`kubectl mm2 scale`)".into(),
        });
    }
    let a = m.annotations();
    let ours = a.get(CONNECTOR_OFFSETS).map(String::as_str) == Some("list")
        && a.get(MIRRORMAKER_CONNECTOR).map(String::as_str) == Some(connector);
    if !ours && (a.contains_key(CONNECTOR_OFFSETS) || a.contains_key(MIRRORMAKER_CONNECTOR)) {
        return Some(Error::Refused {
            reason: format!(
                "an offsets operation is pending on {}/{} in {} ({CONNECTOR_OFFSETS}={}, {MIRRORMAKER_CONNECTOR}={}): writing ours would replace it",
                m.namespace,
                m.name,
                m.context,
                a.get(CONNECTOR_OFFSETS).map(String::as_str).unwrap_or("-"),
                a.get(MIRRORMAKER_CONNECTOR).map(String::as_str).unwrap_or("-")
            ),
            hint: format!(
                "wait for the operator, or remove them: `kubectl annotate {target} {CONNECTOR_OFFSETS}- {MIRRORMAKER_CONNECTOR}-`; or use --live"
            ),
        });
    }
    None
}

/// The operator's Warning conditions about offsets, as `reason: message`.
fn operator_warnings(m: &Mm2Object) -> Vec<String> {
    m.warnings(&WARNING_REASONS)
        .map(|c| {
            format!(
                "{}: {}",
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default()
            )
        })
        .collect()
}

/// Annotate, wait for the operator to remove both annotations, read the ConfigMap entry.
pub(super) async fn list_through_operator(
    cc: &ContextClient,
    route: &Route,
    connector: &str,
    cm: &str,
    timeout: Duration,
) -> Result<String> {
    let deadline = Instant::now() + timeout;
    let m = get_mm2(cc, &route.namespace, &route.mm2).await?;
    let already = m.annotations().get(MIRRORMAKER_CONNECTOR).map(String::as_str) == Some(connector);
    if !already {
        crate::mm2::restart::annotate(
            cc,
            &route.namespace,
            &route.mm2,
            &[(CONNECTOR_OFFSETS, "list"), (MIRRORMAKER_CONNECTOR, connector)],
            false,
            |m| offsets_refusal(m, connector),
        )
        .await?;
    } else if let Some(e) = offsets_refusal(&m, connector) {
        return Err(e);
    }
    // Until the operator removes both annotations (it has written the ConfigMap); at the deadline,
    // the operator's Warning conditions of the last look say why it has not.
    let waited = poll::until_deadline(
        deadline,
        move || async move {
            let m = get_mm2(cc, &route.namespace, &route.mm2).await?;
            let a = m.annotations();
            if !a.contains_key(CONNECTOR_OFFSETS) && !a.contains_key(MIRRORMAKER_CONNECTOR) {
                return Ok(Look::Done(()));
            }
            Ok(Look::Pending {
                line: format!("waiting for the operator to list {connector}'s offsets"),
                seen: operator_warnings(&m),
            })
        },
        |_| {},
    )
    .await?;
    if let Waited::TimedOut(last) = waited {
        let warnings = last.unwrap_or_default();
        return Err(Error::NotConverged {
            what: format!(
                "the operator to list {connector}'s offsets into ConfigMap {cm}{} (the annotations stay; it retries every reconcile)",
                if warnings.is_empty() {
                    String::new()
                } else {
                    format!("; it reports {}", warnings.join("; "))
                }
            ),
            timeout,
        });
    }
    read_configmap_key(cc, &route.namespace, cm, &configmap_key(connector))
        .await?
        .ok_or_else(|| {
            Error::Invalid(format!(
                "the operator removed the annotations but ConfigMap {}/{cm} has no {}",
                route.namespace,
                configmap_key(connector)
            ))
        })
}
