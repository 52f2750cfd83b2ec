#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End to end: TI-flow option negotiation on endpoints (sockops, cgroup v2), checked on the wire.
#
#   client ns                      middle ns (router)                     server ns
#   tc-ID 198.18.61.2/24 ---- tm-IDa 198.18.61.1/24  tm-IDb 198.18.62.1/24 ---- ts-ID 198.18.62.2/24
#         2001:db8:61::2/64          2001:db8:61::1/64  2001:db8:62::1/64          2001:db8:62::2/64
#
# Two "hosts" share this kernel: the client host's program (pins in PIN_C) is
# attached to cgroup c-on, the server host's (PIN_S, instance id INST) to s-on;
# c-off and s-off have no program. Real TCP runs inside those cgroups and
# namespaces. tcpdump captures both sides of the middle namespace; the pcaps
# are decoded by tiflow-dump (agent/lib/optdecode), whose own live capture on
# the server side must agree with them (every capture is stopped only once it
# holds the connection's last packet), and every assertion is on
# those packets, the bytes echoed, and the sockets' TI-flow state read back
# by fd. tx checksum offload is off at both ends so that every checksum on
# the wire is complete and verified (also after the middlebox rewrote one).
#
# Cases: (a) both speak TI-flow, IPv4 and IPv6; (b) only the client / only
# the server; (c) a middlebox strips the option client->server / server->client;
# (d) no room left in the SYN (TCP-MD5): no offer, counted; (e) selection by destination
# port (client) and by service address (server); (f) the handshake's final ACK is lost:
# the client's data segments carry the confirmation, both ends negotiated.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SVC_BIN=${SVC_BIN:-$ROOT/.output-san/bin}
TOOLS=$SVC_BIN/tools
NAME=tiflow
# cgroup v2 wherever it is mounted (Debian 12: /sys/fs/cgroup; a hybrid host: .../unified)
CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
BYTES=200000
# Deadline (s) of every wait for an outcome: generous for a loaded machine or a slow
# guest; a test asserts what happened, not how fast.
WAIT=${E2E_WAIT:-120}

ID=$(printf '%x%02x' $(($$ % 65536)) $((RANDOM % 256)))
NS_C=svc-tfc-$ID
NS_M=svc-tfm-$ID
NS_S=svc-tfs-$ID
DEV_C=tc-$ID
DEV_MA=tm-${ID}a
DEV_MB=tm-${ID}b
DEV_S=ts-$ID
C4=198.18.61.2 M4A=198.18.61.1 M4B=198.18.62.1 S4=198.18.62.2
C6=2001:db8:61::2 M6A=2001:db8:61::1 M6B=2001:db8:62::1 S6=2001:db8:62::2
PIN_C=/sys/fs/bpf/svc-tiflow-$ID-c
PIN_S=/sys/fs/bpf/svc-tiflow-$ID-s
CGDIR=$CGROOT/svc-tiflow-$ID
INST=$((RANDOM % 65000 + 256)) # the server host's instance id (never 0)
WORK=
PIDS=()
FAILED=0

# ---- TAP ----

diag() { local l; while IFS= read -r l; do echo "# $l"; done <<<"$*"; }
tap_ok() { echo "ok - $NAME: $1"; }
tap_fail() {
	echo "not ok - $NAME: $1"
	FAILED=1
	[ -n "${2:-}" ] && diag "$2"
	return 0
}
tap_skip() { echo "ok - $NAME: $1 # SKIP $2"; }
bail() {
	tap_fail "$1" "$2"
	exit 1
}

# ---- set-up and tear-down ----

teardown() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -x "$TOOLS/tiflow-ctl" ] && {
		"$TOOLS/tiflow-ctl" unload --pin-dir "$PIN_C" 2>/dev/null
		"$TOOLS/tiflow-ctl" unload --pin-dir "$PIN_S" 2>/dev/null
	}
	rmdir "$PIN_C" "$PIN_S" 2>/dev/null
	for p in c-on c-off s-on s-off; do rmdir "$CGDIR/$p" 2>/dev/null; done
	rmdir "$CGDIR" 2>/dev/null
	for p in "$NS_C" "$NS_M" "$NS_S"; do ip netns del "$p" 2>/dev/null; done
	[ -n "$WORK" ] && [ -z "${TIFLOW_KEEP:-}" ] && rm -rf "$WORK"
}

