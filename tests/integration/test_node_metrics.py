#!/usr/bin/python3
"""tally-node's /metrics on metrics_listen, against a scripted fake
aggregator (node_harness.py): the outbox by state and the age of its oldest
undelivered entry, spool files accepted and rejected, the uplink's state
toward each configured aggregator with connections, failures and the last
answer, the signing key id, the certificate's expiry and the process
metrics, each with its exact value; the exposition passes `promtool check
metrics`; a reconnect is counted and drains what was left in flight."""
import hashlib
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from node_harness import FakeAggregator, Failure, run_tests, wait_until  # noqa: E402
import scenario  # noqa: E402

PROMTOOL = "/usr/bin/promtool"


def scrape(port, path="/metrics", method="GET"):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def parse(body):
    """{(name, sorted labels): value} and {family: type}."""
    from prometheus_client.parser import text_string_to_metric_families
    samples, types = {}, {}
    for fam in text_string_to_metric_families(body.decode("utf-8")):
        types[fam.name] = fam.type
        for s in fam.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, types


def get(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def eq(got, want, what):
    if got != want:
        raise Failure("%s: got %r, want %r" % (what, got, want))


def key_id(c, region):
    from cryptography.hazmat.primitives import serialization
    with open(os.path.join(c.pki, "regions", region, "sign.pub.pem"), "rb") as f:
        pub = serialization.load_pem_public_key(f.read())
    return hashlib.sha256(pub.public_bytes(serialization.Encoding.Raw,
                                           serialization.PublicFormat.Raw)).hexdigest()


def not_after(pem_path):
    from cryptography import x509
    with open(pem_path, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    return cert.not_valid_after.replace(tzinfo=__import__("datetime").timezone.utc).timestamp()


def outbox_by_state(node):
    states = {0: 0, 1: 0, 2: 0}
    for e in node.outbox():
        states[e["state"]] += 1
    return states


def test_node_metrics_follow_outbox_spool_and_uplink(c):
    c.make_election(regions=2, precincts=20)
    region = c.regions()[0]
    files, _ = c.make_results(fmt="csv", per_file=5, regions=[region])
    rows = []
    for f in files[region][:2]:
        rows += scenario.read_protocols(f)
    n = len(rows)
    if n < 5:
        raise Failure("want at least 5 protocols, the generator made %d" % n)
    nacked, silent = rows[1]["precinct_id"], rows[3]["precinct_id"]

    def answer(seq, r):
        if r.precinct_id == nacked:
            return ("nack", 7, "ballots do not add up")
        if r.precinct_id == silent:
            return None  # stays in flight
        return ("ack", 1)
    fake = FakeAggregator(c.pki, c.election["election_id"], answer=answer)
    c.proxies.append(fake)
    dead = scenario.free_port()  # nothing listens: refused, then failover
    mport = scenario.free_port()
    node = c.add_node(region, [dead, fake.port],
                      extra={"node": {"metrics_listen": "127.0.0.1:%d" % mport}})
    node.start()
    dead_ep, fake_ep = "127.0.0.1:%d" % dead, "127.0.0.1:%d" % fake.port

    t_drop = time.time()
    for f in files[region][:2]:
        node.drop(f)
    bad = os.path.join(c.tmp, "bad.csv")
    with open(bad, "w") as f:
        f.write("precinct_id,revision\n1,x\n")
    node.drop(bad)
    wait_until(lambda: outbox_by_state(node) == {0: 1, 1: n - 2, 2: 1}, 30,
               "%d delivered, 1 rejected, 1 in flight" % (n - 2))
    wait_until(lambda: len(os.listdir(os.path.join(node.spool, "rejected"))) == 2, 10,
               "bad.csv and its .error in rejected/")
    t_queued = time.time()
    time.sleep(1.2)

    t0 = time.time()
    st, hdr, body = scrape(mport)
    t1 = time.time()
    eq(st, 200, "GET /metrics")
    eq(hdr.get("content-type"), "text/plain; version=0.0.4; charset=utf-8", "content type")
    smp, types = parse(body)
    ent = "tally_node_outbox_entries"
    eq([get(smp, ent, state=s) for s in ("queued", "in_flight", "delivered", "rejected")],
       [0.0, 1.0, n - 2.0, 1.0], "outbox entries by state")
    eq(types[ent], "gauge", "outbox entries type")
    age = get(smp, "tally_node_outbox_oldest_undelivered_age_seconds")
    # Queued between t_drop and t_queued, scraped between t0 and t1.
    if not (t0 - t_queued - 0.01 <= age <= t1 - t_drop + 0.01):
        raise Failure("oldest undelivered age %.3f s, want within [%.3f, %.3f]" %
                      (age, t0 - t_queued, t1 - t_drop))
    eq(get(smp, "tally_node_spool_files_total", result="accepted"), 2.0, "spool accepted")
    eq(get(smp, "tally_node_spool_files_total", result="rejected"), 1.0, "spool rejected")
    eq(types["tally_node_spool_files"], "counter", "spool files type")
    eq(get(smp, "tally_node_submits_sent_total"), float(n), "submits sent")
    eq(get(smp, "tally_node_acks_total", outcome="accepted"), n - 2.0, "acks accepted")
    eq(get(smp, "tally_node_acks_total", outcome="conflict"), 0.0, "acks conflict")
    eq(get(smp, "tally_node_nacks_total"), 1.0, "nacks")
    states = ("connected", "connecting", "backoff", "idle")
    eq([get(smp, "tally_node_uplink_state", aggregator=fake_ep, state=s) for s in states],
       [1.0, 0.0, 0.0, 0.0], "state toward the fake aggregator")
    eq([get(smp, "tally_node_uplink_state", aggregator=dead_ep, state=s) for s in states],
       [0.0, 0.0, 0.0, 1.0], "state toward the dead address")
    eq(get(smp, "tally_node_uplink_connections_total", aggregator=fake_ep), 1.0,
       "connections to the fake")
    eq(get(smp, "tally_node_uplink_connections_total", aggregator=dead_ep), 0.0,
       "connections to the dead address")
    eq(get(smp, "tally_node_uplink_failures_total", aggregator=dead_ep), 1.0,
       "failures toward the dead address")
    eq(get(smp, "tally_node_uplink_failures_total", aggregator=fake_ep), 0.0,
       "failures toward the fake")
    last = get(smp, "tally_node_uplink_last_ack_timestamp_seconds", aggregator=fake_ep)
    if last is None or not t_drop - 0.01 <= last <= t_queued + 0.01:
        raise Failure("last ack at %r, want within [%.3f, %.3f]" % (last, t_drop, t_queued))
    eq(get(smp, "tally_node_uplink_last_ack_timestamp_seconds", aggregator=dead_ep), None,
       "no last ack from the dead address")
    eq(get(smp, "tally_node_info", node=node.name, election=c.election["election_id"],
           key_id=key_id(c, region)), 1.0, "info metric")
    pem = os.path.join(c.pki, "regions", region, "node.pem")
    eq(get(smp, "tally_tls_certificate_expiry_timestamp_seconds"), not_after(pem),
       "certificate expiry = node.pem's notAfter")
    if not (get(smp, "process_resident_memory_bytes") or 0) > 1 << 20:
        raise Failure("process_resident_memory_bytes missing or tiny")
    if abs((get(smp, "process_start_time_seconds") or 0) - time.time()) > 3600:
        raise Failure("process_start_time_seconds is not recent")

    lint = subprocess.run([PROMTOOL, "check", "metrics"], input=body, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=30)
    if lint.returncode != 0 or lint.stdout.strip():
        raise Failure("promtool check metrics (%d): %s" %
                      (lint.returncode, lint.stdout.decode(errors="replace")))

    st, _, body404 = scrape(mport, "/v1/totals")
    eq(st, 404, "a path other than /metrics")
    st, hdr, empty = scrape(mport, method="HEAD")
    eq((st, empty), (200, b""), "HEAD /metrics")

    # The aggregator goes away: no aggregator is connected, the fake's
    # session counts as a failure, and the entry still waits.
    fake.close()
    c.proxies.remove(fake)

    def disconnected():
        s, _ = parse(scrape(mport)[2])
        return all(get(s, "tally_node_uplink_state", aggregator=a, state="connected") == 0.0
                   for a in (dead_ep, fake_ep)) and s
    smp = wait_until(disconnected, 20, "no aggregator connected")
    if not (get(smp, "tally_node_uplink_failures_total", aggregator=fake_ep) or 0) >= 1:
        raise Failure("the broken session is not counted as a failure")
    eq(get(smp, "tally_node_outbox_entries", state="queued"), 1.0,
       "the unanswered entry is queued again")
    eq(get(smp, "tally_node_outbox_entries", state="in_flight"), 0.0, "nothing in flight")

    # It comes back on the same port and answers: a second session, the
    # entry is delivered, nothing is left undelivered.
    fake2 = FakeAggregator(c.pki, c.election["election_id"], port=fake.port)
    c.proxies.append(fake2)
    wait_until(lambda: outbox_by_state(node) == {0: 0, 1: n - 1, 2: 1}, 60,
               "the entry delivered after the reconnect")
    smp, _ = parse(scrape(mport)[2])
    eq(get(smp, "tally_node_uplink_connections_total", aggregator=fake_ep), 2.0,
       "connections after the reconnect")
    eq(get(smp, "tally_node_outbox_oldest_undelivered_age_seconds"), 0.0,
       "oldest undelivered age with an empty queue")
    eq(get(smp, "tally_node_outbox_entries", state="delivered"), n - 1.0, "delivered")
    node.stop()


def test_check_config_names_the_metrics_address(c):
    c.make_election(regions=1, precincts=5)
    region = c.regions()[0]
    mport = scenario.free_port()
    node = c.add_node(region, [scenario.free_port()],
                      extra={"node": {"metrics_listen": "127.0.0.1:%d" % mport}})
    r = subprocess.run([scenario.NODE_BIN, "--config", node.config, "--check-config"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    want = "  metrics on http://127.0.0.1:%d/metrics\n" % mport
    if r.returncode != 0 or want not in r.stdout:
        raise Failure("--check-config (%d) does not say %r:\n%s" % (r.returncode, want, r.stdout))
    # The address is taken: the node refuses to start and says which.
    import socket
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", mport))
        s.listen(1)
        p = subprocess.run([scenario.NODE_BIN, "--config", node.config],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=30)
    want = "metrics_listen = 127.0.0.1:%d: address already in use" % mport
    if p.returncode == 0 or want not in p.stdout:
        raise Failure("start with the port taken (%d) does not say %r:\n%s" %
                      (p.returncode, want, p.stdout))


if __name__ == "__main__":
    sys.exit(run_tests([test_node_metrics_follow_outbox_spool_and_uplink,
                        test_check_config_names_the_metrics_address],
                       "test_node_metrics", aggregator=False))
