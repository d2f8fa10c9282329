#!/bin/sh
# Makes (once per machine) a Debian bookworm root tarball with mmdebstrap, from
# the apt sources this machine has, and prints its path.  Run as root.
#   scripts/debian-root.sh minbase|buildd [OUT]
# Default OUT: /var/cache/den/bookworm-VARIANT.tar (CI keeps it between runs).
set -eu
variant=${1:-minbase}
out=${2:-/var/cache/den/bookworm-$variant.tar}
[ -f "$out" ] && { echo "$out"; exit 0; }
command -v mmdebstrap >/dev/null || apt-get install -y -qq -o DPkg::Lock::Timeout=600 mmdebstrap >/dev/null
mkdir -p "$(dirname "$out")"
echo "debian-root.sh: making $out with mmdebstrap, once per machine (a few minutes)" >&2
# mmdebstrap's progress (its I: lines) goes to stderr, the path alone to stdout
mmdebstrap --format=tar --variant="$variant" bookworm "$out.tmp" >&2
mv "$out.tmp" "$out"
chmod 644 "$out"
echo "$out"
