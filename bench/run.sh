#!/bin/bash
# den run vs podman run vs den-runtime/crun on a ready bundle; den exec vs crun
# exec vs podman exec; the resident memory of an idle keeper vs conmon.
# One run, medians and ratios.  Usage: bench/run.sh [BUILD_DIR] [N]
# DEN_BENCH_BASE=OTHER_BUILD_DIR adds that build's den run and den exec, interleaved
# with the others: a before/after under the same load.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
n=${2:-50}
# rootless is the point (and podman as root cannot raise rlimits on hosts
# without CAP_SYS_RESOURCE): started as root, run as the bench user
if [ "$(id -u)" = 0 ]; then
	user=${BENCH_USER:-dentest}
	id "$user" >/dev/null 2>&1 || useradd --create-home "$user"
	if [ -d /sys/fs/cgroup/unified ] && ! mountpoint -q /sys/fs/cgroup/hugetlb 2>/dev/null; then
		mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb || true
	fi
	copy=$(mktemp -d /tmp/den-benchbin.XXXXXX)
	cp "$build/den" "$build/den-runtime" "$0" "$copy/"
	[ -x "$build/den-keeper" ] && cp "$build/den-keeper" "$copy/"
	if [ -n "${DEN_BENCH_BASE:-}" ]; then
		mkdir "$copy/base" && cp "$DEN_BENCH_BASE/den" "$copy/base/"
		[ -x "$DEN_BENCH_BASE/den-keeper" ] && cp "$DEN_BENCH_BASE/den-keeper" "$copy/base/"
	fi
	chmod -R a+rX "$copy"
	runuser -u "$user" -- env -u XDG_RUNTIME_DIR HOME="/home/$user" DEN_BENCH_BASE="${DEN_BENCH_BASE:+$copy/base}" \
		bash "$copy/run.sh" "$copy" "$n"
	rc=$?
	rm -rf "$copy"
	exit $rc
fi
work=$(mktemp -d /tmp/den-benchrun.XXXXXX)
chmod 755 "$work"
mkdir -m 700 "$work/xdg"
export XDG_RUNTIME_DIR=$work/xdg
printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' > "$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
base=${DEN_BENCH_BASE:-}
trap '[ -n "$base" ] && "$base/den" --root "$work/denb" --runroot "$work/denbrun" rm -f bench >/dev/null 2>&1; "$build/den" --root "$work/den" --runroot "$work/denrun" rm -f bench >/dev/null 2>&1 || true; crun --root "$work/crun" delete -f benchx >/dev/null 2>&1 || true; podman --root "$work/pm" --runroot "$work/pmr" rm -af -t 0 >/dev/null 2>&1 || true; podman --root "$work/pm" --runroot "$work/pmr" unshare rm -rf "$work/pm" "$work/den" "$work/denb" >/dev/null 2>&1 || true; kill $(cat "$work/xdg/libpod/tmp/pause.pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

mkdir -p "$work/rootfs/bin" "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev" "$work/rootfs/etc" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/"
for c in sh true sleep; do ln -s busybox "$work/rootfs/bin/$c"; done
tar -C "$work/rootfs" -cf "$work/bb.tar" .
D="$build/den --root $work/den --runroot $work/denrun"
$D import "$work/bb.tar" busybox >/dev/null
B=${base:+$base/den --root $work/denb --runroot $work/denbrun}
[ -n "$base" ] && $B import "$work/bb.tar" busybox >/dev/null
# a Debian bookworm root (mmdebstrap --variant=minbase, cached by bench/debian.sh),
# or without one a 300 MB stand-in: start must not grow with image size
deb=${DEN_BENCH_DEBIAN:-/var/cache/den-bench/bookworm-minbase.tar}
if [ -r "$deb" ]; then
	bigname="debian bookworm"
	$D import "$deb" bigimage >/dev/null
