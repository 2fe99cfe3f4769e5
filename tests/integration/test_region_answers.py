#!/usr/bin/python3
"""/v1/regions/{id} at the design scale: an election of 1,000,000 precincts
(deploy/election.py generate, 20 regions, the largest KZ-61 with 83,859
precincts, a 5.7 MB answer). Every region answers in full, lists exactly
its precincts with their registered voters, and shows the exact status and
revision of the results sent, in every slice of the answer. Large answers
are streamed (chunked) on a kept-alive connection, pipelined requests
behind one are answered in order, HEAD gets the headers only, an
HTTP/1.0 client gets the answer ended by the close, and an
answer is the committed state of the moment it was asked, whatever
commits while a slow client reads it. A general election (40,000
precincts, five contests) streams its regions the same way, each precinct
with the status and revision of every contest it votes in."""
import json
import os
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import tallyclient as tc  # noqa: E402

PRECINCTS = 1000000
REGIONS = 20
SLICE = 2048  # api.c: REGION_SLICE, precincts per streamed slice
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    else:
        print("ok:", what)


def eq(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want))


def precinct_pairs(region):
    """[(id, registered)] of a region as the definition gives it (compact or not)."""
    return [(p[0], p[1]) if isinstance(p, list) else (p["id"], p["registered"])
            for p in region["precincts"]]


class Reader:
    """HTTP/1.1 answers read off a raw socket: Content-Length, chunked, or HEAD."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _fill(self):
        d = self.sock.recv(1 << 20)
        if not d:
            raise EOFError("connection closed mid-answer")
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_at_least(self, n):
        while len(self.buf) < n:
            self._fill()

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def answer(self, head=False):
        status = int(self._line().split()[1])
        headers = {}
        while True:
            line = self._line()
            if not line:
                break
            k, _, v = line.partition(b":")
            headers[k.strip().lower().decode()] = v.strip().decode("latin-1")
        if head:
            return status, headers, b""
        if "content-length" in headers:
            return status, headers, self._take(int(headers["content-length"]))
        if headers.get("transfer-encoding") != "chunked":
            raise AssertionError("an answer without Content-Length or chunks: %r" % headers)
        parts = []
        while True:
            n = int(self._line(), 16)
            if n == 0:
                if self._line() != b"":
                    raise AssertionError("trailer after the last chunk")
                return status, headers, b"".join(parts)
            parts.append(self._take(n))
            if self._take(2) != b"\r\n":
                raise AssertionError("a chunk not followed by CRLF")


class Node:
    """Signs and submits results for one region; remembers the sequence."""

    def __init__(self, w, agg, el, region):
        d = w.region_dir(region)
        self.el, self.region, self.seq = el, region, 0
        self.signer = tc.Signer(os.path.join(d, "sign.key"))
        self.client = tc.Client(agg.port, d)
        self.client.hello("node-" + region, region)

    def submit(self, precinct, registered, revision=1, yes=None):
        self.seq += 1
        cast = registered * 7 // 10
        r = tc.make_result(self.el["election_id"], self.region, precinct, revision, registered,
                           cast, invalid=2, not_counted=1, yes=yes)
        self.client.submit_many([(self.seq, tc.signed(self.signer, r))])
        return self.client.read_answers(1)[self.seq]


def contest_result(el, contest, region, precinct, registered, revision=1, tag=0):
    """A valid PrecinctResult of one contest, its votes over the contest's options."""
    p = tc.pb().PrecinctResult()
    cast = registered * 7 // 10
    p.election_id, p.region_id, p.contest_id = el["election_id"], region, contest["id"]
    p.precinct_id, p.revision, p.voters_registered = precinct, revision, registered
    p.ballots_issued = p.ballots_received = p.ballots_cast = cast
    p.ballots_invalid = 2
    left = cast - 2
    for i, o in enumerate(contest["options"]):
        v = p.votes.add()
        v.option_id = o["id"]
        v.count = left if i == len(contest["options"]) - 1 else left // 2
        left -= v.count
    p.recorded_at_ms = 1 + tag
    return p


