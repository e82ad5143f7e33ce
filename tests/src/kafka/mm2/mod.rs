//! A real MirrorMaker 2 for a KafkaMirrorMaker2, doing what Strimzi 0.51's operator does for it:
//! Kafka Connect distributed workers at the pods' addresses (REST on 8083, the JMX exporter agent
//! on 9404 with the rules of the CR's `metricsConfig` ConfigMap), the connectors with the
//! configuration `KafkaMirrorMaker2Connectors` generates, undeclared connectors deleted, `state`
//! applied with `PUT /connectors/<n>/pause|resume|stop`, and `status.connectors` from the real
//! `GET /connectors?expand=status` (research: shared/research/kafka-bed.md §1-§3).
//!
//! Opt-in, per CR, with the annotation [`REAL_ANNOTATION`]`: real`: a JVM per worker costs ~10 s
//! of CPU on this 2-core machine and ~0.4 GiB, so the many MM2s the suite creates for status,
//! pause or validation tests keep the simulated pods (crate::doubles), and the tests about real
//! data create theirs with the annotation. The demo makes every valid one real
//! ([`run_every_valid_mm2_for_real`]): its tour converts and applies only a few. Only the working layout runs (each MM2 in its target
//! cluster: v1 `spec.target.alias`, v1beta2 `connectCluster` = every mirror's `targetCluster` =
//! the cluster the operator plays in); anything else stays simulated.
//!
//! Bed-only differences from a Strimzi pod, each needed because all pods share one host:
//! - every worker JVM runs in its own mount namespace with a private `/etc/hosts` that resolves
//!   the CR's bootstrap names (`kafka-bootstrap-<alias>.<ns>.svc.clusterset.local`,
//!   `kafka-rciis-prod-kafka-bootstrap.<ns>.svc`) to the bed's brokers and the pods' DNS names to
//!   their addresses, so the configuration keeps the CR's names (the product never sees which);
//! - `listeners=http://<pod IP>:8083` (Strimzi binds all addresses of its own pod);
//! - Connect's group id and internal topics get a `<namespace>.` prefix: one bed broker stands for
//!   the Kafka of every namespace, where each namespace has its own Kafka in real life;
//! - Secrets are read through the API and written as the files Strimzi mounts; a Secret that is
//!   missing gives an empty file (a real pod would not start; here the worker starts and the
//!   broker refuses the credential), and a changed one restarts the connectors and their tasks
//!   (a real pod would be rolled);
//! - a worker that exits is started again after the kubelet's CrashLoopBackOff (10 s doubling to
//!   5 min), at once when its configuration or a Secret changes (Strimzi rolls the pod);
//! - at most [`MAX_REAL_WORKERS`] workers: `spec.replicas` beyond that stay simulated pods, since
//!   two JVMs already show a Connect group's rebalancing and each more costs memory and CPU.

mod model;
mod reconciler;
mod registry;
#[cfg(test)]
mod tests;

pub use model::*;
pub use reconciler::*;
pub use registry::*;

use std::time::Duration;

use serde_json::Value;

/// `test.mm2.dev/kafka: real` runs this KafkaMirrorMaker2 on real Kafka Connect.
pub const REAL_ANNOTATION: &str = "test.mm2.dev/kafka";
/// Real worker JVMs per KafkaMirrorMaker2 (see the module comment).
pub const MAX_REAL_WORKERS: usize = 2;
/// Connect's REST port and the JMX exporter's port.
pub const REST_PORT: u16 = 8083;
pub const METRICS_PORT: u16 = 9404;
/// A CR not seen for this long (deleted, frozen, no longer real) loses its workers.
pub(super) const FORGET_AFTER: Duration = Duration::from_secs(3);
pub(super) const STEP: Duration = Duration::from_millis(500);
pub(super) const REST_TIMEOUT: Duration = Duration::from_secs(10);

/// What the operator should do with a KafkaMirrorMaker2.
#[derive(Debug, Clone, PartialEq)]
pub enum Real {
    /// Not a real one: simulate it.
    No,
    /// Real, but Connect has not answered yet: write no status (Strimzi is still reconciling).
    Starting,
    /// Real: `status.connectors` as Connect reports them.
    Observed(Vec<Value>),
}
