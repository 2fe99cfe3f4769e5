#!/usr/bin/python3
"""Election definitions and synthetic precinct results for tally.

  election.py kz-demo  --out election.json [--seed S]
  election.py mazhilis-2023 --out election.json [--seed S]
  election.py generate --regions R --precincts N [--seed S] [--no-rules]
                       [--contests K] [--compact | --no-compact] --out election.json
  election.py results  --election election.json --out-dir DIR [--format json|csv]
                       [--seed S] [--region R ...] [--count N] [--per-file N]
                       [--corrections K]

kz-demo is shaped on Kazakhstan's constitutional referendum of 15 March 2026:
the 20 regions with their ISO 3166-2 codes, 10,388 precincts and 12,482,613
registered voters in all. The split of voters and precincts between regions
follows the regions' populations and settlement patterns roughly; every
per-precinct figure is synthetic.

mazhilis-2023 is a general election (docs/elections.md) shaped on the
Mazhilis election of 19 March 2023, on kz-demo's regions and precincts
(same ids and registered voters; names in Kazakh, Russian and English and
map tiles from regions-kz.json beside this file): the national party list
(69 seats, Hare, 5 % threshold) with the 2023 ballot's parties in its
order, and 29 single-mandate districts, each a run of consecutive
precincts of one region, the regions having them in proportion to their
voters (at least one each), with synthetic candidates. Real: the parties,
their ballot order, the national votes and seats, the structure. Synthetic:
everything below the national party-list votes, the turnout and invalid
ballots, list lengths, candidates and their votes.

generate makes elections of any size for benchmarks (precinct ids 1..N,
Kazakhstan's region names while R <= 20, then RG-0021, ...). With --compact
each precinct is written as [id, registered] instead of {"id": id,
"registered": registered}: the aggregator loads that form in less than
half the memory and time. It is the default above COMPACT_ABOVE (250,000)
precincts; --no-compact writes objects at any size. --contests K makes a
general election on the same precincts instead of the referendum: a
party list, a national candidate contest and K - 2 district contests over
runs of consecutive precinct ids, so each precinct votes in min(K, 3)
contests; it is written as it is generated, in little memory.

results writes one protocol per precinct in the node's spool formats, one
folder per region (DIR/<REGION>/), and DIR/expected.json with the exact
national and per-region sums of what it wrote. Every figure is a pure
function of (seed, precinct id, revision), so --region and --count select
precincts without changing their figures. --count N keeps the first N
precincts (by id) of EACH selected region. --corrections K also writes, for
K precincts spread over the selection, a second protocol with revision 2
(JSON: <id>-r2.json; CSV: <REGION>-corrections.csv); expected.json then
holds the revision-2 figures for those precincts, as an aggregator counts
them whatever order the files arrive in. For a definition with contests
it writes one protocol per (precinct, contest) the precinct votes in, and
expected.json per contest; see general_results. The Mazhilis party list's
figures depend on every precinct's (they are fitted to the official
national votes), still only on the seed.

Standard library only (Debian's /usr/bin/python3).
"""

import argparse
import hashlib
import json
import os
import random
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


def region_counts(nregions, nprecincts):
    """Precincts per region for generate: a share like Kazakhstan's (or
    equal beyond 20 regions), at least one each while there are enough."""
    if nregions <= len(KZ_REGIONS):
        weights = [x[3] for x in KZ_REGIONS[:nregions]]
    else:
        weights = [1] * nregions
    counts = apportion(nprecincts - nregions, weights) if nprecincts >= nregions else [0] * nregions
    if nprecincts >= nregions:
        counts = [c + 1 for c in counts]
    else:
        counts = [1 if i < nprecincts else 0 for i in range(nregions)]
    return counts


def generated_size(seed, pid):
    u = uniforms(seed, "gen", pid)[0]
    return 150 + int(2850 * u * u)


