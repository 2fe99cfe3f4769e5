#!/usr/bin/env bash
# pki.sh: the election's keys and certificates, made with the openssl CLI.
#
#   pki.sh --election election.json --out DIR [--aggregator-name NAME ...]
#          [--days N] [--ca-days N] [--force]
#   pki.sh renew-cert --out DIR --region R [--days N]
#   pki.sh renew-cert --out DIR --aggregator [--aggregator-name NAME ...] [--days N]
#   pki.sh rotate-key --out DIR --region R
#
# Layout (private keys 0600, folders 0700):
#   DIR/ca.pem                          election CA certificate (every machine)
#   DIR/ca/ca.key                       CA private key: keep it OFFLINE
#   DIR/aggregator/aggregator.pem|.key  TLS server certificate and key
#   DIR/aggregator/ca.pem               copy of the CA certificate
#   DIR/aggregator/trusted/<R>.pem      each region's Ed25519 public signing key
#   DIR/regions/<R>/node.pem|node.key   TLS client certificate (CN = R) and key
#   DIR/regions/<R>/sign.key            Ed25519 signing key (PKCS#8 PEM)
#   DIR/regions/<R>/sign.pub.pem        its public key
#   DIR/regions/<R>/ca.pem              copy of the CA certificate
#
# TLS keys are ECDSA P-256 (every TLS 1.3 stack speaks it); signing keys are
# Ed25519. Aggregator names (default: localhost 127.0.0.1 ::1) become
# subjectAltNames, as IP entries when they parse as addresses, else DNS.
#
# Re-running on an existing DIR keeps the CA and everything already made and
# only adds what is missing (a region added to the election, a deleted file);
# --force starts over with a new CA, which invalidates every certificate.
#
# rotate-key makes a new signing key for one region: the old public key stays
# trusted as aggregator/trusted/<R>.<UTC timestamp>.pem, so results the node
# signed before the switch (still in its outbox) are accepted, and the new one
# becomes trusted/<R>.pem. Remove the old file once the node runs with the
# new key and its outbox is empty (docs/operations.md, "Rotating keys").
set -euo pipefail
umask 077

prog=pki.sh
die() {
	echo "$prog: $*" >&2
	exit 1
}
usage() {
	sed -n '3,8p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

cmd=init
case "${1:-}" in
renew-cert | rotate-key)
	cmd=$1
	shift
	;;
-h | --help | "") usage ;;
esac

election="" out="" region="" force=0 days=397 ca_days=3650 for_aggregator=0
names=()
while [ $# -gt 0 ]; do
	case "$1" in
	--election) election=${2:?--election needs a file}; shift 2 ;;
	--out) out=${2:?--out needs a folder}; shift 2 ;;
	--aggregator-name) names+=("${2:?--aggregator-name needs a name}"); shift 2 ;;
	--region) region=${2:?--region needs a region id}; shift 2 ;;
	--aggregator) for_aggregator=1; shift ;;
	--days) days=${2:?}; shift 2 ;;
	--ca-days) ca_days=${2:?}; shift 2 ;;
	--force) force=1; shift ;;
	-h | --help) usage ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done
