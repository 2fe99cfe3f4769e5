#!/usr/bin/python3
"""deploy/election.py's general elections: the mazhilis-2023 definition
(kz-demo's regions and precincts, the 2023 party list in ballot order, 29
single-mandate districts each within one region), its protocols (every
control relation, the party list summing exactly to the official 2023
national votes, seats 40, 8, 6, 6, 5, 4, 0 by a Hare count written here,
corrections that touch one contest), JSON and CSV alike, results as a pure
function of the seed, generate --contests for benchmarks, and kz-demo and
generate's referendum output unchanged byte for byte."""

import csv
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction

SRC = os.environ.get("TALLY_SOURCE_DIR") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"
EL = os.path.join(SRC, "deploy", "election.py")

# The 2023 Mazhilis party list: official national votes and seats, in the
# ballot's order (the Central Election Commission's drawing of lots).
OFFICIAL = {"amanat": 3431510, "auyl": 693938, "respublica": 547154, "qhp": 432920, "baytaq": 146431,
            "aqjol": 535139, "jsdp": 331058, "against-all": 248291}
SEATS = {"amanat": 40, "auyl": 8, "respublica": 6, "qhp": 5, "baytaq": 0, "aqjol": 6, "jsdp": 4, "against-all": 0}
BALLOT = ["amanat", "auyl", "respublica", "qhp", "baytaq", "aqjol", "jsdp", "against-all"]
# Districts per region: 29 by registered voters, largest remainder, every
# region at least one.
DISTRICTS_PER_REGION = {"KZ-10": 1, "KZ-11": 1, "KZ-15": 1, "KZ-19": 2, "KZ-23": 1, "KZ-27": 1, "KZ-31": 2,
                        "KZ-33": 1, "KZ-35": 2, "KZ-39": 1, "KZ-43": 1, "KZ-47": 1, "KZ-55": 1, "KZ-59": 1,
                        "KZ-61": 3, "KZ-62": 1, "KZ-63": 1, "KZ-71": 2, "KZ-75": 3, "KZ-79": 2}
# SHA-256 of kz-demo's and generate's output as they were before general
# elections existed: they must not move (stores, tests and published
# figures depend on them). An intended change updates these pins.
PINS = {
    "kz.json": "63702cd0aece9d0d24a3767fe8ce87188ddfcbe8bf5748ae020bcec661d48244",
    "g1.json": "54dd36e2ea951fcaf06fe188efc1d19293a2fbaeab559f0c05474b75a55cac49",
    "g2.json": "4a62679681d7b7d7bc85febe0874816b2aad54b240d25c1d29b011c233f0cffa",
    "g3.json": "bff835cfe43d74af84d5e44570aef7e09f281a4f6aa147c0f5452a7b996e6b25",
    "rj": "b36f85f4f9555ab71e54013bf4d530ea074c17d31fffe87f1b8a5a6bfcea014e",
    "rc": "ef29e1e394529350885d39b458ddd1617ede0f28ba8b08ec5dd24cac9727b4d1",
}
FIELDS = ["voters_registered", "ballots_received", "ballots_issued", "ballots_cancelled", "ballots_cast",
          "ballots_invalid", "ballots_not_counted"]
KEYS = {"precinct_id", "contest_id", "revision", "votes"} | set(FIELDS)
LANGS = {"kk", "ru", "en"}

fails = []


def expect(cond, what):
    if not cond:
        fails.append(what)
    return cond


