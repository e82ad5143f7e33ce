//! What a Kafka Connect worker and its JMX exporter answer, from the connector status the operator
//! wrote: the REST API's bodies (Connect 4.1's shapes) and a default `/metrics` text.

use serde_json::{Value, json};

use super::{HttpResponse, RecordedRequest};

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

pub(super) fn connector_class(name: &str) -> String {
    let suffix = name.rsplit('.').next().unwrap_or("");
    format!("org.apache.kafka.connect.mirror.{suffix}")
}

pub(super) fn connector_info(c: &Value) -> Value {
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
pub(super) fn connect_answer(req: &RecordedRequest, connectors: &[Value]) -> HttpResponse {
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
pub(super) fn restart_answer(query: &str, c: &Value) -> HttpResponse {
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
