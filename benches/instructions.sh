#!/usr/bin/env bash
# Instructions per first webhook under load, counted by callgrind: the one
# measure that repeats exactly on a shared machine, where requests per
# second move by 10-15% from run to run.
#   benches/instructions.sh              (needs valgrind and wrk)
# Env: PORT (3320), SECS (4). Give another server's command line as
# arguments to count it instead, e.g. the shared axum ceiling.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${PORT:-3320} SECS=${SECS:-4}
for tool in valgrind wrk callgrind_annotate; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install valgrind wrk" >&2; exit 1; }
done
if [[ $# -eq 0 ]]; then
  cargo build --release -q --bin callflow
  set -- target/release/callflow
fi
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
PORT=$PORT RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$work/out" "$@" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 150); do
  curl -s -o /dev/null -X POST "localhost:$PORT/voice" -d CallSid=CA1 && break
  sleep 0.2
done
url="http://127.0.0.1:$PORT/voice"
wrk -t1 -c4 -d2s -s benches/voice.lua "$url" >/dev/null   # warm up
callgrind_control -z "$pid" >/dev/null 2>&1
requests=$(wrk -t1 -c4 -d"${SECS}s" -s benches/voice.lua "$url" | awk '/requests in/{print $1}')
callgrind_control -d "$pid" >/dev/null 2>&1
sleep 0.5
total=$(callgrind_annotate "$work/out.1" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",", "", $1); print $1}')
echo "$requests webhooks, $((total / requests)) instructions each"
