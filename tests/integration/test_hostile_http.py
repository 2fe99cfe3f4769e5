#!/usr/bin/python3
"""Hostile clients on the aggregator's publication port (read-only HTTP).
Request smuggling attempts (Content-Length with Transfer-Encoding, two
Content-Lengths, obfuscated Transfer-Encoding, a request hidden in a body),
huge request lines and headers, slow requests (one header byte at a time),
idle connections, more connections than the cap, bad methods and odd bytes,
pipelined requests whose answers are never read.
Each gets at most one 4xx answer with a JSON error body (or a close), a
smuggled request is never answered as a request of its own, and the server
keeps answering honest clients throughout."""
import json
import os
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import Failure, log, run_main, scenario  # noqa: E402


def exchange(port, data, timeout=8, pause=None):
    """Sends data (a list of pieces, with pauses between them if pause),
    reads until the server closes or goes quiet; returns (bytes, closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    pieces = data if isinstance(data, list) else [data]
    try:
        for p in pieces:
            s.sendall(p)
            if pause:
                time.sleep(pause)
    except OSError:
        pass
    got = b""
    closed = False
    deadline = time.monotonic() + timeout
    s.settimeout(1.0)
    while time.monotonic() < deadline:
        try:
            d = s.recv(65536)
        except socket.timeout:
            if got:
                break
            continue
        except OSError:
            closed = True
            break
        if not d:
            closed = True
            break
        got += d
    s.close()
    return got, closed


def responses(raw):
    """(status, headers, body) of each HTTP/1.x response in raw."""
    out = []
    while raw.startswith(b"HTTP/1."):
        head, sep, rest = raw.partition(b"\r\n\r\n")
        if not sep:
            out.append((int(head.split()[1]), {}, b""))
            break
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(b":")
            headers[k.strip().lower().decode()] = v.strip().decode("latin-1")
        n = int(headers.get("content-length", "0"))
        out.append((status, headers, rest[:n]))
        raw = rest[n:]
    return out


class Http:
    def __init__(self, c):
        c.make_election(regions=2, precincts=20)
        self.agg = c.add_aggregator(extra={"http": {"request_timeout": "3",
                                                    "idle_timeout": "3",
                                                    "max_connections": "64"}}).start()
        self.port = self.agg.http_port

    def honest(self):
        status, body = self.agg.get("/v1/totals")
        if status != 200 or "national" not in json.loads(body):
            raise Failure("honest GET /v1/totals: %d" % status)
        if not self.agg.running():
            raise Failure("aggregator died:\n" + self.agg.tail())


def check_refused(h, what, data, allowed=(400, 413, 414, 431, 501, 505), pause=None,
                  timeout=8, must_close=True):
    raw, closed = exchange(h.port, data, timeout=timeout, pause=pause)
    rs = responses(raw)
    if len(rs) > 1:
        raise Failure("%s: %d responses (%s): a smuggled request was answered" %
                      (what, len(rs), [r[0] for r in rs]))
    if rs:
        status, headers, body = rs[0]
        if status not in allowed:
            raise Failure("%s: status %d, want one of %s" % (what, status, allowed))
        try:
            doc = json.loads(body)
            if status < 400:
                doc = {"status": status}
            if doc.get("status") != status:
                raise ValueError
        except ValueError:
            raise Failure("%s: error body is not {\"error\", \"status\": %d}: %r" %
                          (what, status, body[:200]))
    if must_close and not closed:
        raise Failure("%s: connection left open (answer: %r)" % (what, raw[:120]))
    log("  %-46s -> %s%s" % (what, rs[0][0] if rs else "no answer",
                             ", closed" if closed else ""))
    h.honest()


@scenario("hostile-http-smuggling")
def smuggling(c, rng):
    h = Http(c)
    hidden = b"GET /v1/regions/SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n"
    body = b"0\r\n\r\n" + hidden
    check_refused(h, "Content-Length + Transfer-Encoding", [
        b"GET /v1/totals HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" % len(body) + body])
    check_refused(h, "Transfer-Encoding + Content-Length", [
        b"GET /v1/totals HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Length: 4\r\n\r\n" + body])
    check_refused(h, "two different Content-Lengths", [
        b"GET /v1/totals HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: %d\r\n\r\n"
        % len(hidden) + hidden])
    check_refused(h, "obfuscated Transfer-Encoding", [
        b"GET /v1/totals HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n"
        b"Transfer-Encoding : chunked\r\n\r\n" + body])
    # A body on a GET may be read and ignored (200), or refused; what must
    # not happen is the body answered as a request of its own.
    check_refused(h, "request hidden in a Content-Length body", [
        b"GET /v1/totals HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(hidden) +
        hidden], allowed=(200, 400, 413), must_close=False)
    check_refused(h, "chunked body on a GET", [
        b"GET /v1/totals HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n" + hidden])
    check_refused(h, "bare LF line ends with a body", [
        b"GET /v1/totals HTTP/1.1\nHost: x\nContent-Length: %d\n\n" % len(hidden) + hidden],
        allowed=(200, 400, 413), must_close=False)
    check_refused(h, "NUL in the request line", [b"GET /v1/to\x00tals HTTP/1.1\r\nHost: x\r\n\r\n"],
                  allowed=(400, 404))
    check_refused(h, "header folding (obs-fold)", [
        b"GET /v1/totals HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n Content-Length: 40\r\n\r\n"],
        allowed=(200, 400), must_close=False)
    check_refused(h, "HTTP/2 preface", [b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"],
                  allowed=(400, 405, 501, 505))

    # Pipelining is allowed: three honest requests, three answers in order.
    raw, _ = exchange(h.port, [b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                               b"GET /v1/regions/NOPE HTTP/1.1\r\nHost: x\r\n\r\n"
                               b"GET /v1/totals HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"])
    got = [r[0] for r in responses(raw)]
    if got != [200, 404, 200]:
        raise Failure("pipelined answers %s, want [200, 404, 200]" % got)


@scenario("hostile-http-limits")
def limits(c, rng):
    h = Http(c)
    check_refused(h, "64 KiB request line", [b"GET /" + b"a" * 65536 + b" HTTP/1.1\r\n\r\n"])
    check_refused(h, "100 KiB header", [b"GET /v1/totals HTTP/1.1\r\nX: " + b"b" * 102400 +
                                        b"\r\n\r\n"])
    check_refused(h, "5000 small headers", [b"GET /v1/totals HTTP/1.1\r\n" +
                                            b"".join(b"X-%d: y\r\n" % i for i in range(5000)) +
                                            b"\r\n"])
    check_refused(h, "POST with a body", [b"POST /v1/totals HTTP/1.1\r\nHost: x\r\n"
                                          b"Content-Length: 3\r\n\r\nabc"],
                  allowed=(405, 413), must_close=False)
    check_refused(h, "DELETE", [b"DELETE /v1/totals HTTP/1.1\r\nHost: x\r\n\r\n"],
                  allowed=(405,), must_close=False)
    check_refused(h, "path traversal", [b"GET /v1/../../../etc/passwd HTTP/1.1\r\n\r\n"],
                  allowed=(400, 404), must_close=False)
    check_refused(h, "not HTTP at all", [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 20])

    # Slow request: one header byte every 0.3 s never completes; the
    # server drops it at request_timeout (3 s here), 408 or a plain close.
    t0 = time.monotonic()
    req = b"GET /v1/totals HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"z" * 60 + b"\r\n\r\n"
    raw, closed = exchange(h.port, [req[i:i + 1] for i in range(len(req))], pause=0.3,
                           timeout=20)
    took = time.monotonic() - t0
    rs = responses(raw)
    if rs and rs[0][0] == 200:
        raise Failure("a request trickled over %.0f s was answered 200" % took)
    if took > 3 + 10:
        raise Failure("slow request held for %.1f s (request_timeout 3 s)" % took)
    log("  %-46s -> %s after %.1f s" % ("1 byte per 0.3 s", rs[0][0] if rs else "closed", took))
    h.honest()

    # An idle keep-alive connection is closed after idle_timeout (3 s).
    s = socket.create_connection(("127.0.0.1", h.port), timeout=10)
    t0 = time.monotonic()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(12)
    data = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
    except OSError:
        pass
    took = time.monotonic() - t0
    s.close()
    if not data.startswith(b"HTTP/1.1 200") or took > 3 + 10:
        raise Failure("keep-alive: answer %r, closed after %.1f s" % (data[:20], took))
    log("  %-46s -> closed after %.1f s" % ("idle keep-alive", took))

    # More connections than max_connections (64): the extra ones are shed,
    # and once they go, honest clients are served again.
    conns = []
    for _ in range(200):
        try:
            conns.append(socket.create_connection(("127.0.0.1", h.port), timeout=5))
        except OSError:
            break
    for s in conns:
        s.close()
    wait = time.monotonic() + 10
    while True:
        try:
            h.honest()
            break
        except (OSError, Failure):
            if time.monotonic() > wait:
                raise Failure("not served within 10 s after 200 connections were closed")
            time.sleep(0.2)
    log("  %-46s -> served again" % "200 connections opened and closed")


def pipeline_unread(port, request, n, pause):
    """Sends n copies of request on one connection without reading (a
    16 KiB receive buffer, so the kernel holds little of the answers),
    waits `pause` seconds, then reads until n answers came. Returns
    (answers, ended): the 200 answers received, and whether the server ended
    the connection (close or reset) first."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.settimeout(20)
    s.connect(("127.0.0.1", port))
    ended = False
    try:
        s.sendall(request * n)
    except OSError:
        ended = True  # reset while sending: dropped already
    time.sleep(pause)
    mark = b"HTTP/1.1 200 "
    answers, tail = 0, b""
    s.settimeout(2.0)
    while not ended and answers < n:
        try:
            d = s.recv(1 << 20)
        except socket.timeout:
            break
        except OSError:
            ended = True
            break
        if not d:
            ended = True
        # The status line may straddle two reads.
        answers += (tail + d).count(mark)
        tail = (tail + d)[-(len(mark) - 1):]
    s.close()
    return answers, ended


