#!/usr/bin/python3
"""One region sends 10,000 distinct copies of one precinct revision (they
differ only in recorded_at_ms). The aggregator logs the counted copy and
max_conflict_copies (default 8) conflicting ones; every further copy gets a
Nack CONFLICT_LIMIT and is stored, not logged. What that region can grow
stays flat from 100 copies to 10,000: the log, the precinct's state, the
/v1/precincts document (a page of the history, with a cursor to older
pages), the time to answer 100 copies, and the aggregator's resident
memory; the totals are exact throughout.

Resident memory is compared between 3,000 and 10,000 copies: by 3,000 the
store's page caches are warm (the store itself grows with every copy, as it
must). The aggregator runs with a 1 MB AddressSanitizer quarantine here, so
that its resident memory is what it holds rather than what the sanitizer
keeps of what it freed (256 MB by default)."""
import json
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import tallyclient as tc  # noqa: E402

COPIES = 10000
CHUNK = 100
CAP = 8

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def eq(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want))


def rss(agg):
    with open("/proc/%d/status" % agg.proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise harness.HarnessError("no VmRSS")


def main():
    asan = os.environ.get("ASAN_OPTIONS", "")
    os.environ["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "quarantine_size_mb=1"
    with harness.Workspace() as w:
        el = w.election(regions=2, precincts=20, seed=3)
        w.pki()
        agg = w.aggregator(log_level="notice")
        eid = el["election_id"]
        ra = el["regions"][0]
        da = w.region_dir(ra["id"])
        signer = tc.Signer(os.path.join(da, "sign.key"))
        p = ra["precincts"][0]
        other = ra["precincts"][1]

        def copy(k):
            # Same precinct, same revision, the same figures: only the
            # recording time differs, so every copy is a distinct payload.
            r = tc.make_result(eid, ra["id"], p["id"], 1, p["registered"], 300, invalid=3,
                               yes=200, recorded=1000 + k)
            return tc.signed(signer, r)

        c = tc.Client(agg.port, da)
        c.hello("node-a", ra["id"])
        answers = {}
        chunk_s = []

        def send(first, n):
            t0 = time.monotonic()
            c.submit_many([(first + i, copy(first + i)) for i in range(n)])
            answers.update(c.read_answers(n))
            chunk_s.append(time.monotonic() - t0)

        def precinct_doc(query=""):
            st, _, body = agg.get("/v1/precincts/%d%s" % (p["id"], query))
            eq(st, 200, "GET /v1/precincts%s" % query)
            return len(body), json.loads(body)

        send(1, CHUNK)
        size_100, _ = precinct_doc()
        for first in range(CHUNK + 1, 3000 + 1, CHUNK):
            send(first, CHUNK)
        time_3k = sum(chunk_s[1:6]) / 5  # copies 101..600
        rss_3k = rss(agg)
        for first in range(3000 + 1, COPIES + 1, CHUNK):
            send(first, CHUNK)
        rss_10k = rss(agg)
        time_10k = sum(chunk_s[-5:]) / 5
        size_10k, doc = precinct_doc()
        print("/v1/precincts %d bytes at 100 copies, %d at %d; 100 copies answered in %.3f s "
              "early, %.3f s at the end; resident %.1f MB at 3,000 copies, %.1f MB at %d" % (
                  size_100, size_10k, COPIES, time_3k, time_10k, rss_3k / 1e6, rss_10k / 1e6,
                  COPIES))

        # Every copy answered: the counted one, CAP conflicts, Nacks after.
        eq(len(answers), COPIES, "every copy answered")
        eq(answers[1], ("ack", "OUTCOME_ACCEPTED"), "the first copy is counted")
        eq([answers[k] for k in range(2, CAP + 2)], [("ack", "OUTCOME_CONFLICT")] * CAP,
           "the next %d copies are logged conflicts" % CAP)
        nacks = [a for k, a in answers.items() if k > CAP + 1]
        eq(len(nacks), COPIES - CAP - 1, "copies past the cap")
        eq(sorted(set(a[:2] for a in nacks)), [("nack", "REJECT_CODE_CONFLICT_LIMIT")],
           "each is a Nack CONFLICT_LIMIT")
        check("already has 8 conflicting copies (max_conflict_copies)" in nacks[-1][2],
              "the reason names the cap: %r" % nacks[-1][2])

        # Exact totals: the first copy's figures, one conflict flagged.
        t = agg.get_json("/v1/totals")
        n = t["national"]
        eq((t["sequence"], n["precincts_reported"], n["ballots_cast"], n["ballots_invalid"],
            n["votes"], n["conflicts"]),
           (CAP + 1, 1, 300, 3, {"yes": 200, "no": 97}, 1), "totals are exact")
        # Nothing a node sent is lost: every copy stored, CAP + 1 leaves.
        eq(agg.sql("SELECT count(*) FROM submissions WHERE precinct = %d" % p["id"])[0][0],
           COPIES, "every copy stored")
        eq(agg.sql("SELECT count(*) FROM log")[0][0], CAP + 1, "log leaves")

        # The precinct document: one page, as big at 10,000 copies as at 200.
        eq((doc["conflicting_copies"], doc["status"], len(doc["history"])),
           (CAP, "conflict", 100), "/v1/precincts: the cap, the status, a page of 100")
        check(size_10k < 1.2 * size_100,
              "/v1/precincts stays flat: %d bytes at 100 copies, %d at %d" % (
                  size_100, size_10k, COPIES))
        hist = doc["history"]
        ids = [h["id"] for h in hist]
        check(ids == sorted(ids), "a page reads oldest first")
        eq(hist[-1]["code"], "CONFLICT_LIMIT", "the newest row is a refused copy")
        eq(doc["history_next"], ids[0], "history_next is where the older page starts")
        # Paging back to the first Submit: every row once, newest page first.
        before, pages, seen, oldest = doc["history_next"], 1, list(ids), None
        while before is not None and pages < 20:
            _, d = precinct_doc("?history_before=%d&history_limit=1000" % before)
            pids = [h["id"] for h in d["history"]]
            check(pids == sorted(pids) and pids[-1] < seen[0],
                  "page %d: older rows, oldest first" % (pages + 1))
            seen = pids + seen
            oldest = d["history"]
            before = d["history_next"]
            pages += 1
        eq((pages, len(seen), len(set(seen))), (11, COPIES, COPIES),
           "11 pages (100 + 9 x 1000 + 900 rows) hold every Submit once")
        eq([h["outcome"] for h in oldest[:CAP + 2]],
           ["accepted"] + ["conflict"] * CAP + ["rejected"], "the oldest rows")
        for bad in ("?history_limit=0", "?history_limit=1001", "?history_before=x"):
            st, _, _ = agg.get("/v1/precincts/%d%s" % (p["id"], bad))
            eq(st, 400, "GET /v1/precincts%s" % bad)

        # Time and memory: what a batch of 100 copies costs and what the
        # daemon holds do not grow with the copies already refused.
        check(time_10k < 3 * time_3k + 0.25,
              "100 copies answered in %.3f s early, %.3f s at %d copies" % (
                  time_3k, time_10k, COPIES))
        # Holding each refused copy (item, payload, leaf bytes, reason:
        # about 1.5 KB under the sanitizer) would add some 10 MB.
        check(rss_10k - rss_3k < 12e6,
              "resident memory grew by %.1f MB from 3,000 to %d copies (bound 12 MB)" % (
                  (rss_10k - rss_3k) / 1e6, COPIES))

        # The region's other precincts are not affected.
        r = tc.make_result(eid, ra["id"], other["id"], 1, other["registered"], 100, yes=60)
        c.submit(COPIES + 1, tc.signed(signer, r))
        eq(c.read_answers(1)[COPIES + 1], ("ack", "OUTCOME_ACCEPTED"), "another precinct")
        c.close()
        check(agg.stop() == 0, "clean stop")
        agg.check_sanitizers()
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("all ok")


if __name__ == "__main__":
    main()
