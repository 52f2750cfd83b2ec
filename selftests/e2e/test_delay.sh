#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: DELAY, the on-demand resolution slow path.
#
# A DELAY rule covers 2001:db8:dd::/48; service SID (inside it, three
# instances) is not installed in the service table until a packet asks for
# it. The client's first connection to its VIP is held by the router, resolved
# by the agent (which installs SID/128) and re-injected: the connect completes
# with no SYN retransmission (TCP_INFO tcpi_total_retrans of the client socket:
# a SYN that was not re-injected is retransmitted by the client after 1 s).
# The router agent runs with --delay-unresolvable rst: a connect to a binding
# whose service has no instance is refused (ECONNREFUSED, the agent's RST) at the
# first SYN, no retransmission, IPv4 and IPv6. (Connect times: `make bench`.)
# Then a flood of SYNs (400
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
# {retrans, greeting} or {error, retrans}: retrans = SYN retransmissions
# (struct tcp_info: tcpi_total_retrans is the u32 at offset 100; readable after a
# refused connect too). The timeout only bounds a broken run.
connect_probe() {
	client_run python3 - "$1" "$2" "$E2E_WAIT" <<'PY'
import json, socket, struct, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.settimeout(float(sys.argv[3]))
def retrans():
    return struct.unpack_from("I", s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104), 100)[0]
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    g = s.recv(64).decode(errors="replace").strip()
    print(json.dumps({"retrans": retrans(), "greeting": g}))
except OSError as e:
    print(json.dumps({"error": str(e), "retrans": retrans()}))
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
    if not d['greeting'].startswith('svc-echod inst'):
        fail('greeting %r' % d['greeting'])
"
tap_result "first connection to an unresolved service: connected, 0 SYN retransmissions, an instance answered" $?
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

# unresolvable + --delay-unresolvable rst: refused at the first SYN (a dropped SYN
# would be retransmitted, then time out)
for vip in "$VIP4" "$VIP6"; do
	s0=$(delay_stat rst_sent)
	connect_probe "$vip" 9090 >"$E2E_WORK/refused.json"
	json_check "$E2E_WORK/refused.json" "
note('connect to $vip:9090 (no instance): %s' % json.dumps(d))
if 'Connection refused' not in d.get('error', ''):
    fail('want ECONNREFUSED, got %s' % json.dumps(d))
if d['retrans'] != 0:
    fail('refused only after %d SYN retransmissions' % d['retrans'])
"
	rc=$?
	s1=$(delay_stat rst_sent)
	[ "$s1" -gt "$s0" ] || rc=1
	tap_result "unresolvable serviceID, --delay-unresolvable rst: $vip:9090 refused at the first SYN (rst_sent $s0 -> $s1)" $rc
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
# rx_packets: frames the router's interface took in (its XDP program has run on them)
rx_packets() {
	ip -n "$NS_ROUTER" -s -j link show dev "$(if_router)" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])'
}
kill -STOP "${AGENT_PID[router]}"
rx0=$(rx_packets)
# connect() sends the SYN before it returns; closing a SYN_SENT socket sends nothing
client_run python3 - "$VIP4" <<'PY'
import socket, sys
for i in range(400):
    s = socket.socket()
    s.bind(("198.18.0.%d" % (10 + i % 40), 0))
    s.setblocking(False)
    try:
        s.connect((sys.argv[1], 9090))
    except BlockingIOError:
        pass
    s.close()
PY
# the agent runs again only once the router program has seen every SYN of the flood
flood_in() { [ "$(rx_packets)" -ge $((rx0 + 400)) ]; }
wait_until "$E2E_WAIT" flood_in || diag "the router took in $(($(rx_packets) - rx0)) frames of 400 SYNs"
kill -CONT "${AGENT_PID[router]}"
flood_seen() { [ "$(delay_stat received)" -ge $((d1 + 300)) ]; }
wait_until "$E2E_WAIT" flood_seen || diag "the agent did not read 300 events"
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
