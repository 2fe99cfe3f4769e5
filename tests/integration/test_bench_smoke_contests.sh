#!/usr/bin/env bash
# test_bench_smoke_contests.sh: the benchmark tools on an election of
# several contests. bench_client drives a real aggregator with a generated
# general election of 6 contests over 300 precincts in 3 regions (each
# precinct votes in the party list, the national contest and one of 4
# districts of 75 precincts): exactly 900 ACCEPTED, and /v1/totals counts
# 300, 300, 75, 75, 75, 75 precincts per contest; a second pass of 90 is 90
# DUPLICATE. contests-latency is checked against the real aggregator (which
# either has the contests API or answers 404, said as "unavailable") and
# against a stand-in HTTP server whose answers' sequence it must follow
# exactly: which answers count as "during ingest", when it stops, the
# order of the paths, a 404 at the start and an error in the middle.
# Counts only, never timing.
set -euo pipefail

. "$(dirname "$0")/bench_smoke_lib.sh"
smoke_init bench-contests
smoke_aggregator --regions 3 --precincts 300 --contests 6

run first --floor-seconds 0.2
expect contests 6 "$work/first.out"
expect regions 3 "$work/first.out"
expect results 900 "$work/first.out"
expect answered 900 "$work/first.out"
expect outcome_accepted 900 "$work/first.out"
expect nacked 0 "$work/first.out"
grep -Eq '^ratio [0-9]+\.[0-9][0-9]$' "$work/first.out" || fail "no ratio line in first.out"

"$CLIENT" wait-totals --http "127.0.0.1:$http" --sequence 900 --timeout 20 >"$work/wait.out" ||
	fail "wait-totals"
expect sequence 900 "$work/wait.out"
per_contest=$(curl -s "http://127.0.0.1:$http/v1/totals" | $PY -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join("%s=%d" % (c["id"], c["national"]["precincts_reported"]) for c in d["contests"]))')
[ "$per_contest" = "party-list=300 national=300 d-0001=75 d-0002=75 d-0003=75 d-0004=75" ] ||
	fail "precincts reported per contest: $per_contest"

run again --limit 90
expect results 90 "$work/again.out"
expect outcome_duplicate 90 "$work/again.out"
expect outcome_accepted 0 "$work/again.out"

# The real aggregator: the contests API answers, or it is not there yet.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/v1/contests/party-list")
timeout 60 "$CLIENT" contests-latency --http "127.0.0.1:$http" --election "$work/election.json" \
	--sequence 900 --interval 0 >"$work/probe-real.out" || fail "contests-latency exited $?"
if [ "$code" = 404 ]; then
	expect contests_api unavailable "$work/probe-real.out"
else
	[ "$code" = 200 ] || fail "/v1/contests/party-list answered $code"
	# The store is full: the first answer already has the last sequence.
	expect contests_api available "$work/probe-real.out"
	expect contests_requests 1 "$work/probe-real.out"
	expect contests_samples 0 "$work/probe-real.out"
	expect contests_last_sequence 900 "$work/probe-real.out"
	expect reached yes "$work/probe-real.out"
fi

kill -TERM "$agg_pid"
wait "$agg_pid" || fail "aggregator exit status $? after SIGTERM"
agg_pid=

