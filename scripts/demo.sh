#!/usr/bin/env bash
# The main job on the embedded default: starts the office server (SQLite)
# with demonstration data, runs a scripted field day on a supervisor's and
# an officer's device (captured offline, then synced with visible progress)
# and prints what the office sees.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release -q -p fieldbook-server --bin fieldbook-field-day
