#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The systemd unit's capabilities are exactly what the features need.
#
# The capability set is read from the unit (deploy/svcplaned.service.in,
# CapabilityBoundingSet=). The agent runs as root there, so its capabilities
# are that bounding set; `setpriv --bounding-set=-all,+CAP... --inh-caps=-all`
# gives the same to a process here. Then:
#   - every feature works under the set: the end-to-end test of each feature
#     runs with every agent started under setpriv (lib.sh's SVC_AGENT_WRAP);
#   - every capability of the set is needed: with it removed, the feature the
#     unit's comment names it for fails (its e2e test fails, for a permission
#     error or a crash). CAP_BPF and CAP_PERFMON are not in the set: CAP_SYS_ADMIN,
#     which libxdp needs, grants the same for bpf() (kernel: bpf_capable(),
#     perfmon_capable()), so the e2e tests pass without them (measured).
# Each line of FEATURES: e2e test, what it exercises. Each line of NEEDS: a
# capability and the e2e test that fails without it.
set -uo pipefail
cd "$(dirname "$0")/../.."
name=pkg/test_unit_caps
unit=deploy/svcplaned.service.in

FEATURES="test_weights router and endpoint: XDP through libxdp, maps pinned
test_register register on bind: the listen watch (tp_btf)
test_delay DELAY: live and copy re-injection (AF_PACKET), RSTs for unresolvable serviceIDs
test_ctl_tiflow TI-flow: sockops attached to cgroups
test_ctl_direct direct path: tc programs (clsact)
test_health active health checks"
NEEDS="CAP_SYS_ADMIN test_weights
CAP_NET_ADMIN test_weights
CAP_NET_RAW test_delay"

if [ "$(id -u)" != 0 ]; then
	echo "ok - $name: capabilities # SKIP not root"
	exit 0
fi
command -v setpriv >/dev/null || { echo "not ok - $name: setpriv not installed (util-linux)"; exit 1; }
read -r -a caps <<<"$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")"
[ ${#caps[@]} -gt 0 ] || { echo "not ok - $name: no CapabilityBoundingSet= in $unit"; exit 1; }
echo "# the unit's capabilities: ${caps[*]}"

# wrap CAP...: the setpriv prefix for exactly these capabilities
wrap() {
	local c set=-all
	for c in "$@"; do set+=",+$(tr '[:upper:]' '[:lower:]' <<<"${c#CAP_}")"; done
	echo "setpriv --bounding-set=$set --inh-caps=-all"
}

# run_e2e TEST WRAP: the e2e test with its agents under WRAP; its output in $RUN_LOG
RUN_LOG=$(mktemp)
trap 'rm -f "$RUN_LOG"' EXIT
trap 'exit 143' INT TERM # the EXIT trap then cleans up
run_e2e() {
	SVC_AGENT_WRAP=$2 bash "selftests/e2e/$1.sh" >"$RUN_LOG" 2>&1 </dev/null &&
		! grep -q '^not ok ' "$RUN_LOG"
}

fail=0
# every capability the unit grants has a feature that needs it, and no other one
for c in "${caps[@]}"; do
	grep -q "^$c " <<<"$NEEDS" || { echo "not ok - $name: $c is granted but no feature here needs it"; fail=1; }
done
while read -r c _; do
	[[ " ${caps[*]} " == *" $c "* ]] ||
		{ echo "not ok - $name: $c is needed (NEEDS) but not in the unit"; fail=1; }
done <<<"$NEEDS"

while read -r t what; do
	if run_e2e "$t" "$(wrap "${caps[@]}")"; then
		echo "ok - $name: with the unit's capabilities: $what (e2e/$t, $(grep -c '^ok ' "$RUN_LOG") checks)"
	else
		echo "not ok - $name: with the unit's capabilities: $what (e2e/$t)"
		grep -E '^not ok |^# ' "$RUN_LOG" | tail -n 30 | sed 's/^/# /'
		fail=1
	fi
done <<<"$FEATURES"

while read -r c t; do
	less=()
	for x in "${caps[@]}"; do [ "$x" = "$c" ] || less+=("$x"); done
	if run_e2e "$t" "$(wrap "${less[@]}")"; then
		echo "not ok - $name: without $c, e2e/$t still passes: the unit grants more than needed"
		fail=1
	else
		# for the missing capability, not some other reason
		why=$(grep -hE 'Operation not permitted|Permission denied|EPERM|AddressSanitizer: SEGV' "$RUN_LOG" | head -n 1)
		if [ -n "$why" ]; then
			echo "ok - $name: without $c, e2e/$t fails: ${why#"${why%%[![:space:]#]*}"}"
		else
			echo "not ok - $name: without $c, e2e/$t fails, but not for a permission"
			grep -E '^not ok |^# ' "$RUN_LOG" | tail -n 20 | sed 's/^/# /'
			fail=1
		fi
	fi
done <<<"$NEEDS"
exit $fail
