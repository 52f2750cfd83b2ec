#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: two routers and two instance hosts sharing one registry on a
# 3-member etcd cluster (svcplaned --registry etcd://...).
#
#   mgmt ns: bridge, etcd members on 198.18.200.1-3 (client ports 23790+)
#     every host below has a veth on it (198.18.200.1x/2x)
#   client --- ra (router A) ---+
#          \-- rb (router B) ---+--- fab ns: bridge 198.18.1.0/24 --- inst1, inst2
#
# A service configured through router A's servicectl must appear on router B;
# listen() on an instance host must make it an instance on both routers;
# clients reach the VIP through either router; kill -9 of an instance host's
# agent removes its instance from both within its etcd lease; killing an etcd
# member (the leader) leaves everything working; a router restarted while
# etcd is entirely down forwards with its cached state and catches up
# (after a compaction) when etcd returns.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

LEASE=2

e2e_init
MR_HOSTS=2
source "$(dirname "$0")/lib_multirouter.sh"
mr_require_etcd

step "setup: topology (mgmt and fabric bridges, client with a link to each router)" mr_topo
step "setup: 3-member etcd cluster" mr_etcd_start_all
tap_ok "setup: 3-member etcd cluster on $MGMT.1-3:$ETCD_PORT0 healthy"
step "setup: agents (routers A and B, instance hosts 1 and 2, all on etcd)" \
	mr_agents_start --lease "$LEASE"
wait_until "$E2E_WAIT" all_synced ra rb inst1 inst2
tap_result "every agent listed the registry from etcd (status: backend etcd, synced)" $?

# ---- a service configured through A appears on B ----
sctl ra service add "$SID" --name mr && sctl ra bind add "$VIP4:$PORT/tcp" "$SID"
tap_result "service and binding added through router A's servicectl" $?
has_service() { sctl_j "$1" service show "$SID" >/dev/null 2>&1; }
has_binding() { sctl_j "$1" bind list | grep "$VIP4:$PORT/tcp" >/dev/null; }
wait_until "$E2E_WAIT" has_service rb && wait_until "$E2E_WAIT" has_binding rb
tap_result "router B has the service and its binding" $?
wait_until "$E2E_WAIT" has_binding inst1 && wait_until "$E2E_WAIT" has_binding inst2
tap_result "instance hosts have the binding (they register listeners on it)" $?


# ---- listen() on an instance host appears on both routers ----
for i in 1 2; do
	bg_ns "$E2E_WORK/echod$i.log" "$(ns_inst "$i")" "$TOOLS/svc-echod" --name "inst$i" \
		--port "$PORT" --tcp
	ECHOD_PID[$i]=$BG_PID
done
wait_until "$E2E_WAIT" has_inst ra "$(inst_ip 1)" && wait_until "$E2E_WAIT" has_inst ra "$(inst_ip 2)" &&
	wait_until "$E2E_WAIT" has_inst rb "$(inst_ip 1)" && wait_until "$E2E_WAIT" has_inst rb "$(inst_ip 2)"
tap_result "listen() on inst1 and inst2: both instances on router A and router B" $? \
	"A: $(instances ra); B: $(instances rb)"
[ -n "$(instances ra)" ] && [ "$(instances ra)" = "$(instances rb)" ]
tap_result "same instances with the same deployment-wide ids on A and B ($(instances ra))" $? \
	"A: $(instances ra); B: $(instances rb)"

# ---- traffic through either router ----
f="$E2E_WORK/via-a.json"
loadgen "$f" --target "$VIP4:$PORT" --concurrency 8 conns 200
check_split "$f" 200 20 inst1=50 inst2=50
tap_result "200 connections through router A, shared by inst1 and inst2" $?
mr_via b
f="$E2E_WORK/via-b.json"
loadgen "$f" --target "$VIP4:$PORT" --concurrency 8 conns 200
check_split "$f" 200 20 inst1=50 inst2=50
tap_result "200 connections through router B, shared by inst1 and inst2" $?

