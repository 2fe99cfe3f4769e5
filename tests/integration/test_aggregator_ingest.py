#!/usr/bin/python3
"""The aggregator's ingest as a node sees it, and its HTTP API as the public
sees it: accepted results appear in /v1/totals with exact figures; the
duplicate, stale, correction and conflict outcomes; each Nack code from a
crafted input, with a reason naming the field; every Submit (rejected too)
in the store; /v1/regions and /v1/precincts; 404/405/413/431 with JSON
error bodies; a clean exit 0 on SIGTERM."""
import json
import os
import socket
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import tallyclient as tc  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    else:
        print("ok:", what)


def eq(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want))


def main():
    with harness.Workspace() as w:
        el = w.election(regions=3, precincts=30, seed=7)
        w.pki()
        agg = w.aggregator()
        eid = el["election_id"]
        ra, rb = el["regions"][0], el["regions"][1]
        da, db = w.region_dir(ra["id"]), w.region_dir(rb["id"])
        sa = tc.Signer(os.path.join(da, "sign.key"))
        sb = tc.Signer(os.path.join(db, "sign.key"))
        pa = ra["precincts"]
        c = tc.Client(agg.port, da)
        wel = c.hello("node-a", ra["id"])
        eq(wel.WhichOneof("body"), "welcome", "Hello is answered with Welcome")
        eq(wel.welcome.election_id, eid, "Welcome carries the election id")
        eq(wel.welcome.aggregator_id, "agg", "Welcome carries the aggregator id")
        pong = c.ping(77)
        eq((pong.WhichOneof("body"), pong.pong.nonce), ("pong", 77), "Ping is answered with Pong")

        seq = [0]
        sent = [0]

        def submit(s):
            seq[0] += 1
            sent[0] += 1
            c.submit(seq[0], s)
            return c.read_answers(1)[seq[0]]

        p0, p1, p2 = pa[0], pa[1], pa[2]
        r1 = tc.make_result(eid, ra["id"], p0["id"], 1, p0["registered"], 100, invalid=4,
                            not_counted=1, yes=60)
        eq(submit(tc.signed(sa, r1)), ("ack", "OUTCOME_ACCEPTED"), "first revision accepted")
        t = agg.get_json("/v1/totals")
        n = t["national"]
        eq((n["precincts_reported"], n["ballots_cast"], n["ballots_invalid"],
            n["ballots_not_counted"], n["votes"], n["voters_registered"]),
           (1, 100, 4, 1, {"yes": 60, "no": 35}, p0["registered"]),
           "accepted result in /v1/totals national figures")
        eq(t["sequence"], 1, "sequence counts the accepted result")
        eq(n["votes_pct"], {"yes": 62.5, "no": 36.46}, "percentages of valid ballots (cast - invalid)")
        reg = [x for x in t["regions"] if x["id"] == ra["id"]][0]
        eq((reg["name"], reg["ballots_cast"], reg["precincts_total"]),
           (ra["name"], 100, len(pa)), "region figures in /v1/totals")
        check("as_of" in t and t["election_id"] == eid, "totals carry as_of and election_id")
        check(t["decision"]["status"] in ("undetermined", "none"), "decision present")

        eq(submit(tc.signed(sa, r1)), ("ack", "OUTCOME_DUPLICATE"), "same bytes: duplicate")
        r2 = tc.make_result(eid, ra["id"], p0["id"], 2, p0["registered"], 110, yes=70)
        eq(submit(tc.signed(sa, r2)), ("ack", "OUTCOME_ACCEPTED"), "higher revision: correction")
        eq(submit(tc.signed(sa, r1)), ("ack", "OUTCOME_STALE"), "lower revision: stale")
        r2b = tc.make_result(eid, ra["id"], p0["id"], 2, p0["registered"], 110, yes=71)
        eq(submit(tc.signed(sa, r2b)), ("ack", "OUTCOME_CONFLICT"), "same revision, other bytes: conflict")
        eq(submit(tc.signed(sa, r2b)), ("ack", "OUTCOME_DUPLICATE"), "conflicting copy again: duplicate")
        t = agg.get_json("/v1/totals")
        eq((t["national"]["ballots_cast"], t["national"]["votes"]["yes"], t["national"]["conflicts"],
            t["sequence"]), (110, 70, 1, 3), "correction counted, conflict flagged, not counted")
        pj = agg.get_json("/v1/precincts/%d" % p0["id"])
        eq((pj["status"], pj["revision"], pj["conflict"], pj["result"]["ballots_cast"],
            pj["result"]["votes"]["yes"]), ("conflict", 2, True, 110, 70),
           "/v1/precincts shows the counted result and the conflict flag")
        eq([h["outcome"] for h in pj["history"]],
           ["accepted", "duplicate", "accepted", "stale", "conflict", "duplicate"],
           "/v1/precincts revision history")
        r3 = tc.make_result(eid, ra["id"], p0["id"], 3, p0["registered"], 120, yes=80)
        eq(submit(tc.signed(sa, r3)), ("ack", "OUTCOME_ACCEPTED"), "higher revision settles the conflict")
        t = agg.get_json("/v1/totals")
        eq((t["national"]["ballots_cast"], t["national"]["conflicts"], t["sequence"]), (120, 0, 4),
           "conflict settled")

        # Each reject code from a crafted input.
        good = tc.make_result(eid, ra["id"], p1["id"], 1, p1["registered"], 50)
        s = tc.signed(sa, payload=b"\xff\xff\xff garbage", signature=None)
        a = submit(s)
        eq(a[:2], ("nack", "REJECT_CODE_MALFORMED"), "MALFORMED for a signed non-PrecinctResult")
        a = submit(tc.signed(sa, good, key_id="ab" * 32))
        eq(a[:2], ("nack", "REJECT_CODE_UNKNOWN_KEY"), "UNKNOWN_KEY")
        check("key_id" in a[2], "UNKNOWN_KEY reason names key_id: %r" % a[2])
        bad = tc.signed(sa, good)
        bad.signature = bytes([bad.signature[0] ^ 1]) + bad.signature[1:]
        a = submit(bad)
        eq(a[:2], ("nack", "REJECT_CODE_BAD_SIGNATURE"), "BAD_SIGNATURE")
        check("signature" in a[2], "BAD_SIGNATURE reason: %r" % a[2])
        a = submit(tc.signed(sb, good))
        eq(a[:2], ("nack", "REJECT_CODE_WRONG_REGION"), "WRONG_REGION: another region's key")
        check(rb["id"] in a[2] and ra["id"] in a[2], "WRONG_REGION reason names both regions: %r" % a[2])
        other = tc.make_result(eid, rb["id"], rb["precincts"][0]["id"], 1, 10, 5)
        a = submit(tc.signed(sa, other))
        eq(a[:2], ("nack", "REJECT_CODE_WRONG_REGION"), "WRONG_REGION: result of another region")
        check("region_id" in a[2], "WRONG_REGION reason names region_id: %r" % a[2])
        a = submit(tc.signed(sa, tc.make_result("other-election", ra["id"], p1["id"], 1, 10, 5)))
        eq(a[:2], ("nack", "REJECT_CODE_WRONG_ELECTION"), "WRONG_ELECTION")
        check("other-election" in a[2], "WRONG_ELECTION reason names the value: %r" % a[2])
        a = submit(tc.signed(sa, tc.make_result(eid, ra["id"], 999999, 1, 10, 5)))
        eq(a[:2], ("nack", "REJECT_CODE_UNKNOWN_PRECINCT"), "UNKNOWN_PRECINCT")
        check("999999" in a[2], "UNKNOWN_PRECINCT reason names the precinct: %r" % a[2])
        fc = tc.make_result(eid, ra["id"], p1["id"], 1, p1["registered"], 50)
        fc.ballots_received = 999
        a = submit(tc.signed(sa, fc))
        eq(a[:2], ("nack", "REJECT_CODE_FAILED_CONTROL"), "FAILED_CONTROL")
        check("ballots_received" in a[2] and "999" in a[2], "FAILED_CONTROL reason names values: %r" % a[2])
        wrongp = tc.make_result(eid, ra["id"], rb["precincts"][0]["id"], 1, 10, 5)
        a = submit(tc.signed(sa, wrongp))
        eq(a[:2], ("nack", "REJECT_CODE_WRONG_REGION"), "WRONG_REGION: precinct of another region")
        eq(agg.get_json("/v1/totals")["sequence"], 4, "rejections change nothing")

        # Pipelined: the region's other precincts but one in one write.
        batch = []
        want_cast = 120
        for i, p in enumerate(pa[1:-1]):
            cast = 10 + i
            want_cast += cast
            seq[0] += 1
            sent[0] += 1
            batch.append((seq[0], tc.signed(sa, tc.make_result(eid, ra["id"], p["id"], 1,
                                                               p["registered"], cast))))
        c.submit_many(batch)
        ans = c.read_answers(len(batch))
        eq(sorted(ans), [s for s, _ in batch], "every pipelined seq answered")
        check(all(v == ("ack", "OUTCOME_ACCEPTED") for v in ans.values()), "all pipelined accepted")
        t = agg.get_json("/v1/totals")
        eq((t["national"]["ballots_cast"], t["national"]["precincts_reported"], t["sequence"]),
           (want_cast, len(pa) - 1, 4 + len(pa) - 2), "pipelined results counted exactly")

        # Regions and precincts endpoints.
        rj = agg.get_json("/v1/regions/%s" % ra["id"])
        eq((rj["id"], rj["precincts_reported"], rj["ballots_cast"], len(rj["precincts"])),
           (ra["id"], len(pa) - 1, want_cast, len(pa)), "/v1/regions/{id} figures")
        st = {p["id"]: (p["status"], p["revision"]) for p in rj["precincts"]}
        eq(st[p0["id"]], ("counted", 3), "region lists a counted precinct")
        eq(st[pa[-1]["id"]], ("not_reported", 0), "region lists an unreported precinct")
        e = agg.get_json("/v1/regions/XX-99", expect=404)
        check("error" in e and e["status"] == 404, "unknown region: 404 JSON")
        agg.get_json("/v1/precincts/abc", expect=404)
        agg.get_json("/v1/precincts/999999", expect=404)
        agg.get_json("/nope", expect=404)
        st_, hd, body = agg.get("/v1/totals", method="POST")
        eq((st_, json.loads(body)["status"], hd.get("allow")), (405, 405, "GET, HEAD"), "POST: 405 JSON with Allow")
        st_, hd, body = agg.get("/v1/totals", method="HEAD")
        eq((st_, body, int(hd["content-length"]) > 100), (200, b"", True), "HEAD: headers only")
        st_, _, body = agg.get("/v1/totals", headers={"X-Big": "a" * 20000})
        eq((st_, json.loads(body)["status"]), (431, 431), "huge header: 431 JSON")
        st_, _, body = agg.get("/v1/totals", method="GET", headers={"Content-Length": "100000"})
        eq((st_, json.loads(body)["status"]), (413, 413), "large body: 413 JSON")
        hz = agg.get_json("/healthz")
        eq((hz["status"], hz["sequence"], hz["sessions"]), ("ok", 4 + len(pa) - 2, 1), "/healthz")

        # Every Submit, rejected ones too, is in the store.
        eq(agg.sql("SELECT count(*) FROM submissions")[0][0], sent[0],
           "every Submit stored")
        eq(agg.sql("SELECT count(*) FROM submissions WHERE reject_code != 0")[0][0], 9,
           "every rejection stored")
        eq(agg.sql("SELECT count(*) FROM log")[0][0], 4 + len(pa) - 2, "log leaves = sequence")

        # Verification runs below the loop's CPU priority (verify.c).
        pid = agg.proc.pid
        nice = {}
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                nice[int(tid)] = int(f.read().rsplit(")", 1)[1].split()[16])
        base = nice.pop(pid)
        eq(sorted(set(nice.values()) | {base}), [base, min(19, base + 5)],
           "the loop and the committer at the process's nice, verify threads 5 below")
        if os.environ.get("TALLY_STORE_BACKEND", "sqlite") == "sqlite":
            check(list(nice.values()).count(base) >= 1, "the committer thread keeps the loop's priority")

        c.close()
        rc = agg.stop()
        eq(rc, 0, "exit 0 after SIGTERM")
        agg.check_sanitizers()
        # Restart: the same totals come back from the store.
        agg.start()
        t2 = agg.get_json("/v1/totals")
        eq((t2["sequence"], t2["national"]), (t["sequence"], t["national"]), "totals survive a restart")
        eq(agg.stop(), 0, "exit 0 after the second SIGTERM")
        agg.check_sanitizers()
    if failures:
        print("%d failures" % len(failures))
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
