#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: make-before-break. While 50 clients open new connections
# continuously, every planned change — weight change, drain, shed, instance
# del, instance del --dead, and putting each back (set change) — drops no SYN:
# the new consistent-hash table is installed before any next hop stops being
# eligible (docs/svcplaned.md, "Planned changes").
#
# Asserted from outside the agent, per change:
#   - the clients' kernel retransmitted no SYN (TcpExt TCPSynRetrans of the
#     client namespace, /proc/net/netstat: a dropped SYN is retransmitted 1 s later);
#   - the router dropped nothing (every drop_* counter of servicectl -j stats);
#   - svc-loadgen: no connection failed to connect, every byte was echoed; the
#     only failures allowed are resets of connections already established on
#     a shed or dead instance (that is what shed and --dead are for), counted;
#   - traffic really crossed the change: connections completed before it, after
#     it, and (for changes that remove an instance) on that instance before it.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

SID=2001:db8:5e::4
CLIENTS=${E2E_CLIENTS:-50}
N_AROUND=${E2E_AROUND:-300} # connections completed before and after each change

e2e_init
e2e_require nsenter python3
step "setup: topology" topo_create
step "setup: agents" agents_start
step "setup: instances" echods_start --port 8080 --tcp --udp
out=$(svc_create router "$SID" web "$VIP4:8080/tcp" 4 1 1 1 2>&1) ||
	bail "setup: servicectl configuration" "$out"
# Each phase opens tens of thousands of connections from one address, and the
# client holds each port in TIME_WAIT for 60 s: without the full port range a
# connect could fail with EADDRNOTAVAIL (not the router's doing).
in_ns "$NS_CLIENT" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" ||
	bail "setup: client port range" ""
tap_ok "setup: 3 instances configured with servicectl"

A1=$(inst_addr4 1)
A2=$(inst_addr4 2)
A3=$(inst_addr4 3)

# tcpext NS FIELD: a TcpExt counter of namespace NS (/proc/net/netstat).
tcpext() {
	in_ns "$1" cat /proc/net/netstat | awk -v f="$2" '
		$1 == "TcpExt:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
		$1 == "TcpExt:" && h { print $col[f]; exit }'
}
# syn_retrans: SYNs the client namespace's kernel retransmitted so far.
syn_retrans() { tcpext "$NS_CLIENT" TCPSynRetrans; }
# counters NS: every counter of /proc/net/netstat and /proc/net/snmp in NS, "Name=value" per line.
counters() {
	in_ns "$1" cat /proc/net/netstat /proc/net/snmp | awk '
		{ if (!($1 in hdr)) { for (i = 2; i <= NF; i++) n[$1, i] = $i; hdr[$1] = 1; next }
		  for (i = 2; i <= NF; i++) print substr($1, 1, length($1) - 1) n[$1, i] "=" $i
		  delete hdr[$1] }'
}
# all_counters: counters of the client and of each instance, names prefixed.
all_counters() {
	local i
	counters "$NS_CLIENT" | sed 's/^/client./'
	for i in $(seq 1 $N_INST); do
		counters "$(inst_ns "$i")" | sed "s/^/inst$i./"
	done
}
# listen_drops: SYNs the instances' listeners dropped (a full queue: not the router's doing).
listen_drops() {
	local i n=0
	for i in $(seq 1 $N_INST); do
		n=$((n + $(tcpext "$(inst_ns "$i")" ListenDrops)))
	done
	echo "$n"
}

# drops: every router drop_* counter, "reason=packets" per line.
drops() {
	sctl_j router stats | python3 -c '
import json, sys
for r in json.load(sys.stdin)["router"]:
    if r["reason"].startswith("drop_"):
        print("%s=%d" % (r["reason"], r["packets"]))'
}

# completed FILE: connections completed so far by the running svc-loadgen
# (read without python: polled every 50 ms while 50 clients run).
completed() {
	local n
	n=$(grep -m1 -o '"ok": *[0-9]*' "$1" 2>/dev/null | grep -o '[0-9]*$')
	echo "${n:-0}"
}

# served FILE NAME: connections instance NAME served so far.
served() {
	local n
	n=$(grep -m1 -o "\"$2\": *[0-9]*" "$1" 2>/dev/null | grep -o '[0-9]*$')
	echo "${n:-0}"
}
at_least() { [ "$($1 "$2" ${4:+"$4"})" -ge "$3" ]; }

