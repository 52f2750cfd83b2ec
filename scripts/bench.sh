#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make bench: measures svcplane on this machine and writes bench/results/RUN-ID.json.
#   1. per-packet cost through BPF_PROG_TEST_RUN, with baselines   (svc-bench packet)
#   2. growth with service table, flow table and next-hop set size (svc-bench packet)
#   3. control-plane update rates through the agent's API          (svc-bench ctl)
#   4. live TCP through a router namespace: svcplane vs kernel      (svc-tcpperf)
#   5. registry: instance death and registration -> data plane      (bench_registry.sh)
#   6. TI-flow negotiation: connect time and bulk with and without   (bench_tiflow.sh)
#   7. availability: DELAY first connect, health check, shed timings (bench_avail.sh)
#   8. multi-host: etcd write -> every router, registry churn, etcd away (bench_etcd.sh)
# Then scripts/bench_plot.sh writes PNG plots next to the JSON (RUN-ID.per-path.png, .growth.png,
# .live.png).
# Usage: scripts/bench.sh OUTPUT_DIR (the build's output, e.g. .output). Root only.
# BENCH_QUICK=1 runs a short version (fewer rounds, flow tables up to 1 M) for development;
# BENCH_ONLY="packet ctl live" picks figures (default: all).
# Benchmarks never fail on a number; the exit status is 1 only if a figure could not be run.
# Everything runs in namespaces this script creates (198.18.0.0/15, 2001:db8::/32 only) and
# is removed on exit, also on failure.
set -uo pipefail
cd "$(dirname "$0")/.."

