#!/usr/bin/env bash
# The main job: installs dependencies, builds gradc, and runs it on every
# example model (check, then dump of the parsed IR round-tripped through opt).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
GRADC=${BUILD_DIR:-build}/tools/gradc
for m in examples/*.nn; do
  "$GRADC" check "$m"
  "$GRADC" dump "$m" --stage parsed > "${BUILD_DIR:-build}/$(basename "$m" .nn).ir"
  "$GRADC" opt "${BUILD_DIR:-build}/$(basename "$m" .nn).ir" | cmp - "${BUILD_DIR:-build}/$(basename "$m" .nn).ir"
  echo "main: $m checked; its parsed IR round-trips ($(grep -c ' = ' "${BUILD_DIR:-build}/$(basename "$m" .nn).ir") nodes)"
done
