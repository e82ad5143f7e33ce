//! The reconciler of one real MirrorMaker 2: workers started and stopped, connectors created,
//! deleted and set to their `state`, status read back from Connect.

use std::collections::{HashMap, hash_map::DefaultHasher};
use std::hash::{Hash, Hasher};
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Client;
use kube::api::Api;
use serde_json::Value;

use crate::kafka::rest::{self, encode};
use crate::procs::Proc;

use super::*;

pub(super) struct Worker {
    pub(super) ip: Ipv4Addr,
    pub(super) hash: u64,
    pub(super) proc: Proc,
    pub(super) started: Instant,
}

/// The kubelet's CrashLoopBackOff for a worker that exits (a wrong password: Connect cannot reach
/// its own cluster and stops): the next start waits 10 s, doubling up to 5 min, and the count is
/// reset by 10 min of running or by a new configuration or Secret (Strimzi rolls the pod then).
/// Without it a crash-looping worker would restart every few seconds and starve the 2 cores.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct CrashBackoff {
    pub(super) restarts: u32,
    pub(super) not_before: Option<Instant>,
}

impl CrashBackoff {
    const FIRST: Duration = Duration::from_secs(10);
    const MAX: Duration = Duration::from_secs(300);
    const RESET_AFTER: Duration = Duration::from_secs(600);

    /// A worker that had run for `ran` exited at `now`.
    pub(super) fn exited(&mut self, ran: Duration, now: Instant) {
        if ran >= Self::RESET_AFTER {
            self.restarts = 0;
        }
        let delay = Self::FIRST
            .saturating_mul(1 << self.restarts.min(5))
            .min(Self::MAX);
        self.not_before = Some(now + delay);
        self.restarts += 1;
    }

    pub(super) fn may_start(&self, now: Instant) -> bool {
        self.not_before.is_none_or(|t| now >= t)
    }
}

pub(super) struct State {
    pub(super) key: Key,
    pub(super) files: PathBuf,
    pub(super) workers: Vec<Option<Worker>>,
    /// Per worker slot, as `workers`.
    pub(super) backoff: Vec<CrashBackoff>,
    /// Connector name -> hash of the config last PUT.
    pub(super) applied: HashMap<String, u64>,
    pub(super) secrets_hash: Option<u64>,
}

/// Folder of the password files, worker folders and `reconciler.log` of one real MirrorMaker 2.
pub(super) fn files_of(k: &crate::kafka::KafkaBed, alias: &str, ns: &str, name: &str) -> PathBuf {
    k.dir().join(alias).join(ns).join(name)
}

/// The Connect log (`connect.log`: Connect's own log, REST request log included) of worker `i`
/// of the real MirrorMaker 2 `ns/name` in `alias`.
pub fn worker_log(alias: &str, ns: &str, name: &str, i: usize) -> Option<PathBuf> {
    let k = crate::kafka::kafka_if_started()?;
    Some(
        files_of(k, alias, ns, name)
            .join(format!("{name}-mirrormaker2-{i}"))
            .join("connect.log"),
    )
}

pub(super) fn hash_of<T: Hash>(t: &T) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

pub(super) async fn run(key: Key) {
    let Some(k) = crate::kafka::kafka_if_started() else {
        return;
    };
    let files = files_of(k, &key.alias, &key.ns, &key.name);
    let mut st = State {
        key: key.clone(),
        files,
        workers: Vec::new(),
        backoff: Vec::new(),
        applied: HashMap::new(),
        secrets_hash: None,
    };
    let mut client: Option<Client> = None;
    loop {
        tokio::time::sleep(STEP).await;
        let Some((desired, ips)) = registry(|r| r.get(&key).map(|e| (e.desired.clone(), e.ips.clone())))
        else {
            return;
        };
        if desired.seen.elapsed() > FORGET_AFTER {
            registry(|r| r.remove(&key));
            st.log("no longer asked for: workers stopped");
            return; // `st.workers` drop here: their JVMs are killed.
        }
        if client.is_none() {
            client = crate::bed::client_for(&desired.kubeconfig, &desired.context)
                .await
                .ok();
        }
        let Some(c) = client.clone() else { continue };
        match st.step(&c, &desired.spec, &ips).await {
            Ok(Some(obs)) => registry(|r| {
                if let Some(e) = r.get_mut(&key) {
                    e.observed = Some(obs);
                }
            }),
            Ok(None) => {}
            Err(e) => st.log(&format!("step failed: {e:#}")),
        }
    }
}

