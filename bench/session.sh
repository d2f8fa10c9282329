#!/bin/bash
# den session begin on a Debian buildd image vs unpacking the same tarball in a
# user namespace (what sbuild's unshare mode does before every build), and the
# whole sbuild of a small package through den-unschroot vs sbuild --chroot-mode=unshare.
# One run, rounds alternating the tools, medians.  Needs the archive (apt's mirror).
# Usage: bench/session.sh [BUILD_DIR] [ROUNDS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
rounds=${2:-5}
tarball=${DEN_BENCH_BUILDD:-/var/cache/den/bookworm-buildd.tar}
if [ "$(id -u)" = 0 ]; then
	[ -r "$tarball" ] || "$top/scripts/debian-root.sh" buildd >/dev/null
	user=${BENCH_USER:-dentest}
	id "$user" >/dev/null 2>&1 || useradd --create-home "$user"
	getent group sbuild >/dev/null && usermod -aG sbuild "$user"
	copy=$(mktemp -d /tmp/den-benchbin.XXXXXX)
	cp "$build/den" "$build/den-unschroot" "$0" "$copy/"
	[ -x "$build/den-keeper" ] && cp "$build/den-keeper" "$copy/"
	chmod -R a+rX "$copy"
	runuser -u "$user" -- env -u XDG_RUNTIME_DIR HOME="/home/$user" DEN_BENCH_BUILDD="$tarball" \
		bash "$copy/session.sh" "$copy" "$rounds"
	rc=$?
	rm -rf "$copy"
	exit $rc
fi
work=$(mktemp -d /tmp/den-benchsession.XXXXXX)
export DEN_ROOT=$work/den DEN_RUNROOT=$work/run
cleanup() {
	for s in $("$build/den" session list 2>/dev/null | awk 'NR>1 {print $1}'); do "$build/den" session end "$s"; done
	unshare --map-auto --map-root-user rm -rf "$work" 2>/dev/null || rm -rf "$work"
}
trap cleanup EXIT
now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
"$build/den" import "$tarball" sbuild/bookworm-amd64 >/dev/null

declare -a tbegin tend tunpack
for i in $(seq "$rounds"); do
	for what in den unpack; do
		if [ "$what" = den ]; then
			t0=$(now); s=$("$build/den" session begin sbuild/bookworm-amd64); t1=$(now)
			"$build/den" session end "$s"; t2=$(now)
			tbegin+=("$(echo "$t1 - $t0" | bc)"); tend+=("$(echo "$t2 - $t1" | bc)")
		else
			d=$work/unpack$i
			mkdir "$d"
			t0=$(now)
			unshare --map-auto --map-root-user tar -C "$d" --exclude='./dev/*' -xf "$tarball"
			t1=$(now)
			tunpack+=("$(echo "$t1 - $t0" | bc)")
			unshare --map-auto --map-root-user rm -rf "$d"
		fi
	done
done
b=$(median "${tbegin[@]}"); e=$(median "${tend[@]}"); u=$(median "${tunpack[@]}")
echo "Debian bookworm buildd ($(du -h "$tarball" | cut -f1) tarball), rootless, median of $rounds"
printf '  den session begin                 %8.1f ms   (end: %.1f ms)\n' "$(echo "$b * 1000" | bc)" "$(echo "$e * 1000" | bc)"
printf '  unpack in a user namespace        %8.1f ms   (den is %.0fx faster)\n' "$(echo "$u * 1000" | bc)" "$(echo "$u / $b" | bc -l)"

# the whole build: a C hello with debhelper, dependencies from the archive
command -v sbuild >/dev/null || { echo "sbuild is not installed: no build comparison"; exit 0; }
src=$work/src/hello-den
mkdir -p "$src/debian/source"
printf '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n' > "$src/hello.c"
printf 'all: hello\nhello: hello.c\n\t$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $<\ninstall:\n\tinstall -D -m 755 hello $(DESTDIR)/usr/bin/hello-den\nclean:\n\trm -f hello\n' > "$src/Makefile"
printf 'Source: hello-den\nSection: devel\nPriority: optional\nMaintainer: den <den@example.org>\nBuild-Depends: debhelper-compat (= 13)\nStandards-Version: 4.6.2\nRules-Requires-Root: no\n\nPackage: hello-den\nArchitecture: any\nDepends: ${shlibs:Depends}, ${misc:Depends}\nDescription: bench\n bench\n' > "$src/debian/control"
printf '#!/usr/bin/make -f\n%%:\n\tdh $@\n' > "$src/debian/rules"; chmod +x "$src/debian/rules"
printf 'hello-den (1.0) unstable; urgency=medium\n\n  * b\n\n -- den <den@example.org>  Mon, 23 Nov 2026 12:00:00 +0000\n' > "$src/debian/changelog"
echo '3.0 (native)' > "$src/debian/source/format"
(cd "$work/src" && dpkg-source -b hello-den >/dev/null)
dsc=$work/src/hello-den_1.0.dsc
mkdir -p "$work/bin" "$work/out" "$work/cache/sbuild"
ln -s "$build/den-unschroot" "$work/bin/schroot"
ln -s "$tarball" "$work/cache/sbuild/bookworm-amd64.tar"
path="$work/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
cat > "$work/sbuildrc" <<RC
\$path = '$path';
use Dpkg::BuildInfo;
\$environment_filter = [ (map { "^\$_\\\$" } Dpkg::BuildInfo::get_build_env_allowed()), '^PATH\$', '^DEN_(ROOT|RUNROOT)\$' ];
\$build_dir = '$work/out';
\$run_lintian = 0; \$run_piuparts = 0; \$run_autopkgtest = 0; \$apt_update = 1;
1;
RC
declare -a tden tunshare
for i in $(seq "$rounds"); do
	for mode in den unshare; do
		t0=$(now)
		if [ "$mode" = den ]; then
			SBUILD_CONFIG=$work/sbuildrc PATH=$path sbuild --chroot-mode=schroot -d bookworm -c bookworm-amd64-sbuild \
				--no-source --arch-all "$dsc" >/dev/null 2>&1 || { echo "sbuild through den failed"; exit 1; }
		else
			SBUILD_CONFIG=$work/sbuildrc XDG_CACHE_HOME=$work/cache sbuild --chroot-mode=unshare -d bookworm \
				-c bookworm-amd64 --no-source --arch-all "$dsc" >/dev/null 2>&1 || { echo "sbuild --chroot-mode=unshare failed"; exit 1; }
		fi
		t1=$(now)
		[ "$mode" = den ] && tden+=("$(echo "$t1 - $t0" | bc)") || tunshare+=("$(echo "$t1 - $t0" | bc)")
	done
done
d=$(median "${tden[@]}"); s=$(median "${tunshare[@]}")
echo "sbuild of a debhelper hello (apt update, build-deps from the archive), median of $rounds"
printf '  sbuild through den-unschroot      %8.2f s\n' "$d"
printf '  sbuild --chroot-mode=unshare      %8.2f s   (den is %.2fx faster)\n' "$s" "$(echo "$s / $d" | bc -l)"
