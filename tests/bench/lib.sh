# lib.sh: what the benchmark scripts share (sourced, not run): the Release
# build, a throwaway election and PKI on the real disk under build/bench,
# free ports, starting and stopping the aggregator with bounded waits, and
# reading its peak memory.
#
# Variables a script may set before calling these: BENCH_DIR (its work
# folder), READ_PID (a contests reader to stop). Set by them: AGG_PID,
# AGG_PORT, AGG_HTTP.

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${TALLY_BENCH_BUILD:-$SRC/build/bench}
CLIENT=$BUILD/tests/bench/bench_client
AGG_BIN=$BUILD/daemon/aggregator/tally-aggregator
NODE_BIN=$BUILD/daemon/node/tally-node
TALLYCTL=$BUILD/daemon/cli/tallyctl
PY=/usr/bin/python3

say() { echo "# $*" >&2; }
die() {
	echo "$(basename "$0"): $*" >&2
	exit 1
}

# The build log lives inside the build folder, made first: on a fresh clone
# there is no build/ yet.
bench_build() {
	local log=$BUILD/bench-build.log
	say "building Release in $BUILD"
	mkdir -p "$BUILD" || die "cannot create $BUILD"
	cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DTALLY_TESTS=ON >"$log" 2>&1 ||
		die "cmake configure failed, see $log"
	cmake --build "$BUILD" -j2 --target tally-aggregator tally-node tallyctl bench_client \
		>>"$log" 2>&1 || die "build failed, see $log"
}

free_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_election DIR REGIONS PRECINCTS [CONTESTS]: DIR/election.json and
# DIR/pki, kept between runs (a million precincts take a while to
# generate). With CONTESTS > 1, a general election of that many contests on
# the same regions and precincts (election.py generate --contests).
bench_election() {
	local dir=$1 regions=$2 precincts=$3 contests=${4:-1} more=()
	mkdir -p "$dir"
	[ "$contests" -gt 1 ] && more=(--contests "$contests")
	if [ ! -s "$dir/election.json" ]; then
		say "generating an election: $regions regions, $precincts precincts${more:+, $contests contests}"
		$PY "$SRC/deploy/election.py" generate --regions "$regions" --precincts "$precincts" \
			"${more[@]}" --out "$dir/election.json" >/dev/null || die "election.py failed"
	fi
	if [ ! -s "$dir/pki/aggregator/aggregator.pem" ]; then
		say "making the PKI"
		bash "$SRC/deploy/pki.sh" --election "$dir/election.json" --out "$dir/pki" \
			>"$dir/pki.log" 2>&1 || die "pki.sh failed, see $dir/pki.log"
	fi
}

# agg_config DIR STATE_DIR EXTRA: writes DIR/aggregator.ini on fresh ports.
agg_config() {
	local dir=$1 state=$2 extra=${3:-}
	AGG_PORT=$(free_port)
	AGG_HTTP=$(free_port)
	while [ "$AGG_HTTP" = "$AGG_PORT" ]; do AGG_HTTP=$(free_port); done
	cat >"$dir/aggregator.ini" <<EOF
[aggregator]
id = bench
election = $dir/election.json
state_dir = $state
listen = 127.0.0.1:$AGG_PORT
http_listen = 127.0.0.1:$AGG_HTTP
trusted_keys = $dir/pki/aggregator/trusted
log_level = info
$extra
[tls]
ca = $dir/pki/ca.pem
cert = $dir/pki/aggregator/aggregator.pem
key = $dir/pki/aggregator/aggregator.key
EOF
}

# agg_start DIR LOG: starts the aggregator on DIR/aggregator.ini and waits
# (bounded) for /healthz.
agg_start() {
	local dir=$1 log=$2 i
	"$AGG_BIN" --config "$dir/aggregator.ini" 2>>"$log" &
	AGG_PID=$!
	for i in $(seq 1 1200); do
		if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$AGG_HTTP/healthz"; then
			return 0
		fi
		kill -0 "$AGG_PID" 2>/dev/null || die "aggregator exited at start, see $log"
		sleep 0.05
	done
	die "aggregator not healthy within 60 s, see $log"
}

agg_stop() {
	local i
	[ -n "${AGG_PID:-}" ] || return 0
	kill -TERM "$AGG_PID" 2>/dev/null || true
	for i in $(seq 1 600); do
		kill -0 "$AGG_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$AGG_PID" 2>/dev/null; then
		say "aggregator $AGG_PID did not stop within 60 s; killing it"
		kill -KILL "$AGG_PID" 2>/dev/null || true
	fi
	wait "$AGG_PID" 2>/dev/null || true
	AGG_PID=
}

