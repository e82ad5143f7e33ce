//! End-to-end tests of kubectl-mm2 / kubectl-clusterset against the two-cluster bed.
//!
//! One test binary, so the bed (two control planes, operator, doubles) starts once per process.
//! Run: `cargo build -p mm2-e2e --tests && bash tests/netns-run.sh cargo test --offline -p mm2-e2e`.

mod bed;
mod cli;
mod clusterset;
mod completion;
mod convert;
mod doctor;
mod hostile;
mod kafka_real;
mod kafka_real_recovery;
mod krew;
mod lag;
mod layout;
mod mm2_lifecycle;
mod report;
mod restart_offsets;
mod tty;
