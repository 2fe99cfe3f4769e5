#!/usr/bin/python3
"""deploy/grafana/tally.json is a dashboard a current Grafana imports as
it is: the classic dashboard model at schemaVersion 41 (Grafana 12; later
versions migrate it on import), core panel types only (no Angular panel,
which Grafana 12 no longer loads), a Prometheus data source variable and a
multi-value region variable, panels laid on the 24-column grid without
overlapping, and every query valid PromQL (parsed by promtool) that follows
the region variable where its metric has a region. Whether each query
returns data is checked against a live Prometheus by
test_prometheus_live.py."""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.environ.get("TALLY_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE)))
DASHBOARD = os.path.join(SOURCE, "deploy", "grafana", "tally.json")
PROMTOOL = "/usr/bin/promtool"
SCHEMA_VERSION = 41
CORE_PANELS = {"row", "timeseries", "stat", "bargauge", "gauge", "state-timeline", "table", "text"}
ANGULAR_PANELS = {"graph", "singlestat", "table-old", "grafana-piechart-panel",
                  "grafana-worldmap-panel"}
# What the room must see (the dashboard's brief), by the metric that shows it.
REQUIRED_METRICS = {
    "ingest rate and outcomes": "tally_results_total",
    "rejects by code and region": "tally_region_rejects_total",
    "precincts reported by region": "tally_region_precincts_reported",
    "backlog per node": "tally_node_outbox_entries",
    "oldest undelivered age per node": "tally_node_outbox_oldest_undelivered_age_seconds",
    "commit latency": "tally_store_commit_duration_seconds_bucket",
    "ack latency": "tally_ingest_ack_duration_seconds_bucket",
    "watchers": "tally_events_watchers",
    "certificate expiry": "tally_tls_certificate_expiry_timestamp_seconds",
}
REGIONAL = re.compile(r"\b(tally_node_\w+|tally_region_\w+|tally_nodes_connected)\b")

passed, failures = [], []


def check(cond, what):
    print("%s %s" % ("ok  " if cond else "FAIL", what), flush=True)
    (passed if cond else failures).append(what)


def queries(dash):
    """(panel title, refId, expr) of every panel target, rows' panels included."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                out.append((p.get("title"), t.get("refId"), t.get("expr", "")))
            walk(p.get("panels", []))
    walk(dash["panels"])
    return out


def concrete(expr):
    """The query as Grafana sends it: the variables of this dashboard filled in."""
    return (expr.replace("$__rate_interval", "1m").replace("${region}", ".*")
            .replace("$region", ".*"))


def main():
    with open(DASHBOARD) as f:
        dash = json.load(f)

    check(dash.get("schemaVersion") == SCHEMA_VERSION, "schemaVersion %s" % dash.get("schemaVersion"))
    check(isinstance(dash.get("title"), str) and dash["title"], "a title")
    uid = dash.get("uid", "")
    check(re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid) is not None, "uid %r" % uid)
    check("id" not in dash or dash["id"] is None, "no database id (import assigns one)")
    check(isinstance(dash.get("refresh"), str), "refresh is a string (schema 40)")
    check("time_options" not in dash.get("timepicker", {}), "no time_options (schema 41)")
    check("rows" not in dash, "panels, not the pre-schema-16 rows")
    check(set(dash.get("time", {})) == {"from", "to"}, "a time range")
    check(isinstance(dash.get("annotations", {}).get("list"), list), "annotations list")

    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource", {})
    check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
          "a Prometheus data source variable")
    region = variables.get("region", {})
    check(region.get("type") == "query" and region.get("multi") is True
          and region.get("includeAll") is True and region.get("allValue") == ".*"
          and region.get("datasource") == {"type": "prometheus", "uid": "${datasource}"}
          and region.get("definition") == "label_values(tally_region_precincts_total, region)"
          and region.get("query", {}).get("query") == region.get("definition"),
          "a region variable: label_values of the aggregator's regions, multi, All = .*")

    panels = dash.get("panels", [])
    ids = [p.get("id") for p in panels]
    check(all(isinstance(i, int) for i in ids) and len(ids) == len(set(ids)),
          "%d panels with unique ids" % len(ids))
    types = {p.get("type") for p in panels}
    check(types <= CORE_PANELS and not types & ANGULAR_PANELS,
          "core panel types only: %s" % sorted(types))
    cells = {}
    layout_ok = True
    for p in panels:
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in "hwxy") or g["w"] < 1 or \
                g["x"] < 0 or g["x"] + g["w"] > 24 or g["h"] < 1:
            layout_ok = False
            print("     bad gridPos %s on %r" % (g, p.get("title")))
            continue
        if p["type"] == "row" and (g["w"] != 24 or g["h"] != 1 or g["x"] != 0):
            layout_ok = False
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                if (x, y) in cells:
                    layout_ok = False
                    print("     %r overlaps %r" % (p.get("title"), cells[(x, y)]))
                cells[(x, y)] = p.get("title")
    check(layout_ok, "every panel on the 24-column grid, none overlapping")

    for p in panels:
        if p["type"] == "row":
            continue
        t = p.get("targets", [])
        refs = [x.get("refId") for x in t]
        check(p.get("datasource") == {"type": "prometheus", "uid": "${datasource}"}
              and t and len(refs) == len(set(refs))
              and all(x.get("datasource") == p["datasource"] and x.get("expr") for x in t)
              and isinstance(p.get("fieldConfig", {}).get("defaults"), dict)
              and isinstance(p.get("fieldConfig", {}).get("overrides"), list)
              and p.get("title") and p.get("description"),
              "panel %r: data source, targets, field config, title and description" % p.get("title"))

    qs = queries(dash)
    for title, ref, expr in qs:
        if REGIONAL.search(expr):
            check('region=~"$region"' in expr, "%r %s follows $region" % (title, ref))
    exprs = " ".join(e for _, _, e in qs)
    for what, metric in REQUIRED_METRICS.items():
        check(metric in exprs, "shows %s (%s)" % (what, metric))

    # promtool parses each query as the expression of a recording rule.
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "dashboard.rules.yml")
        with open(path, "w") as f:
            f.write("groups:\n  - name: dashboard\n    rules:\n")
            for i, (_, _, expr) in enumerate(qs):
                f.write("      - record: dashboard:query:%d\n        expr: %s\n" %
                        (i, json.dumps(concrete(expr))))
        r = subprocess.run([PROMTOOL, "check", "rules", path], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=60)
        check(r.returncode == 0 and "SUCCESS: %d rules found" % len(qs) in r.stdout,
              "promtool parses all %d queries:\n%s" % (len(qs), r.stdout.strip()))

    print("%d passed, %d failed" % (len(passed), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
