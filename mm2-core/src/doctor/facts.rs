//! What `doctor` knows about one context: plain data, no clients. [`ContextFacts::add`] turns
//! an object as the API server returns it (JSON) into these facts, so the rules' unit tests build
//! facts from the same JSON the e2e reads, and Secret values are reduced to hashes on arrival.

use crate::direction::Direction;
use crate::resources::Condition;
use crate::resources::strimzi::Mm2Status;
use crate::topology::layout::mirror_directions;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The kinds doctor reads, for "could not read" bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    KafkaMirrorMaker2,
    Kafka,
    KafkaNodePool,
    KafkaUser,
    KafkaTopic,
    Secret,
    Service,
    ServiceExport,
    ServiceImport,
    ConfigMap,
    PrometheusRule,
    Pod,
    CustomResourceDefinition,
    Kustomization,
}

impl Kind {
    pub const ALL: [Kind; 14] = [
        Kind::KafkaMirrorMaker2,
        Kind::Kafka,
        Kind::KafkaNodePool,
        Kind::KafkaUser,
        Kind::KafkaTopic,
        Kind::Secret,
        Kind::Service,
        Kind::ServiceExport,
        Kind::ServiceImport,
        Kind::ConfigMap,
        Kind::PrometheusRule,
        Kind::Pod,
        Kind::CustomResourceDefinition,
        Kind::Kustomization,
    ];

    pub fn from_kind(kind: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == kind)
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::KafkaMirrorMaker2 => "KafkaMirrorMaker2",
            Kind::Kafka => "Kafka",
            Kind::KafkaNodePool => "KafkaNodePool",
            Kind::KafkaUser => "KafkaUser",
            Kind::KafkaTopic => "KafkaTopic",
            Kind::Secret => "Secret",
            Kind::Service => "Service",
            Kind::ServiceExport => "ServiceExport",
            Kind::ServiceImport => "ServiceImport",
            Kind::ConfigMap => "ConfigMap",
            Kind::PrometheusRule => "PrometheusRule",
            Kind::Pod => "Pod",
            Kind::CustomResourceDefinition => "CustomResourceDefinition",
            Kind::Kustomization => "Kustomization",
        }
    }

    /// What the checks lose when this kind cannot be read.
    pub fn skipped_checks(self) -> &'static str {
        match self {
            Kind::Secret => "credentials: referenced Secrets, copies vs their source, ownerReferences",
            Kind::CustomResourceDefinition => "v1: CRD storedVersions and Flux ownership of the CRDs",
            Kind::Pod => "memory: OOMKilled containers",
            Kind::ConfigMap => "metrics: the exporter rules",
            Kind::PrometheusRule => "metrics: the alert expressions",
            Kind::Kustomization => "flux: Ready/suspended Kustomizations",
            Kind::ServiceExport | Kind::ServiceImport | Kind::Service => "networking: exports and imports",
            Kind::KafkaTopic => "sizing: source partitions",
            Kind::KafkaUser => "credentials: KafkaUser readiness",
            Kind::Kafka | Kind::KafkaNodePool => "memory, replication factors, advertised hosts",
            Kind::KafkaMirrorMaker2 => "every MirrorMaker 2 check",
        }
    }
}

/// A read RBAC refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    pub kind: Kind,
    /// `list secrets in rciis-prod`.
    pub request: String,
    /// What the checks could not look at because of it.
    pub skipped: String,
}

/// Who applied an object, from the Flux labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FluxRef {
    pub namespace: String,
    pub name: String,
}

fn flux_ref(labels: &BTreeMap<String, String>) -> Option<FluxRef> {
    Some(FluxRef {
        name: labels.get("kustomize.toolkit.fluxcd.io/name")?.clone(),
        namespace: labels.get("kustomize.toolkit.fluxcd.io/namespace")?.clone(),
    })
}

/// Metadata every fact keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub generation: Option<i64>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// `apiVersion` of each field manager's last write (`kustomize-controller` → `kafka.strimzi.io/v1beta2`).
    pub managers: BTreeMap<String, String>,
}

