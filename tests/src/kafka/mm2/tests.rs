use super::*;
use serde_json::json;
use std::net::Ipv4Addr;
use std::path::Path;

fn v1_spec() -> Value {
    json!({"replicas": 1,
        "target": {"alias": "aws", "bootstrapServers": "kafka-rciis-prod-kafka-bootstrap.ns.svc:9092",
                   "groupId": "g", "configStorageTopic": "c", "offsetStorageTopic": "o", "statusStorageTopic": "s",
                   "authentication": {"type": "scram-sha-512", "username": "mm2-user",
                                      "passwordSecret": {"secretName": "mm2-user", "password": "password"}},
                   "config": {"config.storage.replication.factor": -1}},
        "mirrors": [{"source": {"alias": "proxmox", "bootstrapServers": "kafka-bootstrap-proxmox.ns.svc.clusterset.local:9092",
                                "authentication": {"type": "scram-sha-512", "username": "mm2-user",
                                                   "passwordSecret": {"secretName": "mm2-user-proxmox", "password": "password"}}},
                     "sourceConnector": {"tasksMax": 2, "state": "paused", "config": {"replication.factor": -1}},
                     "checkpointConnector": {},
                     "topicsPattern": "orders", "groupsPattern": ".*"}],
        "metricsConfig": {"type": "jmxPrometheusExporter",
                          "valueFrom": {"configMapKeyRef": {"name": "m", "key": "k.yml"}}}})
}

#[test]
fn v1_plan_has_strimzis_connector_config() {
    let p = plan(&v1_spec(), Path::new("/b")).expect("plan");
    assert_eq!(p.group_id, "g");
    assert_eq!(p.metrics, Some(("m".into(), "k.yml".into())));
    let names: Vec<&str> = p.connectors.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "proxmox->aws.MirrorSourceConnector",
            "proxmox->aws.MirrorCheckpointConnector"
        ]
    );
    let src = &p.connectors[0];
    assert_eq!(src.state, "paused");
    let c = &src.config;
    assert_eq!(c["source.cluster.alias"], "proxmox");
    assert_eq!(
        c["target.cluster.bootstrap.servers"],
        "kafka-rciis-prod-kafka-bootstrap.ns.svc:9092"
    );
    assert_eq!(c["source.cluster.security.protocol"], "SASL_PLAINTEXT");
    assert_eq!(
        c["source.cluster.sasl.jaas.config"],
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"mm2-user\" \
         password=\"${strimzidir:/b/mm2-password/proxmox/mm2-user-proxmox:password}\";"
    );
    // target.config leaks into the connectors, prefixed (faithful to Strimzi).
    assert_eq!(c["target.cluster.config.storage.replication.factor"], "-1");
    assert_eq!(c["replication.factor"], "-1");
    assert_eq!(c["tasks.max"], "2");
    assert_eq!(c["topics"], "orders");
    assert_eq!(
        c["connector.class"],
        "org.apache.kafka.connect.mirror.MirrorSourceConnector"
    );
    assert!(!p.connectors[1].config.contains_key("tasks.max"));
}

#[test]
fn v1beta2_plan_takes_connect_topics_from_the_connect_cluster_config() {
    let spec = json!({"replicas": 2, "connectCluster": "aws",
        "clusters": [{"alias": "aws", "bootstrapServers": "a:9092", "config": {"group.id": "grp", "x": 1}},
                     {"alias": "proxmox", "bootstrapServers": "p:9092"}],
        "mirrors": [{"sourceCluster": "proxmox", "targetCluster": "aws", "sourceConnector": {"pause": true},
                     "heartbeatConnector": {}}]});
    assert!(is_working_layout(&spec, "aws"));
    assert!(!is_working_layout(&spec, "proxmox"));
    let p = plan(&spec, Path::new("/b")).expect("plan");
    assert_eq!(p.group_id, "grp");
    assert_eq!(p.config_topic, "mirrormaker2-cluster-configs");
    assert!(!p.target.config.contains_key("group.id"));
    assert_eq!(p.connectors[0].state, "paused");
    assert_eq!(p.connectors[1].name, "proxmox->aws.MirrorHeartbeatConnector");
    assert_eq!(
        p.connectors[0].config["target.cluster.security.protocol"],
        "PLAINTEXT"
    );
    let props = worker_properties(
        &p,
        "ns",
        "pod.svc",
        Ipv4Addr::new(198, 18, 11, 20),
        Path::new("/b"),
        true,
    );
    assert!(props.contains("group.id=ns.grp\n"));
    assert!(props.contains("listeners=http://198.18.11.20:8083\n"));
    assert!(props.contains("x=1\n"));
    assert!(props.contains("consumer.metric.reporters=org.apache.kafka.common.metrics.JmxReporter\n"));
}

#[test]
fn runbook_layout_is_not_the_working_layout() {
    let spec = json!({"connectCluster": "proxmox",
        "mirrors": [{"sourceCluster": "proxmox", "targetCluster": "aws"}]});
    assert!(!is_working_layout(&spec, "proxmox"));
}

#[test]
fn a_crash_looping_worker_waits_like_the_kubelet_makes_a_pod_wait() {
    let t0 = std::time::Instant::now();
    let mut b = CrashBackoff::default();
    assert!(b.may_start(t0), "a fresh slot starts at once");
    let mut waits = vec![];
    let mut now = t0;
    for _ in 0..7 {
        b.exited(std::time::Duration::from_secs(5), now);
        let wait = b.not_before.unwrap() - now;
        assert!(!b.may_start(now));
        assert!(b.may_start(now + wait));
        waits.push(wait.as_secs());
        now += wait;
    }
    assert_eq!(waits, vec![10, 20, 40, 80, 160, 300, 300]);
    // Ten minutes of running forgive the past crashes.
    b.exited(std::time::Duration::from_secs(600), now);
    assert_eq!((b.not_before.unwrap() - now).as_secs(), 10);
}
