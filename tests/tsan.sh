#!/usr/bin/env bash
# ThreadSanitizer run: builds the daemons with -DTALLY_TSAN=ON in build/tsan
# and streams results from several nodes into the aggregator, whose
# signature checks run on libuv's thread pool (verify.c). Any TSan report in
# a daemon's stderr fails the run (tests/integration/scenario.py checks the
# logs), as does a wrong total.
#   tests/tsan.sh                 build and run the ingest scenarios
#   TALLY_SEED=N tests/tsan.sh    replay one seed
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=$top/build/tsan

echo "== ThreadSanitizer build (build/tsan)"
# The log goes inside the build folder, made first (a fresh clone has no build/).
mkdir -p "$build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTALLY_TSAN=ON -DTALLY_TESTS=ON -DTALLY_WERROR=ON \
  >"$build/configure.log" 2>&1 || { tail -20 "$build/configure.log"; exit 1; }
cmake --build "$build" -j2 --target tally-aggregator tally-node tallyctl

# halt_on_error=0: collect every race of the run, the harness fails on any.
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 history_size=4"
# Four threads in the pool: more interleavings than the default on 2 cores.
export UV_THREADPOOL_SIZE=4
export TALLY_BUILD_DIR=$build TALLY_SOURCE_DIR=$top

echo "== ingest under TSan"
/usr/bin/python3 tests/integration/test_scenario_ingest.py
# 2000 pipelined submits on one session: the pool works on many at once.
echo "== replays and a pipelined flood under TSan"
/usr/bin/python3 tests/integration/test_hostile_peers.py hostile-replays-and-floods
echo "tests/tsan.sh: ok"
