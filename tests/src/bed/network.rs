//! Addresses of the bed network (198.18.0.0/15 on `lo` of the private network namespace): pod
//! addresses and the black-hole listener.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::procs;

/// The address of the black-hole listener (accepts TCP connections, never answers).
pub const BLACK_HOLE_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 9);

/// Starts the black hole on the bed's runtime: it accepts TCP connections and never answers.
pub(super) fn spawn_black_hole(rt: &tokio::runtime::Runtime) -> Result<SocketAddr> {
    procs::ensure_addr(BLACK_HOLE_IP)?;
    rt.block_on(async {
        let l = tokio::net::TcpListener::bind((BLACK_HOLE_IP, 6443)).await?;
        let addr = l.local_addr()?;
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = l.accept().await {
                held.push(s);
            }
        });
        anyhow::Ok(addr)
    })
}

/// Pod addresses: aws pods in 198.18.1.0/24 (then 198.18.21-24.0/24), proxmox pods in
/// 198.18.2.0/24 (then 198.18.31-34.0/24). Each address is
/// added to `lo` when handed out; a pod keeps its address while it exists.
#[derive(Default)]
pub struct PodIps {
    inner: Mutex<HashMap<String, Pool>>,
}

#[derive(Default)]
struct Pool {
    by_key: HashMap<(String, String), (Ipv4Addr, Instant)>,
}

impl PodIps {
    /// The third octets of a cluster's pod networks: the classic /24 first, then overflow blocks
    /// (the whole suite creates several hundred pods per cluster across its namespaces).
    pub fn nets(alias: &str) -> [u8; 5] {
        match alias {
            "aws" => [1, 21, 22, 23, 24],
            "proxmox" => [2, 31, 32, 33, 34],
            other => panic!("no pod network for cluster {other:?}"),
        }
    }

    /// The address of pod `ns/pod` in cluster `alias`, allocating (and adding to `lo`) if new.
    pub fn get_or_alloc(&self, alias: &str, ns: &str, pod: &str) -> std::io::Result<Ipv4Addr> {
        let nets = Self::nets(alias);
        let ip = {
            let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            let pool = g.entry(alias.to_string()).or_default();
            let key = (ns.to_string(), pod.to_string());
            if let Some((ip, _)) = pool.by_key.get(&key) {
                *ip
            } else {
                let used: HashSet<Ipv4Addr> = pool.by_key.values().map(|(ip, _)| *ip).collect();
                let ip = nets
                    .iter()
                    .flat_map(|&net| (1..=254u8).map(move |h| Ipv4Addr::new(198, 18, net, h)))
                    .find(|ip| !used.contains(ip))
                    .ok_or_else(|| {
                        std::io::Error::other(format!(
                            "pod networks of {alias} are full ({} pods)",
                            254 * nets.len()
                        ))
                    })?;
                pool.by_key.insert(key, (ip, Instant::now()));
                ip
            }
        };
        procs::ensure_addr(ip)?;
        Ok(ip)
    }

    /// The address of a pod, if one was handed out.
    pub fn lookup(&self, alias: &str, ns: &str, pod: &str) -> Option<Ipv4Addr> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.get(alias)?
            .by_key
            .get(&(ns.to_string(), pod.to_string()))
            .map(|(ip, _)| *ip)
    }

    /// Frees the addresses of pods that no longer exist (given all live `(ns, pod)` of `alias`),
    /// except those handed out in the last 30 s (their pods may not be created yet).
    pub fn retain_live(&self, alias: &str, live: &HashSet<(String, String)>) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pool) = g.get_mut(alias) {
            pool.by_key
                .retain(|k, (_, at)| live.contains(k) || at.elapsed() < Duration::from_secs(30));
        }
    }
}
