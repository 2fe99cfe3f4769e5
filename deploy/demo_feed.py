#!/usr/bin/python3
"""The demo's night of counting: releases protocol files into the regional
nodes' spool folders on a schedule and prints the aggregator's national
totals as they move.

  demo_feed.py --results DIR --nodes DIR --url http://127.0.0.1:8080
               [--seconds 60] [--interval 2] [--exit-when-done] [--final FILE]

Schedule (deterministic): a few precincts report early, most in a surge
around the middle, stragglers towards the end, and the corrections
(revision 2, listed in expected.json) last. Each file is written to the
spool as <name>.tmp and renamed, so a node never reads half a file.

Done means every file was released and the aggregator's national totals
equal expected.json's exactly. With --exit-when-done it then prints the
final totals and exits 0 (1 if that has not happened --grace seconds after
the last release). Stdlib only.
"""

import argparse
import json
import os
import random
import shutil
import signal
import sys
import time
import urllib.error
import urllib.request

FIELDS = ["voters_registered", "ballots_cast", "ballots_invalid", "ballots_not_counted"]


def schedule(results, seconds, expected):
    """[(release time, region, file name)], sorted by time."""
    rnd = random.Random(20260315)
    fixes = {c["file"] for c in expected.get("corrections", [])}
    out = []
    for region in sorted(os.listdir(results)):
        d = os.path.join(results, region)
        if not os.path.isdir(d):
            continue
        # Regions differ: some count fast, some slowly.
        pace = rnd.uniform(-0.12, 0.12)
        for name in sorted(os.listdir(d)):
            if not (name.endswith(".json") or name.endswith(".csv")):
                continue
            if "%s/%s" % (region, name) in fixes:
                t = rnd.uniform(0.93, 0.97)
            else:
                u = rnd.random()
                if u < 0.04:
                    t = rnd.uniform(0.02, 0.15)  # the first, small rural precincts
                elif u < 0.90:
                    t = rnd.triangular(0.15, 0.80, 0.42) + pace  # the surge
                else:
                    t = rnd.uniform(0.70, 0.90)  # stragglers
                t = min(max(t, 0.01), 0.90)
            out.append((t * seconds, region, name))
    out.sort()
    return out


def release(results, nodes, region, name):
    spool = os.path.join(nodes, region, "spool")
    tmp = os.path.join(spool, name + ".tmp")
    shutil.copyfile(os.path.join(results, region, name), tmp)
    os.replace(tmp, os.path.join(spool, name))


def fetch(url):
    try:
        with urllib.request.urlopen(url + "/v1/totals", timeout=5) as r:
            return json.load(r)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def matches(totals, expected):
    n, e = totals["national"], expected["national"]
    if n.get("precincts_reported") != e["precincts"] or n.get("conflicts", 0) != 0:
        return False
    if any(n.get(f) != e[f] for f in FIELDS):
        return False
    return n.get("votes") == e["votes"]


def pct(x):
    return "%6.2f %%" % x if isinstance(x, (int, float)) else "   -   "


def line(totals, released, nfiles):
    n = totals["national"]
    vp = n.get("votes_pct", {})
    opts = " | ".join("%s %s" % (o, pct(vp.get(o))) for o in sorted(n.get("votes", {}), key=lambda o: o != "yes"))
    decision = totals.get("decision", {}) or {}
    return "%s | %6d/%d precincts | turnout %s | %s | conflicts %d | files %d/%d%s" % (
        time.strftime("%H:%M:%S"),
        n.get("precincts_reported", 0),
        n.get("precincts_total", 0),
        pct(n.get("turnout_pct")),
        opts,
        n.get("conflicts", 0),
        released,
        nfiles,
        (" | " + decision["status"]) if isinstance(decision, dict) and "status" in decision else "",
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--nodes", required=True)
    ap.add_argument("--url", required=True)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--interval", type=float, default=2.0)
    ap.add_argument("--grace", type=float, default=240.0)
    ap.add_argument("--exit-when-done", action="store_true")
    ap.add_argument("--final", default=None, help="write the final totals document here")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))

    expected = json.load(open(os.path.join(a.results, "expected.json")))
    plan = schedule(a.results, a.seconds, expected)
    print("demo: replaying %d protocol files (%d precincts, %d corrections) over %.0f s"
          % (len(plan), expected["national"]["precincts"], len(expected.get("corrections", [])), a.seconds), flush=True)
    t0 = time.monotonic()
    i = 0
    next_print = t0
    done_at = None
    last = None
    try:
        while True:
            now = time.monotonic()
            while i < len(plan) and plan[i][0] <= now - t0:
                release(a.results, a.nodes, plan[i][1], plan[i][2])
                i += 1
            if now >= next_print:
                next_print = now + a.interval
                totals = fetch(a.url)
                if totals is None:
                    print("%s | aggregator not answering at %s" % (time.strftime("%H:%M:%S"), a.url), flush=True)
                else:
                    text = line(totals, i, len(plan))
                    if done_at is None or text.split("|", 1)[1] != (last or "").split("|", 1)[-1]:
                        print(text, flush=True)
                    last = text
                    if i == len(plan) and matches(totals, expected):
                        if done_at is None:
                            done_at = now
                            n = totals["national"]
                            print("demo: all %d precincts counted in %.1f s; national totals equal expected.json"
                                  % (n["precincts_reported"], now - t0), flush=True)
                            if a.final:
                                with open(a.final, "w") as f:
                                    json.dump(totals, f, indent=1)
                            if a.exit_when_done:
                                return 0
                            print("demo: still serving; Ctrl-C stops it", flush=True)
                if done_at is None and a.exit_when_done and now - t0 > a.seconds + a.grace:
                    print("demo: totals did not reach expected.json %.0f s after the last file" % a.grace, flush=True)
                    if a.final and totals is not None:
                        with open(a.final, "w") as f:
                            json.dump(totals, f, indent=1)
                    return 1
            wake = min(next_print, t0 + plan[i][0]) if i < len(plan) else next_print
            time.sleep(max(0.0, min(0.25, wake - time.monotonic())))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
