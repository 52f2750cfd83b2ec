#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: two routers given the same next-hop set agree byte for byte, and
# so does a router rebuilt from scratch (issue 11: 28.4 % of slots differed).
#
# Router A (the attached one) gets each service's 10 instances one at a time,
# then weight changes, a removal and re-addition, a down/up; router B (a second
# agent in the same namespace, own pins) gets the final set at once, in reverse
# order. Their consistent-hash tables (read from the pinned maps with bpftool)
# must be identical, and route lookups (the op `servicectl route get` sends)
# must give the same answer on both for 2,000 random 5-tuples per family. Then
# A is uninstalled (`svcplaned --uninstall`: programs detached, pins removed,
# journal kept) and started again: it rebuilds the same tables. The
# percentages of differing slots are printed.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

LOOKUPS=${E2E_LOOKUPS:-2000}
SID4=2001:db8:5e::4
SID6=2001:db8:5e::6
N_ADDR=10

e2e_init
command -v bpftool >/dev/null || bail "setup" "bpftool not installed (make deps)"
step "setup: topology" topo_create
step "setup: agents" agents_start
step "setup: router B" agent_start routerb "$NS_ROUTER" --src "$ROUTER4" --src "$ROUTER6"
tap_ok "setup: topology, router A (attached), router B (same namespace, own pins), 3 instances"

# addr FAMILY K: the K-th instance address (1..3 real hosts, the others on their links).
addr() {
	local fam=$1 k=$2 n=$(($2 % 3 + 1))
	if [ "$k" -le 3 ]; then
		inst_addr$fam "$k"
	elif [ "$fam" = 4 ]; then
		echo "198.18.$n.$((20 + k))"
	else
		echo "2001:db8:18:$n::$((20 + k))"
	fi
}
# final weight of instance K
weight() { echo $((($1 * 7) % 5 + 1)); }

# history_a FAMILY SID BIND: router A, one change at a time.
history_a() {
	local fam=$1 sid=$2 bind=$3 k
	sctl router service add "$sid" --name "web$fam" || return 1
	sctl router bind add "$bind" "$sid" || return 1
	for k in $(seq 1 $N_ADDR); do
		sctl router instance add "$sid" "$(addr "$fam" "$k")" --weight 1 --name "i$k" ||
			return 1
	done
	for k in $(seq 1 $N_ADDR); do
		sctl router instance set "$sid" "$(addr "$fam" "$k")" --weight "$(weight "$k")" ||
			return 1
	done
	sctl router instance del "$sid" "$(addr "$fam" 4)" &&
		sctl router instance add "$sid" "$(addr "$fam" 4)" --weight "$(weight 4)" --name i4 &&
		sctl router instance set "$sid" "$(addr "$fam" 2)" --state down &&
		sctl router instance set "$sid" "$(addr "$fam" 2)" --state up
}
# final_b FAMILY SID BIND: router B, the final set in reverse order.
final_b() {
	local fam=$1 sid=$2 bind=$3 k
	sctl routerb service add "$sid" --name "web$fam" || return 1
	for k in $(seq $N_ADDR -1 1); do
		sctl routerb instance add "$sid" "$(addr "$fam" "$k")" --weight "$(weight "$k")" \
			--name "i$k" || return 1
	done
	sctl routerb bind add "$bind" "$sid"
}
step "router A: instances added one at a time, reweighted, removed and re-added" \
	eval 'history_a 4 "$SID4" "$VIP4:8080/tcp" && history_a 6 "$SID6" "[$VIP6]:8080/tcp"'
step "router B: the final sets at once, reversed" \
	eval 'final_b 4 "$SID4" "$VIP4:8080/tcp" && final_b 6 "$SID6" "[$VIP6]:8080/tcp"'

