#!/usr/bin/env bash
# publish.sh: publication under load, as ratios from one run.
#
#   1. /v1/totals requests/s with wrk (127.0.0.1) while an ingest runs, and
#      the same on the idle aggregator afterwards.
#   2. Ingest's slowdown with 500 Server-Sent Events watchers attached to
#      /v1/events: acknowledged results/s without watchers, with 500, and
#      without again, alternating (the means are compared; the spread of the
#      unwatched passes shows the machine's noise). Each pass starts on a
#      fresh store.
#
# Environment: BENCH_PRECINCTS (default 50000, 20 regions), BENCH_ROUNDS
# (watched passes, default 2, each between two unwatched), BENCH_WATCHERS
# (500), BENCH_WRK_THREADS (2), BENCH_WRK_CONNECTIONS (64), BENCH_WRK_SECONDS
# (5), BENCH_WINDOW (128).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

precincts=${BENCH_PRECINCTS:-50000}
rounds=${BENCH_ROUNDS:-2}
regions=20
watchers=${BENCH_WATCHERS:-500}
wrk_t=${BENCH_WRK_THREADS:-2}
wrk_c=${BENCH_WRK_CONNECTIONS:-64}
wrk_d=${BENCH_WRK_SECONDS:-5}
window=${BENCH_WINDOW:-128}
timeout=$((precincts / 100 + 300))
command -v wrk >/dev/null || die "wrk is not installed (Debian package wrk)"

bench_build
BENCH_DIR=$BUILD/publish-$precincts
bench_election "$BENCH_DIR" "$regions" "$precincts"
cd "$BENCH_DIR"
log=$BENCH_DIR/aggregator.log
: >"$log"
watch_pid=
cleanup() {
	[ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null
	agg_stop
	rm -rf "$BENCH_DIR"/state-*
}
trap cleanup EXIT
say "machine: $(machine "$BENCH_DIR")"
http_conf="[http]
max_connections = $((watchers + wrk_c + 64))"

# ingest NAME: one pass on a fresh store into NAME.out
ingest() {
	"$CLIENT" ingest --election election.json --pki pki --connect "127.0.0.1:$AGG_PORT" \
		--window "$window" --timeout "$timeout" >"$1.out" ||
		die "bench_client failed in pass $1 (see $1.out, $log)"
	[ "$(field acked "$1.out")" = "$precincts" ] || die "pass $1 acked $(field acked "$1.out") of $precincts"
}

fresh() {
	agg_stop
	rm -rf "$BENCH_DIR/state-$1"
	agg_config "$BENCH_DIR" "$BENCH_DIR/state-$1" "$http_conf"
	agg_start "$BENCH_DIR" "$log"
}

# wrk_rate FILE: requests/s from wrk's output
wrk_rate() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }

# ---- /v1/totals under ingest ----------------------------------------------
fresh wrk
say "wrk -t$wrk_t -c$wrk_c -d${wrk_d}s on /v1/totals while $precincts results arrive"
ingest wrk_ingest &
ingest_pid=$!
# wrk starts once the results are signed and the connections are up.
for _ in $(seq 1 1200); do
	grep -q '^presign_seconds' wrk_ingest.out 2>/dev/null && break
	sleep 0.05
done
sleep 0.5
wrk -t"$wrk_t" -c"$wrk_c" -d"${wrk_d}s" "http://127.0.0.1:$AGG_HTTP/v1/totals" >wrk_busy.out 2>&1
ingest_running=yes
kill -0 "$ingest_pid" 2>/dev/null || ingest_running="no (ingest ended before wrk did: raise BENCH_PRECINCTS)"
wait "$ingest_pid" || die "ingest under wrk failed"
say "wrk on the idle aggregator"
wrk -t"$wrk_t" -c"$wrk_c" -d"${wrk_d}s" "http://127.0.0.1:$AGG_HTTP/v1/totals" >wrk_idle.out 2>&1
busy=$(wrk_rate wrk_busy.out)
idle=$(wrk_rate wrk_idle.out)
[ -n "$busy" ] && [ -n "$idle" ] || die "wrk printed no rate (see wrk_busy.out, wrk_idle.out)"
non2xx_busy=$(awk '/Non-2xx/ { print $NF }' wrk_busy.out)

# ---- watchers ---------------------------------------------------------------
# Passes alternate (none, watched, none, watched, ..., none) so a change in
# the machine's load shows as spread rather than as a slowdown.
watch_pass() {
	fresh "$1"
	say "ingest with $watchers watchers on /v1/events ($1)"
	"$CLIENT" watch --http "127.0.0.1:$AGG_HTTP" --watchers "$watchers" --timeout 60 >"$1.watch" &
	watch_pid=$!
	for _ in $(seq 1 1200); do
		grep -q '^watching' "$1.watch" 2>/dev/null && break
		kill -0 "$watch_pid" 2>/dev/null || die "watchers failed (see $1.watch)"
		sleep 0.05
	done
	[ "$(field watching "$1.watch")" = "$watchers" ] ||
		die "only $(field watching "$1.watch") of $watchers watchers got a stream"
	ingest "$1"
	sleep 1 # the last coalesced event
	kill -TERM "$watch_pid"
	wait "$watch_pid" || die "a watcher lost its stream (see $1.watch)"
	watch_pid=
}
base_pass() {
	fresh "$1"
	say "ingest without watchers ($1)"
	ingest "$1"
}
bases=() watched=()
for r in $(seq 1 "$rounds"); do
	base_pass "base$r"
	bases+=("$(field acked_per_s "base$r.out")")
	watch_pass "watch$r"
	watched+=("$(field acked_per_s "watch$r.out")")
done
base_pass "base$((rounds + 1))"
bases+=("$(field acked_per_s "base$((rounds + 1)).out")")
agg_stop

mean() { printf '%s\n' "$@" | awk '{ s += $1 } END { printf "%.1f", s / NR }'; }
base=$(mean "${bases[@]}")
w=$(mean "${watched[@]}")
cat <<EOF
machine            $(machine "$BENCH_DIR")
precincts          $precincts ($regions connections, window $window)
totals_rps_ingest  $busy (wrk -t$wrk_t -c$wrk_c -d${wrk_d}s; ingest running throughout: $ingest_running; non-2xx ${non2xx_busy:-0})
totals_rps_idle    $idle
ingest_during_wrk  $(field acked_per_s wrk_ingest.out) results/s
ingest_no_watchers ${bases[*]} (mean $base) results/s
ingest_watchers    ${watched[*]} (mean $w) results/s ($watchers watchers; last pass: $(field events "watch$rounds.watch") events delivered, at least $(field min_events_per_watcher "watch$rounds.watch") each)
watchers_ratio     $(awk -v w="$w" -v b="$base" 'BEGIN { printf "%.2f", w / b }') (slowdown $(awk -v w="$w" -v b="$base" 'BEGIN { printf "%.1f", (1 - w / b) * 100 }') %)
totals_busy_ratio  $(awk -v a="$busy" -v b="$idle" 'BEGIN { printf "%.2f", a / b }') (requests/s during ingest / idle)
EOF
