#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: svcplane-k8s follows a Service and its EndpointSlices served by
# svc-fakekube (HTTPS, bearer token; recorded fixtures in selftests/e2e/k8s/)
# and drives the router's agent; real TCP through the router checks each state.
#
# Cases: 3 endpoints routed to; scale down/up; not-ready; terminating but
# serving (drain: held connections go on, new ones avoid it); flapping ready /
# not-ready under held connections; a slice split in two and an endpoint moving
# between slices; dual-stack slices; a watch cut mid-stream (resumed, no
# re-list); 410 Gone (re-list); the apiserver unreachable (nothing removed,
# converges after); a wrong token (refused, nothing changed); svcplane-k8s
# restarted over stale state; the agent restarted empty; the Service deleted
# while its slices remain.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

SID=2001:db8:5e::4 # the fixture's svcplane.io/sid
N=${E2E_CONNS:-150}
HOLD=${E2E_HOLD:-24}
FIX=$E2E_ROOT/selftests/e2e/k8s
KUBE_API= KUBE_CTL= KUBE_PID= K8S_PID= K8S_LOG= K8S_RUN=0

e2e_init
e2e_require_built "$SVC_BIN/svcplane-k8s" "$TOOLS/svc-fakekube"
e2e_require curl jq openssl

# ---- the fake apiserver ----

kube_start() {
	local pf="$E2E_WORK/kube.ports"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$E2E_WORK/kube.key" -out "$E2E_WORK/kube.crt" 2>/dev/null || return 1
	echo "tok-$E2E_ID" >"$E2E_WORK/token"
	bg_ns "$E2E_WORK/kube.log" "$NS_ROUTER" "$TOOLS/svc-fakekube" --port-file "$pf" \
		--token "tok-$E2E_ID" --cert "$E2E_WORK/kube.crt" --key "$E2E_WORK/kube.key"
	KUBE_PID=$BG_PID
	wait_until "$E2E_WAIT" test -s "$pf" || { cat "$E2E_WORK/kube.log"; return 1; }
	read -r KUBE_API KUBE_CTL <"$pf"
}
# kube_put: stdin (one object) to the fake's state
kube_put() {
	in_ns "$NS_ROUTER" curl -sSf -X PUT --data-binary @- "http://127.0.0.1:$KUBE_CTL/objects" \
		>/dev/null
}
kube_post() { in_ns "$NS_ROUTER" curl -sSf -X POST "http://127.0.0.1:$KUBE_CTL$1" >/dev/null; }
kube_delete() { in_ns "$NS_ROUTER" curl -sSf -X DELETE "http://127.0.0.1:$KUBE_CTL/objects/$1" >/dev/null; }
kube_stat() { in_ns "$NS_ROUTER" curl -sSf "http://127.0.0.1:$KUBE_CTL/stats" | jq -r ".$1"; }

# kube_slice NAME FAMILY I:STATE...: the recorded EndpointSlice with its endpoints
# replaced: instance I's address of FAMILY (4|6), pod front-I, STATE ready |
# notready | drain (terminating, serving) | dying (terminating, not serving).
kube_slice() {
	python3 - "$FIX/endpointslice.json" "$@" <<'EOF'
import copy, json, sys
t = json.load(open(sys.argv[1]))
name, fam = sys.argv[2], sys.argv[3]
conds = {'ready': (True, True, False), 'notready': (False, False, False),
         'drain': (False, True, True), 'dying': (False, False, True)}
ep0 = t['endpoints'][0]
t['metadata']['name'] = name
t['addressType'] = 'IPv4' if fam == '4' else 'IPv6'
eps = []
for spec in sys.argv[4:]:
    i, st = spec.split(':')
    e = copy.deepcopy(ep0)
    e['addresses'] = ['198.18.%s.2' % i if fam == '4' else '2001:db8:18:%s::2' % i]
    r, s, term = conds[st]
    e['conditions'] = {'ready': r, 'serving': s, 'terminating': term}
    e['targetRef']['name'] = 'front-%s' % i
    e['nodeName'] = 'node-%s' % i
    eps.append(e)
t['endpoints'] = eps
print(json.dumps(t))
EOF
}
# slice NAME FAMILY I:STATE...: put that slice
slice() { kube_slice "$@" | kube_put; }

