//! `kubectl mm2 report`: one `.tar.gz` with everything needed to debug a replication incident
//! across the clusterset, Secrets redacted (in the spirit of `kubectl cnpg report cluster`,
//! `subctl gather` and `rpk debug bundle`).
//!
//! Flow: discover the clusterset (as `status` does) → [`gather`] every context concurrently, each
//! under its own budget, read-only → compute `status` and `lag` with their own use cases →
//! [`redact`] every byte with the Secret values read → [`index`] (README.txt) → [`archive`].
//! A part that could not be collected is listed with its reason; it never stops the rest.
//!
//! | module | job |
//! |---|---|
//! | [`plan`] | layout, file names, pure selection rules (versions, events, owners) |
//! | [`gather`] | the reads, per context, under deadlines |
//! | [`pod_logs`] | what a failed log read means: the kubelet behind the API server (pure) |
//! | [`redact`] | Secret values, JAAS passwords and control characters out (pure) |
//! | [`index`] | README.txt (pure, golden-tested) |
//! | [`archive`] | the deterministic tar.gz |

pub mod archive;
pub mod gather;
pub mod index;
pub mod plan;
pub mod pod_logs;
pub mod redact;

use crate::clients::Kubeconfigs;
use crate::direction::Direction;
use crate::error::{Error, Result};
use crate::lag::report::{self as lag_report, LagOptions};
use crate::mm2::status;
use crate::topology::{Topology, TopologyRequest};
use gather::{ContextPlan, Sink};
use k8s_openapi::jiff::Timestamp;
use redact::Redactor;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

/// Schema identifier of the outcome document (`-o json|yaml`); fields are only ever added.
pub const SCHEMA: &str = "kubectl-mm2.dev/report/v1";

/// What the doctor part of the archive says until `kubectl mm2 doctor` exists.
pub const DOCTOR_UNAVAILABLE: &str =
    "doctor: not collected: this version of kubectl-mm2 has no `doctor` command yet";

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// One direction (`proxmox->aws` …); `None`: every direction and every context.
    pub direction: Option<String>,
    /// Events older than this are left out.
    pub since: Duration,
    /// `--logs`: the last N lines of each worker container; `None`: no logs.
    pub logs_tail: Option<i64>,
    /// Deadline of each API call (a context's whole collection gets [`context_budget`]).
    pub timeout: Duration,
    /// The plugin's version, for README.txt.
    pub plugin_version: String,
    /// The time the report is taken at (file name, archive timestamps, `--since`).
    pub now: Timestamp,
}

/// How long one context may take in all: a few rounds of concurrent calls (discovery, lists,
/// then per-pod proxies and logs), each bounded by `timeout`.
pub fn context_budget(timeout: Duration) -> Duration {
    timeout * 4
}

/// One collected part, before redaction and rendering.
#[derive(Debug, Clone)]
pub struct Collected {
    /// Path inside the archive's top folder.
    pub path: String,
    pub content: Content,
}

/// A part's content: a document (rendered as YAML, or JSON for `.json` paths) or text.
#[derive(Debug, Clone)]
pub enum Content {
    Json(Value),
    Text(String),
}

/// Something that could not be collected, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Missing {
    pub context: Option<String>,
    /// The archive path that would have held it (or what it is).
    pub part: String,
    /// `unreachable`, `timeout`, `forbidden`, `not-found`, `not-running`, `kubelet` (the kubelet
    /// behind the API server could not give a log), `error`.
    pub kind: String,
    pub reason: String,
}

/// One context of the report.
#[derive(Debug, Clone, Serialize)]
pub struct ContextSummary {
    pub context: String,
    pub alias: Option<String>,
    pub server: Option<String>,
    /// `gitVersion` from the API server's `/version`.
    pub server_version: Option<String>,
    pub namespaces: Vec<String>,
    pub reachable: bool,
}

/// One file of the archive.
#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    pub path: String,
    pub bytes: usize,
}

/// How Secrets were kept out.
#[derive(Debug, Clone, Serialize)]
pub struct RedactionSummary {
    /// Secrets read (stored as metadata only).
    pub secrets: usize,
    /// Distinct strings searched for (values, their base64 and escaped forms).
    pub values_searched: usize,
}

/// The outcome: what the archive holds and what it lacks.
#[derive(Debug, Clone, Serialize)]
pub struct ReportOutcome {
    pub schema: &'static str,
    /// Where the archive was written (`-` for stdout); set by the caller that writes it.
    pub file: Option<String>,
    /// The archive's top folder.
    pub root: String,
    pub created: String,
    pub plugin_version: String,
    /// True when nothing is missing (exit 0); false lists [`missing`](Self::missing) (exit 3).
    pub complete: bool,
    pub directions: Vec<String>,
    pub since: String,
    pub logs_tail: Option<i64>,
    pub contexts: Vec<ContextSummary>,
    pub files: Vec<FileEntry>,
    pub missing: Vec<Missing>,
    pub notes: Vec<String>,
    pub redaction: RedactionSummary,
}

