#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: DELAY, the on-demand resolution slow path.
#
# A DELAY rule covers 2001:db8:dd::/48; service SID (inside it, three
# instances) is not installed in the service table until a packet asks for
# it. The client's first connection to its VIP is held by the router, resolved
# by the agent (which installs SID/128) and re-injected: the connect completes
# well under a second with no SYN retransmission (TCP_INFO tcpi_total_retrans
# of the client socket). The router agent runs with --delay-unresolvable rst:
# a connect to a binding whose service has no instance is refused (ECONNREFUSED,
# the agent's RST) within 200 ms, IPv4 and IPv6. Then a flood of SYNs (400
# connects from 40 source addresses) to it: with --delay-queue 4 the queue
# overflows (drop_queue counted), the per-source rate limit drops too, nothing
# crashes, the agent still answers and the resolved service still serves.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

PFX=2001:db8:dd::/48
SID=2001:db8:dd::1
SID_NONE=2001:db8:dd::2

e2e_init
step "setup: topology" topo_create
# agents_start with the router's DELAY options
start_agents() {
	local i ns
	agent_start router "$NS_ROUTER" --src "$ROUTER4" --src "$ROUTER6" \
		--delay-unresolvable rst --delay-queue 4 || return 1
	sctl router attach "$(if_router)" router || return 1
	for i in $(seq 1 $N_INST); do
		ns=$(inst_ns "$i")
		agent_start "inst$i" "$ns" || return 1
		sctl "inst$i" attach "$(if_inst "$i")" endpoint &&
			sctl "inst$i" decap add "$ROUTER4" && sctl "inst$i" decap add "$ROUTER6" ||
			return 1
	done
}
step "setup: agents" start_agents
step "setup: instances" echods_start --port 8080 --tcp
out=$({ sctl router rule add "$PFX" delay &&
	svc_create router "$SID" dl "$VIP4:8080/tcp" 4 1 1 1 &&
	sctl router service add "$SID_NONE" --name none &&
	sctl router bind add "$VIP4:9090/tcp" "$SID_NONE" &&
	sctl router bind add "[$VIP6]:9090/tcp" "$SID_NONE"; } 2>&1) ||
	bail "setup: servicectl configuration" "$out"

has_own_rule() {
	sctl_j router rule list | python3 -c '
import json, sys
sys.exit(0 if any(r["prefix"] == sys.argv[1] + "/128" for r in json.load(sys.stdin)["rules"]) else 1)' "$1"
}
delay_stat() {
	sctl_j router stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["delay"][sys.argv[1]])' "$1"
}

# entries of the router's service_table map (servicectl status: the map's own count)
table_entries() {
	sctl_j router status | python3 -c '
import json, sys
print([m["entries"] for m in json.load(sys.stdin)["maps"] if m["map"] == "service_table"][0])'
}
n0=$(table_entries)
! has_own_rule "$SID" && [ "$n0" = 1 ]
tap_result "before any packet: $SID/128 not installed (service_table holds $n0 entry: the DELAY rule)" $?

# connect_probe HOST PORT: one TCP connect from the client; prints JSON
# {ms, retrans, greeting} or {error}.
connect_probe() {
	client_run python3 - "$1" "$2" <<'PY'
import json, socket, struct, sys, time
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.settimeout(3)
t = time.monotonic()
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    ms = (time.monotonic() - t) * 1000
    g = s.recv(64).decode(errors="replace").strip()
    # struct tcp_info: tcpi_total_retrans is the u32 at offset 100
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    print(json.dumps({"ms": ms, "retrans": struct.unpack_from("I", info, 100)[0], "greeting": g}))
except OSError as e:
    print(json.dumps({"error": str(e), "ms": (time.monotonic() - t) * 1000}))
PY
}

d0=$(delay_stat received)
connect_probe "$VIP4" 8080 >"$E2E_WORK/first.json"
json_check "$E2E_WORK/first.json" "
note('first connection: %s' % json.dumps(d))
if 'error' in d:
    fail('connect failed: %s' % d['error'])
else:
    if d['retrans'] != 0:
        fail('%d retransmissions (the held SYN was not re-injected)' % d['retrans'])
    if d['ms'] >= 500:
        fail('connect took %.1f ms, want < 500' % d['ms'])
    if not d['greeting'].startswith('svc-echod inst'):
        fail('greeting %r' % d['greeting'])