impl State {
    fn log(&self, msg: &str) {
        let _ = std::fs::create_dir_all(&self.files);
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.files.join("reconciler.log"))
        {
            let _ = writeln!(f, "{} {msg}", crate::operator::now_strimzi());
        }
    }

    fn pod(&self, i: usize) -> String {
        format!("{}-mirrormaker2-{i}", self.key.name)
    }

    fn pod_host(&self, i: usize) -> String {
        format!(
            "{}.{}-mirrormaker2.{}.svc",
            self.pod(i),
            self.key.name,
            self.key.ns
        )
    }

    /// Password files from the Secrets (as Strimzi mounts them); returns their hash.
    async fn write_secrets(&self, client: &Client, p: &Plan) -> Result<u64> {
        let api: Api<Secret> = Api::namespaced(client.clone(), &self.key.ns);
        let mut contents = Vec::new();
        for (alias, a) in &p.secrets {
            let value = api
                .get_opt(&a.secret)
                .await?
                .and_then(|s| s.data)
                .and_then(|d| d.get(&a.key).map(|b| b.0.clone()))
                .unwrap_or_default();
            let dir = if alias.is_empty() {
                self.files.join("connect-password").join(&a.secret)
            } else {
                self.files.join("mm2-password").join(alias).join(&a.secret)
            };
            std::fs::create_dir_all(&dir)?;
            // DirectoryConfigProvider reads the raw bytes: no trailing newline.
            std::fs::write(dir.join(&a.key), &value)?;
            contents.push(value);
        }
        Ok(hash_of(&contents))
    }

    /// The rules of the `metricsConfig` ConfigMap (the agent reads YAML as Strimzi's JSON).
    async fn metrics_rules(&self, client: &Client, p: &Plan) -> Result<Option<String>> {
        let Some((name, key)) = &p.metrics else {
            return Ok(None);
        };
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), &self.key.ns);
        Ok(api
            .get_opt(name)
            .await?
            .and_then(|cm| cm.data)
            .and_then(|d| d.get(key).cloned()))
    }

    fn hosts_file(&self, ips: &[Ipv4Addr]) -> String {
        let mut s = String::from("127.0.0.1 localhost\n");
        let Some(k) = crate::kafka::kafka_if_started() else {
            return s;
        };
        let ns = &self.key.ns;
        for b in k.brokers(&self.key.alias) {
            s.push_str(&format!(
                "{} kafka-rciis-prod-kafka-bootstrap.{ns}.svc kafka-rciis-prod-kafka-bootstrap.{ns}.svc.cluster.local\n",
                b.ip
            ));
        }
        for alias in crate::bed::ALIASES {
            for b in k.brokers(alias) {
                s.push_str(&format!(
                    "{} kafka-bootstrap-{alias}.{ns}.svc.clusterset.local\n",
                    b.ip
                ));
            }
        }
        for (i, ip) in ips.iter().enumerate() {
            s.push_str(&format!("{ip} {}\n", self.pod_host(i)));
        }
        s
    }

    fn start_worker(
        &self,
        i: usize,
        ip: Ipv4Addr,
        props: &str,
        rules: Option<&str>,
        hosts: &str,
    ) -> Result<Proc> {
        let dir = self.files.join(self.pod(i));
        std::fs::create_dir_all(&dir)?;
        std::fs::create_dir_all(self.files.join("plugins"))?;
        std::fs::write(dir.join("kafka-connect.properties"), props)?;
        std::fs::write(dir.join("hosts"), hosts)?;
        let log4j = dir.join("log4j2.properties");
        std::fs::write(&log4j, crate::kafka::LOG4J2)?;
        let mut java = vec![crate::kafka::java().display().to_string()];
        java.extend(crate::kafka::jvm_opts(
            "384m",
            &log4j,
            crate::kafka::JvmKind::Connect,
        ));
        if let Some(r) = rules {
            std::fs::write(dir.join("metrics-config.yml"), r)?;
            // kafka_connect_mm2_shared_run.sh: -javaagent:<jar>=9404:<config> (here bound to the pod IP).
            java.push(format!(
                "-javaagent:{}={ip}:{METRICS_PORT}:{}",
                crate::kafka::agent_jar().display(),
                dir.join("metrics-config.yml").display()
            ));
        }
        java.extend([
            "-cp".into(),
            crate::kafka::class_path(),
            "org.apache.kafka.connect.cli.ConnectDistributed".into(),
            dir.join("kafka-connect.properties").display().to_string(),
        ]);
        // A private /etc/hosts for this JVM only (see the module comment).
        let mut args: Vec<String> = vec![
            "--mount".into(),
            "--propagation".into(),
            "private".into(),
            "sh".into(),
            "-c".into(),
            "mount --bind \"$0\" /etc/hosts && exec \"$@\"".into(),
            dir.join("hosts").display().to_string(),
        ];
        args.extend(java);
        Ok(Proc::spawn(
            &format!("mm2 worker {}/{}", self.key.ns, self.pod(i)),
            Path::new("unshare"),
            &args,
            &dir.join("connect.log"),
        )?)
    }

    async fn step(&mut self, client: &Client, spec: &Value, ips: &[Ipv4Addr]) -> Result<Option<Vec<Value>>> {
        let p = plan(spec, &self.files)?;
        std::fs::create_dir_all(&self.files)?;
        let secrets = self.write_secrets(client, &p).await?;
        let secrets_changed = self.secrets_hash.is_some_and(|h| h != secrets);
        self.secrets_hash = Some(secrets);
        let rules = self.metrics_rules(client, &p).await?;
        let n = p.replicas.min(MAX_REAL_WORKERS).min(ips.len());
        let hosts = self.hosts_file(&ips[..n]);
        while self.workers.len() < n {
            self.workers.push(None);
        }
        while self.workers.len() > n {
            self.workers.pop(); // dropped: killed
        }
        self.backoff.resize(n, CrashBackoff::default());
        for (i, ip) in ips.iter().enumerate().take(n) {
            let props = worker_properties(
                &p,
                &self.key.ns,
                &self.pod_host(i),
                *ip,
                &self.files,
                rules.is_some(),
            );
            let h = hash_of(&(&props, &rules, &hosts));
            let now = Instant::now();
            if let Some(old) = self.workers[i].take_if(|w| w.hash != h || w.ip != *ip) {
                // A new configuration rolls the pod: no back-off.
                self.log(&format!("restarting worker {i} (configuration changed)"));
                old.proc.kill();
                self.backoff[i] = CrashBackoff::default();
            } else if let Some(old) = self.workers[i].take_if(|w| w.proc.exited().is_some()) {
                let how = old.proc.exited().unwrap_or_default();
                self.backoff[i].exited(now - old.started, now);
                self.log(&format!(
                    "worker {i} exited ({how}); back-off {}",
                    self.backoff[i].restarts
                ));
            }
            if secrets_changed {
                // Strimzi rolls the pods when a mounted Secret changes: a crash-looping worker
                // starts again at once (a running one only restarts its connectors, below).
                self.backoff[i] = CrashBackoff::default();
            }
            if self.workers[i].is_none() && self.backoff[i].may_start(now) {
                let proc = self.start_worker(i, *ip, &props, rules.as_deref(), &hosts)?;
                self.log(&format!("worker {i} started at {ip} (pid {})", proc.pid));
                self.workers[i] = Some(Worker {
                    ip: *ip,
                    hash: h,
                    proc,
                    started: now,
                });
            }
        }
        // Any worker forwards to the leader; take the first that answers.
        let mut rest_addr = None;
        for w in self.workers.iter().flatten() {
            let addr = SocketAddr::from((w.ip, REST_PORT));
            if let Ok(a) = rest::call(addr, "GET", "/connectors", None, Duration::from_secs(2)).await
                && a.ok()
            {
                rest_addr = Some(addr);
                break;
            }
        }
        let Some(addr) = rest_addr else { return Ok(None) };
        self.apply_connectors(addr, &p, secrets_changed).await?;
        let status = rest::call(addr, "GET", "/connectors?expand=status", None, REST_TIMEOUT).await?;
        if !status.ok() {
            bail!("GET /connectors?expand=status: {} {}", status.status, status.body);
        }
        let all = status.json()?;
        let observed = p
            .connectors
            .iter()
            .filter_map(|c| all.get(&c.name).map(|v| v["status"].clone()))
            .collect();
        Ok(Some(observed))
    }

    async fn apply_connectors(&mut self, addr: SocketAddr, p: &Plan, restart: bool) -> Result<()> {
        let listed = rest::call(addr, "GET", "/connectors", None, REST_TIMEOUT)
            .await?
            .json()?;
        let existing: Vec<String> = serde_json::from_value(listed).unwrap_or_default();
        for name in &existing {
            if !p.connectors.iter().any(|c| &c.name == name) {
                let a = rest::call(
                    addr,
                    "DELETE",
                    &format!("/connectors/{}", encode(name)),
                    None,
                    REST_TIMEOUT,
                )
                .await?;
                self.log(&format!("DELETE {name}: {}", a.status));
                self.applied.remove(name);
            }
        }
        for c in &p.connectors {
            let h = hash_of(&Value::Object(c.config.clone()).to_string());
            if !existing.contains(&c.name) || self.applied.get(&c.name) != Some(&h) {
                let path = format!("/connectors/{}/config", encode(&c.name));
                let a = rest::call(
                    addr,
                    "PUT",
                    &path,
                    Some(&Value::Object(c.config.clone())),
                    REST_TIMEOUT,
                )
                .await?;
                self.log(&format!(
                    "PUT {path}: {} {}",
                    a.status,
                    a.body.chars().take(300).collect::<String>()
                ));
                if a.ok() {
                    self.applied.insert(c.name.clone(), h);
                }
            }
        }
        let status = rest::call(addr, "GET", "/connectors?expand=status", None, REST_TIMEOUT)
            .await?
            .json()?;
        for c in &p.connectors {
            let current = status[&c.name]["status"]["connector"]["state"]
                .as_str()
                .unwrap_or_default();
            let call = match (c.state.as_str(), current) {
                (_, "") => None,
                ("running", "PAUSED" | "STOPPED") => Some("resume"),
                ("paused", "RUNNING" | "STOPPED" | "UNASSIGNED") => Some("pause"),
                ("stopped", s) if s != "STOPPED" => Some("stop"),
                _ => None,
            };
            if let Some(verb) = call {
                let path = format!("/connectors/{}/{verb}", encode(&c.name));
                let a = rest::call(addr, "PUT", &path, None, REST_TIMEOUT).await?;
                self.log(&format!("PUT {path}: {}", a.status));
            }
            if restart && c.state == "running" {
                let path = format!("/connectors/{}/restart?includeTasks=true", encode(&c.name));
                let a = rest::call(addr, "POST", &path, None, REST_TIMEOUT).await?;
                self.log(&format!("credentials changed: POST {path}: {}", a.status));
            }
        }
        Ok(())
    }
}
