#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: DELAY, the on-demand resolution slow path, by both re-injection paths.
#
# A DELAY rule covers 2001:db8:dd::/48; service SID (inside it, three
# instances) is not installed in the service table until a packet asks for
# it. The client's first connection to its VIP is held by the router, resolved
# by the agent (which installs SID/128) and re-injected: the connect completes
# with no SYN retransmission (TCP_INFO tcpi_total_retrans of the client socket
# and the client namespace's TCP RetransSegs, both 0).
#
# Copy path first (forced in the router agent's config file, as an operator
# would: works on any kernel): the router program runs on the held frame
# without live mode and the agent sends its output with AF_PACKET. The router
# agent also runs with --delay-unresolvable rst: a connect to a binding whose
# service has no instance is refused (ECONNREFUSED, the agent's RST) without a
# SYN retransmission, IPv4 and IPv6. Then a flood of SYNs (400 connects from 40
# source addresses) to it: with --delay-queue 4 the queue overflows
# (drop_queue counted), nothing crashes, the agent still answers and the
# resolved service still serves.
#
# Then the agent restarted without the option (auto) reports the path the
# kernel allows, and the live path (BPF_F_TEST_XDP_LIVE_FRAMES) is forced for a
# second service over IPv6; on a kernel that refuses live frames, forcing it
# stops the agent's start with the reason, and the live connection is skipped.
# Last, a kernel that refuses live frames is emulated on any kernel
# (refuse_live.c, LD_PRELOAD): auto falls back to copy and a client still
# connects (IPv6) with 0 SYN retransmissions; forced live does not start; a
# refusal after the probe switches auto to copy at run time.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

PFX=2001:db8:dd::/48
SID=2001:db8:dd::1
SID_NONE=2001:db8:dd::2
SID_LIVE=2001:db8:dd::3

e2e_init
step "setup: topology" topo_create

# The router agent's DELAY settings, from a config file.
ROUTER_CONF=$E2E_WORK/router.conf
cat >"$ROUTER_CONF" <<EOF
# test_delay: the copy path, RSTs for unresolvable packets, a tiny queue
delay-reinject = copy
delay-unresolvable = rst
delay-queue = 4
EOF
start_agents() {
	local i ns
	agent_start router "$NS_ROUTER" --src "$ROUTER4" --src "$ROUTER6" \
		--config "$ROUTER_CONF" || return 1
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
# status_field KEY: a field of the router agent's status "agent" block
status_field() {
	sctl_j router status | python3 -c 'import json, sys; print(json.load(sys.stdin)["agent"][sys.argv[1]])' "$1"
}
# feature_state NAME: yes|no|unknown, as the router agent probed it
feature_state() {
	sctl_j router status | python3 -c '
import json, sys
print([f["state"] for f in json.load(sys.stdin)["features"] if f["feature"] == sys.argv[1]][0])' "$1"
}
# metric LINE_PREFIX: the value of the router agent's metric line starting so
metric() {
	in_ns "$NS_ROUTER" python3 - "${AGENT_PORT[router]}" "$1" "$E2E_WAIT" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1],
                              timeout=float(sys.argv[3])).read().decode()
vals = [l.rsplit(" ", 1)[1] for l in body.splitlines() if l.startswith(sys.argv[2] + " ")]
print(vals[0] if vals else "missing")
PY
}

# entries of the router's service_table map (servicectl status: the map's own count)
table_entries() {
	sctl_j router status | python3 -c '
import json, sys
print([m["entries"] for m in json.load(sys.stdin)["maps"] if m["map"] == "service_table"][0])'
}

# connect_probe HOST PORT: one TCP connect from the client; prints JSON
# {retrans, retrans_segs, greeting} or {error, retrans, retrans_segs}:
# tcpi_total_retrans of the socket, and the client namespace's TCP
# RetransSegs counter before and after (nothing else sends TCP there meanwhile).
connect_probe() {
	client_run python3 - "$1" "$2" "$E2E_WAIT" <<'PY'
import json, socket, struct, sys
def retrans_segs():
    with open("/proc/net/snmp") as f:
        rows = [l.split() for l in f if l.startswith("Tcp:")]
    return int(rows[1][rows[0].index("RetransSegs")])
def total_retrans(s):
    # struct tcp_info: tcpi_total_retrans is the u32 at offset 100
    return struct.unpack_from("I", s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104), 100)[0]
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.settimeout(float(sys.argv[3]))  # only bounds a broken run
r0 = retrans_segs()
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    g = s.recv(64).decode(errors="replace").strip()
    print(json.dumps({"retrans": total_retrans(s), "retrans_segs": retrans_segs() - r0, "greeting": g}))
except OSError as e:
    print(json.dumps({"error": str(e), "retrans": total_retrans(s), "retrans_segs": retrans_segs() - r0}))
