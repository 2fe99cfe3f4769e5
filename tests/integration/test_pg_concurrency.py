#!/usr/bin/python3
"""Two aggregator instances on one PostgreSQL database, raced (issue 10).

Round after round, the same precincts' copies are sent to both instances at
the same moment (two TLS sessions, released together by a barrier): the
same bytes twice, two different copies of one revision (a conflict), two
revisions at once, a correction racing a stale copy. Whatever the order the
database serialized them in, every answer must be what ONE aggregator would
have answered for that order: for each precinct the pair of outcomes must
equal the single-instance rules applied in one of the two orders, and the
state left behind must be that order's. At the end both instances publish
the same totals, equal to the model's exactly; the log holds exactly the
ACCEPTED and CONFLICT answers; `tallyctl verify` replays it from either."""
import hashlib
import os
import random
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pgserver  # noqa: E402
import tallyclient as tc  # noqa: E402

ROUNDS = int(os.environ.get("TALLY_RACE_ROUNDS", "40"))
PER_ROUND = 6
TALLYCTL = os.path.join(harness.BUILD, "daemon", "cli", "tallyctl")

ACC, DUP, STALE, CONF = ("OUTCOME_ACCEPTED", "OUTCOME_DUPLICATE", "OUTCOME_STALE",
                         "OUTCOME_CONFLICT")


class State:
    """What one aggregator holds for a precinct (reconcile.h)."""

    def __init__(self):
        self.revision = 0
        self.hash = None
        self.conflicts = set()
        self.figures = None  # (registered, cast, invalid, not_counted, yes, no)
        self.counted = None  # the counted submission (to resend it)

    def copy(self):
        s = State()
        s.revision, s.hash, s.figures = self.revision, self.hash, self.figures
        s.counted = self.counted
        s.conflicts = set(self.conflicts)
        return s

    def key(self):
        return (self.revision, self.hash, frozenset(self.conflicts), self.figures)

    def apply(self, sub):
        rev, h = sub["revision"], sub["hash"]
        if self.revision == 0 or rev > self.revision:
            self.revision, self.hash, self.figures = rev, h, sub["figures"]
            self.conflicts = set()
            self.counted = sub
            return ACC
        if rev < self.revision:
            return STALE
        if h == self.hash or h in self.conflicts:
            return DUP
        self.conflicts.add(h)
        return CONF


def play(state, order):
    s = state.copy()
    return [s.apply(sub) for sub in order], s


class Racer:
    def __init__(self, agg, region_dir, region, node):
        self.c = tc.Client(agg.port, region_dir)
        w = self.c.hello(node, region)
        assert w.WhichOneof("body") == "welcome", w
        self.seq = 0

    def send(self, subs):
        items = []
        for s in subs:
            self.seq += 1
            s["seq"] = self.seq
            items.append((self.seq, s["signed"]))
        self.c.submit_many(items)

    def answers(self, subs):
        got = self.c.read_answers(len(subs))
        out = []
        for s in subs:
            a = got[s["seq"]]
            if a[0] != "ack":
                raise AssertionError("seq %d precinct %d: %r" % (s["seq"], s["precinct"], a))
            out.append(a[1])
        return out


OUTCOME_NAMES = {1: ACC, 2: DUP, 3: STALE, 4: CONF}


