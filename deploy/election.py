#!/usr/bin/python3
"""Election definitions and synthetic precinct results for tally.

  election.py kz-demo  --out election.json [--seed S]
  election.py generate --regions R --precincts N [--seed S] [--no-rules]
                       [--compact | --no-compact] --out election.json
  election.py results  --election election.json --out-dir DIR [--format json|csv]
                       [--seed S] [--region R ...] [--count N] [--per-file N]
                       [--corrections K]

kz-demo is shaped on Kazakhstan's constitutional referendum of 15 March 2026:
the 20 regions with their ISO 3166-2 codes, 10,388 precincts and 12,482,613
registered voters in all. The split of voters and precincts between regions
follows the regions' populations and settlement patterns roughly; every
per-precinct figure is synthetic.

generate makes elections of any size for benchmarks (precinct ids 1..N,
Kazakhstan's region names while R <= 20, then RG-0021, ...). With --compact
each precinct is written as [id, registered] instead of {"id": id,
"registered": registered}: the aggregator loads that form in less than
half the memory and time. It is the default above COMPACT_ABOVE (250,000)
precincts; --no-compact writes objects at any size.

results writes one protocol per precinct in the node's spool formats, one
folder per region (DIR/<REGION>/), and DIR/expected.json with the exact
national and per-region sums of what it wrote. Every figure is a pure
function of (seed, precinct id, revision), so --region and --count select
precincts without changing their figures. --count N keeps the first N
precincts (by id) of EACH selected region. --corrections K also writes, for
K precincts spread over the selection, a second protocol with revision 2
(JSON: <id>-r2.json; CSV: <REGION>-corrections.csv); expected.json then
holds the revision-2 figures for those precincts, as an aggregator counts
them whatever order the files arrive in.

Standard library only (Debian's /usr/bin/python3).
"""

import argparse
import hashlib
import json
import os
import struct
import sys

KZ_ELECTION_ID = "kz-referendum-2026-03-15"
KZ_TITLE = "Republican referendum on the draft Constitution of the Republic of Kazakhstan, 15 March 2026 (synthetic demo data)"
KZ_REGISTERED = 12482613
KZ_PRECINCTS = 10388
KZ_TURNOUT = 0.7312  # ballots cast / registered
KZ_YES = 0.8715  # yes / (cast - invalid)
DEFAULT_SEED = 2026

# id, name, weight for registered voters, weight for precincts. Rural
# regions have many small precincts; the cities few large ones.
KZ_REGIONS = [
    ("KZ-10", "Abai", 420, 600),
    ("KZ-11", "Akmola", 540, 700),
    ("KZ-15", "Aktobe", 580, 560),
    ("KZ-19", "Almaty Region", 930, 860),
    ("KZ-23", "Atyrau", 400, 330),
    ("KZ-27", "West Kazakhstan", 450, 530),
    ("KZ-31", "Jambyl", 700, 600),
    ("KZ-33", "Jetisu", 450, 560),
    ("KZ-35", "Karaganda", 800, 650),
    ("KZ-39", "Kostanay", 620, 790),
    ("KZ-43", "Kyzylorda", 480, 390),
    ("KZ-47", "Mangystau", 440, 280),
    ("KZ-55", "Pavlodar", 540, 560),
    ("KZ-59", "North Kazakhstan", 400, 640),
    ("KZ-61", "Turkistan", 1180, 930),
    ("KZ-62", "Ulytau", 150, 170),
    ("KZ-63", "East Kazakhstan", 520, 610),
    ("KZ-71", "Astana", 900, 420),
    ("KZ-75", "Almaty", 1380, 580),
    ("KZ-79", "Shymkent", 700, 330),
]

OPTIONS = [{"id": "yes", "name": "Yes"}, {"id": "no", "name": "No"}]
RULES = {"min_turnout_pct": 50, "region_majority_fraction": 0.6667}
FIELDS = [
    "precinct_id",
    "revision",
    "voters_registered",
    "ballots_received",
    "ballots_issued",
    "ballots_cancelled",
    "ballots_cast",
    "ballots_invalid",
    "ballots_not_counted",
]
SUM_FIELDS = FIELDS[2:]
MIN_PRECINCT = 20  # registered voters in the smallest precinct
# generate writes [id, registered] precincts above this many by default: at
# a million, objects cost the loader 460 MB of peak memory.
COMPACT_ABOVE = 250000


