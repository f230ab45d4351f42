#!/usr/bin/env bash
# Builds the host library and server, generates the Kotlin bindings in
# library mode, compiles them with the Kotlin test suite and runs it on the
# JVM. Installs the Kotlin compiler (npm), JNA and JUnit 4 (Debian) if absent.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TOOLS=$ROOT/.tools
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if [ ! -f /usr/share/java/jna.jar ] || [ ! -f /usr/share/java/junit4.jar ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjna-java junit4 default-jdk-headless >/dev/null
fi
if [ ! -x "$TOOLS/package/bin/kotlinc" ]; then
  mkdir -p "$TOOLS"
  (cd "$TOOLS" && npm pack kotlin-compiler@2.4.20 >/dev/null && tar xzf kotlin-compiler-2.4.20.tgz)
fi
KLIB=$TOOLS/package/lib
CP=/usr/share/java/jna.jar:$KLIB/kotlinx-coroutines-core-jvm.jar:/usr/share/java/junit4.jar:/usr/share/java/hamcrest.jar:$KLIB/kotlin-test.jar:$KLIB/kotlin-test-junit.jar

# One cargo invocation so uniffi's features unify (no rebuilds).
cargo build -p fieldbook-ffi -p fieldbook-server --bins --lib
rm -rf build/kotlin build/kt
target/debug/uniffi-bindgen generate target/debug/libfieldbook_ffi.so --language kotlin --out-dir build/kotlin --no-format
"$TOOLS/package/bin/kotlinc" build/kotlin/app/fieldbook/core/*.kt tests/kotlin/*.kt -cp "$CP" -d build/kt -jvm-target 17 -nowarn 2>&1 | grep -v "^warning" || true
test -d build/kt/app/fieldbook/tests || { echo "kotlin compilation failed"; exit 1; }
java -Djna.library.path=target/debug -Dfieldbook.server=target/debug/fieldbook-server \
  -cp "build/kt:$CP:$KLIB/kotlin-stdlib.jar" org.junit.runner.JUnitCore app.fieldbook.tests.FieldDayTest app.fieldbook.tests.SafetyLaneTest
