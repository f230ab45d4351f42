#!/usr/bin/env bash
# What can be verified of the iOS app on a machine without Xcode or a Swift
# toolchain (nothing here compiles or runs Swift):
#   1. ios/build-xcframework.sh, run in a copy of the repository holding only
#      the files a fresh clone has, gets as far as Xcode: the layout
#      ios/layout.sh names is created, the bindings are generated into the
#      Swift package, and it stops with exit status 3 and a message naming
#      what is missing (not silently, and not pretending it built anything);
#   2. the same in this checkout, so the checks below read fresh bindings;
#   3. tests/ios/check_swift.py: the app's Swift against the generated API,
#      the string catalog, the Android app's use of the core, and the
#      platform conventions (see its docstring).
# Uses the host library and uniffi-bindgen already built (cargo build
# -p fieldbook-ffi builds them when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. ios/layout.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

expect_stop() { # dir log
  local status=0
  (cd "$1" && ios/build-xcframework.sh) >"$2" 2>&1 || status=$?
  if [ "$(uname -s)" = Darwin ] && command -v xcodebuild >/dev/null; then
    [ "$status" = 0 ] || { cat "$2"; echo "FAIL: build-xcframework.sh failed on macOS"; exit 1; }
    return
  fi
  if [ "$status" != 3 ]; then
    cat "$2"; echo "FAIL: build-xcframework.sh should stop with status 3 where it needs Xcode (got $status)"; exit 1
  fi
  grep -q "STOPPED: the XCFramework needs Xcode" "$2" || { cat "$2"; echo "FAIL: no clear message where Xcode is needed"; exit 1; }
  grep -q "xcodebuild" "$2" || { cat "$2"; echo "FAIL: the message does not name xcodebuild"; exit 1; }
}

check_layout() { # dir
  for f in "$IOS_SWIFT_FILE" "$IOS_HEADER" "$IOS_MODULEMAP"; do
    test -s "$1/$f" || { echo "FAIL: $f was not generated in $1"; exit 1; }
  done
  grep -q "module FieldbookCoreFFI" "$1/$IOS_MODULEMAP" || { echo "FAIL: the module map does not declare FieldbookCoreFFI"; exit 1; }
  grep -q 'header "FieldbookCoreFFI.h"' "$1/$IOS_MODULEMAP" || { echo "FAIL: the module map does not name the header beside it"; exit 1; }
  grep -q "import FieldbookCoreFFI" "$1/$IOS_SWIFT_FILE" || { echo "FAIL: the Swift API does not import the FFI module"; exit 1; }
  # The package reads exactly these places.
  grep -q "path: \"${IOS_XCFRAMEWORK#"$IOS_PACKAGE"/}\"" ios/FieldbookCore/Package.swift \
    || { echo "FAIL: Package.swift's binary target is not $IOS_XCFRAMEWORK"; exit 1; }
  grep -q "path: \"${IOS_SWIFT_DIR#"$IOS_PACKAGE"/}\"" ios/FieldbookCore/Package.swift \
    || { echo "FAIL: Package.swift's Swift target is not $IOS_SWIFT_DIR"; exit 1; }
}

echo "-- build-xcframework.sh from a fresh clone's files"
CLONE=$(mktemp -d)
trap 'rm -rf "$CLONE"' EXIT
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"
done | xargs -0 cp --parents -t "$CLONE"
for p in "$IOS_SWIFT_DIR" "$IOS_HEADERS_DIR" "$(dirname "$IOS_XCFRAMEWORK")"; do
  test ! -e "$CLONE/$p" || { echo "FAIL: $p is committed; it must be generated"; exit 1; }
done
expect_stop "$CLONE" "$CLONE/build-xcframework.log"
check_layout "$CLONE"
sed 's/^/   | /' "$CLONE/build-xcframework.log" | tail -5

echo "-- build-xcframework.sh in this checkout"
expect_stop "$ROOT" "$(mktemp)"
check_layout "$ROOT"

echo "-- the Swift sources against the generated API, the catalog and the Android app"
python3 tests/ios/check_swift.py \
  --generated "$IOS_SWIFT_FILE" --app ios/App --strings ios/App/Resources/Localizable.xcstrings \
  --project ios/project.yml --package ios/FieldbookCore/Package.swift --android android
echo "iOS: layout, bindings and static checks passed (no Swift was compiled: no toolchain here)"
