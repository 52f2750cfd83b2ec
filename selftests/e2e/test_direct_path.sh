#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: the direct path. Only the SYN of each connection goes through the service router.
#
# Client host and instance hosts run the direct-path tc programs (bpf/direct.bpf.c,
# driven by selftests/tools/svc-direct through libsvc): each instance host stamps
# a flowID naming itself (its next-hop id on the router) into its SYN-ACKs; the
# client host learns it and sends every later packet encapsulated straight to the
# instance host, which decapsulates it (the client is one of its decap sources).
#
# Asserted from outside the code under test:
#  - on the wire (tcpdump on the client's link, parsed here, every checksum
#    recomputed): SYN-ACKs carry a flowID naming an instance host; after the SYN
#    the client sends nothing to the VIP in the clear, only IPIP to the host its
#    SYN-ACK named, and the inner packets carry that very flowID;
#  - over 1000 connections (svc-loadgen verifies every echoed byte): the router's
#    counters show exactly one packet per connection (fwd_new = 1000, no flow-table
#    hit, no consistent-hash miss, nothing routed by flowID), and the instance
#    hosts decapsulated the client's packets.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

N=${E2E_CONNS:-1000}
SID=2001:db8:5e::d1
SID6=2001:db8:5e::d6
PORT=8080
DIRECT=$TOOLS/svc-direct

e2e_init
e2e_require_built "$DIRECT"
e2e_require tcpdump
step "setup: topology" topo_create
step "setup: agents" agents_start
step "setup: instances" echods_start --port "$PORT" --tcp
out=$(svc_create router "$SID" direct "$VIP4:$PORT/tcp" 4 1 1 1 2>&1) ||
	bail "setup: servicectl configuration" "$out"

# next-hop id of each instance host on the router = the instance id it stamps
declare -A NH=()
nh_ids() {
	local f="$E2E_WORK/instances.json" i
	sctl_j router instance list >"$f" || return 1
	for i in $(seq 1 $N_INST); do
		NH[$i]=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print([x["nh_id"] for x in d["instances"] if x["addr"] == sys.argv[2]][0])' "$f" "$(inst_addr4 "$i")") ||
			return 1
	done
}
step "setup: next-hop ids" nh_ids
diag "instance ids (router next hops): inst1=${NH[1]} inst2=${NH[2]} inst3=${NH[3]}"

CLIENT_PIN=$(agent_pin client)
direct() { # NS PIN ARGS...
	local ns=$1 pin=$2
	shift 2
	in_ns "$ns" "$DIRECT" --pin-dir "$pin" "$@"
}

# Instance hosts: stamp SYN-ACKs of the VIP, accept encapsulated packets from the
# client, and compute their checksums in software (tx off) so that the wire holds
# what the stack made of our CHECKSUM_PARTIAL edit.
setup_instances() {
	local i ns
	for i in $(seq 1 $N_INST); do
		ns=$(inst_ns "$i")
		direct "$ns" "$(agent_pin "inst$i")" attach "$(if_inst "$i")" || return 1
		direct "$ns" "$(agent_pin "inst$i")" instance-id "${NH[$i]}" || return 1
		direct "$ns" "$(agent_pin "inst$i")" local add "$VIP4" || return 1
		sctl "inst$i" decap add "$CLIENT4" || return 1
		in_ns "$ns" ethtool -K "$(if_inst "$i")" tx off >/dev/null || return 1
	done
}
# Client host: the instance hosts' addresses, and room for 20 + 8 octets under
# its link MTU on the route to the VIP (as for any IP-in-IP sender).
setup_client() {
	local i
	direct "$NS_CLIENT" "$CLIENT_PIN" attach "$(if_client)" || return 1
	for i in $(seq 1 $N_INST); do
		direct "$NS_CLIENT" "$CLIENT_PIN" instance add "${NH[$i]}" "$(inst_addr4 "$i")" ||
			return 1
	done
	ip -n "$NS_CLIENT" route add "$VIP4/32" via "$ROUTER4" mtu 1472
}
step "setup: direct path on the instance hosts" setup_instances
step "setup: direct path on the client host" setup_client
status=$(direct "$NS_CLIENT" "$CLIENT_PIN" status "$(if_client)")
json_check <(echo "$status") "
if not d['attached'] or not d['ingress_id'] or not d['egress_id']:
    fail('not attached: %s' % d)
" >/dev/null || bail "setup: client programs attached" "$status"
tap_ok "setup: topology, router + 3 instance agents, direct programs on client and instances"

# ---- counters ----

