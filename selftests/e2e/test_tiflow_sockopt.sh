#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: the TI-flow socket options (SVC_TIFLOW_SOL) as an application without
# privileges uses them, and the resume SYN they ask for, checked on the wire.
#
#   client ns  tq-IDc 198.18.63.1/24, 2001:db8:63::1/64 ---- tq-IDs 198.18.63.2/24, 2001:db8:63::2/64  server ns
#
# The client host's programs (pins PIN_C) are attached to cgroup c-on, the
# server host's (PIN_S, instance id INST) to s-on; c-off has none. Clients run
# in c-on with every capability dropped (setpriv): the socket options need none. The
# server (tiflow-sockopt server) sets TCP_SAVE_SYN on its listener and decodes
# each accepted connection's SYN, as the resume library's responder will.
#
# Cases, IPv4 and IPv6: (a) a negotiated connection's state read by getsockopt
# equals the state in the pinned map; (b) a new socket asked to resume that
# flow sends a SYN carrying the completed TIFID and the requested TISeq/TIAck
# (tcpdump on the client's link, and the server's saved SYN), the SYN-ACK
# carries no option; (c) bad values, wrong lengths, a connected socket, a UDP
# socket, an unknown option are refused with their errno and counted, an 8 KiB
# SO_RCVBUF passes the programs, and outside the cgroups the level is unknown;
# (d) a destination the selection leaves out: no option, state plain
# (not_selected); (e) loading again replaces the three programs in place,
# detaching removes all three.
set -uo pipefail

source "$(dirname "$0")/lib.sh" # TAP output, waits, prerequisites (no router topology here)

ID=$(printf '%x%02x' $(($$ % 65536)) $((RANDOM % 256)))
NS_C=svc-tqc-$ID
NS_S=svc-tqs-$ID
DEV_C=tq-${ID}c
DEV_S=tq-${ID}s
C4=198.18.63.1 S4=198.18.63.2 C6=2001:db8:63::1 S6=2001:db8:63::2
PORT=7300 PORT_OFF=7301 # the client's selection lists PORT only
PIN_C=/sys/fs/bpf/svc-tfso-$ID-c
PIN_S=/sys/fs/bpf/svc-tfso-$ID-s
CGDIR= # under the cgroup2 mount, once e2e_require_cgroup2 found it
INST=$((RANDOM % 65000 + 256))
WORK=
PIDS=()

teardown() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	if [ -x "$TOOLS/tiflow-ctl" ]; then
		"$TOOLS/tiflow-ctl" unload --pin-dir "$PIN_C" 2>/dev/null
		"$TOOLS/tiflow-ctl" unload --pin-dir "$PIN_S" 2>/dev/null
	fi
	rmdir "$PIN_C" "$PIN_S" 2>/dev/null
	if [ -n "$CGDIR" ]; then
		for p in c-on c-off s-on; do rmdir "$CGDIR/$p" 2>/dev/null; done
		rmdir "$CGDIR" 2>/dev/null
	fi
	for p in "$NS_C" "$NS_S"; do ip netns del "$p" 2>/dev/null; done
	[ -n "$WORK" ] && rm -rf "$WORK"
}
trap 'rc=$?; teardown; [ "$E2E_FAILED" != 0 ] && rc=1; exit $rc' EXIT
trap 'exit 1' INT TERM

if [ "$(id -u)" != 0 ]; then
	tap_skip "all" "needs root (namespaces, cgroups, BPF)"
	exit 0
fi
e2e_require_cgroup2
CGDIR=$E2E_CGROOT/svc-tfso-$ID
e2e_require tcpdump jq nsenter setpriv bpftool
e2e_require_built "$TOOLS/tiflow-ctl" "$TOOLS/tiflow-sockopt" "$TOOLS/tiflow-dump"
WORK=$(mktemp -d /tmp/svc-tfso-XXXXXX)

