#!/usr/bin/python3
"""mock_server.py: serves the live page (web/) and the contests API from
fixture documents (fixtures.py), so the page can be developed and tested
without an aggregator.

  mock_server.py [--port N] [--scenario general|legacy] [--state counting]
                 [--heartbeat SECONDS]

What it serves follows the aggregator:
- the page's files are exactly those web/embed.cmake embeds, with the
  headers daemon/aggregator/page.c sends (read from page.c, so the strict
  Content-Security-Policy is the real one);
- general: /v1/election, /v1/totals, /v1/contests, /v1/contests/{id},
  /v1/contests/{id}/trend and /v1/events (Server-Sent Events: the current
  state at once, an event after each change, heartbeats);
- legacy: today's single referendum (/v1/election is 404, /v1/totals has
  no "contests").

Control (for tests): POST /_mock/state?name=final moves to another state
(the sequence moves on and every watcher gets an event); GET /_mock/state.

Standard library only. Run it by hand and open http://127.0.0.1:PORT/.
"""
import argparse
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fixtures  # noqa: E402

SOURCE = fixtures.SOURCE
SEQUENCES = {"counting": 8342, "final": 11063, "elected": 11064}


def page_files():
    """{url path: (file, content type)} from web/embed.cmake's TALLY_WEB_FILES."""
    with open(os.path.join(SOURCE, "web", "embed.cmake"), encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"set\(TALLY_WEB_FILES\n(.*?)\n\)", text, re.S).group(1)
    out = {}
    for entry in re.findall(r'"([^"]+)"', block):
        url, file, ctype = entry.split("|")
        out[url] = (file, ctype + "; charset=utf-8")
    out["/index.html"] = out["/"]
    return out


def page_headers():
    """The headers of page.c's PAGE_HEADERS, as [(name, value)]."""
    with open(os.path.join(SOURCE, "daemon", "aggregator", "page.c"), encoding="utf-8") as f:
        text = f.read()
    macro = re.search(r"#define PAGE_HEADERS(.*?)\n\n", text, re.S).group(1)
    raw = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', macro)).replace("\\r\\n", "\n")
    return [tuple(x.strip() for x in line.split(":", 1)) for line in raw.split("\n") if line]


class Mock:
    def __init__(self, scenario="general", state="counting", heartbeat=15.0):
        self.scenario = scenario
        self.heartbeat = heartbeat
        self.lock = threading.Condition()
        self.files = page_files()
        self.headers = page_headers()
        self.election = fixtures.Election()
        self.version = 0  # bumped on every change; watchers wait on it
        self.set_state(state)

    def set_state(self, name):
        with self.lock:
            if self.scenario == "legacy":
                self.name = name
                self.legacy = fixtures.legacy_totals(10 if name == "counting" else 11)
                if name != "counting":
                    self.legacy["national"]["precincts_reported"] += 1
            else:
                if name not in fixtures.STATES:
                    raise KeyError(name)
                self.name = name
                self.state = fixtures.State(self.election, name, SEQUENCES[name])
            self.version += 1
            self.lock.notify_all()

    def sequence(self):
        return self.legacy["sequence"] if self.scenario == "legacy" else self.state.sequence

    def event_doc(self):
        return self.legacy if self.scenario == "legacy" else self.state.event_doc()

    def get(self, path):
        """(status, document) for an API path."""
        legacy = self.scenario == "legacy"
        if path == "/v1/totals":
            if legacy:
                doc = dict(self.legacy)
                for k in ("title", "options", "conflicts", "rejections", "degraded"):
                    doc.pop(k, None)
                return 200, doc
            return 200, self.state.totals_doc()
        if path == "/healthz":
            return 200, {"status": "ok", "sequence": self.sequence()}
        if legacy:
            return 404, {"error": "no such resource", "status": 404}
        if path == "/v1/election":
            return 200, self.election.election_doc()
        if path == "/v1/contests":
            return 200, self.state.contests_doc()
        m = re.fullmatch(r"/v1/contests/([^/]+)(/trend)?", path)
        if m:
            cid = urllib.parse.unquote(m.group(1))
            if self.election.contest(cid) is None:
                return 404, {"error": "no contest '%s' in this election" % cid, "status": 404}
            if m.group(2):
                return 200, self.state.trend_doc(cid)
            return 200, self.state.contest_doc(cid)
        return 404, {"error": "no such resource", "status": 404}


def make_handler(mock):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def send_body(self, status, ctype, body, extra=()):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra:
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def send_json(self, status, doc):
            body = json.dumps(doc, ensure_ascii=False).encode()
            self.send_body(status, "application/json", body, [("Cache-Control", "no-cache")])

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            path = url.path
            if path in mock.files:
                file, ctype = mock.files[path]
                with open(os.path.join(SOURCE, "web", file), "rb") as f:
                    body = f.read()
                self.send_body(200, ctype, body, mock.headers)
                return
            if path == "/v1/events":
                self.events()
                return
            if path == "/_mock/state":
                self.send_json(200, {"name": mock.name, "sequence": mock.sequence()})
                return
            with mock.lock:
                status, doc = mock.get(path)
            self.send_json(status, doc)

        def do_POST(self):
            url = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(url.query)
            if url.path == "/_mock/state" and "name" in q:
                try:
                    mock.set_state(q["name"][0])
                except KeyError:
                    self.send_json(400, {"error": "no such state"})
                    return
                self.send_json(200, {"name": mock.name, "sequence": mock.sequence()})
                return
            self.send_json(405, {"error": "method not allowed", "status": 405})

        def events(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self.close_connection = True
            try:
                self.wfile.write(b"retry: 2000\n\n")
                seen = -1
                while True:
                    with mock.lock:
                        if mock.version == seen:
                            mock.lock.wait(timeout=mock.heartbeat)
                        changed = mock.version != seen
                        seen = mock.version
                        doc = mock.event_doc()
                        seq = mock.sequence()
                    if changed:
                        data = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
                        msg = "event: totals\nid: %d\ndata: %s\n\n" % (seq, data)
                    else:
                        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                        msg = (": keep-alive\nevent: heartbeat\ndata: %s\n\n" %
                               json.dumps({"sequence": seq, "time": now}))
                    self.wfile.write(msg.encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, OSError):
                return

    return Handler


class Server:
    """The mock on a free loopback port, in a thread (for tests)."""

    def __init__(self, scenario="general", state="counting", heartbeat=15.0, port=0):
        self.mock = Mock(scenario, state, heartbeat)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), make_handler(self.mock))
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d/" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def set_state(self, name):
        self.mock.set_state(name)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=8088)
    ap.add_argument("--scenario", choices=["general", "legacy"], default="general")
    ap.add_argument("--state", choices=fixtures.STATES, default="counting")
    ap.add_argument("--heartbeat", type=float, default=15.0)
    a = ap.parse_args()
    s = Server(a.scenario, a.state, a.heartbeat, a.port)
    print("serving %s (%s, %s); Ctrl-C stops" % (s.url, a.scenario, a.state), flush=True)
    try:
        s.thread.join()
    except KeyboardInterrupt:
        s.close()


if __name__ == "__main__":
    main()
