#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make demo: svcplane in network namespaces: an HTTP service on three instances, live removal.
#
# Usage: scripts/demo.sh [BUILD_OUTPUT_DIR]   (default .output; needs root)
# Creates a client, a router and three instance hosts (network namespaces),
# starts svcplaned on each, configures one service with servicectl, sends real
# HTTP requests, removes an instance while requests keep flowing, and prints
# servicectl stats. Everything it created is removed at the end, also on Ctrl-C.
set -uo pipefail
cd "$(dirname "$0")/.."

# Ctrl-C: the terminal's interrupt reaches this shell alone. The demo itself
# (agents, servers, load generators, servicectl) runs in a session of its own,
# so nothing of it dies half-way and reports a false failure; this shell says
# so once and tells the demo to clean up (SIGTERM), then waits for it.
if [ -z "${SVC_DEMO_INNER:-}" ]; then
	SVC_DEMO_INNER=1 setsid -w "$PWD/scripts/demo.sh" "$@" &
	demo_pid=$!
	interrupted=0
	trap 'interrupted=1; printf "\ninterrupted: cleaning up\n"; kill -TERM "$demo_pid" 2>/dev/null' INT TERM
	while :; do
		wait "$demo_pid"
		rc=$?
		kill -0 "$demo_pid" 2>/dev/null || break
	done
	[ "$interrupted" = 1 ] && exit 130
	exit "$rc"
fi
OUT=${1:-.output}
export SVC_BIN="$PWD/$OUT/bin"
export E2E_PREFIX=svcdemo E2E_PIN_PREFIX=svc-demo
E2E_NAME=demo
source selftests/e2e/lib.sh

SID=2001:db8:5e::80
BIND="$VIP4:80/tcp"
FIRST=200 # requests before the removal, and again once inst3 is gone

if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'; else B= G= R= D= N=; fi
step_no=0
step() {
	step_no=$((step_no + 1))
	printf '\n%s[%d/7] %s%s\n' "$B" "$step_no" "$*" "$N"
}
say() { printf '      %s\n' "$*"; }
die() {
	printf '%sdemo: %s%s\n' "$R" "$*" "$N" >&2
	exit 1
}
# run: show an operator command, then run it (servicectl as an operator types it).
run_ctl() {
	printf '      %s$ servicectl %s%s\n' "$D" "$*" "$N"
	sctl router "$@" 2>&1 | sed 's/^/        /'
	return "${PIPESTATUS[0]}"
}

# table FILE EXPECTED: requests per instance from an svc-loadgen result, each
# instance's share beside the one its weight gives (EXPECTED: "inst1=25 ...",
# a text such as "25->50" where the set changed during the run).
table() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
exp = dict(x.split("=", 1) for x in sys.argv[2].split())
ok, inst = d["ok"], d["instances"]
print("      %-10s %9s %9s %9s" % ("instance", "requests", "share", "expected"))
for n in sorted(set(inst) | set(exp)):
    k = inst.get(n, 0)
    if k == 0 and exp.get(n) == "0":
        continue  # a removed instance that got nothing, as expected
    print("      %-10s %9d %8.1f%% %8s%%  %s" % (n, k, 100.0 * k / ok if ok else 0,
                                               exp.get(n, "?"),
                                               "#" * round(40.0 * k / ok if ok else 0)))
print("      %d requests answered, %d failed%s" % (ok, d["failed"],
      (": " + json.dumps(d["failure_reasons"])) if d["failed"] else ""))
EOF
}

