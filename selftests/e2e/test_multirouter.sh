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

SID=2001:db8:5e::77
PORT=8080
LEASE=2
MGMT=198.18.200
FAB=198.18.1
ETCD_PORT0=23790
N_ETCD=3

e2e_init
if ! command -v etcd >/dev/null; then
	tap_fail "setup: etcd" "etcd not installed (make deps installs etcd-server)"
	exit 1
fi

NS_MGMT=$(ns_name mgmt)
NS_FAB=$(ns_name fab)
NS_CLIENT=$(ns_name client)
NS_RA=$(ns_name ra)
NS_RB=$(ns_name rb)
ns_inst() { ns_name "inst$1"; }
inst_ip() { echo "$FAB.1$1"; }

# bridge_port NS IF BR_NS BR ADDR MTU: a veth from NS into bridge BR (in BR_NS).
bridge_port() {
	local ns=$1 ifn=$2 brns=$3 br=$4 addr=$5 mtu=$6
	veth_pair "$ns" "$ifn" "$brns" "$ifn-b" "$mtu" &&
		ip -n "$brns" link set "$ifn-b" master "$br" &&
		ip -n "$ns" addr add "$addr" dev "$ifn"
}

topo() {
	local ns i
	for ns in "$NS_MGMT" "$NS_FAB" "$NS_CLIENT" "$NS_RA" "$NS_RB" "$(ns_inst 1)" "$(ns_inst 2)"; do
		ns_add "$ns" || return 1
	done
	ip -n "$NS_MGMT" link add "bm-$E2E_ID" type bridge && ip -n "$NS_MGMT" link set "bm-$E2E_ID" up &&
		ip -n "$NS_FAB" link add "bf-$E2E_ID" type bridge && ip -n "$NS_FAB" link set "bf-$E2E_ID" up ||
		return 1
	for i in $(seq 1 $N_ETCD); do
		ip -n "$NS_MGMT" addr add "$MGMT.$i/24" dev "bm-$E2E_ID" || return 1
	done
	bridge_port "$NS_RA" "ma-$E2E_ID" "$NS_MGMT" "bm-$E2E_ID" "$MGMT.11/24" 1500 &&
		bridge_port "$NS_RB" "mb-$E2E_ID" "$NS_MGMT" "bm-$E2E_ID" "$MGMT.12/24" 1500 || return 1
	# the fabric: routers and instance hosts (MTU 1600: room for the IPIP header)
	bridge_port "$NS_RA" "fa-$E2E_ID" "$NS_FAB" "bf-$E2E_ID" "$FAB.1/24" 1600 &&
		bridge_port "$NS_RB" "fb-$E2E_ID" "$NS_FAB" "bf-$E2E_ID" "$FAB.2/24" 1600 || return 1
	for i in 1 2; do
		ns=$(ns_inst "$i")
		bridge_port "$ns" "m$i-$E2E_ID" "$NS_MGMT" "bm-$E2E_ID" "$MGMT.2$i/24" 1500 &&
			bridge_port "$ns" "f$i-$E2E_ID" "$NS_FAB" "bf-$E2E_ID" "$(inst_ip "$i")/24" 1600 &&
			ip -n "$ns" addr add "$VIP4/32" dev lo &&
			ip -n "$ns" route add 198.18.0.0/24 via "$FAB.1" &&
			ip -n "$ns" route add 198.18.3.0/24 via "$FAB.2" || return 1
		in_ns "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
			"net.ipv4.conf.f$i-$E2E_ID.rp_filter=0" || return 1
	done
	# the client has a link to each router; its route to the VIP picks one
	veth_pair "$NS_CLIENT" "ca-$E2E_ID" "$NS_RA" "ra-$E2E_ID" 1500 &&
		veth_pair "$NS_CLIENT" "cb-$E2E_ID" "$NS_RB" "rb-$E2E_ID" 1500 &&
		ip -n "$NS_CLIENT" addr add 198.18.0.1/24 dev "ca-$E2E_ID" &&
		ip -n "$NS_RA" addr add 198.18.0.2/24 dev "ra-$E2E_ID" &&
		ip -n "$NS_CLIENT" addr add 198.18.3.1/24 dev "cb-$E2E_ID" &&
		ip -n "$NS_RB" addr add 198.18.3.2/24 dev "rb-$E2E_ID" &&
		ip -n "$NS_CLIENT" route add "$VIP4/32" via 198.18.0.2 || return 1
	# a veth receives what its peer sends with XDP (the routers' encapsulated frames go
	# out of fa/fb by XDP_TX/redirect) only when it runs an XDP program itself
	for ifn in "fa-$E2E_ID-b" "fb-$E2E_ID-b"; do
		ip -n "$NS_FAB" link set dev "$ifn" xdpdrv obj "$XDP_PASS_OBJ" sec xdp || return 1
	done
	for ifn in "ca-$E2E_ID" "cb-$E2E_ID"; do
		in_ns "$NS_CLIENT" ethtool -K "$ifn" tx off >/dev/null &&
			ip -n "$NS_CLIENT" link set dev "$ifn" xdpdrv obj "$XDP_PASS_OBJ" sec xdp ||
			return 1
	done
	for ns in "$NS_RA" "$NS_RB"; do
		in_ns "$ns" sysctl -qw net.ipv4.ip_forward=1 || return 1
	done
	for i in 1 2; do
		wait_until "$E2E_WAIT" in_ns "$NS_RA" ping -c1 -W1 -q "$(inst_ip "$i")" >/dev/null &&
			wait_until "$E2E_WAIT" in_ns "$NS_RB" ping -c1 -W1 -q "$(inst_ip "$i")" >/dev/null ||
			{ echo "routers cannot reach inst$i"; return 1; }
	done
}
step "setup: topology (mgmt and fabric bridges, client with a link to each router)" topo

