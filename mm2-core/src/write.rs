//! Write-path types every writing use case shares (pause/resume/scale, restart, offsets,
//! clusterset export and copy-secret): the `--dry-run` mode and what a write did.

/// Typed JSON patch operations (RFC 6902): paths are built from unescaped tokens (`jsonptr`
/// escapes `~` and `/`), so no write path formats or escapes a pointer by hand.
pub mod patch {
    use json_patch::jsonptr::PointerBuf;
    use json_patch::{AddOperation, PatchOperation, TestOperation};
    use serde_json::Value;

    /// `/t1/t2/…` from unescaped tokens.
    pub fn path<'t>(tokens: impl IntoIterator<Item = &'t str>) -> PointerBuf {
        PointerBuf::from_tokens(tokens)
    }

    /// `add` `value` at the pointer of `tokens`.
    pub fn add<'t>(tokens: impl IntoIterator<Item = &'t str>, value: Value) -> PatchOperation {
        PatchOperation::Add(AddOperation {
            path: path(tokens),
            value,
        })
    }

    /// `test` that the pointer of `tokens` holds `value` (the write fails with 422 otherwise).
    pub fn test<'t>(tokens: impl IntoIterator<Item = &'t str>, value: Value) -> PatchOperation {
        PatchOperation::Test(TestOperation {
            path: path(tokens),
            value,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use serde_json::json;

        #[test]
        fn tokens_are_escaped_and_ops_serialise_as_rfc_6902() {
            let op = add(
                ["metadata", "annotations", "strimzi.io/restart-connector"],
                json!("x"),
            );
            assert_eq!(
                serde_json::to_value(&op).unwrap(),
                json!({"op": "add", "path": "/metadata/annotations/strimzi.io~1restart-connector", "value": "x"})
            );
            let t = test(["spec", "mirrors", "0", "sourceCluster"], json!("proxmox"));
            assert_eq!(
                serde_json::to_value(&t).unwrap(),
                json!({"op": "test", "path": "/spec/mirrors/0/sourceCluster", "value": "proxmox"})
            );
        }
    }
}

/// One direction's MM2, read once by a writing use case (`state`, `scale`): where it runs, the
/// client to write with, and the facts its pure `decide` reads.
pub struct Prepared<'t, F> {
    pub route: &'t crate::topology::Route,
    pub cc: &'t crate::clients::ContextClient,
    pub facts: F,
}

/// How often a write is tried when a concurrent writer got there first (409 Conflict, or a JSON
/// patch's `test` failing with 422): each retry re-reads the object, so a few are plenty.
pub const MAX_ATTEMPTS: u32 = 5;

/// `--dry-run` values (`true`/`false`: kubectl's deprecated spellings, still accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DryRun {
    #[default]
    #[value(alias = "false")]
    None,
    #[value(alias = "true")]
    Client,
    Server,
}

impl DryRun {
    /// The suffix a human line about a write carries: "", " (dry run)", " (server dry run)".
    pub fn suffix(self) -> &'static str {
        match self {
            DryRun::None => "",
            DryRun::Client => " (dry run)",
            DryRun::Server => " (server dry run)",
        }
    }

    /// Whether anything is really written.
    pub fn writes(self) -> bool {
        self == DryRun::None
    }
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteOutcome {
    /// Nothing to change; nothing was written.
    Unchanged,
    /// Written; the operator must now reconcile `generation`.
    Written {
        generation: Option<i64>,
        resource_version: Option<String>,
    },
    /// `--dry-run`: what would have been written was shown or validated by the server.
    DryRun,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dry_run_suffix_and_writes() {
        assert_eq!(DryRun::Server.suffix(), " (server dry run)");
        assert_eq!(DryRun::None.suffix(), "");
        assert!(!DryRun::Client.writes());
        assert!(DryRun::None.writes());
    }
}
