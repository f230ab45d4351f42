#!/usr/bin/env bash
# Runs the core's tests on ARM64 (the phones' CPU) under qemu user-mode
# emulation: ring's AES-GCM/Ed25519/PBKDF2 and bundled SQLite as built for
# aarch64. Installs the cross compiler, qemu and the Rust target if absent.
# When a prerequisite cannot be had on this machine, it says so loudly and
# returns success so the rest of the suite still runs; a test failure under
# emulation still fails the suite.
set -uo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
skip() {
  echo "!!! ARM64 EMULATION STEP DID NOT RUN: $1" >&2
  echo "!!! (the core's tests were not run on aarch64 in this suite run)" >&2
  exit 0
}
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  as_root apt-get update -qq || skip "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user >/dev/null \
    || skip "could not install gcc-aarch64-linux-gnu / qemu-user from Debian"
fi
if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
  out=$(rustup target add aarch64-unknown-linux-gnu 2>&1) || skip "rustup target add aarch64-unknown-linux-gnu failed: $(echo "$out" | tail -1)"
fi
set -e
# Linker and qemu runner come from .cargo/config.toml.
CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
  cargo test --target aarch64-unknown-linux-gnu -p fieldbook-core
