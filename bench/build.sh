#!/bin/bash
# den build vs buildah bud, rootless, same Dockerfiles, base images already local in
# both stores: (a) a Debian-based multi-stage C build (gcc -static in the bookworm buildd
# root, the binary copied into busybox), (b) a COPY-heavy build (5000 small files).
# Each cold (every step rebuilt: --no-cache), cold with a file of new content (den cannot reuse
# an identical layer of its store; the COPY case only) and fully cached, rounds alternating the
# tools; one run prints medians, the ratios den/buildah and den's cached rebuild in ms.
# Targets (issue 13): cold at most 0.7x buildah, cached under 100 ms and at most 0.1x.
# Without `den build` in BUILD_DIR only buildah's half runs.  Not for CI.
# Usage: [BENCH_TMP=/dev/shm] bench/build.sh [BUILD_DIR] [ROUNDS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
rounds=${2:-5}
tarball=${DEN_BENCH_BUILDD:-/var/cache/den/bookworm-buildd.tar}
command -v buildah >/dev/null || { echo "build.sh: buildah is not installed (apt-get install buildah)" >&2; exit 1; }
# rootless is the point: started as root, run as the bench user
if [ "$(id -u)" = 0 ]; then
	[ -r "$tarball" ] || "$top/scripts/debian-root.sh" buildd >/dev/null
	user=${BENCH_USER:-dentest}
	id "$user" >/dev/null 2>&1 || useradd --create-home "$user"
	for f in /etc/subuid /etc/subgid; do
		grep -q "^$user:" "$f" 2>/dev/null || echo "$user:200000:65536" >> "$f"
	done
	copy=$(mktemp -d /tmp/den-benchbin.XXXXXX)
	cp "$build/den" "$0" "$copy/"
	[ -x "$build/den-keeper" ] && cp "$build/den-keeper" "$copy/"
	[ -x "$build/den-runtime" ] && cp "$build/den-runtime" "$copy/"
	chmod -R a+rX "$copy"
	rc=0
	runuser -u "$user" -- env -u XDG_RUNTIME_DIR HOME="/home/$user" DEN_BENCH_BUILDD="$tarball" BENCH_TMP="${BENCH_TMP:-/tmp}" \
		bash "$copy/build.sh" "$copy" "$rounds" || rc=$?
	rm -rf "$copy"
	exit $rc
fi
[ -r "$tarball" ] || { echo "build.sh: no Debian buildd root at $tarball (scripts/debian-root.sh buildd, as root)" >&2; exit 1; }

# BENCH_TMP=/dev/shm puts both stores on tmpfs (the root ext4 here slows down under many creates)
work=$(mktemp -d "${BENCH_TMP:-/tmp}/den-benchbuild.XXXXXX")
chmod 755 "$work"
mkdir -m 700 "$work/xdg"
export XDG_RUNTIME_DIR=$work/xdg
printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' > "$work/containers.conf"
export CONTAINERS_CONF=$work/containers.conf
# buildah wants a short run root
bhrun=$(mktemp -d /tmp/denbh.XXXXXX)
D="$build/den --root $work/den --runroot $work/denrun"
B="buildah --root $work/bh --runroot $bhrun --storage-driver overlay"
cleanup() {
	$B rm --all >/dev/null 2>&1 || true
	$B unshare rm -rf "$work/bh" >/dev/null 2>&1 || true
	unshare --map-auto --map-root-user rm -rf "$work" 2>/dev/null || rm -rf "$work"
	rm -rf "$bhrun"
}
trap cleanup EXIT

has_build=1
$D build --help >/dev/null 2>&1 || has_build=0

# the base images, each tool importing the same root filesystem its own way
mkdir -p "$work/bb/bin" "$work/bb/etc" "$work/bb/tmp" "$work/bb/proc" "$work/bb/sys" "$work/bb/dev"
cp /bin/busybox "$work/bb/bin/"
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$work/bb/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$work/bb/etc/passwd"
echo 'root:x:0:' > "$work/bb/etc/group"
tar -C "$work/bb" -cf "$work/bb.tar" .
bh_import() { # tarball name
	local c
	c=$($B from scratch)
	$B add "$c" "$1" / >/dev/null
	$B config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd /bin/sh "$c"
	$B commit -q "$c" "localhost/$2" >/dev/null
	$B rm "$c" >/dev/null
}
bh_import "$work/bb.tar" busybox
bh_import "$tarball" bookworm-buildd
$D import "$work/bb.tar" busybox >/dev/null
$D import "$tarball" bookworm-buildd >/dev/null

# (a) the multi-stage C build
mkdir -p "$work/ctx-c"
cat > "$work/ctx-c/hello.c" <<'C'
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		printf("%s%zu", i > 1 ? " " : "", strlen(argv[i]));
	puts("hello from a static binary");
	return 0;
}
C
cat > "$work/ctx-c/Dockerfile" <<'DF'
FROM bookworm-buildd AS build
WORKDIR /src
COPY hello.c .
RUN gcc -static -O2 -o hello hello.c
FROM busybox
COPY --from=build /src/hello /usr/local/bin/hello
CMD ["/usr/local/bin/hello"]
DF
# (b) 5000 small files
mkdir -p "$work/ctx-copy"
python3 - "$work/ctx-copy" <<'PY'
import os, sys
top = sys.argv[1]
for d in range(50):
    os.makedirs(f"{top}/files/d{d:02}")
    for f in range(100):
        with open(f"{top}/files/d{d:02}/f{f:03}.txt", "w") as fh:
            fh.write(f"file {d} {f}\n" * (1 + f % 7))
