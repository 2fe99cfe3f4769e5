#!/usr/bin/env bash
# Packaging: a Release build, `cpack -G DEB`, and the package holds the three
# binaries at /usr/bin, the units naming them, the sysusers/tmpfiles files,
# the operators' tools, the live page and the example configs; its
# maintainer scripts are there and its dependencies were computed.
# `cmake --install --prefix P` writes units whose ExecStart= follows P.
#
# The Release build lives in $TALLY_BUILD_DIR/package-release (kept between
# runs so only changed files rebuild), or a temp folder outside ctest.
set -euo pipefail
src=${TALLY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "${TALLY_BUILD_DIR:-}" ]; then
	build=$TALLY_BUILD_DIR/package-release
else
	build=$tmp/build
fi
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

start=$(date +%s)
# No sanitizers, no tests: what an operator installs. The parent's
# environment (ASAN_OPTIONS...) does not matter to a plain build.
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTALLY_TESTS=OFF \
	-DTALLY_ASAN=OFF -DTALLY_UBSAN=OFF -DTALLY_WERROR=OFF >"$tmp/configure.log" 2>&1 ||
	{ cat "$tmp/configure.log"; exit 1; }
cmake --build "$build" -j2 >"$tmp/build.log" 2>&1 || { tail -30 "$tmp/build.log"; exit 1; }
(cd "$build" && cpack -G DEB -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1) || { cat "$tmp/cpack.log"; exit 1; }
echo "built and packaged in $(($(date +%s) - start)) s"

debs=("$tmp"/pkg/tally_*.deb)
[ -f "${debs[0]}" ] || { echo "FAIL: no tally_*.deb in $(ls "$tmp/pkg")"; exit 1; }
deb=${debs[0]}
echo "package: $(basename "$deb")"
dpkg-deb -c "$deb" | awk '{print $1, $6}' >"$tmp/contents"
has() { # mode-prefix path
	grep -q "^$1[^ ]* \./$2\$" "$tmp/contents" || fail "package lacks $2 (mode $1...)"
}
for b in tally-aggregator tally-node; do has -rwxr-xr-x "usr/sbin/$b"; done
has -rwxr-xr-x usr/bin/tallyctl
has -rw-r--r-- usr/lib/systemd/system/tally-aggregator.service
has -rw-r--r-- usr/lib/systemd/system/tally-node.service
has -rw-r--r-- usr/lib/systemd/system/tally-aggregator.socket
has -rw-r--r-- usr/lib/sysusers.d/tally.conf
has -rw-r--r-- usr/lib/tmpfiles.d/tally.conf
has -rwxr-xr-x usr/share/tally/pki.sh
has -rwxr-xr-x usr/share/tally/election.py
has -rw-r--r-- usr/share/tally/regions-kz.json
has -rw-r--r-- usr/share/tally/web/index.html
has -rw-r--r-- usr/share/doc/tally/examples/aggregator.ini
has -rw-r--r-- usr/share/doc/tally/examples/node.ini
has -rw-r--r-- usr/share/doc/tally/operations.md
has -rw-r--r-- usr/share/doc/tally/prometheus/tally.rules.yml
has -rw-r--r-- usr/share/doc/tally/prometheus/prometheus.yml
has -rw-r--r-- usr/share/doc/tally/grafana/tally.json
grep -q '\.cmake$' "$tmp/contents" && fail "package carries build files: $(grep '\.cmake$' "$tmp/contents")"

mkdir "$tmp/x"
dpkg-deb -x "$deb" "$tmp/x"
for u in tally-aggregator tally-node; do
	got=$(grep '^ExecStart=' "$tmp/x/usr/lib/systemd/system/$u.service")
	[ "$got" = "ExecStart=/usr/sbin/$u --config /etc/tally/${u#tally-}.ini" ] || fail "$u: $got"
	cmp -s "$tmp/x/usr/lib/systemd/system/$u.service" "$src/systemd/$u.service" ||
		fail "$u.service in the package differs from systemd/$u.service"
done
head -c 4 "$tmp/x/usr/sbin/tally-aggregator" | grep -q ELF || fail "tally-aggregator is not an ELF binary"

# The example configs, as shipped, pass --check-config with the packaged
# binaries and files laid out as docs/operations.md says (only the node's
# spool, which the package's tmpfiles.d makes, is moved to a temp folder).
etc=$tmp/etc
mkdir -p "$etc/agg" "$etc/node" "$tmp/spool"
/usr/bin/python3 "$tmp/x/usr/share/tally/election.py" kz-demo --out "$etc/election.json"
/usr/bin/python3 "$tmp/x/usr/share/tally/election.py" mazhilis-2023 --out "$tmp/mazhilis.json" ||
	fail "the packaged election.py mazhilis-2023 (it reads regions-kz.json beside itself)"
bash "$tmp/x/usr/share/tally/pki.sh" --election "$etc/election.json" --out "$tmp/pki" \
	--aggregator-name central-1.example >/dev/null
cp -r "$tmp"/pki/aggregator/* "$etc/election.json" "$tmp/x/usr/share/doc/tally/examples/aggregator.ini" "$etc/agg/"
cp "$tmp"/pki/regions/KZ-71/* "$etc/election.json" "$etc/node/"
sed "s|^spool_dir = .*|spool_dir = $tmp/spool|" "$tmp/x/usr/share/doc/tally/examples/node.ini" >"$etc/node/node.ini"
out=$("$tmp/x/usr/sbin/tally-aggregator" --config "$etc/agg/aggregator.ini" --check-config 2>&1) ||
	fail "examples/aggregator.ini: $out"
out=$("$tmp/x/usr/sbin/tally-node" --config "$etc/node/node.ini" --check-config 2>&1) ||
	fail "examples/node.ini: $out"

dpkg-deb -I "$deb" >"$tmp/info"
for s in postinst prerm postrm; do grep -q " $s " "$tmp/info" || fail "no $s script"; done
grep -q '^ Package: tally$' "$tmp/info" || fail "package name"
depends=$(sed -n 's/^ Depends: //p' "$tmp/info")
for lib in libuv1 libssl3 libsodium23 libsqlite3-0; do
	grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done

# cmake --install with another prefix: units follow it.
cmake --install "$build" --prefix "$tmp/inst" >/dev/null
got=$(grep '^ExecStart=' "$tmp/inst/lib/systemd/system/tally-node.service")
[ "$got" = "ExecStart=$tmp/inst/sbin/tally-node --config /etc/tally/node.ini" ] || fail "installed unit: $got"
[ -x "$tmp/inst/sbin/tally-aggregator" ] || fail "cmake --install: no sbin/tally-aggregator"
[ -x "$tmp/inst/bin/tallyctl" ] || fail "cmake --install: no bin/tallyctl"

if [ $fails -ne 0 ]; then
	echo "test_package: $fails failure(s)"
	exit 1
fi
echo "PASS test_package"
