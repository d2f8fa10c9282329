#!/bin/bash
# The Docker Engine API end to end: the docker CLI against `den serve`, against
# `podman system service` (same busybox image, same CLI) and, as root with Debian's
# docker.io, against a private dockerd (bench/dockerd.sh).  Timed, targets alternating:
# `docker run --rm busybox true` (also with --network none), then with 100 created
# containers in each service `docker ps -a` and `docker ps`.  One run prints medians,
# p10/p90 and the ratios den/other.  Targets (issue 14): docker run --rm 5x faster than
# podman's service; docker ps with 100 containers at most half of podman's latency.
# Started as root: the rootless half runs as the bench user (BENCH_USER, dentest), then
# the root half (den, podman if it runs as root here, dockerd if installed).  Not for CI.
# Usage: bench/api.sh [BUILD_DIR] [N]
#   DOCKER=/path/to/docker (default /usr/bin/docker, docker.io's 20.10 client)
#   BENCH_API_ROOTLESS=0 skips the rootless half, BENCH_API_ROOT=0 the root half
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
n=${2:-30}
docker=${DOCKER:-/usr/bin/docker}
ncreate=100

if [ "$(id -u)" = 0 ] && [ -z "${BENCH_API_AS:-}" ]; then
	if [ -d /sys/fs/cgroup/unified ] && ! mountpoint -q /sys/fs/cgroup/hugetlb 2>/dev/null; then
		mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb || true
	fi
	rc=0
	if [ "${BENCH_API_ROOTLESS:-1}" != 0 ]; then
		user=${BENCH_USER:-dentest}
		id "$user" >/dev/null 2>&1 || useradd --create-home "$user"
		for f in /etc/subuid /etc/subgid; do
			grep -q "^$user:" "$f" 2>/dev/null || echo "$user:200000:65536" >> "$f"
		done
		copy=$(mktemp -d /tmp/den-benchbin.XXXXXX)
		cp "$build/den" "$0" "$copy/"
		for b in den-keeper den-runtime; do [ -x "$build/$b" ] && cp "$build/$b" "$copy/"; done
		chmod -R a+rX "$copy"
		runuser -u "$user" -- env -u XDG_RUNTIME_DIR HOME="/home/$user" BENCH_API_AS=rootless DOCKER="$docker" BENCH_API_REV="$(git -C "$top" rev-parse --short HEAD)" \
			bash "$copy/api.sh" "$copy" "$n" || rc=$?
		rm -rf "$copy"
	fi
	if [ "${BENCH_API_ROOT:-1}" != 0 ]; then
		BENCH_API_AS=root DOCKER="$docker" bash "$0" "$build" "$n" || rc=$?
	fi
	exit $rc
fi
as=${BENCH_API_AS:-rootless}

