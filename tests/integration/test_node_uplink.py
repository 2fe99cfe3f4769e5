#!/usr/bin/python3
"""tally-node's uplink against a scripted fake aggregator (node_harness.py):
what goes on the wire (Hello, signed Submits whose payload is the file's
rows), what the node records from Acks and Nacks, resending after a broken
connection, refusing an aggregator of another election, and failover down
the aggregators list and back to the first."""
import hashlib
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from node_harness import FakeAggregator, Failure, run_tests, tallyctl, wait_until  # noqa: E402
import scenario  # noqa: E402


def setup(c, precincts=12, ports=None, **fake_kw):
    c.make_election(regions=2, precincts=precincts)
    region = c.regions()[0]
    fake = FakeAggregator(c.pki, c.election["election_id"], **fake_kw)
    c.proxies.append(fake)  # closed with the cluster
    node = c.add_node(region, ports or [fake.port])
    return region, fake, node


def results(c, region, name="results", per_file=5, corrections=0):
    files, _ = c.make_results(fmt="csv", per_file=per_file, regions=[region], name=name,
                              corrections=corrections)
    rows = []
    for f in files[region]:
        rows += scenario.read_protocols(f)
    return files[region], rows


def outbox_by_state(node):
    states = {0: 0, 1: 0, 2: 0}
    for e in node.outbox():
        states[e["state"]] += 1
    return states


def public_key(c, region):
    from cryptography.hazmat.primitives import serialization
    with open(os.path.join(c.pki, "regions", region, "sign.pub.pem"), "rb") as f:
        return serialization.load_pem_public_key(f.read())


def test_sends_signed_protocols_and_records_acks(c):
    region, fake, node = setup(c)
    node.start()
    files, rows = results(c, region)
    for f in files:
        node.drop(f)
    n = len(rows)
    wait_until(lambda: outbox_by_state(node)[1] == n, 30, "%d entries delivered" % n)

    hellos = fake.hellos
    if len(hellos) != 1:
        raise Failure("want 1 Hello, got %d" % len(hellos))
    cn, hello = hellos[0]
    if (cn, hello.region_id, hello.node_id, hello.protocol_version) != \
            (region, region, node.name, 1):
        raise Failure("Hello: cn %s region %s node %s version %d" %
                      (cn, hello.region_id, hello.node_id, hello.protocol_version))

    pub = public_key(c, region)
    from cryptography.hazmat.primitives import serialization
    key_id = hashlib.sha256(pub.public_bytes(serialization.Encoding.Raw,
                                             serialization.PublicFormat.Raw)).hexdigest()
    by_precinct = {r["precinct_id"]: r for r in rows}
    sent = fake.submitted()
    if len(sent) != n:
        raise Failure("want %d Submits, got %d" % (n, len(sent)))
    ids = {e["precinct_id"]: e["id"] for e in node.outbox()}
    for conn, seq, signed, r in sent:
        pub.verify(signed.signature, signed.payload)  # raises if forged
        if signed.key_id != key_id:
            raise Failure("key_id %s, want %s" % (signed.key_id, key_id))
        want = by_precinct[r.precinct_id]
        got = {k: getattr(r, k) for k in scenario.FIGURES}
        got["precinct_id"], got["revision"] = r.precinct_id, r.revision
        got["votes"] = {v.option_id: v.count for v in r.votes}
        if got != want:
            raise Failure("precinct %d: sent %s, file says %s" % (r.precinct_id, got, want))
        if (r.election_id, r.region_id) != (c.election["election_id"], region):
            raise Failure("payload names %s/%s" % (r.election_id, r.region_id))
        if seq != ids[r.precinct_id]:
            raise Failure("precinct %d sent as seq %d, outbox id %d" %
                          (r.precinct_id, seq, ids[r.precinct_id]))

    st = node.status()
    conn = st["connection"]
    if (conn["state"], conn["aggregator"], conn["aggregator_id"]) != \
            ("connected", "127.0.0.1:%d" % fake.port, "fake-1"):
        raise Failure("status connection: %s" % conn)
    if (st["outbox"]["queued"], st["sent"], st["acknowledged"]["total"],
            st["acknowledged"]["accepted"], st["rejected_by_aggregator"]) != (0, n, n, n, 0):
        raise Failure("status figures: %s" % st)
    accepted = sorted(os.listdir(os.path.join(node.spool, "accepted")))
    if accepted != sorted(os.path.basename(f) for f in files):
        raise Failure("accepted/ holds %s" % accepted)
    since = node.started_at
    wait_until(lambda: "outbox 0, connected to 127.0.0.1:%d" % fake.port in
               node.notify.statuses(since), 10, "STATUS=outbox 0, connected to ...")
    node.stop()  # SIGTERM: exit 0
    if node.notify.count("STOPPING", "1") != 1:
        raise Failure("no STOPPING=1")


