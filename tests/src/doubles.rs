//! HTTP doubles bound to simulated pod addresses inside the network namespace.
//!
//! Every KafkaMirrorMaker2 pod the simulated operator creates gets a Kafka Connect REST double on
//! `<podIP>:8083` (answers from the connector status the operator wrote into the CR, unless a
//! route is overridden) and a JMX exporter double on `<podIP>:9404` (`GET /metrics`, text set by
//! the test with [`Doubles::set_metrics`]). The product reaches them only through the API
//! server's pod proxy: `/api/v1/namespaces/{ns}/pods/{pod}:9404/proxy/metrics`.
//!
//! A tiny hand-written HTTP/1.1 server (one request per connection, `Connection: close`).

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// The default `/metrics` text of an MM2 pod: worker counts and connector status gauges.
pub fn default_metrics(connectors: &[Value]) -> String {
    let tasks: usize = connectors
        .iter()
        .map(|c| c["tasks"].as_array().map(|t| t.len()).unwrap_or(0))
        .sum();
    let mut s = String::new();
    s.push_str("# HELP kafka_connect_worker_connector_count The number of connectors run in this worker.\n");
    s.push_str("# TYPE kafka_connect_worker_connector_count gauge\n");
    s.push_str(&format!(
        "kafka_connect_worker_connector_count {:.1}\n",
        connectors.len() as f64
    ));
    s.push_str("# HELP kafka_connect_worker_task_count The number of tasks run in this worker.\n");
    s.push_str("# TYPE kafka_connect_worker_task_count gauge\n");
    s.push_str(&format!("kafka_connect_worker_task_count {:.1}\n", tasks as f64));
    s.push_str("# TYPE kafka_connect_connector_status gauge\n");
    for c in connectors {
        let name = c["name"].as_str().unwrap_or("");
        let state = c["connector"]["state"].as_str().unwrap_or("").to_lowercase();
        s.push_str(&format!(
            "kafka_connect_connector_status{{connector=\"{name}\",status=\"{state}\",}} 1.0\n"
        ));
    }
    s
}

fn connector_class(name: &str) -> String {
    let suffix = name.rsplit('.').next().unwrap_or("");
    format!("org.apache.kafka.connect.mirror.{suffix}")
}

fn connector_info(c: &Value) -> Value {
    let name = c["name"].as_str().unwrap_or("");
    let (src, tgt) = name
        .split('.')
        .next()
        .and_then(|d| d.split_once("->"))
        .unwrap_or(("", ""));
    let tasks: Vec<Value> = c["tasks"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| json!({"connector": name, "task": t["id"]}))
                .collect()
        })
        .unwrap_or_default();
    json!({"name": name, "config": {"connector.class": connector_class(name), "name": name,
            "source.cluster.alias": src, "target.cluster.alias": tgt,
            "tasks.max": tasks.len().max(1).to_string()},
           "tasks": tasks, "type": c["type"].as_str().unwrap_or("source")})
}

/// Kafka Connect REST answers from the connector status entries (strimzi.md §4).
fn connect_answer(req: &RecordedRequest, connectors: &[Value]) -> HttpResponse {
    let path = req.path();
    let not_found = |msg: String| HttpResponse::json(404, &json!({"error_code": 404, "message": msg}));
    let find = |n: &str| connectors.iter().find(|c| c["name"] == n);
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", []) => HttpResponse::json(
            200,
            &json!({"version": "4.1.0", "commit": "5ae2da3b8ab6d6b6", "kafka_cluster_id": "mm2-e2e-cluster"}),
        ),
        ("GET", ["connectors"]) => {
            let expands: Vec<&str> = req
                .query()
                .split('&')
                .filter_map(|kv| kv.strip_prefix("expand="))
                .collect();
            if expands.is_empty() {
                let names: Vec<&Value> = connectors.iter().map(|c| &c["name"]).collect();
                return HttpResponse::json(200, &json!(names));
            }
            let mut m = serde_json::Map::new();
            for c in connectors {
                let mut e = serde_json::Map::new();
                if expands.contains(&"status") {
                    e.insert("status".into(), c.clone());
                }
                if expands.contains(&"info") {
                    e.insert("info".into(), connector_info(c));
                }
                m.insert(c["name"].as_str().unwrap_or("").to_string(), Value::Object(e));
            }
            HttpResponse::json(200, &Value::Object(m))
        }
        ("GET", ["connectors", name]) => match find(name) {
            Some(c) => HttpResponse::json(200, &connector_info(c)),
            None => not_found(format!("Connector {name} not found")),
        },
        ("GET", ["connectors", name, "status"]) => match find(name) {
            Some(c) => HttpResponse::json(200, c),
            None => not_found(format!("No status found for connector {name}")),
        },
        ("GET", ["connectors", name, "tasks", id, "status"]) => {
            let t = find(name).and_then(|c| {
                c["tasks"].as_array().and_then(|ts| {
                    ts.iter()
                        .find(|t| t["id"].as_i64().map(|n| n.to_string()).as_deref() == Some(*id))
                        .cloned()
                })
            });
            match t {
                Some(t) => HttpResponse::json(200, &t),
                None => not_found(format!("No status found for task {name}-{id}")),
            }
        }
        ("PUT", ["connectors", name, "pause" | "resume"]) if find(name).is_some() => HttpResponse::empty(202),
        ("PUT", ["connectors", name, "stop"]) if find(name).is_some() => HttpResponse::empty(204),
        ("POST", ["connectors", name, "restart"]) => match find(name) {
            Some(c) => restart_answer(req.query(), c),
            None => not_found(format!("Connector {name} not found")),
        },
        ("POST", ["connectors", name, "tasks", _, "restart"]) if find(name).is_some() => {
            HttpResponse::empty(204)
        }
        (_, ["connectors", name, ..]) => not_found(format!("Connector {name} not found")),
        _ => not_found("HTTP 404 Not Found".into()),
    }
}

