#!/usr/bin/python3
"""fixtures.py: the documents of the contests API (docs/publication.md,
"The contests API") for a general election shaped on Kazakhstan's Mazhilis
election of 19 March 2023, served by mock_server.py to develop and test the
live page without an aggregator.

The election: the Mazhilis party list (69 seats, Hare, 5 % of valid votes)
with the 2023 national figures as published (AMANAT 3,431,510 ... against
all 248,291; seats 40, 8, 6, 6, 5, 4, 0), six single-mandate districts, a
president (absolute majority of ballots cast), a referendum, and Astana's
maslikhat list (ten seats, ties left to lot). The 20 regions, their names
and map tiles come from deploy/regions-kz.json. Every figure below the
national party-list votes is synthetic; so are the candidates.

The documents are hand-specified: the regional split of the votes is a
deterministic function of fixed weights, and every decision (seats, elected,
runoff, status) is written out by hand per state, not computed. Three
states follow each other the way a night does:

  counting   about three quarters of the precincts in; seats provisional
  final      every precinct in; seats final; the president goes to a runoff
  elected    as final, but the president is elected in the first round

and "legacy" is today's single-referendum aggregator (no /v1/election).

Standard library only.
"""
import hashlib
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("TALLY_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))

ELECTION_ID = "kz-general-2023-03-19"
TITLES = {
    "kk": "Қазақстан Республикасы Парламенті Мәжілісінің сайлауы, 19 наурыз 2023 (синтетикалық деректер)",
    "ru": "Выборы депутатов Мажилиса Парламента Республики Казахстан, 19 марта 2023 (синтетические данные)",
    "en": "Election of the Mazhilis of the Parliament of Kazakhstan, 19 March 2023 (synthetic data)",
}
T0_MS = 1679241600000  # 2023-03-19T16:00:00Z, polls close at 21:00 Astana time
STEP_MS = 300000  # a trend point every five minutes

# Precincts per region (synthetic, about 10,100 in all), in the order of deploy/election.py.
PRECINCTS = {
    "KZ-10": 585, "KZ-11": 683, "KZ-15": 546, "KZ-19": 839, "KZ-23": 322, "KZ-27": 517,
    "KZ-31": 585, "KZ-33": 546, "KZ-35": 634, "KZ-39": 771, "KZ-43": 380, "KZ-47": 273,
    "KZ-55": 546, "KZ-59": 624, "KZ-61": 907, "KZ-62": 166, "KZ-63": 595, "KZ-71": 410,
    "KZ-75": 566, "KZ-79": 322,
}
# Turnout per region in per mille (synthetic).
TURNOUT = {
    "KZ-10": 561, "KZ-11": 574, "KZ-15": 552, "KZ-19": 590, "KZ-23": 603, "KZ-27": 566,
    "KZ-31": 611, "KZ-33": 597, "KZ-35": 528, "KZ-39": 545, "KZ-43": 634, "KZ-47": 512,
    "KZ-55": 538, "KZ-59": 583, "KZ-61": 642, "KZ-62": 602, "KZ-63": 531, "KZ-71": 398,
    "KZ-75": 312, "KZ-79": 489,
}
# Share of each region's precincts in by the "counting" state, in per mille;
# Ulytau has sent nothing yet.
COUNTING = {
    "KZ-10": 812, "KZ-11": 904, "KZ-15": 765, "KZ-19": 701, "KZ-23": 655, "KZ-27": 880,
    "KZ-31": 742, "KZ-33": 690, "KZ-35": 833, "KZ-39": 910, "KZ-43": 598, "KZ-47": 540,
    "KZ-55": 870, "KZ-59": 921, "KZ-61": 623, "KZ-62": 0, "KZ-63": 785, "KZ-71": 712,
    "KZ-75": 655, "KZ-79": 603,
}

PARTIES = [
    {"id": "amanat", "name": "AMANAT", "color": "#2e8fe0"},
    {"id": "auyl", "name": "Auyl", "names": {"kk": "«Ауыл»", "ru": "«Ауыл»", "en": "Auyl"},
     "color": "#3fa34d"},
    {"id": "respublica", "name": "Respublica", "color": "#f07c22"},
    {"id": "aqjol", "name": "Aq Jol", "names": {"kk": "«Ақ жол»", "ru": "«Ак жол»", "en": "Aq Jol"},
     "color": "#e6c229"},
    {"id": "qhp", "name": "QHP", "names": {"kk": "ҚХП", "ru": "НПК", "en": "QHP"},
     "color": "#d64545"},
    {"id": "jsdp", "name": "JSDP", "names": {"kk": "ЖСДП", "ru": "ОСДП", "en": "JSDP"},
     "color": "#9b5fd0"},
    # No colour: the page's default palette gives one.
    {"id": "baytaq", "name": "Baytaq", "names": {"kk": "«Байтақ»", "ru": "«Байтак»", "en": "Baytaq"}},
]
AGAINST = {"kk": "Бәріне қарсы", "ru": "Против всех", "en": "Against all"}

# The Mazhilis list: the 2023 national figures and seats as published.
MAZHILIS_VOTES = {"amanat": 3431510, "auyl": 693938, "respublica": 547154, "aqjol": 535139,
                  "qhp": 432920, "jsdp": 331058, "baytaq": 146431, "against": 248291}
MAZHILIS_SEATS = {"amanat": 40, "auyl": 8, "respublica": 6, "aqjol": 6, "qhp": 5, "jsdp": 4,
                  "baytaq": 0, "against": 0}
# The same allocation on the "counting" state's figures (Hare, 69 seats), written out.
MAZHILIS_SEATS_COUNTING = {"amanat": 40, "auyl": 8, "respublica": 6, "aqjol": 6, "qhp": 5,
                           "jsdp": 4, "baytaq": 0, "against": 0}
MAZHILIS_INVALID = 98742

# Astana's maslikhat: ten seats; at the end two lists have equal claims to
# the last seat and the rules leave it to lot.
MASLIKHAT_VOTES = {"amanat": 102000, "auyl": 30000, "respublica": 38000, "aqjol": 30000,
                   "qhp": 9000, "against": 11000}
# While counting, Auyl is 37 votes ahead of Aq Jol and takes the last seat.
MASLIKHAT_NUDGE_COUNTING = {"auyl": 37}
MASLIKHAT_SEATS_COUNTING = {"amanat": 5, "auyl": 2, "respublica": 2, "aqjol": 1, "qhp": 0,
                            "against": 0}
MASLIKHAT_SEATS_FINAL = {"amanat": 5, "auyl": 1, "respublica": 2, "aqjol": 1, "qhp": 0,
                         "against": 0}
MASLIKHAT_TIE = {"options": ["auyl", "aqjol"], "seats": 1}


def person(kk, ru, en):
    return {"kk": kk, "ru": ru, "en": en}


# The president: synthetic candidates; absolute majority of ballots cast.
PRESIDENT_OPTIONS = [
    ("p-abenov", person("Ерлан Әбенов", "Ерлан Абенов", "Yerlan Abenov"), "amanat"),
    ("p-sadykova", person("Әсел Садықова", "Асель Садыкова", "Assel Sadykova"), "respublica"),
    ("p-nurpeisov", person("Болат Нұрпейісов", "Болат Нурпеисов", "Bolat Nurpeisov"), "auyl"),
    ("p-zhaksylykova", person("Гүлнар Жақсылықова", "Гульнар Жаксылыкова", "Gulnar Zhaksylykova"), None),
]
PRESIDENT_VOTES = {  # final, runoff: nobody above half of ballots cast
    "runoff": {"p-abenov": 2901220, "p-sadykova": 1855410, "p-nurpeisov": 906332,
               "p-zhaksylykova": 411209, "against": 257210},
    "elected": {"p-abenov": 4012876, "p-sadykova": 1109342, "p-nurpeisov": 602113,
                "p-zhaksylykova": 301507, "against": 305440},
}

REFERENDUM_VOTES = {"yes": 4399100, "no": 1889321}

# Single-mandate districts: (id, region, names, share of the region's
# precincts in per mille, candidates (id, names, party)).
DISTRICTS = [
    ("OTK-01", "KZ-71", person("№1 Астана сайлау округі", "Избирательный округ №1 (Астана)", "District 1 (Astana)"), 500, [
        ("d1-serikov", person("Дәурен Серіков", "Даурен Сериков", "Dauren Serikov"), "amanat"),
        ("d1-ivanova", person("Ольга Иванова", "Ольга Иванова", "Olga Ivanova"), "respublica"),
        ("d1-tlegen", person("Арман Тілеген", "Арман Тлеген", "Arman Tlegen"), None)]),
    ("OTK-02", "KZ-71", person("№2 Астана сайлау округі", "Избирательный округ №2 (Астана)", "District 2 (Astana)"), 500, [
        ("d2-mukanova", person("Жанар Мұқанова", "Жанар Муканова", "Zhanar Mukanova"), "amanat"),
        ("d2-kim", person("Виктор Ким", "Виктор Ким", "Viktor Kim"), "aqjol")]),
    ("OTK-05", "KZ-75", person("№5 Алматы сайлау округі", "Избирательный округ №5 (Алматы)", "District 5 (Almaty)"), 250, [
        ("d5-akhmetov", person("Нұрлан Ахметов", "Нурлан Ахметов", "Nurlan Akhmetov"), "respublica"),
        ("d5-beisenova", person("Айгүл Бейсенова", "Айгуль Бейсенова", "Aigul Beisenova"), "amanat"),
        ("d5-petrov", person("Сергей Петров", "Сергей Петров", "Sergei Petrov"), "jsdp")]),
    ("OTK-12", "KZ-35", person("№12 Қарағанды сайлау округі", "Избирательный округ №12 (Караганда)", "District 12 (Karaganda)"), 300, [
        ("d12-omarov", person("Қайрат Омаров", "Кайрат Омаров", "Kairat Omarov"), "amanat"),
        ("d12-lee", person("Елена Ли", "Елена Ли", "Yelena Li"), "qhp")]),
    ("OTK-20", "KZ-61", person("№20 Түркістан сайлау округі", "Избирательный округ №20 (Туркестан)", "District 20 (Turkistan)"), 350, [
        ("d20-sultanov", person("Мақсат Сұлтанов", "Максат Султанов", "Maksat Sultanov"), "auyl"),
        ("d20-kasymova", person("Ботагөз Қасымова", "Ботагоз Касымова", "Botagoz Kassymova"), "amanat")]),
    ("OTK-27", "KZ-79", person("№27 Шымкент сайлау округі", "Избирательный округ №27 (Шымкент)", "District 27 (Shymkent)"), 500, [
        ("d27-abdrakhmanov", person("Ерболат Әбдірахманов", "Ерболат Абдрахманов", "Yerbolat Abdrakhmanov"), "amanat"),
        ("d27-nurgaliyeva", person("Сәуле Нұрғалиева", "Сауле Нургалиева", "Saule Nurgaliyeva"), None)]),
]
# District votes at the end (candidates in ballot order, then against all).
DISTRICT_VOTES = {
    "OTK-01": [52310, 31877, 9120, 4702],
    "OTK-02": [40115, 40115, 6210],        # a tie: lot decides
    "OTK-05": [38122, 27410, 12055, 5230],
    "OTK-12": [61320, 22904, 7155],
    "OTK-20": [29410, 28766, 3120],
    "OTK-27": [18120, 17406, 19850],       # against all leads: nobody elected
}
# The districts' precincts in by the "counting" state, in per mille.
DISTRICT_COUNTING = {"OTK-01": 1000, "OTK-02": 640, "OTK-05": 655, "OTK-12": 833,
                     "OTK-20": 623, "OTK-27": 603}
DISTRICT_DECISION = {  # per state: (status, elected, tie options)
    "counting": {"OTK-01": ("elected", ["d1-serikov"], None)},
    "final": {"OTK-01": ("elected", ["d1-serikov"], None),
              "OTK-02": ("tie", [], ["d2-mukanova", "d2-kim"]),
              "OTK-05": ("elected", ["d5-akhmetov"], None),
              "OTK-12": ("elected", ["d12-omarov"], None),
              "OTK-20": ("elected", ["d20-sultanov"], None),
              "OTK-27": ("failed", [], None)},
}

# What the server's reasons say (English, as the aggregator writes them);
# the page shows its own words instead.
REASON = "synthetic fixture"


def load_regions():
    with open(os.path.join(SOURCE, "deploy", "regions-kz.json"), encoding="utf-8") as f:
        return json.load(f)


def uniform(*key):
    h = hashlib.blake2b(":".join(map(str, key)).encode(), digest_size=8).digest()
    return struct.unpack("<Q", h)[0] / 2.0 ** 64


def apportion(total, weights):
    """Largest-remainder split of the integer total in proportion to weights."""
    wsum = float(sum(weights))
    raw = [total * w / wsum for w in weights]
    out = [int(r) for r in raw]
    order = sorted(range(len(weights)), key=lambda i: (out[i] - raw[i], i))
    for i in order[:total - sum(out)]:
        out[i] += 1
    return out


def pct(num, den):
    return round(100.0 * num / den, 2) if den else 0.0


def figures(reported, total, registered, votes, invalid, not_counted, pct_of, conflicts=0):
    """FIGURES as the contract has it; votes in ballot order (a dict)."""
    valid = sum(votes.values()) + not_counted
    cast = valid + invalid
    den = cast if pct_of == "ballots_cast" else valid
    return {
        "precincts_total": total, "precincts_reported": reported,
        "voters_registered": registered, "ballots_cast": cast, "ballots_invalid": invalid,
        "ballots_not_counted": not_counted, "valid": valid, "votes": dict(votes),
        "votes_pct": {k: pct(v, den) for k, v in votes.items()}, "pct_of": pct_of,
        "turnout_pct": pct(cast, registered), "conflicts": conflicts,
    }


def add_figures(parts, pct_of):
    tot = {"reported": 0, "total": 0, "registered": 0, "invalid": 0, "not_counted": 0,
           "conflicts": 0}
    votes = {}
    for p in parts:
        tot["reported"] += p["precincts_reported"]
        tot["total"] += p["precincts_total"]
        tot["registered"] += p["voters_registered"]
        tot["invalid"] += p["ballots_invalid"]
        tot["not_counted"] += p["ballots_not_counted"]
        tot["conflicts"] += p["conflicts"]
        for k, v in p["votes"].items():
            votes[k] = votes.get(k, 0) + v
    return figures(tot["reported"], tot["total"], tot["registered"], votes, tot["invalid"],
                   tot["not_counted"], pct_of, tot["conflicts"])


class Election:
    """Builds every document for one state."""

    def __init__(self):
        self.regions = load_regions()
        self.region_ids = list(PRECINCTS)
        self.contests = self._contests()

    # ---- the static shape: /v1/election ----

    def _contests(self):
        against = {"id": "against", "name": AGAINST["en"], "names": AGAINST, "against_all": True}
        pnames = {p["id"]: p for p in PARTIES}

        def party_option(pid):
            p = pnames[pid]
            o = {"id": pid, "name": p["name"], "party": pid, "against_all": False}
            if "names" in p:
                o["names"] = p["names"]
            if "color" in p:
                o["color"] = p["color"]
            return o

        def cand(cid, names, party):
            o = {"id": cid, "name": names["en"], "names": names, "against_all": False}
            if party:
                o["party"] = party
                if "color" in pnames[party]:
                    o["color"] = pnames[party]["color"]
            return o

        out = [{
            "id": "mazhilis", "name": "Mazhilis: party lists",
            "names": {"kk": "Мәжіліс: партиялық тізімдер", "ru": "Мажилис: партийные списки",
                      "en": "Mazhilis: party lists"},
            "kind": "party_list", "scope": "national", "seats": 69,
            "options": [party_option(p["id"]) for p in PARTIES] + [dict(against)],
            "rules": {"threshold_pct": 5, "threshold_of": "valid", "method": "hare",
                      "tie": "ballot_order", "overflow": "redistribute"},
        }]
        for did, _, names, _, cands in DISTRICTS:
            out.append({
                "id": "smd-" + did.lower(), "name": names["en"], "names": names,
                "kind": "candidate", "scope": {"district": did}, "seats": 1,
                "options": [cand(*c) for c in cands] + [dict(against)],
                "rules": {"win": "plurality", "majority_of": "ballots_cast"},
            })
        out.append({
            "id": "president", "name": "President",
            "names": {"kk": "Президент", "ru": "Президент", "en": "President"},
            "kind": "candidate", "scope": "national", "seats": 1,
            "options": [cand(*c) for c in PRESIDENT_OPTIONS] + [dict(against)],
            "rules": {"min_turnout_pct": 50, "win": "absolute_majority",
                      "majority_of": "ballots_cast"},
        })
        out.append({
            "id": "maslikhat-astana", "name": "Astana city maslikhat",
            "names": {"kk": "Астана қалалық мәслихаты", "ru": "Маслихат города Астаны",
                      "en": "Astana city maslikhat"},
            "kind": "party_list", "scope": {"regions": ["KZ-71"]}, "seats": 10,
            "options": [party_option(p) for p in MASLIKHAT_VOTES if p != "against"] +
                       [dict(against)],
            "rules": {"threshold_pct": 5, "threshold_of": "valid", "method": "hare",
                      "tie": "lot", "overflow": "redistribute"},
        })
        out.append({
            "id": "referendum", "name": "Referendum",
            "names": {"kk": "Республикалық референдум", "ru": "Республиканский референдум",
                      "en": "Republican referendum"},
            "kind": "referendum", "scope": "national", "seats": 0,
            "options": [{"id": "yes", "name": "Yes", "against_all": False,
                         "names": {"kk": "Иә", "ru": "Да", "en": "Yes"}},
                        {"id": "no", "name": "No", "against_all": False,
                         "names": {"kk": "Жоқ", "ru": "Нет", "en": "No"}}],
            "rules": {"min_turnout_pct": 50, "region_majority_fraction": 0.6667,
                      "pass_share_of": "ballots_cast"},
        })
        return out

    def contest(self, cid):
        for c in self.contests:
            if c["id"] == cid:
                return c
        return None

    def election_doc(self):
        regions = []
        for rid in self.region_ids:
            r = self.regions[rid]
            regions.append({"id": rid, "name": r["names"]["en"], "names": r["names"],
                            "tile": r["tile"], "precincts_total": PRECINCTS[rid]})
        districts = []
        for did, rid, names, share, _ in DISTRICTS:
            districts.append({"id": did, "name": names["en"], "names": names, "regions": [rid],
                              "precincts_total": self.district_precincts(did)})
        return {"election_id": ELECTION_ID, "title": TITLES["en"], "titles": TITLES,
                "regions": regions, "parties": PARTIES, "districts": districts,
                "contests": self.contests}

    def district_precincts(self, did):
        for d, rid, _, share, _ in DISTRICTS:
            if d == did:
                return PRECINCTS[rid] * share // 1000
        raise KeyError(did)

    # ---- figures per state ----

    def reported(self, rid, state):
        total = PRECINCTS[rid]
        return total if state != "counting" else total * COUNTING[rid] // 1000

    def split(self, contest_id, votes, rids):
        """Each option's national votes split over the regions by fixed weights."""
        out = {rid: {} for rid in rids}
        for k, v in votes.items():
            w = [PRECINCTS[rid] * TURNOUT[rid] * (0.6 + uniform(contest_id, k, rid)) for rid in rids]
            for rid, n in zip(rids, apportion(v, w)):
                out[rid][k] = n
        return out

    def region_parts(self, cid, votes, invalid, state, pct_of, rids, nudge=None):
        """FIGURES per region: the end figures scaled by the share of precincts in."""
        per = self.split(cid, votes, rids)
        inv = dict(zip(rids, apportion(invalid, [PRECINCTS[r] for r in rids])))
        out = []
        for rid in rids:
            total = PRECINCTS[rid]
            rep = self.reported(rid, state)
            frac = rep / total
            v = {k: int(n * frac) for k, n in per[rid].items()}
            for k, n in (nudge or {}).items():
                v[k] += n
            cast_end = sum(per[rid].values()) + inv[rid]
            registered_end = cast_end * 1000 // TURNOUT[rid]
            registered = int(registered_end * frac)
            f = figures(rep, total, registered, v, int(inv[rid] * frac), 0, pct_of)
            f = dict({"id": rid, "name": self.regions[rid]["names"]["en"],
                      "names": self.regions[rid]["names"]}, **f)
            out.append(f)
        return out

    def state_votes(self, cid, state):
        c = self.contest(cid)
        if cid == "mazhilis":
            return MAZHILIS_VOTES, MAZHILIS_INVALID
        if cid == "president":
            return PRESIDENT_VOTES["elected" if state == "elected" else "runoff"], 87112
        if cid == "referendum":
            return REFERENDUM_VOTES, 91245
        if cid == "maslikhat-astana":
            return MASLIKHAT_VOTES, 2231
        did = c["scope"]["district"]
        ids = [o["id"] for o in c["options"]]
        return dict(zip(ids, DISTRICT_VOTES[did])), 1200 + len(did) * 37
        
    def pct_of(self, c):
        r = c["rules"]
        if c["kind"] == "party_list":
            return r["threshold_of"]
        if c["kind"] == "candidate":
            return r["majority_of"]
        return r["pass_share_of"]

    def detail(self, cid, state):
        """The parts of /v1/contests/{id}: national, regions, districts."""
        c = self.contest(cid)
        votes, invalid = self.state_votes(cid, state)
        pct_of = self.pct_of(c)
        if c["kind"] == "candidate" and isinstance(c["scope"], dict) and "district" in c["scope"]:
            did = c["scope"]["district"]
            rid = [d[1] for d in DISTRICTS if d[0] == did][0]
            total = self.district_precincts(did)
            rep = total if state != "counting" else total * DISTRICT_COUNTING[did] // 1000
            frac = rep / total
            v = {k: int(n * frac) for k, n in votes.items()}
            cast_end = sum(votes.values()) + invalid
            registered = int(cast_end * 1000 // TURNOUT[rid] * frac)
            nat = figures(rep, total, registered, v, int(invalid * frac), 0, pct_of)
            region = dict({"id": rid, "name": self.regions[rid]["names"]["en"],
                           "names": self.regions[rid]["names"]}, **nat)
            dist = [d for d in self.election_doc()["districts"] if d["id"] == did][0]
            district = dict({"id": did, "name": dist["name"], "names": dist["names"]}, **nat)
            return nat, [region], [district]
        if isinstance(c["scope"], dict):
            rids = c["scope"]["regions"]
        else:
            rids = self.region_ids
        nudge = MASLIKHAT_NUDGE_COUNTING if (cid, state) == ("maslikhat-astana", "counting") else None
        regions = self.region_parts(cid, votes, invalid, state, pct_of, rids, nudge)
        nat = add_figures(regions, pct_of)
        if cid == "mazhilis" and state != "counting":
            assert nat["votes"] == MAZHILIS_VOTES, nat["votes"]
        districts = []
        for did, rid, names, share, _ in DISTRICTS:
            if rid not in rids:
                continue
            r = [x for x in regions if x["id"] == rid][0]
            part = lambda n: n * share // 1000  # noqa: E731
            f = figures(part(r["precincts_reported"]), self.district_precincts(did),
                        part(r["voters_registered"]), {k: part(n) for k, n in r["votes"].items()},
                        part(r["ballots_invalid"]), 0, pct_of)
            districts.append(dict({"id": did, "name": names["en"], "names": names}, **f))
        return nat, regions, districts

    def decision(self, cid, state, nat):
        c = self.contest(cid)
        final = state != "counting"
        if c["kind"] == "party_list":
            if cid == "mazhilis":
                seats = MAZHILIS_SEATS if final else MAZHILIS_SEATS_COUNTING
                passed = ["amanat", "auyl", "respublica", "aqjol", "qhp", "jsdp"]
                return {"status": "final" if final else "provisional", "final": final,
                        "reasons": [REASON], "rules": c["rules"], "passed": passed,
                        "seats": dict(seats), "vacant": 0, "tie": None}
            seats = MASLIKHAT_SEATS_FINAL if final else MASLIKHAT_SEATS_COUNTING
            return {"status": "tie" if final else "provisional", "final": final,
                    "reasons": [REASON], "rules": c["rules"],
                    "passed": ["amanat", "auyl", "respublica", "aqjol", "qhp"],
                    "seats": dict(seats), "vacant": 0,
                    "tie": dict(MASLIKHAT_TIE) if final else None}
        if c["kind"] == "referendum":
            return {"status": "passing" if final else "undetermined", "final": final,
                    "reasons": [REASON], "rules": c["rules"]}
        # Candidates: most votes first, ties in ballot order.
        order = [o["id"] for o in c["options"]]
        ranking = sorted(order, key=lambda k: (-nat["votes"][k], order.index(k)))
        d = {"ranking": ranking, "elected": [], "runoff": None, "tie": None,
             "reasons": [REASON], "rules": c["rules"], "final": final,
             "status": "undetermined"}
        if cid == "president":
            if state == "final":
                d.update(status="runoff", runoff=["p-abenov", "p-sadykova"])
            elif state == "elected":
                d.update(status="elected", elected=["p-abenov"])
            return d
        did = c["scope"]["district"]
        got = DISTRICT_DECISION.get(state if state != "elected" else "final", {}).get(did)
        if got:
            status, elected, tie = got
            d.update(status=status, elected=elected, final=True)
            if tie:
                d["tie"] = {"options": tie, "seats": 1}
        return d

    def leader(self, c, nat):
        best = None
        for o in c["options"]:
            if o.get("against_all"):
                continue
            if best is None or nat["votes"][o["id"]] > nat["votes"][best]:
                best = o["id"]
        return best if nat["precincts_reported"] else None


def names_of(c):
    return {k: c[k] for k in ("id", "name", "names") if k in c}


class State:
    """All documents of one state at one sequence."""

    def __init__(self, election, name, sequence):
        self.e, self.name, self.sequence = election, name, sequence
        self.as_of_ms = T0_MS + {"counting": 44, "final": 80, "elected": 80}.get(name, 44) * STEP_MS + 1234
        self.details = {}
        for c in election.contests:
            nat, regions, districts = election.detail(c["id"], name)
            self.details[c["id"]] = {"national": nat, "regions": regions,
                                     "districts": districts,
                                     "decision": election.decision(c["id"], name, nat)}

    def head(self):
        return {"election_id": ELECTION_ID, "sequence": self.sequence, "as_of": self.as_of()}

    def as_of(self):
        import datetime
        d = datetime.datetime.fromtimestamp(self.as_of_ms / 1000, tz=datetime.timezone.utc)
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (self.as_of_ms % 1000)

    def contest_doc(self, cid):
        c = self.e.contest(cid)
        if c is None:
            return None
        d = self.details[cid]
        shape = {k: c[k] for k in ("id", "name", "names", "kind", "scope", "seats", "options",
                                   "rules") if k in c}
        return dict(self.head(), contest=shape, national=d["national"], regions=d["regions"],
                    districts=d["districts"], decision=d["decision"])

    def contests_doc(self):
        out = []
        for c in self.e.contests:
            d = self.details[c["id"]]
            out.append(dict(names_of(c), kind=c["kind"], scope=c["scope"], seats=c["seats"],
                            precincts_total=d["national"]["precincts_total"],
                            precincts_reported=d["national"]["precincts_reported"],
                            status=d["decision"]["status"], final=d["decision"]["final"],
                            leader=self.e.leader(c, d["national"])))
        return dict(self.head(), contests=out)

    def totals_doc(self):
        out = []
        for c in self.e.contests:
            d = self.details[c["id"]]
            out.append(dict(names_of(c), kind=c["kind"], scope=c["scope"], seats=c["seats"],
                            national=d["national"], decision=d["decision"]))
        doc = dict(self.head(), title=TITLES["en"], contests=out)
        return doc

    def event_doc(self):
        doc = self.totals_doc()
        doc.update(titles=TITLES, conflicts=[], rejections=[], degraded=False)
        return doc

    def trend_doc(self, cid):
        """Points every five minutes from the polls' close to this state."""
        d = self.details[cid]
        nat = d["national"]
        n = (self.as_of_ms - T0_MS) // STEP_MS
        points = []
        for i in range(int(n) + 1):
            # Cities count later: the leader's share drifts down a little over the night.
            frac = min(1.0, (i / n) ** 0.8) if n else 1.0
            drift = 1.0 + 0.06 * (1 - frac)
            votes = {}
            keys = list(nat["votes"])
            for j, k in enumerate(keys):
                w = drift if j == 0 else 1.0
                votes[k] = int(nat["votes"][k] * frac * w)
            invalid = int(nat["ballots_invalid"] * frac)
            valid = sum(votes.values()) + int(nat["ballots_not_counted"] * frac)
            points.append({"t": T0_MS + i * STEP_MS, "sequence": int(self.sequence * frac),
                           "precincts_reported": int(nat["precincts_reported"] * frac),
                           "ballots_cast": valid + invalid, "valid": valid, "votes": votes})
        points[-1]["votes"] = dict(nat["votes"])
        points[-1]["precincts_reported"] = nat["precincts_reported"]
        points[-1]["ballots_cast"] = nat["ballots_cast"]
        points[-1]["valid"] = nat["valid"]
        points[-1]["sequence"] = self.sequence
        points[-1]["t"] = self.as_of_ms
        return {"contest": cid, "points": points}


# ---- today's single referendum (no /v1/election) ----

LEGACY_REGIONS = ["KZ-10", "KZ-11", "KZ-15", "KZ-19", "KZ-23"]


def legacy_totals(sequence):
    """Today's /v1/totals document plus what each totals event adds."""
    regions = load_regions()
    parts = []
    for i, rid in enumerate(LEGACY_REGIONS):
        yes, no = 41230 + 977 * i, 9120 + 311 * i
        f = figures(30 + i, 40 + i, 80000 + 1000 * i, {"yes": yes, "no": no}, 700 + i, 120, "valid")
        del f["pct_of"], f["valid"]
        parts.append(dict({"id": rid, "name": regions[rid]["names"]["en"]}, **f))
    nat = add_figures([dict(p, pct_of="valid") for p in parts], "valid")
    del nat["pct_of"], nat["valid"]
    return {"election_id": "kz-referendum-2026-03-15", "sequence": sequence, "national": nat,
            "regions": parts,
            "decision": {"status": "undetermined", "reasons": [
                "turnout undetermined: between 40.00% and 60.00% with 100,000 registered voters "
                "in unreported precincts; required more than 50.00%"],
                "rules": {"min_turnout_pct": 50.0, "region_majority_fraction": 0.6667}},
            "as_of": "2026-03-15T16:04:05.123Z",
            "title": "Republican referendum (synthetic demo data)",
            "options": [{"id": "yes", "name": "Yes"}, {"id": "no", "name": "No"}],
            "conflicts": [], "rejections": [], "degraded": False}


STATES = ["counting", "final", "elected"]


def build(name, sequence):
    return State(Election(), name, sequence)


if __name__ == "__main__":
    import sys
    s = build(sys.argv[1] if len(sys.argv) > 1 else "counting", 1)
    json.dump(s.contest_doc(sys.argv[2] if len(sys.argv) > 2 else "mazhilis"), sys.stdout,
              ensure_ascii=False, indent=1)
