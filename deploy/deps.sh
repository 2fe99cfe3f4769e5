#!/usr/bin/env bash
# Installs the Debian 12 packages tally builds and tests with, if any is
# missing. Sourced or run by deploy/demo.sh and tests/run.sh.
#   deploy/deps.sh          build and run dependencies
#   deploy/deps.sh --test   also what the test suite uses
set -euo pipefail

pkgs=(build-essential cmake pkg-config libuv1-dev libprotobuf-c-dev protobuf-c-compiler
      libssl-dev openssl libsodium-dev libsqlite3-dev sqlite3 libjansson-dev
      libhttp-parser-dev libinih-dev python3 curl)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(libcriterion-dev clang libclang-rt-14-dev clang-format protobuf-compiler
         python3-protobuf python3-jsonschema python3-cryptography python3-prometheus-client chromium iproute2 wrk systemd
         libpq-dev postgresql prometheus python3-yaml)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# The page test installs axe-core with npm; any Node.js with npm will do
# (Debian's, or another that ships its own npm), so only ask apt when none is there.
if [ "${1:-}" = "--test" ] && ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
