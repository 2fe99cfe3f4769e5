#!/usr/bin/env bash
# demo.sh: the whole system on one machine. Installs what is missing
# (deploy/deps.sh), builds Release into build/demo, makes a throwaway PKI and
# the demo election in demo-state/, starts one aggregator and 20 regional
# nodes on loopback, replays the night's protocols into the nodes' spool
# folders over about a minute, and prints the national totals every couple
# of seconds. The live page is at http://127.0.0.1:8080/ (or the next free
# port; the script says which). Ctrl-C stops everything and says where the
# state was left.
#
#   deploy/demo.sh [--election NAME] [--exit-when-done] [--fast] [--seconds N]
#                  [--port N] [--state DIR] [--build-dir DIR]
#
#   --election NAME   kz-demo (default): the referendum of 15 March 2026;
#                     mazhilis-2023: the general election of 19 March 2023
#                     (party list and 29 districts) on the same precincts
#   --exit-when-done  exit 0 once every precinct is counted and the totals
#                     equal the generator's expected.json (1 if not); for
#                     mazhilis-2023 every contest, region and district, and
#                     the party list's seats 40, 8, 6, 6, 5, 4, 0
#   --fast            replay in 10 s instead of 60 (or TALLY_DEMO_SECONDS=N)
#   --port N          HTTP port to try first (default 8080; 0: any free port)
#   --state DIR       where everything goes (default demo-state/, wiped first)
#   --build-dir DIR   use the binaries already built there; skip deps and build
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
py=/usr/bin/python3

exit_when_done=0
election=kz-demo
seconds=${TALLY_DEMO_SECONDS:-60}
port=8080
state=$top/demo-state
build=""
while [ $# -gt 0 ]; do
	case "$1" in
	--election) election=${2:?}; shift 2 ;;
	--exit-when-done) exit_when_done=1; shift ;;
	--fast) seconds=10; shift ;;
	--seconds) seconds=${2:?}; shift 2 ;;
	--port) port=${2:?}; shift 2 ;;
	--state) state=${2:?}; shift 2 ;;
	--build-dir) build=${2:?}; shift 2 ;;
	-h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
case "$election" in
kz-demo | mazhilis-2023) ;;
*) echo "demo.sh: unknown election '$election' (kz-demo or mazhilis-2023)" >&2; exit 2 ;;
esac
say() { echo "demo: $*"; }

# --- Build -----------------------------------------------------------------
if [ -z "$build" ]; then
	./deploy/deps.sh
	build=$top/build/demo
	say "building Release in build/demo"
	cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTALLY_TESTS=OFF >/dev/null
	cmake --build "$build" -j"$(nproc)" --target tally-aggregator tally-node tallyctl >"$build/.demo-build.log" 2>&1 ||
		{ tail -40 "$build/.demo-build.log"; echo "demo: build failed (log: $build/.demo-build.log)" >&2; exit 1; }
fi
agg_bin=$build/daemon/aggregator/tally-aggregator
node_bin=$build/daemon/node/tally-node
ctl_bin=$build/daemon/cli/tallyctl
for b in "$agg_bin" "$node_bin"; do
	[ -x "$b" ] || { echo "demo: $b is not built" >&2; exit 1; }
done