def uniforms(seed, *key):
    """Eight uniforms in [0, 1) that depend only on (seed, key)."""
    h = hashlib.blake2b(("%s:%s" % (seed, ":".join(map(str, key)))).encode(), digest_size=32).digest()
    return [x / 4294967296.0 for x in struct.unpack("<8I", h)]


def apportion(total, weights):
    """Largest-remainder split of the integer total in proportion to weights."""
    wsum = float(sum(weights))
    raw = [total * w / wsum for w in weights]
    out = [int(r) for r in raw]
    rest = total - sum(out)
    order = sorted(range(len(weights)), key=lambda i: (out[i] - raw[i], i))
    for i in order[:rest]:
        out[i] += 1
    return out


def precinct_sizes(seed, region_id, n, registered):
    """n precinct sizes summing exactly to registered, each >= MIN_PRECINCT
    when the total allows it; a long tail of large urban precincts."""
    floor_ = MIN_PRECINCT if registered >= MIN_PRECINCT * n else 0
    weights = []
    for i in range(n):
        u = uniforms(seed, "size", region_id, i)[0]
        weights.append(0.15 + 2.5 * u * u)
    sizes = apportion(registered - floor_ * n, weights)
    return [s + floor_ for s in sizes]


def region_entry(rid, name, first_id, sizes):
    return {
        "id": rid,
        "name": name,
        "precincts": [{"id": first_id + i, "registered": s} for i, s in enumerate(sizes)],
    }


def kz_demo(seed):
    regs = apportion(KZ_REGISTERED, [r[2] for r in KZ_REGIONS])
    pcts = apportion(KZ_PRECINCTS, [r[3] for r in KZ_REGIONS])
    regions = []
    next_id = 1
    for (rid, name, _, _), reg, n in zip(KZ_REGIONS, regs, pcts):
        regions.append(region_entry(rid, name, next_id, precinct_sizes(seed, rid, n, reg)))
        next_id += n
    return {
        "election_id": KZ_ELECTION_ID,
        "title": KZ_TITLE,
        "options": OPTIONS,
        "regions": regions,
        "rules": RULES,
    }


def region_names(r):
    if r <= len(KZ_REGIONS):
        return [(x[0], x[1]) for x in KZ_REGIONS[:r]]
    out = [(x[0], x[1]) for x in KZ_REGIONS]
    for i in range(len(KZ_REGIONS) + 1, r + 1):
        out.append(("RG-%04d" % i, "Region %d" % i))
    return out


def generate(nregions, nprecincts, seed, rules, election_id=None):
    """Precinct ids 1..N; region i gets a share like Kazakhstan's (or equal
    beyond 20); sizes 150..3000 voters."""
    names = region_names(nregions)
    if nregions <= len(KZ_REGIONS):
        weights = [x[3] for x in KZ_REGIONS[:nregions]]
    else:
        weights = [1] * nregions
    counts = apportion(nprecincts - nregions, weights) if nprecincts >= nregions else [0] * nregions
    if nprecincts >= nregions:
        counts = [c + 1 for c in counts]
    else:
        counts = [1 if i < nprecincts else 0 for i in range(nregions)]
    regions = []
    pid = 1
    for (rid, name), n in zip(names, counts):
        sizes = []
        for i in range(n):
            u = uniforms(seed, "gen", pid + i)[0]
            sizes.append(150 + int(2850 * u * u))
        regions.append(region_entry(rid, name, pid, sizes))
        pid += n
    e = {
        "election_id": election_id or "synthetic-%dr-%dp-s%s" % (nregions, nprecincts, seed),
        "title": "Synthetic election: %d regions, %d precincts (seed %s)" % (nregions, nprecincts, seed),
        "options": OPTIONS,
        "regions": regions,
    }
    if rules:
        e["rules"] = RULES
    return e


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def dump_election(e, path, compact=False):
    """json.dump is slow for a million precincts; the precinct lists are
    written by hand, the rest by json. compact writes [id, registered]."""
    fmt = "      [%d, %d]" if compact else '      {"id": %d, "registered": %d}'
    parts = ["{\n"]
    head = {k: v for k, v in e.items() if k != "regions"}
    for k, v in head.items():
        parts.append("  %s: %s,\n" % (json.dumps(k), json.dumps(v, ensure_ascii=False)))
    parts.append('  "regions": [\n')
    for ri, r in enumerate(e["regions"]):
        parts.append('    {"id": %s, "name": %s, "precincts": [\n' % (json.dumps(r["id"]), json.dumps(r["name"], ensure_ascii=False)))
        parts.append(",\n".join(fmt % (p["id"], p["registered"]) for p in r["precincts"]))
        parts.append("\n    ]}%s\n" % ("," if ri + 1 < len(e["regions"]) else ""))
    parts.append("  ]\n}\n")
    if path == "-":
        sys.stdout.write("".join(parts))
    else:
        write_atomic(path, "".join(parts))


