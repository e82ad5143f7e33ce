//! The registry the simulated operator talks to: which real MirrorMaker 2s run, at which
//! addresses, and what they last reported.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Result, bail};
use kube::api::DynamicObject;
use serde_json::{Value, json};

use crate::operator::annotation;
use crate::procs::{self};

use super::*;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Key {
    pub(super) alias: String,
    pub(super) ns: String,
    pub(super) name: String,
}

#[derive(Clone)]
pub(super) struct Desired {
    pub(super) spec: Value,
    pub(super) kubeconfig: PathBuf,
    pub(super) context: String,
    pub(super) seen: Instant,
}

pub(super) struct Entry {
    pub(super) desired: Desired,
    pub(super) observed: Option<Vec<Value>>,
    /// Address of each real pod (index < MAX_REAL_WORKERS).
    pub(super) ips: Vec<Ipv4Addr>,
}

pub(super) static REGISTRY: Mutex<Option<HashMap<Key, Entry>>> = Mutex::new(None);
pub(super) static NEXT_IP: Mutex<Option<HashMap<u8, u8>>> = Mutex::new(None);

pub(super) fn registry<T>(f: impl FnOnce(&mut HashMap<Key, Entry>) -> T) -> T {
    let mut g = REGISTRY.lock().unwrap_or_else(|e| e.into_inner());
    f(g.get_or_insert_with(HashMap::new))
}

/// A fresh worker address of cluster `alias` (198.18.{11,12}.20..250, never reused).
pub(super) fn next_worker_ip(alias: &str) -> Result<Ipv4Addr> {
    let net = crate::kafka::kafka_net(alias);
    let mut g = NEXT_IP.lock().unwrap_or_else(|e| e.into_inner());
    let n = g.get_or_insert_with(HashMap::new).entry(net).or_insert(20);
    if *n > 250 {
        bail!("no worker address left in 198.18.{net}.0/24");
    }
    let ip = Ipv4Addr::new(198, 18, net, *n);
    *n += 1;
    procs::ensure_addr(ip)?;
    Ok(ip)
}

static EVERY_VALID_MM2: AtomicBool = AtomicBool::new(false);

/// From now on every valid KafkaMirrorMaker2 of the working layout runs on real Kafka Connect,
/// annotated or not, as Strimzi's operator would run it. For the demo, whose handful of MM2s (the
/// ones a user converts and applies during the tour) fits the machine; the suite's ~60 do not
/// (README, "Running the tests").
pub fn run_every_valid_mm2_for_real() {
    EVERY_VALID_MM2.store(true, Ordering::Relaxed);
}

/// Called by the simulated operator for every KafkaMirrorMaker2 it reconciles in `alias` (not
/// paused, not frozen). Starts or updates the real MirrorMaker 2 when the CR asks for one.
pub fn sync(alias: &str, kubeconfig: &Path, context: &str, obj: &DynamicObject) -> Real {
    let asked = EVERY_VALID_MM2.load(Ordering::Relaxed) || annotation(obj, REAL_ANNOTATION) == Some("real");
    if !asked || !obj.data["spec"].is_object() {
        return Real::No;
    }
    if !is_working_layout(&obj.data["spec"], alias) || crate::kafka::kafka_if_started().is_none() {
        return Real::No;
    }
    let key = Key {
        alias: alias.into(),
        ns: obj.metadata.namespace.clone().unwrap_or_default(),
        name: obj.metadata.name.clone().unwrap_or_default(),
    };
    let replicas = obj.data["spec"]["replicas"].as_i64().unwrap_or(3).max(0) as usize;
    let desired = Desired {
        spec: obj.data["spec"].clone(),
        kubeconfig: kubeconfig.to_path_buf(),
        context: context.into(),
        seen: Instant::now(),
    };
    let (fresh, observed) = registry(|r| {
        let fresh = !r.contains_key(&key);
        let e = r.entry(key.clone()).or_insert_with(|| Entry {
            desired: desired.clone(),
            observed: None,
            ips: Vec::new(),
        });
        e.desired = desired;
        while e.ips.len() < replicas.min(MAX_REAL_WORKERS) {
            match next_worker_ip(alias) {
                Ok(ip) => e.ips.push(ip),
                Err(_) => break,
            }
        }
        (fresh, e.observed.clone())
    });
    if fresh {
        tokio::spawn(run(key));
    }
    match observed {
        Some(c) => Real::Observed(c),
        None => Real::Starting,
    }
}

/// Keeps a real MirrorMaker 2 as it is while the operator does not reconcile it
/// (`strimzi.io/pause-reconciliation`, or a new generation that fails validation): Strimzi then
/// leaves the running pods alone, so the workers must not be reaped.
pub fn touch(alias: &str, obj: &DynamicObject) {
    let key = Key {
        alias: alias.into(),
        ns: obj.metadata.namespace.clone().unwrap_or_default(),
        name: obj.metadata.name.clone().unwrap_or_default(),
    };
    registry(|r| {
        if let Some(e) = r.get_mut(&key) {
            e.desired.seen = Instant::now();
        }
    });
}

/// The address of a pod served by a real worker, if it is one (the operator then starts no
/// doubles for it and reports this address as its podIP).
pub fn real_pod_ip(alias: &str, ns: &str, pod: &str) -> Option<Ipv4Addr> {
    registry(|r| {
        r.iter().find_map(|(k, e)| {
            if k.alias != alias || k.ns != ns {
                return None;
            }
            let idx: usize = pod
                .strip_prefix(&format!("{}-mirrormaker2-", k.name))?
                .parse()
                .ok()?;
            e.ips.get(idx).copied()
        })
    })
}

/// Replaces the simulated `connectors` of a desired status by the real ones, and its readiness by
/// Strimzi's rule (NotReady while a connector is FAILED).
pub fn apply_observed(status: &mut Value, connectors: Vec<Value>) {
    let failed = connectors.iter().any(|c| c["connector"]["state"] == "FAILED");
    if connectors.is_empty() {
        if let Some(m) = status.as_object_mut() {
            m.remove("connectors");
        }
    } else {
        status["connectors"] = json!(connectors);
    }
    if let Some(conds) = status["conditions"].as_array_mut() {
        for c in conds.iter_mut() {
            let t = c["type"].as_str().unwrap_or_default();
            if (t == "Ready" || t == "NotReady") && failed {
                c["type"] = json!("NotReady");
                c["reason"] = json!("NoStackTraceThrowable");
                c["message"] = json!("One or more connectors are in FAILED state");
            }
        }
    }
}
