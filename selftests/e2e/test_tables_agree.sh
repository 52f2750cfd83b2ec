#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: two routers given the same next-hop set agree byte for byte, and
# so does a router rebuilt from scratch (issue 11: 28.4 % of slots differed).
#
# Router A (the attached one) gets each service's 10 instances one at a time,
# then weight changes, a removal and re-addition, a down/up; router B (a second
# agent in the same namespace, own pins) gets the final set at once, in reverse
# order. Their consistent-hash tables (read from the pinned maps with bpftool)
# must be identical, and route lookups (the op `servicectl route get` sends)
# must give the same answer on both for 2,000 random 5-tuples per family. Then
# A is uninstalled (`svcplaned --uninstall`: programs detached, pins removed,
# journal kept) and started again: it rebuilds the same tables. The
# percentages of differing slots are printed.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

LOOKUPS=${E2E_LOOKUPS:-2000}
SID4=2001:db8:5e::4
SID6=2001:db8:5e::6
N_ADDR=10

e2e_init
command -v bpftool >/dev/null || bail "setup" "bpftool not installed (make deps)"
step "setup: topology" topo_create
step "setup: agents" agents_start
step "setup: router B" agent_start routerb "$NS_ROUTER" --src "$ROUTER4" --src "$ROUTER6"
tap_ok "setup: topology, router A (attached), router B (same namespace, own pins), 3 instances"

# addr FAMILY K: the K-th instance address (1..3 real hosts, the others on their links).
addr() {
	local fam=$1 k=$2 n=$(($2 % 3 + 1))
	if [ "$k" -le 3 ]; then
		inst_addr$fam "$k"
	elif [ "$fam" = 4 ]; then
		echo "198.18.$n.$((20 + k))"
	else
		echo "2001:db8:18:$n::$((20 + k))"
	fi
}
# final weight of instance K
weight() { echo $((($1 * 7) % 5 + 1)); }

# history_a FAMILY SID BIND: router A, one change at a time.
history_a() {
	local fam=$1 sid=$2 bind=$3 k
	sctl router service add "$sid" --name "web$fam" || return 1
	sctl router bind add "$bind" "$sid" || return 1
	for k in $(seq 1 $N_ADDR); do
		sctl router instance add "$sid" "$(addr "$fam" "$k")" --weight 1 --name "i$k" ||
			return 1
	done
	for k in $(seq 1 $N_ADDR); do
		sctl router instance set "$sid" "$(addr "$fam" "$k")" --weight "$(weight "$k")" ||
			return 1
	done
	sctl router instance del "$sid" "$(addr "$fam" 4)" &&
		sctl router instance add "$sid" "$(addr "$fam" 4)" --weight "$(weight 4)" --name i4 &&
		sctl router instance set "$sid" "$(addr "$fam" 2)" --state down &&
		sctl router instance set "$sid" "$(addr "$fam" 2)" --state up
}
# final_b FAMILY SID BIND: router B, the final set in reverse order.
final_b() {
	local fam=$1 sid=$2 bind=$3 k
	sctl routerb service add "$sid" --name "web$fam" || return 1
	for k in $(seq $N_ADDR -1 1); do
		sctl routerb instance add "$sid" "$(addr "$fam" "$k")" --weight "$(weight "$k")" \
			--name "i$k" || return 1
	done
	sctl routerb bind add "$bind" "$sid"
}
step "router A: instances added one at a time, reweighted, removed and re-added" \
	eval 'history_a 4 "$SID4" "$VIP4:8080/tcp" && history_a 6 "$SID6" "[$VIP6]:8080/tcp"'
step "router B: the final sets at once, reversed" \
	eval 'final_b 4 "$SID4" "$VIP4:8080/tcp" && final_b 6 "$SID6" "[$VIP6]:8080/tcp"'

for fam in 4 6; do
	sid=SID$fam
	step "read tables ipv$fam" eval "ch_table router ${!sid} $E2E_WORK/a$fam && ch_table routerb ${!sid} $E2E_WORK/b$fam"
	ch_differ "ipv$fam router A (history) vs router B (final set, reversed)" \
		"$E2E_WORK/a$fam" "$E2E_WORK/b$fam"
	tap_result "ipv$fam: routers A and B hold byte-identical tables (0 % of slots differ)" $?
done

# route get on both routers for random 5-tuples: same instance, same id, by the hash.
compare_lookups() {
	route_queries "$LOOKUPS" "$2" >"$E2E_WORK/q$1" &&
		route_lookups_agree "$3" "$E2E_WORK/q$1" router routerb
}
run_logged compare_lookups 4 "$CLIENT4" "$VIP4:8080/tcp"
tap_result "route get ipv4: routers A and B pick the same instance for $LOOKUPS random 5-tuples" \
	$? "$RUN_OUT"
diag "$RUN_OUT"
run_logged compare_lookups 6 "[$CLIENT6]" "[$VIP6]:8080/tcp"
tap_result "route get ipv6: routers A and B pick the same instance for $LOOKUPS random 5-tuples" \
	$? "$RUN_OUT"
diag "$RUN_OUT"

# Router A uninstalled (programs detached, pins removed, journal kept) and started again.
uninstall_a() {
	agent_kill router TERM || return 1
	nsenter --net="/run/netns/$NS_ROUTER" "$SVC_BIN/svcplaned" --uninstall \
		--pin-dir "$(agent_pin router)" --state-dir "$(agent_state router)" \
		--socket "$(agent_sock router)" || return 1
	[ ! -e "$(agent_pin router)" ] || { echo "pins still there"; return 1; }
	agent_restart router
}
step "router A: svcplaned --uninstall, then started again" uninstall_a
for fam in 4 6; do
	sid=SID$fam
	step "read rebuilt table ipv$fam" ch_table router "${!sid}" "$E2E_WORK/a$fam-rebuilt"
	ch_differ "ipv$fam router A rebuilt vs router A before" "$E2E_WORK/a$fam" \
		"$E2E_WORK/a$fam-rebuilt"
	tap_result "ipv$fam: rebuilt router A holds the table it had (0 % of slots differ)" $?
done
exit 0
