#!/bin/sh
# Runs a command inside a private network + pid namespace, as the mm2-e2e test bed requires:
# only `lo` (up, with 198.18.0.1/32), no route out; every process started inside dies with it.
#
# usage: tests/netns-run.sh CMD [ARGS...]
#   e.g. cargo build -p mm2-e2e --tests && bash tests/netns-run.sh cargo test --offline -p mm2-e2e
#
# Needs root (unshare --net) and util-linux + iproute2. Build outside first: there is no
# network inside, so cargo must run --offline (CARGO_NET_OFFLINE is set here too).
set -eu
if [ "$#" -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi
if [ "$(id -u)" != 0 ]; then
  echo "$0: needs root (unshare --net --pid)" >&2
  exit 1
fi
for tool in unshare ip; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$0: $tool not found (install util-linux, iproute2)" >&2; exit 1; }
done
export CARGO_NET_OFFLINE=true
exec unshare --net --pid --fork --kill-child --mount-proc \
  sh -c 'ip link set lo up && ip addr add 198.18.0.1/32 dev lo && exec "$@"' netns-run "$@"
