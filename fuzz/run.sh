#!/usr/bin/env bash
# Builds the libFuzzer targets (scripts/build.sh fuzz) and runs each for SECONDS, starting from
# its seed corpus under fuzz/corpus/<target>/. New inputs go to build/fuzz/corpus/<target>/ (not
# into the repository); a crash, leak, timeout or sanitizer report stops that target, leaves the
# input under build/fuzz/artifacts/<target>/ and makes the script exit 1.
# Usage: fuzz/run.sh SECONDS [TARGET...]   (default: every target; see fuzz/README.md)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "fuzz/run.sh: SECONDS must be a whole number, got '$seconds'" >&2
  exit 2
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(duration json_without cron_tz kubeconfig backup_decide restore_decide schedule_decide
           apiserver_request)
fi
for t in "${targets[@]}"; do
  if [ ! -d "fuzz/corpus/$t" ]; then
    echo "fuzz/run.sh: unknown target '$t' (no fuzz/corpus/$t)" >&2
    exit 2
  fi
done

scripts/build.sh fuzz --target "${targets[@]/%/_fuzz}" >/dev/null
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
printf '%-18s %8s %10s %8s %6s  %s\n' target seconds execs exec/s cov result
for t in "${targets[@]}"; do
  work="build/fuzz/corpus/$t" artifacts="build/fuzz/artifacts/$t/" log="build/fuzz/$t.log"
  mkdir -p "$work" "$artifacts"
  result=ok
  if ! "build/fuzz/fuzz/${t}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts" -print_final_stats=1 "$work" "fuzz/corpus/$t" \
      >"$log" 2>&1; then
    result="FAILED (see $log and $artifacts)"
    failed+=("$t")
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2 || true)
  printf '%-18s %8s %10s %8s %6s  %s\n' "$t" "$seconds" "${execs:--}" "${rate:--}" "${cov:--}" \
    "$result"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz/run.sh: findings in: ${failed[*]}" >&2
  exit 1
fi
