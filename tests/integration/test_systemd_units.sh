#!/usr/bin/env bash
# The systemd units: `systemd-analyze verify` is silent and
# `systemd-analyze security --offline=yes` rates each unit 1.5 or lower
# ("OK"). A container has no running systemd and no installed binaries, so
# verify runs against a throwaway root holding the host's own unit files,
# our units in etc/systemd/system and the binaries at their installed paths.
# Two controls prove the checks can fail: an unhardened copy must score
# worse than 1.5, and a unit with a misspelt key must make verify speak.
set -euo pipefail
src=${TALLY_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TALLY_BUILD_DIR:-}
units=(tally-aggregator.service tally-node.service)
command -v systemd-analyze >/dev/null || {
	echo "FAIL: systemd-analyze missing (deploy/deps.sh --test installs the systemd package)"
	exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

root=$tmp/root
mkdir -p "$root/usr/lib/systemd" "$root/etc/systemd/system" "$root/usr/sbin" "$root/bin" "$root/etc/tally"
cp -a /lib/systemd/system "$root/usr/lib/systemd/"
cp /bin/kill "$root/bin/kill"
for b in tally-aggregator tally-node; do
	# The real binaries when built, else a stand-in: verify checks that
	# ExecStart= names an executable, not what it does.
	found=$(find "${build:-/nonexistent}" -maxdepth 3 -type f -name "$b" -perm -u+x 2>/dev/null | head -1 || true)
	cp "${found:-/bin/true}" "$root/usr/sbin/$b"
done
for u in "${units[@]}" tally-aggregator.socket; do
	cp "$src/systemd/$u" "$root/etc/systemd/system/$u"
done

verify() { # unit... -> prints what verify says, returns its status
	(cd "$root" && systemd-analyze verify --root="$root" "$@" 2>&1)
}

out=$(verify "${units[@]}" tally-aggregator.socket) || fail "systemd-analyze verify failed: $out"
[ -z "$out" ] || fail "systemd-analyze verify is not silent: $out"
[ -n "$out" ] || echo "verify: clean (${units[*]} tally-aggregator.socket)"

score() { # unit file -> the overall exposure level line
	systemd-analyze security --offline=yes --no-pager "$1" 2>&1 | grep 'Overall exposure level' || true
}
for u in "${units[@]}"; do
	line=$(score "$src/systemd/$u")
	echo "security: $line"
	value=$(sed -n 's/.*: \([0-9.]*\) \([A-Z]*\).*/\1/p' <<<"$line")
	verdict=$(sed -n 's/.*: \([0-9.]*\) \([A-Z]*\).*/\2/p' <<<"$line")
	[ -n "$value" ] || {
		fail "$u: no score"
		continue
	}
	awk -v v="$value" 'BEGIN { exit !(v <= 1.5) }' || fail "$u scores $value, want <= 1.5"
	[ "$verdict" = OK ] || fail "$u verdict $verdict, want OK"
done

# Control 1: without its hardening the aggregator's unit must score worse.
grep -v -E '^(Protect|Private|Restrict|SystemCall|NoNew|Capability|Ambient|Memory|Lock|Remove|Keyring|Device|User|Group|UMask|ProcSubset)' \
	"$src/systemd/tally-aggregator.service" >"$tmp/bare.service"
line=$(score "$tmp/bare.service")
value=$(sed -n 's/.*: \([0-9.]*\) .*/\1/p' <<<"$line")
awk -v v="${value:-0}" 'BEGIN { exit !(v > 1.5) }' || fail "control: unhardened unit scored '$line'"

# Control 2: a misspelt key is reported by verify.
sed 's/^NoNewPrivileges=/NoNewPrivilege=/' "$src/systemd/tally-node.service" >"$root/etc/systemd/system/tally-typo.service"
out=$(verify tally-typo.service) || true
grep -q "NoNewPrivilege" <<<"$out" || fail "control: verify did not report a misspelt key ($out)"
rm "$root/etc/systemd/system/tally-typo.service"

# The sysusers.d and tmpfiles.d files the package installs.
if command -v systemd-sysusers >/dev/null; then
	mkdir -p "$root/etc" && : >"$root/etc/passwd" && : >"$root/etc/group"
	systemd-sysusers --root="$root" "$src/systemd/tally.sysusers" >/dev/null 2>&1 || fail "systemd-sysusers rejected tally.sysusers"
	grep -q '^tally:' "$root/etc/passwd" || fail "sysusers did not create user tally"
fi
if command -v systemd-tmpfiles >/dev/null; then
	systemd-tmpfiles --root="$root" --create "$src/systemd/tally.tmpfiles" >/dev/null 2>&1 ||
		fail "systemd-tmpfiles rejected tally.tmpfiles"
	[ "$(stat -c %a "$root/var/spool/tally" 2>/dev/null)" = 2770 ] || fail "spool folder not made 2770"
fi

if [ $fails -ne 0 ]; then
	echo "test_systemd_units: $fails failure(s)"
	exit 1
fi
echo "PASS test_systemd_units"