# ---- etcd: three members in the mgmt namespace ----
declare -A ETCD_PID=()
etcd_cluster() {
	local i c=""
	for i in $(seq 1 $N_ETCD); do
		c+="${c:+,}e$i=http://$MGMT.$i:$((ETCD_PORT0 + 1))"
	done
	ETCD_CLUSTER=$c
}
etcd_start() { # I [new|existing]
	local i=$1 state=${2:-new}
	bg_ns "$E2E_WORK/etcd$i.log" "$NS_MGMT" etcd --name "e$i" --data-dir "$E2E_WORK/etcd$i" \
		--listen-client-urls "http://$MGMT.$i:$ETCD_PORT0" \
		--advertise-client-urls "http://$MGMT.$i:$ETCD_PORT0" \
		--listen-peer-urls "http://$MGMT.$i:$((ETCD_PORT0 + 1))" \
		--initial-advertise-peer-urls "http://$MGMT.$i:$((ETCD_PORT0 + 1))" \
		--initial-cluster "$ETCD_CLUSTER" --initial-cluster-state "$state" \
		--initial-cluster-token "svc-$E2E_ID"
	ETCD_PID[$i]=$BG_PID
}
etcd_eps() {
	local i e=""
	for i in "$@"; do e+="${e:+,}$MGMT.$i:$ETCD_PORT0"; done
	echo "$e"
}
ETCDCTL() { in_ns "$NS_MGMT" env ETCDCTL_API=3 etcdctl --endpoints "$(etcd_eps 1 2 3)" "$@"; }
etcd_healthy() { ETCDCTL endpoint health >/dev/null 2>&1; }
# etcd_leader: the member index (1..3) that leads now
etcd_leader() {
	ETCDCTL endpoint status -w json 2>/dev/null | python3 -c '
import json, sys
for s in json.load(sys.stdin):
    if s["Status"]["header"]["member_id"] == s["Status"]["leader"]:
        print(s["Endpoint"].split(":")[0].rsplit(".", 1)[1]); break'
}
start_etcd() {
	local i
	etcd_cluster
	for i in $(seq 1 $N_ETCD); do etcd_start "$i"; done
	wait_until "$E2E_WAIT" etcd_healthy || { tail -n 5 "$E2E_WORK/etcd1.log"; return 1; }
}
step "setup: 3-member etcd cluster" start_etcd
REG="etcd://$(etcd_eps 1 2 3)/svc-$E2E_ID"
tap_ok "setup: 3-member etcd cluster on $MGMT.1-3:$ETCD_PORT0 healthy"

