#!/usr/bin/python3
"""A hostile (or broken) aggregator facing a real node. A fake server with
the genuine aggregator certificate answers the node's Hello with another
election's Welcome, with Acks and Nacks for seqs never sent and outcomes that
do not exist, with garbage, a 4 GB length prefix, or nothing at all. The
node must never send to the wrong election, never mark an entry answered by
a bogus reply, never die; once it reaches the real aggregator (the fault
proxy is re-pointed) everything it holds is counted exactly once."""
import os
import socket
import ssl
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import Failure, log, pb, run_main, scenario  # noqa: E402


class FakeAggregator:
    """TLS 1.3 server with the aggregator's certificate; `mode` decides how
    it answers. Records what the node sent."""

    def __init__(self, pki, election_id):
        d = os.path.join(pki, "aggregator")
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.ctx.load_cert_chain(os.path.join(d, "aggregator.pem"),
                                 os.path.join(d, "aggregator.key"))
        self.ctx.load_verify_locations(os.path.join(d, "ca.pem"))
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        self.election_id = election_id
        self.mode = "wrong-election"
        self.submits = []
        self.sessions = 0
        self.lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                raw, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw):
        m = pb()
        raw.settimeout(10)
        try:
            s = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        with self.lock:
            self.sessions += 1
        buf = b""
        mode = self.mode
        try:
            while not self.stopping:
                while len(buf) < 4 or len(buf) < 4 + struct.unpack(">I", buf[:4])[0]:
                    d = s.recv(65536)
                    if not d:
                        return
                    buf += d
                n = struct.unpack(">I", buf[:4])[0]
                f = m.Frame()
                f.ParseFromString(buf[4:4 + n])
                buf = buf[4 + n:]
                kind = f.WhichOneof("body")
                if kind == "hello":
                    eid = "another-election" if mode == "wrong-election" else self.election_id
                    self._send(s, m.Frame(welcome=m.Welcome(protocol_version=1,
                                                           aggregator_id="fake",
                                                           election_id=eid)))
                    if mode == "garbage":
                        s.sendall(b"\x00\x00\x00\x06\xff\xff\xff\xff\xff\xff")
                    elif mode == "4gb":
                        s.sendall(b"\xff\xff\xff\xff" + b"\x00" * 64)
                elif kind == "submit":
                    with self.lock:
                        self.submits.append((mode, f.submit.seq))
                    seq = f.submit.seq
                    if mode == "bogus-answers":
                        self._send(s, m.Frame(ack=m.Ack(seq=seq + 100000,
                                                        outcome=m.OUTCOME_ACCEPTED)))
                        self._send(s, m.Frame(nack=m.Nack(seq=seq + 200000,
                                                          code=m.REJECT_CODE_BAD_SIGNATURE,
                                                          reason="bogus")))
                        self._send(s, m.Frame(ack=m.Ack(seq=seq, outcome=99)))
                        self._send(s, m.Frame(nack=m.Nack(seq=seq, code=99, reason="x" * 300)))
                    # "silent": never answers at all.
                elif kind == "ping":
                    if mode != "silent":
                        self._send(s, m.Frame(pong=m.Pong(nonce=f.ping.nonce)))
        except (ssl.SSLError, OSError, ValueError):
            pass
        finally:
            try:
                s.close()
            except OSError:
                pass

    @staticmethod
    def _send(s, frame):
        b = frame.SerializeToString()
        s.sendall(struct.pack(">I", len(b)) + b)

    def close(self):
        self.stopping = True
        self.sock.close()


@scenario("hostile-aggregator")
def hostile_aggregator(c, rng):
    c.make_election(regions=2, precincts=200)
    real = c.add_aggregator().start()
    A, B = c.regions()
    fake = FakeAggregator(c.pki, c.election["election_id"])
    proxy = c.add_proxy(fake.port)
    node = c.add_node(A, [proxy.port]).start()
    c.add_node(B).start()
    work = c.stream(per_file=10, corrections=6)
    c.feed_all(work)

    def phase(mode, seconds):
        fake.mode = mode
        proxy.cut_all()
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            if not node.running():
                raise Failure("node died facing a %s aggregator (exit %s):\n%s" %
                              (mode, node.proc.returncode, node.tail()))
            time.sleep(0.2)
        done = [e for e in node.outbox() if e["state"] != 0]
        if done:
            e = done[0]
            raise Failure("facing a %s aggregator the node marked %d entries answered, e.g. "
                          "entry %d state %d outcome %s code %s" %
                          (mode, len(done), e["id"], e["state"], e["outcome"], e["code"]))
        log("  %-16s node alive, all %d entries still queued, %d submits seen" %
            (mode, len(node.outbox()), len([s for s in fake.submits if s[0] == mode])))

    phase("wrong-election", 4)
    if any(s[0] == "wrong-election" for s in fake.submits):
        raise Failure("the node sent Submits after a Welcome naming another election")
    phase("bogus-answers", 4)
    phase("garbage", 3)
    phase("4gb", 3)
    phase("silent", 4)
    if fake.sessions < 3:
        raise Failure("the node opened only %d sessions to the fake" % fake.sessions)

    # The real aggregator, at last: everything is counted exactly once.
    proxy.set(target=("127.0.0.1", real.listen_port))
    proxy.cut_all()
    c.converge(timeout=120)
    fake.close()


if __name__ == "__main__":
    sys.exit(run_main(sys.argv[1:] or ["hostile-aggregator"]))