def generate(nregions, nprecincts, seed, rules, election_id=None):
    """Precinct ids 1..N; region i gets a share like Kazakhstan's (or equal
    beyond 20); sizes 150..3000 voters."""
    names = region_names(nregions)
    counts = region_counts(nregions, nprecincts)
    regions = []
    pid = 1
    for (rid, name), n in zip(names, counts):
        sizes = [generated_size(seed, pid + i) for i in range(n)]
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
    the two forms ({"id", "registered"} or [id, registered]) the file uses;
    in a definition with contests, as an (id, registered) tuple instead
    (half the memory at a million precincts)."""
    with open(path) as f:
        election = json.load(f)
    general = "contests" in election
    for r in election["regions"]:
        if general:
            r["precincts"] = [(p["id"], p["registered"]) if isinstance(p, dict) else tuple(p) for p in r["precincts"]]
        else:
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
    if "contests" in election:
        general_results(args, election)
        return
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


# ---------------------------------------------------------------------------
# General elections: several contests on one day (docs/elections.md)

MAZHILIS_ID = "kz-mazhilis-2023-03-19"
MAZHILIS_TITLE = {
    "kk": "Қазақстан Республикасы Парламенті Мәжілісінің депутаттарын сайлау, 2023 жылғы 19 наурыз (синтетикалық демо деректер)",
    "ru": "Выборы депутатов Мажилиса Парламента Республики Казахстан, 19 марта 2023 года (синтетические демо-данные)",
    "en": "Election of the Mazhilis of the Parliament of Kazakhstan, 19 March 2023 (synthetic demo data)",
}
# The 2023 party-list ballot in its order (drawn by lot at the Central
# Election Commission in February 2023), with the official national votes
# and seats. id, names, colour, list_length (synthetic), votes, seats.
# QHP is Qazaqstan Halyq Partiyasy, the People's Party of Kazakhstan; JSDP
# the Nationwide Social Democratic Party; short names as on screens.
MAZHILIS_PARTIES = [
    ("amanat", {"kk": "AMANAT", "ru": "AMANAT", "en": "AMANAT"}, "#2e8fe0", 69, 3431510, 40),
    ("auyl", {"kk": "«Ауыл»", "ru": "«Ауыл»", "en": "Auyl"}, "#3fa34d", 40, 693938, 8),
    ("respublica", {"kk": "Respublica", "ru": "Respublica", "en": "Respublica"}, "#f07c22", 30, 547154, 6),
    ("qhp", {"kk": "ҚХП", "ru": "НПК", "en": "QHP"}, "#d64545", 35, 432920, 5),
    ("baytaq", {"kk": "«Байтақ»", "ru": "«Байтак»", "en": "Baytaq"}, "#1aa39a", 20, 146431, 0),
    ("aqjol", {"kk": "«Ақ жол»", "ru": "«Ак жол»", "en": "Aq Jol"}, "#e6c229", 41, 535139, 6),
    ("jsdp", {"kk": "ЖСДП", "ru": "ОСДП", "en": "JSDP"}, "#9b5fd0", 27, 331058, 4),
]
AGAINST_ALL_ID = "against-all"
AGAINST_ALL_NAME = {"kk": "Бәріне қарсымын", "ru": "Против всех", "en": "Against all"}
MAZHILIS_AGAINST_ALL = 248291
MAZHILIS_LIST_SEATS = 69
MAZHILIS_DISTRICTS = 29
PARTY_LIST_ID = "party-list"
PARTY_LIST_NAME = {"kk": "Мәжіліс: партиялық тізімдер", "ru": "Мажилис: партийные списки", "en": "Mazhilis: party lists"}
PARTY_LIST_RULES = {"threshold_pct": 5, "method": "hare"}
# Synthetic: ballots cast over registered voters, and invalid ballots over
# ballots cast, on the party list (the candidates' ballots follow it).
MAZHILIS_TURNOUT = 0.5225
MAZHILIS_INVALID = 0.024
GENERAL_TURNOUT = 0.55

# Synthetic candidates' names: (kk, ru, en).
MALE_NAMES = [
    ("Ерлан", "Ерлан", "Yerlan"), ("Нұрлан", "Нурлан", "Nurlan"), ("Қайрат", "Кайрат", "Kairat"),
    ("Дәурен", "Даурен", "Dauren"), ("Арман", "Арман", "Arman"), ("Болат", "Болат", "Bolat"),
    ("Мақсат", "Максат", "Maksat"), ("Ерболат", "Ерболат", "Yerbolat"), ("Серік", "Серик", "Serik"),
    ("Асхат", "Асхат", "Askhat"), ("Бауыржан", "Бауыржан", "Bauyrzhan"), ("Виктор", "Виктор", "Viktor"),
    ("Сергей", "Сергей", "Sergei"), ("Ғалым", "Галым", "Galym"), ("Талғат", "Талгат", "Talgat"),
]
FEMALE_NAMES = [
    ("Әсел", "Асель", "Assel"), ("Гүлнар", "Гульнар", "Gulnar"), ("Жанар", "Жанар", "Zhanar"),
    ("Айгүл", "Айгуль", "Aigul"), ("Ботагөз", "Ботагоз", "Botagoz"), ("Сәуле", "Сауле", "Saule"),
    ("Ольга", "Ольга", "Olga"), ("Елена", "Елена", "Yelena"), ("Динара", "Динара", "Dinara"),
    ("Меруерт", "Меруерт", "Meruert"), ("Әйгерім", "Айгерим", "Aigerim"), ("Салтанат", "Салтанат", "Saltanat"),
]
# Men's forms; women's add -а/-a to those ending in -ов/-ев/-ин.
SURNAMES = [
    ("Әбенов", "Абенов", "Abenov"), ("Садықов", "Садыков", "Sadykov"), ("Нұрпейісов", "Нурпеисов", "Nurpeisov"),
    ("Жақсылықов", "Жаксылыков", "Zhaksylykov"), ("Серіков", "Сериков", "Serikov"), ("Мұқанов", "Муканов", "Mukanov"),
    ("Ахметов", "Ахметов", "Akhmetov"), ("Бейсенов", "Бейсенов", "Beisenov"), ("Омаров", "Омаров", "Omarov"),
    ("Сұлтанов", "Султанов", "Sultanov"), ("Қасымов", "Касымов", "Kassymov"), ("Әбдірахманов", "Абдрахманов", "Abdrakhmanov"),
    ("Нұрғалиев", "Нургалиев", "Nurgaliyev"), ("Тілегенов", "Тлегенов", "Tlegenov"), ("Иванов", "Иванов", "Ivanov"),
    ("Петров", "Петров", "Petrov"), ("Жұмабаев", "Жумабаев", "Zhumabayev"), ("Оспанов", "Оспанов", "Ospanov"),
    ("Байжанов", "Байжанов", "Baizhanov"), ("Есенов", "Есенов", "Yessenov"), ("Қалиев", "Калиев", "Kaliyev"),
    ("Смағұлов", "Смагулов", "Smagulov"), ("Рахимов", "Рахимов", "Rakhimov"), ("Исабеков", "Исабеков", "Issabekov"),
    ("Ержанов", "Ержанов", "Yerzhanov"), ("Құрманов", "Курманов", "Kurmanov"), ("Тоқтаров", "Токтаров", "Toktarov"),
    ("Досмұхамедов", "Досмухамедов", "Dosmukhamedov"), ("Кенжебаев", "Кенжебаев", "Kenzhebayev"),
    ("Ким", "Ким", "Kim"), ("Ли", "Ли", "Li"), ("Шевченко", "Шевченко", "Shevchenko"),
]


def rng(seed, *key):
    """A random.Random that depends only on (seed, key)."""
    h = hashlib.blake2b(("%s:%s" % (seed, ":".join(map(str, key)))).encode(), digest_size=16).digest()
    return random.Random(int.from_bytes(h, "little"))


def load_regions_kz():
    """deploy/regions-kz.json (installed beside election.py): the regions'
    names in Kazakh, Russian and English and their map tiles."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "regions-kz.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as x:
        sys.exit("election.py: %s: %s (regions-kz.json is kept beside election.py)" % (path, x.strerror))


