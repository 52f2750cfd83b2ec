#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: a SYN resuming a TI-flow reaches the instance its TIFID names,
# through a freshly started router with an empty flow table.
#
# The router first carries real traffic (its flow table fills), then it is
# uninstalled (programs detached, pins removed) and started again from its state
# file: new maps, flow table empty (checked). The client then sends SYNs carrying
# a completed TIFID (TI-flow option kind 253: initiator half + responder half =
# instance id << 8 | keyed check, the instance id being the router's next-hop id
# of the instance host), crafted with a raw socket. All SYNs of one family share
# one 5-tuple, so a 5-tuple hash could send them to one instance only: each must
# reach the instance its own TIFID names. Checked on the wire at every instance
# (tcpdump in its namespace, TIFIDs parsed here), by the instances' endpoint
# counters and by the router's fwd_resume counter. The responder halves carry
# the keyed check under the test's deployment key (svc-optmac). A genuine TIFID
# naming an instance outside the service's set (ev_opt_policy) and a forged one
# (ev_opt_forged) fall back to the consistent hash.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

SID4=2001:db8:5e::a4
SID6=2001:db8:5e::a6
PORT=7777 # nothing listens there: an instance answers a RST the client ignores
CPORT=40777

e2e_init
e2e_require tcpdump
step "setup: topology" topo_create
step "setup: agents" agents_start
step "setup: instances" echods_start --port 8080 --tcp
out=$(svc_create router "$SID4" resume4 "$VIP4:8080/tcp" 4 1 1 1 &&
	sctl router bind add "$VIP4:$PORT/tcp" "$SID4" &&
	svc_create router "$SID6" resume6 "[$VIP6]:$PORT/tcp" 6 1 1 1 2>&1) ||
	bail "setup: servicectl configuration" "$out"

# next-hop id of each instance host address on the router
declare -A NH=()
nh_ids() {
	local f="$E2E_WORK/instances.json" i a
	sctl_j router instance list >"$f" || return 1
	for i in $(seq 1 $N_INST); do
		for a in "$(inst_addr4 "$i")" "$(inst_addr6 "$i")"; do
			NH[$a]=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print([x["nh_id"] for x in d["instances"] if x["addr"] == sys.argv[2]][0])' "$f" "$a") || return 1
		done
	done
}
step "setup: next-hop ids" nh_ids
tap_ok "setup: topology, agents, IPv4 and IPv6 services of 3 instances"

flow_count() { sctl_j router flows --count | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])'; }

# ---- the router has state, then starts afresh ----

loadgen "$E2E_WORK/warm.json" --target "$VIP4:8080" --concurrency 4 conns 30
json_check "$E2E_WORK/warm.json" "
if d['ok'] != 30:
    fail('%d of 30 connections ok' % d['ok'])
" && n=$(flow_count) && [ "$n" -gt 0 ]
tap_result "router carried traffic: ${n:-?} flows in its table" $?

step "router: uninstalled and started again from its state file" router_restart_fresh
sctl_j router status >"$E2E_WORK/status.json" 2>&1
json_check "$E2E_WORK/status.json" "
if d['agent']['adopted'] is not False:
    fail('agent adopted pinned state: %s' % d['agent'])
att = [x for x in d['attachments'] if x['prog'] == 'router']
if len(att) != 1 or att[0]['attached'] is not True:
    fail('router program not attached again: %s' % d['attachments'])
flows = [m['entries'] for m in d['maps'] if m['map'] == 'flows']
if flows != [0]:
    fail('flows map entries %s' % flows)
" >/dev/null
tap_result "router: fresh maps (not adopted), router program attached again, flows map empty" $? "$(cat "$E2E_WORK/status.json")"
n=$(flow_count)
[ "$n" = 0 ]
tap_result "router: flow table empty after the fresh start (count $n)" $?

# ---- resumed SYNs ----

# counters snapshot NAME
snapshot() {
	local f="$E2E_WORK/$1.json" i
	{
		echo '{"router":'
		sctl_j router stats || return 1
		for i in $(seq 1 $N_INST); do
			echo ",\"inst$i\":"
			sctl_j "inst$i" stats || return 1
		done
		echo '}'
	} >"$f"
}

declare -A DUMP_PID=()
for i in $(seq 1 $N_INST); do
	bg_ns "$E2E_WORK/tcpdump$i.log" "$(inst_ns "$i")" tcpdump --immediate-mode -U -B 4096 -n \
		-i "$(if_inst "$i")" -w "$E2E_WORK/inst$i.pcap" "tcp port $PORT or ip proto 4 or ip6 proto 41"
	DUMP_PID[$i]=$BG_PID
done
for i in $(seq 1 $N_INST); do
	wait_until "$E2E_WAIT" grep -q "listening on" "$E2E_WORK/tcpdump$i.log" ||
		bail "setup: tcpdump in instance $i" "$(cat "$E2E_WORK/tcpdump$i.log")"
