#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: the router's next-hop egress cache follows a neighbour change.
#
# The router sends to each instance host with the interface and MACs the agent
# cached (nh_egress), not a FIB lookup per packet: live traffic moves the
# forwarding counters and not ev_fib_fallback. Then instance 1's host changes
# its MAC address and the router's neighbour entries for it are flushed (what
# a replaced host or NIC looks like to the router): the agent sees
# RTM_DELNEIGH, starts resolution, sees the new entry (RTM_NEWNEIGH) and
# rewrites the egress; `servicectl -j instance show` reports the new MAC and
# TCP connections to every instance, instance 1 included, work again, IPv4 and
# IPv6. With a stale cached MAC, instance 1's host would drop the frames (not
# addressed to it).
set -uo pipefail
source "$(dirname "$0")/lib.sh"

N=${E2E_CONNS:-300} # per case
SID4=2001:db8:5e::4 # service with IPv4 instance addresses (IPIP)
SID6=2001:db8:5e::6 # service with IPv6 instance addresses (IP6IP6)
NEWMAC=02:5e:00:00:99:01

e2e_init
step "setup: topology" topo_create
step "setup: agents" agents_start
step "setup: instances" echods_start --port 8080 --tcp
out=$(svc_create router "$SID4" web4 "$VIP4:8080/tcp" 4 1 1 1 &&
	svc_create router "$SID6" web6 "[$VIP6]:8080/tcp" 6 1 1 1 2>&1) ||
	bail "setup: servicectl configuration" "$out"
tap_ok "setup: topology, 4 agents, 3 instances, 2 services configured with servicectl"

# inst_mac I: instance I's MAC as its host has it.
inst_mac() {
	ip -n "$(inst_ns "$1")" -j link show "$(if_inst "$1")" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["address"])'
}

# egress_is SID ADDR MAC: the router reports a valid cached egress toward ADDR with MAC.
egress_is() {
	sctl_j router instance show "$1" "$2" 2>/dev/null | python3 -c '
import json, sys
i = json.load(sys.stdin)["instance"]
sys.exit(0 if i.get("egress_valid") and i.get("egress_dmac") == sys.argv[1] else 1)' "$3"
}

# egress_all MAC1: every instance of both services has a valid egress; instance 1's is MAC1.
egress_all() {
	local i sid fam addr mac
	for fam in 4 6; do
		sid=$SID4
		[ "$fam" = 6 ] && sid=$SID6
		for i in $(seq 1 $N_INST); do
			addr=$(inst_addr$fam "$i")
			mac=$1
			[ "$i" != 1 ] && mac=$(inst_mac "$i")
			egress_is "$sid" "$addr" "$mac" || return 1
		done
	done
}

# conns NAME TARGET: N TCP connections, every one completes, instance 1 answers some.
conns() {
	local name=$1 target=$2 f="$E2E_WORK/$1.json"
	loadgen "$f" --target "$target" --concurrency 8 --size 2000 conns "$N"
	json_check "$f" "
note('%s: %d connections, %d ok, %d failed, per instance %s' % ('$name', d['total'], d['ok'], d['failed'], json.dumps(d['instances'], sort_keys=True)))
if d['failed'] or d['ok'] < $N:
    fail('failures: %s' % json.dumps(d['failure_reasons']))
if d['instances'].get('inst1', 0) == 0:
    fail('instance 1 answered none')
"
	tap_result "$name: $N TCP connections complete, instance 1 among those answering" $?
}

mac1=$(inst_mac 1)
wait_until "$E2E_WAIT" egress_all "$mac1"
tap_result "cache: every instance's egress is cached with its host's MAC ($mac1 for instance 1)" $?

fb0=$(router_counter ev_fib_fallback)
fwd0=$(router_counter 'fwd_*')
conns before4 "$VIP4:8080"
conns before6 "[$VIP6]:8080"
fb1=$(router_counter ev_fib_fallback)
fwd1=$(router_counter 'fwd_*')
diag "forwarded $((fwd1 - fwd0)) packets, ev_fib_fallback +$((fb1 - fb0))"
[ "$((fwd1 - fwd0))" -ge "$((4 * N))" ] && [ "$fb1" = "$fb0" ]
tap_result "cache: the packets were forwarded with no FIB lookup (ev_fib_fallback unchanged)" $?

# Instance 1's host gets a new MAC; the router forgets the old one.
out=$(ip -n "$(inst_ns 1)" link set dev "$(if_inst 1)" address "$NEWMAC" 2>&1 &&
	ip -n "$NS_ROUTER" neigh flush dev "$(if_router_inst 1)" 2>&1) ||
	bail "change: new MAC on instance 1" "$out"
wait_until "$E2E_WAIT" egress_all "$NEWMAC"
tap_result "change: the router's cached egress toward instance 1 has its new MAC $NEWMAC" $?

conns after4 "$VIP4:8080"
conns after6 "[$VIP6]:8080"
exit 0
