#!/usr/bin/python3
"""Publication as its readers see it: the event stream delivers each change
with the exact counts and id = sequence, coalesced; a Last-Event-ID
reconnect gets the current state at once; rejections and conflicts reach
the stream; watchers beyond the cap get 503; /metrics parses as Prometheus
text with exact counter values; the NIST SP 1500-100 export validates
against NIST's schema, carries the exact counts and says partial, then
complete; so do the documents of a general election that
tests/unit/test_export_nist.c builds; the live page's files come with a
strict Content-Security-Policy; tallyctl totals and watch print the same
figures. `test_publish.py export` runs the export checks alone."""
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import pubkit  # noqa: E402
import tallyclient as tc  # noqa: E402

# NIST's schema, kept in the repository (tests/data/nist/README.md says where it comes from).
SCHEMA = os.path.join(harness.SOURCE, "tests", "data", "nist",
                      "NIST_V2_election_results_reporting.json")
TALLYCTL = os.path.join(harness.BUILD, "daemon", "cli", "tallyctl")
# The unit tests of the export, which also write a general election's documents.
EXPORT_UNIT = os.path.join(harness.BUILD, "tests", "test_export_nist")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    else:
        print("ok:", what)


def eq(got, want, what):
    check(got == want, "%s: got %r, want %r" % (what, got, want))


def fmt(n):
    return "{:,}".format(n)


class Feeder:
    """Signs and submits results region by region, remembering what counts."""

    def __init__(self, w, agg, el):
        self.w, self.agg, self.el = w, agg, el
        self.clients, self.signers, self.seq = {}, {}, 0
        self.total = sum(len(r["precincts"]) for r in el["regions"])
        self.counted = {}  # precinct id -> (region, cast, invalid, not_counted, yes, no, reg)

    def client(self, region):
        if region not in self.clients:
            d = self.w.region_dir(region)
            self.signers[region] = tc.Signer(os.path.join(d, "sign.key"))
            c = tc.Client(self.agg.port, d)
            c.hello("node-" + region, region)
            self.clients[region] = c
        return self.clients[region]

    def result(self, region, p, revision=1, cast=None, invalid=3, not_counted=1, yes=None):
        cast = cast if cast is not None else p["registered"] * 7 // 10
        yes = yes if yes is not None else (cast - invalid - not_counted) * 4 // 5
        return tc.make_result(self.el["election_id"], region, p["id"], revision, p["registered"],
                              cast, invalid=invalid, not_counted=not_counted, yes=yes)

    def submit(self, region, results, raw=None):
        """Submits results pipelined; returns the answers in order."""
        c = self.client(region)
        items = []
        for r in results:
            self.seq += 1
            items.append((self.seq, raw if raw is not None else tc.signed(self.signers[region], r)))
        c.submit_many(items)
        ans = c.read_answers(len(items))
        out = []
        for (s, _), r in zip(items, results):
            a = ans[s]
            out.append(a)
            if a == ("ack", "OUTCOME_ACCEPTED"):
                yes = r.votes[0].count
                self.counted[r.precinct_id] = (region, r.ballots_cast, r.ballots_invalid,
                                               r.ballots_not_counted, yes, r.votes[1].count,
                                               r.voters_registered)
        return out

    def sums(self, region=None):
        vals = [v for v in self.counted.values() if region is None or v[0] == region]
        return {"reported": len(vals), "cast": sum(v[1] for v in vals),
                "invalid": sum(v[2] for v in vals), "not_counted": sum(v[3] for v in vals),
                "yes": sum(v[4] for v in vals), "no": sum(v[5] for v in vals),
                "registered": sum(v[6] for v in vals)}

    def close(self):
        for c in self.clients.values():
            c.close()


def metrics(agg):
    from prometheus_client.parser import text_string_to_metric_families
    st, hdr, body = agg.get("/metrics")
    eq(st, 200, "/metrics answers 200")
    check(hdr.get("content-type", "").startswith("text/plain; version=0.0.4"),
          "/metrics content type is the 0.0.4 text format (%s)" % hdr.get("content-type"))
    fams = {}
    samples = {}
    for fam in text_string_to_metric_families(body.decode("utf-8")):
        fams[fam.name] = fam
        for s in fam.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return fams, samples, body.decode()


