#!/usr/bin/python3
"""pagecheck.py: checks of the live page in headless Chromium against any
server of the contests API (the mock of mock_server.py, or a real
aggregator). Every expected figure is read from the same server's API at
the time of the check, never from constants: run(base_url) works against
whatever election the server has.

    checker = PageCheck(base_url, artifacts_dir)
    checker.view(chromium, tab, "mazhilis", "kk")   # figures, words, axe, screenshot

Standard library only; axe-core comes from npm (axe_source()).
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))
import pubkit  # noqa: E402

AXE_VERSION = "4.10.2"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LANGS = ["kk", "ru", "en"]
# International symbols the page may show in any language: the time zone.
NOT_WORDS = {"UTC"}

failures = []


def check(cond, what):
    if cond:
        print("ok:", what)
    else:
        print("FAIL:", what)
        failures.append(what)
    return cond


def eq(got, want, what):
    ok = got == want
    if ok:
        print("ok:", what)
    else:
        print("FAIL: %s\n   got:  %r\n   want: %r" % (what, got, want))
        failures.append(what)
    return ok


def axe_source(build_dir):
    """axe.min.js, installed from npm once into build_dir/web-tools (pinned)."""
    prefix = os.path.join(build_dir, "web-tools")
    path = os.path.join(prefix, "node_modules", "axe-core", "axe.min.js")
    pkg = os.path.join(prefix, "node_modules", "axe-core", "package.json")
    have = None
    if os.path.exists(pkg):
        with open(pkg) as f:
            have = json.load(f).get("version")
    if have != AXE_VERSION:
        os.makedirs(prefix, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", prefix, "--no-audit", "--no-fund",
                        "--no-save", "--silent", "axe-core@" + AXE_VERSION],
                       check=True, timeout=300)
    with open(path, encoding="utf-8") as f:
        return f.read()


def digits(s):
    """The integer a formatted number shows (any grouping)."""
    d = re.sub(r"\D", "", s or "")
    return int(d) if d else None


def pct_value(s):
    """53.90 from "53.90%", "53,90 %" or "%53,90"."""
    m = re.search(r"(\d+)[.,](\d\d)", s or "")
    return float(m.group(1) + "." + m.group(2)) if m else None


class API:
    def __init__(self, base):
        self.base = base.rstrip("/")

    def get(self, path):
        try:
            with urllib.request.urlopen(self.base + path, timeout=10) as r:
                return json.loads(r.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise


def name_in(obj, lang):
    """The name the page should show: names[lang], for Kazakh then Russian, else name."""
    names = obj.get("names") or obj.get("titles") or {}
    for tag in ([lang, "ru"] if lang == "kk" else [lang]):
        if names.get(tag):
            return names[tag]
    return obj.get("name") or obj.get("title") or obj.get("id")


def all_names(election):
    """Every name and id of the definition, in every language (excluded from word checks)."""
    out = set()

    def add(o):
        for k in ("id", "name", "title"):
            if isinstance(o.get(k), str):
                out.add(o[k])
        for v in (o.get("names") or o.get("titles") or {}).values():
            out.add(v)

    add(election)
    for key in ("regions", "parties", "districts", "contests"):
        for o in election.get(key) or []:
            add(o)
            for opt in o.get("options") or []:
                add(opt)
    return sorted(out, key=len, reverse=True)


class PageCheck:
    def __init__(self, base_url, artifacts, build_dir):
        self.base = base_url.rstrip("/") + "/"
        self.api = API(self.base)
        self.artifacts = artifacts
        self.axe = axe_source(build_dir)
        self.election = self.api.get("/v1/election")
        if self.election:
            self.names = all_names(self.election)
        else:  # today's single referendum: the names are in the totals and events
            t = self.first_event()
            names = [t.get("title"), t.get("election_id")]
            names += [o.get("name") for o in t.get("options") or []]
            names += [r.get("name") for r in t.get("regions") or []]
            self.names = sorted({n for n in names if n}, key=len, reverse=True)
        self.seen = set()  # what the checks met: "runoff", "elected", "provisional", ...

    def first_event(self):
        """The first totals event of /v1/events (today's referendum: title and options come only there)."""
        port = int(re.search(r":(\d+)/", self.base).group(1))
        ev = pubkit.SSE(port)
        try:
            got = ev.next("totals", timeout=10)
        finally:
            ev.close()
        return got["doc"]

    # ---- the views of this election ----

    def views(self):
        """Switcher entries in order, plus one district contest if any."""
        if not self.election:
            return ["referendum"]
        out, district = [], None
        for c in self.election["contests"]:
            if isinstance(c.get("scope"), dict) and "district" in c["scope"]:
                if "districts" not in out:
                    out.append("districts")
                district = district or c["id"]
            else:
                out.append(c["id"])
        return out + ([district] if district else [])

    def entries(self):
        return [v for v in self.views() if v == "districts" or not self.is_district(v)]

    def contest_def(self, cid):
        for c in (self.election or {}).get("contests", []):
            if c["id"] == cid:
                return c
        return None

    def is_district(self, cid):
        c = self.contest_def(cid)
        return bool(c and isinstance(c.get("scope"), dict) and "district" in c["scope"])

    # ---- browser helpers ----

    def open(self, c, sid, view, lang, extra=""):
        url = self.base + "?contest=%s&lang=%s%s" % (view, lang, extra)
        c.send("Page.navigate", {"url": url}, sid)
        self.settle(c, sid, view)

    def settle(self, c, sid, view):
        """Waits until the page shows `view` at the API's current sequence, live."""
        if view == "districts" or not self.election:
            seq = self.api.get("/v1/totals")["sequence"]
        else:
            seq = self.api.get("/v1/contests/" + view)["sequence"]
        c.wait(sid, "document.body.getAttribute('data-view') === %s && "
                    "document.body.getAttribute('data-view-sequence') === '%d' && "
                    "document.body.getAttribute('data-state') === 'live'" % (json.dumps(view), seq),
               "the page to show %s at sequence %d" % (view, seq))
        # The trend arrives after the contest; let it and any layout settle.
        time.sleep(0.3)

    def axe_check(self, c, sid, what):
        if not c.eval(sid, "typeof window.axe === 'object'"):
            c.eval(sid, self.axe)
        r = c.send("Runtime.evaluate", {
            "expression": "axe.run(document, {runOnly: {type: 'tag', values: %s}, "
                          "resultTypes: ['violations']}).then(function (r) { return r.violations.map("
                          "function (v) { return {id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3)"
                          ".map(function (n) { return n.target.join(' ') + ' :: ' + n.failureSummary; })}; }); })"
                          % json.dumps(AXE_TAGS),
            "awaitPromise": True, "returnByValue": True}, sid, timeout=60)
        if "exceptionDetails" in r:
            raise RuntimeError("axe: %s" % r["exceptionDetails"])
        return eq(r["result"]["value"], [], "axe-core: no WCAG 2.1 AA violations (%s)" % what)

    def no_sideways_scroll(self, c, sid, what):
        got = c.eval(sid, """(function () {
            var d = document.documentElement, out = [];
            if (d.scrollWidth > window.innerWidth) out.push('page ' + d.scrollWidth);
            document.querySelectorAll('.table-wrap, .card').forEach(function (e) {
                if (e.offsetParent && e.scrollWidth > e.clientWidth + 1)
                    out.push((e.id || e.className) + ' ' + e.scrollWidth + '>' + e.clientWidth);
            });
            return out; })()""")
        return eq(got, [], "nothing scrolls sideways (%s)" % what)

    def foreign_words(self, c, sid):
        """Latin-script words visible (or given to a screen reader) outside names."""
        texts = c.eval(sid, """(function () {
            var out = [];
            function visible(el) {
                for (var e = el; e; e = e.parentElement)
                    if (e.hidden || getComputedStyle(e).display === 'none') return false;
                return true;
            }
            var w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            for (var n = w.nextNode(); n; n = w.nextNode()) {
                var p = n.parentElement;
                if (!p || p.closest('[translate="no"], script, style, noscript') || !visible(p)) continue;
                if (n.textContent.trim()) out.push(n.textContent.trim());
            }
            document.querySelectorAll('[aria-label], [title]').forEach(function (e) {
                if (!visible(e) && e.tagName !== 'g') return;
                ['aria-label', 'title'].forEach(function (a) {
                    if (e.getAttribute(a)) out.push(e.getAttribute(a));
                });
            });
            out.push(document.title);
            return out; })()""")
        bad = []
        for t in texts:
            for name in self.names:
                if name:
                    t = t.replace(name, " ")
            for word in re.findall(r"[A-Za-z][A-Za-z'’]*", t):
                if word not in NOT_WORDS:
                    bad.append(word)
        return sorted(set(bad))

    # ---- figures ----

    def figures(self, c, sid, nat, what):
        got = c.eval(sid, """(function () {
            var o = {};
            ['turnout', 'cast', 'registered', 'reported', 'precincts-total', 'invalid',
             'not-counted'].forEach(function (id) {
                var e = document.getElementById(id); o[id] = e ? e.textContent : null; });
            return o; })()""")
        eq({"turnout": pct_value(got["turnout"]), "cast": digits(got["cast"]),
            "registered": digits(got["registered"]), "reported": digits(got["reported"]),
            "precincts-total": digits(got["precincts-total"]), "invalid": digits(got["invalid"]),
            "not-counted": digits(got["not-counted"])},
           {"turnout": nat["turnout_pct"], "cast": nat["ballots_cast"],
            "registered": nat["voters_registered"], "reported": nat["precincts_reported"],
            "precincts-total": nat["precincts_total"], "invalid": nat["ballots_invalid"],
            "not-counted": nat["ballots_not_counted"]},
           "%s: turnout, ballots and precincts are the API's" % what)

    def regions_table(self, c, sid, doc, what):
        regs = doc.get("regions") or []
        if len(regs) < 2:
            return
        rows = c.eval(sid, "Array.from(document.querySelectorAll('#regions-body tr'))"
                           ".map(function (t) { return [t.getAttribute('data-region'), "
                           "t.children[1].textContent]; })")
        eq([[r[0], [digits(x) for x in r[1].split("/")]] for r in rows],
           [[r["id"], [r["precincts_reported"], r["precincts_total"]]] for r in regs],
           "%s: one row per region with reported / total, in definition order" % what)

    def check_referendum(self, c, sid, doc, lang, what):
        nat = doc["national"]
        got = c.eval(sid, """Array.from(document.querySelectorAll('#options .option')).map(
            function (d) { return [d.getAttribute('data-option'), d.querySelector('.pct').textContent,
                                   d.querySelector('.votes').textContent,
                                   d.querySelector('.name').textContent]; })""")
        opts = doc["contest"].get("options") or [{"id": k, "name": k} for k in nat["votes"]]
        eq([[g[0], pct_value(g[1]), digits(g[2]), g[3]] for g in got],
           [[o["id"], nat["votes_pct"][o["id"]], nat["votes"][o["id"]], name_in(o, lang)] for o in opts],
           "%s: each option's share, votes and name" % what)

    def check_candidates(self, c, sid, doc, lang, what):
        nat, d = doc["national"], doc["decision"]
        opts = {o["id"]: o for o in doc["contest"]["options"]}
        got = c.eval(sid, """Array.from(document.querySelectorAll('#candidates li')).map(
            function (li) { return [li.getAttribute('data-option'), li.querySelector('.pct').textContent,
                                    li.querySelector('.votes').textContent,
                                    li.querySelector('.name').textContent,
                                    !!li.querySelector('.badge.elected'), !!li.querySelector('.mark')]; })""")
        majority = doc["contest"]["rules"].get("win") == "absolute_majority"
        eq([[g[0], pct_value(g[1]), digits(g[2]), g[3], g[4], g[5]] for g in got],
           [[k, nat["votes_pct"][k], nat["votes"][k], name_in(opts[k], lang), k in d["elected"],
             majority and not False] for k in d["ranking"]],
           "%s: candidates ranked as the API ranks them, with shares, votes, 'elected' and the majority line" % what)
        banner = c.eval(sid, "(function () { var b = document.getElementById('runoff-banner'); "
                             "return b ? Array.from(b.querySelectorAll('.nm')).map(function (n) "
                             "{ return n.textContent; }) : null; })()")
        if d.get("runoff"):
            self.seen.add("runoff")
            eq(banner, [name_in(opts[k], lang) for k in d["runoff"]],
               "%s: the runoff banner names the two the API names" % what)
        else:
            eq(banner, None, "%s: no runoff banner" % what)
        if d.get("elected"):
            self.seen.add("elected")
        if d.get("status") == "tie":
            self.seen.add("candidate-tie")
        against = [k for k, o in opts.items() if o.get("against_all")]
        for k in against:
            check(c.eval(sid, "!!document.querySelector('#candidates li.against[data-option=%s] .note')"
                         % json.dumps(k)), "%s: against all is shown and marked never elected" % what)

    def check_party_list(self, c, sid, doc, lang, what):
        nat, d, con = doc["national"], doc["decision"], doc["contest"]
        opts = con["options"]
        bars = c.eval(sid, """Array.from(document.querySelectorAll('#list-bars li')).map(
            function (li) { return [li.getAttribute('data-option'), li.querySelector('.pct').textContent,
                                    li.querySelector('.votes').firstChild.textContent,
                                    li.querySelector('.name').textContent,
                                    li.classList.contains('below'), li.classList.contains('against'),
                                    !!li.querySelector('.mark')]; })""")
        eq([[b[0], pct_value(b[1]), digits(b[2]), b[3], b[4], b[5], b[6]] for b in bars],
           [[o["id"], nat["votes_pct"][o["id"]], nat["votes"][o["id"]], name_in(o, lang),
             not o.get("against_all") and o["id"] not in d["passed"] and nat["precincts_reported"] > 0,
             bool(o.get("against_all")), not o.get("against_all")] for o in opts],
           "%s: vote bars in ballot order with shares, votes, the threshold line; "
           "below the threshold and against all visibly not seated" % what)
        chart = c.eval(sid, """(function () { var o = {};
            document.querySelectorAll('svg.hemicycle g[data-party]').forEach(function (g) {
                o[g.getAttribute('data-party')] = g.querySelectorAll('circle').length; });
            return o; })()""")
        want = {k: v for k, v in d["seats"].items() if v}
        tie = (d.get("tie") or {}).get("seats") or 0
        vacant = d.get("vacant") if isinstance(d.get("vacant"), int) else len(d.get("vacant") or [])
        if tie:
            want["lot"] = tie
            self.seen.add("list-tie")
            names = c.eval(sid, "Array.from(document.querySelectorAll('#tie-note .nm')).map("
                                "function (n) { return n.textContent; })")
            byid = {o["id"]: o for o in opts}
            eq(names, [name_in(byid[k], lang) for k in d["tie"]["options"]],
               "%s: the tie left to lot is said in words, naming the lists" % what)
        if vacant:
            want["vacant"] = vacant
        eq(chart, want, "%s: the seat chart has each party's seats as /v1/contests/%s says" % (what, con["id"]))
        eq(sum(chart.values()), con["seats"], "%s: the seat chart's seats sum to the %d seats offered"
           % (what, con["seats"]))
        legend = c.eval(sid, """Array.from(document.querySelectorAll('#seat-legend li')).map(
            function (li) { return [li.getAttribute('data-option'), li.querySelector('.n').textContent]; })""")
        eq({k: digits(v) for k, v in legend}, want, "%s: the seat legend says the same" % what)
        status = c.eval(sid, "document.getElementById('alloc-status').className")
        eq(status, "alloc " + ("final" if d["final"] else "provisional"),
           "%s: labelled %s" % (what, "final" if d["final"] else "provisional"))
        self.seen.add("final" if d["final"] else "provisional")

    def check_districts(self, c, sid, lang, what):
        totals = self.api.get("/v1/totals")
        live = {x["id"]: x for x in totals["contests"]}
        dists = {x["id"]: x for x in self.election["districts"]}
        want = []
        for con in self.election["contests"]:
            if not self.is_district(con["id"]):
                continue
            n, d = live[con["id"]]["national"], live[con["id"]]["decision"]
            opts = {o["id"]: o for o in con["options"]}
            leader = name_in(opts[d["ranking"][0]], lang) if n["precincts_reported"] else None
            status = "elected" if d["status"] == "elected" else d["status"]
            want.append([con["id"], name_in(dists[con["scope"]["district"]], lang), leader,
                         [n["precincts_reported"], n["precincts_total"]],
                         status if n["precincts_reported"] else "noData"])
        got = c.eval(sid, """Array.from(document.querySelectorAll('#districts-body tr')).map(
            function (t) { var l = t.querySelector('td.leader .nm');
                           var st = t.querySelector('.ds').className.replace('ds ds-', '');
                           return [t.getAttribute('data-contest'), t.querySelector('th .nm').textContent,
                                   l ? l.textContent : null, t.children[4].textContent, st]; })""")
        got = [[g[0], g[1], g[2], [digits(x) for x in g[3].split("/")],
                g[4] if g[4] in ("elected", "tie", "failed", "runoff", "noData") else "undetermined"]
               for g in got]
        want = [w[:4] + [w[4] if w[4] in ("elected", "tie", "failed", "runoff", "noData") else "undetermined"]
                for w in want]
        eq(got, want, "%s: one row per district with the leader, precincts reported and status from the API" % what)

    def check_map(self, c, sid, doc, lang, what):
        tiles = c.eval(sid, """Array.from(document.querySelectorAll('#map .tile')).map(
            function (g) { return [g.getAttribute('data-region'), g.getAttribute('aria-label')]; })""")
        regs = [r for r in self.election["regions"] if r.get("tile")]
        if doc is not None:
            ids = {r["id"] for r in doc.get("regions") or []}
            regs = [r for r in regs if r["id"] in ids]
        if len(regs) < 2:
            return
        eq([t[0] for t in tiles], [r["id"] for r in regs], "%s: one map tile per region" % what)
        named = all(t[1].startswith(name_in(r, lang)) for t, r in zip(tiles, regs))
        check(named, "%s: each tile is labelled with its region's name for screen readers" % what)

    def check_trend(self, c, sid, cid, what):
        tr = self.api.get("/v1/contests/%s/trend" % cid)
        if tr is None:
            return
        pts = tr["points"]
        if len(pts) < 2:
            return
        n = c.eval(sid, "document.querySelectorAll('#trend svg path.series').length")
        con = self.contest_def(cid)
        top = min(3, len([o for o in con["options"] if not o.get("against_all")]))
        eq(n, 1 + top, "%s: the trend draws precincts reported and the %d leading shares" % (what, top))
        summary = c.eval(sid, "document.querySelector('#trend figcaption').textContent")
        nat = self.api.get("/v1/contests/" + cid)["national"]
        want = round(100.0 * pts[-1]["precincts_reported"] / nat["precincts_total"], 2)
        check(("%.2f" % want) in summary.replace(",", "."),
              "%s: the trend's text alternative gives the last point's %.2f%% reported" % (what, want))

    def view(self, c, sid, view, lang, size, axe=True, tag=""):
        """Opens view in lang and checks what it shows against the API."""
        self.open(c, sid, view, lang)
        self.shown(c, sid, view, lang, size, axe, tag)

    def shown(self, c, sid, view, lang, size, axe=True, tag=""):
        """Checks what the page shows now (no navigation) against the API."""
        what = "%s/%s/%dx%d%s" % (view, lang, size[0], size[1], tag)
        if view == "districts":
            self.check_districts(c, sid, lang, what)
            self.check_map(c, sid, None, lang, what)
        else:
            doc = self.api.get("/v1/contests/" + view) if self.election else None
            if doc is None:  # today's single referendum
                t = self.api.get("/v1/totals")
                doc = {"contest": {"id": "referendum", "kind": "referendum",
                                   "options": t.get("options") or [{"id": k, "name": k.capitalize()}
                                                                   for k in t["national"]["votes"]]},
                       "national": t["national"], "regions": t["regions"], "decision": t["decision"]}
                for o in doc["contest"]["options"]:
                    o.setdefault("name", o["id"])
            kind = doc["contest"]["kind"]
            self.figures(c, sid, doc["national"], what)
            self.regions_table(c, sid, doc, what)
            if kind == "party_list":
                self.check_party_list(c, sid, doc, lang, what)
            elif kind == "candidate":
                self.check_candidates(c, sid, doc, lang, what)
            else:
                self.check_referendum(c, sid, doc, lang, what)
            if self.election:
                self.check_map(c, sid, doc, lang, what)
                if size[0] > 1000:
                    self.check_trend(c, sid, view, what)
        if lang != "en":
            eq(self.foreign_words(c, sid), [], "%s: no English word outside names" % what)
        self.no_sideways_scroll(c, sid, what)
        if axe:
            self.axe_check(c, sid, what)
        shot = os.path.join(self.artifacts, "%s-%s-%d%s.png" % (view, lang, size[0], tag))
        c.screenshot(sid, shot, full=True)
