#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: path MTU with 1500-byte MTUs on every link (no room for the
# router's outer header). A 100 MB upload and download through a VIP, IPv4 and
# IPv6, with curl against a plain HTTP server, arrive with the right SHA-256;
# the router fitted the MSS of the SYNs and SYN-ACKs (ev_mss_clamped) and
# dropped nothing for being too big; a UDP datagram larger than the path
# gets the router's ICMP, and the sending application sees EMSGSIZE and the
# path MTU (IP_MTU / IPV6_MTU); without the router on the instance links (no
# SYN-ACK clamp) uploads complete through the router's ICMP replies.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

SID4=2001:db8:5e::4 # instances by IPv4 address: IPIP, 20 bytes
SID6=2001:db8:5e::6 # instances by IPv6 address: IP6IP6, 40 bytes
MB=${E2E_PMTU_MB:-100}
E2E_INST_MTU=1500

e2e_init
e2e_require curl sha256sum
step "setup: topology (1500 everywhere)" topo_create
step "setup: agents" agents_start

# The router program also runs where the instances' replies enter, so that it
# sees their SYN-ACKs (README, "Using it"); instances send fully checksummed
# frames, like a real NIC (the router edits the SYN-ACK's MSS in place).
setup_router_return() {
	local i
	for i in $(seq 1 $N_INST); do
		sctl router attach "$(if_router_inst "$i")" router || return 1
		in_ns "$(inst_ns "$i")" ethtool -K "$(if_inst "$i")" tx off >/dev/null || return 1
	done
}
step "setup: router on the instance links" setup_router_return

# A plain HTTP server per instance (dual stack, port 8080): GET streams the
# blob, PUT answers the SHA-256 of what it received.
cat >"$E2E_WORK/blobd.py" <<'PY'
import hashlib, http.server, shutil, socket, sys
blob, ready = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def do_GET(self):
        with open(blob, "rb") as f:
            f.seek(0, 2)
            n = f.tell()
            f.seek(0)
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            shutil.copyfileobj(f, self.wfile, 1 << 16)
    def do_PUT(self):
        n, h = int(self.headers["Content-Length"]), hashlib.sha256()
        while n:
            b = self.rfile.read(min(n, 1 << 16))
            if not b:
                break
            h.update(b)
            n -= len(b)
        body = (h.hexdigest() + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()
s = S(("::", 8080), H)
open(ready, "w").close()
s.serve_forever()
PY
blob="$E2E_WORK/blob"
head -c "${MB}M" /dev/urandom >"$blob" || bail "setup: blob" "cannot write $blob"
want=$(sha256sum "$blob" | cut -d' ' -f1)
start_blobd() {
	local i
	for i in $(seq 1 $N_INST); do
		bg_ns "$E2E_WORK/blobd$i.log" "$(inst_ns "$i")" python3 "$E2E_WORK/blobd.py" "$blob" \
			"$E2E_WORK/blobd$i.ready"
		wait_until "$E2E_WAIT" test -f "$E2E_WORK/blobd$i.ready" ||
			{ echo "blobd $i not ready"; cat "$E2E_WORK/blobd$i.log"; return 1; }
	done
}
step "setup: HTTP servers" start_blobd
out=$(svc_create router "$SID4" web4 "$VIP4:8080/tcp" 4 1 1 1 &&
	sctl router bind add "$VIP4:9000/udp" "$SID4" &&
	svc_create router "$SID6" web6 "[$VIP6]:8080/tcp" 6 1 1 1 &&
	sctl router bind add "[$VIP6]:9000/udp" "$SID6" 2>&1) ||
	bail "setup: servicectl configuration" "$out"
tap_ok "setup: 1500-byte MTUs on every link, 2 services, 3 HTTP servers"

# transfer NAME URL: download and upload through the VIP, both hashes right.
transfer() {
	local name=$1 url=$2 got up
	got=$(client_run curl -sS --fail --max-time "$E2E_WAIT" "$url/blob" 2>"$E2E_WORK/$name.err" |
		sha256sum | cut -d' ' -f1)
	[ "$got" = "$want" ]
	tap_result "$name: ${MB} MB download, SHA-256 right" $? \
		"got $got, want $want; $(cat "$E2E_WORK/$name.err")"
	up=$(client_run curl -sS --fail --max-time "$E2E_WAIT" -T "$blob" "$url/up" \
		2>"$E2E_WORK/$name.uerr")
	[ "$up" = "$want" ]
	tap_result "$name: ${MB} MB upload, SHA-256 right at the server" $? \
		"server hashed '$up', want $want; $(cat "$E2E_WORK/$name.uerr")"
}
transfer tcp4 "http://$VIP4:8080"
transfer tcp6 "http://[$VIP6]:8080"

# The router: every SYN and SYN-ACK fitted (4 connections: at least 8), no
# TCP packet too big (neither dropped nor answered with ICMP).
f="$E2E_WORK/stats.json"
counts() {
	sctl_j router stats >"$f" 2>"$E2E_WORK/stats.err" || { cat "$E2E_WORK/stats.err"; return 1; }
	json_check "$f" "
def reason(name):
    return sum(r['packets'] for r in d['router'] if r['reason'] == name)
note('router: fwd_new %d, fwd_flow_hit %d, ev_mss_clamped %d, drop_too_big %d, icmp_too_big %d' % tuple(reason(n) for n in ('fwd_new', 'fwd_flow_hit', 'ev_mss_clamped', 'drop_too_big', 'icmp_too_big')))
$1
"
}
counts "
if reason('ev_mss_clamped') < 8:
    fail('ev_mss_clamped %d < 8 (4 SYNs, 4 SYN-ACKs)' % reason('ev_mss_clamped'))
for r in ('drop_too_big', 'icmp_too_big'):
    if reason(r):
        fail('%s = %d' % (r, reason(r)))
"
tap_result "stats: SYNs and SYN-ACKs clamped, zero drop_too_big and icmp_too_big for TCP" $?

# A UDP datagram that fills the client's link: too big once encapsulated. The
# router answers with ICMP; the kernel records the path MTU and the
# application's next send fails with EMSGSIZE (IP_PMTUDISC_DO, no fragments).
cat >"$E2E_WORK/udp_pmtu.py" <<'PY'
import errno, json, socket, sys, time
fam, addr, size, limit = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
if fam == "4":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, 10, 2)   # IP_MTU_DISCOVER = IP_PMTUDISC_DO
    opt = (socket.IPPROTO_IP, 14)            # IP_MTU
else:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, 23, 2) # IPV6_MTU_DISCOVER = IPV6_PMTUDISC_DO
    opt = (socket.IPPROTO_IPV6, 24)          # IPV6_MTU
s.connect((addr, 9000))
first = s.getsockopt(*opt)
sent, emsgsize, end = 0, False, time.monotonic() + limit
# Poll for the outcome: each send either goes out (the ICMP has not come back
# yet) or fails with EMSGSIZE once it has.
while time.monotonic() < end:
    try:
        s.send(b"x" * size)
        sent += 1
    except OSError as e:
        if e.errno == errno.EMSGSIZE:
            emsgsize = True
            break
        raise
    time.sleep(0.05)
print(json.dumps({"mtu_before": first, "sent": sent, "emsgsize": emsgsize,
                  "mtu": s.getsockopt(*opt)}))
PY
udp_pmtu() {
	local name=$1 fam=$2 addr=$3 size=$4 want_mtu=$5 f="$E2E_WORK/$1.json"
	client_run python3 "$E2E_WORK/udp_pmtu.py" "$fam" "$addr" "$size" "$E2E_WAIT" >"$f" \
		2>"$E2E_WORK/$name.err" || { tap_fail "$name" "$(cat "$E2E_WORK/$name.err")"; return; }
	json_check "$f" "
note('$name: path MTU %d before, %d after %d datagram(s) of $size bytes, EMSGSIZE %s' % (d['mtu_before'], d['mtu'], d['sent'], d['emsgsize']))
if not d['emsgsize']:
    fail('no EMSGSIZE')
if d['mtu'] != $want_mtu:
    fail('path MTU %d, want $want_mtu' % d['mtu'])
"
	tap_result "$name: a $size-byte datagram gets ICMP from the router: EMSGSIZE, path MTU $want_mtu" $?
}
# IPv4: 1472 + 28 = 1500, + 20 outer; IPv6: 1452 + 48 = 1500, + 40 outer
udp_pmtu udp4 4 "$VIP4" 1472 1480
udp_pmtu udp6 6 "$VIP6" 1452 1460
counts "
if reason('icmp_too_big') < 2:
    fail('icmp_too_big %d < 2' % reason('icmp_too_big'))
"
tap_result "stats: the UDP datagrams counted icmp_too_big" $?

# Without the router on the instance links it never sees the SYN-ACKs: the
# client sends full-size segments, the router answers the first ones with
# ICMP, the client lowers its path MTU and the upload completes. Second VIPs:
# the client has the first ones' path MTU cached by now.
VIP4B=198.19.0.11
VIP6B=2001:db8:19::11
second_vips() {
	local i
	for i in $(seq 1 $N_INST); do
		sctl router detach "$(if_router_inst "$i")" || return 1
		ip -n "$(inst_ns "$i")" addr add "$VIP4B/32" dev lo &&
			ip -n "$(inst_ns "$i")" addr add "$VIP6B/128" dev lo nodad || return 1
	done
	sctl router bind add "$VIP4B:8080/tcp" "$SID4" && sctl router bind add "[$VIP6B]:8080/tcp" "$SID6"
}
step "setup: router off the instance links, second VIPs" second_vips
icmp_before=$(router_counter icmp_too_big)
upload_only() {
	local name=$1 url=$2 up
	up=$(client_run curl -sS --fail --max-time "$E2E_WAIT" -T "$blob" "$url/up" \
		2>"$E2E_WORK/$name.uerr")
	[ "$up" = "$want" ]
	tap_result "$name: ${MB} MB upload without the SYN-ACK clamp, SHA-256 right at the server" $? \
		"server hashed '$up', want $want; $(cat "$E2E_WORK/$name.uerr")"
}
upload_only tcp4_icmp "http://$VIP4B:8080"
upload_only tcp6_icmp "http://[$VIP6B]:8080"
counts "
if reason('icmp_too_big') < $icmp_before + 2:
    fail('icmp_too_big %d: no reply to full-size segments (was %d)' % (reason('icmp_too_big'), $icmp_before))
if reason('drop_too_big'):
    fail('drop_too_big = %d' % reason('drop_too_big'))
"
tap_result "stats: full-size segments answered with ICMP (icmp_too_big), none dropped" $?
exit 0
