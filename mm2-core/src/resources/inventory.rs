//! Reading KafkaMirrorMaker2 objects at the version whose schema holds their fields.
//!
//! Strimzi 0.51 serves `v1` (preferred) and `v1beta2` with conversion `None`. An object written in
//! the old shape and read at `v1` comes back without `clusters`, `connectCluster` and the mirrors'
//! `sourceCluster/targetCluster`; one written in the new shape loses `target` and `source` when read
//! at a version whose schema lacks them. So we read every served version and keep, per object,
//! the read that shows a complete topology. Writes go to that same version.

use crate::clients::ContextClient;
use crate::error::{Error, Result};
use crate::resources::api_resource;
use crate::resources::strimzi::{self, Mm2Shape, Mm2Spec, Mm2Status};
use crate::resources::versions::served_versions;
use kube::core::{ApiResource, DynamicObject};
use std::collections::BTreeMap;

/// One KafkaMirrorMaker2, read at the right version, with its typed views.
#[derive(Debug, Clone)]
pub struct Mm2Object {
    pub context: String,
    pub namespace: String,
    pub name: String,
    /// The API version the object was read at (and must be written at).
    pub version: String,
    pub ar: ApiResource,
    pub obj: DynamicObject,
    pub spec: Mm2Spec,
    pub status: Option<Mm2Status>,
}

impl Mm2Object {
    /// The typed views of `obj`, read in `context` at `ar`'s version.
    pub fn from_dynamic(context: &str, ar: &ApiResource, obj: DynamicObject) -> Result<Self> {
        let name = obj.metadata.name.clone().unwrap_or_default();
        let namespace = obj.metadata.namespace.clone().unwrap_or_default();
        let spec = Mm2Spec::parse(obj.data.get("spec").unwrap_or(&serde_json::Value::Null)).map_err(|e| {
            Error::Invalid(format!(
                "context {context}: KafkaMirrorMaker2 {namespace}/{name} has an unreadable spec: {e}"
            ))
        })?;
        let status = obj
            .data
            .get("status")
            .filter(|s| !s.is_null())
            .map(Mm2Status::parse);
        Ok(Mm2Object {
            context: context.into(),
            namespace,
            name,
            version: ar.version.clone(),
            ar: ar.clone(),
            obj,
            spec,
            status,
        })
    }

    /// An object from its JSON (a file, a test fixture), read as if from `context` at the
    /// version its `apiVersion` names.
    pub fn from_json(context: &str, value: serde_json::Value) -> Result<Self> {
        let obj: DynamicObject = serde_json::from_value(value)
            .map_err(|e| Error::Invalid(format!("not a Kubernetes object: {e}")))?;
        let api_version = obj
            .types
            .as_ref()
            .map(|t| t.api_version.clone())
            .unwrap_or_default();
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version.as_str()));
        let ar = api_resource(group, version, strimzi::MM2_KIND, strimzi::MM2_PLURAL);
        Self::from_dynamic(context, &ar, obj)
    }

    pub fn generation(&self) -> Option<i64> {
        self.obj.metadata.generation
    }

    pub fn resource_version(&self) -> Option<&str> {
        self.obj.metadata.resource_version.as_deref()
    }

    pub fn labels(&self) -> BTreeMap<String, String> {
        self.obj.metadata.labels.clone().unwrap_or_default()
    }

    pub fn annotations(&self) -> BTreeMap<String, String> {
        self.obj.metadata.annotations.clone().unwrap_or_default()
    }

    /// `strimzi.io/pause-reconciliation: "true"`.
    pub fn reconciliation_paused(&self) -> bool {
        self.annotations()
            .get(strimzi::PAUSE_RECONCILIATION)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The operator's `Warning` conditions with one of `reasons` (each operation the operator
    /// performs for an annotation reports its failures under its own reasons).
    pub fn warnings(&self, reasons: &[&str]) -> impl Iterator<Item = &crate::resources::Condition> {
        self.status
            .iter()
            .flat_map(|s| s.conditions.iter())
            .filter(move |c| {
                c.type_ == "Warning" && c.reason.as_deref().is_some_and(|r| reasons.contains(&r))
            })
    }

    /// Field managers that wrote the object (`kustomize-controller`, `kubectl-mm2` ...).
    pub fn managers(&self) -> Vec<String> {
        let mut m: Vec<String> = self
            .obj
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .filter_map(|f| f.manager.clone())
            .collect();
        m.dedup();
        m
    }

    /// True when the operator has seen the latest spec.
    pub fn reconciled(&self) -> bool {
        match (
            self.generation(),
            self.status.as_ref().and_then(|s| s.observed_generation),
        ) {
            (Some(g), Some(o)) => o >= g,
            _ => false,
        }
    }
}

