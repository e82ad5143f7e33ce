//! KafkaMirrorMaker2 lifecycle: reading, status reports, pause/resume/scale.

pub mod inventory;
