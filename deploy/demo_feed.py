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
the last release).

A general election (expected.json with "contests") is followed through the
contests API (README, "The contests API"): the terminal shows the party
list's votes and seats and how many districts are in, and done means that
GET /v1/contests has every contest's precincts in, and that for every
contest GET /v1/contests/{id} gives exactly expected.json's national,
regional and district figures and its outcome: the party list's seats,
final (and the official seats where expected.json names them), each
district's elected candidate. An aggregator without the contests API
(GET /v1/contests answers 404) ends the run at once with status 3.
Stdlib only.
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
import urllib.parse
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


def get(url, path):
    """(HTTP status, decoded JSON or None); status None when nothing answered."""
    try:
        with urllib.request.urlopen(url + path, timeout=5) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as x:
        return x.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return None, None


def figures_problems(where, got, want):
    """What differs between a contests-API FIGURES object and expected.json's sums."""
    out = []
    if got.get("precincts_reported") != want["precincts"] or got.get("precincts_total") != want["precincts"]:
        out.append("%s: precincts %r/%r, expected %d" % (where, got.get("precincts_reported"), got.get("precincts_total"),
                                                        want["precincts"]))
    for f in FIELDS + ["valid", "votes"]:
        if got.get(f) != want[f]:
            out.append("%s: %s %r, expected %r" % (where, f, got.get(f), want[f]))
    if got.get("conflicts", 0) != 0:
        out.append("%s: %r conflicts" % (where, got.get("conflicts")))
    return out


def contests_problems(url, expected, documents):
    """Every way the aggregator's contests differ from expected.json (empty
    when they are equal); fills documents with what it fetched."""
    status, listing = get(url, "/v1/contests")
    if listing is None:
        return ["GET /v1/contests: %s" % (status or "no answer")]
    documents["contests"] = listing
    documents["documents"] = {}
    out = []
    listed = {c.get("id"): c for c in listing.get("contests", [])}
    if sorted(listed) != sorted(expected["contests"]):
        out.append("contests %s, expected %s" % (sorted(listed), sorted(expected["contests"])))
    official = expected.get("official")
    for cid, want in expected["contests"].items():
        c = listed.get(cid)
        if c is None:
            continue
        if c.get("precincts_reported") != c.get("precincts_total"):
            out.append("%s: %r of %r precincts in" % (cid, c.get("precincts_reported"), c.get("precincts_total")))
            continue
        status, doc = get(url, "/v1/contests/" + urllib.parse.quote(cid, safe=""))
        if doc is None:
            out.append("GET /v1/contests/%s: %s" % (cid, status or "no answer"))
            continue
        documents["documents"][cid] = doc
        out += figures_problems(cid, doc.get("national", {}), want["national"])
        for part in ("regions", "districts"):
            got = {x.get("id"): x for x in doc.get(part, [])}
            if sorted(got) != sorted(want[part]):
                out.append("%s: %s %s, expected %s" % (cid, part, sorted(got), sorted(want[part])))
                continue
            for xid, w in want[part].items():
                out += figures_problems("%s %s" % (cid, xid), got[xid], w)
        d = doc.get("decision", {})
        if not d.get("final"):
            out.append("%s: decision not final (%r)" % (cid, d.get("status")))
        if want["kind"] == "party_list" and "seats" in want:
            if d.get("status") != "final" or d.get("seats") != want["seats"]:
                out.append("%s: %r seats %r, expected final %r" % (cid, d.get("status"), d.get("seats"), want["seats"]))
            if official and official["contest"] == cid and d.get("seats") != official["seats"]:
                out.append("%s: seats %r, the official ones are %r" % (cid, d.get("seats"), official["seats"]))
        elif want["kind"] == "candidate" and want.get("elected"):
            if d.get("status") != "elected" or d.get("elected") != want["elected"]:
                out.append("%s: %r %r, expected elected %r" % (cid, d.get("status"), d.get("elected"), want["elected"]))
    return out


def all_in(listing):
    cs = listing.get("contests", []) if listing else []
    return bool(cs) and all(c.get("precincts_reported") == c.get("precincts_total") for c in cs)