def district_counts(registered, total):
    """total districts among regions in proportion to registered voters
    (largest remainder), every region at least one: a region whose share
    rounds to nothing gets one and the rest are shared by the others."""
    fixed = {}
    while True:
        free = [i for i in range(len(registered)) if i not in fixed]
        split = apportion(total - len(fixed), [registered[i] for i in free])
        zero = [i for i, n in zip(free, split) if n == 0]
        if not zero:
            out = dict(fixed)
            out.update(zip(free, split))
            return [out[i] for i in range(len(registered))]
        for i in zero:
            fixed[i] = 1


def split_contiguous(precincts, n):
    """n runs of consecutive precincts with about equal registered voters,
    none empty."""
    total = sum(p["registered"] for p in precincts)
    runs, acc, k = [[] for _ in range(n)], 0, 0
    for i, p in enumerate(precincts):
        # Leave at least one precinct for each run still to come.
        if k + 1 < n and runs[k] and (acc >= total * (k + 1) / n or len(precincts) - i <= n - k - 1):
            k += 1
        runs[k].append(p["id"])
        acc += p["registered"]
    assert all(runs), "fewer precincts than districts"
    return runs


def candidate_names(seed, did, n):
    """n synthetic candidates with distinct surnames: [(en surname, names)]."""
    r = rng(seed, "candidates", did)
    out = []
    for s in r.sample(SURNAMES, n):
        female = r.random() < 0.35
        first = r.choice(FEMALE_NAMES if female else MALE_NAMES)
        sur = list(s)
        if female and sur[1][-2:] in ("ов", "ев", "ин"):
            sur = [sur[0] + "а", sur[1] + "а", sur[2] + "a"]
        names = {lang: "%s %s" % (first[i], sur[i]) for i, lang in enumerate(("kk", "ru", "en"))}
        out.append((sur[2], names))
    return out


def against_all_option():
    return {"id": AGAINST_ALL_ID, "name": dict(AGAINST_ALL_NAME), "against_all": True}


def district_candidates(seed, did, prefix):
    """3 to 6 candidates, some nominated by a party (never two of one
    party), in ballot order (alphabetical by surname), then against all."""
    r = rng(seed, "nominations", did)
    n = 3 + r.randrange(4)
    parties = [p[0] for p in MAZHILIS_PARTIES]
    r.shuffle(parties)
    if "amanat" in parties and r.random() < 0.9:
        parties.remove("amanat")
        parties.insert(0, "amanat")
    opts = []
    for surname, names in candidate_names(seed, did, n):
        o = {"id": "%s-%s" % (prefix, surname.lower()), "name": names}
        if parties and r.random() < 0.55:
            o["party"] = parties.pop(0)
        opts.append(o)
    opts.sort(key=lambda o: o["name"]["en"].split(" ", 1)[1])
    return opts + [against_all_option()]


def mazhilis_parties():
    return [{"id": pid, "name": dict(names), "color": color} for pid, names, color, _, _, _ in MAZHILIS_PARTIES]


def party_list_contest(names=PARTY_LIST_NAME):
    opts = [{"id": pid, "party": pid, "list_length": ll} for pid, _, _, ll, _, _ in MAZHILIS_PARTIES]
    return {
        "id": PARTY_LIST_ID,
        "kind": "party_list",
        "name": names,
        "scope": "national",
        "seats": MAZHILIS_LIST_SEATS,
        "options": opts + [against_all_option()],
        "rules": dict(PARTY_LIST_RULES),
    }


def mazhilis_2023(seed):
    """The general election shaped on the Mazhilis election of 19 March
    2023, on kz-demo's regions and precincts: the national party list and
    29 single-mandate districts, each within one region."""
    kz = load_regions_kz()
    base = kz_demo(seed)
    regions = []
    for r in base["regions"]:
        x = kz[r["id"]]
        regions.append({"id": r["id"], "name": dict(x["names"]), "tile": list(x["tile"]), "precincts": r["precincts"]})
    registered = [sum(p["registered"] for p in r["precincts"]) for r in regions]
    districts, contests = [], [party_list_contest()]
    n = 0
    for r, k in zip(regions, district_counts(registered, MAZHILIS_DISTRICTS)):
        rn = r["name"]
        for run in split_contiguous(r["precincts"], k):
            n += 1
            did = "OTK-%02d" % n
            districts.append({
                "id": did,
                "name": {"kk": "№%d сайлау округі (%s)" % (n, rn["kk"]), "ru": "Избирательный округ №%d (%s)" % (n, rn["ru"]),
                         "en": "District %d (%s)" % (n, rn["en"])},
                "precincts": run,
            })
            contests.append({
                "id": "otk-%02d" % n,
                "kind": "candidate",
                "name": {"kk": "Мәжіліс, №%d округ (%s)" % (n, rn["kk"]), "ru": "Мажилис, округ №%d (%s)" % (n, rn["ru"]),
                         "en": "Mazhilis, district %d (%s)" % (n, rn["en"])},
                "scope": {"district": did},
                "seats": 1,
                "options": district_candidates(seed, did, "otk%02d" % n),
                "rules": {"win": "plurality"},
            })
    return {
        "election_id": MAZHILIS_ID,
        "title": dict(MAZHILIS_TITLE),
        "parties": mazhilis_parties(),
        "contests": contests,
        "regions": regions,
        "districts": districts,
    }