def replay_store(pg, precincts, answered):
    """The database's own order of the submissions (ids are taken under the
    log lock, so they are the serialization order), replayed with one
    aggregator's rules, must give every stored outcome and every answer."""
    P = tc.pb()
    rows = pg.psql("race", "SELECT s.id, s.instance, s.seq, s.outcome, "
                           "encode(coalesce(s.signed, l.leaf), 'hex') FROM submissions s "
                           "LEFT JOIN log l USING (leaf_index) ORDER BY s.id")
    if len(rows) != len(answered):
        raise AssertionError("%d submissions stored, %d answered" % (len(rows), len(answered)))
    model = {p: State() for p in precincts}
    stored = {}
    for rid, inst, seq, outcome, hexbytes in rows:
        sr = P.SignedResult()
        sr.ParseFromString(bytes.fromhex(hexbytes))
        r = P.PrecinctResult()
        r.ParseFromString(sr.payload)
        want = model[r.precinct_id].apply({"revision": r.revision,
                                           "hash": hashlib.sha256(sr.payload).hexdigest(),
                                           "figures": None})
        got = OUTCOME_NAMES.get(int(outcome), outcome)
        if got != want:
            raise AssertionError("submission %s (%s seq %s, precinct %d revision %d) stored "
                                 "as %s; one aggregator taking them in the database's order "
                                 "says %s" % (rid, inst, seq, r.precinct_id, r.revision, got,
                                              want))
        stored[(inst, int(seq))] = got
    for inst, seq, outcome in answered:
        if stored.get((inst, seq)) != outcome:
            raise AssertionError("%s seq %d answered %s, stored %s" %
                                 (inst, seq, outcome, stored.get((inst, seq))))
    print("the %d stored submissions replay, in the database's order, to exactly the "
          "answers given" % len(rows), flush=True)


