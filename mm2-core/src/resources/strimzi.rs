//! Strimzi `kafka.strimzi.io` resources: KafkaMirrorMaker2 (both API shapes), KafkaUser, Kafka,
//! KafkaNodePool. Field facts: shared/research/strimzi.md.

use super::Condition;
use crate::direction::Direction;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const GROUP: &str = "kafka.strimzi.io";
pub const MM2_KIND: &str = "KafkaMirrorMaker2";
pub const MM2_PLURAL: &str = "kafkamirrormaker2s";
pub const KAFKAUSER_KIND: &str = "KafkaUser";
pub const KAFKAUSER_PLURAL: &str = "kafkausers";
pub const KAFKA_KIND: &str = "Kafka";
pub const KAFKA_PLURAL: &str = "kafkas";
pub const NODEPOOL_KIND: &str = "KafkaNodePool";
pub const NODEPOOL_PLURAL: &str = "kafkanodepools";
/// Annotation that stops the operator from reconciling a resource.
pub const PAUSE_RECONCILIATION: &str = "strimzi.io/pause-reconciliation";

/// `spec` of a KafkaMirrorMaker2, understanding both the v1beta2 shape (`clusters`,
/// `connectCluster`, `mirrors[].sourceCluster/targetCluster`) and the v1 shape (`target`,
/// `mirrors[].source`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Mm2Spec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clusters: Vec<Mm2Cluster>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Mm2Cluster>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<Mm2Mirror>,
}

/// A Kafka cluster MM2 connects to (an entry of `clusters`, `target` or `mirrors[].source`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Mm2Cluster {
    #[serde(default)]
    pub alias: String,
    #[serde(default)]
    pub bootstrap_servers: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,
}

/// Client authentication of an MM2 cluster entry.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Authentication {
    #[serde(rename = "type", default)]
    pub type_: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<PasswordSecret>,
}

/// Where the SCRAM password lives.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct PasswordSecret {
    pub secret_name: String,
    #[serde(default)]
    pub password: String,
}

/// One entry of `spec.mirrors`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Mm2Mirror {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Mm2Cluster>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_connector: Option<ConnectorSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_connector: Option<ConnectorSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_connector: Option<ConnectorSpec>,
}

/// The part of a connector spec we read and write.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConnectorSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks_max: Option<i32>,
    /// `running | paused | stopped` (case-insensitive in Strimzi).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Deprecated since Strimzi 0.38 (v1beta2 only); `state` wins when both are set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<bool>,
}

impl ConnectorSpec {
    /// The state the operator will drive the connector to (AbstractConnectOperator.updateState).
    pub fn desired_state(&self) -> ConnectorState {
        match self.state.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("paused") => ConnectorState::Paused,
            Some("stopped") => ConnectorState::Stopped,
            Some("running") => ConnectorState::Running,
            _ if self.pause == Some(true) => ConnectorState::Paused,
            _ => ConnectorState::Running,
        }
    }
}

/// The three connectors an MM2 mirror runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorKind {
    Source,
    Checkpoint,
    Heartbeat,
}

impl ConnectorKind {
    pub const ALL: [ConnectorKind; 3] = [
        ConnectorKind::Source,
        ConnectorKind::Checkpoint,
        ConnectorKind::Heartbeat,
    ];

    /// Key in `spec.mirrors[]`.
    pub fn spec_key(self) -> &'static str {
        match self {
            ConnectorKind::Source => "sourceConnector",
            ConnectorKind::Checkpoint => "checkpointConnector",
            ConnectorKind::Heartbeat => "heartbeatConnector",
        }
    }

    /// Suffix of the Connect connector name (KafkaMirrorMaker2Connectors.java).
    pub fn class_suffix(self) -> &'static str {
        match self {
            ConnectorKind::Source => "MirrorSourceConnector",
            ConnectorKind::Checkpoint => "MirrorCheckpointConnector",
            ConnectorKind::Heartbeat => "MirrorHeartbeatConnector",
        }
    }

    /// `proxmox->aws.MirrorSourceConnector`.
    pub fn connector_name(self, d: &Direction) -> String {
        format!("{}.{}", d.connector_prefix(), self.class_suffix())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorKind::Source => "source",
            ConnectorKind::Checkpoint => "checkpoint",
            ConnectorKind::Heartbeat => "heartbeat",
        }
    }

    /// Which kind a Connect connector name belongs to.
    pub fn from_connector_name(name: &str) -> Option<ConnectorKind> {
        ConnectorKind::ALL
            .into_iter()
            .find(|k| name.ends_with(k.class_suffix()))
    }
}

