#!/usr/bin/env bash
# The load-test recipe: throughput of POST /voice on the default flows, then
# check time, start-up time and memory with 1,000 generated flows of 20 steps.
#   benches/load-test.sh            (needs wrk: apt-get install wrk)
# Env: SECS (10), CONNS (32), FLOWS (1000), STEPS (20), PORT (3310).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${SECS:-10} CONNS=${CONNS:-32} FLOWS=${FLOWS:-1000} STEPS=${STEPS:-20} PORT=${PORT:-3310}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release -q --bin callflow --example generate_flows
bin=target/release/callflow
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

rss_kib() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
wait_up() { for _ in $(seq 200); do curl -sf "localhost:$1/healthz" >/dev/null && return; sleep 0.02; done; echo "server did not start" >&2; exit 1; }

echo "== throughput: POST /voice, default flows, $CONNS connections, ${SECS}s"
RUST_LOG=warn PORT=$PORT "$bin" >/dev/null 2>&1 &
wait_up "$PORT"
wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s benches/voice.lua "http://127.0.0.1:$PORT/voice" | grep -E "Requests/sec|Latency|99%"
echo "RSS after the run: $(rss_kib $!) KiB"
kill %1; wait 2>/dev/null || true

echo "== $FLOWS flows of $STEPS steps"
target/release/examples/generate_flows "$work/flows" "$FLOWS" "$STEPS" >/dev/null
start=$(date +%s%N); "$bin" check "$work/flows" >/dev/null; end=$(date +%s%N)
echo "callflow check: $(( (end - start) / 1000000 )) ms"
start=$(date +%s%N)
RUST_LOG=warn PORT=$((PORT + 1)) FLOWS_DIR="$work/flows" "$bin" >/dev/null 2>&1 &
wait_up $((PORT + 1)); end=$(date +%s%N)
echo "start-up to first /healthz: $(( (end - start) / 1000000 )) ms"
echo "RSS with $FLOWS flows loaded: $(rss_kib $!) KiB"