impl ReportOutcome {
    /// 0 when complete, 3 when parts are missing; when no context answered at all, 8 if one
    /// refused the credentials (401), else 4 (the archive then holds little more than the index).
    pub fn exit_code(&self) -> u8 {
        use crate::error::exit;
        if self.complete {
            exit::OK
        } else if !self.contexts.is_empty() && self.contexts.iter().all(|c| !c.reachable) {
            if self.missing.iter().any(|m| m.kind == "unauthorized") {
                exit::UNAUTHORIZED
            } else {
                exit::UNREACHABLE
            }
        } else {
            exit::DEGRADED
        }
    }
}

/// The outcome and the archive bytes.
#[derive(Debug)]
pub struct Report {
    pub outcome: ReportOutcome,
    pub archive: Vec<u8>,
}

/// Take the report. Fails only when nothing can be asked at all (kubeconfig, bad direction);
/// every cluster-side failure becomes a [`Missing`] entry.
pub async fn build(
    kc: &Kubeconfigs,
    req: &TopologyRequest,
    opts: &ReportOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Report> {
    progress("discovering the clusterset");
    let topo = crate::topology::discover(kc, req, opts.timeout).await?;
    let only: Vec<Direction> = match &opts.direction {
        Some(d) => vec![crate::direction::parse(d, &topo.aliases())?],
        None => vec![],
    };
    let plans = context_plans(kc, req, &topo, &only, opts);
    if plans.is_empty() {
        return Err(Error::Kubeconfig(format!(
            "no context to collect from in {} (contexts: {}); pass --kubeconfig or --context",
            kc.source,
            if kc.contexts().is_empty() {
                "none".to_string()
            } else {
                kc.contexts().join(", ")
            }
        )));
    }
    progress(&format!(
        "collecting from {}",
        plans
            .iter()
            .map(|p| p.plan.context.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let lag_opts = LagOptions::default();
    let (gathered, status_report, lag) = tokio::join!(
        futures::future::join_all(plans.iter().map(|p| collect_context(&topo, p, opts, progress))),
        status::build(&topo, &only, true),
        lag_report::build(&topo, &only, &lag_opts),
    );
    progress("redacting and packing");

    let mut files = vec![
        Collected {
            path: "status.json".into(),
            content: Content::Json(serde_json::to_value(&status_report).unwrap_or_default()),
        },
        Collected {
            path: "lag.json".into(),
            content: Content::Json(serde_json::to_value(&lag).unwrap_or_default()),
        },
    ];
    let mut missing = Vec::new();
    let mut notes = vec![DOCTOR_UNAVAILABLE.to_string()];
    let mut secret_values = Vec::new();
    let mut secrets = 0;
    let mut contexts = Vec::new();
    for (p, data) in plans.iter().zip(gathered) {
        contexts.push(ContextSummary {
            context: p.plan.context.clone(),
            alias: topo.alias_of(&p.plan.context).map(str::to_string),
            server: kc.server_of(&p.plan.context),
            server_version: data.server_version.clone(),
            namespaces: p.plan.namespaces.clone(),
            reachable: data.server_version.is_some(),
        });
        files.extend(data.files);
        missing.extend(data.missing);
        notes.extend(data.notes);
        secret_values.extend(data.secret_values);
        secrets += data.secrets_read;
    }
    let redactor = Redactor::new(secret_values);
    // Error texts quote what servers answered (a proxied body, a log line): they reach stdout
    // with -o json and the terminal on stderr, so they are cleaned like every file.
    for m in &mut missing {
        m.reason = redactor.clean(&m.reason);
        m.part = redactor.clean(&m.part);
    }
    for n in &mut notes {
        *n = redactor.clean(n);
    }
    missing.sort();
    missing.dedup();
    let mut entries: Vec<archive::Entry> = files.into_iter().map(|c| render(&redactor, c)).collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));

    let directions = if only.is_empty() {
        topo.directions()
    } else {
        only.clone()
    };
    let mut outcome = ReportOutcome {
        schema: SCHEMA,
        file: None,
        root: plan::root_dir(opts.now),
        created: opts.now.to_string(),
        plugin_version: opts.plugin_version.clone(),
        complete: missing.is_empty(),
        directions: directions.iter().map(|d| d.to_string()).collect(),
        since: plan::since_label(opts.since),
        logs_tail: opts.logs_tail,
        contexts,
        files: entries
            .iter()
            .map(|e| FileEntry {
                path: e.path.clone(),
                bytes: e.data.len(),
            })
            .collect(),
        missing,
        notes,
        redaction: RedactionSummary {
            secrets,
            values_searched: redactor.needle_count,
        },
    };
    outcome.files.insert(
        0,
        FileEntry {
            path: index::INDEX_FILE.into(),
            bytes: 0,
        },
    );
    let readme = redactor.clean(&index::render(&outcome));
    outcome.files[0].bytes = readme.len();
    entries.push(archive::Entry {
        path: index::INDEX_FILE.into(),
        data: readme.into_bytes(),
    });
    let mtime = u64::try_from(opts.now.as_second()).unwrap_or(0);
    let archive = archive::tar_gz(&outcome.root, &entries, mtime)
        .map_err(|e| Error::Invalid(format!("cannot build the archive: {e}")))?;
    Ok(Report { outcome, archive })
}

/// A context to collect, with what discovery already knows about it.
struct PlannedContext {
    plan: ContextPlan,
    /// Why discovery could not read this context, if it could not.
    problem: Option<Error>,
}

fn context_plans(
    kc: &Kubeconfigs,
    req: &TopologyRequest,
    topo: &Topology,
    only: &[Direction],
    opts: &ReportOptions,
) -> Vec<PlannedContext> {
    let mut contexts: Vec<String> = topo.clients.keys().cloned().collect();
    contexts.extend(topo.problems.iter().map(|p| p.context.clone()));
    let routes: Vec<_> = topo
        .routes
        .iter()
        .filter(|r| only.is_empty() || only.contains(&r.direction))
        .collect();
    if !only.is_empty() {
        // The direction's own context and the contexts of both its ends.
        let mut keep: BTreeSet<String> = routes.iter().map(|r| r.context.clone()).collect();
        for d in only {
            keep.extend(topo.context_of(&d.source).map(str::to_string));
            keep.extend(topo.context_of(&d.target).map(str::to_string));
        }
        contexts.retain(|c| keep.contains(c));
    }
    contexts.sort();
    contexts.dedup();
    contexts
        .into_iter()
        .map(|ctx| {
            let mm2s: Vec<_> = topo
                .mm2s
                .iter()
                .filter(|m| m.context == ctx)
                .filter(|m| {
                    only.is_empty()
                        || routes
                            .iter()
                            .any(|r| r.context == m.context && r.namespace == m.namespace && r.mm2 == m.name)
                })
                .cloned()
                .collect();
            let mut namespaces: BTreeSet<String> = mm2s.iter().map(|m| m.namespace.clone()).collect();
            let asked = topo
                .namespaces
                .get(&ctx)
                .cloned()
                .unwrap_or_else(|| crate::topology::namespace_for(kc, req, &ctx));
            namespaces.extend(asked);
            let problem = topo.problem(&ctx).cloned();
            PlannedContext {
                problem: problem.clone(),
                plan: ContextPlan {
                    context: ctx,
                    namespaces: namespaces.into_iter().collect(),
                    mm2s,
                    mm2_error: problem,
                    since: opts.since,
                    now: opts.now,
                    logs_tail: opts.logs_tail,
                },
            }
        })
        .collect()
}

/// Collect one context under its budget; an unreachable context costs nothing more than what
/// discovery already spent on it.
async fn collect_context(
    topo: &Topology,
    p: &PlannedContext,
    opts: &ReportOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> gather::SinkData {
    let ctx = &p.plan.context;
    let sink = Sink::default();
    let whole = |e: &Error| Missing {
        context: Some(ctx.clone()),
        part: format!("{}/ (everything)", plan::context_dir(ctx)),
        kind: e.kind().to_string(),
        reason: e.to_string(),
    };
    let unreachable = |e: &Error| matches!(e, Error::Unreachable { .. } | Error::Timeout { .. });
    if let Some(e) = p.problem.as_ref().filter(|e| unreachable(e)) {
        let mut data = sink.take();
        data.missing.push(whole(e));
        return data;
    }
    let Some(cc) = topo.clients.get(ctx) else {
        let mut data = sink.take();
        let e = p
            .problem
            .clone()
            .unwrap_or_else(|| Error::Kubeconfig(format!("no client for context {ctx}")));
        data.missing.push(whole(&e));
        return data;
    };
    let budget = context_budget(opts.timeout);
    let work = async {
        if let Err(e) = gather::server_version(cc, &sink).await {
            if unreachable(&e) {
                return Err(e);
            }
            sink_missing(&sink, ctx, format!("{}/version.json", plan::context_dir(ctx)), &e);
        }
        gather::gather_context(cc, &p.plan, &sink).await;
        Ok(())
    };
    let result = tokio::time::timeout(budget, work).await;
    progress(&format!("{ctx}: done"));
    let mut data = sink.take();
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => data.missing.push(whole(&e)),
        Err(_) => data.missing.push(Missing {
            context: Some(ctx.clone()),
            part: format!("{}/ (the rest)", plan::context_dir(ctx)),
            kind: "timeout".into(),
            reason: format!(
                "collection from {ctx} did not finish within {}; what is listed was collected, anything else was not",
                crate::error::humantime(budget)
            ),
        }),
    }
    data
}

fn sink_missing(sink: &Sink, ctx: &str, part: String, e: &Error) {
    sink.missing(ctx, part, e);
}

/// Redact and render one part into archive bytes.
fn render(redactor: &Redactor, c: Collected) -> archive::Entry {
    let text = match c.content {
        Content::Json(mut v) => {
            redactor.clean_json(&mut v);
            if c.path.ends_with(".json") {
                serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
            } else {
                crate::output::to_yaml(&v)
            }
        }
        Content::Text(t) => t,
    };
    archive::Entry {
        path: c.path,
        data: redactor.clean(&text).into_bytes(),
    }
}

/// A two-context outcome (one context timed out, one pod refused) for the pure tests.
#[cfg(test)]
pub(crate) mod test_fixture {
    use super::*;

    pub fn outcome() -> ReportOutcome {
        let files = [
            (super::index::INDEX_FILE, 0),
            ("contexts/rciis-proxmox/rciis-prod/kafkamirrormaker2s.yaml", 9120),
            (
                "contexts/rciis-proxmox/rciis-prod/pods/mm2-proxmox-to-aws-mirrormaker2-0/connectors.json",
                2048,
            ),
            (
                "contexts/rciis-proxmox/rciis-prod/pods/mm2-proxmox-to-aws-mirrormaker2-0/metrics.error.txt",
                120,
            ),
            ("contexts/rciis-proxmox/rciis-prod/secrets.yaml", 812),
            ("contexts/rciis-proxmox/version.json", 260),
            ("lag.json", 4000),
            ("status.json", 6000),
        ];
        ReportOutcome {
            schema: SCHEMA,
            file: Some("mm2-report-20261130T031500Z.tar.gz".into()),
            root: "mm2-report-20261130T031500Z".into(),
            created: "2026-11-30T03:15:00Z".into(),
            plugin_version: "0.1.0".into(),
            complete: false,
            directions: vec!["aws->proxmox".into(), "proxmox->aws".into()],
            since: "2h".into(),
            logs_tail: None,
            contexts: vec![
                ContextSummary {
                    context: "rciis-aws".into(),
                    alias: Some("aws".into()),
                    server: Some("https://198.18.0.10:6443".into()),
                    server_version: None,
                    namespaces: vec!["rciis-prod".into()],
                    reachable: false,
                },
                ContextSummary {
                    context: "rciis-proxmox".into(),
                    alias: Some("proxmox".into()),
                    server: Some("https://198.18.0.11:6443".into()),
                    server_version: Some("v1.20.2".into()),
                    namespaces: vec!["rciis-prod".into()],
                    reachable: true,
                },
            ],
            files: files
                .iter()
                .map(|(p, b)| FileEntry {
                    path: p.to_string(),
                    bytes: *b,
                })
                .collect(),
            missing: vec![
                Missing {
                    context: Some("rciis-aws".into()),
                    part: "contexts/rciis-aws/ (everything)".into(),
                    kind: "timeout".into(),
                    reason: "context rciis-aws: no answer from the API server https://198.18.0.10:6443 within 3s".into(),
                },
                Missing {
                    context: Some("rciis-proxmox".into()),
                    part: "contexts/rciis-proxmox/rciis-prod/pods/mm2-proxmox-to-aws-mirrormaker2-0/metrics.txt".into(),
                    kind: "error".into(),
                    reason: "context rciis-proxmox: get pods/proxy failed: Service Unavailable (HTTP 503 ServiceUnavailable)".into(),
                },
            ],
            notes: vec![crate::report::DOCTOR_UNAVAILABLE.into()],
            redaction: RedactionSummary {
                secrets: 3,
                values_searched: 7,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_fixture::outcome;

    #[test]
    fn exit_codes_say_complete_partial_or_nothing_answered() {
        let mut o = outcome();
        assert_eq!(o.exit_code(), 3, "one context answered, parts missing");
        o.contexts[1].reachable = false;
        assert_eq!(o.exit_code(), 4, "no context answered");
        o.missing[0].kind = "unauthorized".into();
        assert_eq!(o.exit_code(), 8, "no context accepted the credentials");
        o.missing.clear();
        o.complete = true;
        assert_eq!(o.exit_code(), 0);
    }
}
