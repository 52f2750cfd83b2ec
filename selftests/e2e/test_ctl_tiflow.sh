#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: TI-flow configured only with servicectl (svcplaned's tiflow.* ops), persisted.
#
#   client ns (agent "c")                     server ns (agent "s")
#   a-ID 198.18.71.1/24  ------------------  b-ID 198.18.71.2/24
#
# One agent per "host" namespace, each with its own pin directory. The client
# agent enables TI-flow for cgroup c, the server agent for cgroup s with an
# instance id; real TCP runs between processes in those cgroups and
# namespaces (tiflow-peer), and every check is on what the sockets' state
# says (read by fd from the agent's pinned maps), what tcpdump captured on
# the wire (decoded by `servicectl dump --pcap`) and the kernel's counters.
#
# Steps: bad arguments refused (nothing recorded); (a) negotiated, option in
# SYN, SYN-ACK and ACK on the wire with the instance id in the responder
# half; (b) restart after a "reboot" (agents stopped, TI-flow pins and links
# removed): the agents re-attach from their state files and the next
# connection negotiates again; (c) selection: a selected port takes part, an
# unselected one gets plain TCP, counted; (d) tiflow disable: plain TCP, no
# option on the wire, and the disable survives a restart; --uninstall removes the
# TI-flow pins too.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# cgroup v2 wherever it is mounted (Debian 12: /sys/fs/cgroup; a hybrid host: .../unified)
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
A4=198.18.71.1
B4=198.18.71.2
PORT=7400
BYTES=100000
INST=$((RANDOM % 60000 + 256))

e2e_init
e2e_require tcpdump jq
e2e_require_built "$TOOLS/tiflow-peer" "$TOOLS/tiflow-ctl"
# a system without cgroup v2 cannot run sockops programs: that alone skips
[ -n "$CGROOT" ] && [ "$(stat -f -c %T "$CGROOT" 2>/dev/null)" = cgroup2fs ] ||
	{ tap_skip "all" "no cgroup v2 hierarchy mounted (/proc/mounts has no cgroup2)"; exit 0; }

NS_A=$(ns_name a)
NS_B=$(ns_name b)
DEV_A=a-$E2E_ID
DEV_B=b-$E2E_ID
CGDIR=$CGROOT/svc-ctltf-$E2E_ID

