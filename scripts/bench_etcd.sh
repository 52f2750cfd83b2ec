#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Multi-host registry benchmarks (issue 11), printed and written as JSON, never asserted:
#   (a) propagation: an instance's weight flipped by a write to etcd -> every router's
#       data plane holds the new consistent-hash table (its ch_tables entry points at a
#       new table; read with bpf(2) in a tight loop): p50/p99 per router and for the
#       last router, with 2 and with 5 routers;
#   (b) churn: 10,000 instances (10 services x 1,000) written into etcd in transactions
#       of 120 operations, then removed: etcd write rate, the time until every router
#       holds them all (its API's registry record count), and the routers' RSS;
#   (c) etcd away: how long an agent's API takes to answer (status on a router and on
#       an instance host that keeps a registration lease alive; instance.set, a write,
#       on the router) while every etcd member is frozen (SIGSTOP: connections hang
#       until the agent's limits) or killed (refused at once), against etcd up.
# Topology: a mgmt namespace with a bridge and a 3-member etcd cluster
# (selftests/e2e/lib_multirouter.sh), routers r1..r5 each in its own namespace with a
# mgmt link, their agents not attached to any interface (the tables are what is timed).
# Usage: scripts/bench_etcd.sh OUTPUT_DIR [RESULT.json]. Root only. BENCH_QUICK=1: fewer rounds.
set -uo pipefail
cd "$(dirname "$0")/.."