# read_stop SECONDS: lets the contests reader (READ_PID) finish by itself
# for up to SECONDS, then stops it with SIGTERM (it still prints its
# figures).
read_stop() {
	[ -n "${READ_PID:-}" ] || return 0
	for _ in $(seq 1 $(($1 * 10))); do
		kill -0 "$READ_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$READ_PID" 2>/dev/null || true
	wait "$READ_PID" 2>/dev/null || true
	READ_PID=
}

# Peak resident memory of a process in MB (VmHWM).
peak_rss_mb() {
	awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
}

# field NAME FILE: the value of a "name value" line of bench_client output.
field() {
	awk -v k="$1" '$1 == k { v = $2 } END { if (v == "") exit 1; print v }' "$2"
}

totals_field() {
	curl -s --max-time 10 "http://127.0.0.1:$AGG_HTTP/v1/totals" |
		$PY -c "import json,sys; d=json.load(sys.stdin); print(d$1)"
}

# machine: one line on where the figures come from.
machine() {
	local cpu disk
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	disk=$(df -P "$1" | awk 'NR == 2 { print $1 }')
	echo "nproc $(nproc); cpu '$cpu'; disk $disk ($(findmnt -no FSTYPE -T "$1" 2>/dev/null || echo '?')); load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# metrics_summary: group commit figures from the aggregator's /metrics:
# commits, results per commit, mean commit and server-side ack latency.
metrics_summary() {
	curl -s --max-time 10 "http://127.0.0.1:$AGG_HTTP/metrics" | awk '
		/^tally_store_commits_total / { c = $2 }
		/^tally_submits_received_total / { n = $2 }
		/^tally_store_commit_duration_seconds_sum / { cs = $2 }
		/^tally_store_commit_duration_seconds_count / { cc = $2 }
		/^tally_ingest_ack_duration_seconds_sum / { as = $2 }
		/^tally_ingest_ack_duration_seconds_count / { ac = $2 }
		END {
			if (c == "" || c == 0) { print "no commit metrics"; exit }
			printf "%d commits, %.1f results per commit, commit %.2f ms mean, server ack %.2f ms mean\n",
				c, n / c, cc ? cs / cc * 1000 : 0, ac ? as / ac * 1000 : 0
		}'
}

# CPU seconds (user + system, all threads) a process has used so far.
proc_cpu_s() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}

# BENCH_STORE=postgresql: the aggregator stores in a PostgreSQL server that
# bench_pg_start runs in DIR/pg (fsync on, as SQLite's synchronous=FULL
# syncs), a database per state folder; bench_store_conf NAME prints the
# [store] lines for agg_config's EXTRA (nothing for the default, SQLite).
BENCH_STORE=${BENCH_STORE:-sqlite}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PG_DIR=

pg_as() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

bench_pg_start() {
	[ "$BENCH_STORE" = postgresql ] || return 0
	[ -x "$PG_BIN/initdb" ] || die "BENCH_STORE=postgresql needs Debian's postgresql package"
	PG_DIR=$1/pg
	rm -rf "$PG_DIR"
	mkdir -p "$PG_DIR"
	[ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
	PG_PORT=$(free_port)
	pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U tally -A trust -E UTF8 --no-locale \
		>"$1/pg-initdb.log" 2>&1 || die "initdb failed, see $1/pg-initdb.log"
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 -o \
		"-k $PG_DIR -p $PG_PORT -c listen_addresses='' -c fsync=on -c synchronous_commit=on -c shared_buffers=256MB" \
		start >/dev/null || die "PostgreSQL did not start, see $PG_DIR/postgres.log"
	say "PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }') in $PG_DIR, port $PG_PORT, fsync on"
}

bench_pg_stop() {
	[ -n "$PG_DIR" ] || return 0
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
	PG_DIR=
}

bench_store_conf() {
	[ "$BENCH_STORE" = postgresql ] || return 0
	"$PG_BIN/psql" -X -q -h "$PG_DIR" -p "$PG_PORT" -U tally -d postgres \
		-c "CREATE DATABASE \"$1\"" >/dev/null 2>&1 || true
	printf '[store]\nbackend = postgresql\ndsn = host=%s port=%s user=tally dbname=%s\n' \
		"$PG_DIR" "$PG_PORT" "$1"
}

# bench_store_mb NAME STATE_DIR: the size of the store in MB.
bench_store_mb() {
	if [ "$BENCH_STORE" = postgresql ]; then
		"$PG_BIN/psql" -X -q -A -t -h "$PG_DIR" -p "$PG_PORT" -U tally -d "$1" \
			-c "SELECT pg_database_size(current_database()) / 1048576"
	else
		du -sm "$2" | cut -f1
	fi
}
