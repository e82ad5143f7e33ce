//! The shared bed handle: starting both clusters once per test process, and what tests ask of
//! the bed (clients, kubeconfigs, doubles, extra clusters).

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use kube::Client;
use serde_json::{Value, json};

use super::access::{
    KcEntry, Kubeconfigs, client_for, kubeconfig_value, write_bed_kubeconfigs, write_kubeconfig,
};
use super::control_plane::{Cluster, ClusterSpec, start_cluster};
use super::network::{PodIps, spawn_black_hole};
use super::{ALIASES, DEFAULT_NS};
use crate::doubles::Doubles;
use crate::kubelet::{KubeletNode, Kubelets};
use crate::{fixtures, operator, procs};

/// The shared test bed. Get it with [`bed()`].
pub struct Bed {
    dir: PathBuf,
    kubeconfig: PathBuf,
    viewer_kubeconfig: PathBuf,
    kubeconfig_value: Value,
    clusters: Vec<Cluster>,
    rt: tokio::runtime::Runtime,
    doubles: Doubles,
    kubelets: Kubelets,
    pod_ips: Arc<PodIps>,
    black_hole: SocketAddr,
    startup: Duration,
    next_extra: AtomicU8,
}

static BED: OnceLock<Result<Bed, String>> = OnceLock::new();

/// The bed, started on first use (blocking, ~20-40 s). Panics with the reason (and the bed
/// folder) when it cannot start. Safe to call from sync tests and from inside `#[tokio::test]`.
pub fn bed() -> &'static Bed {
    let r = BED.get_or_init(|| {
        procs::assert_isolated_netns();
        std::thread::Builder::new()
            .name("mm2-e2e-bed-start".into())
            .spawn(Bed::start)
            .expect("spawn bed start thread")
            .join()
            .unwrap_or_else(|p| {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(format!("bed start panicked: {msg}"))
            })
    });
    match r {
        Ok(b) => b,
        Err(e) => panic!("the mm2-e2e test bed did not start: {e}"),
    }
}