# in_cg_exec CGROUP NS CMD...: become CMD, a member of cgroup CGROUP inside netns NS.
# Run in the background ("in_cg_exec ... &") $! is CMD's own pid, which teardown kills.
in_cg_exec() {
	exec sh -c 'cg=$1 ns=$2; shift 2; echo $$ > "$cg/cgroup.procs" && exec nsenter --net="/run/netns/$ns" "$@"' \
		in_cg "$CGDIR/$1" "$2" "${@:3}"
}
# in_cg CGROUP NS CMD...: run CMD that way and wait for it.
in_cg() { (in_cg_exec "$@"); }
# app CGROUP CMD...: the same in the client namespace, with no capabilities at all.
app() {
	in_cg "$1" "$NS_C" setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all \
		--no-new-privs -- "${@:2}"
}

# wait_for CMD...: poll CMD until it succeeds, at most E2E_WAIT seconds.
wait_for() { wait_until "$E2E_WAIT" "$@"; }

# ---- set-up ----

setup() {
	set -e
	ip netns add "$NS_C"
	ip netns add "$NS_S"
	ip link add "$DEV_C" netns "$NS_C" type veth peer name "$DEV_S" netns "$NS_S"
	ip -n "$NS_C" addr add "$C4/24" dev "$DEV_C"
	ip -n "$NS_C" addr add "$C6/64" dev "$DEV_C" nodad
	ip -n "$NS_S" addr add "$S4/24" dev "$DEV_S"
	ip -n "$NS_S" addr add "$S6/64" dev "$DEV_S" nodad
	for ns in "$NS_C" "$NS_S"; do ip -n "$ns" link set lo up; done
	ip -n "$NS_C" link set "$DEV_C" up
	ip -n "$NS_S" link set "$DEV_S" up
	mkdir "$CGDIR" "$CGDIR/c-on" "$CGDIR/c-off" "$CGDIR/s-on"
	set +e
	"$TOOLS/tiflow-ctl" load --pin-dir "$PIN_C" --cgroup "$CGDIR/c-on" --select ":$PORT" \
		>"$WORK/load-c.log" 2>&1 || { cat "$WORK/load-c.log"; return 1; }
	"$TOOLS/tiflow-ctl" load --pin-dir "$PIN_S" --cgroup "$CGDIR/s-on" --instance "$INST" \
		>"$WORK/load-s.log" 2>&1 || { cat "$WORK/load-s.log"; return 1; }
}
out=$(setup 2>&1) || bail "setup: namespaces, cgroups, programs loaded and attached" "$out"
tap_ok "setup: namespaces, cgroups, programs loaded and attached"

# stats PIN: the TI-flow counters as one JSON object.
stats() { "$TOOLS/tiflow-ctl" stats --pin-dir "$1" -j; }

# server_start TAG ADDR PORT COUNT: the saved-SYN server in s-on; its lines go to TAG.out.
server_start() {
	in_cg_exec s-on "$NS_S" "$TOOLS/tiflow-sockopt" server --listen "$2" --port "$3" --count "$4" \
		--ready-file "$WORK/$1.ready" >"$WORK/$1.out" 2>"$WORK/$1.err" &
	PIDS+=("$!")
	wait_for test -e "$WORK/$1.ready" || { cat "$WORK/$1.err"; return 1; }
}

# cap_start TAG: tcpdump on the client's link; cap_has TAG PORT FLAGS: the capture
# decodes to a packet from/to PORT with those flags (polled: tcpdump writes as it reads).
cap_start() {
	nsenter --net="/run/netns/$NS_C" tcpdump -i "$DEV_C" --immediate-mode -s 256 -U -Z root \
		-w "$WORK/$1.pcap" tcp </dev/null >/dev/null 2>"$WORK/$1.cap.err" &
	CAP_PID=$!
	PIDS+=("$CAP_PID")
	wait_for grep -q "listening on" "$WORK/$1.cap.err"
}
cap_has() {
	"$TOOLS/tiflow-dump" -j -r "$WORK/$1.pcap" 2>/dev/null | jq -s -e --argjson p "$2" \
		--arg f "$3" 'any(.[]; (.sport == $p or .dport == $p) and .flags == $f)' >/dev/null
}

# lines_ge FILE N: FILE has at least N lines.
lines_ge() { [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ]; }

# op_errno FILE OP: errno of OP in a tiflow-sockopt try result.
op_errno() { jq -r --arg op "$2" '.[] | select(.op == $op) | .errno' "$1"; }

# ---- (a), (b) per family ----

