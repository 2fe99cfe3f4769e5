#!/usr/bin/env bash
# deploy/demo.sh end to end, with the test build's binaries: the PKI from
# pki.sh, the kz-demo election, one aggregator and 20 nodes on loopback, the
# night replayed in 10 s (with three revision-2 corrections). With
# --exit-when-done it must exit 0 and the final national and per-region
# totals must equal expected.json exactly. Then Ctrl-C (SIGINT to the
# demo's process group) in the middle of a run must stop every daemon
# cleanly (exit 0) and say where the state was left. Meanwhile the online
# backup of docs/operations.md is taken, and an aggregator restored from it
# serves exactly the backed-up results.
set -euo pipefail
src=${TALLY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TALLY_BUILD_DIR:-$src/build/test}
tmp=$(mktemp -d)
demo_pgid=""
cleanup() {
	[ -z "$demo_pgid" ] || kill -KILL -- "-$demo_pgid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# 1. --exit-when-done: exact totals.
rc=0
timeout 400 "$src/deploy/demo.sh" --exit-when-done --fast --port 0 --state "$tmp/state" \
	--build-dir "$build" >"$tmp/out.txt" 2>&1 || rc=$?
sed 's/^/  | /' "$tmp/out.txt" | tail -45
[ $rc -eq 0 ] || fail "demo.sh --exit-when-done exited $rc"
grep -q "final national totals" "$tmp/out.txt" || fail "no final totals printed"
grep -q "stopped the aggregator and 20 nodes cleanly" "$tmp/out.txt" || fail "daemons not stopped cleanly"
grep -q "live page: http://127.0.0.1:[0-9]*/" "$tmp/out.txt" || fail "the live page's address is not printed"
if [ -f "$tmp/state/final-totals.json" ]; then
	/usr/bin/python3 - "$tmp/state/final-totals.json" "$tmp/state/results/expected.json" <<'EOF' || fail "final totals differ from expected.json"
import json, sys
got = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))
bad = []
def cmp(where, g, w):
    if g.get("precincts_reported") != w["precincts"]:
        bad.append("%s precincts_reported %r != %r" % (where, g.get("precincts_reported"), w["precincts"]))
    if g.get("precincts_total") != w["precincts"]:
        bad.append("%s precincts_total %r != %r" % (where, g.get("precincts_total"), w["precincts"]))
    for k in ("voters_registered", "ballots_cast", "ballots_invalid", "ballots_not_counted", "votes"):
        if g.get(k) != w[k]:
            bad.append("%s %s %r != %r" % (where, k, g.get(k), w[k]))
    if g.get("conflicts") != 0:
        bad.append("%s conflicts %r" % (where, g.get("conflicts")))
cmp("national", got["national"], want["national"])
regions = {r["id"]: r for r in got["regions"]}
if sorted(regions) != sorted(want["regions"]):
    bad.append("regions %s" % sorted(regions))
for rid, w in want["regions"].items():
    if rid in regions:
        cmp(rid, regions[rid], w)
assert want["national"]["precincts"] == 10388 and want["national"]["voters_registered"] == 12482613
assert len(want["corrections"]) == 3
if bad:
    print("\n".join(bad[:20]))
    sys.exit(1)
n = got["national"]
print("final totals equal expected.json: %d precincts, cast %d, yes %d, no %d"
      % (n["precincts_reported"], n["ballots_cast"], n["votes"]["yes"], n["votes"]["no"]))
EOF
else
	fail "no final-totals.json"
fi
if pgrep -f "$tmp/state" >/dev/null; then
	fail "daemons still running after the demo: $(pgrep -af "$tmp/state" | head -3)"
fi

# 2. Ctrl-C in the middle of the night.
rm -rf "$tmp/state2"
# A background job of a script starts with SIGINT ignored, and bash cannot
# trap a signal ignored at entry: restore the default, as a terminal has it.
setsid env --default-signal=INT "$src/deploy/demo.sh" --seconds 40 --port 0 --state "$tmp/state2" --build-dir "$build" \
	>"$tmp/out2.txt" 2>&1 &