impl std::str::FromStr for ConnectorKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "source" | "mirrorsourceconnector" => Ok(ConnectorKind::Source),
            "checkpoint" | "mirrorcheckpointconnector" => Ok(ConnectorKind::Checkpoint),
            "heartbeat" | "mirrorheartbeatconnector" => Ok(ConnectorKind::Heartbeat),
            _ => Err(format!(
                "unknown connector '{s}' (source, checkpoint, heartbeat or all)"
            )),
        }
    }
}

/// Kafka Connect connector and task states (plus our desired-state spelling).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ConnectorState {
    Running,
    Paused,
    Stopped,
    Failed,
    Unassigned,
    Restarting,
    Unknown,
}

impl ConnectorState {
    pub fn parse(s: &str) -> ConnectorState {
        match s.to_ascii_uppercase().as_str() {
            "RUNNING" => ConnectorState::Running,
            "PAUSED" => ConnectorState::Paused,
            "STOPPED" => ConnectorState::Stopped,
            "FAILED" => ConnectorState::Failed,
            "UNASSIGNED" => ConnectorState::Unassigned,
            "RESTARTING" => ConnectorState::Restarting,
            _ => ConnectorState::Unknown,
        }
    }
    /// Spelling in the CR's `state` field.
    pub fn spec_value(self) -> &'static str {
        match self {
            ConnectorState::Paused => "paused",
            ConnectorState::Stopped => "stopped",
            _ => "running",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorState::Running => "RUNNING",
            ConnectorState::Paused => "PAUSED",
            ConnectorState::Stopped => "STOPPED",
            ConnectorState::Failed => "FAILED",
            ConnectorState::Unassigned => "UNASSIGNED",
            ConnectorState::Restarting => "RESTARTING",
            ConnectorState::Unknown => "UNKNOWN",
        }
    }
}

impl std::fmt::Display for ConnectorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `status` of a KafkaMirrorMaker2 as the 0.51 operator writes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Mm2Status {
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default)]
    pub observed_generation: Option<i64>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub connectors: Vec<ConnectorStatus>,
    #[serde(default)]
    pub auto_restart_statuses: Vec<AutoRestartStatus>,
    #[serde(default)]
    pub label_selector: Option<String>,
    #[serde(default)]
    pub replicas: Option<i32>,
}

/// The body of `GET /connectors/<name>/status`, as copied into the CR status.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
pub struct ConnectorStatus {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub connector: ConnectorInstance,
    #[serde(default)]
    pub tasks: Vec<TaskStatus>,
    #[serde(rename = "type", default)]
    pub type_: Option<String>,
}

/// Connector-level state.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
pub struct ConnectorInstance {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub worker_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// Task-level state.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
pub struct TaskStatus {
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub worker_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

/// Auto-restart bookkeeping.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "crd-gen", derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct AutoRestartStatus {
    #[serde(default)]
    pub count: i64,
    #[serde(default)]
    pub connector_name: String,
    #[serde(default)]
    pub last_restart_timestamp: Option<String>,
}

/// One replication route of an MM2: direction plus where each end is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MirrorRoute {
    /// Index in `spec.mirrors` (for patches).
    pub index: usize,
    pub direction: Direction,
    pub source_bootstrap: Option<String>,
    pub target_bootstrap: Option<String>,
}

/// Which API shape an MM2 spec uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mm2Shape {
    /// `clusters` + `connectCluster` (v1beta2, deprecated).
    V1beta2,
    /// `target` + `mirrors[].source` (v1).
    V1,
    /// Neither: pruned or empty.
    Unknown,
}

impl Mm2Spec {
    pub fn parse(spec: &Value) -> Result<Mm2Spec, serde_json::Error> {
        serde_json::from_value(spec.clone())
    }

    pub fn shape(&self) -> Mm2Shape {
        if self.target.is_some() || self.mirrors.iter().any(|m| m.source.is_some()) {
            Mm2Shape::V1
        } else if self.connect_cluster.is_some() || !self.clusters.is_empty() {
            Mm2Shape::V1beta2
        } else {
            Mm2Shape::Unknown
        }
    }

    /// Alias of the cluster the Connect workers run against (and write to).
    pub fn connect_alias(&self) -> Option<&str> {
        self.target
            .as_ref()
            .map(|t| t.alias.as_str())
            .or(self.connect_cluster.as_deref())
    }

    fn cluster(&self, alias: &str) -> Option<&Mm2Cluster> {
        self.clusters
            .iter()
            .find(|c| c.alias == alias)
            .or(self.target.as_ref().filter(|t| t.alias == alias))
    }