impl Meta {
    fn of(obj: &Value) -> Meta {
        let md = &obj["metadata"];
        let map = |v: &Value| -> BTreeMap<String, String> {
            v.as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut managers = BTreeMap::new();
        for f in md["managedFields"].as_array().into_iter().flatten() {
            if let (Some(m), Some(v)) = (f["manager"].as_str(), f["apiVersion"].as_str()) {
                managers.insert(m.to_string(), v.to_string());
            }
        }
        Meta {
            name: str_at(md, "name"),
            namespace: str_at(md, "namespace"),
            uid: str_at(md, "uid"),
            generation: md["generation"].as_i64(),
            labels: map(&md["labels"]),
            annotations: map(&md["annotations"]),
            managers,
        }
    }

    pub fn flux(&self) -> Option<FluxRef> {
        flux_ref(&self.labels)
    }
}

fn str_at(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// A KafkaMirrorMaker2 as read at the version that holds its fields.
#[derive(Debug, Clone)]
pub struct Mm2Fact {
    pub meta: Meta,
    pub api_version: String,
    pub spec: Value,
    pub status: Option<Mm2Status>,
}

impl Mm2Fact {
    pub fn directions(&self) -> Vec<Direction> {
        mirror_directions(&self.spec)
    }

    /// The alias the Connect workers run against (`connectCluster` or `target.alias`).
    pub fn connect_alias(&self) -> Option<&str> {
        self.spec
            .get("target")
            .and_then(|t| t.get("alias"))
            .or_else(|| self.spec.get("connectCluster"))
            .and_then(Value::as_str)
    }

    /// Every cluster entry (v1beta2 `clusters`, or v1 `target` + `mirrors[].source`).
    pub fn clusters(&self) -> Vec<&Value> {
        let mut out: Vec<&Value> = self
            .spec
            .get("clusters")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        if let Some(t) = self.spec.get("target") {
            out.push(t);
        }
        for m in self.mirrors() {
            if let Some(s) = m.get("source") {
                out.push(s);
            }
        }
        out
    }

    pub fn cluster(&self, alias: &str) -> Option<&Value> {
        self.clusters()
            .into_iter()
            .find(|c| c.get("alias").and_then(Value::as_str) == Some(alias))
    }

    pub fn mirrors(&self) -> Vec<&Value> {
        self.spec
            .get("mirrors")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    }

    pub fn replicas(&self) -> Option<i64> {
        self.spec.get("replicas").and_then(Value::as_i64)
    }
}

/// A Kafka cluster: its listeners, jvmOptions and whether the User Operator runs.
#[derive(Debug, Clone)]
pub struct KafkaFact {
    pub meta: Meta,
    pub spec: Value,
}

impl KafkaFact {
    pub fn user_operator(&self) -> bool {
        self.spec
            .get("entityOperator")
            .and_then(|e| e.get("userOperator"))
            .is_some_and(|u| !u.is_null())
    }
}

/// A KafkaNodePool.
#[derive(Debug, Clone)]
pub struct NodePoolFact {
    pub meta: Meta,
    pub spec: Value,
    /// `status.nodeIds`.
    pub node_ids: Vec<i64>,
}

impl NodePoolFact {
    pub fn cluster(&self) -> Option<&str> {
        self.meta.labels.get("strimzi.io/cluster").map(String::as_str)
    }
    pub fn is_broker(&self) -> bool {
        self.spec
            .get("roles")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|x| x == "broker"))
    }
    pub fn replicas(&self) -> i64 {
        self.spec.get("replicas").and_then(Value::as_i64).unwrap_or(0)
    }
}

/// A KafkaUser.
#[derive(Debug, Clone)]
pub struct UserFact {
    pub meta: Meta,
    pub conditions: Vec<Condition>,
    /// `status.secret`.
    pub secret: Option<String>,
}

/// A KafkaTopic (for source partition counts).
#[derive(Debug, Clone)]
pub struct TopicFact {
    pub meta: Meta,
    pub topic_name: String,
    pub partitions: Option<i64>,
}

/// A Secret without its values: a hash per key.
#[derive(Debug, Clone)]
pub struct SecretFact {
    pub meta: Meta,
    /// Key → first 16 hex digits of the SHA-256 of its value.
    pub key_hashes: BTreeMap<String, String>,
    /// `(apiVersion, kind, name, uid)` of each ownerReference.
    pub owners: Vec<(String, String, String, String)>,
}

