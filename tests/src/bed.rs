//! The test bed: two real Kubernetes v1.20.2 control planes (`aws` and `proxmox`), each etcd +
//! kube-apiserver + kube-controller-manager, with certificates, token users, RBAC, kubeconfigs,
//! CRDs, the runbook fixtures, the simulated Strimzi operator and the HTTP doubles.
//!
//! Everything runs inside the isolated network namespace made by `tests/netns-run.sh`.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Node};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};

use crate::doubles::Doubles;
use crate::procs::{self, Proc};
use crate::{crds, fixtures, operator};

/// The two cluster aliases, in kubeconfig order.
pub const ALIASES: [&str; 2] = ["aws", "proxmox"];
/// The namespace of the runbook deployment installed at bed start.
pub const DEFAULT_NS: &str = "rciis-prod";
/// Flux's namespace.
pub const FLUX_NS: &str = "flux-system";
/// The address of the black-hole listener (accepts TCP connections, never answers).
pub const BLACK_HOLE_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 9);

/// Kubernetes version of the bed's binaries.
pub const K8S_VERSION: &str = "v1.20.2";

/// Where the kube-apiserver and kube-controller-manager binaries are: `$KUBEBUILDER_ASSETS`, else
/// `${MM2_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-mm2/testbed/v1.20.2}` (what
/// `scripts/testbed.sh` prints).
pub fn assets_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("KUBEBUILDER_ASSETS").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("MM2_TESTBED_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cache")
        });
    cache.join("kubectl-mm2/testbed").join(K8S_VERSION)
}

fn binary(name: &str) -> Result<PathBuf> {
    let p = assets_dir().join(name);
    if p.is_file() {
        return Ok(p);
    }
    if name == "etcd" {
        for c in ["/usr/bin/etcd", "/usr/local/bin/etcd"] {
            if Path::new(c).is_file() {
                return Ok(PathBuf::from(c));
            }
        }
    }
    bail!(
        "{name} not found in {} (set KUBEBUILDER_ASSETS, or run scripts/testbed.sh to build it)",
        assets_dir().display()
    )
}

/// One running control plane.
pub struct Cluster {
    /// `aws`, `proxmox`, or the name of an extra cluster.
    pub alias: String,
    /// Admin context name (`rciis-aws`); also the kubeconfig cluster name.
    pub context: String,
    /// Viewer context name in the main kubeconfig (`viewer@rciis-aws`).
    pub viewer_context: String,
    /// `https://127.0.0.1:<port>`.
    pub server: String,
    /// The apiserver's `--advertise-address`.
    pub advertise: Ipv4Addr,
    /// PEM of this cluster's CA.
    pub ca_pem: String,
    /// Bearer token of the admin user (`admin`, group `system:masters`).
    pub admin_token: String,
    /// Bearer token of the read-only user `viewer`.
    pub viewer_token: String,
    /// Folder with this cluster's certificates, tokens, kubeconfigs and process logs.
    pub dir: PathBuf,
    /// A kubeconfig with just this cluster's admin context (named like `context`).
    pub admin_kubeconfig: PathBuf,
    /// The one Node object of the two main clusters (`rciis-aws-worker-1`); pods are bound to
    /// it (the endpoint controllers need a node) and the simulated operator plays its kubelet.
    pub node: Option<String>,
    etcd: Proc,
    apiserver: Proc,
    kcm: Option<Proc>,
}

impl Cluster {
    /// An admin client whose default namespace is `rciis-prod`. Create clients in the runtime
    /// that uses them (each `#[tokio::test]` has its own runtime).
    pub async fn client(&self) -> Client {
        client_for(&self.admin_kubeconfig, &self.context)
            .await
            .expect("admin client")
    }

    /// Process logs (etcd, apiserver, controller manager).
    pub fn logs(&self) -> Vec<PathBuf> {
        let mut v = vec![self.etcd.log.clone(), self.apiserver.log.clone()];
        if let Some(k) = &self.kcm {
            v.push(k.log.clone());
        }
        v
    }

    fn check_alive(&self) -> Result<()> {
        for p in [Some(&self.etcd), Some(&self.apiserver), self.kcm.as_ref()]
            .into_iter()
            .flatten()
        {
            if let Some(how) = p.exited() {
                bail!(
                    "{} of {} exited ({how}); log {}:\n{}",
                    p.name,
                    self.alias,
                    p.log.display(),
                    p.log_tail(30)
                );
            }
        }
        Ok(())
    }
}

