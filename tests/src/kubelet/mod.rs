//! A kubelet double per bed cluster: the HTTPS server kube-apiserver calls for `pods/log`.
//!
//! What kube-apiserver 1.20 does for `GET /api/v1/namespaces/N/pods/P/log?container=C&...`
//! (`pkg/registry/core/pod/strategy.go` `LogLocation`, `pkg/kubelet/client/kubelet_client.go`):
//! it checks that C is a container of P (400 otherwise), reads the pod's `spec.nodeName` (no node:
//! an empty answer), reads that Node and picks its first address of the types in
//! `--kubelet-preferred-address-types` (default Hostname first; the bed passes kubeadm's
//! `InternalIP,ExternalIP,Hostname`, since nothing resolves the node's host name here), takes the
//! port from `status.daemonEndpoints.kubeletEndpoint.Port` (else `--kubelet-port`, 10250), and
//! streams `https://<address>:<port>/containerLogs/N/P/C?tailLines=…&sinceSeconds=…&timestamps=…`.
//! Without `--kubelet-certificate-authority` it does not verify the kubelet's certificate (a
//! kubelet's own certificate is self-signed, as this double's is); it presents the client
//! certificate of `--kubelet-client-certificate` (the bed's, signed by the cluster CA like
//! kubeadm's `apiserver-kubelet-client`). A kubelet answer outside 2xx comes back to the client
//! through `GenericHttpResponseChecker`: 404 as "the server could not find the requested resource",
//! 401 as "the server has asked for the client to provide credentials", 403 with the kubelet's
//! text, 400/500 with it; a kubelet that cannot be reached is a 500 naming the dial error.
//!
//! This double serves `/containerLogs` only, like the kubelet with anonymous access off: no
//! client certificate signed by the cluster CA → 401. It learns the pods of its node from the API
//! server, as a kubelet does (an unknown pod or container → 404 with the kubelet's text), and
//! serves for each container the start-up lines of a MirrorMaker 2 worker (ending at the
//! container's start) plus whatever a test appended ([`Kubelets::append_log`]), applying the query the way the
//! kubelet does (`logs.rs`). Tests can make it misbehave for one namespace ([`Fault`]) so that
//! concurrent tests sharing the node are not disturbed.

pub mod logs;

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::{Context as _, Result};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig, crypto};

use crate::doubles::{HttpResponse, PodKey, RecordedRequest, percent_decode, read_request, write_response};
use crate::procs;
use logs::{LogLine, LogQuery};

/// The kubelet's port, reported in the Node's `status.daemonEndpoints.kubeletEndpoint.Port`.
pub const KUBELET_PORT: u16 = 10250;

/// A way for the kubelet to fail the requests for one namespace's pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 403 from the kubelet's authorizer, as when the API server's kubelet-client identity lacks
    /// `nodes/proxy` (`Forbidden (user=…, verb=get, resource=nodes, subresource=proxy)`).
    Forbidden,
    /// Reads the request and never answers (a wedged kubelet or container runtime).
    Hang,
    /// Closes the connection without an answer (a kubelet that crashed mid-request).
    Drop,
}

/// What starting one kubelet needs.
pub struct KubeletNode {
    /// Cluster alias (`aws`).
    pub alias: String,
    /// The Node's name.
    pub node: String,
    /// The Node's InternalIP (already on `lo`).
    pub ip: Ipv4Addr,
    /// Where its certificate and key go.
    pub dir: PathBuf,
    /// PEM of the CA whose client certificates it accepts (kubelet `--client-ca-file`).
    pub client_ca_pem: String,
    /// How it learns its pods (built on the bed's runtime).
    pub client: kube::Client,
}

struct Node {
    name: String,
    client: kube::Client,
}

#[derive(Default)]
struct State {
    nodes: HashMap<String, Node>,
    appended: HashMap<(PodKey, String), Vec<LogLine>>,
    faults: HashMap<(String, String), Fault>,
    requests: HashMap<String, Vec<RecordedRequest>>,
}

struct Inner {
    handle: tokio::runtime::Handle,
    state: Mutex<State>,
}

/// The kubelet doubles of the bed (cheap to clone).
#[derive(Clone)]
pub struct Kubelets {
    inner: Arc<Inner>,
}

enum Answer {
    Respond(HttpResponse),
    Hang,
    Drop,
}

