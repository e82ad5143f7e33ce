#!/usr/bin/env bash
# Local demo: two Kubernetes API servers (aws, proxmox) with the runbook's KafkaMirrorMaker2s,
# Kafkas, users and Secrets, and the simulated Strimzi operator — the end-to-end test bed —
# running until Ctrl-C. Then `kubectl mm2 status` shows both directions. It also boots the real
# Kafka half (Kafka 4.1 brokers, one for aws and three for proxmox as in the runbook, and in namespace
# rciis-live a real MirrorMaker 2 per direction on Kafka Connect with the JMX exporter, fed by a
# small producer): `kubectl mm2 lag -n rciis-live` and `kubectl mm2 status -n rciis-live --live`
# read real figures, and every valid MM2 the tour makes runs on real Connect too. MM2_DEMO_KAFKA=0
# skips it.
#
#   scripts/demo.sh            # start; print how to reach it; Ctrl-C stops everything
#   scripts/demo.sh --shell    # start, and drop into a bash that can reach it (exit stops it)
#   scripts/demo.sh --run kubectl mm2 status   # start, run one command there, stop (smoke test)
#
# Why a shell or nsenter: the bed lives in a private network namespace (its API servers listen on
# 198.18.0.x of a loopback that only exists there; nothing reaches the real network), so a kubectl
# in your usual shell cannot reach it. `--shell` opens a bash inside that namespace with KUBECONFIG
# and PATH (the freshly built plugins + their kubectl_complete-* shims) set; in the default mode
# the script prints the `nsenter` line to do the same from another terminal.
#
# Needs root (unshare/nsenter), util-linux, iproute2, and the bed's binaries: scripts/testbed.sh
# (called here) installs the Debian packages and builds kube-apiserver v1.20.2 once (~10 min).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

mode=wait
case "${1:-}" in
  --shell) mode=shell; shift ;;
  --run) mode=run; shift; [ "$#" -gt 0 ] || { echo "usage: $0 --run CMD [ARGS...]" >&2; exit 2; } ;;
  -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  "") ;;
  *) echo "usage: $0 [--shell | --run CMD [ARGS...]]" >&2; exit 2 ;;
esac

log() { printf '► %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
  echo "$0: needs root (unshare --net --pid, nsenter); try: sudo $0 $*" >&2
  exit 1
fi
for tool in unshare nsenter ip cargo kubectl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$0: $tool not found" >&2; exit 1; }
done

KUBEBUILDER_ASSETS="$(scripts/testbed.sh | tail -n1)"
export KUBEBUILDER_ASSETS
MM2_KAFKA_HOME="$(scripts/kafka-fetch.sh | tail -n1)"
export MM2_KAFKA_HOME
# proxmox has three brokers in the runbook: the MM2 that `convert` moves there asks for replication
# factor 3 on its Connect topics, which one broker could not give it.
export MM2_KAFKA_PROXMOX_BROKERS="${MM2_KAFKA_PROXMOX_BROKERS:-3}"

log "building kubectl-mm2, kubectl-clusterset and mm2-demo"
cargo build -q -p kubectl-mm2 -p kubectl-clusterset -p mm2-e2e --bin mm2-demo
target="${CARGO_TARGET_DIR:-$root/target}/debug"

state="$(mktemp -d "${TMPDIR:-/tmp}/mm2-demo.XXXXXX")"
mkdir -p "$state/bin"
for p in mm2 clusterset; do
  ln -s "$target/kubectl-$p" "$state/bin/kubectl-$p"
  # kubectl >= 1.26 runs kubectl_complete-<plugin> for `kubectl <plugin> <TAB>`.
  ln -s "kubectl-$p" "$state/bin/kubectl_complete-$p"
done

demo_pid=""
stop() {
  trap - INT TERM EXIT
  if [ -n "$demo_pid" ] && kill -0 "$demo_pid" 2>/dev/null; then
    log "stopping the demo"
    # SIGINT to mm2-demo (pid 1 of the namespace) lets it kill what it started and clean up;
    # unshare (--kill-child) follows it.
    child="$(cat "/proc/$demo_pid/task/$demo_pid/children" 2>/dev/null | awk '{print $1}')"
    if [ -n "$child" ]; then kill -INT "$child" 2>/dev/null || true; fi
    for _ in $(seq 100); do kill -0 "$demo_pid" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$demo_pid" 2>/dev/null || true
    wait "$demo_pid" 2>/dev/null || true
  fi
  rm -rf "$state"
}
trap stop EXIT
trap 'exit 130' INT TERM

log "starting the bed and its Kafka half in a private network namespace (~1 min)"
MM2_DEMO_READY="$state/ready" unshare --net --pid --fork --kill-child --mount-proc \
  sh -c 'ip link set lo up && ip addr add 198.18.0.1/32 dev lo && exec "$@"' mm2-demo \
  "$target/mm2-demo" >"$state/demo.out" &
demo_pid=$!

for _ in $(seq 1800); do
  [ -s "$state/ready" ] && break
  if ! kill -0 "$demo_pid" 2>/dev/null; then
    echo "$0: the demo exited before it was ready" >&2
    exit 1
  fi
  sleep 0.1
done
[ -s "$state/ready" ] || { echo "$0: the demo was not ready after 180 s" >&2; exit 1; }
kubeconfig="$(cat "$state/ready")"

# unshare itself sits in the new network namespace, so it is the nsenter target.
inside=(nsenter --net --target "$demo_pid" -- env KUBECONFIG="$kubeconfig" PATH="$state/bin:$PATH")

case "$mode" in
  run)
    "${inside[@]}" "$@"
    ;;
  shell)
    cat >"$state/bashrc" <<EOF
[ -f ~/.bashrc ] && . ~/.bashrc
[ -f /usr/share/bash-completion/bash_completion ] && . /usr/share/bash-completion/bash_completion
if type _get_comp_words_by_ref >/dev/null 2>&1; then . <(kubectl completion bash); fi
export KUBECONFIG="$kubeconfig" PATH="$state/bin:\$PATH"
PS1='(mm2-demo) \w\\$ '
echo "mm2-demo: KUBECONFIG=$kubeconfig — try: kubectl mm2 status; exit (or Ctrl-D) stops the demo"
EOF
    "${inside[@]}" bash --rcfile "$state/bashrc" -i || true
    ;;
  wait)
    cat <<EOF

The demo is up: two API servers (contexts rciis-aws, rciis-proxmox; namespace rciis-prod),
the runbook's KafkaMirrorMaker2s and a simulated Strimzi operator.

They live in a private network namespace. From another terminal, as root:

  nsenter --net --target $demo_pid -- env PATH="$state/bin:\$PATH" bash
  export KUBECONFIG=$kubeconfig
  kubectl mm2 status

(or run \`scripts/demo.sh --shell\` instead, which does this for you). Ctrl-C here stops everything.

export KUBECONFIG=$kubeconfig
EOF
    wait "$demo_pid" || true
    ;;
esac
