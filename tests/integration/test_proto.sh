#!/usr/bin/env bash
# The wire contract as a third party sees it: stock protoc accepts
# proto/tally.proto, the generated Python code round-trips every message,
# and the enum names and numbers are the documented ones.
set -euo pipefail
src=${TALLY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d /tmp/tally-test-proto-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

protoc --proto_path="$src/proto" --python_out="$tmp" "$src/proto/tally.proto"
test -f "$tmp/tally_pb2.py"
echo "ok: protoc accepts proto/tally.proto"

PYTHONPATH=$tmp timeout 60 /usr/bin/python3 - <<'PY'
import tally_pb2 as pb

def check(cond, what):
    if not cond:
        raise SystemExit("FAIL: " + what)

# Enum names and numbers are part of the contract.
outcomes = {"OUTCOME_UNSPECIFIED": 0, "OUTCOME_ACCEPTED": 1, "OUTCOME_DUPLICATE": 2,
            "OUTCOME_STALE": 3, "OUTCOME_CONFLICT": 4}
codes = {"REJECT_CODE_UNSPECIFIED": 0, "REJECT_CODE_MALFORMED": 1,
         "REJECT_CODE_BAD_SIGNATURE": 2, "REJECT_CODE_UNKNOWN_KEY": 3,
         "REJECT_CODE_WRONG_REGION": 4, "REJECT_CODE_WRONG_ELECTION": 5,
         "REJECT_CODE_UNKNOWN_PRECINCT": 6, "REJECT_CODE_FAILED_CONTROL": 7,
         "REJECT_CODE_CONFLICT_LIMIT": 8, "REJECT_CODE_UNKNOWN_CONTEST": 9,
         "REJECT_CODE_NOT_IN_CONTEST": 10}
check(dict(pb.Outcome.items()) == outcomes, "Outcome values %r" % dict(pb.Outcome.items()))
check(dict(pb.RejectCode.items()) == codes, "RejectCode values %r" % dict(pb.RejectCode.items()))
check(pb.DESCRIPTOR.package == "tally.v1", "package " + pb.DESCRIPTOR.package)

# Field names a third party codes against.
fields = [f.name for f in pb.PrecinctResult.DESCRIPTOR.fields]
check(fields == ["election_id", "region_id", "precinct_id", "revision", "voters_registered",
                 "ballots_received", "ballots_issued", "ballots_cancelled", "ballots_cast",
                 "ballots_invalid", "ballots_not_counted", "votes", "recorded_at_ms",
                 "contest_id"],
      "PrecinctResult fields %r" % fields)
check([f.name for f in pb.SignedResult.DESCRIPTOR.fields] == ["payload", "signature", "key_id"],
      "SignedResult fields")
oneof = pb.Frame.DESCRIPTOR.oneofs_by_name["body"]
check([f.name for f in oneof.fields] ==
      ["hello", "welcome", "submit", "ack", "nack", "goodbye", "ping", "pong"], "Frame oneof")

def round_trip(msg):
    data = msg.SerializeToString()
    back = type(msg)()
    back.ParseFromString(data)
    check(back == msg, "%s round trip" % type(msg).__name__)
    return data

r = pb.PrecinctResult(election_id="kz-2026", region_id="KZ-71", precinct_id=4711, revision=1,
                      voters_registered=2000, ballots_received=1500, ballots_issued=1400,
                      ballots_cancelled=100, ballots_cast=1390, ballots_invalid=10,
                      ballots_not_counted=5, recorded_at_ms=1773561600123,
                      votes=[pb.OptionVotes(option_id="yes", count=1200),
                             pb.OptionVotes(option_id="no", count=175)])
payload = round_trip(r)
# Field 1 first, as the C codec writes it: tag 0x0a, length 7, "kz-2026".
check(payload[:9] == b"\x0a\x07kz-2026", "PrecinctResult leading bytes %r" % payload[:9])
s = pb.SignedResult(payload=payload, signature=bytes(range(64)), key_id="ab" * 32)
round_trip(s)
round_trip(pb.TreeHead(election_id="kz-2026", tree_size=10388, root_hash=b"\x11" * 32,
                       timestamp_ms=1773600000000, totals_hash=b"\x22" * 32))

frames = {
    "hello": pb.Frame(hello=pb.Hello(protocol_version=1, node_id="node-1", region_id="KZ-71")),
    "welcome": pb.Frame(welcome=pb.Welcome(protocol_version=1, aggregator_id="central",
                                           election_id="kz-2026")),
    "submit": pb.Frame(submit=pb.Submit(seq=1 << 40, result=s)),
    "ack": pb.Frame(ack=pb.Ack(seq=7, outcome=pb.OUTCOME_CONFLICT)),
    "nack": pb.Frame(nack=pb.Nack(seq=8, code=pb.REJECT_CODE_FAILED_CONTROL,
                                  reason="ballots_cast (1401) > ballots_issued (1400)")),
    "goodbye": pb.Frame(goodbye=pb.Goodbye(reason="shutting down")),
    "ping": pb.Frame(ping=pb.Ping(nonce=0xdeadbeef)),
    "pong": pb.Frame(pong=pb.Pong(nonce=0xdeadbeef)),
}
for name, f in frames.items():
    data = round_trip(f)
    back = pb.Frame()
    back.ParseFromString(data)
    check(back.WhichOneof("body") == name, "Frame body %s" % name)

# The Ack the C codec test decodes by hand: Frame.ack (field 4) {seq=1, outcome=4}.
check(pb.Frame(ack=pb.Ack(seq=1, outcome=pb.OUTCOME_CONFLICT)).SerializeToString()
      == bytes([0x22, 0x04, 0x08, 0x01, 0x10, 0x04]), "Ack wire bytes")
check(pb.Frame(nack=pb.Nack(seq=2, code=pb.REJECT_CODE_FAILED_CONTROL)).SerializeToString()
      == bytes([0x2a, 0x04, 0x08, 0x02, 0x10, 0x07]), "Nack wire bytes")
# contest_id is field 14 (tag 0x72); empty, it is not on the wire at all.
check(pb.PrecinctResult(contest_id="otk-07").SerializeToString() == b"\x72\x06otk-07",
      "contest_id wire bytes")
check(pb.PrecinctResult(contest_id="").SerializeToString() == b"", "empty contest_id")
print("ok: python round-trips every message; enums and wire bytes as documented")
PY
