//! The kubeconfig, read the way kubectl reads it (`--kubeconfig`, then every file of
//! `KUBECONFIG` merged, then `~/.kube/config`), and one client per context from it.

use super::ContextClient;
use crate::error::{Error, Result};
use futures::future::join_all;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use std::path::{Path, PathBuf};
use std::time::Duration;

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
