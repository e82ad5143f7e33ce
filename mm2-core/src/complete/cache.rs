//! A small on-disk cache of live answers under `$XDG_CACHE_HOME/kubectl-mm2/completion/`: a TAB
//! pressed again within [`CACHE_TTL`] reuses the last answer, and a failed lookup is remembered for
//! [`FAILED_TTL`] so a dead cluster costs one timeout, not one per TAB.

use super::{Candidate, Typed, ValueKind, env_u64};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a live answer is reused (`MM2_COMPLETION_TTL=<seconds>` overrides, 0 disables).
pub const CACHE_TTL: Duration = Duration::from_secs(30);
/// How long a failed live lookup is remembered, so a dead cluster costs one timeout, not one per TAB.
pub const FAILED_TTL: Duration = Duration::from_secs(10);

/// The file name of one answer: the kind, a digest of everything that selects clusters, and the
/// kubeconfig files with their modification times.
pub(super) fn cache_key(kind: ValueKind, typed: &Typed) -> String {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(kind.key());
    h.update([0]);
    h.update(typed.selection());
    h.update([0]);
    for var in ["KUBECONFIG", "MM2_CLUSTERSET_CONFIG", "XDG_CONFIG_HOME", "HOME"] {
        h.update(
            std::env::var_os(var)
                .unwrap_or_default()
                .to_string_lossy()
                .as_bytes(),
        );
        h.update([0]);
    }
    // A rewritten kubeconfig (new cluster, new credentials) must not reuse old answers.
    let mut files: Vec<PathBuf> = typed.all("kubeconfig").into_iter().map(PathBuf::from).collect();
    if files.is_empty() {
        files = match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            Some(v) => std::env::split_paths(&v).collect(),
            None => vec![crate::clients::default_kubeconfig_path()],
        };
    }
    for f in files {
        let mtime = std::fs::metadata(&f)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        h.update(f.to_string_lossy().as_bytes());
        h.update(mtime.to_le_bytes());
    }
    let digest = h.finalize();
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", kind.key())
}

/// Small on-disk cache of live answers.
pub struct Cache {
    pub dir: Option<PathBuf>,
    pub ttl: Duration,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Entry {
    at: u64,
    ok: bool,
    items: Vec<Candidate>,
}

impl Cache {
    /// `$XDG_CACHE_HOME/kubectl-mm2/completion` (else `~/.cache/...`), TTL from `MM2_COMPLETION_TTL`.
    pub fn from_env() -> Self {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
        Cache {
            dir: base.map(|b| b.join("kubectl-mm2").join("completion")),
            ttl: env_u64("MM2_COMPLETION_TTL")
                .map(Duration::from_secs)
                .unwrap_or(CACHE_TTL),
        }
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// A fresh entry: its items and whether the lookup succeeded.
    pub fn get(&self, key: &str) -> Option<(Vec<Candidate>, bool)> {
        if self.ttl.is_zero() {
            return None;
        }
        let text = std::fs::read_to_string(self.dir.as_ref()?.join(key)).ok()?;
        let e: Entry = serde_json::from_str(&text).ok()?;
        let ttl = if e.ok { self.ttl } else { self.ttl.min(FAILED_TTL) };
        let age = Self::now().checked_sub(e.at)?;
        (age < ttl.as_secs()).then_some((e.items, e.ok))
    }

    pub fn put(&self, key: &str, items: &[Candidate], ok: bool) {
        if self.ttl.is_zero() {
            return;
        }
        let Some(dir) = &self.dir else { return };
        let entry = Entry {
            at: Self::now(),
            ok,
            items: items.to_vec(),
        };
        let Ok(text) = serde_json::to_string(&entry) else {
            return;
        };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        let tmp = dir.join(format!(".{key}.{}", std::process::id()));
        if std::fs::write(&tmp, text).is_ok() {
            let _ = std::fs::rename(&tmp, dir.join(key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_round_trip_and_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache {
            dir: Some(dir.path().to_path_buf()),
            ttl: Duration::from_secs(30),
        };
        let items = vec![Candidate::new("a", "b")];
        cache.put("k", &items, true);
        assert_eq!(cache.get("k"), Some((items.clone(), true)));
        let old = Entry {
            at: Cache::now() - 31,
            ok: true,
            items,
        };
        std::fs::write(dir.path().join("k"), serde_json::to_string(&old).unwrap()).unwrap();
        assert_eq!(cache.get("k"), None);
        let failed = Entry {
            at: Cache::now() - 11,
            ok: false,
            items: vec![],
        };
        std::fs::write(dir.path().join("k"), serde_json::to_string(&failed).unwrap()).unwrap();
        assert_eq!(
            cache.get("k"),
            None,
            "failures are remembered for FAILED_TTL only"
        );
    }
}
