#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: register on bind, unregister on close (kill -9).
#
# Each instance host runs svcplaned --register-to (the router agent's socket)
# with a local binding VIP:8080/tcp -> SID. Starting svc-echod there must make
# the host an instance at the router (servicectl -j instance list), and traffic
# must reach it; closing the listener must remove it again, round after round;
# kill -9 of the server must remove it, and new connections must never go to it
# afterwards, while held connections on the other instances stay intact. How
# fast this happens is measured by `make bench` (scripts/bench_registry.sh).
set -uo pipefail
source "$(dirname "$0")/lib.sh"

SID=2001:db8:5e::42
NEW=300

e2e_init
step "setup: topology" topo_create
start_agents() {
	local i ns
	agent_start router "$NS_ROUTER" --src "$ROUTER4" --src "$ROUTER6" || return 1
	sctl router attach "$(if_router)" router || return 1
	sctl router service add "$SID" --name reg && sctl router bind add "$VIP4:8080/tcp" "$SID" ||
		return 1
	for i in $(seq 1 $N_INST); do
		ns=$(inst_ns "$i")
		agent_start "inst$i" "$ns" --register-to "$(agent_sock router)" \
			--instance-addr "$(inst_addr4 "$i")" --lease 2 || return 1
		sctl "inst$i" attach "$(if_inst "$i")" endpoint &&
			sctl "inst$i" decap add "$ROUTER4" &&
			sctl "inst$i" service add "$SID" &&
			sctl "inst$i" bind add "$VIP4:8080/tcp" "$SID" || return 1
	done
}
step "setup: agents (instances register to the router agent)" start_agents
tap_ok "setup: router + 3 instance agents with --register-to, service bound on each"

# registered ADDR: the router agent lists ADDR as an instance of SID.
registered() {
	sctl_j router instance list "$SID" | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if any(i["addr"] == sys.argv[1] for i in d["instances"]) else 1)' "$1"
}
not_registered() { ! registered "$1"; }

# start_server I: svc-echod on instance I (it listens on the bound VIP:8080).
start_server() {
	bg_ns "$E2E_WORK/echod$1.log" "$(inst_ns "$1")" "$TOOLS/svc-echod" --name "inst$1" \
		--port 8080 --tcp
	ECHOD_PID[$1]=$BG_PID
}

for i in 1 2 3; do
	not_registered "$(inst_addr4 "$i")"
	tap_result "inst$i: not an instance at the router before its server listens" $?
	start_server "$i"
	wait_until "$E2E_WAIT" registered "$(inst_addr4 "$i")"
	tap_result "inst$i: svc-echod listens -> registered at the router" $? \
		"$(tail -n 5 "$(agent_log "inst$i")")"
	if [ "$i" = 1 ]; then
		f="$E2E_WORK/first.json"
		loadgen "$f" --target "$VIP4:8080" --concurrency 4 conns 50
		check_split "$f" 50 0 inst1=100
		tap_result "inst1 registered: traffic reaches it (50/50 connections)" $?
	fi
done

# Register on listen(), unregister on close(), round after round: a listener in
# the instance namespace, the router's API polled until it lists the instance,
# and until it no longer does. (How fast: scripts/bench_registry.sh.)
ROUNDS=10
f="$E2E_WORK/cycle.json"
stop_pid "${ECHOD_PID[3]}" KILL 2>/dev/null
wait_until "$E2E_WAIT" not_registered "$(inst_addr4 3)" || bail "inst3 unregistered" ""
in_ns "$(inst_ns 3)" python3 "$(dirname "$0")/reg_cycle.py" "$(agent_sock router)" "$SID" \
	"$(inst_addr4 3)" "$VIP4" 8080 "$ROUNDS" "$E2E_WAIT" >"$f"
json_check "$f" "
note('register/unregister rounds: %d registered, %d unregistered, of $ROUNDS' % (d['registered'], d['unregistered']))
if d['registered'] != $ROUNDS or d['unregistered'] != $ROUNDS:
    fail('round %d: %s' % (d['registered'] + 1, d['error']))
"
tap_result "$ROUNDS rounds of listen() -> registered, close() -> unregistered at the router" $?
start_server 3
wait_until "$E2E_WAIT" registered "$(inst_addr4 3)"
tap_result "inst3 registers again" $?

f="$E2E_WORK/three.json"
loadgen "$f" --target "$VIP4:8080" --concurrency 8 conns "$NEW"
check_split "$f" "$NEW" 15 inst1=33.3 inst2=33.3 inst3=33.3
tap_result "three registered instances share $NEW new connections" $?

step "hold: start" hold_start held --target "$VIP4:8080" hold 30
kill -KILL "${ECHOD_PID[3]}" 2>/dev/null
wait "${ECHOD_PID[3]}" 2>/dev/null
wait_until "$E2E_WAIT" not_registered "$(inst_addr4 3)"
tap_result "kill -9 of inst3's server: unregistered at the router" $? \
	"$(tail -n 5 "$(agent_log inst3)")"
f="$E2E_WORK/after.json"
loadgen "$f" --target "$VIP4:8080" --concurrency 8 conns "$NEW"
check_split "$f" "$NEW" 15 inst1=50 inst2=50
tap_result "after kill -9: $NEW new connections all on inst1/inst2" $?
step "hold: stop" hold_stop held
check_hold "$E2E_WORK/held.json" 30 inst3
tap_result "held connections on inst1/inst2 intact across inst3's death" $?
exit 0