def general():
    """A region of a general election, streamed: every precinct with its contests."""
    with harness.Workspace() as w:
        # election.py generate --contests: a party list, a national
        # candidate contest and three districts.
        w.election_path = os.path.join(w.dir, "election.json")
        subprocess.run([harness.PY, os.path.join(harness.SOURCE, "deploy", "election.py"),
                        "generate", "--regions", "4", "--precincts", "40000", "--seed", "3",
                        "--contests", "5", "--out", w.election_path], check=True, timeout=120)
        with open(w.election_path) as f:
            el = json.load(f)
        w.pki()
        agg = w.aggregator(log_level="info")
        region = el["regions"][1]
        pairs = precinct_pairs(region)
        national = [c for c in el["contests"] if c.get("scope", "national") == "national"]
        district_of = {}
        for d in el.get("districts", []):
            for p in d["precincts"]:
                district_of[p] = d["id"]
        by_district = {c["scope"]["district"]: c for c in el["contests"]
                       if isinstance(c.get("scope"), dict)}
        d = w.region_dir(region["id"])
        signer = tc.Signer(os.path.join(d, "sign.key"))
        client = tc.Client(agg.port, d)
        client.hello("node-" + region["id"], region["id"])
        first = pairs[0]
        last = next(p for p in reversed(pairs) if p[0] in district_of)
        sent = [(national[0], first, 1, 0), (national[1], first, 1, 0), (national[1], first, 1, 1),
                (by_district[district_of[last[0]]], last, 1, 0),
                (by_district[district_of[last[0]]], last, 2, 0)]
        for seq, (c, (pid, reg), rev, tag) in enumerate(sent, 1):
            r = contest_result(el, c, region["id"], pid, reg, rev, tag)
            client.submit_many([(seq, tc.signed(signer, r))])
        answers = client.read_answers(len(sent))
        eq([answers[i][:2] for i in range(1, len(sent) + 1)],
           [("ack", "OUTCOME_ACCEPTED")] * 2 + [("ack", "OUTCOME_CONFLICT")] +
           [("ack", "OUTCOME_ACCEPTED")] * 2, "general election: results of three contests in")
        want = {(first[0], national[0]["id"]): {"status": "counted", "revision": 1},
                (first[0], national[1]["id"]): {"status": "conflict", "revision": 1},
                (last[0], by_district[district_of[last[0]]]["id"]): {"status": "counted", "revision": 2}}
        st, hdr, body = agg.get("/v1/regions/" + region["id"])
        eq((st, hdr.get("transfer-encoding")), (200, "chunked"),
           "general election: %s (%d precincts) is streamed" % (region["id"], len(pairs)))
        doc = json.loads(body)
        check([(p["id"], p["registered"]) for p in doc["precincts"]] == pairs,
              "general election: exactly the region's %d precincts, in order" % len(pairs))
        bad, complete = [], 0
        for p in doc["precincts"]:
            ids = [c["id"] for c in national] + ([by_district[district_of[p["id"]]]["id"]]
                                                 if p["id"] in district_of else [])
            exp = {cid: want.get((p["id"], cid), {"status": "not_reported", "revision": 0})
                   for cid in ids}
            complete += all((p["id"], cid) in want for cid in ids)
            if p["contests"] != exp:
                bad.append((p["id"], p["contests"], exp))
        eq(bad[:3], [], "general election: every precinct's contests, status and revision")
        eq((doc["precincts_total"], doc["precincts_reported"], doc["conflicts"]),
           (len(pairs), complete, 1), "general election: the region's precincts across contests")
        client.close()
        eq(agg.stop(), 0, "general election: the aggregator exits 0 on SIGTERM")
        agg.check_sanitizers()


def check_region(region, doc, want_status, sequence, what):
    pairs = precinct_pairs(region)
    got = [(p["id"], p["registered"]) for p in doc["precincts"]]
    eq((doc["id"], doc["sequence"], doc["precincts_total"], len(got)),
       (region["id"], sequence, len(pairs), len(pairs)), "%s: id, sequence, precinct count" % what)
    check(got == pairs, "%s: lists exactly the region's %d precincts, in order, with their "
          "registered voters" % (what, len(pairs)))
    bad = [(p["id"], p["status"], p["revision"]) for p in doc["precincts"]
           if (p["status"], p["revision"]) != want_status.get(p["id"], ("not_reported", 0))]
    eq(bad, [], "%s: every precinct's status and revision" % what)


