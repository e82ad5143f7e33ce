#!/usr/bin/env bash
# Benchmarks (performance targets live here, not in timed tests):
#  - status vs `kubectl get kmm2 -A`, and status over 20 contexts with one dead (two-cluster bed);
#  - lag: parse + aggregate a 10,000-partition scrape, vs prometheus-parse (criterion);
#  - startup: `--version` and static completion vs `kubectl version --client`;
#  - the bed with real Kafka 4.1 and a real MirrorMaker 2: up and replicating ≤ 60 s (caches
#    warm), peak memory ≤ 6 GiB, and the CPU-seconds of each JVM kind's start (broker, Connect
#    worker), with the class-data sharing archives kafka-fetch.sh made (MM2_KAFKA_CDS=off: without).
set -euo pipefail
cd "$(dirname "$0")/.."
KUBEBUILDER_ASSETS="$(scripts/testbed.sh | tail -n1)"
export KUBEBUILDER_ASSETS
MM2_KAFKA_HOME="$(scripts/kafka-fetch.sh | tail -n1)"
export MM2_KAFKA_HOME
cargo build --release --workspace --bins
echo "== status (two-cluster bed)"
sh tests/netns-run.sh target/release/bench-status
echo "== bed with Kafka and a real MirrorMaker 2"
sh tests/netns-run.sh target/release/bench-kafka
echo "== lag parser (criterion)"
cargo bench -p mm2-core --bench lag -- --noplot
if [ -x scripts/bench-startup.sh ]; then
  echo "== startup"
  scripts/bench-startup.sh
fi
