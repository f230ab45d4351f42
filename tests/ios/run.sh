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
#      platform conventions (see its docstring);
#   4. the checker itself: deliberate mistakes in a copy of the app must
#      each be reported (a check that cannot fail checks nothing).
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
done | tar --null -T - -cf - | tar -xf - -C "$CLONE"
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
echo "-- the checks can fail: each deliberate mistake below must be reported"
MUT=$(mktemp -d)
must_fail() { # file old new expected
  rm -rf "$MUT/ios" && cp -r ios "$MUT/ios"
  python3 - "$MUT/$1" "$2" "$3" <<'PY'
import sys
path, old, new = sys.argv[1:4]
s = open(path, encoding="utf-8").read()
assert old in s, f"mutation target not found in {path}: {old}"
open(path, "w", encoding="utf-8").write(s.replace(old, new, 1))
PY
  local out
  if out=$(python3 tests/ios/check_swift.py --generated "$IOS_SWIFT_FILE" --app "$MUT/ios/App" \
      --strings "$MUT/ios/App/Resources/Localizable.xcstrings" --project "$MUT/ios/project.yml" \
      --package "$MUT/ios/FieldbookCore/Package.swift" --android android 2>&1); then
    echo "FAIL: the checker accepted: $1: $2 -> $3"; exit 1
  fi
  grep -q -- "$4" <<<"$out" || { echo "$out"; echo "FAIL: expected a report containing: $4"; exit 1; }
  echo "   caught: $(grep -m1 -- "$4" <<<"$out" | sed "s|$MUT/||")"
}
must_fail ios/App/Screens/RollCall/RollCallModel.swift 'app.upwRollCall(sessionId: id)' 'app.upwRollCall(session: id)' 'does not match the declaration (sessionId:)'
must_fail ios/App/Screens/RollCall/RollCallModel.swift 'let id = row.appointmentId' 'let id = row.appointmentID' '.appointmentID is declared neither'
must_fail ios/App/Screens/RollCall/RollCallModel.swift 'identityChecked: identity' 'identityCheck: identity' 'CheckIn(arrival:, identityCheck:'
must_fail ios/App/Platform/KeychainKeyStore.swift 'func unwrap(wrapped: Data)' 'func unwrap(wrapped: [UInt8])' 'KeyStore declares unwrap(wrapped: Data)'
must_fail ios/App/Platform/KeychainKeyStore.swift 'nil, kSecAttrAccessibleWhenUnlockedThisDeviceOnly' 'nil, kSecAttrAccessibleAfterFirstUnlock' 'weaker Keychain accessibility'
must_fail ios/App/Resources/Localizable.xcstrings '"value": "Cofrestr"' '"value": ""' "key 'rollCall.title' has no cy value"
must_fail ios/App/Screens/Ledger/LedgerScreen.swift 'Formatting.hoursAndMinutes(l.eteCreditedMinutes), ' '' "'ledger.eteUsed' (en) has 2 placeholders, the call gives 1"
must_fail ios/App/FieldbookApp.swift 'ScreenView(screen: root.homeScreen())' 'ScreenView(screen: .ledger(LedgerModel(core: root.core, appointmentId: "")))' 'LedgerModel created inside body'
must_fail ios/App/Platform/LoneWorkerNotifications.swift 'content.body = L10n.t("notification.overdue")' 'content.body = L10n.t("notification.overdue") + visitId' 'is not fixed catalog text'
must_fail ios/App/FieldbookApp.swift '.privacyCover(delegate.appModel.covered)' '' 'privacy cover is not applied'
must_fail ios/App/Screens/Sync/SyncModel.swift 'app.resubmitQuarantined(eventId: id, reason: reason)' 'app.resubmit(eventId: id, reason: reason)' 'the Android app calls resubmitQuarantined'
must_fail ios/App/Screens/Outcome/OutcomeScreen.swift 'supporting: L10n.t("outcome.timeFormat"), error: model.error(for: "arrival")' \
  'error: model.error(for: "arrival"), supporting: L10n.t("outcome.timeFormat")' 'Field(label:, text:, error:, supporting:) does not match'
must_fail ios/App/Screens/Ledger/LedgerModel.swift 'core.run { app in try app.upwLedgerForAppointment' 'core.run { a in try a.upwLedgerForAppointment' "name the closure's FieldbookApp"
rm -rf "$MUT"

echo "iOS: layout, bindings and static checks passed (no Swift was compiled: no toolchain here)"