prereqs() {
	local b
	if [ "$(id -u)" != 0 ]; then
		tap_skip "all" "needs root (namespaces, cgroups, BPF)"
		exit 0
	fi
	# a system without cgroup v2 cannot run sockops programs: skip; a missing
	# package (make deps installs them) is a failure
	if [ -z "$CGROOT" ] || [ "$(stat -f -c %T "$CGROOT" 2>/dev/null)" != cgroup2fs ]; then
		tap_skip "all" "no cgroup v2 hierarchy mounted (/proc/mounts has no cgroup2)"
		exit 0
	fi
	for b in tcpdump jq nsenter ethtool bpftool; do
		command -v "$b" >/dev/null || bail "prerequisites" "$b not installed (make deps installs it)"
	done
	for b in tiflow-ctl tiflow-peer tiflow-dump tiflow-strip; do
		[ -x "$TOOLS/$b" ] || bail "prerequisites" "$TOOLS/$b not built (make tests)"
	done
	[ -d /sys/fs/bpf ] && mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf ||
		bail "prerequisites" "bpffs not mounted at /sys/fs/bpf"
}

topo_create() {
	set -e
	ip netns add "$NS_C"
	ip netns add "$NS_M"
	ip netns add "$NS_S"
	# No duplicate address detection: tentative link-local addresses delay neighbour
	# discovery, which cost the first IPv6 SYN a retransmission.
	for ns in "$NS_C" "$NS_M" "$NS_S"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
	done
	ip link add "$DEV_C" netns "$NS_C" type veth peer name "$DEV_MA" netns "$NS_M"
	ip link add "$DEV_S" netns "$NS_S" type veth peer name "$DEV_MB" netns "$NS_M"
	ip -n "$NS_C" addr add "$C4/24" dev "$DEV_C"
	ip -n "$NS_C" addr add "$C6/64" dev "$DEV_C" nodad
	ip -n "$NS_M" addr add "$M4A/24" dev "$DEV_MA"
	ip -n "$NS_M" addr add "$M6A/64" dev "$DEV_MA" nodad
	ip -n "$NS_M" addr add "$M4B/24" dev "$DEV_MB"
	ip -n "$NS_M" addr add "$M6B/64" dev "$DEV_MB" nodad
	ip -n "$NS_S" addr add "$S4/24" dev "$DEV_S"
	ip -n "$NS_S" addr add "$S6/64" dev "$DEV_S" nodad
	for ns in "$NS_C" "$NS_M" "$NS_S"; do ip -n "$ns" link set lo up; done
	ip -n "$NS_C" link set "$DEV_C" up
	ip -n "$NS_M" link set "$DEV_MA" up
	ip -n "$NS_M" link set "$DEV_MB" up
	ip -n "$NS_S" link set "$DEV_S" up
	ip -n "$NS_C" route add default via "$M4A"
	ip -n "$NS_C" -6 route add default via "$M6A"
	ip -n "$NS_S" route add default via "$M4B"
	ip -n "$NS_S" -6 route add default via "$M6B"
	ip netns exec "$NS_M" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	# Full checksums on the wire (veth would leave CHECKSUM_PARTIAL to "hardware").
	ip netns exec "$NS_C" ethtool -K "$DEV_C" tx off >/dev/null
	ip netns exec "$NS_S" ethtool -K "$DEV_S" tx off >/dev/null
	mkdir "$CGDIR" "$CGDIR/c-on" "$CGDIR/c-off" "$CGDIR/s-on" "$CGDIR/s-off"
	set +e
}

# in_cg_exec CGROUP NS CMD...: become CMD, a member of cgroup CGROUP inside netns NS.
# In the background ("in_cg_exec ... &") $! is CMD's own pid, which teardown kills
# (a backgrounded function that does not exec leaves $! to a subshell).
in_cg_exec() {
	exec sh -c 'cg=$1 ns=$2; shift 2; echo $$ > "$cg/cgroup.procs" && exec nsenter --net="/run/netns/$ns" "$@"' \
		in_cg "$CGDIR/$1" "$2" "${@:3}"
}
# in_cg CGROUP NS CMD...: run CMD that way and wait for it.
in_cg() { (in_cg_exec "$@"); }

# wait_file FILE [SECONDS]: poll until FILE exists.
wait_file() {
	local deadline=$((SECONDS + ${2:-$WAIT}))
	while [ ! -e "$1" ]; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.05
	done
}

# wait_grep PATTERN FILE [SECONDS]: poll until FILE contains PATTERN.
wait_grep() {
	local deadline=$((SECONDS + ${3:-$WAIT}))
	until grep -q "$1" "$2" 2>/dev/null; do
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.05
	done
}

# ---- captures and connections ----

