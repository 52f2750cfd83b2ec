#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: `servicectl route get` names the instance real packets went to.
#
# Long-lived TCP connections (IPv4 and IPv6) and UDP flows run through the
# router; svc-loadgen reports each connection's client port and the instance
# that answered it (named by the instance itself). For every one of them,
# `servicectl -j route get VIP:PORT/PROTO from CLIENT:PORT` must name that
# instance: by the flow table while the entry exists, by the consistent hash
# for a SYN (--syn) and after the flow table is cleared. Route lookups must not
# touch the live data plane: no flow entry, no verdict or instance counter.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

HOLD=${E2E_HOLD_TCP:-40}
SID4=2001:db8:5e::4
SID6=2001:db8:5e::6

e2e_init
step "setup: topology" topo_create
step "setup: agents" agents_start
step "setup: instances" echods_start --port 8080 --tcp --udp
out=$(svc_create router "$SID4" web4 "$VIP4:8080/tcp" 4 1 1 2 &&
	sctl router bind add "$VIP4:8080/udp" "$SID4" &&
	svc_create router "$SID6" web6 "[$VIP6]:8080/tcp" 6 1 1 2 2>&1) ||
	bail "setup: servicectl configuration" "$out"
tap_ok "setup: topology, 4 agents, 3 instances, 2 services configured with servicectl"

# Connections that ran and ended; their flow entries stay in the router's table.
step "traffic: tcp4" hold_start t4 --target "$VIP4:8080" hold "$HOLD"
step "traffic: tcp6" hold_start t6 --target "[$VIP6]:8080" hold "$HOLD"
step "traffic: udp4" hold_start u4 --target "$VIP4:8080" --udp --timeout 500 hold "$HOLD"
step "traffic: stop" hold_stop t4 t6 u4

# conns HOLDNAME: "PORT INSTANCE" per connection of the hold.
conns() {
	python3 -c '
import json, sys
for c in json.load(open(sys.argv[1]))["connections"]:
    print(c["local_port"], c["instance"])' "$E2E_WORK/$1.json"
}

# lookups HOLDNAME CLIENT VIP:PORT/PROTO OUT [--syn]: `servicectl -j route get`
# per connection of the hold; JSON lines {"port", "instance", "answer"} in OUT.
lookups() {
	local hold=$1 client=$2 bind=$3 out=$4 port inst ep r rc=0
	shift 4
	: >"$out"
	while read -r port inst; do
		case $client in *:*) ep="[$client]:$port" ;; *) ep="$client:$port" ;; esac
		if ! r=$(sctl_j router route get "$bind" from "$ep" "$@" 2>&1); then
			echo "route get $bind from $ep: $r"
			rc=1
			continue
		fi
		# one line per answer (servicectl -j indents; JSON strings hold no newline)
		printf '{"port": %s, "instance": "%s", "answer": %s}\n' "$port" "$inst" \
			"$(tr -d '\n' <<<"$r")" >>"$out"
	done < <(conns "$hold")
	return $rc
}

# lookups_api HOLDNAME CLIENT VIP:PORT/PROTO OUT [syn]: the same through the API
# socket, many requests over one connection (a process per lookup costs ~0.5 s here).
lookups_api() {
	local hold=$1 client=$2 bind=$3 out=$4 flag=${5:-} port
	case $client in *:*) client="[$client]" ;; esac
	conns "$hold" >"$out.conns" || return 1
	while read -r port _; do echo "$client:$port $flag"; done <"$out.conns" |
		python3 "$(dirname "$0")/route_lookups.py" "$(agent_sock router)" "$bind" \
			>"$out.answers" || return 1
	python3 - "$out.conns" "$out.answers" >"$out" <<'EOF2'
import json, sys
conns = [l.split() for l in open(sys.argv[1])]
answers = [json.loads(l) for l in open(sys.argv[2])]
for (port, inst), a in zip(conns, answers):
    print(json.dumps({"port": int(port), "instance": inst, "answer": a}))
EOF2
}

# check_lookups OUT HOW REASON TOTAL: every answer names the connection's
# instance, chosen by HOW, counted as REASON, forwarded to that instance's address.
check_lookups() {
	python3 - "$@" <<'EOF'
import json, sys
path, how, reason, total = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = [json.loads(l) for l in open(path)]
bad = []
for r in rows:
    a = r["answer"].get("route")
    if (not a or a["instance_name"] != r["instance"] or a["how"] != how or a["reason"] != reason
            or a["verdict"] != "forward" or a["outer_dst"] != a["instance"] or not a["nh_id"]):
        bad.append("port %d on %s: %s" % (r["port"], r["instance"], json.dumps(r["answer"], sort_keys=True)))
print("# %d lookups, %d disagree with the connection" % (len(rows), len(bad)))
for b in bad[:5]:
    print("# " + b)
sys.exit(1 if bad or len(rows) != total else 0)
EOF
}

