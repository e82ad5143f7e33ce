//! KafkaMirrorMaker2 lifecycle: reading, status reports, pause/resume/scale.

pub mod status;

/// Annotation we put on a Flux Kustomization we suspended: who, when and why.
pub const SUSPENDED_BY_ANNOTATION: &str = "kubectl-mm2.dev/suspended-by";
/// Field manager of every write `kubectl mm2` makes.
pub const FIELD_MANAGER: &str = "kubectl-mm2";
pub mod flux_gate;
pub mod gitops;
pub mod lifecycle;
pub mod offsets;
pub mod restart;
pub mod scale;
pub mod state;
