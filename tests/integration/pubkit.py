#!/usr/bin/python3
"""pubkit.py: helpers for the publication tests (test_publish.py,
test_live_page.py, tests/bench/bench_events.py). Standard library only.

    s = SSE(port, last_event_id="3")     # GET /v1/events, headers read
    ev = s.next("totals", timeout=5)     # {"event", "id", "data"} or None
    c = Chromium(1920, 1080)             # headless, DevTools over a pipe
    tab = c.tab()                        # a page session
    c.send("Page.navigate", {"url": u}, tab)
"""
import base64
import json
import os
import select
import shutil
import socket
import subprocess
import tempfile
import time


class SSE:
    """A Server-Sent Events reader on a raw socket (no library buffers to hide timing)."""

    def __init__(self, port, last_event_id=None, path="/v1/events", timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        extra = "Last-Event-ID: %s\r\n" % last_event_id if last_event_id is not None else ""
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                           "%s\r\n" % (path, extra)).encode())
        self.buf = b""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            self._fill(deadline)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()
        self.last_id = None

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no data from the event stream")
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            raise TimeoutError("no data from the event stream")
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise EOFError("event stream closed")
        self.buf += chunk

    def body_rest(self, timeout=5.0):
        """The body of a non-stream answer (Content-Length, or until the server closes)."""
        deadline = time.monotonic() + timeout
        want = int(self.headers.get("content-length", "-1"))
        try:
            while want < 0 or len(self.buf) < want:
                self._fill(deadline)
        except EOFError:
            pass
        return self.buf

    def next(self, kind=None, timeout=5.0):
        """The next event (of `kind` if given) as a dict, or None at the timeout.
        Comments are recorded in self.comments."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n\n" not in self.buf:
                try:
                    self._fill(deadline)
                except TimeoutError:
                    return None
            block, self.buf = self.buf.split(b"\n\n", 1)
            ev = {"event": "message", "data": None, "id": None, "comments": []}
            data = []
            for line in block.decode("utf-8").split("\n"):
                if line.startswith(":"):
                    ev["comments"].append(line[1:].strip())
                    continue
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "event":
                    ev["event"] = value
                elif name == "data":
                    data.append(value)
                elif name == "id":
                    ev["id"] = value
                    self.last_id = value
                elif name == "retry":
                    ev["retry"] = value
            if not data:
                continue
            ev["data"] = "\n".join(data)
            if kind is None or ev["event"] == kind:
                if ev["event"] == "totals":
                    ev["doc"] = json.loads(ev["data"])
                return ev

    def drain(self, kind="totals", quiet=0.8, timeout=10.0):
        """Reads events until none came for `quiet` seconds; returns the last of `kind`."""
        last = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ev = self.next(kind, timeout=quiet)
            if ev is None:
                return last
            last = ev
        return last

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Chromium:
    """Debian's chromium, headless, driven over the DevTools protocol on a pipe
    (--remote-debugging-pipe: commands on fd 3, replies on fd 4, NUL-separated
    JSON). No port, no websocket, nothing to collide with other tests."""

    def __init__(self, width=1920, height=1080):
        self.width, self.height = width, height
        self.profile = tempfile.mkdtemp(prefix="tally-chromium-")
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()

        def child_fds():
            a, b = os.dup(to_r), os.dup(from_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        args = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + self.profile, "--remote-debugging-pipe",
                "--window-size=%d,%d" % (width, height), "about:blank"]
        self.log = open(os.path.join(self.profile, "chromium.log"), "wb")
        self.proc = subprocess.Popen(args, preexec_fn=child_fds, close_fds=False,
                                     stdout=self.log, stderr=self.log)
        os.close(to_r)
        os.close(from_w)
        self.w, self.r = to_w, from_r
        self.buf = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None, timeout=30.0):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._recv(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def _recv(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer")
            r, _, _ = select.select([self.r], [], [], left)
            if r:
                chunk = os.read(self.r, 1 << 20)
                if not chunk:
                    raise EOFError("chromium exited")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def tab(self, mobile=False):
        tid = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = self.send("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1,
                   "mobile": mobile}, sid)
        self.send("Runtime.enable", None, sid)
        self.send("Page.enable", None, sid)
        return sid

    def eval(self, sid, expr):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True}, sid)
        if "exceptionDetails" in r:
            raise RuntimeError("page exception: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def wait(self, sid, expr, what, timeout=15.0):
        deadline = time.monotonic() + timeout
        # While the page loads, document.body may not exist yet: that is a "not yet".
        guarded = "(function () { try { return %s; } catch (e) { return false; } })()" % expr
        while time.monotonic() < deadline:
            v = self.eval(sid, guarded)
            if v:
                return v
            time.sleep(0.1)
        raise TimeoutError("page: timed out after %.0f s waiting for %s" % (timeout, what))

    def screenshot(self, sid, path, full=False):
        shot = self.send("Page.captureScreenshot",
                         {"format": "png", "captureBeyondViewport": full}, sid)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))

    def page_errors(self):
        """Exceptions and console errors the pages reported so far."""
        out = []
        for m in self.events:
            if m.get("method") == "Runtime.exceptionThrown":
                out.append(m["params"]["exceptionDetails"].get("text", "exception"))
            elif m.get("method") == "Runtime.consoleAPICalled" and \
                    m["params"].get("type") == "error":
                out.append(" ".join(str(a.get("value", a.get("description", "")))
                                    for a in m["params"].get("args", [])))
        return out

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self.w, self.r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def nist_schema_errors(doc, schema):
    """The NIST schema's complaints about doc (draft-04, python3-jsonschema)."""
    import jsonschema
    v = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    return [e.message for e in v.iter_errors(doc)]


# Where the standard's objects refer to others by @id, and to which types
# (the schema's "refTypes", which a JSON schema validator does not check).
REFS = {
    "ElectionScopeId": ("ElectionResults.ReportingUnit",),
    "ElectionDistrictId": ("ElectionResults.ReportingUnit",),
    "GpUnitId": ("ElectionResults.ReportingUnit",),
    "ComposingGpUnitIds": ("ElectionResults.ReportingUnit",),
    "PartyId": ("ElectionResults.Party",),
    "PartyIds": ("ElectionResults.Party",),
    "CandidateIds": ("ElectionResults.Candidate",),
}


def nist_reference_errors(doc):
    """Duplicate @ids, and references to no object or one of the wrong type."""
    types, errs, refs = {}, [], []

    def walk(x):
        if isinstance(x, dict):
            if "@id" in x:
                if x["@id"] in types:
                    errs.append("duplicate @id %r" % x["@id"])
                types[x["@id"]] = x.get("@type")
            for k, v in x.items():
                if k in REFS:
                    for r in (v if isinstance(v, list) else [v]):
                        refs.append((k, r))
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(doc)
    for k, r in refs:
        if types.get(r) not in REFS[k]:
            errs.append("%s %r refers to %s" % (k, r, types.get(r, "nothing")))
    return errs
