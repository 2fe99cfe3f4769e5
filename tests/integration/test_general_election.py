#!/usr/bin/python3
"""A general election through the real aggregator, fed by the independent
Python client (tallyclient.py): a national party list (Hare, 5 %), a
president by absolute majority, two single-mandate districts that each
cross the line between the two regions, and a referendum.

Every protocol of every (precinct, contest) goes in over mutual TLS; the
test keeps its own count of what each slot holds and checks, exactly:
each contest's national, regional and district figures in
/v1/contests/{id}, /v1/contests and /v1/totals; the decisions computed
here (Hare seats, the absolute majority, pluralities, the referendum's
rules); duplicates, corrections and conflicts per (precinct, contest),
each leaving the other contests of the precinct untouched; the
UNKNOWN_CONTEST and NOT_IN_CONTEST Nacks and what the store keeps of
them; /v1/precincts/{id}, /v1/regions/{id}, /v1/election, /healthz and
/metrics with several contests; the trend; the SSE stream carrying the
contests; the signed tree head's totals_hash against the canonical v2
text built here; and after a SIGTERM restart and a kill -9 restart the
very same documents. TALLY_STORE_BACKEND=postgresql runs it on
PostgreSQL (tests/CMakeLists.txt)."""
import base64
import hashlib
import json
import os
import sys
import time
from fractions import Fraction

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pubkit  # noqa: E402
import tallyclient as tc  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    else:
        print("ok:", what)


def eq(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want))


EID = "gen-it-2027"
ELECTION = {
    "election_id": EID,
    "title": {"kk": "Жалпы сайлау", "en": "General election"},
    "regions": [
        {"id": "KZ-71", "name": {"kk": "Астана", "en": "Astana"}, "tile": [3, 2],
         "precincts": [[1, 1000], [2, 900], [3, 800], [4, 700]]},
        {"id": "KZ-11", "name": "Akmola", "tile": [3, 1],
         "precincts": [[101, 600], [102, 500], [103, 400]]}],
    "districts": [
        {"id": "OTK-1", "name": "Constituency 1", "precincts": [1, 2, 101]},
        {"id": "OTK-2", "name": "Constituency 2", "precincts": [3, 4, 102, 103]}],
    "parties": [
        {"id": "amanat", "name": "AMANAT", "color": "#1f77b4"},
        {"id": "auyl", "name": "Auyl", "color": "#2ca02c"},
        {"id": "baytaq", "name": "Baytaq"}],
    "contests": [
        {"id": "party-list", "kind": "party_list", "name": "Party lists", "seats": 10,
         "options": [{"id": "amanat", "party": "amanat"}, {"id": "auyl", "party": "auyl"},
                     {"id": "baytaq", "party": "baytaq"},
                     {"id": "against-all", "name": "Against all", "against_all": True}],
         "rules": {"threshold_pct": 5, "method": "hare"}},
        {"id": "president", "kind": "candidate", "name": "President",
         "options": [{"id": "p1", "name": "P. One", "party": "amanat"},
                     {"id": "p2", "name": "P. Two"}, {"id": "p3", "name": "P. Three"}],
         "rules": {"win": "absolute_majority"}},
        {"id": "otk-1", "kind": "candidate", "scope": {"district": "OTK-1"},
         "options": [{"id": "x1", "name": "X. One"}, {"id": "y1", "name": "Y. One"}]},
        {"id": "otk-2", "kind": "candidate", "scope": {"district": "OTK-2"},
         "options": [{"id": "x2", "name": "X. Two"}, {"id": "y2", "name": "Y. Two"},
                     {"id": "against-all", "name": "Against all", "against_all": True}]},
        {"id": "referendum", "kind": "referendum", "name": "Referendum",
         "options": [{"id": "yes", "name": "Yes"}, {"id": "no", "name": "No"}],
         "rules": {"min_turnout_pct": 50, "region_majority_fraction": 0.5}}]}

