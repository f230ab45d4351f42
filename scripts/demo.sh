#!/usr/bin/env bash
# The main job on the embedded default: starts the office server (SQLite)
# with demonstration data, runs a scripted field day on a supervisor's and
# an officer's device (captured offline, then synced with visible progress)
# and prints what the office sees; then serves the console with a one-time
# administrator sign-in until Ctrl-C (`scripts/demo.sh --exit` stops instead).
set -euo pipefail
cd "$(dirname "$0")/.."
# The console looks as it will in service with GOV.UK Frontend, which comes
# from npm (the browser tests' package); without npm it uses its plain
# built-in stylesheet and says so.
govuk=tests/console/node_modules/govuk-frontend/dist/govuk
assets=()
if [ ! -d "$govuk" ] && command -v npm >/dev/null 2>&1; then
  (cd tests/console && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1) || true
fi
if [ -d "$govuk" ]; then
  assets=(--console-assets "$govuk")
else
  echo "GOV.UK Frontend is not installed (no npm here): the console uses its plain stylesheet."
fi
exec cargo run --release -q -p fieldbook-server --bin fieldbook-field-day -- "${assets[@]}" "$@"
