#!/usr/bin/python3
"""scenario.py: the reliability harness. Starts the real daemons (one
aggregator, several nodes) on loopback with a throwaway PKI made by
deploy/pki.sh and an election and protocols made by deploy/election.py,
injects faults (kill -9, a TCP fault proxy, a full disk, hostile peers), and
checks the end state against an independent sum of what was submitted.

A scenario is a function taking (cluster, rng), registered with @scenario:

    @scenario("aggregator-crash-loop")
    def crash_loop(c, rng):
        c.start(regions=4, precincts=100)
        ...
        c.converge()            # waits, then checks every invariant

    if __name__ == "__main__":
        sys.exit(run_main(["aggregator-crash-loop"]))

Randomness comes from one seed: printed at start and on failure, replayed
with TALLY_SEED=N. TALLY_KEEP=1 keeps the temporary folder (logs, stores).
Every wait is bounded; a timeout is a failure that says what it waited for.
"""
import asyncio
import atexit
import csv
import glob
import hashlib
import http.client
import json
import os
import random
import select
import shutil
import signal
import socket
import sqlite3
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgserver  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.environ.get("TALLY_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE)))
BUILD = os.path.abspath(os.environ.get("TALLY_BUILD_DIR") or os.path.join(SOURCE, "build", "rel"))
PY = "/usr/bin/python3"
OPTIONS = ("yes", "no")  # deploy/election.py's option ids

AGGREGATOR_BIN = os.path.join(BUILD, "daemon", "aggregator", "tally-aggregator")
NODE_BIN = os.path.join(BUILD, "daemon", "node", "tally-node")
TALLYCTL_BIN = os.path.join(BUILD, "daemon", "cli", "tallyctl")

# Sanitizer reports in a daemon's stderr fail the scenario even if it lived.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: ThreadSanitizer", "ERROR: ThreadSanitizer")


class Failure(AssertionError):
    """An invariant broke or a bounded wait ran out."""


class Skip(Exception):
    """The scenario cannot run here (say why); counted, not failed."""


def log(msg):
    print("[%7.2f] %s" % (time.monotonic() - _T0, msg), flush=True)


_T0 = time.monotonic()


def wait_until(pred, timeout, what, interval=0.05):
    """Polls pred() until it returns a true value (returned) or timeout."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except (OSError, http.client.HTTPException, ValueError, sqlite3.Error) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            extra = " (last error: %r)" % (last_exc,) if last_exc else ""
            raise Failure("timed out after %.0f s waiting for %s%s" % (timeout, what, extra))
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sh(args, **kw):
    r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=kw.pop("timeout", 120), **kw)
    if r.returncode != 0:
        raise Failure("%s failed (%d):\n%s" % (" ".join(args), r.returncode, r.stdout[-3000:]))
    return r.stdout


# ---- sd_notify listener -------------------------------------------------------


class NotifySocket:
    """A $NOTIFY_SOCKET for one daemon: keeps every datagram it sends."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []  # (monotonic time, {key: value})
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            kv = {}
            for line in data.decode("utf-8", "replace").split("\n"):
                if "=" in line:
                    k, v = line.split("=", 1)
                    kv[k] = v
            with self.lock:
                self.messages.append((time.monotonic(), kv))

    def count(self, key, value=None, since=0.0):
        with self.lock:
            return sum(1 for t, kv in self.messages
                       if t >= since and key in kv and (value is None or kv[key] == value))

    def statuses(self, since=0.0):
        with self.lock:
            return [kv["STATUS"] for t, kv in self.messages if t >= since and "STATUS" in kv]

    def close(self):
        self.stopping = True
        self.sock.close()


# ---- daemons ------------------------------------------------------------------


class Daemon:
    """One daemon process: started, killed, restarted; stderr kept per run."""

    def __init__(self, name, binary, config, folder):
        self.name = name
        self.binary = binary
        self.config = config
        self.folder = folder
        self.proc = None
        self.runs = 0
        self.notify = NotifySocket(os.path.join(folder, "notify.sock"))
        self.started_at = 0.0

    def log_path(self, run=None):
        return os.path.join(self.folder, "stderr.%d.log" % (run or self.runs))

    def start(self, wait_ready=True, timeout=30):
        assert self.proc is None or self.proc.poll() is not None, self.name + " already runs"
        self.runs += 1
        env = dict(os.environ)
        env["NOTIFY_SOCKET"] = self.notify.path
        self.started_at = time.monotonic()
        with open(self.log_path(), "wb") as err:
            # Daemons start with default signal dispositions, as under
            # systemd: a daemon that forgets to ignore SIGPIPE dies of it.
            # TALLY_IGNORE_SIGPIPE=1 hands them Python's SIG_IGN instead, to
            # look past such a bug while it is being fixed.
            self.proc = subprocess.Popen([self.binary, "--config", self.config],
                                         stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         cwd=self.folder, env=env,
                                         restore_signals=os.environ.get(
                                             "TALLY_IGNORE_SIGPIPE") != "1")
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=30):
        since = self.started_at

        def ready():
            if self.proc.poll() is not None:
                raise Failure("%s exited with %s before READY=1:\n%s" %
                              (self.name, self.proc.returncode, self.tail()))
            return self.notify.count("READY", "1", since) > 0
        wait_until(ready, timeout, "%s to send READY=1" % self.name)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send(self, sig):
        """Sends sig without waiting (SIGHUP, SIGSTOP, SIGCONT)."""
        if self.running():
            self.proc.send_signal(sig)

    def kill(self, sig=signal.SIGKILL):
        if self.running():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise Failure("%s did not exit within 30 s of signal %d" % (self.name, sig))

    def stop(self):
        """SIGTERM; the daemon must exit 0 (contract) within 30 s."""
        if not self.running():
            return
        self.kill(signal.SIGTERM)
        if self.proc.returncode != 0:
            raise Failure("%s exited %d after SIGTERM:\n%s" %
                          (self.name, self.proc.returncode, self.tail()))

    def tail(self, n=40):
        try:
            with open(self.log_path(), "r", errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def logs(self):
        text = []
        for run in range(1, self.runs + 1):
            try:
                with open(self.log_path(run), "r", errors="replace") as f:
                    text.append(f.read())
            except OSError:
                pass
        return "\n".join(text)

    def check_sanitizers(self):
        for run in range(1, self.runs + 1):
            try:
                with open(self.log_path(run), "r", errors="replace") as f:
                    body = f.read()
            except OSError:
                continue
            for mark in SANITIZER_MARKS:
                if mark in body:
                    i = body.index(mark)
                    raise Failure("%s run %d: sanitizer report:\n%s" %
                                  (self.name, run, body[max(0, i - 200):i + 3000]))

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.notify.close()


class Aggregator(Daemon):
    def __init__(self, cluster, name="aggregator", state_dir=None, extra=None):
        folder = os.path.join(cluster.tmp, name)
        os.makedirs(folder, exist_ok=True)
        self.listen_port = free_port()
        self.http_port = free_port()
        self.state_dir = state_dir or os.path.join(folder, "state")
        pki = os.path.join(cluster.pki, "aggregator")
        sections = {
            "aggregator": {
                "id": name, "election": cluster.election_path, "state_dir": self.state_dir,
                "listen": "127.0.0.1:%d" % self.listen_port,
                "http_listen": "127.0.0.1:%d" % self.http_port,
                "trusted_keys": os.path.join(pki, "trusted"), "log_level": "info",
                "handshake_timeout": "3", "idle_timeout": "30", "commit_retry": "1",
            },
            "http": {"request_timeout": "3", "idle_timeout": "5"},
            "tls": {"ca": os.path.join(pki, "ca.pem"),
                    "cert": os.path.join(pki, "aggregator.pem"),
                    "key": os.path.join(pki, "aggregator.key")},
        }
        for sec, kv in (extra or {}).items():
            sections.setdefault(sec, {}).update(kv)
        # TALLY_STORE_BACKEND=postgresql: a database of its own on a shared test server.
        if "store" not in sections:
            store = pgserver.store_section()
            if store:
                sections["store"] = store
        config = os.path.join(folder, "aggregator.ini")
        write_ini(config, sections)
        self.sections = sections
        super().__init__(name, AGGREGATOR_BIN, config, folder)

    def start(self, wait_ready=True, timeout=30):
        """On the first start only, a port taken by someone else between
        free_port() and the bind is replaced and the start retried."""
        for attempt in range(3):
            try:
                return super().start(wait_ready, timeout)
            except Failure:
                if self.runs > 1 + attempt or "in use" not in self.tail():
                    raise
            self.listen_port, self.http_port = free_port(), free_port()
            self.sections["aggregator"]["listen"] = "127.0.0.1:%d" % self.listen_port
            self.sections["aggregator"]["http_listen"] = "127.0.0.1:%d" % self.http_port
            write_ini(self.config, self.sections)
        return super().start(wait_ready, timeout)

    def wait_ready(self, timeout=30):
        super().wait_ready(timeout)
        wait_until(lambda: self.get("/healthz")[0] == 200, 10, self.name + " /healthz")

    def get(self, path, timeout=5):
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    def get_json(self, path):
        status, body = self.get(path)
        if status != 200:
            raise Failure("GET %s: %d %s" % (path, status, body[:300]))
        return json.loads(body)

    def totals(self):
        return self.get_json("/v1/totals")

    def metric(self, name, **labels):
        """The value of one series of /metrics (None if absent)."""
        status, body = self.get("/metrics")
        if status != 200:
            raise Failure("GET /metrics: %d" % status)
        want = name + ("{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}"
                       if labels else "")
        for line in body.decode().splitlines():
            key, _, value = line.rpartition(" ")
            if key == want:
                return float(value)
        return None

    def status_text(self):
        s = self.notify.statuses()
        return s[-1] if s else ""


class Node(Daemon):
    def __init__(self, cluster, region, aggregators, name=None, extra=None):
        name = name or "node-" + region
        folder = os.path.join(cluster.tmp, name)
        os.makedirs(folder, exist_ok=True)
        self.region = region
        self.state_dir = os.path.join(folder, "state")
        self.spool = os.path.join(folder, "spool")
        os.makedirs(self.spool, exist_ok=True)
        self.control = os.path.join(folder, "control.sock")
        pki = os.path.join(cluster.pki, "regions", region)
        sections = {
            "node": {
                "id": name, "region": region, "election": cluster.election_path,
                "state_dir": self.state_dir, "spool_dir": self.spool,
                "control_socket": self.control,
                "signing_key": os.path.join(pki, "sign.key"),
                "aggregators": ", ".join("127.0.0.1:%d" % p for p in aggregators),
                "log_level": "info",
            },
            "tls": {"ca": os.path.join(pki, "ca.pem"), "cert": os.path.join(pki, "node.pem"),
                    "key": os.path.join(pki, "node.key"), "server_name": "localhost"},
        }
        for sec, kv in (extra or {}).items():
            sections.setdefault(sec, {}).update(kv)
        config = os.path.join(folder, "node.ini")
        write_ini(config, sections)
        self.aggregators = list(aggregators)
        super().__init__(name, NODE_BIN, config, folder)

    def drop(self, path, name=None):
        """Puts a protocol file into the spool the way writers must: tmp + rename."""
        name = name or os.path.basename(path)
        tmp = os.path.join(self.spool, "." + name + ".tmp")
        shutil.copyfile(path, tmp)
        os.rename(tmp, os.path.join(self.spool, name))

    def spool_pending(self):
        """Files not yet taken: in the spool, or being taken in processing/."""
        proc = os.path.join(self.spool, "processing")
        names = os.listdir(self.spool) + (
            ["processing/" + n for n in os.listdir(proc)] if os.path.isdir(proc) else [])
        return sorted(n for n in names if n.endswith(".json") or n.endswith(".csv"))

    def outbox(self):
        """Entries of the node's outbox as dicts (read-only; works while it runs)."""
        path = os.path.join(self.state_dir, "outbox.db")
        if not os.path.exists(path):
            return []
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=5)
        try:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute(
                "SELECT id, precinct_id, revision, payload_sha256, state, outcome, code, reason"
                " FROM entries ORDER BY id")]
        finally:
            db.close()

    def status(self):
        r = subprocess.run([TALLYCTL_BIN, "status", "--socket", self.control, "--json"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=10)
        if r.returncode != 0:
            raise Failure("tallyctl status for %s failed: %s" % (self.name, r.stderr))
        return json.loads(r.stdout)


def write_ini(path, sections):
    with open(path, "w") as f:
        for sec, kv in sections.items():
            f.write("[%s]\n" % sec)
            for k, v in kv.items():
                f.write("%s = %s\n" % (k, v))
            f.write("\n")


# ---- protocols and expected sums ----------------------------------------------


FIGURES = ("voters_registered", "ballots_received", "ballots_issued", "ballots_cancelled",
           "ballots_cast", "ballots_invalid", "ballots_not_counted")


def read_protocols(path):
    """Rows of one protocol file (JSON or CSV) as dicts of ints plus 'votes'."""
    if path.endswith(".json"):
        with open(path) as f:
            d = json.load(f)
        d.setdefault("ballots_not_counted", 0)
        return [d]
    rows = []
    with open(path, newline="") as f:
        for rec in csv.DictReader(f):
            d = {k: int(v) for k, v in rec.items() if k not in OPTIONS}
            d.setdefault("ballots_not_counted", 0)
            d["votes"] = {o: int(rec[o]) for o in OPTIONS if o in rec}
            rows.append(d)
    return rows


class Expected:
    """The independent sum: per precinct the highest revision submitted."""

    def __init__(self, election):
        self.election = election
        self.region_of = {}
        for reg in election["regions"]:
            for p in reg["precincts"]:
                self.region_of[p["id"]] = reg["id"]
        self.latest = {}  # precinct -> row
        self.rows = 0

    def add_file(self, path):
        for row in read_protocols(path):
            self.rows += 1
            p = row["precinct_id"]
            if p not in self.latest or row["revision"] > self.latest[p]["revision"]:
                self.latest[p] = row

    def figures(self, region=None):
        f = {"precincts_reported": 0, "voters_registered": 0, "ballots_cast": 0,
             "ballots_invalid": 0, "ballots_not_counted": 0, "votes": {o: 0 for o in OPTIONS}}
        for p, row in self.latest.items():
            if region is not None and self.region_of[p] != region:
                continue
            f["precincts_reported"] += 1
            for k in ("voters_registered", "ballots_cast", "ballots_invalid",
                      "ballots_not_counted"):
                f[k] += row[k]
            for o in OPTIONS:
                f["votes"][o] += row["votes"].get(o, 0)
        return f


def compare_figures(where, want, got):
    errors = []
    for k, v in want.items():
        if k == "votes":
            for o, n in v.items():
                if got.get("votes", {}).get(o) != n:
                    errors.append("%s votes.%s: want %d, got %s" %
                                  (where, o, n, got.get("votes", {}).get(o)))
        elif got.get(k) != v:
            errors.append("%s %s: want %d, got %s" % (where, k, v, got.get(k)))
    if got.get("conflicts", 0) != 0:
        errors.append("%s conflicts: want 0, got %s" % (where, got.get("conflicts")))
    return errors


# ---- the TCP fault proxy --------------------------------------------------------


class FaultProxy:
    """A TCP proxy on 127.0.0.1 between nodes and an aggregator, on its own
    asyncio thread. Modes for new connections:
      pass       forward (subject to delay / dribble / chop / cut_after)
      refuse     accept and reset at once (a partition)
      blackhole  accept and never answer, never connect upstream (TLS hangs)
    Knobs: delay (seconds per chunk), dribble (seconds per byte),
    chop (split chunks at random points with pauses up to chop seconds),
    cut_after ((lo, hi): reset each connection after a random number of bytes
    in lo..hi, mid-frame), and cut_all() resets every open connection now.
    """

    def __init__(self, target_port, rng):
        self.target = ("127.0.0.1", target_port)
        self.rng = random.Random(rng.random())
        self.mode = "pass"
        self.delay = 0.0
        self.dribble = 0.0
        self.chop = 0.0
        self.cut_after = None
        self.conns = set()
        self.stats = {"accepted": 0, "cut": 0, "refused": 0, "blackholed": 0,
                      "bytes_up": 0, "bytes_down": 0}
        self.loop = asyncio.new_event_loop()
        self.port = None
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self.thread.start()
        if not started.wait(10):
            raise Failure("fault proxy did not start")

    def _run(self, started):
        asyncio.set_event_loop(self.loop)

        async def boot():
            self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0,
                                                     reuse_address=True)
            self.port = self.server.sockets[0].getsockname()[1]
        self.loop.run_until_complete(boot())
        started.set()
        self.loop.run_forever()

    def set(self, **kw):
        def apply():
            for k, v in kw.items():
                if not hasattr(self, k):
                    raise AttributeError(k)
                setattr(self, k, v)
        self._call(apply)

    def _call(self, fn):
        done = threading.Event()
        box = {}

        def wrapper():
            try:
                box["v"] = fn()
            except BaseException as e:  # noqa: handed to the caller
                box["e"] = e
            done.set()
        self.loop.call_soon_threadsafe(wrapper)
        if not done.wait(10):
            raise Failure("fault proxy stuck")
        if "e" in box:
            raise box["e"]
        return box.get("v")

    def cut_all(self):
        def cut():
            n = 0
            for pair in list(self.conns):
                for w in pair:
                    if w is not None:
                        w.transport.abort()
                n += 1
            self.stats["cut"] += n
            return n
        return self._call(cut)

    def partition(self, on=True):
        """New connections reset, existing ones cut."""
        self.set(mode="refuse" if on else "pass")
        if on:
            self.cut_all()

    async def _handle(self, reader, writer):
        self.stats["accepted"] += 1
        mode = self.mode
        if mode == "refuse":
            self.stats["refused"] += 1
            writer.transport.abort()
            return
        if mode == "blackhole":
            self.stats["blackholed"] += 1
            pair = (writer, None)
            self.conns.add(pair)
            try:
                while await reader.read(65536):
                    pass
            except (ConnectionError, OSError):
                pass
            finally:
                self.conns.discard(pair)
                writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(*self.target), 5)
        except (OSError, asyncio.TimeoutError):
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self.conns.add(pair)
        budget = None
        if self.cut_after is not None:
            budget = [self.rng.randint(*self.cut_after)]
        try:
            await asyncio.gather(self._pump(reader, up_writer, pair, budget, "bytes_up"),
                                 self._pump(up_reader, writer, pair, budget, "bytes_down"))
        finally:
            self.conns.discard(pair)
            writer.transport.abort()
            up_writer.transport.abort()

    async def _pump(self, reader, writer, pair, budget, counter):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                if budget is not None:
                    if len(data) >= budget[0]:
                        writer.write(data[:budget[0]])
                        await writer.drain()
                        self.stats["cut"] += 1
                        for w in pair:
                            w.transport.abort()
                        return
                    budget[0] -= len(data)
                if self.delay:
                    await asyncio.sleep(self.delay)
                pieces = [data]
                if self.dribble:
                    pieces = [data[i:i + 1] for i in range(len(data))]
                elif self.chop and len(data) > 1:
                    cuts = sorted(self.rng.sample(range(1, len(data)), min(3, len(data) - 1)))
                    pieces = [data[i:j] for i, j in zip([0] + cuts, cuts + [len(data)])]
                for piece in pieces:
                    writer.write(piece)
                    await writer.drain()
                    self.stats[counter] += len(piece)
                    if self.dribble:
                        await asyncio.sleep(self.dribble)
                    elif self.chop:
                        await asyncio.sleep(self.rng.random() * self.chop)
        except (ConnectionError, OSError, asyncio.CancelledError):
            for w in pair:
                w.transport.abort()

    def close(self):
        def stop():
            self.server.close()
            for pair in list(self.conns):
                for w in pair:
                    if w is not None:
                        w.transport.abort()
        try:
            self._call(stop)
        except Failure:
            pass

        async def drain():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            asyncio.run_coroutine_threadsafe(drain(), self.loop).result(5)
        except Exception:  # noqa: best effort at teardown
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