REGION_OF = {p[0]: r["id"] for r in ELECTION["regions"] for p in r["precincts"]}
REGISTERED = {p[0]: p[1] for r in ELECTION["regions"] for p in r["precincts"]}
PRECINCTS = [p[0] for r in ELECTION["regions"] for p in r["precincts"]]
CONTESTS = {c["id"]: c for c in ELECTION["contests"]}
DISTRICT = {d["id"]: d["precincts"] for d in ELECTION["districts"]}
# Shares per contest (in ballot order), so the outcomes are clear.
WEIGHTS = {"party-list": [50, 30, 3, 17], "president": [60, 25, 15], "otk-1": [55, 45],
           "otk-2": [40, 35, 25], "referendum": [70, 30]}


def options(cid):
    return [o["id"] for o in CONTESTS[cid]["options"]]


def voters(cid):
    """The precincts voting in the contest, ascending id."""
    c = CONTESTS[cid]
    if isinstance(c.get("scope"), dict):
        return sorted(DISTRICT[c["scope"]["district"]])
    return sorted(PRECINCTS)


def figures(cid, p, revision, tweak=0):
    """(registered, cast, invalid, not_counted, votes) of a protocol, exact and valid."""
    reg = REGISTERED[p]
    cast = reg * 6 // 10 + (p % 7) * 3 + revision + tweak
    invalid = cast // 40
    not_counted = p % 3
    left = cast - invalid - not_counted
    w = WEIGHTS[cid]
    votes = [left * x // sum(w) for x in w]
    votes[0] += left - sum(votes)
    return reg, cast, invalid, not_counted, votes


def protocol(cid, p, revision, tweak=0, contest_id=None):
    reg, cast, invalid, nc, votes = figures(cid, p, revision, tweak)
    r = tc.pb().PrecinctResult()
    r.election_id = EID
    r.region_id = REGION_OF[p]
    r.precinct_id = p
    r.revision = revision
    r.voters_registered = reg
    r.ballots_issued = cast
    r.ballots_received = cast
    r.ballots_cast = cast
    r.ballots_invalid = invalid
    r.ballots_not_counted = nc
    for o, n in zip(options(cid), votes):
        v = r.votes.add()
        v.option_id = o
        v.count = n
    r.recorded_at_ms = 1000 + revision
    r.contest_id = cid if contest_id is None else contest_id
    return r


class Night:
    """The two regions' connections and what each slot counts, as the rules say."""

    def __init__(self, w, agg):
        self.w, self.agg = w, agg
        self.counted = {}  # (cid, p) -> (revision, figures)
        self.flagged = set()  # (cid, p) with a conflicting copy
        self.seq = 0
        self.connect()

    def connect(self):
        self.clients, self.signers = {}, {}
        for r in ELECTION["regions"]:
            d = self.w.region_dir(r["id"])
            self.signers[r["id"]] = tc.Signer(os.path.join(d, "sign.key"))
            c = tc.Client(self.agg.port, d)
            c.hello("node-" + r["id"], r["id"])
            self.clients[r["id"]] = c

    def close(self):
        for c in self.clients.values():
            c.close()

    def send(self, result):
        """Submits one result from its region's connection; the answer."""
        region = result.region_id
        self.seq += 1
        self.clients[region].submit(self.seq, tc.signed(self.signers[region], result))
        return self.clients[region].read_answers(1)[self.seq]

    def put(self, cid, p, revision, tweak=0):
        a = self.send(protocol(cid, p, revision, tweak))
        if a == ("ack", "OUTCOME_ACCEPTED"):
            self.counted[(cid, p)] = (revision, figures(cid, p, revision, tweak))
            self.flagged.discard((cid, p))
        elif a == ("ack", "OUTCOME_CONFLICT"):
            self.flagged.add((cid, p))
        return a

    def sums(self, cid, among):
        """FIGURES of the contest over the precincts `among`, from what is counted here."""
        opts = options(cid)
        f = {"precincts_total": 0, "precincts_reported": 0, "voters_registered": 0,
             "ballots_cast": 0, "ballots_invalid": 0, "ballots_not_counted": 0,
             "votes": {o: 0 for o in opts}, "conflicts": 0}
        for p in voters(cid):
            if p not in among:
                continue
            f["precincts_total"] += 1
            f["conflicts"] += (cid, p) in self.flagged
            if (cid, p) not in self.counted:
                continue
            reg, cast, invalid, nc, votes = self.counted[(cid, p)][1]
            f["precincts_reported"] += 1
            f["voters_registered"] += reg
            f["ballots_cast"] += cast
            f["ballots_invalid"] += invalid
            f["ballots_not_counted"] += nc
            for o, n in zip(opts, votes):
                f["votes"][o] += n
        f["valid"] = f["ballots_cast"] - f["ballots_invalid"]
        return f


def pct_of(cid):
    c = CONTESTS[cid]
    r = c.get("rules", {})
    if c["kind"] == "party_list":
        return r.get("threshold_of", "valid")
    if c["kind"] == "candidate":
        return r.get("majority_of", "ballots_cast")
    return r.get("pass_share_of", "ballots_cast")


def check_figures(got, want, cid, what):
    """Every integer of FIGURES exactly, the shares over the contest's denominator."""
    keys = ["precincts_total", "precincts_reported", "voters_registered", "ballots_cast",
            "ballots_invalid", "ballots_not_counted", "valid", "votes", "conflicts"]
    eq({k: got.get(k) for k in keys}, {k: want[k] for k in keys}, what)
    den = want["ballots_cast"] if pct_of(cid) == "ballots_cast" else want["valid"]
    pcts = {o: round(100.0 * n / den, 2) if den else 0.0 for o, n in want["votes"].items()}
    eq((got.get("votes_pct"), got.get("pct_of")), (pcts, pct_of(cid)), what + ": shares")


def hare(votes, seats, threshold_pct, base):
    """The party list's seats, written here apart from the aggregator."""
    lists = [o for o in votes if o != "against-all" and votes[o] > 0 and
             Fraction(votes[o], base) >= Fraction(threshold_pct, 100)]
    total = sum(votes[o] for o in lists)
    out = {o: 0 for o in votes}
    for o in lists:
        out[o] = votes[o] * seats // total
    rest = sorted(lists, key=lambda o: (-(votes[o] * seats % total), list(votes).index(o)))
    for o in rest[:seats - sum(out.values())]:
        out[o] += 1
    return sorted(lists, key=list(votes).index), out


def check_documents(agg, night, what):
    """Every contest document against the sums here; returns the documents."""
    docs = {}
    listing = agg.get_json("/v1/contests")
    totals = agg.get_json("/v1/totals")
    eq([c["id"] for c in listing["contests"]], list(CONTESTS), "%s: /v1/contests lists every contest" % what)
    eq([c["id"] for c in totals["contests"]], list(CONTESTS), "%s: /v1/totals has every contest" % what)
    for c in ELECTION["contests"]:
        cid = c["id"]
        doc = agg.get_json("/v1/contests/" + cid)
        docs[cid] = doc
        eq(doc["sequence"], totals["sequence"], "%s: %s at the totals' sequence" % (what, cid))
        want = night.sums(cid, set(PRECINCTS))
        check_figures(doc["national"], want, cid, "%s: %s national" % (what, cid))
        t = [x for x in totals["contests"] if x["id"] == cid][0]
        eq(t["national"], doc["national"], "%s: %s in /v1/totals as in its document" % (what, cid))
        eq(t["decision"], doc["decision"], "%s: %s decision in /v1/totals as in its document" % (what, cid))
        li = [x for x in listing["contests"] if x["id"] == cid][0]
        eq((li["precincts_total"], li["precincts_reported"], li["status"], li["final"]),
           (want["precincts_total"], want["precincts_reported"], doc["decision"]["status"],
            doc["decision"]["final"]), "%s: %s in /v1/contests" % (what, cid))
        regions = [r["id"] for r in ELECTION["regions"] if set(voters(cid)) & {p[0] for p in r["precincts"]}]
        eq([r["id"] for r in doc["regions"]], regions, "%s: %s regions" % (what, cid))
        for r in doc["regions"]:
            among = {p for p in PRECINCTS if REGION_OF[p] == r["id"]}
            check_figures(r, night.sums(cid, among), cid, "%s: %s region %s" % (what, cid, r["id"]))
        dists = [d for d in DISTRICT if set(DISTRICT[d]) <= set(voters(cid))]
        eq([d["id"] for d in doc["districts"]], dists, "%s: %s districts" % (what, cid))
        for d in doc["districts"]:
            check_figures(d, night.sums(cid, set(DISTRICT[d["id"]])), cid,
                          "%s: %s district %s" % (what, cid, d["id"]))
    return docs, listing, totals


def check_decisions(docs, night, what):
    """The decisions once every precinct is in, computed here."""
    pl = docs["party-list"]
    n = pl["national"]
    passed, seats = hare(n["votes"], 10, 5, n["valid"])
    d = pl["decision"]
    eq((d["status"], d["final"], d["passed"], d["seats"], d["vacant"], d["tie"]),
       ("final", True, passed, seats, 0, None), "%s: party list seats by Hare, final" % what)
    eq(passed, ["amanat", "auyl"], "%s: Baytaq under 5 %%, against all never passes" % what)
    for cid in ("president", "otk-1", "otk-2"):
        n, d = docs[cid]["national"], docs[cid]["decision"]
        opts = options(cid)
        ranking = sorted(opts, key=lambda o: (-n["votes"][o], opts.index(o)))
        eq(d["ranking"], ranking, "%s: %s ranking" % (what, cid))
        eq((d["status"], d["final"], d["elected"], d["runoff"], d["tie"]),
           ("elected", True, [ranking[0]], None, None), "%s: %s elected" % (what, cid))
    n = docs["president"]["national"]
    check(2 * n["votes"]["p1"] > n["ballots_cast"], "%s: p1 has more than half of the ballots cast" % what)
    d = docs["referendum"]["decision"]
    eq((d["status"], d["final"]), ("passing", True), "%s: the referendum passes" % what)


def v2_digest(night, sequence):
    """The tree head's totals_hash, built here from the counted slots (totals.h)."""
    def line(label, f, opts):
        return "%s %d %d %d %d %d %d %d%s\n" % (
            label, f["precincts_total"], f["precincts_reported"], f["conflicts"],
            f["voters_registered"], f["ballots_cast"], f["ballots_invalid"],
            f["ballots_not_counted"], "".join(" %d" % f["votes"][o] for o in opts))
    text = "tally-totals-v2 %s %d\n" % (EID, sequence)
    for c in ELECTION["contests"]:
        cid, opts = c["id"], options(c["id"])
        text += "contest %s\n" % cid
        text += line("national", night.sums(cid, set(PRECINCTS)), opts)
        for r in ELECTION["regions"]:
            among = {p[0] for p in r["precincts"]}
            if among & set(voters(cid)):
                text += line(r["id"], night.sums(cid, among), opts)
        for d in DISTRICT:
            if set(DISTRICT[d]) <= set(voters(cid)):
                text += line("district:" + d, night.sums(cid, set(DISTRICT[d])), opts)
    return hashlib.sha256(text.encode()).hexdigest()


def without_as_of(doc):
    return {k: v for k, v in doc.items() if k != "as_of"}


def metrics(agg):
    st, _, body = agg.get("/metrics")
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


NIST_SCHEMA = os.path.join(harness.SOURCE, "tests", "data", "nist",
                           "NIST_V2_election_results_reporting.json")
NIST_KIND = {"party_list": ("PartyContest", "pc-", "ps-"),
             "candidate": ("CandidateContest", "cc-", "cs-"),
             "referendum": ("BallotMeasureContest", "bmc-", "bms-")}


def check_nist_export(agg, docs, what):
    """The live aggregator's NIST SP 1500-100 export of the general election:
    valid against NIST's schema, every reference resolving, one contest of
    the right kind per contest with its national counts equal to the
    contest's document, and the party list's final seats as VoteCounts of
    type seats."""
    with open(NIST_SCHEMA) as f:
        schema = json.load(f)
    st, hdr, body = agg.get("/v1/export/nist-1500-100.json")
    eq(st, 200, "%s: the NIST export answers 200" % what)
    doc = json.loads(body)
    eq(pubkit.nist_schema_errors(doc, schema), [],
       "%s: the NIST export validates against the NIST SP 1500-100 v2 schema" % what)
    eq(pubkit.nist_reference_errors(doc), [],
       "%s: every @id of the export is unique and every reference resolves" % what)
    eq(doc.get("Status"), "unofficial-complete", "%s: the export is complete" % what)
    contests = {c["@id"]: c for c in doc["Election"][0]["Contest"]}
    for cid, d in docs.items():
        kind, cprefix, sprefix = NIST_KIND[d["contest"]["kind"]]
        c = contests.get(cprefix + cid, {})
        eq(c.get("@type"), "ElectionResults." + kind, "%s: %s is a %s" % (what, cid, kind))
        scope = c.get("ElectionDistrictId")
        got = {}
        for sel in c.get("ContestSelection", []):
            for v in sel.get("VoteCounts", []):
                if v["Type"] == "total" and v["GpUnitId"] == scope:
                    got[sel["@id"].split("/", 1)[1]] = v["Count"]
        eq(got, d["national"]["votes"], "%s: %s's counts in its scope unit %s" % (what, cid, scope))
        if kind == "PartyContest":
            seats = {}
            for sel in c.get("ContestSelection", []):
                for v in sel.get("VoteCounts", []):
                    if v["Type"] == "seats":
                        seats[sel["@id"].split("/", 1)[1]] = v["Count"]
            want = {o: n for o, n in d["decision"]["seats"].items()
                    if not any(x["id"] == o and x.get("against_all") for x in d["contest"]["options"])}
            eq(seats, want, "%s: %s's final seats as VoteCounts of type seats" % (what, cid))


def main():
    with harness.Workspace() as w:
        w.election_path = os.path.join(w.dir, "election.json")
        with open(w.election_path, "w") as f:
            json.dump(ELECTION, f, ensure_ascii=False)
        w.pki()
        agg = w.aggregator()

        # ---- the static shape ----
        el = agg.get_json("/v1/election")
        eq((el["election_id"], el["title"], el["titles"]),
           (EID, "General election", {"kk": "Жалпы сайлау", "en": "General election"}),
           "/v1/election: the title in every language")
        eq([(r["id"], r["name"], r.get("tile"), r["precincts_total"]) for r in el["regions"]],
           [("KZ-71", "Astana", [3, 2], 4), ("KZ-11", "Akmola", [3, 1], 3)],
           "/v1/election: regions with tiles and precincts")
        eq([(d["id"], d["regions"], d["precincts_total"]) for d in el["districts"]],
           [("OTK-1", ["KZ-71", "KZ-11"], 3), ("OTK-2", ["KZ-71", "KZ-11"], 4)],
           "/v1/election: both districts cross the region line")
        eq([(c["id"], c["kind"], c["scope"], c["seats"]) for c in el["contests"]],
           [("party-list", "party_list", "national", 10), ("president", "candidate", "national", 1),
            ("otk-1", "candidate", {"district": "OTK-1"}, 1),
            ("otk-2", "candidate", {"district": "OTK-2"}, 1),
            ("referendum", "referendum", "national", 0)],
           "/v1/election: contests with kind, scope and seats")
        eq(el["contests"][0]["rules"], {"threshold_pct": 5.0, "threshold_of": "valid", "method": "hare",
                                        "tie": "ballot_order", "overflow": "redistribute"},
           "/v1/election: the party list's rules with every default filled")
        eq(el["contests"][0]["options"][0], {"id": "amanat", "name": "AMANAT", "party": "amanat",
                                             "color": "#1f77b4", "against_all": False},
           "/v1/election: an option takes its party's name and colour")

        st, _, body = agg.get("/v1/contests/mayor")
        eq((st, json.loads(body)["error"]), (404, "no contest 'mayor' in this election"),
           "an unknown contest is a 404 naming it")
        st, _, _ = agg.get("/v1/contests/mayor/trend")
        eq(st, 404, "the trend of an unknown contest is a 404")
        st, _, _ = agg.get("/v1/contests/party-list/other")
        eq(st, 404, "an unknown path under a contest is a 404")
        eq(agg.get_json("/v1/contests/otk%2d1")["contest"]["id"], "otk-1",
           "a contest id percent-encoded (as a browser's encodeURIComponent may) is found")
        st, _, body = agg.get("/v1/contests/otk%2")
        eq(st, 404, "a broken percent-encoding is a 404")

        night = Night(w, agg)
        sse = pubkit.SSE(agg.http_port)
        first = sse.next("totals", timeout=10)
        eq([c["id"] for c in json.loads(first["data"])["contests"]], list(CONTESTS),
           "the first SSE event carries every contest")

        # ---- half the night: the first region ----
        for p in [p[0] for p in ELECTION["regions"][0]["precincts"]]:
            for cid in CONTESTS:
                if p in voters(cid):
                    eq(night.put(cid, p, 1), ("ack", "OUTCOME_ACCEPTED"), "%s at %d accepted" % (cid, p))
        docs, listing, totals = check_documents(agg, night, "half in")
        eq([c["final"] for c in listing["contests"]], [False] * 5,
           "half in: nothing is final with the second region out")
        eq(docs["party-list"]["decision"]["status"], "provisional", "half in: the party list is provisional")
        hz = agg.get_json("/healthz")
        eq((hz["precincts_reported"], hz["precincts_total"]), (4, 7),
           "/healthz: a precinct is in once every contest it votes in is")

        # ---- corrections, duplicates and conflicts per (precinct, contest) ----
        before = {cid: agg.get_json("/v1/contests/" + cid)["national"] for cid in CONTESTS}
        eq(night.send(protocol("party-list", 1, 1)), ("ack", "OUTCOME_DUPLICATE"),
           "the party list's same bytes again: duplicate")
        eq(night.put("otk-1", 1, 2), ("ack", "OUTCOME_ACCEPTED"), "otk-1 at 1, revision 2: a correction")
        eq(night.put("president", 1, 1, tweak=5), ("ack", "OUTCOME_CONFLICT"),
           "president at 1, revision 1 with other figures: a conflict")
        eq(night.send(protocol("referendum", 1, 0 + 1)), ("ack", "OUTCOME_DUPLICATE"),
           "the referendum at 1 is untouched by the others: duplicate")
        after = {cid: agg.get_json("/v1/contests/" + cid)["national"] for cid in CONTESTS}
        for cid in ("party-list", "otk-2", "referendum"):
            eq(after[cid], before[cid], "%s untouched by the other contests' corrections and conflicts" % cid)
        eq(after["president"]["conflicts"], 1, "the president's conflict is flagged in its contest only")
        eq(after["otk-1"]["ballots_cast"] - before["otk-1"]["ballots_cast"], 1,
           "the correction moves otk-1 by the difference")
        pj = agg.get_json("/v1/precincts/1")
        eq([(c["id"], c["status"], c["revision"], c["conflict"], c["conflicting_copies"])
            for c in pj["contests"]],
           [("party-list", "counted", 1, False, 0), ("president", "conflict", 1, True, 1),
            ("otk-1", "counted", 2, False, 0), ("referendum", "counted", 1, False, 0)],
           "/v1/precincts: each contest's state")
        eq([c["result"]["contest_id"] for c in pj["contests"]],
           ["party-list", "president", "otk-1", "referendum"], "/v1/precincts: each contest's counted protocol")
        eq(pj["contests"][2]["result"]["ballots_cast"], figures("otk-1", 1, 2)[1],
           "/v1/precincts: the correction is the counted protocol")
        eq({k: [h["outcome"] for h in v] for k, v in pj["history"].items()},
           {"party-list": ["accepted", "duplicate"], "president": ["accepted", "conflict"],
            "otk-1": ["accepted", "accepted"], "referendum": ["accepted", "duplicate"]},
           "/v1/precincts: the history grouped by contest")
        one = agg.get_json("/v1/precincts/1?contest=otk-1&history_limit=1")
        eq(([c["id"] for c in one["contests"]], [h["revision"] for h in one["history"]["otk-1"]]),
           (["otk-1"], [2]), "/v1/precincts?contest=: one contest, paged")
        older = agg.get_json("/v1/precincts/1?contest=otk-1&history_limit=1&history_before=%d"
                             % one["history_next"])
        eq(([h["revision"] for h in older["history"]["otk-1"]], older["history_next"]), ([1], None),
           "/v1/precincts?contest=: the older page of that contest")

        # ---- Nacks of contests ----
        a = night.send(protocol("party-list", 2, 1, contest_id="mayor"))
        eq(a[:2], ("nack", "REJECT_CODE_UNKNOWN_CONTEST"), "a contest the election does not have")
        check("mayor" in a[2], "the reason names the contest: %r" % a[2])
        a = night.send(protocol("party-list", 2, 1, contest_id=""))
        eq(a[:2], ("nack", "REJECT_CODE_UNKNOWN_CONTEST"), "no contest in an election of several")
        a = night.send(protocol("otk-1", 3, 1))
        eq(a[:2], ("nack", "REJECT_CODE_NOT_IN_CONTEST"), "precinct 3 does not vote in otk-1")
        check("otk-1" in a[2] and "3" in a[2], "the reason names precinct and contest: %r" % a[2])
        rows = agg.sql("SELECT contest, reject_code FROM submissions WHERE reject_code <> 0 ORDER BY id")
        eq([tuple(r) for r in rows], [("mayor", 9), ("", 9), ("otk-1", 10)],
           "the store keeps each refused Submit with the contest it named")
        ev = None
        for _ in range(40):
            ev = sse.next("totals", timeout=5)
            if ev and len(json.loads(ev["data"])["rejections"]) >= 3:
                break
        rej = json.loads(ev["data"])["rejections"] if ev else []
        eq([(r["code"], r["contest_id"]) for r in rej[:3]],
           [("NOT_IN_CONTEST", "otk-1"), ("UNKNOWN_CONTEST", ""), ("UNKNOWN_CONTEST", "mayor")],
           "the event stream's rejections name the contest")

        # ---- the rest of the night ----
        for p in [p[0] for p in ELECTION["regions"][1]["precincts"]]:
            for cid in CONTESTS:
                if p in voters(cid):
                    eq(night.put(cid, p, 1), ("ack", "OUTCOME_ACCEPTED"), "%s at %d accepted" % (cid, p))
        eq(night.put("president", 1, 2), ("ack", "OUTCOME_ACCEPTED"), "a higher revision settles the conflict")
        docs, listing, totals = check_documents(agg, night, "all in")
        check_decisions(docs, night, "all in")
        eq([c["leader"] for c in listing["contests"]], ["amanat", "p1", "x1", "x2", "yes"],
           "/v1/contests: each contest's leader")
        hz = agg.get_json("/healthz")
        eq((hz["precincts_reported"], hz["precincts_total"], hz["conflicts"]), (7, 7, 0),
           "/healthz: every precinct in, no conflict")

        reg = agg.get_json("/v1/regions/KZ-11")
        eq((reg["precincts_total"], reg["precincts_reported"], reg["conflicts"]), (3, 3, 0),
           "/v1/regions: the region's precincts across contests")
        eq([c["id"] for c in reg["contests"]], list(CONTESTS), "/v1/regions: every contest with precincts there")
        for c in reg["contests"]:
            check_figures(c, night.sums(c["id"], {101, 102, 103}), c["id"], "/v1/regions KZ-11 " + c["id"])
        eq([(p["id"], sorted(p["contests"])) for p in reg["precincts"]],
           [(101, sorted(["party-list", "president", "otk-1", "referendum"])),
            (102, sorted(["party-list", "president", "otk-2", "referendum"])),
            (103, sorted(["party-list", "president", "otk-2", "referendum"]))],
           "/v1/regions: each precinct's contests")
        eq(reg["precincts"][0]["contests"]["otk-1"], {"status": "counted", "revision": 1},
           "/v1/regions: a precinct's status and revision per contest")

        m = metrics(agg)
        eq((m.get('tally_contest_precincts{contest="otk-2"}'),
            m.get('tally_contest_precincts_reported{contest="otk-2"}'),
            m.get('tally_contest_precincts_conflicted{contest="president"}'),
            m.get('tally_contest_votes{contest="referendum",option="yes"}'),
            m.get("tally_precincts_reported"), m.get("tally_precincts_total"),
            m.get('tally_region_precincts_reported{region="KZ-11"}')),
           (4.0, 4.0, 0.0, float(docs["referendum"]["national"]["votes"]["yes"]), 7.0, 7.0, 3.0),
           "/metrics: each contest's precincts and votes, the election's precincts")
        check("tally_votes{" not in "".join(m), "/metrics: no tally_votes without one contest to count")
        eq(m.get('tally_rejects_total{code="UNKNOWN_CONTEST"}'), 2.0, "/metrics: UNKNOWN_CONTEST counted")
        eq(m.get('tally_rejects_total{code="NOT_IN_CONTEST"}'), 1.0, "/metrics: NOT_IN_CONTEST counted")

        # ---- the trend ----
        tr = agg.get_json("/v1/contests/party-list/trend")
        last = tr["points"][-1]
        n = docs["party-list"]["national"]
        eq((tr["contest"], last["precincts_reported"], last["ballots_cast"], last["valid"],
            last["votes"]),
           ("party-list", n["precincts_reported"], n["ballots_cast"], n["valid"], n["votes"]),
           "the trend's last point is the contest now")
        # Its sequence is the log's size when the party list last moved (others moved it since).
        check(0 < last["sequence"] <= totals["sequence"], "the last point's sequence %d" % last["sequence"])
        eq(tr["points"][0]["precincts_reported"], 0, "the trend starts at the empty count")
        check(all(a["t"] <= b["t"] for a, b in zip(tr["points"], tr["points"][1:])),
              "the trend's points are in time order")

        # ---- the NIST export ----
        check_nist_export(agg, docs, "all in")

        # ---- the SSE stream ----
        ev = sse.next("totals", timeout=10)
        while ev and int(ev["id"]) < totals["sequence"]:
            ev = sse.next("totals", timeout=10)
        doc = json.loads(ev["data"]) if ev else {}
        eq([(c["id"], c["national"]) for c in doc.get("contests", [])],
           [(c["id"], c["national"]) for c in totals["contests"]], "the SSE event carries every contest's figures")
        eq((doc.get("title"), doc.get("degraded")), ("General election", False), "the SSE event carries the title")
        sse.close()

        # ---- the public log ----
        def head():
            s = agg.get_json("/v1/log/sth")
            th = tc.pb().TreeHead()
            th.ParseFromString(base64.b64decode(s["tree_head"]))
            return s, th
        deadline = time.monotonic() + 10
        s, th = head()
        while s["tree_size"] != totals["sequence"] and time.monotonic() < deadline:
            time.sleep(0.2)
            s, th = head()
        eq(th.totals_hash.hex(), v2_digest(night, s["tree_size"]),
           "the tree head's totals_hash is the v2 text built here")
        lt = agg.get_json("/v1/log/totals")
        eq(without_as_of(lt), without_as_of(totals), "/v1/log/totals serves the contests' totals at the head")

        # ---- restarts give the very same documents ----
        snap = {"/v1/totals": without_as_of(totals), "/v1/contests": without_as_of(listing),
                "/v1/election": el}
        for cid in CONTESTS:
            snap["/v1/contests/" + cid] = without_as_of(docs[cid])
        night.close()
        eq(agg.stop(), 0, "SIGTERM: exit 0")
        for how in ("restart", "kill -9 restart"):
            agg.start()
            for path, want in snap.items():
                got = agg.get_json(path)
                eq(without_as_of(got) if path != "/v1/election" else got, want,
                   "%s: %s as before" % (how, path))
            if how == "restart":
                agg.kill9()
        eq(agg.stop(), 0, "SIGTERM: exit 0")
        agg.check_sanitizers()
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("PASS test_general_election")


if __name__ == "__main__":
    main()