# phase NAME INSTANCE RESETS_OK CHANGE RESTORE: load, CHANGE, load, RESTORE, load; assert.
# INSTANCE (instN) must have served connections before the change; RESETS_OK=1
# tolerates resets of connections established on it (shed, --dead).
phase() {
	local name=$1 inst=$2 resets_ok=$3 change=$4 restore=$5
	local st="$E2E_WORK/$name.status" outf="$E2E_WORK/$name.json" stop="$E2E_WORK/$name.stop"
	local syn0 syn1 d0 d1 l0 l1 n pid src
	# A fresh client address per phase: a port reused from an earlier phase
	# must not meet a socket that an earlier shed or --dead left on its
	# instance (the router resets the client's side only; see the report
	# printed on failure: TCPSYNChallenge on the instance).
	PHASE_NO=$((PHASE_NO + 1))
	src=198.18.0.$((100 + PHASE_NO))
	ip -n "$NS_CLIENT" addr add "$src/24" dev "$(if_client)" &&
		ip -n "$NS_CLIENT" route replace default via "$ROUTER4" src "$src" ||
		{ tap_fail "$name: client source address $src"; return; }
	syn0=$(syn_retrans)
	l0=$(listen_drops)
	all_counters >"$E2E_WORK/$name.c0"
	d0=$(drops)
	loadgen_bg "$outf" --target "$VIP4:8080" --concurrency "$CLIENTS" --size 64 \
		--interval "${E2E_PACE_MS:-20}" --stop-file "$stop" --status-file "$st" conns 0
	pid=$BG_PID
	if ! wait_until "$E2E_WAIT" at_least completed "$st" "$N_AROUND" ||
		! wait_until "$E2E_WAIT" at_least served "$st" 1 "$inst"; then
		touch "$stop"
		tap_fail "$name: load before the change" "$(cat "$st" 2>/dev/null)"
		return
	fi
	# shellcheck disable=SC2086
	out=$(sctl router $change 2>&1) || { touch "$stop"; tap_fail "$name: servicectl $change" "$out"; return; }
	n=$(($(completed "$st") + N_AROUND))
	wait_until "$E2E_WAIT" at_least completed "$st" "$n" ||
		{ touch "$stop"; tap_fail "$name: load after the change" "$(cat "$st")"; return; }
	# shellcheck disable=SC2086
	out=$(sctl router $restore 2>&1) || { touch "$stop"; tap_fail "$name: servicectl $restore" "$out"; return; }
	n=$(($(completed "$st") + N_AROUND))
	wait_until "$E2E_WAIT" at_least completed "$st" "$n" ||
		{ touch "$stop"; tap_fail "$name: load after the restore" "$(cat "$st")"; return; }
	touch "$stop"
	wait_until "$E2E_WAIT" test -s "$outf" || { tap_fail "$name: svc-loadgen did not stop"; return; }
	wait "$pid" 2>/dev/null
	syn1=$(syn_retrans)
	l1=$(listen_drops)
	d1=$(drops)
	all_counters >"$E2E_WORK/$name.c1"
	json_check "$outf" "
syn = $syn1 - $syn0
d0 = dict(l.split('=') for l in '''$d0'''.split())
d1 = dict(l.split('=') for l in '''$d1'''.split())
dropped = dict((k, int(v) - int(d0.get(k, 0))) for k, v in d1.items() if int(v) - int(d0.get(k, 0)))
resets = sum(n for r, n in d['failure_reasons'].items() if 'Connection reset by peer' in r or 'not connected' in r)
other = d['failed'] - resets
note('$name: %d connections ok, %d failed (%d reset on the $inst), %d bytes verified; '
     'client SYN retransmissions %d; router drops %s' %
     (d['ok'], d['failed'], resets, d['bytes_verified'], syn, dropped or 0))
note('  per instance: %s; instances\' listen drops %d' % (json.dumps(d['instances']), $l1 - $l0))
if syn:
    fail('%d SYNs retransmitted by the clients' % syn)
if dropped:
    fail('router dropped: %s' % dropped)
if other or (resets and not $resets_ok):
    fail('failures: %s' % json.dumps(d['failure_reasons']))
if any(r.startswith('connect') for r in d['failure_reasons']):
    fail('connections failed to connect')
if d['ok'] < 3 * $N_AROUND:
    fail('only %d connections completed' % d['ok'])
"
	local rc=$?
	[ $rc != 0 ] && diag "$name: counters that moved (client, instances): $(join -t= -j1 \
		<(sort "$E2E_WORK/$name.c0") <(sort "$E2E_WORK/$name.c1") |
		awk -F= '$3 != $2 && $1 !~ /(InSegs|OutSegs|InDatagrams|OutRequests|InReceives|InDelivers|ActiveOpens|PassiveOpens|Octets|Pkts|Delayed|TW|Established|Estab|Acks|HP|Pure|Head|OrigDataSent|Closed|Recovery|Probe|Ack)/ { printf "%s +%d, ", $1, $3 - $2 }')"
	(exit $rc)
	tap_result "$name: $CLIENTS clients: 0 SYNs retransmitted, 0 router drops, 0 failed connects" $?
}

