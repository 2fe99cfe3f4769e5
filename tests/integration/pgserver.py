#!/usr/bin/python3
"""pgserver.py: a throwaway PostgreSQL server for tests, from Debian's
postgresql package: initdb in a temporary folder, listening on a Unix socket
in that folder and on 127.0.0.1 at a free port, stopped and removed at the
end. PostgreSQL refuses to run as root; under root the server's commands
run as the `postgres` user (made by the package), else `nobody`.

    with pgserver.PgServer() as pg:
        dsn = pg.create_db("one")          # "host=... port=... user=tally dbname=one"
        pg.psql("one", "SELECT count(*) FROM log")

TALLY_STORE_BACKEND=postgresql: harness.py and scenario.py give every
aggregator they make a database of its own on one shared server per test
process (shared(), stopped at exit), so the backend-independent tests run
on PostgreSQL unchanged.
"""
import atexit
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time


class PgError(AssertionError):
    pass


def bindir():
    """The newest installed server's bin folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return os.path.dirname(found[-1]) if found else None


def available():
    return bindir() is not None


def backend():
    """The store backend the tests were asked to use (env TALLY_STORE_BACKEND)."""
    return os.environ.get("TALLY_STORE_BACKEND", "sqlite")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, fsync=False, start=True, prefix="tally-pg-"):
        self.bin = bindir()
        if self.bin is None:
            raise PgError("PostgreSQL server binaries not found under /usr/lib/postgresql "
                          "(install Debian's postgresql package)")
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.data = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "postgres.log")
        self.port = _free_port()
        self.fsync = fsync
        self.proc = None
        self.user = None
        self.dbs = 0
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    pw = pwd.getpwnam(name)
                except KeyError:
                    continue
                self.user = name
                os.chown(self.dir, pw.pw_uid, pw.pw_gid)
                break
            if self.user is None:
                raise PgError("running as root and no 'postgres' or 'nobody' user to run "
                              "the server as")
        os.chmod(self.dir, 0o755)
        self._as_server([os.path.join(self.bin, "initdb"), "-D", self.data, "-U", "tally",
                         "-A", "trust", "-E", "UTF8", "--no-locale", "-N"], timeout=120)
        if start:
            self.start()

    def _user_kw(self):
        """Popen arguments that drop root for the server's own commands (the
        process itself, not a runuser wrapper, so signals reach postgres)."""
        if not self.user:
            return {}
        pw = pwd.getpwnam(self.user)
        return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": [],
                "env": {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}}

    def _as_server(self, args, timeout=60):
        r = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout, cwd="/", **self._user_kw())
        if r.returncode != 0:
            raise PgError("%s failed (%d):\n%s" % (" ".join(args), r.returncode, r.stdout[-3000:]))
        return r.stdout

    def options(self):
        return ["-k", self.dir, "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
                "-c", "fsync=%s" % ("on" if self.fsync else "off"),
                "-c", "synchronous_commit=on", "-c", "max_connections=200",
                "-c", "shared_buffers=64MB", "-c", "log_min_messages=warning"]

    def start(self, timeout=30):
        args = [os.path.join(self.bin, "postgres"), "-D", self.data] + self.options()
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=logf, stderr=logf, cwd="/",
                                     start_new_session=True, **self._user_kw())
        logf.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise PgError("postgres exited with %s:\n%s" % (self.proc.returncode,
                                                                self.log_tail()))
            r = subprocess.run([os.path.join(self.bin, "pg_isready"), "-q", "-h", self.dir,
                                "-p", str(self.port)], timeout=10)
            if r.returncode == 0:
                return self
            time.sleep(0.1)
        raise PgError("postgres not ready within %.0f s:\n%s" % (timeout, self.log_tail()))

    def stop(self, mode=signal.SIGINT, timeout=30):
        """SIGINT: fast shutdown (clients cut, a clean checkpoint)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(mode)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def close(self):
        self.stop()
        if os.environ.get("TALLY_KEEP") == "1":
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def dsn(self, db, tcp=False):
        host = "127.0.0.1" if tcp else self.dir
        return "host=%s port=%d user=tally dbname=%s" % (host, self.port, db)

    def psql(self, db, sql, timeout=30):
        """Runs sql; rows as lists of strings (unaligned, tab-separated)."""
        r = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q", "-A", "-t", "-F", "\t",
                            "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port),
                            "-U", "tally", "-d", db, "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise PgError("psql %r: %s" % (sql, r.stderr.strip()))
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def create_db(self, name=None):
        """A new empty database; returns its dsn (Unix socket)."""
        self.dbs += 1
        name = name or "tally%d" % self.dbs
        self.psql("postgres", 'CREATE DATABASE "%s"' % name)
        return self.dsn(name)

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def query(dsn, sql, timeout=30):
    """Rows of sql on the database of dsn, as tuples (integers converted)."""
    r = subprocess.run([os.path.join(bindir(), "psql"), "-X", "-q", "-A", "-t", "-F", "\t",
                        "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if r.returncode != 0:
        raise PgError("psql %r: %s" % (sql, r.stderr.strip()))
    return [tuple(int(v) if v.lstrip("-").isdigit() else v for v in line.split("\t"))
            for line in r.stdout.splitlines() if line]


_shared = None


def shared():
    """One server per test process, started on first use, stopped at exit."""
    global _shared
    if _shared is None:
        _shared = PgServer()
        atexit.register(_shared.close)
        print("TALLY_STORE_BACKEND=postgresql: aggregators store in a test PostgreSQL (%s, "
              "port %d)" % (_shared.bin, _shared.port), flush=True)
    return _shared


def store_section():
    """The [store] keys for a new aggregator under TALLY_STORE_BACKEND, or None
    for the default backend (SQLite)."""
    if backend() != "postgresql":
        return None
    return {"backend": "postgresql", "dsn": shared().create_db()}


def _cli(argv):
    """For tests in other languages (tests/unit/test_store_pg.c):
      pgserver.py start          a detached server: prints its folder, then a dsn
                                 for database "postgres"
      pgserver.py stop DIR       fast shutdown, the folder kept
      pgserver.py restart DIR    start it again on the same port
      pgserver.py remove DIR     stop and delete
    Exit 77 from start when the server binaries are missing."""
    import sys
    if not argv:
        sys.stderr.write(_cli.__doc__)
        return 2
    if argv[0] == "start":
        if not available():
            return 77
        s = PgServer(start=False)
        with open(os.path.join(s.dir, "port"), "w") as f:
            f.write(str(s.port))
        s._as_server([os.path.join(s.bin, "pg_ctl"), "-D", s.data, "-l", s.log_path, "-w",
                      "-t", "60", "-o", " ".join(s.options()), "start"], timeout=90)
        print(s.dir)
        print(s.dsn("postgres"))
        return 0
    d = argv[1]
    s = PgServer.__new__(PgServer)
    s.bin, s.dir, s.data, s.log_path, s.fsync = bindir(), d, os.path.join(d, "data"), \
        os.path.join(d, "postgres.log"), False
    with open(os.path.join(d, "port")) as f:
        s.port = int(f.read())
    st = os.stat(d)
    s.user = pwd.getpwuid(st.st_uid).pw_name if os.geteuid() == 0 else None
    pg_ctl = os.path.join(s.bin, "pg_ctl")
    if argv[0] in ("stop", "remove"):
        try:
            s._as_server([pg_ctl, "-D", s.data, "-m", "fast", "-w", "stop"], timeout=60)
        except PgError:
            if argv[0] == "stop":
                raise
        if argv[0] == "remove":
            shutil.rmtree(d, ignore_errors=True)
        return 0
    if argv[0] == "restart":
        s._as_server([pg_ctl, "-D", s.data, "-l", s.log_path, "-w", "-t", "60", "-o",
                      " ".join(s.options()), "start"], timeout=90)
        return 0
    sys.stderr.write(_cli.__doc__)
    return 2


if __name__ == "__main__":
    import sys
    sys.exit(_cli(sys.argv[1:]))
