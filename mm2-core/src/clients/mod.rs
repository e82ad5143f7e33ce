//! Kube clients per context, built from the kubeconfig the way kubectl reads it, and every call
//! made under a deadline with its error mapped to a typed [`Error`] naming the context.
//!
//! Why the deadline wraps each call instead of relying on kube's own timeouts: kube retries
//! 429/503/504 for tens of seconds by default (research/kube-rs.md §1), and a black-holed API
//! server never completes its TLS handshake. One dead cluster must cost its own budget only.

use crate::error::{Error, Result, Target};
use futures::future::join_all;
use kube::core::{ApiResource, DynamicObject};
use kube::{Api, Client};
use std::future::Future;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

mod duration;
mod kubeconfig;

pub use duration::{parse_duration, parse_timeout};
pub use kubeconfig::{Kubeconfigs, default_kubeconfig_path};

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