PHASE_NO=0
# A control: the same load through a change that changes nothing.
phase none inst1 0 "instance set $SID $A1 --weight 1" "instance set $SID $A1 --weight 1"
phase weight inst1 0 "instance set $SID $A1 --weight 3" "instance set $SID $A1 --weight 1"
phase drain inst1 0 "instance drain $SID $A1" "instance resume $SID $A1"
phase shed inst2 1 "instance shed $SID $A2" "instance resume $SID $A2"
phase del inst3 0 "instance del $SID $A3" "instance add $SID $A3 --name inst3"
phase del_dead inst3 1 "instance del $SID $A3 --dead" "instance add $SID $A3 --name inst3"

# ---- an address shared by two services ----
# A next hop's state is per address. Shedding inst2 in service SID (TCP at
# VIP:8080) while SID_UDP (UDP at VIP:8080) keeps inst2's address active must
# still reset SID's connections on inst2, and only those: the agent moves
# exactly that service's flows (the flow records its rule) to the tombstone
# next hop 0. Then the same with del --dead.
SID_UDP=2001:db8:5e::5
out=$(svc_create router "$SID_UDP" webu "$VIP4:8080/udp" 4 1 1 1 2>&1) ||
	bail "shared: servicectl configuration" "$out"
HOLD=${E2E_HOLD:-24}

# check_shared NAME TCP_JSON UDP_JSON INSTANCE: TCP connections on INSTANCE
# reset, every other TCP connection and every UDP flow (INSTANCE's included) intact.
check_shared() {
	json_check "$2" "
conns = d['connections']
on = [c for c in conns if c['instance'] == '$4']
note('$1: tcp: %d connections, %d on $4, their errors: %s' % (len(conns), len(on), sorted(set(c['error'] or '' for c in on))))
if not on:
    fail('no TCP connection on $4: nothing tested')
for c in on:
    if c['intact']:
        fail('$4 connection %d still intact' % c['id'])
    elif 'reset by peer' not in (c['error'] or ''):
        fail('$4 connection %d ended without a reset: %s' % (c['id'], c['error']))
for c in conns:
    if c['instance'] != '$4' and not c['intact']:
        fail('connection %d on %s broken: %s' % (c['id'], c['instance'], c['error']))
" && check_hold "$3" "$HOLD" && json_check "$3" "
n = sum(1 for c in d['connections'] if c['instance'] == '$4')
note('$1: udp: %d flows on $4 (the other service), all intact' % n)
if not n:
    fail('no UDP flow on $4: nothing tested')
"
}

# shared NAME CHANGE RESTORE
shared() {
	local name=$1 change=$2 restore=$3
	step "$name: hold tcp" hold_start "$name-tcp" --target "$VIP4:8080" hold "$HOLD"
	step "$name: hold udp" hold_start "$name-udp" --target "$VIP4:8080" --udp hold "$HOLD"
	# shellcheck disable=SC2086
	out=$(sctl router $change 2>&1) || bail "$name: servicectl $change" "$out"
	hold_mark "$name-tcp" "$name-udp"
	hold_wait "$name-tcp" 3 inst2 fail
	hold_wait "$name-udp" 3
	step "$name: stop" hold_stop "$name-tcp" "$name-udp"
	check_shared "$name" "$E2E_WORK/$name-tcp.json" "$E2E_WORK/$name-udp.json" inst2
	tap_result "$name: inst2 still serves another service: $SID's connections on it reset, the other's flows intact" $?
	# shellcheck disable=SC2086
	out=$(sctl router $restore 2>&1) || bail "$name: servicectl $restore" "$out"
}
shared shared_shed "instance shed $SID $A2" "instance resume $SID $A2"
shared shared_dead "instance del $SID $A2 --dead" "instance add $SID $A2 --name inst2"
exit 0
