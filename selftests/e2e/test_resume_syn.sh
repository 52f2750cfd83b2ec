#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: a resume SYN written by the client's kernel (SVC_TIFLOW_SO_RESUME)
# reaches, through a router that lost its state, the instance that negotiated the flow.
#
# The instance hosts' agents enable TI-flow (servicectl tiflow enable) for a
# cgroup in which each runs an svc-echod; their instance id is the router's
# next-hop id of that host, so the responder halves they choose name it. The
# client's programs (tiflow-ctl) are attached to the client's cgroup. Per
# family: 12 connections to the VIP negotiate TI-flow (state read back by
# getsockopt, the greeting names the instance that answered); then the router
# is uninstalled and started again from its state file (empty flow table,
# checked) and instance 3's weight goes from 1 to 1000, so that the hash sends
# nearly every new connection to instance 3 (shown by 10 plain connections).
# Each flow is then resumed from a new socket: its SYN carries the flow's
# completed TIFID, and the greeting of the connection must come from the
# flow's original instance, every time; the router counts one fwd_resume each.
# The instances answer the resumed connection as plain TCP (the resume
# library that would continue the byte stream is not built yet: docs/tiflow.md).
set -uo pipefail
source "$(dirname "$0")/lib.sh"

SID4=2001:db8:5e::b4
SID6=2001:db8:5e::b6
PORT=8081
N=12 # flows per family

e2e_init
e2e_require jq
e2e_require_cgroup2
e2e_require_built "$TOOLS/tiflow-ctl" "$TOOLS/tiflow-sockopt"
step "setup: topology" topo_create
step "setup: agents" agents_start

cg_add client CG_CLIENT || bail "setup: cgroups" "cannot create cgroups under $E2E_CGROOT"
declare -A CG=()
for i in $(seq 1 $N_INST); do
	cg_add "inst$i" "CG[$i]" || bail "setup: cgroups" "cannot create cgroups under $E2E_CGROOT"
done
PIN_CLIENT=/sys/fs/bpf/$E2E_PIN_PREFIX-$E2E_ID-client-tiflow

setup_tiflow() {
	local i
	"$TOOLS/tiflow-ctl" load --pin-dir "$PIN_CLIENT" --cgroup "$CG_CLIENT" --no-respond ||
		return 1
	for i in $(seq 1 $N_INST); do
		# before the servers listen: a listener opened earlier answers without TI-flow
		sctl "inst$i" tiflow enable "${CG[$i]}" || return 1
		bg_ns_cg "$E2E_WORK/echod$i.log" "$(inst_ns "$i")" "${CG[$i]}" "$TOOLS/svc-echod" \
			--name "inst$i" --port "$PORT" --tcp --ready-file "$E2E_WORK/echod$i.ready"
	done
	for i in $(seq 1 $N_INST); do
		wait_until "$E2E_WAIT" test -e "$E2E_WORK/echod$i.ready" ||
			{ cat "$E2E_WORK/echod$i.log"; return 1; }
	done
}
step "setup: TI-flow on the client and the instance hosts, an svc-echod in each instance's cgroup" setup_tiflow
out=$(svc_create router "$SID4" resume4 "$VIP4:$PORT/tcp" 4 1 1 1 &&
	svc_create router "$SID6" resume6 "[$VIP6]:$PORT/tcp" 6 1 1 1 2>&1) ||
	bail "setup: servicectl configuration" "$out"

# nh_id ADDR: the router's next-hop id of an instance address.
nh_id() {
	sctl_j router instance list | jq -r --arg a "$1" '.instances[] | select(.addr == $a) | .nh_id'
}
tap_ok "setup: topology, agents, TI-flow, IPv4 and IPv6 services of 3 instances"

# try ARGS...: tiflow-sockopt try from the client's cgroup and namespace.
try() { in_ns_cg "$NS_CLIENT" "$CG_CLIENT" "$TOOLS/tiflow-sockopt" try "$@"; }

restart_fresh() {
	router_restart_fresh || return 1
	[ "$(sctl_j router flows --count | jq .count)" = 0 ] ||
		{ echo "flow table not empty after the fresh start"; return 1; }
}

