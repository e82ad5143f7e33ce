#!/usr/bin/env bash
# Startup cost of what the shell runs on every TAB and of the plugins themselves, next to
# `kubectl version --client` measured in the same loop:
#
#   static completion   kubectl_complete-mm2 pause --     budget: median <= 20 ms
#   version             kubectl-mm2 --version             budget: median <= 5 ms
#   via kubectl         kubectl __complete mm2 pause --   (what the shell really runs; informative)
#   kubectl             kubectl version --client          (reference)
#
#   scripts/bench-startup.sh [--bin-dir DIR] [--runs N] [--check]
#
# --bin-dir  where kubectl-mm2 is (default: target/release if built, else target/debug)
# --runs     runs per command (default 30, at least 20)
# --check    exit 1 when a budget is exceeded
#
# Uses hyperfine when installed (`apt-get install -y hyperfine`), else a bash loop with
# `date +%s%N`. KUBECONFIG points at a missing file: static completion must not need one.
set -euo pipefail
cd "$(dirname "$0")/.."

bin_dir="" runs=30 check=0
while [ "$#" -gt 0 ]; do
  case "$1" in
    --bin-dir) bin_dir="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --check) check=1; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$runs" -ge 20 ] || runs=20
target="${CARGO_TARGET_DIR:-target}"
if [ -z "$bin_dir" ]; then
  if [ -x "$target/release/kubectl-mm2" ]; then bin_dir="$target/release"; else bin_dir="$target/debug"; fi
fi
[ -x "$bin_dir/kubectl-mm2" ] || { echo "no $bin_dir/kubectl-mm2; build it first (cargo build --release -p kubectl-mm2)" >&2; exit 1; }
bin_dir="$(cd "$bin_dir" && pwd)"

work="$(mktemp -d "${TMPDIR:-/tmp}/mm2-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin"
ln -s "$bin_dir/kubectl-mm2" "$work/bin/kubectl-mm2"
ln -s kubectl-mm2 "$work/bin/kubectl_complete-mm2"
export PATH="$work/bin:$PATH" KUBECONFIG="$work/no-such-kubeconfig" XDG_CACHE_HOME="$work/cache"

# Sanity: the completion really answers, offline, without a kubeconfig.
out="$(kubectl_complete-mm2 pause --)"
case "$out" in
  *--connector*) ;;
  *) echo "kubectl_complete-mm2 did not answer as expected:" >&2; echo "$out" >&2; exit 1 ;;
esac

names=("static completion" "version" "via kubectl" "kubectl")
cmds=("kubectl_complete-mm2 pause --" "kubectl-mm2 --version" "kubectl __complete mm2 pause --" "kubectl version --client")
budgets=(20 5 "" "")

median_ms() { # stdin: one duration in ns per line
  sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.2f", m / 1e6}'
}

declare -A med min max
if command -v hyperfine >/dev/null 2>&1; then
  tool="hyperfine $(hyperfine --version | awk '{print $2}') (-N, $runs runs, 3 warm-up)"
  for i in "${!cmds[@]}"; do
    hyperfine -N --warmup 3 --runs "$runs" --export-json "$work/$i.json" "${cmds[$i]}" >/dev/null 2>&1
    read -r med[$i] min[$i] max[$i] < <(python3 - "$work/$i.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("%.2f %.2f %.2f" % (r["median"] * 1e3, r["min"] * 1e3, r["max"] * 1e3))
PY
)
  done
else
  tool="bash loop with date +%s%N ($runs runs, 3 warm-up; includes the loop's own fork/exec)"
  for i in "${!cmds[@]}"; do
    read -ra argv <<<"${cmds[$i]}"
    for _ in 1 2 3; do "${argv[@]}" >/dev/null 2>&1 || true; done
    : >"$work/$i.ns"
    for _ in $(seq "$runs"); do
      t0=$(date +%s%N); "${argv[@]}" >/dev/null 2>&1 || true; t1=$(date +%s%N)
      echo $((t1 - t0)) >>"$work/$i.ns"
    done
    med[$i]="$(median_ms <"$work/$i.ns")"
    min[$i]="$(sort -n "$work/$i.ns" | head -n1 | awk '{printf "%.2f", $1/1e6}')"
    max[$i]="$(sort -n "$work/$i.ns" | tail -n1 | awk '{printf "%.2f", $1/1e6}')"
  done
fi

echo "kubectl-mm2 from $bin_dir; $tool"
printf '%-18s %-34s %9s %9s %9s  %s\n' WHAT COMMAND MEDIAN MIN MAX BUDGET
fail=0
for i in "${!cmds[@]}"; do
  verdict=""
  if [ -n "${budgets[$i]}" ]; then
    if awk -v m="${med[$i]}" -v b="${budgets[$i]}" 'BEGIN {exit !(m <= b)}'; then
      verdict="<= ${budgets[$i]} ms ok"
    else
      verdict="> ${budgets[$i]} ms OVER"
      fail=1
    fi
  fi
  printf '%-18s %-34s %7s ms %6s ms %6s ms  %s\n' "${names[$i]}" "${cmds[$i]}" "${med[$i]}" "${min[$i]}" "${max[$i]}" "$verdict"
done
if [ "$check" = 1 ] && [ "$fail" = 1 ]; then exit 1; fi
exit 0
