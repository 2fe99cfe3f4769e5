#!/usr/bin/python3
"""The alert rules and the dashboard against a real Prometheus (Debian's
package) scraping a real aggregator and real nodes on loopback.

Three regions: A's node runs with a certificate renewed for 3 days, B's
node reaches the aggregator through a fault proxy, C has no node. The
shipped rules are loaded with shorter `for:` durations and a 3 s backlog
threshold (only for the alerts exercised here; the others keep theirs), and
Prometheus scrapes and evaluates every second. The test asserts exactly
which alerts are pending and firing, through Prometheus' own HTTP API:
  - C (no node, precincts missing) and A's certificate fire from the start;
  - B's connection is cut and a protocol dropped into its spool: its
    region alert goes pending, then firing, and its backlog alert fires;
    B's node still answers scrapes, so no node-down alert;
  - the connection heals: B's alerts resolve;
  - every query of deploy/grafana/tally.json is valid and returns data;
  - A's node stops: node-down and region alerts for A go pending, then
    firing, and its certificate alert resolves (its series went stale).
Bounded (every wait has a timeout), on free loopback ports, cleaned up."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from node_harness import Failure, run_tests, wait_until  # noqa: E402
import scenario  # noqa: E402

PROMETHEUS = "/usr/bin/prometheus"
RULES = os.path.join(scenario.SOURCE, "deploy", "prometheus", "tally.rules.yml")
DASHBOARD = os.path.join(scenario.SOURCE, "deploy", "grafana", "tally.json")

# The alerts this test drives, with the durations it gives them. The
# shipped values are checked first, so a change to the rules shows here.
SHORTER = {
    "TallyRegionNodeDisconnected": ("for", "2m", "3s"),
    "TallyNodeDown": ("for", "1m", "3s"),
    "TallyCertificateExpiresSoon": ("for", "10m", "3s"),
    "TallyNodeBacklogOld": ("expr", "tally_node_outbox_oldest_undelivered_age_seconds > 60",
                            "tally_node_outbox_oldest_undelivered_age_seconds > 3"),
}


def test_rules(path):
    with open(RULES) as f:
        rules = yaml.safe_load(f)
    seen = set()
    for g in rules["groups"]:
        for r in g["rules"]:
            if r.get("alert") in SHORTER:
                key, shipped, short = SHORTER[r["alert"]]
                if str(r.get(key, "")).strip() != shipped:
                    raise Failure("%s: shipped %s is %r, the test expects %r" %
                                  (r["alert"], key, r.get(key), shipped))
                r[key] = short
                seen.add(r["alert"])
    if seen != set(SHORTER):
        raise Failure("alerts missing from the rules: %s" % (set(SHORTER) - seen))
    with open(path, "w") as f:
        yaml.safe_dump(rules, f)


class Prometheus:
    def __init__(self, folder, config):
        self.folder = folder
        self.port = scenario.free_port()
        self.log = open(os.path.join(folder, "prometheus.log"), "wb")
        self.proc = subprocess.Popen(
            [PROMETHEUS, "--config.file=" + config,
             "--storage.tsdb.path=" + os.path.join(folder, "data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        wait_until(self.ready, 30, "Prometheus /-/ready")

    def ready(self):
        if self.proc.poll() is not None:
            raise Failure("prometheus exited with %s:\n%s" % (self.proc.returncode, self.tail()))
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % self.port, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def api(self, path, **params):
        url = "http://127.0.0.1:%d/api/v1/%s" % (self.port, path)
        if params:
            url += "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as r:
            doc = json.load(r)
        if doc.get("status") != "success":
            raise Failure("GET %s: %s" % (url, doc))
        return doc["data"]

    def query(self, expr):
        return self.api("query", query=expr)["result"]

    def alerts(self):
        """{(alertname, region or '', state)} of the tally alerts now."""
        return {(a["labels"]["alertname"], a["labels"].get("region", ""), a["state"])
                for a in self.api("alerts")["alerts"] if a["labels"]["alertname"].startswith("Tally")}

    def tail(self):
        with open(os.path.join(self.folder, "prometheus.log"), errors="replace") as f:
            return "".join(f.readlines()[-30:])

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def wait_alerts(prom, want, timeout, what):
    got = [None]

    def match():
        got[0] = prom.alerts()
        return got[0] == want
    try:
        wait_until(match, timeout, what)
    except Failure:
        raise Failure("%s: alerts %s, want %s" % (what, sorted(got[0] or ()), sorted(want)))


def pending_then_firing(prom, name, region, timeout):
    """Polls until (name, region) fires; it must have been seen pending first."""
    states = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = {s for n, r, s in prom.alerts() if n == name and r == region}
        for s in sorted(now):
            if not states or states[-1] != s:
                states.append(s)
        if "firing" in now:
            break
        time.sleep(0.2)
    if states[-1:] != ["firing"] or "pending" not in states:
        raise Failure("%s{region=%s}: states seen %s within %d s, want pending then firing" %
                      (name, region, states, timeout))
    return states


def concrete(expr):
    return (expr.replace("$__rate_interval", "1m").replace("${region}", ".*")
            .replace("$region", ".*"))


def test_alerts_and_dashboard_on_a_live_prometheus(c):
    if not os.path.exists(PROMETHEUS):
        raise Failure("%s missing: deploy/deps.sh --test installs Debian's prometheus" % PROMETHEUS)
    t0 = time.monotonic()
    c.make_election(regions=3, precincts=30)
    A, B, C = c.regions()
    scenario.sh(["bash", os.path.join(scenario.SOURCE, "deploy", "pki.sh"), "renew-cert",
                 "--out", c.pki, "--region", A, "--days", "3"])
    agg = c.add_aggregator()
    agg.start()
    proxy = c.add_proxy(agg.listen_port)
    mports = {A: scenario.free_port(), B: scenario.free_port()}
    node_a = c.add_node(A, [agg.listen_port],
                        extra={"node": {"metrics_listen": "127.0.0.1:%d" % mports[A]}})
    node_b = c.add_node(B, [proxy.port],
                        extra={"node": {"metrics_listen": "127.0.0.1:%d" % mports[B]}})
    node_a.start()
    node_b.start()

    folder = os.path.join(c.tmp, "prometheus")
    os.makedirs(folder)
    rules = os.path.join(folder, "tally.rules.yml")
    test_rules(rules)
    config = os.path.join(folder, "prometheus.yml")
    with open(config, "w") as f:
        yaml.safe_dump({
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s",
                       "evaluation_interval": "1s"},
            "rule_files": [rules],
            "scrape_configs": [
                {"job_name": "tally-aggregator",
                 "static_configs": [{"targets": ["127.0.0.1:%d" % agg.http_port]}]},
                {"job_name": "tally-node",
                 "static_configs": [{"targets": ["127.0.0.1:%d" % mports[r]],
                                     "labels": {"region": r}} for r in (A, B)]},
            ]}, f)
    prom = Prometheus(folder, config)
    try:
        def all_up():
            t = prom.api("targets")["activeTargets"]
            return len(t) == 3 and all(x["health"] == "up" for x in t)
        wait_until(all_up, 20, "Prometheus to scrape the aggregator and both nodes")
        info = prom.query("tally_node_info")
        labels = sorted(sorted(k for k in x["metric"] if not k.startswith("__")) for x in info)
        if labels != [["election", "instance", "job", "key_id", "node", "region"]] * 2:
            raise Failure("tally_node_info's labels as Prometheus stores them: %s" % labels)

        # Some results from A and B; C sends nothing.
        files, _ = c.make_results(fmt="csv", per_file=4, regions=[A, B])
        for region, node in ((A, node_a), (B, node_b)):
            for f in files[region][:2]:
                c.feed(node, f)
        held = files[B][2]
        wait_until(c.totals_match, 30, "the results of A and B counted")
        wait_until(lambda: prom.query("tally_precincts_reported")[0]["value"][1] != "0", 10,
                   "Prometheus to see the counted precincts")

        wait_alerts(prom, {("TallyRegionNodeDisconnected", C, "firing"),
                           ("TallyCertificateExpiresSoon", A, "firing")}, 20,
                    "C without a node and A's 3-day certificate")
        exp = prom.query('tally_tls_certificate_expiry_timestamp_seconds{region="%s"}' % A)
        days = (float(exp[0]["value"][1]) - time.time()) / 86400
        if not 2.9 < days <= 3.0:
            raise Failure("A's certificate expires in %.3f days, want 3" % days)

        # B's connection is cut and stays cut; a protocol waits in its outbox.
        proxy.partition(True)
        c.feed(node_b, held)
        states = pending_then_firing(prom, "TallyRegionNodeDisconnected", B, 25)
        scenario.log("  B disconnected: %s" % " -> ".join(states))
        wait_alerts(prom, {("TallyRegionNodeDisconnected", C, "firing"),
                           ("TallyCertificateExpiresSoon", A, "firing"),
                           ("TallyRegionNodeDisconnected", B, "firing"),
                           ("TallyNodeBacklogOld", B, "firing")}, 15,
                    "B disconnected with a protocol waiting")
        conn = prom.query('sum(tally_node_uplink_state{region="%s",state="connected"})' % B)
        if conn[0]["value"][1] != "0":
            raise Failure("B's node says it is connected: %s" % conn)
        fails = prom.query('sum(tally_node_uplink_failures_total{region="%s"})' % B)
        if not float(fails[0]["value"][1]) >= 1:
            raise Failure("B's node counts no failure: %s" % fails)

        # The connection heals: B delivers, its alerts resolve.
        proxy.partition(False)
        wait_alerts(prom, {("TallyRegionNodeDisconnected", C, "firing"),
                           ("TallyCertificateExpiresSoon", A, "firing")}, 40,
                    "B's alerts resolved once it reconnected")
        wait_until(c.totals_match, 30, "B's held protocols counted")

        # Every dashboard query, as Grafana would send it, returns data.
        with open(DASHBOARD) as f:
            dash = json.load(f)
        n = 0
        for p in dash["panels"]:
            for t in p.get("targets", []):
                result = prom.query(concrete(t["expr"]))
                if not result:
                    raise Failure("dashboard panel %r query %s returned no data: %s" %
                                  (p["title"], t["refId"], concrete(t["expr"])))
                n += 1
        scenario.log("  %d dashboard queries returned data" % n)

        # A's node stops: its target is down, its region has no node, and
        # its certificate's series went stale.
        node_a.stop()
        states = pending_then_firing(prom, "TallyNodeDown", A, 25)
        scenario.log("  A's node stopped: TallyNodeDown %s" % " -> ".join(states))
        wait_alerts(prom, {("TallyRegionNodeDisconnected", C, "firing"),
                           ("TallyRegionNodeDisconnected", A, "firing"),
                           ("TallyNodeDown", A, "firing")}, 15, "A's node stopped")
        node_b.stop()
        agg.stop()
        scenario.log("  %.1f s" % (time.monotonic() - t0))
    except Exception:
        sys.stderr.write("---- prometheus log (last lines):\n%s\n" % prom.tail())
        raise
    finally:
        prom.close()
        shutil.rmtree(os.path.join(folder, "data"), ignore_errors=True)


if __name__ == "__main__":
    sys.exit(run_tests([test_alerts_and_dashboard_on_a_live_prometheus], "test_prometheus_live"))