CAP_PIDS=()
# cap_start TAG: tcpdump on both interfaces of the middle namespace.
cap_start() {
	local dev
	CAP_PIDS=()
	for dev in "$DEV_MA" "$DEV_MB"; do
		# Frames are at most 1514 octets (no offload at the ends); a large buffer: no drops.
		nsenter --net="/run/netns/$NS_M" tcpdump -i "$dev" --immediate-mode -s 2048 -B 16384 -U -Z root -w "$WORK/$1-$dev.pcap" tcp \
			</dev/null >/dev/null 2>"$WORK/$1-$dev.err" &
		CAP_PIDS+=("$!")
		PIDS+=("$!")
		wait_grep "listening on" "$WORK/$1-$dev.err" || return 1
	done
	# The decoder's own live capture (AF_PACKET) beside tcpdump on the server side.
	nsenter --net="/run/netns/$NS_M" "$TOOLS/tiflow-dump" -j -i "$DEV_MB" \
		--ready-file "$WORK/$1-live.ready" </dev/null >"$WORK/$1-live.json" 2>"$WORK/$1-live.err" &
	CAP_PIDS+=("$!")
	PIDS+=("$!")
	wait_file "$WORK/$1-live.ready" || { cat "$WORK/$1-live.err"; return 1; }
}

# captured_end TAG CPORT: all three captures hold the connection's last packet, the
# client's ACK of the server's FIN (a capture killed earlier loses what it has not read).
captured_end() {
	local f
	# shellcheck disable=SC2016
	local q='[ .[] | select(.sport == $cp or .dport == $cp) ] as $p |
		([ $p[] | select(.dport == $cp and (.flags | contains("F"))) ] | first) as $f |
		$f != null and any($p[]; .sport == $cp and .ack == (($f.seq + $f.payload_len + 1) % 4294967296))'
	for f in "$WORK/$1-$DEV_MA.pcap" "$WORK/$1-$DEV_MB.pcap"; do
		# A record still being written ends the read with an error after the whole ones.
		"$TOOLS/tiflow-dump" -j -r "$f" 2>/dev/null | jq -e -s --argjson cp "$2" "$q" >/dev/null ||
			return 1
	done
	jq -e -s --argjson cp "$2" "$q" "$WORK/$1-live.json" >/dev/null 2>&1
}

# wait_captured TAG CPORT: poll captured_end with a deadline.
wait_captured() {
	local deadline=$((SECONDS + WAIT))
	until captured_end "$1" "$2"; do
		[ $SECONDS -ge $deadline ] && { echo "captures never saw the end of port $2"; return 1; }
		sleep 0.1
	done
}

# cap_stop TAG: stop the captures and decode them to JSON lines (TAG-a.json, TAG-b.json).
cap_stop() {
	local p
	for p in "${CAP_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${CAP_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	"$TOOLS/tiflow-dump" -j -r "$WORK/$1-$DEV_MA.pcap" >"$WORK/$1-a.json" &&
		"$TOOLS/tiflow-dump" -j -r "$WORK/$1-$DEV_MB.pcap" >"$WORK/$1-b.json"
}

# conn TAG CLIENT_CG SERVER_CG ADDR PORT: one connection; client/server JSON in TAG-cli/srv.json.
# CLI_ARGS / SRV_ARGS: extra arguments of tiflow-peer client / server.
CLI_ARGS=()
SRV_ARGS=()
conn() {
	local tag=$1 ccg=$2 scg=$3 addr=$4 port=$5 spid rc
	rm -f "$WORK/$tag.ready"
	in_cg_exec "$scg" "$NS_S" "$TOOLS/tiflow-peer" server --listen "$addr" --port "$port" \
		--pin-dir "$PIN_S" --count 1 --ready-file "$WORK/$tag.ready" --timeout "$WAIT" "${SRV_ARGS[@]}" \
		</dev/null >"$WORK/$tag-srv.json" 2>"$WORK/$tag-srv.err" &
	spid=$!
	PIDS+=("$spid")
	wait_file "$WORK/$tag.ready" || { echo "server did not start: $(cat "$WORK/$tag-srv.err")"; return 1; }
	in_cg "$ccg" "$NS_C" "$TOOLS/tiflow-peer" client --connect "$addr" --port "$port" \
		--pin-dir "$PIN_C" --bytes "$BYTES" --seed "$RANDOM" --timeout "$WAIT" "${CLI_ARGS[@]}" \
		>"$WORK/$tag-cli.json" 2>"$WORK/$tag-cli.err"
	rc=$?
	wait "$spid" || rc=1
	[ $rc = 0 ] || echo "client: $(cat "$WORK/$tag-cli.err") server: $(cat "$WORK/$tag-srv.err")"
	return $rc
}

