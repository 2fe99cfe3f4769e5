#!/usr/bin/python3
"""Unsigned 32-bit values above 2^31 come out of the JSON API as they went
in: precinct ids up to 4,294,967,295, registered voters and ballot counts
of 3 and 4 billion, in /v1/precincts/{id} (the precinct, its counted
result), /v1/regions/{id} and /v1/totals."""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import tallyclient as tc  # noqa: E402

failures = []

BIG = 3000000000
TOP = 4294967295


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def eq(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want))


def main():
    with harness.Workspace() as w:
        w.election_path = os.path.join(w.dir, "election.json")
        with open(w.election_path, "w") as f:
            json.dump({"election_id": "big-values", "title": "Big values",
                       "options": [{"id": "yes", "name": "Yes"}, {"id": "no", "name": "No"}],
                       "regions": [{"id": "KZ-71", "name": "Astana",
                                    "precincts": [{"id": BIG, "registered": 4000000000},
                                                  {"id": TOP, "registered": 10},
                                                  {"id": 7, "registered": 100}]}]}, f)
        w.pki()
        agg = w.aggregator()
        da = w.region_dir("KZ-71")
        signer = tc.Signer(os.path.join(da, "sign.key"))
        c = tc.Client(agg.port, da)
        c.hello("node-a", "KZ-71")
        r = tc.make_result("big-values", "KZ-71", BIG, 3, 4000000000, BIG, yes=2500000000)
        c.submit(1, tc.signed(signer, r))
        eq(c.read_answers(1)[1], ("ack", "OUTCOME_ACCEPTED"), "a result of 3 billion ballots")
        r = tc.make_result("big-values", "KZ-71", TOP, 1, 10, 8, yes=5)
        c.submit(2, tc.signed(signer, r))
        eq(c.read_answers(1)[2], ("ack", "OUTCOME_ACCEPTED"), "precinct 4294967295")
        c.close()

        p = agg.get_json("/v1/precincts/%d" % BIG)
        eq((p["precinct_id"], p["registered"], p["revision"], p["status"]),
           (BIG, 4000000000, 3, "counted"), "/v1/precincts: the precinct")
        res = p["result"]
        eq((res["precinct_id"], res["voters_registered"], res["ballots_received"],
            res["ballots_issued"], res["ballots_cast"], res["votes"]),
           (BIG, 4000000000, BIG, BIG, BIG, {"yes": 2500000000, "no": 500000000}),
           "/v1/precincts: the counted result")
        eq([h["revision"] for h in p["history"]], [3], "/v1/precincts: the history")
        p = agg.get_json("/v1/precincts/%d" % TOP)
        eq((p["precinct_id"], p["result"]["precinct_id"]), (TOP, TOP),
           "/v1/precincts/4294967295")

        reg = agg.get_json("/v1/regions/KZ-71")
        eq([(x["id"], x["registered"], x["status"]) for x in reg["precincts"]],
           [(7, 100, "not_reported"), (BIG, 4000000000, "counted"), (TOP, 10, "counted")],
           "/v1/regions: precinct ids and registered voters")
        t = agg.get_json("/v1/totals")
        eq((t["national"]["ballots_cast"], t["national"]["voters_registered"]),
           (BIG + 8, 4000000010), "/v1/totals")
        h = agg.get_json("/healthz")
        eq((h["precincts_reported"], h["precincts_total"], h["conflicts"]), (2, 3, 0),
           "/healthz")
        check(agg.stop() == 0, "clean stop")
        agg.check_sanitizers()
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("all ok")


if __name__ == "__main__":
    main()
