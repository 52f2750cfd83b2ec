#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# `svc-bench packet` (figure 1 of make bench) still measures what it says: a
# short run (no scale figure, 1 round, few iterations) in a namespace of its own,
# where every case's output frame, verdict and counters are checked by the bench
# itself (docs/performance.md, "Method"). Asserted here from its JSON, not from
# its figures (speed is make bench's business):
#   - every measured case is verified (a case whose packet the router no longer handles
#     as described, like the flowID case after the keyed-ID change, fails here);
#   - the floor of each family, the SYN flood with and without the flood guard,
#     established, flowID and no-service cases are all present;
#   - the targets table of issue 15 is in the JSON, one row per target.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

e2e_init
e2e_require_built "$SVC_BIN/svc-bench"
e2e_require jq

NS=$(ns_name bench)
PIN=$(agent_pin bench)
OUT=$E2E_WORK/packet.json

# The per-packet namespace of scripts/bench.sh: next hops that resolve (route +
# permanent neighbour), forwarding on (bpf_fib_lookup answers only then).
setup() {
	ns_add "$NS" &&
		ip -n "$NS" link add vb0 address 02:00:00:b0:00:01 type veth peer name vb1 \
			address 02:00:00:b0:00:02 &&
		ip -n "$NS" link set vb0 up && ip -n "$NS" link set vb1 up &&
		ip -n "$NS" addr add 198.18.0.1/24 dev vb0 &&
		ip -n "$NS" addr add 2001:db8:b::1/64 dev vb0 nodad &&
		ip -n "$NS" neigh add 198.18.0.2 lladdr 02:00:00:b0:00:02 dev vb0 nud permanent &&
		ip -n "$NS" -6 neigh add 2001:db8:b::2 lladdr 02:00:00:b0:00:02 dev vb0 \
			nud permanent &&
		ip -n "$NS" route add 198.19.0.0/16 via 198.18.0.2 &&
		ip -n "$NS" -6 route add 2001:db8:bb::/48 via 2001:db8:b::2 &&
		ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=1 \
			net.ipv6.conf.all.forwarding=1
}
step "setup: namespace with resolvable next hops" setup

in_ns "$NS" "$SVC_BIN/svc-bench" packet --ifname vb0 --pin-dir "$PIN" --out "$OUT" \
	--no-scale --rounds 1 --repeat 2000 >"$E2E_WORK/bench.out" 2>&1
rc=$?
tap_result "svc-bench packet ran (exit 0, JSON written)" "$([ "$rc" = 0 ] && [ -s "$OUT" ]; echo $?)" \
	"$(tail -n 20 "$E2E_WORK/bench.out")"
[ -s "$OUT" ] || exit 1

# Measured cases: the sockops row is a pointer to figure 6 ("status": "n/a").
cases='[.per_packet.cases[] | select(.status != "n/a")]'
n=$(jq "$cases | length" "$OUT")
bad=$(jq -r "$cases | map(select(.verified != true)) | .[] | \"\(.name): \(.check // .why // \"not verified\")\"" "$OUT")
tap_result "all $n cases verified (output frame, verdict, counters)" "$([ "$n" -gt 20 ] && [ -z "$bad" ]; echo $?)" \
	"${bad:-only $n cases}"

for c in baseline_floor router_syn router_syn_guarded router_syn_same_tuple router_established \
	router_flowid router_no_service; do
	for fam in ipv4 ipv6; do
		v=$(jq -r --arg n "$c" --arg f "$fam" \
			"$cases | map(select((.name == \$n or .name == \$n + \"_\" + \$f) and .family == \$f)) |
			 .[0].verified" "$OUT")
		tap_result "case $c ($fam) measured and verified" "$([ "$v" = true ]; echo $?)" \
			"verified: $v"
	done
done

rows=$(jq '.per_packet.targets | length' "$OUT")
tap_result "issue 15's targets table in the JSON (12 rows)" "$([ "$rows" = 12 ]; echo $?)" \
	"rows: $rows"

[ "$E2E_FAILED" = 0 ]