PY
}
# check_first FILE: the probe connected with 0 SYN retransmissions and an instance answered
check_first() {
	json_check "$1" "
note('first connection: %s' % json.dumps(d))
if 'error' in d:
    fail('connect failed: %s' % d['error'])
elif not d['greeting'].startswith('svc-echod inst'):
    fail('greeting %r' % d['greeting'])
if d['retrans'] != 0 or d['retrans_segs'] != 0:
    fail('SYN retransmitted (tcpi_total_retrans %d, RetransSegs +%d): the held SYN was not re-injected' % (d['retrans'], d['retrans_segs']))
"
}

# ---- the copy path (forced by the config file) ----

p=$(status_field delay_reinject)/$(status_field delay_reinject_path)
m=$(metric 'svcplane_delay_reinject_path{path="copy"}')
[ "$p" = copy/copy ] && [ "$m" = 1 ]
tap_result "config file delay-reinject = copy: status says copy/copy ($p), metric path=copy is $m" $?

LIVE=$(feature_state xdp_live_frames)
LIVE_WHY=$(sctl_j router status | python3 -c '
import json, sys
print([f["detail"] for f in json.load(sys.stdin)["features"] if f["feature"] == "xdp_live_frames"][0])')
diag "router agent's probe: xdp_live_frames $LIVE $LIVE_WHY"
ml=$(metric 'svcplane_kernel_feature{feature="xdp_live_frames"}')
rc=0
case $LIVE/$ml in yes/1 | no/0) ;; *) rc=1 ;; esac
grep -q "kernel features: btf yes, .*xdp_live_frames $LIVE" "$(agent_log router)" || rc=1
tap_result "status and metrics agree on the live-frames probe ($LIVE, metric $ml); the log has the summary line" $rc
sctl router status >"$E2E_WORK/status.txt"
grep -q "^kernel features:" "$E2E_WORK/status.txt" &&
	grep -Eq "^xdp_live_frames +$LIVE " "$E2E_WORK/status.txt" &&
	grep -Eq "^DELAY path in use +copy$" "$E2E_WORK/status.txt"
tap_result "servicectl status (text) shows the kernel features and the DELAY path" $? \
	"$(cat "$E2E_WORK/status.txt")"

n0=$(table_entries)
! has_own_rule "$SID" && [ "$n0" = 1 ]
tap_result "before any packet: $SID/128 not installed (service_table holds $n0 entry: the DELAY rule)" $?

d0=$(delay_stat received)
connect_probe "$VIP4" 8080 >"$E2E_WORK/first.json"
check_first "$E2E_WORK/first.json"
tap_result "copy path: first connection to an unresolved service connected with 0 SYN retransmissions, an instance answered" $?
d1=$(delay_stat received)
rc1=$(delay_stat reinjected_copy)
rl1=$(delay_stat reinjected_live)
diag "delay events received $d0 -> $d1, re-injected copy $rc1, live $rl1"
n1=$(table_entries)
diag "service_table entries $n0 -> $n1"
has_own_rule "$SID" && [ "$n1" = 2 ] && [ "$d1" -gt "$d0" ] && [ "$rc1" -ge 1 ] && [ "$rl1" = 0 ]
tap_result "the agent received the held SYN, installed $SID/128 and re-injected it by the copy path" $?

loadgen "$E2E_WORK/after.json" --target "$VIP4:8080" --concurrency 4 conns 100
check_split "$E2E_WORK/after.json" 100 20 inst1=33.3 inst2=33.3 inst3=33.3
tap_result "later connections go straight through the installed rule" $?

# unresolvable + --delay-unresolvable rst: refused by the agent's RST, the
# client's SYN never retransmitted (a dropped SYN would be)
for vip in "$VIP4" "$VIP6"; do
	s0=$(delay_stat rst_sent)
	connect_probe "$vip" 9090 >"$E2E_WORK/refused.json"
	json_check "$E2E_WORK/refused.json" "
note('connect to $vip:9090 (no instance): %s' % json.dumps(d))
if 'Connection refused' not in d.get('error', ''):
    fail('want ECONNREFUSED, got %s' % json.dumps(d))
if d['retrans'] != 0 or d['retrans_segs'] != 0:
    fail('SYN retransmitted before the RST came')
"
	rc=$?
	s1=$(delay_stat rst_sent)
	[ "$s1" -gt "$s0" ] || rc=1
	tap_result "unresolvable serviceID, --delay-unresolvable rst: $vip:9090 refused, 0 SYN retransmissions (rst_sent $s0 -> $s1)" $rc
done

