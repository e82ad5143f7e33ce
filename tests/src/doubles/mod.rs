//! HTTP doubles bound to simulated pod addresses inside the network namespace.
//!
//! Every KafkaMirrorMaker2 pod the simulated operator creates gets a Kafka Connect REST double on
//! `<podIP>:8083` (answers from the connector status the operator wrote into the CR, unless a
//! route is overridden) and a JMX exporter double on `<podIP>:9404` (`GET /metrics`, text set by
//! the test with [`Doubles::set_metrics`]). The product reaches them only through the API
//! server's pod proxy: `/api/v1/namespaces/{ns}/pods/{pod}:9404/proxy/metrics`.
//!
//! `http` is the tiny server, `connect` what Connect and its exporter answer.

mod connect;
mod http;

use connect::connect_answer;
pub use connect::default_metrics;
use http::handle_conn;
pub use http::percent_decode;
pub(crate) use http::{read_request, write_response};

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

/// Port of the Kafka Connect REST API.
pub const CONNECT_PORT: u16 = 8083;
/// Port of the JMX Prometheus exporter.
pub const METRICS_PORT: u16 = 9404;

/// A simulated pod.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PodKey {
    pub alias: String,
    pub ns: String,
    pub pod: String,
}

impl PodKey {
    pub fn new(alias: &str, ns: &str, pod: &str) -> PodKey {
        PodKey {
            alias: alias.into(),
            ns: ns.into(),
            pod: pod.into(),
        }
    }
}

/// A request a double received.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// Local port (8083, 9404, ...).
    pub port: u16,
    pub method: String,
    /// Path and query, as sent (still percent-encoded).
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The path without the query, percent-decoded.
    pub fn path(&self) -> String {
        percent_decode(self.target.split('?').next().unwrap_or(""))
    }
    /// The query string (without `?`), or "".
    pub fn query(&self) -> &str {
        self.target.split_once('?').map(|(_, q)| q).unwrap_or("")
    }
}

/// A canned response.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn json(status: u16, v: &Value) -> HttpResponse {
        HttpResponse {
            status,
            content_type: "application/json".into(),
            body: v.to_string().into_bytes(),
        }
    }
    pub fn text(status: u16, body: impl Into<String>) -> HttpResponse {
        HttpResponse {
            status,
            content_type: "text/plain; version=0.0.4; charset=utf-8".into(),
            body: body.into().into_bytes(),
        }
    }
    pub fn empty(status: u16) -> HttpResponse {
        HttpResponse {
            status,
            content_type: "application/json".into(),
            body: Vec::new(),
        }
    }
}

/// A request handler of a generic double.
pub type Handler = Arc<dyn Fn(&RecordedRequest) -> HttpResponse + Send + Sync>;

#[derive(Default)]
struct State {
    /// Pod of each address.
    pods: HashMap<Ipv4Addr, PodKey>,
    /// MM2 name of each MM2 pod.
    pod_mm2: HashMap<PodKey, String>,
    /// (addr, port) with a listener.
    listening: HashSet<(Ipv4Addr, u16)>,
    /// Connector status entries (as in `.status.connectors`) per (alias, ns, mm2).
    connectors: HashMap<(String, String, String), Vec<Value>>,
    metrics: HashMap<PodKey, String>,
    routes: HashMap<(PodKey, u16, String, String), HttpResponse>,
    requests: HashMap<PodKey, Vec<RecordedRequest>>,
    /// Listener task of each (addr, port), to refuse connections on demand.
    listeners: HashMap<(Ipv4Addr, u16), tokio::task::AbortHandle>,
    /// Connect offsets (`GET /connectors/<n>/offsets` body) per (alias, ns, mm2, connector).
    offsets: HashMap<(String, String, String, String), Value>,
}

struct Inner {
    handle: tokio::runtime::Handle,
    state: Mutex<State>,
}

/// All doubles of the bed (cheap to clone).
#[derive(Clone)]
pub struct Doubles {
    inner: Arc<Inner>,
}