case_family() {
	local fam=$1 saddr=$2 tag=$3 st res tifid lseq pseq rseq rack cport
	local f="$WORK/$tag"

	# one server for the three connections, one after the other
	server_start "$tag-srv" "$saddr" "$PORT" 3 || { tap_fail "$fam: server" ""; return; }
	cap_start "$tag" || { tap_fail "$fam: tcpdump" "$(cat "$WORK/$tag.cap.err")"; return; }

	# (a) a negotiated connection, read back by getsockopt without privileges
	app c-on "$TOOLS/tiflow-sockopt" try --connect "$saddr" --port "$PORT" \
		connect state >"$f-a.json" 2>"$f-a.err"
	st=$(jq -c '.[] | select(.op == "state") | .state' "$f-a.json" 2>/dev/null)
	if [ "$(op_errno "$f-a.json" connect)" = 0 ] && [ "$(jq -r .state <<<"$st")" = negotiated ] &&
		[ "$(jq -r .role <<<"$st")" = initiator ] &&
		[ "$(jq -r .instance <<<"$st")" = "$INST" ]; then
		tap_ok "$fam: (a) getsockopt without capabilities reads the negotiated state"
	else
		tap_fail "$fam: (a) getsockopt without capabilities reads the negotiated state" \
			"$(cat "$f-a.json" "$f-a.err")"
		return
	fi
	# the same socket state through the map (root) and through getsockopt
	in_cg c-on "$NS_C" "$TOOLS/tiflow-sockopt" try --connect "$saddr" --port "$PORT" \
		--pin-dir "$PIN_C" connect state map-state >"$f-a2.json" 2>"$f-a2.err"
	if jq -e '([.[] | select(.op == "state") | .state] | .[0]) as $g |
		([.[] | select(.op == "map-state") | .state] | .[0]) as $m |
		$g != null and $g == $m and $g.state == "negotiated"' "$f-a2.json" >/dev/null; then
		tap_ok "$fam: (a) getsockopt and the pinned map give the same state"
	else
		tap_fail "$fam: (a) getsockopt and the pinned map give the same state" \
			"$(cat "$f-a2.json" "$f-a2.err")"
	fi

	# (b) resume that flow: 48-bit positions, one of them wrapping past 2^48
	tifid=$(jq -r .tifid <<<"$st")
	lseq=$(jq -r .tiseq_local <<<"$st")
	pseq=$(jq -r .tiseq_peer <<<"$st")
	rseq=$(printf '%012x' $(((0x$lseq + 1000000) & 0xffffffffffff)))
	rack=$(printf '%012x' $(((0x$pseq + 0xffffffffff00) & 0xffffffffffff)))
	app c-on "$TOOLS/tiflow-sockopt" try --connect "$saddr" --port "$PORT" \
		"resume:$tifid:$rseq:$rack" state connect state >"$f-b.json" 2>"$f-b.err"
	res=$(jq -c '[.[] | select(.op == "state") | .state] | .[1]' "$f-b.json" 2>/dev/null)
	if [ "$(op_errno "$f-b.json" "resume:$tifid:$rseq:$rack")" = 0 ] &&
		[ "$(op_errno "$f-b.json" connect)" = 0 ] &&
		jq -e --arg t "$tifid" --arg s "$rseq" --arg a "$rack" \
			'.state == "resume" and .tifid == $t and .tiseq_local == $s and .tiseq_peer == $a' \
			<<<"$res" >/dev/null; then
		tap_ok "$fam: (b) SVC_TIFLOW_SO_RESUME accepted before connect, state resume"
	else
		tap_fail "$fam: (b) SVC_TIFLOW_SO_RESUME accepted before connect" \
			"$(cat "$f-b.json" "$f-b.err")"
		return
	fi
	wait_for lines_ge "$WORK/$tag-srv.out" 3 ||
		{ tap_fail "$fam: (b) server saw the resumed connection" "$(cat "$WORK/$tag-srv.err")"; return; }
	sed -n 3p "$WORK/$tag-srv.out" >"$f-b-srv.json"
	cport=$(jq -r .peer_port "$f-b-srv.json")
	# decoded by tiflow-dump's decoder, and recognised as a resume by libsvctiflow;
	# the first two connections (offers) are new ones to both
	if jq -e --arg t "$tifid" --arg s "$rseq" --arg a "$rack" \
		'.syn.syn and .syn.tiflow.tifid == $t and .syn.tiflow.tiseq == $s and .syn.tiflow.tiack == $a and
		 .resume == {tifid: $t, tiseq: $s, tiack: $a}' "$f-b-srv.json" >/dev/null &&
		head -n 2 "$WORK/$tag-srv.out" | jq -s -e 'length == 2 and all(.[]; .resume == null and .syn.tiflow != null)' \
			>/dev/null; then
		tap_ok "$fam: (b) the server's saved SYN carries the completed TIFID, TISeq and TIAck asked for (libsvctiflow: a resume; the offers before: new connections)"
	else
		tap_fail "$fam: (b) the server's saved SYN carries the option" "$(cat "$WORK/$tag-srv.out")"
	fi
	# on the wire: the SYN with that option, the SYN-ACK without any
	if wait_for cap_has "$tag" "$cport" "S." &&
		"$TOOLS/tiflow-dump" -j -r "$WORK/$tag.pcap" 2>/dev/null | jq -s -e --argjson p "$cport" \
			--arg t "$tifid" --arg s "$rseq" --arg a "$rack" '
			[ .[] | select(.sport == $p and .flags == "S") ] as $syn |
			[ .[] | select(.dport == $p and .flags == "S.") ] as $sa |
			($syn | length) >= 1 and
			all($syn[]; .tiflow.tifid == $t and .tiflow.tiseq == $s and .tiflow.tiack == $a) and
			($sa | length) >= 1 and all($sa[]; .tiflow == null)' >/dev/null; then
		tap_ok "$fam: (b) wire: resume SYN with the option, SYN-ACK without"
	else
		tap_fail "$fam: (b) wire: resume SYN with the option, SYN-ACK without" \
			"$("$TOOLS/tiflow-dump" -r "$WORK/$tag.pcap" 2>&1 | grep "$cport" | head -5)"
	fi
	kill "$CAP_PID" 2>/dev/null
}

