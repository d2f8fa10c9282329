#!/bin/sh
# Installs what den needs to build, run and test on Debian 12. Run as root.
#   scripts/install-deps.sh [--check]
# --check (any user): lists what is missing, exits 1 when something is.
# When another apt or dpkg holds the lock (unattended-upgrades), waits for it.
set -eu
export DEBIAN_FRONTEND=noninteractive
PKGS="meson ninja-build pkg-config gcc make libjansson-dev libseccomp-dev libcmocka-dev libarchive-dev libssl-dev libcurl4-openssl-dev libmicrohttpd-dev zstd
      python3 python3-pytest busybox-static uidmap iproute2 procps util-linux acl
      clang libclang-rt-14-dev"
# clang and libclang-rt-14-dev (libFuzzer and the sanitizer runtimes, only a Recommends
# of clang, so named) build the fuzz targets of `make fuzz-ci`
# real callers and peers of den-runtime, for tests and benchmarks
PEERS="crun runc podman containerd fuse-overlayfs slirp4netns passt containernetworking-plugins
      docker-registry apache2-utils openssl skopeo umoci
      sbuild schroot autopkgtest mmdebstrap dpkg-dev tini docker.io python3-docker docker-compose buildah git"
missing=""
for p in $PKGS $PEERS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ "${1:-}" = --check ]; then
	[ -z "$missing" ] && exit 0
	echo "install-deps.sh: missing:$missing" >&2
	exit 1
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: run as root (it uses apt-get) to install:$missing" >&2
	exit 1
fi
# up to 10 minutes for the lock another apt, dpkg or unattended-upgrades holds
lock="-o DPkg::Lock::Timeout=600"
apt-get $lock update -qq
apt-get $lock install -y -qq --no-install-recommends $missing
# the postinsts of docker.io and containerd start their daemons where an init system lets
# them: tests start daemons of their own, and CI must not keep a root daemon running
for p in docker.io containerd; do
	case " $missing " in *" $p "*) ;; *) continue ;; esac
	if [ -d /run/systemd/system ]; then
		for u in "${p%.io}.socket" "${p%.io}.service"; do # containerd has no socket unit
			systemctl disable --now "$u" >/dev/null 2>&1 || true
		done
	fi
	if [ -x "/etc/init.d/${p%.io}" ]; then
		"/etc/init.d/${p%.io}" stop >/dev/null 2>&1 || true
		update-rc.d "${p%.io}" disable >/dev/null 2>&1 || true
	fi
done