# ---- svcplane-k8s ----

# k8s_start [TOKEN_FILE]: svcplane-k8s in the router namespace against the fake;
# waits for its first complete pass (the right token) or its start.
k8s_start() {
	local tf=${1:-$E2E_WORK/token}
	K8S_RUN=$((K8S_RUN + 1))
	K8S_LOG=$E2E_WORK/k8s-$K8S_RUN.log
	bg_ns "$K8S_LOG" "$NS_ROUTER" "$SVC_BIN/svcplane-k8s" -v -s "$(agent_sock router)" \
		--api-server "https://127.0.0.1:$KUBE_API" --token-file "$tf" \
		--ca-file "$E2E_WORK/kube.crt" --resync 1 --backoff-min 100 --backoff-max 1000 \
		--watch-timeout 60
	K8S_PID=$BG_PID
	[ -n "${1:-}" ] && return 0
	wait_until "$E2E_WAIT" grep -q 'svcplane-k8s: ready' "$K8S_LOG" ||
		{ echo "svcplane-k8s not ready:"; tail -n 20 "$K8S_LOG"; return 1; }
}
k8s_count() { grep -c "$1" "$K8S_LOG"; }

# ---- what the agent holds ----

A4() { inst_addr4 "$1"; }
A6() { inst_addr6 "$1"; }
# inst_states: "ADDR=MODE ..." of the service's instances, sorted
inst_states() {
	sctl_j router instance list "$SID" 2>/dev/null |
		jq -r '.instances[] | "\(.addr)=\(.mode)"' | sort | tr '\n' ' '
}
expect_insts() {
	local want
	want=$(tr ' ' '\n' <<<"$*" | grep . | sort | tr '\n' ' ')
	[ "$(inst_states)" = "$want" ]
}
# check_insts NAME ADDR=MODE...: wait until the agent holds exactly those; TAP line.
check_insts() {
	local name=$1
	shift
	if wait_until "$E2E_WAIT" expect_insts "$@"; then
		tap_ok "$name: the agent holds $*"
	else
		tap_fail "$name: the agent holds $*" "agent: $(inst_states); log: $(tail -n 8 "$K8S_LOG")"
	fi
}
# traffic NAME TARGET INST=SHARE...: N connections through the router, every
# byte echoed, only (and each of) the given instances, shares +-25 points.
traffic() {
	local name=$1 target=$2 f="$E2E_WORK/$1.json"
	shift 2
	loadgen "$f" --target "$target" --concurrency 8 --size 2000 conns "$N"
	check_split "$f" "$N" 25 "$@"
	tap_result "$name: $N connections to $target all served, by $* only" $?
}

step "setup: topology" topo_create
step "setup: agents" agents_start
step "setup: instances" echods_start --port 8080 --tcp
step "setup: fake apiserver (https, token)" kube_start
step "setup: fixtures" eval 'kube_put <"$FIX/service.json" && slice front-7xk2p 4 1:ready 2:ready 3:ready'
step "setup: svcplane-k8s" k8s_start
tap_ok "setup: topology, agents, svc-fakekube on 127.0.0.1:$KUBE_API, svcplane-k8s ready"

# ---- a Service with 3 endpoints ----
check_insts follow "$(A4 1)=active" "$(A4 2)=active" "$(A4 3)=active"
b=$(sctl_j router bind list | jq -r '[.bindings[] | select(.sid == "'$SID'") | .binding] | sort | join(" ")')
[ "$b" = "198.19.0.10:8080/tcp [2001:db8:19::10]:8080/tcp" ]
tap_result "follow: bindings from svcplane.io/vip x spec.ports" $? "bindings: $b"
n=$(sctl_j router service show "$SID" | jq -r .service.name)
[ "$n" = k8s.web.front ]
tap_result "follow: the agent service is named k8s.web.front" $? "name: $n"
traffic follow4 "$VIP4:8080" inst1=33 inst2=33 inst3=33
traffic follow6 "[$VIP6]:8080" inst1=33 inst2=33 inst3=33

