#!/usr/bin/python3
"""The live page in a real browser: Debian's chromium, headless, driven over
the DevTools protocol on a pipe (tests/integration/pubkit.py), loads the page
from an aggregator fed with results and shows the exact national counts; a
new result appears without a reload; the page says when it is disconnected
and reconnects by itself when the aggregator is back; it calls the data
stale when a hung aggregator keeps the connection but sends nothing; sorting works; the
page throws no error. Screenshots (big screen and phone) are kept in
$TALLY_BUILD_DIR/artifacts/ to be looked at."""
import os
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pubkit  # noqa: E402
import tallyclient as tc  # noqa: E402
from test_publish import Feeder, check, eq, failures, fmt  # noqa: E402

ARTIFACTS = os.path.join(harness.BUILD, "artifacts")


def text_of(c, sid, element_id):
    return c.eval(sid, "document.getElementById(%r).textContent" % element_id)


def national_texts(c, sid):
    return c.eval(sid, """(function () {
        var o = {};
        document.querySelectorAll('#options .option').forEach(function (d) {
            o[d.getAttribute('data-option')] = d.querySelector('.votes').textContent;
        });
        ['cast', 'registered', 'reported', 'precincts-total', 'sequence', 'invalid',
         'not-counted'].forEach(function (id) { o[id] = document.getElementById(id).textContent; });
        return o;
    })()""")


def expect_national(feed, seq):
    sm = feed.sums()
    return {"yes": fmt(sm["yes"]) + " votes", "no": fmt(sm["no"]) + " votes",
            "cast": fmt(sm["cast"]), "registered": fmt(sm["registered"]),
            "reported": fmt(sm["reported"]), "precincts-total": fmt(feed.total),
            "sequence": fmt(seq), "invalid": fmt(sm["invalid"]),
            "not-counted": fmt(sm["not_counted"])}