done
step "counters before" snapshot before

# send_syn SRC DST SPORT TIFID(hex, 12 digits): a SYN with MSS and a TI-flow option
# whose TIFID is complete (a resume), from a raw socket in the client namespace.
send_syn() {
	client_run python3 - "$@" <<'EOF'
import socket, struct, sys
src, dst, sport, tifid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4], 16)
port = int(sys.argv[5])
v6 = ':' in dst
opts = struct.pack('!BBH', 2, 4, 1400)                              # MSS
opts += struct.pack('!BB', 253, 20) + tifid.to_bytes(6, 'big')      # TI-flow: TIFID
opts += (0x123456789a).to_bytes(6, 'big') + bytes(6)                 # TISeq, TIAck 0
hdr = struct.pack('!HHIIBBHHH', sport, port, 0x01020304, 0, (5 + len(opts) // 4) << 4, 0x02,
                  64240, 0, 0) + opts
if v6:
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_TCP)
    s.setsockopt(socket.IPPROTO_IPV6, 7, 16)                         # IPV6_CHECKSUM at 16
    s.bind((src, 0))
    s.sendto(hdr, (dst, 0))
else:
    def csum(b):
        s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
        while s >> 16:
            s = (s & 0xffff) + (s >> 16)
        return ~s & 0xffff
    ps = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, 6, len(hdr))
    hdr = hdr[:16] + struct.pack('!H', csum(ps + hdr)) + hdr[18:]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    s.bind((src, 0))
    s.sendto(hdr, (dst, 0))
EOF
}

# TIFID for instance host address A: initiator half 0x5e5e00 + I, responder
# nh << 8 | the keyed check under the deployment key (svc-optmac)
tifid_for() {
	local ini
	ini=$(printf '%06x' $((0x5e5e00 + $2)))
	echo "$ini$("$TOOLS/svc-optmac" tifid "$E2E_OPT_KEY" "$ini" "${NH[$1]}")"
}

expect="$E2E_WORK/expect.txt" # lines: instance-number tifid family
: >"$expect"
sent=0
for fam in 4 6; do
	for i in $(seq 1 $N_INST); do
		a=$(inst_addr$fam "$i")
		t=$(tifid_for "$a" $((fam * 10 + i)))
		if [ "$fam" = 4 ]; then
			send_syn "$CLIENT4" "$VIP4" "$CPORT" "$t" "$PORT"
		else
			send_syn "$CLIENT6" "$VIP6" "$CPORT" "$t" "$PORT"
		fi || bail "send a resumed SYN" "raw socket send failed"
		echo "$i $t $fam" >>"$expect"
		sent=$((sent + 1))
	done
done
# a genuine TIFID naming an instance outside the service's set (one that does
# not exist): out of policy, the consistent hash decides
STALE=5e5eff$("$TOOLS/svc-optmac" tifid "$E2E_OPT_KEY" 5e5eff 999)
# a forged TIFID (wrong keyed check) naming a real instance: ignored too
GENUINE=$("$TOOLS/svc-optmac" tifid "$E2E_OPT_KEY" 5e5efe "${NH[$(inst_addr4 1)]}") ||
	bail "svc-optmac" "failed"
FORGED=5e5efe$(printf '%06x' $((0x$GENUINE ^ 1)))
send_syn "$CLIENT4" "$VIP4" $((CPORT + 1)) "$STALE" "$PORT" || bail "send a stale SYN" "send failed"
send_syn "$CLIENT4" "$VIP4" $((CPORT + 2)) "$FORGED" "$PORT" || bail "send a forged SYN" "send failed"

# wait until the instances decapsulated all 7 SYNs (bounded)
decapped() {
	snapshot now >/dev/null 2>&1 || return 1
	python3 - "$E2E_WORK/before.json" "$E2E_WORK/now.json" "$N_INST" <<'EOF'
import json, sys
b, a, n = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
def dec(d, i):
    return sum(x['packets'] for x in d['inst%d' % i]['endpoint'] if x['reason'] == 'decap')
sys.exit(0 if sum(dec(a, i) - dec(b, i) for i in range(1, n + 1)) >= 8 else 1)
EOF
}
wait_until "$E2E_WAIT" decapped
step "counters after" snapshot after
# The endpoint counts a packet before the capture reads it: a marker SYN from the
# router to each instance (after the resumed ones) shows in its capture once
# everything before it does.
for i in $(seq 1 $N_INST); do
	marker() { in_ns "$NS_ROUTER" timeout 5 bash -c "exec 3<>/dev/tcp/$(inst_addr4 "$i")/$PORT"; }
	pcap_sync "$E2E_WORK/inst$i.pcap" "src host 198.18.$i.1 and tcp dst port $PORT" marker ||
		diag "the capture on instance $i never showed the marker packet"
	stop_pid "${DUMP_PID[$i]}" INT
