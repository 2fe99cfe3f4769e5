#!/usr/bin/python3
"""Two aggregator instances on one PostgreSQL database (issue 10): a real
server from Debian's postgresql package (initdb in a temp folder), nodes
split between the instances, each listing both; one instance is killed
with SIGKILL mid-stream and its nodes fail over to the other. At the end:
exact totals, the same totals, tree head and log on both instances (the
killed one restarted and caught up), and `tallyctl verify` accepts the log
from either. Then the database is restarted under the instances: they stop
acknowledging, say so in /healthz and STATUS, and recover on their own."""
import json
import os
import signal
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgserver  # noqa: E402
from scenario import (TALLYCTL_BIN, Failure, Skip, log, run_main, scenario, sh,  # noqa: E402
                      wait_until)


PRECINCTS = 600


def tallyctl(*args, timeout=300):
    r = subprocess.run([TALLYCTL_BIN] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def shared_log_key(c):
    """One Ed25519 tree head key for every instance (PKCS#8 PEM, mode 0600)."""
    key = os.path.join(c.tmp, "log.key")
    pub = os.path.join(c.tmp, "log.pub.pem")
    sh(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key])
    os.chmod(key, 0o600)
    sh(["openssl", "pkey", "-in", key, "-pubout", "-out", pub])
    return key, pub


def published(agg):
    """/v1/totals without its wall-clock field."""
    t = agg.totals()
    t.pop("as_of", None)
    return t


def same_publication(a, b):
    """Both instances publish the same totals and a head of the same tree."""
    ta, tb = published(a), published(b)
    if ta != tb:
        return False
    sa, sb = a.get_json("/v1/log/sth"), b.get_json("/v1/log/sth")
    return (sa["tree_size"] == sb["tree_size"] == ta["sequence"] and
            sa["root_hash"] == sb["root_hash"] and sa["key_id"] == sb["key_id"])


def verify(c, agg, pub, state):
    rc, out, err = tallyctl("verify", "--election", c.election_path, "--trusted-keys",
                            os.path.join(c.pki, "aggregator", "trusted"), "--log-key", pub,
                            "--url", "http://127.0.0.1:%d" % agg.http_port, "--state", state)
    if rc != 0:
        raise Failure("tallyctl verify against %s: exit %d\n%s\n%s" % (agg.name, rc, out[-3000:],
                                                                      err[-3000:]))
    return out


def corrections(c, rng, name, per_region):
    """(node, CSV file) pairs carrying the next revision of per_region counted
    precincts in each region, one vote moved between the options, so that
    every file is a real correction (never a conflict with earlier ones)."""
    cols = ["precinct_id", "revision", "voters_registered", "ballots_received",
            "ballots_issued", "ballots_cancelled", "ballots_cast", "ballots_invalid",
            "ballots_not_counted", "yes", "no"]
    out = []
    folder = os.path.join(c.tmp, name)
    os.makedirs(folder, exist_ok=True)
    for region, node in c.nodes.items():
        ids = sorted(p for p, r in c.expected.region_of.items()
                     if r == region and p in c.expected.latest)
        lines = [",".join(cols)]
        for p in rng.sample(ids, min(per_region, len(ids))):
            row = dict(c.expected.latest[p])
            votes = dict(row["votes"])
            if votes["yes"] > 0:
                votes["yes"] -= 1
                votes["no"] += 1
            else:
                votes["no"] -= 1
                votes["yes"] += 1
            row["revision"] += 1
            lines.append(",".join(str(votes[k]) if k in votes else str(row[k]) for k in cols))
        path = os.path.join(folder, "%s-%s.csv" % (region, name))
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        out.append((node, path))
    return out


def instance_rows(pg, db):
    return {r[0]: int(r[1]) for r in pg.psql(
        db, "SELECT instance, count(*) FROM submissions GROUP BY instance")}


@scenario("pg-two-instances")
def two_instances(c, rng):
    if not pgserver.available():
        raise Skip("no PostgreSQL server binaries")
    pg = pgserver.PgServer(fsync=False)
    try:
        run_two_instances(c, rng, pg)
    finally:
        for d in c.daemons:
            d.close()
        pg.close()


