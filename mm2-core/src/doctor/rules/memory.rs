//! Memory: a JVM heap above its container's memory limit (the runbook's aws Kafka: -Xmx 8192m
//! under a 2Gi limit), for brokers and MM2 workers, and containers whose last end was OOMKilled.

use crate::doctor::facts::{
    ContextFacts, KafkaFact, Meta, NodePoolFact, human_bytes, jvm_bytes, quantity_bytes,
};
use crate::doctor::{Check, Facts, Finding, Fix, Severity, object, patch_yaml};
use serde_json::{Value, json};

fn xmx(jvm: Option<&Value>) -> Option<(String, u64)> {
    let v = jvm?.get("-Xmx")?;
    let s = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
    jvm_bytes(&s).map(|b| (s, b))
}

fn limit(resources: Option<&Value>) -> Option<(String, u64)> {
    let s = resources?.get("limits")?.get("memory")?.as_str()?;
    quantity_bytes(s).map(|b| (s.to_string(), b))
}

/// Half the limit, in MiB: Strimzi's own default heap share for brokers and Connect.
fn suggested_heap(limit: u64) -> String {
    format!("{}m", limit / 2 / (1 << 20))
}

pub fn check(facts: &Facts) -> Vec<Finding> {
    let mut out = Vec::new();
    for cx in facts.reachable() {
        for k in &cx.kafkas {
            for pool in cx
                .node_pools
                .iter()
                .filter(|p| p.cluster() == Some(k.meta.name.as_str()))
            {
                out.extend(broker_heap(facts, cx, k, pool));
            }
        }
        for m in &cx.mm2s {
            if let (Some((x, heap)), Some((l, lim))) =
                (xmx(m.spec.get("jvmOptions")), limit(m.spec.get("resources")))
                && heap > lim
            {
                out.push(
                    Finding::new(
                        "memory.mm2-heap-over-limit",
                        Check::Memory,
                        Severity::Error,
                        cx,
                        object("KafkaMirrorMaker2", &m.meta),
                        format!("the Connect workers' heap (-Xmx {x}) is larger than their memory limit ({l}): they are OOMKilled as the heap grows"),
                    )
                    .evidence("-Xmx", format!("{x} ({})", human_bytes(heap)))
                    .evidence("limits.memory", l.clone())
                    .fix(Fix {
                        summary: "keep the heap at about half the limit".into(),
                        flux_path: facts.flux_path(cx, &m.meta),
                        patch: Some(patch_yaml(&m.api_version, "KafkaMirrorMaker2", &m.meta,
                            json!({"spec": {"jvmOptions": {"-Xms": suggested_heap(lim), "-Xmx": suggested_heap(lim)}}}))),
                        ..Default::default()
                    }),
                );
            }
        }
        out.extend(oom_killed(cx));
    }
    out
}

fn broker_heap(facts: &Facts, cx: &ContextFacts, k: &KafkaFact, pool: &NodePoolFact) -> Option<Finding> {
    let kafka_spec = k.spec.get("kafka");
    // A node pool's jvmOptions and resources replace the Kafka's.
    let (heap_from, (x, heap)) = match xmx(pool.spec.get("jvmOptions")) {
        Some(h) => ("KafkaNodePool", h),
        None => ("Kafka", xmx(kafka_spec.and_then(|s| s.get("jvmOptions")))?),
    };
    let (limit_from, (l, lim)) = match limit(pool.spec.get("resources")) {
        Some(l) => ("KafkaNodePool", l),
        None => ("Kafka", limit(kafka_spec.and_then(|s| s.get("resources")))?),
    };
    if heap <= lim {
        return None;
    }
    let (meta, api_version, body): (&Meta, String, Value) = if heap_from == "Kafka" {
        (
            &k.meta,
            k.meta
                .managers
                .get("kustomize-controller")
                .cloned()
                .unwrap_or_else(|| "kafka.strimzi.io/v1beta2".into()),
            json!({"spec": {"kafka": {"jvmOptions": {"-Xms": suggested_heap(lim), "-Xmx": suggested_heap(lim)}}}}),
        )
    } else {
        (
            &pool.meta,
            pool.meta
                .managers
                .get("kustomize-controller")
                .cloned()
                .unwrap_or_else(|| "kafka.strimzi.io/v1beta2".into()),
            json!({"spec": {"jvmOptions": {"-Xms": suggested_heap(lim), "-Xmx": suggested_heap(lim)}}}),
        )
    };
    Some(
        Finding::new(
            "memory.heap-over-limit",
            Check::Memory,
            Severity::Error,
            cx,
            object(heap_from, meta),
            format!(
                "brokers of node pool {} may grow their heap to {} but are limited to {l}: they are OOMKilled when the JVM uses its heap (the runbook's \"Critical Fix\")",
                pool.meta.name,
                human_bytes(heap)
            ),
        )
        .evidence("-Xmx", format!("{x} ({}) from {heap_from} {}", human_bytes(heap), meta.name))
        .evidence("limits.memory", format!("{l} from {limit_from} {}", if limit_from == "Kafka" { &k.meta.name } else { &pool.meta.name }))
        .evidence("brokers", pool.replicas().to_string())
        .fix(Fix {
            summary: format!("lower the heap to about half of {l} (or raise the node pool's memory limit above the heap)"),
            flux_path: facts.flux_path(cx, meta),
            patch: Some(patch_yaml(&api_version, heap_from, meta, body)),
            ..Default::default()
        }),
    )
}

