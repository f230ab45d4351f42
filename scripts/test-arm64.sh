#!/usr/bin/env bash
# Runs the core's tests on ARM64 (the phones' CPU) under qemu user-mode
# emulation: ring's AES-GCM/Ed25519/PBKDF2 and bundled SQLite as built for
# aarch64. Installs the cross compiler, qemu and the Rust target if absent.
set -euo pipefail
cd "$(dirname "$0")/.."
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user >/dev/null
fi
rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1
# Linker and qemu runner come from .cargo/config.toml.
CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc \
  cargo test --target aarch64-unknown-linux-gnu -p fieldbook-core