/// A client for `context` in `kubeconfig`, with retries off and a 5 s connect timeout.
pub async fn client_for(kubeconfig: &Path, context: &str) -> Result<Client> {
    let kc = Kubeconfig::read_from(kubeconfig).with_context(|| format!("read {}", kubeconfig.display()))?;
    let opts = KubeConfigOptions {
        context: Some(context.to_string()),
        ..Default::default()
    };
    let mut cfg = Config::from_custom_kubeconfig(kc, &opts).await?;
    cfg.default_retry = false;
    cfg.connect_timeout = Some(Duration::from_secs(5));
    Ok(Client::try_from(cfg)?)
}

fn b64(bytes: &[u8]) -> String {
    match serde_json::to_value(ByteString(bytes.to_vec())) {
        Ok(Value::String(s)) => s,
        other => panic!("ByteString did not serialise to a string: {other:?}"),
    }
}

fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    let f = std::fs::File::open("/dev/urandom").and_then(|mut f| std::io::Read::read_exact(&mut f, &mut buf));
    f.expect("read /dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn random_alnum(n: usize) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut buf))
        .expect("read /dev/urandom");
    buf.iter().map(|b| A[(*b as usize) % A.len()] as char).collect()
}

struct ClusterSpec {
    alias: String,
    context: String,
    advertise: Ipv4Addr,
    dir: PathBuf,
    with_kcm: bool,
}

fn make_certs(dir: &Path, name: &str, advertise: Ipv4Addr) -> Result<()> {
    let ext = format!(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,IP:{advertise}\n"
    );
    std::fs::write(dir.join("serving.ext"), ext)?;
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let ca_subj = format!("/CN={name}-ca");
    let mut a = vec!["req", "-x509"];
    a.extend(ec);
    a.extend([
        "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650", "-subj", &ca_subj,
    ]);
    a.extend([
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    procs::run("openssl", &a, dir)?;
    let mut a = vec!["req"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "serving.key",
        "-out",
        "serving.csr",
        "-subj",
        "/CN=kube-apiserver",
    ]);
    procs::run("openssl", &a, dir)?;
    procs::run(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            "serving.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "serving.crt",
            "-days",
            "3650",
            "-extfile",
            "serving.ext",
        ],
        dir,
    )?;
    procs::run("openssl", &["genrsa", "-out", "sa.key", "2048"], dir)?;
    procs::run(
        "openssl",
        &["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"],
        dir,
    )?;
    Ok(())
}

/// A kubeconfig (as JSON; written as YAML) from (context, cluster, user, namespace) entries.
pub(crate) struct KcEntry {
    pub context: String,
    pub cluster: String,
    pub server: String,
    pub ca_pem: String,
    pub user: String,
    pub token: String,
    pub namespace: Option<String>,
}

pub(crate) fn kubeconfig_value(entries: &[KcEntry], current: &str) -> Value {
    let mut clusters: Vec<Value> = Vec::new();
    let mut users: Vec<Value> = Vec::new();
    let mut contexts = Vec::new();
    let mut seen_c = HashSet::new();
    let mut seen_u = HashSet::new();
    for e in entries {
        if seen_c.insert(e.cluster.clone()) {
            clusters.push(json!({"name": e.cluster, "cluster": {
                "server": e.server, "certificate-authority-data": b64(e.ca_pem.as_bytes())}}));
        }
        if seen_u.insert(e.user.clone()) {
            users.push(json!({"name": e.user, "user": {"token": e.token}}));
        }
        let mut ctx = json!({"cluster": e.cluster, "user": e.user});
        if let Some(ns) = &e.namespace {
            ctx["namespace"] = json!(ns);
        }
        contexts.push(json!({"name": e.context, "context": ctx}));
    }
    json!({"apiVersion": "v1", "kind": "Config", "preferences": {}, "clusters": clusters,
           "users": users, "contexts": contexts, "current-context": current})
}

