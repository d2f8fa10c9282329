#!/bin/bash
# den pull vs podman pull vs skopeo copy + umoci unpack: a Debian bookworm image
# (mmdebstrap minbase, gzip layer) from a local docker-registry into a cold store.
# One run, N rounds alternating the tools, medians and ratios.
# Usage: bench/pull.sh [BUILD_DIR] [N]   (BENCH_TMP=/dev/shm to work on tmpfs)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
n=${2:-5}
if [ "$(id -u)" = 0 ]; then
	# rootless is the point: started as root, run as the bench user
	user=${BENCH_USER:-dentest}
	id "$user" >/dev/null 2>&1 || useradd --create-home "$user"
	copy=$(mktemp -d /tmp/den-benchbin.XXXXXX)
	cp "$build/den" "$0" "$copy/"
	[ -x "$build/den-keeper" ] && cp "$build/den-keeper" "$copy/"
	chmod -R a+rX "$copy"
	runuser -u "$user" -- env -u XDG_RUNTIME_DIR HOME="/home/$user" BENCH_TMP="${BENCH_TMP:-/tmp}" \
		DEN_BENCH_DEBIAN="${DEN_BENCH_DEBIAN:-}" bash "$copy/pull.sh" "$copy" "$n"
	rc=$?
	rm -rf "$copy"
	exit $rc
fi
for t in docker-registry podman skopeo umoci; do
	command -v $t >/dev/null || { echo "pull.sh: $t is not installed" >&2; exit 1; }
done
deb=${DEN_BENCH_DEBIAN:-/var/cache/den-bench/bookworm-minbase.tar}
[ -r "$deb" ] || { echo "pull.sh: no Debian root tarball at $deb (make one with bench/debian.sh)" >&2; exit 1; }
work=$(mktemp -d "${BENCH_TMP:-/tmp}/den-benchpull.XXXXXX")
chmod 755 "$work"
mkdir -m 700 "$work/xdg"
export XDG_RUNTIME_DIR=$work/xdg
printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' > "$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
P="podman --root $work/pm --runroot $work/pmr"
cleanup() {
	[ -n "${regpid:-}" ] && kill "$regpid" 2>/dev/null
	$P unshare rm -rf "$work/pm" "$work/den" >/dev/null 2>&1 || true
	kill "$(cat "$work/xdg/libpod/tmp/pause.pid" 2>/dev/null)" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/reg.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/regdata
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$work/reg.yml" >"$work/reg.log" 2>&1 &
regpid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.05; done
ref=127.0.0.1:$port/bench/bookworm:1
D="$build/den --root $work/den --runroot $work/denrun"
$D import "$deb" bookworm >/dev/null
$D save --format oci-dir -o "$work/layout" bookworm
# registries serve gzip layers: push compressed, as a real image is
skopeo copy -q --dest-tls-verify=false --dest-compress --dest-compress-format gzip "oci:$work/layout" "docker://$ref"
$P unshare rm -rf "$work/den"

now() { date +%s.%N; }
declare -a tden tpm tsk
round() { # tool
	local t0 t1
	case $1 in
	den)
		$P unshare rm -rf "$work/den"
		t0=$(now); $D pull -q --tls-verify=false "$ref" >/dev/null; t1=$(now)
		tden+=("$(echo "$t1 - $t0" | bc)") ;;
	podman)
		$P unshare rm -rf "$work/pm"
		t0=$(now); $P pull -q --tls-verify=false "$ref" >/dev/null; t1=$(now)
		tpm+=("$(echo "$t1 - $t0" | bc)") ;;
	skopeo)
		rm -rf "$work/oci" "$work/bundle"
		t0=$(now)
		skopeo copy -q --src-tls-verify=false "docker://$ref" "oci:$work/oci:1"
		umoci unpack --rootless --image "$work/oci:1" "$work/bundle" >/dev/null
		t1=$(now)
		tsk+=("$(echo "$t1 - $t0" | bc)") ;;
	esac
}
for i in $(seq "$n"); do
	# alternate the order: the disk slows down under repeated create/delete
	if [ $((i % 2)) = 1 ]; then order="den podman skopeo"; else order="skopeo podman den"; fi
	for t in $order; do round $t; done
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
md=$(median "${tden[@]}"); mp=$(median "${tpm[@]}"); ms=$(median "${tsk[@]}")
size=$(du -sh "$work/regdata" | cut -f1)
echo "pull of Debian bookworm minbase ($size in the registry, gzip), cold store, $n rounds, work dir on $(df --output=fstype "$work" | tail -1)"
printf '  den pull                     %6.2f s\n' "$md"
printf '  podman pull                  %6.2f s   (den is %.1fx faster)\n' "$mp" "$(echo "$mp / $md" | bc -l)"
printf '  skopeo copy + umoci unpack   %6.2f s   (den is %.1fx faster)\n' "$ms" "$(echo "$ms / $md" | bc -l)"