/// The ApiResource of KafkaMirrorMaker2 at `version`.
pub fn mm2_resource(version: &str) -> ApiResource {
    api_resource(strimzi::GROUP, version, strimzi::MM2_KIND, strimzi::MM2_PLURAL)
}

/// Served Strimzi versions that matter to us, old shape first.
async fn mm2_versions(cc: &ContextClient) -> Result<Vec<String>> {
    let served = served_versions(cc, strimzi::GROUP, strimzi::MM2_KIND).await?;
    let mut out: Vec<String> = ["v1beta2", "v1"]
        .into_iter()
        .filter(|v| served.serves(v))
        .map(String::from)
        .collect();
    if out.is_empty() {
        out = served.versions.clone();
    }
    Ok(out)
}

/// Pick, among reads of one object at several versions, the one whose topology survived.
fn best_read(reads: Vec<Mm2Object>) -> Option<Mm2Object> {
    let score = |o: &Mm2Object| match (o.spec.shape(), o.version.as_str()) {
        (Mm2Shape::V1beta2, "v1beta2") | (Mm2Shape::V1, "v1") => 3,
        (Mm2Shape::V1beta2 | Mm2Shape::V1, _) => 2,
        (Mm2Shape::Unknown, "v1beta2") => 1,
        _ => 0,
    };
    reads.into_iter().max_by_key(score)
}

/// All KafkaMirrorMaker2 in `namespace` (`None`: all namespaces) of one context.
pub async fn list_mm2(cc: &ContextClient, namespace: Option<&str>) -> Result<Vec<Mm2Object>> {
    let versions = mm2_versions(cc).await?;
    let reads = futures::future::join_all(versions.iter().map(|v| async move {
        let ar = mm2_resource(v);
        let items = match namespace {
            Some(ns) => cc.list(&ar, ns).await?,
            None => list_all_namespaces(cc, &ar).await?,
        };
        items
            .into_iter()
            .map(|o| Mm2Object::from_dynamic(&cc.context, &ar, o))
            .collect::<Result<Vec<_>>>()
    }))
    .await;
    let mut by_name: BTreeMap<(String, String), Vec<Mm2Object>> = BTreeMap::new();
    let mut first_err = None;
    for r in reads {
        match r {
            Ok(objs) => {
                for o in objs {
                    by_name
                        .entry((o.namespace.clone(), o.name.clone()))
                        .or_default()
                        .push(o);
                }
            }
            Err(e) => first_err = first_err.or(Some(e)),
        }
    }
    if by_name.is_empty()
        && let Some(e) = first_err
    {
        return Err(e);
    }
    Ok(by_name.into_values().filter_map(best_read).collect())
}

/// One KafkaMirrorMaker2 by name, read at the right version.
pub async fn get_mm2(cc: &ContextClient, namespace: &str, name: &str) -> Result<Mm2Object> {
    let versions = mm2_versions(cc).await?;
    let mut reads = Vec::new();
    for v in &versions {
        let ar = mm2_resource(v);
        if let Some(o) = cc.get_opt(&ar, namespace, name).await? {
            reads.push(Mm2Object::from_dynamic(&cc.context, &ar, o)?);
        }
    }
    best_read(reads).ok_or_else(|| Error::NotFound {
        context: cc.context.clone(),
        kind: strimzi::MM2_KIND.into(),
        namespace: namespace.into(),
        name: name.into(),
    })
}

async fn list_all_namespaces(cc: &ContextClient, ar: &ApiResource) -> Result<Vec<DynamicObject>> {
    let api: kube::Api<DynamicObject> = kube::Api::all_with(cc.client.clone(), ar);
    let res = crate::clients::resource_name(ar);
    let op = crate::clients::Op::new("list", &res, &ar.kind);
    Ok(cc.call(op, api.list(&Default::default())).await?.items)
}
