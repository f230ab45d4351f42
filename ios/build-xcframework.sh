#!/usr/bin/env bash
# Builds the Rust core for iOS devices and simulators, generates the Swift
# bindings, and packages FieldbookCoreFFI.xcframework for the Swift package.
# Needs macOS with Xcode and:
#   rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=ios/build
rm -rf "$OUT" && mkdir -p "$OUT/headers"
for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
  cargo build --release -p fieldbook-ffi --lib --target "$t"
done
lipo -create \
  target/aarch64-apple-ios-sim/release/libfieldbook_ffi.a \
  target/x86_64-apple-ios/release/libfieldbook_ffi.a \
  -output "$OUT/libfieldbook_ffi_sim.a"
cargo run -q -p fieldbook-ffi --bin uniffi-bindgen -- generate \
  target/aarch64-apple-ios/release/libfieldbook_ffi.a --language swift --out-dir "$OUT/swift" --no-format
cp "$OUT/swift/FieldbookCoreFFI.h" "$OUT/headers/"
cp "$OUT/swift/FieldbookCoreFFI.modulemap" "$OUT/headers/module.modulemap"
cp "$OUT/swift/FieldbookCore.swift" ios/FieldbookCore/Sources/FieldbookCore/
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/libfieldbook_ffi.a -headers "$OUT/headers" \
  -library "$OUT/libfieldbook_ffi_sim.a" -headers "$OUT/headers" \
  -output "$OUT/FieldbookCoreFFI.xcframework"
echo "built $OUT/FieldbookCoreFFI.xcframework"