/// A Service.
#[derive(Debug, Clone)]
pub struct ServiceFact {
    pub meta: Meta,
    pub ports: Vec<i64>,
    pub headless: bool,
}

/// A ServiceExport.
#[derive(Debug, Clone)]
pub struct ExportFact {
    pub meta: Meta,
    pub conditions: Vec<Condition>,
}

/// A ServiceImport.
#[derive(Debug, Clone)]
pub struct ImportFact {
    pub meta: Meta,
}

/// A ConfigMap (its data: metrics rules are configuration, not secrets).
#[derive(Debug, Clone)]
pub struct ConfigMapFact {
    pub meta: Meta,
    pub data: BTreeMap<String, String>,
}

/// A PrometheusRule: `(alert or record name, expr)`.
#[derive(Debug, Clone)]
pub struct PrometheusRuleFact {
    pub meta: Meta,
    pub rules: Vec<(String, String)>,
}

/// A container's restart facts.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerFact {
    pub name: String,
    pub restarts: i64,
    /// `lastState.terminated.reason` (or the current one).
    pub last_terminated_reason: Option<String>,
    pub last_terminated_at: Option<String>,
}

/// A Pod.
#[derive(Debug, Clone)]
pub struct PodFact {
    pub meta: Meta,
    pub phase: Option<String>,
    pub containers: Vec<ContainerFact>,
}

/// A CustomResourceDefinition.
#[derive(Debug, Clone)]
pub struct CrdFact {
    pub meta: Meta,
    pub group: String,
    pub storage_version: Option<String>,
    pub stored_versions: Vec<String>,
}

/// A Flux Kustomization.
#[derive(Debug, Clone)]
pub struct KustomizationFact {
    pub meta: Meta,
    pub suspend: bool,
    pub path: Option<String>,
    pub conditions: Vec<Condition>,
}

/// Everything read in one context.
#[derive(Debug, Clone, Default)]
pub struct ContextFacts {
    pub context: String,
    pub alias: Option<String>,
    /// Namespace of the MirrorMaker 2 deployment.
    pub namespace: String,
    /// Set when the context could not be asked at all.
    pub unreachable: Option<String>,
    pub refused: Vec<Refusal>,
    /// Other read failures (not RBAC, not a missing CRD).
    pub read_errors: Vec<String>,
    /// Kinds whose API is not installed (no CRD): read as "none".
    pub not_installed: Vec<Kind>,
    pub mm2s: Vec<Mm2Fact>,
    pub kafkas: Vec<KafkaFact>,
    pub node_pools: Vec<NodePoolFact>,
    pub users: Vec<UserFact>,
    pub topics: Vec<TopicFact>,
    pub secrets: Vec<SecretFact>,
    pub services: Vec<ServiceFact>,
    pub exports: Vec<ExportFact>,
    pub imports: Vec<ImportFact>,
    pub config_maps: Vec<ConfigMapFact>,
    pub prometheus_rules: Vec<PrometheusRuleFact>,
    pub pods: Vec<PodFact>,
    pub crds: Vec<CrdFact>,
    pub kustomizations: Vec<KustomizationFact>,
}

/// First 16 hex digits of SHA-256: enough to compare, useless to recover a password.
pub fn short_hash(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn conditions(v: &Value) -> Vec<Condition> {
    v.get("conditions")
        .and_then(|c| serde_json::from_value(c.clone()).ok())
        .unwrap_or_default()
}

/// Decode standard base64 (Secret `data` as JSON); `None` on bad input.
fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b'\n' | b'\r' => continue,
            _ => return None,
        } as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    Some(out)
}

impl ContextFacts {
    pub fn new(context: &str, alias: Option<&str>, namespace: &str) -> Self {
        ContextFacts {
            context: context.into(),
            alias: alias.map(str::to_string),
            namespace: namespace.into(),
            ..Default::default()
        }
    }