# ---- scale down, up; not ready ----
slice front-7xk2p 4 1:ready 2:ready
check_insts scale_down "$(A4 1)=active" "$(A4 2)=active"
traffic scale_down "$VIP4:8080" inst1=50 inst2=50
slice front-7xk2p 4 1:ready 2:ready 3:ready
check_insts scale_up "$(A4 1)=active" "$(A4 2)=active" "$(A4 3)=active"
slice front-7xk2p 4 1:ready 2:ready 3:notready
check_insts not_ready "$(A4 1)=active" "$(A4 2)=active"
traffic not_ready "$VIP4:8080" inst1=50 inst2=50
slice front-7xk2p 4 1:ready 2:ready 3:ready
check_insts ready_again "$(A4 1)=active" "$(A4 2)=active" "$(A4 3)=active"

# ---- terminating but serving: drain ----
step "drain: hold" hold_start drain --target "$VIP4:8080" hold "$HOLD"
slice front-7xk2p 4 1:ready 2:drain 3:ready
check_insts drain "$(A4 1)=active" "$(A4 2)=drain" "$(A4 3)=active"
hold_mark drain && hold_wait drain 3
tap_result "drain: every held connection (those on inst2 too) goes on exchanging" $?
traffic drain_new "$VIP4:8080" inst1=50 inst3=50
step "drain: stop" hold_stop drain
check_hold "$E2E_WORK/drain.json" "$HOLD" && json_check "$E2E_WORK/drain.json" "
n = sum(1 for c in d['connections'] if c['instance'] == 'inst2')
note('%d held connections on the draining inst2' % n)
if not n:
    fail('no held connection on inst2: nothing tested')
"
tap_result "drain: all $HOLD held connections intact, those on the draining instance included" $?
slice front-7xk2p 4 1:ready 2:dying 3:ready
check_insts drain_end "$(A4 1)=active" "$(A4 3)=active"
slice front-7xk2p 4 1:ready 2:ready 3:ready
check_insts drain_back "$(A4 1)=active" "$(A4 2)=active" "$(A4 3)=active"

# ---- flapping ready / not ready under held connections ----
step "flap: hold" hold_start flap --target "$VIP4:8080" hold "$HOLD"
flap_ok=0
for k in 1 2 3; do
	slice front-7xk2p 4 1:ready 2:notready 3:ready
	wait_until "$E2E_WAIT" expect_insts "$(A4 1)=active" "$(A4 3)=active" || flap_ok=1
	slice front-7xk2p 4 1:ready 2:ready 3:ready
	wait_until "$E2E_WAIT" expect_insts "$(A4 1)=active" "$(A4 2)=active" "$(A4 3)=active" || flap_ok=1
done
tap_result "flap: 3 rounds of inst2 not-ready/ready reflected" $flap_ok "agent: $(inst_states)"
hold_mark flap && hold_wait flap 3
step "flap: stop" hold_stop flap
check_hold "$E2E_WORK/flap.json" "$HOLD"
tap_result "flap: no held connection reset or stalled while inst2 flapped" $?

# ---- a slice split in two; an endpoint moving between slices ----
slice front-b 4 3:ready
slice front-7xk2p 4 1:ready 2:ready
check_insts split "$(A4 1)=active" "$(A4 2)=active" "$(A4 3)=active"
# inst2 moves to front-b: added there first, then removed from the old slice
slice front-b 4 2:ready 3:ready
slice front-7xk2p 4 1:ready
check_insts move "$(A4 1)=active" "$(A4 2)=active" "$(A4 3)=active"
traffic move "$VIP4:8080" inst1=33 inst2=33 inst3=33

