#!/usr/bin/env bash
# Soak: runs the crash scenarios (kill -9 of the aggregator, of nodes, of
# both, at random moments of a multi-node stream) round-robin with fresh
# seeds for as long as asked, then reports the counts: crash points
# survived, results checked, lost and doubled (both must be 0).
#   tests/soak.sh --minutes N [--scenario NAME ...]
#   TALLY_SEED=S       first seed (each run uses the next)
#   TALLY_CRASH_ROUNDS kills per scenario run (default 10 here)
#   TALLY_BUILD_DIR    where the daemons are (default build/rel, built here)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
minutes=10
args=()
while [ $# -gt 0 ]; do
  case "$1" in
  --minutes) minutes=${2:?--minutes needs a number}; shift 2 ;;
  --scenario) args+=(--scenario "${2:?}"); shift 2 ;;
  -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "soak.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

if [ -z "${TALLY_BUILD_DIR:-}" ]; then
  build=$top/build/rel
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DTALLY_ASAN=ON -DTALLY_UBSAN=ON \
    -DTALLY_TESTS=ON >/dev/null
  cmake --build "$build" -j2 --target tally-aggregator tally-node tallyctl >/dev/null
  export TALLY_BUILD_DIR=$build
fi
export TALLY_SOURCE_DIR=$top
export TALLY_CRASH_ROUNDS=${TALLY_CRASH_ROUNDS:-10}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec /usr/bin/python3 tests/integration/scenario.py soak --minutes "$minutes" "${args[@]}"