def load_election(path):
    """An election definition with every precinct as a dict, whichever of
    the two forms ({"id", "registered"} or [id, registered]) the file uses."""
    with open(path) as f:
        election = json.load(f)
    for r in election["regions"]:
        r["precincts"] = [p if isinstance(p, dict) else {"id": p[0], "registered": p[1]} for p in r["precincts"]]
    return election


# ---------------------------------------------------------------------------
# Results


def clamp(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


def region_offsets(seed, election):
    """Per-region turnout and yes-share offsets, weighted to mean zero so the
    national figures land on the targets whatever the regions' sizes."""
    regs = []
    for r in election["regions"]:
        regs.append(sum(p["registered"] for p in r["precincts"]))
    t_raw, y_raw = [], []
    for r in election["regions"]:
        u = uniforms(seed, "region", r["id"])
        t_raw.append((u[0] - 0.5) * 0.12)
        y_raw.append((u[1] - 0.5) * 0.10)
    total = float(sum(regs)) or 1.0
    t_mean = sum(w * o for w, o in zip(regs, t_raw)) / total
    t_off = [o - t_mean for o in t_raw]
    cast_w = [w * (KZ_TURNOUT + o) for w, o in zip(regs, t_off)]
    ctotal = float(sum(cast_w)) or 1.0
    y_mean = sum(w * o for w, o in zip(cast_w, y_raw)) / ctotal
    y_off = [o - y_mean for o in y_raw]
    return {r["id"]: (t, y) for r, t, y in zip(election["regions"], t_off, y_off)}


def protocol(seed, pid, registered, offsets, option_ids, revision=1):
    """One precinct's protocol; every control relation holds by construction:
    received = issued + cancelled; cast <= issued <= registered;
    cast = invalid + not_counted + sum(votes)."""
    t_off, y_off = offsets
    u = uniforms(seed, "p", pid)
    t = clamp(KZ_TURNOUT + t_off + (u[0] - 0.5) * 0.16, 0.2, 0.995)
    y = clamp(KZ_YES + y_off + (u[1] - 0.5) * 0.10, 0.4, 0.995)
    cast = int(round(registered * t))
    issued = min(registered, cast + int(u[2] * 0.004 * cast))
    reserve = int(round(registered * 0.02 * u[3]))
    cancelled = registered - issued + reserve
    invalid = int(round(cast * (0.006 + 0.012 * u[4])))
    not_counted = int(round(cast * 0.004 * u[5]))
    if revision > 1:
        # A recount: a few ballots first judged invalid turn out valid.
        moved = min(invalid, 1 + int(u[6] * 5))
        invalid -= moved
    valid = cast - invalid
    first = min(int(round(valid * y)), valid - not_counted)
    votes = [first]
    rest = valid - not_counted - first
    others = option_ids[1:]
    for i, _ in enumerate(others):
        if i + 1 == len(others):
            votes.append(rest)
        else:
            share = int(rest * uniforms(seed, "opt", pid, i)[0])
            votes.append(share)
            rest -= share
    if not others:
        not_counted += rest
    rec = {
        "precinct_id": pid,
        "revision": revision,
        "voters_registered": registered,
        "ballots_received": issued + cancelled,
        "ballots_issued": issued,
        "ballots_cancelled": cancelled,
        "ballots_cast": cast,
        "ballots_invalid": invalid,
        "ballots_not_counted": not_counted,
        "votes": dict(zip(option_ids, votes)),
    }
    check(rec)
    return rec


def check(p):
    v = p["votes"]
    assert p["ballots_received"] == p["ballots_issued"] + p["ballots_cancelled"], p
    assert p["ballots_cast"] <= p["ballots_issued"] <= p["voters_registered"], p
    assert p["ballots_cast"] == p["ballots_invalid"] + p["ballots_not_counted"] + sum(v.values()), p
    assert min(v.values()) >= 0 and p["ballots_invalid"] >= 0 and p["ballots_not_counted"] >= 0, p


def empty_sums(option_ids):
    s = {"precincts": 0}
    for f in SUM_FIELDS:
        s[f] = 0
    s["votes"] = {o: 0 for o in option_ids}
    return s


def add(s, p):
    s["precincts"] += 1
    for f in SUM_FIELDS:
        s[f] += p[f]
    for o, n in p["votes"].items():
        s["votes"][o] += n


def finish(s):
    s["turnout_pct"] = round(100.0 * s["ballots_cast"] / s["voters_registered"], 4) if s["voters_registered"] else 0.0
    valid = s["ballots_cast"] - s["ballots_invalid"]
    s["votes_pct"] = {o: (round(100.0 * n / valid, 4) if valid else 0.0) for o, n in s["votes"].items()}
    return s


def csv_row(p, option_ids):
    return ",".join([str(p[f]) for f in FIELDS] + [str(p["votes"][o]) for o in option_ids])


def results(args):
    election = load_election(args.election)
    option_ids = [o["id"] for o in election["options"]]
    offsets = region_offsets(args.seed, election)
    wanted = set()
    for r in args.region or []:
        wanted.update(x for x in r.split(",") if x)
    known = {r["id"] for r in election["regions"]}
    unknown = wanted - known
    if unknown:
        sys.exit("election.py: unknown region(s) %s in %s" % (", ".join(sorted(unknown)), args.election))
    selected = []
    for r in election["regions"]:
        if wanted and r["id"] not in wanted:
            continue
        ps = sorted(r["precincts"], key=lambda p: p["id"])
        if args.count is not None:
            ps = ps[: args.count]
        selected.append((r, ps))

    # Corrections: K precincts spread evenly over the selection.
    flat = [(r["id"], p["id"]) for r, ps in selected for p in ps]
    corrected = set()
    if args.corrections and flat:
        k = min(args.corrections, len(flat))
        for i in range(k):
            corrected.add(flat[(i * len(flat)) // k + (len(flat) // (2 * k))][1])

    os.makedirs(args.out_dir, exist_ok=True)
    header = ",".join(FIELDS + option_ids)
    national = empty_sums(option_ids)
    per_region = {}
    corrections = []
    files = 0
    for r, ps in selected:
        rid = r["id"]
        rdir = os.path.join(args.out_dir, rid)
        os.makedirs(rdir, exist_ok=True)
        sums = empty_sums(option_ids)
        rows, fixes = [], []
        for p in ps:
            rec = protocol(args.seed, p["id"], p["registered"], offsets[rid], option_ids)
            counted = rec
            if p["id"] in corrected:
                counted = protocol(args.seed, p["id"], p["registered"], offsets[rid], option_ids, revision=2)
                fixes.append(counted)
            add(sums, counted)
            add(national, counted)
            if args.format == "json":
                write_atomic(os.path.join(rdir, "%d.json" % p["id"]), json.dumps(rec) + "\n")
                files += 1
            else:
                rows.append(csv_row(rec, option_ids))
        if args.format == "json":
            for fx in fixes:
                name = "%d-r2.json" % fx["precinct_id"]
                write_atomic(os.path.join(rdir, name), json.dumps(fx) + "\n")
                corrections.append({"region": rid, "precinct_id": fx["precinct_id"], "file": "%s/%s" % (rid, name)})
                files += 1
        else:
            per = args.per_file if args.per_file and args.per_file > 0 else max(1, len(rows))
            for i in range(0, len(rows), per):
                name = "%s-%04d.csv" % (rid, i // per + 1)
                write_atomic(os.path.join(rdir, name), header + "\n" + "\n".join(rows[i : i + per]) + "\n")
                files += 1
            if fixes:
                name = "%s-corrections.csv" % rid
                write_atomic(os.path.join(rdir, name), header + "\n" + "\n".join(csv_row(fx, option_ids) for fx in fixes) + "\n")
                for fx in fixes:
                    corrections.append({"region": rid, "precinct_id": fx["precinct_id"], "file": "%s/%s" % (rid, name)})
                files += 1
        per_region[rid] = finish(sums)
        per_region[rid]["name"] = r["name"]

    expected = {
        "election_id": election["election_id"],
        "seed": args.seed,
        "format": args.format,
        "files": files,
        "national": finish(national),
        "regions": per_region,
        "corrections": corrections,
    }
    write_atomic(os.path.join(args.out_dir, "expected.json"), json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    n = national
    print(
        "election.py: %d precincts in %d region(s), %d file(s) in %s; turnout %.2f %%, %s %.2f %% of valid"
        % (n["precincts"], len(per_region), files, args.out_dir, n["turnout_pct"], option_ids[0], n["votes_pct"].get(option_ids[0], 0.0)),
        file=sys.stderr,
    )


def main(argv=None):
    ap = argparse.ArgumentParser(prog="election.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    k = sub.add_parser("kz-demo", help="the demo election (Kazakhstan, 15 March 2026, synthetic precincts)")
    k.add_argument("--out", required=True, help="election.json to write ('-' for stdout)")
    k.add_argument("--seed", default=DEFAULT_SEED, type=int)

    g = sub.add_parser("generate", help="an election of any size")
    g.add_argument("--regions", required=True, type=int)
    g.add_argument("--precincts", required=True, type=int)
    g.add_argument("--seed", default=1, type=int)
    g.add_argument("--no-rules", action="store_true")
    g.add_argument("--election-id", default=None)
    c = g.add_mutually_exclusive_group()
    c.add_argument("--compact", dest="compact", action="store_true", default=None,
                   help="precincts as [id, registered] (default above %d precincts)" % COMPACT_ABOVE)
    c.add_argument("--no-compact", dest="compact", action="store_false",
                   help='precincts as {"id": .., "registered": ..} at any size')
    g.add_argument("--out", required=True)

    r = sub.add_parser("results", help="synthetic protocols in the node's spool formats, plus expected.json")
    r.add_argument("--election", required=True)
    r.add_argument("--out-dir", required=True)
    r.add_argument("--format", choices=["json", "csv"], default="json")
    r.add_argument("--seed", default=DEFAULT_SEED, type=int)
    r.add_argument("--region", action="append", help="only this region (repeat or comma list)")
    r.add_argument("--count", type=int, default=None, help="only the first N precincts of each region")
    r.add_argument("--per-file", type=int, default=0, help="CSV rows per file (default: one file per region)")
    r.add_argument("--corrections", type=int, default=0, help="also write K revision-2 corrections")

    a = ap.parse_args(argv)
    if a.cmd == "kz-demo":
        dump_election(kz_demo(a.seed), a.out)
    elif a.cmd == "generate":
        if a.regions < 1 or a.precincts < 1:
            ap.error("--regions and --precincts must be >= 1")
        compact = a.compact if a.compact is not None else a.precincts > COMPACT_ABOVE
        dump_election(generate(a.regions, a.precincts, a.seed, not a.no_rules, a.election_id), a.out, compact)
    else:
        if a.count is not None and a.count < 0:
            ap.error("--count must be >= 0")
        results(a)


if __name__ == "__main__":
    main()
