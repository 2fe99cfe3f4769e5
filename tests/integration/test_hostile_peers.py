#!/usr/bin/python3
"""Hostile peers on the aggregator's node port. Every reject code from a
crafted input, with the session still usable after each; a valid
certificate of region A with region B's signing key; replays of old
revisions; a flood of duplicates; framing attacks (a 4 GB length prefix,
zero length, garbage, Submit before Hello, a Hello naming another region);
hundreds of connections; one byte a second; handshakes never finished;
TLS 1.2, weak ciphers, no certificate and a foreign CA refused (checked with
openssl s_client too). Throughout, an honest session keeps being served, the
daemon stays up, and the totals hold exactly what was accepted."""
import os
import re
import socket
import ssl
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import (Failure, Peer, Signer, log, make_result, pb, run_main,  # noqa: E402
                      scenario, sh)


class World:
    """The aggregator under attack, two regions' credentials, and the model
    of what must be counted."""

    def __init__(self, c):
        self.c = c
        c.make_election(regions=2, precincts=200)
        self.agg = c.add_aggregator(extra={"aggregator": {"max_sessions": "400",
                                                          "handshake_timeout": "3",
                                                          "idle_timeout": "20"}}).start()
        self.eid = c.election["election_id"]
        self.A, self.B = c.regions()
        self.precincts = {r["id"]: [p["id"] for p in r["precincts"]]
                          for r in c.election["regions"]}
        self.dir = {r: os.path.join(c.pki, "regions", r) for r in (self.A, self.B)}
        self.signer = {r: Signer(os.path.join(self.dir[r], "sign.key")) for r in (self.A, self.B)}
        self.next = {self.A: 0, self.B: 0}

    def precinct(self, region):
        p = self.precincts[region][self.next[region]]
        self.next[region] += 1
        return p

    def peer(self, region, hello=True, **kw):
        p = Peer(self.agg.listen_port, self.dir[region], **kw)
        if hello:
            p.hello(region)
        return p

    def counted(self, result):
        """Records an accepted result in the expected sums."""
        row = {k: getattr(result, k) for k in ("precinct_id", "revision", "voters_registered",
                                               "ballots_cast", "ballots_invalid",
                                               "ballots_not_counted")}
        row["votes"] = {v.option_id: v.count for v in result.votes}
        cur = self.c.expected.latest.get(row["precinct_id"])
        if cur is None or row["revision"] > cur["revision"]:
            self.c.expected.latest[row["precinct_id"]] = row
        self.c.expected.rows += 1

    def expect_totals(self):
        t = self.agg.totals()
        errs = self.c.totals_errors(t)
        if errs:
            raise Failure("totals after the attacks:\n  " + "\n  ".join(errs))
        return t

    def alive(self, honest):
        """The honest session answers a fresh valid result at once."""
        m = pb()
        r = make_result(self.eid, self.A, self.precinct(self.A), yes=3, no=2)
        seq = honest.submit(self.signer[self.A].sign(r.SerializeToString()))
        kind, got_seq, outcome, reason = honest.answer(timeout=10)
        if (kind, got_seq, outcome) != ("ack", seq, m.OUTCOME_ACCEPTED):
            raise Failure("honest submit: %s seq %d outcome %d %s" % (kind, got_seq, outcome,
                                                                     reason))
        self.counted(r)
        if not self.agg.running():
            raise Failure("aggregator died:\n" + self.agg.tail())


def expect_nack(peer, signed, code, what):
    seq = peer.submit(signed)
    kind, got_seq, got, reason = peer.answer()
    if kind != "nack" or got_seq != seq or got != code:
        raise Failure("%s: want Nack %s for seq %d, got %s seq %d code/outcome %d (%s)" %
                      (what, pb().RejectCode.Name(code), seq, kind, got_seq, got, reason))
    if not reason:
        raise Failure("%s: Nack without a reason" % what)
    log("  %-44s -> %s: %s" % (what, pb().RejectCode.Name(code), reason[:90]))