# table AGENT SID OUT: the service's consistent-hash table (one id per line).
table() {
	local agent=$1 sid=$2 out=$3 set key inner
	set=$(sctl_j "$agent" service show "$sid" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["service"]["set_id"])') ||
		return 1
	key=$(printf '%d %d %d %d' $((set & 255)) $((set >> 8 & 255)) $((set >> 16 & 255)) \
		$((set >> 24)))
	# shellcheck disable=SC2086
	inner=$(bpftool -j map lookup pinned "$(agent_pin "$agent")/ch_tables" key $key |
		python3 -c '
import json, sys
v = json.load(sys.stdin)["value"]
print(int.from_bytes(bytes(int(b, 16) for b in v), "little") if isinstance(v, list) else v)') ||
		return 1
	bpftool -j map dump id "$inner" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
def num(x):
    return int.from_bytes(bytes(int(b, 16) for b in x), "little") if isinstance(x, list) else int(x)
vals = sorted((num(r["key"]), num(r["value"])) for r in rows)
assert [k for k, _ in vals] == list(range(len(vals))), "keys not 0..n-1"
print("\n".join(str(v) for _, v in vals))' >"$out" && [ -s "$out" ]
}

# differ NAME FILE1 FILE2: percentage of slots that differ (printed); 0 if identical.
differ() {
	python3 - "$@" <<'EOF'
import sys
name, a, b = sys.argv[1], open(sys.argv[2]).read().split(), open(sys.argv[3]).read().split()
if len(a) != len(b) or len(a) != 65537:
    print("# %s: %d and %d slots (want 65537)" % (name, len(a), len(b)))
    sys.exit(1)
n = sum(1 for x, y in zip(a, b) if x != y)
print("# %s: %d of %d slots differ (%.3f %%), %d distinct ids" % (name, n, len(a), 100.0 * n / len(a), len(set(a))))
sys.exit(1 if n else 0)
EOF
}

for fam in 4 6; do
	sid=SID$fam
	step "read tables ipv$fam" eval "table router ${!sid} $E2E_WORK/a$fam && table routerb ${!sid} $E2E_WORK/b$fam"
	differ "ipv$fam router A (history) vs router B (final set, reversed)" \
		"$E2E_WORK/a$fam" "$E2E_WORK/b$fam"
	tap_result "ipv$fam: routers A and B hold byte-identical tables (0 % of slots differ)" $?
done

# route get on both routers for random 5-tuples: same instance, same id, by the hash.
# (The route.get op that servicectl sends, many over one connection: route_lookups.py.)
compare_lookups() {
	local fam=$1 bind=$2 client=$3 i
	for i in $(seq 1 "$LOOKUPS"); do
		echo "$client:$((1024 + RANDOM % 64000))$([ $((i % 2)) = 0 ] && echo ' syn')"
	done >"$E2E_WORK/q$fam"
	python3 "$(dirname "$0")/route_lookups.py" "$(agent_sock router)" "$bind" \
		<"$E2E_WORK/q$fam" >"$E2E_WORK/la$fam" &&
		python3 "$(dirname "$0")/route_lookups.py" "$(agent_sock routerb)" "$bind" \
			<"$E2E_WORK/q$fam" >"$E2E_WORK/lb$fam" || return 1
	python3 - "$E2E_WORK/la$fam" "$E2E_WORK/lb$fam" <<'EOF2'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
keys = ("how", "instance", "nh_id", "instance_name")
bad = [(x, y) for x, y in zip(a, b)
       if "route" not in x or "route" not in y or x["route"]["how"] != "hash"
       or any(x["route"][k] != y["route"][k] for k in keys)]
per = {}
for x in a:
    if "route" in x:
        per[x["route"]["instance_name"]] = per.get(x["route"]["instance_name"], 0) + 1
print("%d 5-tuples, %d answered differently; router A's picks per instance %s"
      % (len(a), len(bad), json.dumps(per, sort_keys=True)))
for x, y in bad[:5]:
    print("A %s / B %s" % (json.dumps(x), json.dumps(y)))
sys.exit(1 if bad or len(a) != len(b) or not a else 0)
EOF2
}
run_logged compare_lookups 4 "$VIP4:8080/tcp" "$CLIENT4"
tap_result "route get ipv4: routers A and B pick the same instance for $LOOKUPS random 5-tuples" \
	$? "$RUN_OUT"
diag "$RUN_OUT"
run_logged compare_lookups 6 "[$VIP6]:8080/tcp" "[$CLIENT6]"
tap_result "route get ipv6: routers A and B pick the same instance for $LOOKUPS random 5-tuples" \
	$? "$RUN_OUT"
diag "$RUN_OUT"

# Router A uninstalled (programs detached, pins removed, journal kept) and started again.
uninstall_a() {
	agent_kill router TERM || return 1
	nsenter --net="/run/netns/$NS_ROUTER" "$SVC_BIN/svcplaned" --uninstall \
		--pin-dir "$(agent_pin router)" --state-dir "$(agent_state router)" \
		--socket "$(agent_sock router)" || return 1
	[ ! -e "$(agent_pin router)" ] || { echo "pins still there"; return 1; }
	agent_restart router
}
step "router A: svcplaned --uninstall, then started again" uninstall_a
for fam in 4 6; do
	sid=SID$fam
	step "read rebuilt table ipv$fam" table router "${!sid}" "$E2E_WORK/a$fam-rebuilt"
	differ "ipv$fam router A rebuilt vs router A before" "$E2E_WORK/a$fam" \
		"$E2E_WORK/a$fam-rebuilt"
	tap_result "ipv$fam: rebuilt router A holds the table it had (0 % of slots differ)" $?
done
exit 0
