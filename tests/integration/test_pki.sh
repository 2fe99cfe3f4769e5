#!/usr/bin/env bash
# deploy/pki.sh: the layout and file modes of the brief, certificates that
# verify against the CA with the right CN, SAN and key usage, signing keys
# that match what the aggregator trusts, a re-run that keeps the CA, and
# renew-cert / rotate-key touching only the region named.
set -euo pipefail
src=${TALLY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
pki=$src/deploy/pki.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
agg_pid="" node_pid=""
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
expect_eq() { # what got want
	[ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
}
mode() { stat -c %a "$1"; }
digest_all() { # every file under DIR with its checksum, sorted
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

/usr/bin/python3 "$src/deploy/election.py" generate --regions 3 --precincts 9 --seed 3 \
	--election-id pki-test --out "$tmp/e.json"
regions=(KZ-10 KZ-11 KZ-15)
out=$tmp/pki
"$pki" --election "$tmp/e.json" --out "$out" --aggregator-name agg.example \
	--aggregator-name 127.0.0.1 --aggregator-name ::1 >"$tmp/summary.txt"

# Layout and modes.
for f in ca.pem ca/ca.key aggregator/aggregator.pem aggregator/aggregator.key aggregator/ca.pem; do
	[ -f "$out/$f" ] || fail "missing $f"
done
for r in "${regions[@]}"; do
	for f in node.pem node.key sign.key sign.pub.pem ca.pem; do
		[ -f "$out/regions/$r/$f" ] || fail "missing regions/$r/$f"
	done
	[ -f "$out/aggregator/trusted/$r.pem" ] || fail "missing aggregator/trusted/$r.pem"
	expect_eq "node.key mode" "$(mode "$out/regions/$r/node.key")" 600
	expect_eq "sign.key mode" "$(mode "$out/regions/$r/sign.key")" 600
	expect_eq "region dir mode" "$(mode "$out/regions/$r")" 700
	cmp -s "$out/regions/$r/ca.pem" "$out/ca.pem" || fail "regions/$r/ca.pem differs from ca.pem"
done
expect_eq "trusted keys" "$(ls "$out/aggregator/trusted" | tr '\n' ' ')" "KZ-10.pem KZ-11.pem KZ-15.pem "
expect_eq "ca.key mode" "$(mode "$out/ca/ca.key")" 600
expect_eq "aggregator.key mode" "$(mode "$out/aggregator/aggregator.key")" 600
for d in "$out" "$out/ca" "$out/aggregator" "$out/aggregator/trusted" "$out/regions"; do
	expect_eq "mode of $d" "$(mode "$d")" 700
done
grep -q "regions/KZ-15/" "$tmp/summary.txt" || fail "summary does not name KZ-15's folder"
grep -q "OFFLINE\|Offline" "$tmp/summary.txt" || fail "summary does not say the CA key stays offline"

# Certificates.
check_certs() {
	local r v
	v=$(openssl verify -CAfile "$out/ca.pem" "$out/aggregator/aggregator.pem" 2>&1) || fail "verify aggregator: $v"
	for r in "${regions[@]}"; do
		v=$(openssl verify -CAfile "$out/ca.pem" -purpose sslclient "$out/regions/$r/node.pem" 2>&1) ||
			fail "verify $r: $v"
		expect_eq "CN of $r" "$(openssl x509 -in "$out/regions/$r/node.pem" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p')" "$r"
		openssl x509 -in "$out/regions/$r/node.pem" -noout -ext extendedKeyUsage | grep -q "TLS Web Client Authentication" ||
			fail "$r: no clientAuth"
		# The certificate belongs to its key.
		expect_eq "$r cert/key" "$(openssl x509 -in "$out/regions/$r/node.pem" -noout -pubkey | sha256sum)" \
			"$(openssl pkey -in "$out/regions/$r/node.key" -pubout | sha256sum)"
	done
}
check_certs
expect_eq "aggregator SAN" "$(openssl x509 -in "$out/aggregator/aggregator.pem" -noout -ext subjectAltName | tail -1 | sed 's/^ *//')" \
	"DNS:agg.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"
openssl verify -CAfile "$out/ca.pem" -purpose sslserver "$out/aggregator/aggregator.pem" >/dev/null 2>&1 ||
	fail "aggregator certificate is not a TLS server certificate"
openssl verify -CAfile "$out/ca.pem" -purpose sslserver "$out/regions/KZ-10/node.pem" >/dev/null 2>&1 &&
	fail "a node certificate passes as a server certificate"
openssl x509 -in "$out/aggregator/aggregator.pem" -noout -text | grep -q "ASN1 OID: prime256v1" ||
	fail "aggregator key is not P-256"
openssl x509 -in "$out/ca.pem" -noout -text | grep -q "CA:TRUE" || fail "ca.pem is not a CA"

# Signing keys: Ed25519, trusted copy equals the public half, sign/verify.
check_signing() {
	local r=$1
	openssl pkey -in "$out/regions/$r/sign.key" -noout -text 2>/dev/null | grep -q "ED25519 Private-Key" ||
		fail "$r sign.key is not Ed25519"
	head -1 "$out/regions/$r/sign.key" | grep -q "BEGIN PRIVATE KEY" || fail "$r sign.key is not PKCS#8 PEM"
	cmp -s <(openssl pkey -in "$out/regions/$r/sign.key" -pubout) "$out/regions/$r/sign.pub.pem" ||
		fail "$r sign.pub.pem is not sign.key's public key"
	cmp -s "$out/regions/$r/sign.pub.pem" "$out/aggregator/trusted/$r.pem" || fail "trusted/$r.pem differs"
	echo "protocol $r" >"$tmp/msg"
	openssl pkeyutl -sign -rawin -inkey "$out/regions/$r/sign.key" -in "$tmp/msg" -out "$tmp/sig"
	openssl pkeyutl -verify -rawin -pubin -inkey "$out/aggregator/trusted/$r.pem" -in "$tmp/msg" \
		-sigfile "$tmp/sig" >/dev/null || fail "$r signature does not verify with trusted key"
}
for r in "${regions[@]}"; do check_signing "$r"; done

# A re-run keeps everything; another election on the same folder is refused.
digest_all "$out" >"$tmp/before"
"$pki" --election "$tmp/e.json" --out "$out" >/dev/null || fail "re-run failed"
digest_all "$out" >"$tmp/after"
cmp -s "$tmp/before" "$tmp/after" || fail "re-run changed files: $(diff "$tmp/before" "$tmp/after" | head -3)"
/usr/bin/python3 "$src/deploy/election.py" generate --regions 4 --precincts 8 --election-id other --out "$tmp/o.json"
if "$pki" --election "$tmp/o.json" --out "$out" >/dev/null 2>"$tmp/err"; then
	fail "another election's PKI overwrote the CA"
fi
grep -q -- "--force" "$tmp/err" || fail "refusal does not mention --force: $(cat "$tmp/err")"
digest_all "$out" >"$tmp/after"
cmp -s "$tmp/before" "$tmp/after" || fail "refused run changed files"

# A region added to the election: the re-run adds it and only it.
/usr/bin/python3 "$src/deploy/election.py" generate --regions 4 --precincts 12 --seed 3 \
	--election-id pki-test --out "$tmp/e4.json"
"$pki" --election "$tmp/e4.json" --out "$out" >/dev/null
digest_all "$out" | grep -v -e 'KZ-19' >"$tmp/after"
cmp -s "$tmp/before" "$tmp/after" || fail "adding KZ-19 changed other files"
[ -f "$out/regions/KZ-19/node.pem" ] && [ -f "$out/aggregator/trusted/KZ-19.pem" ] || fail "KZ-19 not added"

# renew-cert: a new certificate and key for KZ-11 only.
digest_all "$out" >"$tmp/before"
old_serial=$(openssl x509 -in "$out/regions/KZ-11/node.pem" -noout -serial)
"$pki" renew-cert --out "$out" --region KZ-11 >/dev/null
[ "$(openssl x509 -in "$out/regions/KZ-11/node.pem" -noout -serial)" != "$old_serial" ] || fail "renew-cert kept the serial"
diff <(grep -v 'regions/KZ-11/node\.' "$tmp/before") <(digest_all "$out" | grep -v 'regions/KZ-11/node\.') >/dev/null ||
	fail "renew-cert KZ-11 touched other files"
[ "$(grep 'regions/KZ-11/node\.' "$tmp/before")" != "$(digest_all "$out" | grep 'regions/KZ-11/node\.')" ] ||
	fail "renew-cert KZ-11 did not change node.pem/node.key"
expect_eq "renewed node.key mode" "$(mode "$out/regions/KZ-11/node.key")" 600
check_certs
"$pki" renew-cert --out "$out" --region KZ-99 >/dev/null 2>&1 && fail "renew-cert of an unknown region succeeded"

# rotate-key: new key for KZ-15; the old public key stays trusted under a new name.
digest_all "$out" >"$tmp/before"
cp "$out/aggregator/trusted/KZ-15.pem" "$tmp/old.pub"
"$pki" rotate-key --out "$out" --region KZ-15 >"$tmp/rotate.txt"
check_signing KZ-15
cmp -s "$tmp/old.pub" "$out/aggregator/trusted/KZ-15.pem" && fail "rotate-key kept the old key as KZ-15.pem"
old_files=("$out"/aggregator/trusted/KZ-15.*.pem)
expect_eq "rotated-out keys" "${#old_files[@]}" 1
[[ $(basename "${old_files[0]}") =~ ^KZ-15\.[0-9]{8}T[0-9]{6}Z\.pem$ ]] || fail "old key name ${old_files[0]}"
cmp -s "$tmp/old.pub" "${old_files[0]}" || fail "the old public key was not kept"
diff <(grep -v -e 'regions/KZ-15/sign' -e 'trusted/KZ-15' "$tmp/before") \
	<(digest_all "$out" | grep -v -e 'regions/KZ-15/sign' -e 'trusted/KZ-15') >/dev/null ||
	fail "rotate-key KZ-15 touched other files"
"$pki" rotate-key --out "$out" --region KZ-15 >/dev/null
old_files=("$out"/aggregator/trusted/KZ-15.*.pem)
expect_eq "keys after a second rotation" "${#old_files[@]}" 2

# renew-cert --aggregator keeps the names the old certificate carried.
"$pki" renew-cert --out "$out" --aggregator >/dev/null
expect_eq "renewed aggregator SAN" "$(openssl x509 -in "$out/aggregator/aggregator.pem" -noout -ext subjectAltName | tail -1 | sed 's/^ *//')" \
	"DNS:agg.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"
check_certs

# --force starts over with a new CA.
old_ca=$(sha256sum <"$out/ca.pem")
"$pki" --election "$tmp/o.json" --out "$out" --force >/dev/null
[ "$(sha256sum <"$out/ca.pem")" != "$old_ca" ] || fail "--force kept the CA"
regions=(KZ-10 KZ-11 KZ-15 KZ-19)
check_certs
[ "$(ls "$out/regions" | tr "\n" " ")" = "KZ-10 KZ-11 KZ-15 KZ-19 " ] || fail "--force: regions $(ls "$out/regions")"

# End to end with the daemons: this PKI gets a node's results counted; a
# rotation keeps what the node signed with the old key (still in its
# outbox) acceptable; the renewed certificate connects; once the old key is
# removed from trusted/ and the aggregator reloaded, a result signed with
# it is refused with UNKNOWN_KEY.
build=${TALLY_BUILD_DIR:-$src/build/test}
agg_bin=$build/daemon/aggregator/tally-aggregator
node_bin=$build/daemon/node/tally-node
ctl_bin=$build/daemon/cli/tallyctl
pids=()
stop() { # pid: SIGTERM, wait (bounded), exit status must be 0
	local pid=$1 rc=0 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$pid" 2>/dev/null && { fail "pid $pid ignored SIGTERM"; kill -KILL "$pid"; }
	wait "$pid" || rc=$?
	[ $rc -eq 0 ] || fail "daemon pid $pid exited $rc after SIGTERM"
}
cleanup_e2e() {
	local rc=$? p
	for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	if [ $rc -ne 0 ] && [ -n "${E:-}" ]; then
		# A failed wait ends the test at once (set -e): show why.
		echo "test_pki: stopped at the first failed wait"
		for p in aggregator node; do
			[ -f "$E/$p.log" ] && { echo "--- $p log"; tail -15 "$E/$p.log"; }
		done
	fi
	rm -rf "$tmp"
}
trap cleanup_e2e EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
totals() { # python expression over the totals document d
	curl -fsS "http://127.0.0.1:$http/v1/totals" 2>/dev/null |
		/usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" 2>/dev/null || echo "?"
}
node_status() { # python expression over the node's status document d
	"$ctl_bin" status --socket "$E/node.sock" --json 2>/dev/null |
		/usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" 2>/dev/null || echo "?"
}
wait_for() { # what value command... : up to 60 s for the command to print value
	local what=$1 want=$2 got i
	shift 2
	for i in $(seq 1 300); do
		got=$("$@" 2>/dev/null || true)
		[ "$got" = "$want" ] && return 0
		sleep 0.2
	done
	fail "$what: got '$got', want '$want' after 60 s"
	return 1
}
healthz() { curl -fsS -o /dev/null "http://127.0.0.1:$http/healthz" && echo ok; }
start_agg() {
	"$agg_bin" --config "$E/aggregator.ini" >>"$E/aggregator.log" 2>&1 &
	agg_pid=$!
	pids+=("$agg_pid")
	wait_for "aggregator up" ok healthz
}
start_node() {
	"$node_bin" --config "$E/node.ini" >>"$E/node.log" 2>&1 &
	node_pid=$!
	pids+=("$node_pid")
	wait_for "node control socket" 0 node_status 'd["rejected_by_aggregator"]'
}
drop() { # precinct file names from the results folder into the spool
	local f
	for f in "$@"; do
		cp "$E/res/KZ-10/$f" "$E/spool/$f.tmp"
		mv "$E/spool/$f.tmp" "$E/spool/$f"
	done
}

if [ -x "$agg_bin" ] && [ -x "$node_bin" ] && [ -x "$ctl_bin" ]; then
	E=$tmp/e2e
	mkdir -p "$E/spool"
	/usr/bin/python3 "$src/deploy/election.py" generate --regions 3 --precincts 40 --seed 5 \
		--election-id pki-e2e --out "$E/election.json"
	"$pki" --election "$E/election.json" --out "$E/pki" >/dev/null
	/usr/bin/python3 "$src/deploy/election.py" results --election "$E/election.json" --out-dir "$E/res" \
		--region KZ-10 --count 8 2>/dev/null
	mapfile -t files < <(ls "$E/res/KZ-10" | sort -n)
	[ ${#files[@]} -eq 8 ] || fail "e2e: ${#files[@]} result files, want 8"
	listen=$(free_port)
	http=$(free_port)
	cat >"$E/aggregator.ini" <<EOF2
[aggregator]
id = central-pki
election = election.json
state_dir = agg-state
listen = 127.0.0.1:$listen
http_listen = 127.0.0.1:$http
trusted_keys = pki/aggregator/trusted
[tls]
ca = pki/aggregator/ca.pem
cert = pki/aggregator/aggregator.pem
key = pki/aggregator/aggregator.key
EOF2
	write_node_ini() { # signing key path
		cat >"$E/node.ini" <<EOF2
[node]
id = node-KZ-10
region = KZ-10
election = election.json
state_dir = node-state
spool_dir = spool
control_socket = node.sock
signing_key = $1
aggregators = 127.0.0.1:$listen
[tls]
ca = pki/regions/KZ-10/ca.pem
cert = pki/regions/KZ-10/node.pem
key = pki/regions/KZ-10/node.key
server_name = localhost
EOF2
	}
	write_node_ini pki/regions/KZ-10/sign.key
	cp "$E/pki/regions/KZ-10/sign.key" "$E/old-sign.key"

	# A: counted with the first key and certificate.
	start_agg
	start_node
	drop "${files[@]:0:3}"
	wait_for "A: precincts counted" 3 totals 'd["national"]["precincts_reported"]'

	# B: two results signed with the old key wait in the outbox while the
	# aggregator is down; then the key is rotated and the certificate renewed.
	stop "$agg_pid"
	drop "${files[@]:3:2}"
	wait_for "B: queued in the outbox" 2 node_status 'd["outbox"]["queued"]'
	stop "$node_pid"
	"$pki" rotate-key --out "$E/pki" --region KZ-10 >/dev/null
	"$pki" renew-cert --out "$E/pki" --region KZ-10 >/dev/null
	old_trusted=("$E"/pki/aggregator/trusted/KZ-10.*.pem)
	start_agg
	start_node
	drop "${files[@]:5:2}"
	wait_for "B: old-key and new-key results counted" 7 totals 'd["national"]["precincts_reported"]'
	wait_for "B: node's acknowledged results" 7 node_status 'd["acknowledged"]["accepted"]'

	# C: the old key leaves trusted/; a result signed with it is refused.
	rm -f "${old_trusted[@]}"
	kill -HUP "$agg_pid"
	sleep 1
	stop "$node_pid"
	write_node_ini old-sign.key
	start_node
	drop "${files[7]}"
	wait_for "C: refused by the aggregator" 1 node_status 'd["rejected_by_aggregator"]'
	wait_for "C: refusal code" UNKNOWN_KEY node_status 'd["rejections"][0]["code"].upper()'
	[ "$(totals 'd["national"]["precincts_reported"]')" = 7 ] || fail "C: a result signed with a removed key was counted"

	# The counted figures are exactly those of the seven files.
	want=$(cd "$E/res/KZ-10" && /usr/bin/python3 -c '
import json, sys
ps = [json.load(open(f)) for f in sys.argv[1:]]
print(sum(p["ballots_cast"] for p in ps), sum(p["votes"]["yes"] for p in ps), sum(p["votes"]["no"] for p in ps))
' "${files[@]:0:7}")
	got=$(totals '"%d %d %d" % (d["national"]["ballots_cast"], d["national"]["votes"]["yes"], d["national"]["votes"]["no"])')
	[ "$got" = "$want" ] || fail "e2e totals (cast yes no) '$got', want '$want'"
	stop "$node_pid"
	stop "$agg_pid"
	[ $fails -eq 0 ] || { echo "--- aggregator log"; tail -15 "$E/aggregator.log"; echo "--- node log"; tail -15 "$E/node.log"; }
	echo "e2e: counted 7 results across a key rotation and a certificate renewal; old key refused after removal"
else
	fail "daemons not built in $build (tally-aggregator, tally-node, tallyctl): the end-to-end part cannot run"
fi

if [ $fails -ne 0 ]; then
	echo "test_pki: $fails failure(s)"
	exit 1
fi
echo "PASS test_pki"
