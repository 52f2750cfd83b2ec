#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# PNG plots of one `make bench` run, next to its JSON (docs/performance.md):
#   RUN.per-path.png  each router/endpoint path as a multiple of the floor of its family
#                     (parse + IPIP/IP6IP6 encap + XDP_TX, fixed MAC), issue 15's targets marked
#   RUN.growth.png    ns/packet against the service table (prefixes), the flow table
#                     (entries) and the next-hop set (members)
#   RUN.live.png      live TCP through the router: connections/s and bulk Gbit/s per mode
# A plot whose figure is not in the JSON (e.g. BENCH_ONLY=ctl) is not written, and says so.
# Usage: scripts/bench_plot.sh RUN.json [OUT_PREFIX]   (default OUT_PREFIX: RUN, the JSON's
# path without .json). Needs gnuplot (Debian: gnuplot-nox) and jq: `make deps` installs both;
# a missing one is an error.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 RUN.json [OUT_PREFIX]" >&2
	exit 2
fi
json=$1
prefix=${2:-${json%.json}}
for tool in gnuplot:gnuplot-nox jq:jq; do
	if ! command -v "${tool%%:*}" >/dev/null; then
		echo "bench_plot: ${tool%%:*} not found: install the Debian package ${tool#*:} (make deps)" >&2
		exit 1
	fi
done
if ! jq -e 'type == "object"' "$json" >/dev/null; then
	echo "bench_plot: $json: not a JSON object" >&2
	exit 1
