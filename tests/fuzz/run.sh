#!/bin/bash
# tests/fuzz/run.sh - `make fuzz`: runs each libFuzzer harness of BUILD (built with -Dfuzz=true)
# for SECONDS over a working copy of its corpus (BUILD/fuzz-corpus/NAME, seeded from
# tests/fuzz/corpus/NAME and tests/fuzz/regress/NAME, so the tree is never written to), and
# prints one line per harness: runs, exec/s, coverage. A crash, leak or broken invariant leaves
# the input in BUILD/fuzz-crashes/NAME/ and makes the run fail; copy it to
# tests/fuzz/regress/NAME/ once the bug is fixed.
#   usage: run.sh BUILD SECONDS [NAME...]
# FUZZ_FLAGS adds libFuzzer options, e.g. FUZZ_FLAGS=-use_value_profile=1 (guides numbers
# towards the bounds the decoders compare them with) or FUZZ_FLAGS=-jobs=2.
set -u
cd "$(dirname "$0")/../.."
build=$1
seconds=$2
shift 2
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(repmsg state config member)
failed=()
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
for n in "${names[@]}"; do
	work=$build/fuzz-corpus/$n
	crashes=$build/fuzz-crashes/$n
	log=$build/fuzz-$n.log
	mkdir -p "$work" "$crashes"
	dict=()
	[ -f "tests/fuzz/$n.dict" ] && dict=(-dict="tests/fuzz/$n.dict")
	echo "fuzz $n: ${seconds}s (log $log)"
	# shellcheck disable=SC2086
	nice "$build/fuzz_$n" ${FUZZ_FLAGS:-} -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$crashes/" "${dict[@]}" \
		"$work" "tests/fuzz/corpus/$n" "tests/fuzz/regress/$n" >"$log" 2>&1
	rc=$?
	runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
	speed=$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{print $2}')
	cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+')
	echo "fuzz $n: exit $rc, ${runs:-?} runs, ${speed:-?} exec/s, ${cov:-?}, corpus $(ls "$work" | wc -l) files"
	if [ $rc -ne 0 ]; then
		grep -E 'ERROR|invariant broken|SUMMARY|Test unit written' "$log" | head -5
		failed+=("$n")
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: failed: ${failed[*]} (inputs in $build/fuzz-crashes/)"
	exit 1
fi
echo "fuzz: ${#names[@]} harnesses ran ${seconds}s each without a crash"
