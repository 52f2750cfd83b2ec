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
			wait_until "$E2E_WAIT" test -f "$rf" || return 1
		done
	done
}
step "setup: servers (every instance serves every partition's port)" start_servers
out=$(for k in 1 2 3; do
	sctl router rule add "2001:db8:aa:$k::/64" forward "$(inst_addr4 "$k")" &&
		sctl router service add "2001:db8:aa:$k::1" --name "part$k" &&
		sctl router bind add "$VIP4:900$k/tcp" "2001:db8:aa:$k::1" || exit 1
done 2>&1) || bail "setup: servicectl configuration" "$out"

# requests_done K N: the workload of partition K has completed N requests (all ok so far).
requests_done() {
	json_wait "$E2E_WORK/w$1.status" "$E2E_WAIT" "
ok = d['ok'] >= $2
give_up = d['failed'] > 0
why = 'partition $1: %d of $2 requests ok, %d failed' % (d['ok'], d['failed'])
"
}
# requests run against every partition until the stop file: 20 of each before
# the move, 20 more of each after it, whatever the machine's speed (paced: each
# leaves a TIME_WAIT socket, and the client has about 28000 ports)
for k in 1 2 3; do
	loadgen_bg "$E2E_WORK/w$k.json" --target "$VIP4:900$k" --concurrency 2 --interval 5 \
		--stop-file "$E2E_WORK/w.stop" --status-file "$E2E_WORK/w$k.status" conns 0
	W[$k]=$BG_PID
done
for k in 1 2 3; do requests_done "$k" 20; done
declare -A AT=()
for k in 1 2 3; do
	AT[$k]=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["ok"])' "$E2E_WORK/w$k.status")
done
out=$(sctl router rule add 2001:db8:aa:2::/64 forward "$(inst_addr4 3)" --replace 2>&1)
rc=$?
[ $rc = 0 ] || diag "rule add --replace: $out"
tap_result "partition 2 moved to inst3 with one rule add --replace" $rc
for k in 1 2 3; do requests_done "$k" $((AT[$k] + 20)); done
touch "$E2E_WORK/w.stop"
for k in 1 2 3; do
	wait_until "$E2E_WAIT" pid_gone "${W[$k]}"
	wait "${W[$k]}" 2>/dev/null
done
rc=0
for k in 1 2 3; do
	json_check "$E2E_WORK/w$k.json" "
note('partition $k: %d requests, %d ok, %d failed, instances %s' % (d['total'], d['ok'], d['failed'], json.dumps(d['instances'], sort_keys=True)))
if d['failed']:
    fail('partition $k: failures %s' % json.dumps(d['failure_reasons']))
if d['ok'] < ${AT[$k]} + 20:
    fail('partition $k: only %d requests, want at least ${AT[$k]} + 20 across the move' % d['ok'])
if $k == 2 and 'inst3' not in d['instances']:
    fail('partition 2: no request reached inst3 during the workload')
" || rc=1
done
tap_result "workload over 3 partitions during the move: no request failed" $rc
loadgen "$E2E_WORK/after.json" --target "$VIP4:9002" --concurrency 2 conns 100
check_split "$E2E_WORK/after.json" 100 0 inst3=100
tap_result "after the move: every request for partition 2 lands on inst3" $?
exit 0
