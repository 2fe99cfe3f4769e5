# bench_smoke_lib.sh: what test_bench_smoke.sh and test_bench_smoke_contests.sh
# share, sourced by both: the paths, fail/field/expect, a throwaway
# aggregator on free loopback ports and an ingest pass of bench_client.
#   smoke_init NAME            work folder /tmp/tally-NAME.XXXXXX, removed
#                              on exit with the aggregator and $bg_pid
#   smoke_aggregator ARGS...   election.py generate ARGS, its PKI, an
#                              aggregator serving it ($port, $http, $agg_pid)
#   run NAME [ARGS...]         bench_client ingest into $work/NAME.out
#   expect KEY VALUE FILE      the last "KEY VALUE" line of FILE says VALUE

SRC=${TALLY_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${TALLY_BUILD_DIR:-$SRC/build/benchtest}
CLIENT=$BUILD/tests/bench/bench_client
AGG=$BUILD/daemon/aggregator/tally-aggregator
PY=/usr/bin/python3

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

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
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
	port=$(free_port)
	http=$(free_port)
	while [ "$http" = "$port" ]; do http=$(free_port); done
	cat >"$work/agg.ini" <<INI
[aggregator]
id = smoke
election = $work/election.json
state_dir = $work/state
listen = 127.0.0.1:$port
http_listen = 127.0.0.1:$http
trusted_keys = $work/pki/aggregator/trusted
[tls]
ca = $work/pki/ca.pem
cert = $work/pki/aggregator/aggregator.pem
key = $work/pki/aggregator/aggregator.key
INI
	"$AGG" --config "$work/agg.ini" 2>"$work/agg.log" &
	agg_pid=$!
	for _ in $(seq 1 200); do
		curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$http/healthz" && return 0
		kill -0 "$agg_pid" 2>/dev/null || fail "aggregator exited"
		sleep 0.05
	done
	fail "aggregator not serving /healthz after 10 s"
}

run() { # run NAME [args]: an ingest pass into $work/NAME.out
	local name=$1
	shift
	timeout 120 "$CLIENT" ingest --election "$work/election.json" --pki "$work/pki" \
		--connect "127.0.0.1:$port" --window 16 "$@" >"$work/$name.out" ||
		fail "bench_client ingest ($name) exited $?"
}