@scenario("hostile-reject-codes")
def reject_codes(c, rng):
    w = World(c)
    m = pb()
    A, B, sA, sB = w.A, w.B, w.signer[w.A], w.signer[w.B]
    peer = w.peer(A)

    garbage = b"\xff\xfe not a protobuf \x00\x01"
    expect_nack(peer, sA.sign(garbage), m.REJECT_CODE_MALFORMED, "payload not a PrecinctResult")
    good = make_result(w.eid, A, w.precinct(A))
    bad = sA.sign(good.SerializeToString())
    bad.signature = bytes([bad.signature[0] ^ 1]) + bad.signature[1:]
    expect_nack(peer, bad, m.REJECT_CODE_BAD_SIGNATURE, "one bit of the signature flipped")
    short = sA.sign(good.SerializeToString())
    short.signature = short.signature[:63]
    expect_nack(peer, short, m.REJECT_CODE_BAD_SIGNATURE, "63-byte signature")
    tampered = sA.sign(good.SerializeToString())
    tampered.payload = make_result(w.eid, A, good.precinct_id, yes=good.votes[0].count + 1,
                                   no=good.votes[1].count - 1).SerializeToString()
    expect_nack(peer, tampered, m.REJECT_CODE_BAD_SIGNATURE, "payload changed after signing")
    expect_nack(peer, Signer().sign(good.SerializeToString()), m.REJECT_CODE_UNKNOWN_KEY,
                "key nobody trusts")
    # Region A's certificate, region B's key (B's node key stolen, or A's
    # node misconfigured): refused whatever the payload says.
    expect_nack(peer, sB.sign(good.SerializeToString()), m.REJECT_CODE_WRONG_REGION,
                "A's certificate, B's key, A's precinct")
    rb = make_result(w.eid, B, w.precincts[B][0])
    expect_nack(peer, sB.sign(rb.SerializeToString()), m.REJECT_CODE_WRONG_REGION,
                "A's certificate, B's key, B's precinct")
    expect_nack(peer, sA.sign(rb.SerializeToString()), m.REJECT_CODE_WRONG_REGION,
                "A's key, B's region and precinct")
    mixed = make_result(w.eid, A, w.precincts[B][1])
    expect_nack(peer, sA.sign(mixed.SerializeToString()), m.REJECT_CODE_WRONG_REGION,
                "region A, but a precinct of B")
    other = make_result("another-election", A, w.precinct(A))
    expect_nack(peer, sA.sign(other.SerializeToString()), m.REJECT_CODE_WRONG_ELECTION,
                "another election id")
    unknown = make_result(w.eid, A, 987654321)
    expect_nack(peer, sA.sign(unknown.SerializeToString()), m.REJECT_CODE_UNKNOWN_PRECINCT,
                "precinct not in the election")
    for name, override in [("cast != invalid + not_counted + votes", {"ballots_invalid": 2}),
                           ("received != issued + cancelled", {"ballots_received": 1}),
                           ("revision 0", {"revision": 0})]:
        r = make_result(w.eid, A, w.precinct(A), **override)
        expect_nack(peer, sA.sign(r.SerializeToString()), m.REJECT_CODE_FAILED_CONTROL, name)
    # yes + no = 2^32 + 16: a 32-bit sum would see 16 == ballots_cast.
    wrap = make_result(w.eid, A, w.precinct(A), yes=1, no=1, invalid=0)
    wrap.votes[0].count, wrap.votes[1].count = 0xFFFFFFF0, 0x20
    wrap.ballots_cast = wrap.ballots_issued = wrap.voters_registered = 16
    wrap.ballots_received = 16 + wrap.ballots_cancelled
    expect_nack(peer, sA.sign(wrap.SerializeToString()), m.REJECT_CODE_FAILED_CONTROL,
                "vote sum equal to cast only modulo 2^32")
    unknown_opt = make_result(w.eid, A, w.precinct(A))
    unknown_opt.votes.add(option_id="maybe", count=0)
    expect_nack(peer, sA.sign(unknown_opt.SerializeToString()), m.REJECT_CODE_FAILED_CONTROL,
                "an option the election does not have")
    # After all that, the same session still counts a valid result.
    w.alive(peer)
    t = w.expect_totals()
    if t["sequence"] != 1:
        raise Failure("sequence %d after one accepted result" % t["sequence"])
    peer.close()