fn oom_killed(cx: &ContextFacts) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in &cx.pods {
        for c in &p.containers {
            if c.last_terminated_reason.as_deref() == Some("OOMKilled") {
                out.push(
                    Finding::new(
                        "memory.oomkilled",
                        Check::Memory,
                        Severity::Error,
                        cx,
                        object("Pod", &p.meta),
                        format!("container {} was OOMKilled (restarts: {})", c.name, c.restarts),
                    )
                    .evidence("lastState.terminated.reason", "OOMKilled")
                    .evidence("finishedAt", c.last_terminated_at.clone().unwrap_or_else(|| "-".into()))
                    .evidence("restartCount", c.restarts.to_string())
                    .fix(Fix {
                        summary: "raise the memory limit or lower -Xmx of the resource that owns this pod (see the heap findings)".into(),
                        ..Default::default()
                    }),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::rules::topology::tests::facts_with;

    fn kafka(xmx: &str) -> Value {
        json!({"kind": "Kafka", "metadata": {"name": "kafka-rciis-prod", "namespace": "rciis-prod"},
               "spec": {"kafka": {"jvmOptions": {"-Xms": "2048m", "-Xmx": xmx}}}})
    }
    fn pool(limit: &str) -> Value {
        json!({"kind": "KafkaNodePool", "metadata": {"name": "dual-role", "namespace": "rciis-prod",
               "labels": {"strimzi.io/cluster": "kafka-rciis-prod"}},
               "spec": {"replicas": 1, "roles": ["controller", "broker"], "resources": {"limits": {"memory": limit}}}})
    }

    #[test]
    fn the_runbooks_aws_heap_trips_and_proxmox_passes() {
        let f = check(&facts_with(&[
            ("aws", kafka("8192m")),
            ("aws", pool("2Gi")),
            ("proxmox", kafka("8192m")),
            ("proxmox", pool("8Gi")),
        ]));
        assert_eq!(f.len(), 1, "{f:#?}");
        assert_eq!(f[0].id, "memory.heap-over-limit");
        assert_eq!(f[0].context, "rciis-aws");
        assert_eq!(f[0].object, "Kafka rciis-prod/kafka-rciis-prod");
        assert!(f[0].evidence["-Xmx"].starts_with("8192m (8Gi)"));
        assert!(f[0].evidence["limits.memory"].starts_with("2Gi"));
        assert!(
            f[0].fix.patch.as_deref().unwrap().contains("-Xmx: 1024m"),
            "{}",
            f[0].fix.patch.as_deref().unwrap()
        );
    }

    #[test]
    fn mm2_heap_and_oomkilled_pods_trip() {
        let mut m = crate::doctor::rules::topology::tests::mm2("m", "aws", "proxmox", "aws");
        m["spec"]["jvmOptions"] = json!({"-Xmx": "6g"});
        m["spec"]["resources"] = json!({"limits": {"memory": "4Gi"}});
        let pod = json!({"kind": "Pod", "metadata": {"name": "m-mirrormaker2-0", "namespace": "rciis-prod"},
            "status": {"phase": "Running", "containerStatuses": [{"name": "m-mirrormaker2", "restartCount": 3,
               "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": "2026-11-30T05:00:00Z"}}}]}});
        let f = check(&facts_with(&[("aws", m.clone()), ("aws", pod)]));
        let ids: Vec<&str> = f.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["memory.mm2-heap-over-limit", "memory.oomkilled"]);
        m["spec"]["jvmOptions"] = json!({"-Xmx": "3072m"});
        assert!(check(&facts_with(&[("aws", m)])).is_empty());
    }
}