pub(crate) fn write_kubeconfig(path: &Path, v: &Value) -> Result<()> {
    let text = serde_saphyr::to_string(v).map_err(|e| anyhow!("serialise kubeconfig: {e}"))?;
    std::fs::write(path, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

async fn create_or_exists<K>(api: &Api<K>, obj: &K) -> Result<()>
where
    K: Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    match api.create(&PostParams::default(), obj).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.is_already_exists() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// RBAC of the bed: the viewer's read-only roles and the controller manager's extra rights.
async fn setup_rbac(client: &Client) -> Result<()> {
    let roles: Api<ClusterRole> = Api::all(client.clone());
    let mm2_read: ClusterRole = serde_json::from_value(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "mm2-read"},
        "rules": [{"apiGroups": ["kafka.strimzi.io", "multicluster.x-k8s.io",
                                 "kustomize.toolkit.fluxcd.io", "source.toolkit.fluxcd.io"],
                   "resources": ["*"], "verbs": ["get", "list", "watch"]}]
    }))?;
    create_or_exists(&roles, &mm2_read).await?;
    let bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
    for (name, role, user) in [
        (
            "testbed-kcm-gc",
            "system:controller:generic-garbage-collector",
            "system:kube-controller-manager",
        ),
        (
            "testbed-kcm-ns",
            "system:controller:namespace-controller",
            "system:kube-controller-manager",
        ),
        (
            "testbed-kcm-ep",
            "system:controller:endpoint-controller",
            "system:kube-controller-manager",
        ),
        (
            "testbed-kcm-eps",
            "system:controller:endpointslice-controller",
            "system:kube-controller-manager",
        ),
        // `view` is an aggregated ClusterRole: empty until this controller fills it, as in a
        // real cluster. Without it the read-only user could not even list pods.
        (
            "testbed-kcm-agg",
            "system:controller:clusterrole-aggregation-controller",
            "system:kube-controller-manager",
        ),
        ("viewer-view", "view", "viewer"),
        ("viewer-mm2-read", "mm2-read", "viewer"),
    ] {
        let b: ClusterRoleBinding = serde_json::from_value(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]
        }))?;
        create_or_exists(&bindings, &b).await?;
    }
    Ok(())
}

