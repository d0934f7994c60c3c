#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-19 (ASan + UBSan) into build-fuzz/
# and runs one of them: scripts/fuzz.sh [TARGET] [SECONDS]
#   TARGET: fuzz_model_parser (default) or fuzz_ir_parser
# New inputs go to build-fuzz/corpus-TARGET; crashes to build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
TARGET=${1:-fuzz_model_parser}
SECONDS_=${2:-60}
CC=clang-19 CXX=clang++-19 BUILD_DIR=build-fuzz BUILD_TYPE=RelWithDebInfo \
  ./scripts/build.sh -DGRADC_FUZZ=ON >/dev/null
mkdir -p "build-fuzz/corpus-$TARGET"
cd build-fuzz
"./tests/fuzz/$TARGET" -max_total_time="$SECONDS_" -max_len=4096 -timeout=5 \
  -dict=../tests/fuzz/model.dict \
  "corpus-$TARGET" "../tests/fuzz/corpus/$TARGET" 2>&1 | tail -n 5
