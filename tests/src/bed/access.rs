//! Who may talk to the bed and how: clients, kubeconfigs (admin and read-only `viewer` users),
//! bearer tokens and the bed's RBAC.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use k8s_openapi::ByteString;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use kube::api::Api;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::{Value, json};

use super::DEFAULT_NS;
use super::control_plane::Cluster;
use super::objects::create_or_exists;

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

pub(super) fn random_hex(n: usize) -> String {
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

/// RBAC of the bed: the viewer's read-only roles and the controller manager's extra rights.
pub(super) async fn setup_rbac(client: &Client) -> Result<()> {
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

/// The bed's two kubeconfigs.
pub(super) struct Kubeconfigs {
    /// The main kubeconfig as a value (to derive variants).
    pub main: Value,
    /// Main kubeconfig: admin contexts of each cluster, then their `viewer@` contexts.
    pub path: PathBuf,
    /// A read-only operator's own kubeconfig: each cluster's context as `viewer`.
    pub viewer_path: PathBuf,
}

/// Writes `kubeconfig` and `viewer.kubeconfig` into `dir` for `clusters`.
pub(super) fn write_bed_kubeconfigs(dir: &Path, clusters: &[Cluster]) -> Result<Kubeconfigs> {
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

    Ok(Kubeconfigs {
        main: main_kc,
        path: kubeconfig,
        viewer_path: viewer_kubeconfig,
    })
}
