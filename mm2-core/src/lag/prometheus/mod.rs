//! `kubectl mm2 lag --prometheus URL`: read the MM2 pods' JMX exporter series from a Prometheus
//! HTTP API instead of scraping the pods through the pod proxy.
//!
//! One instant query per direction selects the lag families of the MirrorMaker 2 by the labels
//! Strimzi's PodMonitor adds (`namespace`, `strimzi_io_cluster`; research/strimzi.md §5). The
//! vector is grouped by pod (`kubernetes_pod_name`, else `pod`, else `instance`) and each group is
//! written back as exposition text, so the result goes through the very same
//! [`PodScrape`] → [`crate::lag::aggregate_direction`] path as a pod-proxy scrape. Prometheus keeps
//! the exporter's (lower-cased) label names, so the aggregation needs no change.
//!
//! Two ways to reach Prometheus:
//! - `http://HOST[:PORT][/PREFIX]`: plain HTTP from where the plugin runs (a tiny HTTP/1.1 client
//!   under the call deadline, hyper's client; no TLS);
//! - `k8s://NAMESPACE/SERVICE[:PORT][/PREFIX]` (alias `service:`): the API server's service proxy
//!   of the context where the MirrorMaker 2 runs, so it works from a laptop like the pod proxy.

use crate::clients::{ContextClient, Op};
use crate::direction::Direction;
use crate::lag::PodScrape;
use crate::resources::inventory::Mm2Object;
use serde::Deserialize;

mod http;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Metric families the lag aggregation reads (records-lag, the mirror connectors, in flight).
pub const FAMILIES_REGEX: &str = "kafka_consumer_fetch_manager_records_lag|kafka_connect_mirror_.+|kafka_connect_source_task_source_record_(poll|write)_total";

/// Where the Prometheus HTTP API is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrometheusEndpoint {
    /// `http://HOST[:PORT][/PREFIX]`.
    Http { host: String, port: u16, prefix: String },
    /// `k8s://NAMESPACE/SERVICE[:PORT][/PREFIX]`: through the API server's service proxy.
    Service {
        namespace: String,
        service: String,
        port: Option<String>,
        prefix: String,
    },
}

/// The `--prometheus` flag: the URL as given and where it points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrometheusSource {
    pub url: String,
    pub endpoint: PrometheusEndpoint,
}

const URL_FORMS: &str = "use http://HOST:PORT[/PREFIX] or k8s://NAMESPACE/SERVICE:PORT[/PREFIX]";

impl PrometheusSource {
    /// Parses `http://HOST[:PORT][/PREFIX]`, `k8s://NAMESPACE/SERVICE[:PORT][/PREFIX]` or
    /// `service:NAMESPACE/SERVICE[:PORT][/PREFIX]`. The error is a sentence for the user.
    pub fn parse(s: &str) -> Result<Self, String> {
        let url = s.trim();
        let lower = url.to_ascii_lowercase();
        let endpoint = if lower.starts_with("https://") {
            return Err(format!(
                "{url}: https is not supported; go through the API server with \
                 k8s://NAMESPACE/SERVICE:PORT, or use a plain http:// address (e.g. kubectl port-forward)"
            ));
        } else if lower.starts_with("http://") {
            parse_http(&url["http://".len()..]).map_err(|e| format!("{url}: {e}"))?
        } else if let Some(rest) = strip_prefix_ci(url, "k8s://").or_else(|| strip_prefix_ci(url, "service:"))
        {
            parse_service(rest.trim_start_matches('/')).map_err(|e| format!("{url}: {e}"))?
        } else {
            return Err(format!("{url}: unknown URL form; {URL_FORMS}"));
        };
        Ok(PrometheusSource {
            url: url.to_string(),
            endpoint,
        })
    }

    /// Path and query of the instant query `promql` on this endpoint (for `http://`, relative to
    /// the server; for `k8s://`, the API server path of the service proxy).
    pub fn query_path(&self, promql: &str) -> String {
        let q = format!("api/v1/query?query={}", url_encode(promql));
        match &self.endpoint {
            PrometheusEndpoint::Http { prefix, .. } => format!("{prefix}/{q}"),
            PrometheusEndpoint::Service {
                namespace,
                service,
                port,
                prefix,
            } => {
                let svc = match port {
                    Some(p) => format!("{service}:{p}"),
                    None => service.clone(),
                };
                format!("/api/v1/namespaces/{namespace}/services/{svc}/proxy{prefix}/{q}")
            }
        }
    }

