#!/usr/bin/python3
"""Both daemons under a real sd_notify socket, as systemd runs them.

The test binds an AF_UNIX datagram socket, starts each daemon with
NOTIFY_SOCKET pointing at it and WATCHDOG_USEC=1000000 (WATCHDOG_PID set to
the daemon's own pid), and asserts: READY=1; at least 3 WATCHDOG=1 within
3 s of it (the daemon pings at half the interval); a STATUS= line; after
SIGHUP, RELOADING=1 then READY=1 again; after SIGTERM, STOPPING=1 and exit
status 0. The aggregator also starts with sockets passed as
tally-aggregator.socket passes them (LISTEN_FDS=2: fd 3 nodes, fd 4 HTTP)
and serves on them. The aggregator runs with a throwaway PKI from deploy/pki.sh and
the node connects to it, so the node's STATUS shows a live uplink.
"""

import fcntl
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SRC = os.environ.get("TALLY_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("TALLY_BUILD_DIR") or os.path.join(SRC, "build", "test")
PY = "/usr/bin/python3"
READY_TIMEOUT = 30.0  # sanitizer builds start slowly
STOP_TIMEOUT = 20.0

failures = []


def fail(msg):
    print("FAIL: " + msg, flush=True)
    failures.append(msg)


def find_binary(name):
    for sub in ("daemon/aggregator", "daemon/node", "daemon/cli", "."):
        p = os.path.join(BUILD, sub, name)
        if os.access(p, os.X_OK):
            return p
    return None


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Notify:
    """The service manager's end: a datagram socket and what arrived."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []  # (time, {key: value})

    def poll(self, until):
        while True:
            left = until - time.monotonic()
            if left <= 0:
                return
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return
            fields = {}
            for line in data.decode("utf-8", "replace").split("\n"):
                if "=" in line:
                    k, v = line.split("=", 1)
                    fields[k] = v
            self.messages.append((time.monotonic(), fields))

    def wait_for(self, key, value, timeout, start_index=0, proc=None):
        """Index of the first message from start_index with key=value, or None."""
        deadline = time.monotonic() + timeout
        i = start_index
        while True:
            while i < len(self.messages):
                if self.messages[i][1].get(key) == value:
                    return i
                i += 1
            if time.monotonic() >= deadline or (proc is not None and proc.poll() is not None):
                self.poll(time.monotonic() + 0.2)
                while i < len(self.messages):
                    if self.messages[i][1].get(key) == value:
                        return i
                    i += 1
                return None
            self.poll(min(deadline, time.monotonic() + 0.2))

    def close(self):
        self.sock.close()


def start(binary, config, notify, log):
    env = dict(os.environ)
    env["NOTIFY_SOCKET"] = notify.path
    env["WATCHDOG_USEC"] = "1000000"
    env.pop("LISTEN_FDS", None)
    env.pop("LISTEN_PID", None)
    # exec keeps the shell's pid, so $$ is the daemon's pid: WATCHDOG_PID
    # names it, as systemd does.
    cmd = ["/bin/sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$0" --config "$1"', binary, config]
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)


def exercise(name, binary, config, tmp):
    """The whole protocol for one daemon; returns its process if still running."""
    notify = Notify(os.path.join(tmp, name + ".notify"))
    log = open(os.path.join(tmp, name + ".log"), "w")
    proc = start(binary, config, notify, log)
    try:
        t0 = time.monotonic()
        ready = notify.wait_for("READY", "1", READY_TIMEOUT, proc=proc)
        if ready is None:
            fail("%s: no READY=1 within %.0f s (exit %s)" % (name, READY_TIMEOUT, proc.poll()))
            return False
        t_ready = notify.messages[ready][0]
        print("%s: READY=1 after %.2f s" % (name, t_ready - t0), flush=True)

        notify.poll(t_ready + 3.0)
        dogs = [m for t, m in notify.messages if m.get("WATCHDOG") == "1" and t_ready <= t <= t_ready + 3.0]
        if len(dogs) < 3:
            fail("%s: %d WATCHDOG=1 within 3 s of READY=1, want >= 3" % (name, len(dogs)))
        else:
            print("%s: %d WATCHDOG=1 in 3 s" % (name, len(dogs)), flush=True)
        statuses = [m["STATUS"] for _, m in notify.messages if "STATUS" in m]
        if not statuses:
            fail("%s: no STATUS= line" % name)
        else:
            print("%s: STATUS=%s" % (name, statuses[-1]), flush=True)

        # SIGHUP: RELOADING=1, then READY=1 again.
        mark = len(notify.messages)
        proc.send_signal(signal.SIGHUP)
        rel = notify.wait_for("RELOADING", "1", 10.0, mark, proc)
        if rel is None:
            fail("%s: no RELOADING=1 after SIGHUP" % name)
        else:
            if notify.wait_for("READY", "1", 10.0, rel, proc) is None:
                fail("%s: no READY=1 after RELOADING=1" % name)
        if proc.poll() is not None:
            fail("%s: died on SIGHUP (exit %s)" % (name, proc.returncode))
            return False

        # SIGTERM: STOPPING=1, exit 0.
        mark = len(notify.messages)
        proc.send_signal(signal.SIGTERM)
        stopping = notify.wait_for("STOPPING", "1", STOP_TIMEOUT, mark, proc)
        try:
            code = proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            fail("%s: still running %.0f s after SIGTERM" % (name, STOP_TIMEOUT))
            return False
        notify.poll(time.monotonic() + 0.1)
        if stopping is None:
            stopping = notify.wait_for("STOPPING", "1", 0.1, mark)
        if stopping is None:
            fail("%s: no STOPPING=1 after SIGTERM" % name)
        if code != 0:
            fail("%s: exit status %s after SIGTERM, want 0" % (name, code))
        else:
            print("%s: STOPPING=1 and exit 0 after SIGTERM" % name, flush=True)
        return True
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        notify.close()
        if failures:
            with open(os.path.join(tmp, name + ".log")) as f:
                tail = f.read()[-3000:]
            print("--- %s log (tail) ---\n%s" % (name, tail), flush=True)


def socket_activation(agg, config_path, tmp, config_http_port):
    """The aggregator started as tally-aggregator.socket would: two listening
    sockets at fds 3 (nodes) and 4 (HTTP), LISTEN_PID and LISTEN_FDS set.
    The config names other ports, where nothing must listen."""
    nodes = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    http = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    for s in (nodes, http):
        s.bind(("127.0.0.1", 0))
        s.listen(64)
    # Out of the way of 3 and 4, so the shell's redirections cannot clash (bash: dash
    # takes single-digit fds only).
    hi_nodes = fcntl.fcntl(nodes.fileno(), fcntl.F_DUPFD, 20)
    hi_http = fcntl.fcntl(http.fileno(), fcntl.F_DUPFD, 20)
    http_port = http.getsockname()[1]
    notify = Notify(os.path.join(tmp, "activation.notify"))
    env = dict(os.environ)
    env["NOTIFY_SOCKET"] = notify.path
    env["LISTEN_FDS"] = "2"
    env.pop("WATCHDOG_USEC", None)
    script = ('LISTEN_PID=$$; export LISTEN_PID; exec "$0" --config "$1" 3<&%d 4<&%d %d<&- %d<&-'
              % (hi_nodes, hi_http, hi_nodes, hi_http))
    log = open(os.path.join(tmp, "activation.log"), "w")
    proc = subprocess.Popen(["/bin/bash", "-c", script, agg, config_path], env=env, stdout=log,
                            stderr=subprocess.STDOUT, pass_fds=(hi_nodes, hi_http))
    os.close(hi_nodes)
    os.close(hi_http)
    try:
        if notify.wait_for("READY", "1", READY_TIMEOUT, proc=proc) is None:
            fail("socket activation: no READY=1 (exit %s)" % proc.poll())
            return
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % http_port, timeout=5) as r:
                code = r.status
        except (urllib.error.URLError, OSError) as e:
            code = str(e)
        if code != 200:
            fail("socket activation: /healthz on the inherited socket answered %s" % code)
        else:
            print("tally-aggregator: serves HTTP on the inherited socket (fd 4)", flush=True)
        try:
            socket.create_connection(("127.0.0.1", config_http_port), timeout=2).close()
            fail("socket activation: the aggregator also listens on http_listen's port")
        except OSError:
            pass
        # The nodes' socket is fd 3: a node's certificate completes a TLS 1.3
        # handshake there.
        pki = os.path.join(tmp, "pki")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_verify_locations(os.path.join(pki, "ca.pem"))
        ctx.load_cert_chain(os.path.join(pki, "regions/KZ-10/node.pem"), os.path.join(pki, "regions/KZ-10/node.key"))
        try:
            with socket.create_connection(nodes.getsockname(), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                    version = tls.version()
        except (OSError, ssl.SSLError) as e:
            version = "failed: %s" % e
        if version != "TLSv1.3":
            fail("socket activation: TLS on the inherited fd 3: %s" % version)
        else:
            print("tally-aggregator: TLS 1.3 with a node certificate on the inherited socket (fd 3)", flush=True)
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            code = "still running"
        if code != 0:
            fail("socket activation: exit %s after SIGTERM" % code)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        nodes.close()
        http.close()
        log.close()
        notify.close()


def main():
    agg = find_binary("tally-aggregator")
    node = find_binary("tally-node")
    missing = [n for n, b in (("tally-aggregator", agg), ("tally-node", node)) if b is None]
    if missing:
        print("FAIL: not built in %s: %s" % (BUILD, ", ".join(missing)))
        return 1
    tmp = tempfile.mkdtemp(prefix="tally-notify-")
    helper = None
    try:
        election = os.path.join(tmp, "election.json")
        subprocess.run([PY, os.path.join(SRC, "deploy/election.py"), "generate", "--regions", "2",
                        "--precincts", "10", "--election-id", "notify-test", "--out", election], check=True)
        pki = os.path.join(tmp, "pki")
        subprocess.run(["/bin/bash", os.path.join(SRC, "deploy/pki.sh"), "--election", election, "--out", pki],
                       check=True, stdout=subprocess.DEVNULL)
        listen, http = free_port(), free_port()
        with open(os.path.join(tmp, "aggregator.ini"), "w") as f:
            f.write("""[aggregator]
id = central-test
election = election.json
state_dir = agg-state
listen = 127.0.0.1:%d
http_listen = 127.0.0.1:%d
trusted_keys = pki/aggregator/trusted
log_level = debug
[tls]
ca = pki/ca.pem
cert = pki/aggregator/aggregator.pem
key = pki/aggregator/aggregator.key
""" % (listen, http))
        os.makedirs(os.path.join(tmp, "spool"))
        with open(os.path.join(tmp, "node.ini"), "w") as f:
            f.write("""[node]
id = node-KZ-10
region = KZ-10
election = election.json
state_dir = node-state
spool_dir = spool
control_socket = %s/control.sock
signing_key = pki/regions/KZ-10/sign.key
aggregators = 127.0.0.1:%d
log_level = debug
[tls]
ca = pki/ca.pem
cert = pki/regions/KZ-10/node.pem
key = pki/regions/KZ-10/node.key
server_name = localhost
""" % (tmp, listen))

        exercise("tally-aggregator", agg, os.path.join(tmp, "aggregator.ini"), tmp)
        socket_activation(agg, os.path.join(tmp, "aggregator.ini"), tmp, http)

        # The node against a running aggregator (no notify socket for this one).
        env = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
            env.pop(k, None)
        helper_log = open(os.path.join(tmp, "helper-aggregator.log"), "w")
        helper = subprocess.Popen([agg, "--config", os.path.join(tmp, "aggregator.ini")], env=env,
                                  stdout=helper_log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        exercise("tally-node", node, os.path.join(tmp, "node.ini"), tmp)
    finally:
        if helper is not None:
            helper.send_signal(signal.SIGTERM)
            try:
                helper.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                helper.kill()
                helper.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    if failures:
        print("test_notify_daemons: %d failure(s)" % len(failures))
        return 1
    print("PASS test_notify_daemons")
    return 0


if __name__ == "__main__":
    sys.exit(main())
