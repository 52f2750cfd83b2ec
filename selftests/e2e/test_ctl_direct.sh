#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: the direct path configured only with servicectl (svcplaned's direct.* ops).
#
# The topology of lib.sh plus an agent in the client namespace. The instance
# hosts' agents get `direct instance IFACE --instance-id <their next-hop id on
# the router>` and `direct vip add VIP`, the client's agent `direct client
# IFACE` and `direct map ID HOST` per instance host. Then the agents are
# stopped and the direct programs and maps removed (a reboot as far as the
# direct path goes): the agents must put everything back from their state
# files. Asserted from outside the code under test: svc-loadgen verifies every
# echoed byte; the router's counters show exactly one packet per connection
# (fwd_new = N, no flow-table hit, no hash miss, nothing routed by flowID);
# the instance hosts stamped N SYN-ACKs and decapsulated what the client sent
# directly. `direct off` on the client: later connections go through the
# router for every packet again (flow-table hits), with nothing sent directly.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

N=${E2E_CONNS:-200}
SID=2001:db8:5e::c1
PORT=8080
DIRECT=$TOOLS/svc-direct

e2e_init
e2e_require_built "$DIRECT"
e2e_require jq
step "setup: topology" topo_create
step "setup: agents" agents_start
step "setup: client agent" agent_start client "$NS_CLIENT"
step "setup: instances" echods_start --port "$PORT" --tcp
out=$(svc_create router "$SID" cdirect "$VIP4:$PORT/tcp" 4 1 1 1 2>&1) ||
	bail "setup: servicectl configuration" "$out"

declare -A NH=()
nh_ids() {
	local f="$E2E_WORK/instances.json" i
	sctl_j router instance list >"$f" || return 1
	for i in $(seq 1 $N_INST); do
		NH[$i]=$(jq -r --arg a "$(inst_addr4 "$i")" '.instances[] | select(.addr == $a) | .nh_id' "$f")
		[ -n "${NH[$i]}" ] || return 1
	done
}
step "setup: next-hop ids" nh_ids
diag "instance ids (router next hops): inst1=${NH[1]} inst2=${NH[2]} inst3=${NH[3]}"

# ---- bad arguments: refused, named, nothing recorded ----
bad_args() {
	local out rc
	out=$(sctl client direct client "nosuch$E2E_ID" 2>&1)
	rc=$?
	[ $rc = 1 ] && [[ $out == *"no interface 'nosuch$E2E_ID'"* ]] || { echo "missing iface: rc $rc: $out"; return 1; }
	out=$(sctl client direct instance "$(if_client)" 2>&1)
	rc=$?
	[ $rc = 2 ] && [[ $out == *"--instance-id"* ]] || { echo "no --instance-id: rc $rc: $out"; return 1; }
	out=$(sctl client direct map 0 "$(inst_addr4 1)" 2>&1)
	rc=$?
	[ $rc = 2 ] && [[ $out == *"ID '0'"* ]] || { echo "id 0: rc $rc: $out"; return 1; }
	out=$(sctl client direct unmap 7 2>&1)
	rc=$?
	[ $rc = 1 ] && [[ $out == *not_found* ]] || { echo "unmap unknown: rc $rc: $out"; return 1; }
	out=$(sctl client direct off "$(if_client)" 2>&1)
	rc=$?
	[ $rc = 1 ] && [[ $out == *not_found* ]] || { echo "off unknown: rc $rc: $out"; return 1; }
	sctl_j client direct show | jq -e '.direct.loaded == false and (.ifaces | length) == 0' >/dev/null ||
		{ echo "something was recorded: $(sctl_j client direct show)"; return 1; }
}
run_logged bad_args
tap_result "bad arguments refused, naming the argument; nothing recorded" $? "$RUN_OUT"

# ---- configuration, with servicectl only ----
configure() {
	local i
	for i in $(seq 1 $N_INST); do
		sctl "inst$i" direct instance "$(if_inst "$i")" --instance-id "${NH[$i]}" >/dev/null &&
			sctl "inst$i" direct vip add "$VIP4" >/dev/null &&
			sctl "inst$i" decap add "$CLIENT4" || return 1
		# checksums computed in software: the wire holds what the stack made of the edits
		in_ns "$(inst_ns "$i")" ethtool -K "$(if_inst "$i")" tx off >/dev/null || return 1
		sctl client direct map "${NH[$i]}" "$(inst_addr4 "$i")" >/dev/null || return 1
	done
	sctl client direct client "$(if_client)" >/dev/null || return 1
	# room for the outer header (20) and the flowID (8) under the link MTU
	ip -n "$NS_CLIENT" route add "$VIP4/32" via "$ROUTER4" mtu 1472
}
step "configure the direct path with servicectl" configure

