#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# servicectl dump: decodes svcplane options from a pcap file (written here byte
# by byte, with checksums, independently of the decoder) and from a live
# interface (a veth in a namespace of this test). Asserts on what it prints.
set -uo pipefail
SVC_BIN=${SVC_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/.output-san/bin}
CTL=$SVC_BIN/servicectl
work=$(mktemp -d /tmp/svc-dump.XXXXXX)
ns=svcdump-$$-$RANDOM
cleanup() {
	ip netns del "$ns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' INT TERM # the EXIT trap then cleans up
ok() { echo "ok - dump: $1"; }
fail() { echo "not ok - dump: $1"; }

# A pcap (Ethernet) with: a SYN carrying MSS + a TI-flow option (TIFID
# 0a4530000000, TISeq 1d), a SYN-ACK with a completed TIFID (0a4530be79bf) and a
# flowID option, and a plain ACK. The frames are built here with Python's struct.
python3 - "$work/t.pcap" <<'PY'
import struct, sys
def csum(b):
    if len(b) % 2: b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
def frame(src, dst, sport, dport, seq, ack, flags, opts):
    tcp = struct.pack('!HHIIBBHHH', sport, dport, seq, ack, (5 + len(opts) // 4) << 4, flags, 65535, 0, 0) + opts
    ph = bytes(src) + bytes(dst) + struct.pack('!BBH', 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack('!H', csum(ph + tcp)) + tcp[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, bytes(src), bytes(dst))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    return b'\x02\0\0\0\0\x02' + b'\x02\0\0\0\0\x01' + b'\x08\x00' + ip + tcp
c, s = [198, 18, 0, 1], [198, 19, 0, 10]
ti = lambda tifid, tiseq, tiack: bytes([253, 20]) + tifid.to_bytes(6, 'big') + tiseq.to_bytes(6, 'big') + tiack.to_bytes(6, 'big')
mss = bytes([2, 4, 5, 180])
fid = bytes([254, 8, 0x53, 0x56]) + (0x00070042).to_bytes(4, 'big')
frames = [frame(c, s, 40000, 80, 100, 0, 0x02, mss + ti(0x0a4530000000, 0x1d, 0)),
          frame(s, c, 80, 40000, 500, 101, 0x12, mss + ti(0x0a4530be79bf, 0x99, 0x1d) + fid),
          frame(c, s, 40000, 80, 101, 501, 0x10, b'')]
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, fr in enumerate(frames):
        f.write(struct.pack('<IIII', 1700000000 + i, 0, len(fr), len(fr)) + fr)
PY

if "$CTL" dump --pcap "$work/t.pcap" >"$work/text" 2>"$work/err" &&
	grep -q "flow-d tifid 0a4530000000 tiseq 00000000001d tiack 000000000000" "$work/text" &&
	grep -q "flow-d tifid 0a4530be79bf tiseq 000000000099 tiack 00000000001d" "$work/text" &&
	[ "$(wc -l <"$work/text")" = 2 ]; then
	ok "text: the SYN's and SYN-ACK's options as the paper prints them, the plain ACK left out"
else
	fail "text output"; sed 's/^/# /' "$work/text" "$work/err"
fi

if "$CTL" -j dump --pcap "$work/t.pcap" --all >"$work/json" 2>"$work/err" &&
	python3 - "$work/json" <<'PY'
import json, sys
pk = [json.loads(l) for l in open(sys.argv[1])]
assert len(pk) == 3, len(pk)
assert pk[0]['tiflow']['tifid'] == '0a4530000000' and pk[0]['tiflow']['responder'] == '000000', pk[0]['tiflow']
assert pk[1]['tiflow']['tifid'] == '0a4530be79bf' and pk[1]['tiflow']['tiack'] == '00000000001d'
assert pk[1]['flowid']['flowid'] == 0x00070042 and pk[1]['flowid']['instance'] == 7, pk[1]['flowid']
assert 'tiflow' not in pk[2] and 'flowid' not in pk[2]
assert all(p['csum'] == 'ok' for p in pk), [p['csum'] for p in pk]
PY
then
	ok "json --all: three packets, TIFID halves, flowID instance 7, checksums ok"
else
	fail "json output"; sed 's/^/# /' "$work/json" "$work/err"
fi

if "$CTL" dump --count 1 --pcap "$work/t.pcap" >"$work/one" 2>/dev/null && [ "$(wc -l <"$work/one")" = 1 ]; then
	ok "--count 1 stops after the first TCP packet"
else
	fail "--count"
fi

# Bad input: exit 2 (usage) and a message naming the problem; exit 1 for an unreadable file.
"$CTL" dump >/dev/null 2>"$work/e1"; r1=$?
"$CTL" dump --pcap "$work/t.pcap" --iface lo >/dev/null 2>"$work/e2"; r2=$?
"$CTL" dump --pcap "$work/missing.pcap" >/dev/null 2>"$work/e3"; r3=$?
head -c 10 "$work/t.pcap" >"$work/torn.pcap"
"$CTL" dump --pcap "$work/torn.pcap" >/dev/null 2>"$work/e4"; r4=$?
if [ $r1 = 2 ] && grep -q "one of --pcap" "$work/e1" && [ $r2 = 2 ] && [ $r3 = 1 ] &&
	grep -q "missing.pcap" "$work/e3" && [ $r4 = 1 ]; then
	ok "bad input: no source / two sources exit 2, missing or torn file exit 1 naming it"
else
	fail "bad input: exits $r1 $r2 $r3 $r4"; cat "$work"/e[1-4] | sed 's/^/# /'
fi

# Live: a SYN with a TI-flow option sent over a veth in our namespace is decoded.
if [ "$(id -u)" != 0 ]; then
	echo "ok - dump: live capture # SKIP needs root"
	exit 0
fi
ip netns add "$ns" && ip -n "$ns" link add d0 type veth peer name d1 &&
	ip -n "$ns" link set d0 up && ip -n "$ns" link set d1 up || { fail "live: setup"; exit 0; }
# (--timeout, at most 100 s, only bounds a broken run: the capture ends at its first packet)
wait_s=${E2E_WAIT:-120}
ip netns exec "$ns" "$CTL" -j dump --iface d1 --count 1 --timeout 100000 \
	>"$work/live" 2>"$work/lerr" &
cap=$!
# Send the pcap's first frame on d0 until the capture has it (no sleep as synchronisation).
deadline=$((SECONDS + wait_s))
while [ $SECONDS -lt $deadline ]; do
	ip netns exec "$ns" python3 - "$work/t.pcap" <<'PY'
import socket, sys
b = open(sys.argv[1], 'rb').read()
n = int.from_bytes(b[24 + 8:24 + 12], 'little')
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('d0', 0))
s.send(b[24 + 16:24 + 16 + n])
PY
	kill -0 $cap 2>/dev/null || break
	python3 -c 'import time; time.sleep(0.1)'
done
wait $cap
if grep -q '"tifid":"0a4530000000"' "$work/live"; then
	ok "live: a SYN's TI-flow option decoded from a veth"
else
	fail "live capture"; sed 's/^/# /' "$work/live" "$work/lerr"
fi
exit 0