/// `POST /connectors/<n>/restart?includeTasks=&onlyFailed=` (KIP-745, `ConnectorsResource.restartConnector`):
/// 204 without a body for the plain restart (both false), else 202 with the connector's state
/// info where the instances to be restarted show RESTARTING.
fn restart_answer(query: &str, c: &Value) -> HttpResponse {
    let flag = |k: &str| {
        query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .any(|(key, v)| key == k && v.eq_ignore_ascii_case("true"))
    };
    let (include_tasks, only_failed) = (flag("includeTasks"), flag("onlyFailed"));
    if !include_tasks && !only_failed {
        return HttpResponse::empty(204);
    }
    let restarts = |state: &Value| !only_failed || state == "FAILED";
    let mut body = c.clone();
    if restarts(&c["connector"]["state"]) {
        body["connector"]["state"] = json!("RESTARTING");
    }
    if let Some(ts) = body["tasks"].as_array_mut() {
        for t in ts {
            if include_tasks && restarts(&t["state"]) {
                t["state"] = json!("RESTARTING");
            }
        }
    }
    HttpResponse::json(202, &body)
}

/// Decodes `%XX` escapes (invalid escapes are kept as they are).
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = if b[i] == b'%' && i + 2 < b.len() {
            std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        } else {
            None
        };
        if let Some(v) = hex {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        422 => "Unprocessable Entity",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

async fn handle_conn(mut sock: tokio::net::TcpStream, port: u16, handler: Handler) -> io::Result<()> {
    let Some(req) = read_request(&mut sock, port).await? else {
        return Ok(());
    };
    let resp = handler(&req);
    write_response(&mut sock, &req, &resp).await
}

/// Reads one HTTP/1.1 request (head and a `Content-Length` body) from `sock`; `None` when the
/// peer closed the connection or sent an absurdly long head. Shared with the kubelet double,
/// which reads it from a TLS stream.
pub(crate) async fn read_request<S>(sock: &mut S, port: u16) -> io::Result<Option<RecordedRequest>>
where
    S: tokio::io::AsyncRead + Unpin,
{
    let mut buf = Vec::with_capacity(2048);
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        if buf.len() > 1 << 20 {
            return Ok(None);
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("").to_string();
    let target = first.next().unwrap_or("/").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(len);
    Ok(Some(RecordedRequest {
        port,
        method,
        target,
        headers,
        body,
    }))
}

/// Writes `resp` as the answer to `req` and closes the connection (one request per connection).
pub(crate) async fn write_response<S>(
    sock: &mut S,
    req: &RecordedRequest,
    resp: &HttpResponse,
) -> io::Result<()>
where
    S: tokio::io::AsyncWrite + Unpin,
{
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        resp.status,
        reason(resp.status),
        resp.content_type,
        resp.body.len()
    )
    .into_bytes();
    if req.method != "HEAD" {
        out.extend_from_slice(&resp.body);
    }
    sock.write_all(&out).await?;
    sock.shutdown().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(
            percent_decode("/connectors/proxmox%2D%3Eaws.MirrorSourceConnector/status"),
            "/connectors/proxmox->aws.MirrorSourceConnector/status"
        );
        assert_eq!(percent_decode("a%3e"), "a>");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
