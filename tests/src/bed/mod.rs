//! The test bed: two real Kubernetes v1.20.2 control planes (`aws` and `proxmox`), each etcd +
//! kube-apiserver + kube-controller-manager, with certificates, token users, RBAC, kubeconfigs,
//! CRDs, the runbook fixtures, the simulated Strimzi operator and the HTTP doubles.
//!
//! Everything runs inside the isolated network namespace made by `tests/netns-run.sh`.
//!
//! One module per job: `control_plane` starts the processes of a cluster, `access` makes its
//! users, kubeconfigs and RBAC, `objects` its namespaces and Node, `network` hands out
//! addresses, and `handle` holds the shared [`Bed`].

mod access;
mod control_plane;
mod handle;
mod network;
mod objects;

use std::path::PathBuf;

pub use access::client_for;
pub(crate) use access::random_alnum;
pub use control_plane::{Cluster, K8S_VERSION, assets_dir};
pub use handle::{Bed, ExtraCluster, bed};
pub use network::{BLACK_HOLE_IP, PodIps};
pub use objects::ensure_namespace;

/// The two cluster aliases, in kubeconfig order.
pub const ALIASES: [&str; 2] = ["aws", "proxmox"];
/// The namespace of the runbook deployment installed at bed start.
pub const DEFAULT_NS: &str = "rciis-prod";
/// Flux's namespace.
pub const FLUX_NS: &str = "flux-system";

/// Path of a binary of the workspace (`kubectl-mm2`, `kubectl-clusterset`) in the target dir
/// next to the running test binary. Panics if it has not been built (`cargo build --workspace`).
pub fn product_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // Tests run as target/<profile>/deps/e2e-<hash>; bins (bench-status, mm2-demo) as
    // target/<profile>/<bin>.
    let dir = exe.parent().expect("target dir");
    let profile_dir = if dir.ends_with("deps") {
        dir.parent().expect("target profile dir")
    } else {
        dir
    };
    let p = profile_dir.join(name);
    assert!(
        p.is_file(),
        "{} is not built; run `cargo build --workspace` (same profile) before the e2e tests",
        p.display()
    );
    p
}
