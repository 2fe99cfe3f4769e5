#!/usr/bin/python3
"""Disk faults: the aggregator's state_dir on a tiny tmpfs the test mounts,
filled to the last byte while nodes stream. The aggregator must stop
acknowledging (the nodes keep their entries queued), say why in its log and
in its notify STATUS, and resume by itself when space returns; killed -9
while the disk is full and restarted after, it must still hold everything
it acknowledged. The end totals equal the expected sums exactly. Skipped,
with the reason, where mounting is not permitted."""
import errno
import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import Failure, log, run_main, scenario, wait_until  # noqa: E402


def fill(folder):
    """Writes a filler file until the filesystem refuses another byte."""
    path = os.path.join(folder, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    written = 0
    try:
        for size in (1 << 20, 1 << 16, 4096, 512, 1):
            chunk = b"\0" * size
            while True:
                try:
                    written += os.write(fd, chunk)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return path, written


def queued(c):
    return sum(1 for n in c.nodes.values() for e in n.outbox() if e["state"] == 0)


FULL = re.compile(r"disk is full|no space|ENOSPC|SQLITE_FULL", re.I)


def log_offset(agg):
    try:
        return os.path.getsize(agg.log_path())
    except OSError:
        return 0


def disk_complaint(c, since_run, offset, since_t):
    """Log lines written after the fill, and STATUS texts sent after it,
    that say the disk is full."""
    agg = c.aggregator
    lines = []
    for run in range(since_run, agg.runs + 1):
        try:
            with open(agg.log_path(run), errors="replace") as f:
                if run == since_run:
                    f.seek(offset)
                lines += [ln for ln in f if FULL.search(ln)]
        except OSError:
            pass
    statuses = [s for s in agg.notify.statuses(since_t) if FULL.search(s)]
    return lines, statuses


@scenario("disk-full")
def disk_full(c, rng):
    c.make_election(regions=2, precincts=300)
    state = c.mount_tmpfs(os.path.join(c.tmp, "aggstate"), "4m")
    agg = c.add_aggregator(state_dir=state).start()
    for r in c.regions():
        c.add_node(r).start()
    work = c.stream(per_file=10, corrections=10)
    third = (len(work) + 2) // 3

    c.feed_all(work[:third])
    c.converge(timeout=90)

    log("act 1: the disk fills while the aggregator runs")
    t_fill, run_fill, off = time.monotonic(), agg.runs, log_offset(agg)
    filler, n = fill(state)
    log("  filler of %d bytes" % n)
    c.feed_all(work[third:2 * third])
    lines, statuses = wait_until(
        lambda: all(disk_complaint(c, run_fill, off, t_fill)) and
        disk_complaint(c, run_fill, off, t_fill),
        30, "the aggregator to say in its log and STATUS that the disk is full")
    log("  log: %s" % lines[0].strip()[:160])
    log("  STATUS: %s" % statuses[-1][:160])
    # It must not acknowledge what it cannot store: entries stay queued.
    time.sleep(2)
    stuck = queued(c)
    if stuck == 0:
        raise Failure("every entry was acknowledged although the disk is full")
    snap = c.delivered_snapshot()
    c.check_acked_stored(snap)
    log("  %d entries held back at the nodes, %d acknowledged ones all stored" %
        (stuck, len(snap)))

    log("act 2: space returns; it resumes on its own")
    os.unlink(filler)
    c.converge(timeout=90)
    if not agg.running() or agg.runs != run_fill:
        raise Failure("the aggregator had to be restarted to resume")

    log("act 3: full again, kill -9, space returns, restart")
    t_fill, run_fill, off = time.monotonic(), agg.runs, log_offset(agg)
    filler, n = fill(state)
    c.feed_all(work[2 * third:])
    wait_until(lambda: all(disk_complaint(c, run_fill, off, t_fill)), 30,
               "the aggregator to complain about the full disk again")
    agg.kill(signal.SIGKILL)
    c.stats["crash_points"] += 1
    snap = c.delivered_snapshot()
    os.unlink(filler)
    agg.start()
    c.check_acked_stored(snap)
    c.converge(timeout=90)


@scenario("node-disk-full")
def node_disk_full(c, rng):
    # The node's outbox on a tiny disk: a file it cannot commit stays in the
    # spool (not moved to accepted/, nothing sent), the log says why, and it
    # is taken once space returns; a kill -9 meanwhile loses nothing.
    c.make_election(regions=2, precincts=200)
    c.add_aggregator().start()
    A, B = c.regions()
    node = c.add_node(A)
    c.mount_tmpfs(node.state_dir, "2m")
    node.start()
    c.add_node(B).start()
    work = c.stream(per_file=10, corrections=6)
    mine = [w for w in work if w[0] is node]
    others = [w for w in work if w[0] is not node]
    c.feed_all(mine[:2] + others)
    c.converge(timeout=90)

    off = log_offset(node)
    filler, n = fill(node.state_dir)
    log("  node state_dir full (filler of %d bytes)" % n)
    c.feed_all(mine[2:5])

    def complained():
        with open(node.log_path(), errors="replace") as f:
            f.seek(off)
            return [ln for ln in f if FULL.search(ln) or "cannot queue" in ln]
    lines = wait_until(complained, 30, "the node to say it cannot queue on a full disk")
    log("  node log: %s" % lines[0].strip()[:160])
    time.sleep(1)
    held = node.spool_pending()
    if not held:
        raise Failure("the node took files it could not commit (spool empty on a full disk)")
    accepted = os.listdir(os.path.join(node.spool, "accepted"))
    for w in mine[2:5]:
        if os.path.basename(w[1]) in accepted:
            raise Failure("%s moved to accepted/ while the outbox could not commit it" %
                          os.path.basename(w[1]))
    node.kill(signal.SIGKILL)
    c.stats["crash_points"] += 1
    os.unlink(filler)
    node.start()
    c.feed_all(mine[5:])
    c.converge(timeout=90)


if __name__ == "__main__":
    sys.exit(run_main(sys.argv[1:] or ["disk-full", "node-disk-full"]))