# attached NAME: every recorded interface of that agent has both programs (per tc).
attached() {
	sctl_j "$1" direct show | jq -e '(.ifaces | length) > 0 and all(.ifaces[]; .attached and .ingress_id > 0 and .egress_id > 0)' >/dev/null
}

# ---- "reboot" of the direct path: agents stopped, programs detached, maps unpinned ----
reboot() {
	local a ns ifn
	for a in client inst1 inst2 inst3; do
		agent_kill "$a" TERM
		if [ "$a" = client ]; then ns=$NS_CLIENT ifn=$(if_client); else
			ns=$(inst_ns "${a#inst}") ifn=$(if_inst "${a#inst}"); fi
		in_ns "$ns" "$DIRECT" --pin-dir "$(agent_pin "$a")" detach "$ifn" || return 1
		in_ns "$ns" "$DIRECT" --pin-dir "$(agent_pin "$a")" unpin || return 1
		in_ns "$ns" "$DIRECT" --pin-dir "$(agent_pin "$a")" status "$ifn" | jq -e '.attached == false' >/dev/null ||
			{ echo "$a: still attached"; return 1; }
	done
	for a in client inst1 inst2 inst3; do agent_restart "$a" || return 1; done
}
step "reboot: agents stopped, direct programs detached and maps unpinned, agents started" reboot
run_logged eval 'for a in client inst1 inst2 inst3; do attached $a || { echo "$a: $(sctl_j $a direct show | jq -c .ifaces)"; exit 1; }; done
	sctl_j client direct show | jq -e --argjson n '"$N_INST"' "(.map | length) == \$n" >/dev/null &&
	sctl_j inst1 direct show | jq -e --argjson id "${NH[1]}" ".direct.instance_id == \$id and .vips[0].addr == \"$VIP4\"" >/dev/null'
tap_result "after the reboot: programs attached and maps filled again from the state files" $? "$RUN_OUT"

# ---- counters ----
# snapshot NAME: router and endpoint stats, every agent's direct counters.
snapshot() {
	local f="$E2E_WORK/$1.json" i
	{
		echo '{"router":'
		sctl_j router stats || return 1
		for i in $(seq 1 $N_INST); do
			echo ",\"inst$i\":"
			sctl_j "inst$i" stats || return 1
			echo ",\"direct$i\":"
			sctl_j "inst$i" direct show || return 1
		done
		echo ',"client":'
		sctl_j client direct show || return 1
		echo '}'
	} >"$f"
}

# check_counters BEFORE AFTER N MODE: MODE direct = one router packet per connection;
# MODE router = every packet through the router, nothing direct.
check_counters() {
	python3 - "$1" "$2" "$3" "$N_INST" "$4" <<'EOF'
import json, sys
b, a, n, ni, mode = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
fails = []
def router(d, r):
    return sum(x['packets'] for x in d['router']['router'] if x['reason'] == r)
def ep(d, i, r):
    return sum(x['packets'] for x in d['inst%d' % i]['endpoint'] if x['reason'] == r)
def dr(d, k, r):
    return sum(x['packets'] for x in d[k]['counters'] if x['reason'] == r)
rd = dict((r, router(a, r) - router(b, r)) for r in ('fwd_new', 'fwd_flow_hit', 'fwd_ch_miss', 'fwd_flowid', 'fwd_resume'))
print('# router: ' + ', '.join('%s +%d' % kv for kv in rd.items()))
decap = sum(ep(a, i, 'decap') - ep(b, i, 'decap') for i in range(1, ni + 1))
stamp = sum(dr(a, 'direct%d' % i, 'tx_stamp') - dr(b, 'direct%d' % i, 'tx_stamp') for i in range(1, ni + 1))
c = dict((x['reason'], dr(a, 'client', x['reason']) - dr(b, 'client', x['reason'])) for x in a['client']['counters'])
print('# instances: decap +%d, SYN-ACKs stamped +%d' % (decap, stamp))
print('# client: ' + ', '.join('%s +%d' % (r, v) for r, v in sorted(c.items()) if v))
sent = c['tx_direct'] + c['tx_direct_gso'] + c['tx_direct_no_room'] + c['tx_direct_no_opt']
if rd['fwd_new'] != n:
    fails.append('router fwd_new +%d, want exactly %d (one SYN per connection)' % (rd['fwd_new'], n))
for r in ('fwd_ch_miss', 'fwd_flowid', 'fwd_resume'):
    if rd[r]:
        fails.append('router %s +%d' % (r, rd[r]))
if mode == 'direct':
    if rd['fwd_flow_hit']:
        fails.append('router fwd_flow_hit +%d: packets after the SYN went through the router' % rd['fwd_flow_hit'])
    if stamp != n:
        fails.append('instances stamped %d SYN-ACKs, want %d' % (stamp, n))
    if c['rx_learn_flowid'] != n:
        fails.append('client learnt %d connections, want %d' % (c['rx_learn_flowid'], n))
    if sent < 3 * n:
        fails.append('client sent only %d direct packets for %d connections' % (sent, n))
    if decap < n + sent:
        fails.append('instances decapsulated %d packets, want >= %d SYNs + %d direct' % (decap, n, sent))
    for r in ('tx_no_inst', 'tx_no_src', 'tx_fib', 'tx_encap_fail', 'tx_drop_edit', 'rx_unknown_inst', 'rx_bad_opt'):
        if c[r]:
            fails.append('client %s +%d' % (r, c[r]))
else:
    if rd['fwd_flow_hit'] < 2 * n:
        fails.append('router fwd_flow_hit +%d: want every later packet through the router' % rd['fwd_flow_hit'])
    if sum(c.values()):
        fails.append('the client direct programs still counted packets: %s' % {k: v for k, v in c.items() if v})
for m in fails:
    print('# ' + m)
sys.exit(1 if fails else 0)
EOF
}