# strip_start DEV: the middlebox strips the option from packets arriving on DEV (middle ns);
# STRIP_ARGS (array) are extra options of tiflow-strip.
STRIP_PID=
STRIP_ARGS=()
strip_start() {
	rm -f "$WORK/strip.ready"
	nsenter --net="/run/netns/$NS_M" "$TOOLS/tiflow-strip" --dev "$1" ${STRIP_ARGS[@]+"${STRIP_ARGS[@]}"} \
		--ready-file "$WORK/strip.ready" </dev/null >"$WORK/strip.json" 2>"$WORK/strip.err" &
	STRIP_PID=$!
	PIDS+=("$STRIP_PID")
	wait_file "$WORK/strip.ready" || { cat "$WORK/strip.err"; return 1; }
}

strip_stop() {
	kill -TERM "$STRIP_PID" && wait "$STRIP_PID"
}

# ---- checks (jq over the decoded packets; every check prints what is wrong) ----

# jq: opt_pkts, opt_token, opt_summary (the option packets of a connection).
JQ_OPTS="$(cat "$ROOT/selftests/e2e/tiflow_wire.jq")"

# check_data TAG: every byte echoed intact, both sides saw the same bytes.
check_data() {
	jq -n -r --slurpfile c "$WORK/$1-cli.json" --slurpfile s "$WORK/$1-srv.json" --argjson n "$BYTES" '
		$c[0] as $c | $s[0] as $s |
		(if $c.data_ok != true then "client: echo did not match" else empty end),
		(if $c.bytes_sent != $n or $c.bytes_echoed != $n then
			"client sent \($c.bytes_sent), got back \($c.bytes_echoed) of \($n)" else empty end),
		(if $s.bytes != $n then "server received \($s.bytes) of \($n)" else empty end),
		(if $s.fnv != $c.fnv then "server and client saw different bytes" else empty end)'
}

# check_wire TAG SIDE CPORT EXPECT: the packets of the connection from local port CPORT in
# capture SIDE (a: client side, b: server side) carry the option exactly in the packets
# listed by EXPECT ("S,S.,.+" = SYN, SYN-ACK, then one or more of the client's non-SYN
# segments; "S" = the SYN only; "" = none); all checksums verified ok; data flowed.
check_wire() {
	jq -s -r --argjson cp "$3" --arg want "$4" "$JQ_OPTS"'
		[ .[] | select(.sport == $cp or .dport == $cp) ] as $p |
		opt_summary($cp) as $got |
		(if ($p | length) == 0 then "no packet of port \($cp) captured" else empty end),
		(if $got != $want then "option in [\($got)], expected in [\($want)]" else empty end),
		([ $p[] | select(.csum != "ok") ] |
			if length > 0 then "\(length) packets with checksum \(map(.csum) | unique)" else empty end),
		(if ([ $p[] | select(.payload_len > 0) ] | length) == 0 then "no data on the wire" else empty end),
		([ $p[] | select(.malformed) ] | if length > 0 then "\(length) malformed option lists" else empty end)
	' "$WORK/$1-$2.json"
}

# check_live TAG CPORT: the live decoder saw the connection's option packets exactly as
# tcpdump's pcap shows them (same decoded lines), and all of its packets.
check_live() {
	jq -n -r --argjson cp "$2" --slurpfile pcap "$WORK/$1-b.json" --slurpfile live "$WORK/$1-live.json" '
		def conn: [ .[] | select(.sport == $cp or .dport == $cp) ];
		($pcap | conn) as $p | ($live | conn) as $l |
		(if ($p | length) != ($l | length) then
			"live capture saw \($l | length) packets, pcap \($p | length)" else empty end),
		(if ([ $p[] | select(.tiflow) | .text ]) != ([ $l[] | select(.tiflow) | .text ]) then
			"live and pcap decoding of the option packets differ" else empty end)'
}

