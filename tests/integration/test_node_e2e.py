#!/usr/bin/python3
"""tally-node with the real tally-aggregator (issue 4's "must show"): JSON
and CSV intake counted exactly; a bad file set aside with its exact .error
and nothing sent; tallyctl submit's feedback and exit codes; the aggregator
killed -9 while the node holds a backlog; the node killed -9 mid-stream;
failover to the second aggregator address; a correction replacing the
counted figures; both daemons exit 0 under a storm of SIGTERMs; an
aggregator restored from a backup gets the rest through `tallyctl resend`. Totals are checked against scenario.py's independent sum
of the files handed to the nodes."""
import json
import os
import signal
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from node_harness import Failure, Skip, run_tests, tallyctl, wait_until  # noqa: E402
import scenario  # noqa: E402


def outbox_states(node):
    states = {0: 0, 1: 0, 2: 0}
    for e in node.outbox():
        states[e["state"]] += 1
    return states


def precincts_of(c, region):
    for r in c.election["regions"]:
        if r["id"] == region:
            return sorted(r["precincts"], key=lambda p: p["id"])
    raise Failure("no region %s" % region)


HEADER = ("precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
          "ballots_cancelled,ballots_cast,ballots_invalid,ballots_not_counted,yes,no")


def row(p, revision=1, bad_received=False):
    """A CSV row for precinct p (dict with id, registered) that adds up."""
    reg = p["registered"]
    issued = reg // 2
    cancelled = 5
    received = issued + cancelled + (7 if bad_received else 0)
    cast = issued - 3
    invalid = 2
    yes = (cast - invalid) * 2 // 3
    no = cast - invalid - yes
    return "%d,%d,%d,%d,%d,%d,%d,%d,0,%d,%d" % (p["id"], revision, reg, received, issued,
                                                cancelled, cast, invalid, yes, no)