# ---- dual-stack ----
slice front-v6 6 1:ready 2:ready 3:ready
check_insts dual_stack "$(A4 1)=active" "$(A4 2)=active" "$(A4 3)=active" \
	"$(A6 1)=active" "$(A6 2)=active" "$(A6 3)=active"
traffic dual_stack4 "$VIP4:8080" inst1=33 inst2=33 inst3=33
traffic dual_stack6 "[$VIP6]:8080" inst1=33 inst2=33 inst3=33
ALL6="$(A6 1)=active $(A6 2)=active $(A6 3)=active"

# ---- the watch cut mid-stream: resumed from its resourceVersion ----
l0=$(kube_stat lists) w0=$(kube_stat watches)
kube_post /drop
slice front-b 4 3:ready
# shellcheck disable=SC2086
check_insts watch_drop "$(A4 1)=active" "$(A4 3)=active" $ALL6
l1=$(kube_stat lists) w1=$(kube_stat watches)
[ "$l1" = "$l0" ] && [ "$w1" -gt "$w0" ]
tap_result "watch_drop: watched again from the last resourceVersion, no re-list" $? \
	"lists $l0 -> $l1, watches $w0 -> $w1"
slice front-b 4 2:ready 3:ready
# shellcheck disable=SC2086
check_insts watch_drop_back "$(A4 1)=active" "$(A4 2)=active" "$(A4 3)=active" $ALL6

# ---- no event lost while no watch runs: changes made during an outage arrive by watch ----
l0=$(kube_stat lists)
kube_post /bookmark
kube_post /outage
slice front-v6 6 1:ready 2:ready
kube_post /restore
# shellcheck disable=SC2086
check_insts outage_resume "$(A4 1)=active" "$(A4 2)=active" "$(A4 3)=active" "$(A6 1)=active" \
	"$(A6 2)=active"
l1=$(kube_stat lists)
[ "$l1" = "$l0" ]
tap_result "outage_resume: the change made while no watch ran arrived by the resumed watch" $? \
	"lists $l0 -> $l1"

# ---- 410 Gone: re-list ----
l0=$(kube_stat lists) g0=$(kube_stat gone)
kube_post /outage
slice front-v6 6 1:ready 2:ready 3:ready
kube_post /compact
kube_post /restore
# shellcheck disable=SC2086
check_insts gone "$(A4 1)=active" "$(A4 2)=active" "$(A4 3)=active" $ALL6
# The state converges with the re-list of the kind that changed; the other
# kind's re-list may come a moment later: wait for both (a loaded machine
# once saw lists 2 -> 3 when checked at once).
relisted() { [ "$(kube_stat gone)" -gt "$g0" ] && [ "$(kube_stat lists)" -ge $((l0 + 2)) ]; }
wait_until "$E2E_WAIT" relisted
l1=$(kube_stat lists) g1=$(kube_stat gone)
[ "$g1" -gt "$g0" ] && [ "$l1" -ge $((l0 + 2)) ]
tap_result "gone: 410 Gone answered by a re-list of both kinds" $? \
	"410s $g0 -> $g1, lists $l0 -> $l1; log: $(grep -c '410 Gone' "$K8S_LOG") lines with 410"

