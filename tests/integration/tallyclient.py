#!/usr/bin/python3
"""tallyclient.py: an independent implementation of the node side of the
wire protocol, for tests. Python protobuf classes are generated from
proto/tally.proto with `protoc --python_out` into a temporary folder at run
time; signatures are made with python3-cryptography's Ed25519; TLS 1.3 with
a client certificate through the ssl module.

    c = Client(port, region_dir)       # TLS handshake
    c.hello("node-1", "KZ-10")         # -> Welcome message
    c.submit(seq, signed)              # pipelined: send many, then read
    c.read_answers(n)                  # {seq: ("ack", outcome) | ("nack", code, reason)}
"""
import atexit
import importlib
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("TALLY_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))

_pb = None


def pb():
    """The generated tally_pb2 module (made once per process)."""
    global _pb
    if _pb is None:
        out = tempfile.mkdtemp(prefix="tally-pb-")
        atexit.register(shutil.rmtree, out, True)
        subprocess.run(["protoc", "--proto_path=" + os.path.join(SOURCE, "proto"),
                        "--python_out=" + out, os.path.join(SOURCE, "proto", "tally.proto")],
                       check=True)
        sys.path.insert(0, out)
        _pb = importlib.import_module("tally_pb2")
    return _pb


class Signer:
    """A region's Ed25519 signing key (PKCS#8 PEM as pki.sh writes it)."""

    def __init__(self, path):
        from cryptography.hazmat.primitives import hashes, serialization  # noqa: F401
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
        import hashlib
        with open(path, "rb") as f:
            self.key = load_pem_private_key(f.read(), None)
        raw = self.key.public_key().public_bytes(serialization.Encoding.Raw,
                                                 serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()

    def sign(self, payload):
        return self.key.sign(payload)


def make_result(election_id, region, precinct, revision, registered, cast, invalid=0,
                not_counted=0, yes=None, options=("yes", "no"), cancelled=0, recorded=1):
    """A PrecinctResult that passes every control relation."""
    p = pb().PrecinctResult()
    if yes is None:
        yes = (cast - invalid - not_counted) // 2
    no = cast - invalid - not_counted - yes
    p.election_id = election_id
    p.region_id = region
    p.precinct_id = precinct
    p.revision = revision
    p.voters_registered = registered
    p.ballots_issued = cast
    p.ballots_cancelled = cancelled
    p.ballots_received = cast + cancelled
    p.ballots_cast = cast
    p.ballots_invalid = invalid
    p.ballots_not_counted = not_counted
    for opt, n in zip(options, (yes, no)):
        v = p.votes.add()
        v.option_id = opt
        v.count = n
    p.recorded_at_ms = recorded
    return p


def signed(signer, result=None, payload=None, signature=None, key_id=None):
    s = pb().SignedResult()
    s.payload = payload if payload is not None else result.SerializeToString()
    s.signature = signature if signature is not None else signer.sign(s.payload)
    s.key_id = key_id if key_id is not None else signer.key_id
    return s


def frame(msg):
    body = msg.SerializeToString()
    return struct.pack(">I", len(body)) + body


class Client:
    def __init__(self, port, region_dir=None, cert=None, key=None, ca=None, host="127.0.0.1",
                 timeout=20.0):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_verify_locations(ca or os.path.join(region_dir, "ca.pem"))
        ctx.load_cert_chain(cert or os.path.join(region_dir, "node.pem"),
                            key or os.path.join(region_dir, "node.key"))
        raw = socket.create_connection((host, port), timeout=timeout)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        self.buf = b""

    def send(self, frame_msg):
        self.sock.sendall(frame(frame_msg))

    def send_raw(self, data):
        self.sock.sendall(data)

    def read_frame(self):
        """The next Frame, or None when the server closed."""
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack(">I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    f = pb().Frame()
                    f.ParseFromString(self.buf[4:4 + n])
                    self.buf = self.buf[4 + n:]
                    return f
            try:
                d = self.sock.recv(65536)
            except (ssl.SSLError, ConnectionResetError, OSError):
                d = b""
            if not d:
                return None
            self.buf += d

    def hello(self, node_id, region, version=1):
        f = pb().Frame()
        f.hello.protocol_version = version
        f.hello.node_id = node_id
        f.hello.region_id = region
        self.send(f)
        return self.read_frame()

    def submit(self, seq, signed_result):
        f = pb().Frame()
        f.submit.seq = seq
        f.submit.result.CopyFrom(signed_result)
        self.send(f)

    def submit_many(self, items):
        """items: [(seq, SignedResult)], sent in one write (pipelined)."""
        data = b""
        for seq, s in items:
            f = pb().Frame()
            f.submit.seq = seq
            f.submit.result.CopyFrom(s)
            data += frame(f)
        self.sock.sendall(data)

    def read_answers(self, n):
        """{seq: ("ack", outcome_name) | ("nack", code_name, reason)}"""
        P = pb()
        out = {}
        while len(out) < n:
            f = self.read_frame()
            if f is None:
                raise ConnectionError("closed after %d of %d answers" % (len(out), n))
            kind = f.WhichOneof("body")
            if kind == "ack":
                out[f.ack.seq] = ("ack", P.Outcome.Name(f.ack.outcome))
            elif kind == "nack":
                out[f.nack.seq] = ("nack", P.RejectCode.Name(f.nack.code), f.nack.reason)
            elif kind == "goodbye":
                raise ConnectionError("Goodbye: " + f.goodbye.reason)
        return out

    def ping(self, nonce):
        f = pb().Frame()
        f.ping.nonce = nonce
        self.send(f)
        return self.read_frame()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
