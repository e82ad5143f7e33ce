//! The Kafka half of the bed: real Kafka 4.1 brokers (KRaft, combined mode) for `aws` and
//! `proxmox`, and real MirrorMaker 2 on Kafka Connect with the real JMX exporter agent for the
//! KafkaMirrorMaker2s that ask for it ([`mm2::REAL_ANNOTATION`]).
//!
//! The jars come from `scripts/kafka-fetch.sh` (`$MM2_KAFKA_HOME`, default
//! `~/.cache/kubectl-mm2/kafka/4.1.1`); nothing is downloaded here. Brokers start on first use
//! ([`kafka()`]) and live as long as the test process, like the control planes: their JVMs are
//! [`Proc`](crate::procs::Proc)s, killed at exit by the harness.
//!
//! Addresses (inside the test's network namespace): brokers of `aws` on 198.18.11.x, of `proxmox`
//! on 198.18.12.x (x = 1..3); real MirrorMaker 2 workers on 198.18.{11,12}.{20..250}, apart from
//! the simulated pods' 198.18.{1,2}.x so a double's listener can never hold a worker's port.
//!
//! JVM sizes: brokers `-Xmx256m` and Connect workers `-Xmx384m`, serial GC, C1 only. A test broker
//! holds a few topics of one partition and a 20,000-record burst; 256 MiB keeps its heap well under
//! the old generation's limit while the page cache holds the log. A worker runs two or three
//! MirrorMaker 2 connectors whose consumer fetches at most ~1 MiB at a time. Two brokers and two
//! workers then stay near 1.5 GiB of RSS; the bed's budget is 6 GiB (scripts/bench.sh).
//!
//! JVM start-up CPU: the 2 cores are shared, and every JVM start is seconds of CPU. `bench-kafka`
//! measures it (user + sys to ready, Java 17): a broker ~2.9 -> ~2.0 CPU-s, the two brokers'
//! `StorageTool format` 2.4 -> 1.5, a Connect worker until its MirrorMaker 2 connectors run
//! 7.1 -> 2.8 (class-data sharing alone 7.1 -> 5.5, `service_load` alone 7.1 -> 3.8). What does it:
//! - C1 only (`TieredStopAtLevel=1`) and the serial collector: no C2 compile threads and no
//!   parallel GC threads competing for the two cores while thousands of classes load;
//! - class-data sharing ([`JvmKind::archive`]): a dynamic AppCDS archive per JVM kind, made once
//!   per cache by `scripts/kafka-fetch.sh` from a throwaway broker and Connect worker, maps the
//!   classes already parsed and verified instead of loading them from the jars. A missing archive
//!   (never made, or made by another Java) is skipped; a stale one (the jars changed) is refused by
//!   the JVM itself (`-Xshare:auto`, the default) and the JVM runs without it;
//! - Connect's `plugin.discovery=service_load` (mm2::worker_properties), so a worker does not
//!   reflect-scan the whole class path for plugins.
//!
//! Tried and not kept (no difference beyond noise on a broker start): `-XX:CICompilerCount=1`,
//! `-Xss512k`, `-XX:-UsePerfData`. `-XX:+AutoCreateSharedArchive` needs Java 19.

pub mod broker;
pub mod mm2;
pub mod rest;
pub mod setup;
pub mod tools;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{Context as _, Result, bail};

use crate::bed::{ALIASES, Bed, DEFAULT_NS, bed};
pub use broker::Broker;

/// Kafka version of the jars `scripts/kafka-fetch.sh` fetches.
pub const KAFKA_VERSION: &str = "4.1.1";
/// Version of the JMX exporter agent (the one in Strimzi 0.51's image).
pub const JMX_EXPORTER_VERSION: &str = "1.5.0";

