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
    /// Entries of the status that could not be read, each named with why (see [`Mm2Status::parse`]).
    #[serde(skip)]
    #[cfg_attr(feature = "crd-gen", schemars(skip))]
    pub unreadable: Vec<String>,
}

impl Mm2Status {
    /// Read a status entry by entry: one malformed connector (a non-numeric task id, a null task
    /// list, a stray entry) must not erase the Ready condition, observedGeneration and every
    /// other connector. What cannot be read is named in `unreadable`; the rest is kept.
    pub fn parse(v: &Value) -> Mm2Status {
        let mut st = Mm2Status::default();
        let Some(m) = v.as_object() else {
            if !v.is_null() {
                st.unreadable
                    .push(format!("status is not an object: {}", short(v)));
            }
            return st;
        };
        let mut unreadable = Vec::new();
        st.conditions = each(m.get("conditions"), "conditions", &mut unreadable);
        st.connectors = m
            .get("connectors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, c)| ConnectorStatus::parse(c, i, &mut unreadable))
            .collect();
        st.auto_restart_statuses = each(
            m.get("autoRestartStatuses"),
            "autoRestartStatuses",
            &mut unreadable,
        );
        st.observed_generation = field(m, "observedGeneration", &mut unreadable);
        st.url = field(m, "url", &mut unreadable);
        st.label_selector = field(m, "labelSelector", &mut unreadable);
        st.replicas = field(m, "replicas", &mut unreadable);
        st.unreadable = unreadable;
        st
    }
}

impl ConnectorStatus {
    /// One `status.connectors[i]`; tasks one by one. `None` (and a note) when not even the
    /// connector's name and state can be read.
    fn parse(v: &Value, i: usize, unreadable: &mut Vec<String>) -> Option<ConnectorStatus> {
        // Every field defaults, so a stray object parses: an entry without a name is not a connector.
        if let Ok(c) = serde_json::from_value::<ConnectorStatus>(v.clone())
            && !c.name.is_empty()
        {
            return Some(c);
        }
        let name = v.get("name").and_then(Value::as_str).filter(|n| !n.is_empty());
        let connector = v
            .get("connector")
            .and_then(|c| serde_json::from_value::<ConnectorInstance>(c.clone()).ok());
        let (Some(name), Some(connector)) = (name, connector) else {
            unreadable.push(format!("status.connectors[{i}] could not be read: {}", short(v)));
            return None;
        };
        let mut tasks = Vec::new();
        match v.get("tasks") {
            None | Some(Value::Null) => {}
            Some(Value::Array(ts)) => {
                for (j, t) in ts.iter().enumerate() {
                    match serde_json::from_value::<TaskStatus>(t.clone()) {
                        Ok(t) => tasks.push(t),
                        Err(e) => unreadable.push(format!(
                            "{name}: status task [{j}] could not be read ({e}): {}",
                            short(t)
                        )),
                    }
                }
            }
            Some(other) => unreadable.push(format!("{name}: status tasks is not a list: {}", short(other))),
        }
        Some(ConnectorStatus {
            name: name.to_string(),
            connector,
            tasks,
            type_: v.get("type").and_then(Value::as_str).map(str::to_string),
        })
    }
}

fn each<T: serde::de::DeserializeOwned>(
    v: Option<&Value>,
    what: &str,
    unreadable: &mut Vec<String>,
) -> Vec<T> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, x)| match serde_json::from_value(x.clone()) {
                Ok(t) => Some(t),
                Err(e) => {
                    unreadable.push(format!(
                        "status.{what}[{i}] could not be read ({e}): {}",
                        short(x)
                    ));
                    None
                }
            })
            .collect(),
        Some(other) => {
            unreadable.push(format!("status.{what} is not a list: {}", short(other)));
            Vec::new()
        }
    }
}