def sample(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def test_events_and_metrics(w, agg, el, feed):
    regions = el["regions"]
    ra, rb = regions[0], regions[1]

    s1 = pubkit.SSE(agg.http_port)
    eq(s1.status, 200, "GET /v1/events answers 200")
    check(s1.headers.get("content-type", "").startswith("text/event-stream"),
          "event stream content type (%s)" % s1.headers.get("content-type"))
    first = s1.next("totals", timeout=3)
    check(first is not None, "a new watcher gets the current state at once")
    eq((first["id"], first["doc"]["sequence"], first["doc"]["national"]["precincts_reported"]),
       ("0", 0, 0), "initial event: id 0, nothing reported")
    eq([o["id"] for o in first["doc"]["options"]], ["yes", "no"], "event carries the options")
    eq(first["doc"]["title"], el["title"], "event carries the election title")
    check("\n" not in first["data"], "event data is one line")

    # One result: an event with the exact counts and id = sequence.
    p0 = ra["precincts"][0]
    r = feed.result(ra["id"], p0, cast=100, invalid=4, not_counted=1, yes=60)
    eq(feed.submit(ra["id"], [r]), [("ack", "OUTCOME_ACCEPTED")], "first result accepted")
    t0 = time.monotonic()
    ev = s1.next("totals", timeout=3)
    check(ev is not None, "an event follows an accepted result")
    n = ev["doc"]["national"]
    eq((ev["id"], ev["doc"]["sequence"]), ("1", 1), "event id is the sequence")
    eq((n["precincts_reported"], n["ballots_cast"], n["ballots_invalid"],
        n["ballots_not_counted"], n["votes"]),
       (1, 100, 4, 1, {"yes": 60, "no": 35}), "event carries the exact national counts")
    check(time.monotonic() - t0 < 1.5, "the event came within a tick (%.2f s)" % (time.monotonic() - t0))

    # A burst: coalesced to few events, the last with everything.
    rs = [feed.result(rb["id"], p) for p in rb["precincts"][:6]]
    ans = feed.submit(rb["id"], rs)
    eq(ans, [("ack", "OUTCOME_ACCEPTED")] * 6, "a burst of six accepted")
    got = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        e = s1.next("totals", timeout=1.0)
        if e is None:
            break
        got.append(e)
        if e["id"] == "7":
            break
    check(got and got[-1]["id"] == "7", "the burst ends in an event with id 7 (%s)" %
          [e["id"] for e in got])
    ids = [int(e["id"]) for e in got]
    check(ids == sorted(ids) and len(ids) <= 6, "burst events coalesced and in order: %s" % ids)
    if got:
        sm = feed.sums()
        n = got[-1]["doc"]["national"]
        eq((n["precincts_reported"], n["ballots_cast"], n["votes"]["yes"], n["votes"]["no"]),
           (sm["reported"], sm["cast"], sm["yes"], sm["no"]), "after the burst: exact sums")

    # Reconnect with Last-Event-ID: the current state at once.
    s2 = pubkit.SSE(agg.http_port, last_event_id="1")
    t0 = time.monotonic()
    e2 = s2.next("totals", timeout=3)
    check(e2 is not None and time.monotonic() - t0 < 1.0,
          "Last-Event-ID reconnect gets an event at once")
    if e2:
        eq(e2["id"], "7", "the reconnect event is the current sequence")
        eq(e2["doc"]["national"]["votes"], {"yes": feed.sums()["yes"], "no": feed.sums()["no"]},
           "the reconnect event has the current counts")
    s2.close()

    # A rejection reaches the stream although the sequence does not move.
    bad = tc.signed(feed.signers[ra["id"]], feed.result(ra["id"], ra["precincts"][1]))
    bad.signature = bytes(64)
    ans = feed.submit(ra["id"], [feed.result(ra["id"], ra["precincts"][1])], raw=bad)
    eq(ans[0][:2], ("nack", "REJECT_CODE_BAD_SIGNATURE"), "a forged signature is refused")
    e = s1.next("totals", timeout=3)
    check(e is not None, "an event follows a rejection")
    if e:
        eq(e["id"], "7", "a rejection does not move the sequence")
        rej = e["doc"].get("rejections") or [{}]
        # The precinct of an unverified payload is not trusted: the aggregator says 0.
        eq((rej[0].get("code"), rej[0].get("region_id"), rej[0].get("precinct_id")),
           ("BAD_SIGNATURE", ra["id"], 0), "the newest rejection is listed with code and region")
        check("does not verify" in rej[0].get("reason", ""), "the rejection carries its reason")

    # A conflict: same revision, other content.
    r_conf = feed.result(ra["id"], p0, cast=100, invalid=4, not_counted=1, yes=59)
    eq(feed.submit(ra["id"], [r_conf]), [("ack", "OUTCOME_CONFLICT")], "conflicting copy")
    e = s1.next("totals", timeout=3)
    check(e is not None, "an event follows a conflict")
    if e:
        eq(e["id"], "8", "a conflict is logged: sequence 8")
        eq(e["doc"]["national"]["conflicts"], 1, "national conflicts = 1")
        eq(e["doc"]["conflicts"], [{"precinct_id": p0["id"], "region_id": ra["id"],
                                    "revision": 1, "copies": 1}], "the conflict is listed")
        eq(e["doc"]["national"]["votes"]["yes"], feed.sums()["yes"],
           "a conflicting copy is not counted")

    # Heartbeat proves the stream alive (sent every 15 s).
    hb = s1.next("heartbeat", timeout=17)
    check(hb is not None and "keep-alive" in hb["comments"], "keep-alive comment and heartbeat event")
    if hb:
        eq(json.loads(hb["data"])["sequence"], 8, "heartbeat carries the sequence")

    # Metrics.
    fams, smp, text = metrics(agg)
    eq(sample(smp, "tally_results_total", outcome="accepted"), 7.0, "results accepted = 7")
    eq(sample(smp, "tally_results_total", outcome="conflict"), 1.0, "results conflict = 1")
    eq(sample(smp, "tally_results_total", outcome="duplicate"), 0.0, "results duplicate = 0")
    eq(sample(smp, "tally_rejects_total", code="BAD_SIGNATURE"), 1.0, "rejects BAD_SIGNATURE = 1")
    eq(sample(smp, "tally_rejects_total", code="MALFORMED"), 0.0, "rejects MALFORMED = 0")
    eq(sample(smp, "tally_region_rejects_total", region=ra["id"], code="BAD_SIGNATURE"), 1.0,
       "region A's rejects BAD_SIGNATURE = 1")
    eq(sample(smp, "tally_region_rejects_total", region=rb["id"], code="BAD_SIGNATURE"), 0.0,
       "region B's rejects BAD_SIGNATURE = 0")
    eq(fams["tally_region_rejects"].type, "counter", "tally_region_rejects_total is a counter")
    from cryptography import x509
    import datetime
    with open(os.path.join(w.pki_dir, "aggregator", "aggregator.pem"), "rb") as f:
        not_after = x509.load_pem_x509_certificate(f.read()).not_valid_after
    eq(sample(smp, "tally_tls_certificate_expiry_timestamp_seconds"),
       not_after.replace(tzinfo=datetime.timezone.utc).timestamp(),
       "certificate expiry = aggregator.pem's notAfter")
    # The parser names a counter's family without "_total".
    eq(fams["tally_results"].type, "counter", "tally_results_total is a counter")
    eq(sample(smp, "tally_precincts_reported"), 7.0, "precincts reported = 7")
    eq(sample(smp, "tally_precincts_total"), float(sum(len(x["precincts"]) for x in regions)),
       "precincts total")
    eq(sample(smp, "tally_region_precincts_reported", region=rb["id"]), 6.0,
       "region precincts reported")
    eq(sample(smp, "tally_precincts_conflicted"), 1.0, "precincts conflicted = 1")
    eq(sample(smp, "tally_nodes_connected", region=ra["id"]), 1.0, "node connected for region A")
    eq(sample(smp, "tally_nodes_connected", region=regions[2]["id"]), 0.0,
       "no node for region C")
    eq(fams["tally_nodes_connected"].type, "gauge", "nodes connected is a gauge")
    eq(sample(smp, "tally_votes", option="yes"), float(feed.sums()["yes"]), "votes yes")
    eq(sample(smp, "tally_sequence"), 8.0, "sequence gauge = 8")
    eq(fams["tally_store_commit_duration_seconds"].type, "histogram", "commit latency histogram")
    eq(sample(smp, "tally_ingest_ack_duration_seconds_count"), 9.0,
       "ack latency observed once per submit (9)")
    eq(sample(smp, "tally_ingest_ack_duration_seconds_bucket", le="+Inf"), 9.0,
       "ack latency +Inf bucket = count")
    eq(sample(smp, "tally_store_commit_duration_seconds_count"),
       sample(smp, "tally_store_commits_total"), "one commit latency per commit")
    check((sample(smp, "tally_events_watchers") or 0) >= 1, "event stream watchers gauge >= 1")
    check((sample(smp, "tally_events_sent_total") or 0) >= 4, "events sent counter")
    check((sample(smp, "process_resident_memory_bytes") or 0) > 1 << 20, "resident memory")
    check((sample(smp, "process_open_fds") or 0) >= 5, "open fds")
    check((sample(smp, "process_cpu_seconds_total") or -1) >= 0, "cpu seconds")
    st = sample(smp, "process_start_time_seconds") or 0
    check(abs(st - time.time()) < 3600, "process start time is recent (%s)" % st)
    check("# HELP tally_results_total " in text and "# TYPE tally_results_total counter" in text,
          "HELP and TYPE lines")
    # Prometheus' own linter on the names, types and units: it finds only the
    # two gauges named *_total before there was a linter in the tests, kept
    # as they are because dashboards and scripts already use them.
    lint = subprocess.run(["/usr/bin/promtool", "check", "metrics"], input=text.encode(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
    eq(lint.stdout.decode(errors="replace").splitlines(),
       ['tally_precincts_total non-counter metrics should not have "_total" suffix',
        'tally_region_precincts_total non-counter metrics should not have "_total" suffix'],
       "promtool check metrics: nothing but the two known names")
    s1.close()


def find(arr, key, value):
    return [x for x in arr if x.get(key) == value]


def check_export(agg, feed, el, status_want, label):
    with open(SCHEMA) as f:
        schema = json.load(f)
    eq(schema.get("$schema"), "http://json-schema.org/draft-04/schema#",
       "the NIST schema is draft-04 (validated with Draft4Validator)")
    st, hdr, body = agg.get("/v1/export/nist-1500-100.json")
    eq(st, 200, "%s: export answers 200" % label)
    check(hdr.get("content-type", "").startswith("application/json"), "export is JSON")
    doc = json.loads(body)
    errs = pubkit.nist_schema_errors(doc, schema)
    eq(errs, [], "%s: the export validates against the NIST SP 1500-100 v2 schema" % label)
    eq(pubkit.nist_reference_errors(doc), [], "%s: every @id is unique and every reference resolves" % label)
    eq(doc["Status"], status_want, "%s: Status" % label)
    sm = feed.sums()
    contest = doc["Election"][0]["Contest"][0]
    eq(contest["@type"], "ElectionResults.BallotMeasureContest", "a BallotMeasureContest")
    sel = {s["@id"]: s for s in contest["ContestSelection"]}
    eq(sorted(sel), ["bms-no", "bms-yes"], "a selection per option")
    yes = {v["GpUnitId"]: v["Count"] for v in sel["bms-yes"]["VoteCounts"]}
    no = {v["GpUnitId"]: v["Count"] for v in sel["bms-no"]["VoteCounts"]}
    eq((yes["ru-country"], no["ru-country"]), (sm["yes"], sm["no"]),
       "%s: national VoteCounts exact" % label)
    for r in el["regions"]:
        rs = feed.sums(r["id"])
        eq((yes["ru-" + r["id"]], no["ru-" + r["id"]]), (rs["yes"], rs["no"]),
           "%s: VoteCounts of %s exact" % (label, r["id"]))
    pid, v = sorted(feed.counted.items())[0]
    eq((yes["ru-p%d" % pid], no["ru-p%d" % pid]), (v[4], v[5]),
       "%s: precinct %d VoteCounts exact" % (label, pid))
    units = {u["@id"]: u for u in doc["GpUnit"]}
    total = sum(len(r["precincts"]) for r in el["regions"])
    eq(len(units), 1 + len(el["regions"]) + total, "GpUnits: country, regions, precincts")
    c = units["ru-country"]
    eq((c["Type"], c["TotalSubUnits"], c["SubUnitsReported"], c["VotersParticipated"]),
       ("country", total, sm["reported"], sm["cast"]), "%s: country unit figures" % label)
    bc = find(doc["Election"][0]["BallotCounts"], "GpUnitId", "ru-country")[0]
    eq((bc["BallotsCast"], bc["BallotsRejected"]), (sm["cast"], sm["invalid"]),
       "%s: BallotCounts exact" % label)
    seq = find(doc["ExternalIdentifier"], "OtherType", "tally-sequence")[0]["Value"]
    return doc, schema, int(seq)


def test_export(agg, feed, el):
    doc, schema, seq = check_export(agg, feed, el, "unofficial-partial", "partial")
    eq(seq, agg.get_json("/v1/totals")["sequence"], "export at the current sequence")
    bad = json.loads(json.dumps(doc))
    bad["Status"] = "counting"
    del bad["Election"][0]["Contest"][0]["ContestSelection"][0]["VoteCounts"][0]["Count"]
    check(len(pubkit.nist_schema_errors(bad, schema)) == 2, "the validator does catch a bad Status and a missing Count")

    st, hdr, _ = agg.get("/v1/export/nist-1500-100.json")
    eq(hdr.get("x-tally-sequence"), str(seq), "a cached export says its sequence")
    etag = hdr.get("etag")
    check(bool(etag), "a cached export has an ETag")
    st, hdr304, body304 = agg.get("/v1/export/nist-1500-100.json", headers={"If-None-Match": etag})
    eq(st, 304, "If-None-Match with the current ETag: 304")
    eq((hdr304.get("content-length"), body304, hdr304.get("etag")), (None, b"", etag),
       "a 304 has no Content-Length, no body, and the ETag")

    st, _, body = agg.get("/v1/export/nist-1500-100.json?format=summary")
    sdoc = json.loads(body)
    eq(pubkit.nist_schema_errors(sdoc, schema), [], "the summary export validates too")
    eq((sdoc["Format"], len(sdoc["GpUnit"])), ("summary-contest", 1 + len(el["regions"])),
       "summary: country and regions only")
    st, _, _ = agg.get("/v1/export/nist-1500-100.json?format=xml")
    eq(st, 400, "an unknown format is 400")


def vote_counts(doc, contest, selection, type_="total"):
    c = find(doc["Election"][0]["Contest"], "@id", contest)[0]
    s = find(c["ContestSelection"], "@id", selection)[0]
    return {v["GpUnitId"]: v["Count"] for v in s.get("VoteCounts", []) if v["Type"] == type_}


def test_general_export(w):
    """A general election's documents (a party list, a race in a district
    across a region line, a president, an akim of one region, a referendum)
    against the schema. The aggregator cannot be fed a general election
    before it counts contests, so the documents come from
    tests/unit/test_export_nist.c, which builds them from a definition
    loaded by the real loader and totals applied as the aggregator applies
    them, asserts their counts exactly, and writes them where
    TALLY_NIST_OUT says: partial, summary, complete."""
    out = os.path.join(w.dir, "nist-general")
    os.makedirs(out, exist_ok=True)
    if not os.path.exists(EXPORT_UNIT):
        check(False, "%s is built (configure with -DTALLY_TESTS=ON)" % EXPORT_UNIT)
        return
    env = dict(os.environ, TALLY_NIST_OUT=out)
    p = subprocess.run([EXPORT_UNIT, "--jobs", "1", "--filter",
                        "export_nist/general_documents_for_the_schema"],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    eq(p.returncode, 0, "the unit test writing the general election's documents passes")
    names = ["general-partial.json", "general-summary.json", "general-complete.json"]
    eq(sorted(os.listdir(out)), sorted(names), "partial, summary and complete documents written")
    if sorted(os.listdir(out)) != sorted(names):
        print(p.stdout.decode(errors="replace")[-2000:])
        return
    with open(SCHEMA) as f:
        schema = json.load(f)
    docs = []
    for name, label in zip(names, ("partial", "summary", "complete")):
        with open(os.path.join(out, name)) as f:
            doc = json.load(f)
        docs.append(doc)
        eq(pubkit.nist_schema_errors(doc, schema), [],
           "general election, %s: validates against the NIST SP 1500-100 v2 schema" % label)
        eq(pubkit.nist_reference_errors(doc), [],
           "general election, %s: every @id is unique and every reference resolves" % label)
    partial, summary, complete = docs
    bad = json.loads(json.dumps(complete))
    bad["Election"][0]["Candidate"][1]["@id"] = bad["Election"][0]["Candidate"][0]["@id"]
    bad["Election"][0]["Contest"][0]["ElectionDistrictId"] = "party-amanat"
    eq(len(pubkit.nist_reference_errors(bad)), 3,
       "the reference check does catch a duplicate @id, a lost CandidateId and a wrong type")
    eq((partial["Status"], summary["Format"], complete["Status"]),
       ("unofficial-partial", "summary-contest", "unofficial-complete"), "general: statuses")
    el = complete["Election"][0]
    eq([(c["@type"].split(".")[1], c["@id"], c["ElectionDistrictId"]) for c in el["Contest"]],
       [("PartyContest", "pc-mazhilis", "ru-country"),
        ("CandidateContest", "cc-otk-07", "ru-district/OTK-07"),
        ("CandidateContest", "cc-president", "ru-country"),
        ("CandidateContest", "cc-akim", "ru-scope/akim"),
        ("BallotMeasureContest", "bmc-referendum", "ru-country")],
       "general: a contest of the right kind per contest, in its scope's unit")
    seats = {s: vote_counts(complete, "pc-mazhilis", "ps-mazhilis/" + s, "seats")
             for s in ("amanat", "ak-zhol", "respublica", "people")}
    eq(seats, {"amanat": {"ru-country": 5}, "ak-zhol": {"ru-country": 3},
               "respublica": {"ru-country": 1}, "people": {"ru-country": 1}},
       "general: the party list's seats as VoteCounts of type seats")
    eq(vote_counts(partial, "pc-mazhilis", "ps-mazhilis/amanat", "seats"), {},
       "general: no seats while they could still change")
    eq(vote_counts(complete, "cc-otk-07", "cs-otk-07/c-2"),
       {"ru-district/OTK-07": 460, "ru-KZ-71": 150, "ru-KZ-11": 310, "ru-p3": 150, "ru-p101": 310},
       "general: the district race's counts per unit, across the region line")
    against = find(find(el["Contest"], "@id", "cc-otk-07")[0]["ContestSelection"],
                   "@id", "bms-otk-07/against-all")[0]
    eq((against["@type"], [(x["OtherType"], x["Value"]) for x in against["ExternalIdentifier"]]),
       ("ElectionResults.BallotMeasureSelection",
        [("tally-option-id", "against-all"), ("against-all", "true")]),
       "general: against-all is a BallotMeasureSelection marked against-all")
    eq({c["@id"]: c.get("PostElectionStatus") for c in el["Candidate"]},
       {"cand-otk-07/c-1": "defeated", "cand-otk-07/c-2": "winner",
        "cand-president/p-1": "advanced-to-runoff", "cand-president/p-2": "advanced-to-runoff",
        "cand-president/p-3": "defeated", "cand-akim/k-1": "winner", "cand-akim/k-2": "defeated"},
       "general: candidates' PostElectionStatus once final")
    units = {u["@id"]: u for u in complete["GpUnit"]}
    d = units["ru-district/OTK-07"]
    eq((d["Type"], d["OtherType"], d["ComposingGpUnitIds"]),
       ("other", "electoral-district", ["ru-p3", "ru-p101"]), "general: the district's unit")
    eq(sorted(u["@id"] for u in summary["GpUnit"]),
       ["ru-KZ-11", "ru-KZ-71", "ru-country", "ru-district/OTK-07", "ru-scope/akim"],
       "general summary: no precinct units")


def test_page(agg):
    for path, ctype in (("/", "text/html"), ("/app.js", "text/javascript"),
                        ("/app.css", "text/css"), ("/i18n.js", "text/javascript"),
                        ("/views.js", "text/javascript"), ("/hemicycle.js", "text/javascript"),
                        ("/map.js", "text/javascript"), ("/trend.js", "text/javascript")):
        st, hdr, body = agg.get(path)
        eq(st, 200, "GET %s" % path)
        check(hdr.get("content-type", "").startswith(ctype), "%s is %s" % (path, ctype))
        csp = hdr.get("content-security-policy", "")
        check("default-src 'none'" in csp and "script-src 'self'" in csp and
              "connect-src 'self'" in csp and "'unsafe-inline'" not in csp,
              "%s has a self-only CSP" % path)
        check(hdr.get("etag") and hdr.get("cache-control") == "no-cache",
              "%s revalidates by ETag" % path)
        with open(os.path.join(harness.SOURCE, "web", "index.html" if path == "/" else path[1:]),
                  "rb") as f:
            eq(body, f.read(), "%s is the file from web/ byte for byte" % path)
        st, hdr304, body304 = agg.get(path, headers={"If-None-Match": hdr.get("etag")})
        eq(st, 304, "%s with its ETag: 304" % path)
        eq((hdr304.get("content-length"), body304), (None, b""),
           "%s: a 304 has no Content-Length and no body" % path)
    _, _, html = agg.get("/")
    check(b"<script>" not in html and b" style=" not in html and b"http://" not in html
          and b"https://" not in html, "no inline code and nothing from another host in the page")


def test_watch_after_acks(agg, feed, el):
    """A watcher that connects right after results were acknowledged gets
    them in its first event: the committed state at the moment it connects,
    not the last tick's. Connecting within the 250 ms tick of the commit is
    what shows the difference, so nothing (not even /v1/totals, which
    publishes) runs between the Acks and the connection; three rounds make
    a lucky tick in between unlikely."""
    seq = agg.get_json("/v1/totals")["sequence"]
    for rnd in range(3):
        r = el["regions"][rnd % len(el["regions"])]
        todo = [p for p in r["precincts"] if p["id"] not in feed.counted][:3]
        ans = feed.submit(r["id"], [feed.result(r["id"], p) for p in todo])
        eq(ans, [("ack", "OUTCOME_ACCEPTED")] * len(todo), "round %d: %d results acknowledged"
           % (rnd, len(todo)))
        seq += len(todo)
        s = pubkit.SSE(agg.http_port)
        first = s.next("totals", timeout=3)
        s.close()
        check(first is not None, "round %d: a watcher connected after the Acks gets an event"
              % rnd)
        if first:
            eq((first["id"], first["doc"]["sequence"],
                first["doc"]["national"]["precincts_reported"]),
               (str(seq), seq, feed.sums()["reported"]),
               "round %d: its first event is the acknowledged state" % rnd)


def test_tallyctl(agg, feed):
    url = "http://127.0.0.1:%d" % agg.http_port
    sm = feed.sums()
    out = subprocess.run([TALLYCTL, "totals", "--url", url], capture_output=True, text=True,
                         timeout=30)
    eq(out.returncode, 0, "tallyctl totals exits 0")
    lines = out.stdout.splitlines()
    yes_line = [l for l in lines if l.strip().startswith("yes ")]
    check(yes_line and fmt(sm["yes"]) in yes_line[0],
          "tallyctl totals shows yes = %s (%s)" % (fmt(sm["yes"]), yes_line))
    check(any(l.strip().startswith("Precincts reported") and
              "%s of %s" % (fmt(sm["reported"]), fmt(feed.total)) in l for l in lines),
          "tallyctl totals shows precincts reported of total")
    out = subprocess.run([TALLYCTL, "totals", "--url", url, "--json"], capture_output=True,
                         text=True, timeout=30)
    eq(json.loads(out.stdout)["national"]["votes"], {"yes": sm["yes"], "no": sm["no"]},
       "tallyctl totals --json carries the exact votes")
    out = subprocess.run([TALLYCTL, "totals", "--url", "http://127.0.0.1:1"], capture_output=True,
                         text=True, timeout=30)
    eq(out.returncode, 2, "tallyctl totals: unreachable aggregator exits 2")
    out = subprocess.run([TALLYCTL, "watch", "--url", url, "--count", "1"], capture_output=True,
                         text=True, timeout=30)
    eq(out.returncode, 0, "tallyctl watch --count 1 exits 0")
    check(fmt(sm["yes"]) in out.stdout and "Watching " + url in out.stdout,
          "tallyctl watch draws the table from the stream")


def test_watcher_cap(w):
    # [http] max_connections = 8 leaves 7 for watchers (an eighth kept for the rest).
    agg = w.aggregator(name="capped", extra_conf="[http]\nmax_connections = 8\n")
    _, smp, _ = metrics(agg)
    cap = int(sample(smp, "tally_events_watchers_max") or 0)
    eq(cap, 7, "watcher cap is 7/8 of the HTTP connections")
    held = [pubkit.SSE(agg.http_port) for _ in range(cap)]
    check(all(h.next("totals", timeout=3) is not None for h in held), "%d watchers served" % cap)
    extra = pubkit.SSE(agg.http_port)
    eq(extra.status, 503, "one more watcher gets 503")
    body = extra.body_rest()
    check(extra.headers.get("retry-after") == "10" and b'"status":503' in body,
          "503 carries Retry-After and a JSON error")
    # Every connection is taken: ask for the metrics on the refused one (kept alive).
    extra.sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    extra.buf = b""
    deadline = time.monotonic() + 5
    while b"tally_events_watchers_refused_total 1\n" not in extra.buf and \
            time.monotonic() < deadline:
        try:
            extra._fill(deadline)
        except (EOFError, TimeoutError):
            break
    check(b"tally_events_watchers_refused_total 1\n" in extra.buf, "refused watchers counted")
    check(b"tally_events_watchers 7\n" in extra.buf, "watchers gauge = 7")
    extra.close()
    for h in held:
        h.close()
    eq(agg.stop(), 0, "capped aggregator exits 0 on SIGTERM")
    agg.check_sanitizers()


def test_big_export(w):
    """20,000 precincts: a document past the stream queue cap (4 MiB), so it is
    pumped in slices, both when the request waits for the build and from the cache."""
    el = w.election(regions=3, precincts=20000, seed=3)
    agg = w.aggregator(name="big")
    feed = Feeder(w, agg, el)
    r = el["regions"][2]
    ans = feed.submit(r["id"], [feed.result(r["id"], p) for p in r["precincts"][:50]])
    check(all(a == ("ack", "OUTCOME_ACCEPTED") for a in ans), "50 results in the big election")
    feed.close()
    bodies = []
    for i in range(2):
        st, hdr, body = agg.get("/v1/export/nist-1500-100.json")
        eq(st, 200, "big export %d answers 200" % i)
        bodies.append(body)
    check(len(bodies[0]) > 4 << 20, "the big export is over 4 MiB (%d bytes)" % len(bodies[0]))
    check(bodies[0] == bodies[1], "built and cached big exports are the same bytes")
    doc = json.loads(bodies[0])
    eq(len(doc["GpUnit"]), 1 + 3 + 20000, "every precinct is a GpUnit")
    sel = [x for x in doc["Election"][0]["Contest"][0]["ContestSelection"]
           if x["@id"] == "bms-yes"][0]
    eq(sel["VoteCounts"][0], {"@type": "ElectionResults.VoteCounts", "Count": feed.sums()["yes"],
                              "GpUnitId": "ru-country", "Type": "total"},
       "big export: national yes count exact")
    eq(agg.stop(), 0, "big aggregator exits 0")
    agg.check_sanitizers()


def main():
    with harness.Workspace() as w:
        el = w.election(regions=3, precincts=24, seed=11)
        w.pki()
        agg = w.aggregator()
        feed = Feeder(w, agg, el)
        test_events_and_metrics(w, agg, el, feed)
        test_export(agg, feed, el)
        test_page(agg)
        test_watch_after_acks(agg, feed, el)
        # Everything in: the export says complete.
        for r in el["regions"]:
            todo = [p for p in r["precincts"] if p["id"] not in feed.counted]
            if todo:
                # Precinct 0 is in conflict; a higher revision settles it.
                ans = feed.submit(r["id"], [feed.result(r["id"], p) for p in todo])
                check(all(a == ("ack", "OUTCOME_ACCEPTED") for a in ans),
                      "rest of %s accepted" % r["id"])
        feed.submit(el["regions"][0]["id"],
                    [feed.result(el["regions"][0]["id"], el["regions"][0]["precincts"][0],
                                 revision=2, cast=101)])
        deadline = time.monotonic() + 5
        while agg.get_json("/v1/totals")["national"]["precincts_reported"] < feed.total and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        doc, _, _ = check_export(agg, feed, el, "unofficial-complete", "complete")
        eq(doc["GpUnit"][0]["CountStatus"][0]["Status"], "completed", "country count completed")
        test_tallyctl(agg, feed)
        feed.close()
        eq(agg.stop(), 0, "aggregator exits 0 on SIGTERM with watchers and exports served")
        agg.check_sanitizers()
        test_watcher_cap(w)
        test_big_export(w)
        test_general_export(w)
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


def export_only():
    """Only the NIST export against the schema: what tests/fresh_clone.sh runs
    from a copy of the tree with nothing beside it."""
    with harness.Workspace() as w:
        el = w.election(regions=3, precincts=24, seed=11)
        w.pki()
        agg = w.aggregator()
        feed = Feeder(w, agg, el)
        for r in el["regions"]:
            ans = feed.submit(r["id"], [feed.result(r["id"], p) for p in r["precincts"][:4]])
            eq(ans, [("ack", "OUTCOME_ACCEPTED")] * 4, "4 results of %s accepted" % r["id"])
        test_export(agg, feed, el)
        feed.close()
        eq(agg.stop(), 0, "aggregator exits 0 on SIGTERM")
        agg.check_sanitizers()
        test_general_export(w)
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    if sys.argv[1:] == ["export"]:
        export_only()
    else:
        main()
