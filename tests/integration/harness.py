#!/usr/bin/python3
"""harness.py: a small reusable kit for integration tests of the daemons.

    with harness.Workspace() as w:
        w.election(regions=3, precincts=30)        # deploy/election.py generate
        w.pki()                                    # deploy/pki.sh
        agg = w.aggregator()                       # config, free ports, start, /healthz
        doc = agg.get_json("/v1/totals")
        agg.kill9(); agg.start()

Everything lives in a temporary folder removed on exit (TALLY_KEEP=1 keeps
it and prints where). Ports are picked free at run time. Every wait is
bounded and fails with what it waited for.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import shutil
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgserver  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("TALLY_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("TALLY_BUILD_DIR") or os.path.join(SOURCE, "build", "agg")
PY = "/usr/bin/python3"
AGGREGATOR_BIN = os.path.join(BUILD, "daemon", "aggregator", "tally-aggregator")


class HarnessError(AssertionError):
    pass


def free_port():
    """A TCP port free on 127.0.0.1 right now (bind to port 0, read it back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, predicate, timeout=20.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    raise HarnessError("timed out after %.0f s waiting for %s" % (timeout, what))


def http_request(port, method, path, headers=None, body=None, timeout=10.0):
    """(status, headers dict lowercased, body bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


class Aggregator:
    def __init__(self, ws, name="agg", extra_conf="", log_level="debug"):
        self.ws = ws
        self.name = name
        self.dir = os.path.join(ws.dir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.http_port = free_port()
        self.state_dir = os.path.join(self.dir, "state")
        self.config = os.path.join(self.dir, "aggregator.ini")
        self.log_path = os.path.join(self.dir, "stderr.log")
        self.proc = None
        self.extra_conf = extra_conf
        self.log_level = log_level
        # TALLY_STORE_BACKEND=postgresql: a database of its own on a shared test server.
        self.store = None
        if "[store]" not in extra_conf:
            store = self.store = pgserver.store_section()
            if store:
                self.extra_conf += "[store]\nbackend = %s\ndsn = %s\n" % (store["backend"],
                                                                          store["dsn"])
        self.write_config()

    def write_config(self):
        p = self.ws.pki_dir
        with open(self.config, "w") as f:
            f.write("[aggregator]\nid = %s\nelection = %s\nstate_dir = %s\n"
                    "listen = 127.0.0.1:%d\nhttp_listen = 127.0.0.1:%d\n"
                    "trusted_keys = %s\nlog_level = %s\n%s"
                    "[tls]\nca = %s\ncert = %s\nkey = %s\n" % (
                        self.name, self.ws.election_path, self.state_dir, self.port,
                        self.http_port, os.path.join(p, "aggregator", "trusted"),
                        self.log_level, self.extra_conf, os.path.join(p, "ca.pem"),
                        os.path.join(p, "aggregator", "aggregator.pem"),
                        os.path.join(p, "aggregator", "aggregator.key")))

    def start(self, wait=True):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([AGGREGATOR_BIN, "--config", self.config],
                                     stdout=self.logf, stderr=self.logf)
        if wait:
            self.wait_healthy()
        return self

    def wait_healthy(self, timeout=30.0):
        def ok():
            if self.proc.poll() is not None:
                raise HarnessError("aggregator exited with %s:\n%s" % (
                    self.proc.returncode, self.log_tail()))
            try:
                st, _, _ = http_request(self.http_port, "GET", "/healthz", timeout=2)
                return st in (200, 503)
            except OSError:
                return False
        wait_for("aggregator /healthz", ok, timeout)

    def get(self, path, method="GET", headers=None):
        return http_request(self.http_port, method, path, headers)

    def get_json(self, path, expect=200):
        st, _, body = self.get(path)
        if st != expect:
            raise HarnessError("GET %s: %d, expected %d: %r" % (path, st, expect, body[:300]))
        return json.loads(body)

    def stop(self, timeout=20.0):
        """SIGTERM; returns the exit code."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise HarnessError("aggregator ignored SIGTERM for %.0f s" % timeout)
        finally:
            self.logf.close()

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.logf.close()

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    def check_sanitizers(self):
        text = self.log_text()
        for mark in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:"):
            if mark in text:
                raise HarnessError("sanitizer report in %s:\n%s" % (self.log_path, text[-4000:]))

    def db(self):
        return os.path.join(self.state_dir, "tally.db")

    def sql(self, query):
        """Rows (tuples) of a read-only query on the store, whichever the backend."""
        if self.store:
            return pgserver.query(self.store["dsn"], query)
        import sqlite3
        db = sqlite3.connect(self.db())
        try:
            return db.execute(query).fetchall()
        finally:
            db.close()


class Workspace:
    def __init__(self, prefix="tally-it-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.election_path = None
        self.pki_dir = None
        self.daemons = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for d in self.daemons:
            try:
                d.kill9()
            except Exception:
                pass
        if exc[0] is not None:
            for d in self.daemons:
                sys.stderr.write("--- %s log tail ---\n%s\n" % (d.name, d.log_tail(60)))
        if os.environ.get("TALLY_KEEP"):
            sys.stderr.write("kept %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False

    def election(self, regions=3, precincts=30, seed=1, rules=True):
        self.election_path = os.path.join(self.dir, "election.json")
        cmd = [PY, os.path.join(SOURCE, "deploy", "election.py"), "generate",
               "--regions", str(regions), "--precincts", str(precincts),
               "--seed", str(seed), "--out", self.election_path]
        if not rules:
            cmd.append("--no-rules")
        subprocess.run(cmd, check=True, timeout=120)
        with open(self.election_path) as f:
            return json.load(f)

    def pki(self, out="pki"):
        self.pki_dir = os.path.join(self.dir, out)
        subprocess.run(["bash", os.path.join(SOURCE, "deploy", "pki.sh"), "--election",
                        self.election_path, "--out", self.pki_dir],
                       check=True, timeout=300, stdout=subprocess.DEVNULL)
        return self.pki_dir

    def foreign_pki(self):
        """A second, unrelated CA with the same regions (for refusal tests)."""
        return self.pki("pki-foreign") if False else self._foreign()

    def _foreign(self):
        d = os.path.join(self.dir, "pki-foreign")
        subprocess.run(["bash", os.path.join(SOURCE, "deploy", "pki.sh"), "--election",
                        self.election_path, "--out", d],
                       check=True, timeout=300, stdout=subprocess.DEVNULL)
        return d

    def region_dir(self, region, pki_dir=None):
        return os.path.join(pki_dir or self.pki_dir, "regions", region)

    def aggregator(self, name="agg", start=True, extra_conf="", log_level="debug"):
        a = Aggregator(self, name, extra_conf, log_level)
        self.daemons.append(a)
        if start:
            a.start()
        return a
