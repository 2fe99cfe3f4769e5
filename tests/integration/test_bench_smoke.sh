#!/usr/bin/env bash
# test_bench_smoke.sh: the benchmark tools must not rot. bench_client drives
# a real aggregator (throwaway election and PKI, free ports, temp dir) with
# 300 pre-signed results over 3 TLS connections and must see exactly 300
# ACCEPTED; /v1/totals must then count exactly 300 precincts; a second pass
# of the same results must come back as exactly 300 DUPLICATE, and a paced
# pass of revision-2 results as 300 ACCEPTED corrections. wait-totals and
# watch are exercised too. Counts only, never timing.
set -euo pipefail

SRC=${TALLY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
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

work=$(mktemp -d /tmp/tally-bench-smoke.XXXXXX)
agg_pid=
watch_pid=
cleanup() {
	[ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null
	[ -n "$agg_pid" ] && kill -KILL "$agg_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

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

$PY "$SRC/deploy/election.py" generate --regions 3 --precincts 300 --out "$work/election.json" >/dev/null
bash "$SRC/deploy/pki.sh" --election "$work/election.json" --out "$work/pki" >"$work/pki.log" 2>&1 ||
	fail "pki.sh"
port=$(free_port)
http=$(free_port)
while [ "$http" = "$port" ]; do http=$(free_port); done
cat >"$work/agg.ini" <<EOF
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
EOF
"$AGG" --config "$work/agg.ini" 2>"$work/agg.log" &
agg_pid=$!
for _ in $(seq 1 200); do
	curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$http/healthz" && break
	kill -0 "$agg_pid" 2>/dev/null || fail "aggregator exited"
	sleep 0.05
done

# Watchers attached for the whole run; each must get a stream.
"$CLIENT" watch --http "127.0.0.1:$http" --watchers 5 --timeout 20 >"$work/watch.out" &
watch_pid=$!
for _ in $(seq 1 200); do
	grep -q '^watching' "$work/watch.out" && break
	sleep 0.05
done
expect watching 5 "$work/watch.out"

run() { # run NAME [args]: an ingest pass into $work/NAME.out
	local name=$1
	shift
	timeout 120 "$CLIENT" ingest --election "$work/election.json" --pki "$work/pki" \
		--connect "127.0.0.1:$port" --window 16 "$@" >"$work/$name.out" ||
		fail "bench_client ingest ($name) exited $?"
}

run first --floor-seconds 0.2
expect regions 3 "$work/first.out"
expect connections 3 "$work/first.out"
expect results 300 "$work/first.out"
expect answered 300 "$work/first.out"
expect outcome_accepted 300 "$work/first.out"
expect outcome_duplicate 0 "$work/first.out"
expect nacked 0 "$work/first.out"
grep -Eq '^ratio [0-9]+\.[0-9][0-9]$' "$work/first.out" || fail "no ratio line in first.out"

"$CLIENT" wait-totals --http "127.0.0.1:$http" --sequence 300 --timeout 20 >"$work/wait.out" ||
	fail "wait-totals"
expect sequence 300 "$work/wait.out"
reported=$(curl -s "http://127.0.0.1:$http/v1/totals" |
	$PY -c 'import json,sys; print(json.load(sys.stdin)["national"]["precincts_reported"])')
[ "$reported" = 300 ] || fail "precincts_reported $reported, expected 300"

run again
expect outcome_duplicate 300 "$work/again.out"
expect outcome_accepted 0 "$work/again.out"

run limited --limit 30 --client-threads 2 --latency-log "$work/latency.log"
expect results 30 "$work/limited.out"
expect outcome_duplicate 30 "$work/limited.out"
# One line per answer: region, send time and latency in ms.
lines=$(awk 'NF == 3 && $2 >= 0 && $3 > 0 { n++ } END { print n + 0 }' "$work/latency.log")
[ "$lines" = 30 ] || fail "latency log has $lines well-formed lines, expected 30"

run corrected --revision 2 --rate 2000
expect outcome_accepted 300 "$work/corrected.out"
expect nacked 0 "$work/corrected.out"
"$CLIENT" wait-totals --http "127.0.0.1:$http" --sequence 600 --timeout 20 >"$work/wait2.out" ||
	fail "wait-totals after corrections"
expect sequence 600 "$work/wait2.out"

# A verify-only run reports a positive rate.
"$CLIENT" verify --election "$work/election.json" --pki "$work/pki" --seconds 0.2 >"$work/verify.out"
awk '$1 == "verify_per_s" && $2 > 0 { ok = 1 } END { exit !ok }' "$work/verify.out" ||
	fail "verify_per_s missing or zero"

kill -TERM "$watch_pid"
wait "$watch_pid" || fail "watch exited non-zero"
watch_pid=
expect streaming 5 "$work/watch.out"
awk '$1 == "min_events_per_watcher" && $2 >= 1 { ok = 1 } END { exit !ok }' "$work/watch.out" ||
	fail "a watcher saw no totals event"

kill -TERM "$agg_pid"
wait "$agg_pid" || fail "aggregator exit status $? after SIGTERM"
agg_pid=
echo "ok: 300 accepted, 300 duplicate, 300 corrections, 5 watchers"
