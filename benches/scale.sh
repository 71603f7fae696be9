#!/usr/bin/env bash
# A line with many flows: every figure of the scale targets, for 1,000 and
# 10,000 generated flows of 20 steps (and the same edit with 10 flows).
#   benches/scale.sh                 (COUNTS="1000 10000" STEPS=20 PORT=3330)
#   BIN=path/to/callflow benches/scale.sh   measures another build
#   BUILD=0 benches/scale.sh         uses the release builds in target/ as they are
# Prints: `callflow check` time and the CPU it used (user+sys over wall
# time: near 2 on two cores means both worked), start-up until /healthz
# answers, RSS after start-up and per step, one-file edits from the write
# until a new call hears them (p50/p95 over 20 edits), RSS after 100 edits,
# and routing by called number at 1,000 to 100,000 numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=${COUNTS:-1000 10000} STEPS=${STEPS:-20} PORT=${PORT:-3330}
if [ "${BUILD:-1}" != 0 ]; then
  cargo build --release -q --example generate_flows --example scale_edits --example route_numbers
  [ -n "${BIN:-}" ] || cargo build --release -q --bin callflow
fi
BIN=${BIN:-target/release/callflow}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

rss_kib() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
now_ms() { date +%s%3N; }

# Starts the server on $1; sets $pid, and $startup to the ms until it answers.
start() {
  local began; began=$(now_ms)
  RUST_LOG=warn PORT=$PORT FLOWS_DIR="$1" "$BIN" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 6000); do
    curl -sf "localhost:$PORT/healthz" >/dev/null && { startup=$(($(now_ms) - began)); return; }
    sleep 0.01
  done
  echo "server did not start" >&2; exit 1
}

# The same edit with 10 flows, for the ratio.
target/release/examples/generate_flows "$work/small" 10 "$STEPS" >/dev/null
start "$work/small"
small=$(target/release/examples/scale_edits "$work/small" "$PORT" 20 20)
kill $pid; wait $pid 2>/dev/null || true
echo "10 flows: $small"
small_p95=$(sed -E 's/.*p95 ([0-9]+) ms.*/\1/' <<<"$small")

for count in $COUNTS; do
  echo "== $count flows of $STEPS steps"
  dir="$work/flows-$count"
  target/release/examples/generate_flows "$dir" "$count" "$STEPS" >/dev/null
  /usr/bin/time -f "callflow check: %e s wall, %U s user + %S s sys (CPU %P)" "$BIN" check "$dir" 2>&1 >/dev/null | tail -1
  start "$dir"
  loaded=$(rss_kib $pid)
  echo "start-up to serving: $startup ms"
  echo "RSS after start-up: $((loaded / 1024)) MiB ($((loaded * 1024 / (count * STEPS))) bytes per step)"
  edits=$(target/release/examples/scale_edits "$dir" "$PORT" 20 100)
  p95=$(sed -E 's/.*p95 ([0-9]+) ms.*/\1/' <<<"$edits")
  echo "$edits; ×$(awk -v a="$p95" -v b="$small_p95" 'BEGIN{printf "%.1f", a/(b>0?b:1)}') the same edit with 10 flows"
  after=$(rss_kib $pid)
  echo "RSS after 100 one-file edits: $((after / 1024)) MiB (×$(awk -v a="$after" -v b="$loaded" 'BEGIN{printf "%.2f", a/b}') start-up)"
  kill $pid; wait $pid 2>/dev/null || true
  rm -rf "$dir"
done

echo "== routing by called number"
target/release/examples/route_numbers