s0=$(stats "$PIN_C")
ss0=$(stats "$PIN_S")
case_family ipv4 "$S4" v4
case_family ipv6 "$S6" v6
s1=$(stats "$PIN_C")
ss1=$(stats "$PIN_S")
# two resumes (one per family): two requests, at least two resume SYNs (a lost SYN
# goes again with its option), and the server counted each as a resume
if jq -n -e --argjson a "$s0" --argjson b "$s1" --argjson sa "$ss0" --argjson sb "$ss1" '
	($b.resume_set - $a.resume_set) == 2 and ($b.resume_syn_sent - $a.resume_syn_sent) >= 2 and
	($sb.plain_resume - $sa.plain_resume) >= 2' >/dev/null; then
	tap_ok "counters: resume_set 2, resume_syn_sent >= 2 (client), plain_resume >= 2 (server)"
else
	tap_fail "counters after two resumes" "client before $s0, after $s1; server before $ss0, after $ss1"
fi

# ---- (c) bad input ----

T=123456789abc:1000:2000 # a well-formed request
r0=$(stats "$PIN_C")
app c-on "$TOOLS/tiflow-sockopt" try --connect "$S4" --port "$PORT" \
	"resume:$T:16" "resume:$T:32" "resume:000000789abc:1:2" "resume:123456000000:1:2" \
	"resume:123456789abc:1000000000000:2" "resume:123456789abc:1:1000000000000" \
	"resume:1123456789abc:1:2" state:8 get:99 set:99 rcvbuf-big >"$WORK/c1.json" 2>"$WORK/c1.err"
# a server for the connected socket here and for (d)
server_start d-srv "$S4" "$PORT_OFF" 2 || tap_fail "(c) server" ""
app c-on "$TOOLS/tiflow-sockopt" try --connect "$S4" --port "$PORT_OFF" connect "resume:$T" \
	>"$WORK/c2.json" 2>"$WORK/c2.err"
