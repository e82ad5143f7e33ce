//! Kube clients per context, built from the kubeconfig the way kubectl reads it, and every call
//! made under a deadline with its error mapped to a typed [`Error`] naming the context.
//!
//! Why the deadline wraps each call instead of relying on kube's own timeouts: kube retries
//! 429/503/504 for tens of seconds by default (research/kube-rs.md §1), and a black-holed API
//! server never completes its TLS handshake. One dead cluster must cost its own budget only.

use crate::error::{Error, Result, Target};
use futures::future::join_all;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, DynamicObject};
use kube::{Api, Client, Config};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

/// `-v`: at 1 and above every API call is traced to stderr (context, verb, resource, outcome,
/// time). Request and response bodies are never traced: they may hold Secret values.
static VERBOSITY: AtomicU8 = AtomicU8::new(0);

/// Set from the `-v` count.
pub fn set_verbosity(v: u8) {
    VERBOSITY.store(v, Ordering::Relaxed);
}

fn trace(context: &str, op: &Op<'_>, started: Instant, outcome: &str) {
    if VERBOSITY.load(Ordering::Relaxed) == 0 {
        return;
    }
    let target = match (op.namespace, op.name) {
        (Some(ns), Some(n)) => format!(" {ns}/{n}"),
        (Some(ns), None) => format!(" -n {ns}"),
        (None, Some(n)) => format!(" {n}"),
        (None, None) => String::new(),
    };
    crate::heprintln!(
        "I [{context}] {} {}{target}: {outcome} in {} ms",
        op.verb,
        op.resource,
        started.elapsed().as_millis()
    );
}

/// The kubeconfig, read once (with `KUBECONFIG` lists merged like kubectl does).
#[derive(Clone, Debug)]
pub struct Kubeconfigs {
    kubeconfig: Kubeconfig,
    /// Where it came from, for error messages.
    pub source: String,
}

impl Kubeconfigs {
    /// `--kubeconfig PATH` wins, then `KUBECONFIG` (several files), then `~/.kube/config`.
    pub fn load(explicit: Option<&Path>) -> Result<Self> {
        if let Some(path) = explicit {
            let kubeconfig = Kubeconfig::read_from(path)
                .map_err(|e| Error::Kubeconfig(format!("cannot read {}: {e}", path.display())))?;
            return Ok(Self {
                kubeconfig,
                source: path.display().to_string(),
            });
        }
        match Kubeconfig::from_env() {
            Ok(Some(kubeconfig)) => {
                let source = format!("KUBECONFIG={}", std::env::var("KUBECONFIG").unwrap_or_default());
                Ok(Self { kubeconfig, source })
            }
            Ok(None) => {
                let kubeconfig = Kubeconfig::read().map_err(|e| {
                    Error::Kubeconfig(format!("no KUBECONFIG and cannot read ~/.kube/config: {e}"))
                })?;
                Ok(Self {
                    kubeconfig,
                    source: "~/.kube/config".into(),
                })
            }
            Err(e) => Err(Error::Kubeconfig(format!("cannot read KUBECONFIG: {e}"))),
        }
    }

    /// Context names in kubeconfig order.
    pub fn contexts(&self) -> Vec<String> {
        self.kubeconfig.contexts.iter().map(|c| c.name.clone()).collect()
    }

    pub fn current_context(&self) -> Option<String> {
        self.kubeconfig.current_context.clone().filter(|c| !c.is_empty())
    }

