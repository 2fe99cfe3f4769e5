#!/usr/bin/env bash
# test_bench_smoke.sh: the benchmark tools must not rot. bench_client drives
# a real aggregator (throwaway election and PKI, free ports, temp dir) with
# 300 pre-signed results over 3 TLS connections and must see exactly 300
# ACCEPTED; /v1/totals must then count exactly 300 precincts; a second pass
# of the same results must come back as exactly 300 DUPLICATE, and a paced
# pass of revision-2 results as 300 ACCEPTED corrections. wait-totals and
# watch are exercised too. Counts only, never timing.
set -euo pipefail

. "$(dirname "$0")/bench_smoke_lib.sh"
smoke_init bench-smoke
smoke_aggregator --regions 3 --precincts 300

# Watchers attached for the whole run; each must get a stream.
"$CLIENT" watch --http "127.0.0.1:$http" --watchers 5 --timeout 20 >"$work/watch.out" &
bg_pid=$!
for _ in $(seq 1 200); do
	grep -q '^watching' "$work/watch.out" && break
	sleep 0.05
done
expect watching 5 "$work/watch.out"

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

kill -TERM "$bg_pid"
wait "$bg_pid" || fail "watch exited non-zero"
bg_pid=
expect streaming 5 "$work/watch.out"
awk '$1 == "min_events_per_watcher" && $2 >= 1 { ok = 1 } END { exit !ok }' "$work/watch.out" ||
	fail "a watcher saw no totals event"

kill -TERM "$agg_pid"
wait "$agg_pid" || fail "aggregator exit status $? after SIGTERM"
agg_pid=
echo "ok: 300 accepted, 300 duplicate, 300 corrections, 5 watchers"