def test_nack_is_recorded_and_never_resent(c):
    refused = {}

    def answer(seq, r):
        if r.precinct_id == refused.get("p"):
            return ("nack", 7, "test says no")
        return ("ack", 1)

    region, fake, node = setup(c, answer=answer)
    files, rows = results(c, region)
    refused["p"] = rows[1]["precinct_id"]
    node.start()
    node.drop(files[0])
    n = len(scenario.read_protocols(files[0]))
    wait_until(lambda: outbox_by_state(node)[0] == 0 and len(node.outbox()) == n, 30,
               "the first file answered")
    bad = [e for e in node.outbox() if e["state"] == 2]
    if len(bad) != 1 or (bad[0]["precinct_id"], bad[0]["code"], bad[0]["reason"]) != \
            (refused["p"], 7, "test says no"):
        raise Failure("rejected entries: %s" % bad)
    st = node.status()
    rej = st["rejections"]
    if st["rejected_by_aggregator"] != 1 or rej[0]["precinct_id"] != refused["p"] or \
            rej[0]["code"] != "FAILED_CONTROL" or rej[0]["reason"] != "test says no":
        raise Failure("status after a Nack: %s" % st)
    if "rejected by the aggregator: FAILED_CONTROL: \"test says no\"" not in node.logs():
        raise Failure("the Nack is not in the log:\n" + node.tail())

    # A new connection sends only what is new: never the rejected entry again.
    fake.drop_connections()
    wait_until(lambda: fake.connections == 2 and node.status()["connection"]["state"] ==
               "connected", 20, "the node to reconnect")
    node.drop(files[1])
    m = len(scenario.read_protocols(files[1]))
    wait_until(lambda: outbox_by_state(node)[1] == n - 1 + m, 30, "the second file delivered")
    second = [r.precinct_id for conn, seq, s, r in fake.submitted() if conn == 2]
    if refused["p"] in second or len(second) != m:
        raise Failure("sent on the second connection: %s" % second)


def test_unanswered_submits_are_resent_after_a_broken_connection(c):
    mode = {"answer": False}

    def answer(seq, r):
        return ("ack", 1) if mode["answer"] else None

    region, fake, node = setup(c, answer=answer)
    files, rows = results(c, region, per_file=100)
    node.start()
    node.drop(files[0])
    n = len(rows)
    wait_until(lambda: len(fake.submitted()) == n, 20, "%d Submits" % n)
    time.sleep(0.3)
    if outbox_by_state(node)[0] != n:
        raise Failure("entries left the queue without an answer: %s" % outbox_by_state(node))
    mode["answer"] = True
    fake.drop_connections()
    wait_until(lambda: outbox_by_state(node)[1] == n, 30, "all delivered after reconnecting")
    first = sorted(seq for conn, seq, s, r in fake.submitted() if conn == 1)
    second = sorted(seq for conn, seq, s, r in fake.submitted() if conn == 2)
    if first != second:
        raise Failure("resent %s, first sent %s" % (second, first))
    # The same signed bytes both times: the aggregator sees duplicates, not conflicts.
    payloads = {}
    for conn, seq, s, r in fake.submitted():
        payloads.setdefault(seq, set()).add(s.SerializeToString())
    if any(len(v) != 1 for v in payloads.values()):
        raise Failure("a resent entry changed its bytes")
    if "connection closed by the aggregator" not in node.logs() and \
            "Connection reset" not in node.logs():
        raise Failure("the broken connection is not in the log:\n" + node.tail())