@scenario("hostile-replays-and-floods")
def replays(c, rng):
    w = World(c)
    m = pb()
    A, sA = w.A, w.signer[w.A]
    peer = w.peer(A)
    p = w.precinct(A)
    r1 = make_result(w.eid, A, p, revision=1, yes=50, no=40)
    r2 = make_result(w.eid, A, p, revision=2, yes=52, no=38)
    s1, s2 = sA.sign(r1.SerializeToString()), sA.sign(r2.SerializeToString())
    expected = [(s1, m.OUTCOME_ACCEPTED), (s2, m.OUTCOME_ACCEPTED), (s1, m.OUTCOME_STALE),
                (s2, m.OUTCOME_DUPLICATE), (s1, m.OUTCOME_STALE)]
    for signed, want in expected:
        seq = peer.submit(signed)
        kind, got_seq, outcome, reason = peer.answer()
        if (kind, got_seq, outcome) != ("ack", seq, want):
            raise Failure("replay: want %s, got %s %d %s" % (m.Outcome.Name(want), kind,
                                                             outcome, reason))
    w.counted(r1)
    w.counted(r2)
    # A re-signed copy of revision 2 with other figures: conflict, not counted.
    r2b = make_result(w.eid, A, p, revision=2, yes=90, no=0)
    seq = peer.submit(sA.sign(r2b.SerializeToString()))
    kind, got_seq, outcome, _ = peer.answer()
    if outcome != m.OUTCOME_CONFLICT:
        raise Failure("same revision, other figures: want CONFLICT, got %d" % outcome)
    t = w.agg.totals()
    if t["national"]["conflicts"] != 1:
        raise Failure("conflicts %s, want 1" % t["national"]["conflicts"])
    r3 = make_result(w.eid, A, p, revision=3, yes=53, no=37)
    peer.submit(sA.sign(r3.SerializeToString()))
    if peer.answer()[2] != m.OUTCOME_ACCEPTED:
        raise Failure("revision 3 should settle the conflict")
    w.counted(r3)
    seq_before = w.agg.totals()["sequence"]

    # A flood of duplicates, pipelined without waiting: every seq answered
    # exactly once, all DUPLICATE, nothing moves.
    n = 2000
    signed = sA.sign(r3.SerializeToString())
    body = m.Frame(submit=m.Submit(seq=0, result=signed))
    frames = []
    for i in range(n):
        body.submit.seq = 100000 + i
        b = body.SerializeToString()
        frames.append(len(b).to_bytes(4, "big") + b)
    seen = {}
    for kind, got_seq, outcome, _ in peer.pipeline(b"".join(frames), n, timeout=60):
        seen[got_seq] = seen.get(got_seq, 0) + 1
        if (kind, outcome) != ("ack", m.OUTCOME_DUPLICATE):
            raise Failure("flood: %s outcome %d" % (kind, outcome))
    if sorted(seen) != list(range(100000, 100000 + n)) or set(seen.values()) != {1}:
        raise Failure("flood: answers do not match the %d seqs one to one" % n)
    t = w.expect_totals()
    if t["sequence"] != seq_before:
        raise Failure("duplicates moved the sequence: %d -> %d" % (seq_before, t["sequence"]))
    w.alive(peer)
    peer.close()


@scenario("hostile-reject-flood")
def reject_flood(c, rng):
    """A node sending bad results in a loop: every one is answered and
    counted, but the journal gets at most 50 lines a second of them and one
    line saying how many it held back."""
    w = World(c)
    m = pb()
    A, sA = w.A, w.signer[w.A]
    peer = w.peer(A)
    n = 300
    good = make_result(w.eid, A, w.precinct(A))
    bad = sA.sign(good.SerializeToString())
    bad.signature = bytes([bad.signature[0] ^ 1]) + bad.signature[1:]
    body = m.Frame(submit=m.Submit(seq=0, result=bad))
    frames = []
    for i in range(n):
        body.submit.seq = 5000 + i
        b = body.SerializeToString()
        frames.append(len(b).to_bytes(4, "big") + b)
    answers = peer.pipeline(b"".join(frames), n, timeout=60)
    if sorted(a[1] for a in answers) != list(range(5000, 5000 + n)) or \
            {(a[0], a[2]) for a in answers} != {("nack", m.REJECT_CODE_BAD_SIGNATURE)}:
        raise Failure("flood of bad signatures: answers do not match the seqs one to one")
    # A second later, one more: it is logged, with the count held back.
    time.sleep(1.1)
    expect_nack(peer, bad, m.REJECT_CODE_BAD_SIGNATURE, "one more after a second")
    text = w.agg.logs()
    logged = len(re.findall(r"rejected region=%s node='[^']*' seq=5\d\d\d " % A, text))
    held = sum(int(x) for x in re.findall(
        r"(\d+) more rejections, conflicts and stale copies were not logged", text))
    log("  %d bad results: %d logged, %d reported as held back" % (n, logged, held))
    if logged + held != n or not 50 <= logged < n or held < n - 150:
        raise Failure("log lines for %d rejections: %d logged + %d held back" % (n, logged, held))
    counted = w.agg.metric("tally_rejects_total", code="BAD_SIGNATURE")
    if counted != n + 1:
        raise Failure("/metrics counts %s BAD_SIGNATURE rejections, want %d" % (counted, n + 1))
    w.alive(peer)
    peer.close()