def dump_general(e, out, compact=False):
    """A definition with contests, written as it goes: one line per party
    and per contest, precincts as dump_election writes them, district
    precinct lists twenty ids to a line. e["regions"][i]["precincts"] and
    e["districts"][i]["precincts"] may be iterables that yield lines' worth
    of items lazily (see generate_contests)."""
    fmt = "[%d, %d]" if compact else '{"id": %d, "registered": %d}'
    w = out.write
    w("{\n")
    for k in ("election_id", "title"):
        w("  %s: %s,\n" % (json.dumps(k), json.dumps(e[k], ensure_ascii=False)))
    for k in ("parties", "contests"):
        w('  "%s": [\n' % k)
        w(",\n".join("    " + json.dumps(x, ensure_ascii=False) for x in e[k]))
        w("\n  ],\n")
    w('  "regions": [\n')
    for ri, r in enumerate(e["regions"]):
        head = {k: v for k, v in r.items() if k != "precincts"}
        w("    %s, \"precincts\": [\n" % json.dumps(head, ensure_ascii=False)[:-1])
        first = True
        for chunk in r["precincts"]:
            if not isinstance(chunk, list):
                chunk = [chunk]
            if chunk:
                w(("" if first else ",\n") + ",\n".join("      " + fmt % (p["id"], p["registered"]) if isinstance(p, dict)
                                                        else "      " + fmt % p for p in chunk))
                first = False
        w("\n    ]}%s\n" % ("," if ri + 1 < len(e["regions"]) else ""))
    w("  ],\n")
    w('  "districts": [\n')
    for di, d in enumerate(e["districts"]):
        head = {k: v for k, v in d.items() if k != "precincts"}
        w("    %s, \"precincts\": [\n" % json.dumps(head, ensure_ascii=False)[:-1])
        ids = d["precincts"]
        lines = (ids[i : i + 20] for i in range(0, len(ids), 20))
        w(",\n".join("      " + ", ".join(map(str, line)) for line in lines))
        w("\n    ]}%s\n" % ("," if di + 1 < len(e["districts"]) else ""))
    w("  ]\n}\n")


def write_general(e, path, compact=False):
    if path == "-":
        dump_general(e, sys.stdout, compact)
        return
    tmp = path + ".tmp"
    with open(tmp, "w", buffering=1 << 20) as f:
        dump_general(e, f, compact)
    os.replace(tmp, path)


def generate_contests(nregions, nprecincts, seed, k, election_id, compact, path):
    """generate's election (same regions, precinct ids and sizes) with k
    contests instead of one referendum: the Mazhilis-like party list, then
    a national candidate contest, then k - 2 district contests whose
    districts split the precincts 1..N into runs of consecutive ids. Every
    precinct votes in min(k, 3) contests. Written as it is generated."""
    if nprecincts < k - 2:
        sys.exit("election.py: %d precincts cannot make %d districts" % (nprecincts, k - 2))
    names = region_names(nregions)
    counts = region_counts(nregions, nprecincts)

    def sizes(first, n):
        for lo in range(first, first + n, 10000):
            yield [(pid, generated_size(seed, pid)) for pid in range(lo, min(first + n, lo + 10000))]

    regions, pid = [], 1
    for (rid, name), n in zip(names, counts):
        regions.append({"id": rid, "name": name, "precincts": sizes(pid, n)})
        pid += n
    contests = [party_list_contest("Party lists")]
    if k >= 2:
        opts = [{"id": "n%d" % (i + 1), "name": "National candidate %s" % "ABCDE"[i]} for i in range(5)]
        for o, party in zip(opts, ("amanat", "auyl", "respublica")):
            o["party"] = party
        contests.append({"id": "national", "kind": "candidate", "name": "National candidate contest", "scope": "national",
                         "seats": 1, "options": opts + [against_all_option()], "rules": {"win": "plurality"}})
    districts = []
    bounds = apportion(nprecincts, [1] * (k - 2)) if k > 2 else []
    lo = 1
    for i, n in enumerate(bounds):
        did = "D-%04d" % (i + 1)
        districts.append({"id": did, "name": "District %d" % (i + 1), "precincts": range(lo, lo + n)})
        lo += n
        opts = [{"id": "c%d" % (j + 1), "name": "District %d candidate %s" % (i + 1, "ABCD"[j])} for j in range(4)]
        opts[0]["party"] = MAZHILIS_PARTIES[i % len(MAZHILIS_PARTIES)][0]
        contests.append({"id": "d-%04d" % (i + 1), "kind": "candidate", "name": "District %d" % (i + 1),
                         "scope": {"district": did}, "seats": 1, "options": opts + [against_all_option()],
                         "rules": {"win": "plurality"}})
    e = {
        "election_id": election_id or "synthetic-%dr-%dp-%dc-s%s" % (nregions, nprecincts, k, seed),
        "title": "Synthetic general election: %d regions, %d precincts, %d contests (seed %s)" % (nregions, nprecincts, k, seed),
        "parties": [{"id": pid_, "name": names_["en"], "color": color} for pid_, names_, color, _, _, _ in MAZHILIS_PARTIES],
        "contests": contests,
        "regions": regions,
        "districts": districts,
    }
    write_general(e, path, compact)


# ---------------------------------------------------------------------------
# Results of a general election


class Model:
    """What results needs to know of a definition with contests: which
    contests each precinct votes in, and which districts count where.
    Per precinct it keeps only the districts it is in (one id, or a tuple
    when there are several), so a million precincts stay affordable."""

    def __init__(self, election):
        self.election = election
        self.contests = election["contests"]
        self.districts = election.get("districts", [])
        self.districts_of = {}
        for d in self.districts:
            did = d["id"]
            for pid in d["precincts"]:
                had = self.districts_of.get(pid)
                self.districts_of[pid] = did if had is None else (had if isinstance(had, tuple) else (had,)) + (did,)
        self.scopes = []
        for c in self.contests:
            s = c.get("scope", "national")
            if s == "national":
                self.scopes.append(("national", None))
            elif "regions" in s:
                self.scopes.append(("regions", set(s["regions"])))
            else:
                self.scopes.append(("district", s["district"]))
        # Districts wholly inside each contest's scope, in definition order
        # (the contests API's "districts").
        region_of = {}
        if any(kind == "regions" for kind, _ in self.scopes):
            region_of = {pid: r["id"] for r in election["regions"] for pid, _ in r["precincts"]}
        self.contest_districts = []
        for kind, arg in self.scopes:
            if kind == "national":
                inside = [d["id"] for d in self.districts]
            elif kind == "regions":
                inside = [d["id"] for d in self.districts if all(region_of[p] in arg for p in d["precincts"])]
            else:
                inside = [d["id"] for d in self.districts if all(arg in self.of(p) for p in d["precincts"])]
            self.contest_districts.append(inside)

    def of(self, pid):
        """The districts precinct pid is in."""
        x = self.districts_of.get(pid, ())
        return (x,) if isinstance(x, str) else x

    def votes_in(self, pid, rid):
        """Indexes of the contests precinct pid (of region rid) votes in."""
        out = []
        mine = None
        for i, (kind, arg) in enumerate(self.scopes):
            if kind == "district":
                mine = self.of(pid) if mine is None else mine
                if arg in mine:
                    out.append(i)
            elif kind == "national" or rid in arg:
                out.append(i)
        return out