# Extra cleanup: our cgroups. Only processes this test started are in them:
# kill those, wait until the cgroups are empty, remove them; then lib.sh's cleanup.
cleanup_cg() {
	local rc=$? d p
	for d in c s; do
		[ -d "$CGDIR/$d" ] || continue
		for p in $(cat "$CGDIR/$d/cgroup.procs" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
		wait_until "$E2E_WAIT" test ! -s "$CGDIR/$d/cgroup.procs"
		rmdir "$CGDIR/$d" 2>/dev/null
	done
	[ -d "$CGDIR" ] && rmdir "$CGDIR" 2>/dev/null
	(exit $rc)
	e2e_cleanup
}
trap cleanup_cg EXIT

setup() {
	ns_add "$NS_A" && ns_add "$NS_B" &&
		veth_pair "$NS_A" "$DEV_A" "$NS_B" "$DEV_B" 1500 &&
		ip -n "$NS_A" addr add "$A4/24" dev "$DEV_A" &&
		ip -n "$NS_B" addr add "$B4/24" dev "$DEV_B" || return 1
	# Complete checksums on the wire (the decoder verifies them).
	in_ns "$NS_A" ethtool -K "$DEV_A" tx off >/dev/null &&
		in_ns "$NS_B" ethtool -K "$DEV_B" tx off >/dev/null || return 1
	mkdir -p "$CGDIR/c" "$CGDIR/s" || return 1
	wait_until "$E2E_WAIT" in_ns "$NS_A" ping -c1 -W1 -q "$B4" >/dev/null ||
		{ echo "no ping from a to b"; return 1; }
	agent_start c "$NS_A" && agent_start s "$NS_B"
}

# in_cg CG NS CMD...: run CMD in cgroup CG (c or s) inside namespace NS.
in_cg() { in_ns_cg "$2" "$CGDIR/$1" "${@:3}"; }

# conn TAG PORT: one echo connection c -> s; JSON of both ends in TAG-cli/srv.json,
# the server-side capture decoded by servicectl dump into TAG-wire.json.
conn() {
	local tag=$1 port=$2 spid cpid rc
	rm -f "$E2E_WORK/$tag.ready"
	# nsenter itself, not the in_ns function: a backgrounded function is a subshell
	# whose pid ($!) a signal would reach instead of tcpdump's
	nsenter --net="/run/netns/$NS_B" tcpdump -i "$DEV_B" --immediate-mode -s 2048 -U -Z root \
		-w "$E2E_WORK/$tag.pcap" "tcp port $port" </dev/null >/dev/null 2>"$E2E_WORK/$tag.tcpdump" &
	cpid=$!
	E2E_PIDS+=("$cpid")
	wait_until "$E2E_WAIT" grep -q "listening on" "$E2E_WORK/$tag.tcpdump" ||
		{ echo "tcpdump did not start"; return 1; }
	exec_ns_cg "$NS_B" "$CGDIR/s" "$TOOLS/tiflow-peer" server --listen "$B4" --port "$port" \
		--pin-dir "$(agent_pin s)" --count 1 --ready-file "$E2E_WORK/$tag.ready" --timeout "$E2E_WAIT" \
		</dev/null >"$E2E_WORK/$tag-srv.json" 2>"$E2E_WORK/$tag-srv.err" &
	spid=$!
	E2E_PIDS+=("$spid")
	wait_until "$E2E_WAIT" test -e "$E2E_WORK/$tag.ready" ||
		{ echo "server did not start: $(cat "$E2E_WORK/$tag-srv.err")"; return 1; }
	in_cg c "$NS_A" "$TOOLS/tiflow-peer" client --connect "$B4" --port "$port" \
		--pin-dir "$(agent_pin c)" --bytes "$BYTES" --seed "$RANDOM" --timeout "$E2E_WAIT" \
		>"$E2E_WORK/$tag-cli.json" 2>"$E2E_WORK/$tag-cli.err"
	rc=$?
	wait "$spid" || rc=1
	[ $rc = 0 ] || { echo "client: $(cat "$E2E_WORK/$tag-cli.err") server: $(cat "$E2E_WORK/$tag-srv.err")"; return 1; }
	# The capture holds the connection once it has the client's last ACK after the server's FIN.
	wait_until "$E2E_WAIT" wire_complete "$tag" || { echo "capture never saw the end of the connection"; return 1; }
	stop_pid "$cpid" INT
	"$SVC_BIN/servicectl" -j dump --pcap "$E2E_WORK/$tag.pcap" --all >"$E2E_WORK/$tag-wire.json"
}

wire_complete() {
	"$SVC_BIN/servicectl" -j dump --pcap "$E2E_WORK/$1.pcap" --all 2>/dev/null | jq -e -s '
		([ .[] | select(.flags | contains("F")) ] | length) >= 2 and
		(last | .flags == ".")' >/dev/null
}

# check_conn TAG STATE WANT_OPTS: both sockets in STATE, every byte echoed, the option in
# exactly the packets WANT_OPTS (tiflow_wire.jq's opt_summary: "S,S.,.+" = SYN, SYN-ACK
# and the client's confirmations; "" = none), all checksums ok.
check_conn() {
	jq -n -r --arg st "$2" --arg want "$3" --argjson n "$BYTES" --argjson inst "$INST" \
		--slurpfile c "$E2E_WORK/$1-cli.json" --slurpfile s "$E2E_WORK/$1-srv.json" \
		--slurpfile w "$E2E_WORK/$1-wire.json" "$(cat "$E2E_ROOT/selftests/e2e/tiflow_wire.jq")"'
		$c[0] as $c | $s[0] as $s |
		($w | opt_summary($c.local_port)) as $got |
		(if $c.data_ok != true or $c.bytes_echoed != $n or $s.bytes != $n then
			"data: client ok=\($c.data_ok) echoed \($c.bytes_echoed), server got \($s.bytes) of \($n)"
			else empty end),
		(if $c.tiflow.state != $st then "client state \($c.tiflow.state), expected \($st)" else empty end),
		(if $s.tiflow.state != $st then "server state \($s.tiflow.state), expected \($st)" else empty end),
		(if $got != $want then "option in [\($got)] on the wire, expected [\($want)]" else empty end),
		([ $w[] | select(.csum != "ok") ] | if length > 0 then "\(length) bad checksums" else empty end),
		(if $st == "negotiated" then
			(if $c.tiflow.tifid != $s.tiflow.tifid then "TIFIDs differ" else empty end),
			(if $s.tiflow.instance != $inst then "server instance \($s.tiflow.instance) != \($inst)" else empty end),
			([ $w[] | select(.tiflow and .flags == "S.") | .tiflow.responder ] | first) as $r |
			(if $r != $s.tiflow.responder then "SYN-ACK responder half \($r) != socket \($s.tiflow.responder)" else empty end)
		else empty end)'
}

# counter AGENT EVENT: a TI-flow counter from `servicectl -j tiflow show`.
counter() {
	sctl_j "$1" tiflow show | jq -r --arg e "$2" '.counters[] | select(.event == $e) | .count'
}

# attached AGENT: every recorded cgroup is attached (per the agent's view of the pins).
attached() {
	sctl_j "$1" tiflow show | jq -e '(.cgroups | length) > 0 and all(.cgroups[]; .attached)' >/dev/null
}

# expect_conn NAME TAG PORT STATE WANT_OPTS
expect_conn() {
	local out
	if ! out=$(conn "$2" "$3" 2>&1); then
		tap_fail "$1" "$out"
		return
	fi
	out=$(check_conn "$2" "$4" "$5")
	tap_result "$1" "$([ -z "$out" ] && echo 0 || echo 1)" "$out"
}

step "setup" setup

# ---- bad arguments: refused, named, nothing recorded ----
bad_args() {
	local out rc
	out=$(sctl c tiflow enable "$CGDIR/nosuch" 2>&1)
	rc=$?
	[ $rc = 1 ] && [[ $out == *"$CGDIR/nosuch"* ]] || { echo "missing cgroup: rc $rc: $out"; return 1; }
	out=$(sctl c tiflow enable /proc 2>&1)
	rc=$?
	[ $rc = 1 ] && [[ $out == *"not a cgroup v2"* ]] || { echo "/proc: rc $rc: $out"; return 1; }
	out=$(sctl c tiflow enable "$CGDIR/c" --kind 1 2>&1)
	rc=$?
	[ $rc = 2 ] && [[ $out == *"--kind"* ]] || { echo "--kind 1: rc $rc: $out"; return 1; }
	out=$(sctl c tiflow select add "$B4:0" 2>&1)
	rc=$?
	[ $rc = 2 ] && [[ $out == *"$B4:0"* ]] || { echo "port 0: rc $rc: $out"; return 1; }
	out=$(sctl c tiflow disable "$CGDIR/c" 2>&1)
	rc=$?
	[ $rc = 1 ] && [[ $out == *not_found* ]] || { echo "disable unknown: rc $rc: $out"; return 1; }
	# raw API: an out-of-range instance id is refused by the agent itself
	out=$(printf '{"v":1,"op":"tiflow.set","args":{"instance_id":70000}}\n' |
		in_ns "$NS_A" python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())
print(s.makefile().readline().strip())' "$(agent_sock c)")
	[[ $out == *invalid_argument*instance_id* ]] || { echo "raw instance_id 70000: $out"; return 1; }
	sctl_j c tiflow show | jq -e '.tiflow.loaded == false and (.cgroups | length) == 0' >/dev/null ||
		{ echo "something was recorded: $(sctl_j c tiflow show)"; return 1; }
}
run_logged bad_args
tap_result "bad arguments refused, naming the argument; nothing recorded" $? "$RUN_OUT"

# ---- (a) configured with servicectl only ----
step "tiflow enable (both agents)" eval 'sctl c tiflow enable "$CGDIR/c" && sctl s tiflow enable "$CGDIR/s" --instance-id "$INST"'
run_logged eval 'attached c && attached s && sctl_j s tiflow show | jq -e --argjson i "$INST" ".tiflow.instance_id == \$i and .tiflow.roles == \"both\"" >/dev/null'
tap_result "tiflow show: attached, instance id $INST" $? "$RUN_OUT"
expect_conn "(a) negotiated: option in SYN, SYN-ACK and the confirmations; instance $INST in the responder half" a $PORT negotiated "S,S.,.+"
n=$(counter s negotiated_passive)
m=$(counter c negotiated_active)
tap_result "(a) counters: negotiated_passive $n, negotiated_active $m" \
	"$([ "$n" = 1 ] && [ "$m" = 1 ] && echo 0 || echo 1)"

# ---- (b) "reboot": agents stopped, TI-flow pins and links gone, agents start again ----
reboot() {
	local a
	for a in c s; do
		agent_kill "$a" TERM
		"$TOOLS/tiflow-ctl" unload --pin-dir "$(agent_pin "$a")" || return 1
		[ -z "$(ls "$(agent_pin "$a")" | grep tiflow)" ] || { echo "tiflow pins left in $a"; return 1; }
	done
	agent_restart c && agent_restart s
}
step "(b) reboot: stop agents, remove TI-flow pins, start agents" reboot
run_logged eval 'attached c && attached s'
tap_result "(b) after the reboot: cgroups attached again from the state file" $? "$RUN_OUT"
expect_conn "(b) after the reboot: negotiated, instance id restored" b $((PORT + 1)) negotiated "S,S.,.+"

# ---- (c) selection by the service's port ----
step "(c) tiflow select add :$((PORT + 2)) (both agents)" eval 'sctl c tiflow select add ":$((PORT + 2))" && sctl s tiflow select add "$B4:$((PORT + 2))"'
expect_conn "(c) selected port: negotiated" c1 $((PORT + 2)) negotiated "S,S.,.+"
before=$(counter c not_selected)
expect_conn "(c) unselected port: plain TCP (socket never took part), no option" c2 $((PORT + 3)) none ""
after=$(counter c not_selected)
tap_result "(c) client not_selected counted ($before -> $after)" \
	"$([ "$after" -gt "$before" ] && echo 0 || echo 1)"
step "(c) tiflow select del" eval 'sctl c tiflow select del ":$((PORT + 2))" && sctl s tiflow select del "$B4:$((PORT + 2))"'

# ---- (d) disable ----
step "(d) tiflow disable (both agents)" eval 'sctl c tiflow disable "$CGDIR/c" && sctl s tiflow disable "$CGDIR/s"'
expect_conn "(d) disabled: plain TCP, no option on the wire" d1 $((PORT + 4)) none ""
step "(d) restart agents" eval 'agent_kill c TERM && agent_kill s TERM && agent_restart c && agent_restart s'
run_logged eval 'sctl_j c tiflow show | jq -e "(.cgroups | length) == 0" >/dev/null'
tap_result "(d) disable persisted across a restart" $? "$RUN_OUT"
expect_conn "(d) after the restart: still plain TCP" d2 $((PORT + 5)) none ""

# ---- --uninstall also removes the TI-flow pins (maps stay pinned after disable) ----
uninstall() {
	local a=c
	agent_kill "$a" TERM
	ls "$(agent_pin "$a")" | grep '^tiflow_' >/dev/null || { echo "no TI-flow pins to remove"; return 1; }
	in_ns "$NS_A" "$SVC_BIN/svcplaned" --socket "$(agent_sock "$a")" --pin-dir "$(agent_pin "$a")" \
		--state-dir "$(agent_state "$a")" --uninstall || { echo "svcplaned --uninstall failed"; return 1; }
	[ ! -e "$(agent_pin "$a")" ] || { echo "left: $(ls "$(agent_pin "$a")")"; return 1; }
}
run_logged uninstall
tap_result "svcplaned --uninstall removes the TI-flow pins with the rest" $? "$RUN_OUT"

exit "$E2E_FAILED"
