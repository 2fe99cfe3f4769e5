#!/usr/bin/python3
"""make.py: writes the stores of tests/data/store-v1 with the tally-aggregator
of a build of the version before results were kept per contest (schema
version 1 of the SQLite store, 2 of the PostgreSQL one), for
tests/integration/test_store_upgrade.py. Kept to show how the fixture was
made; the test never runs it.

    TALLY_BUILD_DIR=/path/to/old/build python3 tests/data/store-v1/make.py

It generates a small referendum (election.json), sends one region's results
through the real protocol (four accepted, a correction, a conflicting copy,
a rejection), stops the aggregator cleanly and keeps:
  tally.db            the SQLite store, vacuumed
  tally-pg.sql        the same results stored in PostgreSQL, as pg_dump
                      --no-owner --no-privileges writes them
  totals.json         /v1/totals as that aggregator published it (both stores)
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))
import harness  # noqa: E402
import pgserver  # noqa: E402
import tallyclient as tc  # noqa: E402


def send(agg, w, el):
    eid = el["election_id"]
    ra = el["regions"][0]
    da = w.region_dir(ra["id"])
    signer = tc.Signer(os.path.join(da, "sign.key"))
    c = tc.Client(agg.port, da)
    c.hello("node-a", ra["id"])
    ps = ra["precincts"]
    items = []
    for i, p in enumerate(ps[:4]):
        r = tc.make_result(eid, ra["id"], p["id"], 1, p["registered"], 100 + i, yes=60 + i)
        items.append(tc.signed(signer, r))
    # A correction of the first precinct, then a conflicting copy of it.
    p = ps[0]
    items.append(tc.signed(signer, tc.make_result(eid, ra["id"], p["id"], 2, p["registered"],
                                                  110, yes=70)))
    items.append(tc.signed(signer, tc.make_result(eid, ra["id"], p["id"], 2, p["registered"],
                                                  110, yes=71)))
    # A result that fails a control relation (cast > issued): rejected.
    bad = tc.make_result(eid, ra["id"], ps[4]["id"], 1, ps[4]["registered"], 90)
    bad.ballots_issued = 80
    items.append(tc.signed(signer, bad))
    got = []
    for seq, s in enumerate(items, 1):
        c.submit(seq, s)
        got.append(c.read_answers(1)[seq])
    c.close()
    want = [("ack", "OUTCOME_ACCEPTED")] * 5 + [("ack", "OUTCOME_CONFLICT")]
    if got[:6] != want or got[6][0] != "nack":
        raise SystemExit("unexpected answers: %r" % got)


def main():
    with harness.Workspace() as w:
        w.election_path = os.path.join(w.dir, "election.json")
        subprocess.run([harness.PY, os.path.join(harness.SOURCE, "deploy", "election.py"),
                        "generate", "--regions", "2", "--precincts", "12", "--seed", "5",
                        "--out", w.election_path], check=True)
        with open(w.election_path) as f:
            el = json.load(f)
        w.pki()
        agg = w.aggregator("sq", extra_conf="[store]\nbackend = sqlite\n")
        send(agg, w, el)
        totals = agg.get_json("/v1/totals")
        if agg.stop() != 0:
            raise SystemExit("unclean stop")
        with pgserver.PgServer() as pg:
            dsn = pg.create_db("tally")
            pa = w.aggregator("pg", extra_conf="[store]\nbackend = postgresql\ndsn = %s\n" % dsn)
            send(pa, w, el)
            if pa.get_json("/v1/totals")["national"] != totals["national"]:
                raise SystemExit("the two stores disagree")
            pa.stop()
            with open(os.path.join(HERE, "tally-pg.sql"), "w") as f:
                subprocess.run([os.path.join(pg.bin, "pg_dump"), "--no-owner",
                                "--no-privileges", "-d", dsn], stdout=f, check=True)
        shutil.copy(w.election_path, os.path.join(HERE, "election.json"))
        out = os.path.join(HERE, "tally.db")
        if os.path.exists(out):
            os.unlink(out)
        db = sqlite3.connect(agg.db())
        db.execute("VACUUM INTO ?", (out,))
        db.close()
        with open(os.path.join(HERE, "totals.json"), "w") as f:
            json.dump(totals, f, indent=1, sort_keys=True)
            f.write("\n")


if __name__ == "__main__":
    main()
