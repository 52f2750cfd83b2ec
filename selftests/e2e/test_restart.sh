#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: the router agent crashes (kill -9) and restarts under load; then a simulated reboot.
#
# 1. kill -9 of the router's svcplaned while 100 long-lived connections and a
#    stream of new connections run: no connection fails, traffic keeps
#    flowing while no agent runs, and the restarted agent adopts the pinned
#    state (same program attached, flow table still filled).
# 2. Simulated reboot: agent killed, XDP program detached, pin directory
#    removed; the restarted agent restores every service from its journal and
#    traffic flows again as configured.
# Configured only through servicectl; asserted from svc-loadgen's measurements
# and servicectl -j output.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

HOLD=100
SID=2001:db8:5e::4
SIDU=2001:db8:5e::5

e2e_init
step "setup: topology" topo_create
step "setup: agents" agents_start
step "setup: instances" echods_start --port 8080 --tcp --udp
out=$(svc_create router "$SID" web "$VIP4:8080/tcp" 4 1 1 2 &&
	svc_create router "$SIDU" dns "[$VIP6]:8080/udp" 6 1 1 1 2>&1) ||
	bail "setup: servicectl configuration" "$out"
tap_ok "setup: topology, 4 agents, 3 instances, 2 services configured with servicectl"

# router_prog_id: id of the XDP program servicectl -j status reports on r-ID (empty if none).
router_prog_id() {
	sctl_j router status | python3 -c '
import json, sys
d, ifname = json.load(sys.stdin), sys.argv[1]
for a in d["attachments"]:
    if a["iface"] == ifname and a["attached"]:
        print(a["prog_id"])' "$(if_router)"
}

# flow_count: servicectl -j flows --count.
flow_count() {
	sctl_j router flows --count | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["count"])'
}

# config_dump FILE: services, instances and bindings as servicectl -j lists
# them (the operator-visible fields), normalised for comparison.
config_dump() {
	{
		sctl_j router service list && sctl_j router instance list && sctl_j router bind list
	} >"$1.raw" || return 1
	python3 - "$1.raw" >"$1" <<'EOF'
import json, sys
text, dec, i, out = open(sys.argv[1]).read(), json.JSONDecoder(), 0, {}
while True:
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    o, i = dec.raw_decode(text, i)
    out.update(o)
keep = {"services": ("sid", "name", "instance_count", "up_count", "binding_count"),
        "instances": ("sid", "addr", "name", "weight", "state"),
        "bindings": ("binding", "sid")}
for k, fields in keep.items():
    out[k] = sorted(([{f: x.get(f) for f in fields} for x in out.get(k, [])]),
                    key=lambda x: json.dumps(x, sort_keys=True))
print(json.dumps(out, sort_keys=True, indent=1))
EOF
}

# ---- 1. kill -9 under load ----
step "crash: start hold" hold_start crash --target "$VIP4:8080" hold "$HOLD"
# new connections all along (paced: each leaves a TIME_WAIT socket, and the
# client has about 28000 ports)
loadgen_bg "$E2E_WORK/crash-new.json" --target "$VIP4:8080" --concurrency 4 --interval 5 \
	--stop-file "$E2E_WORK/crash-new.stop" --status-file "$E2E_WORK/crash-new.status" conns 0
NEW_PID=$BG_PID
# new_ok: connections the background stream completed so far
new_ok() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["ok"])' "$E2E_WORK/crash-new.status"; }
json_wait "$E2E_WORK/crash-new.status" "$E2E_WAIT" "ok = d['ok'] >= 20; why = '%d ok' % d['ok']" ||
	bail "crash: stream of new connections" "$(cat "$E2E_WORK/crash-new.json.log")"
prog0=$(router_prog_id)
flows0=$(flow_count)
config_dump "$E2E_WORK/config0.json"
diag "before the crash: router prog id ${prog0:-none}, $flows0 flows"

agent_kill router KILL
if ! sctl router status >/dev/null 2>&1; then
	tap_ok "crash: svcplaned killed with SIGKILL (its API no longer answers)"
else
	bail "crash: svcplaned still answers after SIGKILL" ""
fi
# while no agent runs, the pinned maps and the attached program keep serving
ok0=$(new_ok)
loadgen "$E2E_WORK/crash-during.json" --target "$VIP4:8080" --concurrency 8 conns 500
check_split "$E2E_WORK/crash-during.json" 500 15 inst1=25 inst2=25 inst3=50
tap_result "crash: 500 new connections complete while no agent runs" $?
hold_mark crash
hold_wait crash 3
tap_result "crash: the $HOLD long-lived connections keep exchanging while no agent runs" $?
json_wait "$E2E_WORK/crash-new.status" "$E2E_WAIT" "ok = d['ok'] >= $ok0 + 20; give_up = d['failed'] > 0
why = '%d ok since the kill, %d failed' % (d['ok'] - $ok0, d['failed'])"
tap_result "crash: the stream of new connections goes on while no agent runs" $?


# A next hop left up in the pinned map that the registry does not know (id 4242,
# 10.99.0.1): the restarted agent's first reconcile must zero it.
stray_flags() {
	bpftool -j map lookup pinned "$(agent_pin router)/nexthops" key 0x92 0x10 0 0 |
		python3 -c 'import json,sys; print(int(json.load(sys.stdin)["value"][16], 16))'
}
bpftool map update pinned "$(agent_pin router)/nexthops" key 0x92 0x10 0 0 \
	value 0 0 0 0 0 0 0 0 0 0 0xff 0xff 10 99 0 1 1 0 0 0 0 0 0 0
