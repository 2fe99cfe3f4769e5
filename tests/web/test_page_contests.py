#!/usr/bin/python3
"""The live page of a general election in headless Chromium (Debian's
chromium, DevTools over a pipe), checked against the contests API of the
server it is pointed at:

  test_page_contests.py                 # starts mock_server.py (fixtures.py)
  test_page_contests.py --url URL       # any server of the contests API

For every view of the election (each contest kind, the districts, a
district's contest), in Kazakh, Russian and English, at 1920x1080 and
390x844: the exact figures of /v1/contests/{id} (seats summing to the seats
offered, ranking, runoff, threshold, districts' leaders), no English word
left outside names on the Kazakh and Russian pages, nothing scrolling
sideways (also at 1280), no axe-core WCAG 2.1 AA violation, a screenshot in
$TALLY_BUILD_DIR/artifacts/page/. Then the switcher by keyboard, deep
links, rotation, the map and tables by keyboard, the language switch kept
for the next visit, one printed page per contest and, against the mock, an
update arriving without a reload (counting -> final -> elected). Last, the
mock of today's single-referendum aggregator: the page detects it and
shows the referendum as it always has.
"""
import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import mock_server  # noqa: E402
import pagecheck as pc  # noqa: E402
from pagecheck import check, eq  # noqa: E402

SOURCE = mock_server.SOURCE
BUILD = os.environ.get("TALLY_BUILD_DIR") or os.path.join(SOURCE, "build", "test")
ARTIFACTS = os.path.join(BUILD, "artifacts", "page")
WALL, PHONE, LAPTOP = (1920, 1080), (390, 844), (1280, 800)


def key(c, sid, name, code):
    for t in ("keyDown", "keyUp"):
        c.send("Input.dispatchKeyEvent", {"type": t, "key": name, "code": name,
                                          "windowsVirtualKeyCode": code}, sid)


def view_of(c, sid):
    return c.eval(sid, "document.body.getAttribute('data-view')")


def pdf_pages(c, sid):
    r = c.send("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69,
                                   "printBackground": True}, sid, timeout=60)
    pdf = base64.b64decode(r["data"])
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def sweep(chk, sizes, langs):
    """Every view in every language at each size: figures, words, axe, screenshots."""
    for size in sizes:
        c = pc.pubkit.Chromium(*size)
        try:
            sid = c.tab(mobile=size[0] < 800)
            for view in chk.views():
                for lang in langs:
                    chk.view(c, sid, view, lang, size)
            eq(c.page_errors(), [], "no script errors at %dx%d" % size)
        finally:
            c.close()


