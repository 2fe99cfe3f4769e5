#!/usr/bin/python3
"""Network faults between nodes and the aggregator, through a TCP fault
proxy on loopback (scenario.FaultProxy): segments delivered late and in
random pieces, connections cut mid-frame again and again, a long
partition, a trickle of one byte at a time, and aggregator addresses that
refuse, or accept TCP but never answer TLS. The nodes must recover on their
own (reconnect, fail over down their list and come back) and converge on
exactly the expected totals, with nothing rejected and nothing doubled."""
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import FaultProxy, Failure, free_port, log, run_main, scenario  # noqa: E402


def quarter(work, i):
    n = (len(work) + 3) // 4
    return work[i * n:(i + 1) * n]


@scenario("network-chaos")
def chaos(c, rng):
    c.start(regions=4, precincts=400, proxy=True)
    work = c.stream(per_file=20, corrections=20)
    proxies = c.proxies

    log("phase 1: late, chopped delivery")
    for p in proxies:
        p.set(delay=0.02, chop=0.01)
    c.feed_all(quarter(work, 0))
    time.sleep(2)

    log("phase 2: connections cut mid-frame")
    for p in proxies:
        p.set(delay=0.0, chop=0.0, cut_after=(10, 4000))
    c.feed_all(quarter(work, 1))
    for _ in range(4):
        time.sleep(0.5 + rng.random())
        for p in proxies:
            p.cut_all()
    for p in proxies:
        p.set(cut_after=None)

    log("phase 3: an 8 s partition")
    for p in proxies:
        p.partition(True)
    c.feed_all(quarter(work, 2))
    time.sleep(8)
    for p in proxies:
        p.partition(False)

    log("phase 4: one byte at a time")
    for p in proxies:
        p.set(dribble=0.0002)
    c.feed_all(quarter(work, 3))
    time.sleep(3)
    for p in proxies:
        p.set(dribble=0.0)
    c.converge(timeout=150)
    cuts = sum(p.stats["cut"] for p in proxies)
    c.stats["crash_points"] += cuts
    log("proxies: %s" % [p.stats for p in proxies])
    if cuts == 0:
        raise Failure("no connection was cut: the scenario tested nothing")


@scenario("network-failover")
def failover(c, rng):
    c.make_election(regions=4, precincts=200)
    agg = c.add_aggregator().start()
    A, B, C, D = c.regions()
    black = c.add_proxy(agg.listen_port)
    black.set(mode="blackhole")       # accepts TCP, never answers TLS
    dead = free_port()                  # nothing listens: connection refused
    first = c.add_proxy(agg.listen_port)
    second = c.add_proxy(agg.listen_port)
    c.add_node(A, [black.port, agg.listen_port]).start()
    c.add_node(B, [dead, agg.listen_port]).start()
    c.add_node(C, [first.port, second.port]).start()
    c.add_node(D, [dead, black.port, agg.listen_port]).start()
    work = c.stream(per_file=10, corrections=10)
    # A few of C's files wait for the last act.
    held = [w for w in work if w[0].region == C][-3:]
    work = [w for w in work if w not in held]
    half = len(work) // 2
    c.feed_all(work[:half])
    time.sleep(2)
    # C's first address goes dark mid-stream and stays so: C must move on.
    first.partition(True)
    c.feed_all(work[half:])
    c.converge(timeout=150)
    if second.stats["accepted"] == 0:
        raise Failure("node %s never tried its second aggregator address" % C)
    if black.stats["blackholed"] == 0:
        raise Failure("no node tried the silent address: the scenario tested nothing")
    # And back up the list: with the first address healed and the second
    # cut, C returns to the first.
    first.partition(False)
    second.partition(True)
    before = first.stats["accepted"]
    c.feed_all(held)
    c.converge(timeout=150)
    log("failover: silent %s, first %s, second %s" % (black.stats, first.stats, second.stats))
    if first.stats["accepted"] == before:
        raise Failure("node %s did not come back to its first address" % C)


if __name__ == "__main__":
    sys.exit(run_main(sys.argv[1:] or ["network-chaos", "network-failover"]))
