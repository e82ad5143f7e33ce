//! One typed error for everything the core can fail at.
//!
//! Every variant that comes from a cluster names the kube context, because with two clusters
//! "forbidden" alone does not tell an operator where to look. `hint()` says what to do next and
//! `exit_code()` maps the failure onto the documented exit codes of both plugins.

use serde::Serialize;
use std::time::Duration;

/// Result alias used across `mm2-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, and where. Plain data (no wrapped client errors), so it is `Clone`: the
/// same unreachable context is reported under every direction that runs there.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The API server could not be reached (connection refused, TLS failure, DNS ...).
    #[error("context {context}: cannot reach the API server {server}: {cause}")]
    Unreachable {
        context: String,
        server: String,
        cause: String,
    },

    /// The API server did not answer within the per-call timeout.
    #[error("context {context}: no answer from the API server {server} within {}", humantime(*.timeout))]
    Timeout {
        context: String,
        server: String,
        timeout: Duration,
    },

    /// RBAC denied the request (HTTP 403).
    #[error("context {context}: forbidden: user may not {verb} {resource}{}", in_namespace(.namespace))]
    Forbidden {
        context: String,
        verb: String,
        resource: String,
        namespace: Option<String>,
        message: String,
    },

    /// The API server rejected the credentials (HTTP 401): expired token, wrong certificate.
    #[error("context {context}: the API server {server} rejected the credentials (HTTP 401 Unauthorized){}", if message.is_empty() { String::new() } else { format!(": {message}") })]
    Unauthorized {
        context: String,
        server: String,
        message: String,
    },

    /// The cluster does not serve the API group (CRD not installed).
    #[error("context {context}: the {kind} API ({group}) is not installed in this cluster")]
    CrdMissing {
        context: String,
        group: String,
        kind: String,
    },

    /// The object does not exist.
    #[error("context {context}: {kind} {namespace}/{name} not found")]
    NotFound {
        context: String,
        kind: String,
        namespace: String,
        name: String,
    },

    /// The namespace a write goes to does not exist.
    #[error("context {context}: namespace {namespace} does not exist")]
    MissingNamespace { context: String, namespace: String },

    /// Any other answer from the API server.
    #[error("context {context}: {verb} {resource} failed: {message} (HTTP {code}{})", if reason.is_empty() { String::new() } else { format!(" {reason}") })]
    Api {
        context: String,
        verb: String,
        resource: String,
        code: u16,
        reason: String,
        message: String,
    },

    /// The kubeconfig could not be read or does not hold the context asked for.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),

    /// A replication direction that could not be understood.
    #[error(transparent)]
    Direction(#[from] crate::direction::DirectionError),

    /// The clusterset topology is incomplete or contradictory.
    #[error("topology: {0}")]
    Topology(String),

    /// A configuration file could not be read.
    #[error("config file {path}: {message}")]
    Config { path: String, message: String },

    /// Waiting for the operator to converge ran out of time.
    #[error("timed out after {} waiting for {what}", humantime(*.timeout))]
    NotConverged { what: String, timeout: Duration },

    /// The command refused to act to protect the user (Flux ownership, paused reconciliation ...).
    #[error("{reason}")]
    Refused { reason: String, hint: String },

    /// The user gave input the command cannot act on.
    #[error("{0}")]
    Usage(String),

    /// Unexpected data from a cluster (a field of the wrong type, unparsable YAML ...).
    #[error("{0}")]
    Invalid(String),
}

fn in_namespace(ns: &Option<String>) -> String {
    ns.as_ref()
        .map(|n| format!(" in namespace {n}"))
        .unwrap_or_default()
}