# ---- PKI ------------------------------------------------------------------------


_PKI_CACHE = {}  # tuple of region ids -> a pristine PKI made by deploy/pki.sh


def make_pki(election_path, regions, out):
    """A throwaway PKI for these regions at out. deploy/pki.sh makes one per
    set of regions and process (it takes seconds); each scenario gets its
    own copy, so one that rotates keys or renews certificates touches only
    its own."""
    key = tuple(regions)
    if key not in _PKI_CACHE:
        cache = tempfile.mkdtemp(prefix="tally-pki-cache-")
        atexit.register(shutil.rmtree, cache, True)
        sh(["bash", os.path.join(SOURCE, "deploy", "pki.sh"), "--election", election_path,
            "--out", os.path.join(cache, "pki")], timeout=300)
        _PKI_CACHE[key] = os.path.join(cache, "pki")
    shutil.copytree(_PKI_CACHE[key], out, symlinks=True)


# ---- the cluster ----------------------------------------------------------------


class Cluster:
    """Everything one scenario runs: temp folder, election, PKI, daemons."""

    def __init__(self, name, rng):
        self.name = name
        self.rng = rng
        self.tmp = tempfile.mkdtemp(prefix="tally-%s-" % name)
        self.daemons = []
        self.proxies = []
        self.mounts = []
        self.aggregator = None
        self.nodes = {}
        self.expected = None
        self.files = []  # every protocol file handed to a node
        self.election = None
        self.stats = {"crash_points": 0, "results_checked": 0}

    # -- set-up
    def make_election(self, regions=4, precincts=100):
        self.election_path = os.path.join(self.tmp, "election.json")
        sh([PY, os.path.join(SOURCE, "deploy", "election.py"), "generate", "--regions",
            str(regions), "--precincts", str(precincts), "--seed",
            str(self.rng.randrange(1 << 30)), "--out", self.election_path])
        with open(self.election_path) as f:
            self.election = json.load(f)
        self.expected = Expected(self.election)
        self.pki = os.path.join(self.tmp, "pki")
        make_pki(self.election_path, self.regions(), self.pki)
        return self

    def regions(self):
        return [r["id"] for r in self.election["regions"]]

    def make_results(self, fmt="csv", per_file=10, corrections=0, regions=None, name="results"):
        out = os.path.join(self.tmp, name)
        args = [PY, os.path.join(SOURCE, "deploy", "election.py"), "results", "--election",
                self.election_path, "--out-dir", out, "--format", fmt, "--seed",
                str(self.rng.randrange(1 << 30))]
        if fmt == "csv":
            args += ["--per-file", str(per_file)]
        if corrections:
            args += ["--corrections", str(corrections)]
        if regions:
            args += ["--region", ",".join(regions)]
        sh(args)
        files = {}
        for region in self.regions():
            files[region] = sorted(glob.glob(os.path.join(out, region, "*." + fmt)))
        with open(os.path.join(out, "expected.json")) as f:
            declared = json.load(f)
        return files, declared

    def add_aggregator(self, **kw):
        a = Aggregator(self, **kw)
        self.daemons.append(a)
        if self.aggregator is None:
            self.aggregator = a
        return a

    def add_node(self, region, aggregator_ports=None, **kw):
        ports = aggregator_ports or [self.aggregator.listen_port]
        n = Node(self, region, ports, **kw)
        self.daemons.append(n)
        self.nodes[region] = n
        return n

    def add_proxy(self, target_port):
        p = FaultProxy(target_port, self.rng)
        self.proxies.append(p)
        return p

    def start(self, regions=4, precincts=100, proxy=False, node_extra=None, agg_extra=None):
        """Election, PKI, one aggregator, one node per region (optionally
        each behind its own fault proxy). Returns self."""
        self.make_election(regions, precincts)
        self.add_aggregator(extra=agg_extra).start()
        for r in self.regions():
            port = self.aggregator.listen_port
            if proxy:
                port = self.add_proxy(port).port
            self.add_node(r, [port], extra=node_extra).start()
        return self

    def stream(self, fmt="csv", per_file=20, corrections=20, name="results"):
        """(node, path) pairs of one night's protocols for the nodes started,
        shuffled so regions interleave; corrections come last."""
        files, _ = self.make_results(fmt, per_file=per_file, corrections=corrections, name=name)
        main, late = [], []
        for region, fs in files.items():
            if region not in self.nodes:
                continue
            for f in fs:
                base = os.path.basename(f)
                late_one = "correction" in base or "-r" in base
                (late if late_one else main).append((self.nodes[region], f))
        self.rng.shuffle(main)
        self.rng.shuffle(late)
        return main + late

    def feed_all(self, work):
        for node, f in work:
            self.feed(node, f)

    def feed(self, node, path):
        self.expected.add_file(path)
        self.files.append(path)
        node.drop(path)

    def mount_tmpfs(self, path, size):
        """A tiny tmpfs at path; Skip if mounting is not permitted here."""
        os.makedirs(path, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size,
                            "tmpfs", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=30)
        if r.returncode != 0:
            raise Skip("cannot mount a tmpfs here (%s): %s" % (path, r.stdout.strip()))
        self.mounts.append(path)
        return path

    # -- checks
    def node_outboxes_settled(self):
        for n in self.nodes.values():
            if n.spool_pending():
                return False
            for e in n.outbox():
                if e["state"] == 0:
                    return False
        return True

    def totals_match(self):
        t = self.aggregator.totals()
        return not self.totals_errors(t)

    def totals_errors(self, t):
        errors = compare_figures("national", self.expected.figures(), t["national"])
        by_id = {r["id"]: r for r in t.get("regions", [])}
        for region in self.regions():
            if region not in by_id:
                errors.append("region %s missing from /v1/totals" % region)
                continue
            errors += compare_figures(region, self.expected.figures(region), by_id[region])
        return errors

    def converge(self, timeout=90):
        """Waits until every node's spool and outbox are drained and the
        totals equal the expected sums, then checks every invariant."""
        for d in self.daemons:
            if not d.running():
                raise Failure("%s is not running at the end (exit status %s):\n%s" %
                              (d.name, d.proc.returncode if d.proc else None, d.tail()))
        try:
            wait_until(self.node_outboxes_settled, timeout,
                       "every node to drain its spool and outbox")
            wait_until(self.totals_match, 30, "totals to equal the expected sums")
        except Failure:
            t = None
            try:
                t = self.aggregator.totals()
            except Exception:  # noqa: report what we can
                pass
            if t is not None:
                errs = self.totals_errors(t)
                raise Failure("totals differ from the expected sums:\n  " +
                              "\n  ".join(errs[:30]))
            raise
        self.check_invariants()

    def check_invariants(self):
        """Totals == expected exactly; every delivered entry is in the store;
        nothing rejected; every precinct once with its highest revision."""
        t = self.aggregator.totals()
        errs = self.totals_errors(t)
        if errs:
            raise Failure("totals differ from the expected sums:\n  " + "\n  ".join(errs[:30]))
        national = t["national"]
        if national["precincts_reported"] != len(self.expected.latest):
            raise Failure("precincts_reported %d != %d precincts submitted" %
                          (national["precincts_reported"], len(self.expected.latest)))
        delivered = {}
        hashes = {}  # (precinct, revision) -> payload SHA-256 the node signed
        for n in self.nodes.values():
            for e in n.outbox():
                if e["state"] == 2:
                    raise Failure("%s: entry %d (precinct %d rev %d) rejected: %s %s" %
                                  (n.name, e["id"], e["precinct_id"], e["revision"], e["code"],
                                   e["reason"]))
                if e["state"] == 1:
                    delivered.setdefault(e["precinct_id"], set()).add(e["revision"])
                    hashes[(e["precinct_id"], e["revision"])] = bytes(e["payload_sha256"]).hex()
        # Every acknowledged protocol is in the store: the aggregator knows
        # each delivered (precinct, revision), and counts the highest.
        for p, row in self.expected.latest.items():
            revs = delivered.get(p, set())
            if row["revision"] not in revs:
                raise Failure("precinct %d rev %d never acknowledged to a node (acked: %s)" %
                              (p, row["revision"], sorted(revs)))
        seq = t.get("sequence")
        want_min = len(self.expected.latest)
        if seq is None or seq < want_min or seq > self.expected.rows:
            raise Failure("sequence %s outside [%d, %d]" % (seq, want_min, self.expected.rows))
        self.check_precincts(delivered, hashes)
        self.stats["results_checked"] += self.expected.rows
        for d in self.daemons:
            d.check_sanitizers()

    def check_precincts(self, delivered, hashes=None, sample=None):
        """/v1/precincts/{id}: counted once, at the highest revision, and
        every acknowledged revision present in its history."""
        ids = sorted(self.expected.latest)
        if sample is not None and sample < len(ids):
            ids = self.rng.sample(ids, sample)
        for p in ids:
            status, body = self.aggregator.get("/v1/precincts/%d" % p)
            if status != 200:
                raise Failure("/v1/precincts/%d: %d %s" % (p, status, body[:200]))
            doc = json.loads(body)
            want = self.expected.latest[p]
            counted = precinct_counted_revision(doc)
            if counted != want["revision"]:
                raise Failure("precinct %d: counted revision %s, want %d (%s)" %
                              (p, counted, want["revision"], body[:400]))
            if hashes is not None and isinstance(doc.get("result"), dict):
                want_hash = hashes.get((p, want["revision"]))
                got_hash = doc["result"].get("payload_sha256")
                if want_hash and got_hash and want_hash != got_hash:
                    raise Failure("precinct %d rev %d: counted payload %s, the node signed %s" %
                                  (p, want["revision"], got_hash, want_hash))
            accepted = {}
            for h in doc.get("history") or []:
                if isinstance(h, dict) and h.get("outcome") == "accepted":
                    accepted[h.get("revision")] = accepted.get(h.get("revision"), 0) + 1
            twice = {r: n for r, n in accepted.items() if n > 1}
            if twice:
                raise Failure("precinct %d: revisions accepted more than once: %s" % (p, twice))
            have = precinct_history_revisions(doc)
            if have is not None:
                missing = delivered.get(p, set()) - have
                if missing:
                    raise Failure("precinct %d: acknowledged revisions %s not in the store "
                                  "(history %s)" % (p, sorted(missing), sorted(have)))

    def counted_revisions(self):
        """precinct id -> counted revision (0 if none), from /v1/regions/{id}."""
        out = {}
        for region in self.regions():
            doc = self.aggregator.get_json("/v1/regions/%s" % region)
            for p in doc.get("precincts", []):
                rev = p.get("revision") or 0
                out[p["id"]] = rev
        return out

    def delivered_snapshot(self):
        """Every entry the nodes hold as delivered: (node, id, precinct,
        revision, outcome). Take it while the aggregator is down, so no
        answer can arrive during the read."""
        snap = []
        for node in self.nodes.values():
            for e in node.outbox():
                if e["state"] == 1:
                    snap.append((node.name, e["id"], e["precinct_id"], e["revision"],
                                 e["outcome"]))
        return snap

    def check_acked_stored(self, snap):
        """Every entry of snap is in the aggregator's store: its precinct's
        counted revision is at least the delivered one (counted revisions
        only grow). Returns how many were checked."""
        counted = self.counted_revisions()
        for name, eid, p, rev, outcome in snap:
            have = counted.get(p, 0)
            if have < rev:
                raise Failure("%s: entry %d precinct %d rev %d was acknowledged (outcome %s) "
                              "but the aggregator holds rev %d after its restart" %
                              (name, eid, p, rev, outcome, have))
        return len(snap)

    def audit(self):
        """(lost, doubled) measured directly, for the soak report:
        lost    acknowledged entries, and submitted precincts, whose revision
                the aggregator does not count (at least);
        doubled precincts counted beyond those submitted, precincts in
                conflict (a protocol signed twice differently), and extra
                ballots in the national figures."""
        counted = self.counted_revisions()
        lost = 0
        for node in self.nodes.values():
            for e in node.outbox():
                if e["state"] == 1 and counted.get(e["precinct_id"], 0) < e["revision"]:
                    lost += 1
        for p, row in self.expected.latest.items():
            if counted.get(p, 0) < row["revision"]:
                lost += 1
        t = self.aggregator.totals()["national"]
        want = self.expected.figures()
        doubled = max(0, t["precincts_reported"] - len(self.expected.latest))
        doubled += t.get("conflicts", 0)
        if t["ballots_cast"] > want["ballots_cast"]:
            doubled += 1
        return lost, doubled

    def close(self, keep=False):
        for p in self.proxies:
            p.close()
        for d in self.daemons:
            d.close()
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m], timeout=30)
        if not keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