@scenario("hostile-http-backlog")
def backlog(c, rng):
    """The write queue caps what a client leaves unread, not one answer:
    pipelined requests whose answers stay under the cap (4 MiB) are all
    answered even if the client reads them only later; a client that keeps
    pipelining without reading is dropped once its unread answers pass the
    cap, and the daemon serves everyone else."""
    h = Http(c)
    req = b"GET /v1/totals HTTP/1.1\r\nHost: x\r\n\r\n"
    size = len(h.agg.get("/v1/totals")[1])

    # About 1 MiB of answers, read only after a pause: all of them.
    n = (1 << 20) // size
    answers, ended = pipeline_unread(h.port, req, n, pause=1.0)
    if answers != n or ended:
        raise Failure("%d pipelined requests (%d bytes of answers) read late: %d answers, "
                      "connection %s" % (n, n * size, answers, "ended" if ended else "open"))
    log("  %-46s -> %d answers" % ("%d requests, ~1 MiB, read late" % n, answers))
    h.honest()

    # 32 MiB of answers never read: more than the cap plus what the kernel
    # buffers on both sides can hold (a few MiB).
    n = (32 << 20) // size
    answers, ended = pipeline_unread(h.port, req, n, pause=1.0)
    if not ended or answers >= n:
        raise Failure("%d pipelined requests never read: %d answers, connection %s; want "
                      "it dropped" % (n, answers, "ended" if ended else "open"))
    log("  %-46s -> dropped after %d answers" % ("%d requests, ~32 MiB, unread" % n, answers))
    h.honest()


if __name__ == "__main__":
    sys.exit(run_main(sys.argv[1:] or ["hostile-http-smuggling", "hostile-http-limits",
                                       "hostile-http-backlog"]))