run_logged lookups t4 "$CLIENT4" "$VIP4:8080/tcp" "$E2E_WORK/t4-flow.jsonl"
check_lookups "$E2E_WORK/t4-flow.jsonl" flow fwd_flow_hit "$HOLD"
tap_result "tcp4: route get names each of $HOLD connections' instance, by its flow entry" $?
run_logged lookups_api t6 "$CLIENT6" "[$VIP6]:8080/tcp" "$E2E_WORK/t6-flow.jsonl"
check_lookups "$E2E_WORK/t6-flow.jsonl" flow fwd_flow_hit "$HOLD"
tap_result "tcp6: route get names each of $HOLD connections' instance, by its flow entry" $?
run_logged lookups_api u4 "$CLIENT4" "$VIP4:8080/udp" "$E2E_WORK/u4-flow.jsonl"
check_lookups "$E2E_WORK/u4-flow.jsonl" flow fwd_flow_hit "$HOLD"
tap_result "udp4: route get names each of $HOLD flows' instance, by its flow entry" $?
run_logged lookups_api t4 "$CLIENT4" "$VIP4:8080/tcp" "$E2E_WORK/t4-syn.jsonl" syn
check_lookups "$E2E_WORK/t4-syn.jsonl" hash fwd_new "$HOLD"
tap_result "tcp4 --syn: a SYN of the same 5-tuple would go to the same instance, by the hash" $?

# No side effects: with no traffic, 203 lookups of new 5-tuples add no flow and count nothing.
stats_snapshot() {
	sctl_j router stats | python3 -c '
import json, sys
d = json.load(sys.stdin)
# Verdicts of service traffic and per-instance counters; pass_* also count the
# namespace'"'"'s own neighbour discovery, which does not stop for the test.
r = {x["reason"]: x["packets"] for x in d["router"] if not x["reason"].startswith("pass_")}
i = {x["addr"]: x["packets"] for x in d["instances"]}
print(json.dumps({"router": r, "instances": i}, sort_keys=True))'
}
side_effects() {
	local before after f0 f1 i rc=0
	f0=$(sctl_j router flows --count | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
	before=$(stats_snapshot) || return 1
	for i in $(seq 1 100); do
		echo "$CLIENT4:$((20000 + i))"
		echo "$CLIENT4:$((20000 + i)) syn"
	done | python3 "$(dirname "$0")/route_lookups.py" "$(agent_sock router)" "$VIP4:8080/tcp" \
		>"$E2E_WORK/side.jsonl" || { echo "route lookups failed"; return 1; }
	for i in 1 2 3; do # and a few through servicectl (UDP)
		sctl_j router route get "$VIP4:8080/udp" from "$CLIENT4:$((21000 + i))" >/dev/null ||
			{ echo "route get failed"; return 1; }
	done
	grep -c '"how": "hash"' "$E2E_WORK/side.jsonl" | grep -x 200 >/dev/null ||
		{ echo "not 200 hash answers:"; head -3 "$E2E_WORK/side.jsonl"; return 1; }
	after=$(stats_snapshot) || return 1
	f1=$(sctl_j router flows --count | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
	echo "flows $f0 -> $f1"
	[ "$f0" = "$f1" ] || rc=1
	if [ "$before" != "$after" ]; then
		echo "counters changed:"
		echo "$before"
		echo "$after"
		rc=1
	fi
	return $rc
}
run_logged side_effects
tap_result "203 route lookups add no flow entry and count no packet" $? "$RUN_OUT"

# The flow table cleared: the answer comes from the consistent hash, still each connection's instance.
run_logged sctl router flows clear
run_logged lookups_api t4 "$CLIENT4" "$VIP4:8080/tcp" "$E2E_WORK/t4-hash.jsonl"
check_lookups "$E2E_WORK/t4-hash.jsonl" hash fwd_ch_miss "$HOLD"
tap_result "tcp4 after flows clear: each connection's instance, by the consistent hash" $?
run_logged lookups_api t6 "$CLIENT6" "[$VIP6]:8080/tcp" "$E2E_WORK/t6-hash.jsonl"
check_lookups "$E2E_WORK/t6-hash.jsonl" hash fwd_ch_miss "$HOLD"
tap_result "tcp6 after flows clear: each connection's instance, by the consistent hash" $?

# Text output and usage errors.
out=$(sctl router route get "$VIP4:8080/tcp" from "$CLIENT4:30000" 2>&1)
rc=$?
[ $rc = 0 ] && [[ $out == *"chosen by"*hash* ]] && [[ $out == *"instance name"*inst* ]]
tap_result "route get prints the answer as text" $? "$out"
out=$(sctl router route get "$VIP4:0/tcp" from "$CLIENT4:30000" 2>&1)
rc=$?
[ $rc = 2 ] && [[ $out == *"port 0"* ]]
tap_result "route get refuses port 0 (usage error)" $? "rc $rc: $out"
out=$(sctl router route get "$VIP4:8080/tcp" from "[$CLIENT6]:30000" 2>&1)
rc=$?
[ $rc = 2 ] && [[ $out == *"families"* ]]
tap_result "route get refuses mixed address families (usage error)" $? "rc $rc: $out"
exit 0