# A stand-in for the contests API. Answer n (from 1) has sequence
# max(0, n - 6): the first round of 6 is before ingest, answers 7..25 are
# during it (sequence 1..19), answer 26 reaches --sequence 20. MODE 404
# answers 404 to everything; MODE error answers 500 to request 10; MODE
# slow takes 80 ms over answers 8 and 20 (both during ingest). It
# writes every path it was asked, one a line, to PATHS.
fake() { # fake MODE PATHS: starts it on $fake_port
	fake_port=$(free_port)
	$PY - "$fake_port" "$1" "$2" <<'EOF' &
import http.server, json, sys, time
port, mode, paths = int(sys.argv[1]), sys.argv[2], sys.argv[3]
n = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global n
        if self.path == "/ready":
            self.send_response(204)
            self.end_headers()
            return
        n += 1
        with open(paths, "a") as f:
            f.write(self.path + "\n")
        status = 404 if mode == "404" else 500 if mode == "error" and n == 10 else 200
        if mode == "slow" and n in (8, 20):
            time.sleep(0.08)
        body = json.dumps({"election_id": "x", "sequence": max(0, n - 6), "contest": {}}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
	bg_pid=$!
	for _ in $(seq 1 100); do
		curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$fake_port/ready" && break
		sleep 0.05
	done
}
stop_fake() {
	kill "$bg_pid"
	wait "$bg_pid" 2>/dev/null || true
	bg_pid=
}
probe() { # probe NAME: contests-latency against the stand-in into $work/NAME.out
	local rc=0
	timeout 60 "$CLIENT" contests-latency --http "127.0.0.1:$fake_port" \
		--election "$work/election.json" --sequence 20 --interval 0 >"$work/$1.out" || rc=$?
	echo "$rc"
}

fake ok "$work/paths-ok"
rc=$(probe fake-ok)
stop_fake
[ "$rc" = 0 ] || fail "contests-latency against the stand-in exited $rc"
expect contests_api available "$work/fake-ok.out"
expect contests_requests 26 "$work/fake-ok.out"
expect contests_errors 0 "$work/fake-ok.out"
expect contests_samples 19 "$work/fake-ok.out"
expect contests_last_sequence 20 "$work/fake-ok.out"
expect reached yes "$work/fake-ok.out"
# Samples per contest: answers 7..25 in rounds of 6 in definition order.
per=$(awk '$1 == "contest" { printf "%s=%s ", $2, $4 }' "$work/fake-ok.out")
[ "$per" = "party-list=4 national=3 d-0001=3 d-0002=3 d-0003=3 d-0004=3 " ] ||
	fail "samples per contest: $per"
order=$(head -7 "$work/paths-ok" | tr '\n' ' ')
[ "$order" = "/v1/contests/party-list /v1/contests/national /v1/contests/d-0001 /v1/contests/d-0002 /v1/contests/d-0003 /v1/contests/d-0004 /v1/contests/party-list " ] ||
	fail "paths asked: $order"
[ "$(wc -l <"$work/paths-ok")" = 26 ] || fail "the stand-in got $(wc -l <"$work/paths-ok") requests"

fake 404 "$work/paths-404"
rc=$(probe fake-404)
stop_fake
[ "$rc" = 0 ] || fail "contests-latency on a 404 exited $rc"
expect contests_api unavailable "$work/fake-404.out"
grep -qx 'contests_api_status 404 /v1/contests/party-list' "$work/fake-404.out" ||
	fail "no contests_api_status line in fake-404.out"
[ "$(wc -l <"$work/paths-404")" = 1 ] || fail "asked again after a 404"

fake error "$work/paths-error"
rc=$(probe fake-error)
stop_fake
[ "$rc" = 1 ] || fail "contests-latency with an error answer exited $rc, expected 1"
expect contests_errors 1 "$work/fake-error.out"
expect contests_samples 18 "$work/fake-error.out"
expect contests_requests 26 "$work/fake-error.out"

# Answers of 50 ms or more are counted, with the hypervisor's share of them
# (a number; 0 on bare metal). Others may be slow too on a loaded machine:
# at least the two, and the slowest at least 80 ms.
fake slow "$work/paths-slow"
rc=$(probe fake-slow)
stop_fake
[ "$rc" = 0 ] || fail "contests-latency with slow answers exited $rc"
expect contests_samples 19 "$work/fake-slow.out"
slow=$(awk '$1 == "contests_slow" { print $2 }' "$work/fake-slow.out")
[[ $slow =~ ^[0-9]+$ ]] && [ "$slow" -ge 2 ] || fail "contests_slow '$slow', expected 2 or more"
awk '$1 == "contests_latency_ms_max" { exit !($2 >= 80) }' "$work/fake-slow.out" ||
	fail "slowest answer under 80 ms: $(grep contests_latency_ms_max "$work/fake-slow.out")"
grep -Eq '^contests_slow_steal_ms [0-9]+$' "$work/fake-slow.out" || fail "no contests_slow_steal_ms"
grep -Eq '^contests_slowest_steal_ms [0-9]+$' "$work/fake-slow.out" ||
	fail "no contests_slowest_steal_ms"

echo "ok: 900 accepted over 6 contests, 90 duplicate, contests-latency (api $code) and its stand-in"
