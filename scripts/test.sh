#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what it needs, then runs
# every test (Rust unit, property, end-to-end, crash, sync fault scenarios on
# SQLite and PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

echo "== prerequisites"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
fi
# Evidence packs: the test renders PDF pages to PNG and reads their text.
if ! command -v pdftoppm >/dev/null || ! command -v pdftotext >/dev/null || ! command -v pdffonts >/dev/null; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null
fi
cargo --version

echo "== cargo test (workspace)"
cargo test --workspace --all-targets
cargo test --workspace --doc
echo "== API contract: schemathesis against the served OpenAPI document"; tests/api/run.sh

echo "== the office console in Debian's Chromium (Playwright, axe-core)"; tests/console/run.sh

echo "== Kotlin on the JVM through the generated bindings"
if ! command -v npm >/dev/null; then
  as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
tests/kotlin/run.sh

echo "== the Android app: screens rendered and clicked on the JVM; Android-only code compiled"
tests/android-render/run.sh

echo "== Swift bindings: generated and declaring the same API as Kotlin"
target/debug/uniffi-bindgen generate target/debug/libfieldbook_ffi.so --language swift --out-dir build/swift --no-format
test -s build/swift/FieldbookCore.swift
python3 tests/api_parity.py build/kotlin/app/fieldbook/core/fieldbook.kt build/swift/FieldbookCore.swift

echo "== the iOS app: build script up to Xcode, bindings into the Swift package, static checks of the Swift"
tests/ios/run.sh

echo "== the core's tests on ARM64 under qemu"
scripts/test-arm64.sh
