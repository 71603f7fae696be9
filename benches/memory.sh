#!/usr/bin/env bash
# Resident memory of a server holding many flows: generates FLOWS flows of
# STEPS steps, starts the release build on them, and reports the RSS once
# it answers /healthz, and again after a webhook to every flow.
#   benches/memory.sh                  (FLOWS=10000 STEPS=20 PORT=3320)
#   BIN=path/to/callflow benches/memory.sh   measures another build
set -euo pipefail
cd "$(dirname "$0")/.."
FLOWS=${FLOWS:-10000} STEPS=${STEPS:-20} PORT=${PORT:-3320}
cargo build --release -q --example generate_flows
[ -n "${BIN:-}" ] || { cargo build --release -q --bin callflow; BIN=target/release/callflow; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

rss_kib() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
wait_up() { for _ in $(seq 3000); do curl -sf "localhost:$1/healthz" >/dev/null && return; sleep 0.05; done; echo "server did not start" >&2; exit 1; }

target/release/examples/generate_flows "$work/flows" "$FLOWS" "$STEPS" >/dev/null
RUST_LOG=warn PORT=$PORT FLOWS_DIR="$work/flows" "$BIN" >/dev/null 2>&1 &
pid=$!
wait_up "$PORT"
loaded=$(rss_kib $pid)
echo "RSS with $FLOWS flows of $STEPS steps loaded: $loaded KiB ($((loaded * 1024 / (FLOWS * STEPS))) bytes per step)"
for i in $(seq 0 $((FLOWS - 1))); do
  printf 'flow=flow_%04d&CallSid=CA%032d&From=%%2B15551112222\n' "$i" "$i"
done > "$work/bodies"
while read -r body; do
  curl -sf -o /dev/null -X POST "localhost:$PORT/voice" -H "content-type: application/x-www-form-urlencoded" --data "$body"
done < "$work/bodies"
echo "RSS after a first webhook to each flow: $(rss_kib $pid) KiB"