impl Bed {
    fn start() -> Result<Bed, String> {
        let t0 = Instant::now();
        let tmp = tempfile::Builder::new()
            .prefix("mm2-e2e-bed-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let dir = tmp.keep();
        procs::remove_at_exit(&dir);
        eprintln!(
            "mm2-e2e: bed folder {} (logs; kept at exit with MM2_KEEP_BED=1)",
            dir.display()
        );
        // Every failing test then says where the logs are.
        let shown = dir.clone();
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            prev(info);
            eprintln!(
                "mm2-e2e: bed folder {} (process logs, operator.log; rerun with MM2_KEEP_BED=1 to keep it)",
                shown.display()
            );
        }));
        Self::start_in(&dir, t0).map_err(|e| {
            format!(
                "{e:#}\n(bed folder: {}; set MM2_KEEP_BED=1 to keep it)",
                dir.display()
            )
        })
    }

    fn start_in(dir: &Path, t0: Instant) -> Result<Bed> {
        procs::ensure_addr(Ipv4Addr::new(198, 18, 0, 1))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("mm2-e2e-bed")
            .enable_all()
            .build()?;
        let clusters = rt.block_on(async {
            let specs = ALIASES.iter().enumerate().map(|(i, a)| ClusterSpec {
                alias: a.to_string(),
                context: format!("rciis-{a}"),
                advertise: Ipv4Addr::new(198, 18, 0, 1 + i as u8),
                dir: dir.join(a),
                with_kcm: true,
            });
            futures::future::try_join_all(specs.map(start_cluster)).await
        })?;

        let Kubeconfigs {
            main: main_kc,
            path: kubeconfig,
            viewer_path: viewer_kubeconfig,
        } = write_bed_kubeconfigs(dir, &clusters)?;

        let black_hole = spawn_black_hole(&rt)?;

        let pod_ips = Arc::new(PodIps::default());
        let doubles = Doubles::new(rt.handle().clone());
        let kubelets = Kubelets::new(rt.handle().clone());
        for c in &clusters {
            let Some(node) = &c.node else { continue };
            let client = rt.block_on(c.client());
            kubelets.start(KubeletNode {
                alias: c.alias.clone(),
                node: node.clone(),
                ip: c.advertise,
                dir: c.dir.join("kubelet"),
                client_ca_pem: c.ca_pem.clone(),
                client,
            })?;
        }
        for c in &clusters {
            operator::spawn(
                rt.handle(),
                operator::OperatorConfig {
                    alias: c.alias.clone(),
                    kubeconfig: c.admin_kubeconfig.clone(),
                    context: c.context.clone(),
                    node: c.node.clone().unwrap_or_default(),
                    host_ip: c.advertise,
                },
                doubles.clone(),
                pod_ips.clone(),
            );
        }

        let mut bed = Bed {
            dir: dir.to_path_buf(),
            kubeconfig,
            viewer_kubeconfig,
            kubeconfig_value: main_kc,
            clusters,
            rt,
            doubles,
            kubelets,
            pod_ips,
            black_hole,
            startup: Duration::ZERO,
            next_extra: AtomicU8::new(0),
        };
        bed.rt.block_on(fixtures::install_runbook(&bed, DEFAULT_NS))?;
        for c in &bed.clusters {
            c.check_alive()?;
        }
        bed.startup = t0.elapsed();
        eprintln!("mm2-e2e: bed ready in {:.1} s", bed.startup.as_secs_f64());
        Ok(bed)
    }

    /// The bed folder (process logs under `<alias>/`, kubeconfigs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Main kubeconfig: contexts `rciis-aws`, `rciis-proxmox` (admin, namespace `rciis-prod`),
    /// then `viewer@rciis-aws`, `viewer@rciis-proxmox`; current context `rciis-aws`.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A read-only operator's own kubeconfig: contexts `rciis-aws`, `rciis-proxmox` as `viewer`.
    pub fn viewer_kubeconfig(&self) -> &Path {
        &self.viewer_kubeconfig
    }

    /// The kubeconfig as a JSON value (to derive variants).
    pub fn kubeconfig_value(&self) -> &Value {
        &self.kubeconfig_value
    }

    /// Both clusters, `aws` first.
    pub fn clusters(&self) -> &[Cluster] {
        &self.clusters
    }

    /// The cluster with alias `aws` or `proxmox` (panics otherwise).
    pub fn cluster(&self, alias: &str) -> &Cluster {
        self.clusters
            .iter()
            .find(|c| c.alias == alias)
            .unwrap_or_else(|| panic!("no cluster {alias:?}"))
    }

    /// The peer of `aws` is `proxmox` and vice versa.
    pub fn peer(alias: &str) -> &'static str {
        match alias {
            "aws" => "proxmox",
            "proxmox" => "aws",
            other => panic!("no peer for {other:?}"),
        }
    }

    /// Admin client of `alias` (default namespace `rciis-prod`), built in the calling runtime.
    pub async fn client(&self, alias: &str) -> Client {
        client_for(&self.kubeconfig, &self.cluster(alias).context)
            .await
            .expect("admin client")
    }

    /// Client of the read-only `viewer` user on `alias`.
    pub async fn viewer_client(&self, alias: &str) -> Client {
        client_for(&self.kubeconfig, &self.cluster(alias).viewer_context)
            .await
            .expect("viewer client")
    }

    /// A handle to the bed's own runtime (operator, doubles and black hole run there).
    pub fn handle(&self) -> tokio::runtime::Handle {
        self.rt.handle().clone()
    }

    /// Runs a future to completion on the bed's runtime. Only from synchronous code (a plain
    /// `#[test]`), never from inside an async runtime.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The HTTP doubles (Kafka Connect REST on 8083 and JMX exporter on 9404 of each MM2 pod).
    pub fn doubles(&self) -> &Doubles {
        &self.doubles
    }

    /// The kubelet double of each cluster's node (serves `pods/log` behind the API server).
    pub fn kubelets(&self) -> &Kubelets {
        &self.kubelets
    }

    /// Pod address allocation.
    pub fn pod_ips(&self) -> &Arc<PodIps> {
        &self.pod_ips
    }

    /// How long the bed took to start (clusters, CRDs, fixtures, first reconcile).
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// The black-hole listener (accepts TCP connections, never sends a byte).
    pub fn black_hole_addr(&self) -> SocketAddr {
        self.black_hole
    }

    /// Writes (once per alias) and returns a copy of the main kubeconfig in which cluster
    /// `rciis-<alias>` (used by the admin and viewer contexts of `alias`) points at the black hole:
    /// TCP connects, TLS never completes, so clients hit their connect timeout.
    pub fn kubeconfig_with_dead_context(&self, alias: &str) -> PathBuf {
        let ctx = &self.cluster(alias).context;
        let mut v = self.kubeconfig_value.clone();
        if let Some(cs) = v["clusters"].as_array_mut() {
            for c in cs {
                if c["name"] == json!(ctx) {
                    c["cluster"]["server"] = json!(format!("https://{}", self.black_hole));
                }
            }
        }
        let p = self.dir.join(format!("dead-{alias}.kubeconfig"));
        write_kubeconfig(&p, &v).expect("write dead kubeconfig");
        p
    }

    /// Starts an independent third control plane (etcd + kube-apiserver, no controller
    /// manager) with the bed's CRDs and namespaces `rciis-prod`/`flux-system`. Its kubeconfig
    /// holds every context of the main kubeconfig plus context `name` (admin, namespace
    /// `rciis-prod`). Kill its apiserver with [`ExtraCluster::stop`]; dropping it kills all.
    pub async fn spawn_extra_cluster(&self, name: &str) -> Result<ExtraCluster> {
        let n = self.next_extra.fetch_add(1, Ordering::SeqCst);
        if n > 200 {
            bail!("too many extra clusters");
        }
        let dir = self.dir.join(format!("extra-{n}-{name}"));
        let cluster = start_cluster(ClusterSpec {
            alias: name.to_string(),
            context: name.to_string(),
            advertise: Ipv4Addr::new(198, 18, 0, 20 + n),
            dir: dir.clone(),
            with_kcm: false,
        })
        .await?;
        let mut v = self.kubeconfig_value.clone();
        let extra = kubeconfig_value(
            &[KcEntry {
                context: name.to_string(),
                cluster: name.to_string(),
                server: cluster.server.clone(),
                ca_pem: cluster.ca_pem.clone(),
                user: format!("admin@{name}"),
                token: cluster.admin_token.clone(),
                namespace: Some(DEFAULT_NS.to_string()),
            }],
            name,
        );
        for key in ["clusters", "users", "contexts"] {
            let add = extra[key].as_array().cloned().unwrap_or_default();
            v[key].as_array_mut().expect("kubeconfig list").extend(add);
        }
        let kubeconfig = dir.join("with-extra.kubeconfig");
        write_kubeconfig(&kubeconfig, &v)?;
        Ok(ExtraCluster {
            name: name.to_string(),
            kubeconfig,
            cluster,
        })
    }

    /// Runs the image's `kubectl` with `KUBECONFIG` set to the main kubeconfig.
    pub fn kubectl(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .output()
            .expect("run kubectl")
    }

    /// Fails when a control-plane process died.
    pub fn check_alive(&self) -> Result<()> {
        for c in &self.clusters {
            c.check_alive()?;
        }
        Ok(())
    }
}

/// A third control plane for "API server stopped" tests.
pub struct ExtraCluster {
    /// Its context (and cluster) name.
    pub name: String,
    /// Main kubeconfig plus this context.
    pub kubeconfig: PathBuf,
    cluster: Cluster,
}

impl ExtraCluster {
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    pub fn server(&self) -> &str {
        &self.cluster.server
    }

    /// Admin client (built in the calling runtime).
    pub async fn client(&self) -> Client {
        self.cluster.client().await
    }

    /// Kills its kube-apiserver (SIGKILL); etcd keeps running. Connections are then refused.
    pub fn stop(&self) {
        self.cluster.apiserver.kill();
    }
}