/// `5s`, `1m30s`: the way kubectl prints durations.
pub fn humantime(d: Duration) -> String {
    let secs = d.as_secs();
    if secs == 0 {
        return format!("{}ms", d.as_millis());
    }
    match (secs / 3600, (secs % 3600) / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, s) => format!("{m}m{s}s"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

/// Documented exit codes shared by `kubectl mm2` and `kubectl clusterset` (see README).
pub mod exit {
    /// Success, healthy.
    pub const OK: u8 = 0;
    /// An error: bad input, API failure, not found.
    pub const ERROR: u8 = 1;
    /// Command-line usage error (from clap).
    pub const USAGE: u8 = 2;
    /// `status`: reachable but degraded (connector/task not running, not Ready, replicas short).
    pub const DEGRADED: u8 = 3;
    /// A cluster could not be reached or timed out.
    pub const UNREACHABLE: u8 = 4;
    /// A wait for the operator to converge timed out.
    pub const NOT_CONVERGED: u8 = 5;
    /// The command refused to act (Flux would revert it, reconciliation paused, ...).
    pub const REFUSED: u8 = 6;
    /// RBAC forbade the request.
    pub const FORBIDDEN: u8 = 7;
    /// The API server rejected the credentials (HTTP 401): log in again.
    pub const UNAUTHORIZED: u8 = 8;
}

impl Error {
    /// The exit code this error maps to.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Unreachable { .. } | Error::Timeout { .. } => exit::UNREACHABLE,
            Error::Forbidden { .. } => exit::FORBIDDEN,
            Error::Unauthorized { .. } => exit::UNAUTHORIZED,
            Error::NotConverged { .. } => exit::NOT_CONVERGED,
            Error::Refused { .. } => exit::REFUSED,
            Error::Usage(_) | Error::Direction(_) => exit::USAGE,
            _ => exit::ERROR,
        }
    }

    /// What the user should do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Error::Unreachable { context, .. } => format!(
                "check that the cluster of context {context} is up and reachable from here (VPN, Cluster Mesh, \
                 `kubectl --context {context} get --raw /readyz`)"
            ),
            Error::Timeout { context, .. } => format!(
                "the API server of {context} is slow or unreachable; retry with a longer --timeout or check \
                 `kubectl --context {context} get --raw /readyz`"
            ),
            Error::Forbidden {
                context,
                verb,
                resource,
                namespace,
                ..
            } => format!(
                "ask a cluster admin for '{verb}' on '{resource}'{} in context {context}, or use a context whose \
                 user has it (`kubectl auth can-i {verb} {resource}{} --context {context}`)",
                in_namespace(namespace),
                namespace.as_ref().map(|n| format!(" -n {n}")).unwrap_or_default()
            ),
            Error::Unauthorized { context, .. } => format!(
                "log in again: the credentials of context {context} are expired or wrong (refresh the token or \
                 re-run your cloud's login; `kubectl --context {context} auth whoami` tells when it works)"
            ),
            Error::CrdMissing { context, group, .. } => format!(
                "install the CRDs of {group} in context {context} (Strimzi operator, MCS API / Cilium Cluster Mesh, \
                 or Flux), or point --context at a cluster that has them"
            ),
            Error::NotFound {
                context,
                namespace,
                kind,
                ..
            } => format!(
                "list what exists with `kubectl get {} -n {namespace} --context {context}`",
                kind.to_lowercase()
            ),
            Error::MissingNamespace { context, namespace } => format!(
                "create it (in Git if Flux manages the cluster): kubectl create namespace {namespace} --context {context}"
            ),
            Error::Kubeconfig(_) => {
                "check --kubeconfig / KUBECONFIG and `kubectl config get-contexts`".to_string()
            }
            Error::Refused { hint, .. } => hint.clone(),
            Error::Direction(d) => return d.hint(),
            _ => return None,
        })
    }

    /// A short, stable name of the failure for machine output (`unreachable`, `forbidden` ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Unreachable { .. } => "unreachable",
            Error::Timeout { .. } => "timeout",
            Error::Forbidden { .. } => "forbidden",
            Error::Unauthorized { .. } => "unauthorized",
            Error::CrdMissing { .. } => "crd-missing",
            Error::NotFound { .. } | Error::MissingNamespace { .. } => "not-found",
            Error::Refused { .. } => "refused",
            Error::NotConverged { .. } => "not-converged",
            Error::Usage(_) | Error::Direction(_) => "usage",
            _ => "error",
        }
    }

    /// The same failure, said of `context` (several contexts joined by `, `).
    pub fn on_context(self, ctx: String) -> Error {
        match self {
            Error::Unreachable { server, cause, .. } => Error::Unreachable {
                context: ctx,
                server,
                cause,
            },
            Error::Timeout { server, timeout, .. } => Error::Timeout {
                context: ctx,
                server,
                timeout,
            },
            Error::Forbidden {
                verb,
                resource,
                namespace,
                message,
                ..
            } => Error::Forbidden {
                context: ctx,
                verb,
                resource,
                namespace,
                message,
            },
            Error::Unauthorized { server, message, .. } => Error::Unauthorized {
                context: ctx,
                server,
                message,
            },
            Error::CrdMissing { group, kind, .. } => Error::CrdMissing {
                context: ctx,
                group,
                kind,
            },
            other => other,
        }
    }

    /// True when the failure is about reaching a cluster (not about the request).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Unreachable { .. } | Error::Timeout { .. })
    }

    /// The kube context the error happened on, if any.
    pub fn context(&self) -> Option<&str> {
        match self {
            Error::Unreachable { context, .. }
            | Error::Timeout { context, .. }
            | Error::Forbidden { context, .. }
            | Error::Unauthorized { context, .. }
            | Error::CrdMissing { context, .. }
            | Error::NotFound { context, .. }
            | Error::MissingNamespace { context, .. }
            | Error::Api { context, .. } => Some(context),
            _ => None,
        }
    }
}

