#!/usr/bin/env bash
# Runs the benchmarks (release build) and prints the table that goes into
# BENCHMARKS.md. `--quick` for a shorter run. Needs the PostgreSQL 15 server
# binaries (scripts/test.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p fieldbook-bench -p fieldbook-server
exec target/release/fieldbook-bench "$@"
