#!/usr/bin/env bash
# The test command: installs dependencies, builds, and runs every test
# (gtest unit tests, lit/FileCheck golden tests) through ctest; then builds
# again with clang-19 under AddressSanitizer + UBSan with the libFuzzer
# targets, and runs every test again there, fuzz corpora included.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
CC=clang-19 CXX=clang++-19 BUILD_DIR=build-asan ./scripts/build.sh -DGRADC_FUZZ=ON
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j2
ctest --test-dir build --output-on-failure -j2