"
tap_result "first connection to an unresolved service: connected fast, 0 SYN retransmissions, an instance answered" $?
d1=$(delay_stat received)
r1=$(delay_stat reinjected)
diag "delay events received $d0 -> $d1, re-injected $r1"
n1=$(table_entries)
diag "service_table entries $n0 -> $n1"
has_own_rule "$SID" && [ "$n1" = 2 ] && [ "$d1" -gt "$d0" ] && [ "$r1" -ge 1 ]
tap_result "the agent received the held SYN, installed $SID/128 and re-injected it" $?

loadgen "$E2E_WORK/after.json" --target "$VIP4:8080" --concurrency 4 conns 100
check_split "$E2E_WORK/after.json" 100 20 inst1=33.3 inst2=33.3 inst3=33.3
tap_result "later connections go straight through the installed rule" $?

# unresolvable + --delay-unresolvable rst: refused at once (a SYN retransmission
# would take 1 s; a dropped SYN would time out)
for vip in "$VIP4" "$VIP6"; do
	s0=$(delay_stat rst_sent)
	connect_probe "$vip" 9090 >"$E2E_WORK/refused.json"
	json_check "$E2E_WORK/refused.json" "
note('connect to $vip:9090 (no instance): %s' % json.dumps(d))
if 'Connection refused' not in d.get('error', ''):
    fail('want ECONNREFUSED, got %s' % json.dumps(d))
if d['ms'] >= 200:
    fail('refused after %.1f ms, want < 200' % d['ms'])
"
	rc=$?
	s1=$(delay_stat rst_sent)
	[ "$s1" -gt "$s0" ] || rc=1
	tap_result "unresolvable serviceID, --delay-unresolvable rst: $vip:9090 refused fast (rst_sent $s0 -> $s1)" $rc
done

# flood: 400 non-blocking connects from 40 source addresses to a serviceID
# nobody serves (many sources: the per-source rate limit lets them through).
# The router agent is frozen (SIGSTOP) during the flood, so the held packets
# wait in the ring buffer and reach the agent as one burst when it runs again:
# the 4-entry queue overflows whatever the machine's speed (without the freeze
# a fast agent drains them one by one and nothing overflows).
u0=$(delay_stat unresolvable)
q0=$(delay_stat drop_queue)
for k in $(seq 10 49); do
	ip -n "$NS_CLIENT" addr add "198.18.0.$k/24" dev "$(if_client)" || bail "flood: source addresses" ""
done
kill -STOP "${AGENT_PID[router]}"
client_run python3 - "$VIP4" <<'PY'
import socket, sys, time
socks = []
for i in range(400):
    s = socket.socket()
    s.bind(("198.18.0.%d" % (10 + i % 40), 0))
    s.setblocking(False)
    try:
        s.connect((sys.argv[1], 9090))
    except BlockingIOError:
        pass
    socks.append(s)
time.sleep(0.5)
for s in socks:
    s.close()
PY
kill -CONT "${AGENT_PID[router]}"
flood_seen() { [ "$(delay_stat received)" -ge $((d1 + 300)) ]; }
wait_until 10 flood_seen || diag "the agent did not read 300 events within 10 s"
sctl_j router stats >"$E2E_WORK/flood.json" 2>&1
json_check "$E2E_WORK/flood.json" "
x = d['delay']
note('after the flood: %s' % json.dumps(x, sort_keys=True))
if x['received'] - $d1 < 300:
    fail('only %d events received for 400 SYNs' % (x['received'] - $d1))
if x['drop_queue'] - $q0 < 1:
    fail('no queue overflow counted (drop_queue)')
if x['unresolvable'] - $u0 < 1:
    fail('no unresolvable event counted')
"
tap_result "SYN flood to an unresolvable serviceID: queue overflow (--delay-queue 4) dropped and counted, the agent answers" $?

loadgen "$E2E_WORK/post.json" --target "$VIP4:8080" --concurrency 4 conns 60
check_split "$E2E_WORK/post.json" 60 25 inst1=33.3 inst2=33.3 inst3=33.3
tap_result "after the flood: the resolved service still serves, agent alive" $?
pid_running "${AGENT_PID[router]}"
tap_result "router agent still running" $?
exit 0