# snapshot NAME: router stats, the instances' endpoint stats and every direct
# program's counters, into $E2E_WORK/NAME.json
snapshot() {
	local f="$E2E_WORK/$1.json" i
	{
		echo '{"router":'
		sctl_j router stats || return 1
		for i in $(seq 1 $N_INST); do
			echo ",\"inst$i\":"
			sctl_j "inst$i" stats || return 1
			echo ",\"direct$i\":"
			direct "$(inst_ns "$i")" "$(agent_pin "inst$i")" stats || return 1
		done
		echo ',"client":'
		direct "$NS_CLIENT" "$CLIENT_PIN" stats || return 1
		echo '}'
	} >"$f"
}

# ---- 1: on the wire ----

W=${E2E_WIRE_CONNS:-20}
pcap="$E2E_WORK/client.pcap"
bg_ns "$E2E_WORK/tcpdump.log" "$NS_CLIENT" tcpdump --immediate-mode -U -B 16384 -n \
	-i "$(if_client)" -w "$pcap" "tcp or ip proto 4"
TCPDUMP_PID=$BG_PID
wait_until "$E2E_WAIT" grep -q "listening on" "$E2E_WORK/tcpdump.log" ||
	bail "wire: tcpdump started" "$(cat "$E2E_WORK/tcpdump.log")"
loadgen "$E2E_WORK/wire.json" --target "$VIP4:$PORT" --concurrency 4 --size 3000 conns "$W"
lg=$?
# tcpdump writes each packet as it comes (--immediate-mode -U): a marker packet
# sent after the run (a SYN to a closed port of the router) shows in the capture
# once everything before it does, the last FINs included
marker() { client_run timeout 5 bash -c "exec 3<>/dev/tcp/$ROUTER4/9"; }
pcap_sync "$pcap" "dst host $ROUTER4 and tcp dst port 9" marker ||
	diag "the capture never showed the marker packet"
stop_pid "$TCPDUMP_PID" INT
diag "tcpdump: $(grep -E 'captured|received|dropped' "$E2E_WORK/tcpdump.log" | tr '\n' ' ')"
# a capture with holes proves nothing either way
grep -q "^0 packets dropped by kernel" "$E2E_WORK/tcpdump.log" ||
	tap_fail "wire: tcpdump captured every packet" "$(cat "$E2E_WORK/tcpdump.log")"
json_check "$E2E_WORK/wire.json" "
note('wire run: %d of %d connections ok, %d bytes verified' % (d['ok'], d['total'], d['bytes_verified']))
if d['ok'] != $W or d['failed']:
    fail('failures: %s' % json.dumps(d['failure_reasons']))
"
tap_result "wire: $W connections over the direct path, every echoed byte verified" $?

python3 - "$pcap" "$CLIENT4" "$VIP4" "$PORT" "${NH[1]}=$(inst_addr4 1)" "${NH[2]}=$(inst_addr4 2)" \
	"${NH[3]}=$(inst_addr4 3)" "$W" <<'EOF'
import socket, struct, sys
path, client, vip, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
hosts = dict((int(a.split('=')[0]), a.split('=')[1]) for a in sys.argv[5:8])
want_conns = int(sys.argv[8])
fails = []
def fail(m):
    if len(fails) < 20:
        fails.append(m)

def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s

