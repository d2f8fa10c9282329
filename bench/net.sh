#!/bin/bash
# Throughput of 1 GiB through a published port, and connection setup latency:
# den vs podman on the same helper, slirp4netns (podman forwards ports with its
# default handler, rootlessport; this podman, 4.3, has no pasta), and den with
# pasta.  One run, medians.  Usage: bench/net.sh [BUILD_DIR] [ROUNDS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
rounds=${2:-3}
if [ "$(id -u)" = 0 ]; then
	# rootless is the point; the helpers need /dev/net/tun (0600 on some hosts: opened for the run)
	user=${BENCH_USER:-dentest}
	id "$user" >/dev/null 2>&1 || useradd --create-home "$user"
	tun=$(stat -c %a /dev/net/tun)
	chmod 0666 /dev/net/tun
	copy=$(mktemp -d /tmp/den-benchbin.XXXXXX)
	cp "$build/den" "$build/denprobe" "$0" "$copy/"
	[ -x "$build/den-keeper" ] && cp "$build/den-keeper" "$copy/"
	chmod -R a+rX "$copy"
	runuser -u "$user" -- env -u XDG_RUNTIME_DIR HOME="/home/$user" bash "$copy/net.sh" "$copy" "$rounds"
	rc=$?
	chmod "$tun" /dev/net/tun
	rm -rf "$copy"
	exit $rc
fi
work=$(mktemp -d /tmp/den-benchnet.XXXXXX)
chmod 755 "$work"
mkdir -m 700 "$work/xdg"
export XDG_RUNTIME_DIR=$work/xdg
printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' > "$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
D="$build/den --root $work/den --runroot $work/denrun"
P="podman --root $work/pm --runroot $work/pmr"
cleanup() {
	$D rm -f $($D ps -a -q 2>/dev/null) >/dev/null 2>&1 || true
	$P rm -af -t 0 >/dev/null 2>&1 || true
	$P unshare rm -rf "$work/pm" "$work/den" >/dev/null 2>&1 || true
	kill "$(cat "$work/xdg/libpod/tmp/pause.pid" 2>/dev/null)" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/proc" "$work/rootfs/sys" "$work/rootfs/dev" "$work/rootfs/tmp"
cp /bin/busybox "$build/denprobe" "$work/rootfs/bin/"
for c in sh nc cat true sleep; do ln -s busybox "$work/rootfs/bin/$c"; done
tar -C "$work/rootfs" -cf "$work/bb.tar" .
$D import "$work/bb.tar" bb >/dev/null
$P import -q "$work/bb.tar" localhost/bb >/dev/null

cat > "$work/client.py" <<'PY'
import socket, statistics, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
def connect():
    end = time.time() + 10
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=30)
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.05)
if mode == "bulk":
    # 1 GiB into `nc -l > /dev/null`; done when the server has read it all and closed
    buf = b"\0" * (1 << 20)
    s = connect()
    t0 = time.perf_counter()
    for _ in range(1024):
        s.sendall(buf)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)
    dt = time.perf_counter() - t0
    print(f"{1024 / dt:.0f}")
else:
    # connect until the greeting arrives, 200 times
    connect().close()
    times = []
    for _ in range(200):
        t0 = time.perf_counter()
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.recv(16)
        times.append(time.perf_counter() - t0)
        s.close()
    print(f"{statistics.median(times) * 1e6:.0f}")
PY
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
measure() { # engine network -> "MB/s latency_us"
	local eng=$1 net=$2 bulk=() lat=() id
	for _ in $(seq "$rounds"); do
		if [ "$eng" = den ]; then
			id=$($D run -d --network "$net" -p 127.0.0.1:$port:5001 bb sh -c "nc -l -p 5001 >/dev/null")
			bulk+=("$(python3 "$work/client.py" bulk $port)")
			$D rm -f "$id" >/dev/null
		else
			id=$($P run -d --network "$net" -p 127.0.0.1:$port:5001 localhost/bb sh -c "nc -l -p 5001 >/dev/null")
			bulk+=("$(python3 "$work/client.py" bulk $port)")
			$P rm -f -t 0 "$id" >/dev/null
		fi
	done
	if [ "$eng" = den ]; then
		id=$($D run -d --network "$net" -p 127.0.0.1:$port:5002 bb denprobe tcp-serve 5002 hi)
		lat=$(python3 "$work/client.py" lat $port)
		$D rm -f "$id" >/dev/null
	else
		id=$($P run -d --network "$net" -p 127.0.0.1:$port:5002 localhost/bb denprobe tcp-serve 5002 hi)
		lat=$(python3 "$work/client.py" lat $port)
		$P rm -f -t 0 "$id" >/dev/null
	fi
	echo "$(median "${bulk[@]}") $lat"
}
echo "1 GiB through a published port (MB/s, median of $rounds) and connect-to-first-byte latency (us, median of 200), rootless"
printf '  %-44s %9s %9s\n' "" "MB/s" "latency"
declare -A res
for row in "den slirp4netns" "podman slirp4netns" "den pasta"; do
	set -- $row
	command -v "${2%%:*}" >/dev/null || continue
	r=$(measure "$1" "$2" 2>/dev/null) || { printf '  %-44s failed\n' "$1 --network $2"; continue; }
	res[$row]=$r
	printf '  %-44s %9s %7s us\n' "$1 --network $2" ${r% *} ${r#* }
done
d=${res["den slirp4netns"]:-}; p=${res["podman slirp4netns"]:-}
if [ -n "$d" ] && [ -n "$p" ]; then
	printf '  den/podman on slirp4netns: throughput %.2fx, latency %.2fx\n' \
		"$(echo "${d% *} / ${p% *}" | bc -l)" "$(echo "${d#* } / ${p#* }" | bc -l)"
fi
