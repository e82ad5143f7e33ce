//! Pause, stop, resume and scale, the declarative way: change the KafkaMirrorMaker2 resource and
//! let the operator act (never the Connect REST API, whose changes the next reconcile undoes).
//!
//! Writes are JSON patches that touch only the fields being changed, guarded by a `test` of the
//! mirror's identity so a concurrent reorder is detected (422) and answered by re-reading and
//! retrying; anything else a concurrent writer changes is left alone because the server applies
//! our patch to the latest object.

use crate::clients::{ContextClient, Op, resource_name};
use crate::error::{Error, Result};
use crate::mm2::FIELD_MANAGER;
use crate::poll::Probe;
use crate::resources::inventory::{Mm2Object, get_mm2};
use crate::resources::strimzi::{ConnectorKind, ConnectorState, Mm2Shape, Mm2Spec};
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use std::time::Duration;

use crate::write::{DryRun, WriteOutcome, patch};
use json_patch::PatchOperation;

/// One connector whose desired state changes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StateEdit {
    pub kind: ConnectorKind,
    pub from: ConnectorState,
    pub to: ConnectorState,
    /// The deprecated `pause` field is set on this connector (reported; `state` overrides it).
    pub deprecated_pause: Option<bool>,
}

/// What a state change will do to one mirror.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StatePlan {
    pub edits: Vec<StateEdit>,
    /// Connectors already in the requested state.
    pub unchanged: Vec<ConnectorKind>,
    #[serde(skip)]
    pub patch: Vec<PatchOperation>,
}

impl StatePlan {
    pub fn is_noop(&self) -> bool {
        self.edits.is_empty()
    }
}

/// JSON-pointer `test` ops that pin mirror `index` to the direction we mean to change.
fn identity_tests(spec: &Mm2Spec, index: usize) -> Vec<PatchOperation> {
    let i = index.to_string();
    let Some(m) = spec.mirrors.get(index) else {
        return vec![];
    };
    let mut ops = Vec::new();
    if let Some(s) = &m.source_cluster {
        ops.push(patch::test(["spec", "mirrors", &i, "sourceCluster"], json!(s)));
    }
    if let Some(t) = &m.target_cluster {
        ops.push(patch::test(["spec", "mirrors", &i, "targetCluster"], json!(t)));
    }
    if let Some(src) = &m.source {
        ops.push(patch::test(
            ["spec", "mirrors", &i, "source", "alias"],
            json!(src.alias),
        ));
    }
    ops
}

/// Plan setting `state` on the given connectors of mirror `index` (pure: no I/O).
pub fn plan_state(
    spec: &Mm2Spec,
    raw_spec: &Value,
    index: usize,
    kinds: &[ConnectorKind],
    to: ConnectorState,
) -> StatePlan {
    let mut plan = StatePlan {
        edits: vec![],
        unchanged: vec![],
        patch: identity_tests(spec, index),
    };
    let configured = spec.connector_kinds(index);
    for &kind in kinds.iter().filter(|k| configured.contains(k)) {
        let current = spec.connector(index, kind).cloned().unwrap_or_default();
        let from = current.desired_state();
        // Already there (also when through the deprecated `pause: true`): nothing to write.
        if from == to {
            plan.unchanged.push(kind);
            continue;
        }
        let key = kind.spec_key();
        let has_obj = raw_spec["mirrors"][index].get(key).is_some_and(Value::is_object);
        let i = index.to_string();
        plan.patch.push(if has_obj {
            patch::add(["spec", "mirrors", &i, key, "state"], json!(to.spec_value()))
        } else {
            patch::add(["spec", "mirrors", &i, key], json!({"state": to.spec_value()}))
        });
        plan.edits.push(StateEdit {
            kind,
            from,
            to,
            deprecated_pause: current.pause,
        });
    }
    plan
}

