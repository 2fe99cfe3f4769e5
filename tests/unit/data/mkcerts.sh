#!/bin/sh
# mkcerts.sh OUTDIR: a throwaway PKI for test_tls. An election CA with a
# server certificate for localhost/127.0.0.1/::1 and region client
# certificates (Ed25519 and P-256), plus a rogue CA whose client certificate
# claims the same region, to prove the trust anchor is the election CA alone.
set -eu

out=${1:?usage: mkcerts.sh OUTDIR}
mkdir -p "$out"
cd "$out"
days=2

# ca NAME CN: a self-signed CA with an Ed25519 key.
ca() {
	openssl genpkey -algorithm ed25519 -out "$1.key" 2>/dev/null
	openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days $days -out "$1.pem" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# leaf NAME CA SUBJECT ALG EXTFILE-TEXT: a certificate signed by CA.
leaf() {
	case $4 in
	ed25519) openssl genpkey -algorithm ed25519 -out "$1.key" 2>/dev/null ;;
	p256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 \
		-out "$1.key" 2>/dev/null ;;
	esac
	openssl req -new -key "$1.key" -subj "$3" -out "$1.csr" 2>/dev/null
	printf '%s\n' "$5" > "$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial \
		-days $days -extfile "$1.ext" -out "$1.pem" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

server_ext='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1'
client_ext='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth'

ca ca "Test Election CA"
leaf server ca /CN=localhost ed25519 "$server_ext"
leaf client ca /CN=KZ-71 ed25519 "$client_ext"
leaf client-ec ca /CN=KZ-15 p256 "$client_ext"
# Names the aggregator must not take as a region id: none, and one too long.
leaf client-nocn ca "/O=Tally Test" ed25519 "$client_ext"
leaf client-longcn ca "/CN=$(printf '%064d' 71)" ed25519 "$client_ext"
ca rogue-ca "Rogue CA"
leaf rogue-client rogue-ca /CN=KZ-71 ed25519 "$client_ext"
printf 'not a certificate\n' > garbage.pem
rm -f ./*.srl