def run_two_instances(c, rng, pg):
    c.make_election(regions=4, precincts=PRECINCTS)
    dsn = pg.create_db("ha")
    key, pub = shared_log_key(c)
    extra = {"store": {"backend": "postgresql", "dsn": dsn}, "log": {"key": key}}
    a1 = c.add_aggregator(name="agg-1", extra=extra)
    a2 = c.add_aggregator(name="agg-2", extra=extra)
    a1.start()
    a2.start()
    # Half the regions prefer agg-1, half agg-2; every node lists both.
    for i, region in enumerate(c.regions()):
        ports = [a1.listen_port, a2.listen_port]
        if i % 2:
            ports.reverse()
        c.add_node(region, ports).start()
    first_of = {r: ("agg-1" if i % 2 == 0 else "agg-2") for i, r in enumerate(c.regions())}

    work = c.stream(fmt="csv", per_file=4, corrections=60)
    half = len(work) // 2
    log("%d protocol files for %d precincts" % (len(work), PRECINCTS))
    c.feed_all(work[:half])
    # Mid-stream: both instances have taken results, the nodes are not done.
    wait_until(lambda: a1.totals()["sequence"] >= c.expected.rows // 3, 120,
               "a third of the first half in the log")
    rows = instance_rows(pg, "ha")
    if rows.get("agg-1", 0) == 0 or rows.get("agg-2", 0) == 0:
        raise Failure("before the kill both instances should have stored results: %r" % rows)
    a1.kill(signal.SIGKILL)
    seq_at_kill = a2.totals()["sequence"]
    log("killed agg-1 with SIGKILL at sequence %d (rows per instance %r)" % (seq_at_kill, rows))
    # The second half arrives while agg-1 is dead.
    c.feed_all(work[half:])

    # agg-1's nodes fail over to agg-2; everything converges there, exactly.
    c.aggregator = a2
    c.daemons.remove(a1)
    c.converge(timeout=180)
    c.daemons.append(a1)
    after = instance_rows(pg, "ha")
    if after["agg-2"] <= rows["agg-2"]:
        raise Failure("agg-2 stored nothing after the kill: %r -> %r" % (rows, after))
    moved = pg.psql("ha", "SELECT count(*) FROM submissions WHERE instance = 'agg-2' AND "
                          "peer_region IN (%s)" % ",".join(
                              "'%s'" % r for r, f in first_of.items() if f == "agg-1"))
    if int(moved[0][0]) == 0:
        raise Failure("no node of agg-1 failed over to agg-2")
    log("%d results from agg-1's regions went to agg-2 after the failover" % int(moved[0][0]))

    # The log in the database is gapless and agrees with log_head.
    head = int(pg.psql("ha", "SELECT next_leaf FROM log_head")[0][0])
    stats = pg.psql("ha", "SELECT count(*), coalesce(min(leaf_index), 0), "
                          "coalesce(max(leaf_index), -1) FROM log")[0]
    if [int(x) for x in stats] != [head, 0, head - 1]:
        raise Failure("log rows %r do not make a gapless log of %d leaves" % (stats, head))
    if head != a2.totals()["sequence"]:
        raise Failure("log_head %d, agg-2 sequence %d" % (head, a2.totals()["sequence"]))

    # agg-1 comes back, rebuilds from the database, and publishes the same.
    a1.start()
    wait_until(lambda: same_publication(a1, a2), 30,
               "agg-1 and agg-2 to publish the same totals and tree head")
    state = os.path.join(c.tmp, "verify-state.json")
    out1 = verify(c, a1, pub, state)
    out2 = verify(c, a2, pub, state)
    log("tallyctl verify accepts the log from both instances:\n%s%s" % (out1[-300:], out2[-300:]))

    # More results through agg-1 only: agg-2 learns of them (LISTEN/NOTIFY).
    for n in c.nodes.values():
        n.stop()
    for region, n in c.nodes.items():
        # Point every node at agg-1 only, restart it.
        with open(n.config) as f:
            text = f.read()
        text = text.replace("127.0.0.1:%d, 127.0.0.1:%d" % (a2.listen_port, a1.listen_port),
                            "127.0.0.1:%d" % a1.listen_port)
        text = text.replace("127.0.0.1:%d, 127.0.0.1:%d" % (a1.listen_port, a2.listen_port),
                            "127.0.0.1:%d" % a1.listen_port)
        with open(n.config, "w") as f:
            f.write(text)
        n.aggregators = [a1.listen_port]
        n.start()
    late = corrections(c, rng, "late", 8)
    c.feed_all(late)
    c.aggregator = a1
    c.converge(timeout=120)
    wait_until(lambda: same_publication(a1, a2), 15,
               "agg-2 to follow agg-1's commits")
    verify(c, a2, pub, state)
    log("agg-2 followed the corrections stored by agg-1")

    # The database restarts under both instances: they say so, and recover.
    seq = a1.totals()["sequence"]
    pg.stop()
    for a in (a1, a2):
        wait_until(lambda a=a: a.get("/healthz")[0] == 503, 20,
                   "%s /healthz to report the lost database" % a.name)
        doc = json.loads(a.get("/healthz")[1])
        if doc.get("status") != "degraded" or "database unreachable" not in doc.get("reason", ""):
            raise Failure("%s /healthz while the database is down: %r" % (a.name, doc))
        wait_until(lambda a=a: "NOT ACKNOWLEDGING" in a.status_text(), 10,
                   "%s STATUS to say it is not acknowledging" % a.name)
    log("both instances report the lost database: %s" % a1.status_text())
    pg.start()
    for a in (a1, a2):
        wait_until(lambda a=a: a.get("/healthz")[0] == 200, 30,
                   "%s to recover on its own when the database returns" % a.name)
    # And they take results again, through either instance.
    c.feed_all(corrections(c, rng, "after-restart", 5))
    c.converge(timeout=120)
    wait_until(lambda: same_publication(a1, a2), 15, "both instances in step after the restart")
    if a1.totals()["sequence"] < seq:
        raise Failure("the published sequence went backwards: %d -> %d" %
                      (seq, a1.totals()["sequence"]))
    verify(c, a1, pub, state)
    for d in c.daemons:
        d.check_sanitizers()


if __name__ == "__main__":
    sys.exit(run_main(["pg-two-instances"]))