    /// Asks Prometheus for the lag series of `mm2` and returns them as one [`PodScrape`] per pod,
    /// or a single failed scrape naming Prometheus.
    pub async fn scrape(&self, cc: &ContextClient, mm2: &Mm2Object, d: &Direction) -> Vec<PodScrape> {
        let promql = lag_query(&mm2.namespace, &mm2.name);
        let path = self.query_path(&promql);
        let body = match &self.endpoint {
            PrometheusEndpoint::Http { host, port, .. } => http::get(host, *port, &path, cc.timeout)
                .await
                .map_err(|e| format!("Prometheus {}: {e}", self.url)),
            PrometheusEndpoint::Service {
                namespace, service, ..
            } => {
                let op = Op::new("get", "services/proxy", "Service")
                    .ns(namespace)
                    .name(service);
                cc.get_raw(op, &path)
                    .await
                    .map(|text| (200, text))
                    .map_err(|e| format!("Prometheus {}: {e}", self.url))
            }
        };
        let failed = |reason: String| {
            vec![PodScrape {
                pod: format!("{}-mirrormaker2-*", mm2.name),
                direction: d.clone(),
                result: Err(reason),
            }]
        };
        let (status, body) = match body {
            Ok(b) => b,
            Err(e) => return failed(e),
        };
        match to_scrapes(&body, d) {
            Ok(s) if s.is_empty() => failed(format!(
                "Prometheus {} has no series for {promql} (is a PodMonitor scraping the MirrorMaker 2 \
                 pods and adding Strimzi's namespace/strimzi_io_cluster labels?)",
                self.url
            )),
            Ok(s) if status == 200 => s,
            Ok(_) => failed(format!("Prometheus {}: HTTP {status}", self.url)),
            Err(e) if status == 200 => failed(format!("Prometheus {}: {e}", self.url)),
            Err(e) => failed(format!("Prometheus {}: HTTP {status}: {e}", self.url)),
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// `/a/b/` → `/a/b`, `` → ``.
fn normalize_prefix(p: &str) -> Result<String, String> {
    if p.contains(['?', '#', ' ']) {
        return Err("the path prefix may not contain a query, a fragment or spaces".into());
    }
    let p = p.trim_end_matches('/');
    Ok(if p.is_empty() {
        String::new()
    } else {
        p.to_string()
    })
}

fn parse_http(rest: &str) -> Result<PrometheusEndpoint, String> {
    let (authority, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err("credentials in the URL are not supported".into());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']').ok_or("unterminated [IPv6] address")?;
        match after.strip_prefix(':') {
            Some(p) => (h, Some(p)),
            None if after.is_empty() => (h, None),
            None => return Err(format!("unexpected {after:?} after the address")),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(format!("no host; {URL_FORMS}"));
    }
    let port = match port {
        None => 80,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("invalid port {p:?}"))?,
    };
    Ok(PrometheusEndpoint::Http {
        host: host.to_string(),
        port,
        prefix: normalize_prefix(prefix)?,
    })
}

fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn parse_service(rest: &str) -> Result<PrometheusEndpoint, String> {
    let mut parts = rest.splitn(3, '/');
    let namespace = parts.next().unwrap_or("");
    let svc_port = parts.next().unwrap_or("");
    let prefix = parts.next().map(|p| format!("/{p}")).unwrap_or_default();
    if namespace.is_empty() || svc_port.is_empty() {
        return Err(format!("expected NAMESPACE/SERVICE[:PORT]; {URL_FORMS}"));
    }
    let (service, port) = match svc_port.split_once(':') {
        Some((s, p)) => (s, Some(p)),
        None => (svc_port, None),
    };
    if !dns_label(namespace) {
        return Err(format!("invalid namespace {namespace:?}"));
    }
    if !dns_label(service) {
        return Err(format!("invalid service name {service:?}"));
    }
    // A port number or a port name (both DNS-label shaped).
    if let Some(p) = port
        && !dns_label(p)
    {
        return Err(format!("invalid port {p:?}"));
    }
    Ok(PrometheusEndpoint::Service {
        namespace: namespace.to_string(),
        service: service.to_string(),
        port: port.map(str::to_string),
        prefix: normalize_prefix(&prefix)?,
    })
}

/// A PromQL string literal (double-quoted, `\` and `"` escaped).
fn promql_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The instant query of one MirrorMaker 2's lag series.
pub fn lag_query(namespace: &str, mm2: &str) -> String {
    format!(
        "{{__name__=~{},namespace={},strimzi_io_cluster={}}}",
        promql_string(FAMILIES_REGEX),
        promql_string(namespace),
        promql_string(mm2)
    )
}

/// Percent-encodes a query-string component (everything but RFC 3986 unreserved characters).
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[derive(Deserialize)]
struct ApiResponse {
    status: String,
    #[serde(default)]
    data: Option<ApiData>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct ApiData {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(default)]
    result: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct VectorSample {
    #[serde(default)]
    metric: serde_json::Map<String, serde_json::Value>,
    /// `[<unix seconds>, "<value>"]`; absent for native histograms, which are not read.
    #[serde(default)]
    value: Option<(serde_json::Value, String)>,
}

/// Labels naming the pod a series was scraped from, in order of preference.
const POD_LABELS: [&str; 3] = ["kubernetes_pod_name", "pod", "instance"];

/// Escapes a label value for the exposition format (`\`, `"`, newline).
fn escape_label_value(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn valid_name(name: &str, colon: bool) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_' || (colon && b == b':'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || (colon && b == b':'))
}

/// Turns a Prometheus instant-query answer into one exposition text per pod. An error answer
/// (`"status":"error"`), a non-vector result or unreadable JSON is an `Err` with the reason.
pub fn to_scrapes(body: &str, d: &Direction) -> Result<Vec<PodScrape>, String> {
    let resp: ApiResponse = serde_json::from_str(body).map_err(|e| {
        let head: String = body.chars().take(200).collect();
        format!("not a Prometheus API answer ({e}): {head}")
    })?;
    if resp.status != "success" {
        return Err(format!(
            "query failed ({}): {}",
            resp.error_type.as_deref().unwrap_or(&resp.status),
            resp.error.as_deref().unwrap_or("no error message")
        ));
    }
    let data = resp.data.ok_or("answer without data")?;
    if data.result_type != "vector" {
        return Err(format!("expected a vector result, got {}", data.result_type));
    }
    let mut pods: BTreeMap<String, String> = BTreeMap::new();
    for raw in data.result {
        let Ok(sample) = serde_json::from_value::<VectorSample>(raw) else {
            continue;
        };
        let Some((_, value)) = &sample.value else {
            continue;
        };
        if value.trim().parse::<f64>().is_err() {
            continue;
        }
        let label = |k: &str| sample.metric.get(k).and_then(|v| v.as_str());
        let Some(name) = label("__name__").filter(|n| valid_name(n, true)) else {
            continue;
        };
        let pod = POD_LABELS
            .iter()
            .find_map(|k| label(k))
            .unwrap_or("prometheus")
            .to_string();
        let text = pods.entry(pod).or_default();
        text.push_str(name);
        text.push('{');
        for (k, v) in &sample.metric {
            let Some(v) = v.as_str() else { continue };
            if k == "__name__" || !valid_name(k, false) {
                continue;
            }
            text.push_str(k);
            text.push_str("=\"");
            escape_label_value(v, text);
            text.push_str("\",");
        }
        text.push_str("} ");
        text.push_str(value.trim());
        text.push('\n');
    }
    Ok(pods
        .into_iter()
        .map(|(pod, text)| PodScrape {
            pod,
            direction: d.clone(),
            result: Ok(text),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lag::{self, MetricSource};

    fn dir() -> Direction {
        Direction::new("proxmox", "aws")
    }

    #[test]
    fn url_forms() {
        let p = PrometheusSource::parse("http://198.18.3.10:9090").unwrap();
        assert_eq!(
            p.endpoint,
            PrometheusEndpoint::Http {
                host: "198.18.3.10".into(),
                port: 9090,
                prefix: String::new()
            }
        );
        let p = PrometheusSource::parse("HTTP://prom.example/prometheus/").unwrap();
        assert_eq!(
            p.endpoint,
            PrometheusEndpoint::Http {
                host: "prom.example".into(),
                port: 80,
                prefix: "/prometheus".into()
            }
        );
        let p = PrometheusSource::parse("http://[::1]:9090").unwrap();
        assert!(matches!(p.endpoint, PrometheusEndpoint::Http { ref host, port: 9090, .. } if host == "::1"));
        let p = PrometheusSource::parse("k8s://monitoring/prometheus-operated:9090").unwrap();
        assert_eq!(
            p.endpoint,
            PrometheusEndpoint::Service {
                namespace: "monitoring".into(),
                service: "prometheus-operated".into(),
                port: Some("9090".into()),
                prefix: String::new()
            }
        );
        let p = PrometheusSource::parse("service:monitoring/prometheus:web/prom").unwrap();
        assert_eq!(
            p.endpoint,
            PrometheusEndpoint::Service {
                namespace: "monitoring".into(),
                service: "prometheus".into(),
                port: Some("web".into()),
                prefix: "/prom".into()
            }
        );
        for bad in [
            "https://prom:9090",
            "prom:9090",
            "http://:9090",
            "http://prom:99999",
            "http://prom:x",
            "http://u:p@prom:9090",
            "k8s://monitoring",
            "k8s://Monitoring/prom:9090",
            "k8s:///prom:9090",
            "http://prom:9090/x?y=1",
        ] {
            assert!(PrometheusSource::parse(bad).is_err(), "{bad}");
        }
        let e = PrometheusSource::parse("https://prom:9090").unwrap_err();
        assert!(
            e.contains("https is not supported") && e.contains("k8s://"),
            "{e}"
        );
    }

    #[test]
    fn query_is_built_and_encoded() {
        let q = lag_query("rciis-prod", "mm2-proxmox-to-aws");
        assert_eq!(
            q,
            "{__name__=~\"kafka_consumer_fetch_manager_records_lag|kafka_connect_mirror_.+|\
             kafka_connect_source_task_source_record_(poll|write)_total\",namespace=\"rciis-prod\",\
             strimzi_io_cluster=\"mm2-proxmox-to-aws\"}"
        );
        assert_eq!(lag_query("a\"b", "c\\d").matches("\\\"").count(), 1);
        assert!(lag_query("a\"b", "c\\d").contains("\"c\\\\d\""));
        assert_eq!(
            url_encode("a b{c=\"d|e\"}+~._-"),
            "a%20b%7Bc%3D%22d%7Ce%22%7D%2B~._-"
        );
        let http = PrometheusSource::parse("http://h:9090/p/").unwrap();
        assert_eq!(http.query_path("up"), "/p/api/v1/query?query=up");
        let svc = PrometheusSource::parse("k8s://monitoring/prometheus-operated:9090").unwrap();
        assert_eq!(
            svc.query_path("{a=\"b\"}"),
            "/api/v1/namespaces/monitoring/services/prometheus-operated:9090/proxy/api/v1/query?query=%7Ba%3D%22b%22%7D"
        );
        let noport = PrometheusSource::parse("k8s://monitoring/prometheus").unwrap();
        assert!(
            noport
                .query_path("up")
                .starts_with("/api/v1/namespaces/monitoring/services/prometheus/proxy/api/v1/query")
        );
    }

    /// What Prometheus answers for series scraped by Strimzi's PodMonitor from two MM2 pods.
    const ANSWER: &str = r#"{"status":"success","data":{"resultType":"vector","result":[
      {"metric":{"__name__":"kafka_consumer_fetch_manager_records_lag","clientid":"\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\"","container":"mm2","endpoint":"tcp-prometheus","job":"rciis-prod/mm2-pods","kubernetes_pod_name":"mm2-mirrormaker2-0","namespace":"rciis-prod","node_ip":"10.0.0.4","partition":"0","strimzi_io_cluster":"mm2","strimzi_io_kind":"KafkaMirrorMaker2","topic":"orders"},"value":[1712345678.123,"15000"]},
      {"metric":{"__name__":"kafka_consumer_fetch_manager_records_lag","clientid":"\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\"","kubernetes_pod_name":"mm2-mirrormaker2-1","namespace":"rciis-prod","partition":"1","strimzi_io_cluster":"mm2","topic":"orders"},"value":[1712345678.123,"5000"]},
      {"metric":{"__name__":"kafka_consumer_fetch_manager_records_lag","clientid":"\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\"","kubernetes_pod_name":"mm2-mirrormaker2-1","namespace":"rciis-prod","partition":"2","strimzi_io_cluster":"mm2","topic":"orders"},"value":[1712345678.123,"NaN"]},
      {"metric":{"__name__":"kafka_consumer_fetch_manager_records_lag","clientid":"\"aws->proxmox|aws->proxmox.MirrorSourceConnector|replication-consumer\"","kubernetes_pod_name":"mm2-mirrormaker2-1","namespace":"rciis-prod","partition":"0","strimzi_io_cluster":"mm2","topic":"other"},"value":[1712345678.123,"99999"]},
      {"metric":{"__name__":"kafka_connect_mirror_mirrorsourceconnector_replication_latency_ms","kubernetes_pod_name":"mm2-mirrormaker2-0","namespace":"rciis-prod","partition":"0","source":"proxmox","target":"aws","topic":"proxmox.orders"},"value":[1712345678.123,"+Inf"]},
      {"metric":{"__name__":"kafka_connect_mirror_mirrorsourceconnector_record_age_ms","kubernetes_pod_name":"mm2-mirrormaker2-0","namespace":"rciis-prod","partition":"0","source":"proxmox","target":"aws","topic":"proxmox.orders"},"value":[1712345678.123,"1.2345678e+07"]},
      {"metric":{"__name__":"kafka_connect_source_task_source_record_poll_total","connector":"\"proxmox->aws.MirrorSourceConnector\"","pod":"mm2-mirrormaker2-0","task":"0"},"value":[1712345678.123,"900"]},
      {"metric":{"__name__":"kafka_connect_source_task_source_record_write_total","connector":"\"proxmox->aws.MirrorSourceConnector\"","pod":"mm2-mirrormaker2-0","task":"0"},"value":[1712345678.123,"800"]},
      {"metric":{"__name__":"weird","instance":"x"},"histogram":[1,{"count":"1"}]}
    ]}}"#;

    #[test]
    fn vector_becomes_exposition_per_pod_and_aggregates() {
        let scrapes = to_scrapes(ANSWER, &dir()).unwrap();
        let pods: Vec<&str> = scrapes.iter().map(|s| s.pod.as_str()).collect();
        assert_eq!(pods, ["mm2-mirrormaker2-0", "mm2-mirrormaker2-1"]);
        let text0 = scrapes[0].result.as_ref().unwrap();
        assert!(
            text0.contains(
                r#"kafka_consumer_fetch_manager_records_lag{clientid="\"proxmox->aws|proxmox->aws.MirrorSourceConnector|replication-consumer\"","#
            ),
            "{text0}"
        );
        assert!(
            text0.contains("} +Inf\n") && text0.contains("} 1.2345678e+07\n"),
            "{text0}"
        );
        assert!(!text0.contains("__name__"), "{text0}");
        // The text reads back through the exposition parser without a skipped line.
        for s in &scrapes {
            assert_eq!(lag::parse(s.result.as_ref().unwrap()).skipped, 0);
        }
        let l = lag::aggregate_direction(&dir(), &scrapes);
        assert_eq!(l.pods_scraped, 2);
        assert_eq!(l.skipped_lines, 0);
        assert_eq!(
            l.total_records_lag(),
            Some(20_000.0),
            "other direction and NaN left out"
        );
        let p0 = l
            .partitions
            .iter()
            .find(|p| p.topic == "orders" && p.partition == 0)
            .unwrap();
        assert_eq!(p0.records_lag, Some(15_000.0));
        assert_eq!(p0.sources.records_lag, Some(MetricSource::ConsumerFetchManager));
        assert_eq!(p0.replication_latency_ms, Some(f64::INFINITY));
        assert_eq!(p0.record_age_ms, Some(12_345_678.0));
        assert_eq!(l.in_flight, Some(100.0));
    }

    #[test]
    fn label_values_are_escaped() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
          {"metric":{"__name__":"m","pod":"p","a":"x\\y \"q\"\nz"},"value":[1,"1"]}]}}"#;
        let s = to_scrapes(body, &dir()).unwrap();
        let text = s[0].result.as_ref().unwrap();
        assert_eq!(text, "m{pod=\"p\",a=\"x\\\\y \\\"q\\\"\\nz\",} 1\n");
        let parsed = lag::parse(text);
        assert_eq!(parsed.samples[0].label("a"), Some("x\\y \"q\"\nz"));
    }

    #[test]
    fn errors_are_reasons() {
        let e = to_scrapes(
            r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": parse error"}"#,
            &dir(),
        )
        .unwrap_err();
        assert!(e.contains("bad_data") && e.contains("parse error"), "{e}");
        let e = to_scrapes(
            r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
            &dir(),
        )
        .unwrap_err();
        assert!(e.contains("matrix"), "{e}");
        assert!(to_scrapes("<html>502 Bad Gateway</html>", &dir()).is_err());
        let empty = to_scrapes(
            r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
            &dir(),
        )
        .unwrap();
        assert!(empty.is_empty());
    }
}