def run(*args):
    p = subprocess.run([PY, EL] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit("FAIL: election.py %s: %s" % (" ".join(map(str, args)), p.stderr.strip()))
    return p


def tree_hash(d):
    h = hashlib.sha256()
    for root, dirs, files in sorted(os.walk(d)):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(root, f)
            h.update(os.path.relpath(p, d).encode() + b"\0" + open(p, "rb").read() + b"\0")
    return h.hexdigest()


def file_hash(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


def hare(votes, seats, threshold_pct, ballot):
    """Largest remainder with the Hare quota among the lists with at least
    threshold_pct of all valid votes (every option's, against-all too);
    against-all never takes a seat. Written apart from election.py's."""
    valid = sum(votes.values())
    lists = [o for o in ballot if o != "against-all" and Fraction(votes[o], valid) >= Fraction(threshold_pct, 100)]
    quota = Fraction(sum(votes[o] for o in lists), seats)
    share = {o: Fraction(votes[o]) / quota for o in lists}
    got = {o: 0 for o in ballot}
    for o in lists:
        got[o] = int(share[o])
    rest = seats - sum(got.values())
    for o in sorted(lists, key=lambda o: (-(share[o] - int(share[o])), ballot.index(o)))[:rest]:
        got[o] += 1
    return got


def names_ok(n, where):
    expect(isinstance(n, dict) and set(n) == LANGS and all(isinstance(v, str) and v for v in n.values()),
           "%s: names in kk, ru and en, got %r" % (where, n))


def load_json_results(d):
    """{(contest, precinct): [protocols]}, checking the files' shape."""
    out = {}
    for path in sorted(glob.glob(os.path.join(d, "*", "*.json"))):
        arr = json.load(open(path))
        name = os.path.basename(path)
        if not expect(isinstance(arr, list) and arr, "%s: a non-empty array" % path):
            continue
        if name.endswith("-r2.json"):
            expect(len(arr) == 1 and arr[0]["revision"] == 2, "%s: one revision-2 protocol" % path)
        else:
            expect(all(p["revision"] == 1 for p in arr), "%s: revision 1" % path)
            expect(len({p["contest_id"] for p in arr}) == len(arr), "%s: one protocol per contest" % path)
        for p in arr:
            expect(set(p) == KEYS, "%s: keys %s" % (path, sorted(p)))
            expect(name.split(".")[0].split("-")[0] == str(p["precinct_id"]), "%s: holds precinct %s" % (path, p["precinct_id"]))
            p["_region"] = os.path.basename(os.path.dirname(path))
            out.setdefault((p["contest_id"], p["precinct_id"]), []).append(p)
    return out


def load_csv_results(d, contests):
    out = {}
    for path in sorted(glob.glob(os.path.join(d, "*", "*.csv"))):
        rows = list(csv.reader(open(path)))
        head = rows[0]
        expect(head[:10] == ["precinct_id", "revision"] + FIELDS + ["contest_id"], "%s: fixed columns %s" % (path, head[:10]))
        opts = head[10:]
        present = [c for c in contests if any(r[9] == c["id"] for r in rows[1:])]
        union = []
        for c in present:
            union += [o["id"] for o in c["options"] if o["id"] not in union]
        expect(opts == union, "%s: option columns %s, want the union of its contests' %s" % (path, opts, union))
        for r in rows[1:]:
            c = next(c for c in contests if c["id"] == r[9])
            mine = {o["id"] for o in c["options"]}
            cells = dict(zip(opts, r[10:]))
            expect(all((v != "") == (o in mine) for o, v in cells.items()), "%s: cells of row %s" % (path, r[:2]))
            p = {"precinct_id": int(r[0]), "revision": int(r[1]), "contest_id": r[9],
                 "votes": {o: int(v) for o, v in cells.items() if v != ""}}
            for i, f in enumerate(FIELDS):
                p[f] = int(r[2 + i])
            p["_region"] = os.path.basename(os.path.dirname(path))
            out.setdefault((p["contest_id"], p["precinct_id"]), []).append(p)
    return out


def relations(p, where, contest_options, registered):
    v = p["votes"]
    expect(list(v) == contest_options, "%s: options %s, want %s" % (where, list(v), contest_options))
    expect(p["ballots_received"] == p["ballots_issued"] + p["ballots_cancelled"], "%s: received = issued + cancelled" % where)
    expect(p["ballots_cast"] <= p["ballots_issued"] <= p["voters_registered"], "%s: cast <= issued <= registered" % where)
    expect(p["ballots_cast"] == p["ballots_invalid"] + p["ballots_not_counted"] + sum(v.values()), "%s: cast sum" % where)
    expect(min([p[f] for f in FIELDS] + list(v.values())) >= 0, "%s: a negative figure" % where)
    expect(p["voters_registered"] == registered, "%s: registered %d, definition %d" % (where, p["voters_registered"], registered))


def counted(by):
    return {k: max(ps, key=lambda p: p["revision"]) for k, ps in by.items()}


def sums(ps, option_ids):
    s = {"precincts": len(ps), "votes": {o: 0 for o in option_ids}}
    for f in FIELDS:
        s[f] = sum(p[f] for p in ps)
    s["valid"] = s["ballots_cast"] - s["ballots_invalid"]
    for p in ps:
        for o, n in p["votes"].items():
            s["votes"][o] += n
    return s


def same_sums(got, want, where):
    for k, v in got.items():
        expect(want.get(k) == v, "%s: %s %r in expected.json, %r in the files" % (where, k, want.get(k), v))


def main():
    tmp = tempfile.mkdtemp(prefix="test-election-general-")
    t = lambda *p: os.path.join(tmp, *p)
    try:
        check_pins(t)
        check_mazhilis(t)
        check_generate_contests(t)
    finally:
        subprocess.run(["rm", "-rf", tmp])
    if fails:
        print("FAIL:\n  " + "\n  ".join(fails[:40]))
        if len(fails) > 40:
            print("  ... and %d more" % (len(fails) - 40))
        sys.exit(1)
    print("PASS test_election_general")


def check_pins(t):
    run("kz-demo", "--out", t("kz.json"))
    run("generate", "--regions", 20, "--precincts", 5000, "--seed", 3, "--out", t("g1.json"))
    run("generate", "--regions", 25, "--precincts", 100, "--no-rules", "--out", t("g2.json"))
    run("generate", "--regions", 3, "--precincts", 500, "--compact", "--out", t("g3.json"))
    run("results", "--election", t("kz.json"), "--out-dir", t("rj"), "--corrections", 3)
    run("results", "--election", t("kz.json"), "--out-dir", t("rc"), "--format", "csv", "--per-file", 250, "--corrections", 5)
    for name, want in PINS.items():
        got = tree_hash(t(name)) if os.path.isdir(t(name)) else file_hash(t(name))
        expect(got == want, "%s changed: sha256 %s, pinned %s" % (name, got, want))
    print("ok: kz-demo, generate and their results unchanged byte for byte")


def check_mazhilis(t):
    run("mazhilis-2023", "--out", t("mz.json"))
    run("mazhilis-2023", "--out", t("mz2.json"))
    expect(open(t("mz.json"), "rb").read() == open(t("mz2.json"), "rb").read(), "mazhilis-2023 is not deterministic")
    e = json.load(open(t("mz.json")))
    kz = json.load(open(t("kz.json")))
    tiles = json.load(open(os.path.join(SRC, "deploy", "regions-kz.json")))

    # The definition.
    expect(e["election_id"] == "kz-mazhilis-2023-03-19", "election_id %r" % e["election_id"])
    names_ok(e["title"], "title")
    expect("options" not in e and "rules" not in e, "no top-level options or rules beside contests")
    expect([r["id"] for r in e["regions"]] == [r["id"] for r in kz["regions"]], "regions as kz-demo's")
    for r, k in zip(e["regions"], kz["regions"]):
        expect(r["precincts"] == k["precincts"], "%s: precincts differ from kz-demo's" % r["id"])
        expect(r["name"] == tiles[r["id"]]["names"], "%s: names from regions-kz.json" % r["id"])
        expect(r["tile"] == tiles[r["id"]]["tile"], "%s: tile from regions-kz.json" % r["id"])
    registered = {p["id"]: p["registered"] for r in e["regions"] for p in r["precincts"]}
    region_of = {p["id"]: r["id"] for r in e["regions"] for p in r["precincts"]}
    expect(len(registered) == 10388 and sum(registered.values()) == 12482613, "10,388 precincts, 12,482,613 voters")
    parties = e["parties"]
    expect([p["id"] for p in parties] == BALLOT[:-1], "parties in ballot order: %s" % [p["id"] for p in parties])
    for p in parties:
        names_ok(p["name"], "party %s" % p["id"])
        expect(len(p["color"]) == 7 and p["color"][0] == "#" and int(p["color"][1:], 16) >= 0, "party %s colour" % p["id"])
    expect(len({p["color"] for p in parties}) == len(parties), "party colours differ")

    contests = e["contests"]
    expect(len(contests) == 30, "30 contests, got %d" % len(contests))
    pl = contests[0]
    expect(pl["id"] == "party-list" and pl["kind"] == "party_list" and pl["scope"] == "national" and pl["seats"] == 69,
           "the party list: %r" % {k: pl.get(k) for k in ("id", "kind", "scope", "seats")})
    names_ok(pl["name"], "party list")
    expect([o["id"] for o in pl["options"]] == BALLOT, "party list ballot order %s" % [o["id"] for o in pl["options"]])
    expect(pl["rules"] == {"threshold_pct": 5, "method": "hare"}, "party list rules %r" % pl["rules"])
    for o in pl["options"][:-1]:
        expect(o["party"] == o["id"] and o["list_length"] >= SEATS[o["id"]] and not o.get("against_all"), "option %r" % o)
    aa = pl["options"][-1]
    expect(aa.get("against_all") is True and "party" not in aa and "list_length" not in aa, "against-all %r" % aa)
    names_ok(aa["name"], "against-all")

    districts = e["districts"]
    expect([d["id"] for d in districts] == ["OTK-%02d" % i for i in range(1, 30)], "districts OTK-01..OTK-29")
    seen = {}
    per_region = {}
    for d in districts:
        names_ok(d["name"], d["id"])
        rs = {region_of.get(pid) for pid in d["precincts"]}
        if not expect(len(rs) == 1 and None not in rs, "%s spans regions %s" % (d["id"], rs)):
            continue
        rid = rs.pop()
        per_region[rid] = per_region.get(rid, 0) + 1
        order = [p["id"] for p in sorted(next(r for r in e["regions"] if r["id"] == rid)["precincts"], key=lambda p: p["id"])]
        i = order.index(d["precincts"][0])
        expect(d["precincts"] == order[i : i + len(d["precincts"])], "%s: not a run of consecutive precincts" % d["id"])
        for pid in d["precincts"]:
            expect(pid not in seen, "precinct %d in %s and %s" % (pid, seen.get(pid), d["id"]))
            seen[pid] = d["id"]
    expect(len(seen) == len(registered), "districts cover %d of %d precincts" % (len(seen), len(registered)))
    expect(per_region == DISTRICTS_PER_REGION, "districts per region %s" % per_region)
    # Within a region the districts have about equal voters: no two differ
    # by more than the region's largest precinct twice over.
    for rid, n in per_region.items():
        if n > 1:
            regs = [sum(registered[p] for p in d["precincts"]) for d in districts if region_of[d["precincts"][0]] == rid]
            big = max(p["registered"] for r in e["regions"] if r["id"] == rid for p in r["precincts"])
            expect(max(regs) - min(regs) <= 2 * big, "%s: district voters %s" % (rid, regs))

    with_party = 0
    cands = 0
    for i, c in enumerate(contests[1:]):
        did = "OTK-%02d" % (i + 1)
        expect(c["id"] == "otk-%02d" % (i + 1) and c["kind"] == "candidate" and c["scope"] == {"district": did}
               and c["seats"] == 1 and c["rules"] == {"win": "plurality"}, "contest %s: %r" % (c["id"], c))
        names_ok(c["name"], c["id"])
        opts = c["options"]
        expect(3 <= len(opts) - 1 <= 6, "%s: %d candidates" % (c["id"], len(opts) - 1))
        expect(opts[-1].get("against_all") is True and all(not o.get("against_all") for o in opts[:-1]),
               "%s: against-all last" % c["id"])
        expect(len({o["id"] for o in opts}) == len(opts), "%s: option ids unique" % c["id"])
        ps = [o["party"] for o in opts if "party" in o]
        expect(len(ps) == len(set(ps)) and set(ps) <= set(BALLOT), "%s: parties %s" % (c["id"], ps))
        for o in opts:
            names_ok(o["name"], "%s %s" % (c["id"], o["id"]))
        with_party += len(ps)
        cands += len(opts) - 1
    expect(0.2 * cands <= with_party <= 0.8 * cands, "%d of %d candidates have a party" % (with_party, cands))
    print("ok: mazhilis-2023: 20 regions as kz-demo's with names and tiles, 7 parties, the party list, 29 districts")

    # Protocols, with three corrections, and without.
    run("results", "--election", t("mz.json"), "--out-dir", t("mr"), "--corrections", 3)
    run("results", "--election", t("mz.json"), "--out-dir", t("mr0"))
    run("results", "--election", t("mz.json"), "--out-dir", t("mr1"), "--corrections", 3)
    expect(tree_hash(t("mr")) == tree_hash(t("mr1")), "results with one seed differ between runs")
    by = load_json_results(t("mr"))
    ex = json.load(open(t("mr", "expected.json")))
    options = {c["id"]: [o["id"] for o in c["options"]] for c in contests}
    district_contest = {d["id"]: "otk-%s" % d["id"][4:] for d in districts}
    for (cid, pid), ps in by.items():
        for p in ps:
            relations(p, "%s/%d r%d" % (cid, pid, p["revision"]), options.get(cid), registered.get(pid, -1))
            expect(p["_region"] == region_of.get(pid), "%s/%d filed under %s" % (cid, pid, p["_region"]))
        expect(cid == "party-list" or district_contest.get(seen.get(pid)) == cid, "precinct %d does not vote in %s" % (pid, cid))
    keys = set(by)
    expect(keys == {("party-list", pid) for pid in registered} | {(district_contest[seen[pid]], pid) for pid in registered},
           "one protocol per precinct and contest it votes in")
    expect(ex["precincts"] == 10388 and ex["protocols"] == 2 * 10388 + 3, "expected.json counts %s %s" % (ex["precincts"], ex["protocols"]))
    c1 = counted(by)
    c0 = counted(load_json_results(t("mr0")))
    figures = lambda c: {k: {f: v for f, v in p.items() if f != "revision"} for k, p in c.items()}
    expect(figures(c1) == figures(c0), "corrections change the counted figures")

    # The party list sums to the official figures exactly.
    plc = [p for (cid, _), p in c1.items() if cid == "party-list"]
    nat = sums(plc, BALLOT)
    expect(nat["votes"] == OFFICIAL, "party list national votes %s" % nat["votes"])
    expect(nat["ballots_not_counted"] == 0 and nat["valid"] == sum(OFFICIAL.values()), "party list valid %d" % nat["valid"])
    expect(0.01 <= nat["ballots_invalid"] / nat["ballots_cast"] <= 0.04, "invalid %d of %d" % (nat["ballots_invalid"], nat["ballots_cast"]))
    expect(0.45 <= nat["ballots_cast"] / nat["voters_registered"] <= 0.60, "turnout %d/%d" % (nat["ballots_cast"], nat["voters_registered"]))
    # expected.json: every contest's national, regional and district sums.
    for c in contests:
        cid = c["id"]
        w = ex["contests"][cid]
        ps = [p for (x, _), p in c1.items() if x == cid]
        same_sums(sums(ps, options[cid]), w["national"], "%s national" % cid)
        rids = sorted({region_of[p["precinct_id"]] for p in ps})
        expect(sorted(w["regions"]) == rids, "%s: regions %s" % (cid, sorted(w["regions"])))
        for rid in rids:
            same_sums(sums([p for p in ps if region_of[p["precinct_id"]] == rid], options[cid]), w["regions"][rid], "%s %s" % (cid, rid))
        dids = [d["id"] for d in districts] if cid == "party-list" else [c["scope"]["district"]]
        expect(sorted(w["districts"]) == dids, "%s: districts %s" % (cid, sorted(w["districts"])))
        for did in dids:
            same_sums(sums([p for p in ps if seen[p["precinct_id"]] == did], options[cid]), w["districts"][did], "%s %s" % (cid, did))
        if c["kind"] == "candidate":
            v = w["national"]["votes"]
            ranked = sorted(options[cid][:-1], key=lambda o: -v[o])
            expect(v[ranked[0]] > v[ranked[1]] and v[ranked[0]] > v["against-all"], "%s: no clear winner %s" % (cid, v))
            expect(w["elected"] == [ranked[0]], "%s: elected %s, the most votes %s" % (cid, w["elected"], ranked[0]))
    seats = hare(ex["contests"]["party-list"]["national"]["votes"], 69, 5, BALLOT)
    expect(seats == SEATS, "Hare from expected.json: %s" % seats)
    expect(ex["contests"]["party-list"]["seats"] == SEATS, "expected.json seats %s" % ex["contests"]["party-list"]["seats"])
    expect(ex["official"] == {"contest": "party-list", "votes": OFFICIAL, "seats": SEATS}, "expected.json official %r" % ex.get("official"))
    # Regional variation, and each voter's ballots: a contest's cast close
    # to the other's in every precinct, but not always equal.
    amanat = [r["votes"]["amanat"] / r["valid"] for r in ex["contests"]["party-list"]["regions"].values()]
    expect(max(amanat) - min(amanat) >= 0.04, "AMANAT's regional shares barely vary: %s" % amanat)
    differ = 0
    for pid in registered:
        a = c1[("party-list", pid)]["ballots_cast"]
        b = c1[(district_contest[seen[pid]], pid)]["ballots_cast"]
        expect(abs(a - b) <= 0.015 * a + 1, "precinct %d: cast %d and %d" % (pid, a, b))
        differ += a != b
    expect(differ > 1000, "only %d precincts cast different numbers of ballots per contest" % differ)

    # Corrections: one contest of a precinct; its other contest untouched.
    corr = ex["corrections"]
    expect(len(corr) == 3 and sorted(x["contest_id"] == "party-list" for x in corr) == [False, True, True],
           "corrections %s" % corr)
    for x in corr:
        pid, cid = x["precinct_id"], x["contest_id"]
        expect(x["file"] == "%s/%d-r2.json" % (region_of[pid], pid), "correction file %s" % x["file"])
        revs = by[(cid, pid)]
        expect(sorted(p["revision"] for p in revs) == [1, 2], "%s/%d revisions" % (cid, pid))
        r1 = next(p for p in revs if p["revision"] == 1)
        expect(r1["votes"] != c1[(cid, pid)]["votes"] and r1["ballots_cast"] == c1[(cid, pid)]["ballots_cast"],
               "%s/%d: the first count is not a different count of the same ballots" % (cid, pid))
        for (oc, op), ps in by.items():
            if op == pid and oc != cid:
                expect(len(ps) == 1 and ps[0] == load_json_results(t("mr0"))[(oc, op)][0], "%s/%d touched by a correction" % (oc, op))
    print("ok: %d protocols pass every control relation; party list = official votes, seats %s"
          % (sum(len(v) for v in by.values()), [seats[o] for o in BALLOT[:-1]]))

    # Another seed: other figures, the same official sums and seats.
    run("results", "--election", t("mz.json"), "--out-dir", t("mr7"), "--seed", 7)
    ex7 = json.load(open(t("mr7", "expected.json")))
    expect(ex7["contests"]["party-list"]["national"]["votes"] == OFFICIAL, "seed 7: party list sums")
    expect(hare(ex7["contests"]["party-list"]["national"]["votes"], 69, 5, BALLOT) == SEATS, "seed 7: seats")
    expect(ex7["contests"]["party-list"]["regions"] != ex["contests"]["party-list"]["regions"], "seed 7: same regional figures")

    # CSV: the same protocols, a contest_id column, the union of options.
    run("results", "--election", t("mz.json"), "--out-dir", t("mc"), "--format", "csv", "--per-file", 400, "--corrections", 3)
    cs = load_csv_results(t("mc"), contests)
    strip = lambda by_: {k: sorted((json.dumps({f: v for f, v in p.items() if f != "_region"}, sort_keys=True) for p in ps))
                          for k, ps in by_.items()}
    expect(strip(cs) == strip(by), "CSV protocols differ from JSON ones")
    exc = json.load(open(t("mc", "expected.json")))
    expect(exc["contests"] == ex["contests"], "CSV expected.json differs from JSON's")
    expect(len(glob.glob(t("mc", "KZ-75", "KZ-75-*.csv"))) == 3, "--per-file 400 splits KZ-75's rows in 3 files")
    # A selection keeps each protocol's figures.
    run("results", "--election", t("mz.json"), "--out-dir", t("ms"), "--region", "KZ-71,KZ-62", "--count", 5)
    sub = load_json_results(t("ms"))
    expect(len(sub) == 20 and all(ps == by[k] for k, ps in sub.items() if len(by[k]) == 1), "selection changes figures")
    print("ok: seeds, CSV (contest_id, union of options) and selections")


def check_generate_contests(t):
    # Benchmark size: streamed, compact, bounded time and memory.
    probe = ("import resource, subprocess, sys, time; t = time.monotonic(); "
             "subprocess.run(sys.argv[1:], check=True); "
             "print(time.monotonic() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([PY, "-c", probe, PY, EL, "generate", "--regions", "20", "--precincts", "1000000", "--contests", "6",
                          "--out", t("g6.json")], stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    secs, kb = float(out[0]), int(out[1])
    expect(secs <= 60, "generate --contests 6 of 1,000,000 precincts took %.1f s" % secs)
    expect(kb <= 150 * 1024, "generate --contests 6 of 1,000,000 precincts peaked at %d kB" % kb)
    e = json.load(open(t("g6.json")))
    expect([c["id"] for c in e["contests"]] == ["party-list", "national", "d-0001", "d-0002", "d-0003", "d-0004"],
           "contests %s" % [c["id"] for c in e["contests"]])
    expect(all(isinstance(p, list) for r in e["regions"] for p in r["precincts"][:5]), "compact precincts above 250,000")
    ds = [d["precincts"] for d in e["districts"]]
    expect(sum(ds, []) == list(range(1, 1000001)) and [len(d) for d in ds] == [250000] * 4, "districts split 1..1,000,000")
    print("ok: generate --contests 6 at 1,000,000 precincts: %.1f s, %d MB peak" % (secs, kb // 1024))
    del e, ds

    # Small: the same precincts as generate's referendum; results consistent.
    run("generate", "--regions", 3, "--precincts", 60, "--seed", 4, "--contests", 5, "--out", t("g5.json"))
    run("generate", "--regions", 3, "--precincts", 60, "--seed", 4, "--out", t("g5r.json"))
    e = json.load(open(t("g5.json")))
    ref = json.load(open(t("g5r.json")))
    expect([r["precincts"] for r in e["regions"]] == [r["precincts"] for r in ref["regions"]], "generate --contests: other precincts")
    expect(len(e["contests"]) == 5 and len(e["districts"]) == 3, "5 contests, 3 districts")
    run("results", "--election", t("g5.json"), "--out-dir", t("g5j"), "--corrections", 4)
    run("results", "--election", t("g5.json"), "--out-dir", t("g5c"), "--format", "csv", "--per-file", 50)
    by = load_json_results(t("g5j"))
    registered = {p["id"]: p["registered"] for r in e["regions"] for p in r["precincts"]}
    options = {c["id"]: [o["id"] for o in c["options"]] for c in e["contests"]}
    for (cid, pid), ps in by.items():
        for p in ps:
            relations(p, "g5 %s/%d" % (cid, pid), options[cid], registered[pid])
    expect(len(counted(by)) == 60 * 3, "every precinct votes in 3 contests: %d protocols" % len(counted(by)))
    ex = json.load(open(t("g5j", "expected.json")))
    for c in e["contests"]:
        ps = [p for (x, _), p in counted(by).items() if x == c["id"]]
        same_sums(sums(ps, options[c["id"]]), ex["contests"][c["id"]]["national"], "g5 %s" % c["id"])
    cs = load_csv_results(t("g5c"), e["contests"])
    expect({k: v[0]["votes"] for k, v in cs.items()} == {k: p["votes"] for k, p in counted(by).items()},
           "g5: CSV protocols differ from the counted JSON ones")
    print("ok: generate --contests 5 and its results")


if __name__ == "__main__":
    main()