# live_ok: requests answered so far by the background load (its --progress log).
live_ok() { sed -n 's/.* ok \([0-9]*\) failed.*/\1/p' "$E2E_WORK/live.json.log" | tail -n1; }
# live_ok_above N: more than N requests answered.
live_ok_above() { [ "$(live_ok)" -gt "$1" ] 2>/dev/null; }
# nexthops_at_most N: the router agent holds at most N next hops (a removed
# instance stays a next hop while it drains).
nexthops_at_most() {
	local n
	n=$(sctl_j router status | python3 -c '
import json, sys
print([m["entries"] for m in json.load(sys.stdin)["maps"] if m["map"] == "nexthops"][0])')
	[ "${n:-99}" -le "$1" ]
}

[ "$(id -u)" = 0 ] || die "needs root (network namespaces, XDP): sudo make demo"
for b in svcplaned servicectl tools/svc-echod tools/svc-loadgen; do
	[ -x "$SVC_BIN/$b" ] || die "$SVC_BIN/$b not built (run make)"
done
mountpoint -q /sys/fs/bpf || die "bpffs not mounted at /sys/fs/bpf (make deps mounts it)"
E2E_ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
E2E_WORK=$(mktemp -d "/tmp/svc-demo-$E2E_ID.XXXXXX") || die "mktemp failed"
trap e2e_cleanup EXIT
# SIGTERM from the outer shell (Ctrl-C): clean up quietly, it has said why
trap 'E2E_LOGS_ON_FAIL=0; exit 130' INT TERM

printf '%ssvcplane demo%s: one HTTP service, three instances, a service router in XDP\n' "$B" "$N"

step "Network: a client, a router and three instance hosts (namespaces $E2E_PREFIX-$E2E_ID-*)"
run_logged topo_create || die "topology: $RUN_OUT"
say "client $CLIENT4 --- router $ROUTER4 --+-- inst1 $(inst_addr4 1)"
say "                                        +-- inst2 $(inst_addr4 2)"
say "                                        +-- inst3 $(inst_addr4 3)"
say "VIP $VIP4 sits on each instance's loopback; replies go straight to the client."

step "svcplaned on every host: XDP router on $(if_router), XDP endpoint on each instance host"
run_logged agents_start || die "agents: $RUN_OUT"
for a in router inst1 inst2 inst3; do
	sctl_j "$a" status | python3 -c '
import json, sys
for x in json.load(sys.stdin)["attachments"]:
    print("      %-6s %s program on %s (%s mode, prog id %s)" % (sys.argv[1] + ":", x["prog"], x["iface"], x["mode"], x["prog_id"]))' "$a"
done

step "Three HTTP servers (svc-echod --http) on port 80, one per instance host"
run_logged echods_start --port 80 --http || die "instances: $RUN_OUT"
say "each answers with its own name: inst1, inst2, inst3"

step "Configuring the service with servicectl (weights 1:1:2)"
run_ctl service add "$SID" --name web || die "servicectl failed"
for i in 1 2 3; do
	w=1
	[ "$i" = 3 ] && w=2
	run_ctl instance add "$SID" "$(inst_addr4 "$i")" --weight "$w" --name "inst$i" ||
		die "servicectl failed"
done
run_ctl bind add "$BIND" "$SID" || die "servicectl failed"
run_ctl instance list "$SID"

step "Sending $FIRST HTTP requests from the client to http://$VIP4/"
if command -v curl >/dev/null; then
	printf '      %s$ curl http://%s/%s\n' "$D" "$VIP4" "$N"
	client_run curl -s --max-time 5 "http://$VIP4/" | sed 's/^/        /'
fi
loadgen "$E2E_WORK/first.json" --target "$VIP4:80" --concurrency 4 http "$FIRST"
table "$E2E_WORK/first.json" "inst1=25 inst2=25 inst3=50"

step "Removing inst3 while requests keep flowing"
# about 180 requests a second: 2 clients, each pausing 10 ms between requests
loadgen_bg "$E2E_WORK/live.json" --target "$VIP4:80" --concurrency 2 --interval 10 \
	--progress --stop-file "$E2E_WORK/live.stop" --duration 120 http 0
live_pid=$BG_PID
wait_until 20 live_ok_above 150 || die "no HTTP traffic: $(cat "$E2E_WORK/live.json.log")"
say "requests are flowing ($(live_ok) answered so far); now, live:"
run_ctl instance del "$SID" "$(inst_addr4 3)" || die "servicectl failed"
before=$(live_ok)
wait_until 30 live_ok_above $((before + 500)) || die "traffic stalled after the removal"
touch "$E2E_WORK/live.stop"
wait_until 30 pid_gone "$live_pid" || die "load generator did not stop"
wait "$live_pid"
say "requests sent while inst3 was removed (per-second progress):"
# the removal came when $before requests were answered: before the first
# progress line past that
awk -v b="$before" -v m="${B}--- inst3 removed here (servicectl instance del) ---${N}" '
	{ sub(/^svc-loadgen: */, "") }
	{ for (i = 1; i < NF; i++) if ($i == "ok") n = $(i + 1) }
	!done && n + 0 > b + 0 { print "        " m; done = 1 }
	{ print "        " $0 }' "$E2E_WORK/live.json.log"
table "$E2E_WORK/live.json" "inst1=25->50 inst2=25->50 inst3=50->0"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(1 if d["failed"] else 0)' \
	"$E2E_WORK/live.json" && say "${G}no request failed during the live removal${N}" ||
	say "${R}some requests failed during the removal (see above)${N}"
say "inst3 is draining: connections it already has may finish, it gets no new ones."
say "svcplaned frees it once its flows have been idle for a while (about 15 s)..."
t0=$(now_ms)
wait_until 90 nexthops_at_most 2 || die "inst3 was not freed within 90 s"
say "inst3 freed after $((($(now_ms) - t0) / 1000)) s."
run_ctl instance list "$SID"
say "new distribution, $FIRST requests after the removal:"
loadgen "$E2E_WORK/after.json" --target "$VIP4:80" --concurrency 4 http "$FIRST"
table "$E2E_WORK/after.json" "inst1=50 inst2=50 inst3=0"

step "Counters: servicectl stats (rows that are all zero left out)"
printf '      %s$ servicectl stats%s\n' "$D" "$N"
# A row whose numbers are all 0 is noise for a person; a section (its "name:"
# line and column header) is printed only with a row left. The endpoint
# section is all zero on the router: that program runs on the instance hosts.
sctl router stats 2>&1 | awk '
	function flush() { printf "%s", held; held = "" }
	/^$/ { held = ""; next }
	/:$/ || ($0 !~ /[0-9a-z]/) { held = held "        " $0 "\n"; next }
	{
		nums = 0; nonzero = 0
		for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) { nums++; if ($i != "0") nonzero = 1 }
		if (nums > 0 && !nonzero) next
		flush(); print "        " $0
	}'
say "services count the packets their rule resolved (new connections), instances"
say "every packet forwarded to them (docs/servicectl.md, \"Statistics\")."
say "instance hosts (endpoint program, packets decapsulated):"
for i in 1 2 3; do
	sctl_j "inst$i" stats | python3 -c '
import json, sys
d = json.load(sys.stdin)
n = sum(r["packets"] for r in d["endpoint"] if r["reason"] == "decap")
print("        inst%s  decap %d packets" % (sys.argv[1], n))' "$i"
done

printf '\n%sdone%s: cleaning up namespaces, agents, pinned maps\n' "$B" "$N"
exit 0
