#!/usr/bin/python3
"""The live page against the real thing: deploy/demo.sh --election
mazhilis-2023 (one aggregator, 20 nodes, the 2023 party list and 29
districts, two protocols per precinct) with the test build's binaries,
and Debian's headless Chromium checking the page against that
aggregator's contests API with the checks of test_page_contests.py
(pagecheck.py reads every expected figure from the same server).

While the night is replayed, the page on the party list follows the real
event stream: its sequence moves on without a reload. Once every contest
is in: every view (the party list, the districts, a district's contest)
in Kazakh, Russian and English at 1920x1080 and 390x844 with its exact
figures, seats and elected, no English word outside names, nothing
scrolling sideways, no axe-core violation; the switcher, map, tables,
deep links, rotation, language switch and print as against the mock;
the party list final with 69 seats and districts elected. Then the demo
is stopped with SIGTERM and must stop every daemon cleanly.
Screenshots: $TALLY_BUILD_DIR/artifacts/page-demo/.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pagecheck as pc  # noqa: E402
import test_page_contests as tpc  # noqa: E402
from pagecheck import check, eq  # noqa: E402

SOURCE = tpc.SOURCE
BUILD = tpc.BUILD
ARTIFACTS = os.path.join(BUILD, "artifacts", "page-demo")
# Long enough to watch the page follow the night, short enough for the suite.
REPLAY_SECONDS = 30


def wait_output(path, pattern, proc, timeout):
    """The first match of pattern in the demo's output, waiting for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, encoding="utf-8", errors="replace") as f:
            m = re.search(pattern, f.read())
        if m:
            return m
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    with open(path, encoding="utf-8", errors="replace") as f:
        tail = f.read()[-3000:]
    raise AssertionError("demo.sh: no %r within %d s (status %r):\n%s" % (pattern, timeout, proc.poll(), tail))


def follows_the_night(url, out, proc):
    """The page on the party list moves on from the real event stream, without a reload."""
    c = pc.pubkit.Chromium(*tpc.WALL)
    try:
        sid = c.tab()
        c.send("Page.navigate", {"url": url + "?contest=party-list&lang=en"}, sid)
        c.wait(sid, "document.body.getAttribute('data-view') === 'party-list' && "
                    "document.body.getAttribute('data-state') === 'live' && "
                    "+document.body.getAttribute('data-view-sequence') > 0",
               "the party list with some results in", timeout=60)
        c.eval(sid, "window.__noReload = 42")
        first = int(c.eval(sid, "document.body.getAttribute('data-view-sequence')"))
        c.wait(sid, "+document.body.getAttribute('data-view-sequence') > %d" % first,
               "the page to follow a commit", timeout=60)
        later = int(c.eval(sid, "document.body.getAttribute('data-view-sequence')"))
        eq(c.eval(sid, "window.__noReload"), 42,
           "the page followed the night from sequence %d to %d without a reload" % (first, later))
        wait_output(out, r"every contest counted", proc, 300)
        api = pc.API(url)
        final = api.get("/v1/contests/party-list")["sequence"]
        c.wait(sid, "document.body.getAttribute('data-view-sequence') === '%d'" % final,
               "the page to reach the last sequence", timeout=30)
        eq(c.eval(sid, "[window.__noReload, document.getElementById('alloc-status').className]"),
           [42, "alloc final"], "the last commit arrived without a reload: the seats are final")
        eq(c.page_errors(), [], "no script errors while following the night")
    finally:
        c.close()


def main():
    if shutil.which("chromium") is None:
        print("FAIL: chromium is not installed (deploy/deps.sh --test installs it)")
        sys.exit(1)
    os.makedirs(ARTIFACTS, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="tally-page-demo-")
    out = os.path.join(tmp, "demo.txt")
    proc = None
    t0 = time.monotonic()
    try:
        with open(out, "w") as f:
            proc = subprocess.Popen(
                ["bash", os.path.join(SOURCE, "deploy", "demo.sh"), "--election", "mazhilis-2023",
                 "--seconds", str(REPLAY_SECONDS), "--port", "0", "--state", os.path.join(tmp, "state"),
                 "--build-dir", BUILD], stdout=f, stderr=subprocess.STDOUT, start_new_session=True)
        url = wait_output(out, r"live page: (http://127\.0\.0\.1:\d+/)", proc, 180).group(1)
        follows_the_night(url, out, proc)

        chk = pc.PageCheck(url, ARTIFACTS, BUILD)
        check(chk.election is not None, "the aggregator has the contests API")
        eq(chk.views(), ["party-list", "districts", "otk-01"],
           "the demo's views: the party list, the districts and a district's contest")
        tpc.sweep(chk, [tpc.WALL, tpc.PHONE], pc.LANGS)
        tpc.laptop(chk)
        tpc.phone_menu(chk)
        tpc.interactions(chk, None)
        eq(sorted(chk.seen & {"provisional", "final", "elected"}), ["elected", "final"],
           "the page showed the final seats and the elected")
        listing = pc.API(url).get("/v1/contests")
        eq(sum(1 for c in listing["contests"] if c["status"] == "elected"), 29,
           "29 districts elected, as the page shows them")

        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=90)
        with open(out, encoding="utf-8", errors="replace") as f:
            text = f.read()
        check("stopped the aggregator and 20 nodes cleanly" in text, "the demo stops every daemon cleanly")
    finally:
        if proc and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if os.environ.get("TALLY_KEEP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("screenshots in", ARTIFACTS, "(%.0f s)" % (time.monotonic() - t0))
    if pc.failures:
        print("%d check(s) failed" % len(pc.failures))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