PY
printf 'FROM busybox\nCOPY files/ /data/\nCMD ["ls", "/data"]\n' > "$work/ctx-copy/Dockerfile"

# every command once, checked, before anything is timed (this also fills both caches)
for ctx in c copy; do
	[ $has_build = 1 ] && { $D build -q -t "bench-$ctx" "$work/ctx-$ctx" >/dev/null || { echo "den build of ctx-$ctx failed" >&2; exit 1; }; }
	$B bud -q --layers -t "bench-$ctx" "$work/ctx-$ctx" >/dev/null || { echo "buildah bud of ctx-$ctx failed" >&2; exit 1; }
done
[ $has_build = 1 ] && [ "$($D run --rm bench-c)" != "hello from a static binary" ] && { echo "den's image does not run" >&2; exit 1; }

cat > "$work/t.py" <<'PY'
import statistics, subprocess, sys, time
# t.py ROUNDS TITLE NAME|CMD ...: rounds alternating the commands, each checked; medians in ms
n, title, cmds = int(sys.argv[1]), sys.argv[2], [c.split("|", 1) for c in sys.argv[3:]]
times = {name: [] for name, _ in cmds}
for i in range(n):
    for name, cmd in cmds:
        t = time.perf_counter()
        p = subprocess.run(cmd, shell=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        times[name].append(time.perf_counter() - t)
        if p.returncode != 0:
            sys.exit(f"{name}: exit {p.returncode}: {p.stderr.decode(errors='replace')[-2000:]}")
for name, _ in cmds:
    print(f"{title}\t{name}\t{statistics.median(times[name]) * 1000:.1f}")
PY
res=$work/results
: > "$res"
for ctx in c copy; do
	set -- "den cold|$D build -q --no-cache -t bench-$ctx $work/ctx-$ctx" \
		"buildah cold|$B bud -q --layers --no-cache -t bench-$ctx $work/ctx-$ctx" \
		"buildah cold, no --layers|$B bud -q --no-cache -t bench-$ctx-nl $work/ctx-$ctx" \
		"den cached|$D build -q -t bench-$ctx $work/ctx-$ctx" \
		"buildah cached|$B bud -q --layers -t bench-$ctx $work/ctx-$ctx"
	# the same with a file of new content each time: no identical layer is in the store to reuse
	stamp="date +%s%N > $work/ctx-$ctx/files/stamp &&"
	[ "$ctx" = copy ] && set -- "$@" "den cold, new content|$stamp $D build -q --no-cache -t bench-$ctx $work/ctx-$ctx" \
		"buildah cold, new content|$stamp $B bud -q --layers --no-cache -t bench-$ctx $work/ctx-$ctx"
	[ $has_build = 1 ] || set -- "$2" "$3" "$5"
	python3 "$work/t.py" "$rounds" "$ctx" "$@" >> "$res"
	# the cold rounds leave unreferenced layers behind in both stores: drop them between workloads
	$B rmi --prune >/dev/null 2>&1 || true
	$D image prune >/dev/null 2>&1 || true
done

echo "rootless, as $(id -un); machine: $(nproc) cores, $(uname -r); $(buildah --version | cut -d' ' -f1-3)"
echo "median of $rounds rounds, tools alternating; cold = --no-cache (every step rebuilt), base images already local"
python3 - "$res" "$has_build" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
m = {(c, n): float(v) for c, n, v in rows}
has_den = sys.argv[2] == "1"
titles = {"c": "(a) Debian multi-stage C build (gcc -static in bookworm buildd, into busybox)",
          "copy": "(b) COPY of 5000 small files into busybox"}
for c in ("c", "copy"):
    print(titles[c])
    for n in ("den cold", "buildah cold", "buildah cold, no --layers", "den cold, new content",
              "buildah cold, new content", "den cached", "buildah cached"):
        if (c, n) not in m:
            continue
        extra = ""
        if has_den and n.startswith("buildah"):
            den = m[(c, "den cold, new content" if "new content" in n else "den cold" if "cold" in n else "den cached")]
            target = {"buildah cold": " (target <= 0.70)", "buildah cold, new content": " (target <= 0.70)",
                      "buildah cached": " (target <= 0.10)"}.get(n, "")
            extra = f"   den/buildah = {den / m[(c, n)]:.2f}{target}"
        print(f"  {n:28s} median {m[(c, n)]:9.1f} ms{extra}")
if has_den:
    print("den's fully cached rebuild: " + ", ".join(f"{m[(c, 'den cached')]:.1f} ms ({c})" for c in ("c", "copy"))
          + "   (target < 100 ms)")
else:
    print("den build is not in this build: buildah's half only")
PY
