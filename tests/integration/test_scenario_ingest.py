#!/usr/bin/python3
"""The baseline the fault scenarios are measured against, also what
tests/tsan.sh runs: four nodes stream CSV and JSON protocols and
corrections into one aggregator at once; the totals must equal the
independent sum of what was submitted, every acknowledged protocol must be
in the store, and every precinct counted once at its highest revision."""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import run_main, scenario  # noqa: E402


@scenario("ingest-baseline")
def ingest_baseline(c, rng):
    c.start(regions=4, precincts=400)
    csv_files, declared = c.make_results("csv", per_file=25, corrections=20, name="csv")
    for region, files in csv_files.items():
        for f in files:
            c.feed(c.nodes[region], f)
    c.converge(timeout=120)
    # The generator's own sums agree with ours: two independent counts.
    want = c.expected.figures()
    for k in ("ballots_cast", "ballots_invalid", "voters_registered"):
        if declared["national"][k] != want[k]:
            raise AssertionError("expected.json %s %d != recomputed %d" %
                                 (k, declared["national"][k], want[k]))


@scenario("ingest-json-files")
def ingest_json(c, rng):
    # One protocol per file: many small files, picked up concurrently.
    c.start(regions=2, precincts=60)
    files, _ = c.make_results("json", corrections=6, name="json")
    for region, fs in files.items():
        for f in fs:
            c.feed(c.nodes[region], f)
    c.converge(timeout=120)


if __name__ == "__main__":
    sys.exit(run_main(sys.argv[1:] or ["ingest-baseline", "ingest-json-files"]))