work=$(mktemp -d /tmp/den-benchapi.XXXXXX)
chmod 755 "$work"
mkdir -m 700 "$work/xdg"
export XDG_RUNTIME_DIR=$work/xdg
printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' > "$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
# the client's own config (podman reads it too, for credentials)
export DOCKER_CONFIG=$work/dockercfg
mkdir "$DOCKER_CONFIG" && echo '{}' > "$DOCKER_CONFIG/config.json"
D="$build/den --root $work/den --runroot $work/denrun"
P="podman --root $work/pm --runroot $work/pmr"
densock=$work/den.sock
pmsock=$work/pm.sock
dkdir=$work/dockerd
denpid= pmpid= dk=
cleanup() {
	set +e
	[ -n "$denpid" ] && { DOCKER_HOST=unix://$densock "$docker" ps -aq | xargs -r env DOCKER_HOST=unix://$densock "$docker" rm -f; kill "$denpid"; wait "$denpid"; } >/dev/null 2>&1
	[ -n "$pmpid" ] && { kill "$pmpid"; wait "$pmpid"; } >/dev/null 2>&1
	[ -n "$dk" ] && "$top/bench/dockerd.sh" stop "$dkdir" >/dev/null 2>&1
	$D ps -aq 2>/dev/null | xargs -r $D rm -f >/dev/null 2>&1
	$P rm -af -t 0 >/dev/null 2>&1
	if [ "$as" = root ]; then
		$P system reset -f >/dev/null 2>&1
		grep -F " $work/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
		rm -rf "$work"
	else
		$P unshare rm -rf "$work/pm" "$work/den" >/dev/null 2>&1
		kill $(cat "$work/xdg/libpod/tmp/pause.pid" 2>/dev/null) 2>/dev/null
		rm -rf "$work"
	fi
}
trap cleanup EXIT

wait_sock() { # name socket pid
	for _ in $(seq 300); do
		DOCKER_HOST=unix://$2 "$docker" version >/dev/null 2>&1 && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	echo "api.sh: $1 does not answer on $2 (log: $(tail -5 "$work/$1.log" 2>/dev/null))" >&2
	return 1
}

# the image: busybox-static's busybox, owned by root, the same tarball for every service
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/"
for c in sh true sleep; do ln -s busybox "$work/rootfs/bin/$c"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$work/rootfs/etc/passwd"
echo 'root:x:0:' > "$work/rootfs/etc/group"
tar -C "$work/rootfs" --owner=0 --group=0 --numeric-owner -cf "$work/bb.tar" .

$D import "$work/bb.tar" busybox >/dev/null
$D serve -H "unix://$densock" >"$work/den.log" 2>&1 &
denpid=$!
wait_sock den "$densock" "$denpid"
targets=("den|$densock")
servers="den serve (${BENCH_API_REV:-$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo '?')})"

# podman: its docker-compatible service takes "busybox" as docker.io/library/busybox
pm=0
if $P import "$work/bb.tar" docker.io/library/busybox:latest >"$work/pm-import.log" 2>&1; then
	$P system service --time=0 "unix://$pmsock" >"$work/podman.log" 2>&1 &
	pmpid=$!
	if wait_sock podman "$pmsock" "$pmpid" &&
		DOCKER_HOST=unix://$pmsock "$docker" run --rm busybox true >"$work/pm-try.log" 2>&1; then
		pm=1
		targets+=("podman|$pmsock")
		servers="$servers, $(podman --version) system service"
	else
		# the CLI shows only the status; podman itself says why
		echo "api.sh: podman's service cannot run a container as $as here: $(tr '\n' ' ' < "$work/pm-try.log"); podman run: $($P run --rm busybox true 2>&1 | tail -1)" >&2
	fi
else
	echo "api.sh: podman import failed as $as: $(tail -3 "$work/pm-import.log")" >&2
fi

if [ "$as" = root ] && [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/containerd ]; then
	if "$top/bench/dockerd.sh" start "$dkdir" "$build/den-runtime" >"$work/dockerd-start.log" 2>&1; then
		dk=1
		DOCKER_HOST=unix://$dkdir/docker.sock "$docker" tag den-bench:1 busybox:latest
		targets+=("dockerd|$dkdir/docker.sock")
		servers="$servers, dockerd $(DOCKER_HOST=unix://$dkdir/docker.sock "$docker" version -f '{{.Server.Version}}') (runc)"
	else
		dk=1
		echo "api.sh: dockerd did not start: $(tail -3 "$work/dockerd-start.log")" >&2
	fi
fi

# every target once, checked, before anything is timed
for t in "${targets[@]}"; do
	out=$(DOCKER_HOST=unix://${t#*|} "$docker" run --rm busybox sh -c 'echo ok' 2>&1) || true
	[ "$out" = ok ] || { echo "api.sh: docker run --rm busybox against ${t%%|*} gave: $out" >&2; exit 1; }
done

# one timer: "cli ARGS" runs the docker client (its start included), "http PATH" only GETs
# PATH over the socket, one connection per request (the service alone)
cat > "$work/t.py" <<'PY'
import socket, statistics, subprocess, sys, time
n = int(sys.argv[1]); docker = sys.argv[2]; mode, what = sys.argv[3].split(" ", 1)
targets = [t.split("|") for t in sys.argv[4:]]
names = [t[0] for t in targets]; times = {k: [] for k in names}
def cli(name, sock):
    p = subprocess.run([docker, "-H", "unix://" + sock, *what.split()], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.exit(f"docker {what} against {name}: exit {p.returncode}: {p.stderr.strip()}")
def http(name, sock):
    s = socket.socket(socket.AF_UNIX); s.connect(sock)
    s.sendall(f"GET {what} HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while c := s.recv(1 << 16):
        data += c
    s.close()
    if not data.startswith(b"HTTP/1.1 200"):
        sys.exit(f"GET {what} against {name}: {data[:200]!r}")
run = cli if mode == "cli" else http
for i in range(n + 1):
    for name, sock in targets:
        t = time.perf_counter()
        run(name, sock)
        if i:  # the first of each warms caches
            times[name].append(time.perf_counter() - t)
med = {k: statistics.median(v) * 1000 for k, v in times.items()}
for k, v in times.items():
    v = sorted(v)
    ratio = f"   den/{k} = {med['den'] / med[k]:.2f} ({med[k] / med['den']:.1f}x)" if k != "den" else ""
    print(f"  {k:8s} median {med[k]:8.2f} ms  (p10 {v[len(v) // 10] * 1000:8.2f}, p90 {v[len(v) * 9 // 10] * 1000:8.2f}){ratio}")
PY
T() { /usr/bin/python3 "$work/t.py" "$1" "$docker" "cli $2" "${targets[@]}"; }
H() { /usr/bin/python3 "$work/t.py" "$1" "$docker" "http $2" "${targets[@]}"; }

echo "as $as ($(id -un)): $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg); $("$docker" --version | cut -d, -f1) client"
echo "  servers: $servers"
echo "docker version (the client's start and two requests: its floor), $n runs each, interleaved:"
T "$n" "version"
echo "docker run --rm busybox true, $n runs each, interleaved:"
T "$n" "run --rm busybox true"
echo "docker run --rm --network none busybox true, $n runs each, interleaved:"
T "$n" "run --rm --network none busybox true"

# 100 containers in each (created, never started), created interleaved
echo "docker create busybox true, $ncreate in each, interleaved:"
T "$((ncreate - 1))" "create busybox true"
echo "docker ps -a with $ncreate containers, $n runs each, interleaved:"
T "$n" "ps -a"
echo "docker ps (none running) with $ncreate containers, $n runs each, interleaved:"
T "$n" "ps"
echo "GET /v1.41/containers/json?all=1 (no client start-up), $((n * 4)) requests each, interleaved:"
H "$((n * 4))" "/v1.41/containers/json?all=1"
echo "GET /v1.41/containers/json (running only), $((n * 4)) requests each, interleaved:"
H "$((n * 4))" "/v1.41/containers/json"
echo "  load after: $(cut -d' ' -f1-3 /proc/loadavg)"
