#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build/fuzz and runs each for a
# short while on a copy of its seed corpus. Fails if any target crashes,
# leaks, times out or breaks an invariant; the input that did it is kept in
# the printed folder and should be committed to corpus/<target>/ as repro-*.
#   TALLY_FUZZ_SECONDS=N   seconds per target (default 10; 0 skips)
#   TALLY_FUZZ_JOBS=N      targets run at once (default 1)
#   TALLY_FUZZ_KEEP=1      keep the grown corpora and logs
#   tests/fuzz/smoke.sh [target...]   only these targets (names without fuzz_)
set -euo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
secs=${TALLY_FUZZ_SECONDS:-10}
jobs=${TALLY_FUZZ_JOBS:-1}

echo
echo "== fuzz smoke (${secs}s per target)"
if [ "$secs" = 0 ]; then
  echo "  skipped (TALLY_FUZZ_SECONDS=0)"
  exit 0
fi
if ! command -v clang >/dev/null; then
  echo "  FAILED: clang is missing (deploy/deps.sh --test installs it)"
  exit 1
fi

build=$top/build/fuzz
log=$(mktemp -d /tmp/tally-fuzz-smoke.XXXXXX)
if [ "${TALLY_FUZZ_KEEP:-0}" != 1 ]; then
  trap 'rm -rf "$log"' EXIT
fi

if ! CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTALLY_FUZZ=ON \
     -DTALLY_TESTS=ON -DTALLY_WERROR=ON >"$log/configure.log" 2>&1; then
  tail -20 "$log/configure.log"
  echo "  FAILED: configure"
  exit 1
fi

# The fuzz targets the configuration knows about (some wait for daemon modules).
mapfile -t known < <(cmake --build "$build" --target help 2>/dev/null |
  sed -n 's/^\.\.\. \(fuzz_[a-z_]*\).*/\1/p' | sort)
if [ $# -gt 0 ]; then
  targets=()
  for t in "$@"; do targets+=("fuzz_$t"); done
else
  targets=("${known[@]}")
fi
if ! cmake --build "$build" -j2 --target "${targets[@]}" >"$log/build.log" 2>&1; then
  grep -E 'error|Error' "$log/build.log" | head -20
  echo "  FAILED: build"
  exit 1
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

run_one() {
  local t=$1 name=${1#fuzz_}
  local work=$log/$name
  mkdir -p "$work/corpus" "$work/artifacts"
  if [ -d "tests/fuzz/corpus/$name" ]; then
    cp -r "tests/fuzz/corpus/$name/." "$work/corpus/"
  fi
  # Replay the committed reproducers first: a fixed bug must stay fixed.
  local rc=0
  "$build/tests/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
    "$work/corpus" >"$work/log" 2>&1 || rc=$?
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  if [ $rc -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
    echo "  FAILED $t (exit $rc, ${execs:-?} execs)"
    grep -E 'ERROR|invariant broken|SUMMARY|Test unit written' "$work/log" | head -8 |
      sed 's/^/    /'
    echo "    log: $work/log  (set TALLY_FUZZ_KEEP=1 to keep it)"
    return 1
  fi
  printf '  ok %-22s %10s execs, corpus %s -> %s\n' "$t" "${execs:-?}" \
    "$(find "tests/fuzz/corpus/$name" -type f 2>/dev/null | wc -l)" \
    "$(find "$work/corpus" -type f | wc -l)"
}

status=0
pids=()
for t in "${targets[@]}"; do
  if [ "$jobs" -gt 1 ]; then
    run_one "$t" >"$log/$t.summary" 2>&1 &
    pids+=($!)
    if [ ${#pids[@]} -ge "$jobs" ]; then
      wait "${pids[0]}" || status=1
      pids=("${pids[@]:1}")
    fi
  else
    run_one "$t" || status=1
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
if [ "$jobs" -gt 1 ]; then
  cat "$log"/fuzz_*.summary
fi
if [ $status -ne 0 ]; then
  trap - EXIT
  echo "  fuzz smoke: FAILED (artifacts and logs under $log)"
fi
exit $status
