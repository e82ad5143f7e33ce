//! One Kafka 4.1 broker in KRaft combined mode (broker + controller in one JVM), with the
//! runbook's listeners: SCRAM-SHA-512 on 9092 and plain on 9093 (controller on 9094).

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use crate::procs::{self, Proc};

/// SASL_PLAINTEXT listener, SCRAM-SHA-512 (the runbook's `scram` listener).
pub const SCRAM_PORT: u16 = 9092;
/// PLAINTEXT listener (the runbook's `plain` listener; also inter-broker).
pub const PLAIN_PORT: u16 = 9093;
/// KRaft controller listener.
pub const CONTROLLER_PORT: u16 = 9094;
/// One cluster id for every bed cluster (any base64 UUID; each cluster has its own log dirs).
const CLUSTER_ID: &str = "MkU3OEVBNTcwNTJENDM2Qg";

pub struct Broker {
    pub alias: String,
    pub node_id: u8,
    pub ip: Ipv4Addr,
    dir: PathBuf,
    proc: Mutex<Option<Proc>>,
}

/// `server.properties` of node `node_id` of a cluster whose nodes are at `voters`.
pub fn server_properties(node_id: u8, ip: Ipv4Addr, voters: &[Ipv4Addr], log_dir: &Path) -> String {
    let quorum: Vec<String> = voters
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{}@{v}:{CONTROLLER_PORT}", i + 1))
        .collect();
    let rf = voters.len().min(3);
    format!(
        "process.roles=broker,controller
node.id={node_id}
controller.quorum.voters={quorum}
controller.listener.names=CONTROLLER
listeners=SASL_PLAINTEXT://{ip}:{SCRAM_PORT},PLAINTEXT://{ip}:{PLAIN_PORT},CONTROLLER://{ip}:{CONTROLLER_PORT}
advertised.listeners=SASL_PLAINTEXT://{ip}:{SCRAM_PORT},PLAINTEXT://{ip}:{PLAIN_PORT}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
inter.broker.listener.name=PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs={log_dir}
num.partitions=1
default.replication.factor={rf}
min.insync.replicas=1
offsets.topic.replication.factor={rf}
offsets.topic.num.partitions=3
transaction.state.log.replication.factor={rf}
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor={rf}
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
auto.create.topics.enable=true
",
        quorum = quorum.join(","),
        log_dir = log_dir.display(),
    )
}

impl Broker {
    /// Formats the log dir (with the SCRAM credential of `mm2-user`) and starts the JVM.
    pub fn start(
        root: &Path,
        alias: &str,
        node_id: u8,
        ip: Ipv4Addr,
        voters: &[Ipv4Addr],
        mm2_password: &str,
    ) -> Result<Broker> {
        procs::ensure_addr(ip)?;
        let dir = root.join(format!("{alias}-broker-{node_id}"));
        std::fs::create_dir_all(&dir)?;
        let props = dir.join("server.properties");
        std::fs::write(&props, server_properties(node_id, ip, voters, &dir.join("data")))?;
        let log4j = root.join("log4j2.properties");
        let mut args = super::jvm_opts("256m", &log4j, super::JvmKind::Broker);
        args.extend([
            "-cp".into(),
            super::class_path(),
            "kafka.tools.StorageTool".into(),
            "format".into(),
            "--ignore-formatted".into(),
            "-t".into(),
            CLUSTER_ID.into(),
            "-c".into(),
            props.display().to_string(),
            "--add-scram".into(),
            format!("SCRAM-SHA-512=[name=mm2-user,password={mm2_password}]"),
        ]);
        let out = std::process::Command::new(super::java())
            .args(&args)
            .output()
            .context("run kafka.tools.StorageTool")?;
        if !out.status.success() {
            bail!(
                "kafka.tools.StorageTool format failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let b = Broker {
            alias: alias.to_string(),
            node_id,
            ip,
            dir,
            proc: Mutex::new(None),
        };
        b.spawn()?;
        Ok(b)
    }

    fn spawn(&self) -> Result<()> {
        let log4j = self.dir.parent().unwrap_or(&self.dir).join("log4j2.properties");
        let mut args = super::jvm_opts("256m", &log4j, super::JvmKind::Broker);
        args.extend([
            "-cp".into(),
            super::class_path(),
            "kafka.Kafka".into(),
            self.dir.join("server.properties").display().to_string(),
        ]);
        let p = Proc::spawn(
            &format!("kafka broker {} of {}", self.node_id, self.alias),
            &super::java(),
            &args,
            &self.dir.join("broker.log"),
        )?;
        *self.proc.lock().unwrap_or_else(|e| e.into_inner()) = Some(p);
        Ok(())
    }

    /// Waits until the broker logs "Kafka Server started" and accepts TCP on both listeners.
    pub fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let log = self.dir.join("broker.log");
        loop {
            if let Some(how) = self
                .proc
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
                .and_then(|p| p.exited())
            {
                bail!(
                    "broker {} of {} exited ({how}):\n{}",
                    self.node_id,
                    self.alias,
                    procs::tail_file(&log, 30)
                );
            }
            let started = std::fs::read_to_string(&log)
                .map(|t| t.contains("Kafka Server started"))
                .unwrap_or(false);
            let reachable = [super::broker::SCRAM_PORT, PLAIN_PORT].iter().all(|port| {
                TcpStream::connect_timeout(&SocketAddr::from((self.ip, *port)), Duration::from_millis(300))
                    .is_ok()
            });
            if started && reachable {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "broker {} of {} not ready after {timeout:?}:\n{}",
                    self.node_id,
                    self.alias,
                    procs::tail_file(&log, 30)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Kills the JVM (SIGKILL: the broker vanishes as a crashed node would).
    pub fn stop(&self) {
        if let Some(p) = self.proc.lock().unwrap_or_else(|e| e.into_inner()).take() {
            p.kill();
        }
    }

    /// Starts the JVM again on the same data (no-op while running).
    pub fn restart(&self) -> Result<()> {
        let running = self
            .proc
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|p| p.exited().is_none());
        if running {
            return Ok(());
        }
        // "Kafka Server started" of the previous run must not count as ready.
        let log = self.dir.join("broker.log");
        if log.is_file() {
            let _ = std::fs::rename(&log, self.dir.join("broker.previous.log"));
        }
        self.spawn()
    }

    /// The broker's log file.
    pub fn log(&self) -> PathBuf {
        self.dir.join("broker.log")
    }
}
