#!/usr/bin/python3
"""The aggregator's node port against peers that should not get in, or that
misbehave once in: no client certificate, a certificate from another CA and
TLS 1.2 are refused (with openssl s_client as a real TLS peer); garbage
bytes, a 4 GB length prefix, Submit before Hello and a Hello naming another
region end that session (with a Goodbye where the peer is authenticated),
while an honest session on the same daemon keeps being answered."""
import os
import socket
import subprocess
import sys
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


def s_client(port, *args):
    """Runs openssl s_client, sends a frame after the handshake; (rc, output)."""
    cmd = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername",
           "localhost"] + list(args)
    p = subprocess.run(cmd, input=b"\x00\x00\x00\x02\x3a\x00", capture_output=True, timeout=30)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def main():
    with harness.Workspace() as w:
        el = w.election(regions=2, precincts=10, seed=3)
        w.pki()
        foreign = w._foreign()
        agg = w.aggregator()
        eid = el["election_id"]
        ra = el["regions"][0]
        da = w.region_dir(ra["id"])
        sa = tc.Signer(os.path.join(da, "sign.key"))
        ca = os.path.join(w.pki_dir, "ca.pem")

        honest = tc.Client(agg.port, da)
        check(honest.hello("honest", ra["id"]).WhichOneof("body") == "welcome", "honest session welcomed")
        seqs = iter(range(1, 1000))

        def honest_still_served(what):
            s = next(seqs)
            p = ra["precincts"][0]
            honest.submit(s, tc.signed(sa, tc.make_result(eid, ra["id"], p["id"], 1, p["registered"], 5)))
            a = honest.read_answers(1)[s]
            check(a[0] == "ack", "honest session still answered after " + what)

        # No client certificate.
        rc, out = s_client(agg.port, "-tls1_3", "-CAfile", ca)
        time.sleep(0.3)
        check("TLS handshake refused" in agg.log_text() and
              ("certificate" in agg.log_text().split("TLS handshake refused")[-1]),
              "no client certificate: refused, logged with the reason")
        honest_still_served("a peer without certificate")

        # A certificate from another CA.
        fr = os.path.join(foreign, "regions", ra["id"])
        before = agg.log_text().count("TLS handshake refused")
        rc, out = s_client(agg.port, "-tls1_3", "-CAfile", ca, "-cert",
                           os.path.join(fr, "node.pem"), "-key", os.path.join(fr, "node.key"))
        time.sleep(0.3)
        check(agg.log_text().count("TLS handshake refused") == before + 1,
              "certificate from another CA refused")
        try:
            c = tc.Client(agg.port, cert=os.path.join(fr, "node.pem"), key=os.path.join(fr, "node.key"), ca=ca)
            f = c.hello("x", ra["id"])
            check(f is None, "foreign-CA peer gets no Welcome")
        except (OSError, ConnectionError) as e:
            check(True, "foreign-CA peer refused (%s)" % type(e).__name__)
        honest_still_served("a peer from another CA")

        # TLS 1.2 is refused even with a valid certificate.
        rc, out = s_client(agg.port, "-tls1_2", "-CAfile", ca, "-cert",
                           os.path.join(da, "node.pem"), "-key", os.path.join(da, "node.key"))
        check(rc != 0 and ("alert" in out or "handshake failure" in out or "no protocols" in out
                           or "wrong version" in out or "unsupported protocol" in out),
              "TLS 1.2 refused (s_client rc=%d)" % rc)
        # and TLS 1.3 with the right certificate gets through s_client.
        rc, out = s_client(agg.port, "-tls1_3", "-CAfile", ca, "-cert",
                           os.path.join(da, "node.pem"), "-key", os.path.join(da, "node.key"))
        check("TLSv1.3" in out and "Verify return code: 0" in out, "TLS 1.3 with a valid certificate works")
        honest_still_served("TLS 1.2 attempts")

        # Garbage instead of a TLS ClientHello.
        g = socket.create_connection(("127.0.0.1", agg.port), timeout=10)
        g.sendall(b"GET / HTTP/1.1\r\n\r\n" + os.urandom(4000))
        g.settimeout(10)
        try:
            while g.recv(4096):
                pass
            closed = True
        except OSError:
            closed = True
        g.close()
        check(closed, "garbage peer disconnected")
        honest_still_served("a garbage peer")

        # Authenticated, then misbehaving: each gets a Goodbye and a close.
        def goodbye_after(send, what, expect):
            c = tc.Client(agg.port, da)
            send(c)
            f = c.read_frame()
            reason = f.goodbye.reason if f is not None and f.WhichOneof("body") == "goodbye" else None
            check(reason is not None and expect in reason, "%s: Goodbye %r" % (what, reason))
            check(c.read_frame() is None, "%s: connection closed" % what)
            c.close()

        goodbye_after(lambda c: (c.hello("n", ra["id"]), c.send_raw(b"\xff\xff\xff\xff")),
                      "4 GB length prefix", "exceeds max_frame_bytes")
        goodbye_after(lambda c: c.submit(1, tc.signed(sa, tc.make_result(eid, ra["id"], 1, 1, 1, 1))),
                      "Submit before Hello", "Submit before Hello")
        goodbye_after(lambda c: c.send(hello_for(el["regions"][1]["id"])),
                      "Hello naming another region", "certificate is region")
        goodbye_after(lambda c: (c.hello("n", ra["id"]), c.send_raw(b"\x00\x00\x00\x03abc")),
                      "unparseable Frame", "unparseable Frame")
        goodbye_after(lambda c: (c.hello("n", ra["id"]), c.send_raw(b"\x00\x00\x00\x00")),
                      "zero-length frame", "frame length 0")
        honest_still_served("protocol violations")

        # SIGHUP reloads keys and certificate without dropping the session.
        import signal
        agg.proc.send_signal(signal.SIGHUP)
        harness.wait_for("reload logged", lambda: "reloaded: 2 trusted keys" in agg.log_text(), 20)
        honest_still_served("a SIGHUP reload")
        c2 = tc.Client(agg.port, da)
        check(c2.hello("after-reload", ra["id"]).WhichOneof("body") == "welcome",
              "new sessions welcomed after the reload")
        c2.close()
        honest.close()
        check(agg.stop() == 0, "exit 0 after SIGTERM")
        agg.check_sanitizers()
    print("%d failures" % len(failures) if failures else "all passed")
    return 1 if failures else 0


def hello_for(region):
    f = tc.pb().Frame()
    f.hello.protocol_version = 1
    f.hello.node_id = "liar"
    f.hello.region_id = region
    return f


if __name__ == "__main__":
    sys.exit(main())