# --- Election, PKI, results ------------------------------------------------
case "$state" in /*) ;; *) state=$top/$state ;; esac
rm -rf "$state"
mkdir -p "$state/logs" "$state/nodes" "$state/aggregator"
say "state in $state"
$py deploy/election.py "$election" --out "$state/election.json"
./deploy/pki.sh --election "$state/election.json" --out "$state/pki" >"$state/logs/pki.txt"
$py deploy/election.py results --election "$state/election.json" --out-dir "$state/results" \
	--corrections 3 2>"$state/logs/results.txt"
mapfile -t regions < <(ls "$state/pki/regions")

# --- Ports and sockets -----------------------------------------------------
free_port() { # first free port from $1 up ($1 = 0: any)
	$py - "$1" <<'EOF'
import socket, sys
want = int(sys.argv[1])
for p in (list(range(want, want + 20)) if want else []) + [0]:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        print(s.getsockname()[1])
        break
    except OSError:
        pass
    finally:
        s.close()
EOF
}
http_port=$(free_port "$port")
listen_port=$(free_port 0)
[ "$port" = 0 ] || [ "$http_port" = "$port" ] || say "port $port is busy: using $http_port"
url=http://127.0.0.1:$http_port
# Unix socket paths are limited to 107 bytes.
sockdir=$state/nodes
if [ ${#sockdir} -gt 80 ]; then
	sockdir=$(mktemp -d /tmp/tally-demo.XXXXXX)
fi

# --- Processes and a clean stop --------------------------------------------
agg_pid="" feed_pid=""
node_pids=()
stopped=0
stop_all() {
	local pid status=0 t
	[ $stopped -eq 0 ] || return 0
	stopped=1
	trap - INT TERM
	[ -n "$feed_pid" ] && kill -TERM "$feed_pid" 2>/dev/null || true
	# Nodes first, so no uplink sees its aggregator vanish; then the aggregator.
	for pid in "${node_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${node_pids[@]}"; do wait_pid "$pid" || status=1; done
	if [ -n "$agg_pid" ]; then
		kill -TERM "$agg_pid" 2>/dev/null || true
		wait_pid "$agg_pid" || status=1
	fi
	[ "$sockdir" = "$state/nodes" ] || rm -rf "$sockdir"
	if [ $status -eq 0 ]; then
		say "stopped the aggregator and ${#node_pids[@]} nodes cleanly"
	else
		say "some daemon did not stop cleanly: see $state/logs/"
	fi
	say "state left in $state: aggregator store $state/aggregator/state/tally.db,"
	say "  node outboxes $state/nodes/<REGION>/state/, spools $state/nodes/<REGION>/spool/,"
	say "  logs $state/logs/, PKI $state/pki/, expected totals $state/results/expected.json"
	return $status
}
wait_pid() { # SIGTERM was sent; give it 20 s, then SIGKILL. Status 0 if it exited 0.
	local pid=$1 i rc=0
	for i in $(seq 1 200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "demo: pid $pid ignored SIGTERM for 20 s, killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || rc=$?
	[ $rc -eq 0 ] || echo "demo: pid $pid exited with status $rc" >&2
	return $rc
}
on_signal() {
	echo
	say "stopping"
	stop_all && exit 0
	exit 1
}
trap on_signal INT TERM
trap 'stop_all >/dev/null 2>&1 || true' EXIT

# --- Aggregator --------------------------------------------------------------
cat >"$state/aggregator/aggregator.ini" <<EOF
[aggregator]
id = central-demo
election = ../election.json
state_dir = state
listen = 127.0.0.1:$listen_port
http_listen = 127.0.0.1:$http_port
trusted_keys = ../pki/aggregator/trusted
log_level = info
[tls]
ca = ../pki/aggregator/ca.pem
cert = ../pki/aggregator/aggregator.pem
key = ../pki/aggregator/aggregator.key
EOF
# Each daemon in its own session: Ctrl-C reaches this script, which then
# stops the daemons with exactly one SIGTERM each, as systemctl stop would.
setsid "$agg_bin" --config "$state/aggregator/aggregator.ini" >"$state/logs/aggregator.log" 2>&1 &
agg_pid=$!
up=0
for _ in $(seq 1 300); do
	if curl -fsS -o /dev/null "$url/healthz" 2>/dev/null; then
		up=1
		break
	fi
	kill -0 "$agg_pid" 2>/dev/null || break
	sleep 0.1
done
if [ $up -eq 0 ]; then
	tail -20 "$state/logs/aggregator.log" >&2
	echo "demo: the aggregator did not come up (log: $state/logs/aggregator.log)" >&2
	exit 1
fi
say "aggregator up: TLS for nodes on 127.0.0.1:$listen_port"
say "live page: $url/   totals: $url/v1/totals"

# --- Nodes -----------------------------------------------------------------
for r in "${regions[@]}"; do
	d=$state/nodes/$r
	mkdir -p "$d/spool"
	cat >"$d/node.ini" <<EOF
[node]
id = node-$r
region = $r
election = ../../election.json
state_dir = state
spool_dir = spool
control_socket = $sockdir/$r.sock
signing_key = ../../pki/regions/$r/sign.key
aggregators = 127.0.0.1:$listen_port
log_level = info
[tls]
ca = ../../pki/regions/$r/ca.pem
cert = ../../pki/regions/$r/node.pem
key = ../../pki/regions/$r/node.key
server_name = localhost
EOF
	setsid "$node_bin" --config "$d/node.ini" >"$state/logs/node-$r.log" 2>&1 &
	node_pids+=($!)
done
sleep 1
for i in "${!node_pids[@]}"; do
	if ! kill -0 "${node_pids[$i]}" 2>/dev/null; then
		tail -20 "$state/logs/node-${regions[$i]}.log" >&2
		echo "demo: node ${regions[$i]} did not start (log: $state/logs/node-${regions[$i]}.log)" >&2
		exit 1
	fi
done
say "${#node_pids[@]} regional nodes up; tallyctl status --socket $sockdir/<REGION>.sock"

# --- The night ---------------------------------------------------------------
feed_args=(--results "$state/results" --nodes "$state/nodes" --url "$url" --seconds "$seconds"
	--final "$state/final-totals.json")
[ $exit_when_done -eq 1 ] && feed_args+=(--exit-when-done)
rc=0
$py deploy/demo_feed.py "${feed_args[@]}" &
feed_pid=$!
wait "$feed_pid" || rc=$?
feed_pid=""
if [ $rc -eq 3 ]; then
	# demo_feed.py found no contests API: this build cannot count a general election.
	stop_all || true
	exit 3
fi
if [ $exit_when_done -eq 1 ]; then
	echo
	if [ $rc -eq 0 ] && [ "$election" != kz-demo ]; then
		say "final results:"
		$py - "$state/final-totals.json" <<'EOF'
import json, sys
docs = json.load(open(sys.argv[1]))["documents"]
for d in docs.values():
    c, n, dec = d["contest"], d["national"], d["decision"]
    if c["kind"] != "party_list":
        continue
    print("  %s: precincts %d/%d, cast %d (turnout %.2f %%), invalid %d; %d seats, %s"
          % (c["name"], n["precincts_reported"], n["precincts_total"], n["ballots_cast"], n["turnout_pct"],
             n["ballots_invalid"], c["seats"], dec["status"]))
    for o in c["options"]:
        print("    %-12s %9d  %6.2f %%  %2d seats"
              % (o["name"], n["votes"][o["id"]], n["votes_pct"][o["id"]], dec["seats"].get(o["id"], 0)))
for d in docs.values():
    c, dec = d["contest"], d["decision"]
    if c["kind"] == "candidate":
        names = {o["id"]: o["name"] for o in c["options"]}
        print("  %s: %s %s" % (c["name"], dec["status"], ", ".join(names.get(x, x) for x in dec.get("elected") or [])))
EOF
	elif [ $rc -eq 0 ]; then
		say "final national totals:"
		if [ -x "$ctl_bin" ] && "$ctl_bin" totals --url "$url" >"$state/final-totals.txt" 2>/dev/null; then
			cat "$state/final-totals.txt"
		else
			$py - "$state/final-totals.json" <<'EOF'
import json, sys
n = json.load(open(sys.argv[1]))["national"]
print("  precincts %d/%d, registered %d, cast %d (turnout %.2f %%), invalid %d, not counted %d"
      % (n["precincts_reported"], n["precincts_total"], n["voters_registered"], n["ballots_cast"],
         n["turnout_pct"], n["ballots_invalid"], n["ballots_not_counted"]))
for o, v in n["votes"].items():
    print("  %-4s %9d  %.2f %% of valid" % (o, v, n["votes_pct"][o]))
EOF
		fi
	fi
	stop_all || rc=1
	exit $rc
fi
# Interrupted by Ctrl-C: on_signal has stopped everything.
stop_all || exit 1
