#!/usr/bin/env bash
# The demo's tour (README, "Try it locally"), checked: from the runbook as written to a layout that
# runs, through the plugins only, ending on real Kafka Connect. scripts/test.sh runs it with
#   scripts/demo.sh --run bash tests/demo-tour.sh
# (inside the demo's network namespace, KUBECONFIG and PATH set by demo.sh).
set -euo pipefail

say() { printf '► demo tour: %s\n' "$*" >&2; }
fail() {
  printf 'demo tour FAILED: %s\n' "$*" >&2
  exit 1
}
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Runs a command, keeping its exit code and its output (stdout and stderr) in $tmp/out.
run() {
  set +e
  "$@" >"$tmp/out" 2>&1
  rc=$?
  set -e
}

say "1. the runbook as written: both directions invalid (exit 3)"
run kubectl mm2 status
[ "$rc" = 3 ] || { cat "$tmp/out" >&2; fail "status exited $rc, not 3"; }
for d in "aws → proxmox  invalid" "proxmox → aws  invalid"; do
  grep -q "$d" "$tmp/out" || { cat "$tmp/out" >&2; fail "status does not say '$d'"; }
done

say "2. convert each direction to its target cluster and apply it"
kubectl mm2 convert proxmox:aws >"$tmp/p2a.yaml" 2>/dev/null
kubectl mm2 convert aws:proxmox >"$tmp/a2p.yaml" 2>/dev/null
kubectl apply --server-side --context rciis-aws -f "$tmp/p2a.yaml" >/dev/null
kubectl apply --server-side --context rciis-proxmox -f "$tmp/a2p.yaml" >/dev/null

say "4. GC-safe peer Secrets, and the rejected runbook MM2s deleted"
kubectl clusterset copy-secret --mm2 --yes >/dev/null 2>&1
kubectl delete kmm2 mm2-proxmox-to-aws -n rciis-prod --context rciis-proxmox >/dev/null
kubectl delete kmm2 mm2-aws-to-proxmox -n rciis-prod --context rciis-aws >/dev/null

say "   waiting for status --live to be healthy, with Kafka Connect agreeing on both directions"
ok=""
for _ in $(seq 120); do
  run kubectl mm2 status --live
  if [ "$rc" = 0 ] && [ "$(grep -c 'live: Kafka Connect agrees with the CR status' "$tmp/out")" = 2 ]; then
    ok=1
    break
  fi
  sleep 2
done
[ -n "$ok" ] || { cat "$tmp/out" >&2; fail "status --live not healthy within 240 s"; }

# The Connect REST answering at the pods is the real one (the bed's doubles say 4.1.0).
for at in "rciis-aws mm2-proxmox-to-aws" "rciis-proxmox mm2-aws-to-proxmox"; do
  read -r context mm2 <<<"$at"
  root="$(kubectl get --raw "/api/v1/namespaces/rciis-prod/pods/$mm2-mirrormaker2-0:8083/proxy/" --context "$context")"
  grep -Eq '"version": ?"4\.1\.1"' <<<"$root" || fail "$mm2 in $context: not real Kafka Connect 4.1.1 ($root)"
done

say "6. lag: the runbook's metrics rules export no figure, read from the real exporter (UNKNOWN, exit 3)"
run kubectl mm2 lag
[ "$rc" = 3 ] || { cat "$tmp/out" >&2; fail "lag exited $rc, not 3"; }
grep -q "records-lag of the replication consumer" "$tmp/out" || { cat "$tmp/out" >&2; fail "lag does not name the missing records-lag rule"; }

say "ok"
