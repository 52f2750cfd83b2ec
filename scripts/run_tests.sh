#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Runs every test tier against the build in $1 (default .output-san) and prints
# one closing line "N passed, M failed, K skipped". Each test speaks TAP:
# "ok - name", "not ok - name", "ok - name # SKIP reason". A program that exits
# non-zero without reporting a failure counts as one failed test.
#
# TESTS="pattern..." runs only the tests whose name (load/bpf/router.bpf.o,
# unit/test_ch, test_progs, e2e/test_weights, pkg/test_deb) contains one of the
# space-separated patterns. TEST_TIMEOUT=seconds bounds each test (1800).
#
# Tier 0, load/: svc-progload loads every BPF object into this kernel and
# prints each program's verifier processed-instruction count; the counts are
# repeated, with the kernel release, before the closing line. It runs when
# selftests/tools/svc-progload.c is in the tree or when TESTS names it (make
# vmcheck does): a requested but missing svc-progload is a failure.
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
read -r -a patterns <<<"${TESTS:-}"
tmo=${TEST_TIMEOUT:-1800}
passed=0 failed=0 skipped=0
failures=()
insns=$(mktemp)
trap 'rm -f "$insns"' EXIT
trap 'exit 143' INT TERM # the EXIT trap then cleans up

declare -A used

# selected NAME [explicit]: whether TESTS selects NAME (a pattern may be a
# glob). With no TESTS every test is selected, unless "explicit" (then only a
# pattern selects it).
selected() {
	local p hit=1
	[ ${#patterns[@]} = 0 ] && [ -z "${2:-}" ] && return 0
	for p in "${patterns[@]}"; do
		# shellcheck disable=SC2053 # $p is a glob on purpose
		[[ "$1" == *$p* ]] && used[$p]=1 hit=0
	done
	return $hit
}

run_one() { # name, command...
	local name=$1; shift
	local log rc p=0 f=0 s=0 t0
	log=$(mktemp)
	echo "# ---- $name"
	t0=$SECONDS
	# Output goes to a file, not a pipe: a process a broken test leaks cannot hold
	# the runner open. Every test has a time limit (TEST_TIMEOUT seconds) that only
	# catches a hang: under ASan on a loaded 2-core machine unit/test_ch alone took
	# 692 s, so it is far above any test's normal duration.
	# (--kill-after: a test's own cleanup, after the TERM, may take a while on a loaded machine)
	timeout --kill-after=120 "$tmo" "$@" >"$log" 2>&1 </dev/null
	rc=$?
	cat "$log"
	[ "$rc" = 124 ] && echo "not ok - $name timed out after $tmo s" | tee -a "$log"
	grep -E ': processed [0-9]+ insns' "$log" >>"$insns"
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
	echo "# $name: $((SECONDS - t0)) s"
	[ "$f" != 0 ] && failures+=("$name")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	rm -f "$log"
}

# load_obj PROGLOAD OBJ: one TAP line for loading every program of OBJ.
load_obj() {
	local rc=0
	if [ ! -x "$1" ]; then
		echo "not ok - load $2: $1 not built (selftests/tools/svc-progload.c)"
		return 1
	fi
	"$1" "$2" || rc=$?
	if [ "$rc" = 0 ]; then
		echo "ok - load $2"
	else
		echo "not ok - load $2: svc-progload exited with status $rc"
	fi
	return "$rc"
}
export -f load_obj

# Tier 0: every BPF object loads, with its programs' processed-instruction counts.
load_explicit=explicit
[ -f selftests/tools/svc-progload.c ] && load_explicit=
for o in "$out"/bpf/*.bpf.o "$out"/selftests/progs/*.bpf.o "$out"/bench/progs/*.bpf.o; do
	[ -f "$o" ] || continue
	name="load/${o#"$out"/}"
	selected "$name" $load_explicit || continue
	run_one "$name" bash -c 'load_obj "$@"' _ "$SVC_BIN/tools/svc-progload" "$o"
done
# Tier 1: Check unit tests (TAP through Check's CK_TAP_LOG_FILE_NAME). "-" is
# Check's own stdout stream: /dev/stdout would open the log file a second time
# with an offset of its own, and the TAP lines then overwrote the tests'
# messages on stderr and were lost from the count.
for t in "$SVC_BIN"/unit/*; do
	[ -x "$t" ] || continue
	selected "unit/$(basename "$t")" || continue
	run_one "unit/$(basename "$t")" env CK_TAP_LOG_FILE_NAME=- CK_VERBOSITY=silent "$t"
done
# Tier 2: BPF selftests through BPF_PROG_TEST_RUN.
if [ -x "$SVC_BIN/test_progs" ] && selected test_progs; then
	run_one "test_progs" "$SVC_BIN/test_progs"
fi
# Tier 2b: the router fuzzer with its policy oracle, bounded (FUZZ_SEED, FUZZ_COUNT).
for t in "$SVC_BIN"/svc-fuzz; do
	[ -x "$t" ] || continue
	selected fuzz/router || continue
	run_one fuzz/router "$t" --seed "${FUZZ_SEED:-1}" --count "${FUZZ_COUNT:-200000}"
done
# Tier 3: end-to-end tests in network namespaces.
for t in selftests/e2e/test_*.sh; do
	[ -f "$t" ] || continue
	selected "e2e/$(basename "$t" .sh)" || continue
	run_one "e2e/$(basename "$t" .sh)" bash "$t"
done
# Tier 4: the tree as a product: documentation links, the systemd unit's
# capabilities (the e2e tests again, under the unit's capability set), the
# Debian package installed into a fresh chroot.
for t in selftests/pkg/test_*.sh; do
	[ -f "$t" ] || continue
	selected "pkg/$(basename "$t" .sh)" || continue
	run_one "pkg/$(basename "$t" .sh)" bash "$t"
done

# A requested test that does not exist (renamed, not built) is a failure.
for p in "${patterns[@]}"; do
	[ -n "${used[$p]:-}" ] && continue
	echo "not ok - TESTS pattern '$p' selects no test"
	failed=$((failed + 1))
	failures+=("$p")
done

if [ -s "$insns" ]; then
	echo "# kernel $(uname -r): verifier processed instructions per program"
	sed 's/^/#   /' "$insns"
fi
if [ ${#failures[@]} -gt 0 ]; then
	echo "# failed: ${failures[*]}"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
