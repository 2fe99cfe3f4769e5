#!/usr/bin/python3
"""deploy/demo_feed.py on a general election, against a stand-in for the
aggregator's contests API (README, "The contests API") that counts the
protocol files the feed releases into the spool folders: with
--exit-when-done the feed exits 0 only when every contest is in and every
national, regional and district figure, the party list's seats (final, the
official 40, 8, 6, 6, 5, 4, 0) and each district's elected candidate equal
expected.json; it exits 1, naming what differs, when the seats or the
corrections are wrong, and 3 at once when there is no contests API.

The stand-in is written here, apart from the aggregator, from the API's
contract; tests/integration/test_demo_general.sh runs the real daemons."""

import http.server
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from fractions import Fraction

SRC = os.environ.get("TALLY_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"

fails = []


def expect(cond, what):
    if not cond:
        fails.append(what)
    return cond


def text(n):
    return n if isinstance(n, str) else n.get("en") or next(iter(n.values()))


class Count:
    """The counted protocols of a general election, from the spool
    folders, and the contests API's documents over them. mode: "ok";
    "no-threshold" (seats among every list: a wrong count); "first-count"
    (the lowest revision counts: corrections ignored)."""

    def __init__(self, election, nodes, mode):
        self.e = election
        self.nodes = nodes
        self.mode = mode
        self.seen = set()
        self.held = {}
        self.lock = threading.Lock()
        # Documents of the current count, dropped when a protocol comes in:
        # a poll between two files costs nothing, so the stand-in keeps up
        # with demo_feed on a loaded machine.
        self.cache = {}
        self.region_of = {p["id"]: r["id"] for r in election["regions"] for p in r["precincts"]}
        self.all = sorted(self.region_of)
        self.districts = {d["id"]: d["precincts"] for d in election["districts"]}

    def ingest(self):
        for region in sorted(os.listdir(self.nodes)):
            spool = os.path.join(self.nodes, region, "spool")
            for name in sorted(os.listdir(spool)):
                if not name.endswith(".json") or (region, name) in self.seen:
                    continue
                self.seen.add((region, name))
                with open(os.path.join(spool, name)) as f:
                    protocols = json.load(f)
                for p in protocols:
                    k = (p["contest_id"], p["precinct_id"])
                    old = self.held.get(k)
                    later = old is None or (p["revision"] < old["revision"] if self.mode == "first-count"
                                            else p["revision"] > old["revision"])
                    if later:
                        self.held[k] = p
                        self.cache.clear()

    def scope(self, c):
        s = c.get("scope", "national")
        return self.all if s == "national" else sorted(self.districts[s["district"]])

    def figures(self, c, pids):
        ids = [o["id"] for o in c["options"]]
        f = {"precincts_total": len(pids), "precincts_reported": 0, "voters_registered": 0, "ballots_cast": 0,
             "ballots_invalid": 0, "ballots_not_counted": 0, "votes": {o: 0 for o in ids}, "conflicts": 0}
        for pid in pids:
            p = self.held.get((c["id"], pid))
            if p:
                f["precincts_reported"] += 1
                for k in ("voters_registered", "ballots_cast", "ballots_invalid", "ballots_not_counted"):
                    f[k] += p[k]
                for o, n in p["votes"].items():
                    f["votes"][o] += n
        f["valid"] = f["ballots_cast"] - f["ballots_invalid"]
        f["pct_of"] = "valid" if c["kind"] == "party_list" else "ballots_cast"
        d = f[f["pct_of"]]
        f["votes_pct"] = {o: round(100.0 * n / d, 2) if d else 0.0 for o, n in f["votes"].items()}
        f["turnout_pct"] = round(100.0 * f["ballots_cast"] / f["voters_registered"], 2) if f["voters_registered"] else 0.0
        return f

    def decision(self, c, nat):
        done = nat["precincts_reported"] == nat["precincts_total"]
        votes = nat["votes"]
        against = {o["id"] for o in c["options"] if o.get("against_all")}
        if c["kind"] == "party_list":
            r = c["rules"]
            lists = [o["id"] for o in c["options"] if o["id"] not in against and
                     (self.mode == "no-threshold" or nat["valid"] and Fraction(votes[o["id"]], nat["valid"]) >= Fraction(r["threshold_pct"], 100))]
            seats = {o["id"]: 0 for o in c["options"]}
            total = sum(votes[o] for o in lists)
            if total:
                share = {o: Fraction(votes[o] * c["seats"], total) for o in lists}
                for o in lists:
                    seats[o] = int(share[o])
                order = [o["id"] for o in c["options"]]
                for o in sorted(lists, key=lambda o: (int(share[o]) - share[o], order.index(o)))[: c["seats"] - sum(seats.values())]:
                    seats[o] += 1
            return {"status": "final" if done else "provisional", "final": done, "reasons": [], "passed": lists,
                    "seats": seats, "vacant": 0, "tie": None}
        ranking = sorted(votes, key=lambda o: (-votes[o], [x["id"] for x in c["options"]].index(o)))
        cands = [o for o in ranking if o not in against]
        top_against = max([votes[o] for o in against] or [-1])
        won = done and votes[cands[0]] > votes[cands[1]] and votes[cands[0]] > top_against
        return {"status": "elected" if won else "undetermined", "final": done, "reasons": [], "ranking": ranking,
                "elected": [cands[0]] if won else [], "runoff": None, "tie": None}

    def contest_head(self, c):
        # An option's name defaults to its party's, else its id.
        parties = {p["id"]: p["name"] for p in self.e.get("parties", [])}
        return {"id": c["id"], "name": text(c["name"]), "kind": c["kind"], "scope": c.get("scope", "national"),
                "seats": c.get("seats", 1),
                "options": [{"id": o["id"], "name": text(o.get("name", parties.get(o.get("party"), o["id"]))),
                             "against_all": bool(o.get("against_all"))} for o in c["options"]],
                "rules": c.get("rules", {})}

    def listing(self):
        out = []
        for c in self.e["contests"]:
            nat = self.figures(c, self.scope(c))
            d = self.decision(c, nat)
            out.append({"id": c["id"], "name": text(c["name"]), "kind": c["kind"], "scope": c.get("scope", "national"),
                        "seats": c.get("seats", 1), "precincts_total": nat["precincts_total"],
                        "precincts_reported": nat["precincts_reported"], "status": d["status"], "final": d["final"],
                        "leader": None})
        return {"election_id": self.e["election_id"], "sequence": len(self.held), "as_of": 0, "contests": out}

    def document(self, cid):
        c = next((c for c in self.e["contests"] if c["id"] == cid), None)
        if c is None:
            return None
        pids = self.scope(c)
        inside = set(pids)
        regions = [r for r in self.e["regions"] if any(p["id"] in inside for p in r["precincts"])]
        districts = [d for d in self.e["districts"] if set(d["precincts"]) <= inside]
        nat = self.figures(c, pids)
        return {"election_id": self.e["election_id"], "sequence": len(self.held), "as_of": 0,
                "contest": self.contest_head(c), "national": nat,
                "regions": [dict(self.figures(c, [p["id"] for p in r["precincts"] if p["id"] in inside]), id=r["id"],
                                 name=text(r["name"])) for r in regions],
                "districts": [dict(self.figures(c, sorted(d["precincts"])), id=d["id"], name=text(d["name"]))
                              for d in districts],
                "decision": self.decision(c, nat)}


def serve(count, api):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            doc = None
            if api:
                with count.lock:
                    count.ingest()
                    if self.path in count.cache:
                        doc = count.cache[self.path]
                    elif self.path == "/v1/contests":
                        doc = count.cache[self.path] = count.listing()
                    else:
                        m = re.fullmatch(r"/v1/contests/([A-Za-z0-9_.:-]+)", self.path)
                        doc = count.document(m.group(1)) if m else None
                        if doc is not None:
                            count.cache[self.path] = doc
            body = json.dumps(doc).encode() if doc is not None else b'{"error": "not found"}'
            self.send_response(200 if doc is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # demo_feed gave up on a slow answer and closed

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def night(tmp, election, mode, api=True, grace=6):
    """One replay: fresh spool folders, the stand-in, demo_feed.py. (status, output, final document).
    A wrong count is only reported once demo_feed's grace is over, and the
    problems it names are those of that moment: a night that must fail gets
    a grace long enough for every protocol to be in on a loaded machine, so
    that what it names is the wrong figure, not a precinct still on its way."""
    nodes = os.path.join(tmp, "nodes-" + mode)
    for r in election["regions"]:
        os.makedirs(os.path.join(nodes, r["id"], "spool"))
    httpd = serve(Count(election, nodes, mode), api)
    final = os.path.join(tmp, "final-%s.json" % mode)
    try:
        p = subprocess.run([PY, os.path.join(SRC, "deploy", "demo_feed.py"), "--results", os.path.join(tmp, "results"),
                            "--nodes", nodes, "--url", "http://127.0.0.1:%d" % httpd.server_address[1], "--seconds", "2",
                            "--interval", "0.4", "--grace", str(grace), "--exit-when-done", "--final", final],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    finally:
        httpd.shutdown()
        httpd.server_close()
    doc = json.load(open(final)) if os.path.exists(final) else None
    return p.returncode, p.stdout, doc


def main():
    tmp = tempfile.mkdtemp(prefix="test-demo-feed-general-")
    try:
        el = os.path.join(SRC, "deploy", "election.py")
        subprocess.run([PY, el, "mazhilis-2023", "--out", os.path.join(tmp, "election.json")], check=True)
        subprocess.run([PY, el, "results", "--election", os.path.join(tmp, "election.json"), "--out-dir",
                        os.path.join(tmp, "results"), "--corrections", "3"], check=True, stderr=subprocess.DEVNULL)
        election = json.load(open(os.path.join(tmp, "election.json")))

        rc, out, doc = night(tmp, election, "ok")
        print("\n".join("  | " + x for x in out.splitlines()[-6:]))
        expect(rc == 0, "a correct count: demo_feed exited %d" % rc)
        expect("every contest counted" in out, "a correct count: no 'every contest counted' line")
        expect(re.search(r"\| party list +10388/10388 \| turnout +52\.26 % \| AMANAT 53\.90 % 40 \| Auyl 10\.90 % 8 \| "
                         r"Respublica 8\.59 % 6 \| QHP 6\.80 % 5 \| Baytaq 2\.30 % 0 \| Aq Jol 8\.41 % 6 \| JSDP 5\.20 % 4 \| "
                         r"districts in 29/29, elected 29 \| files 10391/10391 \| final", out),
               "a correct count: no final display line with the seats")
        if expect(doc is not None, "a correct count: no --final document"):
            expect(sorted(doc["documents"]) == sorted(c["id"] for c in election["contests"]), "final: documents of every contest")
            seats = doc["documents"]["party-list"]["decision"]["seats"]
            expect([seats[o] for o in ("amanat", "auyl", "respublica", "aqjol", "qhp", "jsdp", "baytaq")] == [40, 8, 6, 6, 5, 4, 0],
                   "final: seats %s" % seats)

        rc, out, _ = night(tmp, election, "no-threshold", grace=15)
        expect(rc == 1, "seats without the threshold: demo_feed exited %d" % rc)
        expect("party-list: 'final' seats" in out and "the official ones are" in out,
               "seats without the threshold: not named in\n%s" % out[-1500:])

        rc, out, _ = night(tmp, election, "first-count", grace=15)
        expect(rc == 1, "corrections ignored: demo_feed exited %d" % rc)
        expect(re.search(r"demo: +party-list: votes \{", out) or re.search(r"demo: +otk-\d\d: votes \{", out),
               "corrections ignored: the differing votes are not named in\n%s" % out[-1500:])

        rc, out, _ = night(tmp, election, "no-api", api=False)
        expect(rc == 3 and "has no contests API (GET /v1/contests: 404)" in out, "no contests API: exit %d, %r" % (rc, out[-200:]))
    finally:
        subprocess.run(["rm", "-rf", tmp])
    if fails:
        print("FAIL:\n  " + "\n  ".join(fails))
        sys.exit(1)
    print("PASS test_demo_feed_general")


if __name__ == "__main__":
    main()
