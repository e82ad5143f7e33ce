//! # mm2-core
//!
//! The logic behind `kubectl mm2` and `kubectl clusterset`: everything worth testing lives here,
//! the two binaries only parse arguments and render.
//!
//! | module | job |
//! |---|---|
//! | [`direction`] | parse `proxmox->aws` and friends, explain the unquoted-`>` shell trap |
//! | [`topology`] | aliases, contexts, which KafkaMirrorMaker2 runs each direction, which layouts Strimzi runs, which MM2 serves a command |
//! | [`resources`] | typed views of Strimzi, MCS and Flux resources; version discovery; the KafkaMirrorMaker2s of a context and their pods; Strimzi's validation of a spec |
//! | [`complete`] | shell completion: the engine, kubectl's `__complete` protocol, the installer, live candidates and their cache |
//! | [`convert`] | `kubectl mm2 convert`: the runbook's MM2s moved to their target cluster, Strimzi's v1 mapping |
//! | [`clients`] | one kube client per context, every call under a deadline, typed errors |
//! | [`mm2`] | KafkaMirrorMaker2 status, pause/resume/scale, restart, offsets, GitOps awareness |
//! | [`doctor`] | `kubectl mm2 doctor`: facts → pure rules → findings with evidence and fixes |
//! | [`lag`] | JMX exporter text parser, lag aggregation, thresholds, advice, the lag report |
//! | [`clusterset`] | MCS export/resolve and GC-safe Secret copies |
//! | [`report`] | `kubectl mm2 report`: one redacted tar.gz for debugging an incident |
//! | [`cli`] | the global flags both plugins share, prompts, error reporting |
//! | [`poll`] | waiting for a cluster to converge: one probe loop under one deadline |
//! | [`output`] | table / wide / json / yaml, colour rules |
//! | [`terminal`] | human text made safe for a terminal (`hprintln!` and friends) |
//! | [`timeouts`] | every default time limit, in one table |
//! | [`error`] | the error enum, hints and exit codes |
//! | [`finding`] | the severity scale of diagnoses (`doctor`, `resolve`) |
//! | [`write`](mod@write) | write-path types shared by every writing command: `--dry-run`, write outcomes |
//! | [`golden`] | golden-file comparison for the renderers' tests (`UPDATE_GOLDEN=1` rewrites) |
//!
//! Layers: each module imports only modules of the layers before it (`tests/layers.rs` fails on
//! any import cycle between top-level modules):
//!
//! 1. `direction`, `output`, `terminal`, `timeouts`, `golden`, `error`, `finding`, `poll`: no I/O of
//!    their own;
//! 2. `clients`: one client per context;
//! 3. `resources`: typed views of the resources and their reads;
//! 4. `topology`: which MM2 runs which direction, and whether Strimzi runs it;
//! 5. `write`, `cli`: the write path and the shared flags;
//! 6. `lag`: reading and judging the exporter's figures;
//! 7. `mm2`: the KafkaMirrorMaker2 use cases (offsets reads lag's figures);
//! 8. `clusterset`, `convert`, `complete`;
//! 9. `doctor`, `report`: read everything above.

pub mod cli;
pub mod clients;
pub mod clusterset;
pub mod complete;
pub mod convert;
pub mod direction;
pub mod doctor;
pub mod error;
pub mod finding;
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