[ "$(stray_flags)" = 1 ] || bail "crash: write a stray next hop 4242 into the pinned map" ""
run_logged agent_restart router
tap_result "crash: svcplaned restarts (ready, API answers)" $? "$RUN_OUT"
if [ "$(stray_flags)" = 0 ]; then
	tap_ok "crash: restarted agent zeroed a next hop the registry does not know"
else
	tap_fail "crash: restarted agent zeroed a next hop the registry does not know" \
		"next hop 4242 flags '$(stray_flags)' after the restart"
fi
prog1=$(router_prog_id)
flows1=$(flow_count)
config_dump "$E2E_WORK/config1.json"
diag "after the restart: router prog id ${prog1:-none}, $flows1 flows"
if [ -n "$prog0" ] && [ "$prog0" = "$prog1" ]; then
	tap_ok "crash: restarted agent adopted the attached program (prog id $prog1)"
else
	tap_fail "crash: restarted agent adopted the attached program" \
		"status shows prog id '${prog1}' on $(if_router), before the crash '${prog0}'"
fi
# the flow table survived: at least the held connections are still in it
if [ "${flows1:-0}" -ge "$HOLD" ] 2>/dev/null; then
	tap_ok "crash: flow table adopted ($flows1 flows, >= $HOLD held connections)"
else
	tap_fail "crash: flow table adopted" "flows --count says '${flows1}', want >= $HOLD"
fi
if cmp -s "$E2E_WORK/config0.json" "$E2E_WORK/config1.json"; then
	tap_ok "crash: services, instances and bindings unchanged after the restart"
else
	tap_fail "crash: services, instances and bindings unchanged after the restart" \
		"$(diff "$E2E_WORK/config0.json" "$E2E_WORK/config1.json" | head -20)"
fi
loadgen "$E2E_WORK/crash-after.json" --target "$VIP4:8080" --concurrency 8 conns 2000
check_split "$E2E_WORK/crash-after.json" 2000 5 inst1=25 inst2=25 inst3=50
tap_result "crash: after the restart 2000 new connections split 25/25/50" $?

touch "$E2E_WORK/crash-new.stop"
step "crash: stop hold" hold_stop crash
wait_until "$E2E_WAIT" pid_gone "$NEW_PID"
check_hold "$E2E_WORK/crash.json" "$HOLD"
tap_result "crash: all $HOLD long-lived connections intact across kill -9 and restart" $?
json_check "$E2E_WORK/crash-new.json" "
note('new connections during the crash and restart: %d ok, %d failed, per instance %s' % (d['ok'], d['failed'], json.dumps(d['instances'], sort_keys=True)))
if d['failed']:
    fail('failures: ' + json.dumps(d['failure_reasons']))
if d['ok'] < $ok0 + 20:
    fail('only %d connections completed' % d['ok'])
"
tap_result "crash: no new connection failed across kill -9 and restart" $?

# ---- 2. simulated reboot: bpffs and XDP state gone, journal kept ----
agent_kill router KILL
out=$(in_ns "$NS_ROUTER" ip link set dev "$(if_router)" xdp off 2>&1) ||
	bail "reboot: detach XDP" "$out"
rm -rf "$(agent_pin router)"
[ -e "$(agent_pin router)" ] && bail "reboot: remove pin dir" "$(agent_pin router) still exists"
# nothing steers traffic now: the VIP is not reachable
loadgen "$E2E_WORK/reboot-down.json" --target "$VIP4:8080" conns 3
json_check "$E2E_WORK/reboot-down.json" "
note('with no router program: %s' % json.dumps(d['failure_reasons']))
if d['ok']:
    fail('%d connections succeeded with no router program' % d['ok'])"
tap_result "reboot: with the program detached and pins removed, the VIP is unreachable" $?

run_logged agent_restart router
tap_result "reboot: svcplaned starts with an empty bpffs" $? "$RUN_OUT"
config_dump "$E2E_WORK/config2.json"
if cmp -s "$E2E_WORK/config0.json" "$E2E_WORK/config2.json"; then
	tap_ok "reboot: services, instances and bindings restored from the journal"
else
	tap_fail "reboot: services, instances and bindings restored from the journal" \
		"$(diff "$E2E_WORK/config0.json" "$E2E_WORK/config2.json" | head -20)"
fi
prog2=$(router_prog_id)
if [ -n "$prog2" ]; then
	tap_ok "reboot: router program attached again to $(if_router) (prog id $prog2)"
else
	tap_fail "reboot: router program attached again to $(if_router)" \
		"servicectl -j status shows no program on $(if_router)"
fi
loadgen "$E2E_WORK/reboot-after.json" --target "$VIP4:8080" --concurrency 8 conns 2000
check_split "$E2E_WORK/reboot-after.json" 2000 5 inst1=25 inst2=25 inst3=50
tap_result "reboot: 2000 new TCP connections split 25/25/50 again" $?
loadgen "$E2E_WORK/reboot-udp.json" --target "[$VIP6]:8080" --concurrency 8 udp 600
check_split "$E2E_WORK/reboot-udp.json" 600 8 inst1=33.3 inst2=33.3 inst3=33.3
tap_result "reboot: the second service (IPv6 UDP, 1:1:1) restored too" $?
exit 0
