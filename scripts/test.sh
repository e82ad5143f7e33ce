#!/usr/bin/env bash
# The one test command: installs what it needs on a fresh Debian machine, builds the test bed
# (cached outside the repository), then runs fmt, clippy -D warnings and the whole suite — unit
# tests and the end-to-end tests against two real kube-apiservers inside a private network
# namespace — and the demo's tour (tests/demo-tour.sh) on real Kafka Connect.
#
#   scripts/test.sh                        # everything
#   MM2_CRDS_DIR=../shared/crds scripts/test.sh   # with the upstream Strimzi/MCS/Flux CRDs
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '► %s\n' "$*" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is required (rustup toolchain); see README.md" >&2
  exit 1
fi

# The bed: Debian packages (etcd, iproute2, util-linux, openssl) and kube-apiserver +
# kube-controller-manager v1.20.2 built once into ~/.cache/kubectl-mm2/testbed.
KUBEBUILDER_ASSETS="$(scripts/testbed.sh | tail -n1)"
export KUBEBUILDER_ASSETS
log "test bed binaries: $KUBEBUILDER_ASSETS"
# Kafka 4.1 + the JMX exporter agent (fetched by testbed.sh above; cached, so this only prints).
MM2_KAFKA_HOME="$(scripts/kafka-fetch.sh | tail -n1)"
export MM2_KAFKA_HOME
log "Kafka for the bed: $MM2_KAFKA_HOME"
if [ -n "${MM2_CRDS_DIR:-}" ]; then
  MM2_CRDS_DIR="$(cd "$MM2_CRDS_DIR" && pwd)"
  export MM2_CRDS_DIR
  log "installing upstream CRDs from $MM2_CRDS_DIR"
else
  log "MM2_CRDS_DIR unset: the bed installs CRDs generated from the project's own types"
fi

log "cargo fmt --check"
cargo fmt --all --check

log "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

# Crates come from the registry, so everything is built before entering the network namespace,
# where nothing can leave the machine.
log "building"
cargo build --workspace --all-targets --locked

log "running the suite inside a private network namespace"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
set +e
sh tests/netns-run.sh cargo test --workspace --offline --locked 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
set -e
# cargo ends on the (empty) doc-test run; close on the totals of every test binary instead.
read -r passed failed < <(awk '/^test result:/ { for (i = 1; i < NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END { print p + 0, f + 0 }' "$out")

# The demo's tour as README tells it, on real Kafka Connect (its own network namespace).
log "the demo's tour (scripts/demo.sh --run bash tests/demo-tour.sh)"
tour="passed"
if ! scripts/demo.sh --run bash tests/demo-tour.sh; then
  tour="FAILED"
  [ "$rc" != 0 ] || rc=1
fi
echo
echo "Summary: $passed passed, $failed failed; demo tour $tour"
exit "$rc"
