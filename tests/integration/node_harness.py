#!/usr/bin/python3
"""node_harness.py: helpers for the tally-node integration tests, on top of
scenario.py's Cluster (election, PKI, real daemons):

  FakeAggregator  a TLS 1.3 server speaking the wire protocol, scripted by
                  the test (what to answer, which election to announce), that
                  records every Hello and Submit it sees, so the node's uplink
                  can be checked frame by frame without the real aggregator.
  tallyctl(...)   runs tallyctl and returns (exit status, stdout, stderr).
  run_tests(...)  runs the test functions of a module, each in its own
                  Cluster, prints the seed, and returns the exit status.
"""
import os
import random
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scenario  # noqa: E402
from scenario import Failure, Skip, wait_until, pb, TALLYCTL_BIN  # noqa: E402,F401


def tallyctl(*args, timeout=60):
    r = subprocess.run([TALLYCTL_BIN] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


class FakeAggregator:
    """An aggregator stand-in on 127.0.0.1. `answer(seq, result)` decides
    the reply to each Submit: ("ack", outcome), ("nack", code, reason), or
    None for no reply. result is the decoded PrecinctResult."""

    def __init__(self, pki, election_id, aggregator_id="fake-1", answer=None, port=0):
        self.election_id = election_id
        self.aggregator_id = aggregator_id
        self.answer = answer or (lambda seq, result: ("ack", 1))
        self.lock = threading.Lock()
        self.hellos = []       # (peer CN, Hello)
        self.submits = []      # (connection number, seq, SignedResult, PrecinctResult)
        self.connections = 0
        self.peers = []
        self.stopping = False
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_cert_chain(os.path.join(pki, "aggregator", "aggregator.pem"),
                            os.path.join(pki, "aggregator", "aggregator.key"))
        ctx.load_verify_locations(os.path.join(pki, "aggregator", "ca.pem"))
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.ctx = ctx
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
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
            with self.lock:
                self.connections += 1
                n = self.connections
            threading.Thread(target=self._serve, args=(raw, n), daemon=True).start()

    def _serve(self, raw, n):
        m = pb()
        raw.settimeout(10)
        try:
            s = self.ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        with self.lock:
            self.peers.append(s)
        cn = dict(x[0] for x in s.getpeercert()["subject"]).get("commonName")
        buf = b""
        s.settimeout(0.2)
        try:
            while not self.stopping:
                try:
                    d = s.recv(65536)
                except socket.timeout:
                    continue
                if not d:
                    return
                buf += d
                out = b""
                while len(buf) >= 4:
                    size = struct.unpack(">I", buf[:4])[0]
                    if len(buf) < 4 + size:
                        break
                    f = m.Frame()
                    f.ParseFromString(buf[4:4 + size])
                    buf = buf[4 + size:]
                    out += self._handle(m, f, cn, n)
                if out:
                    s.sendall(out)
        except (ssl.SSLError, OSError):
            pass
        finally:
            try:
                s.close()
            except OSError:
                pass

    def _frame(self, frame):
        body = frame.SerializeToString()
        return struct.pack(">I", len(body)) + body

    def _handle(self, m, f, cn, n):
        kind = f.WhichOneof("body")
        if kind == "hello":
            with self.lock:
                self.hellos.append((cn, f.hello))
            return self._frame(m.Frame(welcome=m.Welcome(
                protocol_version=1, aggregator_id=self.aggregator_id,
                election_id=self.election_id)))
        if kind == "submit":
            r = m.PrecinctResult()
            r.ParseFromString(f.submit.result.payload)
            with self.lock:
                self.submits.append((n, f.submit.seq, f.submit.result, r))
            a = self.answer(f.submit.seq, r)
            if a is None:
                return b""
            if a[0] == "ack":
                return self._frame(m.Frame(ack=m.Ack(seq=f.submit.seq, outcome=a[1])))
            return self._frame(m.Frame(nack=m.Nack(seq=f.submit.seq, code=a[1], reason=a[2])))
        if kind == "ping":
            return self._frame(m.Frame(pong=m.Pong(nonce=f.ping.nonce)))
        return b""

    def drop_connections(self):
        """Cuts every open connection (the node sees a reset)."""
        with self.lock:
            peers, self.peers = self.peers, []
        for s in peers:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def submitted(self):
        with self.lock:
            return list(self.submits)

    def close(self):
        self.stopping = True
        self.drop_connections()
        self.sock.close()
        self.thread.join(5)


def run_tests(tests, name, aggregator=True):
    """Runs each test(cluster) in a fresh Cluster. Seed from TALLY_SEED.
    aggregator=False: the tests need only tally-node and tallyctl."""
    seed = int(os.environ.get("TALLY_SEED", random.randrange(1 << 30)))
    keep = os.environ.get("TALLY_KEEP") == "1"
    missing = [b for b in scenario.binaries_missing()
               if aggregator or b != scenario.AGGREGATOR_BIN]
    if missing:
        print("%s: missing binaries %s" % (name, missing))
        return 1
    print("%s: seed %d (replay with TALLY_SEED=%d)" % (name, seed, seed), flush=True)
    failed = 0
    for t in tests:
        c = scenario.Cluster(t.__name__, random.Random(seed))
        t0 = time.monotonic()
        try:
            t(c)
            for d in c.daemons:
                d.check_sanitizers()
            print("ok   %-50s %.1f s" % (t.__name__, time.monotonic() - t0), flush=True)
        except Skip as e:
            print("skip %-50s %s" % (t.__name__, e), flush=True)
        except Exception:
            failed += 1
            print("FAIL %-50s (seed %d)" % (t.__name__, seed), flush=True)
            traceback.print_exc()
            for d in c.daemons:
                print("---- %s stderr (last lines):\n%s" % (d.name, d.tail(60)))
            keep = keep or os.environ.get("TALLY_KEEP_FAILED") == "1"
        finally:
            c.close(keep=keep)
            if keep:
                print("     kept %s" % c.tmp)
    print("%s: %d of %d passed" % (name, len(tests) - failed, len(tests)))
    return 1 if failed else 0