[ -n "$out" ] || die "--out DIR is required"
[ ${#names[@]} -gt 0 ] || names=(localhost 127.0.0.1 ::1)
command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"

valid_region() {
	[[ $1 =~ ^[A-Za-z0-9_-]+$ ]] || die "region id '$1' is not usable as a file name ([A-Za-z0-9_-])"
}

# Private keys and folders: nobody but the owner. umask 077 already does it;
# chmod makes it true for files an earlier run left with other modes.
secure_dir() {
	mkdir -p "$1"
	chmod 0700 "$1"
}
secure_key() { chmod 0600 "$1"; }
public_file() { chmod 0644 "$1"; }

serial() { echo "0x$(openssl rand -hex 16)"; }

new_tls_key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1.tmp" 2>/dev/null
	secure_key "$1.tmp"
	mv -f "$1.tmp" "$1"
}

# issue KEY CERT SUBJECT EXTENSIONS: a certificate signed by the CA.
issue() {
	local key=$1 cert=$2 subj=$3 ext=$4 tmpd
	tmpd=$(mktemp -d)
	printf '[v3]\n%s\n' "$ext" >"$tmpd/ext.cnf"
	openssl req -new -key "$key" -subj "$subj" -out "$tmpd/req.csr" 2>/dev/null
	openssl x509 -req -in "$tmpd/req.csr" -CA "$out/ca.pem" -CAkey "$out/ca/ca.key" \
		-set_serial "$(serial)" -days "$days" -sha256 \
		-extfile "$tmpd/ext.cnf" -extensions v3 -out "$cert.tmp" 2>/dev/null ||
		{ rm -rf "$tmpd"; die "openssl could not sign $cert"; }
	rm -rf "$tmpd"
	public_file "$cert.tmp"
	mv -f "$cert.tmp" "$cert"
}

make_ca() {
	local eid=$1
	secure_dir "$out/ca"
	new_tls_key "$out/ca/ca.key"
	openssl req -x509 -new -key "$out/ca/ca.key" -sha256 -days "$ca_days" \
		-set_serial "$(serial)" -subj "/O=tally/CN=tally election CA $eid" \
		-addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "subjectKeyIdentifier=hash" \
		-out "$out/ca.pem.tmp" 2>/dev/null
	public_file "$out/ca.pem.tmp"
	mv -f "$out/ca.pem.tmp" "$out/ca.pem"
}

san_list() {
	local n list=""
	for n in "${names[@]}"; do
		if [[ $n =~ ^[0-9]+(\.[0-9]+){3}$ || $n == *:* ]]; then
			list+="${list:+,}IP:$n"
		else
			list+="${list:+,}DNS:$n"
		fi
	done
	echo "$list"
}

make_aggregator_cert() {
	local d=$out/aggregator
	secure_dir "$d"
	new_tls_key "$d/aggregator.key"
	issue "$d/aggregator.key" "$d/aggregator.pem" "/O=tally/CN=${names[0]}" \
		"basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$(san_list)
authorityKeyIdentifier=keyid"
}

make_node_cert() {
	local r=$1 d=$out/regions/$1
	secure_dir "$d"
	new_tls_key "$d/node.key"
	issue "$d/node.key" "$d/node.pem" "/O=tally/CN=$r" \
		"basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
authorityKeyIdentifier=keyid"
}

make_signing_key() {
	local r=$1 d=$out/regions/$1
	secure_dir "$d"
	openssl genpkey -algorithm ed25519 -out "$d/sign.key.tmp" 2>/dev/null
	secure_key "$d/sign.key.tmp"
	openssl pkey -in "$d/sign.key.tmp" -pubout -out "$d/sign.pub.pem.tmp" 2>/dev/null
	public_file "$d/sign.pub.pem.tmp"
	mv -f "$d/sign.key.tmp" "$d/sign.key"
	mv -f "$d/sign.pub.pem.tmp" "$d/sign.pub.pem"
}

trust_key() {
	local r=$1
	secure_dir "$out/aggregator/trusted"
	cp "$out/regions/$r/sign.pub.pem" "$out/aggregator/trusted/$r.pem.tmp"
	public_file "$out/aggregator/trusted/$r.pem.tmp"
	mv -f "$out/aggregator/trusted/$r.pem.tmp" "$out/aggregator/trusted/$r.pem"
}

copy_ca() {
	cp "$out/ca.pem" "$1/ca.pem.tmp"
	public_file "$1/ca.pem.tmp"
	mv -f "$1/ca.pem.tmp" "$1/ca.pem"
}

need_ca() {
	[ -f "$out/ca.pem" ] && [ -f "$out/ca/ca.key" ] || die "no CA in $out (make one with: $prog --election FILE --out $out)"
}

need_region() {
	valid_region "$1"
	[ -d "$out/regions/$1" ] || die "no region '$1' in $out/regions (regions: $(ls "$out/regions" 2>/dev/null | tr '\n' ' '))"
}

cert_line() {
	openssl x509 -in "$1" -noout -subject -enddate 2>/dev/null | tr '\n' ' ' | sed 's/ $//'
}

summary() {
	local r
	cat <<EOF

PKI for election '$eid' in $out

  Offline (a safe, not a server):
    $out/ca/ca.key          the CA key; only pki.sh renew-cert/rotate-key need it
  Central machine (aggregator): copy $out/aggregator/ to /etc/tally/
    aggregator.pem, aggregator.key (0600), ca.pem, trusted/ (one public key per region)
    server names: ${names[*]}
EOF
	echo "  Each regional machine: copy $out/regions/<REGION>/ to /etc/tally/"
	echo "    node.pem, node.key (0600), sign.key (0600), ca.pem; sign.pub.pem is already in trusted/"
	for r in "${regions[@]}"; do
		printf '    %-10s %s\n' "$r" "$out/regions/$r/"
	done
	echo
}

case $cmd in
init)
	[ -n "$election" ] || die "--election FILE is required"
	[ -r "$election" ] || die "cannot read election file '$election'"
	mapfile -t lines < <(/usr/bin/python3 - "$election" <<'EOF'
import json, sys
try:
    e = json.load(open(sys.argv[1]))
    print(e["election_id"])
    for r in e["regions"]:
        print(r["id"])
except (OSError, ValueError, KeyError, TypeError) as x:
    sys.exit("%s: not an election definition (%s)" % (sys.argv[1], x))
EOF
	) || die "could not read regions from '$election'"
	eid=${lines[0]}
	regions=("${lines[@]:1}")
	[ ${#regions[@]} -gt 0 ] || die "'$election' has no regions"
	for r in "${regions[@]}"; do valid_region "$r"; done

	if [ -e "$out/ca/ca.key" ] && [ $force -eq 0 ]; then
		subj=$(openssl x509 -in "$out/ca.pem" -noout -subject 2>/dev/null || true)
		case "$subj" in
		*"tally election CA $eid") echo "$prog: $out already holds the CA of '$eid': keeping it, adding what is missing" ;;
		*) die "$out holds another CA ($subj); choose another --out, or --force to replace it (invalidates every certificate)" ;;
		esac
	else
		[ $force -eq 1 ] && rm -rf "$out/ca" "$out/ca.pem" "$out/aggregator" "$out/regions"
		secure_dir "$out"
		make_ca "$eid"
		echo "$prog: new election CA for '$eid'"
	fi
	secure_dir "$out"
	secure_dir "$out/aggregator"
	secure_dir "$out/aggregator/trusted"
	secure_dir "$out/regions"
	copy_ca "$out/aggregator"
	[ -f "$out/aggregator/aggregator.pem" ] && [ -f "$out/aggregator/aggregator.key" ] || make_aggregator_cert
	for r in "${regions[@]}"; do
		d=$out/regions/$r
		secure_dir "$d"
		copy_ca "$d"
		[ -f "$d/node.pem" ] && [ -f "$d/node.key" ] || make_node_cert "$r"
		[ -f "$d/sign.key" ] && [ -f "$d/sign.pub.pem" ] || make_signing_key "$r"
		[ -f "$out/aggregator/trusted/$r.pem" ] || trust_key "$r"
	done
	summary
	;;