# flood: 400 non-blocking connects from 40 source addresses to a serviceID
# nobody serves (many sources: the per-source rate limit lets them through).
# The router agent is frozen (SIGSTOP) until the router program has handed
# every SYN to the ring buffer (its own counters, read from the pinned map),
# so the held packets reach the agent as one burst when it runs again: the
# 4-entry queue overflows whatever the machine's speed.
u0=$(delay_stat unresolvable)
q0=$(delay_stat drop_queue)
# router_held: packets the router program counted as DELAY or ring full, all CPUs
reasons_json=$(sctl_j router stats)
router_held() {
	python3 - "$(agent_pin router)/router_stats" "$reasons_json" <<'PY'
import json, subprocess, sys
names = [r["reason"] for r in json.loads(sys.argv[2])["router"]]
total = 0
for reason in ("delay", "drop_delay_full"):
    key = names.index(reason).to_bytes(4, "little")
    out = subprocess.run(["bpftool", "-j", "map", "lookup", "pinned", sys.argv[1], "key"] +
                         [str(b) for b in key], check=True, capture_output=True, text=True).stdout
    for v in json.loads(out)["formatted"]["values"]:
        total += v["value"]["packets"]
print(total)
PY
}
h0=$(router_held) || bail "flood: read the router's counters (bpftool)" "$h0"
for k in $(seq 10 49); do
	ip -n "$NS_CLIENT" addr add "198.18.0.$k/24" dev "$(if_client)" || bail "flood: source addresses" ""
done
kill -STOP "${AGENT_PID[router]}"
client_run python3 - "$VIP4" <<'PY'
import socket, sys
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
# closing a socket in SYN-SENT sends nothing: the SYNs are on their way already
for s in socks:
    s.close()
PY
held_all() { [ "$(router_held)" -ge $((h0 + 400)) ]; }
wait_until "$E2E_WAIT" held_all || diag "the router program held only $(($(router_held) - h0)) of 400 SYNs"
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

# ---- auto: the path the kernel allows ----

agent_kill router TERM
step "restart the router agent in auto mode" \
	agent_start router "$NS_ROUTER" --src "$ROUTER4" --src "$ROUTER6"
want=$([ "$LIVE" = yes ] && echo live || echo copy)
p=$(status_field delay_reinject)/$(status_field delay_reinject_path)
m=$(metric "svcplane_delay_reinject_path{path=\"$want\"}")
[ "$p" = "auto/$want" ] && [ "$m" = 1 ]
tap_result "auto (the default): the kernel's live frames are '$LIVE', the agent uses $want ($p, metric $m)" $?
if [ "$LIVE" = no ]; then
	# the fallback is logged once, at start
	[ "$(grep -c 'the kernel refuses live frames' "$(agent_log router)")" = 1 ]
	tap_result "auto on a kernel that refuses live frames: the fallback to copy is logged once" $?
fi

# ---- the live path (forced), where the kernel allows it ----

agent_kill router TERM
if [ "$LIVE" = yes ]; then
	step "restart the router agent with --delay-reinject live" \
		agent_start router "$NS_ROUTER" --src "$ROUTER4" --src "$ROUTER6" --delay-reinject live
	out=$(svc_create router "$SID_LIVE" dl6 "[$VIP6]:8080/tcp" 6 1 1 1 2>&1) ||
		bail "live: servicectl configuration" "$out"
	p=$(status_field delay_reinject)/$(status_field delay_reinject_path)
	[ "$p" = live/live ]
	tap_result "--delay-reinject live: status says live/live ($p)" $?
	connect_probe "$VIP6" 8080 >"$E2E_WORK/live.json"
	check_first "$E2E_WORK/live.json"
	tap_result "live path: first connection (IPv6) to an unresolved service connected with 0 SYN retransmissions" $?
	rl=$(delay_stat reinjected_live)
	rc=$(delay_stat reinjected_copy)
	[ "$rl" -ge 1 ] && [ "$rc" = 0 ] && has_own_rule "$SID_LIVE"
	tap_result "the held SYN was re-injected by the live path (live $rl, copy $rc), $SID_LIVE/128 installed" $?
else
	tap_skip "live path: first connection with 0 SYN retransmissions" \
		"kernel refuses LIVE_FRAMES ($LIVE_WHY)"
	# forcing it is refused at start, with the reason (an agent of its own: a
	# start that failed would confuse agent_up's count of the router's starts)
	! agent_start forced "$NS_ROUTER" --delay-reinject live >/dev/null 2>&1 &&
		grep -q "delay: --delay-reinject live: .*LIVE_FRAMES" "$(agent_log forced)"
	tap_result "--delay-reinject live on a kernel that refuses live frames: the agent does not start and says why" $? \
		"$(tail -n 5 "$(agent_log forced)")"
	pid_running "${AGENT_PID[forced]}" && agent_kill forced TERM
fi
agent_kill router TERM

