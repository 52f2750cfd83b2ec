#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# TI-flow benchmark (issue 4): what negotiating the TI-flow option in the handshake costs live TCP.
#   client ns  btc-ID 198.18.70.1/24 ---- bts-ID 198.18.70.2/24  server ns
# Four child cgroups: the sockops program (bpf/tiflow.bpf.c, one pin dir per "host") is attached
# to c-on (client) and s-on (server); c-off and s-off have none. Two svc-tcpperf servers listen,
# one in s-on (port 5201), one in s-off (5202); the clients run in c-on -> 5201 ("tiflow": both
# ends negotiate) or c-off -> 5202 ("plain": the program runs for neither end). Modes alternate
# in every round (ABBA order). Per mode and round: svc-tcpperf crr (one connection at a time:
# connect() time p50/p99 and connections/s) and bulk (Gbit/s, one connection).
# Each mode is checked to be what it claims from the TI-flow counters of both pin dirs:
# tiflow: negotiated_active (client) and negotiated_passive (server) grew by the number of
# connections made, no plain_* / err_* event; plain: no counter of either program moved.
# Then one more short tiflow crr run with kernel.bpf_stats_enabled=1 (restored right after) gives
# the sockops program's own run time (run_time_ns / run_cnt of the client's and the server's
# program): the "sockops option writer" cost that BPF_PROG_TEST_RUN cannot measure.
# Prints a table (median over rounds, spread = max - min, ratio tiflow/plain) and writes JSON.
# Never fails on a number: exit 1 only if the set-up failed or a mode could not be run/verified.
# Usage: scripts/bench_tiflow.sh OUTPUT_DIR [RESULT.json]. Root only. BENCH_QUICK=1: 3 short rounds.
# Everything (namespaces, cgroups, pins, processes) is removed on exit, also on failure.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