def turnout_offsets(seed, election):
    """Per-region turnout offsets (as the referendum's region_offsets),
    weighted to mean zero over the regions' voters."""
    regs = [sum(n for _, n in r["precincts"]) for r in election["regions"]]
    raw = [(uniforms(seed, "region", r["id"])[0] - 0.5) * 0.12 for r in election["regions"]]
    mean = sum(w * o for w, o in zip(regs, raw)) / (float(sum(regs)) or 1.0)
    return {r["id"]: o - mean for r, o in zip(election["regions"], raw)}


def is_mazhilis_list(election, c):
    return (election["election_id"] == MAZHILIS_ID and c["id"] == PARTY_LIST_ID
            and [o["id"] for o in c["options"]] == [p[0] for p in MAZHILIS_PARTIES] + [AGAINST_ALL_ID])


def apportion_capped(total, fits, caps):
    """Whole numbers a[i] <= caps[i] summing to total, each the floor of
    fits[i] or one more, the extra ones to the largest remainders (then
    wherever room is left)."""
    a = [min(int(f), c) for f, c in zip(fits, caps)]
    rest = total - sum(a)
    while rest > 0:
        room = sorted((i for i in range(len(a)) if a[i] < caps[i]), key=lambda i: (a[i] - fits[i], i))
        assert room, "no room left for %d" % rest
        for i in room[:rest]:
            a[i] += 1
        rest = total - sum(a)
    while rest < 0:
        over = sorted((i for i in range(len(a)) if a[i] > 0), key=lambda i: (fits[i] - a[i], i))
        for i in over[:-rest]:
            a[i] -= 1
        rest = total - sum(a)
    return a


def mazhilis_list_figures(seed, election):
    """Every precinct's party-list figures, summing exactly to the official
    national votes: valid votes per precinct from a synthetic turnout with
    regional variation; party shares from regional and local factors,
    raked (iterative proportional fitting) to the precinct totals and the
    official national totals, then rounded so both margins stay exact.
    {pid: (valid, invalid, [votes in ballot order])}."""
    ids = [p[0] for p in MAZHILIS_PARTIES] + [AGAINST_ALL_ID]
    targets = [p[4] for p in MAZHILIS_PARTIES] + [MAZHILIS_AGAINST_ALL]
    total = sum(targets)
    # How far each option's share swings between regions and precincts.
    swing = [0.15, 0.45, 0.45, 0.40, 0.50, 0.35, 0.45, 0.40]
    rows, pids, valid_w, inv_rate, region_idx = [], [], [], [], []
    regions = election["regions"]
    reg = [sum(n for _, n in r["precincts"]) for r in regions]
    t_raw = [(uniforms(seed, "mz-turnout", r["id"])[0] - 0.5) * 0.16 for r in regions]
    t_mean = sum(w * t for w, t in zip(reg, t_raw)) / float(sum(reg))
    for ri, r in enumerate(regions):
        um = uniforms(seed, "mz-region", r["id"])
        rmul = [1 + s * (2 * u - 1) for s, u in zip(swing, um)]
        for pid, registered in sorted(r["precincts"]):
            u = uniforms(seed, "mz-p", pid)
            t = clamp(MAZHILIS_TURNOUT + t_raw[ri] - t_mean + (u[0] - 0.5) * 0.14, 0.15, 0.92)
            q = MAZHILIS_INVALID * (0.5 + u[1])
            pids.append(pid)
            valid_w.append(registered * t * (1 - q))
            inv_rate.append(q)
            region_idx.append(ri)
            un = uniforms(seed, "mz-share", pid)
            rows.append([m * (1 + 0.3 * (2 * x - 1)) for m, x in zip(rmul, un)])
    valid = apportion(total, valid_w)
    shares = [t / float(total) for t in targets]
    x = [[v * s * f for s, f in zip(shares, row)] for v, row in zip(valid, rows)]
    ncol = len(ids)
    for _ in range(200):
        col = [0.0] * ncol
        for row in x:
            for j in range(ncol):
                col[j] += row[j]
        scale = [t / c for t, c in zip(targets, col)]
        worst = 0.0
        for i, row in enumerate(x):
            for j in range(ncol):
                row[j] *= scale[j]
            s = sum(row)
            if s > 0:
                worst = max(worst, abs(s - valid[i]))
                f = valid[i] / s
                for j in range(ncol):
                    row[j] *= f
        if worst < 1e-7 and max(abs(s - 1.0) for s in scale) < 1e-12:
            break
    # Whole votes: each option but the last by largest remainder within
    # what is left of each precinct's valid votes; the last takes the rest.
    left = list(valid)
    votes = [[0] * ncol for _ in valid]
    for j in range(ncol - 1):
        col = apportion_capped(targets[j], [row[j] for row in x], left)
        for i, n in enumerate(col):
            votes[i][j] = n
            left[i] -= n
    for i in range(len(valid)):
        votes[i][ncol - 1] = left[i]
    out = {}
    for i, pid in enumerate(pids):
        invalid = int(round(valid[i] * inv_rate[i] / (1 - inv_rate[i])))
        out[pid] = (valid[i], invalid, votes[i])
    return out


