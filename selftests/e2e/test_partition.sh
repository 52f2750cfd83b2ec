#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: partitioned services moved by one prefix rule change.
#
# Partition k (1..3) is the serviceID prefix 2001:db8:aa:k::/64, served by
# instance k through a FORWARD rule; VIP:900k/tcp leads to a serviceID inside
# it. While small requests run against every partition, partition 2 moves to
# instance 3 with one `servicectl rule add ... --replace`: no request fails,
# and afterwards every request for partition 2 lands on inst3.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

e2e_init
step "setup: topology" topo_create
step "setup: agents" agents_start
start_servers() {
	local i k rf
	for i in 1 2 3; do
		for k in 1 2 3; do
			rf="$E2E_WORK/e$i$k.ready"
			bg_ns "$E2E_WORK/echod$i$k.log" "$(inst_ns "$i")" "$TOOLS/svc-echod" \
				--name "inst$i" --port "900$k" --ready-file "$rf"
			wait_until 10 test -f "$rf" || return 1
		done
	done
}
step "setup: servers (every instance serves every partition's port)" start_servers
out=$(for k in 1 2 3; do
	sctl router rule add "2001:db8:aa:$k::/64" forward "$(inst_addr4 "$k")" &&
		sctl router service add "2001:db8:aa:$k::1" --name "part$k" &&
		sctl router bind add "$VIP4:900$k/tcp" "2001:db8:aa:$k::1" || exit 1
done 2>&1) || bail "setup: servicectl configuration" "$out"

for k in 1 2 3; do
	loadgen_bg "$E2E_WORK/w$k.json" --target "$VIP4:900$k" --concurrency 2 --duration 3 conns 0
	W[$k]=$BG_PID
done
sleep 1 # traffic time before the move
out=$(sctl router rule add 2001:db8:aa:2::/64 forward "$(inst_addr4 3)" --replace 2>&1)
rc=$?
[ $rc = 0 ] || diag "rule add --replace: $out"
tap_result "partition 2 moved to inst3 with one rule add --replace" $rc
for k in 1 2 3; do
	wait_until 30 pid_gone "${W[$k]}"
	wait "${W[$k]}" 2>/dev/null
done
rc=0
for k in 1 2 3; do
	json_check "$E2E_WORK/w$k.json" "
note('partition $k: %d requests, %d ok, %d failed, instances %s' % (d['total'], d['ok'], d['failed'], json.dumps(d['instances'], sort_keys=True)))
if d['failed'] or d['ok'] < 50:
    fail('partition $k: failures %s' % json.dumps(d['failure_reasons']))
" || rc=1
done
tap_result "workload over 3 partitions during the move: no request failed" $rc
loadgen "$E2E_WORK/after.json" --target "$VIP4:9002" --concurrency 2 conns 100
check_split "$E2E_WORK/after.json" 100 0 inst3=100
tap_result "after the move: every request for partition 2 lands on inst3" $?
exit 0