out=${1:-.output}
case $out in /*) bin=$out/bin ;; *) bin=$PWD/$out/bin ;; esac
result=${2:-bench/results/$(date -u +%Y%m%dT%H%M%SZ)-$(hostname -s).tiflow.json}
tp=$bin/bench/svc-tcpperf
ctl=$bin/tools/tiflow-ctl
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	rounds=3 crr_s=1 bulk_s=1
else
	rounds=8 crr_s=1.5 bulk_s=1
fi

id=$(printf '%x%02x' $(($$ % 65536)) $((RANDOM % 256)))
ns_c=svcbt-c-$id ns_s=svcbt-s-$id
dev_c=btc-$id dev_s=bts-$id
addr_c=198.18.70.1 addr_s=198.18.70.2
port_on=5201 port_off=5202
# cgroup v2: wherever it is mounted (Debian 12: /sys/fs/cgroup; hybrid hosts: .../unified)
cgroot=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
cg=$cgroot/svcbt-$id
pin_c=/sys/fs/bpf/svcbt-$id-c pin_s=/sys/fs/bpf/svcbt-$id-s
tmp=
pids=()
stats_was=

say() { printf '%s\n' "$*"; }
die() {
	say "bench_tiflow: $*" >&2
	exit 1
}

cleanup() {
	local p c end
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	# a client interrupted mid-run may still be in one of our cgroups: end it (by pid)
	for c in c-on c-off s-on s-off; do
		[ -f "$cg/$c/cgroup.procs" ] || continue
		while read -r p; do kill "$p" 2>/dev/null; done <"$cg/$c/cgroup.procs"
	done
	end=$((SECONDS + 5))
	for c in c-on c-off s-on s-off; do
		while [ -d "$cg/$c" ] && ! rmdir "$cg/$c" 2>/dev/null && [ $SECONDS -lt $end ]; do
			sleep 0.05
		done
	done
	rmdir "$cg" 2>/dev/null
	if [ -x "$ctl" ]; then
		for p in "$pin_c" "$pin_s"; do
			[ -d "$p" ] && "$ctl" unload --pin-dir "$p" 2>/dev/null
			rmdir "$p" 2>/dev/null
		done
	fi
	ip netns del "$ns_c" 2>/dev/null
	ip netns del "$ns_s" 2>/dev/null
	[ -n "$stats_was" ] && sysctl -qw kernel.bpf_stats_enabled="$stats_was"
	[ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# poll CMD SECONDS: until CMD succeeds (no fixed sleeps).
poll() {
	local end=$((SECONDS + $2))
	until eval "$1" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
}

# in_cg CGROUP NS CMD...: run CMD as a member of child cgroup CGROUP inside netns NS.
in_cg() {
	sh -c 'cg=$1 ns=$2; shift 2; echo $$ > "$cg/cgroup.procs" && exec nsenter --net="/run/netns/$ns" "$@"' \
		in_cg "$cg/$1" "$2" "${@:3}"
}

setup() {
	ip netns add "$ns_c" && ip netns add "$ns_s" &&
	ip link add "$dev_c" netns "$ns_c" type veth peer name "$dev_s" netns "$ns_s" &&
	ip -n "$ns_c" addr add "$addr_c/24" dev "$dev_c" &&
	ip -n "$ns_s" addr add "$addr_s/24" dev "$dev_s" &&
	ip -n "$ns_c" link set lo up && ip -n "$ns_s" link set lo up &&
	ip -n "$ns_c" link set "$dev_c" up && ip -n "$ns_s" link set "$dev_s" up &&
	# many short connections: a wide port range on the client
	ip netns exec "$ns_c" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" &&
	mkdir "$cg" "$cg/c-on" "$cg/c-off" "$cg/s-on" "$cg/s-off" &&
	# configure + attach before the servers listen: a listener older than the attach
	# would answer without TI-flow
	"$ctl" load --pin-dir "$pin_c" --cgroup "$cg/c-on" &&
	"$ctl" load --pin-dir "$pin_s" --cgroup "$cg/s-on" --instance 7
}

# server CGROUP PORT: svc-tcpperf server in that cgroup, waits until it listens.
server() {
	in_cg "$1" "$ns_s" "$tp" server "$addr_s" "$2" --max-seconds 300 \
		</dev/null >/dev/null 2>"$tmp/server-$2.err" &
	pids+=($!)
	poll "ip netns exec $ns_s ss -Htln 'sport = :$2' | grep . >/dev/null" 5 ||
		{ say "server on port $2 did not listen: $(cat "$tmp/server-$2.err")"; return 1; }
}

stats() { "$ctl" stats --pin-dir "$1" -j; }

# measure MODE ROUND: crr then bulk in MODE; appends one JSON line to runs.jsonl.
measure() {
	local mode=$1 round=$2 cgc port c0 s0 c1 s1 crr bulk
	if [ "$mode" = tiflow ]; then cgc=c-on port=$port_on; else cgc=c-off port=$port_off; fi
	c0=$(stats "$pin_c") && s0=$(stats "$pin_s") || return 1
	crr=$(in_cg "$cgc" "$ns_c" "$tp" crr "$addr_s" "$port" --seconds "$crr_s" --parallel 1 \
		2>>"$tmp/client.err")
	bulk=$(in_cg "$cgc" "$ns_c" "$tp" bulk "$addr_s" "$port" --seconds "$bulk_s" \
		2>>"$tmp/client.err")
	c1=$(stats "$pin_c") && s1=$(stats "$pin_s") || return 1
	jq -n -c --arg mode "$mode" --argjson round "$round" --argjson crr "${crr:-null}" \
		--argjson bulk "${bulk:-null}" --argjson c0 "$c0" --argjson c1 "$c1" \
		--argjson s0 "$s0" --argjson s1 "$s1" '
		def delta($a; $b): reduce ($b | keys[]) as $k ({}; .[$k] = $b[$k] - $a[$k]);
		delta($c0; $c1) as $dc | delta($s0; $s1) as $ds |
		(if $bulk == null then 0 else 1 end) as $nb |
		(($crr.connections // 0) + $nb) as $n | (($crr.errors // 0)) as $e |
		def others($d): [ $d | to_entries[] | select(.key | test("^(plain_|err_|hdr_bad)"))
			| select(.value != 0) | "\(.key)+\(.value)" ];
		[ (if $crr == null then "crr did not run" else empty end),
		  (if $bulk == null then "bulk did not run" else empty end),
		  (if $mode == "tiflow" then
			(if $dc.negotiated_active < $n or $dc.negotiated_active > $n + $e then
				"client negotiated_active +\($dc.negotiated_active), \($n) connections" else empty end),
			(if $ds.negotiated_passive < $n or $ds.negotiated_passive > $n + $e then
				"server negotiated_passive +\($ds.negotiated_passive), \($n) connections" else empty end),
			(others($dc) + others($ds) | if length > 0 then "fallbacks: \(join(", "))" else empty end)
		   else
			([ $dc, $ds | to_entries[] | select(.value != 0) | "\(.key)+\(.value)" ] |
				if length > 0 then "TI-flow counters moved: \(join(", "))" else empty end)
		   end) ] as $why |
		{ mode: $mode, round: $round, crr: $crr, bulk: $bulk, connections: $n,
		  negotiated_active: $dc.negotiated_active, negotiated_passive: $ds.negotiated_passive,
		  verified: ($why | length == 0), why: $why }' >>"$tmp/runs.jsonl"
}

# prog_stats PIN_DIR: {"run_cnt","run_time_ns"} of the sockops program behind the pinned
# cgroup link (tiflow_link_<cgroup id>; the _setsockopt/_getsockopt links are others).
prog_stats() {
	local link id
	link=$(ls "$1"/tiflow_link_* 2>/dev/null | grep -E '/tiflow_link_[0-9]+$' | head -1)
	[ -n "$link" ] || return 1
	id=$(bpftool -j link show pinned "$link" | jq -r .prog_id) || return 1
	bpftool -j prog show id "$id" | jq -c '{run_cnt: (.run_cnt // 0), run_time_ns: (.run_time_ns // 0)}'
}

# prog_time: one tiflow crr run with BPF run-time statistics on; prints a JSON object
# (null if bpftool is missing or the statistics cannot be read).
prog_time() {
	local c0 s0 c1 s1 crr
	command -v bpftool >/dev/null || { echo null; return; }
	stats_was=$(sysctl -n kernel.bpf_stats_enabled) || { echo null; return; }
	sysctl -qw kernel.bpf_stats_enabled=1 || { echo null; return; }
	c0=$(prog_stats "$pin_c") && s0=$(prog_stats "$pin_s") &&
	crr=$(in_cg c-on "$ns_c" "$tp" crr "$addr_s" "$port_on" --seconds 1 --parallel 1 \
		2>>"$tmp/client.err") &&
	c1=$(prog_stats "$pin_c") && s1=$(prog_stats "$pin_s")
	local rc=$?
	sysctl -qw kernel.bpf_stats_enabled="$stats_was"
	stats_was=
	[ $rc = 0 ] || { echo null; return; }
	jq -n -c --argjson crr "$crr" --argjson c0 "$c0" --argjson c1 "$c1" --argjson s0 "$s0" \
		--argjson s1 "$s1" '
		def side($a; $b): ($b.run_cnt - $a.run_cnt) as $n | ($b.run_time_ns - $a.run_time_ns) as $t |
			{ runs: $n, ns: $t, ns_per_run: (if $n > 0 then ($t / $n | round) else null end),
			  runs_per_connection: (if $crr.connections > 0 then ($n / $crr.connections * 10 | round / 10) else null end),
			  ns_per_connection: (if $crr.connections > 0 then ($t / $crr.connections | round) else null end) };
		{ connections: $crr.connections, client: side($c0; $c1), server: side($s0; $s1) }'
}

# ---- main
[ "$(id -u)" = 0 ] || die "must run as root (BPF, namespaces, cgroups)"
for f in "$tp" "$ctl"; do [ -x "$f" ] || die "$f missing: run make bench"; done
command -v jq >/dev/null || die "jq not installed (make deps)"
[ "$(stat -f -c %T "$cgroot" 2>/dev/null)" = cgroup2fs ] || die "no cgroup v2 hierarchy at $cgroot"
if ! mountpoint -q /sys/fs/bpf; then
	mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf || die "no bpffs at /sys/fs/bpf"
fi
tmp=$(mktemp -d /tmp/svc-bench-tiflow.XXXXXX) || die "mktemp failed"
t0=$SECONDS
say ""
say "== 6. TI-flow negotiation on live TCP (veth client -- server; $rounds rounds, modes alternated;" \
	"crr ${crr_s} s + bulk ${bulk_s} s each) =="
msg=$(setup 2>&1) || die "set-up (namespaces, veth, cgroups, sockops attach): $msg"
server s-on "$port_on" && server s-off "$port_off" || die "could not start the servers"
: >"$tmp/runs.jsonl"
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) = 1 ]; then order="tiflow plain"; else order="plain tiflow"; fi
	for m in $order; do
		measure "$m" "$r" || die "reading the TI-flow counters failed"
	done
done
ptime=$(prog_time)

machine=$(jq -n -c --arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" \
	--argjson n "$(nproc)" --arg k "$(uname -r)" --arg d "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	--arg h "$(hostname -s)" '{cpu: $cpu, cpus: $n, kernel: $k, date: $d, host: $h}')
mkdir -p "$(dirname "$result")"
jq -s --argjson machine "$machine" --argjson ptime "${ptime:-null}" --argjson crr_s "$crr_s" --argjson bulk_s "$bulk_s" '
	def med: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def spread: if length == 0 then null else max - min end;
	def fig($runs; f): [ $runs[] | f | select(. != null) ] | { median: med, spread: spread };
	def mode($m): [ .[] | select(.mode == $m) ] as $r |
		{ rounds: ($r | length), verified: all($r[]; .verified),
		  connections: ([ $r[].connections ] | add),
		  negotiated_active: ([ $r[].negotiated_active ] | add),
		  negotiated_passive: ([ $r[].negotiated_passive ] | add),
		  crr_errors: ([ $r[] | .crr.errors // 0 ] | add),
		  connect_us_p50: fig($r; .crr.connect_us_p50),
		  connect_us_p99: fig($r; .crr.connect_us_p99),
		  connections_per_s: fig($r; .crr.per_s),
		  bulk_gbit_per_s: fig($r; .bulk.gbit_per_s) };
	def ratio($a; $b): if $a == null or $b == null or $b == 0 then null
		else ($a / $b * 1000 | round / 1000) end;
	# per round: tiflow / plain of the same round (adjacent runs: drift of the machine cancels)
	def paired($runs; f): [ $runs | group_by(.round)[] |
		(map(select(.mode == "tiflow") | f)[0]) as $a | (map(select(.mode == "plain") | f)[0]) as $b |
		select($a != null and $b != null and $b != 0) | $a / $b ] |
		{ median: (med | if . == null then null else (. * 1000 | round / 1000) end),
		  min: (min | if . == null then null else (. * 1000 | round / 1000) end),
		  max: (max | if . == null then null else (. * 1000 | round / 1000) end) };
	. as $all | mode("tiflow") as $t | mode("plain") as $p |
	{ figure: "tiflow", machine: $machine,
	  method: { rounds: $t.rounds, crr_seconds: $crr_s, bulk_seconds: $bulk_s, crr_parallel: 1,
		    topology: "two namespaces, one veth, IPv4", order: "ABBA alternation" },
	  tiflow: $t, plain: $p, sockops_program_time: $ptime,
	  ratio_tiflow_over_plain: {
		connect_us_p50: ratio($t.connect_us_p50.median; $p.connect_us_p50.median),
		connect_us_p99: ratio($t.connect_us_p99.median; $p.connect_us_p99.median),
		connections_per_s: ratio($t.connections_per_s.median; $p.connections_per_s.median),
		bulk_gbit_per_s: ratio($t.bulk_gbit_per_s.median; $p.bulk_gbit_per_s.median) },
	  ratio_paired_by_round: {
		connect_us_p50: paired($all; .crr.connect_us_p50),
		connect_us_p99: paired($all; .crr.connect_us_p99),
		connections_per_s: paired($all; .crr.per_s),
		bulk_gbit_per_s: paired($all; .bulk.gbit_per_s) },
	  runs: . }' "$tmp/runs.jsonl" >"$result" || die "could not write $result"

jq -r '
	def f($x; $d): if $x == null then "n/a" else ($x * pow(10; $d) | round / pow(10; $d) | tostring) end;
	def pad($w): . + " " * ([$w - length, 1] | max);
	def row($name; $k; $d):
		"\(f(.tiflow[$k].median; $d)) +-\(f(.tiflow[$k].spread; $d))" as $a |
		"\(f(.plain[$k].median; $d)) +-\(f(.plain[$k].spread; $d))" as $b |
		.ratio_paired_by_round[$k] as $q |
		"  " + ($name | pad(28)) + ($a | pad(20)) + ($b | pad(20)) +
		(f(.ratio_tiflow_over_plain[$k]; 3) | pad(8)) +
		"\(f($q.median; 3)) (\(f($q.min; 3))-\(f($q.max; 3)))";
	"  " + ("figure (median +- spread)" | pad(28)) + ("TI-flow" | pad(20)) + ("plain TCP" | pad(20)) +
		"ratio   per-round ratio: median (min-max)",
	row("connect() p50 (us)"; "connect_us_p50"; 1),
	row("connect() p99 (us)"; "connect_us_p99"; 1),
	row("connections/s (1 at a time)"; "connections_per_s"; 0),
	row("bulk Gbit/s"; "bulk_gbit_per_s"; 2),
	"  check: TI-flow \(.tiflow.connections) connections, negotiated \(.tiflow.negotiated_active) (client) / \(.tiflow.negotiated_passive) (server): \(if .tiflow.verified then "ok" else "NOT VERIFIED" end);" +
	" plain \(.plain.connections) connections, no TI-flow event: \(if .plain.verified then "ok" else "NOT VERIFIED" end)",
	(.sockops_program_time | if . == null then "  sockops program time: n/a (bpftool or kernel.bpf_stats_enabled unavailable)" else
	"  sockops program time (bpf_stats, \(.connections) connections): client \(.client.runs_per_connection) runs x \(.client.ns_per_run) ns" +
	" = \(.client.ns_per_connection) ns, server \(.server.runs_per_connection) runs x \(.server.ns_per_run) ns = \(.server.ns_per_connection) ns per connection" end),
	(.runs[] | select(.verified | not) | "  round \(.round) \(.mode): \(.why | join("; "))")' "$result"
say "  JSON: $result ($((SECONDS - t0)) s)"
[ -s "$tmp/client.err" ] && { say "  client messages:"; sed 's/^/    /' "$tmp/client.err" | head -5; }
jq -e '.tiflow.verified and .plain.verified' "$result" >/dev/null ||
	die "a mode could not be run or was not what it claims (see above)"