def contest_weights(seed, c):
    """Base shares of a contest's options (synthetic), in ballot order."""
    opts = c["options"]
    ids = [o["id"] for o in opts]
    if c["kind"] == "party_list" and set(ids) <= {p[0] for p in MAZHILIS_PARTIES} | {AGAINST_ALL_ID}:
        official = {p[0]: p[4] for p in MAZHILIS_PARTIES}
        official[AGAINST_ALL_ID] = MAZHILIS_AGAINST_ALL
        return [float(official[i]) for i in ids]
    if c["kind"] == "referendum":
        return [0.8 if i == 0 else 0.2 / max(1, len(ids) - 1) for i in range(len(ids))]
    r = rng(seed, "shares", c["id"])
    cands = [i for i, o in enumerate(opts) if not o.get("against_all")]
    w = [0.0] * len(opts)
    for i, o in enumerate(opts):
        if o.get("against_all"):
            w[i] = 0.02 + 0.04 * r.random()
    # The leader: the AMANAT nominee more often than not, else anyone.
    amanat = [i for i in cands if opts[i].get("party") == "amanat"]
    lead = amanat[0] if amanat and r.random() < 0.7 else r.choice(cands)
    lead_share = 0.38 + 0.24 * r.random()
    rest = 1.0 - lead_share - sum(w)
    others = [i for i in cands if i != lead]
    raw = [0.3 + 0.7 * r.random() for _ in others]
    for i, x in zip(others, raw):
        w[i] = rest * x / sum(raw) if others else 0.0
    # A clear lead, so that no district ends in a tie.
    w[lead] = max(lead_share, max([w[i] for i in others] or [0.0]) + 0.08)
    return w


def region_swing(seed, c, rid, n):
    """Per-region factors on a contest's option shares."""
    out = []
    for k in range(0, n, 8):
        out.extend(uniforms(seed, "c-region", c["id"], rid, k))
    return [0.8 + 0.4 * u for u in out[:n]]


def option_noise(seed, cid, pid, n):
    out = []
    for k in range(0, n, 8):
        out.extend(uniforms(seed, "c-noise", cid, pid, k))
    return [0.7 + 0.6 * u for u in out[:n]]


def base_cast(seed, pid, registered, t_off):
    u = uniforms(seed, "g", pid)
    t = clamp(GENERAL_TURNOUT + t_off + (u[0] - 0.5) * 0.16, 0.2, 0.95)
    return int(round(registered * t))


def contest_protocol(seed, c, pid, registered, cast_base, weights, not_counted=True):
    """One contest's protocol at one precinct: its ballots cast close to
    cast_base (each voter gets one ballot per contest, and a few put only
    some of them in the box), the valid ones split by weights with local
    noise. Every control relation holds."""
    cid = c["id"]
    ids = [o["id"] for o in c["options"]]
    u = uniforms(seed, "cp", cid, pid)
    cast = clamp(cast_base + int(round(cast_base * 0.012 * (u[0] - 0.75))), 0, registered)
    issued = min(registered, cast + int(u[1] * 0.004 * cast))
    reserve = int(round(registered * 0.02 * u[2]))
    invalid = int(round(cast * (0.008 + 0.02 * u[3])))
    nc = int(round(cast * 0.003 * u[4])) if not_counted else 0
    noise = option_noise(seed, cid, pid, len(ids))
    votes = apportion(cast - invalid - nc, [w * z for w, z in zip(weights, noise)])
    return make_protocol(pid, cid, registered, issued, registered - issued + reserve, cast, invalid, nc, dict(zip(ids, votes)))


def make_protocol(pid, cid, registered, issued, cancelled, cast, invalid, not_counted, votes, revision=1):
    rec = {
        "precinct_id": pid,
        "contest_id": cid,
        "revision": revision,
        "voters_registered": registered,
        "ballots_received": issued + cancelled,
        "ballots_issued": issued,
        "ballots_cancelled": cancelled,
        "ballots_cast": cast,
        "ballots_invalid": invalid,
        "ballots_not_counted": not_counted,
        "votes": votes,
    }
    check(rec)
    return rec


def mazhilis_protocol(seed, c, pid, registered, figures):
    valid, invalid, votes = figures
    cast = valid + invalid
    u = uniforms(seed, "mz-ballots", pid)
    issued = min(registered, cast + int(u[0] * 0.004 * cast))
    reserve = int(round(registered * 0.02 * u[1]))
    ids = [o["id"] for o in c["options"]]
    return make_protocol(pid, c["id"], registered, issued, registered - issued + reserve, cast, invalid, 0, dict(zip(ids, votes)))


def first_count(seed, rec):
    """The first count of a protocol that a recount corrects: a few valid
    ballots of its leading option had been put with the invalid ones."""
    votes = dict(rec["votes"])
    lead = max(votes, key=lambda o: votes[o])
    moved = min(votes[lead], 1 + int(uniforms(seed, "first-count", rec["contest_id"], rec["precinct_id"])[0] * 5))
    votes[lead] -= moved
    out = dict(rec, revision=1, ballots_invalid=rec["ballots_invalid"] + moved, votes=votes)
    check(out)
    return out


def finish_contest(s):
    s["valid"] = s["ballots_cast"] - s["ballots_invalid"]
    return finish(s)


def hare_seats(c, national):
    """Seats by the contest's rules over national figures, for the Hare
    method (None for another method): lists with at least threshold_pct of
    threshold_of pass; seats in proportion to the votes of the lists that
    passed, largest remainders, equal remainders to the list earlier on
    the ballot. Integers only."""
    rules = c.get("rules", {})
    if rules.get("method") != "hare":
        return None
    ids = [o["id"] for o in c["options"]]
    against = {o["id"] for o in c["options"] if o.get("against_all")}
    votes = national["votes"]
    denom = national["ballots_cast"] - (0 if rules.get("threshold_of") == "ballots_cast" else national["ballots_invalid"])
    ppm = int(round(rules.get("threshold_pct", 0) * 10000))
    passed = [o for o in ids if o not in against and votes[o] * 1000000 >= ppm * denom]
    total = sum(votes[o] for o in passed)
    seats = {o: 0 for o in ids}
    if total:
        rem = {}
        for o in passed:
            seats[o], rem[o] = divmod(votes[o] * c["seats"], total)
        left = c["seats"] - sum(seats.values())
        for o in sorted(passed, key=lambda o: (-rem[o], ids.index(o)))[:left]:
            seats[o] += 1
    return {"passed": passed, "seats": seats}