def frames(p):
    d = open(p, 'rb').read()
    e = '<' if struct.unpack('<I', d[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    off = 24
    while off + 16 <= len(d):
        _, _, incl, _ = struct.unpack(e + 'IIII', d[off:off + 16])
        yield d[off + 16:off + 16 + incl]
        off += 16 + incl

def ip4(b, what):
    ihl = (b[0] & 15) * 4
    tot = struct.unpack('!H', b[2:4])[0]
    if csum(b[:ihl]) != 0xffff:
        fail('%s: bad IPv4 header checksum' % what)
    return socket.inet_ntoa(b[12:16]), socket.inet_ntoa(b[16:20]), b[9], b[ihl:tot]

def tcp(src, dst, seg, what):
    ps = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(seg))
    if csum(ps + seg) != 0xffff:
        fail('%s: bad TCP checksum' % what)
    sport, dport = struct.unpack('!HH', seg[:4])
    doff, flags = (seg[12] >> 4) * 4, seg[13]
    fid, o = None, 20
    while o < doff:
        k = seg[o]
        if k == 0:
            break
        if k == 1:
            o += 1
            continue
        ln = seg[o + 1]
        if ln < 2:
            fail('%s: malformed options' % what)
            break
        if k == 254 and ln == 8 and seg[o + 2:o + 4] == b'\x53\x56':
            fid = struct.unpack('!I', seg[o + 4:o + 8])[0]
        o += ln
    return sport, dport, flags, fid

conn = {}   # client port -> {'fid': flowID its SYN-ACK carried, 'syn': SYNs sent in the clear}
synacks = direct = with_opt = 0
# pass 1: the SYN-ACKs (the capture's order of sent and received packets is not the wire's)
for f in frames(path):
    if struct.unpack('!H', f[12:14])[0] != 0x0800:
        continue
    src, dst, proto, pl = ip4(f[14:], 'frame')
    if proto == 6 and src == vip:
        sp, dp, fl, fid = tcp(src, dst, pl, 'SYN-ACK/ACK from the VIP')
        if fl & 0x12 == 0x12:
            synacks += 1
            if fid is None or (fid >> 16) not in hosts:
                fail('SYN-ACK to port %d: flowID %s names no instance host' % (dp, fid))
            conn.setdefault(dp, {})['fid'] = fid
# pass 2: what the client sent
for f in frames(path):
    if struct.unpack('!H', f[12:14])[0] != 0x0800:
        continue
    src, dst, proto, pl = ip4(f[14:], 'frame')
    if proto == 6 and src == client and dst == vip:      # in the clear toward the VIP
        sp, dp, fl, fid = tcp(src, dst, pl, 'clear packet')
        c = conn.setdefault(sp, {})
        if fl & 0x12 == 0x02:
            c['syn'] = c.get('syn', 0) + 1
        else:
            fail('port %d: non-SYN packet (flags 0x%02x) to the VIP in the clear' % (sp, fl))
    elif proto == 4 and src == client:                   # the direct path
        isrc, idst, iproto, ipl = ip4(pl, 'inner')
        if iproto != 6 or isrc != client or idst != vip:
            fail('IPIP from the client with inner %s -> %s proto %d' % (isrc, idst, iproto))
            continue
        sp, dp, fl, fid = tcp(isrc, idst, ipl, 'inner TCP')
        c = conn.setdefault(sp, {})
        direct += 1
        want = c.get('fid')
        if want is None:
            fail('port %d: IPIP, but no SYN-ACK named an instance' % sp)
            continue
        if dst != hosts.get(want >> 16):
            fail('port %d: IPIP to %s, SYN-ACK named instance %d at %s' % (sp, dst, want >> 16, hosts.get(want >> 16)))
        if fid is not None:
            with_opt += 1
            if fid != want:
                fail('port %d: inner flowID 0x%08x != SYN-ACK flowID 0x%08x' % (sp, fid, want))
full = [p for p, c in conn.items() if c.get('syn') and c.get('fid') is not None]
print('# wire: %d connections, %d SYN-ACKs with flowID, %d direct IPIP packets, %d carrying the flowID' %
      (len(full), synacks, direct, with_opt))
if len(full) != want_conns:
    fail('%d connections with SYN and stamped SYN-ACK seen, want %d' % (len(full), want_conns))
if direct < 3 * want_conns:
    fail('only %d direct packets for %d connections' % (direct, want_conns))
if with_opt < want_conns:
    fail('only %d direct packets carry the flowID' % with_opt)
for m in fails:
    print('# ' + m)
sys.exit(1 if fails else 0)
EOF
tap_result "wire: stamped SYN-ACKs, then only IPIP to the named host with that flowID, checksums right" $?

# ---- 2: the acceptance run ----

step "counters before" snapshot before
loadgen "$E2E_WORK/load.json" --target "$VIP4:$PORT" --concurrency 8 --size 2000 conns "$N"
step "counters after" snapshot after
json_check "$E2E_WORK/load.json" "
note('%d connections: %d ok, %d failed, %d bytes verified, %d retransmits, per instance %s' % (d['total'], d['ok'], d['failed'], d['bytes_verified'], d['retransmits'], json.dumps(d['instances'], sort_keys=True)))
if d['ok'] != $N or d['failed']:
    fail('failures: %s' % json.dumps(d['failure_reasons']))
"
tap_result "load: $N connections over the direct path, every echoed byte verified" $?

# check_counters BEFORE AFTER N: exactly one router packet per connection, and the
# direct programs' and endpoints' counters agree with N connections sent directly
check_counters() {
	python3 - "$1" "$2" "$3" "$N_INST" <<'EOF'
import json, sys
b, a, n, ni = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3]), int(sys.argv[4])
fails = []
def router(d, r):
    return sum(x['packets'] for x in d['router']['router'] if x['reason'] == r)
def delta(r):
    return router(a, r) - router(b, r)