/// Creates the cluster's one Node, Ready, with `ip` as its InternalIP.
async fn create_node(client: &Client, name: &str, alias: &str, ip: Ipv4Addr) -> Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    let zone = if alias == "aws" {
        "eu-west-1a"
    } else {
        "pve-zone-1"
    };
    let node: Node = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                     "kubernetes.io/arch": "amd64", "topology.kubernetes.io/zone": zone}},
        "spec": {}}))?;
    create_or_exists(&api, &node).await?;
    let now = crate::operator::now_k8s();
    let cond = |t: &str, st: &str, reason: &str| {
        json!({"type": t, "status": st, "reason": reason,
        "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    let status = json!({"status": {
        "conditions": [cond("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                       cond("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                       cond("PIDPressure", "False", "KubeletHasSufficientPID"),
                       cond("Ready", "True", "KubeletReady")],
        "addresses": [{"type": "InternalIP", "address": ip.to_string()}, {"type": "Hostname", "address": name}],
        "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
        "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
        "nodeInfo": {"kubeletVersion": K8S_VERSION, "kubeProxyVersion": K8S_VERSION, "operatingSystem": "linux",
                     "architecture": "amd64", "containerRuntimeVersion": "containerd://1.7.24",
                     "kernelVersion": "6.1.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                     "machineID": "", "systemUUID": "", "bootID": ""}}});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(status))
        .await?;
    Ok(())
}

/// Creates a namespace unless it exists.
pub async fn ensure_namespace(client: &Client, ns: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let obj: Namespace =
        serde_json::from_value(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))?;
    create_or_exists(&api, &obj).await
}

async fn start_cluster(spec: ClusterSpec) -> Result<Cluster> {
    let dir = spec.dir.clone();
    std::fs::create_dir_all(&dir)?;
    procs::ensure_addr(spec.advertise)?;
    {
        let (d, c, a) = (dir.clone(), spec.context.clone(), spec.advertise);
        tokio::task::spawn_blocking(move || make_certs(&d, &c, a)).await??;
    }
    let admin_token = random_hex(16);
    let viewer_token = random_hex(16);
    let kcm_token = random_hex(16);
    std::fs::write(
        dir.join("tokens.csv"),
        format!(
            "{admin_token},admin,uid-admin,\"system:masters\"\n{viewer_token},viewer,uid-viewer\n\
             {kcm_token},system:kube-controller-manager,uid-kcm\n"
        ),
    )?;
    let ca_pem = std::fs::read_to_string(dir.join("ca.crt"))?;

    // etcd data lives in /dev/shm when available (much faster fsync); removed at exit.
    let etcd_data = match tempfile::Builder::new()
        .prefix("mm2-e2e-etcd-")
        .tempdir_in("/dev/shm")
    {
        Ok(t) => t.keep(),
        Err(_) => dir.join("etcd"),
    };
    procs::remove_at_exit(&etcd_data);
    let (ep, pp, ap) = (procs::free_port(), procs::free_port(), procs::free_port());
    let etcd_name = spec.alias.replace(|c: char| !c.is_ascii_alphanumeric(), "-");
    let etcd_args: Vec<String> = [
        "--name",
        &etcd_name,
        "--data-dir",
        &etcd_data.display().to_string(),
        "--listen-client-urls",
        &format!("http://127.0.0.1:{ep}"),
        "--advertise-client-urls",
        &format!("http://127.0.0.1:{ep}"),
        "--listen-peer-urls",
        &format!("http://127.0.0.1:{pp}"),
        "--initial-advertise-peer-urls",
        &format!("http://127.0.0.1:{pp}"),
        "--initial-cluster",
        &format!("{etcd_name}=http://127.0.0.1:{pp}"),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let etcd = Proc::spawn("etcd", &binary("etcd")?, &etcd_args, &dir.join("etcd.log"))?;

    let d = |f: &str| dir.join(f).display().to_string();
    let api_args: Vec<String> = vec![
        "--etcd-servers".into(),
        format!("http://127.0.0.1:{ep}"),
        "--bind-address".into(),
        "127.0.0.1".into(),
        "--secure-port".into(),
        ap.to_string(),
        "--advertise-address".into(),
        spec.advertise.to_string(),
        "--tls-cert-file".into(),
        d("serving.crt"),
        "--tls-private-key-file".into(),
        d("serving.key"),
        "--client-ca-file".into(),
        d("ca.crt"),
        "--token-auth-file".into(),
        d("tokens.csv"),
        "--authorization-mode".into(),
        "RBAC".into(),
        "--service-cluster-ip-range".into(),
        "10.96.0.0/16".into(),
        "--service-account-issuer".into(),
        "https://kubernetes.default.svc".into(),
        "--service-account-key-file".into(),
        d("sa.pub"),
        "--service-account-signing-key-file".into(),
        d("sa.key"),
        "--disable-admission-plugins".into(),
        "ServiceAccount".into(),
        "--allow-privileged=true".into(),
        "--cert-dir".into(),
        d("certs"),
    ];
    let apiserver = Proc::spawn(
        "kube-apiserver",
        &binary("kube-apiserver")?,
        &api_args,
        &dir.join("kube-apiserver.log"),
    )?;
    let server = format!("https://127.0.0.1:{ap}");

    let admin_kubeconfig = dir.join("admin.kubeconfig");
    let entry = |user: &str, token: &str| KcEntry {
        context: spec.context.clone(),
        cluster: spec.context.clone(),
        server: server.clone(),
        ca_pem: ca_pem.clone(),
        user: format!("{user}@{}", spec.context),
        token: token.to_string(),
        namespace: Some(DEFAULT_NS.to_string()),
    };
    write_kubeconfig(
        &admin_kubeconfig,
        &kubeconfig_value(&[entry("admin", &admin_token)], &spec.context),
    )?;
    let kcm_kubeconfig = dir.join("kcm.kubeconfig");
    write_kubeconfig(
        &kcm_kubeconfig,
        &kubeconfig_value(&[entry("kcm", &kcm_token)], &spec.context),
    )?;

    let mut cluster = Cluster {
        alias: spec.alias.clone(),
        context: spec.context.clone(),
        viewer_context: format!("viewer@{}", spec.context),
        server,
        advertise: spec.advertise,
        ca_pem,
        admin_token,
        viewer_token,
        dir: dir.clone(),
        admin_kubeconfig,
        node: None,
        etcd,
        apiserver,
        kcm: None,
    };

    // Poll /readyz.
    let client = client_for(&cluster.admin_kubeconfig, &cluster.context).await?;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        cluster.check_alive()?;
        let req = http::Request::get("/readyz").body(Vec::new())?;
        let last = match tokio::time::timeout(Duration::from_secs(5), client.request_text(req)).await {
            Ok(Ok(body)) if body.trim() == "ok" => break,
            Ok(Ok(body)) => body,
            Ok(Err(e)) => format!("{e:#}"),
            Err(_) => "timed out".into(),
        };
        if Instant::now() > deadline {
            bail!(
                "{} apiserver not ready after 180 s (last: {last}); log {}:\n{}",
                cluster.alias,
                cluster.apiserver.log.display(),
                cluster.apiserver.log_tail(30)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    setup_rbac(&client)
        .await
        .with_context(|| format!("RBAC on {}", cluster.alias))?;
    // CRDs before the controller manager, so that its garbage collector knows them from the start.
    crds::install(&client, &crds::selected_crds()?)
        .await
        .with_context(|| format!("CRDs on {}", cluster.alias))?;
    for ns in [DEFAULT_NS, FLUX_NS] {
        ensure_namespace(&client, ns).await?;
    }

    if spec.with_kcm {
        let node = format!("{}-worker-1", spec.context);
        create_node(&client, &node, &spec.alias, spec.advertise).await?;
        cluster.node = Some(node);
        let kcm_args: Vec<String> = vec![
            "--kubeconfig".into(),
            kcm_kubeconfig.display().to_string(),
            "--controllers".into(),
            "garbagecollector,namespace,serviceaccount,endpoint,endpointslice,clusterrole-aggregation".into(),
            "--leader-elect=false".into(),
            "--secure-port".into(),
            "0".into(),
            "--port".into(),
            "0".into(),
        ];
        cluster.kcm = Some(Proc::spawn(
            "kube-controller-manager",
            &binary("kube-controller-manager")?,
            &kcm_args,
            &dir.join("kube-controller-manager.log"),
        )?);
    }
    Ok(cluster)
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

/// The shared test bed. Get it with [`bed()`].
pub struct Bed {
    dir: PathBuf,
    kubeconfig: PathBuf,
    viewer_kubeconfig: PathBuf,
    kubeconfig_value: Value,
    clusters: Vec<Cluster>,
    rt: tokio::runtime::Runtime,
    doubles: Doubles,
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

        // Kubeconfigs.
        let entry = |c: &Cluster, ctx: String, user: &str, token: &str| KcEntry {
            context: ctx,
            cluster: c.context.clone(),
            server: c.server.clone(),
            ca_pem: c.ca_pem.clone(),
            user: format!("{user}@{}", c.context),
            token: token.to_string(),
            namespace: Some(DEFAULT_NS.to_string()),
        };
        let mut entries: Vec<KcEntry> = clusters
            .iter()
            .map(|c| entry(c, c.context.clone(), "admin", &c.admin_token))
            .collect();
        entries.extend(
            clusters
                .iter()
                .map(|c| entry(c, c.viewer_context.clone(), "viewer", &c.viewer_token)),
        );
        let main_kc = kubeconfig_value(&entries, "rciis-aws");
        let kubeconfig = dir.join("kubeconfig");
        write_kubeconfig(&kubeconfig, &main_kc)?;
        let viewer_entries: Vec<KcEntry> = clusters
            .iter()
            .map(|c| entry(c, c.context.clone(), "viewer", &c.viewer_token))
            .collect();
        let viewer_kubeconfig = dir.join("viewer.kubeconfig");
        write_kubeconfig(
            &viewer_kubeconfig,
            &kubeconfig_value(&viewer_entries, "rciis-aws"),
        )?;

        // Black hole: accepts TCP connections and never answers.
        procs::ensure_addr(BLACK_HOLE_IP)?;
        let black_hole = rt.block_on(async {
            let l = tokio::net::TcpListener::bind((BLACK_HOLE_IP, 6443)).await?;
            let addr = l.local_addr()?;
            tokio::spawn(async move {
                let mut held = Vec::new();
                while let Ok((s, _)) = l.accept().await {
                    held.push(s);
                }
            });
            anyhow::Ok(addr)
        })?;

        let pod_ips = Arc::new(PodIps::default());
        let doubles = Doubles::new(rt.handle().clone());
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

/// Path of a binary of the workspace (`kubectl-mm2`, `kubectl-clusterset`) in the target dir
/// next to the running test binary. Panics if it has not been built (`cargo build --workspace`).
pub fn product_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // Tests run as target/<profile>/deps/e2e-<hash>; bins (bench-status, mm2-demo) as
    // target/<profile>/<bin>.
    let dir = exe.parent().expect("target dir");
    let profile_dir = if dir.ends_with("deps") {
        dir.parent().expect("target profile dir")
    } else {
        dir
    };
    let p = profile_dir.join(name);
    assert!(
        p.is_file(),
        "{} is not built; run `cargo build --workspace` (same profile) before the e2e tests",
        p.display()
    );
    p
}