# phase FAM SID VIP
phase() {
	local fam=$1 sid=$2 vip=$3 i j nh st name resumed=0 wrong=0 ids=
	local -a tifid=() seq=() ack=() inst=()

	# each host's responder halves name the router's next hop of its address of this family
	for i in $(seq 1 $N_INST); do
		nh=$(nh_id "$(inst_addr$fam "$i")")
		[ -n "$nh" ] && sctl "inst$i" tiflow set --instance-id "$nh" >/dev/null ||
			{ tap_fail "ipv$fam: instance ids" "inst$i: next hop '$nh'"; return; }
		ids+="inst$i=$nh "
	done
	for j in $(seq 1 $N); do
		try --connect "$vip" --port "$PORT" connect state line >"$E2E_WORK/c$fam-$j.json" 2>&1
		st=$(jq -c '.[] | select(.op == "state") | .state' "$E2E_WORK/c$fam-$j.json" 2>/dev/null)
		name=$(jq -r '.[] | select(.op == "line") | .line' "$E2E_WORK/c$fam-$j.json" 2>/dev/null)
		name=${name#svc-echod }
		nh=$(nh_id "$(inst_addr$fam "${name#inst}")" 2>/dev/null)
		if [ "$(jq -r .state <<<"$st" 2>/dev/null)" != negotiated ] ||
			[ "$(jq -r .instance <<<"$st")" != "$nh" ]; then
			tap_fail "ipv$fam: connection $j negotiated TI-flow with the instance that answered" \
				"$(cat "$E2E_WORK/c$fam-$j.json"); next hops $ids"
			return
		fi
		tifid+=("$(jq -r .tifid <<<"$st")")
		seq+=("$(printf '%012x' $(((0x$(jq -r .tiseq_local <<<"$st") + 100) & 0xffffffffffff)))")
		ack+=("$(printf '%012x' $(((0x$(jq -r .tiseq_peer <<<"$st") + 16) & 0xffffffffffff)))")
		inst+=("$name")
	done
	tap_ok "ipv$fam: $N connections negotiated TI-flow, each TIFID names the instance that answered ($(printf '%s\n' "${inst[@]}" | sort | uniq -c | awk '{ print $2 " " $1 }' | paste -sd, | sed 's/,/, /g'))"

	step "ipv$fam: router uninstalled, started again from its state file, flow table empty" restart_fresh
	sctl router instance set "$sid" "$(inst_addr$fam 3)" --weight 1000 >/dev/null ||
		{ tap_fail "ipv$fam: instance 3 weight 1000" ""; return; }
	# what a new connection gets now: the hash no longer points where the flows were
	for j in 1 2 3 4 5 6 7 8 9 10; do
		try --connect "$vip" --port "$PORT" connect line 2>/dev/null |
			jq -r '.[] | select(.op == "line") | .line'
	done | sort | uniq -c | awk '{ print $3 " " $1 }' | paste -sd, | sed 's/,/, /g' >"$E2E_WORK/plain$fam.txt"
	diag "ipv$fam: 10 new plain connections after the change went to: $(cat "$E2E_WORK/plain$fam.txt")"

	local before after
	before=$(router_counter fwd_resume)
	for j in $(seq 0 $((N - 1))); do
		try --connect "$vip" --port "$PORT" "resume:${tifid[j]}:${seq[j]}:${ack[j]}" connect line \
			>"$E2E_WORK/r$fam-$j.json" 2>&1
		name=$(jq -r '.[] | select(.op == "line") | .line' "$E2E_WORK/r$fam-$j.json" 2>/dev/null)
		if [ "${name#svc-echod }" = "${inst[j]}" ]; then
			resumed=$((resumed + 1))
		else
			wrong=$((wrong + 1))
			diag "ipv$fam: flow $j (TIFID ${tifid[j]}) was on ${inst[j]}, its resume reached '${name#svc-echod }': $(cat "$E2E_WORK/r$fam-$j.json")"
		fi
	done
	after=$(router_counter fwd_resume)
	# only flows away from instance 3 show anything: the hash now sends nearly all there
	[ "$wrong" = 0 ] && [ "$resumed" = "$N" ] && printf '%s\n' "${inst[@]}" | grep -qv '^inst3$' 
	tap_result "ipv$fam: all $N resume SYNs reached their flow's original instance ($resumed of $N)" $?
	[ $((after - before)) = "$N" ]
	tap_result "ipv$fam: router fwd_resume counted $((after - before)) resumes, want $N" $?
}

phase 4 "$SID4" "$VIP4"
phase 6 "$SID6" "$VIP6"

# the client's program wrote every resume SYN (a lost SYN is sent again with its option)
c=$("$TOOLS/tiflow-ctl" stats --pin-dir "$PIN_CLIENT" -j)
jq -e --argjson n $((2 * N)) '.resume_set == $n and .resume_syn_sent >= $n' <<<"$c" >/dev/null
tap_result "client counters: resume_set $((2 * N)), resume_syn_sent >= $((2 * N))" $? "$c"
"$TOOLS/tiflow-ctl" unload --pin-dir "$PIN_CLIENT" >/dev/null 2>&1
exit 0
