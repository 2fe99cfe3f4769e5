#!/usr/bin/python3
"""The public log end to end: real nodes feed a real aggregator; then an
observer exports the record and verifies it (offline and live), a region
proves its precincts are counted, a conflict and a night of corrections
land in the log, the aggregator is killed and restarted, and each kind of
tampering with an exported bundle is caught and named by `tallyctl verify`.
Also the log API's answers to bad requests."""
import base64
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from scenario import (TALLYCTL_BIN, Failure, Peer, Signer, log, make_result, pb,  # noqa: E402
                      read_protocols, run_main, scenario, wait_until)


def tallyctl(*args, timeout=300):
    r = subprocess.run([TALLYCTL_BIN] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def expect_rc(want, res, what):
    rc, out, err = res
    if rc != want:
        raise Failure("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s" %
                      (what, rc, want, out[-3000:], err[-3000:]))
    return out


def head_caught_up(agg):
    sth = agg.get_json("/v1/log/sth")
    return sth["tree_size"] == agg.totals()["sequence"]


def tampered(src, dst, fn):
    with open(src) as f:
        b = json.load(f)
    fn(b)
    with open(dst, "w") as f:
        json.dump(b, f)
    return dst


@scenario("log-verify")
def log_verify(c, rng):
    c.start(regions=3, precincts=120)
    agg = c.aggregator
    url = "http://127.0.0.1:%d" % agg.http_port
    trusted = os.path.join(c.pki, "aggregator", "trusted")
    log_pub = os.path.join(agg.state_dir, "log.pub.pem")
    state = os.path.join(c.tmp, "verify-state.json")
    common = ["--election", c.election_path, "--trusted-keys", trusted, "--log-key", log_pub]

    # The key was made on first start, private to the daemon's user.
    key_path = os.path.join(agg.state_dir, "log.key")
    if os.stat(key_path).st_mode & 0o777 != 0o600:
        raise Failure("log.key mode %o, want 600" % (os.stat(key_path).st_mode & 0o777))

    files, _ = c.make_results("csv", per_file=20, corrections=15, name="night")
    main, late = [], []
    for region, fs in files.items():
        for f in fs:
            base = os.path.basename(f)
            (late if "correction" in base or "-r" in base else main).append((c.nodes[region], f))
    if not late:
        raise Failure("the generator made no correction files")
    c.feed_all(main)
    c.converge(timeout=120)
    wait_until(lambda: head_caught_up(agg), 10, "a tree head of the current log")

    # A conflicting copy of a counted result: flagged, kept, logged.
    # On a precinct a later correction settles, so the end state has no flag.
    region = c.regions()[0]
    corrected = {row["precinct_id"] for node, f in late if node is c.nodes[region]
                 for row in read_protocols(f)}
    pid = min(p for p in corrected if p in c.expected.latest)
    rev = c.expected.latest[pid]["revision"]
    peer = Peer(agg.listen_port, cert_dir=os.path.join(c.pki, "regions", region))
    peer.hello(region)
    signer = Signer(os.path.join(c.pki, "regions", region, "sign.key"))
    payload = make_result(c.election["election_id"], region, pid, revision=rev, yes=1,
                          no=2).SerializeToString()
    peer.submit(signer.sign(payload))
    kind, _, outcome, reason = peer.answer()
    peer.close()
    if kind != "ack" or outcome != pb().OUTCOME_CONFLICT:
        raise Failure("conflicting copy answered %s %s %s" % (kind, outcome, reason))
    c.expected.rows += 1  # one more protocol submitted (the sequence bound counts it)
    wait_until(lambda: head_caught_up(agg), 10, "a tree head including the conflict")
    size1 = agg.get_json("/v1/log/sth")["tree_size"]
    log("log holds %d leaves after the main batch and one conflict" % size1)

    # Export: a head, its totals, the key and every entry, consistent.
    bundle = os.path.join(c.tmp, "record.json")
    expect_rc(0, tallyctl("export", "--url", url, "--out", bundle), "export")
    with open(bundle) as f:
        b = json.load(f)
    n = b["tree_head"]["tree_size"]
    if n != size1 or b["totals"]["sequence"] != n or len(b["entries"]) != n:
        raise Failure("bundle: head %d, totals %d, entries %d, log %d" %
                      (n, b["totals"]["sequence"], len(b["entries"]), size1))
    if [e["leaf_index"] for e in b["entries"]] != list(range(n)):
        raise Failure("bundle entries are not leaves 0..%d in order" % (n - 1))
    if b["log_key"]["key_id"] != b["tree_head"]["key_id"]:
        raise Failure("bundle key %s, head key %s" % (b["log_key"]["key_id"],
                                                      b["tree_head"]["key_id"]))
    if b["totals"]["national"]["conflicts"] != 1:
        raise Failure("totals show %s conflicts, want 1" % b["totals"]["national"]["conflicts"])

    # Offline and live verification of the honest record.
    out = expect_rc(0, tallyctl("verify", *common, "--bundle", bundle), "verify --bundle")
    if "OK: election" not in out:
        raise Failure("verify said:\n" + out)
    expect_rc(0, tallyctl("verify", *common, "--url", url, "--state", state), "verify --url")
    with open(state) as f:
        if json.load(f)["tree_size"] != n:
            raise Failure("state file does not hold the verified size %d" % n)

    # Each kind of tampering is caught, and named.
    leaf = 5
    leaf_bytes = base64.b64decode(b["entries"][leaf]["leaf"])
    sr = pb().SignedResult()
    sr.ParseFromString(leaf_bytes)
    r = pb().PrecinctResult()
    r.ParseFromString(sr.payload)
    r.votes[0].count += 1
    r.votes[1].count -= 1
    sr.payload = r.SerializeToString()
    altered = base64.b64encode(sr.SerializeToString()).decode()
    cast = b["totals"]["national"]["ballots_cast"]

    def forge_sig(x):
        s = bytearray(base64.b64decode(x["tree_head"]["signature"]))
        s[3] ^= 0x10
        x["tree_head"]["signature"] = base64.b64encode(bytes(s)).decode()

    other = Signer()

    def other_key(x):
        th = base64.b64decode(x["tree_head"]["tree_head"])
        x["tree_head"]["signature"] = base64.b64encode(other.key.sign(th)).decode()
        x["tree_head"]["key_id"] = other.key_id

    def drop(x):
        del x["entries"][leaf]

    def alter(x):
        x["entries"][leaf]["leaf"] = altered

    def total(x):
        x["totals"]["national"]["ballots_cast"] += 1

    cases = [
        ("changed total", total,
         ["totals national.ballots_cast: published %d, recomputed from the log %d" %
          (cast + 1, cast)]),
        ("dropped entry", drop, ["leaf %d is missing from the entries" % leaf,
                                 "Merkle root: head says"]),
        ("altered leaf", alter, ["leaf %d (precinct %d, region '%s', revision %d): Ed25519 "
                                 "signature does not verify" % (leaf, r.precinct_id, r.region_id,
                                                                r.revision)]),
        ("forged head signature", forge_sig, ["tree head signature does not verify"]),
        ("head from another key", other_key,
         ["tree head names signing key %s, but the log key is" % other.key_id]),
    ]
    for name, fn, wants in cases:
        path = tampered(bundle, os.path.join(c.tmp, "bad.json"), fn)
        out = expect_rc(1, tallyctl("verify", *common, "--bundle", path), "verify " + name)
        for w in wants:
            if w not in out:
                raise Failure("verify of a bundle with a %s did not say %r:\n%s" %
                              (name, w, out[-3000:]))
        log("verify caught the %s" % name)

    # A region proves its precincts are in, and sees its figures.
    for p in rng.sample(sorted(c.expected.latest), 3):
        out = expect_rc(0, tallyctl("prove", "--url", url, "--precinct", p, "--trusted-keys",
                                    trusted, "--log-key", log_pub), "prove %d" % p)
        want = c.expected.latest[p]
        if "PROVEN: precinct %d's counted result is leaf" % p not in out or \
                "ballots_cast         %d\n" % want["ballots_cast"] not in out:
            raise Failure("prove %d printed:\n%s\nwant ballots_cast %d" %
                          (p, out, want["ballots_cast"]))
    rc, out, _ = tallyctl("prove", "--url", url, "--precinct", 999999)
    if rc == 0:
        raise Failure("prove of an unknown precinct passed:\n" + out)

    # Corrections arrive; the new head is consistent with the one seen.
    c.feed_all(late)
    c.converge(timeout=120)
    wait_until(lambda: head_caught_up(agg), 10, "a tree head after the corrections")
    size2 = agg.get_json("/v1/log/sth")["tree_size"]
    if size2 <= size1:
        raise Failure("corrections did not grow the log (%d -> %d)" % (size1, size2))
    out = expect_rc(0, tallyctl("verify", *common, "--url", url, "--state", state),
                    "verify --url after corrections")
    if "consistent with the head of size %d verified before" % size1 not in out:
        raise Failure("verify did not check consistency with the earlier head:\n" + out)

    # kill -9 and restart: same key, same log, still consistent.
    agg.kill()
    agg.start()
    wait_until(lambda: head_caught_up(agg), 10, "a tree head after the restart")
    if agg.get_json("/v1/log/sth")["tree_size"] != size2:
        raise Failure("the log changed size across a restart")
    out = expect_rc(0, tallyctl("verify", *common, "--url", url, "--state", state),
                    "verify --url after a restart")

    # The API refuses what it cannot answer, with a JSON error.
    for path, want in [("/v1/log/entries?start=5&end=5", 400),
                       ("/v1/log/entries?start=%d&end=%d" % (size2, size2 + 3), 400),
                       ("/v1/log/entries?start=x&end=3", 400),
                       ("/v1/log/entries", 400),
                       ("/v1/log/proof?leaf_index=3", 400),
                       ("/v1/log/proof?leaf_index=%d&tree_size=%d" % (size2, size2), 400),
                       ("/v1/log/proof?leaf_index=0&tree_size=%d" % (size2 + 1), 400),
                       ("/v1/log/consistency?first=0&second=3", 400),
                       ("/v1/log/consistency?first=4&second=3", 400)]:
        status, body = agg.get(path)
        if status != want or "error" not in json.loads(body):
            raise Failure("GET %s: %d %s, want %d with an error" % (path, status, body, want))
    page = agg.get_json("/v1/log/entries?start=0&end=%d" % (size2 + 5000))
    if len(page["entries"]) != min(size2, 1000):
        raise Failure("a long range gave %d entries, want %d" % (len(page["entries"]),
                                                                min(size2, 1000)))
    proof = agg.get_json("/v1/log/proof?leaf_index=1&tree_size=%d" % size2)
    if proof["leaf_index"] != 1 or proof["tree_size"] != size2 or not proof["audit_path"]:
        raise Failure("proof answer %r" % proof)
    cons = agg.get_json("/v1/log/consistency?first=%d&second=%d" % (size1, size2))
    if cons["first"] != size1 or cons["second"] != size2 or not cons["consistency_path"]:
        raise Failure("consistency answer %r" % cons)
    for d in c.daemons:
        d.check_sanitizers()


if __name__ == "__main__":
    sys.exit(run_main(["log-verify"]))
