#!/usr/bin/env bash
# Generates the Kotlin and Swift bindings in library mode from the built
# library, into the shells' generated-source folders (never committed):
# Kotlin into android/app/build/generated/uniffi/kotlin, Swift, its C header
# and module map into the layout ios/layout.sh names.
#   scripts/generate-bindings.sh [--swift-only] [path/to/libfieldbook_ffi.(so|dylib|a)]
# The library and uniffi-bindgen are built (cargo build -p fieldbook-ffi)
# only when missing, so a test run does not rebuild what it just built;
# rebuild them first to refresh the bindings.
set -euo pipefail
cd "$(dirname "$0")/.."
. ios/layout.sh

SWIFT_ONLY=false
if [ "${1:-}" = "--swift-only" ]; then SWIFT_ONLY=true; shift; fi
TARGET=${CARGO_TARGET_DIR:-target}
case "$(uname -s)" in Darwin) EXT=dylib ;; *) EXT=so ;; esac
LIB=${1:-$TARGET/debug/libfieldbook_ffi.$EXT}
BINDGEN=$TARGET/debug/uniffi-bindgen
if [ ! -f "$LIB" ] || [ ! -x "$BINDGEN" ]; then
  echo "building fieldbook-ffi (library and uniffi-bindgen)"
  cargo build -p fieldbook-ffi
fi
test -f "$LIB" || { echo "error: no library at $LIB" >&2; exit 1; }

if [ "$SWIFT_ONLY" = false ]; then
  KOTLIN_OUT=android/app/build/generated/uniffi/kotlin
  rm -rf "$KOTLIN_OUT" && mkdir -p "$KOTLIN_OUT"
  "$BINDGEN" generate "$LIB" --language kotlin --out-dir "$KOTLIN_OUT" --no-format
  echo "Kotlin: $KOTLIN_OUT"
fi

# Swift: generated into a scratch folder, then each file to its place.
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
"$BINDGEN" generate "$LIB" --language swift --out-dir "$STAGE" --no-format
for f in FieldbookCore.swift FieldbookCoreFFI.h FieldbookCoreFFI.modulemap; do
  test -s "$STAGE/$f" || { echo "error: uniffi-bindgen did not write $f" >&2; exit 1; }
done
rm -rf "$IOS_SWIFT_DIR" "$IOS_HEADERS_DIR"
mkdir -p "$IOS_SWIFT_DIR" "$IOS_HEADERS_DIR"
cp "$STAGE/FieldbookCore.swift" "$IOS_SWIFT_FILE"
cp "$STAGE/FieldbookCoreFFI.h" "$IOS_HEADER"
# An XCFramework's headers folder carries its module map as module.modulemap.
cp "$STAGE/FieldbookCoreFFI.modulemap" "$IOS_MODULEMAP"
echo "Swift: $IOS_SWIFT_FILE; header and module map: $IOS_HEADERS_DIR"
