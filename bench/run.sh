#!/usr/bin/env bash
# Builds the Release flavour and runs every benchmark (bench/README.md): writes
# bench/results/<name>.json and bench/results/summary.md, prints the summary, validates the files.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BRFED_BENCH_BUILD_DIR:-$root/build/release}"
out="${BRFED_BENCH_OUT:-$root/bench/results}"

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DBRFED_SANITIZE=OFF \
  -DBRFED_BUILD_TESTS=ON -DBRFED_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target fed_bench micro_bench >&2

commit="$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit-dirty"
fi
mkdir -p "$out"
start=$SECONDS

echo "== micro-benchmarks" >&2
raw="$(mktemp)"
trap 'rm -f "$raw"' EXIT
"$build/bench/micro_bench" --benchmark_min_time=0.2 --benchmark_format=console \
  --benchmark_out="$raw" --benchmark_out_format=json >&2
python3 "$root/bench/report.py" wrap-micro "$raw" "$out/micro_bench.json" \
  --commit "$commit" --build-type Release

echo "== end-to-end scenarios" >&2
"$build/bench/fed_bench" --out "$out" --commit "$commit" "$@"

python3 "$root/bench/report.py" summary "$out" | tee "$out/summary.md"
python3 "$root/bench/report.py" validate "$out"
echo "bench/run.sh: done in $((SECONDS - start)) s (after the build)" >&2