def main():
    if shutil.which("chromium") is None:
        print("FAIL: chromium is not installed (deploy/deps.sh --test installs it)")
        sys.exit(1)
    os.makedirs(ARTIFACTS, exist_ok=True)
    with harness.Workspace() as w:
        el = w.election(regions=3, precincts=45, seed=5)
        w.pki()
        agg = w.aggregator()
        feed = Feeder(w, agg, el)
        # Ten results, spread over the regions.
        for r in el["regions"]:
            n = {0: 4, 1: 3, 2: 3}[el["regions"].index(r)]
            ans = feed.submit(r["id"], [feed.result(r["id"], p) for p in r["precincts"][:n]])
            check(all(a == ("ack", "OUTCOME_ACCEPTED") for a in ans), "results for %s" % r["id"])
        url = "http://127.0.0.1:%d/" % agg.http_port

        c = pubkit.Chromium(1920, 1080)
        try:
            sid = c.tab()
            c.send("Page.navigate", {"url": url}, sid)
            # data-sequence is the stream's (the header); data-view-sequence
            # that of the figures shown, which the page fetches after the
            # event: the two agree once the figures are in.
            c.wait(sid, "document.body.getAttribute('data-sequence') === '10' && "
                        "document.body.getAttribute('data-view-sequence') === '10' && "
                        "document.getElementById('conn').textContent === 'Live'",
                   "the page to show sequence 10, live")
            eq(national_texts(c, sid), expect_national(feed, 10),
               "the rendered page shows the exact national counts")
            rows = c.eval(sid, "Array.from(document.querySelectorAll('#regions-body tr'))"
                               ".map(function (t) { return [t.getAttribute('data-region'), "
                               "t.children[1].textContent]; })")
            eq(rows, [[r["id"], "%d / %d" % (feed.sums(r["id"])["reported"], len(r["precincts"]))]
                      for r in el["regions"]], "one row per region with reported / total")
            eq(text_of(c, sid, "title"), el["title"], "the title is the election's")
            check(not c.eval(sid, "document.getElementById('decision-card').hidden"),
                  "the decision is shown (the election has rules)")
            c.screenshot(sid, os.path.join(ARTIFACTS, "live-page.png"))
            print("screenshot:", os.path.join(ARTIFACTS, "live-page.png"))

            # A new result arrives: the page updates in place, no reload.
            c.eval(sid, "window.__noReload = 42")
            r0 = el["regions"][0]
            t0 = time.monotonic()
            ans = feed.submit(r0["id"], [feed.result(r0["id"], r0["precincts"][5], invalid=7,
                                                     not_counted=2)])
            eq(ans, [("ack", "OUTCOME_ACCEPTED")], "the new result is accepted")
            c.wait(sid, "document.body.getAttribute('data-sequence') === '11' && "
                        "document.body.getAttribute('data-view-sequence') === '11'",
                   "the page to show sequence 11", timeout=10)
            took = time.monotonic() - t0
            eq(national_texts(c, sid), expect_national(feed, 11),
               "after the new result the page shows the new exact counts")
            eq(c.eval(sid, "window.__noReload"), 42, "the page was not reloaded")
            check(took < 3.0, "the update showed within %.2f s" % took)

            # Sorting: by the "yes" share, largest first.
            c.eval(sid, "document.querySelector('th[data-key=\"opt:yes\"] button').click()")
            order = c.eval(sid, "Array.from(document.querySelectorAll('#regions-body tr'))"
                                ".map(function (t) { return t.getAttribute('data-region'); })")
            totals = agg.get_json("/v1/totals")
            want = [r["id"] for r in sorted(totals["regions"], key=lambda r: -r["votes_pct"]["yes"])]
            eq(order, want, "clicking a column sorts the regions")
            eq(c.eval(sid, "document.querySelector('th[data-key=\"opt:yes\"]')"
                           ".getAttribute('aria-sort')"), "descending", "aria-sort says so")

            # The aggregator goes away: the page says so; it comes back: the page follows.
            eq(agg.stop(), 0, "aggregator stops on SIGTERM with a browser attached")
            c.wait(sid, "document.body.getAttribute('data-state') === 'down'",
                   "the page to say it is disconnected", timeout=10)
            check(text_of(c, sid, "conn").startswith("Disconnected"),
                  "the status reads 'Disconnected…' (%s)" % text_of(c, sid, "conn"))
            agg.start()
            feed.close()
            feed.clients = {}  # the old sessions ended with the old process
            c.wait(sid, "document.body.getAttribute('data-state') === 'live'",
                   "the page to reconnect by itself", timeout=30)
            eq(text_of(c, sid, "sequence"), "11", "after the restart the page shows sequence 11")
            eq(c.eval(sid, "window.__noReload"), 42, "reconnected without a reload")
            eq(c.page_errors(), [], "no script errors on the page")

            # A hung aggregator (connection open, nothing sent): the page says stale.
            sid3 = c.tab()
            c.send("Page.navigate", {"url": url + "?stale=5"}, sid3)
            c.wait(sid3, "document.body.getAttribute('data-state') === 'live' && "
                         "document.body.getAttribute('data-sequence') === '11'",
                   "a second tab to load")
            agg.proc.send_signal(signal.SIGSTOP)
            try:
                c.wait(sid3, "document.body.getAttribute('data-state') === 'stale'",
                       "the page to call the data stale", timeout=20)
                check(text_of(c, sid3, "conn").startswith("Stale: no word from the server"),
                      "the status reads 'Stale…' (%s)" % text_of(c, sid3, "conn"))
            finally:
                agg.proc.send_signal(signal.SIGCONT)
            ans = feed.submit(r0["id"], [feed.result(r0["id"], r0["precincts"][6])])
            eq(ans, [("ack", "OUTCOME_ACCEPTED")], "a result after the pause is accepted")
            c.wait(sid3, "document.body.getAttribute('data-state') === 'live' && "
                         "document.body.getAttribute('data-sequence') === '12'",
                   "the page to be live again at sequence 12", timeout=15)

            # A phone: nothing wider than the screen but the table's own scroller.
            c2 = pubkit.Chromium(390, 844)
            try:
                sid2 = c2.tab(mobile=True)
                c2.send("Page.navigate", {"url": url}, sid2)
                c2.wait(sid2, "document.body.getAttribute('data-sequence') === '12' && "
                              "document.body.getAttribute('data-view-sequence') === '12'",
                        "the phone page to load")
                eq(c2.eval(sid2, "document.documentElement.scrollWidth"), 390,
                   "no horizontal page scroll on a phone")
                c2.screenshot(sid2, os.path.join(ARTIFACTS, "live-page-phone.png"), full=True)
            finally:
                c2.close()
        finally:
            c.close()
        feed.close()
        eq(agg.stop(), 0, "aggregator exits 0")
        agg.check_sanitizers()
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