/// Where a request was going, so a raw kube error can become a typed one.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub context: &'a str,
    pub server: &'a str,
    pub verb: &'a str,
    /// Plural resource, with group when not core (`kafkamirrormaker2s.kafka.strimzi.io`).
    pub resource: &'a str,
    pub kind: &'a str,
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
}

impl Target<'_> {
    /// Map a kube-rs error onto our variants (research/kube-rs.md §5 lists the shapes seen).
    pub fn map(&self, err: kube::Error) -> Error {
        match err {
            kube::Error::Api(status) => self.map_status(status.code, &status.reason, &status.message),
            kube::Error::Service(_) | kube::Error::HyperError(_) => {
                let cause = source_chain(&err);
                if cause.contains("deadline has elapsed") || cause.contains("timed out") {
                    Error::Timeout {
                        context: self.context.into(),
                        server: self.server.into(),
                        timeout: Duration::ZERO,
                    }
                } else {
                    Error::Unreachable {
                        context: self.context.into(),
                        server: self.server.into(),
                        cause,
                    }
                }
            }
            kube::Error::Discovery(d) => Error::CrdMissing {
                context: self.context.into(),
                group: d.to_string(),
                kind: self.kind.into(),
            },
            other => Error::Api {
                context: self.context.into(),
                verb: self.verb.into(),
                resource: self.resource.into(),
                code: 0,
                reason: "ClientError".into(),
                message: source_chain(&other),
            },
        }
    }

    /// Map an HTTP status from the API server.
    pub fn map_status(&self, code: u16, reason: &str, message: &str) -> Error {
        match code {
            401 => Error::Unauthorized {
                context: self.context.into(),
                server: self.server.into(),
                message: message.into(),
            },
            403 => Error::Forbidden {
                context: self.context.into(),
                verb: self.verb.into(),
                resource: self.resource.into(),
                namespace: self.namespace.map(Into::into),
                message: message.into(),
            },
            404 if self.name.is_some()
                && !message.contains("the server could not find the requested resource") =>
            {
                Error::NotFound {
                    context: self.context.into(),
                    kind: self.kind.into(),
                    namespace: self.namespace.unwrap_or_default().into(),
                    name: self.name.unwrap_or_default().into(),
                }
            }
            404 => Error::CrdMissing {
                context: self.context.into(),
                group: self
                    .resource
                    .split_once('.')
                    .map(|(_, g)| g)
                    .unwrap_or(self.resource)
                    .into(),
                kind: self.kind.into(),
            },
            _ => Error::Api {
                context: self.context.into(),
                verb: self.verb.into(),
                resource: self.resource.into(),
                code,
                reason: reason.into(),
                message: message.into(),
            },
        }
    }
}

/// `a: b: c` for an error and its sources: kube's `Service` error alone says only "client error".
pub fn source_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}

/// A failure as it appears in a machine-readable report (`status/v1`, `lag/v1`): the error's kind,
/// context, message and hint, so a script can branch on `kind` without parsing text.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// `unreachable`, `timeout`, `forbidden`, `crd-missing`, `not-found`, `error`.
    pub kind: &'static str,
    pub context: Option<String>,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub fn from_error(e: &Error) -> Self {
        Problem {
            kind: e.kind(),
            context: e.context().map(str::to_string),
            message: e.to_string(),
            hint: e.hint(),
        }
    }
}