demo_pid=$!
demo_pgid=$demo_pid
counting=0
for _ in $(seq 1 900); do
	if grep -qE '\| +[1-9][0-9]*/10388 precincts' "$tmp/out2.txt"; then
		counting=1
		break
	fi
	kill -0 "$demo_pid" 2>/dev/null || break
	sleep 0.2
done
[ $counting -eq 1 ] || fail "the interrupted demo never showed counted precincts"
# docs/operations.md's online backup, taken while results pour in.
sleep 2
sqlite3 -cmd '.timeout 10000' "$tmp/state2/aggregator/state/tally.db" ".backup '$tmp/backup.db'" ||
	fail "online backup failed"
kill -INT -- "-$demo_pgid" 2>/dev/null || true
rc=0
for _ in $(seq 1 600); do
	kill -0 "$demo_pid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$demo_pid" 2>/dev/null; then
	fail "demo.sh still running 60 s after Ctrl-C"
else
	wait "$demo_pid" || rc=$?
	demo_pgid=""
fi
sed 's/^/  | /' "$tmp/out2.txt" | tail -8
[ $rc -eq 0 ] || fail "demo.sh after Ctrl-C exited $rc"
grep -q "stopped the aggregator and 20 nodes cleanly" "$tmp/out2.txt" || fail "Ctrl-C: not stopped cleanly"
grep -q "state left in $tmp/state2" "$tmp/out2.txt" || fail "Ctrl-C: does not say where the state was left"
[ -f "$tmp/state2/aggregator/state/tally.db" ] || fail "Ctrl-C: no store left in state2/aggregator/state/"
if pgrep -f "$tmp/state2" >/dev/null; then
	fail "daemons still running after Ctrl-C: $(pgrep -af "$tmp/state2" | head -3)"
fi

# 3. Restore: an aggregator started on the backup rebuilds its totals from it.
if [ -f "$tmp/backup.db" ]; then
	[ "$(sqlite3 "$tmp/backup.db" 'PRAGMA integrity_check')" = ok ] || fail "backup: integrity_check"
	leaves=$(sqlite3 "$tmp/backup.db" 'SELECT count(*) FROM log')
	[ "${leaves:-0}" -gt 0 ] || fail "backup holds no results"
	mkdir -p "$tmp/restore/state"
	install -m 0600 "$tmp/backup.db" "$tmp/restore/state/tally.db"
	cp "$tmp/state2/aggregator/state/log.key" "$tmp/restore/state/" 2>/dev/null || true
	http=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	listen=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	sed -e "s|^state_dir = .*|state_dir = $tmp/restore/state|" -e "s|^http_listen = .*|http_listen = 127.0.0.1:$http|" \
		-e "s|^listen = .*|listen = 127.0.0.1:$listen|" \
		"$tmp/state2/aggregator/aggregator.ini" >"$tmp/state2/aggregator/restore.ini"
	"$build/daemon/aggregator/tally-aggregator" --config "$tmp/state2/aggregator/restore.ini" \
		>"$tmp/restore.log" 2>&1 &
	rpid=$!
	seq=""
	for _ in $(seq 1 150); do
		seq=$(curl -fsS "http://127.0.0.1:$http/v1/totals" 2>/dev/null |
			/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["sequence"])' 2>/dev/null || true)
		[ -n "$seq" ] && break
		sleep 0.2
	done
	[ "$seq" = "$leaves" ] || fail "restored aggregator: sequence '$seq', want the backup's $leaves log entries"
	kill -TERM "$rpid" 2>/dev/null || true
	rc=0
	wait "$rpid" || rc=$?
	[ $rc -eq 0 ] || fail "restored aggregator exited $rc"
	echo "backup taken while counting held $leaves results; an aggregator restored from it serves sequence $seq"
else
	fail "no backup was taken"
fi

if [ $fails -ne 0 ]; then
	echo "test_demo: $fails failure(s)"
	exit 1
fi
echo "PASS test_demo"
