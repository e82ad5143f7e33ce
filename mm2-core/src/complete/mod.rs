//! Shell completion for both plugins.
//!
//! Three ways in:
//! * **kubectl** (≥ 1.26) runs `kubectl_complete-mm2 <words...> <current word>` when the user
//!   presses TAB after `kubectl mm2`, and reads Cobra's `__complete` answer: one
//!   `value\tdescription` a line, then `:<directive>` (research/plugin-ecosystem.md §1). The plugin
//!   binary answers that itself, either when it runs under that name (the symlink made by
//!   `kubectl mm2 completion kubectl --install`) or as `kubectl-mm2 __complete <words...>` (the sh
//!   shims in `completions/`). See [`dispatch`].
//! * `kubectl-mm2 completion bash|zsh|fish|powershell|elvish` prints clap_complete's static
//!   script, for people who call the binary directly ([`run`]).
//! * The engine itself, [`complete`], for tests.
//!
//! The engine walks the clap [`Command`] like clap's parser does (subcommands, `--flag value`,
//! `--flag=value`, `-abc` clusters, `--`) and offers what fits the cursor: subcommands with their
//! `about`, flags, possible values, and *live* values chosen by the argument's id or value name
//! ([`ValueKind`]). Static candidates never read the kubeconfig nor touch the network; live ones go
//! through [`Lookup`], which in the binaries is [`Live`]: at most [`LIVE_TIMEOUT`] per context and
//! answers cached on disk for [`CACHE_TTL`] under `$XDG_CACHE_HOME/kubectl-mm2/completion/`.
//!
//! **Directions and the shell.** A direction's canonical spelling `proxmox->aws` contains `>`,
//! which an unquoted shell word turns into a redirect. Candidates are therefore only ever
//! `proxmox:aws` (with the description `proxmox->aws`), or `proxmox-to-aws` once the word being
//! completed already reads `proxmox-`, or `mm2-proxmox-to-aws` after `mm2-`. All three survive every
//! shell unquoted and `direction::parse` accepts them.
//!
//! | module | job |
//! |---|---|
//! | this one | the vocabulary: [`Candidate`], [`Completion`] and its wire format, [`ValueKind`], [`Typed`], [`Lookup`] |
//! | `engine` | [`complete`]: what to offer for the word under the cursor, by walking the clap [`Command`] |
//! | `protocol` | [`dispatch`]: answering kubectl's `__complete` request (argv\[0\] or `__complete`) |
//! | `install` | [`run`]: the `completion` subcommand, its scripts and the `kubectl_complete-<plugin>` shim |
//! | `live` | [`Live`]: directions, contexts, namespaces and names read from the clusters under a deadline |
//! | `cache` | [`Cache`]: live answers kept on disk for a few seconds |
//!
//! [`Command`]: clap::Command

mod cache;
mod engine;
mod install;
mod live;
mod protocol;

pub use cache::{CACHE_TTL, Cache, FAILED_TTL};
pub use engine::{complete, direction_forms, kind_of};
pub use install::{CompletionArgs, install_completer, locate_plugin, run, shim_script};
pub use live::{LIVE_TIMEOUT, Live, aliases_from_contexts};
pub use protocol::{completer_name, completion_request, dispatch, plugin_exe};

use clap::Arg;
use std::collections::BTreeMap;

/// Cobra's `ShellCompDirective` bits.
pub mod directive {
    /// Let the shell fall back to file names when there is no candidate.
    pub const DEFAULT: u32 = 0;
    /// Something went wrong; the shell offers nothing.
    pub const ERROR: u32 = 1;
    /// Do not add a space after the completed word.
    pub const NO_SPACE: u32 = 2;
    /// Never fall back to file names.
    pub const NO_FILE_COMP: u32 = 4;
    /// Keep the candidates in the given order.
    pub const KEEP_ORDER: u32 = 32;
}

/// One completion candidate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Candidate {
    pub value: String,
    pub help: String,
}

impl Candidate {
    pub fn new(value: impl Into<String>, help: impl Into<String>) -> Self {
        Candidate {
            value: value.into(),
            help: help.into(),
        }
    }
}

/// The answer: candidates plus a Cobra directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub candidates: Vec<Candidate>,
    pub directive: u32,
}

impl Completion {
    /// Cobra's wire format: `value\tdescription` lines (descriptions dropped for
    /// `__completeNoDesc`), then `:<directive>`.
    pub fn render(&self, descriptions: bool) -> String {
        let mut out = String::new();
        for c in &self.candidates {
            out.push_str(&one_line(&c.value));
            let help = one_line(&c.help);
            if descriptions && !help.is_empty() {
                out.push('\t');
                out.push_str(&help);
            }
            out.push('\n');
        }
        out.push(':');
        out.push_str(&self.directive.to_string());
        out.push('\n');
        out
    }

