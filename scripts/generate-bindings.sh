#!/usr/bin/env bash
# Generates the Kotlin and Swift bindings in library mode from the built
# library, into the shells' generated-source folders (never committed).
#   scripts/generate-bindings.sh [path/to/libfieldbook_ffi.(so|dylib|a)]
set -euo pipefail
cd "$(dirname "$0")/.."
LIB=${1:-target/debug/libfieldbook_ffi.so}
if [ ! -f "$LIB" ]; then
  cargo build -p fieldbook-ffi --lib --bins
fi
cargo build -q -p fieldbook-ffi --bin uniffi-bindgen
KOTLIN_OUT=android/app/build/generated/uniffi/kotlin
SWIFT_OUT=ios/FieldbookCore/Sources/FieldbookCore
rm -rf "$KOTLIN_OUT" && mkdir -p "$KOTLIN_OUT" "$SWIFT_OUT" ios/FieldbookCore/Sources/FieldbookCoreFFI/include
target/debug/uniffi-bindgen generate "$LIB" --language kotlin --out-dir "$KOTLIN_OUT" --no-format
target/debug/uniffi-bindgen generate "$LIB" --language swift --out-dir build/swift --no-format
cp build/swift/*.swift "$SWIFT_OUT/"
cp build/swift/*.h ios/FieldbookCore/Sources/FieldbookCoreFFI/include/
cp build/swift/*.modulemap ios/FieldbookCore/Sources/FieldbookCoreFFI/include/module.modulemap
echo "Kotlin: $KOTLIN_OUT; Swift: $SWIFT_OUT"
