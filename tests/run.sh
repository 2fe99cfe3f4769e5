#!/usr/bin/env bash
# The test command: installs what is missing, builds with warnings as errors
# under ASan+UBSan, and runs every test through ctest (unit tests with
# Criterion, integration tests with the real daemons on loopback), then the
# fuzz targets for a short smoke run, a ThreadSanitizer run of the
# aggregator's thread pool, the fresh-clone check (tests/fresh_clone.sh:
# the scripts and the tests that read files, run from a copy of the tracked
# tree with nothing beside it) and the style check.
#   TALLY_FUZZ_SECONDS=N   seconds per fuzz target (default 10; 0 skips)
#   TALLY_TEST_JOBS=N      tests ctest runs at once (default 3)
#   TALLY_TSAN=0           skip the ThreadSanitizer run
#   TALLY_FRESH=0          skip the fresh-clone check
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

./deploy/deps.sh --test

build=$top/build/test
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DTALLY_WERROR=ON \
  -DTALLY_ASAN=ON -DTALLY_UBSAN=ON -DTALLY_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
jobs=${TALLY_TEST_JOBS:-3}
set +e
(cd "$build" && ctest --output-on-failure -j"$jobs" --timeout 600) 2>&1 | tee "$build/ctest.out"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
set -e

echo
echo "== Criterion synthesis, per suite"
grep -h -E '^\[=+\] Synthesis:' "$build/Testing/Temporary/LastTest.log" | sed 's/^/  /' || true

if [ -x tests/fuzz/smoke.sh ]; then
  ./tests/fuzz/smoke.sh || status=$?
fi

# The aggregator's signature checks run on libuv's thread pool: a
# ThreadSanitizer build streams results through it (TALLY_TSAN=0 skips).
if [ "${TALLY_TSAN:-1}" != 0 ]; then
  echo
  ./tests/tsan.sh || status=1
fi

# A user's clone has no build/ and nothing beside it: the
# benchmarks, the demo and the tests that read files must work from there.
if [ "${TALLY_FRESH:-1}" != 0 ]; then
  echo
  TALLY_BUILD_DIR=$build ./tests/fresh_clone.sh || status=1
fi

echo
echo "== clang-format"
if git ls-files '*.c' '*.h' | xargs -r clang-format --dry-run -Werror 2>/tmp/tally-format.log; then
  echo "  clean"
else
  grep -m 20 'warning' /tmp/tally-format.log || true
  status=1
fi

echo
echo "== ctest summary"
grep -E '^[0-9]+% tests passed|^Total Test time' "$build/ctest.out" || echo "ctest printed no summary"
if [ $status -ne 0 ]; then
  echo "tests/run.sh: FAILED"
fi
exit $status
