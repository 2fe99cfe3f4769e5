#!/usr/bin/python3
"""Start-up refuses a store whose log it cannot explain. Results are sent
and acknowledged, the aggregator is stopped, and its SQLite store is edited
behind its back with sqlite3: a deleted log row (a gap), then an outcome
changed to one the rules do not give. Each time the aggregator exits with a
non-zero status before it listens, naming the leaf and what to do; the
untouched store starts again with exactly the totals it had."""
import os
import shutil
import sqlite3
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import tallyclient as tc  # noqa: E402

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def edit(agg, query):
    db = sqlite3.connect(agg.db())
    try:
        db.execute(query)
        db.commit()
    finally:
        db.close()


def refused(agg, want, what):
    """Starts agg, which must exit non-zero with every string of want in its log."""
    mark = len(agg.log_text())
    agg.start(wait=False)
    try:
        code = agg.proc.wait(30)
    except Exception:
        agg.kill9()
        check(False, "%s: the aggregator did not exit" % what)
        return
    agg.logf.close()
    log = agg.log_text()[mark:]
    check(code != 0, "%s: exit status %r is not 0" % (what, code))
    for w in want:
        check(w in log, "%s: the log says %r" % (what, w))
        if w not in log:
            print(log[-1500:])
    check(" ready: election" not in log, "%s: it never became ready" % what)


def main():
    with harness.Workspace() as w:
        el = w.election(regions=2, precincts=10, seed=11)
        w.pki()
        agg = w.aggregator()
        eid = el["election_id"]
        ra = el["regions"][0]
        da = w.region_dir(ra["id"])
        signer = tc.Signer(os.path.join(da, "sign.key"))
        c = tc.Client(agg.port, da)
        c.hello("node-a", ra["id"])
        ps = ra["precincts"][:5]
        items = []
        for i, p in enumerate(ps):
            r = tc.make_result(eid, ra["id"], p["id"], 1, p["registered"], 100 + i, yes=50)
            items.append((i + 1, tc.signed(signer, r)))
        c.submit_many(items)
        answers = c.read_answers(len(items))
        check(all(a == ("ack", "OUTCOME_ACCEPTED") for a in answers.values()),
              "five results accepted")
        c.close()
        before = agg.get_json("/v1/totals")
        check(before["sequence"] == 5, "sequence 5 before the stop")
        check(agg.stop() == 0, "clean stop")
        agg.check_sanitizers()

        good = agg.state_dir + ".good"
        shutil.copytree(agg.state_dir, good)

        # A missing row: leaf 2 (precinct ps[2]) deleted.
        edit(agg, "DELETE FROM log WHERE leaf_index = 2")
        refused(agg, ["not starting", "log leaf 2 is missing from the store (the next stored "
                      "leaf is 3)", "restore it from a backup",
                      "docs/operations.md, section 6"], "a deleted log row")

        # A changed outcome: the first copy of ps[1] stored as a conflict.
        shutil.rmtree(agg.state_dir)
        shutil.copytree(good, agg.state_dir)
        edit(agg, "UPDATE log SET outcome = 4 WHERE leaf_index = 1")
        refused(agg, ["not starting", "log leaf 1 (precinct %d revision 1) is stored as "
                      "conflict, but the rules make it accepted" % ps[1]["id"],
                      "restore it from a backup"], "a changed outcome")

        # The untouched store starts with the same totals.
        shutil.rmtree(agg.state_dir)
        shutil.copytree(good, agg.state_dir)
        agg.start()
        after = agg.get_json("/v1/totals")
        check((after["sequence"], after["national"]) == (before["sequence"], before["national"]),
              "the untouched store recovers the same totals")
        check(agg.stop() == 0, "clean stop")
        agg.check_sanitizers()
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("all ok")


if __name__ == "__main__":
    main()