@scenario("hostile-framing")
def framing(c, rng):
    w = World(c)
    m = pb()
    A, B = w.A, w.B
    honest = w.peer(A)

    def expect_goodbye(p, what):
        f = None
        try:
            f = p.recv(timeout=10)
        except Failure:
            raise Failure("%s: neither Goodbye nor close within 10 s" % what)
        if f is not None and f.WhichOneof("body") != "goodbye":
            raise Failure("%s: got %s instead of Goodbye" % (what, f.WhichOneof("body")))
        if f is not None and not p.closed_within(5):
            raise Failure("%s: connection left open after the Goodbye" % what)
        log("  %-40s -> %s" % (what, ("Goodbye: " + f.goodbye.reason[:80]) if f else "closed"))
        w.alive(honest)

    cases = [
        ("4 GB length prefix", lambda p: p.send_raw(b"\xff\xff\xff\xff" + b"x" * 1000)),
        ("length max_frame_bytes + 1", lambda p: p.send_raw((65537).to_bytes(4, "big") +
                                                            b"x" * 100)),
        ("zero length frame", lambda p: p.send_raw(b"\x00\x00\x00\x00")),
        ("garbage frame body", lambda p: p.send_raw(b"\x00\x00\x00\x05\xff\xff\xff\xff\xff")),
    ]
    for what, attack in cases:
        p = w.peer(A)
        attack(p)
        expect_goodbye(p, what)
        p.close()
    # Protocol order.
    p = w.peer(A, hello=False)
    r = make_result(w.eid, A, w.precinct(A))
    p.submit(w.signer[A].sign(r.SerializeToString()))
    expect_goodbye(p, "Submit before Hello")
    p = w.peer(A, hello=False)
    p.send(m.Frame(hello=m.Hello(protocol_version=1, node_id="x", region_id=B)))
    expect_goodbye(p, "Hello naming B over A's certificate")
    p = w.peer(A, hello=False)
    p.send(m.Frame(hello=m.Hello(protocol_version=99, node_id="x", region_id=A)))
    f = p.recv(timeout=10)
    log("  %-40s -> %s" % ("protocol version 99", f.WhichOneof("body") if f else "closed"))
    p.close()
    # Memory stays bounded after the 4 GB prefix.
    rss = rss_kib(w.agg.proc.pid)
    if rss > 1024 * 1024:
        raise Failure("aggregator RSS %d KiB after framing attacks" % rss)
    w.alive(honest)
    w.expect_totals()


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def client_hello_bytes():
    """A real TLS 1.3 ClientHello, to trickle one byte at a time."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


@scenario("hostile-connections")
def connections(c, rng):
    w = World(c)
    A = w.A
    honest = w.peer(A)
    port = w.agg.listen_port

    # Hundreds of connections that never start TLS, plus stalled handshakes.
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(250)]
    hello = client_hello_bytes()
    partial = []
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(hello[:len(hello) // 2])
        partial.append(s)
    w.alive(honest)
    # A fresh honest session gets in while they hang.
    h2 = w.peer(A)
    w.alive(h2)
    h2.close()

    # One byte a second during the handshake: dropped at handshake_timeout
    # (3 s here) however steadily it trickles.
    trickler = socket.create_connection(("127.0.0.1", port), timeout=10)
    t0 = time.monotonic()
    dropped = None
    for b in hello:
        try:
            trickler.sendall(bytes([b]))
        except OSError:
            dropped = time.monotonic() - t0
            break
        trickler.settimeout(1.0)
        try:
            if trickler.recv(4096) == b"":
                dropped = time.monotonic() - t0
                break
        except socket.timeout:
            pass
        except OSError:
            dropped = time.monotonic() - t0
            break
        if time.monotonic() - t0 > 15:
            break
    if dropped is None or dropped > 3 + 8:
        raise Failure("a handshake trickled at 1 byte/s was not dropped in time (%s)" % dropped)
    log("  trickled handshake dropped after %.1f s" % dropped)

    # The never-finished handshakes are gone by now too.
    def closed(s):
        s.settimeout(0.2)
        try:
            return s.recv(1) == b""
        except socket.timeout:
            return False
        except OSError:
            return True
    stuck = [s for s in idle + partial if not closed(s)]
    if stuck:
        raise Failure("%d of %d connections that never finished the handshake are still open "
                      "after %.0f s" % (len(stuck), len(idle) + len(partial),
                                        time.monotonic() - t0))
    for s in idle + partial:
        s.close()
    trickler.close()

    # After the handshake: a Submit trickled one byte every 0.2 s does not
    # hold up an honest session, and is itself answered in the end.
    m = pb()
    slow = w.peer(A)
    r = make_result(w.eid, A, w.precinct(A))
    body = m.Frame(submit=m.Submit(seq=5, result=w.signer[A].sign(r.SerializeToString())))
    data = body.SerializeToString()
    data = len(data).to_bytes(4, "big") + data
    stop = time.monotonic() + 4
    i = 0
    while time.monotonic() < stop and i < len(data) - 1:
        slow.send_raw(data[i:i + 1])
        i += 1
        time.sleep(0.2)
        if i % 5 == 0:
            w.alive(honest)
    slow.send_raw(data[i:])
    kind, seq, outcome, _ = slow.answer(timeout=10)
    if (kind, seq, outcome) != ("ack", 5, m.OUTCOME_ACCEPTED):
        raise Failure("trickled submit: %s %d %d" % (kind, seq, outcome))
    w.counted(r)
    slow.close()
    w.alive(honest)
    w.expect_totals()


@scenario("hostile-tls")
def tls_refusals(c, rng):
    w = World(c)
    A = w.A
    d = w.dir[A]
    port = w.agg.listen_port
    honest = w.peer(A)

    def s_client(*args):
        cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile",
               os.path.join(d, "ca.pem"), "-cert", os.path.join(d, "node.pem"), "-key",
               os.path.join(d, "node.key"), "-servername", "localhost"] + list(args)
        r = subprocess.run(cmd, input=b"", stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=20)
        return r.returncode, r.stdout.decode("utf-8", "replace")

    rc, out = s_client("-tls1_3")
    if rc != 0 or "TLSv1.3" not in out:
        raise Failure("openssl s_client -tls1_3 with a valid certificate failed:\n" + out[-800:])
    for args, what in [(("-tls1_2",), "TLS 1.2"), (("-tls1_1",), "TLS 1.1"),
                       (("-tls1_2", "-cipher", "AES128-SHA"), "TLS 1.2 AES128-SHA"),
                       (("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"),
                        "TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256")]:
        rc, out = s_client(*args)
        negotiated = [ln for ln in out.splitlines() if "Cipher is" in ln and "(NONE)" not in ln]
        if rc == 0 and negotiated:
            raise Failure("%s was accepted:\n%s" % (what, "\n".join(negotiated)))
        log("  %-40s refused" % what)

    # Python's TLS stack, capped at 1.2.
    try:
        p = Peer(port, d, max_version=ssl.TLSVersion.TLSv1_2)
        p.close()
        raise Failure("a TLS 1.2 client completed the handshake")
    except (ssl.SSLError, ConnectionError, OSError) as e:
        if isinstance(e, Failure):
            raise
        log("  %-40s refused (%s)" % ("python TLS 1.2", type(e).__name__))

    # No client certificate, and one from a foreign CA: no Welcome ever.
    foreign = os.path.join(c.tmp, "foreign")
    os.makedirs(foreign)
    sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", os.path.join(foreign, "node.key"), "-out",
        os.path.join(foreign, "node.pem"), "-days", "2", "-subj", "/CN=" + A])
    for what, kw in [("no client certificate", {"cert_dir": None, "ca": os.path.join(d, "ca.pem")}),
                     ("certificate from a foreign CA",
                      {"cert_dir": None, "ca": os.path.join(d, "ca.pem"),
                       "cert": os.path.join(foreign, "node.pem"),
                       "key": os.path.join(foreign, "node.key")})]:
        try:
            p = Peer(port, **kw)
            p.send(pb().Frame(hello=pb().Hello(protocol_version=1, node_id="x", region_id=A)))
            f = p.recv(timeout=10)
            if f is not None and f.WhichOneof("body") == "welcome":
                raise Failure("%s got a Welcome" % what)
            p.close()
        except (ssl.SSLError, ConnectionError, OSError) as e:
            if isinstance(e, Failure):
                raise
        log("  %-40s refused" % what)
    w.alive(honest)
    w.expect_totals()


if __name__ == "__main__":
    ALL = ["hostile-reject-codes",
           "hostile-replays-and-floods",
           "hostile-reject-flood",
           "hostile-framing",
           "hostile-connections",
           "hostile-tls"]
    sys.exit(run_main(sys.argv[1:] or ALL))
