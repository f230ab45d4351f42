#!/usr/bin/env bash
# Builds what the Swift package ios/FieldbookCore needs, in the layout
# ios/layout.sh names:
#   1. the generated Swift API, C header and module map (any machine:
#      scripts/generate-bindings.sh --swift-only, from the host library);
#   2. the Rust core as static libraries for iOS devices (aarch64-apple-ios)
#      and simulators (aarch64-apple-ios-sim + x86_64-apple-ios, one fat
#      library), and FieldbookCoreFFI.xcframework from them with the
#      headers. Step 2 needs macOS with Xcode (xcodebuild, xcrun, lipo and
#      the iOS SDKs) and: rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios
# Without Xcode it stops after step 1 with exit status 3 and says so.
# Then: cd ios && xcodegen generate && open Fieldbook.xcodeproj
set -euo pipefail
cd "$(dirname "$0")/.."
. ios/layout.sh

echo "== 1/2 Swift bindings into $IOS_PACKAGE"
scripts/generate-bindings.sh --swift-only

echo "== 2/2 static libraries and $IOS_XCFRAMEWORK"
missing=()
[ "$(uname -s)" = Darwin ] || missing+=("macOS (this is $(uname -s))")
for tool in xcodebuild xcrun lipo; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  cat >&2 <<MSG
STOPPED: the XCFramework needs Xcode, and this machine lacks: ${missing[*]}.
  Done:     $IOS_SWIFT_FILE, $IOS_HEADER, $IOS_MODULEMAP
  Not done: the iOS static libraries and $IOS_XCFRAMEWORK;
            the app cannot be built here. Run this script on macOS with Xcode.
MSG
  exit 3
fi

TARGET=${CARGO_TARGET_DIR:-target}
for t in aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios; do
  cargo build --release -p fieldbook-ffi --lib --target "$t"
done
rm -rf "$IOS_BUILD_DIR" "$IOS_XCFRAMEWORK"
mkdir -p "$IOS_BUILD_DIR" "$(dirname "$IOS_XCFRAMEWORK")"
lipo -create \
  "$TARGET/aarch64-apple-ios-sim/release/libfieldbook_ffi.a" \
  "$TARGET/x86_64-apple-ios/release/libfieldbook_ffi.a" \
  -output "$IOS_BUILD_DIR/libfieldbook_ffi_sim.a"
xcodebuild -create-xcframework \
  -library "$TARGET/aarch64-apple-ios/release/libfieldbook_ffi.a" -headers "$IOS_HEADERS_DIR" \
  -library "$IOS_BUILD_DIR/libfieldbook_ffi_sim.a" -headers "$IOS_HEADERS_DIR" \
  -output "$IOS_XCFRAMEWORK"
echo "built $IOS_XCFRAMEWORK"