    /// Candidate values only (tests).
    pub fn values(&self) -> Vec<&str> {
        self.candidates.iter().map(|c| c.value.as_str()).collect()
    }
}

fn one_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or("")
        .replace('\t', " ")
        .trim()
        .to_string()
}

/// What kind of live value an argument takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ValueKind {
    /// A kube context of the kubeconfig (a local file read, no network).
    Context,
    /// `ALIAS=CONTEXT` for `--cluster` (kubeconfig only).
    ClusterEntry,
    /// A namespace of the selected context.
    Namespace,
    /// A replication direction of the clusterset (topology discovery).
    Direction,
    /// A Secret (copy-secret; in `--from`'s context).
    Secret,
    /// A Service (export).
    Service,
    /// A ServiceExport/ServiceImport name of the clusterset (resolve).
    Export,
    /// A Strimzi Kafka cluster (export --kafka).
    Kafka,
    /// A file name: the shell completes it.
    Path,
}

impl ValueKind {
    fn key(self) -> &'static str {
        match self {
            ValueKind::Context => "context",
            ValueKind::ClusterEntry => "cluster",
            ValueKind::Namespace => "namespace",
            ValueKind::Direction => "direction",
            ValueKind::Secret => "secret",
            ValueKind::Service => "service",
            ValueKind::Export => "export",
            ValueKind::Kafka => "kafka",
            ValueKind::Path => "path",
        }
    }
}

/// What was typed before the cursor: the subcommand path and every flag/positional value, by clap
/// argument id (globals included).
#[derive(Debug, Default, Clone)]
pub struct Typed {
    /// Subcommand names from the root, e.g. `["pause"]`.
    pub path: Vec<String>,
    values: BTreeMap<String, Vec<String>>,
}

impl Typed {
    /// Last value given for `id`.
    pub fn get(&self, id: &str) -> Option<&str> {
        self.values
            .get(id)
            .and_then(|v| v.last())
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Every value given for `id` (delimited values split).
    pub fn all(&self, id: &str) -> Vec<String> {
        self.values.get(id).cloned().unwrap_or_default()
    }

    /// Was the flag given at all?
    pub fn has(&self, id: &str) -> bool {
        self.values.contains_key(id)
    }

    fn push(&mut self, arg: &Arg, value: &str) {
        let entry = self.values.entry(arg.get_id().to_string()).or_default();
        match arg.get_value_delimiter() {
            Some(d) if !value.is_empty() => {
                entry.extend(value.split(d).filter(|s| !s.is_empty()).map(String::from))
            }
            _ => entry.push(value.to_string()),
        }
    }

    /// A cache key component: everything that selects clusters, namespaces or the kubeconfig.
    fn selection(&self) -> String {
        let mut s = String::new();
        for id in [
            "kubeconfig",
            "context",
            "clusters",
            "clusterset_config",
            "namespace",
            "all_namespaces",
            "from",
            "to",
        ] {
            s.push_str(id);
            s.push('=');
            s.push_str(&self.all(id).join(","));
            s.push(';');
        }
        s
    }
}

/// Source of live candidates.
pub trait Lookup {
    /// Candidates of `kind` given what was typed. Never blocks longer than its own budget.
    fn lookup(&self, kind: ValueKind, typed: &Typed) -> Vec<Candidate>;
}

/// No live values at all (tests, or `MM2_COMPLETION_OFFLINE=1`).
pub struct Offline;

impl Lookup for Offline {
    fn lookup(&self, _: ValueKind, _: &Typed) -> Vec<Candidate> {
        Vec::new()
    }
}

/// Fixed answers per kind (tests).
#[derive(Default)]
pub struct Fixed(pub BTreeMap<ValueKind, Vec<Candidate>>);

impl Lookup for Fixed {
    fn lookup(&self, kind: ValueKind, _: &Typed) -> Vec<Candidate> {
        self.0.get(&kind).cloned().unwrap_or_default()
    }
}

/// A whole number from the environment (the completion's tuning knobs).
fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_format_is_one_line_per_candidate_then_the_directive() {
        let c = Completion {
            candidates: vec![
                Candidate::new("proxmox:aws", "proxmox->aws\tx\nmore"),
                Candidate::new("b", ""),
            ],
            directive: 36,
        };
        assert_eq!(c.render(true), "proxmox:aws\tproxmox->aws x\nb\n:36\n");
        assert_eq!(c.render(false), "proxmox:aws\nb\n:36\n");
    }
}
