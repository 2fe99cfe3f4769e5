#!/usr/bin/python3
"""Reloads under load: a region's signing key rotated (deploy/pki.sh
rotate-key) while its node holds a backlog signed with the old key, the
aggregator reloading its trusted keys with SIGHUP and the node restarted
with the new key; and a storm of SIGHUPs during a multi-node stream. Nothing
may be rejected (the old key stays trusted for what it signed), sessions
carry on, and the totals converge exactly."""
import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import Failure, Signer, log, run_main, scenario, sh, SOURCE  # noqa: E402


@scenario("key-rotation-under-load")
def rotation(c, rng):
    c.make_election(regions=3, precincts=300)
    agg = c.add_aggregator().start()
    A = c.regions()[0]
    proxy = c.add_proxy(agg.listen_port)
    for r in c.regions():
        c.add_node(r, [proxy.port] if r == A else None).start()
    work = c.stream(per_file=10, corrections=9)
    mine = [w for w in work if w[0].region == A]
    others = [w for w in work if w[0].region != A]
    half = len(mine) // 2

    # A's link is down: its first half waits in the outbox, signed with the old key.
    proxy.partition(True)
    c.feed_all(mine[:half] + others[:len(others) // 2])
    node = c.nodes[A]
    old_key = Signer(os.path.join(c.pki, "regions", A, "sign.key")).key_id
    time.sleep(2)
    if not any(e["state"] == 0 for e in node.outbox()):
        raise Failure("nothing queued behind the partition: the scenario tests nothing")

    sh(["bash", os.path.join(SOURCE, "deploy", "pki.sh"), "rotate-key", "--out", c.pki,
        "--region", A])
    new_key = Signer(os.path.join(c.pki, "regions", A, "sign.key")).key_id
    if new_key == old_key:
        raise Failure("rotate-key kept the same signing key")
    t0 = time.monotonic()
    agg.send(signal.SIGHUP)
    node.kill(signal.SIGKILL)
    node.start()
    c.feed_all(mine[half:] + others[len(others) // 2:])
    proxy.partition(False)
    c.converge(timeout=120)
    if agg.notify.count("RELOADING", "1", t0) < 1:
        raise Failure("SIGHUP did not send RELOADING=1")
    if agg.runs != 1 or not agg.running():
        raise Failure("the aggregator restarted")
    log("rotated %s's key %s... -> %s...; backlog signed with the old key accepted" %
        (A, old_key[:12], new_key[:12]))


@scenario("sighup-storm")
def sighup_storm(c, rng):
    c.start(regions=4, precincts=400)
    agg = c.aggregator
    work = c.stream(per_file=20, corrections=20)
    t0 = time.monotonic()
    for i, (node, f) in enumerate(work):
        c.feed(node, f)
        if i % 2 == 0:
            agg.send(signal.SIGHUP)
            time.sleep(rng.random() * 0.2)
    c.converge(timeout=120)
    n = agg.notify.count("RELOADING", "1", t0)
    if n < len(work) // 4:
        raise Failure("only %d RELOADING=1 for %d SIGHUPs" % (n, (len(work) + 1) // 2))
    if agg.runs != 1 or not agg.running():
        raise Failure("the aggregator restarted")


if __name__ == "__main__":
    ALL = ["key-rotation-under-load",
           "sighup-storm"]
    sys.exit(run_main(sys.argv[1:] or ALL))