renew-cert)
	need_ca
	if [ $for_aggregator -eq 1 ]; then
		if [ ${#names[@]} -eq 3 ] && [ "${names[*]}" = "localhost 127.0.0.1 ::1" ] && [ -f "$out/aggregator/aggregator.pem" ]; then
			# Keep the names the old certificate carried unless new ones are given.
			mapfile -t names < <(openssl x509 -in "$out/aggregator/aggregator.pem" -noout -ext subjectAltName 2>/dev/null |
				tail -n +2 | tr ',' '\n' | sed -e 's/^ *//' -e 's/^DNS://' -e 's/^IP Address://' | grep -v '^$')
			[ ${#names[@]} -gt 0 ] || names=(localhost 127.0.0.1 ::1)
		fi
		make_aggregator_cert
		copy_ca "$out/aggregator"
		echo "$prog: renewed $out/aggregator/aggregator.pem: $(cert_line "$out/aggregator/aggregator.pem")"
		echo "  install aggregator.pem and aggregator.key in /etc/tally/ and reload: systemctl reload tally-aggregator"
	else
		[ -n "$region" ] || die "renew-cert needs --region R or --aggregator"
		need_region "$region"
		make_node_cert "$region"
		copy_ca "$out/regions/$region"
		echo "$prog: renewed $out/regions/$region/node.pem: $(cert_line "$out/regions/$region/node.pem")"
		echo "  install node.pem and node.key on the $region machine in /etc/tally/ and restart: systemctl restart tally-node"
	fi
	;;
rotate-key)
	need_ca
	[ -n "$region" ] || die "rotate-key needs --region R"
	need_region "$region"
	ts=$(date -u +%Y%m%dT%H%M%SZ)
	t=$out/aggregator/trusted
	if [ -f "$t/$region.pem" ]; then
		old=$t/$region.$ts.pem
		n=1
		while [ -e "$old" ]; do
			old=$t/$region.$ts-$n.pem
			n=$((n + 1))
		done
		mv "$t/$region.pem" "$old"
	fi
	# The old private key is not kept: the node being rotated still holds its
	# own copy until the new one is installed, and nothing else needs it.
	make_signing_key "$region"
	trust_key "$region"
	echo "$prog: new signing key for $region: $out/regions/$region/sign.key"
	[ -n "${old:-}" ] && echo "  old public key kept trusted as $old"
	cat <<EOF
  1. on the aggregator: copy $t/ to /etc/tally/trusted/, systemctl reload tally-aggregator
  2. on the $region machine: install sign.key (0600) in /etc/tally/, systemctl restart tally-node
  3. once 'tallyctl status' on the node shows an empty outbox: remove ${old:-the old key} from
     the aggregator's trusted/ folder and reload it again
EOF
	;;
esac
