#!/usr/bin/python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/: small, hand-made,
valid inputs (plus a few near misses) from which libFuzzer mutates.

    tests/fuzz/make_corpus.py            rewrite the generated seeds

Protobuf seeds are built with the project's own proto/tally.proto (compiled
by protoc into a temporary folder), so they follow the wire contract. Files
named crash-*, leak-*, timeout-* or repro-* are reproducers of bugs found and
are never touched here.
"""
import atexit
import importlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def load_pb():
    out = tempfile.mkdtemp(prefix="tally-pb-")
    atexit.register(shutil.rmtree, out, True)
    subprocess.run(["protoc", "--proto_path=" + os.path.join(TOP, "proto"),
                    "--python_out=" + out, "tally.proto"], check=True)
    sys.path.insert(0, out)
    return importlib.import_module("tally_pb2")


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def frame(body):
    return struct.pack(">I", len(body)) + body


def result(pb, precinct, region, rev=1, yes=400, no=300, invalid=10, nc=0,
           election="E-fuzz", registered=1000):
    cast = yes + no + invalid + nc
    r = pb.PrecinctResult(election_id=election, region_id=region, precinct_id=precinct,
                          revision=rev, voters_registered=registered,
                          ballots_received=cast + 25, ballots_issued=cast + 5,
                          ballots_cancelled=20, ballots_cast=cast, ballots_invalid=invalid,
                          ballots_not_counted=nc, recorded_at_ms=1730000000000)
    r.votes.add(option_id="yes", count=yes)
    r.votes.add(option_id="no", count=no)
    return r


def codec(pb):
    res = result(pb, 1, "KZ-A")
    signed = pb.SignedResult(payload=res.SerializeToString(), signature=bytes(range(64)),
                             key_id="ab" * 32)
    frames = {
        "hello": pb.Frame(hello=pb.Hello(protocol_version=1, node_id="node-KZ-A",
                                         region_id="KZ-A")),
        "welcome": pb.Frame(welcome=pb.Welcome(protocol_version=1, aggregator_id="central",
                                               election_id="E-fuzz")),
        "submit": pb.Frame(submit=pb.Submit(seq=7, result=signed)),
        "ack": pb.Frame(ack=pb.Ack(seq=7, outcome=pb.OUTCOME_ACCEPTED)),
        "nack": pb.Frame(nack=pb.Nack(seq=8, code=pb.REJECT_CODE_FAILED_CONTROL,
                                      reason="ballots_cast (10) > ballots_issued (9)")),
        "goodbye": pb.Frame(goodbye=pb.Goodbye(reason="hello names KZ-B, certificate KZ-A")),
        "ping": pb.Frame(ping=pb.Ping(nonce=0xdeadbeef)),
        "pong": pb.Frame(pong=pb.Pong(nonce=2**64 - 1)),
    }
    for name, f in frames.items():
        write("codec", "frame-" + name, f.SerializeToString())
    write("codec", "result", res.SerializeToString())
    res_contest = pb.PrecinctResult()
    res_contest.CopyFrom(res)
    res_contest.contest_id = "otk-07"
    write("codec", "result-contest", res_contest.SerializeToString())
    write("codec", "signed", signed.SerializeToString())
    long_sig = pb.SignedResult(payload=b"\x08\x01", signature=bytes(100), key_id="00" * 32)
    write("codec", "signed-long-signature", long_sig.SerializeToString())
    head = pb.TreeHead(election_id="E-fuzz", tree_size=12, root_hash=bytes(range(32)),
                       timestamp_ms=1730000000000, totals_hash=bytes(range(32, 64)))
    write("codec", "tree-head", head.SerializeToString())
    return frames


def frames_corpus(pb, frames):
    # Prefix: byte 0 picks the size limit, bytes 1-2 seed the chunking.
    stream = b"".join(frame(f.SerializeToString()) for f in frames.values())
    write("frame", "all-messages", b"\x07\x12\x34" + stream)
    write("frame", "one-byte-frames", b"\x00\x00\x01" + frame(b"a") + frame(b"b"))
    write("frame", "zero-length", b"\x07\x00\x02" + frame(b"ok") + b"\x00\x00\x00\x00rest")
    write("frame", "too-long", b"\x03\x99\x99" + struct.pack(">I", 17) + b"x" * 17)
    write("frame", "4gb-prefix", b"\x07\x01\x01" + b"\xff\xff\xff\xff")
    write("frame", "partial", b"\x07\x00\x05" + frame(b"hello") + b"\x00\x00\x01")


def validate(pb):
    write("validate", "valid-1", result(pb, 1, "KZ-A").SerializeToString())
    write("validate", "valid-10", result(pb, 10, "KZ-B", rev=2, registered=500, yes=200,
                                          no=100, invalid=3, nc=2).SerializeToString())
    write("validate", "wrong-region", result(pb, 2, "KZ-B").SerializeToString())
    write("validate", "unknown-precinct", result(pb, 99, "KZ-A").SerializeToString())
    named = result(pb, 1, "KZ-A")
    named.contest_id = "referendum"
    write("validate", "contest-named", named.SerializeToString())
    named.contest_id = "president"
    write("validate", "contest-unknown", named.SerializeToString())
    # Structured scripts: 0xFF, then 12-byte records (kind, precinct, yes(2),
    # no(2), invalid, not_counted, cancelled, spare, spare2, revision).
    recs = [
        bytes([0, 0, 1, 0, 0, 200, 5, 1, 3, 2, 9, 0]),    # valid, precinct 1
        bytes([1, 0, 1, 0, 0, 200, 5, 1, 3, 2, 9, 0]),    # the same again: duplicate
        bytes([2, 0, 2, 0, 0, 200, 5, 1, 3, 2, 9, 0]),    # same revision, other bytes
        bytes([3, 0, 1, 0, 0, 200, 5, 1, 3, 2, 9, 1]),    # revision 2 settles it
        bytes([0, 3, 0, 9, 0, 9, 0, 0, 0, 0, 0, 0]),      # precinct 10
        bytes([6, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),      # wrap-around
    ]
    write("validate", "script-reconcile", b"\xff" + b"".join(recs))
    write("validate", "script-every-kind",
          b"\xff" + b"".join(bytes([k, k, 0, k, 0, 1, 1, 1, 1, 1, 1, k]) for k in range(12)))


def election():
    e = {"election_id": "E-fuzz", "title": "Fuzz referendum",
         "options": [{"id": "yes", "name": "Yes"}, {"id": "no", "name": "No"}],
         "regions": [
             {"id": "KZ-A", "name": "Alpha",
              "precincts": [{"id": 3, "registered": 3000}, {"id": 1, "registered": 1000}]},
             {"id": "KZ-B", "name": "Beta", "precincts": [{"id": 10, "registered": 500}]}],
         "rules": {"min_turnout_pct": 50, "region_majority_fraction": 0.6667}}
    write("election", "small", json.dumps(e, indent=1))
    e2 = dict(e)
    del e2["rules"]
    write("election", "no-rules", json.dumps(e2))
    e3 = json.loads(json.dumps(e))
    e3["regions"][1]["precincts"].append({"id": 1, "registered": 5})
    write("election", "duplicate-precinct", json.dumps(e3))
    e4 = json.loads(json.dumps(e))
    e4["regions"][0]["name"] = "\u0410\u0441\u0442\u0430\u043d\u0430"
    e4["regions"][0]["precincts"][0]["registered"] = 4294967295
    write("election", "unicode-and-max", json.dumps(e4, ensure_ascii=False))
    # A general election: every kind of contest and scope, names per
    # language, colours, tiles, a district across both regions.
    g = {"election_id": "E-general", "title": {"kk": "Сайлау", "ru": "Выборы", "en": "General"},
         "regions": [
             {"id": "KZ-A", "name": {"kk": "Альфа", "en": "Alpha"}, "tile": [0, 1],
              "precincts": [[1, 1000], [2, 2000], [3, 3000]]},
             {"id": "KZ-B", "name": "Beta", "tile": [1, 1], "precincts": [[10, 500], [11, 600]]}],
         "districts": [{"id": "D-1", "name": "District 1", "precincts": [11, 2]},
                       {"id": "D-2", "precincts": [1, 3, 10]}],
         "parties": [{"id": "amanat", "name": "AMANAT", "color": "#1f77b4"},
                     {"id": "ak-zhol", "name": {"kk": "Ақ жол", "en": "Ak Zhol"}}],
         "contests": [
             {"id": "party-list", "kind": "party_list", "name": "Mazhilis", "scope": "national",
              "seats": 69,
              "options": [{"id": "amanat", "party": "amanat", "list_length": 90},
                          {"id": "ak-zhol", "party": "ak-zhol", "color": "#00AA00"},
                          {"id": "against-all", "name": "Against all", "against_all": True}],
              "rules": {"threshold_pct": 5, "threshold_of": "valid", "method": "hare",
                        "tie": "ballot_order", "overflow": "redistribute"}},
             {"id": "d-1", "kind": "candidate", "scope": {"district": "D-1"},
              "options": [{"id": "c-1", "name": "One", "party": "amanat"}, {"id": "c-2"},
                          {"id": "against-all", "against_all": True}],
              "rules": {"win": "plurality"}},
             {"id": "akim", "kind": "candidate", "scope": {"regions": ["KZ-B"]}, "seats": 2,
              "options": [{"id": "c-1", "name": "One"}, {"id": "c-3", "name": "Three"}],
              "rules": {"win": "absolute_majority", "majority_of": "valid",
                        "min_turnout_pct": 25}},
             {"id": "referendum", "kind": "referendum", "scope": "national",
              "options": [{"id": "yes", "name": "Yes"}, {"id": "no", "name": "No"}],
              "rules": {"min_turnout_pct": 50, "region_majority_fraction": 0.6667,
                        "pass_share_of": "ballots_cast"}}]}
    write("election", "general", json.dumps(g, indent=1, ensure_ascii=False))
    g2 = json.loads(json.dumps(g))
    g2["contests"][1]["options"][1]["party"] = "nur"
    write("election", "general-unknown-party", json.dumps(g2, ensure_ascii=False))
    g3 = json.loads(json.dumps(g))
    g3["contests"][0]["rules"]["method"] = "dhondt"
    g3["contests"][0]["rules"]["tie"] = "lot"
    g3["contests"][0]["rules"]["overflow"] = "vacant"
    g3["districts"][1]["precincts"].append(3)
    write("election", "general-district-twice", json.dumps(g3, ensure_ascii=False))


def conf():
    write("conf", "full",
          "; a comment\n[main]\nid = central\nstate_dir = /var/lib/tally\nmax_frame = 65536\n"
          "verbose = yes\nlisten = [::1]:7443\npeers = a.example:1, 127.0.0.1:2, [::]:3\n"
          "[tls]\nkey = node.key\n[other]\ntitle = Referendum 2022\n")
    write("conf", "minimal", "[main]\nid = x\n")
    write("conf", "bad-port", "[main]\nid = x\nlisten = host:65536\n")
    write("conf", "duplicate", "[main]\nid = x\nid = y\n")
    write("conf", "unknown-key", "[main]\nid = x\nfoo = bar\n")


def protocol_file():
    # Byte 0: bit 0 = CSV, bit 1 = an election is known (bit 2: the general one).
    js = {"precinct_id": 1, "revision": 1, "voters_registered": 1500,
          "ballots_received": 1400, "ballots_issued": 1200, "ballots_cancelled": 200,
          "ballots_cast": 1180, "ballots_invalid": 12, "ballots_not_counted": 3,
          "votes": {"yes": 900, "no": 265}}
    write("protocol_file", "json", b"\x00" + json.dumps(js).encode())
    write("protocol_file", "json-election", b"\x02" + json.dumps(js, indent=2).encode())
    js2 = dict(js, election_id="E-fuzz", region_id="KZ-B")
    write("protocol_file", "json-wrong-region", b"\x02" + json.dumps(js2).encode())
    header = ("precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
              "ballots_cancelled,ballots_cast,ballots_invalid,ballots_not_counted,yes,no\n")
    rows = "1,1,1500,1400,1200,200,1180,12,3,900,265\n2,2,2000,10,10,0,10,0,0,5,5\n"
    write("protocol_file", "csv", b"\x01" + (header + rows).encode())
    write("protocol_file", "csv-election-crlf",
          b"\x03\xef\xbb\xbf" + (header + rows).replace("\n", "\r\n").encode())
    write("protocol_file", "csv-short-header", b"\x03" +
          ("precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
           "ballots_cancelled,ballots_cast,ballots_invalid,no,yes\n"
           " 1 , 1 ,1500,1400,1200,200,1180,12,265,900\n\n").encode())
    write("protocol_file", "csv-duplicate", b"\x01" + (header + rows + rows).encode())
    # Bit 2 (with bit 1): fuzz_protocol_file.c's general election of three
    # contests (list: p, q, against-all; d-1 at precinct 2: c-2, p,
    # against-all; referendum: yes, no).
    def proto(precinct, contest, votes, **kw):
        cast = sum(votes.values()) + 2
        return dict({"precinct_id": precinct, "contest_id": contest, "revision": 1,
                     "voters_registered": 1000, "ballots_received": cast + 10,
                     "ballots_issued": cast + 5, "ballots_cancelled": 5, "ballots_cast": cast,
                     "ballots_invalid": 2, "votes": votes}, **kw)
    general = [proto(2, "list", {"against-all": 5, "q": 40, "p": 50}),
               proto(2, "d-1", {"p": 30, "c-2": 60, "against-all": 4}),
               proto(2, "referendum", {"no": 20, "yes": 70}),
               proto(1, "list", {"p": 10, "q": 20, "against-all": 0}, recorded_at_ms=5)]
    write("protocol_file", "json-array-contests",
          b"\x06[\n" + ",\n".join(json.dumps(p) for p in general).encode() + b"\n]\n")
    write("protocol_file", "json-array-no-election", b"\x00" + json.dumps(general).encode())
    write("protocol_file", "json-array-duplicate-contest",
          b"\x06" + json.dumps([general[0], dict(general[0], revision=2)]).encode())
    write("protocol_file", "json-referendum-without-contest",
          b"\x02" + json.dumps([dict(js, contest_id="referendum"),
                                dict(js, precinct_id=2)]).encode())
    columns = ["yes", "no", "c-2", "p", "against-all", "q"]
    fixed = ("precinct_id,revision,voters_registered,ballots_received,ballots_issued,"
             "ballots_cancelled,ballots_cast,ballots_invalid")
    lines = [fixed + ",contest_id," + ",".join(columns)]
    for p in general:
        lines.append(",".join(str(p[k]) for k in fixed.split(",")) + "," + p["contest_id"] +
                     "," + ",".join(str(p["votes"].get(o, "")) for o in columns))
    csv_general = "\n".join(lines) + "\n"
    write("protocol_file", "csv-contests", b"\x07" + csv_general.encode())
    write("protocol_file", "csv-contests-no-election", b"\x01" + csv_general.encode())
    write("protocol_file", "csv-contests-misfilled", b"\x07" +
          csv_general.replace("referendum,70,20,,", "referendum,70,20,1,").encode())
    write("protocol_file", "csv-contests-not-counted-after", b"\x07" +
          (fixed + ",contest_id,ballots_not_counted,yes,no\n"
           "1,1,100,90,80,10,70,0,referendum,5,40,25\n").encode())


def http():
    # Byte 0 says where the request is split into two writes.
    write("http", "get-root", b"\x10GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    write("http", "pipelined", b"\x05GET /json?a=1&b=2 HTTP/1.1\r\nHost: x\r\n"
          b"User-Agent: fuzz\r\n\r\nGET /body HTTP/1.1\r\n\r\n")
    write("http", "head-stream", b"\x20HEAD /stream HTTP/1.1\r\nHost: x\r\n"
          b"Connection: close\r\n\r\n")
    write("http", "smuggle", b"\x03GET /x HTTP/1.1\r\nContent-Length: 5\r\n"
          b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /y HTTP/1.1\r\n\r\n")
    write("http", "post", b"\x08POST /json HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc")
    write("http", "odd-bytes", b"\x02GET /%00?a=%zz HTTP/1.1\r\nX: \xff\xfe\r\n\r\n")
    write("http", "pipelined-chunked", b"\x30GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n"
          b"HEAD /chunked HTTP/1.1\r\n\r\nGET /json HTTP/1.1\r\n\r\n"
          b"GET /chunked HTTP/1.0\r\n\r\n")


def seats():
    # Layout in fuzz_seats.c: n, method, flags, seats, threshold, base,
    # then per list a byte (shift, against-all, long length), votes, length.
    def contest(method, flags, n_seats, ppm, base, lists):
        out = struct.pack(">BBBIIQ", len(lists), method, flags, n_seats, ppm, base)
        for votes, against, length in lists:
            out += struct.pack(">BQH", 0x40 if against else 0, votes, length)
        return out
    mazhilis = [(3431510, False, 0), (693938, False, 0), (547154, False, 0),
                (535139, False, 0), (432920, False, 0), (331058, False, 0),
                (146431, False, 0), (248291, True, 0)]
    write("seats", "mazhilis-2023-hare", contest(0, 4, 69, 50000, 6366441, mazhilis))
    write("seats", "mazhilis-2023-dhondt", contest(1, 5, 69, 50000, 6366441, mazhilis))
    nz = [(1152075, False, 0), (956184, False, 0), (186706, False, 0),
          (162443, False, 0), (13075, False, 0)]
    write("seats", "new-zealand-2017", contest(2, 1, 120, 0, 0, nz))
    write("seats", "tie-lot", contest(1, 1, 7, 0, 0, [(500, False, 0), (100, False, 0),
                                                     (100, False, 0), (100, False, 0)]))
    write("seats", "caps-redistribute", contest(0, 8, 10, 0, 0, [(9000, False, 1), (600, False, 0),
                                                                (400, False, 0)]))
    write("seats", "caps-vacant", contest(2, 10, 6, 0, 0, [(1000, False, 1), (520, False, 0),
                                                          (320, False, 0)]))
    write("seats", "huge", contest(1, 0, 0xFFFFFFFF, 1000000, 2**64 - 1,
                                   [(2**64 - 1, False, 0), (2**64 - 2, False, 0), (1, False, 0)]))


def main():
    pb = load_pb()
    frames = codec(pb)
    frames_corpus(pb, frames)
    validate(pb)
    election()
    conf()
    protocol_file()
    http()
    seats()


if __name__ == "__main__":
    main()