/// Apply a connector state change with conflict-safe retries. `precheck` can refuse based on the
/// freshly read object (pause-reconciliation, FAILED connectors, Flux).
///
/// `fresh`: the object as the caller just read it, used for the first attempt (the JSON patch's
/// `test` ops still guard against a change in between); every retry reads it again.
#[allow(clippy::too_many_arguments)]
pub async fn set_state<F>(
    cc: &ContextClient,
    route: &crate::topology::Route,
    kinds: &[ConnectorKind],
    to: ConnectorState,
    dry_run: DryRun,
    fresh: Option<Mm2Object>,
    mut precheck: F,
) -> Result<(Mm2Object, StatePlan, WriteOutcome)>
where
    F: FnMut(&Mm2Object, &StatePlan) -> Result<()>,
{
    let (namespace, name, index) = (route.namespace.as_str(), route.mm2.as_str(), route.mirror_index);
    let mut attempt = 0;
    let mut fresh = fresh;
    loop {
        attempt += 1;
        let mm2 = match fresh.take() {
            Some(m) => m,
            None => get_mm2(cc, namespace, name).await?,
        };
        if mm2.spec.shape() == Mm2Shape::Unknown {
            return Err(Error::Invalid(format!(
                "context {}: KafkaMirrorMaker2 {namespace}/{name} read at {} shows no topology (pruned?); refusing to write",
                cc.context, mm2.version
            )));
        }
        let plan = plan_state(&mm2.spec, &mm2.obj.data["spec"], index, kinds, to);
        if plan.is_noop() {
            return Ok((mm2, plan, WriteOutcome::Unchanged));
        }
        precheck(&mm2, &plan)?;
        if dry_run == DryRun::Client {
            return Ok((mm2, plan, WriteOutcome::DryRun));
        }
        match json_patch(cc, &mm2, &plan.patch, dry_run == DryRun::Server).await {
            Ok(obj) => {
                let outcome = if dry_run == DryRun::Server {
                    WriteOutcome::DryRun
                } else {
                    WriteOutcome::Written {
                        generation: obj.metadata.generation,
                        resource_version: obj.metadata.resource_version,
                    }
                };
                return Ok((mm2, plan, outcome));
            }
            // A failed `test` (the mirror moved) or a conflict: re-read and try again.
            Err(Error::Api { code: 409 | 422, .. }) if attempt < crate::write::MAX_ATTEMPTS => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Send a JSON patch at the version the object was read at, as field manager `kubectl-mm2`.
pub async fn json_patch(
    cc: &ContextClient,
    mm2: &Mm2Object,
    ops: &[PatchOperation],
    dry_run: bool,
) -> Result<kube::core::DynamicObject> {
    let patch = json_patch::Patch(ops.to_vec());
    let api = cc.dynamic(&mm2.ar, &mm2.namespace);
    let mut pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    pp.dry_run = dry_run;
    let res = resource_name(&mm2.ar);
    let op = Op::new("patch", &res, &mm2.ar.kind)
        .ns(&mm2.namespace)
        .name(&mm2.name);
    cc.call(op, api.patch(&mm2.name, &pp, &Patch::Json::<()>(patch)))
        .await
}

/// Scale through the `/scale` subresource (what `kubectl scale` uses, but with our field manager).
pub async fn scale(cc: &ContextClient, mm2: &Mm2Object, replicas: i32, dry_run: bool) -> Result<()> {
    let api = cc.dynamic(&mm2.ar, &mm2.namespace);
    let mut pp = PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    };
    pp.dry_run = dry_run;
    let res = format!("{}/scale", resource_name(&mm2.ar));
    let op = Op::new("patch", &res, &mm2.ar.kind)
        .ns(&mm2.namespace)
        .name(&mm2.name);
    cc.call(
        op,
        api.patch_scale(
            &mm2.name,
            &pp,
            &Patch::Merge(json!({"spec": {"replicas": replicas}})),
        ),
    )
    .await?;
    Ok(())
}

/// Plan a `tasksMax` change of the source connector of mirror `index`.
pub fn plan_tasks_max(
    spec: &Mm2Spec,
    raw_spec: &Value,
    index: usize,
    tasks_max: i32,
) -> Option<Vec<PatchOperation>> {
    let current = spec
        .connector(index, ConnectorKind::Source)
        .and_then(|c| c.tasks_max);
    if current == Some(tasks_max) {
        return None;
    }
    let mut ops = identity_tests(spec, index);
    let has_obj = raw_spec["mirrors"][index]
        .get("sourceConnector")
        .is_some_and(Value::is_object);
    let i = index.to_string();
    ops.push(if has_obj {
        patch::add(
            ["spec", "mirrors", &i, "sourceConnector", "tasksMax"],
            json!(tasks_max),
        )
    } else {
        patch::add(
            ["spec", "mirrors", &i, "sourceConnector"],
            json!({"tasksMax": tasks_max}),
        )
    });
    Some(ops)
}

/// Does the object's status show the requested connector states, reconciled?
pub fn converged_state(
    mm2: &Mm2Object,
    names: &[String],
    to: ConnectorState,
    min_generation: Option<i64>,
) -> Result<bool, String> {
    let Some(st) = &mm2.status else { return Ok(false) };
    if let (Some(g), Some(o)) = (min_generation, st.observed_generation) {
        if o < g {
            return Ok(false);
        }
    } else if min_generation.is_some() {
        return Ok(false);
    }
    for n in names {
        let Some(c) = st.connectors.iter().find(|c| &c.name == n) else {
            return Ok(false);
        };
        let cs = ConnectorState::parse(&c.connector.state);
        if cs == ConnectorState::Failed {
            return Err(format!(
                "{n} is FAILED: {}",
                c.connector
                    .trace
                    .as_deref()
                    .map(crate::mm2::status::first_line)
                    .unwrap_or_default()
            ));
        }
        if cs != to {
            return Ok(false);
        }
        let tasks_ok = match to {
            // A stopped connector's tasks are shut down and not listed.
            ConnectorState::Stopped => c.tasks.is_empty(),
            _ => c.tasks.iter().all(|t| ConnectorState::parse(&t.state) == to),
        };
        if !tasks_ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Poll until `done` says yes or `timeout` passes; `progress` hears each distinct observation.
pub async fn wait_for<F, P>(
    cc: &ContextClient,
    namespace: &str,
    name: &str,
    timeout: Duration,
    what: &str,
    done: F,
    progress: P,
) -> Result<Mm2Object>
where
    F: Fn(&Mm2Object) -> Result<bool, String>,
    P: FnMut(&str),
{
    let done = &done;
    crate::poll::until(
        timeout,
        what,
        || async move {
            match get_mm2(cc, namespace, name).await {
                Err(e) => Probe::Seen(format!("cannot read {namespace}/{name}: {e}")),
                Ok(mm2) => match done(&mm2) {
                    Ok(true) => Probe::Done(mm2),
                    Ok(false) => Probe::Seen(describe_progress(&mm2)),
                    Err(msg) => Probe::Failed(Error::Invalid(format!("{what}: {msg}"))),
                },
            }
        },
        progress,
    )
    .await
}

/// One-line summary of what the operator has reported so far.
pub fn describe_progress(mm2: &Mm2Object) -> String {
    let st = mm2.status.clone().unwrap_or_default();
    let generation = format!(
        "generation {}/{}",
        st.observed_generation.unwrap_or_default(),
        mm2.generation().unwrap_or_default()
    );
    let conns: Vec<String> = st
        .connectors
        .iter()
        .map(|c| {
            let short = ConnectorKind::from_connector_name(&c.name)
                .map(|k| k.as_str())
                .unwrap_or(&c.name);
            let tasks: Vec<&str> = c.tasks.iter().map(|t| t.state.as_str()).collect();
            format!("{short}={}[{}]", c.connector.state, tasks.join(","))
        })
        .collect();
    format!(
        "{generation} replicas {}/{} {}",
        st.replicas.unwrap_or_default(),
        mm2.spec.replicas.unwrap_or_default(),
        conns.join(" ")
    )
}

/// Ready pods matching the MM2's `status.labelSelector`.
pub async fn ready_pods(cc: &ContextClient, mm2: &Mm2Object) -> Result<Option<i32>> {
    let pods = crate::resources::pods::pods_of(cc, mm2).await?;
    Ok(pods.map(|p| p.iter().filter(|p| crate::resources::pods::is_ready(p)).count() as i32))
}

/// Wait until `status.replicas` and the ready pods both equal `replicas`.
pub async fn wait_scaled<P: FnMut(&str)>(
    cc: &ContextClient,
    namespace: &str,
    name: &str,
    replicas: i32,
    timeout: Duration,
    progress: P,
) -> Result<()> {
    let what = format!("{namespace}/{name} to reach {replicas} replicas");
    crate::poll::until(
        timeout,
        &what,
        || async move {
            let mm2 = match get_mm2(cc, namespace, name).await {
                Ok(m) => m,
                Err(e) => return Probe::Seen(format!("cannot read {namespace}/{name}: {e}")),
            };
            let status_replicas = mm2.status.as_ref().and_then(|s| s.replicas);
            let ready = if replicas == 0 {
                Some(0)
            } else {
                ready_pods(cc, &mm2).await.ok().flatten()
            };
            if mm2.reconciled() && status_replicas == Some(replicas) && ready == Some(replicas) {
                return Probe::Done(());
            }
            let shown = |n: Option<i32>| n.map(|r| r.to_string()).unwrap_or_else(|| "-".into());
            Probe::Seen(format!(
                "status.replicas {} ready pods {} (want {replicas})",
                shown(status_replicas),
                shown(ready)
            ))
        },
        progress,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(o: &PatchOperation) -> Value {
        serde_json::to_value(o).unwrap()
    }

    fn spec() -> Value {
        json!({"connectCluster": "aws", "clusters": [{"alias": "aws"}, {"alias": "proxmox"}],
               "mirrors": [{"sourceCluster": "proxmox", "targetCluster": "aws",
                            "sourceConnector": {"tasksMax": 5, "config": {"a": 1}},
                            "checkpointConnector": {"pause": true},
                            "heartbeatConnector": {}}]})
    }

    #[test]
    fn pause_plan_touches_only_state_fields_and_pins_the_mirror() {
        let raw = spec();
        let s = Mm2Spec::parse(&raw).unwrap();
        let plan = plan_state(&s, &raw, 0, &ConnectorKind::ALL, ConnectorState::Paused);
        // checkpoint is already paused through the deprecated field: left alone.
        assert_eq!(
            plan.edits.iter().map(|e| e.kind).collect::<Vec<_>>(),
            vec![ConnectorKind::Source, ConnectorKind::Heartbeat]
        );
        assert_eq!(plan.unchanged, vec![ConnectorKind::Checkpoint]);
        assert_eq!(
            op(&plan.patch[0]),
            json!({"op": "test", "path": "/spec/mirrors/0/sourceCluster", "value": "proxmox"})
        );
        assert_eq!(
            op(&plan.patch[2]),
            json!({"op": "add", "path": "/spec/mirrors/0/sourceConnector/state", "value": "paused"})
        );
        assert_eq!(plan.patch.len(), 4);
    }

    #[test]
    fn resume_overrides_deprecated_pause_and_is_idempotent() {
        let raw = spec();
        let s = Mm2Spec::parse(&raw).unwrap();
        let plan = plan_state(&s, &raw, 0, &[ConnectorKind::Checkpoint], ConnectorState::Running);
        assert_eq!(plan.edits[0].deprecated_pause, Some(true));
        assert_eq!(plan.edits[0].from, ConnectorState::Paused);
        let plan = plan_state(&s, &raw, 0, &[ConnectorKind::Source], ConnectorState::Running);
        assert!(plan.is_noop());
    }

    #[test]
    fn missing_connector_object_is_created_whole() {
        let raw = json!({"target": {"alias": "aws"}, "mirrors": [{"source": {"alias": "proxmox"}}]});
        let s = Mm2Spec::parse(&raw).unwrap();
        let plan = plan_state(&s, &raw, 0, &[ConnectorKind::Source], ConnectorState::Stopped);
        assert_eq!(op(&plan.patch[0])["path"], "/spec/mirrors/0/source/alias");
        assert_eq!(
            op(&plan.patch[1]),
            json!({"op": "add", "path": "/spec/mirrors/0/sourceConnector", "value": {"state": "stopped"}})
        );
    }

    #[test]
    fn tasks_max_plan() {
        let raw = spec();
        let s = Mm2Spec::parse(&raw).unwrap();
        assert!(plan_tasks_max(&s, &raw, 0, 5).is_none());
        let ops = plan_tasks_max(&s, &raw, 0, 10).unwrap();
        assert_eq!(
            op(ops.last().unwrap())["path"],
            "/spec/mirrors/0/sourceConnector/tasksMax"
        );
    }
}
