//! # mm2-core
//!
//! The logic behind `kubectl mm2` and `kubectl clusterset`: everything worth testing lives here,
//! the two binaries only parse arguments and render.
//!
//! | module | job |
//! |---|---|
//! | [`direction`] | parse `proxmox->aws` and friends, explain the unquoted-`>` shell trap |
//! | [`topology`] | aliases, contexts, which KafkaMirrorMaker2 runs each direction |
//! | [`resources`] | typed views of Strimzi, MCS and Flux resources; version discovery |
//! | [`complete`] | shell completion: the engine, kubectl's `__complete` protocol, the installer, live candidates and their cache |
//! | [`convert`] | `kubectl mm2 convert`: the runbook's MM2s moved to their target cluster, Strimzi's v1 mapping |
//! | [`clients`] | one kube client per context, every call under a deadline, typed errors |
//! | [`mm2`] | KafkaMirrorMaker2 status, pause/resume/scale, GitOps awareness, lag report |
//! | [`doctor`] | `kubectl mm2 doctor`: facts → pure rules → findings with evidence and fixes |
//! | [`lag`] | JMX exporter text parser, lag aggregation, thresholds, advice |
//! | [`clusterset`] | MCS export/resolve and GC-safe Secret copies |
//! | [`report`] | `kubectl mm2 report`: one redacted tar.gz for debugging an incident |
//! | [`cli`] | the global flags both plugins share, prompts, error reporting |
//! | [`poll`] | waiting for a cluster to converge: one probe loop under one deadline |
//! | [`output`] | table / wide / json / yaml, colour rules |
//! | [`terminal`] | human text made safe for a terminal (`hprintln!` and friends) |
//! | [`timeouts`] | every default time limit, in one table |
//! | [`error`] | the error enum, hints and exit codes |
//! | [`write`] | write-path types shared by every writing command: `--dry-run`, write outcomes |
//! | [`golden`] | golden-file comparison for the renderers' tests (`UPDATE_GOLDEN=1` rewrites) |

pub mod cli;
pub mod clients;
pub mod clusterset;
pub mod complete;
pub mod convert;
pub mod direction;
pub mod doctor;
pub mod error;
pub mod golden;
pub mod lag;
pub mod mm2;
pub mod output;
pub mod poll;
pub mod report;
pub mod resources;
pub mod terminal;
pub mod timeouts;
pub mod topology;
pub mod write;

pub use error::{Error, Result};
