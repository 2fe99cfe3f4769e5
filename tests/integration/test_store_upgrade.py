#!/usr/bin/python3
"""A store written by the version before results were kept per contest
(tests/data/store-v1, made by its make.py with that version's aggregator)
is opened by this one: the schema is migrated at start-up, /v1/totals is
exactly what the old aggregator published, the old rows read back as the
election's only contest, new results are counted on top of them, and a
restart migrates nothing more. Once with the SQLite file, once with the
PostgreSQL dump (skipped without the server binaries)."""
import json
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pgserver  # noqa: E402
import tallyclient as tc  # noqa: E402

FIXTURE = os.path.join(harness.SOURCE, "tests", "data", "store-v1")
failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def eq(got, want, what):
    check(got == want, "%s: %r == %r" % (what, got, want))


def same(got, want, what):
    """Like eq, for documents too long to print unless they differ."""
    check(got == want, what)
    if got != want:
        print("  got:  %s\n  want: %s" % (json.dumps(got, sort_keys=True),
                                          json.dumps(want, sort_keys=True)))


def without_time(doc):
    return {k: v for k, v in doc.items() if k != "as_of"}


def send_more(name, agg, w, el):
    """Two new precincts of KZ-11 and a correction of precinct 2: every
    answer an acceptance. Returns what they add to the national figures."""
    eid = el["election_id"]
    rb = el["regions"][1]
    ra = el["regions"][0]
    sent = []
    # (precinct, revision, cast, yes) per region
    batches = ((rb, [(rb["precincts"][0], 1, 200, 120), (rb["precincts"][1], 1, 300, 100)]),
               (ra, [(ra["precincts"][1], 2, 150, 50)]))
    for region, results in batches:
        d = w.region_dir(region["id"])
        signer = tc.Signer(os.path.join(d, "sign.key"))
        c = tc.Client(agg.port, d)
        c.hello("node-new", region["id"])
        items = [(i + 1, tc.signed(signer, tc.make_result(eid, region["id"], p["id"], rev,
                                                         p["registered"], cast, yes=yes)))
                 for i, (p, rev, cast, yes) in enumerate(results)]
        c.submit_many(items)
        answers = c.read_answers(len(items))
        c.close()
        sent += list(answers.values())
    eq(sent, [("ack", "OUTCOME_ACCEPTED")] * 3, "%s: the new results are accepted" % name)


def upgrade(w, el, name, extra_conf, place_store, sql, versions):
    """sql(agg, query): the rows of a query on agg's store."""
    old = json.load(open(os.path.join(FIXTURE, "totals.json")))
    agg = w.aggregator(name, start=False, extra_conf=extra_conf)
    place_store(agg)
    agg.start()
    log = agg.log_text()
    check("schema migrated to version %d" % versions[-1] in log,
          "%s: the start-up log says the schema was migrated" % name)
    same(without_time(agg.get_json("/v1/totals")), without_time(old),
       "%s: /v1/totals is what the version before published" % name)
    eq([r[0] for r in sql(agg, "SELECT version FROM schema_version ORDER BY version")], versions,
       "%s: schema versions" % name)
    eq(sql(agg, "SELECT count(*), sum(CASE WHEN contest = '' THEN 1 ELSE 0 END) FROM log"),
       [(6, 6)],
       "%s: the six old leaves are the only contest's" % name)
    p1 = agg.get_json("/v1/precincts/1")
    eq((p1["status"], p1["revision"], p1["result"]["ballots_cast"], len(p1["history"])),
       ("conflict", 2, 110, 3), "%s: precinct 1's counted result and history" % name)

    send_more(name, agg, w, el)
    t = agg.get_json("/v1/totals")
    n = old["national"]
    # Precinct 2 was counted with 101 cast (61 yes), now 150 (50 yes).
    want = (n["precincts_reported"] + 2, n["ballots_cast"] + 200 + 300 + 150 - 101,
            n["votes"]["yes"] + 120 + 100 + 50 - 61, old["sequence"] + 3)
    eq((t["national"]["precincts_reported"], t["national"]["ballots_cast"],
        t["national"]["votes"]["yes"], t["sequence"]), want,
       "%s: new results are counted on top of the old ones" % name)

    eq(agg.stop(), 0, "%s: clean stop" % name)
    agg.start()
    check(agg.log_text().count("schema migrated") == 1,
          "%s: the restart migrates nothing more" % name)
    same(without_time(agg.get_json("/v1/totals")), without_time(t),
       "%s: the restart rebuilds the same totals" % name)
    eq([r[0] for r in sql(agg, "SELECT version FROM schema_version ORDER BY version")], versions,
       "%s: schema versions after the restart" % name)
    eq(agg.stop(), 0, "%s: clean stop after the restart" % name)
    agg.check_sanitizers()


def main():
    with harness.Workspace() as w:
        w.election_path = os.path.join(w.dir, "election.json")
        shutil.copy(os.path.join(FIXTURE, "election.json"), w.election_path)
        with open(w.election_path) as f:
            el = json.load(f)
        w.pki()

        def sqlite_store(agg):
            os.makedirs(agg.state_dir, 0o700)
            shutil.copy(os.path.join(FIXTURE, "tally.db"), agg.db())

        upgrade(w, el, "sqlite", "[store]\nbackend = sqlite\n", sqlite_store,
                lambda agg, q: agg.sql(q), [1, 2])

        if not pgserver.available():
            print("skip: PostgreSQL: no server binaries (Debian's postgresql package)")
        else:
            with pgserver.PgServer() as pg:
                dsn = pg.create_db("v2")
                subprocess.run([os.path.join(pg.bin, "psql"), "-X", "-q", "-v",
                                "ON_ERROR_STOP=1", "-d", dsn, "-f",
                                os.path.join(FIXTURE, "tally-pg.sql")],
                               check=True, stdout=subprocess.DEVNULL, timeout=60)
                upgrade(w, el, "postgresql", "[store]\nbackend = postgresql\ndsn = %s\n" % dsn,
                        lambda agg: None, lambda agg, q: pgserver.query(dsn, q), [1, 2, 3])
    if failures:
        print("%d failures" % len(failures))
        sys.exit(1)
    print("all ok")


if __name__ == "__main__":
    main()