def main():
    t_start = time.monotonic()
    with harness.Workspace() as w:
        el = w.election(regions=REGIONS, precincts=PRECINCTS, seed=1)
        w.pki()
        agg = w.aggregator(log_level="info")
        print("set-up: %.1f s" % (time.monotonic() - t_start))
        regions = {r["id"]: r for r in el["regions"]}
        big = max(el["regions"], key=lambda r: len(r["precincts"]))
        eq((big["id"], len(big["precincts"])), ("KZ-61", 83859), "the largest region")
        pairs = precinct_pairs(big)

        # Results in the first, a middle and the last slice of KZ-61's answer:
        # counted, a conflict, a revision 2.
        node = Node(w, agg, el, big["id"])
        first, mid, last = pairs[0], pairs[SLICE * 20 + 7], pairs[-1]
        answers = [node.submit(*first), node.submit(*mid), node.submit(*last),
                   node.submit(*first, yes=1), node.submit(*mid, revision=2)]
        eq(answers, [("ack", "OUTCOME_ACCEPTED")] * 3 + [("ack", "OUTCOME_CONFLICT"),
                                                        ("ack", "OUTCOME_ACCEPTED")],
           "results in KZ-61 acknowledged")
        sequence = 5
        want = {first[0]: ("conflict", 1), mid[0]: ("counted", 2), last[0]: ("counted", 1)}

        # Every region, in full.
        t0 = time.monotonic()
        bodies = {}
        for r in el["regions"]:
            st, hdr, body = agg.get("/v1/regions/" + r["id"])
            eq(st, 200, "%s answers 200" % r["id"])
            eq(hdr.get("transfer-encoding"), "chunked", "%s (%d precincts) is streamed"
               % (r["id"], len(r["precincts"])))
            bodies[r["id"]] = body
            check_region(r, json.loads(body), want if r is big else {}, sequence, r["id"])
        took = time.monotonic() - t0
        total = sum(len(b) for b in bodies.values())
        print("every region: %d bytes in %.2f s" % (total, took))
        eq(sum(len(r["precincts"]) for r in el["regions"]), PRECINCTS, "all precincts listed")
        check(len(bodies[big["id"]]) > 5 << 20, "KZ-61's answer is over 5 MiB (%d bytes)"
              % len(bodies[big["id"]]))

        # Pipelined on one connection: a streamed answer, a small one, HEAD of
        # a streamed one, another streamed one; in order, the connection kept.
        s = socket.create_connection(("127.0.0.1", agg.http_port), timeout=30)
        s.sendall(b"GET /v1/regions/KZ-61 HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"HEAD /v1/regions/KZ-62 HTTP/1.1\r\nHost: x\r\n\r\n"
                  b"GET /v1/regions/KZ-79 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        rd = Reader(s)
        a = rd.answer()
        eq((a[0], a[1].get("connection")), (200, "keep-alive"), "pipelined: KZ-61 first, kept alive")
        check(a[2] == bodies["KZ-61"], "pipelined: KZ-61 byte for byte as fetched alone")
        a = rd.answer()
        eq((a[0], json.loads(a[2]).get("sequence")), (200, sequence), "pipelined: /healthz second")
        a = rd.answer(head=True)
        eq((a[0], a[1].get("transfer-encoding"), a[1].get("content-length")),
           (200, "chunked", None), "pipelined: HEAD of KZ-62 third, headers only")
        a = rd.answer()
        eq((a[0], a[1].get("connection")), (200, "close"), "pipelined: KZ-79 last, then close")
        check(a[2] == bodies["KZ-79"], "pipelined: KZ-79 byte for byte as fetched alone")
        s.settimeout(5)
        eq((s.recv(1), rd.buf), (b"", b""), "pipelined: nothing after the last answer")
        s.close()

        # HTTP/1.0 knows no chunks: the answer ends with the connection.
        s = socket.create_connection(("127.0.0.1", agg.http_port), timeout=30)
        s.sendall(b"GET /v1/regions/KZ-47 HTTP/1.0\r\n\r\n")
        raw = b""
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            raw += d
        s.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 200 ") and b"Connection: close" in head and
              b"Transfer-Encoding" not in head and b"Content-Length" not in head,
              "HTTP/1.0: no chunks, Connection: close (%r)" % head[:200])
        check(body == bodies["KZ-47"], "HTTP/1.0: KZ-47 byte for byte, ended by the close")

        # A slow reader: what it gets is the state when it asked. It reads
        # 64 KiB, a result for KZ-61's next-to-last precinct (in the last
        # slice) is committed, then it reads the rest.
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        s.settimeout(30)
        s.connect(("127.0.0.1", agg.http_port))
        s.sendall(b"GET /v1/regions/KZ-61 HTTP/1.1\r\nHost: x\r\n\r\n")
        rd = Reader(s)
        rd.read_at_least(65536)
        late = pairs[-2]
        eq(node.submit(*late), ("ack", "OUTCOME_ACCEPTED"), "a result committed mid-answer")
        t1 = time.monotonic()
        st, _, _ = agg.get("/healthz")
        eq(st, 200, "/healthz answers while a slow reader holds a streamed answer")
        print("/healthz meanwhile: %.1f ms" % ((time.monotonic() - t1) * 1000))
        st, _, body = rd.answer()
        s.close()
        eq(st, 200, "the slow reader's answer")
        check_region(big, json.loads(body), want, sequence,
                     "slow reader (its precinct %d not yet reported)" % late[0])
        want[late[0]] = ("counted", 1)
        st, _, body = agg.get("/v1/regions/" + big["id"])
        check_region(big, json.loads(body), want, sequence + 1, "asked again")

        node.client.close()
        eq(agg.stop(), 0, "aggregator exits 0 on SIGTERM")
        agg.check_sanitizers()
    general()
    print("wall time: %.1f s" % (time.monotonic() - t_start))
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
