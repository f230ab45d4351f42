#!/usr/bin/env bash
# The office console in a real browser: Playwright (playwright-core from
# npm, never a browser download) drives Debian's Chromium against a real
# fieldbook-server from the workspace's cargo build, fed by real signed
# device events (fieldbook-console-fixture). govuk-frontend comes from npm
# into node_modules and is served by the server (--console-assets).
# Screenshots of every page go to build/console/.
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(cd ../.. && pwd)"
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -x /usr/bin/chromium ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if ! command -v npm >/dev/null 2>&1; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
(cd "$ROOT" && cargo build -q -p fieldbook-server --bin fieldbook-server --bin fieldbook-console-fixture)
export FIELDBOOK_BIN_DIR="$ROOT/target/debug"
export FIELDBOOK_GOVUK_DIR="$PWD/node_modules/govuk-frontend/dist/govuk"
export FIELDBOOK_SCREENSHOTS="$ROOT/build/console"
rm -rf "$FIELDBOOK_SCREENSHOTS"
node --test --test-concurrency=1 console.test.mjs
