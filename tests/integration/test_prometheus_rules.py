#!/usr/bin/python3
"""The shipped Prometheus files, checked with Debian's promtool: the rules
(deploy/prometheus/tally.rules.yml) load, the example configuration
(deploy/prometheus/prometheus.yml) is valid and names every region of the
demo election once, and the unit tests (tests/prometheus/tally.rules.test.yml)
pass with the shipped durations. Every alert carries a severity, a summary,
a description that names its region (or says it concerns all of them) and a
runbook_url whose entry exists in docs/operations.md, and is shown firing by
at least one unit test."""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.environ.get("TALLY_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE)))
PROMTOOL = "/usr/bin/promtool"
RULES = os.path.join(SOURCE, "deploy", "prometheus", "tally.rules.yml")
CONFIG = os.path.join(SOURCE, "deploy", "prometheus", "prometheus.yml")
UNIT = os.path.join(SOURCE, "tests", "prometheus", "tally.rules.test.yml")
RUNBOOK = os.path.join(SOURCE, "docs", "operations.md")
RUNBOOK_PREFIX = "file:///usr/share/doc/tally/operations.md#"

failures = []
passed = []


def check(cond, what):
    print("%s %s" % ("ok  " if cond else "FAIL", what), flush=True)
    (passed if cond else failures).append(what)


def promtool(*args):
    r = subprocess.run([PROMTOOL] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=120)
    return r.returncode, r.stdout


def anchors(markdown):
    """GitHub's heading anchors: lowercase, spaces to '-', punctuation dropped."""
    out = set()
    for line in markdown.splitlines():
        m = re.match(r"#+ (.*)", line)
        if m:
            a = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            out.add(a)
    return out


def main():
    if not os.path.exists(PROMTOOL):
        print("promtool missing: deploy/deps.sh --test installs Debian's prometheus")
        return 1
    rc, out = promtool("check", "rules", RULES)
    check(rc == 0 and "SUCCESS: 22 rules found" in out, "promtool check rules: %s" % out.strip())
    rc, out = promtool("check", "config", CONFIG)
    check(rc == 0 and "is valid prometheus config file syntax" in out,
          "promtool check config:\n%s" % out.strip())
    rc, out = promtool("test", "rules", UNIT)
    check(rc == 0 and "SUCCESS" in out, "promtool test rules:\n%s" % out.strip())

    # The unit tests must be able to fail: one expected annotation changed.
    with open(UNIT) as f:
        text = f.read()
    with tempfile.TemporaryDirectory() as d:
        broken = os.path.join(d, "broken.test.yml")
        with open(broken, "w") as f:
            f.write(text.replace("../../deploy/prometheus/tally.rules.yml", RULES)
                    .replace("no node connected, 60 precincts", "no node connected, 61 precincts"))
        rc, out = promtool("test", "rules", broken)
        check(rc != 0 and "alertname: TallyRegionNodeDisconnected, time: 5m" in out,
              "a wrong expectation fails promtool test rules")

    with open(RULES) as f:
        rules = yaml.safe_load(f)
    with open(UNIT) as f:
        unit = yaml.safe_load(f)
    with open(RUNBOOK) as f:
        runbook_anchors = anchors(f.read())
    fired = set()
    for t in unit["tests"]:
        for a in t.get("alert_rule_test", []):
            if a.get("exp_alerts"):
                fired.add(a["alertname"])
    alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
    names = [a["alert"] for a in alerts]
    check(len(names) == len(set(names)) == 12, "12 alerts, each named once: %s" % names)
    for a in alerts:
        n, ann = a["alert"], a.get("annotations", {})
        check(a.get("labels", {}).get("severity") in ("page", "warning"),
              "%s: severity page or warning" % n)
        check(bool(ann.get("summary")), "%s: summary" % n)
        desc = ann.get("description", "")
        check("$labels.region" in desc or "all regions" in desc or "every region" in desc,
              "%s: the description names the region or says all regions" % n)
        url = ann.get("runbook_url", "")
        check(url.startswith(RUNBOOK_PREFIX) and url[len(RUNBOOK_PREFIX):] == n.lower()
              and n.lower() in runbook_anchors,
              "%s: runbook_url %s has its entry in docs/operations.md" % (n, url))
        check(n in fired, "%s: a unit test shows it firing" % n)

    # The example configuration: every region of the demo election once.
    with open(CONFIG) as f:
        conf = yaml.safe_load(f)
    jobs = {j["job_name"]: j for j in conf["scrape_configs"]}
    check(set(jobs) == {"tally-aggregator", "tally-node"}, "jobs: %s" % sorted(jobs))
    regions = [sc["labels"]["region"] for sc in jobs["tally-node"]["static_configs"]]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "election.json")
        subprocess.run(["/usr/bin/python3", os.path.join(SOURCE, "deploy", "election.py"),
                        "kz-demo", "--out", path], check=True, timeout=120,
                       stdout=subprocess.DEVNULL)
        with open(path) as f:
            demo = [r["id"] for r in json.load(f)["regions"]]
    check(sorted(regions) == sorted(demo) and len(regions) == 20,
          "the example scrapes one node per demo region (%d)" % len(regions))
    check(conf["rule_files"] == ["tally.rules.yml"], "the example loads tally.rules.yml")

    print("%d passed, %d failed" % (len(passed), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
