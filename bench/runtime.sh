#!/bin/bash
# 100 sequential `run` of one busybox bundle (process /bin/true) with den-runtime,
# crun and runc, interleaved (A B C A B C ...) so disk and cache drift hit all
# alike; rootless and, when started as root, as root too.  Prints medians and
# ratios.  As root with docker.io installed, also `docker run --rm` end to end through a
# private dockerd (bench/dockerd.sh) with runc and with den-runtime, DOCKER_N (20) runs
# each, interleaved.  Usage: bench/runtime.sh [BUILD_DIR] [N]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
n=${2:-100}
user=${BENCH_USER:-dentest}

work=$(mktemp -d /tmp/den-bench.XXXXXX)
chmod 755 "$work"
trap '"$top/bench/dockerd.sh" stop "$work/dockerd"; rm -rf "$work"' EXIT
cp "$build/den-runtime" "$work/"

make_bundle() { # dir rootless
	mkdir -p "$1/rootfs/bin" "$1/rootfs/proc" "$1/rootfs/sys" "$1/rootfs/dev"
	cp /bin/busybox "$1/rootfs/bin/busybox"
	ln -s busybox "$1/rootfs/bin/true"
	"$work/den-runtime" spec --bundle "$1" $2
	sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"\/bin\/true"/' "$1/config.json"
}

cat > "$work/time.py" <<'PY'
import os, statistics, subprocess, sys, time
n, bundle, state = int(sys.argv[1]), sys.argv[2], sys.argv[3]
runtimes = [r for r in sys.argv[4:] if os.path.exists(r.split()[0]) or "/" not in r.split()[0]]
times = {r: [] for r in runtimes}
fails = {r: 0 for r in runtimes}
for i in range(n):
    for r in runtimes:
        exe = r.split()
        cmd = exe + ["--root", f"{state}/{os.path.basename(exe[0])}", "run", "--bundle", bundle, f"b{i}"]
        t = time.perf_counter()
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times[r].append(time.perf_counter() - t)
        if p.returncode != 0:
            fails[r] += 1
            if fails[r] == 1:
                print(f"  {exe[0]} failed: {p.stderr.decode().strip()[:200]}", file=sys.stderr)
med = {r: statistics.median(v) * 1000 for r, v in times.items()}
base = med[runtimes[0]]
for r in runtimes:
    name = os.path.basename(r.split()[0])
    ratio = med[r] / base
    print(f"  {name:12s} median {med[r]:7.2f} ms  (p10 {sorted(times[r])[n//10]*1000:6.2f}, p90 {sorted(times[r])[n*9//10]*1000:6.2f})"
          f"  failures {fails[r]:3d}  den-runtime/{name} = {base/med[r]:.2f}")
PY

peers="$work/den-runtime $(command -v crun || true) $(command -v runc || true)"
echo "machine: $(nproc) cores, $(uname -r); $(crun --version 2>/dev/null | head -1); $(runc --version 2>/dev/null | head -1)"
echo "$n sequential runs of /bin/true in a busybox bundle, interleaved"

if [ "$(id -u)" = 0 ]; then
	# crun 1.8 refuses a hybrid cgroup layout until hugetlb has a v1 hierarchy
	if [ -d /sys/fs/cgroup/unified ] && ! mountpoint -q /sys/fs/cgroup/hugetlb; then
		mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb || true
	fi
	make_bundle "$work/root" ""
	echo "as root:"
	/usr/bin/python3 "$work/time.py" "$n" "$work/root" "$work/state-root" $peers
	# with and without cgroupsPath: every runtime makes a cgroup either way (den-runtime since issue 11)
	make_bundle "$work/rootcg" ""
	sed -i 's|"linux": {|"linux": {"cgroupsPath": "/den-bench/run",|' "$work/rootcg/config.json"
	echo "as root, with linux.cgroupsPath set (a cgroup per container for all three):"
	/usr/bin/python3 "$work/time.py" "$n" "$work/rootcg" "$work/state-rootcg" $peers
	id "$user" >/dev/null 2>&1 || useradd --create-home "$user"
	mkdir "$work/rl"
	chown "$user" "$work/rl"
	runuser -u "$user" -- bash -c "$(declare -f make_bundle); work=$work; make_bundle $work/rl/b --rootless"
	echo "rootless (as $user):"
	runuser -u "$user" -- env -u XDG_RUNTIME_DIR /usr/bin/python3 "$work/time.py" "$n" "$work/rl/b" "$work/rl/state" $peers
	if [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ]; then
		sock=$("$top/bench/dockerd.sh" start "$work/dockerd" "$work/den-runtime")
		echo "docker run --rm of /bin/true through dockerd $(/usr/bin/docker -H "unix://$sock" version -f '{{.Server.Version}}'), ${DOCKER_N:-20} runs each, interleaved:"
		/usr/bin/python3 - "${DOCKER_N:-20}" "$sock" <<-'PY'
		import statistics, subprocess, sys, time
		n, sock = int(sys.argv[1]), sys.argv[2]
		times = {"runc": [], "den": []}
		for i in range(n + 1):
		    for rt in times:
		        t = time.perf_counter()
		        subprocess.run(["/usr/bin/docker", "-H", f"unix://{sock}", "run", "--rm", "--runtime", rt,
		                        "den-bench:1", "/bin/true"], check=True)
		        if i:  # the first of each warms dockerd's caches
		            times[rt].append(time.perf_counter() - t)
		med = {rt: statistics.median(v) * 1000 for rt, v in times.items()}
		for rt, v in times.items():
		    print(f"  {rt:5s} median {med[rt]:7.1f} ms  (p10 {sorted(v)[n // 10] * 1000:6.1f}, "
		          f"p90 {sorted(v)[n * 9 // 10] * 1000:6.1f})")
		print(f"  den/runc = {med['den'] / med['runc']:.2f}")
		PY
		"$top/bench/dockerd.sh" stop "$work/dockerd"
	fi
else
	make_bundle "$work/b" --rootless
	echo "rootless (as $(id -un)):"
	/usr/bin/python3 "$work/time.py" "$n" "$work/b" "$work/state" $peers
fi
