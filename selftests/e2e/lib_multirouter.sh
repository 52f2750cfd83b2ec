# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Multi-host end-to-end helpers (source after lib.sh): routers and instance
# hosts in their own namespaces, sharing one registry on a 3-member etcd
# cluster (svcplaned --registry etcd://...).
#
#   mgmt ns: bridge, etcd members on 198.18.200.1-3 (client ports 23790+)
#     every host below has a veth on it (198.18.200.1x routers, .2x instance hosts)
#   client --- ra (router A) ---+
#          \-- rb (router B) ---+--- fab ns: bridge 198.18.1.0/24 --- inst1..instN
#
# The client has a link to each router; its route to the VIP picks one
# (mr_via a|b flips it, ECMP-like). Instance hosts answer the client directly
# (direct server return) through router A's kernel forwarding for
# 198.18.0.0/24 (the client's address on its link to A) and router B's for
# 198.18.3.0/24.
#
# Usage: set MR_HOSTS (instance hosts, default 2), source, then
#   step "setup: topology" mr_topo; step "setup: etcd" mr_etcd_start_all;
#   step "setup: agents" mr_agents_start [--lease S]
# Extra routers (mr_router_add NAME IDX) get a mgmt link only: enough for
# their agent to follow etcd and answer `route get` without being attached.

MR_HOSTS=${MR_HOSTS:-2}
SID=2001:db8:5e::77
PORT=8080
MGMT=198.18.200
FAB=198.18.1
ETCD_PORT0=23790
N_ETCD=3

NS_MGMT=$(ns_name mgmt)
NS_FAB=$(ns_name fab)
NS_CLIENT=$(ns_name client)
NS_RA=$(ns_name ra)
NS_RB=$(ns_name rb)
ns_inst() { ns_name "inst$1"; }
inst_ip() { echo "$FAB.1$1"; }

mr_require_etcd() {
	command -v etcd >/dev/null && command -v etcdctl >/dev/null ||
		bail "setup: etcd" "etcd not installed (make deps installs etcd-server and etcd-client)"
}

# bridge_port NS IF BR_NS BR ADDR MTU: a veth from NS into bridge BR (in BR_NS).
bridge_port() {
	local ns=$1 ifn=$2 brns=$3 br=$4 addr=$5 mtu=$6
	veth_pair "$ns" "$ifn" "$brns" "$ifn-b" "$mtu" &&
		ip -n "$brns" link set "$ifn-b" master "$br" &&
		ip -n "$ns" addr add "$addr" dev "$ifn"
}

mr_topo() {
	local ns i ifn
	for ns in "$NS_MGMT" "$NS_FAB" "$NS_CLIENT" "$NS_RA" "$NS_RB"; do
		ns_add "$ns" || return 1
	done
	for i in $(seq 1 "$MR_HOSTS"); do ns_add "$(ns_inst "$i")" || return 1; done
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
	for i in $(seq 1 "$MR_HOSTS"); do
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
	# connections opened through A keep the source 198.18.0.1 after a flip to B:
	# the client must accept their replies on either link
	in_ns "$NS_CLIENT" sysctl -qw net.ipv4.conf.all.rp_filter=0 || return 1
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
	for i in $(seq 1 "$MR_HOSTS"); do
		wait_until "$E2E_WAIT" in_ns "$NS_RA" ping -c1 -W1 -q "$(inst_ip "$i")" >/dev/null &&
			wait_until "$E2E_WAIT" in_ns "$NS_RB" ping -c1 -W1 -q "$(inst_ip "$i")" >/dev/null ||
			{ echo "routers cannot reach inst$i"; return 1; }
	done
}

# mr_via a|b: the client's route to the VIP goes through router A or B.
mr_via() {
	local gw=198.18.0.2
	[ "$1" = b ] && gw=198.18.3.2
	ip -n "$NS_CLIENT" route replace "$VIP4/32" via "$gw"
}

