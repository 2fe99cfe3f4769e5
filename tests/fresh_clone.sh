#!/usr/bin/env bash
# fresh_clone.sh: the project as a user's fresh clone has it. Copies the
# tracked files (as they are in the working tree, uncommitted edits
# included; untracked files are not copied, as a clone would not have them)
# into an empty temporary folder, so there is no build/ inside and nothing
# beside it (no sibling folder such as shared/), and from there runs what
# reads files outside the test build:
#   1. a scan: no tracked script, test or source names the sibling shared/
#      folder or /work/;
#   2. the NIST export checks of test_publish.py (the schema must be in the
#      tree), against the test build's daemons;
#   3. tests/bench/ingest.sh --quick, node.sh and publish.sh at a few hundred
#      precincts: their own Release build into build/bench, election, PKI,
#      every pass; figures are not checked, only that each runs to its last
#      line;
#   4. deploy/demo.sh --exit-when-done with its own build (deps check,
#      build/demo, PKI, election, 20 nodes, exact final totals);
#   5. `cmake --install` of that build into a prefix, and the installed
#      election.py and pki.sh run from there.
# 35 s on an idle 2-core machine, 100 s on a busy one. Every step runs even if one fails.
#   tests/fresh_clone.sh                 against build/test
#   TALLY_BUILD_DIR=DIR tests/fresh_clone.sh
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=${TALLY_BUILD_DIR:-$top/build/test}
py=/usr/bin/python3

echo "== fresh clone (a copy of the tracked tree, nothing beside it)"
if [ ! -x "$build/daemon/aggregator/tally-aggregator" ]; then
	echo "  FAILED: $build/daemon/aggregator/tally-aggregator is not built (tests/run.sh builds it)"
	exit 1
fi
tmp=$(mktemp -d /tmp/tally-fresh.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
copy=$tmp/tally
mkdir "$copy"
status=0
fail() {
	echo "  FAILED: $*"
	status=1
}
# step NAME LOG REGEX CMD...: runs CMD with its output in LOG; it must exit 0
# and its last line match REGEX ('' takes any). Prints LOG's tail if not.
step() {
	local name=$1 log=$2 re=$3 t0=$SECONDS rc=0
	shift 3
	"$@" >"$log" 2>&1 || rc=$?
	if [ $rc -eq 0 ] && { [ -z "$re" ] || tail -1 "$log" | grep -Eq "$re"; }; then
		echo "  ok: $name ($((SECONDS - t0)) s)"
	else
		[ $rc -eq 0 ] && echo "(the last line does not match '$re')" >>"$log"
		fail "$name (exit $rc); the end of its output:"
		tail -15 "$log" | sed 's/^/    | /'
	fi
}

if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# Deleted but still tracked files are skipped (--ignore-failed-read).
	git -C "$top" ls-files -z |
		tar -C "$top" --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$copy" -xf -
	untracked=$(git -C "$top" ls-files --others --exclude-standard | head -20)
	if [ -n "$untracked" ]; then
		echo "  not copied (untracked; git add what the project needs):"
		echo "$untracked" | sed 's/^/    /'
	fi
else
	tar -C "$top" --exclude=./build --exclude=./demo-state -cf - . | tar -C "$copy" -xf -
	echo "  not a git checkout: copied the folder without build/ and demo-state/"
fi
echo "  copy in $copy: $(find "$copy" -type f | wc -l) files"

# 1. Nothing outside the tree is named. Markdown is prose and the vendored
# schema is not ours; everything else (scripts, tests, CMake, C) is scanned.
hits=$(cd "$copy" && grep -rnIE --exclude='*.md' --exclude=fresh_clone.sh --exclude='NIST_*.json' \
	-e '\.\./shared' -e "[\"']\.\.[\"'] *, *[\"']shared[\"']" -e '/work/' . || true)
if [ -z "$hits" ]; then
	echo "  ok: no file names the sibling shared/ folder or /work/"
else
	fail "files name paths outside the tree:"
	echo "$hits" | head -20 | sed 's/^/    /'
fi

# 2. The NIST export against the schema in the tree.
step "test_publish.py export (NIST schema from the tree)" "$tmp/publish-export.log" '^all checks passed$' \
	env TALLY_SOURCE_DIR="$copy" TALLY_BUILD_DIR="$build" "$py" "$copy/tests/integration/test_publish.py" export

# 3. The benchmarks at a tiny size, each to its last line (stderr's progress
# lines come before it).
step "tests/bench/ingest.sh --quick (200 precincts, its own build)" "$tmp/ingest.log" \
	'^ratio [0-9]+\.[0-9][0-9]$' \
	env -C "$copy" BENCH_PRECINCTS=200 BENCH_FLOOR_SECONDS=0.2 ./tests/bench/ingest.sh --quick
step "tests/bench/node.sh (backlog of 200)" "$tmp/node.log" '^drain_s +[0-9.]+$' \
	env -C "$copy" BENCH_BACKLOG=200 ./tests/bench/node.sh
step "tests/bench/publish.sh (200 precincts, 5 watchers)" "$tmp/publish.log" '^totals_busy_ratio ' \
	env -C "$copy" BENCH_PRECINCTS=200 BENCH_ROUNDS=1 BENCH_WATCHERS=5 BENCH_WRK_SECONDS=1 \
	BENCH_WRK_CONNECTIONS=4 ./tests/bench/publish.sh

# 4. The demo, building for itself.
step "deploy/demo.sh --exit-when-done (its own build)" "$tmp/demo.log" '' \
	"$copy/deploy/demo.sh" --exit-when-done --seconds 2 --port 0

# 5. The installed files, away from the tree.
inst=$tmp/inst
install_and_run() {
	cmake --install "$copy/build/demo" --prefix "$inst" &&
		[ -x "$inst/sbin/tally-aggregator" ] && [ -x "$inst/sbin/tally-node" ] &&
		[ -x "$inst/bin/tallyctl" ] &&
		"$py" "$inst/share/tally/election.py" generate --regions 2 --precincts 10 \
			--out "$tmp/inst-election.json" &&
		bash "$inst/share/tally/pki.sh" --election "$tmp/inst-election.json" --out "$tmp/inst-pki" &&
		[ -s "$tmp/inst-pki/aggregator/aggregator.pem" ] && [ -s "$tmp/inst-pki/regions/KZ-10/sign.key" ]
}
step "cmake --install, then the installed election.py and pki.sh" "$tmp/install.log" '' install_and_run

if [ $status -ne 0 ]; then
	echo "tests/fresh_clone.sh: FAILED"
fi
exit $status
