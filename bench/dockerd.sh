#!/bin/bash
# A private dockerd (Debian's docker.io) for benchmarks, as root: its data root, exec root,
# socket, pid file and containerd all under DIR; no bridge, no iptables, no ip_forward
# change; den-runtime added as the runtime "den"; a busybox image "den-bench:1" imported.
#   bench/dockerd.sh start DIR DEN_RUNTIME   prints the socket (for docker -H unix://...)
#   bench/dockerd.sh stop DIR                stops it all, unmounts and removes DIR
set -eu
docker=/usr/bin/docker # 20.10 from docker.io, not a newer CLI in /usr/local/bin
cmd=${1:?usage: dockerd.sh start DIR DEN_RUNTIME | stop DIR}
dir=${2:?usage: dockerd.sh start DIR DEN_RUNTIME | stop DIR}

stop_pid() { # pidfile
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
}

case $cmd in
start)
	rt=$(realpath "${3:?usage: dockerd.sh start DIR DEN_RUNTIME}")
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	# runc and crun on hybrid cgroups want every v1 controller; some hosts leave hugetlb out
	if [ -d /sys/fs/cgroup/unified ] && ! mountpoint -q /sys/fs/cgroup/hugetlb; then
		mkdir -p /sys/fs/cgroup/hugetlb && mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb || true
	fi
	cat > "$dir/containerd.toml" <<-EOF
	version = 2
	root = "$dir/containerd"
	state = "$dir/containerd-state"
	disabled_plugins = ["io.containerd.grpc.v1.cri"]
	[grpc]
	  address = "$dir/containerd.sock"
	[ttrpc]
	  address = "$dir/containerd.sock.ttrpc"
	[debug]
	  address = ""
	[metrics]
	  address = ""
	EOF
	setsid containerd --config "$dir/containerd.toml" >"$dir/containerd.log" 2>&1 &
	echo $! >"$dir/containerd.pid"
	for _ in $(seq 200); do [ -S "$dir/containerd.sock" ] && break; sleep 0.05; done
	# a system containerd's socket would otherwise be picked up by dockerd 20.10
	setsid dockerd --containerd "$dir/containerd.sock" --data-root "$dir/data" --exec-root "$dir/exec" \
		-H "unix://$dir/docker.sock" --pidfile "$dir/docker.pid" --iptables=false --ip-forward=false \
		--ip-masq=false --bridge=none --add-runtime "den=$rt" >"$dir/dockerd.log" 2>&1 &
	for _ in $(seq 300); do
		"$docker" -H "unix://$dir/docker.sock" version >/dev/null 2>&1 && break
		sleep 0.1
	done
	mkdir -p "$dir/rootfs/bin" "$dir/rootfs/etc" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev" "$dir/rootfs/tmp"
	cp /bin/busybox "$dir/rootfs/bin/busybox"
	ln -sf busybox "$dir/rootfs/bin/true"
	ln -sf busybox "$dir/rootfs/bin/sh"
	echo "root:x:0:0:root:/:/bin/sh" >"$dir/rootfs/etc/passwd"
	tar -C "$dir/rootfs" --owner=0 --group=0 -cf - . | "$docker" -H "unix://$dir/docker.sock" import - den-bench:1 >/dev/null
	echo "$dir/docker.sock"
	;;
stop)
	[ -d "$dir" ] || exit 0
	dir=$(cd "$dir" && pwd)
	"$docker" -H "unix://$dir/docker.sock" ps -aq 2>/dev/null | xargs -r "$docker" -H "unix://$dir/docker.sock" rm -f >/dev/null 2>&1 || true
	stop_pid "$dir/docker.pid"
	stop_pid "$dir/containerd.pid"
	# shims left by a dockerd that did not stop its containers name DIR on their command line
	for p in /proc/[0-9]*; do
		case $(cat "$p/comm" 2>/dev/null) in containerd-shim*) ;; *) continue ;; esac
		grep -qsF "$dir" "$p/cmdline" && kill -9 "${p#/proc/}" 2>/dev/null || true
	done
	grep -F " $dir" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$dir"
	;;
*)
	echo "dockerd.sh: unknown command '$cmd'" >&2
	exit 1
	;;
esac