def general_line(listing, doc, released, nfiles):
    """The party list's progress, votes and seats; districts in and elected."""
    n = doc.get("national", {})
    vp = n.get("votes_pct", {})
    seats = (doc.get("decision") or {}).get("seats") or {}
    opts = " | ".join("%s %s %d" % (o.get("name", o["id"]), pct(vp.get(o["id"])).strip(), seats.get(o["id"], 0))
                      for o in doc.get("contest", {}).get("options", []) if not o.get("against_all"))
    cands = [c for c in listing.get("contests", []) if c.get("kind") == "candidate"]
    return "%s | party list %6d/%d | turnout %s | %s | districts in %d/%d, elected %d | files %d/%d | %s" % (
        time.strftime("%H:%M:%S"),
        n.get("precincts_reported", 0),
        n.get("precincts_total", 0),
        pct(n.get("turnout_pct")),
        opts,
        sum(1 for c in cands if c.get("precincts_reported") == c.get("precincts_total")),
        len(cands),
        sum(1 for c in cands if c.get("status") == "elected"),
        released,
        nfiles,
        (doc.get("decision") or {}).get("status", "-"),
    )


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
    general = "contests" in expected
    if general:
        print("demo: replaying %d protocol files (%d precincts, %d protocols of %d contests, %d corrections) over %.0f s"
              % (len(plan), expected["precincts"], expected["protocols"], len(expected["contests"]),
                 len(expected.get("corrections", [])), a.seconds), flush=True)
        status, _ = get(a.url, "/v1/contests")
        if status == 404:
            print("demo: the aggregator at %s has no contests API (GET /v1/contests: 404); "
                  "a general election needs it" % a.url, flush=True)
            return 3
    else:
        print("demo: replaying %d protocol files (%d precincts, %d corrections) over %.0f s"
              % (len(plan), expected["national"]["precincts"], len(expected.get("corrections", [])), a.seconds), flush=True)
    t0 = time.monotonic()
    i = 0
    next_print = t0
    done_at = None
    last = None
    totals = None
    problems = []
    try:
        while True:
            now = time.monotonic()
            while i < len(plan) and plan[i][0] <= now - t0:
                release(a.results, a.nodes, plan[i][1], plan[i][2])
                i += 1
            if now >= next_print:
                next_print = now + a.interval
                if general:
                    status, listing = get(a.url, "/v1/contests")
                    party = next((cid for cid, c in expected["contests"].items() if c["kind"] == "party_list"), None)
                    doc = None
                    if listing is not None and party:
                        doc = get(a.url, "/v1/contests/" + urllib.parse.quote(party, safe=""))[1]
                    totals = {"contests": listing} if listing is not None else None
                    text = general_line(listing, doc, i, len(plan)) if doc is not None else None
                else:
                    totals = fetch(a.url)
                    text = line(totals, i, len(plan)) if totals is not None else None
                if totals is None:
                    print("%s | aggregator not answering at %s" % (time.strftime("%H:%M:%S"), a.url), flush=True)
                else:
                    if text and (done_at is None or text.split("|", 1)[1] != (last or "").split("|", 1)[-1]):
                        print(text, flush=True)
                    last = text
                    done = False
                    if i == len(plan):
                        if general:
                            if all_in(listing):
                                documents = {}
                                problems = contests_problems(a.url, expected, documents)
                                done = not problems
                                if done:
                                    totals = documents
                            else:
                                problems = ["%s: %s of %s precincts in" % (c.get("id"), c.get("precincts_reported"),
                                                                           c.get("precincts_total"))
                                            for c in listing.get("contests", [])
                                            if c.get("precincts_reported") != c.get("precincts_total")]
                        else:
                            done = matches(totals, expected)
                    if done and done_at is None:
                        done_at = now
                        if general:
                            print("demo: every contest counted in %.1f s (%d protocols); every total equals expected.json"
                                  % (now - t0, expected["protocols"]), flush=True)
                        else:
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
                    for p in problems[:20]:
                        print("demo:   %s" % p, flush=True)
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