def interactions(chk, advance):
    entries = chk.entries()
    c = pc.pubkit.Chromium(*WALL)
    try:
        sid = c.tab()
        # The switcher by keyboard: arrows move and choose, the address follows.
        chk.open(c, sid, entries[0], "en")
        eq(c.eval(sid, "document.getElementById('switcher').hidden"), False, "the switcher is shown")
        c.eval(sid, "document.querySelector('[role=tab][aria-selected=true]').focus()")
        key(c, sid, "ArrowRight", 39)
        chk.settle(c, sid, entries[1])
        eq(c.eval(sid, "[document.activeElement.getAttribute('data-view'), "
                       "document.activeElement.getAttribute('aria-selected'), location.search]"),
           [entries[1], "true", "?contest=%s&lang=en" % entries[1]],
           "ArrowRight on the tabs chooses the next contest, keeps the focus, and links to it")
        key(c, sid, "End", 35)
        chk.settle(c, sid, entries[-1])
        eq(view_of(c, sid), entries[-1], "End chooses the last contest")

        # A district's row leads to its contest, and back.
        if "districts" in entries:
            chk.open(c, sid, "districts", "en")
            first = c.eval(sid, "document.querySelector('#districts-body tr').getAttribute('data-contest')")
            c.eval(sid, "document.querySelector('#districts-body tr th a').click()")
            chk.settle(c, sid, first)
            eq(c.eval(sid, "[location.search, document.querySelector('[role=tab][aria-selected=true]')"
                           ".getAttribute('data-view')]"),
               ["?contest=%s&lang=en" % first, "districts"],
               "a district's row opens its contest; the Districts tab stays selected")
            # Filtering by region.
            chk.open(c, sid, "districts", "en")
            region = c.eval(sid, "document.querySelectorAll('#district-filter option')[1].value")
            c.eval(sid, "var s = document.getElementById('district-filter'); s.value = %s; "
                        "s.dispatchEvent(new Event('change'))" % json.dumps(region))
            rows = c.eval(sid, "Array.from(document.querySelectorAll('#districts-body tr'))"
                               ".map(function (t) { return t.getAttribute('data-district'); })")
            want = [d["id"] for d in chk.election["districts"] if region in d["regions"]]
            eq(rows, want, "filtering the districts by region %s" % region)

        # The map by keyboard: one tab stop, arrows move, Enter chooses.
        first_contest = [e for e in entries if e != "districts"][0]
        chk.open(c, sid, first_contest, "en")
        tiles = c.eval(sid, "Array.from(document.querySelectorAll('#map .tile'))"
                            ".map(function (g) { return [g.getAttribute('data-region'), g.getAttribute('tabindex')]; })")
        eq(len([t for t in tiles if t[1] == "0"]), 1, "the map is one stop in the tab order")
        c.eval(sid, "document.querySelector('#map .tile[tabindex=\"0\"]').focus()")
        start = c.eval(sid, "document.activeElement.getAttribute('data-region')")
        key(c, sid, "ArrowRight", 39)
        moved = c.eval(sid, "document.activeElement.getAttribute('data-region')")
        check(moved and moved != start, "ArrowRight moves to the next tile (%s -> %s)" % (start, moved))
        key(c, sid, "Enter", 13)
        c.wait(sid, "!!document.querySelector('#regions-body tr.chosen')", "a region to be chosen")
        eq(c.eval(sid, "[document.querySelector('#regions-body tr.chosen').getAttribute('data-region'), "
                       "document.querySelector('#map .tile[aria-pressed=true]').getAttribute('data-region')]"),
           [moved, moved], "Enter chooses the region: its tile is pressed and its row marked")
        detail = c.eval(sid, "document.querySelector('#map-detail h3').textContent")
        reg = [r for r in chk.election["regions"] if r["id"] == moved][0]
        eq(detail, pc.name_in(reg, "en"), "the chosen region's figures are shown beside the map")

        # Sorting the regions by turnout, highest first.
        c.eval(sid, "document.querySelector('#regions-head th[data-key=turnout] button').click()")
        doc = chk.api.get("/v1/contests/" + first_contest)
        want = [r["id"] for r in sorted(doc["regions"], key=lambda r: -r["turnout_pct"])]
        eq(c.eval(sid, "Array.from(document.querySelectorAll('#regions-body tr'))"
                       ".map(function (t) { return t.getAttribute('data-region'); })"), want,
           "activating the turnout heading sorts the regions")

        # Rotation for a wall screen.
        c.send("Page.navigate", {"url": chk.base + "?rotate=2&lang=en"}, sid)
        c.wait(sid, "document.body.getAttribute('data-view') === %s" % json.dumps(entries[0]),
               "the rotating page to start on the first contest")
        t0 = time.monotonic()
        c.wait(sid, "document.body.getAttribute('data-view') === %s" % json.dumps(entries[1]),
               "rotation to the second contest", timeout=8)
        c.wait(sid, "document.body.getAttribute('data-view') === %s" % json.dumps(entries[2 % len(entries)]),
               "rotation to the third contest", timeout=8)
        took = time.monotonic() - t0
        check(2.0 <= took <= 7.0, "?rotate=2 cycles the contests (two steps in %.1f s)" % took)

        # The language switch, kept for the next visit.
        c.send("Page.navigate", {"url": chk.base + "?contest=" + first_contest}, sid)
        chk.settle(c, sid, first_contest)
        eq(c.eval(sid, "document.documentElement.lang"), "en", "the browser asks for English: English")
        c.eval(sid, "document.querySelector('#lang-switch button[data-lang=kk]').click()")
        eq(c.eval(sid, "[document.documentElement.lang, document.querySelector("
                       "'#lang-switch button[aria-pressed=true]').getAttribute('data-lang')]"),
           ["kk", "kk"], "the switch turns the page to Kazakh")
        eq(chk.foreign_words(c, sid), [], "after the switch no English word is left outside names")
        c.send("Page.navigate", {"url": chk.base + "?contest=" + first_contest}, sid)
        chk.settle(c, sid, first_contest)
        eq(c.eval(sid, "document.documentElement.lang"), "kk", "the choice is kept for the next visit")
        c.eval(sid, "document.querySelector('#lang-switch button[data-lang=en]').click()")

        # Print: one page per contest.
        for v in chk.views():
            chk.open(c, sid, v, "en")
            eq(pdf_pages(c, sid), 1, "%s prints on one A4 page" % v)

        # Updates arrive without a reload.
        if advance:
            for state, views in (("final", chk.views()), ("elected", ["president"])):
                c.eval(sid, "window.__noReload = 42")
                shown = view_of(c, sid)
                advance(state)
                chk.settle(c, sid, shown)
                eq(c.eval(sid, "window.__noReload"), 42, "the %s state arrived without a reload" % state)
                for v in views:
                    if v in chk.views():
                        chk.open(c, sid, v, "en")
                        c.eval(sid, "window.__noReload = 42")
                        chk.shown(c, sid, v, "en", WALL, axe=(state == "final"), tag="-" + state)
        eq(c.page_errors(), [], "no script errors in the interaction checks")
    finally:
        c.close()


