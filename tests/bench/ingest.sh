#!/usr/bin/env bash
# ingest.sh [--quick]: how fast the aggregator takes results, next to the
# physical floor measured in the same run.
#
#   1. Release build in build/bench; an election (20 regions; 10,000
#      precincts with --quick, 1,000,000 otherwise) and its PKI, kept in
#      build/bench/ingest-<N>/ (a real disk, not tmpfs).
#   2. Full-speed pass on an empty store: bench_client pre-signs one result
#      per precinct, then drives the aggregator from one TLS connection per
#      region, pipelined. It measures (1) acknowledged results/s end to end
#      and (2) one core's raw Ed25519 verify rate over the same payloads
#      (before and after the ingest; the higher counts). Peak RSS (VmHWM).
#   3. Restart on the full store: seconds from exec to /v1/totals serving
#      the full sequence.
#   4. Half-rate pass on a fresh store: ack latency p50/p99 at half the
#      rate pass 1 reached (the first BENCH_HALF_RESULTS results, default
#      all up to 100,000).
#   The last line is `ratio X.XX` = (1) / (2). On a machine shared with
#   other work both figures depend on the CPU share the processes got, so
#   it also prints CPU time per result: the aggregator's (all threads,
#   /proc/PID/stat) next to one verify's (thread CPU clock), as cpu_ratio.
#
# Environment: BENCH_PRECINCTS (override the size), BENCH_WINDOW (Submits in
# flight per connection, default 128), BENCH_FLOOR_SECONDS (default 3),
# BENCH_PERF=1 (record a perf profile of the aggregator during pass 1 into
# the work folder: perf report -i build/bench/ingest-N/perf.data),
# BENCH_STORE=postgresql (the store in a PostgreSQL server started in the
# work folder, fsync on; default sqlite).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

precincts=1000000
[ "${1:-}" = "--quick" ] && precincts=10000
precincts=${BENCH_PRECINCTS:-$precincts}
regions=20
window=${BENCH_WINDOW:-128}
floor=${BENCH_FLOOR_SECONDS:-3}
timeout=$((precincts / 200 + 300))

bench_build
BENCH_DIR=$BUILD/ingest-$precincts
bench_election "$BENCH_DIR" "$regions" "$precincts"
cd "$BENCH_DIR"
rm -rf state-full state-half
trap 'agg_stop; bench_pg_stop' EXIT
bench_pg_start "$BENCH_DIR"
log=$BENCH_DIR/aggregator.log
: >"$log"

say "machine: $(machine "$BENCH_DIR")"

# ---- pass 1: full speed -------------------------------------------------
agg_config "$BENCH_DIR" "$BENCH_DIR/state-full" "$(bench_store_conf state_full)"
agg_start "$BENCH_DIR" "$log"
perf_pid=
if [ "${BENCH_PERF:-0}" = 1 ]; then
	perf record -F 199 --call-graph dwarf,16384 -p "$AGG_PID" -o "$BENCH_DIR/perf.data" \
		>/dev/null 2>&1 &
	perf_pid=$!
fi
say "pass 1: $precincts results, $regions connections, window $window, full speed"
cpu0=$(proc_cpu_s "$AGG_PID")
"$CLIENT" ingest --election election.json --pki pki --connect "127.0.0.1:$AGG_PORT" \
	--window "$window" --floor-seconds "$floor" --timeout "$timeout" >full.out ||
	die "bench_client failed in pass 1 (see full.out, $log)"
[ -n "$perf_pid" ] && kill -INT "$perf_pid" && wait "$perf_pid" || true
rss=$(peak_rss_mb "$AGG_PID")
agg_cpu=$(awk -v a="$cpu0" -v b="$(proc_cpu_s "$AGG_PID")" 'BEGIN { printf "%.2f", b - a }')
commits_full=$(metrics_summary)
seq=$(totals_field '["sequence"]')
[ "$seq" = "$precincts" ] || die "/v1/totals sequence $seq after pass 1, expected $precincts"
[ "$(field acked full.out)" = "$precincts" ] || die "pass 1 acked $(field acked full.out) of $precincts"
agg_stop

# ---- restart on the full store ------------------------------------------
agg_config "$BENCH_DIR" "$BENCH_DIR/state-full" "$(bench_store_conf state_full)"
t0=$(date +%s.%N)
"$AGG_BIN" --config "$BENCH_DIR/aggregator.ini" 2>>"$log" &
AGG_PID=$!
"$CLIENT" wait-totals --http "127.0.0.1:$AGG_HTTP" --sequence "$precincts" --timeout 300 \
	>restart.out || die "restarted aggregator did not serve totals (see $log)"
restart_s=$(awk -v a="$t0" -v b="$(field served_at restart.out)" 'BEGIN { printf "%.3f", b - a }')
rss_restart=$(peak_rss_mb "$AGG_PID")
db_mb=$(bench_store_mb state_full "$BENCH_DIR/state-full")
agg_stop

# ---- pass 2: half the maximum rate --------------------------------------
max_rate=$(field acked_per_s full.out)
half=$(awk -v r="$max_rate" 'BEGIN { printf "%.0f", r / 2 }')
agg_config "$BENCH_DIR" "$BENCH_DIR/state-half" "$(bench_store_conf state_half)"
agg_start "$BENCH_DIR" "$log"
half_n=${BENCH_HALF_RESULTS:-$((precincts < 100000 ? precincts : 100000))}
say "pass 2: $half_n results at $half/s (half of $max_rate/s)"
"$CLIENT" ingest --election election.json --pki pki --connect "127.0.0.1:$AGG_PORT" \
	--window "$window" --rate "$half" --limit "$half_n" --timeout "$timeout" >half.out ||
	die "bench_client failed in pass 2 (see half.out, $log)"
commits_half=$(metrics_summary)
agg_stop
rm -rf state-half

verify=$(field verify_per_s full.out)
ratio=$(field ratio full.out)
cat <<EOF
machine        $(machine "$BENCH_DIR")
precincts      $precincts ($regions regions, $regions TLS connections, window $window)
store          $BENCH_STORE
presign_s      $(field presign_seconds full.out)
ingest_s       $(field seconds full.out)
acked_per_s    $max_rate
verify_per_s   $verify (one core, wall clock; before $(field verify_per_s_before full.out), after $(field verify_per_s_after full.out); per CPU second $(field verify_per_cpu_s full.out))
cpu_per_result $(awk -v c="$agg_cpu" -v n="$precincts" -v v="$(field verify_per_cpu_s full.out)" -v k="$(field client_cpu_seconds full.out)" \
	'BEGIN { printf "aggregator %.1f us (%.2f CPU s in all), verify alone %.1f us: cpu_ratio %.2f; client %.1f us", c / n * 1e6, c, 1e6 / v, (1e6 / v) / (c / n * 1e6), k / n * 1e6 }')
full_p50_ms    $(field latency_ms_p50 full.out)
full_p99_ms    $(field latency_ms_p99 full.out)
full_commits   $commits_full
half_rate      $half (achieved $(field acked_per_s half.out); $(field answered half.out) results)
half_p50_ms    $(field latency_ms_p50 half.out)
half_p99_ms    $(field latency_ms_p99 half.out)
half_commits   $commits_half
election_load  $(field election_load_seconds full.out) s (tally_election_load in the client, same file)
peak_rss_mb    $rss
restart_s      $restart_s (peak RSS after restart ${rss_restart} MB; store ${db_mb} MB)
ratio $ratio
EOF
