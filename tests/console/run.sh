#!/usr/bin/env bash
# The office console in a real browser: Playwright (playwright-core from
# npm, never a browser download) drives Debian's Chromium against a real
# fieldbook-server from the workspace's cargo build, fed by real signed
# device events (fieldbook-console-fixture). govuk-frontend comes from npm
# into node_modules and is served by the server (--console-assets).
# Screenshots of every page go to build/console/. The suite runs on
# SQLite, then again on a throwaway PostgreSQL cluster when PostgreSQL 15
# is installed.
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
echo "-- on SQLite (the embedded default)"
node --test --test-concurrency=1 console.test.mjs

# The same suite on PostgreSQL (what several instances share), on a
# throwaway cluster, when PostgreSQL 15 is installed (scripts/test.sh
# installs it).
PGBIN=/usr/lib/postgresql/15/bin
if [ -x "$PGBIN/initdb" ]; then
  echo "-- on PostgreSQL"
  PGDIR="$(mktemp -d)"
  PGPORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  as_pg() { if [ "$(id -u)" = 0 ]; then chown postgres "$PGDIR"; su postgres -s /bin/sh -c "$1"; else sh -c "$1"; fi; }
  as_pg "$PGBIN/initdb -D $PGDIR/data -U fb -A trust -E UTF8 --locale=C.UTF-8 >/dev/null"
  as_pg "$PGBIN/pg_ctl -D $PGDIR/data -o '-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1' -l $PGDIR/log -w start >/dev/null"
  trap 'as_pg "$PGBIN/pg_ctl -D $PGDIR/data -m fast stop >/dev/null" || true; rm -rf "$PGDIR"' EXIT
  "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U fb console
  FIELDBOOK_DATABASE_URL="postgres://fb@127.0.0.1:$PGPORT/console" FIELDBOOK_SCREENSHOTS="$FIELDBOOK_SCREENSHOTS/postgres" \
    node --test --test-concurrency=1 console.test.mjs
fi