def test_an_aggregator_of_another_election_gets_nothing(c):
    region, fake, node = setup(c)
    fake.election_id = "some-other-election"
    node.start()
    files, rows = results(c, region, per_file=100)
    node.drop(files[0])
    wait_until(lambda: "counts election 'some-other-election', not ours" in node.logs(), 20,
               "the wrong election in the log")
    wait_until(lambda: fake.connections >= 2, 20, "a retry")
    if fake.submitted():
        raise Failure("sent %d Submits to the wrong election" % len(fake.submitted()))
    st = node.status()
    if st["connection"]["state"] == "connected" or st["outbox"]["queued"] != len(rows):
        raise Failure("status: %s" % st)
    if not any("wrong election 'some-other-election'" in p["text"] for p in st["problems"]):
        raise Failure("problems: %s" % st["problems"])


def test_failover_down_the_list_and_back_to_the_first(c):
    dead = scenario.free_port()  # nothing listens there yet
    c.make_election(regions=2, precincts=12)
    region = c.regions()[0]
    second = FakeAggregator(c.pki, c.election["election_id"], aggregator_id="second")
    c.proxies.append(second)
    node = c.add_node(region, [dead, second.port])
    node.start()
    files, rows = results(c, region, per_file=3)
    node.drop(files[0])
    n1 = len(scenario.read_protocols(files[0]))
    wait_until(lambda: outbox_by_state(node)[1] == n1, 30, "delivered via the second address")
    st = node.status()
    if st["connection"]["aggregator"] != "127.0.0.1:%d" % second.port or \
            st["connection"]["aggregator_id"] != "second":
        raise Failure("status: %s" % st["connection"])
    if "127.0.0.1:%d: connect: connection refused; trying 127.0.0.1:%d" % (
            dead, second.port) not in node.logs():
        raise Failure("failover not in the log:\n" + node.tail())

    # The first comes up; the second breaks: the node goes back to the first.
    first = FakeAggregator(c.pki, c.election["election_id"], aggregator_id="first", port=dead)
    c.proxies.append(first)
    second.close()
    wait_until(lambda: node.status()["connection"].get("aggregator_id") == "first", 30,
               "the node back on the first address")
    node.drop(files[1])
    n2 = len(scenario.read_protocols(files[1]))
    wait_until(lambda: outbox_by_state(node)[1] == n1 + n2, 30, "delivered via the first")
    if len(first.submitted()) != n2:
        raise Failure("first got %d Submits, want %d" % (len(first.submitted()), n2))


def test_dead_aggregators_back_off_and_status_says_so(c):
    dead1, dead2 = scenario.free_port(), scenario.free_port()
    c.make_election(regions=2, precincts=12)
    node = c.add_node(c.regions()[0], [dead1, dead2])
    node.start()
    wait_until(lambda: node.status()["connection"]["state"] == "disconnected", 10,
               "disconnected")
    st = node.status()
    if st["connection"]["retry_in_s"] < 1 or st["connection"]["aggregator"] != \
            "127.0.0.1:%d" % dead1:
        raise Failure("status while backing off: %s" % st["connection"])
    wait_until(lambda: any(s.startswith("outbox 0, disconnected (retrying in ")
                           for s in node.notify.statuses()), 10, "STATUS disconnected")
    rc, out, err = tallyctl("status", "--socket", node.control)
    if rc != 0 or "connection:    disconnected; trying 127.0.0.1:%d in" % dead1 not in out:
        raise Failure("tallyctl status (%d):\n%s%s" % (rc, out, err))
    # Attempts spread out: within 4 s at most a handful, not a busy loop.
    time.sleep(4)
    attempts = node.logs().count("connection refused")
    if attempts > 12:
        raise Failure("%d connection attempts in about 5 s: no backoff" % attempts)
    node.stop()


