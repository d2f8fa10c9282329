#!/bin/bash
# make demo: build den, make a busybox bundle from the busybox-static package
# (no network) and run it as a rootless container.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
rt=$build/den-runtime

demo=$(mktemp -d /tmp/den-demo.XXXXXX)
chmod 755 "$demo"
trap 'rm -rf "$demo"' EXIT
mkdir -p "$demo/rootfs/bin" "$demo/rootfs/proc" "$demo/rootfs/sys" "$demo/rootfs/dev" "$demo/rootfs/tmp"
cp /bin/busybox "$demo/rootfs/bin/busybox"
for c in sh echo id cat uname hostname ls; do ln -s busybox "$demo/rootfs/bin/$c"; done
cp "$rt" "$demo/den-runtime"

# rootless: as the invoking user, or as nobody when started as root
user=$(id -un)
if [ "$(id -u)" = 0 ]; then
	user=${DEMO_USER:-nobody}
fi
chown -R "$user" "$demo" 2>/dev/null || true
run_user() {
	if [ "$(id -un)" = "$user" ]; then "$@"; else runuser -u "$user" -- "$@"; fi
}
run_user "$demo/den-runtime" spec --rootless --bundle "$demo"
# not a terminal, and a command that shows what it is
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"sh", "-c", "echo hello from den: uid $(id -u) in a container of $(hostname), host user '"$user"'; cat \/proc\/self\/uid_map"/' "$demo/config.json"
echo "+ den-runtime run (as $user, rootless)"
run_user env -u XDG_RUNTIME_DIR "$demo/den-runtime" --root "$demo/state" run --bundle "$demo" demo
