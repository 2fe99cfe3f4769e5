#!/usr/bin/python3
"""tally-node in a general election (several contests on one day) against a
scripted fake aggregator (node_harness.py): one JSON file holding protocols
of several contests, and a CSV file with a contest_id column over the union
of the contests' options, arrive as one signed Submit per (precinct,
contest), each payload naming its contest and carrying its contest's
options in ballot order; `tallyctl submit` names the contest of each
protocol; a protocol for a contest its precinct does not vote in sets the
whole file aside and sends nothing."""
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from node_harness import FakeAggregator, Failure, run_tests, tallyctl, wait_until  # noqa: E402
import scenario  # noqa: E402

ELECTION = {
    "election_id": "kz-2027-test", "title": "General election",
    "regions": [
        {"id": "KZ-71", "name": "Astana", "precincts": [[1, 1500], [2, 900], [3, 700]]},
        {"id": "KZ-11", "name": "Akmola", "precincts": [[101, 800]]}],
    "districts": [{"id": "OTK-07", "precincts": [2, 3, 101]}],
    "parties": [{"id": "amanat", "name": "AMANAT"}, {"id": "ak-zhol", "name": "Ak Zhol"}],
    "contests": [
        {"id": "party-list", "kind": "party_list", "seats": 69,
         "options": [{"id": "amanat", "party": "amanat"}, {"id": "ak-zhol", "party": "ak-zhol"},
                     {"id": "against-all", "against_all": True}],
         "rules": {"threshold_pct": 5, "method": "hare"}},
        {"id": "otk-07", "kind": "candidate", "scope": {"district": "OTK-07"},
         "options": [{"id": "c-1"}, {"id": "c-2"}, {"id": "against-all", "against_all": True}]},
        {"id": "referendum", "kind": "referendum",
         "options": [{"id": "yes"}, {"id": "no"}]}]}

OPTIONS = {c["id"]: [o["id"] for o in c["options"]] for c in ELECTION["contests"]}
FIXED = ("precinct_id", "revision", "voters_registered", "ballots_received", "ballots_issued",
         "ballots_cancelled", "ballots_cast", "ballots_invalid")


def setup(c):
    c.election_path = os.path.join(c.tmp, "election.json")
    with open(c.election_path, "w") as f:
        json.dump(ELECTION, f, indent=1)
    c.election = ELECTION
    c.pki = os.path.join(c.tmp, "pki")
    scenario.make_pki(c.election_path, c.regions(), c.pki)
    fake = FakeAggregator(c.pki, ELECTION["election_id"])
    c.proxies.append(fake)  # closed with the cluster
    node = c.add_node("KZ-71", [fake.port])
    node.start()
    return fake, node


def protocol(precinct, contest, registered, shift):
    """A protocol of `contest` at `precinct` that adds up; `shift` varies the
    figures, so each contest's ballot paper has its own."""
    issued = registered // 2 + shift
    cancelled = 10 + shift
    cast = issued - 4
    invalid = 3 + shift % 5
    opts = OPTIONS[contest]
    left = cast - invalid
    votes = {}
    for i, o in enumerate(opts):
        votes[o] = left if i == len(opts) - 1 else left // (i + 2)
        left -= votes[o]
    return {"precinct_id": precinct, "contest_id": contest, "revision": 1,
            "voters_registered": registered, "ballots_received": issued + cancelled,
            "ballots_issued": issued, "ballots_cancelled": cancelled, "ballots_cast": cast,
            "ballots_invalid": invalid, "ballots_not_counted": 0, "votes": votes}


