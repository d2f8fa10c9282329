#!/bin/bash
# Runs the integration suite three times: as root, as an unprivileged user with
# sub-ids (/etc/subuid, /etc/subgid) and as one without.  Started as a normal
# user it runs once, as that user.  Usage: run-integration.sh BUILD_DIR [pytest args]
# (meson runs it once per test file: `meson test -C build test_store`).
# Each pass prints one line (its counts and time); pytest's verbose report, with
# the slowest tests, goes to BUILD_DIR/meson-logs/integration-PASS[-FILE].log
# (or $DEN_ITEST_LOGS), printed here only when the pass fails.
set -u
build=$(cd "${1:?usage: run-integration.sh BUILD_DIR}" && pwd)
shift
src=$(cd "$(dirname "$0")" && pwd)
logs=${DEN_ITEST_LOGS:-$build/meson-logs}
mkdir -p "$logs"
# the log's name: the test file(s) named, if any
part=""
for a in "$@"; do
	case $a in test_*.py) part="$part-$(basename "$a" .py)" ;; esac
done

# a copy every test user can read, wherever the checkout lives
work=$(mktemp -d /tmp/den-itest.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
mkdir "$work/bin"
cp "$build/den-runtime" "$build/den" "$build/denprobe" "$work/bin/"
[ -x "$build/den-unschroot" ] && cp "$build/den-unschroot" "$work/bin/"
cp "$src/../scripts/autopkgtest-virt-den" "$work/bin/"
# the static keeper, where the build has one (sanitizer builds use the fork of den)
[ -x "$build/den-keeper" ] && cp "$build/den-keeper" "$work/bin/"
cp -r "$src/integration" "$work/tests"
# the slow tier reads den-unschroot(1)'s ~/.sbuildrc lines from the page itself
mkdir "$work/docs"
cp "$src/../docs/den-unschroot.1" "$work/docs/"
chmod -R a+rX "$work"

run_as() { # user, label
	local user=$1 label=$2 tmp log rc start
	shift 2
	tmp=$(mktemp -d /tmp/den-itest-$label.XXXXXX)
	chown "$user" "$tmp"
	chmod 755 "$tmp"
	log="$logs/integration-$label$part.log"
	start=$(date +%s)
	# -v: one line per test in the log; --durations: the slowest ten at its end
	set -- -p no:cacheprovider -v -rfEs --durations=10 --basetemp="$tmp/t" "$@"
	if [ "$user" = root ]; then
		(cd "$work/tests" && DEN_BUILD="$work/bin" DEN_SRC="$(cd "$src/.." && pwd)" /usr/bin/python3 -m pytest "$@") >"$log" 2>&1
	else
		# no XDG_RUNTIME_DIR: den-runtime must fall back on its own
		runuser -u "$user" -- env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="/home/$user" \
			DEN_BUILD="$work/bin" DEN_SRC="$(cd "$src/.." && pwd)" ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" DEN_STRESS="${DEN_STRESS:-}" \
			bash -c "cd '$work/tests' && /usr/bin/python3 -m pytest $(printf '%q ' "$@")" >"$log" 2>&1
	fi
	rc=$?
	rm -rf "$tmp"
	# pytest's closing line, "=== 25 passed, 1 skipped in 3.21s ===", without its rules
	printf '%-18s %s  (%ss; %s)\n' "$label:" \
		"$(tail -n 1 "$log" | sed 's/^=* *//; s/ *=*$//')" "$(($(date +%s) - start))" "$log"
	if [ $rc != 0 ]; then
		# the failures and the short summary (the whole log when pytest did not get
		# that far), without the closing line: its counts are in the line above
		# (.ci/run adds up the "N passed" of every pass)
		if grep -q '^=* \(FAILURES\|ERRORS\) =*$' "$log"; then
			sed -n '/^=* \(FAILURES\|ERRORS\) =*$/,$p' "$log" | sed '$d'
		else
			sed '$d' "$log"
		fi
	fi
	return $rc
}

if [ "$(id -u)" != 0 ]; then
	run_as "$(id -un)" "$(id -un)" "$@"
	exit $?
fi

# the test users: one with sub-ids, one without
for u in dentest dentest-nosub; do
	id "$u" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$u"
done
# sbuild's schroot mode wants its users in group sbuild (sbuild-adduser)
if getent group sbuild >/dev/null; then
	for u in dentest dentest-nosub; do usermod -aG sbuild "$u"; done
fi
for f in /etc/subuid /etc/subgid; do
	grep -q '^dentest:' "$f" 2>/dev/null || echo "dentest:200000:65536" >> "$f"
	sed -i '/^dentest-nosub:/d' "$f"
done

# /dev/fuse and /dev/net/tun (pasta and slirp4netns need it) are 0600 on some
# hosts: the user with sub-ids gets them through an ACL entry of its own, the
# one without sees them closed, so both of den's answers are tested.  No mode
# is changed, so runs side by side (and other users) never see them flip.
devs=""
for d in /dev/fuse /dev/net/tun; do
	[ -e "$d" ] && ! runuser -u dentest -- test -r "$d" -a -w "$d" && devs="$devs $d"
done
if [ -n "$devs" ]; then
	command -v setfacl >/dev/null || { echo "run-integration.sh: setfacl is missing (package acl)" >&2; exit 1; }
	# left in place at the end: another run side by side may be in its rootless pass, and the entry names
	# only the harness's own test user (devtmpfs forgets it at the next boot)
	setfacl -m u:dentest:rw $devs
fi
rc=0
run_as root root "$@" || rc=1
run_as dentest rootless "$@" || rc=1
run_as dentest-nosub rootless-nosubids "$@" || rc=1
exit $rc