fi
tmp=$(mktemp -d /tmp/bench-plot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
run=$(jq -r '.run_id // "run"' "$json")
written=()

# gnuplot's common settings: a small PNG, readable at docs width.
term="set terminal pngcairo size 900,520 font 'sans,10' noenhanced"

# ---- per-path cost against the floor
if jq -e '.per_packet.cases | length > 0' "$json" >/dev/null; then
	# path (case name without family), label, v4 ratio, v6 ratio, target (NaN: none vs floor)
	jq -r '
	  .per_packet as $pp
	  | def ratio($n): ([$pp.cases[] | select(.name == $n and .verified == true)
	                     | .ratio_floor][0] // "NaN");
	    def target($n): ([($pp.targets // [])[] | select(.case == $n and .basis == "floor")
	                      | .target_max_ratio][0] // "NaN");
	  [ ["router_established", "established (flow hit)"],
	    ["router_syn_same_tuple", "SYN (same 5-tuple)"],
	    ["router_syn", "SYN, new 5-tuple (flood)"],
	    ["router_flow_miss", "flow-table miss"],
	    ["router_flowid", "routed by flowID"],
	    ["router_demux", "DEMUX (resolve, pass)"],
	    ["router_no_service", "no service (pass)"],
	    ["endpoint_decap", "endpoint: decap"] ][]
	  | [.[1], ratio(.[0] + "_ipv4"), ratio(.[0] + "_ipv6"), target(.[0] + "_ipv4")]
	  | @tsv' "$json" >"$tmp/paths.tsv"
	floors=$(jq -r '.per_packet | "floor v4 \(.floor_ipv4_ns // "?") ns, v6 \(.floor_ipv6_ns // "?") ns; XDP_PASS \(.xdp_pass_ns // "?") ns"' "$json")
	gnuplot <<EOF
$term
set output '$prefix.per-path.png'
set title "svcplane per-packet cost as a multiple of the floor (parse + encap + XDP_TX)\n$run: $floors"
set datafile separator '\t'
set datafile missing 'NaN'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.8:*]
set ytics (1, 2, 3, 5, 10, 20, 50, 100, 200)
set grid ytics
set ylabel 'x floor of the family (log scale)'
set xtics rotate by -25 scale 0
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead dt 2 lc rgb '#555555'
plot '$tmp/paths.tsv' using 2:xtic(1) title 'IPv4' lc rgb '#3b75af', \
     '' using 3 title 'IPv6' lc rgb '#ef8636', \
     '' using (\$0):4 with points pt 9 ps 2 lc rgb '#c03d3e' title 'issue 15 target'
EOF
	written+=("$prefix.per-path.png")
else
	echo "bench_plot: no per_packet cases in $json: no per-path plot" >&2
fi

# ---- growth curves
if jq -e '.scale | type == "object"' "$json" >/dev/null; then
	# one file per (table, case kind, family): size, ns/packet
	series() { # table, size field, kind, family -> file name
		local f="$tmp/$1-$3-$4.tsv"
		jq -r --arg t "$1" --arg s "$2" --arg k "$3" --arg fam "$4" '
		  (.scale[$t] // [])[]
		  | select(.cases != null)
		  | .[$s] as $n
		  | .cases[] | select(.name == $k and .family == $fam and .verified == true)
		  | [$n, .ns_per_packet] | @tsv' "$json" >"$f"
		echo "$f"
	}
	# plot clause for a series, or nothing when it is empty
	clause() { # file, title, colour, dash
		[ -s "$1" ] && printf "'%s' using 1:2 with linespoints lw 2 pt 7 lc rgb '%s' dt %s title '%s', " \
			"$1" "$3" "$4" "$2"
		return 0
	}
	st=$(clause "$(series service_table prefixes demux ipv4)" 'DEMUX v4' '#3b75af' 1)
	st+=$(clause "$(series service_table prefixes syn1 ipv4)" 'SYN v4' '#c03d3e' 1)
	st+=$(clause "$(series service_table prefixes syn1 ipv6)" 'SYN v6' '#c03d3e' 2)
	st+=$(clause "$(series service_table prefixes syn ipv4)" 'SYN new 5-tuple v4' '#ef8636' 1)
	ft=$(clause "$(series flow_table max_entries est ipv4)" 'established, same flow' '#3b75af' 1)
	ft+=$(clause "$(series flow_table max_entries scatter ipv4)" 'established, scattered' '#519e3e' 1)
	ft+=$(clause "$(series flow_table max_entries miss ipv4)" 'miss into full table' '#8d69b8' 1)
	ft+=$(clause "$(series flow_table max_entries syn ipv4)" 'SYN into full table' '#ef8636' 1)
	nh=$(clause "$(series nexthop_sets members syn ipv4)" 'SYN v4' '#ef8636' 1)
	nh+=$(clause "$(series nexthop_sets members syn ipv6)" 'SYN v6' '#ef8636' 2)
	nh+=$(clause "$(series nexthop_sets members miss ipv4)" 'miss v4' '#8d69b8' 1)
	panel() { # title, x label, plot clauses
		if [ -n "$3" ]; then
			printf "set title '%s'\nset xlabel '%s'\nplot %s\n" "$1" "$2" "${3%, }"
		else
			printf "set title '%s: not in this run'\nunset xlabel\nplot NaN notitle\n" "$1"
		fi
	}
	if [ -n "$st$ft$nh" ]; then
		gnuplot <<EOF
set terminal pngcairo size 1200,460 font 'sans,10' noenhanced
set output '$prefix.growth.png'
set multiplot layout 1,3 title "svcplane ns/packet against table sizes ($run)"
set datafile separator '\t'
set logscale x
set format x '%.0s%c'
set yrange [0:*]
set ylabel 'ns/packet'
set grid
set key below maxrows 2 width -2
set bmargin 8
$(panel 'service table (LPM prefixes)' 'prefixes' "$st")
$(panel 'flow table (LRU, filled)' 'entries' "$ft")
$(panel 'next-hop set' 'members' "$nh")
unset multiplot
EOF
		written+=("$prefix.growth.png")
	else
		echo "bench_plot: no verified scale cases in $json: no growth plot" >&2
	fi
else
	echo "bench_plot: no scale figure in $json: no growth plot" >&2
fi

# ---- live traffic
if jq -e '.live.modes | length > 0' "$json" >/dev/null; then
	# short tick names: the labels are too long for a panel
	jq -r '.live.modes[] | [({"kernel": "kernel forwarding", "xdp_pass": "+ XDP_PASS",
	       "svcplane": "svcplane"}[.mode] // .mode), .connections_per_s // "NaN",
	       .bulk_gbit_per_s // "NaN"] | @tsv' "$json" >"$tmp/live.tsv"
	gnuplot <<EOF
set terminal pngcairo size 900,420 font 'sans,10' noenhanced
set output '$prefix.live.png'
set multiplot layout 1,2 title "live TCP on veth: client -- router -- instance ($run)"
set datafile separator '\t'
set datafile missing 'NaN'
set style fill solid 0.85 border -1
set boxwidth 0.6
set yrange [0:*]
set grid ytics
set xtics rotate by -15 scale 0
set rmargin 8
set title 'connections per second'
plot '$tmp/live.tsv' using 0:2:xtic(1) with boxes lc rgb '#3b75af' notitle
set title 'bulk throughput (Gbit/s)'
plot '$tmp/live.tsv' using 0:3:xtic(1) with boxes lc rgb '#519e3e' notitle
unset multiplot
EOF
	written+=("$prefix.live.png")
else
	echo "bench_plot: no live figure in $json: no live plot" >&2
fi

for f in "${written[@]}"; do
	echo "plot: $f"
done
