#!/usr/bin/env bash
# The Android app's UI, seen working without an Android SDK:
#  1. resolves Compose Multiplatform desktop 1.7.3 from Maven Central,
#  2. compiles the Android-free UI source set (android/ui) with kotlinc and
#     the Compose compiler plugin against the generated bindings,
#  3. runs JUnit suites that drive a supervisor's and an officer's field day
#     through the UI against the real libfieldbook_ffi and a real
#     fieldbook-server, writing a PNG of every screen to build/screens/,
#  4. compiles the Android-only code (android/app) against the Android API
#     jar (org.robolectric:android-all) plus the listed signature stubs.
# Installs what it needs (Debian fonts, JDK, Maven; kotlinc from npm);
# downloads are cached in .tools/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TOOLS=$ROOT/.tools
HERE=tests/android-render
OUT=build/android-render
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
command -v java >/dev/null || need+=(default-jdk-headless)
command -v mvn >/dev/null || need+=(maven)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v fc-list >/dev/null || need+=(fontconfig)
if [ ${#need[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ ! -x "$TOOLS/package/bin/kotlinc" ]; then
  mkdir -p "$TOOLS"
  (cd "$TOOLS" && npm pack kotlin-compiler@2.4.20 >/dev/null && tar xzf kotlin-compiler-2.4.20.tgz)
fi
KOTLINC=$TOOLS/package/bin/kotlinc
KLIB=$TOOLS/package/lib

# Maven Central only (the poms name no other repository). Re-resolved when a pom changes.
resolve() { # pom dir
  local stamp="$2/.pom.sha"
  if [ ! -f "$stamp" ] || [ "$(sha256sum "$1" | cut -d' ' -f1)" != "$(cat "$stamp")" ]; then
    rm -rf "$2" && mkdir -p "$2"
    mvn -q -B -f "$1" dependency:copy-dependencies -DoutputDirectory="$2"
    sha256sum "$1" | cut -d' ' -f1 > "$stamp"
  fi
}
resolve $HERE/pom.xml "$TOOLS/android-render/ui"
resolve $HERE/android-pom.xml "$TOOLS/android-render/android"
# Kotlin's own stdlib comes with kotlinc; the older one Compose names is left out.
UI_CP=$(ls "$TOOLS"/android-render/ui/*.jar | grep -v '/kotlin-stdlib' | tr '\n' ':')

# One cargo invocation so uniffi's features unify (no rebuilds).
cargo build -p fieldbook-ffi -p fieldbook-server --bins --lib
rm -rf $OUT build/screens
mkdir -p $OUT build/screens
target/debug/uniffi-bindgen generate target/debug/libfieldbook_ffi.so --language kotlin --out-dir $OUT/bindings --no-format

echo "== compile the UI source set (Compose desktop) with its tests"
UI_SRC=$(find android/ui/src/main/kotlin -name '*.kt')
if grep -rn '^import android\.' android/ui/src/main/kotlin; then
  echo "the UI source set must not import android.*"; exit 1
fi
"$KOTLINC" $OUT/bindings/app/fieldbook/core/*.kt $UI_SRC $HERE/src/*.kt \
  -Xplugin="$KLIB/compose-compiler-plugin.jar" -cp "$UI_CP" -d $OUT/classes -jvm-target 17 -nowarn 2>&1 \
  | { grep -v '^warning' || true; } | tee $OUT/ui-compile.log
test -f $OUT/classes/app/fieldbook/render/FieldDayUiTest.class || { echo "UI compilation failed"; exit 1; }
if grep -q 'error:' $OUT/ui-compile.log; then echo 'compilation failed'; exit 1; fi

echo "== drive the field days through the UI (real core, real server)"
java -Djava.awt.headless=true -Djna.library.path=target/debug \
  -Dfieldbook.server=target/debug/fieldbook-server -Dfieldbook.screens=build/screens \
  -cp "$OUT/classes:$UI_CP:$KLIB/kotlin-stdlib.jar" org.junit.runner.JUnitCore \
  app.fieldbook.render.LoneWorkerTest app.fieldbook.render.FieldDayUiTest app.fieldbook.render.OfficerDayUiTest app.fieldbook.render.MoreFlowsUiTest
n=$(ls build/screens/*.png | wc -l)
echo "screens written: $n in build/screens/"
test "$n" -ge 45

if [ -d android/app/src/main/java ]; then
  echo "== compile the Android-only code against android-all (API 35) and the listed stubs"
  AND_CP=$(ls "$TOOLS"/android-render/android/*.jar | grep -v '/kotlin-stdlib' | tr '\n' ':')
  mkdir -p $OUT/android-stubs $OUT/android-classes
  "$KOTLINC" android/stubs/*.kt -Xplugin="$KLIB/compose-compiler-plugin.jar" -cp "$AND_CP$UI_CP" -d $OUT/android-stubs -jvm-target 17 -nowarn 2>&1 | { grep -v '^warning' || true; } | tee $OUT/stubs-compile.log
  if grep -q 'error:' $OUT/stubs-compile.log; then echo 'compilation failed'; exit 1; fi
  "$KOTLINC" $(find android/app/src/main/java -name '*.kt') \
    -Xplugin="$KLIB/compose-compiler-plugin.jar" \
    -cp "$AND_CP$OUT/android-stubs:$OUT/classes:$UI_CP" -d $OUT/android-classes -jvm-target 17 -nowarn 2>&1 \
    | { grep -v '^warning' || true; } | tee $OUT/android-compile.log
  if grep -q 'error:' $OUT/android-compile.log; then echo 'compilation failed'; exit 1; fi
  test -f $OUT/android-classes/app/fieldbook/android/MainActivity.class || { echo "Android compilation failed"; exit 1; }
  echo "Android-only code compiled: $(find $OUT/android-classes -name '*.class' | wc -l) classes"
fi
