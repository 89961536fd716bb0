#!/usr/bin/env bash
# Runs N seeds of the chaos suite (tests/chaos, docs/testing.md#chaos) and writes the summary to
# bench/results/chaos/<backend>[-long]-seeds-<first>-<last>.json: runs, faults by kind,
# violations (each with its seed), longest pause against its bound, and every run's figures.
# bench/chaos_totals.py sums every such file per backend.
# Usage: bench/chaos.sh N [--kube] [--long] [--budget MS] [--first SEED]
#   --kube   real kube-apiservers (brfed-kube-testenv) instead of brfed-apiserver
#   --long   the issue's partitions: data planes frozen 5-60 s (default here: 1-3 s, as CI)
#   --budget the manager's --gc-pause-budget in ms (default: the manager's 5 m, which no run
#            reaches), so that backups fail with PauseBudgetExceeded under the faults
#   --first  the first seed (default 1000, away from CI's 1..10)
# Uses the test build build/asan, and builds chaos_test there first. BRFED_CHAOS_BUILD_DIR=DIR
# uses a build made beforehand instead and never rebuilds it, so that batches can run while the
# sources change (binaries rebuilt under a run fail its setup); DIR/brfed-commit, when present,
# names the commit it was built from, and the JSON records it as "commit". Other BRFED_CHAOS_*
# variables (tests/chaos/chaos_test.cc) pass through, e.g. BRFED_CHAOS_EMPTY_RESTART=0 (no empty restarts).
# Exit 1 when a run found a violation.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
usage() { echo "usage: bench/chaos.sh N [--kube] [--long] [--budget MS] [--first SEED]" >&2; exit 2; }
[ $# -ge 1 ] || usage
n="$1"; shift
[[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] || usage
backend=brfed-apiserver
first=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --kube) backend=kube ;;
    --long) export BRFED_CHAOS_FREEZE_MS="${BRFED_CHAOS_FREEZE_MS:-5000-60000}"
            export BRFED_CHAOS_RUN_MS="${BRFED_CHAOS_RUN_MS:-60000}" ;;
    --budget) shift; [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]] || usage
              export BRFED_CHAOS_GC_PAUSE_BUDGET_MS="$1" ;;
    --first) shift; [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]] || usage; first="$1" ;;
    *) usage ;;
  esac
  shift
done
if [ -n "${BRFED_CHAOS_BUILD_DIR:-}" ]; then
  build="$BRFED_CHAOS_BUILD_DIR"
  [ -x "$build/tests/chaos/chaos_test" ] || { echo "bench/chaos.sh: no $build/tests/chaos/chaos_test" >&2; exit 2; }
  commit="$(cat "$build/brfed-commit" 2>/dev/null || echo unknown)"
else
  build="$root/build/asan"
  BRFED_JOBS="${BRFED_JOBS:-2}" nice -n 10 "$root/scripts/build.sh" asan --target chaos_test >&2
  commit="$(git -C "$root" rev-parse HEAD)"
  git -C "$root" diff --quiet HEAD || commit="$commit+dirty"
fi
out="$root/bench/results/chaos"
mkdir -p "$out"
suffix=""
[ -n "${BRFED_CHAOS_FREEZE_MS:-}" ] && suffix="-long"
[ -n "${BRFED_CHAOS_GC_PAUSE_BUDGET_MS:-}" ] && suffix="$suffix-budget"
json="$out/$backend$suffix-seeds-$first-$((first + n - 1)).json"
start=$SECONDS
status=0
BRFED_TEST_APISERVER="$backend" BRFED_CHAOS_SEEDS="$n" BRFED_CHAOS_FIRST_SEED="$first" \
  BRFED_CHAOS_JSON="$json" "$build/tests/chaos/chaos_test" || status=$?
echo "bench/chaos.sh: $n seeds on $backend in $((SECONDS - start)) s -> $json" >&2
python3 - "$json" "$commit" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["commit"] = sys.argv[2]
with open(sys.argv[1], "w") as f:
    json.dump(d, f, indent=2)
    f.write("\n")
print(f"commit {d['commit']}")
print(f"runs {d['runs']}, violations {len(d['violations'])}, longest pause "
      f"{d['longestPauseSeconds']:.1f} s (bound {d['pauseBoundSeconds']:.1f} s)")
print("faults: " + ", ".join(f"{k} {v}" for k, v in sorted(d["faultsByKind"].items())))
for v in d["violations"]:
    print(f"  seed {v['seed']}: {v['violation'][:300]}")
PY
exit $status
