#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: instance unavailable (dead: RST), shedding vs draining (Serval fig. 7).
#
# 30 long-lived TCP connections exchange a message every 100 ms over three
# instances. (a) inst3 removed as dead (instance del --dead): every connection
# on it gets ECONNRESET (from the router: reset_dead grows) at its next packet,
# the others stay intact, new connections avoid it. (b) inst3's registration
# lease runs out (its agent killed): the same. (c) shed: its connections are
# reset and the agent's count of its remaining flows drops to 0.
# (d) drain: its connections continue and stay counted until they end.
# Every wait is for an outcome (the held connections' own progress, read from
# svc-loadgen's status file), never a fixed time; how fast: `make bench`.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

SID=2001:db8:5f::1
HOLD=30
NEW=300

e2e_init
step "setup: topology" topo_create
step "setup: agents" agents_start
step "setup: instances" echods_start --port 8080 --tcp
out=$(svc_create router "$SID" fo "$VIP4:8080/tcp" 4 1 1 1 2>&1) ||
	bail "setup: servicectl configuration" "$out"
A3=$(inst_addr4 3)
tap_ok "setup: 3 instances, service configured with servicectl"

# remaining_flows: the router agent's count of inst3's active flows.
remaining_flows() {
	sctl_j router instance show "$SID" "$A3" | python3 -c '
import json, sys
print(json.load(sys.stdin)["instance"]["active_flows"])'
}
flows_zero() { [ "$(remaining_flows)" = 0 ]; }

# check_reset FILE: every connection on inst3 ended with a reset (ECONNRESET,
# the router's RST answering its next packet), the others intact.
check_reset() {
	json_check "$1" "
conns = d['connections']
on = [c for c in conns if c['instance'] == 'inst3']
note('%d connections, %d on inst3, their errors: %s' % (len(conns), len(on), sorted(set(c['error'] or '' for c in on))))
if not on:
    fail('no connection on inst3: nothing tested')
for c in on:
    if c['intact']:
        fail('inst3 connection %d still intact' % c['id'])
    elif 'reset by peer' not in (c['error'] or ''):
        fail('inst3 connection %d ended without a reset: %s' % (c['id'], c['error']))
for c in conns:
    if c['instance'] != 'inst3' and not c['intact']:
        fail('connection %d on %s broken: %s' % (c['id'], c['instance'], c['error']))
"
}

new_conns() {
	local f="$E2E_WORK/$1-new.json"
	loadgen "$f" --target "$VIP4:8080" --concurrency 8 conns "$NEW"
	check_split "$f" "$NEW" 15 inst1=50 inst2=50
}

# (a) dead
step "dead: hold" hold_start dead --target "$VIP4:8080" hold "$HOLD"
r0=$(router_counter reset_dead)
out=$(sctl router instance del "$SID" "$A3" --dead 2>&1) || bail "dead: instance del --dead" "$out"
hold_mark dead
new_conns dead
tap_result "dead: $NEW new connections go to the survivors only" $?
# every inst3 connection has sent again (and met the reset), the others went on
hold_wait dead 3 inst3 fail
step "dead: stop" hold_stop dead
r1=$(router_counter reset_dead)
check_reset "$E2E_WORK/dead.json"
rc=$?
diag "router reset_dead $r0 -> $r1"
[ "$r1" -gt "$r0" ] || rc=1
tap_result "dead: the router answered inst3's flows with RSTs (reset_dead grew), inst3's connections ended, others intact" $rc

# (b) lease expiry: inst3 registered with an 8 s lease, refreshed (added again) until
# the held connections are established, then never again. (Not refreshed at all, a
# short lease could run out before a loaded machine established any connection; and
# 8 s, not 2: in a 6.1 QEMU/TCG guest one refresh, a servicectl run, took over 2 s,
# so a 2 s lease expired between refreshes and no connection reached inst3.)
LEASE=8
out=$(sctl router instance add "$SID" "$A3" --name inst3 --lease $LEASE 2>&1) ||
	bail "lease: instance add --lease" "$out"
refresh_lease() {
	until [ -e "$E2E_WORK/lease.ready" ]; do
		sctl router instance add "$SID" "$A3" --name inst3 --lease $LEASE >/dev/null 2>&1
		sleep 0.2 # pacing of the refreshes, not synchronisation
	done
}
refresh_lease &
REFRESH_PID=$!
E2E_PIDS+=("$REFRESH_PID")
step "lease: hold" hold_start lease --target "$VIP4:8080" hold "$HOLD"
wait "$REFRESH_PID"
gone() { ! sctl_j router instance list "$SID" | grep "\"$A3\"" >/dev/null; }
wait_until "$E2E_WAIT" gone
tap_result "lease: a $LEASE s lease that is no longer refreshed expires" $?
hold_mark lease
hold_wait lease 3 inst3 fail
step "lease: stop" hold_stop lease
check_reset "$E2E_WORK/lease.json"
tap_result "lease expired: inst3's connections ended, others intact" $?

# (c) shed
out=$(sctl router instance add "$SID" "$A3" --name inst3 2>&1) || bail "shed: instance add" "$out"
step "shed: hold" hold_start shed --target "$VIP4:8080" hold "$HOLD"
before=$(remaining_flows)
out=$(sctl router instance shed "$SID" "$A3" 2>&1) || bail "shed: servicectl instance shed" "$out"
hold_mark shed
wait_until "$E2E_WAIT" flows_zero
rc=$?
diag "shed: remaining flows on inst3 $before -> $(remaining_flows)"
[ "$rc" = 0 ] && [ "$before" -gt 0 ]
tap_result "shed: inst3 free ($before -> 0 remaining flows)" $?
hold_wait shed 3 inst3 fail
step "shed: stop" hold_stop shed
check_reset "$E2E_WORK/shed.json"
tap_result "shed: inst3's connections ended, others intact" $?

# (d) drain
out=$(sctl router instance resume "$SID" "$A3" 2>&1) || bail "drain: instance resume" "$out"
step "drain: hold" hold_start drain --target "$VIP4:8080" hold "$HOLD"
out=$(sctl router instance drain "$SID" "$A3" 2>&1) || bail "drain: servicectl instance drain" "$out"
hold_mark drain
new_conns drain
tap_result "drain: $NEW new connections go to inst1/inst2 only" $?
# the held connections, inst3's included, keep exchanging after the drain
hold_wait drain 10
mid=$(remaining_flows)
diag "drain: remaining flows on inst3 while its connections live: $mid"
step "drain: stop" hold_stop drain
wait_until "$E2E_WAIT" flows_zero
rc=$?
diag "drain: remaining flows on inst3 after the connections ended: $(remaining_flows)"
[ "$rc" = 0 ] && [ "$mid" -gt 0 ]
tap_result "drain: inst3's flows remain while its connections live ($mid), none after" $?
check_hold "$E2E_WORK/drain.json" "$HOLD"
tap_result "drain: every connection, inst3's included, intact" $?
exit 0
