#!/usr/bin/env bash
# Builds what a callflow deployment runs: the release binary
# (target/release/callflow) and the browser page's npm packages
# (node_modules/, from package-lock.json).
#
# One script for both builders: the Dockerfile runs it in its build stage,
# and CI (.ci/run) runs it before the tests, so the image is built by the
# same commands every green CI run has proved. It needs cargo, node and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --no-audit --no-fund
cargo build --release --locked