def candidate_outcome(c, national):
    """Ranking (most votes first, ties in ballot order) and who is elected
    once every protocol is in: the first `seats` candidates, each strictly
    ahead of every against-all option and of the next candidate."""
    opts = c["options"]
    votes = national["votes"]
    ranking = sorted(range(len(opts)), key=lambda i: (-votes[opts[i]["id"]], i))
    ranking = [opts[i]["id"] for i in ranking]
    against = max([votes[o["id"]] for o in opts if o.get("against_all")] or [-1])
    cands = [o for o in ranking if not any(x["id"] == o and x.get("against_all") for x in opts)]
    k = c.get("seats", 1)
    top = cands[:k]
    elected = []
    if len(top) == k and all(votes[o] > against for o in top) and (len(cands) == k or votes[top[-1]] > votes[cands[k]]):
        if c.get("rules", {}).get("win") == "absolute_majority":
            d = national["ballots_cast"] - (national["ballots_invalid"] if c["rules"].get("majority_of") == "valid" else 0)
            top = [o for o in top if 2 * votes[o] > d]
        elected = top
    return {"ranking": ranking, "elected": elected}


def csv_row_general(r, ci):
    """A protocol kept for a CSV file, compactly: (contest index, its fixed
    cells, its votes in ballot order)."""
    return (ci, ",".join([str(r[f]) for f in FIELDS] + [r["contest_id"]]), tuple(r["votes"].values()))


def csv_text(rows, contests):
    """One CSV file of protocols of several contests: the fixed columns,
    contest_id, then the union of their contests' options (a row leaves
    the other contests' cells empty)."""
    present = {ci for ci, _, _ in rows}
    cols = []
    for ci, c in enumerate(contests):
        if ci in present:
            for o in c["options"]:
                if o["id"] not in cols:
                    cols.append(o["id"])
    where = {}
    lines = [",".join(FIELDS + ["contest_id"] + cols)]
    for ci, fixed, votes in rows:
        if ci not in where:
            where[ci] = [cols.index(o["id"]) for o in contests[ci]["options"]]
        cells = [""] * len(cols)
        for i, n in zip(where[ci], votes):
            cells[i] = str(n)
        lines.append(fixed + "," + ",".join(cells) if cells else fixed)
    return "\n".join(lines) + "\n"


