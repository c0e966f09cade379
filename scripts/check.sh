#!/bin/bash
# Runs every test of vigil and ends with one line "N passed, N failed".
#   1. build (-Werror), unit tests (cmocka), integration tests (pytest, namespaces)
#   2. the same under AddressSanitizer + UBSan
# Slow scenarios run once: the release build runs the integration files that exercise its own
# timing (failover paths, halts, the fault campaign, the CLI) and the ASan build runs them all,
# so every scenario is also checked for memory errors and leaks (RELEASE_FILES below).
#   3. the unit tests under valgrind (no leaks)
# Each stage's own output is shown; the counts are added up at the end. Exit 0 only when
# nothing failed and something ran.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=/usr/bin/python3
passed=0
failed=0
stages_failed=()

note() { printf '\n=== %s ===\n' "$*"; }

# Add the counts a cmocka binary printed to the totals.
count_cmocka() {
	local out=$1 p f
	p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$out" | awk '{s+=$4} END {print s+0}')
	f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$out" | awk '{s+=$4} END {print s+0}')
	passed=$((passed + p))
	failed=$((failed + f))
}

# Add the counts of a pytest junit file to the totals.
count_junit() {
	local xml=$1 p f
	if [ ! -s "$xml" ]; then
		failed=$((failed + 1))
		return
	fi
	read -r p f < <($PY - "$xml" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
suites = [r] if r.tag == "testsuite" else list(r)
t = sum(int(s.get("tests", 0)) for s in suites)
f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
sk = sum(int(s.get("skipped", 0)) for s in suites)
print(t - f - sk, f + sk)   # a skipped test is a failure here: nothing may be skipped
PYEOF
)
	passed=$((passed + p))
	failed=$((failed + f))
}

build() { # build DIR [meson options...]
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		local log
		log=$(mktemp)
		meson setup "$dir" "$@" >"$log" 2>&1 || { cat "$log"; rm -f "$log"; return 1; }
		rm -f "$log"
	fi
	ninja -C "$dir"
}

unit() { # unit DIR LABEL [wrapper...]
	local dir=$1 label=$2
	shift 2
	local t out rc
	for t in "$dir"/test_*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		out=$(mktemp)
		OCF_ROOT=/usr/lib/ocf VIGIL_SRC=$ROOT "$@" "$t" >"$out" 2>&1
		rc=$?
		cat "$out"
		count_cmocka "$out"
		if [ $rc -ne 0 ]; then
			# A crash or a leak report without a cmocka FAILED line still fails.
			if ! grep -qE '^\[  FAILED  \]' "$out"; then failed=$((failed + 1)); fi
			stages_failed+=("$label $(basename "$t")")
		fi
		rm -f "$out"
	done
}

integration() { # integration BUILDDIR LABEL [FILE...] (none: every file)
	local dir=$1 label=$2 xml
	shift 2
	[ $# -gt 0 ] || set -- tests/integration
	xml=$(mktemp --suffix=.xml)
	VIGIL_BUILD=$ROOT/$dir $PY -m pytest -q -p no:cacheprovider --junitxml="$xml" \
		"$@" || stages_failed+=("$label integration")
	count_junit "$xml"
	rm -f "$xml"
}

note "build"
if ! build build; then
	echo "build failed"
	echo "0 passed, 1 failed"
	exit 1
fi

note "unit tests"
unit build/ unit

# The release build's share of the integration files (the ASan build runs every file).
RELEASE_FILES=(cli lifecycle cluster safety_faults halt vip_client chaos failures)
note "integration tests (release build: ${RELEASE_FILES[*]})"
release_paths=("${RELEASE_FILES[@]/#/tests/integration/test_}")
integration build integration "${release_paths[@]/%/.py}"

note "build with AddressSanitizer + UBSan"
if build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug; then
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
	export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
	note "unit tests (ASan + UBSan)"
	unit build-asan/ unit-asan
	note "integration tests (ASan + UBSan)"
	integration build-asan integration-asan
	unset ASAN_OPTIONS UBSAN_OPTIONS
else
	failed=$((failed + 1))
	stages_failed+=("asan build")
fi

note "unit tests under valgrind"
# the cluster fixture's random schedules: 200 seeds under valgrind (2,000 natively)
export VIGIL_FIXTURE_SEEDS=200
unit build/ valgrind valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
	--error-exitcode=99

note "summary"
if [ ${#stages_failed[@]} -gt 0 ]; then
	printf 'failed: %s\n' "${stages_failed[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && [ ${#stages_failed[@]} -eq 0 ]
