#!/bin/bash
# Runs each libFuzzer target for a bounded time from its seed corpus
# (tests/fuzz/corpus-NAME, never changed: what a run finds goes to a scratch
# corpus).  Fails when a target crashes, leaks, or stalls on one input: the
# input stays in BUILD/fuzz-artifacts/NAME/, and its bytes, the report and the
# command that reproduces it are printed.
#   usage: tests/fuzz/run.sh BUILD SECONDS NAME...
set -uo pipefail
build=$1 secs=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
failed=()
summary=()
for t in "$@"; do
	art="$build/fuzz-artifacts/$t"
	log="$build/fuzz-logs/$t.log"
	scratch=$(mktemp -d)
	rm -rf "$art"
	mkdir -p "$art" "$(dirname "$log")"
	start=$(date +%s)
	"$build/fuzz-$t" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$art/" "$scratch" "$src/corpus-$t" >"$log" 2>&1
	rc=$?
	rm -rf "$scratch"
	cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1)
	execs=$(grep -Eo 'number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$')
	summary+=("fuzz-$t: ${cov:-cov: ?} after $(($(date +%s) - start)) s, ${execs:-?} inputs")
	if [ $rc != 0 ]; then
		failed+=("$t")
		echo "=== fuzz-$t failed (exit $rc); its report:"
		grep -E -A40 '^==[0-9]+==|^SUMMARY|deadly signal|ERROR: libFuzzer' "$log" | head -80
		for f in "$art"/*; do
			[ -f "$f" ] || continue
			echo "--- input $f ($(stat -c %s "$f") bytes):"
			od -A d -c "$f" | head -40
			echo "--- reproduce: $build/fuzz-$t $f"
		done
	fi
done
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} != 0 ]; then
	echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}"
	exit 1
fi
echo "fuzz: $# targets, no crash"