def write(c, name, text):
    path = os.path.join(c.tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def check_counted_once(c, precinct_ids):
    """Each precinct's history at the aggregator holds exactly one counted
    (accepted) copy per revision submitted: no doubles."""
    for p in precinct_ids:
        doc = c.aggregator.get_json("/v1/precincts/%d" % p)
        accepted = [h["revision"] for h in doc["history"] if h["outcome"] == "accepted"]
        if len(accepted) != len(set(accepted)):
            raise Failure("precinct %d counted twice: %s" % (p, doc["history"]))


def test_json_and_csv_intake_counted_exactly(c):
    c.start(regions=2, precincts=120)
    a, b = c.regions()
    csv_files, csv_declared = c.make_results("csv", per_file=15, regions=[a], name="csv")
    json_files, json_declared = c.make_results("json", regions=[b], name="json")
    for f in csv_files[a]:
        c.feed(c.nodes[a], f)
    for f in json_files[b]:
        c.feed(c.nodes[b], f)
    c.converge(timeout=120)
    t = c.aggregator.totals()
    n = c.expected.rows
    if t["sequence"] != n:
        raise Failure("sequence %d, want %d (each protocol counted once)" % (t["sequence"], n))
    # The generator's own per-region sums, a second independent count.
    by_id = {r["id"]: r for r in t["regions"]}
    for region, declared in ((a, csv_declared), (b, json_declared)):
        want = declared["regions"][region]
        for k in ("ballots_cast", "ballots_invalid", "voters_registered", "precincts_reported"):
            if k in want and by_id[region][k] != want[k]:
                raise Failure("%s %s: %s, generator says %s" %
                              (region, k, by_id[region][k], want[k]))
    for region in (a, b):
        outs = [e["outcome"] for e in c.nodes[region].outbox()]
        if set(outs) != {1}:
            raise Failure("%s outcomes %s, want all accepted" % (region, sorted(set(outs))))


def test_bad_file_is_set_aside_with_its_error_and_nothing_sent(c):
    c.start(regions=2, precincts=20)
    region = c.regions()[0]
    node = c.nodes[region]
    ps = precincts_of(c, region)
    eid = c.election["election_id"]
    bad_csv = write(c, "bad.csv", "\n".join([
        HEADER,
        row(ps[0]),
        row(ps[1], bad_received=True),
        row({"id": 999999, "registered": 1000}),
        "%d,1,abc,1,1,0,1,0,0,1,0" % ps[2]["id"],
    ]) + "\n")
    bad_json = write(c, "bad.json", json.dumps({
        "precinct_id": ps[3]["id"], "revision": 1, "voters_registered": 1.5,
        "ballots_received": 10, "ballots_issued": 10, "ballots_cancelled": 0,
        "ballots_cast": 10, "ballots_invalid": 0, "votes": {"yes": 5, "no": 5}}) + "\n")
    node.drop(bad_csv)
    node.drop(bad_json)
    rej = os.path.join(node.spool, "rejected")
    wait_until(lambda: not node.spool_pending(), 20, "both files taken")
    p1 = ps[1]
    issued = p1["registered"] // 2
    want_csv = (
        "line 3: precinct %d: received = issued + cancelled: ballots_received (%d) != "
        "ballots_issued (%d) + ballots_cancelled (5) = %d\n"
        "line 4: precinct 999999: precinct: precinct_id 999999 is not a precinct of election "
        "\"%s\"\n"
        "line 5: precinct %d: voters_registered: 'abc' is not a whole number from 0 to "
        "4294967295\n" % (p1["id"], issued + 12, issued, issued + 5, eid, ps[2]["id"]))
    want_json = "line 1: precinct %d: voters_registered: 1.5 is not a whole number\n" % \
        ps[3]["id"]
    for name, want in (("bad.csv", want_csv), ("bad.json", want_json)):
        with open(os.path.join(rej, name + ".error")) as f:
            got = f.read()
        if got != want:
            raise Failure("%s.error:\n%s\nwant:\n%s" % (name, got, want))
        if not os.path.exists(os.path.join(rej, name)):
            raise Failure("%s not in rejected/" % name)
    time.sleep(1)
    if node.outbox():
        raise Failure("entries queued from rejected files: %s" % node.outbox())
    t = c.aggregator.totals()
    if t["sequence"] != 0 or t["national"]["precincts_reported"] != 0:
        raise Failure("the aggregator got something: sequence %d" % t["sequence"])
    doc = c.aggregator.get_json("/v1/precincts/%d" % ps[0]["id"])
    if doc["history"] or doc["status"] != "not_reported":
        raise Failure("the good row of a rejected file reached the aggregator: %s" % doc)
    if "spool: 'bad.csv' rejected, nothing sent: 3 problems" not in node.logs():
        raise Failure("no rejection in the log:\n" + node.tail())
    st = node.status()
    if not any(p["text"].startswith("'bad.csv' rejected: line 3: precinct %d" % p1["id"])
               for p in st["problems"]):
        raise Failure("status problems: %s" % st["problems"])


def test_tallyctl_submit_feedback_and_exit_codes(c):
    c.start(regions=2, precincts=20)
    region = c.regions()[0]
    node = c.nodes[region]
    ps = precincts_of(c, region)
    good = write(c, "good.csv", "\n".join([HEADER, row(ps[0]), row(ps[1])]) + "\n")
    good2 = write(c, "good2.csv", "\n".join([HEADER, row(ps[2])]) + "\n")
    bad = write(c, "bad.csv", "\n".join([HEADER, row(ps[3], bad_received=True)]) + "\n")
    binary = os.path.join(c.tmp, "binary.csv")
    with open(binary, "wb") as f:
        f.write(b"\xff\xfe\x00garbage\n")

    rc, out, err = tallyctl("submit", "--socket", node.control, good)
    want = ("good.csv: queued 2 protocols\n"
            "  line 2: precinct %d revision 1: queued (entry 1)\n"
            "  line 3: precinct %d revision 1: queued (entry 2)\n" % (ps[0]["id"], ps[1]["id"]))
    if (rc, out) != (0, want):
        raise Failure("submit good (%d):\n%s%s\nwant:\n%s" % (rc, out, err, want))
    c.expected.add_file(good)
    wait_until(lambda: outbox_states(node)[1] == 2, 20, "good.csv delivered")

    rc, out, err = tallyctl("submit", "--socket", node.control, good)
    want = ("good.csv: the same file was queued before; not queued again (2 protocols)\n"
            "  line 2: precinct %d revision 1: delivered, accepted (entry 1)\n"
            "  line 3: precinct %d revision 1: delivered, accepted (entry 2)\n" %
            (ps[0]["id"], ps[1]["id"]))
    if (rc, out) != (0, want):
        raise Failure("submit again (%d):\n%s%s\nwant:\n%s" % (rc, out, err, want))

    p3 = ps[3]
    issued = p3["registered"] // 2
    rc, out, err = tallyctl("submit", "--socket", node.control, bad, good2, binary)
    want = ("bad.csv: rejected, nothing queued (1 problem):\n"
            "  line 2: precinct %d: received = issued + cancelled: ballots_received (%d) != "
            "ballots_issued (%d) + ballots_cancelled (5) = %d\n"
            "good2.csv: queued 1 protocol\n"
            "  line 2: precinct %d revision 1: queued (entry 3)\n"
            "binary.csv: rejected, nothing queued (1 problem):\n"
            "  file: not UTF-8 text (or holds a NUL byte)\n" %
            (p3["id"], issued + 12, issued, issued + 5, ps[2]["id"]))
    if (rc, out) != (1, want):
        raise Failure("submit mixed (%d):\n%s%s\nwant:\n%s" % (rc, out, err, want))
    c.expected.add_file(good2)

    rc, out, err = tallyctl("submit", "--socket", node.control, os.path.join(c.tmp, "nope.csv"))
    if rc != 2 or "nope.csv: No such file or directory" not in err:
        raise Failure("missing file: %d %s %s" % (rc, out, err))
    notes = write(c, "notes.txt", "hello")
    rc, out, err = tallyctl("submit", "--socket", node.control, notes)
    if (rc, out) != (2, "notes.txt: error: 'notes.txt': the name must end in .json or .csv\n"):
        raise Failure("a .txt file: %d %s %s" % (rc, out, err))
    rc, out, err = tallyctl("submit", "--socket", os.path.join(c.tmp, "no.sock"), good)
    if rc != 2 or "is tally-node running?" not in err:
        raise Failure("no node: %d %s %s" % (rc, out, err))
    rc, out, err = tallyctl("submit", "--socket", node.control)
    if rc != 2 or "usage: tallyctl submit" not in err:
        raise Failure("no files: %d %s %s" % (rc, out, err))

    c.converge(timeout=60)
    rc, out, err = tallyctl("status", "--socket", node.control)
    if rc != 0 or "acknowledged:  3 (accepted 3, duplicate 0, stale 0, conflict 0)" not in out \
            or "outbox:        0 queued" not in out:
        raise Failure("tallyctl status (%d):\n%s%s" % (rc, out, err))


def test_aggregator_killed_with_a_backlog_counts_everything_once(c):
    c.start(regions=2, precincts=400)
    agg = c.aggregator
    agg.kill()
    work = c.stream("csv", per_file=25, corrections=10)
    c.feed_all(work)
    n = c.expected.rows

    def backlog():
        return sum(outbox_states(nd)[0] for nd in c.nodes.values()) == n and \
            not any(nd.spool_pending() for nd in c.nodes.values())
    wait_until(backlog, 60, "the nodes to hold all %d protocols" % n)
    st = next(iter(c.nodes.values())).status()
    if st["connection"]["state"] == "connected":
        raise Failure("a node says connected to a dead aggregator: %s" % st["connection"])

    agg.start()
    # Kill it again once the drain is under way, then let it finish.
    wait_until(lambda: sum(outbox_states(nd)[1] for nd in c.nodes.values()) > 0, 30,
               "the drain to start")
    agg.kill()
    c.stats["crash_points"] += 1
    snap = c.delivered_snapshot()
    agg.start()
    checked = c.check_acked_stored(snap)
    c.converge(timeout=120)
    t = agg.totals()
    protocols = {(r["precinct_id"], r["revision"])
                 for f in c.files for r in scenario.read_protocols(f)}
    # A correction can reach the aggregator before its original (the drain
    # resends whatever was unanswered at the kill, in any order); the
    # original is then stale: stored, not counted, not in the log. Every
    # other protocol is in the log exactly once.
    stale_originals = 0
    for p, rev in protocols:
        if rev > 1 or (p, 2) not in protocols:
            continue
        doc = agg.get_json("/v1/precincts/%d" % p)
        logged = [h for h in doc["history"]
                  if h["revision"] == 1 and h["outcome"] in ("accepted", "conflict")]
        if not logged:
            stale_originals += 1
    if t["sequence"] != len(protocols) - stale_originals:
        raise Failure("sequence %d, want %d distinct protocols less %d originals made stale" %
                      (t["sequence"], len(protocols), stale_originals))
    check_counted_once(c, list(c.expected.latest)[:60])
    print("     backlog %d protocols, %d acknowledged before the second kill checked" %
          (n, checked))


def test_node_killed_mid_stream_loses_and_doubles_nothing(c):
    c.start(regions=2, precincts=300)
    region = c.regions()[0]
    node = c.nodes[region]
    files, _ = c.make_results("json", regions=[region], corrections=5, name="json")
    for f in files[region]:
        c.feed(node, f)
    accepted = os.path.join(node.spool, "accepted")
    for k in (10, 60):
        wait_until(lambda: len(os.listdir(accepted)) >= k, 60, "%d files taken" % k)
        node.kill()
        c.stats["crash_points"] += 1
        node.start()
    c.converge(timeout=120)
    seen = {}
    for e in node.outbox():
        key = (e["precinct_id"], e["revision"])
        seen[key] = seen.get(key, 0) + 1
    doubled = [k for k, v in seen.items() if v > 1]
    if doubled or len(seen) != c.expected.rows:
        raise Failure("outbox: %d distinct of %d files, doubled %s" %
                      (len(seen), c.expected.rows, doubled[:10]))
    # A correction taken before its original (names sort "14-r2.json" first)
    # makes the original stale: kept, not counted. An entry whose Ack the
    # kill cut off is sent again and answered "duplicate". Everything that is
    # not stale counts exactly once.
    outcomes = {}
    for e in node.outbox():
        outcomes[e["outcome"]] = outcomes.get(e["outcome"], 0) + 1
    stale = outcomes.get(3, 0)
    if set(outcomes) - {1, 2, 3} or c.aggregator.totals()["sequence"] != c.expected.rows - stale:
        raise Failure("sequence %d; outcomes %s of %d" %
                      (c.aggregator.totals()["sequence"], outcomes, c.expected.rows))
    check_counted_once(c, [e["precinct_id"] for e in node.outbox()][:80])


def test_failover_to_the_second_aggregator_address(c):
    c.make_election(regions=2, precincts=40)
    agg = c.add_aggregator()
    agg.start()
    dead = scenario.free_port()
    region = c.regions()[0]
    node = c.add_node(region, [dead, agg.listen_port])
    node.start()
    files, _ = c.make_results("csv", per_file=10, regions=[region], name="csv")
    for f in files[region]:
        c.feed(node, f)
    wait_until(lambda: not node.spool_pending() and outbox_states(node)[0] == 0, 60,
               "the node to drain via the second address")
    t = agg.totals()
    if t["sequence"] != c.expected.rows:
        raise Failure("sequence %d, want %d" % (t["sequence"], c.expected.rows))
    errs = scenario.compare_figures("national", c.expected.figures(), t["national"])
    if errs:
        raise Failure("; ".join(errs))
    if "127.0.0.1:%d: connect: connection refused; trying 127.0.0.1:%d" % (
            dead, agg.listen_port) not in node.logs():
        raise Failure("no failover in the log:\n" + node.tail())
    if node.status()["connection"]["aggregator"] != "127.0.0.1:%d" % agg.listen_port:
        raise Failure("status: %s" % node.status()["connection"])


def test_correction_replaces_the_counted_figures(c):
    c.start(regions=2, precincts=40)
    region = c.regions()[0]
    node = c.nodes[region]
    files, _ = c.make_results("csv", per_file=10, regions=[region], corrections=3, name="csv")
    originals = [f for f in files[region] if "corrections" not in f]
    fixes = [f for f in files[region] if "corrections" in f]
    if len(fixes) != 1:
        raise Failure("generator gave %s" % files[region])
    for f in originals:
        c.feed(node, f)
    c.converge(timeout=60)
    before = c.aggregator.totals()["national"]
    rows = scenario.read_protocols(fixes[0])
    old = {p: dict(c.expected.latest[p]) for p in (r["precinct_id"] for r in rows)}

    c.feed(node, fixes[0])
    c.converge(timeout=60)
    after = c.aggregator.totals()["national"]
    # A recount moves ballots from invalid to the options: the totals move
    # by exactly the difference between the two revisions, figure by figure.
    for k in ("ballots_cast", "ballots_invalid", "ballots_not_counted", "voters_registered"):
        delta = sum(r[k] - old[r["precinct_id"]][k] for r in rows)
        if after[k] - before[k] != delta:
            raise Failure("%s moved by %d, want %d" % (k, after[k] - before[k], delta))
    moved = sum(old[r["precinct_id"]]["ballots_invalid"] - r["ballots_invalid"] for r in rows)
    if moved <= 0:
        raise Failure("the corrections change nothing; the test proves nothing")
    for o in scenario.OPTIONS:
        delta = sum(r["votes"][o] - old[r["precinct_id"]]["votes"][o] for r in rows)
        if after["votes"][o] - before["votes"][o] != delta:
            raise Failure("votes.%s moved by %d, want %d" %
                          (o, after["votes"][o] - before["votes"][o], delta))
    if after["precincts_reported"] != before["precincts_reported"]:
        raise Failure("a correction changed the number of precincts reported")
    for r in rows:
        doc = c.aggregator.get_json("/v1/precincts/%d" % r["precinct_id"])
        res = doc["result"]
        if doc["revision"] != 2 or res["revision"] != 2 or \
                res["ballots_cast"] != r["ballots_cast"] or res["votes"] != r["votes"]:
            raise Failure("precinct %d after the correction: %s, file says %s" %
                          (r["precinct_id"], doc, r))
    outs = {(e["precinct_id"], e["revision"]): e["outcome"] for e in node.outbox()}
    if any(outs[(r["precinct_id"], 2)] != 1 for r in rows):
        raise Failure("corrections not acknowledged as accepted: %s" % outs)

def sigterm_storm(d):
    """SIGTERM, then another every half millisecond until d exits: its
    exit status. A daemon that gives a signal back to the default action
    while it is still shutting down dies of the next one (143)."""
    d.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 30
    while d.proc.poll() is None:
        if time.monotonic() > deadline:
            d.proc.kill()
            raise Failure("%s did not exit within 30 s of SIGTERM" % d.name)
        try:
            d.proc.send_signal(signal.SIGTERM)
        except ProcessLookupError:
            break
        time.sleep(0.0005)
    return d.proc.wait()


STOP_SIGNALS = (1 << (signal.SIGHUP - 1)) | (1 << (signal.SIGINT - 1)) | \
    (1 << (signal.SIGTERM - 1))


def check_signal_masks(d):
    """Only the loop's thread (the main one) takes SIGTERM, SIGINT and
    SIGHUP; every other thread blocks them (signals.h)."""
    pid = d.proc.pid
    tids = sorted(int(t) for t in os.listdir("/proc/%d/task" % pid))
    if len(tids) < 2:
        raise Failure("%s has one thread; the pool should be running" % d.name)
    for tid in tids:
        with open("/proc/%d/task/%d/status" % (pid, tid)) as f:
            blk = int(next(ln for ln in f if ln.startswith("SigBlk:")).split()[1], 16)
        want = 0 if tid == pid else STOP_SIGNALS
        if blk & STOP_SIGNALS != want:
            raise Failure("%s thread %d blocks %#x of the stop signals, want %#x" %
                          (d.name, tid, blk & STOP_SIGNALS, want))


def test_repeated_sigterm_during_shutdown_still_exits_0(c):
    c.start(regions=2, precincts=40)
    region = c.regions()[0]
    node = c.nodes[region]
    check_signal_masks(node)
    check_signal_masks(c.aggregator)
    files, _ = c.make_results("csv", per_file=10, regions=[region], name="storm")
    for rnd in range(5):
        if rnd < len(files[region]):
            c.feed(node, files[region][rnd])  # busy with a file and a send
        rc = sigterm_storm(node)
        if rc != 0:
            raise Failure("tally-node round %d: exit status %d under repeated SIGTERM:\n%s" %
                          (rnd, rc, node.tail()))
        node.start()
    rc = sigterm_storm(c.aggregator)
    if rc != 0:
        raise Failure("tally-aggregator: exit status %d under repeated SIGTERM:\n%s" %
                      (rc, c.aggregator.tail()))
    c.aggregator.start()
    c.converge(timeout=60)

def test_restore_from_backup_then_resend_counts_everything_once(c):
    """The documented recovery: the aggregator's store is restored from an
    online backup that lacks what came after it; `tallyctl resend --since`
    on each node sends those protocols again, and the totals come back
    exact, every protocol counted once."""
    if os.environ.get("TALLY_STORE_BACKEND", "sqlite") != "sqlite":
        raise Skip("restores a SQLite store (PostgreSQL has its own backups)")
    c.start(regions=2, precincts=60)
    agg = c.aggregator
    files, _ = c.make_results("csv", per_file=15, name="restore")
    regions = sorted(files)
    for r in regions:
        c.feed(c.nodes[r], files[r][0])
    c.converge(timeout=60)
    before = agg.totals()["national"]
    # --since has one-second resolution: keep the deliveries before the
    # backup and those after it in different seconds.
    time.sleep(1.1)
    backup = os.path.join(c.tmp, "backup.db")
    src = sqlite3.connect(os.path.join(agg.state_dir, "tally.db"))
    dst = sqlite3.connect(backup)
    src.backup(dst)
    dst.close()
    src.close()
    backup_time = time.time()
    time.sleep(1.1)
    later = {}
    for r in regions:
        later[r] = sum(len(scenario.read_protocols(f)) for f in files[r][1:])
        for f in files[r][1:]:
            c.feed(c.nodes[r], f)
    c.converge(timeout=60)
    if sum(later.values()) == 0:
        raise Failure("nothing after the backup; the test proves nothing")

    agg.stop()
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(os.path.join(agg.state_dir, "tally.db" + suffix))
        except FileNotFoundError:
            pass
    os.rename(backup, os.path.join(agg.state_dir, "tally.db"))
    agg.start()
    got = agg.totals()["national"]
    if (got["precincts_reported"], got["ballots_cast"]) != \
            (before["precincts_reported"], before["ballots_cast"]):
        raise Failure("restored store: %s, want the figures at the backup %s" % (got, before))

    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(backup_time)))
    for r in regions:
        rc, out, err = tallyctl("resend", "--socket", c.nodes[r].control, "--since", since)
        if rc != 0:
            raise Failure("tallyctl resend for %s: %d %s" % (r, rc, err))
        want = "%d delivered protocols back in the node's queue" % later[r]
        if not out.startswith(want):
            raise Failure("tallyctl resend for %s said %r, want %r..." % (r, out, want))
    c.converge(timeout=60)
    check_counted_once(c, list(c.expected.latest))
    rc, out, err = tallyctl("resend", "--socket", c.nodes[regions[0]].control, "--since",
                            "not-a-time")
    if rc != 2 or "is not a time" not in err:
        raise Failure("a bad --since: %d %r" % (rc, err))


TESTS = [
    test_json_and_csv_intake_counted_exactly,
    test_repeated_sigterm_during_shutdown_still_exits_0,
    test_bad_file_is_set_aside_with_its_error_and_nothing_sent,
    test_tallyctl_submit_feedback_and_exit_codes,
    test_aggregator_killed_with_a_backlog_counts_everything_once,
    test_node_killed_mid_stream_loses_and_doubles_nothing,
    test_failover_to_the_second_aggregator_address,
    test_correction_replaces_the_counted_figures,
    test_restore_from_backup_then_resend_counts_everything_once,
]

if __name__ == "__main__":
    only = sys.argv[1:]
    sys.exit(run_tests([t for t in TESTS if not only or t.__name__ in only], "test_node_e2e"))