def precinct_counted_revision(doc):
    """The counted revision from a /v1/precincts/{id} document."""
    for key in ("counted", "result"):
        c = doc.get(key)
        if isinstance(c, dict) and "revision" in c:
            return c["revision"]
    if "revision" in doc:
        return doc["revision"]
    return None


def precinct_history_revisions(doc):
    for key in ("history", "revisions"):
        h = doc.get(key)
        if isinstance(h, list):
            return {e.get("revision") for e in h if isinstance(e, dict)}
    return None


# ---- a hostile (or honest) protocol peer ---------------------------------------------


_PB = None


def pb():
    """tally_pb2 generated from proto/tally.proto by stock protoc, once."""
    global _PB
    if _PB is None:
        import importlib
        out = tempfile.mkdtemp(prefix="tally-pb-")
        atexit.register(shutil.rmtree, out, True)
        sh(["protoc", "--proto_path=" + os.path.join(SOURCE, "proto"), "--python_out=" + out,
            os.path.join(SOURCE, "proto", "tally.proto")])
        sys.path.insert(0, out)
        _PB = importlib.import_module("tally_pb2")
    return _PB


class Signer:
    """A region's Ed25519 signing key (PKCS#8 PEM) and its key id."""

    def __init__(self, pem_path=None):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
        if pem_path is None:
            self.key = ed25519.Ed25519PrivateKey.generate()
        else:
            with open(pem_path, "rb") as f:
                self.key = serialization.load_pem_private_key(f.read(), password=None)
        raw = self.key.public_key().public_bytes(serialization.Encoding.Raw,
                                                 serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()

    def sign(self, payload):
        m = pb()
        return m.SignedResult(payload=payload, signature=self.key.sign(payload),
                              key_id=self.key_id)


def make_result(election_id, region, precinct, revision=1, yes=10, no=5, invalid=1, nc=0,
                registered=None, recorded_at_ms=1773500000000, **override):
    """A PrecinctResult that passes every control relation unless overridden."""
    m = pb()
    cast = yes + no + invalid + nc
    r = m.PrecinctResult(election_id=election_id, region_id=region, precinct_id=precinct,
                         revision=revision, voters_registered=registered or cast + 100,
                         ballots_received=cast + 7, ballots_issued=cast + 4,
                         ballots_cancelled=3, ballots_cast=cast, ballots_invalid=invalid,
                         ballots_not_counted=nc, recorded_at_ms=recorded_at_ms)
    r.votes.add(option_id="yes", count=yes)
    r.votes.add(option_id="no", count=no)
    for k, v in override.items():
        setattr(r, k, v)
    return r


class Peer:
    """A node-side TLS 1.3 connection speaking frames, for hostile tests.
    Blocking, with a timeout on every read."""

    def __init__(self, port, cert_dir=None, cert=None, key=None, ca=None, tls=True,
                 timeout=10, max_version=None, ciphers=None, server_name="localhost"):
        self.raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock = self.raw
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(ca or os.path.join(cert_dir, "ca.pem"))
            if cert_dir or cert:
                ctx.load_cert_chain(cert or os.path.join(cert_dir, "node.pem"),
                                    key or os.path.join(cert_dir, "node.key"))
            if max_version:
                ctx.maximum_version = max_version
            if ciphers:
                ctx.set_ciphers(ciphers)
            self.sock = ctx.wrap_socket(self.raw, server_hostname=server_name)
        self.buf = b""
        self.seq = 0
        self.closed_by = "?"  # why the last read found the connection closed

    def send_raw(self, data):
        self.sock.sendall(data)

    def send(self, frame):
        body = frame.SerializeToString()
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def _buffered_frame(self):
        """The next whole Frame already read, or None."""
        if len(self.buf) < 4:
            return None
        n = struct.unpack(">I", self.buf[:4])[0]
        if len(self.buf) < 4 + n:
            return None
        f = pb().Frame()
        f.ParseFromString(self.buf[4:4 + n])
        self.buf = self.buf[4 + n:]
        return f

    def recv(self, timeout=10):
        """The next Frame, or None if the peer closed the connection."""
        self.sock.settimeout(timeout)
        while True:
            f = self._buffered_frame()
            if f is not None:
                return f
            try:
                d = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError) as e:
                self.closed_by = "%s" % e
                return None
            except OSError as e:
                if "timed out" in str(e) or isinstance(e, socket.timeout):
                    raise Failure("no frame within %.0f s" % timeout)
                self.closed_by = "%s: %s" % (type(e).__name__, e)
                return None
            if not d:
                self.closed_by = "end of stream"
                return None
            self.buf += d

    def hello(self, region, node_id=None):
        m = pb()
        self.send(m.Frame(hello=m.Hello(protocol_version=1, node_id=node_id or "peer-" + region,
                                        region_id=region)))
        f = self.recv()
        if f is None or f.WhichOneof("body") != "welcome":
            raise Failure("expected Welcome, got %r" % (f,))
        return f.welcome

    def submit(self, signed, seq=None):
        m = pb()
        if seq is None:
            self.seq += 1
            seq = self.seq
        self.send(m.Frame(submit=m.Submit(seq=seq, result=signed)))
        return seq

    def answer(self, timeout=10):
        """(kind, seq, outcome-or-code, reason) of the next Ack/Nack."""
        f = self.recv(timeout)
        if f is None:
            raise Failure("connection closed while waiting for an answer (%s)"
                          % self.closed_by)
        return self._answer_of(f)

    @staticmethod
    def _answer_of(f):
        kind = f.WhichOneof("body")
        if kind == "ack":
            return ("ack", f.ack.seq, f.ack.outcome, "")
        if kind == "nack":
            return ("nack", f.nack.seq, f.nack.code, f.nack.reason)
        if kind == "pong":
            return ("pong", f.pong.nonce, 0, "")
        raise Failure("unexpected frame %s" % kind)

    def pipeline(self, data, answers, timeout=60):
        """Sends data while reading answers, in this one thread: an SSL
        object must never be read and written by two threads at once.
        Returns the first `answers` answers as answer() would."""
        again = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)
        out, got = memoryview(data), []
        deadline = time.monotonic() + timeout
        self.sock.setblocking(False)
        try:
            while len(got) < answers:
                if time.monotonic() > deadline:
                    raise Failure("%d of %d answers within %.0f s" % (len(got), answers, timeout))
                if out:
                    try:
                        out = out[self.sock.send(out[:16384]):]
                    except again:
                        pass
                while True:
                    try:
                        d = self.sock.recv(65536)
                    except again:
                        break
                    except OSError as e:
                        raise Failure("connection closed while waiting for an answer (%s: %s)"
                                      % (type(e).__name__, e))
                    if not d:
                        raise Failure("connection closed while waiting for an answer "
                                      "(end of stream)")
                    self.buf += d
                f = self._buffered_frame()
                while f is not None:
                    got.append(self._answer_of(f))
                    f = self._buffered_frame()
                select.select([self.sock], [self.sock] if out else [], [], 0.05)
        finally:
            self.sock.setblocking(True)
        return got[:answers]

    def closed_within(self, timeout):
        """True if the server closes the connection within timeout (data
        before the close, e.g. a Goodbye, is read and ignored)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                return False
            except OSError:
                return True
            if not d:
                return True
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---- registry and runner ----------------------------------------------------------


SCENARIOS = {}


def scenario(name):
    def register(fn):
        SCENARIOS[name] = fn
        return fn
    return register


def binaries_missing():
    return [b for b in (AGGREGATOR_BIN, NODE_BIN, TALLYCTL_BIN) if not os.path.exists(b)]


def run_one(name, seed, keep=False, audit=False):
    """Runs one scenario; returns (status, stats). Status: ok, skip, FAIL.
    With audit, lost and doubled are measured at the end (stats), even
    when the scenario failed, if the aggregator still answers."""
    rng = random.Random(seed)
    c = Cluster(name, rng)
    t0 = time.monotonic()
    status = "ok"
    try:
        log("scenario %s (seed %d) in %s" % (name, seed, c.tmp))
        try:
            SCENARIOS[name](c, rng)
        finally:
            if audit and c.aggregator is not None and c.expected is not None:
                try:
                    c.stats["lost"], c.stats["doubled"] = c.audit()
                except Exception as e:  # noqa: an audit that cannot run is a failure
                    log("audit failed: %r" % (e,))
                    c.stats["lost"] = c.stats.get("lost", 0) + 1
        # Every daemon must stop cleanly (exit 0 after SIGTERM), which also
        # runs LeakSanitizer over everything the scenario threw at it, and
        # no daemon may have logged a sanitizer report.
        for d in c.daemons:
            d.stop()
        for d in c.daemons:
            d.check_sanitizers()
    except Skip as e:
        status = "skip"
        log("scenario %s: SKIPPED: %s" % (name, e))
    except BaseException as e:  # noqa: every failure is reported with its seed
        status = "FAIL"
        keep = True
        log("scenario %s: FAILED (seed %d; replay with TALLY_SEED=%d): %s" %
            (name, seed, seed, e))
        if not isinstance(e, Failure):
            traceback.print_exc()
        for d in c.daemons:
            log("---- %s (last lines of run %d)\n%s" % (d.name, d.runs, d.tail(25)))
        log("kept %s" % c.tmp)
    finally:
        c.close(keep=keep)
    c.stats["seconds"] = time.monotonic() - t0
    if status == "ok":
        log("scenario %s: ok in %.1f s %s" % (name, c.stats["seconds"],
                                              {k: v for k, v in c.stats.items()
                                               if k != "seconds"}))
    return status, c.stats


def seed_from_env():
    s = os.environ.get("TALLY_SEED")
    return int(s) if s else random.SystemRandom().randrange(1 << 31)


def run_main(names):
    """Entry point of a test_scenario_*.py file: exit code for ctest."""
    missing = binaries_missing()
    if missing:
        print("scenario: daemons not built (%s); nothing to test" % ", ".join(missing))
        return 77 if os.environ.get("TALLY_ALLOW_SKIP") else 1
    seed = seed_from_env()
    keep = os.environ.get("TALLY_KEEP") == "1"
    print("scenario seed %d (replay with TALLY_SEED=%d)" % (seed, seed), flush=True)
    failed = []
    for i, name in enumerate(names):
        status, _ = run_one(name, seed + i, keep)
        if status == "FAIL":
            failed.append("%s (TALLY_SEED=%d)" % (name, seed))
    if failed:
        print("FAILED: " + ", ".join(failed))
        return 1
    return 0


def soak(minutes, names, module_files):
    """Runs the named scenarios round-robin, seed after seed, for `minutes`;
    prints the counts. Returns the exit status (1 if any run failed)."""
    import importlib.util
    for f in module_files:
        spec = importlib.util.spec_from_file_location(os.path.basename(f)[:-3], f)
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    missing = binaries_missing()
    if missing:
        print("soak: daemons not built (%s)" % ", ".join(missing))
        return 1
    seed = seed_from_env()
    keep = os.environ.get("TALLY_KEEP") == "1"
    totals = {"runs": 0, "failed": 0, "crash_points": 0, "results_checked": 0,
              "acked_checked": 0, "lost": 0, "doubled": 0}
    failures = []
    t_end = time.monotonic() + minutes * 60
    print("soak: %s for %g min, first seed %d" % (", ".join(names), minutes, seed), flush=True)
    i = 0
    while time.monotonic() < t_end:
        name = names[i % len(names)]
        status, stats = run_one(name, seed + i, keep, audit=True)
        totals["runs"] += 1
        for k in ("crash_points", "results_checked", "acked_checked", "lost", "doubled"):
            totals[k] += stats.get(k, 0)
        if status == "FAIL":
            totals["failed"] += 1
            failures.append("%s TALLY_SEED=%d" % (name, seed + i))
        i += 1
    print()
    print("soak summary (%g min, seeds %d..%d)" % (minutes, seed, seed + i - 1))
    print("  scenario runs         %d (%d failed)" % (totals["runs"], totals["failed"]))
    print("  crash points survived %d" % totals["crash_points"])
    print("  results checked       %d" % totals["results_checked"])
    print("  acked entries checked after restarts %d" % totals["acked_checked"])
    print("  lost = %d, doubled = %d" % (totals["lost"], totals["doubled"]))
    for f in failures:
        print("  FAILED: " + f)
    ok = totals["failed"] == 0 and totals["lost"] == 0 and totals["doubled"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("soak", help="run crash scenarios for a while and count")
    sp.add_argument("--minutes", type=float, default=10)
    sp.add_argument("--scenario", action="append", help="scenario name (repeatable)")
    sp.add_argument("--module", action="append", help="file that defines scenarios")
    args = ap.parse_args()
    modules = args.module or [os.path.join(HERE, "test_scenario_crash.py")]
    names = args.scenario or ["aggregator-crash-loop", "node-crash-loop", "both-crash-loop",
                              "aggregator-crash-in-recovery", "twin-nodes-one-region"]
    # The scenario files import this file as the module `scenario`: run the
    # soak from that module, so they and it share one registry.
    sys.dont_write_bytecode = True
    import scenario as registry
    sys.exit(registry.soak(args.minutes, names, modules))