    fn context_entry(&self, context: &str) -> Option<&kube::config::Context> {
        self.kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == context)?
            .context
            .as_ref()
    }

    /// The name of the kubeconfig cluster entry a context uses.
    pub fn cluster_of(&self, context: &str) -> Option<String> {
        Some(self.context_entry(context)?.cluster.clone())
    }

    /// The API server URL of a context (for messages and de-duplication).
    pub fn server_of(&self, context: &str) -> Option<String> {
        let ctx = self.context_entry(context)?;
        let cluster = self.kubeconfig.clusters.iter().find(|c| c.name == ctx.cluster)?;
        cluster.cluster.as_ref()?.server.clone()
    }

    /// The namespace a context defaults to (`None` when the context sets none).
    pub fn namespace_of(&self, context: &str) -> Option<String> {
        self.context_entry(context)?.namespace.clone()
    }

    /// Fail early with the list of known contexts when a name is wrong.
    pub fn check_context(&self, context: &str) -> Result<()> {
        if self.contexts().iter().any(|c| c == context) {
            Ok(())
        } else {
            Err(Error::Kubeconfig(format!(
                "context \"{context}\" not found in {} (known: {})",
                self.source,
                self.contexts().join(", ")
            )))
        }
    }

    /// Build a client for one context. `timeout` bounds connecting and each call.
    pub async fn connect(&self, context: &str, timeout: Duration) -> Result<ContextClient> {
        self.check_context(context)?;
        let opts = KubeConfigOptions {
            context: Some(context.to_string()),
            ..Default::default()
        };
        let mut cfg = Config::from_custom_kubeconfig(self.kubeconfig.clone(), &opts)
            .await
            .map_err(|e| Error::Kubeconfig(format!("context {context}: {e}")))?;
        cfg.connect_timeout = Some(timeout.min(crate::timeouts::CONNECT));
        cfg.read_timeout = Some(timeout);
        // A CLI must fail fast: kube's default retry kept a 503 busy for > 40 s.
        cfg.default_retry = false;
        let server = cfg.cluster_url.to_string().trim_end_matches('/').to_string();
        let namespace = cfg.default_namespace.clone();
        let client = Client::try_from(cfg).map_err(|e| Error::Unreachable {
            context: context.into(),
            server: server.clone(),
            cause: crate::error::source_chain(&e),
        })?;
        Ok(ContextClient {
            context: context.into(),
            server,
            default_namespace: namespace,
            client,
            timeout,
        })
    }

    /// Connect to several contexts concurrently; each result stands alone.
    pub async fn connect_all(
        &self,
        contexts: &[String],
        timeout: Duration,
    ) -> Vec<(String, Result<ContextClient>)> {
        join_all(
            contexts
                .iter()
                .map(|c| async move { (c.clone(), self.connect(c, timeout).await) }),
        )
        .await
    }
}

/// What a call does, for error messages (`get kafkamirrormaker2s.kafka.strimzi.io`).
#[derive(Debug, Clone, Copy)]
pub struct Op<'a> {
    pub verb: &'a str,
    pub resource: &'a str,
    pub kind: &'a str,
    pub namespace: Option<&'a str>,
    pub name: Option<&'a str>,
}

impl<'a> Op<'a> {
    pub fn new(verb: &'a str, resource: &'a str, kind: &'a str) -> Self {
        Op {
            verb,
            resource,
            kind,
            namespace: None,
            name: None,
        }
    }
    pub fn ns(mut self, ns: &'a str) -> Self {
        self.namespace = Some(ns);
        self
    }
    pub fn name(mut self, name: &'a str) -> Self {
        self.name = Some(name);
        self
    }
    /// Op describing a dynamic resource (`plural.group`).
    pub fn for_resource(verb: &'a str, ar: &'a ApiResource, plural_group: &'a str) -> Self {
        Op::new(verb, plural_group, &ar.kind)
    }
}

/// `kafkamirrormaker2s.kafka.strimzi.io`, or `secrets` for the core group.
pub fn resource_name(ar: &ApiResource) -> String {
    if ar.group.is_empty() {
        ar.plural.clone()
    } else {
        format!("{}.{}", ar.plural, ar.group)
    }
}

/// A client bound to one kube context.
#[derive(Clone)]
pub struct ContextClient {
    pub context: String,
    pub server: String,
    pub default_namespace: String,
    pub client: Client,
    pub timeout: Duration,
}

impl std::fmt::Debug for ContextClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextClient")
            .field("context", &self.context)
            .field("server", &self.server)
            .finish()
    }
}

impl ContextClient {
    /// Run one API call under this context's deadline and map its error.
    pub async fn call<T, F>(&self, op: Op<'_>, fut: F) -> Result<T>
    where
        F: Future<Output = std::result::Result<T, kube::Error>>,
    {
        let started = Instant::now();
        let result = match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(self.fill_timeout(self.target(op).map(e))),
            Err(_) => Err(Error::Timeout {
                context: self.context.clone(),
                server: self.server.clone(),
                timeout: self.timeout,
            }),
        };
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(e) => format!("failed ({})", e.kind()),
        };
        trace(&self.context, &op, started, &outcome);
        result
    }

    fn fill_timeout(&self, e: Error) -> Error {
        match e {
            Error::Timeout {
                context,
                server,
                timeout,
            } if timeout.is_zero() => Error::Timeout {
                context,
                server,
                timeout: self.timeout,
            },
            other => other,
        }
    }

    /// The error-mapping target of an op on this context.
    pub fn target<'a>(&'a self, op: Op<'a>) -> Target<'a> {
        Target {
            context: &self.context,
            server: &self.server,
            verb: op.verb,
            resource: op.resource,
            kind: op.kind,
            namespace: op.namespace,
            name: op.name,
        }
    }

    /// A dynamic namespaced API for `ar`.
    pub fn dynamic(&self, ar: &ApiResource, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, ar)
    }

    /// GET an object, `None` when it does not exist.
    pub async fn get_opt(&self, ar: &ApiResource, ns: &str, name: &str) -> Result<Option<DynamicObject>> {
        let res = resource_name(ar);
        let api = self.dynamic(ar, ns);
        self.call(
            Op::new("get", &res, &ar.kind).ns(ns).name(name),
            api.get_opt(name),
        )
        .await
    }

    /// LIST objects in a namespace.
    pub async fn list(&self, ar: &ApiResource, ns: &str) -> Result<Vec<DynamicObject>> {
        let res = resource_name(ar);
        let api = self.dynamic(ar, ns);
        let list = self
            .call(
                Op::new("list", &res, &ar.kind).ns(ns),
                api.list(&Default::default()),
            )
            .await?;
        Ok(list.items)
    }

    /// GET a raw path (pod proxy, discovery) as text.
    pub async fn get_raw(&self, op: Op<'_>, path: &str) -> Result<String> {
        let req = http::Request::get(path)
            .body(Vec::new())
            .map_err(|e| Error::Invalid(e.to_string()))?;
        self.call(op, self.client.request_text(req)).await
    }
}

