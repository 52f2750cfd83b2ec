#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: data-plane health signals mark an instance down before the active check would.
#
# Three instances added with `instance add` (no register on bind: a dead
# server stays in the set), a TCP health check every 100 s with fall 3 (the
# active check alone would need more than 200 s after a failure: longer than
# this test waits, so only the data-plane signals can mark it down here). The
# router program also runs on the instance-facing interfaces, so it sees
# instance 3's RST+ACK answers to SYNs once its server is killed (kill -9): the
# agent reads the next hop's signals and marks it down, why "data plane: ...",
# and new connections go to the other two. (How soon: `make bench`.)
set -uo pipefail
source "$(dirname "$0")/lib.sh"

SID=2001:db8:5e::61
REQ=150

e2e_init
step "setup: topology" topo_create
step "setup: agents" agents_start
attach_inst_side() {
	local i
	for i in 1 2 3; do
		sctl router attach "$(if_router_inst "$i")" router || return 1
	done
}
step "setup: router program on the instance-facing interfaces" attach_inst_side
step "setup: instances" echods_start --port 8080 --tcp
out=$({ svc_create router "$SID" sig "$VIP4:8080/tcp" 4 1 1 1 &&
	sctl router service health "$SID" --tcp 8080 --interval 100000 --timeout 10000 \
		--rise 2 --fall 3; } 2>&1) || bail "setup: servicectl configuration" "$out"
A3=$(inst_addr4 3)

health_of() {
	sctl_j router instance list "$SID" | python3 -c '
import json, sys
for i in json.load(sys.stdin)["instances"]:
    if i["addr"] == sys.argv[1]:
        print(i["health"], i["why"])' "$1"
}
is_health() { [ "$(health_of "$1" | cut -d' ' -f1)" = "$2" ]; }
all_up() {
	local i
	for i in 1 2 3; do is_health "$(inst_addr4 "$i")" up || return 1; done
}
# (the first check of each instance runs at once: unknown -> up at its first success)
wait_until "$E2E_WAIT" all_up
tap_result "every instance checked healthy: $(health_of "$A3")" $?

# clients keep connecting; a third of their SYNs reach the dead server and are refused
# (their result is not looked at: a third of them are refused)
poke_then_down() {
	loadgen "$E2E_WORK/poke.json" --target "$VIP4:8080" --concurrency 4 conns 12
	is_health "$A3" down
}
stop_pid "${ECHOD_PID[3]}" KILL 2>/dev/null
if wait_until "$E2E_WAIT" poke_then_down; then
	why=$(health_of "$A3")
	diag "inst3 down after kill -9: $why"
	[[ "$why" == *"data plane"*"SYNs refused"* ]]
	tap_result "kill -9 of inst3's server: marked down by data-plane signals (the active check could not have yet)" $?
else
	tap_fail "kill -9 of inst3's server: marked down (now: $(health_of "$A3"))"
fi
loadgen "$E2E_WORK/after.json" --target "$VIP4:8080" --concurrency 4 conns "$REQ"
check_split "$E2E_WORK/after.json" "$REQ" 15 inst1=50 inst2=50
tap_result "after the signal: $REQ new connections avoid inst3" $?
exit 0
