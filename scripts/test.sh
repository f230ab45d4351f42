#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what it needs, then runs
# every Rust test in the workspace (unit, property, end-to-end, crash).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== toolchain"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
cargo --version

echo "== cargo test (workspace)"
cargo test --workspace --all-targets
cargo test --workspace --doc