# ---- kill -9 of an instance host's agent: its instance leaves both routers ----
agent_kill inst2
wait_until "$E2E_WAIT" lacks_inst ra "$(inst_ip 2)" && wait_until "$E2E_WAIT" lacks_inst rb "$(inst_ip 2)"
rc=$?
# (how fast: the lease plus etcd's expiry, about 2.3 s here; a test asserts only that it happens)
tap_result "kill -9 of inst2's agent: inst2 removed from A and B when its lease ($LEASE s) runs out" $rc \
	"A: $(instances ra); B: $(instances rb)"
mr_via a
f="$E2E_WORK/after-kill.json"
loadgen "$f" --target "$VIP4:$PORT" --concurrency 8 conns 100
check_split "$f" 100 0 inst1=100
tap_result "after inst2's host died: 100 new connections all on inst1" $?

# ---- an etcd member dies: the leader ----
leader=$(etcd_leader)
if [ -z "$leader" ]; then
	tap_fail "etcd leader found" "$(ETCDCTL endpoint status 2>&1)"
	leader=1
fi
etcd_kill "$leader"
diag "killed etcd member e$leader (the leader)"
# While the members elect a new leader a write can time out (etcd answers no
# proposal without a leader; seen at load ~7): the operator's retry must then
# succeed. Every failed try is printed.
sctl rb instance set "$SID" "$(inst_ip 1)" --weight 3 ||
	wait_until "$E2E_WAIT" sctl rb instance set "$SID" "$(inst_ip 1)" --weight 3
tap_result "leader e$leader killed: a change through router B is accepted (retried during the election)" $?
weight_on() {
	sctl_j "$1" instance list "$SID" | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if any(i["addr"] == sys.argv[1] and i["weight"] == int(sys.argv[2]) for i in d["instances"]) else 1)' "$2" "$3"
}
wait_until "$E2E_WAIT" weight_on ra "$(inst_ip 1)" 3
tap_result "router A sees the change (weight 3) with one etcd member down" $?
# registrations are kept alive through the surviving members: still there after 3 leases
sleep_deadline=$(($(now_ms) + 3 * LEASE * 1000))
ok=0
while [ "$(now_ms)" -lt "$sleep_deadline" ]; do
	has_inst ra "$(inst_ip 1)" && has_inst rb "$(inst_ip 1)" || { ok=1; break; }
	sleep 0.2
done
tap_result "registrations stay for 3 leases with the leader dead (keepalive fails over)" $ok
etcd_start "$leader" existing
wait_until "$E2E_WAIT" etcd_healthy
tap_result "etcd member e$leader back" $?

# ---- etcd entirely down: routers forward with their last state, and catch up ----
for i in $(seq 1 $N_ETCD); do etcd_kill "$i"; done
agent_kill rb
agent_restart rb
[ "$(registry_field rb synced)" = False ] && has_inst rb "$(inst_ip 1)"
tap_result "etcd down: router B restarts from its cached state (not synced, inst1 known)" $? \
	"B: $(instances rb)"
mr_via b
f="$E2E_WORK/etcd-down.json"
loadgen "$f" --target "$VIP4:$PORT" --concurrency 8 conns 100
check_split "$f" 100 0 inst1=100
tap_result "etcd down: 100 connections through the restarted router B" $?
for i in $(seq 1 $N_ETCD); do etcd_start "$i" existing; done
wait_until "$E2E_WAIT" etcd_healthy
tap_result "etcd back" $?
# a write while B is catching up, then a compaction of everything before it. Not
# inst1's weight: inst1's 2 s lease may have run out while etcd was down, and its
# host's registering again (weight 1) may come after the write. An operator's
# instance (no lease) instead.
wait_until "$E2E_WAIT" sctl ra instance add "$SID" "$FAB.99" --weight 5
rev=$(etcd_revision)
ETCDCTL compaction "$rev" >/dev/null
wait_until "$E2E_WAIT" synced rb && wait_until "$E2E_WAIT" weight_on rb "$FAB.99" 5
tap_result "router B catches up when etcd returns (an instance added after a compaction)" $? \
	"$(sctl_j rb status | python3 -c 'import json,sys; print(json.load(sys.stdin)["registry"])')"
exit 0