step "counters before" snapshot before
loadgen "$E2E_WORK/load.json" --target "$VIP4:$PORT" --concurrency 8 --size 2000 conns "$N"
step "counters after" snapshot after
json_check "$E2E_WORK/load.json" "
note('%d connections: %d ok, %d failed, %d bytes verified' % (d['total'], d['ok'], d['failed'], d['bytes_verified']))
if d['ok'] != $N or d['failed']:
    fail('failures: %s' % json.dumps(d['failure_reasons']))
"
tap_result "$N connections over the direct path, every echoed byte verified" $?
check_counters "$E2E_WORK/before.json" "$E2E_WORK/after.json" "$N" direct
tap_result "router counted exactly one packet (the SYN) per connection: fwd_new = $N, no flow hit, no hash miss" $?

# ---- direct off on the client: back to the router path ----
M=20
step "direct off (client)" eval 'sctl client direct off "$(if_client)" >/dev/null'
run_logged eval 'in_ns "$NS_CLIENT" "$DIRECT" --pin-dir "$(agent_pin client)" status "$(if_client)" | jq -e ".attached == false" >/dev/null'
tap_result "direct off: the client's programs are gone (tc)" $? "$RUN_OUT"
step "counters before (off)" snapshot before_off
loadgen "$E2E_WORK/load_off.json" --target "$VIP4:$PORT" --concurrency 4 --size 2000 conns "$M"
step "counters after (off)" snapshot after_off
json_check "$E2E_WORK/load_off.json" "
if d['ok'] != $M or d['failed']:
    fail('failures: %s' % json.dumps(d['failure_reasons']))
"
tap_result "direct off: $M connections through the router, every echoed byte verified" $?
check_counters "$E2E_WORK/before_off.json" "$E2E_WORK/after_off.json" "$M" router
tap_result "direct off: every packet through the router (flow-table hits), nothing sent directly" $?
# ---- --uninstall removes the direct programs and pins too ----
uninstall() {
	local ns ifn
	ns=$(inst_ns 1) ifn=$(if_inst 1)
	agent_kill inst1 TERM
	ls "$(agent_pin inst1)" | grep '^direct_' >/dev/null || { echo "no direct pins to remove"; return 1; }
	in_ns "$ns" "$SVC_BIN/svcplaned" --socket "$(agent_sock inst1)" --pin-dir "$(agent_pin inst1)" \
		--state-dir "$(agent_state inst1)" --uninstall || { echo "svcplaned --uninstall failed"; return 1; }
	[ ! -e "$(agent_pin inst1)" ] || { echo "left: $(ls "$(agent_pin inst1)")"; return 1; }
	in_ns "$ns" "$DIRECT" --pin-dir "$E2E_WORK" status "$ifn" | jq -e '.attached == false' >/dev/null ||
		{ echo "direct programs still on $ifn"; return 1; }
}
run_logged uninstall
tap_result "svcplaned --uninstall detaches the direct programs and removes their pins" $? "$RUN_OUT"
exit "$E2E_FAILED"
