#!/usr/bin/env bash
# Configures (once) and builds one flavour incrementally: `release` (demo, benchmarks) or
# `asan` (tests under AddressSanitizer + UndefinedBehaviorSanitizer) or `fuzz` (clang, libFuzzer +
# ASan + UBSan; only the fuzz targets and the libraries they need). Uses ccache when present.
# Usage: scripts/build.sh release|asan|fuzz [cmake --build args...]
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
shift || true
case "$flavour" in
  release) args=(-DCMAKE_BUILD_TYPE=Release -DBRFED_SANITIZE=OFF) ;;
  asan) args=(-DCMAKE_BUILD_TYPE=Debug -DBRFED_SANITIZE=ON -DBRFED_BUILD_BENCH=OFF) ;;
  fuzz) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DBRFED_FUZZ=ON -DBRFED_BUILD_TESTS=OFF
              -DBRFED_BUILD_BENCH=OFF -DCMAKE_CXX_COMPILER=clang++)
        [ $# -eq 0 ] && set -- --target brfed_fuzz_all ;;
  *) echo "build.sh: unknown flavour '$flavour' (want release, asan or fuzz)" >&2; exit 2 ;;
esac
dir="build/$flavour"
# Let ccache share results between checkouts in different folders (a CI clone, a worktree):
# paths under the source tree are hashed relative to it.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S . -B "$dir" "${args[@]}" >/dev/null
fi
jobs=${BRFED_JOBS:-$(nproc 2>/dev/null || echo 2)}
cmake --build "$dir" -j"$jobs" "$@"