out=${1:-.output}
case $out in /*) bin=$out/bin ;; *) bin=$PWD/$out/bin ;; esac
sb=$bin/svc-bench
tp=$bin/bench/svc-tcpperf
quick=${BENCH_QUICK:-0}
only=${BENCH_ONLY:-packet ctl live}
suf=$$
ns_pp=svcb-pp-$suf ns_c=svcb-c-$suf ns_r=svcb-r-$suf ns_i=svcb-i-$suf ns_a=svcb-a-$suf
pin=/sys/fs/bpf/svcb-$suf
run_id=$(date -u +%Y%m%dT%H%M%SZ)-$(hostname -s)
results=bench/results
tmp=$(mktemp -d /tmp/svc-bench.XXXXXX)
pids=()
failed=()
t_start=$SECONDS

if [ "$quick" = 1 ]; then
	pkt_args=(--rounds 5 --repeat 100000 --flow-sizes 10000,1000000)
	live_rounds=2 live_secs=2 ctl_count=50
else
	pkt_args=(--rounds 7 --repeat 200000 --flow-sizes 10000,1000000,10000000)
	live_rounds=3 live_secs=3 ctl_count=200
fi

cleanup() {
	local p ns
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	for ns in "$ns_pp" "$ns_c" "$ns_r" "$ns_i" "$ns_a"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$pin" "$pin"-* "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*"; }
elapsed() { say "   (${1}: $((SECONDS - t_start)) s since start)"; }

if [ "$(id -u)" != 0 ]; then
	say "bench: must run as root (BPF, namespaces)" >&2
	exit 1
fi
for f in "$sb" "$tp"; do
	[ -x "$f" ] || { say "bench: $f missing: run make bench" >&2; exit 1; }
done
if ! mountpoint -q /sys/fs/bpf; then
	mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf || { say "bench: no bpffs" >&2; exit 1; }
fi
mkdir -p "$results"

# Waits (up to $2 s) until command $1 succeeds: no fixed sleeps.
poll() {
	local cmd=$1 end=$((SECONDS + $2))
	until eval "$cmd" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
}

# ---- 1 + 2: per-packet namespace: a veth whose next hops resolve (route + permanent neighbour)
setup_pp() {
	local n=$ns_pp
	ip netns add "$n" &&
	ip -n "$n" link add vb0 address 02:00:00:b0:00:01 type veth peer name vb1 \
		address 02:00:00:b0:00:02 &&
	ip -n "$n" link set lo up && ip -n "$n" link set vb0 up && ip -n "$n" link set vb1 up &&
	ip -n "$n" addr add 198.18.0.1/24 dev vb0 &&
	ip -n "$n" addr add 2001:db8:b::1/64 dev vb0 nodad &&
	ip -n "$n" neigh add 198.18.0.2 lladdr 02:00:00:b0:00:02 dev vb0 nud permanent &&
	ip -n "$n" -6 neigh add 2001:db8:b::2 lladdr 02:00:00:b0:00:02 dev vb0 nud permanent &&
	ip -n "$n" route add 198.19.0.0/16 via 198.18.0.2 &&
	ip -n "$n" -6 route add 2001:db8:bb::/48 via 2001:db8:b::2 &&
	# bpf_fib_lookup answers only where forwarding is on
	ip netns exec "$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
}

want() { [[ " $only " == *" $1 "* ]]; }

say "svcplane benchmarks, run $run_id ($(nproc) CPUs, $(uname -r))"
if ! want packet; then
	:
elif setup_pp; then
	# nsenter, not ip netns exec: the latter remounts /sys and hides the host's bpffs
	nsenter --net=/run/netns/"$ns_pp" "$sb" packet --ifname vb0 --pin-dir "$pin" \
		--out "$tmp/packet.json" "${pkt_args[@]}" || failed+=("per-packet/scale")
else
	say "bench: could not create the per-packet namespace" >&2
	failed+=("per-packet/scale")
fi
ip netns del "$ns_pp" 2>/dev/null
elapsed "figures 1-2"

# ---- 3: control plane through the agent's API
ctl_phase() {
	local sock=$tmp/api.sock log=$tmp/svcplaned.log
	if [ ! -x "$bin/svcplaned" ] || [ ! -x "$bin/servicectl" ]; then
		"$sb" ctl --na "svcplaned/servicectl not built yet (issue 3)" --out "$tmp/ctl.json"
		return
	fi
	# the agent in its own namespace, with its own pins and state: nothing of a real install
	ip netns add "$ns_a" || return 1
	nsenter --net=/run/netns/"$ns_a" "$bin/svcplaned" --socket "$sock" --pin-dir "$pin-agent" \
		--state-dir "$tmp/agent-state" --metrics off 2>"$log" &
	pids+=($!)
	if ! poll "grep -q 'svcplaned: ready' '$log'" 10; then
		say "bench: svcplaned did not get ready in 10 s:" >&2
		tail -5 "$log" >&2
		"$sb" ctl --na "svcplaned did not start (see the bench log)" --out "$tmp/ctl.json"
		return 1
	fi
	"$sb" ctl --servicectl "$bin/servicectl" --socket "$sock" --count "$ctl_count" \
		--out "$tmp/ctl.json"
}
want ctl && { ctl_phase || failed+=("control plane"); }
ip netns del "$ns_a" 2>/dev/null
elapsed "figure 3"

# ---- 4: live traffic: client -- router -- instance, svcplane vs plain forwarding
vip=198.18.100.10
setup_live() {
	local n
	for n in "$ns_c" "$ns_r" "$ns_i"; do
		ip netns add "$n" && ip -n "$n" link set lo up || return 1
		ip netns exec "$n" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0 || return 1
	done
	ip -n "$ns_c" link add c0 address 02:00:00:b1:00:01 type veth peer name r0 \
		netns "$ns_r" address 02:00:00:b1:00:02 &&
	ip -n "$ns_r" link add r1 address 02:00:00:b2:00:01 mtu 1520 type veth peer name i0 \
		netns "$ns_i" address 02:00:00:b2:00:02 mtu 1520 &&
	ip -n "$ns_c" addr add 198.18.1.2/24 dev c0 && ip -n "$ns_c" link set c0 up &&
	ip -n "$ns_r" addr add 198.18.1.1/24 dev r0 && ip -n "$ns_r" link set r0 up &&
	ip -n "$ns_r" addr add 198.18.2.1/24 dev r1 && ip -n "$ns_r" link set r1 up &&
	ip -n "$ns_i" addr add 198.18.2.2/24 dev i0 && ip -n "$ns_i" link set i0 up &&
	ip -n "$ns_i" addr add "$vip/32" dev lo &&
	ip -n "$ns_c" route add default via 198.18.1.1 &&
	ip -n "$ns_i" route add default via 198.18.2.1 &&
	# plain forwarding reaches the VIP by a route; svcplane by its binding (encapsulated)
	ip -n "$ns_r" route add "$vip/32" via 198.18.2.2 &&
	ip -n "$ns_r" neigh add 198.18.2.2 lladdr 02:00:00:b2:00:02 dev r1 nud permanent &&
	ip -n "$ns_r" neigh add 198.18.1.2 lladdr 02:00:00:b1:00:01 dev r0 nud permanent &&
	ip -n "$ns_c" neigh add 198.18.1.1 lladdr 02:00:00:b1:00:02 dev c0 nud permanent &&
	ip -n "$ns_i" neigh add 198.18.2.1 lladdr 02:00:00:b2:00:01 dev i0 nud permanent &&
	# The client's veth must send full checksums, as a NIC does: a CHECKSUM_PARTIAL packet
	# keeps its metadata only as an skb, and one that XDP redirects (svcplane's
	# encapsulation) arrives at the instance with the bare pseudo-header sum and is dropped.
	# All modes use the same setting.
	ip netns exec "$ns_c" ethtool -K c0 tx off >/dev/null &&
	ip netns exec "$ns_r" sysctl -qw net.ipv4.ip_forward=1 &&
	ip netns exec "$ns_c" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
}

live_args=(--pin-dir "$pin" --router-ns "$ns_r" --router-if r0 --instance-ns "$ns_i"
	   --instance-if i0)
mode_on() {
	case $1 in
	kernel) ;;
	xdp_pass)
		"$sb" live xdp-pass --ns "$ns_r" --if r0 && "$sb" live xdp-pass --ns "$ns_i" --if i0 ;;
	svcplane)
		"$sb" live setup "${live_args[@]}" --vip "$vip" --port 80 --src 198.18.2.1 \
			--instance 198.18.2.2 ;;
	esac
}
mode_off() {
	case $1 in
	kernel) ;;
	xdp_pass)
		"$sb" live xdp-pass --ns "$ns_r" --if r0 --detach &&
		"$sb" live xdp-pass --ns "$ns_i" --if i0 --detach ;;
	svcplane) "$sb" live detach "${live_args[@]}" ;;
	esac
}
stats() {
	if [ "$1" = svcplane ]; then "$sb" live stats --pin-dir "$pin"; else echo '{}'; fi
}
# One measurement: appends {"mode","round","test","result",stats before/after} to runs.jsonl.
measure() {
	local mode=$1 round=$2 test=$3 before after res rc args=()
	[ "$test" = crr ] && args=(--parallel 2)
	before=$(stats "$mode")
	# a failed run still prints its counts (e.g. 0 connections) when it can: keep them
	res=$(nsenter --net=/run/netns/"$ns_c" "$tp" "$test" "$vip" 80 --seconds "$live_secs" \
		"${args[@]}")
	rc=$?
	after=$(stats "$mode")
	[ -n "$res" ] || res=null
	[ -n "$before" ] || before='{}'
	[ -n "$after" ] || after='{}'
	printf '{"mode":"%s","round":%d,"test":"%s","result":%s,"stats_before":%s,"stats_after":%s}\n' \
		"$mode" "$round" "$test" "$res" "$before" "$after" >>"$tmp/runs.jsonl"
	return $rc
}

live_phase() {
	local r mode ok=0
	say ""
	say "== 4. Live traffic (veth: client -- router -- instance; $live_rounds rounds x" \
		"${live_secs} s per test, modes alternated) =="
	setup_live || { say "bench: could not build the live topology" >&2; return 1; }
	ip netns exec "$ns_i" "$tp" server "$vip" 80 --max-seconds 300 2>/dev/null &
	pids+=($!)
	poll "ip netns exec $ns_i ss -Htln 'sport = :80' | grep . >/dev/null" 5 ||
		{ say "bench: svc-tcpperf server did not listen" >&2; return 1; }
	for r in $(seq 1 "$live_rounds"); do
		for mode in kernel xdp_pass svcplane; do
			if ! mode_on "$mode"; then
				say "bench: live: could not switch to $mode" >&2
				ok=1
				continue
			fi
			measure "$mode" "$r" crr || ok=1
			measure "$mode" "$r" bulk || ok=1
			mode_off "$mode" || ok=1
		done
	done
	"$sb" live summary --in "$tmp/runs.jsonl" --out "$tmp/live.json" || ok=1
	cp "$tmp/runs.jsonl" "$results/$run_id.live-runs.jsonl"
	return $ok
}
want live && { live_phase || failed+=("live traffic"); }
elapsed "figure 4"
# ---- 5: registry: instance death / registration -> data plane (scripts/bench_registry.sh)
{ [ -z "${BENCH_ONLY:-}" ] || want registry; } && { scripts/bench_registry.sh "$out" "$results/$run_id.registry.json" || failed+=("registry"); }
{ [ -z "${BENCH_ONLY:-}" ] || want tiflow; } && { scripts/bench_tiflow.sh "$out" "$results/$run_id.tiflow.json" || failed+=("tiflow"); }
{ [ -z "${BENCH_ONLY:-}" ] || want avail; } && { scripts/bench_avail.sh "$out" "$results/$run_id.avail.json" || failed+=("avail"); }
{ [ -z "${BENCH_ONLY:-}" ] || want etcd; } && { scripts/bench_etcd.sh "$out" "$results/$run_id.etcd.json" || failed+=("etcd"); }

# ---- the run's JSON: figures + machine
frags=()
for f in packet ctl live; do
	[ -f "$tmp/$f.json" ] && frags+=("$tmp/$f.json")
done
"$sb" report --out "$results/$run_id.json" --run-id "$run_id" \
	--bpf-compiler "$(${BPF_CLANG:-clang} --version | head -1)" "${frags[@]}" ||
	failed+=("report")
# ---- PNG plots next to the JSON (per-path cost against the floor, growth, live)
if [ -f "$results/$run_id.json" ]; then
	scripts/bench_plot.sh "$results/$run_id.json" || failed+=("plots")
fi
say "bench: done in $((SECONDS - t_start)) s"
if [ ${#failed[@]} -gt 0 ]; then
	say "bench: incomplete: could not run: ${failed[*]}" >&2
	exit 1
fi
