#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# vmcheck.sh [OUTPUT]: the kernel matrix's second kernel. Boots KERNEL (a
# release in /boot; default: the one Debian 12's linux-image-amd64 depends on,
# 6.1) with scripts/vm/vm-run.sh and runs scripts/run_tests.sh inside it as
# root on the build in OUTPUT (default .output): every BPF object loaded
# (load/, with each program's processed-instruction count), the unit tests
# that use the kernel, test_progs and the end-to-end tests of the data path. Ends with the same
# "N passed, M failed, K skipped" line as make check, also when the guest does
# not finish (a crash or VMCHECK_TIMEOUT counts as one more failure).
#
# VMCHECK_TESTS  the test list (TESTS patterns of run_tests.sh), default below
# VMCHECK_E2E  the e2e part of the default list (set but empty: no e2e test)
# VMCHECK_TIMEOUT  seconds for the whole guest run, boot included (2400)
# VMCHECK_TEST_TIMEOUT  seconds for one test inside the guest (1200)
# VM_MEM, VM_CPUS  guest memory (MiB) and vCPUs (vm-run.sh)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-.output}

# Of the unit tests only those that use the kernel (BPF objects, feature
# probes, namespaces): the others are plain userspace, the same on every
# kernel, run by make check, and under TCG they cost ~12 of the guest's 25
# minutes (test_ch alone 6-8 min).
unit="unit/test_dataplane unit/test_kfeatures unit/test_reinject"
# The e2e tests of the data path: weights, restart/adoption, TI-flow (and its
# socket options: cgroup sockopt programs), the direct path, DELAY, failover
# (instance dead/shed/drained), the next-hop egress cache (netlink events).
# VMCHECK_E2E overrides this list (empty: none).
e2e=${VMCHECK_E2E-e2e/test_weights e2e/test_restart e2e/test_tiflow e2e/test_tiflow_sockopt
     e2e/test_direct_path e2e/test_delay e2e/test_failover e2e/test_nhcache}
tests=${VMCHECK_TESTS:-load/ $unit test_progs $e2e}
tests=$(echo $tests) # one line: it is passed on a command line

# fail_early REASON: the guest never ran; still end with the summary line.
fail_early() {
	echo "not ok - vmcheck: $1"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}

kver=${KERNEL:-}
if [ -z "$kver" ]; then
	# "linux-image-6.1.0-57-amd64 (= 6.1.192-3)" -> 6.1.0-57-amd64
	kver=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null |
		sed -nE 's/^linux-image-([^ ,]+).*/\1/p')
	[ -n "$kver" ] || fail_early "KERNEL not set and linux-image-amd64 not installed (make deps)"
fi
[ -r "/boot/vmlinuz-$kver" ] && [ -d "/lib/modules/$kver" ] ||
	fail_early "kernel $kver is not installed (/boot/vmlinuz-$kver, /lib/modules/$kver: apt-get install linux-image-$kver)"
[ -d "$out/bin" ] || fail_early "no build in $out (make tests, or make SAN=1 tests for .output-san)"

log=$(mktemp)
vm=
# Interrupted (Ctrl-C, SIGTERM): vm-run.sh stops QEMU before it exits.
trap '[ -n "$vm" ] && kill "$vm" 2>/dev/null && wait "$vm"; exit 130' INT TERM
trap 'rm -f "$log"' EXIT
echo "# vmcheck: kernel $kver, tests: $tests"
t0=$SECONDS
scripts/vm/vm-run.sh -k "$kver" -t "${VMCHECK_TIMEOUT:-2400}" -- \
	env TESTS="$tests" TEST_TIMEOUT="${VMCHECK_TEST_TIMEOUT:-1200}" \
	scripts/run_tests.sh "$out" >"$log" 2>&1 &
vm=$!
tail -n +1 -f --pid="$vm" "$log" &
wait "$vm"
rc=$?
vm=
wait # the tail: it prints the rest of the log once vm-run.sh has exited
summary='^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$'
if tail -n 1 "$log" | grep -E "$summary" >/dev/null; then
	# run_tests.sh finished in the guest: its line is the result, its status
	# (vm-run.sh passes it on) the exit status.
	exit "$rc"
fi
# The guest crashed, hung or ran out of time: count what it reported.
p=$(grep -cE '^ok ' "$log")
s=$(grep -cE '^ok .*# (SKIP|skip)' "$log")
f=$(grep -cE '^not ok ' "$log")
echo "not ok - vmcheck: the guest did not finish (kernel $kver, vm-run status $rc, after $((SECONDS - t0)) s)"
echo "$((p - s)) passed, $((f + 1)) failed, $s skipped"
exit 1