def main():
    if not pgserver.available():
        print("skip: no PostgreSQL server binaries")
        return 0
    seed = int(os.environ.get("TALLY_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print("seed %d (replay with TALLY_SEED=%d)" % (seed, seed), flush=True)
    with pgserver.PgServer() as pg, harness.Workspace(prefix="tally-race-") as w:
        e = w.election(regions=2, precincts=60, seed=seed % 1000 + 1)
        w.pki()
        dsn = pg.create_db("race")
        key = os.path.join(w.dir, "log.key")
        subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", key], check=True,
                       timeout=30)
        os.chmod(key, 0o600)
        conf = "[store]\nbackend = postgresql\ndsn = %s\n[log]\nkey = %s\n" % (dsn, key)
        a1 = w.aggregator("agg-1", extra_conf=conf, log_level="info")
        a2 = w.aggregator("agg-2", extra_conf=conf, log_level="info")
        region = e["regions"][0]
        rid = region["id"]
        rdir = w.region_dir(rid)
        signer = tc.Signer(os.path.join(rdir, "sign.key"))
        precincts = {p["id"]: p for p in region["precincts"]}
        model = {p: State() for p in precincts}
        r1 = Racer(a1, rdir, rid, "node-a")
        r2 = Racer(a2, rdir, rid, "node-b")
        stamp = [0]

        def sub(p, revision):
            reg = precincts[p]["registered"]
            cast = rng.randint(10, max(10, min(reg, 900)))
            invalid = rng.randint(0, cast // 20)
            nc = rng.randint(0, 2)
            yes = rng.randint(0, cast - invalid - nc)
            stamp[0] += 1
            res = tc.make_result(e["election_id"], rid, p, revision, reg, cast, invalid, nc, yes,
                                 recorded=stamp[0])
            s = tc.signed(signer, res)
            return {"precinct": p, "revision": revision, "signed": s,
                    "hash": hashlib.sha256(s.payload).hexdigest(),
                    "figures": (reg, cast, invalid, nc, yes, cast - invalid - nc - yes)}

        kinds = {"same": 0, "conflict": 0, "revisions": 0, "stale": 0, "conflict-copies": 0,
                 "resend": 0}
        logged = 0
        answered = []  # (instance, seq, outcome)
        orders_seen = {"agg-1 first": 0, "agg-2 first": 0}
        for rnd in range(ROUNDS):
            pairs = []
            # Every fourth round only resends of counted copies race
            # corrections, the resends all to one instance: its batch then
            # logs nothing, and only catching up under the lock can turn
            # its DUPLICATE into the STALE that one aggregator would say.
            only_resends = rnd % 4 == 3
            for p in rng.sample(sorted(precincts), PER_ROUND):
                st = model[p]
                kind = "resend" if only_resends else rng.choice(sorted(kinds))
                if kind == "resend" and not st.revision:
                    kind = "same"
                nxt = st.revision + 1
                if kind == "same":
                    a = sub(p, nxt)
                    b = dict(a)
                elif kind == "conflict":
                    a, b = sub(p, nxt), sub(p, nxt)
                elif kind == "revisions":
                    a, b = sub(p, nxt), sub(p, nxt + 1)
                elif kind == "stale":
                    # A correction against an old copy of the counted revision.
                    a, b = sub(p, nxt), sub(p, max(1, st.revision))
                elif kind == "resend":
                    # A correction, and the counted copy sent again.
                    a, b = sub(p, nxt), dict(st.counted)
                else:
                    # Two conflicting copies of the revision already counted.
                    rev = max(1, st.revision)
                    a, b = sub(p, rev), sub(p, rev)
                if (rng.random() < 0.5) if not only_resends else (rnd % 8 == 7):
                    a, b = b, a
                kinds[kind] += 1
                pairs.append((p, a, b))
            rng.shuffle(pairs)
            to1 = [a for _, a, _ in pairs]
            to2 = [dict(b) for _, _, b in pairs]
            gate = threading.Barrier(2)
            holder = None
            if only_resends:
                # Hold the log lock while both batches arrive, so both
                # instances wait on it at once: the second to get it can
                # only learn of the first one's leaves under the lock.
                holder = subprocess.Popen(
                    [os.path.join(pg.bin, "psql"), "-X", "-q", "-h", pg.dir, "-p",
                     str(pg.port), "-U", "tally", "-d", "race", "-c",
                     "BEGIN; SELECT next_leaf FROM log_head WHERE id = 1 FOR UPDATE; "
                     "SELECT pg_sleep(1); COMMIT;"], stdout=subprocess.DEVNULL)
                harness.wait_for("the test to hold the log lock", lambda: pg.psql(
                    "race", "SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                    "'%pg_sleep(1)%' AND state = 'active' AND pid <> pg_backend_pid()")[0][0]
                    == "1", 10)

            def go(r, subs):
                gate.wait(10)
                r.send(subs)
            t1 = threading.Thread(target=go, args=(r1, to1))
            t2 = threading.Thread(target=go, args=(r2, to2))
            t1.start()
            t2.start()
            t1.join(30)
            t2.join(30)
            out1 = r1.answers(to1)
            out2 = r2.answers(to2)
            if holder is not None and holder.wait(20) != 0:
                raise AssertionError("the lock holder failed")
            for sub_, o in list(zip(to1, out1)) + list(zip(to2, out2)):
                sub_["answer"] = o
            answered.extend(("agg-1", x["seq"], x["answer"]) for x in to1)
            answered.extend(("agg-2", x["seq"], x["answer"]) for x in to2)
            for (p, a, b), oa, ob in zip(pairs, out1, out2):
                first, st_ab = play(model[p], [a, b])
                second_rev, st_ba = play(model[p], [b, a])
                second = [second_rev[1], second_rev[0]]  # as (a, b)
                seen = [oa, ob]
                if seen == first and (seen != second or st_ab.key() == st_ba.key()):
                    model[p] = st_ab
                    orders_seen["agg-1 first"] += 1
                elif seen == second and seen != first:
                    model[p] = st_ba
                    orders_seen["agg-2 first"] += 1
                elif seen == first == second:
                    raise AssertionError("precinct %d: both orders give %r but different "
                                         "states; cannot tell which happened" % (p, seen))
                else:
                    raise AssertionError(
                        "round %d precinct %d: answers %r match no serial order (agg-1 "
                        "first: %r, agg-2 first: %r; held revision %d)" %
                        (rnd, p, seen, first, second, model[p].revision))
                logged += sum(1 for o in seen if o in (ACC, CONF))
        print("%d rounds, %d races %r; %r" % (ROUNDS, ROUNDS * PER_ROUND, kinds, orders_seen),
              flush=True)

        # Both instances: the model's totals exactly, the same tree head.
        want = {"precincts_reported": 0, "ballots_cast": 0, "ballots_invalid": 0,
                "ballots_not_counted": 0, "voters_registered": 0, "yes": 0, "no": 0,
                "conflicts": 0}
        for st in model.values():
            if st.revision:
                reg, cast, inv, nc, yes, no = st.figures
                want["precincts_reported"] += 1
                want["voters_registered"] += reg
                want["ballots_cast"] += cast
                want["ballots_invalid"] += inv
                want["ballots_not_counted"] += nc
                want["yes"] += yes
                want["no"] += no
                want["conflicts"] += 1 if st.conflicts else 0

        def figures(agg):
            t = agg.get_json("/v1/totals")
            n = t["national"]
            got = {k: n[k] for k in want if k not in ("yes", "no")}
            got["yes"], got["no"] = n["votes"]["yes"], n["votes"]["no"]
            return t["sequence"], got

        def settled():
            s1, s2 = a1.get_json("/v1/log/sth"), a2.get_json("/v1/log/sth")
            return (s1["tree_size"] == s2["tree_size"] == logged and
                    s1["root_hash"] == s2["root_hash"])
        harness.wait_for("both instances' tree heads at size %d" % logged, settled, 15)
        for agg in (a1, a2):
            seq, got = figures(agg)
            if seq != logged or got != want:
                raise AssertionError("%s: sequence %d figures %r; want %d %r" %
                                     (agg.name, seq, got, logged, want))
            for p, st in model.items():
                doc = agg.get_json("/v1/precincts/%d" % p)
                if doc["revision"] != st.revision or doc["conflict"] != bool(st.conflicts) or \
                        (st.revision and doc["result"]["payload_sha256"] != st.hash):
                    raise AssertionError("%s precinct %d: %r, want revision %d hash %s "
                                         "conflicts %d" % (agg.name, p, {
                                             k: doc[k] for k in ("revision", "conflict")},
                                             st.revision, st.hash, len(st.conflicts)))
        t1, t2 = a1.get_json("/v1/totals"), a2.get_json("/v1/totals")
        t1.pop("as_of")
        t2.pop("as_of")
        if t1 != t2:
            raise AssertionError("the instances publish different totals")
        n_sub = int(pg.psql("race", "SELECT count(*) FROM submissions")[0][0])
        if n_sub != 2 * ROUNDS * PER_ROUND:
            raise AssertionError("%d submissions stored, want %d" % (n_sub,
                                                                     2 * ROUNDS * PER_ROUND))
        replay_store(pg, precincts, answered)
        pub = os.path.join(w.dir, "log.pub.pem")
        subprocess.run(["openssl", "pkey", "-in", key, "-pubout", "-out", pub], check=True,
                       timeout=30)
        for agg in (a1, a2):
            r = subprocess.run([TALLYCTL, "verify", "--election", w.election_path,
                                "--trusted-keys", os.path.join(w.pki_dir, "aggregator",
                                                               "trusted"),
                                "--log-key", pub, "--url", "http://127.0.0.1:%d" % agg.http_port,
                                "--state", os.path.join(w.dir, "verify-%s.json" % agg.name)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=120)
            if r.returncode != 0:
                raise AssertionError("tallyctl verify against %s: %d\n%s" %
                                     (agg.name, r.returncode, r.stdout[-3000:]))
        r1.c.close()
        r2.c.close()
        for agg in (a1, a2):
            rc = agg.stop()
            if rc != 0:
                raise AssertionError("%s exited %s after SIGTERM" % (agg.name, rc))
            agg.check_sanitizers()
        print("ok: %d logged results, the same on both instances, verify passes" % logged)
    return 0


if __name__ == "__main__":
    t0 = time.monotonic()
    try:
        rc = main()
    except AssertionError as ex:
        print("FAIL: %s" % ex)
        rc = 1
    print("%.1f s" % (time.monotonic() - t0))
    sys.exit(rc)
