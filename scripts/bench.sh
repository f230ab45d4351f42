#!/usr/bin/env bash
# Runs the benchmarks (release build) and prints the table that goes into
# BENCHMARKS.md. `--quick` for a shorter run. Needs the PostgreSQL 15 server
# binaries (scripts/test.sh installs them) and, for the SQLCipher arm,
# OpenSSL's libcrypto headers (installed here with apt if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
if ! [ -e /usr/include/openssl/evp.h ] && command -v apt-get >/dev/null; then
    echo "installing libssl-dev for the SQLCipher arm…" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get install -y -q libssl-dev >&2
fi
cargo build --release -q --target-dir "$target" -p fieldbook-bench -p fieldbook-server
# The SQLCipher arm is its own workspace (it links SQLCipher; Cargo would
# unify that into every member of the main one) with its own Cargo.lock.
cargo build --release -q --locked --target-dir "$target" --manifest-path bench-sqlcipher/Cargo.toml
# The benchmark prints the load average before and after under its table
# (the machine may be shared; ratios are measured side by side).
exec env FIELDBOOK_SQLCIPHER_BENCH="$target/release/fieldbook-bench-sqlcipher" \
    "$target/release/fieldbook-bench" "$@"