# mr_router_add NAME IDX: one more router namespace with a mgmt link (198.18.200.1IDX).
mr_router_add() {
	local ns
	ns=$(ns_name "$1")
	ns_add "$ns" &&
		bridge_port "$ns" "m$1-$E2E_ID" "$NS_MGMT" "bm-$E2E_ID" "$MGMT.1$2/24" 1500
}

# ---- etcd: three members in the mgmt namespace ----
declare -A ETCD_PID=()
ETCD_CLUSTER=
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
# etcd_kill I: kill -9 of member I.
etcd_kill() { stop_pid "${ETCD_PID[$1]}" KILL 2>/dev/null; }
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
# etcd_revision: the cluster's current revision
etcd_revision() {
	ETCDCTL endpoint status -w json | python3 -c '
import json, sys
print(max(int(s["Status"]["header"]["revision"]) for s in json.load(sys.stdin)))'
}
mr_etcd_start_all() {
	local i c=""
	for i in $(seq 1 $N_ETCD); do
		c+="${c:+,}e$i=http://$MGMT.$i:$((ETCD_PORT0 + 1))"
	done
	ETCD_CLUSTER=$c
	for i in $(seq 1 $N_ETCD); do etcd_start "$i"; done
	wait_until "$E2E_WAIT" etcd_healthy || { tail -n 5 "$E2E_WORK/etcd1.log"; return 1; }
}
REG="etcd://$(etcd_eps 1 2 3)/svc-$E2E_ID"

# mr_agents_start [INSTANCE HOST ARGS...]: routers A and B (attached on their
# client links) and one agent per instance host (endpoint program on its fabric
# link, decapsulating from both routers).
mr_agents_start() {
	local i
	agent_start ra "$NS_RA" --src "$FAB.1" --registry "$REG" &&
		sctl ra attach "ra-$E2E_ID" router || return 1
	agent_start rb "$NS_RB" --src "$FAB.2" --registry "$REG" &&
		sctl rb attach "rb-$E2E_ID" router || return 1
	for i in $(seq 1 "$MR_HOSTS"); do
		agent_start "inst$i" "$(ns_inst "$i")" --registry "$REG" \
			--instance-addr "$(inst_ip "$i")" "$@" &&
			sctl "inst$i" attach "f$i-$E2E_ID" endpoint &&
			sctl "inst$i" decap add "$FAB.1" && sctl "inst$i" decap add "$FAB.2" || return 1
	done
}

# registry_field AGENT FIELD: servicectl -j status .registry.FIELD
registry_field() {
	sctl_j "$1" status | python3 -c 'import json,sys; print(json.load(sys.stdin)["registry"][sys.argv[1]])' "$2"
}
synced() { [ "$(registry_field "$1" synced)" = True ]; }
# all_synced AGENT...: every one listed the registry from etcd
all_synced() {
	local a
	for a in "$@"; do synced "$a" || return 1; done
}

# instances AGENT: "ADDR:NH_ID ..." of SID's instances, sorted
instances() {
	sctl_j "$1" instance list "$SID" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join(sorted("%s:%d" % (i["addr"], i["nh_id"]) for i in d["instances"])))'
}
has_inst() { [[ " $(instances "$1") " == *" $2:"* ]]; }
lacks_inst() { ! has_inst "$1" "$2"; }

# mr_echods_start [ARGS...]: svc-echod (TCP, port PORT) on every instance host.
mr_echods_start() {
	local i rf
	for i in $(seq 1 "$MR_HOSTS"); do
		rf="$E2E_WORK/echod$i.ready"
		bg_ns "$E2E_WORK/echod$i.log" "$(ns_inst "$i")" "$TOOLS/svc-echod" --name "inst$i" \
			--port "$PORT" --tcp --ready-file "$rf" "$@"
		ECHOD_PID[$i]=$BG_PID
		wait_until "$E2E_WAIT" test -f "$rf" || { echo "svc-echod inst$i not ready"; return 1; }
	done
}