def ep(d, i, r):
    return sum(x['packets'] for x in d['inst%d' % i]['endpoint'] if x['reason'] == r)
def dr(d, k, r):
    return d[k]['packets'][r]
rd = dict((r, delta(r)) for r in ('fwd_new', 'fwd_flow_hit', 'fwd_ch_miss', 'fwd_flowid', 'fwd_resume'))
print('# router: ' + ', '.join('%s +%d' % kv for kv in rd.items()))
if rd['fwd_new'] != n:
    fails.append('router fwd_new +%d, want exactly %d (one SYN per connection)' % (rd['fwd_new'], n))
for r in ('fwd_flow_hit', 'fwd_ch_miss', 'fwd_flowid', 'fwd_resume'):
    if rd[r]:
        fails.append('router %s +%d: packets after the SYN went through the router' % (r, rd[r]))
decap = sum(ep(a, i, 'decap') - ep(b, i, 'decap') for i in range(1, ni + 1))
stamp = sum(dr(a, 'direct%d' % i, 'tx_stamp') - dr(b, 'direct%d' % i, 'tx_stamp') for i in range(1, ni + 1))
c = dict((r, dr(a, 'client', r) - dr(b, 'client', r)) for r in a['client']['packets'])
print('# instances: decap +%d, SYN-ACKs stamped +%d' % (decap, stamp))
print('# client: ' + ', '.join('%s +%d' % (r, v) for r, v in sorted(c.items()) if v))
if stamp != n:
    fails.append('instances stamped %d SYN-ACKs, want %d' % (stamp, n))
if c['rx_learn_flowid'] != n:
    fails.append('client learnt %d connections, want %d' % (c['rx_learn_flowid'], n))
sent = c['tx_direct'] + c['tx_direct_gso'] + c['tx_direct_no_room'] + c['tx_direct_no_opt']
if decap < n + sent:
    fails.append('instances decapsulated %d packets, want >= %d SYNs + %d direct' % (decap, n, sent))
if sent < 3 * n:
    fails.append('client sent only %d direct packets for %d connections' % (sent, n))
for r in ('tx_no_inst', 'tx_no_src', 'tx_fib', 'tx_encap_fail', 'tx_drop_edit', 'rx_unknown_inst', 'rx_bad_opt'):
    if c[r]:
        fails.append('client %s +%d' % (r, c[r]))
for m in fails:
    print('# ' + m)
sys.exit(1 if fails else 0)
EOF
}
check_counters "$E2E_WORK/before.json" "$E2E_WORK/after.json" "$N"
tap_result "load: router counted exactly one packet (the SYN) per connection: fwd_new = $N, no flow hit, no hash miss" $?

# ---- 3: IPv6, over IP6IP6 ----
# The instance hosts keep their instance ids; the client reaches them by their
# IPv6 addresses now (IP6IP6, outer source = the client's own IPv6 address).
N6=${E2E_CONNS6:-300}
setup_v6() {
	local i
	svc_create router "$SID6" direct6 "[$VIP6]:$PORT/tcp" 6 1 1 1 || return 1
	for i in $(seq 1 $N_INST); do
		direct "$(inst_ns "$i")" "$(agent_pin "inst$i")" local add "$VIP6" || return 1
		sctl "inst$i" decap add "$CLIENT6" || return 1
		direct "$NS_CLIENT" "$CLIENT_PIN" instance add "${NH[$i]}" "$(inst_addr6 "$i")" ||
			return 1
	done
	# 40 octets of outer IPv6 header and 8 of option under the link MTU
	ip -n "$NS_CLIENT" -6 route add "$VIP6/128" via "$ROUTER6" mtu 1452
}
step "setup: IPv6 service, client reaches the instance hosts over IPv6" setup_v6
step "counters before (IPv6)" snapshot before6
loadgen "$E2E_WORK/load6.json" --target "[$VIP6]:$PORT" --concurrency 8 --size 2000 conns "$N6"
step "counters after (IPv6)" snapshot after6
json_check "$E2E_WORK/load6.json" "
note('%d connections: %d ok, %d failed, %d bytes verified, %d retransmits' % (d['total'], d['ok'], d['failed'], d['bytes_verified'], d['retransmits']))
if d['ok'] != $N6 or d['failed']:
    fail('failures: %s' % json.dumps(d['failure_reasons']))
"
tap_result "ipv6: $N6 connections over IP6IP6, every echoed byte verified" $?
check_counters "$E2E_WORK/before6.json" "$E2E_WORK/after6.json" "$N6"
tap_result "ipv6: router counted exactly one packet per connection: fwd_new = $N6, no flow hit, no hash miss" $?
exit 0
