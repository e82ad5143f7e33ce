//! `copy-secret`: copy a Secret between clusters so that the target's controllers leave it alone.
//!
//! Flow per copy: **plan** (read source and target, both before any write: an unreachable target
//! or a missing source fails here), **authorize** (a target we did not create needs `--force` or
//! a yes on a terminal), **write** (merge-patch away what server-side apply cannot remove, then
//! apply with field manager `kubectl-clusterset`, both guarded by the target's resourceVersion),
//! **verify** (re-read the source: if it changed while we copied, go again). Two concurrent runs
//! therefore converge on the newest source content: the loser of a resourceVersion race gets a
//! 409 and re-plans, and the last writer has checked that what it wrote is still current.

mod execute;
mod mm2_copies;
mod plan;
#[cfg(test)]
pub(crate) mod tests;

pub use execute::*;
pub use mm2_copies::*;
pub use plan::*;

/// Default name of the MM2 KafkaUser (and of its Secret: the User Operator's prefix is empty).
pub const MM2_USER: &str = "mm2-user";