done

python3 - "$E2E_WORK/before.json" "$E2E_WORK/after.json" "$N_INST" "$sent" <<'EOF'
import json, sys
b, a, n, sent = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3]), int(sys.argv[4])
fails = []
def router(d, r):
    return sum(x['packets'] for x in d['router']['router'] if x['reason'] == r)
rd = dict((r, router(a, r) - router(b, r)) for r in ('fwd_resume', 'ev_opt_policy', 'ev_opt_forged', 'fwd_new', 'fwd_flow_hit', 'fwd_ch_miss'))
print('# router: ' + ', '.join('%s +%d' % kv for kv in rd.items()))
if rd['fwd_resume'] != sent:
    fails.append('fwd_resume +%d, want %d' % (rd['fwd_resume'], sent))
if rd['ev_opt_policy'] != 1 or rd['ev_opt_forged'] != 1 or rd['fwd_new'] != 2:
    fails.append('out-of-policy and forged TIFIDs: ev_opt_policy +%d, ev_opt_forged +%d, fwd_new +%d, want 1, 1 and 2' % (rd['ev_opt_policy'], rd['ev_opt_forged'], rd['fwd_new']))
for i in range(1, n + 1):
    def dec(d):
        return sum(x['packets'] for x in d['inst%d' % i]['endpoint'] if x['reason'] == 'decap')
    print('# inst%d: decap +%d' % (i, dec(a) - dec(b)))
for m in fails:
    print('# ' + m)
sys.exit(1 if fails else 0)
EOF
tap_result "router: $sent resumed SYNs counted fwd_resume, the out-of-policy and the forged one hashed (ev_opt_policy, ev_opt_forged)" $?

python3 - "$E2E_WORK" "$expect" "$N_INST" "$PORT" "$CPORT" "$STALE" "$FORGED" <<'EOF'
import struct, sys
work, expect, n, port, cport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
stale = (int(sys.argv[6], 16), int(sys.argv[7], 16))
want = {}
for line in open(expect):
    i, t, fam = line.split()
    want.setdefault(int(i), set()).add(int(t, 16))
fails = []

def frames(p):
    d = open(p, 'rb').read()
    e = '<' if struct.unpack('<I', d[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) else '>'
    off = 24
    while off + 16 <= len(d):
        _, _, incl, _ = struct.unpack(e + 'IIII', d[off:off + 16])
        yield d[off + 16:off + 16 + incl]
        off += 16 + incl

def l4(ip):
    """(proto, payload) of an IP packet, descending into IPIP / IP6IP6."""
    if ip[0] >> 4 == 4:
        ihl, proto = (ip[0] & 15) * 4, ip[9]
        pl = ip[ihl:struct.unpack('!H', ip[2:4])[0]]
    else:
        proto, pl = ip[6], ip[40:40 + struct.unpack('!H', ip[4:6])[0]]
    if proto in (4, 41):
        return l4(pl)
    return proto, pl

def tifid_of(seg):
    doff, o = (seg[12] >> 4) * 4, 20
    while o < doff:
        k = seg[o]
        if k == 0:
            break
        if k == 1:
            o += 1
            continue
        if seg[o + 1] < 2:
            break
        if k == 253 and seg[o + 1] == 20:
            return int.from_bytes(seg[o + 2:o + 8], 'big')
        o += seg[o + 1]
    return None

stale_seen = 0
for i in range(1, n + 1):
    got = set()
    for f in frames('%s/inst%d.pcap' % (work, i)):
        if struct.unpack('!H', f[12:14])[0] not in (0x0800, 0x86dd):
            continue
        proto, seg = l4(f[14:])
        if proto != 6 or len(seg) < 20:
            continue
        sp, dp = struct.unpack('!HH', seg[:4])
        if dp != port or seg[13] & 0x12 != 0x02:
            continue
        t = tifid_of(seg)
        if t in stale:
            stale_seen += 1
        elif t is not None:
            got.add(t)
    print('# inst%d received resumed SYNs with TIFIDs %s' % (i, ' '.join('%012x' % t for t in sorted(got))))
    if got != want.get(i, set()):
        fails.append('inst%d: TIFIDs %s, want %s' % (i, sorted('%012x' % t for t in got), sorted('%012x' % t for t in want.get(i, set()))))
if stale_seen != 2:
    fails.append('the out-of-policy and forged SYNs reached %d instances, want 2' % stale_seen)
for m in fails:
    print('# ' + m)
sys.exit(1 if fails else 0)
EOF
tap_result "wire: each instance received exactly the resumed SYNs whose TIFID names it (same 5-tuple, IPv4 and IPv6)" $?
exit 0