    /// True when `kind` was read (or its API is not installed, which reads as "none").
    pub fn can_read(&self, kind: Kind) -> bool {
        self.unreachable.is_none() && !self.refused.iter().any(|r| r.kind == kind)
    }

    /// The alias, or the context name when no alias is known.
    pub fn label(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.context)
    }

    /// Add one object as the API server returned it. Secret values are hashed and dropped here.
    pub fn add(&mut self, obj: &Value) {
        let Some(kind) = obj.get("kind").and_then(Value::as_str).and_then(Kind::from_kind) else {
            return;
        };
        let meta = Meta::of(obj);
        let spec = obj.get("spec").cloned().unwrap_or(Value::Null);
        let status = obj.get("status").cloned().unwrap_or(Value::Null);
        match kind {
            Kind::KafkaMirrorMaker2 => self.mm2s.push(Mm2Fact {
                meta,
                api_version: str_at(obj, "apiVersion"),
                // Lenient, entry by entry: one malformed connector must not hide the rest.
                status: (!status.is_null()).then(|| Mm2Status::parse(&status)),
                spec,
            }),
            Kind::Kafka => self.kafkas.push(KafkaFact { meta, spec }),
            Kind::KafkaNodePool => self.node_pools.push(NodePoolFact {
                meta,
                spec,
                node_ids: status["nodeIds"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_i64).collect())
                    .unwrap_or_default(),
            }),
            Kind::KafkaUser => self.users.push(UserFact {
                meta,
                conditions: conditions(&status),
                secret: status["secret"].as_str().map(str::to_string),
            }),
            Kind::KafkaTopic => self.topics.push(TopicFact {
                topic_name: spec["topicName"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| meta.name.clone()),
                partitions: spec["partitions"].as_i64(),
                meta,
            }),
            Kind::Secret => {
                let key_hashes = obj["data"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| {
                                let bytes = v.as_str().and_then(b64_decode).unwrap_or_default();
                                (k.clone(), short_hash(&bytes))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let owners = obj["metadata"]["ownerReferences"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|o| {
                        (
                            str_at(o, "apiVersion"),
                            str_at(o, "kind"),
                            str_at(o, "name"),
                            str_at(o, "uid"),
                        )
                    })
                    .collect();
                // Never keep annotation values of a Secret: kubectl's last-applied holds the data.
                let mut meta = meta;
                for v in meta.annotations.values_mut() {
                    *v = String::new();
                }
                self.secrets.push(SecretFact {
                    meta,
                    key_hashes,
                    owners,
                })
            }
            Kind::Service => self.services.push(ServiceFact {
                ports: spec["ports"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["port"].as_i64())
                    .collect(),
                headless: spec["clusterIP"] == "None",
                meta,
            }),
            Kind::ServiceExport => self.exports.push(ExportFact {
                meta,
                conditions: conditions(&status),
            }),
            Kind::ServiceImport => self.imports.push(ImportFact { meta }),
            Kind::ConfigMap => self.config_maps.push(ConfigMapFact {
                meta,
                data: obj["data"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
            Kind::PrometheusRule => {
                let mut rules = Vec::new();
                for g in spec["groups"].as_array().into_iter().flatten() {
                    for r in g["rules"].as_array().into_iter().flatten() {
                        let name = r["alert"].as_str().or(r["record"].as_str()).unwrap_or("?");
                        if let Some(e) = r["expr"].as_str() {
                            rules.push((name.to_string(), e.to_string()));
                        }
                    }
                }
                self.prometheus_rules.push(PrometheusRuleFact { meta, rules })
            }
            Kind::Pod => {
                let containers = status["containerStatuses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        let term = if c["lastState"]["terminated"].is_object() {
                            &c["lastState"]["terminated"]
                        } else {
                            &c["state"]["terminated"]
                        };
                        ContainerFact {
                            name: str_at(c, "name"),
                            restarts: c["restartCount"].as_i64().unwrap_or(0),
                            last_terminated_reason: term["reason"].as_str().map(str::to_string),
                            last_terminated_at: term["finishedAt"].as_str().map(str::to_string),
                        }
                    })
                    .collect();
                self.pods.push(PodFact {
                    meta,
                    phase: status["phase"].as_str().map(str::to_string),
                    containers,
                })
            }
            Kind::CustomResourceDefinition => self.crds.push(CrdFact {
                group: str_at(&spec, "group"),
                storage_version: spec["versions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|v| v["storage"] == true)
                    .and_then(|v| v["name"].as_str())
                    .map(str::to_string),
                stored_versions: status["storedVersions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                meta,
            }),
            Kind::Kustomization => self.kustomizations.push(KustomizationFact {
                suspend: spec["suspend"].as_bool().unwrap_or(false),
                path: spec["path"].as_str().map(str::to_string),
                conditions: conditions(&status),
                meta,
            }),
        }
    }

    /// The broker count of Kafka cluster `kafka` (its broker node pools' replicas).
    pub fn brokers_of(&self, kafka: &str) -> Option<i64> {
        let pools: Vec<&NodePoolFact> = self
            .node_pools
            .iter()
            .filter(|p| p.cluster() == Some(kafka) && p.is_broker())
            .collect();
        if pools.is_empty() {
            return None;
        }
        Some(pools.iter().map(|p| p.replicas()).sum())
    }

    /// The one Kafka of the namespace, or the one a bootstrap address names
    /// (`<kafka>-kafka-bootstrap...`).
    pub fn kafka_for(&self, bootstrap: Option<&str>) -> Option<&KafkaFact> {
        if let Some(b) = bootstrap
            && let Some(k) = self
                .kafkas
                .iter()
                .find(|k| b.starts_with(&format!("{}-kafka-bootstrap", k.meta.name)))
        {
            return Some(k);
        }
        match self.kafkas.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    pub fn secret(&self, name: &str) -> Option<&SecretFact> {
        self.secrets.iter().find(|s| s.meta.name == name)
    }
}

/// Parse a Kubernetes memory quantity (`2Gi`, `512M`, `1073741824`) into bytes.
pub fn quantity_bytes(q: &str) -> Option<u64> {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(q.len());
    let (num, unit) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "m" => 1e-3,
        _ => return None,
    };
    Some((n * mult) as u64)
}

/// Parse a JVM size (`-Xmx8192m`'s value: `8192m`, `8g`, `1024k`, bytes) into bytes.
pub fn jvm_bytes(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, mult) = match v.chars().last()? {
        'k' | 'K' => (&v[..v.len() - 1], 1024u64),
        'm' | 'M' => (&v[..v.len() - 1], 1024u64.pow(2)),
        'g' | 'G' => (&v[..v.len() - 1], 1024u64.pow(3)),
        't' | 'T' => (&v[..v.len() - 1], 1024u64.pow(4)),
        _ => (v, 1),
    };
    num.parse::<u64>().ok().map(|n| n * mult)
}

/// `2Gi`-style rendering of a byte count, for evidence.
pub fn human_bytes(b: u64) -> String {
    const GI: u64 = 1 << 30;
    const MI: u64 = 1 << 20;
    if b.is_multiple_of(GI) {
        format!("{}Gi", b / GI)
    } else if b.is_multiple_of(MI) {
        format!("{}Mi", b / MI)
    } else {
        format!("{b}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_parse_both_ways() {
        assert_eq!(quantity_bytes("2Gi"), Some(2 << 30));
        assert_eq!(quantity_bytes("512M"), Some(512_000_000));
        assert_eq!(jvm_bytes("8192m"), Some(8 << 30));
        assert_eq!(jvm_bytes("3g"), Some(3 << 30));
        assert_eq!(human_bytes(8 << 30), "8Gi");
        assert_eq!(human_bytes(3072 << 20), "3Gi");
    }

    #[test]
    fn a_secret_keeps_hashes_never_values() {
        let mut f = ContextFacts::new("c", Some("aws"), "ns");
        f.add(
            &json!({"kind": "Secret", "metadata": {"name": "s", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"password\":\"c2VjcmV0\"}}"}},
            "data": {"password": "c2VjcmV0"}}),
        );
        let s = &f.secrets[0];
        assert_eq!(s.key_hashes["password"], short_hash(b"secret"));
        assert!(!format!("{s:?}").contains("c2VjcmV0"));
        assert!(!format!("{s:?}").contains("secret\""));
    }
}
