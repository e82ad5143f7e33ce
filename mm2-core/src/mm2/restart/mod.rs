//! `kubectl mm2 restart`: restart FAILED (or chosen) connectors and tasks of a direction through
//! Strimzi's annotations on the KafkaMirrorMaker2, never by calling Kafka Connect ourselves.
//!
//! Facts (Strimzi 0.51, `KafkaMirrorMaker2AssemblyOperator` / `AbstractConnectOperator`):
//! - `strimzi.io/restart-connector=<connector>[:includeTasks[,onlyFailed]]`. The operator matches
//!   it to a connector with `value.contains(connectorName)`, then validates it: split on `:`, one or
//!   two parts, part 0 `equalsIgnoreCase` the connector, every argument `includeTasks` or
//!   `onlyFailed`. A value that *contains* a connector's name without naming it (alias `a` inside
//!   `xa`) gives that connector a `Warning` "RestartConnector" / "Invalid annotation format".
//!   The arguments are then read with `value.contains("includeTasks")` / `contains("onlyFailed")`.
//! - `strimzi.io/restart-connector-task=<connector>:<taskId>` (regex `^(.+):(\d+)$`, exact match).
//! - One value per key, removed by the operator only after Connect accepted the restart; on a
//!   failed call a `Warning` ("Failed to restart connector ...") and a retry next reconcile.
//! - Nothing is processed while `strimzi.io/pause-reconciliation` is set or `spec.replicas` is 0.
//!
//! So a restart is a sequence of annotate → wait-for-removal steps; this module plans them
//! ([`plan`], pure and unit-tested) and runs them ([`execute`]).

mod annotations;
mod execute;
mod plan;
#[cfg(test)]
mod tests;

pub use annotations::*;
pub use execute::*;
pub use plan::*;

/// Schema id of `kubectl mm2 restart -o json|yaml`.
pub const SCHEMA: &str = "kubectl-mm2.dev/restart/v1";
/// Strimzi's connector restart annotation (KafkaMirrorMaker2).
pub const RESTART_CONNECTOR: &str = "strimzi.io/restart-connector";
/// Strimzi's task restart annotation (KafkaMirrorMaker2).
pub const RESTART_CONNECTOR_TASK: &str = "strimzi.io/restart-connector-task";
/// Warning reasons the operator writes for the two annotations.
pub const WARNING_REASONS: [&str; 2] = ["RestartConnector", "RestartConnectorTask"];
/// The message of a Warning for an annotation the operator cannot parse.
pub const INVALID_FORMAT: &str = "Invalid annotation format";
pub(super) const INCLUDE_TASKS: &str = "includeTasks";
pub(super) const ONLY_FAILED: &str = "onlyFailed";
