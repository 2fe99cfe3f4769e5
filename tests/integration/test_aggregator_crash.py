#!/usr/bin/python3
"""kill -9 of the aggregator during pipelined streams from several regions,
then a restart. Invariants: every acknowledged Submit is in the store with
the outcome it was acknowledged with; the totals after the restart are
exactly the sum over what the store counts, which holds every acknowledged
result and otherwise only results that were sent; once the nodes resend
what was never acknowledged, the totals equal exactly the independent sum
of everything sent, and nothing is counted twice."""
import os
import random
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import tallyclient as tc  # noqa: E402

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


class Stream(threading.Thread):
    """One region's node: sends its results pipelined in chunks, records
    every answer. Stops quietly when the aggregator goes away."""

    def __init__(self, port, region_dir, region, items):
        super().__init__(daemon=True)
        self.port, self.region_dir, self.region, self.items = port, region_dir, region, items
        self.answers = {}

    def run(self):
        try:
            c = tc.Client(self.port, self.region_dir)
            c.hello("node-" + self.region, self.region)
            chunk = 25
            for i in range(0, len(self.items), chunk):
                part = self.items[i:i + chunk]
                c.submit_many([(seq, s) for seq, s, _ in part])
                self.answers.update(c.read_answers(len(part)))
        except (OSError, ConnectionError):
            pass


def expected_totals(results):
    """National figures of the counted copy per precinct (highest revision)."""
    best = {}
    for r in results:
        if r.precinct_id not in best or r.revision > best[r.precinct_id].revision:
            best[r.precinct_id] = r
    cast = sum(r.ballots_cast for r in best.values())
    yes = sum(r.votes[0].count for r in best.values())
    no = sum(r.votes[1].count for r in best.values())
    return {"precincts_reported": len(best), "ballots_cast": cast, "yes": yes, "no": no}


def national(doc):
    n = doc["national"]
    return {"precincts_reported": n["precincts_reported"], "ballots_cast": n["ballots_cast"],
            "yes": n["votes"]["yes"], "no": n["votes"]["no"]}


def main():
    seed = int(os.environ.get("TALLY_SEED", random.randrange(1 << 30)))
    print("seed", seed)
    rng = random.Random(seed)
    with harness.Workspace() as w:
        el = w.election(regions=4, precincts=800, seed=5)
        w.pki()
        agg = w.aggregator()
        eid = el["election_id"]
        plan = {}  # region -> [(seq, SignedResult, PrecinctResult)]
        by_seq = {}
        for reg in el["regions"]:
            signer = tc.Signer(os.path.join(w.region_dir(reg["id"]), "sign.key"))
            items = []
            seq = 0
            ps = reg["precincts"]
            for p in ps:
                seq += 1
                r = tc.make_result(eid, reg["id"], p["id"], 1, p["registered"],
                                   rng.randrange(0, p["registered"] + 1))
                items.append((seq, tc.signed(signer, r), r))
            # Corrections for a tenth of the precincts, later in the stream.
            for p in rng.sample(ps, len(ps) // 10):
                seq += 1
                r = tc.make_result(eid, reg["id"], p["id"], 2, p["registered"],
                                   rng.randrange(0, p["registered"] + 1))
                items.append((seq, tc.signed(signer, r), r))
            plan[reg["id"]] = items
            for it in items:
                by_seq[(reg["id"], it[0])] = it

        for round_ in range(3):
            streams = [Stream(agg.port, w.region_dir(r), r, plan[r]) for r in plan]
            for s in streams:
                s.start()
            # Kill once a fair part is acknowledged, mid-stream.
            total = sum(len(v) for v in plan.values())
            target = rng.randrange(total // 8, total // 2)
            harness.wait_for("acks before the kill",
                             lambda: sum(len(s.answers) for s in streams) >= target or
                             not any(s.is_alive() for s in streams), timeout=120, interval=0.005)
            agg.kill9()
            for s in streams:
                s.join(30)
            acked = {(s.region, q): a for s in streams for q, a in s.answers.items()}
            print("round %d: killed after %d acks" % (round_, len(acked)))
            check(all(a[0] == "ack" for a in acked.values()), "round %d: no Nacks" % round_)

            # The store holds every acknowledged Submit with its outcome.
            rows = agg.sql("SELECT peer_region, seq, outcome FROM submissions")
            outcome_names = {1: "OUTCOME_ACCEPTED", 2: "OUTCOME_DUPLICATE", 3: "OUTCOME_STALE",
                             4: "OUTCOME_CONFLICT"}
            stored = {}
            for reg, q, o in rows:
                stored.setdefault((reg, q), []).append(outcome_names.get(o))
            missing = [k for k in acked if k not in stored]
            check(not missing, "round %d: every acked Submit is in the store (%d missing)" %
                  (round_, len(missing)))
            wrong = [k for k, a in acked.items() if k in stored and stored[k][-1] != a[1]]
            check(not wrong, "round %d: stored outcome equals the acked one" % round_)

            agg.start()
            doc = agg.get_json("/v1/totals")
            # Whatever the store holds beyond the acks was sent: the totals
            # are those of some sent set containing every accepted ack.
            committed = [by_seq[k][2] for k in stored if k in by_seq]
            eq_ = national(doc) == expected_totals(committed)
            check(eq_, "round %d: totals after restart == sum over committed results" % round_)
            check(doc["sequence"] == len(set((by_seq[k][2].precinct_id, by_seq[k][2].revision)
                                             for k in stored)),
                  "round %d: sequence == distinct (precinct, revision) committed" % round_)

        # The nodes resend everything (as a node does until acked).
        streams = [Stream(agg.port, w.region_dir(r), r, plan[r]) for r in plan]
        for s in streams:
            s.start()
        for s in streams:
            s.join(120)
        check(all(len(s.answers) == len(s.items) for s in streams), "every resend answered")
        everything = [it[2] for items in plan.values() for it in items]
        doc = agg.get_json("/v1/totals")
        exp = expected_totals(everything)
        check(national(doc) == exp, "final totals == independent sum: %r vs %r" % (national(doc), exp))
        n_logged = len(set((r.precinct_id, r.revision) for r in everything))
        check(doc["sequence"] == n_logged, "sequence %d == %d results logged once each" %
              (doc["sequence"], n_logged))
        dup = agg.sql("SELECT count(*) FROM (SELECT precinct, revision FROM log GROUP BY "
                      "precinct, revision HAVING count(*) > 1) AS d")[0][0]
        check(dup == 0, "no (precinct, revision) logged twice")
        check(agg.stop() == 0, "exit 0 after SIGTERM")
        agg.check_sanitizers()
    print("%d failures (seed %d)" % (len(failures), seed) if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
