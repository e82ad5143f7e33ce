//! Process start-up of one control plane: finding the binaries, its certificates and tokens,
//! etcd + kube-apiserver (+ kube-controller-manager), and waiting until it is ready.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use kube::Client;

use super::access::{KcEntry, client_for, kubeconfig_value, random_hex, setup_rbac, write_kubeconfig};
use super::objects::{create_node, ensure_namespace};
use super::{DEFAULT_NS, FLUX_NS};
use crate::crds;
use crate::procs::{self, Proc};

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
    crate::cache_root().join("testbed").join(K8S_VERSION)
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
    pub(super) apiserver: Proc,
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

    pub(super) fn check_alive(&self) -> Result<()> {
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

pub(super) struct ClusterSpec {
    pub alias: String,
    pub context: String,
    pub advertise: Ipv4Addr,
    pub dir: PathBuf,
    pub with_kcm: bool,
}

/// EC P-256, as kubeadm makes them.
const EC_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

/// The cluster's PKI: its CA, the apiserver's serving certificate, the client certificate the
/// apiserver shows kubelets (kubeadm's `apiserver-kubelet-client`: group `system:masters`) and
/// the service-account key pair.
fn make_certs(dir: &Path, name: &str, advertise: Ipv4Addr) -> Result<()> {
    let ca_subj = format!("/CN={name}-ca");
    let mut a = vec!["req", "-x509"];
    a.extend(EC_KEY);
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
    sign_leaf(
        dir,
        "serving",
        "/CN=kube-apiserver",
        &format!(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost,IP:{advertise}\n"
        ),
    )?;
    sign_leaf(
        dir,
        "kubelet-client",
        "/O=system:masters/CN=kube-apiserver-kubelet-client",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
    )?;
    procs::run("openssl", &["genrsa", "-out", "sa.key", "2048"], dir)?;
    procs::run(
        "openssl",
        &["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"],
        dir,
    )?;
    Ok(())
}

/// `<stem>.key` and `<stem>.crt` signed by the cluster CA, with the X.509 extensions `ext`.
fn sign_leaf(dir: &Path, stem: &str, subject: &str, ext: &str) -> Result<()> {
    let (key, csr, crt, extfile) = (
        format!("{stem}.key"),
        format!("{stem}.csr"),
        format!("{stem}.crt"),
        format!("{stem}.ext"),
    );
    std::fs::write(dir.join(&extfile), ext)?;
    let mut a = vec!["req"];
    a.extend(EC_KEY);
    a.extend(["-keyout", &key, "-out", &csr, "-subj", subject]);
    procs::run("openssl", &a, dir)?;
    procs::run(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &crt,
            "-days",
            "3650",
            "-extfile",
            &extfile,
        ],
        dir,
    )?;
    Ok(())
}

pub(super) async fn start_cluster(spec: ClusterSpec) -> Result<Cluster> {
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
        // pods/log goes to the kubelet of the pod's node. kubeadm's address order: the default
        // puts Hostname first, and nothing resolves a node's host name in the bed.
        "--kubelet-preferred-address-types".into(),
        "InternalIP,ExternalIP,Hostname".into(),
        "--kubelet-client-certificate".into(),
        d("kubelet-client.crt"),
        "--kubelet-client-key".into(),
        d("kubelet-client.key"),
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
