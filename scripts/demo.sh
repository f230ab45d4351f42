#!/usr/bin/env bash
# The main job: a demonstration of Fieldbook's core on the embedded default.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release -q -p fieldbook-core --bin fieldbook-demo
