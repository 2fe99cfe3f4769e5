# bench_smoke_lib.sh: what test_bench_smoke.sh and test_bench_smoke_contests.sh
# share, sourced by both: the paths, fail/field/expect, a throwaway
# aggregator on free loopback ports and an ingest pass of bench_client.
#   smoke_init NAME            work folder /tmp/tally-NAME.XXXXXX, removed
#                              on exit with the aggregator and $bg_pid
#   smoke_aggregator ARGS...   election.py generate ARGS, its PKI, an
#                              aggregator serving it ($port, $http, $agg_pid;
#                              agg_config and agg_start of tests/bench/lib.sh)
#   run NAME [ARGS...]         bench_client ingest into $work/NAME.out
#   expect KEY VALUE FILE      the last "KEY VALUE" line of FILE says VALUE

SRC=${TALLY_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# The benchmarks' own helpers write and start the aggregator the same way
# (agg_config, agg_start, free_port); their binaries are this build's.
. "$SRC/tests/bench/lib.sh"
BUILD=${TALLY_BUILD_DIR:-$SRC/build/benchtest}
CLIENT=$BUILD/tests/bench/bench_client
AGG=$BUILD/daemon/aggregator/tally-aggregator
AGG_BIN=$AGG

fail() {
	echo "FAIL: $*" >&2
	[ -f "${work:-}/agg.log" ] && tail -20 "$work/agg.log" >&2
	exit 1
}
[ -x "$CLIENT" ] || fail "$CLIENT not built"
[ -x "$AGG" ] || fail "$AGG not built"

smoke_cleanup() {
	[ -n "${bg_pid:-}" ] && kill "$bg_pid" 2>/dev/null
	[ -n "${agg_pid:-}" ] && kill -KILL "$agg_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$work"
}

smoke_init() {
	work=$(mktemp -d "/tmp/tally-$1.XXXXXX")
	agg_pid=
	bg_pid=
	trap smoke_cleanup EXIT
}

field() {
	awk -v k="$1" '$1 == k { v = $2 } END { print v }' "$2"
}
expect() { # expect NAME VALUE FILE
	local got
	got=$(field "$1" "$3")
	[ "$got" = "$2" ] || fail "$3: $1 is '$got', expected '$2'"
}

smoke_aggregator() {
	$PY "$SRC/deploy/election.py" generate "$@" --out "$work/election.json" >/dev/null
	bash "$SRC/deploy/pki.sh" --election "$work/election.json" --out "$work/pki" \
		>"$work/pki.log" 2>&1 || fail "pki.sh"
	agg_config "$work" "$work/state"
	agg_start "$work" "$work/agg.log"
	agg_pid=$AGG_PID port=$AGG_PORT http=$AGG_HTTP
}

run() { # run NAME [args]: an ingest pass into $work/NAME.out
	local name=$1
	shift
	timeout 120 "$CLIENT" ingest --election "$work/election.json" --pki "$work/pki" \
		--connect "127.0.0.1:$port" --window 16 "$@" >"$work/$name.out" ||
		fail "bench_client ingest ($name) exited $?"
}