    /// Every mirror as a direction with the bootstrap servers of both ends.
    pub fn routes(&self) -> Vec<MirrorRoute> {
        self.mirrors
            .iter()
            .enumerate()
            .filter_map(|(index, m)| {
                let source = m
                    .source
                    .as_ref()
                    .map(|s| s.alias.clone())
                    .or_else(|| m.source_cluster.clone())?;
                let target = m
                    .target_cluster
                    .clone()
                    .or_else(|| self.connect_alias().map(str::to_string))?;
                let source_bootstrap = m
                    .source
                    .as_ref()
                    .map(|s| s.bootstrap_servers.clone())
                    .or_else(|| self.cluster(&source).map(|c| c.bootstrap_servers.clone()));
                let target_bootstrap = self.cluster(&target).map(|c| c.bootstrap_servers.clone());
                Some(MirrorRoute {
                    index,
                    direction: Direction::new(source, target),
                    source_bootstrap,
                    target_bootstrap,
                })
            })
            .collect()
    }

    /// The connector spec of one kind in mirror `index`.
    pub fn connector(&self, index: usize, kind: ConnectorKind) -> Option<&ConnectorSpec> {
        let m = self.mirrors.get(index)?;
        match kind {
            ConnectorKind::Source => m.source_connector.as_ref(),
            ConnectorKind::Checkpoint => m.checkpoint_connector.as_ref(),
            ConnectorKind::Heartbeat => m.heartbeat_connector.as_ref(),
        }
    }

    /// Connector kinds configured in mirror `index`. The source connector always runs; checkpoint
    /// runs unless absent in v1beta2 (Strimzi creates it by default); heartbeat only when set
    /// (and never in v1).
    pub fn connector_kinds(&self, index: usize) -> Vec<ConnectorKind> {
        let Some(m) = self.mirrors.get(index) else {
            return vec![];
        };
        let mut kinds = vec![ConnectorKind::Source];
        if m.checkpoint_connector.is_some() {
            kinds.push(ConnectorKind::Checkpoint);
        }
        if m.heartbeat_connector.is_some() {
            kinds.push(ConnectorKind::Heartbeat);
        }
        kinds
    }

    /// Secrets holding SCRAM passwords, with the alias that uses each.
    pub fn credential_secrets(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut push = |c: &Mm2Cluster| {
            if let Some(ps) = c.authentication.as_ref().and_then(|a| a.password_secret.as_ref()) {
                let entry = (c.alias.clone(), ps.secret_name.clone());
                if !out.contains(&entry) {
                    out.push(entry);
                }
            }
        };
        self.clusters.iter().for_each(&mut push);
        self.target.iter().for_each(&mut push);
        self.mirrors
            .iter()
            .filter_map(|m| m.source.as_ref())
            .for_each(&mut push);
        out
    }
}

/// Parse `strimzi.io/cluster=a,strimzi.io/name=b` (key order is not stable: compare as sets).
pub fn parse_label_selector(sel: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = sel
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    v.sort();
    v
}

/// `spec` of a KafkaUser: what `copy-secret` and `status` need to know about the credentials.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaUserSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<KafkaUserAuthentication>,
}

/// `spec.authentication` of a KafkaUser (`scram-sha-512`, `tls`, ...).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KafkaUserAuthentication {
    #[serde(rename = "type", default)]
    pub type_: String,
}

/// `status` of a KafkaUser: the SCRAM user name and the Secret the User Operator wrote.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KafkaUserStatus {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
    #[serde(default)]
    pub conditions: Vec<Condition>,
}

/// The part of a Kafka `spec` we read: the Kafka version (KRaft clusters size brokers with
/// KafkaNodePools, so replicas live there).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KafkaSpec {
    #[serde(default)]
    pub kafka: Option<KafkaClusterSpec>,
}

/// `spec.kafka` of a Kafka.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaClusterSpec {
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub jvm_options: Option<serde_json::Map<String, Value>>,
}

/// The part of a KafkaNodePool `spec` we read: how many brokers and their memory budget.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaNodePoolSpec {
    #[serde(default)]
    pub replicas: Option<i32>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub resources: Option<Value>,
    #[serde(default)]
    pub jvm_options: Option<serde_json::Map<String, Value>>,
}