def phone_menu(chk):
    entries = chk.entries()
    c = pc.pubkit.Chromium(*PHONE)
    try:
        sid = c.tab(mobile=True)
        chk.open(c, sid, entries[0], "ru")
        eq(c.eval(sid, "[getComputedStyle(document.getElementById('tabs')).display, "
                       "getComputedStyle(document.querySelector('.contest-menu')).display]"),
           ["none", "block"], "on a phone the switcher is a menu")
        c.eval(sid, "var s = document.getElementById('contest-select'); s.value = %s; "
                    "s.dispatchEvent(new Event('change'))" % json.dumps(entries[1]))
        chk.settle(c, sid, entries[1])
        eq(view_of(c, sid), entries[1], "choosing in the menu shows that contest")
    finally:
        c.close()


def laptop(chk):
    c = pc.pubkit.Chromium(*LAPTOP)
    try:
        sid = c.tab()
        for v in chk.views():
            chk.open(c, sid, v, "ru")
            chk.no_sideways_scroll(c, sid, "%s/ru/1280" % v)
    finally:
        c.close()


def legacy(build):
    """Today's aggregator of one referendum: the page shows it as it always has."""
    srv = mock_server.Server("legacy", "counting", heartbeat=2.0)
    try:
        chk = pc.PageCheck(srv.url, ARTIFACTS, build)
        check(chk.election is None, "the legacy mock answers /v1/election with 404")
        for size in (WALL, PHONE):
            c = pc.pubkit.Chromium(*size)
            try:
                sid = c.tab(mobile=size[0] < 800)
                for lang in ("en", "kk"):
                    chk.view(c, sid, "referendum", lang, size, tag="-legacy")
                    eq(c.eval(sid, "['switcher', 'map-card', 'trend-card'].map(function (id) "
                                   "{ return document.getElementById(id).hidden; })"), [True, True, True],
                       "one referendum: no switcher, no map, no trend (%s)" % lang)
                    eq(c.eval(sid, "document.body.getAttribute('data-layout')"), "classic",
                       "one referendum keeps today's layout")
                eq(c.page_errors(), [], "no script errors on the legacy page")
            finally:
                c.close()
    finally:
        srv.close()


def string_tables():
    """Every language has every key of the English table, with the same {placeholders}."""
    script = r"""
        const vm = require('vm'), fs = require('fs');
        const ctx = {window: {}, navigator: {languages: ['kk']}, location: {search: ''},
                     Intl: Intl, document: {}};
        vm.runInNewContext(fs.readFileSync(process.argv[1], 'utf8'), ctx);
        const S = ctx.window.Tally.strings, out = {};
        const marks = v => JSON.stringify((typeof v === 'object' && !Array.isArray(v) ? Object.values(v) : [v])
            .map(x => Array.isArray(x) ? [] : (String(x).match(/\{\w+\}/g) || []).sort()));
        for (const lang of Object.keys(S)) {
            out[lang] = {missing: [], placeholders: []};
            for (const k of Object.keys(S.en)) {
                if (!(k in S[lang])) { out[lang].missing.push(k); continue; }
                const a = new Set(JSON.parse(marks(S.en[k])).flat()), b = new Set(JSON.parse(marks(S[lang][k])).flat());
                if ([...a].some(x => !b.has(x)) || [...b].some(x => !a.has(x))) out[lang].placeholders.push(k);
            }
        }
        console.log(JSON.stringify(out));
    """
    out = subprocess.run(["node", "-e", script, os.path.join(SOURCE, "web", "i18n.js")],
                         capture_output=True, text=True, timeout=30)
    check(out.returncode == 0, "web/i18n.js loads in node (%s)" % out.stderr.strip()[:200])
    got = json.loads(out.stdout) if out.returncode == 0 else {}
    eq(sorted(got), sorted(pc.LANGS), "one string table per language: kk, ru, en")
    for lang, v in sorted(got.items()):
        eq(v, {"missing": [], "placeholders": []},
           "the %s table has every key, with the same placeholders as English" % lang)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default=os.environ.get("TALLY_PAGE_URL"),
                    help="a server of the contests API (default: start the mock)")
    a = ap.parse_args()
    if shutil.which("chromium") is None:
        print("FAIL: chromium is not installed (deploy/deps.sh --test installs it)")
        sys.exit(1)
    os.makedirs(ARTIFACTS, exist_ok=True)
    string_tables()
    srv, advance = None, None
    if a.url:
        url = a.url
    else:
        srv = mock_server.Server("general", "counting", heartbeat=2.0)
        url = srv.url
        advance = srv.set_state
    t0 = time.monotonic()
    try:
        chk = pc.PageCheck(url, ARTIFACTS, BUILD)
        check(chk.election is not None, "the server has the contests API")
        sweep(chk, [WALL, PHONE], pc.LANGS)
        laptop(chk)
        phone_menu(chk)
        interactions(chk, advance)
        if srv:
            eq(sorted(chk.seen & {"provisional", "final", "runoff", "elected", "list-tie"}),
               ["elected", "final", "list-tie", "provisional", "runoff"],
               "the fixtures showed provisional and final seats, a tie left to lot, a runoff and an election")
    finally:
        if srv:
            srv.close()
    if not a.url:
        legacy(BUILD)
    print("screenshots in", ARTIFACTS, "(%.0f s)" % (time.monotonic() - t0))
    if pc.failures:
        print("%d check(s) failed" % len(pc.failures))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