def general_results(args, election):
    """results for a definition with contests: one protocol per (precinct,
    contest). JSON: DIR/<REGION>/<id>.json holds the precinct's protocols
    as an array; a correction is <id>-r2.json, an array of the one
    corrected protocol. CSV: rows of every contest in one file per region
    (or per --per-file rows), with a contest_id column.

    A correction fixes one contest of a precinct (the i-th corrected
    precinct's i-th contest, cyclically) and leaves its other contests
    alone. Unlike the referendum's, revision 2 holds the precinct's true
    figures and revision 1 a first count with a few valid ballots put with
    the invalid ones, so the counted totals are the same with or without
    corrections (the Mazhilis party list's stay the official ones)."""
    m = Model(election)
    contests = m.contests
    offsets = turnout_offsets(args.seed, election)
    mz = None
    for c in contests:
        if is_mazhilis_list(election, c):
            mz = mazhilis_list_figures(args.seed, election)
    wanted = set()
    for r in args.region or []:
        wanted.update(x for x in r.split(",") if x)
    unknown = wanted - {r["id"] for r in election["regions"]}
    if unknown:
        sys.exit("election.py: unknown region(s) %s in %s" % (", ".join(sorted(unknown)), args.election))
    selected = []
    for r in election["regions"]:
        if wanted and r["id"] not in wanted:
            continue
        ps = sorted(r["precincts"])
        if args.count is not None:
            ps = ps[: args.count]
        selected.append((r, ps))
    flat = [pid for _, ps in selected for pid, _ in ps]
    corrected = {}
    if args.corrections and flat:
        k = min(args.corrections, len(flat))
        for i in range(k):
            corrected[flat[(i * len(flat)) // k + (len(flat) // (2 * k))]] = i

    weights = {}

    def weights_of(ci, rid):
        if (ci, rid) not in weights:
            c = contests[ci]
            w = contest_weights(args.seed, c)
            weights[(ci, rid)] = [a * b for a, b in zip(w, region_swing(args.seed, c, rid, len(w)))]
        return weights[(ci, rid)]

    sums = []
    for c in contests:
        ids = [o["id"] for o in c["options"]]
        sums.append({"national": empty_sums(ids), "regions": {}, "districts": {}, "ids": ids})
    inside = [set(x) for x in m.contest_districts]
    os.makedirs(args.out_dir, exist_ok=True)
    corrections = []
    files = protocols = 0
    for r, ps in selected:
        rid = r["id"]
        rdir = os.path.join(args.out_dir, rid)
        os.makedirs(rdir, exist_ok=True)
        t_off = offsets[rid]
        rows, fixes = [], []
        for pid, registered in ps:
            cis = m.votes_in(pid, rid)
            cast = sum(mz[pid][:2]) if mz else base_cast(args.seed, pid, registered, t_off)
            recs = []
            for ci in cis:
                c = contests[ci]
                if mz and c["id"] == PARTY_LIST_ID:
                    rec = mazhilis_protocol(args.seed, c, pid, registered, mz[pid])
                else:
                    rec = contest_protocol(args.seed, c, pid, registered, cast, weights_of(ci, rid), c["kind"] != "party_list")
                s = sums[ci]
                add(s["national"], rec)
                add(s["regions"].setdefault(rid, empty_sums(s["ids"])), rec)
                for did in m.of(pid):
                    if did in inside[ci]:
                        add(s["districts"].setdefault(did, empty_sums(s["ids"])), rec)
                recs.append(rec)
            if pid in corrected and recs:
                j = corrected[pid] % len(recs)
                fix = dict(recs[j], revision=2)
                recs[j] = first_count(args.seed, recs[j])
                fixes.append((cis[j], fix))
            protocols += len(recs)
            if args.format == "json":
                if recs:
                    write_atomic(os.path.join(rdir, "%d.json" % pid), "[\n" + ",\n".join(json.dumps(x) for x in recs) + "\n]\n")
                    files += 1
            else:
                rows.extend(csv_row_general(x, ci) for ci, x in zip(cis, recs))
        if args.format == "json":
            for _, fx in fixes:
                name = "%d-r2.json" % fx["precinct_id"]
                write_atomic(os.path.join(rdir, name), "[\n" + json.dumps(fx) + "\n]\n")
                corrections.append({"region": rid, "precinct_id": fx["precinct_id"], "contest_id": fx["contest_id"],
                                    "file": "%s/%s" % (rid, name)})
                files += 1
        else:
            per = args.per_file if args.per_file and args.per_file > 0 else max(1, len(rows))
            for i in range(0, len(rows), per):
                write_atomic(os.path.join(rdir, "%s-%04d.csv" % (rid, i // per + 1)), csv_text(rows[i : i + per], contests))
                files += 1
            if fixes:
                name = "%s-corrections.csv" % rid
                write_atomic(os.path.join(rdir, name), csv_text([csv_row_general(fx, ci) for ci, fx in fixes], contests))
                for _, fx in fixes:
                    corrections.append({"region": rid, "precinct_id": fx["precinct_id"], "contest_id": fx["contest_id"],
                                        "file": "%s/%s" % (rid, name)})
                files += 1
        protocols += len(fixes)

    names = {r["id"]: r["name"] for r in election["regions"]}
    dnames = {d["id"]: d.get("name", d["id"]) for d in m.districts}
    out = {}
    for ci, c in enumerate(contests):
        s = sums[ci]
        x = {
            "kind": c["kind"],
            "scope": c.get("scope", "national"),
            "national": finish_contest(s["national"]),
            "regions": {},
            "districts": {},
        }
        if "seats" in c:
            x["seats_total"] = c["seats"]
        for r in election["regions"]:
            if r["id"] in s["regions"]:
                x["regions"][r["id"]] = dict(finish_contest(s["regions"][r["id"]]), name=names[r["id"]])
        for did in m.contest_districts[ci]:
            if did in s["districts"]:
                x["districts"][did] = dict(finish_contest(s["districts"][did]), name=dnames[did])
        if c["kind"] == "party_list":
            h = hare_seats(c, x["national"])
            if h:
                x.update(h)
        elif c["kind"] == "candidate":
            x.update(candidate_outcome(c, x["national"]))
        out[c["id"]] = x
    expected = {
        "election_id": election["election_id"],
        "seed": args.seed,
        "format": args.format,
        "files": files,
        "protocols": protocols,
        "precincts": len(flat),
        "contests": out,
        "corrections": corrections,
    }
    if mz:
        official = {p[0]: p[4] for p in MAZHILIS_PARTIES}
        official[AGAINST_ALL_ID] = MAZHILIS_AGAINST_ALL
        seats = {p[0]: p[5] for p in MAZHILIS_PARTIES}
        seats[AGAINST_ALL_ID] = 0
        expected["official"] = {"contest": PARTY_LIST_ID, "votes": official, "seats": seats}
    write_atomic(os.path.join(args.out_dir, "expected.json"), json.dumps(expected, indent=1, ensure_ascii=False) + "\n")
    first = out[contests[0]["id"]]["national"]
    print("election.py: %d precincts in %d region(s), %d protocols of %d contest(s), %d file(s) in %s; %s turnout %.2f %%"
          % (len(flat), len(selected), protocols, len(contests), files, args.out_dir, contests[0]["id"], first["turnout_pct"]),
          file=sys.stderr)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="election.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    k = sub.add_parser("kz-demo", help="the demo election (Kazakhstan, 15 March 2026, synthetic precincts)")
    k.add_argument("--out", required=True, help="election.json to write ('-' for stdout)")
    k.add_argument("--seed", default=DEFAULT_SEED, type=int)

    m = sub.add_parser("mazhilis-2023", help="the general-election demo (Mazhilis, 19 March 2023, on kz-demo's precincts)")
    m.add_argument("--out", required=True, help="election.json to write ('-' for stdout)")
    m.add_argument("--seed", default=DEFAULT_SEED, type=int)

    g = sub.add_parser("generate", help="an election of any size")
    g.add_argument("--regions", required=True, type=int)
    g.add_argument("--precincts", required=True, type=int)
    g.add_argument("--seed", default=1, type=int)
    g.add_argument("--no-rules", action="store_true")
    g.add_argument("--election-id", default=None)
    g.add_argument("--contests", type=int, default=None, metavar="K",
                   help="a general election of K contests: a party list, a national candidate contest, K - 2 districts")
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
    elif a.cmd == "mazhilis-2023":
        write_general(mazhilis_2023(a.seed), a.out)
    elif a.cmd == "generate":
        if a.regions < 1 or a.precincts < 1:
            ap.error("--regions and --precincts must be >= 1")
        compact = a.compact if a.compact is not None else a.precincts > COMPACT_ABOVE
        if a.contests is not None:
            if a.contests < 1:
                ap.error("--contests must be >= 1")
            if a.no_rules:
                ap.error("--no-rules is for the referendum; every contest has its rules")
            generate_contests(a.regions, a.precincts, a.seed, a.contests, a.election_id, compact, a.out)
            return
        dump_election(generate(a.regions, a.precincts, a.seed, not a.no_rules, a.election_id), a.out, compact)
    else:
        if a.count is not None and a.count < 0:
            ap.error("--count must be >= 0")
        results(a)


if __name__ == "__main__":
    main()
