#!/usr/bin/env bash
# deploy/election.py: the demo election's exact totals, protocols that pass
# every control relation, expected.json equal to the sum of what was written
# (JSON and CSV alike), selections that do not change figures, corrections,
# and the generator at benchmark size.
set -euo pipefail
src=${TALLY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
py=/usr/bin/python3
el="$py $src/deploy/election.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

$el kz-demo --out "$tmp/kz.json"
$el results --election "$tmp/kz.json" --out-dir "$tmp/json" 2>/dev/null
$el results --election "$tmp/kz.json" --out-dir "$tmp/csv" --format csv --per-file 250 2>/dev/null
$el results --election "$tmp/kz.json" --out-dir "$tmp/sub" --region KZ-71 --region KZ-62,KZ-10 --count 7 2>/dev/null
$el results --election "$tmp/kz.json" --out-dir "$tmp/fix" --corrections 5 2>/dev/null
$el results --election "$tmp/kz.json" --out-dir "$tmp/fixcsv" --format csv --corrections 5 2>/dev/null
$el kz-demo --out "$tmp/kz2.json"
cmp "$tmp/kz.json" "$tmp/kz2.json" # deterministic

$py - "$tmp" <<'EOF'
import csv, glob, json, os, sys
tmp = sys.argv[1]
fails = []
def expect(cond, what):
    if not cond:
        fails.append(what)

e = json.load(open(os.path.join(tmp, "kz.json")))
codes = [("KZ-10", "Abai"), ("KZ-11", "Akmola"), ("KZ-15", "Aktobe"), ("KZ-19", "Almaty Region"),
         ("KZ-23", "Atyrau"), ("KZ-27", "West Kazakhstan"), ("KZ-31", "Jambyl"), ("KZ-33", "Jetisu"),
         ("KZ-35", "Karaganda"), ("KZ-39", "Kostanay"), ("KZ-43", "Kyzylorda"), ("KZ-47", "Mangystau"),
         ("KZ-55", "Pavlodar"), ("KZ-59", "North Kazakhstan"), ("KZ-61", "Turkistan"), ("KZ-62", "Ulytau"),
         ("KZ-63", "East Kazakhstan"), ("KZ-71", "Astana"), ("KZ-75", "Almaty"), ("KZ-79", "Shymkent")]
expect([(r["id"], r["name"]) for r in e["regions"]] == codes, "region ids/names")
ids = [p["id"] for r in e["regions"] for p in r["precincts"]]
reg = {p["id"]: p["registered"] for r in e["regions"] for p in r["precincts"]}
region_of = {p["id"]: r["id"] for r in e["regions"] for p in r["precincts"]}
expect(len(e["regions"]) == 20, "20 regions, got %d" % len(e["regions"]))
expect(len(ids) == 10388, "10388 precincts, got %d" % len(ids))
expect(len(set(ids)) == len(ids), "precinct ids unique")
expect(sum(reg.values()) == 12482613, "12482613 registered, got %d" % sum(reg.values()))
expect(e["options"] == [{"id": "yes", "name": "Yes"}, {"id": "no", "name": "No"}], "options")
expect(e["rules"] == {"min_turnout_pct": 50, "region_majority_fraction": 0.6667}, "rules")
expect(e["election_id"] == "kz-referendum-2026-03-15", "election_id")
expect(min(reg.values()) > 0, "every precinct has voters")

F = ["voters_registered", "ballots_received", "ballots_issued", "ballots_cancelled",
     "ballots_cast", "ballots_invalid", "ballots_not_counted"]

def relations(p, where):
    v = p["votes"]
    expect(set(v) == {"yes", "no"}, "%s: options %s" % (where, sorted(v)))
    expect(p["ballots_received"] == p["ballots_issued"] + p["ballots_cancelled"], "%s: received" % where)
    expect(p["ballots_cast"] <= p["ballots_issued"], "%s: cast <= issued" % where)
    expect(p["ballots_issued"] <= p["voters_registered"], "%s: issued <= registered" % where)
    expect(p["ballots_cast"] == p["ballots_invalid"] + p["ballots_not_counted"] + sum(v.values()), "%s: cast sum" % where)
    expect(min([p[f] for f in F] + list(v.values())) >= 0, "%s: negative" % where)
    expect(p["voters_registered"] == reg[p["precinct_id"]], "%s: registered as in election" % where)

def load_json(d):
    out = {}
    for path in glob.glob(os.path.join(d, "*", "*.json")):
        p = json.load(open(path))
        rid = os.path.basename(os.path.dirname(path))
        expect(region_of[p["precinct_id"]] == rid, "%s in wrong region folder" % path)
        expect(set(p) == {"precinct_id", "revision"} | set(F) | {"votes"}, "%s: keys" % path)
        relations(p, path)
        out.setdefault(p["precinct_id"], []).append(p)
    return out

def load_csv(d):
    out = {}
    for path in glob.glob(os.path.join(d, "*", "*.csv")):
        rows = list(csv.DictReader(open(path)))
        expect(open(path).readline().strip() == "precinct_id,revision,voters_registered,ballots_received,ballots_issued,ballots_cancelled,ballots_cast,ballots_invalid,ballots_not_counted,yes,no", "%s: header" % path)
        for row in rows:
            p = {k: int(v) for k, v in row.items()}
            p["votes"] = {"yes": p.pop("yes"), "no": p.pop("no")}
            relations(p, path)
            out.setdefault(p["precinct_id"], []).append(p)
    return out

def counted(by_pid):
    return {pid: max(ps, key=lambda p: p["revision"]) for pid, ps in by_pid.items()}

def sums(ps):
    s = {"precincts": len(ps), "votes": {"yes": 0, "no": 0}}
    for f in F:
        s[f] = sum(p[f] for p in ps)
    for o in ("yes", "no"):
        s["votes"][o] = sum(p["votes"][o] for p in ps)
    return s

def compare(name, by_pid, n_expected):
    ex = json.load(open(os.path.join(tmp, name, "expected.json")))
    c = counted(by_pid)
    expect(len(c) == n_expected, "%s: %d precincts written, want %d" % (name, len(c), n_expected))
    nat = sums(list(c.values()))
    for k, v in nat.items():
        expect(ex["national"][k] == v, "%s: national %s %r != files %r" % (name, k, ex["national"][k], v))
    regions = sorted({region_of[pid] for pid in c})
    expect(sorted(ex["regions"]) == regions, "%s: regions in expected.json" % name)
    for rid in regions:
        rs = sums([p for pid, p in c.items() if region_of[pid] == rid])
        for k, v in rs.items():
            expect(ex["regions"][rid][k] == v, "%s: %s %s %r != %r" % (name, rid, k, ex["regions"][rid][k], v))
    return ex, c

js = load_json(os.path.join(tmp, "json"))
ex, cj = compare("json", js, 10388)
expect(all(len(v) == 1 and v[0]["revision"] == 1 for v in js.values()), "json: one revision-1 file each")
nat = ex["national"]
turnout = 100.0 * nat["ballots_cast"] / nat["voters_registered"]
yes = 100.0 * nat["votes"]["yes"] / (nat["ballots_cast"] - nat["ballots_invalid"])
expect(abs(turnout - 73.12) <= 0.5, "turnout %.3f not within 0.5 of 73.12" % turnout)
expect(abs(yes - 87.15) <= 0.5, "yes %.3f not within 0.5 of 87.15" % yes)
expect(nat["voters_registered"] == 12482613, "expected.json registered")

cs = load_csv(os.path.join(tmp, "csv"))
_, cc = compare("csv", cs, 10388)
expect(cc == cj, "csv figures equal json figures for the same seed")
expect(len(glob.glob(os.path.join(tmp, "csv", "KZ-75", "*.csv"))) == 3, "--per-file 250 splits KZ-75's 543 rows in 3 files")

sub = load_json(os.path.join(tmp, "sub"))
_, csub = compare("sub", sub, 21)
expect(all(csub[pid] == cj[pid] for pid in csub), "selection keeps each precinct's figures")
expect(sorted({region_of[p] for p in csub}) == ["KZ-10", "KZ-62", "KZ-71"], "selected regions")

for name, loader in (("fix", load_json), ("fixcsv", load_csv)):
    by = loader(os.path.join(tmp, name))
    ex, c = compare(name, by, 10388)
    fixed = [pid for pid, ps in by.items() if len(ps) == 2]
    expect(len(fixed) == 5 and len(ex["corrections"]) == 5, "%s: 5 corrections" % name)
    expect(sorted(x["precinct_id"] for x in ex["corrections"]) == sorted(fixed), "%s: corrections listed" % name)
    expect(all(sorted(p["revision"] for p in by[pid]) == [1, 2] for pid in fixed), "%s: revisions 1 and 2" % name)
    expect(all(by[pid][0] != by[pid][1] for pid in fixed), "%s: a correction changes figures" % name)
    expect(ex["national"] != json.load(open(os.path.join(tmp, "json", "expected.json")))["national"], "%s: totals moved" % name)

if fails:
    print("FAIL:\n  " + "\n  ".join(fails[:30]))
    sys.exit(1)
print("ok: kz-demo 20 regions, 10388 precincts, 12482613 registered; turnout %.2f %%, yes %.2f %%" % (turnout, yes))
EOF

# The generator at benchmark size: exact counts, unique ids, fast.
start=$(date +%s)
$el generate --regions 20 --precincts 200000 --seed 7 --out "$tmp/big.json"
$el generate --regions 25 --precincts 100 --no-rules --out "$tmp/small.json"
end=$(date +%s)
$py - "$tmp" <<'EOF'
import json, os, sys
tmp = sys.argv[1]
e = json.load(open(os.path.join(tmp, "big.json")))
ids = [p["id"] for r in e["regions"] for p in r["precincts"]]
assert len(ids) == 200000 and sorted(ids) == list(range(1, 200001)), "big: ids 1..200000"
assert len(e["regions"]) == 20 and e["regions"][17]["id"] == "KZ-71", "big: Kazakhstan's region ids"
assert all(len(r["precincts"]) > 0 for r in e["regions"]), "big: no empty region"
assert "rules" in e
s = json.load(open(os.path.join(tmp, "small.json")))
assert "rules" not in s, "--no-rules"
assert [r["id"] for r in s["regions"]][19:] == ["KZ-79", "RG-0021", "RG-0022", "RG-0023", "RG-0024", "RG-0025"], "regions past 20"
assert sum(len(r["precincts"]) for r in s["regions"]) == 100
print("ok: generate 200000 precincts")
EOF
[ $((end - start)) -le 30 ] || { echo "FAIL: generate took $((end - start)) s"; exit 1; }
echo "PASS test_election_py"