app c-on "$TOOLS/tiflow-sockopt" try --udp "resume:$T" >"$WORK/c3.json" 2>"$WORK/c3.err"
app c-off "$TOOLS/tiflow-sockopt" try "resume:$T" state >"$WORK/c4.json" 2>"$WORK/c4.err"
r1=$(stats "$PIN_C")
got=$(jq -rs '[.[][] | "\(.op)=\(.errno)"] | join(" ")' "$WORK/c1.json" "$WORK/c2.json" \
	"$WORK/c3.json" "$WORK/c4.json" 2>&1)
want="resume:$T:16=22 resume:$T:32=22 resume:000000789abc:1:2=22 resume:123456000000:1:2=22"
want+=" resume:123456789abc:1000000000000:2=22 resume:123456789abc:1:1000000000000=22"
want+=" resume:1123456789abc:1:2=22 state:8=22 get:99=95 set:99=92 rcvbuf-big=0"
want+=" connect=0 resume:$T=106 resume:$T=95 resume:$T=92 state=95"
if [ "$got" = "$want" ] && [ "$(jq -r '.[] | select(.op == "rcvbuf-big") | .value' "$WORK/c1.json")" -ge 65536 ]; then
	tap_ok "(c) refused with EINVAL / EISCONN / EOPNOTSUPP / ENOPROTOOPT; an 8 KiB option passes; unknown outside the cgroups"
else
	tap_fail "(c) bad input refused with the documented errno" "got:  $got"$'\n'"want: $want"$'\n'"$(cat "$WORK"/c?.err)"
fi
# 7 bad values + EISCONN + UDP = 9 refusals counted, nothing accepted
if jq -n -e --argjson a "$r0" --argjson b "$r1" '($b.resume_refused - $a.resume_refused) == 9 and
	($b.resume_set - $a.resume_set) == 0' >/dev/null; then
	tap_ok "(c) counters: resume_refused 9, resume_set unchanged"
else
	tap_fail "(c) counters" "before $r0"$'\n'"after $r1"
fi

# ---- (d) a destination the client's selection leaves out ----

app c-on "$TOOLS/tiflow-sockopt" try --connect "$S4" --port "$PORT_OFF" "resume:$T" connect state \
	>"$WORK/d.json" 2>"$WORK/d.err"
wait_for lines_ge "$WORK/d-srv.out" 2
if jq -e '[.[] | select(.op == "state") | .state] | .[0] | .state == "plain" and .reason == "not_selected"' \
	"$WORK/d.json" >/dev/null && sed -n 2p "$WORK/d-srv.out" | jq -e '.syn.syn and .syn.tiflow == null and .resume == null' >/dev/null; then
	tap_ok "(d) not selected: the SYN carries no option, the state reads plain (not_selected)"
else
	tap_fail "(d) not selected" "$(cat "$WORK/d.json" "$WORK/d.err" "$WORK/d-srv.out")"
fi

# ---- (e) load again, detach ----

# cgprogs CGROUP: "type name" of every program attached to the cgroup, sorted.
cgprogs() { bpftool -j cgroup show "$CGDIR/$1" | jq -r '.[] | "\(.attach_type) \(.name)"' | sort | tr '\n' ' '; }
want_progs="cgroup_getsockopt svc_tiflow_getsockopt cgroup_setsockopt svc_tiflow_setsockopt cgroup_sock_ops svc_tiflow_sockops "
before=$(cgprogs c-on)
"$TOOLS/tiflow-ctl" load --pin-dir "$PIN_C" --cgroup "$CGDIR/c-on" --select ":$PORT" >"$WORK/e.log" 2>&1
again=$(cgprogs c-on)
"$TOOLS/tiflow-ctl" detach --pin-dir "$PIN_C" --cgroup "$CGDIR/c-on" >>"$WORK/e.log" 2>&1
after=$(cgprogs c-on)
left=$(ls "$PIN_C" | grep -c '^tiflow_link_')
if [ "$before" = "$want_progs" ] && [ "$again" = "$want_progs" ] && [ -z "$after" ] && [ "$left" = 0 ]; then
	tap_ok "(e) three programs attached, replaced in place by a second load, all detached"
else
	tap_fail "(e) attach / reload / detach" "before: $before"$'\n'"again: $again"$'\n'"after: $after, links left $left"$'\n'"$(cat "$WORK/e.log")"
fi
exit 0