start_agents() {
	agent_start ra "$NS_RA" --src "$FAB.1" --registry "$REG" &&
		sctl ra attach "ra-$E2E_ID" router || return 1
	agent_start rb "$NS_RB" --src "$FAB.2" --registry "$REG" &&
		sctl rb attach "rb-$E2E_ID" router || return 1
	for i in 1 2; do
		agent_start "inst$i" "$(ns_inst "$i")" --registry "$REG" \
			--instance-addr "$(inst_ip "$i")" --lease "$LEASE" &&
			sctl "inst$i" attach "f$i-$E2E_ID" endpoint &&
			sctl "inst$i" decap add "$FAB.1" && sctl "inst$i" decap add "$FAB.2" || return 1
	done
}
step "setup: agents (routers A and B, instance hosts 1 and 2, all on etcd)" start_agents

# registry_field AGENT FIELD: servicectl -j status .registry.FIELD
registry_field() {
	sctl_j "$1" status | python3 -c 'import json,sys; print(json.load(sys.stdin)["registry"][sys.argv[1]])' "$2"
}
synced() { [ "$(registry_field "$1" synced)" = True ]; }
all_synced() { synced ra && synced rb && synced inst1 && synced inst2; }
wait_until "$E2E_WAIT" all_synced
tap_result "every agent listed the registry from etcd (status: backend etcd, synced)" $?

# ---- a service configured through A appears on B ----
sctl ra service add "$SID" --name mr && sctl ra bind add "$VIP4:$PORT/tcp" "$SID"
tap_result "service and binding added through router A's servicectl" $?
has_service() { sctl_j "$1" service show "$SID" >/dev/null 2>&1; }
has_binding() { sctl_j "$1" bind list | grep -q "$VIP4:$PORT/tcp"; }
wait_until "$E2E_WAIT" has_service rb && wait_until "$E2E_WAIT" has_binding rb
tap_result "router B has the service and its binding" $?
wait_until "$E2E_WAIT" has_binding inst1 && wait_until "$E2E_WAIT" has_binding inst2
tap_result "instance hosts have the binding (they register listeners on it)" $?

# instances AGENT: "ADDR:NH_ID ..." of SID's instances, sorted
instances() {
	sctl_j "$1" instance list "$SID" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(sorted("%s:%d" % (i["addr"], i["nh_id"]) for i in d["instances"])))'
}
has_inst() { [[ " $(instances "$1") " == *" $2:"* ]]; }
lacks_inst() { ! has_inst "$1" "$2"; }

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
ip -n "$NS_CLIENT" route replace "$VIP4/32" via 198.18.3.2
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
ip -n "$NS_CLIENT" route replace "$VIP4/32" via 198.18.0.2
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
stop_pid "${ETCD_PID[$leader]}" KILL 2>/dev/null
diag "killed etcd member e$leader (the leader)"
sctl rb instance set "$SID" "$(inst_ip 1)" --weight 3
tap_result "leader e$leader killed: a change through router B is accepted" $?
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
for i in $(seq 1 $N_ETCD); do stop_pid "${ETCD_PID[$i]}" KILL 2>/dev/null; done
agent_kill rb
agent_restart rb
[ "$(registry_field rb synced)" = False ] && has_inst rb "$(inst_ip 1)"
tap_result "etcd down: router B restarts from its cached state (not synced, inst1 known)" $? \
	"B: $(instances rb)"
ip -n "$NS_CLIENT" route replace "$VIP4/32" via 198.18.3.2
f="$E2E_WORK/etcd-down.json"
loadgen "$f" --target "$VIP4:$PORT" --concurrency 8 conns 100
check_split "$f" 100 0 inst1=100
tap_result "etcd down: 100 connections through the restarted router B" $?
for i in $(seq 1 $N_ETCD); do etcd_start "$i" existing; done
wait_until "$E2E_WAIT" etcd_healthy
tap_result "etcd back" $?
# a write while B is catching up, then a compaction of everything before it
sctl ra instance set "$SID" "$(inst_ip 1)" --weight 5
rev=$(ETCDCTL endpoint status -w json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Status"]["header"]["revision"])')
ETCDCTL compaction "$rev" >/dev/null
wait_until "$E2E_WAIT" synced rb && wait_until "$E2E_WAIT" weight_on rb "$(inst_ip 1)" 5
tap_result "router B catches up when etcd returns (weight 5 after a compaction)" $? \
	"$(sctl_j rb status | python3 -c 'import json,sys; print(json.load(sys.stdin)["registry"])')"
exit 0
