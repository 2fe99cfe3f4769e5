#!/usr/bin/python3
"""Crash scenarios: kill -9 of the aggregator at random moments during a
multi-node stream, many times in a row; kill -9 of nodes mid-file and
mid-send; both at once. After every aggregator crash, before it restarts,
the nodes' delivered entries are read; after the restart each must be in
the store. At the end the totals equal the independent sum exactly, every
precinct is counted once at its highest revision, and no precinct is in
conflict (a node that re-signed a protocol after a crash would make one).

The crash loops are also what tests/soak.sh repeats; TALLY_CRASH_ROUNDS
sets the number of kills per scenario (default 6)."""
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import Failure, log, run_main, scenario  # noqa: E402

ROUNDS = int(os.environ.get("TALLY_CRASH_ROUNDS", "6"))


def crash_aggregator(c, snap_check=True):
    """kill -9, read the nodes' delivered entries, restart, check them."""
    c.aggregator.kill(signal.SIGKILL)
    c.stats["crash_points"] += 1
    snap = c.delivered_snapshot() if snap_check else None
    c.aggregator.start()
    if snap is not None:
        c.stats["acked_checked"] = c.stats.get("acked_checked", 0) + c.check_acked_stored(snap)


@scenario("aggregator-crash-loop")
def aggregator_crash_loop(c, rng):
    c.start(regions=4, precincts=400)
    work = c.stream()
    per_round = max(1, len(work) // ROUNDS)
    for r in range(ROUNDS):
        for node, f in work[r * per_round:(r + 1) * per_round]:
            c.feed(node, f)
        # Random moment: just after the drop (mid-intake), mid-stream, or later.
        time.sleep(rng.choice([0.0, 0.05, 0.2]) + rng.random() * 0.6)
        crash_aggregator(c)
    for node, f in work[ROUNDS * per_round:]:
        c.feed(node, f)
    # Kill once more while nodes hold a backlog against a dead aggregator.
    c.aggregator.kill(signal.SIGKILL)
    c.stats["crash_points"] += 1
    time.sleep(1.0 + rng.random())
    c.aggregator.start()
    c.converge(timeout=120)


@scenario("node-crash-loop")
def node_crash_loop(c, rng):
    # Big files: a kill lands mid-file (parsing, signing, committing), or
    # mid-send (the outbox streaming to the aggregator).
    c.start(regions=3, precincts=300)
    work = c.stream(per_file=20, corrections=15)
    for i, (node, f) in enumerate(work):
        c.feed(node, f)
        if i % 2 == 0 or rng.random() < 0.5:
            victim = rng.choice(list(c.nodes.values()))
            time.sleep(rng.random() * 0.4)
            victim.kill(signal.SIGKILL)
            c.stats["crash_points"] += 1
            victim.start()
    c.converge(timeout=120)


@scenario("both-crash-loop")
def both_crash_loop(c, rng):
    c.start(regions=4, precincts=400)
    work = c.stream(per_file=25, corrections=20)
    per_round = max(1, len(work) // ROUNDS)
    for r in range(ROUNDS):
        for node, f in work[r * per_round:(r + 1) * per_round]:
            c.feed(node, f)
        time.sleep(rng.random() * 0.5)
        victims = rng.sample(list(c.nodes.values()), rng.randint(1, len(c.nodes)))
        # Everyone dies at (nearly) the same moment, in a random order.
        order = victims + [c.aggregator]
        rng.shuffle(order)
        for d in order:
            d.kill(signal.SIGKILL)
            c.stats["crash_points"] += 1
        snap = c.delivered_snapshot()
        c.aggregator.start()
        c.stats["acked_checked"] = c.stats.get("acked_checked", 0) + c.check_acked_stored(snap)
        for d in victims:
            d.start()
    for node, f in work[ROUNDS * per_round:]:
        c.feed(node, f)
    c.converge(timeout=120)


@scenario("aggregator-sigterm-under-load")
def sigterm_under_load(c, rng):
    # A clean stop while submits are in flight must answer what it
    # committed and exit 0; nothing is lost across it.
    c.start(regions=2, precincts=200)
    work = c.stream(per_file=10, corrections=10)
    half = len(work) // 2
    for node, f in work[:half]:
        c.feed(node, f)
    time.sleep(0.3)
    c.aggregator.stop()
    snap = c.delivered_snapshot()
    c.aggregator.start()
    c.check_acked_stored(snap)
    for node, f in work[half:]:
        c.feed(node, f)
    c.converge(timeout=120)
    if c.stats["crash_points"] != 0:
        raise Failure("no crash expected")


@scenario("aggregator-crash-in-recovery")
def crash_in_recovery(c, rng):
    # Kill -9 while the aggregator rebuilds its totals from the store, before
    # and around READY=1, again and again; then let it come up for good.
    c.start(regions=4, precincts=400)
    work = c.stream(per_file=40, corrections=20)
    c.feed_all(work[:len(work) // 2])
    time.sleep(1.0)
    for _ in range(ROUNDS):
        c.aggregator.kill(signal.SIGKILL)
        c.stats["crash_points"] += 1
        c.aggregator.start(wait_ready=False)
        time.sleep(rng.random() * 0.4)
    c.aggregator.kill(signal.SIGKILL)
    c.stats["crash_points"] += 1
    snap = c.delivered_snapshot()
    c.aggregator.start()
    c.stats["acked_checked"] = c.stats.get("acked_checked", 0) + c.check_acked_stored(snap)
    c.feed_all(work[len(work) // 2:])
    c.converge(timeout=120)


@scenario("aggregator-frozen")
def frozen(c, rng):
    # SIGSTOP: the TCP connections stay up but nothing answers for 6 s;
    # after SIGCONT everything carries on, and nothing was lost meanwhile.
    c.start(regions=3, precincts=300)
    work = c.stream(per_file=20, corrections=12)
    c.feed_all(work[:len(work) // 2])
    time.sleep(0.3)
    c.aggregator.send(signal.SIGSTOP)
    c.feed_all(work[len(work) // 2:])
    time.sleep(6)
    c.aggregator.send(signal.SIGCONT)
    c.converge(timeout=120)


@scenario("twin-nodes-one-region")
def twin_nodes(c, rng):
    # Two nodes for one region (a standby that also got the files), both
    # killed at random: the same file signed by both must reach the
    # aggregator as the same bytes (DUPLICATE), never as a conflict.
    c.make_election(regions=2, precincts=200)
    c.add_aggregator().start()
    A, B = c.regions()
    a1 = c.add_node(A).start()
    a2 = c.add_node(A, name="node-%s-standby" % A)
    c.nodes[A] = a1
    c.nodes[A + "/standby"] = a2
    a2.start()
    c.add_node(B).start()
    files, _ = c.make_results("csv", per_file=10, corrections=6)
    for f in files[A]:
        c.feed(a1, f)
        a2.drop(f)
        if rng.random() < 0.5:
            victim = rng.choice([a1, a2])
            time.sleep(rng.random() * 0.3)
            victim.kill(signal.SIGKILL)
            c.stats["crash_points"] += 1
            victim.start()
    for f in files[B]:
        c.feed(c.nodes[B], f)
    c.converge(timeout=120)
    dup = sum(1 for e in a2.outbox() + a1.outbox() if e["state"] == 1 and e["outcome"] == 2)
    if dup == 0:
        raise Failure("no DUPLICATE outcome: the twins never sent the same protocol")


if __name__ == "__main__":
    ALL = ["aggregator-crash-loop",
           "node-crash-loop",
           "both-crash-loop",
           "aggregator-sigterm-under-load",
           "aggregator-crash-in-recovery",
           "aggregator-frozen",
           "twin-nodes-one-region"]
    sys.exit(run_main(sys.argv[1:] or ALL))
