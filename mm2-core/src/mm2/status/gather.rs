//! The I/O of `status`: everything read about one KafkaMirrorMaker2 besides the object itself,
//! fetched concurrently, each read's failure kept as a fact for the rules to judge.

use super::report::{FluxReport, SecretReport};
use crate::clients::{ContextClient, Op};
use crate::error::Result;
use crate::resources::flux::{self, FluxOwner, Kustomization};
use crate::resources::inventory::Mm2Object;
use crate::resources::{api_resource, condition};

/// What was read about one MM2 besides the object.
#[derive(Debug, Clone)]
pub struct Mm2Facts {
    /// Pod names and how many are ready, or why they could not be listed.
    pub pods: std::result::Result<(Vec<String>, Option<i32>), String>,
    pub secrets: Vec<SecretReport>,
    pub flux: Option<FluxReport>,
    /// `--live`: Connect's answer through the pod proxy.
    pub live: Option<LiveFacts>,
    /// When the facts were read: the conditions' ages count from here.
    pub now: std::time::SystemTime,
}

/// Connect's `GET /connectors?expand=status`, asked through the pod proxy.
#[derive(Debug, Clone)]
pub struct LiveFacts {
    pub pod: String,
    /// The parsed body, or why there is none (refused, unreachable, not JSON).
    pub body: std::result::Result<serde_json::Value, String>,
}

/// Read everything `status` needs about `mm2`, concurrently.
pub async fn gather(cc: &ContextClient, mm2: &Mm2Object, live: bool) -> Mm2Facts {
    let (pods, secrets, flux, live) = futures::join!(
        pods_of(cc, mm2),
        secret_reports(cc, mm2),
        flux_report(cc, mm2),
        async {
            if live {
                Some(live_facts(cc, mm2).await)
            } else {
                None
            }
        }
    );
    Mm2Facts {
        pods: pods.map_err(|e| e.to_string()),
        secrets,
        flux,
        live,
        now: std::time::SystemTime::now(),
    }
}

async fn pods_of(cc: &ContextClient, mm2: &Mm2Object) -> Result<(Vec<String>, Option<i32>)> {
    let Some(pods) = crate::resources::pods::pods_of(cc, mm2).await? else {
        // No selector yet; with 0 replicas there is simply nothing to run.
        return Ok((vec![], (mm2.spec.replicas == Some(0)).then_some(0)));
    };
    let ready = pods
        .iter()
        .filter(|p| crate::resources::pods::is_ready(p))
        .count() as i32;
    let mut names: Vec<String> = pods.iter().filter_map(|p| p.metadata.name.clone()).collect();
    names.sort();
    Ok((names, Some(ready)))
}

/// Metadata-only reads: the Secret's data never even reaches this process.
async fn secret_reports(cc: &ContextClient, mm2: &Mm2Object) -> Vec<SecretReport> {
    let ar = api_resource("", "v1", "Secret", "secrets");
    let api = cc.dynamic(&ar, &mm2.namespace);
    let checks = mm2.spec.credential_secrets().into_iter().map(|(alias, name)| {
        let api = api.clone();
        async move {
            let op = Op::new("get", "secrets", "Secret").ns(&mm2.namespace).name(&name);
            let present = match cc.call(op, api.get_metadata_opt(&name)).await {
                Ok(m) => Some(m.is_some()),
                Err(_) => None,
            };
            SecretReport { alias, name, present }
        }
    });
    futures::future::join_all(checks).await
}

/// Flux ownership from labels, then the Kustomization itself; a Kustomization that cannot be
/// read is reported as not found (`status` describes, it does not act on it).
pub async fn flux_report(cc: &ContextClient, mm2: &Mm2Object) -> Option<FluxReport> {
    let owner: FluxOwner = flux::owner(&mm2.labels(), &mm2.annotations())?;
    let ks = flux::read_kustomization(cc, &owner).await.ok().flatten();
    Some(flux_report_of(owner, ks, mm2))
}

/// [`flux_report`] for a caller that acts on it: a failed read is the error, not "not found".
pub async fn read_flux_report(cc: &ContextClient, mm2: &Mm2Object) -> Result<Option<FluxReport>> {
    let Some(owner) = flux::owner(&mm2.labels(), &mm2.annotations()) else {
        return Ok(None);
    };
    let ks = flux::read_kustomization(cc, &owner).await?;
    Ok(Some(flux_report_of(owner, ks, mm2)))
}

fn flux_report_of(owner: FluxOwner, ks: Option<Kustomization>, mm2: &Mm2Object) -> FluxReport {
    let found = ks.is_some();
    let Kustomization {
        spec,
        status: st,
        annotations,
    } = ks.unwrap_or_default();
    let ready = condition(&st.conditions, "Ready");
    FluxReport {
        kustomization: owner.name,
        namespace: owner.namespace,
        found,
        ready: ready.map(|c| c.status.clone()),
        ready_reason: ready.and_then(|c| c.reason.clone()),
        ready_message: ready.and_then(|c| c.message.clone()),
        suspended: spec.suspend.unwrap_or(false),
        reconcile_disabled: owner.reconcile_disabled,
        ssa_policy: owner.ssa_policy,
        path: spec.path,
        interval: spec.interval,
        managed_by_field_manager: mm2.managers().iter().any(|m| m == flux::FIELD_MANAGER),
        suspended_by_kubectl_mm2: annotations.get(crate::mm2::SUSPENDED_BY_ANNOTATION).cloned(),
    }
}

/// `--live`: ask Kafka Connect (`GET /connectors?expand=status`) through the pod proxy.
async fn live_facts(cc: &ContextClient, mm2: &Mm2Object) -> LiveFacts {
    let pod = format!("{}-mirrormaker2-0", mm2.name);
    let path = format!(
        "/api/v1/namespaces/{}/pods/{}:8083/proxy/connectors?expand=status",
        mm2.namespace, pod
    );
    let op = Op::new("get", "pods/proxy", "Pod").ns(&mm2.namespace).name(&pod);
    let body = match cc.get_raw(op, &path).await {
        Err(e) => Err(e.to_string()),
        Ok(b) => serde_json::from_str(&b).map_err(|e| format!("Connect answered non-JSON: {e}")),
    };
    LiveFacts { pod, body }
}