def key_id_of(c, region):
    from cryptography.hazmat.primitives import serialization
    raw = public_key(c, region).public_bytes(serialization.Encoding.Raw,
                                             serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def test_sighup_reloads_the_signing_key(c):
    region, fake, node = setup(c)
    node.start()
    files, rows = results(c, region, per_file=3)
    old_id = key_id_of(c, region)
    node.drop(files[0])
    wait_until(lambda: len(fake.submitted()) == 3, 20, "the first file sent")
    scenario.sh(["bash", os.path.join(scenario.SOURCE, "deploy", "pki.sh"), "rotate-key",
                 "--out", c.pki, "--region", region])
    new_id = key_id_of(c, region)
    if new_id == old_id:
        raise Failure("rotate-key kept the key")
    mark = time.monotonic()
    node.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: node.notify.count("RELOADING", "1", mark) == 1 and
               node.notify.count("READY", "1", mark) == 1, 10, "RELOADING=1 then READY=1")
    if "reload: now signing with key %s (was %s)" % (new_id, old_id) not in node.logs():
        raise Failure("no key change in the log:\n" + node.tail())
    node.drop(files[1])
    wait_until(lambda: len(fake.submitted()) == 6, 20, "the second file sent")
    pub = public_key(c, region)
    for conn, seq, signed, r in fake.submitted():
        want = old_id if seq <= 3 else new_id
        if signed.key_id != want:
            raise Failure("entry %d signed by %s, want %s" % (seq, signed.key_id, want))
        if seq > 3:
            pub.verify(signed.signature, signed.payload)
    node.stop()


def test_check_config(c):
    c.make_election(regions=2, precincts=12)
    region = c.regions()[0]
    node = c.add_node(region, [scenario.free_port()])
    r = subprocess.run([scenario.NODE_BIN, "--config", node.config, "--check-config"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    if r.returncode != 0 or "configuration OK: %s" % node.config not in r.stdout or \
            "signing key id %s" % key_id_of(c, region) not in r.stdout:
        raise Failure("--check-config (%d):\n%s%s" % (r.returncode, r.stdout, r.stderr))
    if os.path.exists(node.state_dir) or os.path.exists(node.control):
        raise Failure("--check-config created the outbox or the socket")

    with open(node.config) as f:
        text = f.read()
    for old, new, want in (
            ("region = %s" % region, "region = XX-99",
             "region = 'XX-99' is not a region of election"),
            ("sign.key", "missing.key", "missing.key"),
            ("[tls]", "[tls]\nbogus = 1", "bogus")):
        with open(node.config, "w") as f:
            f.write(text.replace(old, new, 1))
        r = subprocess.run([scenario.NODE_BIN, "--config", node.config, "--check-config"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=30)
        if r.returncode != 1 or want not in r.stderr or not r.stderr.startswith("<3>"):
            raise Failure("%s -> %s: exit %d, stderr:\n%s" % (old, new, r.returncode, r.stderr))


TESTS = [
    test_sends_signed_protocols_and_records_acks,
    test_nack_is_recorded_and_never_resent,
    test_unanswered_submits_are_resent_after_a_broken_connection,
    test_an_aggregator_of_another_election_gets_nothing,
    test_failover_down_the_list_and_back_to_the_first,
    test_dead_aggregators_back_off_and_status_says_so,
    test_sighup_reloads_the_signing_key,
    test_check_config,
]

if __name__ == "__main__":
    only = sys.argv[1:]
    sys.exit(run_tests([t for t in TESTS if not only or t.__name__ in only], "test_node_uplink",
                       aggregator=False))
