//! What the user asked for: `--context`, `--cluster ALIAS=CONTEXT`, `-n`/`-A`, and the clusterset
//! config file.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The documented config file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ClustersetConfig {
    /// Namespace of the MM2s, exports and secrets (default: each context's namespace).
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub clusters: Vec<ClusterEntry>,
}

/// One cluster of the clusterset.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ClusterEntry {
    pub alias: String,
    pub context: String,
}

impl ClustersetConfig {
    /// Default location: `$XDG_CONFIG_HOME/kubectl-mm2/clusterset.yaml` (or `~/.config/...`).
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("kubectl-mm2").join("clusterset.yaml"))
    }

    /// Read the file at `explicit`, or `$MM2_CLUSTERSET_CONFIG`, or the default path if it exists.
    pub fn load(explicit: Option<&Path>) -> Result<Option<Self>> {
        let (path, must_exist) = match explicit {
            Some(p) => (p.to_path_buf(), true),
            None => match std::env::var_os("MM2_CLUSTERSET_CONFIG") {
                Some(p) if !p.is_empty() => (PathBuf::from(p), true),
                _ => match Self::default_path() {
                    Some(p) => (p, false),
                    None => return Ok(None),
                },
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if !must_exist && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(Error::Config {
                    path: path.display().to_string(),
                    message: e.to_string(),
                });
            }
        };
        Self::parse(&text).map(Some).map_err(|message| Error::Config {
            path: path.display().to_string(),
            message,
        })
    }

    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let cfg: ClustersetConfig = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        let mut seen = std::collections::BTreeSet::new();
        for c in &cfg.clusters {
            if c.alias.is_empty() || c.context.is_empty() {
                return Err("every cluster needs an alias and a context".into());
            }
            if !seen.insert(&c.alias) {
                return Err(format!("alias '{}' appears twice", c.alias));
            }
        }
        Ok(cfg)
    }
}

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct TopologyRequest {
    /// `--context` values: only these contexts are asked (empty: all).
    pub contexts: Vec<String>,
    /// `--cluster alias=context` values.
    pub clusters: Vec<ClusterEntry>,
    /// `-n`.
    pub namespace: Option<String>,
    /// `-A`.
    pub all_namespaces: bool,
    pub config: Option<ClustersetConfig>,
}

/// Parse `aws=rciis-aws`.
pub fn parse_cluster_flag(s: &str) -> std::result::Result<ClusterEntry, String> {
    let (alias, context) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}': expected ALIAS=CONTEXT, e.g. aws=rciis-aws"))?;
    if alias.is_empty() || context.is_empty() {
        return Err(format!("'{s}': expected ALIAS=CONTEXT, e.g. aws=rciis-aws"));
    }
    Ok(ClusterEntry {
        alias: alias.into(),
        context: context.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_file_parses_and_rejects_duplicates() {
        let cfg = ClustersetConfig::parse(
            "namespace: rciis-prod\nclusters:\n  - alias: aws\n    context: rciis-aws\n  - alias: proxmox\n    context: rciis-proxmox\n",
        )
        .unwrap();
        assert_eq!(cfg.namespace.as_deref(), Some("rciis-prod"));
        assert_eq!(
            cfg.clusters[1],
            ClusterEntry {
                alias: "proxmox".into(),
                context: "rciis-proxmox".into()
            }
        );
        let dup = ClustersetConfig::parse("clusters:\n- {alias: a, context: x}\n- {alias: a, context: y}\n");
        assert!(dup.unwrap_err().contains("twice"));
        assert!(ClustersetConfig::parse("clusters:\n- {alias: a}\n").is_err());
    }
}