impl Doubles {
    pub(crate) fn new(handle: tokio::runtime::Handle) -> Doubles {
        Doubles {
            inner: Arc::new(Inner {
                handle,
                state: Mutex::new(State::default()),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serves `handler` on `ip:port` (on the bed's runtime) until the process ends. The address
    /// must already be on `lo` (see `PodIps`/`procs::ensure_addr`). Binding twice is an error.
    pub fn serve(&self, ip: Ipv4Addr, port: u16, handler: Handler) -> io::Result<SocketAddr> {
        crate::procs::assert_isolated_netns();
        let std_l = std::net::TcpListener::bind((ip, port))?;
        std_l.set_nonblocking(true)?;
        let addr = std_l.local_addr()?;
        let _guard = self.inner.handle.enter();
        let listener = tokio::net::TcpListener::from_std(std_l)?;
        let task = self.inner.handle.spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let h = handler.clone();
                tokio::spawn(async move {
                    let _ = handle_conn(sock, port, h).await;
                });
            }
        });
        self.state().listeners.insert((ip, port), task.abort_handle());
        Ok(addr)
    }

    /// Makes `ip` the address of MM2 pod `alias/ns/pod` (of KafkaMirrorMaker2 `mm2`) and starts
    /// its Connect and metrics doubles if that address has none yet. Called by the operator.
    pub fn register_mm2_pod(
        &self,
        alias: &str,
        ns: &str,
        pod: &str,
        mm2: &str,
        ip: Ipv4Addr,
    ) -> io::Result<()> {
        let key = PodKey::new(alias, ns, pod);
        let to_start: Vec<u16> = {
            let mut st = self.state();
            st.pods.insert(ip, key.clone());
            st.pod_mm2.insert(key, mm2.to_string());
            [CONNECT_PORT, METRICS_PORT]
                .into_iter()
                .filter(|p| st.listening.insert((ip, *p)))
                .collect()
        };
        for port in to_start {
            let me = self.clone();
            let h: Handler = Arc::new(move |req: &RecordedRequest| me.answer_pod(ip, req));
            if let Err(e) = self.serve(ip, port, h) {
                self.state().listening.remove(&(ip, port));
                return Err(e);
            }
        }
        Ok(())
    }

    /// Records the connector status entries the operator wrote for `alias/ns/mm2`.
    pub fn set_connectors(&self, alias: &str, ns: &str, mm2: &str, connectors: Vec<Value>) {
        self.state()
            .connectors
            .insert((alias.into(), ns.into(), mm2.into()), connectors);
    }

    /// The connector status entries last written for `alias/ns/mm2`.
    pub fn connectors(&self, alias: &str, ns: &str, mm2: &str) -> Vec<Value> {
        self.state()
            .connectors
            .get(&(alias.into(), ns.into(), mm2.into()))
            .cloned()
            .unwrap_or_default()
    }

    /// Sets the `/metrics` text served by pod `alias/ns/pod` on 9404.
    pub fn set_metrics(&self, alias: &str, ns: &str, pod: &str, text: impl Into<String>) {
        self.state()
            .metrics
            .insert(PodKey::new(alias, ns, pod), text.into());
    }

    /// Back to the default generated `/metrics` text.
    pub fn clear_metrics(&self, alias: &str, ns: &str, pod: &str) {
        self.state().metrics.remove(&PodKey::new(alias, ns, pod));
    }

    /// Overrides the answer of `pod` on `port` to `method target` (exact match of the request
    /// target as sent, e.g. `/connectors?expand=status`).
    pub fn set_route(&self, pod: &PodKey, port: u16, method: &str, target: &str, resp: HttpResponse) {
        let k = (pod.clone(), port, method.to_uppercase(), target.to_string());
        self.state().routes.insert(k, resp);
    }

    /// Removes every route override of a pod.
    pub fn clear_routes(&self, alias: &str, ns: &str, pod: &str) {
        let key = PodKey::new(alias, ns, pod);
        self.state().routes.retain(|k, _| k.0 != key);
    }

    /// Requests received by pod `alias/ns/pod`, oldest first.
    pub fn requests(&self, alias: &str, ns: &str, pod: &str) -> Vec<RecordedRequest> {
        self.state()
            .requests
            .get(&PodKey::new(alias, ns, pod))
            .cloned()
            .unwrap_or_default()
    }

    /// Sets the Connect offsets of `connector` of KafkaMirrorMaker2 `alias/ns/mm2`, served as
    /// `GET /connectors/<connector>/offsets` (`{"offsets":[...]}`; default `{"offsets":[]}`).
    pub fn set_offsets(&self, alias: &str, ns: &str, mm2: &str, connector: &str, offsets: Value) {
        self.state()
            .offsets
            .insert((alias.into(), ns.into(), mm2.into(), connector.into()), offsets);
    }

    /// Requests received by every pod of KafkaMirrorMaker2 `alias/ns/mm2`, per pod in pod order.
    pub fn requests_of_mm2(&self, alias: &str, ns: &str, mm2: &str) -> Vec<(String, RecordedRequest)> {
        let st = self.state();
        let mut pods: Vec<&PodKey> = st
            .pod_mm2
            .iter()
            .filter(|(k, m)| k.alias == alias && k.ns == ns && m.as_str() == mm2)
            .map(|(k, _)| k)
            .collect();
        pods.sort_by(|a, b| a.pod.cmp(&b.pod));
        pods.into_iter()
            .flat_map(|k| {
                st.requests
                    .get(k)
                    .into_iter()
                    .flatten()
                    .map(|r| (k.pod.clone(), r.clone()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Closes the listener of pod `alias/ns/pod` on `port`: connections are refused (ECONNREFUSED),
    /// as when a NetworkPolicy rejects the API server's pod proxy. The operator's own calls go to
    /// the next worker, like the `-api` Service.
    pub fn refuse_port(&self, alias: &str, ns: &str, pod: &str, port: u16) -> bool {
        let key = PodKey::new(alias, ns, pod);
        let st = self.state();
        let Some(ip) = st.pods.iter().find(|(_, k)| **k == key).map(|(ip, _)| *ip) else {
            return false;
        };
        match st.listeners.get(&(ip, port)) {
            Some(h) => {
                h.abort();
                true
            }
            None => false,
        }
    }

    /// The pod currently at `ip`.
    pub fn pod_at(&self, ip: IpAddr) -> Option<PodKey> {
        match ip {
            IpAddr::V4(v4) => self.state().pods.get(&v4).cloned(),
            IpAddr::V6(_) => None,
        }
    }

    fn answer_pod(&self, ip: Ipv4Addr, req: &RecordedRequest) -> HttpResponse {
        let mut st = self.state();
        let Some(key) = st.pods.get(&ip).cloned() else {
            return HttpResponse::text(503, "no pod at this address");
        };
        st.requests.entry(key.clone()).or_default().push(req.clone());
        let rk = (
            key.clone(),
            req.port,
            req.method.to_uppercase(),
            req.target.clone(),
        );
        if let Some(r) = st.routes.get(&rk) {
            return r.clone();
        }
        if req.port == CONNECT_PORT && req.method == "GET" {
            let path = req.path();
            let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
            if let ["connectors", name, "offsets"] = segs.as_slice() {
                let mm2 = st.pod_mm2.get(&key).cloned().unwrap_or_default();
                let known = st
                    .connectors
                    .get(&(key.alias.clone(), key.ns.clone(), mm2.clone()))
                    .is_some_and(|cs| cs.iter().any(|c| c["name"] == *name));
                if !known {
                    return HttpResponse::json(
                        404,
                        &json!({"error_code": 404, "message": format!("Connector {name} not found")}),
                    );
                }
                let body = st
                    .offsets
                    .get(&(key.alias.clone(), key.ns.clone(), mm2, name.to_string()))
                    .cloned()
                    .unwrap_or_else(|| json!({"offsets": []}));
                return HttpResponse::json(200, &body);
            }
        }
        let mm2 = st.pod_mm2.get(&key).cloned().unwrap_or_default();
        let connectors = st
            .connectors
            .get(&(key.alias.clone(), key.ns.clone(), mm2.clone()))
            .cloned()
            .unwrap_or_default();
        match req.port {
            METRICS_PORT => {
                if req.method != "GET" || req.path() != "/metrics" {
                    return HttpResponse::text(404, "Not Found");
                }
                let text = st
                    .metrics
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| default_metrics(&connectors));
                HttpResponse::text(200, text)
            }
            CONNECT_PORT => connect_answer(req, &connectors),
            _ => HttpResponse::text(404, "Not Found"),
        }
    }
}