# check_negotiated TAG SIDE CPORT: the handshake's options match each other, the sockets'
# state and the configured instance id (paper III.A); every confirmation (the client's
# non-SYN segments with the option) carries the same TIFID, TISeq_A and TIAck = TISeq_B.
check_negotiated() {
	jq -s -r --argjson cp "$3" --argjson inst "$INST" \
		--slurpfile c "$WORK/$1-cli.json" --slurpfile s "$WORK/$1-srv.json" "$JQ_OPTS"'
		$c[0] as $c | $s[0] as $s | $c.tiflow as $ct | $s.tiflow as $st |
		opt_pkts($cp) as $t |
		[ $t[] | select(.sport == $cp and .flags == "S") ] as $syns |
		[ $t[] | select(.dport == $cp and .flags == "S.") ] as $sas |
		[ $t[] | select(.sport == $cp and (.flags | startswith("S") | not)) ] as $acks |
		if ($syns | length) != 1 or ($sas | length) != 1 or ($acks | length) == 0 then
			"expected one SYN, one SYN-ACK and confirmations with the option, got \($syns | length), \($sas | length), \($acks | length)" else
		$syns[0] as $syn | $sas[0] as $sa |
		(if $ct.state != "negotiated" then "client state \($ct.state) (\($ct.reason))" else empty end),
		(if $st.state != "negotiated" then "server state \($st.state) (\($st.reason))" else empty end),
		(if ($syn.tiflow.valid and $sa.tiflow.valid and all($acks[]; .tiflow.valid)) | not then "option length not 20" else empty end),
		(if $syn.tiflow.initiator != $ct.initiator then
			"SYN initiator half \($syn.tiflow.initiator) != client socket \($ct.initiator)" else empty end),
		(if $syn.tiflow.initiator == "000000" then "zero initiator half" else empty end),
		(if $syn.tiflow.responder != "000000" then "SYN responder half not zero" else empty end),
		(if $syn.tiflow.tiseq != $ct.tiseq_local then "SYN TISeq != client TISeq_A" else empty end),
		(if $syn.tiflow.tiack != "000000000000" then "SYN TIAck not zero" else empty end),
		(if $sa.tiflow.initiator != $syn.tiflow.initiator then "SYN-ACK changed the initiator half" else empty end),
		(if $sa.tiflow.responder == "000000" then "SYN-ACK responder half zero" else empty end),
		(if $sa.tiflow.instance != $inst then
			"responder half names instance \($sa.tiflow.instance), configured \($inst)" else empty end),
		(if $sa.tiflow.tifid != $ct.tifid or $sa.tiflow.tifid != $st.tifid then
			"TIFID on the wire \($sa.tiflow.tifid), client \($ct.tifid), server \($st.tifid)" else empty end),
		(if $sa.tiflow.tiseq != $st.tiseq_local or $sa.tiflow.tiseq != $ct.tiseq_peer then
			"SYN-ACK TISeq_B != sockets" else empty end),
		(if $sa.tiflow.tiack != $syn.tiflow.tiseq then "SYN-ACK TIAck != TISeq_A" else empty end),
		($acks[] | select(.tiflow.tifid != $sa.tiflow.tifid or .tiflow.tiseq != $syn.tiflow.tiseq or
			.tiflow.tiack != $sa.tiflow.tiseq) |
			"confirmation seq \(.seq) (\(.flags), len \(.payload_len)): TIFID \(.tiflow.tifid), TISeq \(.tiflow.tiseq), TIAck \(.tiflow.tiack); expected \($sa.tiflow.tifid), TISeq_A \($syn.tiflow.tiseq), TISeq_B \($sa.tiflow.tiseq)"),
		(if $st.tiseq_peer != $syn.tiflow.tiseq then "server TISeq_A wrong" else empty end),
		(if $syn.seq != $ct.isn_local or $syn.seq != $st.isn_peer then
			"client ISN \($syn.seq) on the wire, sockets \($ct.isn_local)/\($st.isn_peer)" else empty end),
		(if $sa.seq != $st.isn_local or $sa.seq != $ct.isn_peer then
			"server ISN \($sa.seq) on the wire, sockets \($st.isn_local)/\($ct.isn_peer)" else empty end)
		end' "$WORK/$1-$2.json"
}

# check_confirm_stop TAG SIDE CPORT: the confirmations stop, and only once the server has
# shown it is established: the client's first non-SYN segment without the option comes
# after a server segment that acknowledges client data or carries data (causal on either
# side of the middle: that segment passed the capture before the client could see it), and
# the client's FIN carries no option. On the client side (a) the handshake's final ACK (a
# pure ACK of the SYN-ACK) carries the option.
check_confirm_stop() {
	jq -s -r --argjson cp "$3" --arg side "$2" '
		def mod32: if . < 0 then . + 4294967296 else . end;
		[ .[] | select(.sport == $cp or .dport == $cp) ] as $p |
		([ $p[] | select(.sport == $cp and .flags == "S") ][0].seq) as $isn_c |
		([ $p[] | select(.dport == $cp and .flags == "S.") ][0].seq) as $isn_s |
		def evidence: .dport == $cp and (.flags | startswith("S") | not) and
			(.payload_len > 0 or ((((.ack - $isn_c - 1) | mod32) | . > 0 and . < 2147483648)));
		([ range(0; $p | length) as $i | $p[$i] |
			select(.sport == $cp and (.flags | startswith("S") | not) and (.tiflow | not)) | $i ] | first) as $k |
		([ range(0; $p | length) as $i | $p[$i] | select(evidence) | $i ] | first) as $e |
		(if $isn_c == null or $isn_s == null then "SYN or SYN-ACK not captured"
		elif $k == null then "every client segment carries the option: the confirmations never stopped"
		elif $e == null or $e > $k then
			"client stopped the option at packet \($k) (\($p[$k].text)) before any server segment showed it established"
		else empty end),
		([ $p[] | select(.sport == $cp and (.flags | test("F")) and .tiflow) ] |
			if length > 0 then "the client FIN carries the option" else empty end),
		(if $side == "a" then
			[ $p[] | select(.sport == $cp and .flags == "." and .payload_len == 0 and
				.seq == (($isn_c + 1) % 4294967296) and .ack == (($isn_s + 1) % 4294967296)) ][0] |
			if . == null then "no pure final ACK captured"
			elif .tiflow | not then "the final ACK carries no option" else empty end
		else empty end)' "$WORK/$1-$2.json"
}

