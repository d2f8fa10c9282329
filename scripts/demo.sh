#!/bin/bash
# make demo: a busybox image made from the busybox-static package (no network),
# imported into den and run as a rootless container; the same root as an OCI
# bundle run by den-runtime.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}

demo=$(mktemp -d /tmp/den-demo.XXXXXX)
chmod 755 "$demo"
mkdir -p "$demo/bin" "$demo/rootfs/bin" "$demo/rootfs/proc" "$demo/rootfs/sys" "$demo/rootfs/dev" "$demo/rootfs/tmp" \
	"$demo/rootfs/etc"
cp /bin/busybox "$demo/rootfs/bin/busybox"
for c in sh echo id cat uname hostname ls; do ln -s busybox "$demo/rootfs/bin/$c"; done
echo "root:x:0:0:root:/root:/bin/sh" > "$demo/rootfs/etc/passwd"
tar -C "$demo/rootfs" --owner=0 --group=0 -cf "$demo/busybox.tar" .
cp "$build/den" "$build/den-runtime" "$demo/bin/"
[ -x "$build/den-keeper" ] && cp "$build/den-keeper" "$demo/bin/"

# rootless: as the invoking user, or as nobody when started as root
user=$(id -un)
[ "$(id -u)" = 0 ] && user=${DEMO_USER:-nobody}
chown -R "$user" "$demo" 2>/dev/null || true
cleanup() {
	as_user "$demo/bin/den" --root "$demo/store" --runroot "$demo/run" system prune >/dev/null 2>&1 || true
	rm -rf "$demo" 2>/dev/null || true
}
trap cleanup EXIT
as_user() {
	if [ "$(id -un)" = "$user" ]; then env -u XDG_RUNTIME_DIR "$@"; else runuser -u "$user" -- env -u XDG_RUNTIME_DIR "$@"; fi
}
den="$demo/bin/den --root $demo/store --runroot $demo/run"

echo "+ den import busybox.tar busybox   (as $user, rootless: a root filesystem made from busybox-static)"
as_user $den import "$demo/busybox.tar" busybox >/dev/null
echo "+ den-runtime run: the same root as an OCI bundle (den-runtime spec --rootless wrote its config.json)"
as_user "$demo/bin/den-runtime" spec --rootless --bundle "$demo"
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"echo", "hello from den-runtime"/' "$demo/config.json"
as_user "$demo/bin/den-runtime" --root "$demo/rt" run --bundle "$demo" demo
echo "+ den run --rm busybox sh -c 'echo ...; cat /proc/self/uid_map'"
as_user $den run --rm busybox sh -c 'echo "hello from den: uid $(id -u) in container $(hostname), pid $$"; cat /proc/self/uid_map'
hostuid=$(id -u "$user")
cat <<EOT
  (the last line is the container's /proc/self/uid_map: uid 0 inside is uid $hostuid ($user) outside, and
   the last number is how many ids are mapped: 1 without sub-ids in /etc/subuid, so only root exists
   inside; with them a second line maps 1.. to the sub-id range)

The programs are in $build: den, den-runtime, den-unschroot (make install puts them in
/usr/local/bin, with the man pages: man den, man den-runtime, man den-unschroot).  Try next,
as yourself (not root), as README.md's "den in one minute" shows:
    tar -C some-rootfs -c . | den import - myimage      # or den pull docker.io/library/debian:bookworm
    den run --rm -it myimage sh
    den-runtime spec --rootless --bundle DIR && den-runtime run --bundle DIR demo
EOT
