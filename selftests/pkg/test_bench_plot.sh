#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# scripts/bench_plot.sh (the PNG plots `make bench` writes next to its JSON) works:
#   - on a small run fixture (bench_plot_run.json: per-packet cases with ratios to the
#     floor and targets, scale tables, live modes) it writes the per-path, growth and
#     live plots, each a PNG file (signature checked) of some size;
#   - a run without the scale and live figures gets the per-path plot only, and the
#     script says which plots it did not write;
#   - without gnuplot on PATH it fails, naming the Debian package (no silent skip).
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
name=pkg/test_bench_plot
plot=$here/scripts/bench_plot.sh
fixture=$here/selftests/pkg/bench_plot_run.json
tmp=$(mktemp -d /tmp/test-bench-plot.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0

# is_png FILE: the 8-byte PNG signature and more than a header's worth of bytes
is_png() {
	[ -f "$1" ] && [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
		[ "$(stat -c %s "$1")" -gt 2000 ]
}

for tool in gnuplot jq; do
	if ! command -v "$tool" >/dev/null; then
		echo "not ok - $name: $tool missing (make deps installs gnuplot-nox and jq)"
		exit 1
	fi
done

if bash "$plot" "$fixture" "$tmp/full" >"$tmp/out" 2>&1; then
	echo "ok - $name: plot script ran on the fixture"
else
	echo "not ok - $name: plot script failed on the fixture"; sed 's/^/# /' "$tmp/out"; fail=1
fi
for p in per-path growth live; do
	if is_png "$tmp/full.$p.png" && grep -qx "plot: $tmp/full.$p.png" "$tmp/out"; then
		echo "ok - $name: $p plot is a PNG ($(stat -c %s "$tmp/full.$p.png") bytes) and reported"
	else
		echo "not ok - $name: $p plot missing, not a PNG, or not reported"
		ls -l "$tmp" | sed 's/^/# /'; fail=1
	fi
done

# only the per-packet figure: one plot, the others named as not written
jq 'del(.scale, .live)' "$fixture" >"$tmp/pp.json"
bash "$plot" "$tmp/pp.json" >"$tmp/out" 2>&1
rc=$?
if [ "$rc" = 0 ] && is_png "$tmp/pp.per-path.png" && [ ! -e "$tmp/pp.growth.png" ] &&
	[ ! -e "$tmp/pp.live.png" ] && grep -q "no growth plot" "$tmp/out" &&
	grep -q "no live plot" "$tmp/out"; then
	echo "ok - $name: per-packet-only run: per-path plot, growth and live named as not written"
else
	echo "not ok - $name: per-packet-only run (exit $rc)"; sed 's/^/# /' "$tmp/out"; fail=1
fi

# no gnuplot on PATH: an error naming the package
mkdir -p "$tmp/bin"
for t in jq mktemp rm; do ln -s "$(command -v "$t")" "$tmp/bin/$t"; done
PATH=$tmp/bin /bin/bash "$plot" "$fixture" "$tmp/nognuplot" >"$tmp/out" 2>&1
rc=$?
if [ "$rc" != 0 ] && grep -q "gnuplot-nox" "$tmp/out" && ! ls "$tmp"/nognuplot.* >/dev/null 2>&1; then
	echo "ok - $name: without gnuplot it fails naming gnuplot-nox"
else
	echo "not ok - $name: without gnuplot: exit $rc"; sed 's/^/# /' "$tmp/out"; fail=1
fi
exit $fail
