#!/usr/bin/env bash
# node.sh: how fast a tally-node drains a backlog once its aggregator is
# back.
#
#   1. Release build; an election of one region with BENCH_BACKLOG (10,000)
#      precincts; its protocols as one CSV file (deploy/election.py results).
#   2. The node starts pointed at a port where no aggregator listens yet;
#      the file goes into its spool and is taken whole into the outbox
#      (time to take it is reported too).
#   3. The aggregator starts on that port. The script notes when the node's
#      uplink reports "connected" (tallyctl status, polled) and when the
#      aggregator's /v1/totals reaches the backlog's size, then checks the
#      node's outbox is empty with every entry acknowledged.
#   Reported: drain_s, seconds from the node's uplink connected to its
#   outbox empty with every entry acknowledged (the last line), and the
#   same from the aggregator's start (this includes the node's backoff).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

backlog=${BENCH_BACKLOG:-10000}
bench_build
BENCH_DIR=$BUILD/node-$backlog
bench_election "$BENCH_DIR" 1 "$backlog"
cd "$BENCH_DIR"
region=$($PY -c 'import json,sys; print(json.load(open("election.json"))["regions"][0]["id"])')
if [ ! -s results/expected.json ]; then
	rm -rf results
	$PY "$SRC/deploy/election.py" results --election election.json --out-dir results \
		--format csv >/dev/null || die "election.py results failed"
fi
csv=$(find results/"$region" -name '*.csv' | head -1)
[ -n "$csv" ] || die "no CSV written for region $region"
[ "$(($(wc -l <"$csv") - 1))" = "$backlog" ] || die "$csv does not hold $backlog rows"

log=$BENCH_DIR/aggregator.log
nlog=$BENCH_DIR/node.log
: >"$log"
: >"$nlog"
rm -rf node state-agg
mkdir -p node/spool node/state
node_pid=
poll_pid=
cleanup() {
	[ -n "$poll_pid" ] && kill "$poll_pid" 2>/dev/null
	if [ -n "$node_pid" ]; then
		kill -TERM "$node_pid" 2>/dev/null || true
		wait "$node_pid" 2>/dev/null || true
	fi
	agg_stop
}
trap cleanup EXIT
say "machine: $(machine "$BENCH_DIR")"

agg_config "$BENCH_DIR" "$BENCH_DIR/state-agg"
cat >node/node.ini <<EOF
[node]
id = bench-node
region = $region
election = $BENCH_DIR/election.json
state_dir = $BENCH_DIR/node/state
spool_dir = $BENCH_DIR/node/spool
control_socket = $BENCH_DIR/node/control.sock
signing_key = $BENCH_DIR/pki/regions/$region/sign.key
aggregators = 127.0.0.1:$AGG_PORT
log_level = info
[tls]
ca = $BENCH_DIR/pki/regions/$region/ca.pem
cert = $BENCH_DIR/pki/regions/$region/node.pem
key = $BENCH_DIR/pki/regions/$region/node.key
server_name = 127.0.0.1
EOF

status() { "$TALLYCTL" status --socket "$BENCH_DIR/node/control.sock" --json 2>/dev/null; }
# status_num PYEXPR: a number from the node's status document ('' if none)
status_num() { status | $PY -c "import json,sys; d=json.load(sys.stdin); print(d$1)" 2>/dev/null || true; }

"$NODE_BIN" --config node/node.ini 2>>"$nlog" &
node_pid=$!
for _ in $(seq 1 600); do
	[ -S node/control.sock ] && status >/dev/null && break
	kill -0 "$node_pid" 2>/dev/null || die "tally-node exited at start, see $nlog"
	sleep 0.05
done

say "queueing $backlog protocols while the aggregator is down"
t_file=$(date +%s.%N)
cp "$csv" node/spool/backlog.csv.tmp
mv node/spool/backlog.csv.tmp node/spool/backlog.csv
for _ in $(seq 1 1200); do
	[ "$(status_num '["outbox"]["queued"]')" = "$backlog" ] && break
	kill -0 "$node_pid" 2>/dev/null || die "tally-node exited, see $nlog"
	sleep 0.1
done
t_queued=$(date +%s.%N)
[ "$(status_num '["outbox"]["queued"]')" = "$backlog" ] ||
	die "outbox holds $(status_num '["outbox"]["queued"]'), expected $backlog (see $nlog)"
[ -f node/spool/accepted/backlog.csv ] || die "the file did not move to accepted/"

# The connection and drained moments, from the node's own status, polled
# in the background (every 20 ms, grep only: no interpreter start-up).
(
	while :; do
		doc=$(status || true)
		if [ ! -s node/connected_at ] && grep -q '"state": "connected"' <<<"$doc"; then
			date +%s.%N >node/connected_at
		fi
		if [ -s node/connected_at ] && grep -q '"queued": 0,' <<<"$doc"; then
			date +%s.%N >node/drained_at
			exit 0
		fi
		sleep 0.02
	done
) &
poll_pid=$!

say "starting the aggregator"
t_agg=$(date +%s.%N)
agg_start "$BENCH_DIR" "$log"
"$CLIENT" wait-totals --http "127.0.0.1:$AGG_HTTP" --sequence "$backlog" --timeout 300 \
	>drain.out || die "the aggregator did not count the backlog within 300 s (see $nlog, $log)"
t_done=$(field served_at drain.out)
for _ in $(seq 1 600); do
	[ -s node/drained_at ] && break
	sleep 0.05
done
kill "$poll_pid" 2>/dev/null || true
wait "$poll_pid" 2>/dev/null || true
poll_pid=
[ -s node/connected_at ] || die "never saw the node's uplink connected"
[ -s node/drained_at ] || die "never saw the node's outbox empty (see $nlog)"
t_conn=$(cat node/connected_at)
t_drained=$(cat node/drained_at)

for _ in $(seq 1 300); do
	[ "$(status_num '["outbox"]["queued"]')" = 0 ] &&
		[ "$(status_num '["acknowledged"]["total"]')" = "$backlog" ] && break
	sleep 0.1
done
[ "$(status_num '["outbox"]["queued"]')" = 0 ] || die "outbox not empty after the aggregator counted all"
[ "$(status_num '["acknowledged"]["accepted"]')" = "$backlog" ] ||
	die "node saw $(status_num '["acknowledged"]["accepted"]') accepted, expected $backlog"

sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
cat <<EOF
machine             $(machine "$BENCH_DIR")
backlog             $backlog protocols (one CSV file, region $region)
intake_s            $(sub "$t_file" "$t_queued") (file in spool -> all $backlog in the outbox; status polled every 0.1 s)
reconnect_after_s   $(sub "$t_agg" "$t_conn") (aggregator exec -> node status "connected"; the node's backoff)
counted_s           $(sub "$t_conn" "$t_done") (node connected -> aggregator /v1/totals counts all $backlog)
drain_from_start_s  $(sub "$t_agg" "$t_drained") (aggregator exec -> node outbox empty)
drain_s             $(sub "$t_conn" "$t_drained")
EOF