fn field<T: serde::de::DeserializeOwned>(
    m: &serde_json::Map<String, Value>,
    key: &str,
    unreadable: &mut Vec<String>,
) -> Option<T> {
    let v = m.get(key).filter(|v| !v.is_null())?;
    serde_json::from_value(v.clone())
        .map_err(|e| unreadable.push(format!("status.{key} could not be read ({e}): {}", short(v))))
        .ok()
}

/// A value for an error message: bounded, on one line.
fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
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

    fn good_connector(name: &str) -> Value {
        json!({"name": name, "connector": {"state": "RUNNING", "worker_id": "w:8083"},
               "tasks": [{"id": 0, "state": "RUNNING", "worker_id": "w:8083"}], "type": "source"})
    }

    #[test]
    fn one_malformed_connector_entry_keeps_the_rest_of_the_status() {
        let v = json!({
            "conditions": [{"type": "Ready", "status": "True"}],
            "observedGeneration": 4,
            "connectors": [
                good_connector("a->b.MirrorSourceConnector"),
                {"name": "a->b.MirrorCheckpointConnector", "connector": {"state": "RUNNING"},
                 "tasks": [{"id": "zero", "state": "RUNNING"}, {"id": 1, "state": "FAILED"}]},
                {"name": "a->b.MirrorHeartbeatConnector", "connector": {"state": "PAUSED"}, "tasks": null},
                "a stray string",
            ]
        });
        let st = Mm2Status::parse(&v);
        assert_eq!(st.observed_generation, Some(4));
        assert_eq!(st.conditions[0].type_, "Ready");
        let names: Vec<&str> = st.connectors.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "a->b.MirrorSourceConnector",
                "a->b.MirrorCheckpointConnector",
                "a->b.MirrorHeartbeatConnector"
            ]
        );
        assert_eq!(st.connectors[1].tasks.len(), 1, "the readable task is kept");
        assert_eq!(st.connectors[1].tasks[0].state, "FAILED");
        assert!(st.connectors[2].tasks.is_empty());
        assert_eq!(st.unreadable.len(), 2, "{:?}", st.unreadable);
        assert!(st.unreadable[0].contains("MirrorCheckpointConnector: status task [0]"));
        assert!(st.unreadable[1].contains("status.connectors[3]"));
    }

    #[test]
    fn a_well_formed_status_reads_with_nothing_unreadable() {
        let v = json!({"conditions": [], "observedGeneration": 1, "replicas": 2, "labelSelector": "x=y",
                       "connectors": [good_connector("a->b.MirrorSourceConnector")]});
        let st = Mm2Status::parse(&v);
        assert!(st.unreadable.is_empty());
        assert_eq!(st.replicas, Some(2));
        assert_eq!(st.connectors.len(), 1);
    }

    /// JSON shaped like a status: the keys a status has, values of any type at any depth.
    fn status_like() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-zA-Z0-9>.-]{0,12}".prop_map(Value::from),
        ];
        let key = prop_oneof![
            Just("name".to_string()),
            Just("connector".to_string()),
            Just("tasks".to_string()),
            Just("state".to_string()),
            Just("id".to_string()),
            Just("connectors".to_string()),
            Just("conditions".to_string()),
            Just("type".to_string()),
            Just("observedGeneration".to_string()),
            "[a-z]{1,6}",
        ];
        leaf.prop_recursive(4, 64, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::btree_map(key.clone(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn parsing_any_status_never_panics_and_keeps_what_serde_keeps(v in status_like()) {
            let st = Mm2Status::parse(&v);
            // Whatever the strict parse reads as a connector, the lenient one reads too; an entry
            // without a name is not a connector (serde defaults every field, so `{}` parses).
            if let Ok(strict) = serde_json::from_value::<Mm2Status>(v.clone()) {
                let named: Vec<ConnectorStatus> =
                    strict.connectors.into_iter().filter(|c| !c.name.is_empty()).collect();
                proptest::prop_assert_eq!(named, st.connectors);
            }
        }
    }
}
