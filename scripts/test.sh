#!/usr/bin/env bash
# README's second command: installs what is missing, builds the tests with ASan + UBSan, checks
# formatting, runs the whole suite with CTest, then runs every fuzz target for 30 s.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh asan
cmake --build build/asan --target format-check >/dev/null
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
(cd build/asan && ctest --output-on-failure -j"${BRFED_TEST_JOBS:-2}" "$@")
# The libFuzzer targets, each for BRFED_FUZZ_SECONDS (0 skips them); see fuzz/README.md.
if [ "${BRFED_FUZZ_SECONDS:-30}" != 0 ]; then
  fuzz/run.sh "${BRFED_FUZZ_SECONDS:-30}"
fi