# ---- the apiserver unreachable: nothing removed, converges when it returns ----
p0=$(k8s_count 'pass:') f0=$(k8s_count "Couldn't connect")
kube_post /outage
# 30 s by svcplane-k8s's own clock (30 passes at --resync 1): its backoff
# reaches the maximum and it keeps retrying and reconciling meanwhile
unreachable_long() {
	[ "$(k8s_count "Couldn't connect")" -ge $((f0 + 6)) ] && [ "$(k8s_count pass:)" -ge $((p0 + 30)) ]
}
wait_until "$E2E_WAIT" unreachable_long
tap_result "unreachable: for 30 resync passes svcplane-k8s retried with backoff and kept reconciling" $? \
	"$(tail -n 5 "$K8S_LOG")"
# shellcheck disable=SC2086
expect_insts "$(A4 1)=active" "$(A4 2)=active" "$(A4 3)=active" $ALL6
tap_result "unreachable: no instance removed while the apiserver is unreachable" $? "agent: $(inst_states)"
traffic unreachable "$VIP4:8080" inst1=33 inst2=33 inst3=33
slice front-b 4 2:notready 3:ready
kube_post /restore
# shellcheck disable=SC2086
check_insts unreachable_back "$(A4 1)=active" "$(A4 3)=active" $ALL6

# ---- a wrong token: refused, nothing changed ----
echo wrong >"$E2E_WORK/token.bad"
u0=$(kube_stat unauthorized)
k8s_pid_good=$K8S_PID k8s_log_good=$K8S_LOG
k8s_start "$E2E_WORK/token.bad"
wait_until "$E2E_WAIT" eval '[ "$(kube_stat unauthorized)" -ge $((u0 + 4)) ]'
tap_result "token: requests with a wrong bearer token refused (401)" $?
grep -q 'HTTP 401' "$K8S_LOG"
tap_result "token: svcplane-k8s says HTTP 401" $? "$(tail -n 3 "$K8S_LOG")"
stop_pid "$K8S_PID"
K8S_PID=$k8s_pid_good K8S_LOG=$k8s_log_good
# shellcheck disable=SC2086
expect_insts "$(A4 1)=active" "$(A4 3)=active" $ALL6
tap_result "token: the refused companion changed nothing" $? "agent: $(inst_states)"

# ---- svcplane-k8s restarted over stale state ----
# While it is down: inst3 leaves (its instance in the agent is now stale), the
# IPv6 slice is deleted, inst1's weight is changed by hand.
stop_pid "$K8S_PID"
slice front-7xk2p 4 1:ready 2:ready
slice front-b 4 2:ready
kube_delete endpointslices/web/front-v6
out=$(sctl router instance set "$SID" "$(A4 1)" --weight 5 2>&1) || bail "stale: servicectl" "$out"
step "stale: svcplane-k8s again" k8s_start
check_insts stale "$(A4 1)=active" "$(A4 2)=active"
w=$(sctl_j router instance show "$SID" "$(A4 1)" | jq -r .instance.weight)
[ "$w" = 1 ]
tap_result "stale: a weight changed behind its back is set back" $? "weight $w"

# ---- weights from the annotation ----
jq '.metadata.annotations["svcplane.io/weights"] = "front-1=3,*=1"' "$FIX/service.json" | kube_put
weight1() { sctl_j router instance show "$SID" "$(A4 1)" | jq -r .instance.weight; }
wait_until "$E2E_WAIT" eval '[ "$(weight1)" = 3 ]'
tap_result "weights: svcplane.io/weights front-1=3 sets inst1's weight" $?
traffic weights "$VIP4:8080" inst1=75 inst2=25

# ---- the agent restarted empty ----
# a new node: program detached, pins and state gone
agent_kill router
in_ns "$NS_ROUTER" ip link set dev "$(if_router)" xdp off
rm -rf "$(agent_state router)" "$(agent_pin router)"
step "agent_restart: start" agent_restart router
step "agent_restart: attach" sctl router attach "$(if_router)" router
check_insts agent_restart "$(A4 1)=active" "$(A4 2)=active"
traffic agent_restart "$VIP4:8080" inst1=75 inst2=25

# ---- the Service deleted while its slices remain ----
kube_delete services/web/front
ours() { sctl_j router service list | jq '[.services[] | select(.name | startswith("k8s."))] | length'; }
binds() { sctl_j router bind list | jq '[.bindings[] | select(.sid == "'$SID'")] | length'; }
wait_until "$E2E_WAIT" eval '[ "$(ours)" = 0 ] && [ "$(binds)" = 0 ]'
tap_result "service_deleted: its agent service and bindings removed, slices left alone" $? \
	"services $(ours), bindings $(binds)"
stop_pid "$K8S_PID"
grep -q 'svcplane-k8s: stopped' "$K8S_LOG"
tap_result "stop: svcplane-k8s ends on SIGTERM" $? "$(tail -n 3 "$K8S_LOG")"
exit 0