def write(c, name, text):
    path = os.path.join(c.tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def as_json(protocols):
    """One protocol object per line, from line 2 on."""
    body = ",\n".join(json.dumps(dict(p, votes=dict(reversed(list(p["votes"].items())))))
                      for p in protocols)
    return "[\n" + body + "\n]\n"


def as_csv(protocols, columns):
    lines = [",".join(FIXED + ("contest_id",) + tuple(columns))]
    for p in protocols:
        cells = [str(p[k]) for k in FIXED] + [p["contest_id"]]
        cells += [str(p["votes"][o]) if o in p["votes"] else "" for o in columns]
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def public_key(c, region):
    from cryptography.hazmat.primitives import serialization
    with open(os.path.join(c.pki, "regions", region, "sign.pub.pem"), "rb") as f:
        pub = serialization.load_pem_public_key(f.read())
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return pub, hashlib.sha256(raw).hexdigest()


def test_protocols_of_each_contest_arrive_signed(c):
    fake, node = setup(c)
    in_json = [protocol(1, "party-list", 1500, 0), protocol(1, "referendum", 1500, 7),
               protocol(2, "otk-07", 900, 3)]
    in_csv = [protocol(2, "party-list", 900, 1), protocol(2, "referendum", 900, 2),
              protocol(3, "otk-07", 700, 5), protocol(3, "party-list", 700, 4)]
    path = write(c, "p1.json", as_json(in_json))
    rc, out, err = tallyctl("submit", "--socket", node.control, path)
    want = ("p1.json: queued 3 protocols\n"
            "  line 2: precinct 1 contest party-list revision 1: queued (entry 1)\n"
            "  line 3: precinct 1 contest referendum revision 1: queued (entry 2)\n"
            "  line 4: precinct 2 contest otk-07 revision 1: queued (entry 3)\n")
    if (rc, out) != (0, want):
        raise Failure("tallyctl submit: exit %d, stdout:\n%s\nstderr:\n%s" % (rc, out, err))
    # The options of every contest in the file, in an order of the file's own.
    columns = ["yes", "no", "c-2", "c-1", "against-all", "ak-zhol", "amanat"]
    node.drop(write(c, "p23.csv", as_csv(in_csv, columns)))
    n = len(in_json) + len(in_csv)
    wait_until(lambda: sum(e["state"] == 1 for e in node.outbox()) == n, 30,
               "%d entries delivered" % n)

    pub, key_id = public_key(c, "KZ-71")
    expect = {(p["precinct_id"], p["contest_id"]): p for p in in_json + in_csv}
    sent = fake.submitted()
    if len(sent) != n:
        raise Failure("want %d Submits, got %d" % (n, len(sent)))
    ids = {}
    for e in node.outbox():
        ids.setdefault(e["precinct_id"], []).append(e["id"])
    seen = set()
    for conn, seq, signed, r in sent:
        pub.verify(signed.signature, signed.payload)  # raises if forged
        if signed.key_id != key_id:
            raise Failure("key_id %s, want %s" % (signed.key_id, key_id))
        key = (r.precinct_id, r.contest_id)
        if key not in expect or key in seen:
            raise Failure("unexpected Submit for precinct %d contest %r" % key)
        seen.add(key)
        want = expect[key]
        got = {k: getattr(r, k) for k in FIXED + ("ballots_not_counted", "contest_id")}
        got["votes"] = {v.option_id: v.count for v in r.votes}
        if got != want:
            raise Failure("precinct %d contest %s: sent %s, file says %s" %
                          (key + (got, want)))
        order = [v.option_id for v in r.votes]
        if order != OPTIONS[r.contest_id]:
            raise Failure("precinct %d contest %s: votes in order %s, ballot order %s" %
                          (key + (order, OPTIONS[r.contest_id])))
        if (r.election_id, r.region_id) != (ELECTION["election_id"], "KZ-71"):
            raise Failure("payload names %s/%s" % (r.election_id, r.region_id))
        if seq not in ids[r.precinct_id]:
            raise Failure("precinct %d sent as seq %d, its entries are %s" %
                          (r.precinct_id, seq, ids[r.precinct_id]))
    accepted = sorted(os.listdir(os.path.join(node.spool, "accepted")))
    if accepted != ["p23.csv"]:
        raise Failure("accepted/ holds %s" % accepted)

    # The same file again queues nothing and still names each contest.
    rc, out, err = tallyctl("submit", "--socket", node.control, path)
    want = ("p1.json: the same file was queued before; not queued again (3 protocols)\n"
            "  line 2: precinct 1 contest party-list revision 1: delivered, accepted (entry 1)\n"
            "  line 3: precinct 1 contest referendum revision 1: delivered, accepted (entry 2)\n"
            "  line 4: precinct 2 contest otk-07 revision 1: delivered, accepted (entry 3)\n")
    if (rc, out) != (0, want):
        raise Failure("tallyctl submit again: exit %d, stdout:\n%s\nstderr:\n%s" %
                      (rc, out, err))
    if len(node.outbox()) != n or len(fake.submitted()) != n:
        raise Failure("the same file queued again: %d entries, %d Submits" %
                      (len(node.outbox()), len(fake.submitted())))


def test_a_precinct_outside_its_contest_sets_the_file_aside(c):
    fake, node = setup(c)
    rows = [protocol(2, "otk-07", 900, 0), protocol(1, "otk-07", 1500, 0),
            protocol(1, "party-list", 1500, 0)]
    node.drop(write(c, "bad.csv", as_csv(rows, ["c-1", "c-2", "against-all", "amanat",
                                                "ak-zhol"])))
    error = os.path.join(node.spool, "rejected", "bad.csv.error")
    wait_until(lambda: os.path.exists(error), 20, "bad.csv set aside")
    with open(error) as f:
        text = f.read()
    want = ("line 3: precinct 1 contest otk-07: precinct in contest: precinct 1 does not vote "
            "in contest \"otk-07\"\n")
    if text != want:
        raise Failure("bad.csv.error:\n%s\nwant:\n%s" % (text, want))
    # The good file after it goes through: the node sent nothing of the bad one.
    node.drop(write(c, "good.csv", as_csv(rows[:1], ["c-1", "c-2", "against-all"])))
    wait_until(lambda: len(fake.submitted()) == 1, 20, "good.csv sent")
    r = fake.submitted()[0][3]
    if (r.precinct_id, r.contest_id) != (2, "otk-07") or len(node.outbox()) != 1:
        raise Failure("sent precinct %d contest %r; outbox %s" %
                      (r.precinct_id, r.contest_id, node.outbox()))


TESTS = [
    test_protocols_of_each_contest_arrive_signed,
    test_a_precinct_outside_its_contest_sets_the_file_aside,
]

if __name__ == "__main__":
    only = sys.argv[1:]
    sys.exit(run_tests([t for t in TESTS if not only or t.__name__ in only],
                       "test_node_contests", aggregator=False))
