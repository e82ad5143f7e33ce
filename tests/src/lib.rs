//! `mm2-e2e`: the end-to-end test harness of kubectl-mm2 / kubectl-clusterset.
//!
//! Two real Kubernetes v1.20.2 control planes (`aws`, `proxmox`) in an isolated network
//! namespace, the runbook's Strimzi/MCS/Flux objects, a simulated Strimzi operator and HTTP
//! doubles for Kafka Connect REST and the JMX exporter, and real Kafka 4.1 brokers and MirrorMaker 2
//! for the tests about real data ([`kafka`]). Run the tests with
//! `bash tests/netns-run.sh cargo test --offline -p mm2-e2e`.

pub mod bed;
pub mod crds;
pub mod crds_generated;
pub mod doubles;
pub mod fixtures;
pub mod kafka;
pub mod kubelet;
pub mod operator;
pub mod operator_annotations;
pub mod procs;

/// The project's cache folder outside the repository (`${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-mm2`),
/// where `scripts/testbed.sh` and `scripts/kafka-fetch.sh` put what they build and fetch.
pub fn cache_root() -> std::path::PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".cache")
        });
    cache.join("kubectl-mm2")
}

pub use bed::{ALIASES, Bed, Cluster, DEFAULT_NS, ExtraCluster, FLUX_NS, bed, product_bin};
pub use crds::fallback_crds;
pub use doubles::{Doubles, HttpResponse, RecordedRequest};
pub use fixtures::{
    Layout, PeerSecret, Runbook, RunbookOptions, install_mm2_v1, install_runbook, install_runbook_with,
    install_working, password_of, wait_mm2_judged, wait_mm2_ready,
};