/// Where `scripts/kafka-fetch.sh` put the jars: `$MM2_KAFKA_HOME`, else
/// `${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-mm2/kafka/4.1.1`.
pub fn kafka_home() -> PathBuf {
    if let Some(d) = std::env::var_os("MM2_KAFKA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    crate::cache_root().join("kafka").join(KAFKA_VERSION)
}

/// The class path of every Kafka JVM (`<home>/lib/*`).
pub fn class_path() -> String {
    format!("{}/lib/*", kafka_home().display())
}

/// The JMX exporter agent jar.
pub fn agent_jar() -> PathBuf {
    kafka_home()
        .join("agent")
        .join(format!("testbed-jmx-agent-{JMX_EXPORTER_VERSION}.jar"))
}

/// Fails with what to run when the jars are missing.
pub fn check_home() -> Result<()> {
    let home = kafka_home();
    if !home.join(".complete").is_file() || !agent_jar().is_file() {
        bail!(
            "Kafka {KAFKA_VERSION} is not in {} (run scripts/kafka-fetch.sh, outside the network namespace)",
            home.display()
        );
    }
    Ok(())
}

/// The `java` of the machine (Java 17, installed by scripts/kafka-fetch.sh when missing).
pub fn java() -> PathBuf {
    std::env::var_os("JAVA_HOME")
        .map(|h| PathBuf::from(h).join("bin/java"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("java"))
}

/// The kinds of bed JVM, each with its own class-data sharing archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JvmKind {
    /// A broker, and `kafka.tools.StorageTool`.
    Broker,
    /// A Kafka Connect worker (MirrorMaker 2).
    Connect,
    /// Kafka's command-line tools (producer, offsets, quotas): they load the broker's client
    /// classes, so they map the broker's archive.
    Tool,
}

impl JvmKind {
    /// File name stem of the archive `scripts/kafka-fetch.sh` makes for this kind.
    fn archive_stem(self) -> &'static str {
        match self {
            JvmKind::Broker | JvmKind::Tool => "broker",
            JvmKind::Connect => "connect",
        }
    }

    /// The AppCDS archive of this kind for the machine's Java:
    /// `<kafka home>/cds/<broker|connect>-<java runtime version>.jsa`, if it was made. The JVM
    /// checks the rest (its own build, the class path's jars) and ignores an archive that does
    /// not match, so only a missing file has to be caught here.
    pub fn archive(self) -> Option<PathBuf> {
        // For measuring the difference (bench-kafka): `MM2_KAFKA_CDS=off` maps no archive.
        if std::env::var("MM2_KAFKA_CDS").is_ok_and(|v| v == "off") {
            return None;
        }
        let version = java_runtime_version()?;
        let p = kafka_home()
            .join("cds")
            .join(format!("{}-{version}.jsa", self.archive_stem()));
        p.is_file().then_some(p)
    }
}

/// `JAVA_RUNTIME_VERSION` of the `release` file of the Java that [`java()`] runs, with characters
/// other than `[A-Za-z0-9._-]` as `_` (as `scripts/kafka-fetch.sh` names the archives).
pub fn java_runtime_version() -> Option<String> {
    static VERSION: OnceLock<Option<String>> = OnceLock::new();
    VERSION
        .get_or_init(|| {
            let bin = java();
            let bin = if bin.components().count() > 1 {
                bin
            } else {
                std::env::split_paths(&std::env::var_os("PATH")?)
                    .map(|d| d.join(&bin))
                    .find(|p| p.is_file())?
            };
            let home = std::fs::canonicalize(bin).ok()?.parent()?.parent()?.to_path_buf();
            let release = std::fs::read_to_string(home.join("release")).ok()?;
            let v = release
                .lines()
                .find_map(|l| l.strip_prefix("JAVA_RUNTIME_VERSION="))?
                .trim_matches('"');
            Some(
                v.chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || "._-".contains(c) {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect(),
            )
        })
        .clone()
}

/// JVM options shared by every bed JVM (see the module comment for the sizes and the start-up
/// options).
pub fn jvm_opts(max_heap: &str, log4j: &Path, kind: JvmKind) -> Vec<String> {
    let mut opts: Vec<String> = vec![
        "-Xms64m".into(),
        format!("-Xmx{max_heap}"),
        "-XX:+UseSerialGC".into(),
        "-XX:TieredStopAtLevel=1".into(),
        "-XX:ActiveProcessorCount=2".into(),
        // The JVM's own warnings (e.g. "Unable to use shared archive") go to stderr: the bed
        // parses the tools' stdout.
        "-Xlog:disable".into(),
        "-Xlog:all=warning:stderr".into(),
        "-Djava.awt.headless=true".into(),
        format!("-Dlog4j2.configurationFile={}", log4j.display()),
    ];
    if let Some(a) = kind.archive() {
        opts.push(format!("-XX:SharedArchiveFile={}", a.display()));
    }
    opts
}

/// Strimzi 0.51's default MirrorMaker 2 logging (`KafkaMirrorMaker2Cluster.properties`), also used
/// for the brokers.
pub const LOG4J2: &str = "name = bed
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yyyy-MM-dd HH:mm:ss} %-5p [%t] %c{1}:%L - %m%n
rootLogger.level = INFO
rootLogger.appenderRef.console.ref = STDOUT
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
";

/// Brokers of `proxmox` (1 by default; `MM2_KAFKA_PROXMOX_BROKERS=3` for replication-factor
/// checks, as the runbook's proxmox cluster has three). `aws` always has one.
pub fn broker_count(alias: &str) -> u8 {
    if alias != "proxmox" {
        return 1;
    }
    match std::env::var("MM2_KAFKA_PROXMOX_BROKERS").ok().as_deref() {
        Some("3") => 3,
        _ => 1,
    }
}

/// Third octet of the Kafka addresses of a bed cluster.
pub fn kafka_net(alias: &str) -> u8 {
    match alias {
        "aws" => 11,
        "proxmox" => 12,
        other => panic!("no Kafka network for cluster {other:?}"),
    }
}

