#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: active health checks (servicectl service health).
#
# Three svc-echod --http instances listen on the wildcard address, so the
# router agent's checks reach them at their instance addresses. inst3 is frozen
# with SIGSTOP: the kernel still accepts its connections, but the HTTP check
# gets no answer, so after `fall` timeouts it is marked down (why names the
# timeouts), and HTTP requests through the router then go only to inst1/inst2
# (a request sent to the frozen inst3 would fail). After SIGCONT it comes back
# after `rise` successes and serves again. Then a TCP check marks a killed
# instance down with "Connection refused". The check timeout is long enough
# that a healthy instance on a loaded machine never misses it; how fast an
# instance is marked down is `make bench`'s question, not this test's.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

SID=2001:db8:5e::1
IVAL=2000 TMO=2000 RISE=2 FALL=3
REQ=150

e2e_init
step "setup: topology" topo_create
step "setup: agents" agents_start
step "setup: instances (wildcard listeners)" echods_start --port 8080 --http
out=$(svc_create router "$SID" hc "$VIP4:8080/tcp" 4 1 1 1 2>&1) ||
	bail "setup: servicectl configuration" "$out"
A3=$(inst_addr4 3)

# health_of ADDR: the router agent's health of the instance at ADDR (up/down/unknown) and why.
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

out=$(sctl router service health "$SID" --http 8080 --path / --expect 200 --interval "$IVAL" \
	--timeout "$TMO" --rise "$RISE" --fall "$FALL" 2>&1) || bail "servicectl service health" "$out"
json_check <(sctl_j router service show "$SID") "
h = d['service']['health']
note('health settings: %s' % json.dumps(h, sort_keys=True))
want = {'type': 'http', 'port': 8080, 'path': '/', 'expect': 200, 'interval_ms': $IVAL, 'timeout_ms': $TMO, 'rise': $RISE, 'fall': $FALL}
if h != want:
    fail('service show health %s, want %s' % (h, want))
"
tap_result "servicectl service health: settings recorded (service show -j)" $?

wait_until "$E2E_WAIT" all_up
tap_result "every instance checked healthy: $(health_of "$A3")" $?

# freeze inst3: connections are still accepted by its kernel, HTTP goes unanswered
kill -STOP "${ECHOD_PID[3]}"
if wait_until "$E2E_WAIT" is_health "$A3" down; then
	why=$(health_of "$A3")
	diag "inst3 marked down after SIGSTOP (interval $IVAL ms, timeout $TMO ms, fall $FALL): $why"
	# the poll above may see the state a check late: at least FALL timeouts
	[[ "$why" =~ ([0-9]+)\ consecutive\ timeouts ]] && [ "${BASH_REMATCH[1]}" -ge "$FALL" ]
	tap_result "SIGSTOP: inst3 down after $FALL consecutive timeouts (why names them)" $?
else
	tap_fail "SIGSTOP: inst3 down (now: $(health_of "$A3"))"
fi
json_check <(sctl_j router instance list "$SID") "
s = [i['status'] for i in d['instances'] if i['addr'] == '$A3']
note('inst3 status %s' % s)
if s != ['unhealthy']:
    fail('inst3 status %s, want unhealthy' % s)
"
tap_result "instance list: inst3 status unhealthy" $?

loadgen "$E2E_WORK/down.json" --target "$VIP4:8080" --concurrency 4 http "$REQ"
check_split "$E2E_WORK/down.json" "$REQ" 15 inst1=50 inst2=50
tap_result "while inst3 is down: $REQ HTTP requests all succeed, none reaches inst3" $?

kill -CONT "${ECHOD_PID[3]}"
if wait_until "$E2E_WAIT" is_health "$A3" up; then
	diag "inst3 up again after SIGCONT (rise $RISE): $(health_of "$A3")"
	tap_ok "SIGCONT: inst3 up again (rise $RISE)"
else
	tap_fail "SIGCONT: inst3 up again (now: $(health_of "$A3"))"
fi
loadgen "$E2E_WORK/up.json" --target "$VIP4:8080" --concurrency 4 http 300
check_split "$E2E_WORK/up.json" 300 15 inst1=33.3 inst2=33.3 inst3=33.3
tap_result "after rise: inst3 serves its share again" $?

# a TCP check: a killed instance refuses connections
out=$(sctl router service health "$SID" --tcp 8080 --interval "$IVAL" --timeout "$TMO" \
	--rise 1 --fall 2 2>&1) || bail "servicectl service health --tcp" "$out"
wait_until "$E2E_WAIT" all_up
tap_result "tcp check: every instance healthy" $?
stop_pid "${ECHOD_PID[2]}" KILL 2>/dev/null
A2=$(inst_addr4 2)
if wait_until "$E2E_WAIT" is_health "$A2" down; then
	why=$(health_of "$A2")
	diag "inst2: $why"
	[[ "$why" == *"refused"* ]]
	tap_result "tcp check: killed inst2 down, why says connection refused" $?
else
	tap_fail "tcp check: killed inst2 down (now: $(health_of "$A2"))"
fi
loadgen "$E2E_WORK/tcp.json" --target "$VIP4:8080" --concurrency 4 http "$REQ"
check_split "$E2E_WORK/tcp.json" "$REQ" 15 inst1=50 inst3=50
tap_result "tcp check: $REQ requests avoid the dead inst2" $?

out=$(sctl router service health "$SID" --off 2>&1) || bail "service health --off" "$out"
[ "$(health_of "$A2" | cut -d' ' -f1)" = unknown ]
tap_result "service health --off: health unknown again" $?
exit 0
