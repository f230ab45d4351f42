#!/usr/bin/env bash
# The main job on the embedded default: starts the office server (SQLite)
# with demonstration data, runs a scripted field day on a supervisor's and
# an officer's device (captured offline, then synced with visible progress)
# and prints what the office sees; then serves the console with a one-time
# administrator sign-in until Ctrl-C (`scripts/demo.sh --exit` stops instead).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release -q -p fieldbook-server --bin fieldbook-field-day -- "$@"