impl Kubelets {
    pub(crate) fn new(handle: tokio::runtime::Handle) -> Kubelets {
        Kubelets {
            inner: Arc::new(Inner {
                handle,
                state: Mutex::new(State::default()),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the kubelet of `n.node` on `n.ip:10250` (on the bed's runtime).
    pub(crate) fn start(&self, n: KubeletNode) -> Result<SocketAddr> {
        procs::assert_isolated_netns();
        let acceptor = TlsAcceptor::from(server_config(&n.dir, &n.node, n.ip, &n.client_ca_pem)?);
        let std_l = std::net::TcpListener::bind((n.ip, KUBELET_PORT))
            .with_context(|| format!("bind the kubelet of {} on {}:{KUBELET_PORT}", n.node, n.ip))?;
        std_l.set_nonblocking(true)?;
        let addr = std_l.local_addr()?;
        let _guard = self.inner.handle.enter();
        let listener = tokio::net::TcpListener::from_std(std_l)?;
        self.state().nodes.insert(
            n.alias.clone(),
            Node {
                name: n.node,
                client: n.client,
            },
        );
        let (me, alias) = (self.clone(), n.alias);
        self.inner.handle.spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let (me, alias, acceptor) = (me.clone(), alias.clone(), acceptor.clone());
                tokio::spawn(async move {
                    let _ = me.serve_conn(&alias, acceptor, sock).await;
                });
            }
        });
        Ok(addr)
    }

    async fn serve_conn(
        &self,
        alias: &str,
        acceptor: TlsAcceptor,
        sock: tokio::net::TcpStream,
    ) -> io::Result<()> {
        let mut tls = acceptor.accept(sock).await?;
        // The verifier already checked any certificate offered against the cluster CA.
        let authenticated = tls.get_ref().1.peer_certificates().is_some_and(|c| !c.is_empty());
        let Some(req) = read_request(&mut tls, KUBELET_PORT).await? else {
            return Ok(());
        };
        match self.answer(alias, &req, authenticated).await {
            Answer::Respond(resp) => write_response(&mut tls, &req, &resp).await,
            Answer::Hang => {
                std::future::pending::<()>().await;
                Ok(())
            }
            Answer::Drop => Ok(()),
        }
    }

    async fn answer(&self, alias: &str, req: &RecordedRequest, authenticated: bool) -> Answer {
        self.state()
            .requests
            .entry(alias.to_string())
            .or_default()
            .push(req.clone());
        if !authenticated {
            return Answer::Respond(HttpResponse::text(401, "Unauthorized"));
        }
        let path = req.path();
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let ["containerLogs", ns, pod, container] = segs.as_slice() else {
            return Answer::Respond(HttpResponse::text(404, "404 page not found"));
        };
        let fault = self
            .state()
            .faults
            .get(&(alias.to_string(), ns.to_string()))
            .copied();
        let node = {
            let st = self.state();
            st.nodes.get(alias).map(|n| (n.name.clone(), n.client.clone()))
        };
        let Some((node, client)) = node else {
            return Answer::Respond(HttpResponse::text(503, "kubelet not started"));
        };
        match fault {
            Some(Fault::Forbidden) => {
                return Answer::Respond(HttpResponse::text(
                    403,
                    "Forbidden (user=kube-apiserver-kubelet-client, verb=get, resource=nodes, subresource=proxy)",
                ));
            }
            Some(Fault::Hang) => return Answer::Hang,
            Some(Fault::Drop) => return Answer::Drop,
            None => {}
        }
        if req.method != "GET" {
            return Answer::Respond(HttpResponse::text(405, "Method Not Allowed"));
        }
        let q = match LogQuery::parse(req.query()) {
            Ok(q) => q,
            Err(e) => return Answer::Respond(HttpResponse::text(e.status, e.message)),
        };
        let found = Api::<Pod>::namespaced(client, ns).get_opt(pod).await;
        let pod_obj = match found {
            Ok(Some(p)) if p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node.as_str()) => p,
            Ok(_) => {
                return Answer::Respond(HttpResponse::text(404, format!("pod {pod:?} does not exist\n")));
            }
            Err(e) => return Answer::Respond(HttpResponse::text(500, format!("{e}"))),
        };
        if !has_container(&pod_obj, container) {
            return Answer::Respond(HttpResponse::text(
                404,
                format!("container {container:?} not found in pod {pod:?}\n"),
            ));
        }
        if q.previous {
            // The bed's containers never restart: there is no previous instance.
            return Answer::Respond(HttpResponse::text(
                400,
                format!("previous terminated container {container:?} in pod {pod:?} not found"),
            ));
        }
        let lines = self.log_of(alias, &pod_obj, container);
        let body = logs::render(&lines, &q, Timestamp::now());
        Answer::Respond(HttpResponse {
            status: 200,
            content_type: "text/plain".into(),
            body,
        })
    }

    /// The whole log of `container` of `pod` as this kubelet holds it now, oldest first.
    fn log_of(&self, alias: &str, pod: &Pod, container: &str) -> Vec<LogLine> {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let ns = pod.metadata.namespace.clone().unwrap_or_default();
        let cluster = crate::operator::strimzi_cluster_of(pod);
        let status = pod.status.as_ref();
        let pod_ip = status.and_then(|s| s.pod_ip.clone()).unwrap_or_default();
        let mut lines = logs::connect_worker_startup(&name, &cluster, &pod_ip, started_at(pod, container));
        let key = (PodKey::new(alias, &ns, &name), container.to_string());
        lines.extend(self.state().appended.get(&key).cloned().unwrap_or_default());
        // Stable: lines written at the same instant keep the order they were written in.
        lines.sort_by_key(|l| l.at);
        lines
    }

    /// Appends a line written at `at` to the log of `container` of pod `alias/ns/pod`.
    pub fn append_log(&self, alias: &str, ns: &str, pod: &str, container: &str, at: Timestamp, text: &str) {
        self.state()
            .appended
            .entry((PodKey::new(alias, ns, pod), container.to_string()))
            .or_default()
            .push(LogLine {
                at,
                text: text.to_string(),
            });
    }

    /// The log of `container` of pod `alias/ns/pod` as a request without options would get it
    /// now (reads the pod from the API server).
    pub async fn full_log(&self, alias: &str, ns: &str, pod: &str, container: &str) -> Result<String> {
        let client = {
            let st = self.state();
            st.nodes.get(alias).map(|n| n.client.clone())
        }
        .with_context(|| format!("no kubelet in {alias}"))?;
        let p = Api::<Pod>::namespaced(client, ns).get(pod).await?;
        let lines = self.log_of(alias, &p, container);
        let body = logs::render(&lines, &LogQuery::default(), Timestamp::now());
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// Makes the kubelet of `alias` fail every log request for pods of `ns`.
    pub fn set_fault(&self, alias: &str, ns: &str, fault: Fault) {
        self.state().faults.insert((alias.into(), ns.into()), fault);
    }

    /// Back to answering for `ns`.
    pub fn clear_fault(&self, alias: &str, ns: &str) {
        self.state().faults.remove(&(alias.to_string(), ns.to_string()));
    }

    /// Requests the kubelet of `alias` received for pods of `ns`, oldest first.
    pub fn requests(&self, alias: &str, ns: &str) -> Vec<RecordedRequest> {
        let prefix = format!("/containerLogs/{ns}/");
        self.state()
            .requests
            .get(alias)
            .into_iter()
            .flatten()
            .filter(|r| percent_decode(&r.target).starts_with(&prefix))
            .cloned()
            .collect()
    }
}

fn has_container(pod: &Pod, container: &str) -> bool {
    pod.spec.as_ref().is_some_and(|s| {
        s.containers
            .iter()
            .chain(s.init_containers.iter().flatten())
            .any(|c| c.name == container)
    })
}

/// When the container started: its running state, else the pod's start, else its creation.
fn started_at(pod: &Pod, container: &str) -> Timestamp {
    let status = pod.status.as_ref();
    status
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.name == container))
        .and_then(|c| c.state.as_ref()?.running.as_ref()?.started_at.as_ref())
        .or(status.and_then(|s| s.start_time.as_ref()))
        .or(pod.metadata.creation_timestamp.as_ref())
        .map(|t| t.0)
        .unwrap_or_else(Timestamp::now)
}

/// TLS of the kubelet: a self-signed serving certificate for the node's name and address (what a
/// kubelet without `serverTLSBootstrap` makes for itself), and client certificates verified
/// against the cluster CA when offered (anonymous requests are then refused with 401).
fn server_config(dir: &Path, node: &str, ip: Ipv4Addr, client_ca_pem: &str) -> Result<Arc<ServerConfig>> {
    std::fs::create_dir_all(dir)?;
    let subject = format!("/CN={node}@{}", Timestamp::now().as_second());
    let san = format!("subjectAltName=IP:{ip},DNS:{node}");
    procs::run(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "kubelet.key",
            "-out",
            "kubelet.crt",
            "-days",
            "365",
            "-subj",
            &subject,
            "-addext",
            &san,
        ],
        dir,
    )?;
    let certs = CertificateDer::pem_file_iter(dir.join("kubelet.crt"))?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(dir.join("kubelet.key"))?;
    let mut roots = RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(client_ca_pem.as_bytes()) {
        roots.add(c?)?;
    }
    let provider = Arc::new(crypto::ring::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()?;
    let cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)?;
    Ok(Arc::new(cfg))
}