# ---- a kernel that refuses live frames, emulated on any kernel ----
# refuse_live.so makes the agent's live test runs fail with EPERM, as 6.18.44
# did, after SVC_REFUSE_LIVE_AFTER allowed ones (the probe's run is the first).
# Each case resolves a service of its own, bound to a VIP of its own.
SHIM=$E2E_WORK/refuse_live.so
step "build the live-frames refusal shim (refuse_live.c)" \
	gcc -shared -fPIC -O2 -Wall -Werror -o "$SHIM" "$(dirname "$0")/refuse_live.c" -ldl
add_vips() {
	local i
	for i in $(seq 1 $N_INST); do
		ip -n "$(inst_ns "$i")" addr add 2001:db8:19::11/128 dev lo nodad &&
			ip -n "$(inst_ns "$i")" addr add 198.19.0.12/32 dev lo || return 1
	done
}
step "instances: two more VIPs" add_vips
# start_refusing N ARGS...: the router agent, its live runs refused after N
start_refusing() {
	local n=$1
	shift
	LD_PRELOAD=$SHIM SVC_REFUSE_LIVE_AFTER=$n \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		agent_start router "$NS_ROUTER" --src "$ROUTER4" --src "$ROUTER6" "$@"
}

step "restart the router agent on an (emulated) kernel refusing live frames, auto" start_refusing 0
# IPv6 this time: the copy path with an IPv6 outer header
out=$(svc_create router 2001:db8:dd::4 r1 "[2001:db8:19::11]:8080/tcp" 6 1 1 1 2>&1) ||
	bail "refusing kernel: servicectl configuration" "$out"
p=$(status_field delay_reinject)/$(status_field delay_reinject_path)
f=$(feature_state xdp_live_frames)
m=$(metric 'svcplane_kernel_feature{feature="xdp_live_frames"}')/$(metric 'svcplane_delay_reinject_path{path="copy"}')
w=$(grep -c 'delay: the kernel refuses live frames (BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: Operation not permitted)' \
	"$(agent_log router)")
[ "$p" = auto/copy ] && [ "$f" = no ] && [ "$m" = 0/1 ] && [ "$w" = 1 ]
tap_result "refused live frames, auto: probe says no, status auto/copy ($p), metrics live=0 path copy=1 ($m), the fallback logged once ($w)" $?
connect_probe 2001:db8:19::11 8080 >"$E2E_WORK/refused-live.json"
check_first "$E2E_WORK/refused-live.json"
rc=$?
c=$(delay_stat reinjected_copy)
l=$(delay_stat reinjected_live)
e=$(delay_stat errors)
[ "$c" = 1 ] && [ "$l" = 0 ] && [ "$e" = 0 ] || rc=1
tap_result "refused live frames: first connection (IPv6) with 0 SYN retransmissions, by the copy path (copy $c, live $l, errors $e)" $rc
agent_kill router TERM

! LD_PRELOAD=$SHIM SVC_REFUSE_LIVE_AFTER=0 \
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	agent_start forced2 "$NS_ROUTER" --delay-reinject live >/dev/null 2>&1 &&
	grep -q "delay: --delay-reinject live: BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES: Operation not permitted; use auto or copy" \
		"$(agent_log forced2)"
tap_result "refused live frames, --delay-reinject live: the agent does not start and says why" $? \
	"$(tail -n 5 "$(agent_log forced2)")"
pid_running "${AGENT_PID[forced2]}" && agent_kill forced2 TERM

if [ "$LIVE" = yes ]; then
	# the probe's run goes through, the first real one is refused: auto switches at run time
	step "restart the router agent: live frames refused after the probe, auto" start_refusing 1
	out=$(svc_create router 2001:db8:dd::5 r2 198.19.0.12:8080/tcp 4 1 1 1 2>&1) ||
		bail "refused at run time: servicectl configuration" "$out"
	p0=$(status_field delay_reinject_path)
	connect_probe 198.19.0.12 8080 >"$E2E_WORK/runtime.json"
	check_first "$E2E_WORK/runtime.json"
	rc=$?
	p1=$(status_field delay_reinject_path)
	x=$(delay_stat live_refused)/$(delay_stat reinjected_copy)/$(delay_stat reinjected_live)
	w=$(grep -c 'delay: the kernel refused a live re-injection (Operation not permitted): switching to the copy path' \
		"$(agent_log router)")
	[ "$p0/$p1" = live/copy ] && [ "$x" = 1/1/0 ] && [ "$w" = 1 ] || rc=1
	tap_result "live run refused at run time, auto: the SYN still re-injected (0 retransmissions) by copy, path $p0 -> $p1, refused/copy/live $x, logged once ($w)" $rc
else
	tap_skip "live run refused at run time, auto" "kernel refuses LIVE_FRAMES: the probe already finds it"
fi
exit 0
