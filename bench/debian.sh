#!/bin/sh
# Makes (once) the Debian bookworm minbase tarball the benchmarks import,
# from the apt sources this machine has.  Run as root.
set -eu
out=${1:-/var/cache/den-bench/bookworm-minbase.tar}
[ -f "$out" ] && { echo "$out"; exit 0; }
command -v mmdebstrap >/dev/null || apt-get install -y -qq mmdebstrap
mkdir -p "$(dirname "$out")"
mmdebstrap --variant=minbase bookworm "$out.tmp"
mv "$out.tmp" "$out"
chmod 644 "$out"
echo "$out"
