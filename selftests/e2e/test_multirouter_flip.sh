#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end (issue 11): an ECMP-like flip between two routers that share one
# registry on a 3-member etcd cluster, and a third router that agrees.
#
# Topology: lib_multirouter.sh with three instance hosts. 1,000 long-lived TCP
# connections are opened through router A; the client's route to the VIP then
# flips to router B, which never saw them: B must send every one of them to
# the instance A chose (by the consistent-hash table both hold), so all of
# them keep exchanging with every byte echoed intact (0 resets) while A's
# router program forwards nothing more (its flow table is not used). Then
# `servicectl route get` (the route.get op, 10,000 random 5-tuples) answers
# the same on A and B, and a third router C started afresh on the same etcd
# holds byte-identical tables and gives the same answers.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

HOLD=${E2E_HOLD:-1000}
LOOKUPS=${E2E_LOOKUPS:-10000}
LEASE=5

e2e_init
MR_HOSTS=3
source "$(dirname "$0")/lib_multirouter.sh"
mr_require_etcd
command -v bpftool >/dev/null || bail "setup" "bpftool not installed (make deps)"

step "setup: topology (3 instance hosts)" mr_topo
step "setup: 3-member etcd cluster" mr_etcd_start_all
step "setup: agents (routers A and B, 3 instance hosts)" mr_agents_start --lease "$LEASE"
step "setup: every agent synced" wait_until "$E2E_WAIT" all_synced ra rb inst1 inst2 inst3
step "setup: service and binding through router A" \
	eval 'sctl ra service add "$SID" --name flip && sctl ra bind add "$VIP4:$PORT/tcp" "$SID"'
has_binding() { sctl_j "$1" bind list | grep "$VIP4:$PORT/tcp" >/dev/null; }
bindings_everywhere() {
	local a
	for a in rb inst1 inst2 inst3; do wait_until "$E2E_WAIT" has_binding "$a" || return 1; done
}
step "setup: binding on every agent" bindings_everywhere
step "setup: svc-echod on the 3 instance hosts" mr_echods_start
all_registered() {
	local a i
	for a in ra rb; do
		for i in 1 2 3; do has_inst "$a" "$(inst_ip "$i")" || return 1; done
	done
}
wait_until "$E2E_WAIT" all_registered
tap_result "listen() on 3 instance hosts: all 3 registered on routers A and B" $? \
	"A: $(instances ra); B: $(instances rb)"
tap_ok "setup: etcd x3, routers A and B, instances $(instances ra)"

# ---- 1,000 long-lived connections through A, then the flip to B ----
mr_via a
step "$HOLD long-lived connections through router A" \
	hold_start flip --target "$VIP4:$PORT" --interval 1000 --size 512 hold "$HOLD"
# reasons AGENT: {reason: packets} of its router program
reasons() {
	sctl_j "$1" stats | python3 -c '
import json, sys
print(json.dumps({r["reason"]: r["packets"] for r in json.load(sys.stdin)["router"]}))'
}
# reasons_delta BEFORE AFTER: the reasons that grew
reasons_delta() {
	python3 -c '
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(" ".join("%s +%d" % (k, b[k] - a.get(k, 0)) for k in sorted(b) if b[k] != a.get(k, 0)))' "$1" "$2"
}
b0=$(agent_counter rb fwd_ch_miss)
mr_via b
# once every connection has exchanged through B, A must see none of them again
hold_mark flip && hold_wait flip 1
ra0=$(reasons ra)
a0=$(agent_counter ra 'fwd_*')
hold_mark flip && hold_wait flip 3
rc=$?
a1=$(agent_counter ra 'fwd_*')
b1=$(agent_counter rb fwd_ch_miss)
tap_result "route flipped to router B: every connection did 1, then 3 more exchanges" $rc
diag "router A forwarded $a0 -> $a1 packets; router B's consistent-hash misses $b0 -> $b1"
diag "router A after the flip: $(reasons_delta "$ra0" "$(reasons ra)")"
[ "$a1" = "$a0" ]
tap_result "after the flip router A forwards nothing (its flow table is not used)" $? \
	"router A forwarded $((a1 - a0)) packets after the flip"
[ "$((b1 - b0))" -ge "$HOLD" ]
tap_result "router B resolved the $HOLD connections it never saw by consistent hash" $? \
	"fwd_ch_miss grew by $((b1 - b0))"
f="$E2E_WORK/new-via-b.json"
loadgen "$f" --target "$VIP4:$PORT" --concurrency 8 conns 300
check_split "$f" 300 15 inst1=33 inst2=33 inst3=33
tap_result "300 new connections through router B, shared by the 3 instances" $?
step "stop the held connections" hold_stop flip
check_hold "$E2E_WORK/flip.json" "$HOLD"
tap_result "all $HOLD connections opened through A intact after the flip (0 resets, every byte echoed)" $?

# ---- route get: A and B answer alike; a fresh router C agrees byte for byte ----
# (from an address no connection uses: the routers' flow tables hold the real ones)
route_queries "$LOOKUPS" 198.18.0.99 >"$E2E_WORK/q"
run_logged route_lookups_agree "$VIP4:$PORT/tcp" "$E2E_WORK/q" ra rb
tap_result "route get: routers A and B pick the same instance for $LOOKUPS random 5-tuples" $? \
	"$RUN_OUT"
diag "$RUN_OUT"

router_c() {
	local ns
	ns=$(ns_name rc)
	mr_router_add rc 3 &&
		bridge_port "$ns" "fc-$E2E_ID" "$NS_FAB" "bf-$E2E_ID" "$FAB.3/24" 1600 &&
		agent_start rc "$ns" --src "$FAB.3" --registry "$REG" &&
		wait_until "$E2E_WAIT" all_synced rc &&
		wait_until "$E2E_WAIT" eval '[ "$(instances rc)" = "$(instances ra)" ]'
}
step "router C started afresh on the same etcd" router_c
for a in ra rb rc; do
	step "read router ${a#r}'s table" ch_table "$a" "$SID" "$E2E_WORK/table-$a"
done
ch_differ "router A vs router B" "$E2E_WORK/table-ra" "$E2E_WORK/table-rb"
tap_result "routers A and B hold byte-identical consistent-hash tables" $?
ch_differ "router A vs fresh router C" "$E2E_WORK/table-ra" "$E2E_WORK/table-rc"
tap_result "fresh router C holds the same table byte for byte" $?
run_logged route_lookups_agree "$VIP4:$PORT/tcp" "$E2E_WORK/q" ra rc
tap_result "route get: fresh router C picks the same instance for the $LOOKUPS 5-tuples" $? \
	"$RUN_OUT"
diag "$RUN_OUT"
exit 0