impl KafkaNodePoolSpec {
    /// `resources.limits.memory`, e.g. `2Gi`.
    pub fn memory_limit(&self) -> Option<&str> {
        self.resources.as_ref()?.get("limits")?.get("memory")?.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn runbook_spec() -> Value {
        json!({
          "version": "4.1.0", "replicas": 2, "connectCluster": "proxmox",
          "clusters": [
            {"alias": "proxmox", "bootstrapServers": "kafka-rciis-prod-kafka-bootstrap.rciis-prod.svc:9092",
             "authentication": {"type": "scram-sha-512", "username": "mm2-user",
               "passwordSecret": {"secretName": "mm2-user", "password": "password"}}},
            {"alias": "aws", "bootstrapServers": "kafka-bootstrap-aws.rciis-prod.svc.clusterset.local:9092",
             "authentication": {"type": "scram-sha-512", "username": "mm2-user",
               "passwordSecret": {"secretName": "mm2-user-aws", "password": "password"}}}],
          "mirrors": [{"sourceCluster": "proxmox", "targetCluster": "aws",
            "sourceConnector": {"tasksMax": 5}, "checkpointConnector": {}, "heartbeatConnector": {}}]
        })
    }

    #[test]
    fn runbook_shape_gives_one_route_with_bootstraps() {
        let spec = Mm2Spec::parse(&runbook_spec()).unwrap();
        assert_eq!(spec.shape(), Mm2Shape::V1beta2);
        assert_eq!(spec.connect_alias(), Some("proxmox"));
        let routes = spec.routes();
        assert_eq!(routes.len(), 1);
        assert_eq!(routes[0].direction, Direction::new("proxmox", "aws"));
        assert_eq!(
            routes[0].target_bootstrap.as_deref(),
            Some("kafka-bootstrap-aws.rciis-prod.svc.clusterset.local:9092")
        );
        assert_eq!(spec.connector_kinds(0).len(), 3);
        assert_eq!(
            spec.credential_secrets(),
            vec![
                ("proxmox".into(), "mm2-user".into()),
                ("aws".into(), "mm2-user-aws".into())
            ]
        );
    }

    #[test]
    fn v1_shape_is_understood() {
        let spec = Mm2Spec::parse(&json!({
          "replicas": 1,
          "target": {"alias": "aws", "bootstrapServers": "b-aws:9092", "groupId": "g",
                     "configStorageTopic": "c", "statusStorageTopic": "s", "offsetStorageTopic": "o"},
          "mirrors": [{"source": {"alias": "proxmox", "bootstrapServers": "b-px:9092"},
                       "sourceConnector": {"state": "paused"}, "checkpointConnector": {}}]
        }))
        .unwrap();
        assert_eq!(spec.shape(), Mm2Shape::V1);
        let r = &spec.routes()[0];
        assert_eq!(r.direction, Direction::new("proxmox", "aws"));
        assert_eq!(r.source_bootstrap.as_deref(), Some("b-px:9092"));
        assert_eq!(r.target_bootstrap.as_deref(), Some("b-aws:9092"));
        assert_eq!(
            spec.connector(0, ConnectorKind::Source).unwrap().desired_state(),
            ConnectorState::Paused
        );
    }

    #[test]
    fn pruned_spec_has_unknown_shape_and_no_routes() {
        // What a v1 read of the runbook's object returns (research/kube-rs.md §2).
        let spec = Mm2Spec::parse(&json!({"mirrors": [], "replicas": 1, "version": "3.9.0"})).unwrap();
        assert_eq!(spec.shape(), Mm2Shape::Unknown);
        assert!(spec.routes().is_empty());
    }

    #[test]
    fn state_wins_over_deprecated_pause() {
        let c = ConnectorSpec {
            state: Some("RUNNING".into()),
            pause: Some(true),
            tasks_max: None,
        };
        assert_eq!(c.desired_state(), ConnectorState::Running);
        let c = ConnectorSpec {
            state: None,
            pause: Some(true),
            tasks_max: None,
        };
        assert_eq!(c.desired_state(), ConnectorState::Paused);
    }

    #[test]
    fn label_selector_compares_as_a_set() {
        assert_eq!(parse_label_selector("b=2,a=1"), parse_label_selector("a=1,b=2"));
    }

    #[test]
    fn kafka_user_and_node_pool_views() {
        let u: KafkaUserSpec =
            serde_json::from_value(json!({"authentication": {"type": "scram-sha-512"}, "authorization": {}}))
                .unwrap();
        assert_eq!(u.authentication.unwrap().type_, "scram-sha-512");
        let st: KafkaUserStatus =
            serde_json::from_value(json!({"username": "mm2-user", "secret": "mm2-user"})).unwrap();
        assert_eq!(st.secret.as_deref(), Some("mm2-user"));
        let np: KafkaNodePoolSpec =
            serde_json::from_value(json!({"replicas": 1, "roles": ["controller", "broker"],
            "resources": {"limits": {"memory": "2Gi"}}, "storage": {"type": "jbod"}}))
            .unwrap();
        assert_eq!((np.replicas, np.memory_limit()), (Some(1), Some("2Gi")));
        let k: KafkaSpec =
            serde_json::from_value(json!({"kafka": {"version": "4.1.0", "jvmOptions": {"-Xmx": "8192m"}}}))
                .unwrap();
        let kafka = k.kafka.unwrap();
        assert_eq!(kafka.version.as_deref(), Some("4.1.0"));
        assert_eq!(kafka.jvm_options.unwrap()["-Xmx"], "8192m");
    }
}