/// Run `f` for every client concurrently; one slow context never delays the others beyond its
/// own deadline (each call inside `f` is under [`ContextClient::call`]).
pub async fn fan_out<'c, T, F, Fut>(clients: &'c [ContextClient], f: F) -> Vec<(String, Result<T>)>
where
    F: Fn(&'c ContextClient) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    join_all(clients.iter().map(|c| {
        let fut = f(c);
        async move {
            // A global cap too, in case `f` strings several calls together.
            let cap = c.timeout + c.timeout / 2;
            let r = match tokio::time::timeout(cap, fut).await {
                Ok(r) => r,
                Err(_) => Err(Error::Timeout {
                    context: c.context.clone(),
                    server: c.server.clone(),
                    timeout: c.timeout,
                }),
            };
            (c.context.clone(), r)
        }
    }))
    .await
}

/// Parse a kubectl-style duration: `30s`, `2m`, `1m30s`, `500ms`, `1h`, or plain seconds.
/// `--timeout`: a positive duration. kubectl reads `--request-timeout=0` as "no timeout"; here a
/// dead cluster must never hang the command, so 0 is refused rather than silently meaning
/// "forever" or "fail at once".
pub fn parse_timeout(s: &str) -> std::result::Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err(format!(
            "'{s}': the timeout must be positive (e.g. 30s); there is no 'wait forever' so that one dead cluster cannot hang the command"
        ));
    }
    Ok(d)
}

pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let unit = match (c, chars.peek()) {
            ('m', Some('s')) => {
                chars.next();
                0.001
            }
            ('h', _) => 3600.0,
            ('m', _) => 60.0,
            ('s', _) => 1.0,
            _ => return Err(format!("invalid duration '{s}' (use e.g. 30s, 2m, 1m30s)")),
        };
        let n: f64 = num
            .parse()
            .map_err(|_| format!("invalid duration '{s}' (use e.g. 30s, 2m, 1m30s)"))?;
        total += Duration::from_secs_f64(n * unit);
        num.clear();
        any = true;
    }
    if !num.is_empty() || !any {
        return Err(format!("invalid duration '{s}' (use e.g. 30s, 2m, 1m30s)"));
    }
    Ok(total)
}

/// Default kubeconfig location, for help texts.
pub fn default_kubeconfig_path() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default()
        .join(".kube/config")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_kubectl() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5").is_ok());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn kubeconfig_with_several_files_merges_like_kubectl() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, ctx: &str, server: &str| {
            let p = dir.path().join(name);
            std::fs::write(
                &p,
                format!(
                    "apiVersion: v1\nkind: Config\ncurrent-context: {ctx}\nclusters:\n- name: {ctx}\n  cluster:\n    server: {server}\ncontexts:\n- name: {ctx}\n  context:\n    cluster: {ctx}\n    user: u\n    namespace: rciis-prod\nusers:\n- name: u\n  user:\n    token: t\n"
                ),
            )
            .unwrap();
            p
        };
        let a = file("a", "rciis-aws", "https://127.0.0.1:1");
        let b = file("b", "rciis-proxmox", "https://127.0.0.1:2");
        let kc = Kubeconfig::read_from(&a)
            .unwrap()
            .merge(Kubeconfig::read_from(&b).unwrap())
            .unwrap();
        let k = Kubeconfigs {
            kubeconfig: kc,
            source: "test".into(),
        };
        assert_eq!(k.contexts(), vec!["rciis-aws", "rciis-proxmox"]);
        assert_eq!(k.current_context().as_deref(), Some("rciis-aws"));
        assert_eq!(
            k.server_of("rciis-proxmox").as_deref(),
            Some("https://127.0.0.1:2")
        );
        assert_eq!(k.namespace_of("rciis-aws").as_deref(), Some("rciis-prod"));
        let err = k.check_context("nope").unwrap_err().to_string();
        assert!(err.contains("rciis-aws, rciis-proxmox"), "{err}");
    }
}