else
	bigname="300 MB stand-in"
	big=$work/big; mkdir -p "$big"; cp -a "$work/rootfs/." "$big/"
	head -c 300000000 /dev/urandom > "$big/blob" 2>/dev/null || true
	for i in $(seq 1 3000); do echo $i > "$big/f$i"; done
	tar -C "$big" -cf "$work/big.tar" . && rm -rf "$big"
	$D import "$work/big.tar" bigimage >/dev/null && rm -f "$work/big.tar"
fi
P="podman --root $work/pm --runroot $work/pmr"
$P import "$work/bb.tar" localhost/busybox >/dev/null 2>&1
mkdir "$work/bundle" && cp -a "$work/rootfs" "$work/bundle/rootfs"
"$build/den-runtime" spec --rootless --bundle "$work/bundle"
sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"\/bin\/true"/' "$work/bundle/config.json"

cat > "$work/t.py" <<'PY'
import statistics, subprocess, sys, time
n = int(sys.argv[1]); cmds = [c.split("|") for c in sys.argv[2:]]
names = [c[0] for c in cmds]; times = {k: [] for k in names}
for i in range(n):
    for name, cmd in cmds:
        cmd = cmd.replace("@", str(i))
        t = time.perf_counter()
        subprocess.run(cmd, shell=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[name].append(time.perf_counter() - t)
base = statistics.median(times[names[0]])
for k in names:
    m = statistics.median(times[k])
    print(f"  {k:28s} median {m*1000:8.2f} ms   {names[0]}/{k} = {base/m:.2f}")
PY
echo "rootless, as $(id -un); machine: $(nproc) cores, $(uname -r); $(podman --version); crun $(crun --version | head -1 | cut -d' ' -f3)"
echo "start to exit of /bin/true, $n runs each, interleaved:"
/usr/bin/python3 "$work/t.py" "$n" \
	"den run --rm|$D run --rm busybox /bin/true" \
	${base:+"den run --rm (base build)|$B run --rm busybox /bin/true"} \
	"den run --rm ($bigname)|$D run --rm bigimage /bin/true" \
	"podman run --rm|$P run --rm --network none localhost/busybox /bin/true" \
	"den-runtime run (bundle)|$build/den-runtime --root $work/dr run --bundle $work/bundle b@" \
	"crun run (bundle)|crun --root $work/crun run --bundle $work/bundle c@"

$D run -d --name bench busybox sleep 1000 >/dev/null
[ -n "$base" ] && $B run -d --name bench busybox sleep 1000 >/dev/null
$P run -d --name bench --network none localhost/busybox sleep 1000 >/dev/null 2>&1
sed -i 's/"\/bin\/true"/"\/bin\/sleep", "1000"/' "$work/bundle/config.json"
crun --root "$work/crun" run -d --bundle "$work/bundle" benchx >/dev/null
echo "exec of /bin/true into a running container:"
/usr/bin/python3 "$work/t.py" "$n" \
	"den exec|$D exec bench /bin/true" \
	${base:+"den exec (base build)|$B exec bench /bin/true"} \
	"crun exec|crun --root $work/crun exec benchx /bin/true" \
	"podman exec|$P exec bench /bin/true"
# idle: a second after the last request the keeper drops the pages it no longer uses
sleep 2
kpid=$(cut -d' ' -f1 "$work"/denrun/containers/*/keeper.pid)
echo "resident memory of the idle holder process:"
echo "  den keeper   RSS $(awk '/^Rss/ {print $2, $3}' /proc/$kpid/smaps_rollup), PSS $(awk '/^Pss:/ {print $2, $3}' /proc/$kpid/smaps_rollup)"
cpid=$(pgrep -o -u "$(id -u)" conmon || true)
[ -n "$cpid" ] && echo "  conmon       RSS $(awk '/^Rss/ {print $2, $3}' /proc/$cpid/smaps_rollup), PSS $(awk '/^Pss:/ {print $2, $3}' /proc/$cpid/smaps_rollup)"