out=${1:-.output}
case $out in /*) ;; *) out=$PWD/$out ;; esac
result=${2:-}
export SVC_BIN=$out/bin E2E_PREFIX=svcbe E2E_PIN_PREFIX=svcbe E2E_LOGS_ON_FAIL=1
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	rounds=10 churn_n=2000 stall_s=6
else
	rounds=50 churn_n=10000 stall_s=15
fi
# shellcheck source=../selftests/e2e/lib.sh
source selftests/e2e/lib.sh
E2E_NAME=bench_etcd

e2e_init >/dev/null
MR_HOSTS=0
# shellcheck source=../selftests/e2e/lib_multirouter.sh
source selftests/e2e/lib_multirouter.sh
REG="etcd://$(etcd_eps 1 2 3)/svc-bench"
mr_require_etcd
mgmt() {
	ns_add "$NS_MGMT" && ip -n "$NS_MGMT" link add "bm-$E2E_ID" type bridge &&
		ip -n "$NS_MGMT" link set "bm-$E2E_ID" up || return 1
	for i in $(seq 1 $N_ETCD); do
		ip -n "$NS_MGMT" addr add "$MGMT.$i/24" dev "bm-$E2E_ID" || return 1
	done
}
step "setup: mgmt namespace" mgmt
step "setup: 3-member etcd cluster" mr_etcd_start_all
# a router; the churn's instance addresses (198.18.64.0/18) are reached through a
# gateway on its mgmt link, as instance hosts behind a router are (one neighbour)
router() { # N
	mr_router_add "r$1" "$1" &&
		ip -n "$(ns_name "r$1")" route add 198.18.64.0/18 via "$MGMT.1" &&
		agent_start "r$1" "$(ns_name "r$1")" --src "198.18.1.$1" --registry "$REG" &&
		wait_until "$E2E_WAIT" synced "r$1"
}
spec() { echo "$(agent_sock "$1"),$(agent_pin "$1"),${AGENT_PID[$1]}"; }
PY="python3 scripts/bench_etcd.py --netns /run/netns/$NS_MGMT"
export ETCD=$MGMT.1:$ETCD_PORT0 BASE=/svc-bench/v1/

for i in 1 2; do step "setup: router r$i" router "$i"; done
configure() {
	local k
	sctl r1 service add "$SID" --name web && sctl r1 bind add "$VIP4:$PORT/tcp" "$SID" || return 1
	for k in 1 2 3; do
		sctl r1 instance add "$SID" "198.18.1.1$k" --name "i$k" || return 1
	done
	for k in $(seq 0 9); do sctl r1 service add "2001:db8:5e:c::$k" --name "c$k" || return 1; done
	wait_until "$E2E_WAIT" eval '[ "$(registry_field r2 records)" = "$(registry_field r1 records)" ]'
}
step "setup: services (through r1)" configure

say() { printf '%s\n' "$*"; }
declare -A R=()
say "== etcd write -> every router's data plane ($rounds rounds)"
R[prop2]=$($PY propagate "$rounds" "$(spec r1)" "$(spec r2)") || R[prop2]='{"error": "failed"}'
say "2 routers: ${R[prop2]}"
for i in 3 4 5; do step "setup: router r$i" router "$i"; done
R[prop5]=$($PY propagate "$rounds" "$(spec r1)" "$(spec r2)" "$(spec r3)" "$(spec r4)" "$(spec r5)") ||
	R[prop5]='{"error": "failed"}'
say "5 routers: ${R[prop5]}"

say "== registry churn: $churn_n instances in 10 services, 5 routers"
sids=$(printf '2001:db8:5e:c::%d,' $(seq 0 9))
R[churn]=$($PY churn "$churn_n" "${sids%,}" "$(spec r1)" "$(spec r2)" "$(spec r3)" "$(spec r4)" "$(spec r5)") ||
	R[churn]='{"error": "failed"}'
say "${R[churn]}"

# an instance host h1 with one registration (its agent keeps an etcd lease alive)
host() {
	local ns
	ns=$(ns_name h1)
	mr_router_add h1 9 && ip -n "$ns" addr add "$VIP4/32" dev lo &&
		ip -n "$ns" link set lo up &&
		agent_start h1 "$ns" --registry "$REG" --instance-addr 198.18.1.99 --lease 10 || return 1
	bg_ns "$E2E_WORK/listener.log" "$ns" python3 -c '
import socket, sys, time
s = socket.socket()
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
time.sleep(1e6)' "$VIP4" "$PORT"
	wait_until "$E2E_WAIT" has_inst r1 198.18.1.99
}
step "setup: instance host h1 (registered)" host

# away PHASE W: status on router r1 and instance host h1, instance.set on r1 (weights
# W and W+1, new in each phase: every call writes), each for stall_s seconds
away() {
	local a
	for a in r1 h1; do
		R[stall_${1}_$a]=$(python3 scripts/bench_etcd.py stall "$stall_s" "$(spec "$a")")
		say "etcd $1: $a status: ${R[stall_${1}_$a]}"
	done
	R[write_$1]=$(python3 scripts/bench_etcd.py write "$stall_s" "$(spec r1)" "$SID" 198.18.1.11 "$2")
	say "etcd $1: r1 instance.set: ${R[write_$1]}"
}
say "== agents' API while etcd is away (${stall_s} s of calls each)"
away up 3
for i in 1 2 3; do kill -STOP "${ETCD_PID[$i]}"; done
away frozen 5
for i in 1 2 3; do kill -CONT "${ETCD_PID[$i]}"; done
step "etcd healthy again" wait_until "$E2E_WAIT" etcd_healthy
for i in 1 2 3; do etcd_kill "$i"; done
away killed 7

if [ -n "$result" ]; then
	python3 - "$result" "${R[stall_up_r1]:-null}" "${R[stall_up_h1]:-null}" "${R[write_up]:-null}" \
		"${R[stall_frozen_r1]:-null}" "${R[stall_frozen_h1]:-null}" "${R[write_frozen]:-null}" \
		"${R[stall_killed_r1]:-null}" "${R[stall_killed_h1]:-null}" "${R[write_killed]:-null}" <<EOF2
import json, sys
r = {"propagate_2": ${R[prop2]}, "propagate_5": ${R[prop5]}, "churn": ${R[churn]}}
for ph in ("up", "frozen", "killed"):
    r["away_" + ph] = {"status_router": json.loads(sys.argv[2 + 3 * ["up", "frozen", "killed"].index(ph)]),
                       "status_instance_host": json.loads(sys.argv[3 + 3 * ["up", "frozen", "killed"].index(ph)]),
                       "instance_set_router": json.loads(sys.argv[4 + 3 * ["up", "frozen", "killed"].index(ph)])}
json.dump(r, open(sys.argv[1], "w"), indent=1)
EOF2
	say "written $result"
fi
exit 0
