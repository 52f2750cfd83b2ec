#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: weights 1:1:2 over real TCP connections and UDP exchanges, IPv4 and IPv6.
#
# Configured only through servicectl. Asserted from what svc-loadgen measured:
# every connection completes with its bytes echoed exactly, and each instance's
# share (named by the instance itself) is within 5 points of 25/25/50.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

N=${E2E_CONNS:-2000} # per case; 1000 is the floor the issue sets
SID4=2001:db8:5e::4  # service with IPv4 instance addresses (IPIP)
SID6=2001:db8:5e::6  # service with IPv6 instance addresses (IP6IP6)

e2e_init
step "setup: topology" topo_create
step "setup: agents" agents_start
step "setup: instances" echods_start --port 8080 --tcp --udp
out=$(svc_create router "$SID4" web4 "$VIP4:8080/tcp" 4 1 1 2 &&
	sctl router bind add "$VIP4:8080/udp" "$SID4" &&
	svc_create router "$SID6" web6 "[$VIP6]:8080/tcp" 6 1 1 2 &&
	sctl router bind add "[$VIP6]:8080/udp" "$SID6" 2>&1) ||
	bail "setup: servicectl configuration" "$out"
tap_ok "setup: topology, 4 agents, 3 instances, 2 services configured with servicectl"

# split CASE MODE TARGET SIZE
split() {
	local name=$1 mode=$2 target=$3 size=$4 f="$E2E_WORK/$1.json"
	loadgen "$f" --target "$target" --concurrency 8 --size "$size" "$mode" "$N"
	check_split "$f" "$N" 5 inst1=25 inst2=25 inst3=50
	tap_result "$name: $N ${mode}, weights 1:1:2, all bytes verified, split within 5 points" $?
}

split tcp4 conns "$VIP4:8080" 4000
split tcp6 conns "[$VIP6]:8080" 4000
split udp4 udp "$VIP4:8080" 1200
split udp6 udp "[$VIP6]:8080" 1200

# The router's own counters agree with what the client measured: at least the
# 2 x N TCP SYNs were resolved by FORWARD (UDP exchanges that reuse a source
# port are flow-table hits), and nothing was dropped on the way.
f="$E2E_WORK/stats.json"
if sctl_j router stats >"$f" 2>"$E2E_WORK/stats.err"; then
	json_check "$f" "
def reason(name):
    return sum(r['packets'] for r in d['router'] if r['reason'] == name)
fwd = reason('fwd_new')
note('router fwd_new %d, fwd_flow_hit %d, drop_no_nexthop %d, drop_no_neigh %d' % (fwd, reason('fwd_flow_hit'), reason('drop_no_nexthop'), reason('drop_no_neigh')))
if fwd < 2 * $N:
    fail('fwd_new %d < %d SYNs sent' % (fwd, 2 * $N))
for r in ('drop_no_nexthop', 'drop_no_neigh', 'drop_too_big', 'drop_fib'):
    if reason(r):
        fail('%s = %d' % (r, reason(r)))
"
	tap_result "stats: servicectl -j stats counts the forwarded first packets, no drops" $?
else
	tap_fail "stats: servicectl -j stats" "$(cat "$E2E_WORK/stats.err")"
fi
exit 0
