//! The I/O of `resolve`: the Service, its export and import, and the EndpointSlices, read from
//! one context; every failed read is kept as a note in the facts.

use crate::clients::{ContextClient, Op, resource_name};
use crate::clusterset::export::{
    PortSpec, export_resource, import_resource, mcs_version, service_resource, shape_of_service,
};
use crate::error::{Error, Result};
use crate::resources::{api_resource, mcs};
use kube::api::ListParams;
use serde_json::Value;

use super::report::*;

/// `status`/`spec` of an MCS object read through the typed views of `resources::mcs` (a field
/// that does not parse counts as absent, as an unset one would).
fn typed<T: serde::de::DeserializeOwned + Default>(v: &Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// A ServiceImport's ports in the Service's terms (MCS ports have no targetPort), sorted.
fn import_ports(spec: &mcs::ServiceImportSpec) -> Vec<PortSpec> {
    let mut p: Vec<PortSpec> = spec
        .ports
        .iter()
        .map(|ip| PortSpec {
            name: ip.name.clone(),
            port: i64::from(ip.port),
            protocol: ip.protocol.clone().unwrap_or_else(|| "TCP".into()),
        })
        .collect();
    p.sort();
    p
}

/// Count ready and not-ready addresses in EndpointSlices (`ready` unset means ready).
fn count_endpoints(slices: &[kube::core::DynamicObject]) -> (usize, usize) {
    let mut ready = 0;
    let mut not_ready = 0;
    for s in slices {
        for e in s.data["endpoints"].as_array().into_iter().flatten() {
            let n = e["addresses"].as_array().map(Vec::len).unwrap_or(0);
            if e["conditions"]["ready"].as_bool().unwrap_or(true) {
                ready += n;
            } else {
                not_ready += n;
            }
        }
    }
    (ready, not_ready)
}

async fn list_labelled(
    cc: &ContextClient,
    ar: &kube::core::ApiResource,
    ns: &str,
    selector: &str,
) -> Result<Vec<kube::core::DynamicObject>> {
    let res = resource_name(ar);
    let api = cc.dynamic(ar, ns);
    Ok(cc
        .call(
            Op::new("list", &res, &ar.kind).ns(ns),
            api.list(&ListParams::default().labels(selector)),
        )
        .await?
        .items)
}

/// Read one context. Failures of single reads are recorded, not fatal.
pub async fn gather(cc: &ContextClient, alias: Option<String>, ns: &str, name: &str) -> ContextSection {
    let mut s = ContextSection {
        context: cc.context.clone(),
        alias,
        reachable: true,
        ..Default::default()
    };
    let note = |s: &mut ContextSection, e: Error| {
        if e.is_unreachable() {
            s.reachable = false;
            s.error = Some(e.to_string());
        } else {
            s.read_errors.push(e.to_string());
        }
    };
    // Service and its ready endpoints.
    match cc.get_opt(&service_resource(), ns, name).await {
        Ok(Some(svc)) => {
            let spec = &svc.data["spec"];
            let shape = shape_of_service(spec);
            s.service = Some(ServiceFacts {
                type_: spec["type"].as_str().unwrap_or("ClusterIP").into(),
                headless: shape.type_ == "Headless",
                cluster_ip: spec["clusterIP"].as_str().map(str::to_string),
                ports: shape.ports,
                selector: serde_json::from_value(spec["selector"].clone()).unwrap_or_default(),
                ..Default::default()
            });
        }
        Ok(None) => {}
        Err(e) => {
            let unreachable = e.is_unreachable();
            note(&mut s, e);
            if unreachable {
                return s;
            }
        }
    }
    match crate::resources::versions::endpointslice_version(cc).await {
        Ok(v) => {
            let ar = api_resource("discovery.k8s.io", &v, "EndpointSlice", "endpointslices");
            s.endpoint_slice_version = Some(v);
            if s.service.is_some() {
                match list_labelled(cc, &ar, ns, &format!("kubernetes.io/service-name={name}")).await {
                    Ok(slices) => {
                        let (r, n) = count_endpoints(&slices);
                        if let Some(svc) = s.service.as_mut() {
                            svc.ready_endpoints = Some(r);
                            svc.not_ready_endpoints = Some(n);
                        }
                    }
                    Err(e) => note(&mut s, e),
                }
            }
            match list_labelled(cc, &ar, ns, &format!("{}={name}", mcs::SERVICE_NAME_LABEL)).await {
                Ok(slices) => {
                    s.multicluster_endpoint_slices = slices
                        .iter()
                        .map(|sl| {
                            let (ready, not_ready) = count_endpoints(std::slice::from_ref(sl));
                            SliceFacts {
                                name: sl.metadata.name.clone().unwrap_or_default(),
                                source_cluster: sl
                                    .metadata
                                    .labels
                                    .as_ref()
                                    .and_then(|l| l.get(mcs::SOURCE_CLUSTER_LABEL).cloned()),
                                ready,
                                total: ready + not_ready,
                            }
                        })
                        .collect();
                }
                Err(e) => note(&mut s, e),
            }
        }
        Err(e) => note(&mut s, e),
    }
    // The namespace (Cilium only imports into clusters that have it).
    let ns_ar = api_resource("", "v1", "Namespace", "namespaces");
    let api: kube::Api<kube::core::DynamicObject> = kube::Api::all_with(cc.client.clone(), &ns_ar);
    if let Ok(n) = cc
        .call(
            Op::new("get", "namespaces", "Namespace").name(ns),
            api.get_opt(ns),
        )
        .await
    {
        s.namespace_exists = Some(n.is_some());
    }
    // MCS objects.
    let version = match mcs_version(cc).await {
        Ok(v) => v,
        Err(Error::CrdMissing { .. }) => return s,
        Err(e) => {
            note(&mut s, e);
            return s;
        }
    };
    s.mcs_api = Some(format!("{}/{version}", mcs::GROUP));
    match cc.get_opt(&export_resource(&version), ns, name).await {
        Ok(Some(o)) => {
            s.service_export = Some(ExportFacts {
                api_version: format!("{}/{version}", mcs::GROUP),
                created: o.metadata.creation_timestamp.as_ref().map(|t| t.0.to_string()),
                conditions: typed::<mcs::ServiceExportStatus>(&o.data["status"]).conditions,
            })
        }
        Ok(None) => {}
        Err(e) => note(&mut s, e),
    }
    match cc.get_opt(&import_resource(&version), ns, name).await {
        Ok(Some(o)) => {
            let spec: mcs::ServiceImportSpec = typed(&o.data["spec"]);
            let status: mcs::ServiceImportStatus = typed(&o.data["status"]);
            s.service_import = Some(ImportFacts {
                type_: spec.type_.clone().unwrap_or_default(),
                ports: import_ports(&spec),
                ips: spec.ips,
                clusters: status
                    .clusters
                    .into_iter()
                    .map(|c| c.cluster)
                    .filter(|c| !c.is_empty())
                    .collect(),
                conditions: status.conditions,
            })
        }
        Ok(None) => {}
        Err(e) => note(&mut s, e),
    }
    s
}
