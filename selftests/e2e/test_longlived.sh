#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: long-lived connections survive weight changes, instance removal and a flow-table clear.
#
# 60 TCP connections and 30 UDP flows exchange a message every 100 ms while
# servicectl (a) changes the weights, (b) removes an instance, (c) clears the
# router's flow table. svc-loadgen verifies every echoed byte and which
# instance answered: every connection on a surviving instance must stay intact
# (UDP flows must stay on their instance), and new connections must follow the
# new configuration. IPv4 and IPv6.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

HOLD_TCP=${E2E_HOLD_TCP:-60}
HOLD_UDP=${E2E_HOLD_UDP:-30}
NEW=2000 # new connections after each change (split within 5 points: > 4 sigma)
SID4=2001:db8:5e::4
SID6=2001:db8:5e::6

e2e_init
step "setup: topology" topo_create
step "setup: agents" agents_start
step "setup: instances" echods_start --port 8080 --tcp --udp
out=$(svc_create router "$SID4" web4 "$VIP4:8080/tcp" 4 1 1 2 &&
	sctl router bind add "$VIP4:8080/udp" "$SID4" &&
	svc_create router "$SID6" web6 "[$VIP6]:8080/tcp" 6 1 1 2 &&
	sctl router bind add "[$VIP6]:8080/udp" "$SID6" 2>&1) ||
	bail "setup: servicectl configuration" "$out"
tap_ok "setup: topology, 4 agents, 3 instances, 2 services configured with servicectl"

# holds_start TAG TARGET: the long-lived TCP connections and UDP flows.
holds_start() {
	hold_start "$1-tcp" --target "$2" hold "$HOLD_TCP" &&
		hold_start "$1-udp" --target "$2" --udp --retries 4 hold "$HOLD_UDP"
}

# new_conns TAG TARGET SPLIT...: a batch of new connections and its split.
new_conns() {
	local tag=$1 target=$2 f="$E2E_WORK/$1-new.json"
	shift 2
	loadgen "$f" --target "$target" --concurrency 8 conns "$NEW"
	check_split "$f" "$NEW" 5 "$@"
}

# traffic_ran TAG [REMOVED]: wait until every held TCP connection and UDP flow has
# done 5 more exchanges since the change (hold_mark), those on REMOVED aside.
traffic_ran() {
	hold_wait "$1-tcp" 5 "${2:-}" any && hold_wait "$1-udp" 5 "${2:-}" any
}

family_cases() {
	local fam=$1 sid target a1 a2 a3 out rc
	if [ "$fam" = 4 ]; then sid=$SID4 target="$VIP4:8080"; else sid=$SID6 target="[$VIP6]:8080"; fi
	a1=$(inst_addr$fam 1) a2=$(inst_addr$fam 2) a3=$(inst_addr$fam 3)

	# (a) weights 1:1:2 -> 3:1:1 under load
	step "ipv$fam weights: start" holds_start "w$fam" "$target"
	out=$(sctl router instance set "$sid" "$a3" --weight 1 2>&1 &&
		sctl router instance set "$sid" "$a1" --weight 3 2>&1) ||
		bail "ipv$fam weights: servicectl instance set" "$out"
	hold_mark "w$fam-tcp" "w$fam-udp"
	new_conns "w$fam" "$target" inst1=60 inst2=20 inst3=20
	tap_result "ipv$fam weights 1:1:2 -> 3:1:1: $NEW new connections follow 60/20/20" $?
	traffic_ran "w$fam"
	step "ipv$fam weights: stop" hold_stop "w$fam-tcp" "w$fam-udp"
	check_hold "$E2E_WORK/w$fam-tcp.json" "$HOLD_TCP"
	tap_result "ipv$fam weights changed: all $HOLD_TCP long-lived TCP connections intact" $?
	check_hold "$E2E_WORK/w$fam-udp.json" "$HOLD_UDP"
	tap_result "ipv$fam weights changed: all $HOLD_UDP UDP flows stayed on their instance" $?

	# (b) back to 1:1:2, then remove inst3 under load
	out=$(sctl router instance set "$sid" "$a1" --weight 1 2>&1 &&
		sctl router instance set "$sid" "$a3" --weight 2 2>&1) ||
		bail "ipv$fam remove: servicectl instance set" "$out"
	step "ipv$fam remove: start" holds_start "r$fam" "$target"
	out=$(sctl router instance del "$sid" "$a3" 2>&1) ||
		bail "ipv$fam remove: servicectl instance del" "$out"
	hold_mark "r$fam-tcp" "r$fam-udp"
	new_conns "r$fam" "$target" inst1=50 inst2=50
	tap_result "ipv$fam inst3 removed: $NEW new connections go to inst1/inst2 only, 50/50" $?
	traffic_ran "r$fam" inst3
	step "ipv$fam remove: stop" hold_stop "r$fam-tcp" "r$fam-udp"
	check_hold "$E2E_WORK/r$fam-tcp.json" "$HOLD_TCP" inst3
	tap_result "ipv$fam inst3 removed: every TCP connection on inst1/inst2 intact" $?
	check_hold "$E2E_WORK/r$fam-udp.json" "$HOLD_UDP" inst3
	tap_result "ipv$fam inst3 removed: every UDP flow on inst1/inst2 stayed there" $?
	out=$(sctl router instance add "$sid" "$a3" --weight 2 --name inst3 2>&1) ||
		bail "ipv$fam: servicectl instance add (restore inst3)" "$out"

	# (c) flow table cleared under load, next-hop set unchanged
	step "ipv$fam clear: start" holds_start "c$fam" "$target"
	local miss0 miss1
	miss0=$(router_counter fwd_ch_miss)
	out=$(sctl router flows clear 2>&1) || bail "ipv$fam clear: servicectl flows clear" "$out"
	hold_mark "c$fam-tcp" "c$fam-udp"
	new_conns "c$fam" "$target" inst1=25 inst2=25 inst3=50
	tap_result "ipv$fam flows cleared: $NEW new connections complete, split 25/25/50" $?
	traffic_ran "c$fam"
	miss1=$(router_counter fwd_ch_miss)
	step "ipv$fam clear: stop" hold_stop "c$fam-tcp" "c$fam-udp"
	check_hold "$E2E_WORK/c$fam-tcp.json" "$HOLD_TCP"
	rc=$?
	# the clear really happened: held connections' packets missed the flow
	# table and were sent by consistent hash to the same instances
	diag "router fwd_ch_miss $miss0 -> $miss1"
	if [ "$rc" = 0 ] && ! [ "${miss1:-0}" -gt "${miss0:-0}" ] 2>/dev/null; then
		diag "fwd_ch_miss did not grow: the flow table was not cleared"
		rc=1
	fi
	tap_result "ipv$fam flows cleared: all $HOLD_TCP TCP connections intact (re-resolved by consistent hash)" $rc
	check_hold "$E2E_WORK/c$fam-udp.json" "$HOLD_UDP"
	tap_result "ipv$fam flows cleared: all $HOLD_UDP UDP flows stayed on their instance" $?
}

family_cases 4
family_cases 6
exit 0