/// The real Kafka clusters of the bed.
pub struct KafkaBed {
    dir: PathBuf,
    brokers: BTreeMap<String, Vec<Broker>>,
    /// SCRAM password of `mm2-user` per alias (from the bed's KafkaUser Secret in `rciis-prod`).
    passwords: BTreeMap<String, String>,
}

static KAFKA: OnceLock<Result<KafkaBed, String>> = OnceLock::new();

/// The bed's Kafka brokers, started on first use (after the bed; ~10 s). Panics with the reason
/// when they cannot start. Safe to call from sync tests and from inside `#[tokio::test]`.
pub fn kafka() -> &'static KafkaBed {
    let r = KAFKA.get_or_init(|| {
        let bed = bed();
        std::thread::Builder::new()
            .name("mm2-e2e-kafka-start".into())
            .spawn(move || KafkaBed::start(bed).map_err(|e| format!("{e:#}")))
            .expect("spawn kafka start thread")
            .join()
            .unwrap_or_else(|_| Err("Kafka start panicked".into()))
    });
    match r {
        Ok(k) => k,
        Err(e) => panic!("the bed's Kafka brokers did not start: {e}"),
    }
}

/// The brokers if they were started already (the operator never starts them by itself).
pub fn kafka_if_started() -> Option<&'static KafkaBed> {
    KAFKA.get().and_then(|r| r.as_ref().ok())
}

impl KafkaBed {
    fn start(bed: &'static Bed) -> Result<KafkaBed> {
        check_home()?;
        let dir = bed.dir().join("kafka");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("log4j2.properties"), LOG4J2)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut passwords = BTreeMap::new();
        for alias in ALIASES {
            let pw = rt
                .block_on(crate::fixtures::password_of(bed, alias, DEFAULT_NS))
                .with_context(|| format!("mm2-user password of {alias}"))?;
            passwords.insert(alias.to_string(), pw);
        }
        // Every broker formats and starts at once (each is a JVM start of a few CPU seconds).
        let mut starts = Vec::new();
        for alias in ALIASES {
            let n = broker_count(alias);
            let ips: Vec<Ipv4Addr> = (1..=n)
                .map(|i| Ipv4Addr::new(198, 18, kafka_net(alias), i))
                .collect();
            for (i, ip) in ips.iter().enumerate() {
                let (dir, ips, ip, pw) = (dir.clone(), ips.clone(), *ip, passwords[alias].clone());
                starts.push((
                    alias,
                    std::thread::spawn(move || {
                        Broker::start(&dir, alias, i as u8 + 1, ip, &ips, &pw)
                            .with_context(|| format!("broker {} of {alias}", i + 1))
                    }),
                ));
            }
        }
        let mut brokers: BTreeMap<String, Vec<Broker>> = BTreeMap::new();
        for (alias, h) in starts {
            let b = h
                .join()
                .map_err(|_| anyhow::anyhow!("broker start of {alias} panicked"))??;
            brokers.entry(alias.to_string()).or_default().push(b);
        }
        for b in brokers.values().flatten() {
            b.wait_ready(std::time::Duration::from_secs(90))?;
        }
        eprintln!("mm2-e2e: Kafka {KAFKA_VERSION} brokers up ({})", dir.display());
        Ok(KafkaBed {
            dir,
            brokers,
            passwords,
        })
    }

    /// Folder of the broker and worker logs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The brokers of `alias`.
    pub fn brokers(&self, alias: &str) -> &[Broker] {
        self.brokers.get(alias).map(|v| v.as_slice()).unwrap_or_default()
    }

    /// `ip:9092,...` (SCRAM-SHA-512) of `alias`.
    pub fn scram_bootstrap(&self, alias: &str) -> String {
        self.brokers(alias)
            .iter()
            .map(|b| format!("{}:{}", b.ip, broker::SCRAM_PORT))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `ip:9093,...` (plain) of `alias`.
    pub fn plain_bootstrap(&self, alias: &str) -> String {
        self.brokers(alias)
            .iter()
            .map(|b| format!("{}:{}", b.ip, broker::PLAIN_PORT))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The SCRAM password the brokers of `alias` hold for `mm2-user`.
    pub fn password(&self, alias: &str) -> &str {
        self.passwords.get(alias).map(|s| s.as_str()).unwrap_or_default()
    }

    /// Kills the brokers of `alias` (for tests of a dead target), restart with
    /// [`KafkaBed::restart`].
    pub fn stop(&self, alias: &str) {
        for b in self.brokers(alias) {
            b.stop();
        }
    }

    /// Starts the stopped brokers of `alias` again on their data.
    pub fn restart(&self, alias: &str) -> Result<()> {
        for b in self.brokers(alias) {
            b.restart()?;
        }
        for b in self.brokers(alias) {
            b.wait_ready(std::time::Duration::from_secs(60))?;
        }
        Ok(())
    }
}