# check_states TAG CLIENT_STATE[/REASON] SERVER_STATE[/REASON]
check_states() {
	jq -n -r --slurpfile c "$WORK/$1-cli.json" --slurpfile s "$WORK/$1-srv.json" \
		--arg cw "$2" --arg sw "$3" '
		def st: .tiflow | if .state == "plain" then "plain/\(.reason)" else .state end;
		($c[0] | st) as $cs | ($s[0] | st) as $ss |
		(if $cs != $cw then "client socket \($cs), expected \($cw)" else empty end),
		(if $ss != $sw then "server socket \($ss), expected \($sw)" else empty end)'
}

cport() { jq -r .local_port "$WORK/$1-cli.json"; }

# run_case NAME TAG CLIENT_CG SERVER_CG ADDR PORT WANT_A WANT_B CSTATE SSTATE [STRIP_DEV STRIPPED]
# (Helpers that start background processes run in this shell, never inside $(...): a
# background child holding the substitution's pipe would block it, and PIDS must be kept.)
run_case() {
	local name=$1 tag=$2 cp="" errs="" log
	shift 2
	log=$WORK/$tag.log
	cap_start "$tag" >"$log" 2>&1 || { tap_fail "$name" "capture: $(cat "$log")"; return; }
	if [ -n "${9:-}" ]; then
		if ! strip_start "$9" >>"$log" 2>&1; then
			cap_stop "$tag" >>"$log" 2>&1
			tap_fail "$name" "middlebox: $(cat "$log")"
			return
		fi
	fi
	if conn "$tag" "$1" "$2" "$3" "$4" >>"$log" 2>&1; then
		cp=$(cport "$tag")
		wait_captured "$tag" "$cp" >>"$log" 2>&1 || errs+="$(cat "$log")"$'\n'
	else
		errs+="connection failed: $(cat "$log")"$'\n'
	fi
	if [ -n "${9:-}" ]; then
		strip_stop >>"$log" 2>&1 || errs+="middlebox exited with an error: $(cat "$log")"$'\n'
	fi
	cap_stop "$tag" >>"$log" 2>&1 || errs+="decoding the captures failed: $(cat "$log")"$'\n'
	if [ -z "$errs" ]; then
		errs+=$(check_data "$tag")$'\n'
		errs+=$(check_wire "$tag" a "$cp" "$5" | sed 's/^/client side: /')$'\n'
		errs+=$(check_wire "$tag" b "$cp" "$6" | sed 's/^/server side: /')$'\n'
		errs+=$(check_states "$tag" "$7" "$8")$'\n'
		errs+=$(check_live "$tag" "$cp")$'\n'
		if [ "$5" = "S,S.,.+" ]; then
			errs+=$(check_negotiated "$tag" b "$cp")$'\n'
			errs+=$(check_negotiated "$tag" a "$cp")$'\n'
			errs+=$(check_confirm_stop "$tag" a "$cp" | sed 's/^/client side: /')$'\n'
			errs+=$(check_confirm_stop "$tag" b "$cp" | sed 's/^/server side: /')$'\n'
		fi
		[ -n "${CASE_CHECK:-}" ] && errs+=$("$CASE_CHECK" "$tag" "$cp")$'\n'
		if [ -n "${9:-}" ]; then
			errs+=$(jq -r --argjson n "${10}" \
				'if .stripped != $n or .errors != 0 then
				"middlebox stripped \(.stripped) options (errors \(.errors)), expected \($n)"
				else empty end' "$WORK/strip.json")$'\n'
		fi
	fi
	errs=$(sed '/^$/d' <<<"$errs")
	if [ -z "$errs" ]; then
		tap_ok "$name"
		jq -s -r --argjson cp "$cp" '.[] | select((.sport == $cp or .dport == $cp) and (.syn or .tiflow)) | "  wire: " + .text' \
			"$WORK/$tag-b.json" | diag "$(cat)"
	else
		tap_fail "$name" "$errs"
	fi
}

# ---- main ----

prereqs
trap teardown EXIT
trap 'exit 1' INT TERM
# Watchdog: a stuck step must fail the test, not hang the suite.
# (Its sleep must not keep our stdout open after we exit: the runner reads it to EOF.)
(
	trap 'kill "$sp" 2>/dev/null; exit 0' TERM
	sleep "${TIFLOW_TEST_TIMEOUT:-1800}" >/dev/null 2>&1 &
	sp=$!
	wait "$sp" && echo "not ok - $NAME: timed out after ${TIFLOW_TEST_TIMEOUT:-1800} s" &&
		kill -TERM $$
) </dev/null 2>/dev/null &
PIDS+=("$!")
WORK=$(mktemp -d /tmp/svc-tiflow.XXXXXX) || bail "setup" "mktemp failed"
out=$(topo_create 2>&1) || bail "setup: namespaces, veths, cgroups" "$out"
# The server's pin directory holds the counters map of an older build, sized by its 20
# events: an upgrade in place must replace it (counters only) instead of failing to load.
mkdir -p "$PIN_S" && out=$(bpftool map create "$PIN_S/tiflow_stats" type percpu_array key 4 value 8 \
	entries 20 name tiflow_stats 2>&1) || bail "setup: pin an older build's tiflow_stats" "$out"
out=$("$TOOLS/tiflow-ctl" load --pin-dir "$PIN_C" --cgroup "$CGDIR/c-on" 2>&1 &&
	"$TOOLS/tiflow-ctl" load --pin-dir "$PIN_S" --cgroup "$CGDIR/s-on" --instance "$INST" 2>&1) ||
	bail "setup: load and attach the sockops program" "$out"
tap_ok "setup: 3 namespaces, 4 cgroups, sockops attached to c-on (client) and s-on (server, instance $INST)"
slots=$(bpftool -j map show pinned "$PIN_S/tiflow_stats" | jq -r .max_entries)
if [ "$slots" = 32 ] && grep -q "had 20 counters, this build 32: replaced" <<<"$out"; then
	tap_ok "upgrade: an older build's 20-counter tiflow_stats pin was replaced by the 32-slot map, and said so"
else
	tap_fail "upgrade: older tiflow_stats pin" "pinned map has $slots entries; load said: $out"
fi

run_case "(a) both speak TI-flow, IPv4: option in SYN, SYN-ACK, client segments until the server is established; halves, TIAcks, ISNs match" \
	a4 c-on s-on "$S4" 7001 "S,S.,.+" "S,S.,.+" negotiated negotiated
run_case "(a) both speak TI-flow, IPv6" \
	a6 c-on s-on "$S6" 7002 "S,S.,.+" "S,S.,.+" negotiated negotiated
run_case "(b) only the client speaks it: SYN offer unanswered, plain TCP" \
	b1 c-on s-off "$S4" 7003 "S" "S" plain/plain_synack_no_opt none
run_case "(b) only the server speaks it: no option anywhere, plain TCP" \
	b2 c-off s-on "$S4" 7004 "" "" none plain/plain_ack_no_opt
run_case "(c) middlebox strips client->server: both ends plain" \
	c1 c-on s-on "$S4" 7005 "S" "" plain/plain_synack_no_opt plain/plain_ack_no_opt "$DEV_MA" 1
run_case "(c) middlebox strips server->client: both ends plain" \
	c2 c-on s-on "$S4" 7006 "S" "S,S." plain/plain_synack_no_opt plain/plain_ack_no_opt "$DEV_MB" 1
run_case "(c) middlebox strips server->client, IPv6" \
	c3 c-on s-on "$S6" 7007 "S" "S,S." plain/plain_synack_no_opt plain/plain_ack_no_opt "$DEV_MB" 1

# (d) No room: a TCP-MD5 signed SYN (RFC 2385, 18 octets) leaves less than 20.
# syn_has_md5 TAG CPORT: the client's SYN on the wire really carries the MD5 option (kind 19).
syn_has_md5() {
	jq -s -r --argjson cp "$2" '
		[ .[] | select(.sport == $cp and .flags == "S") ] as $s |
		if ($s | length) == 0 then "no SYN captured"
		elif ([ $s[0].options[] | select(.kind == 19 and .len == 18) ] | length) != 1 then
			"SYN without TCP-MD5 option: \($s[0].text)"
		else empty end' "$WORK/$1-a.json"
}
CLI_ARGS=(--md5 tiflow-test-key)
SRV_ARGS=(--md5 tiflow-test-key --md5-peer "$C4")
CASE_CHECK=syn_has_md5 run_case "(d) no room in the SYN (TCP-MD5 in use): no offer, counted, plain TCP" \
	noroom c-on s-on "$S4" 7008 "" "" plain/plain_no_room plain/plain_ack_no_opt
CLI_ARGS=()
SRV_ARGS=()

# (f) The final ACK is lost (the middlebox drops the first pure ACK with the option): the
# client's first data segment completes the server's handshake and must carry the option.
# final_ack_dropped TAG CPORT: the middlebox dropped exactly one packet, and the server side
# saw the client's first non-SYN segment with data and the option.
final_ack_dropped() {
	jq -r '.dropped as $d | if $d != 1 then "middlebox dropped \($d) packets, expected 1" else empty end' \
		"$WORK/strip.json"
	jq -s -r --argjson cp "$2" '
		[ .[] | select(.sport == $cp and (.flags | startswith("S") | not)) ][0] |
		if . == null then "no client segment after the SYN on the server side"
		elif .payload_len == 0 or (.tiflow | not) then
			"first client segment on the server side: \(.text) (expected data with the option)"
		else empty end' "$WORK/$1-b.json"
}
STRIP_ARGS=(--drop-first-confirm)
CASE_CHECK=final_ack_dropped run_case "(f) the final ACK is lost: the client's data carries the confirmation, both negotiated" \
	f1 c-on s-on "$S4" 7009 "S,S.,.+" "S,S.,.+" negotiated negotiated "$DEV_MA" 0
CASE_CHECK=final_ack_dropped run_case "(f) the final ACK is lost, IPv6" \
	f2 c-on s-on "$S6" 7010 "S,S.,.+" "S,S.,.+" negotiated negotiated "$DEV_MA" 0
STRIP_ARGS=()

# (e) Selection. Loading again adopts the pinned maps and replaces the attached program in place.
out=$("$TOOLS/tiflow-ctl" load --pin-dir "$PIN_C" --cgroup "$CGDIR/c-on" --select :7100 2>&1 &&
	"$TOOLS/tiflow-ctl" load --pin-dir "$PIN_S" --cgroup "$CGDIR/s-on" --instance "$INST" \
		--select "$S4:7100" --select "$S4:7102" 2>&1)
if [ $? != 0 ]; then
	tap_fail "(e) reload with selections" "$out"
else
	run_case "(e) client selects port 7100, server serves $S4:7100: negotiated" \
		e1 c-on s-on "$S4" 7100 "S,S.,.+" "S,S.,.+" negotiated negotiated
	run_case "(e) port 7101 not selected by the client: no offer" \
		e2 c-on s-on "$S4" 7101 "" "" none none
	run_case "(e) server does not serve $S6:7100 with TI-flow: offer unanswered" \
		e3 c-on s-on "$S6" 7100 "S" "S" plain/plain_synack_no_opt none
fi

# The counters must agree with what the wire showed above.
out=$(jq -n -r --argjson c "$("$TOOLS/tiflow-ctl" stats --pin-dir "$PIN_C" -j)" \
	--argjson s "$("$TOOLS/tiflow-ctl" stats --pin-dir "$PIN_S" -j)" '
	(if $c.negotiated_active != 5 then "client negotiated_active \($c.negotiated_active), expected 5" else empty end),
	(if $c.ack_opt_sent != 5 then "client ack_opt_sent \($c.ack_opt_sent), expected 5" else empty end),
	(if $c.ack_opt_done != 5 then "client ack_opt_done \($c.ack_opt_done), expected 5" else empty end),
	(if $c.plain_synack_no_opt != 5 then "client plain_synack_no_opt \($c.plain_synack_no_opt), expected 5" else empty end),
	(if $c.not_selected != 1 then "client not_selected \($c.not_selected), expected 1" else empty end),
	(if $s.negotiated_passive != 5 then "server negotiated_passive \($s.negotiated_passive), expected 5" else empty end),
	(if $s.synack_opt_sent != 7 then "server synack_opt_sent \($s.synack_opt_sent), expected 7" else empty end),
	(if $s.plain_ack_no_opt != 5 then "server plain_ack_no_opt \($s.plain_ack_no_opt), expected 5" else empty end),
	(if $s.not_selected != 2 then "server not_selected \($s.not_selected), expected 2" else empty end),
	(if $c.plain_no_room != 1 then "client plain_no_room \($c.plain_no_room), expected 1" else empty end),
	(if ($s.plain_no_room + $c.err_store + $s.err_store + $c.hdr_bad + $s.hdr_bad + $c.ack_opt_skipped) != 0
		then "server no-room or store/header errors counted" else empty end)' 2>&1)
if [ -z "$out" ]; then tap_ok "counters agree with the wire"; else tap_fail "counters agree with the wire" "$out"; fi

exit $FAILED
