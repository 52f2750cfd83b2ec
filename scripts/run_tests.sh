#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs every test tier against the build in $1 (default .output-san) and prints
# one closing line "N passed, M failed, K skipped". Each test speaks TAP:
# "ok - name", "not ok - name", "ok - name # SKIP reason". A program that exits
# non-zero without reporting a failure counts as one failed test.
# TESTS=pattern runs only tests whose file name matches the pattern.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-.output-san}
export SVC_BIN="$PWD/$out/bin"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Check kills a unit test case after 4 s (or its tcase_set_timeout): on a loaded
# machine, under ASan, or in a QEMU guest a correct case can take longer. Those
# limits only catch hangs, and every test already has one (TEST_TIMEOUT below).
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10}
pattern=${TESTS:-}
passed=0 failed=0 skipped=0
failures=()

run_one() { # name, command...
	local name=$1; shift
	[ -n "$pattern" ] && [[ "$name" != *$pattern* ]] && return 0
	local log rc p=0 f=0 s=0 t0=$SECONDS
	log=$(mktemp)
	echo "# ---- $name"
	# Output goes to a file, not a pipe: a process a broken test leaks cannot hold
	# the runner open. Every test has a time limit (TEST_TIMEOUT seconds) that only
	# catches a hang: under ASan on a loaded 2-core machine unit/test_ch alone took
	# 692 s, so it is far above any test's normal duration.
	timeout --kill-after=10 "${TEST_TIMEOUT:-1800}" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	cat "$log"
	[ "$rc" = 124 ] && echo "not ok - $name timed out after ${TEST_TIMEOUT:-1800} s" | tee -a "$log"
	p=$(grep -cE '^ok ' "$log" | tr -d ' ')
	s=$(grep -cE '^ok .*# (SKIP|skip)' "$log" | tr -d ' ')
	f=$(grep -cE '^not ok ' "$log" | tr -d ' ')
	p=$((p - s))
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "not ok - $name exited with status $rc"
		f=1
	fi
	if [ $((p + f + s)) = 0 ]; then
		echo "not ok - $name reported no test"
		f=1
	fi
	echo "# ---- $name: $((SECONDS - t0)) s"
	[ "$f" != 0 ] && failures+=("$name")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	rm -f "$log"
}

# Tier 1: Check unit tests (TAP through Check's CK_TAP_LOG_FILE_NAME).
for t in "$SVC_BIN"/unit/*; do
	[ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" env CK_TAP_LOG_FILE_NAME=/dev/stdout CK_VERBOSITY=silent "$t"
done
# Tier 2: BPF selftests through BPF_PROG_TEST_RUN.
if [ -x "$SVC_BIN/test_progs" ]; then
	run_one "test_progs" "$SVC_BIN/test_progs"
fi
# Tier 3: end-to-end tests in network namespaces.
for t in selftests/e2e/test_*.sh; do
	[ -f "$t" ] || continue
	run_one "e2e/$(basename "$t" .sh)" bash "$t"
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "# failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
