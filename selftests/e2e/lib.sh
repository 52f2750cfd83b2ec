# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# End-to-end test library: namespaces, agents, traffic tools, TAP output, cleanup.
#
# Topology (every name carries a random id, addresses only inside the namespaces):
#
#   client ns                router ns                          instance ns 1..3
#   c-ID 198.18.0.1/24 ---- r-ID 198.18.0.2/24  (router XDP)
#        2001:db8:18::1/64       2001:db8:18::2/64
#                           rN-ID 198.18.N.1/24  ----------- iN-ID 198.18.N.2/24  (endpoint XDP)
#                                 2001:db8:18:N::1/64              2001:db8:18:N::2/64
#                                 (MTU 1600: IPIP overhead;        lo: VIPs 198.19.0.10,
#                                  E2E_INST_MTU overrides it)           2001:db8:19::10
# The client (MTU 1500) reaches the VIPs through the router, which encapsulates
# to the instance hosts; instances answer straight to the client through the
# router's ordinary IP forwarding (direct server return).
#
# Usage: source it, call e2e_init (fails the whole test if something `make deps`
# or the build should have provided is missing; skips only without root),
# topo_create, agents_start, then use sctl/client_run/... Everything is removed
# by the EXIT trap, also on failure.
#
# Tests assert what happened, never how fast: every wait polls for an outcome
# with a deadline of E2E_WAIT seconds (default 120: a loaded 2-core machine or a
# QEMU guest under TCG is slow, a correct system gets there long before), and no
# sleep stands in for synchronisation. Timings are `make bench`'s business.

E2E_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# SVC_AGENT_WRAP="CMD ARGS": every agent runs as CMD ARGS svcplaned ... (the unit's
# capability test runs them under setpriv).
SVC_BIN=${SVC_BIN:-$E2E_ROOT/.output-san/bin}
TOOLS=$SVC_BIN/tools
XDP_PASS_OBJ=$SVC_BIN/../selftests/progs/xdp_pass.bpf.o
E2E_NAME=$(basename "$0" .sh)
E2E_WAIT=${E2E_WAIT:-120} # seconds: the deadline of every wait for an outcome
# The deployment option key every agent of a test gets (--opt-key): routers
# trust the flowIDs and TIFIDs the instance hosts key with it.
E2E_OPT_KEY=${E2E_OPT_KEY:-000102030405060708090a0b0c0d0e0f}

# Address plan (198.18.0.0/15 and 2001:db8::/32 only).
CLIENT4=198.18.0.1
CLIENT6=2001:db8:18::1
ROUTER4=198.18.0.2
ROUTER6=2001:db8:18::2
VIP4=198.19.0.10
VIP6=2001:db8:19::10
N_INST=3
inst_addr4() { echo "198.18.$1.2"; }
inst_addr6() { echo "2001:db8:18:$1::2"; }

E2E_ID=
E2E_WORK=
E2E_FAILED=0
E2E_PIDS=()          # every background process we started
E2E_NETNS=()         # every namespace we created
E2E_CGROUPS=()       # every cgroup v2 directory we created (cg_add)
declare -A AGENT_PID=()  # agent name -> pid
declare -A AGENT_NS=()   # agent name -> namespace
declare -A AGENT_ARGS=() # agent name -> extra svcplaned arguments (for restarts)
declare -A AGENT_PORT=() # agent name -> metrics port

# ---- TAP ----

diag() { local l; while IFS= read -r l; do echo "# $l"; done <<<"$*"; }
tap_ok() { echo "ok - $E2E_NAME: $1"; }
tap_fail() {
	echo "not ok - $E2E_NAME: $1"
	E2E_FAILED=1
	[ -n "${2:-}" ] && diag "$2"
	return 0
}
tap_skip() { echo "ok - $E2E_NAME: $1 # SKIP $2"; }
# tap_result NAME RC [DETAIL]: ok if RC is 0.
tap_result() {
	if [ "$2" = 0 ]; then tap_ok "$1"; else tap_fail "$1" "${3:-}"; fi
}
# bail NAME REASON: a setup step failed; nothing after it can run.
bail() {
	tap_fail "$1" "$2"
	exit 1
}
# run_logged CMD...: run CMD in this shell (so that it can set variables, which
# $(...) would lose), its output to a log; RUN_OUT = the log's last lines.
run_logged() {
	local log="$E2E_WORK/run.log" rc
	"$@" >"$log" 2>&1
	rc=$?
	RUN_OUT=$(tail -n 30 "$log")
	return $rc
}
# step NAME CMD...: a step the rest depends on: on failure report and stop the test.
step() {
	local name=$1
	shift
	run_logged "$@" || bail "$name" "$RUN_OUT"
}

# ---- prerequisites ----

# e2e_require CMD...: commands `make deps` installs (scripts/deps.sh); a missing
# one fails the test: it is a broken installation, not an unsupported machine.
e2e_require() {
	local b missing=()
	for b in "$@"; do
		command -v "$b" >/dev/null || missing+=("$b")
	done
	[ ${#missing[@]} = 0 ] && return 0
	echo "not ok - $E2E_NAME: all: not installed: ${missing[*]} (make deps installs them)"
	exit 1
}

# e2e_require_built FILE...: programs `make tests` builds; a missing one fails the test.
e2e_require_built() {
	local b missing=()
	for b in "$@"; do
		[ -x "$b" ] || missing+=("$b")
	done
	[ ${#missing[@]} = 0 ] && return 0
	echo "not ok - $E2E_NAME: all: not built: ${missing[*]} (make tests)"
	exit 1
}

# e2e_init - check what the test needs: only a missing privilege skips; a missing
# package, program or bpffs fails.
e2e_init() {
	if [ "$(id -u)" != 0 ]; then
		tap_skip "all" "needs root (network namespaces, XDP)"
		exit 0
	fi
	e2e_require_built "$SVC_BIN/svcplaned" "$SVC_BIN/servicectl" "$TOOLS/svc-echod" \
		"$TOOLS/svc-loadgen"
	e2e_require ip nsenter python3 ping ethtool sysctl mountpoint
	if ! mountpoint -q /sys/fs/bpf; then
		echo "not ok - $E2E_NAME: all: bpffs not mounted at /sys/fs/bpf (make deps mounts it)"
		exit 1
	fi
	E2E_ID=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
	E2E_WORK=$(mktemp -d "/tmp/svc-e2e-$E2E_ID.XXXXXX") || bail "setup" "mktemp failed"
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	diag "id $E2E_ID, work dir $E2E_WORK, binaries $SVC_BIN"
}

# ---- helpers ----

now_ms() { date +%s%3N; }

# wait_until SECONDS CMD...: poll CMD every 50 ms until it succeeds; 1 on timeout.
wait_until() {
	local deadline=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(now_ms)" -ge "$deadline" ] && return 1
		sleep 0.05
	done
	return 0
}

# in_ns NS CMD...: run in a namespace. nsenter, not "ip netns exec", which
# remounts /sys and hides the host's bpffs.
in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

E2E_PREFIX=${E2E_PREFIX:-svce2e}        # namespace names: PREFIX-ID-NAME
E2E_PIN_PREFIX=${E2E_PIN_PREFIX:-svc-e2e} # pin dirs: /sys/fs/bpf/PIN_PREFIX-ID-NAME
ns_name() { echo "$E2E_PREFIX-$E2E_ID-$1"; }
NS_CLIENT= NS_ROUTER=
inst_ns() { ns_name "inst$1"; }
if_client() { echo "c-$E2E_ID"; }
if_router() { echo "r-$E2E_ID"; }
if_router_inst() { echo "r$1-$E2E_ID"; }
if_inst() { echo "i$1-$E2E_ID"; }

# ---- topology ----

ns_add() {
	ip netns add "$1" || return 1
	E2E_NETNS+=("$1")
	ip -n "$1" link set lo up
}

# veth_pair NS_A IF_A NS_B IF_B MTU
veth_pair() {
	ip -n "$1" link add "$2" mtu "$5" type veth peer name "$4" mtu "$5" netns "$3" &&
		ip -n "$1" link set "$2" up && ip -n "$3" link set "$4" up
}

# topo_create - namespaces, links, addresses, routes; checks plain IP reachability.
topo_create() {
	local i ns
	NS_CLIENT=$(ns_name client)
	NS_ROUTER=$(ns_name router)
	ns_add "$NS_CLIENT" && ns_add "$NS_ROUTER" || return 1
	veth_pair "$NS_CLIENT" "$(if_client)" "$NS_ROUTER" "$(if_router)" 1500 || return 1
	ip -n "$NS_CLIENT" addr add "$CLIENT4/24" dev "$(if_client)" &&
		ip -n "$NS_CLIENT" addr add "$CLIENT6/64" dev "$(if_client)" nodad &&
		ip -n "$NS_ROUTER" addr add "$ROUTER4/24" dev "$(if_router)" &&
		ip -n "$NS_ROUTER" addr add "$ROUTER6/64" dev "$(if_router)" nodad &&
		ip -n "$NS_CLIENT" route add default via "$ROUTER4" &&
		ip -n "$NS_CLIENT" -6 route add default via "$ROUTER6" || return 1
	# A real NIC fills in the TCP/UDP checksum before the wire; a veth hands
	# the router's XDP program a CHECKSUM_PARTIAL packet instead (docs/testing.md).
	in_ns "$NS_CLIENT" ethtool -K "$(if_client)" tx off >/dev/null || return 1
	# A veth receives what its peer sends with XDP_TX (the router's RSTs to a
	# dead instance's clients) only when it runs an XDP program itself.
	ip -n "$NS_CLIENT" link set dev "$(if_client)" xdpdrv obj "$XDP_PASS_OBJ" sec xdp ||
		return 1
	in_ns "$NS_ROUTER" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 ||
		return 1
	for i in $(seq 1 $N_INST); do
		ns=$(inst_ns "$i")
		ns_add "$ns" || return 1
		# 1600: room for the 20/40-byte outer header of a 1500-byte packet;
		# E2E_INST_MTU=1500 tests the router's MSS clamping and ICMP instead
		veth_pair "$NS_ROUTER" "$(if_router_inst "$i")" "$ns" "$(if_inst "$i")" \
			"${E2E_INST_MTU:-1600}" || return 1
		ip -n "$NS_ROUTER" addr add "198.18.$i.1/24" dev "$(if_router_inst "$i")" &&
			ip -n "$NS_ROUTER" addr add "2001:db8:18:$i::1/64" dev "$(if_router_inst "$i")" nodad &&
			ip -n "$ns" addr add "$(inst_addr4 "$i")/24" dev "$(if_inst "$i")" &&
			ip -n "$ns" addr add "$(inst_addr6 "$i")/64" dev "$(if_inst "$i")" nodad &&
			ip -n "$ns" addr add "$VIP4/32" dev lo &&
			ip -n "$ns" addr add "$VIP6/128" dev lo nodad &&
			ip -n "$ns" route add default via "198.18.$i.1" &&
			ip -n "$ns" -6 route add default via "2001:db8:18:$i::1" || return 1
		# decapsulated packets arrive on the veth for an address on lo
		in_ns "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 \
			"net.ipv4.conf.$(if_inst "$i").rp_filter=0" || return 1
	done
	# plain routing works both ways (and the router learns the instances' MACs)
	for i in $(seq 1 $N_INST); do
		wait_until "$E2E_WAIT" in_ns "$NS_CLIENT" ping -c1 -W1 -q "$(inst_addr4 "$i")" >/dev/null ||
			{ echo "client cannot ping $(inst_addr4 "$i")"; return 1; }
		wait_until "$E2E_WAIT" in_ns "$NS_CLIENT" ping -6 -c1 -W1 -q "$(inst_addr6 "$i")" >/dev/null ||
			{ echo "client cannot ping $(inst_addr6 "$i")"; return 1; }
	done
	return 0
}

# ---- processes ----

# bg_ns LOGFILE NS CMD...: start CMD in namespace NS in the background and
# remember it; sets BG_PID. nsenter execs CMD, so BG_PID is CMD's own pid (a
# signal sent to it reaches the program, not a wrapper shell).
bg_ns() {
	local log=$1 ns=$2
	shift 2
	nsenter --net="/run/netns/$ns" "$@" >"$log" 2>&1 &
	BG_PID=$!
	E2E_PIDS+=("$BG_PID")
}

# cg_add NAME VAR: a cgroup v2 directory for this test (removed by the cleanup),
# its path in variable VAR (not printed: a $(...) subshell would lose the record).
# Needs a cgroup2 mount (e2e_require_cgroup2).
cg_add() {
	local d="$E2E_CGROOT/$E2E_PREFIX-$E2E_ID-$1"
	mkdir "$d" || return 1
	E2E_CGROUPS+=("$d")
	printf -v "$2" '%s' "$d"
}

# cg_empty DIR: no process left in the cgroup (a killed one leaves it asynchronously).
cg_empty() { grep -q '^populated 0' "$1/cgroup.events" 2>/dev/null; }

# e2e_require_cgroup2: skip the whole test without a cgroup v2 hierarchy (sockops
# and cgroup sockopt programs need one); sets E2E_CGROOT.
e2e_require_cgroup2() {
	E2E_CGROOT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	if [ -z "$E2E_CGROOT" ] || [ "$(stat -f -c %T "$E2E_CGROOT" 2>/dev/null)" != cgroup2fs ]; then
		tap_skip "all" "no cgroup v2 hierarchy mounted (/proc/mounts has no cgroup2)"
		exit 0
	fi
}

# exec_ns_cg NS CGROUP_DIR CMD...: become CMD, in namespace NS, a member of the
# cgroup. For the background ("exec_ns_cg ... &"): $! is then CMD's own pid, where
# a backgrounded function that does not exec leaves $! to a subshell, and a
# signal to it would not reach CMD.
exec_ns_cg() {
	exec sh -c 'cg=$1 ns=$2; shift 2; echo $$ > "$cg/cgroup.procs" && exec nsenter --net="/run/netns/$ns" "$@"' \
		exec_ns_cg "$2" "$1" "${@:3}"
}

# in_ns_cg NS CGROUP_DIR CMD...: run CMD that way and wait for it.
in_ns_cg() { (exec_ns_cg "$@"); }

# bg_ns_cg LOGFILE NS CGROUP_DIR CMD...: bg_ns, with CMD a member of the cgroup.
bg_ns_cg() {
	local log=$1
	shift
	exec_ns_cg "$@" >"$log" 2>&1 &
	BG_PID=$!
	E2E_PIDS+=("$BG_PID")
}

# pid_running PID: PID is a background job of this shell that has not ended.
# Only bash's job table can say so: once bash has reaped an ended job its pid
# is free, and on a busy host (pid_max 32768) soon belongs to another process,
# which "kill -0" would find alive.
pid_running() {
	local p
	for p in $(jobs -pr); do
		[ "$p" = "$1" ] && return 0
	done
	return 1
}
pid_gone() { ! pid_running "$1"; }

# stop_pid PID [SIGNAL]: signal a job we started (if it still runs) and reap it.
stop_pid() {
	local pid=$1 sig=${2:-TERM}
	if pid_running "$pid"; then
		kill "-$sig" "$pid" 2>/dev/null
		if ! wait_until "$E2E_WAIT" pid_gone "$pid" && pid_running "$pid"; then
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	wait "$pid" 2>/dev/null
	return 0
}

agent_sock() { echo "$E2E_WORK/$1.sock"; }
agent_pin() { echo "/sys/fs/bpf/$E2E_PIN_PREFIX-$E2E_ID-$1"; }
agent_state() { echo "$E2E_WORK/$1-state"; }
agent_log() { echo "$E2E_WORK/$1.log"; }

# sctl AGENT ARGS...: servicectl against that agent's socket.
sctl() {
	local a=$1
	shift
	"$SVC_BIN/servicectl" -s "$(agent_sock "$a")" "$@"
}
# sctl_j AGENT ARGS...: the same with -j.
sctl_j() {
	local a=$1
	shift
	"$SVC_BIN/servicectl" -j -s "$(agent_sock "$a")" "$@"
}

agent_ready() { grep -q "svcplaned: ready" "$(agent_log "$1")" 2>/dev/null; }

# agent_start NAME NS [SVCPLANED ARGS...]: start an agent and wait for "ready".
agent_start() {
	local name=$1 ns=$2 port
	shift 2
	if [ -z "${AGENT_PORT[$name]:-}" ]; then
		AGENT_PORT[$name]=$((9600 + ${#AGENT_PORT[@]}))
	fi
	AGENT_NS[$name]=$ns
	AGENT_ARGS[$name]="$*"
	port=${AGENT_PORT[$name]}
	mkdir -p "$(agent_state "$name")"
	: >>"$(agent_log "$name")"
	echo "---- start $(date +%T.%N)" >>"$(agent_log "$name")"
	# shellcheck disable=SC2086 # SVC_AGENT_WRAP: a command prefix, split on blanks
	nsenter --net="/run/netns/$ns" ${SVC_AGENT_WRAP:-} "$SVC_BIN/svcplaned" --socket "$(agent_sock "$name")" \
		--pin-dir "$(agent_pin "$name")" --state-dir "$(agent_state "$name")" \
		--metrics "127.0.0.1:$port" --opt-key "$E2E_OPT_KEY" "$@" >>"$(agent_log "$name")" 2>&1 &
	AGENT_PID[$name]=$!
	E2E_PIDS+=("$!")
	# ready = it says so AND the API answers; an agent that exits early is a failure
	local deadline=$(($(now_ms) + E2E_WAIT * 1000))
	until agent_up "$name"; do
		if pid_gone "${AGENT_PID[$name]}"; then
			echo "agent $name exited during start; log:"
			tail -n 20 "$(agent_log "$name")"
			return 1
		fi
		if [ "$(now_ms)" -ge "$deadline" ]; then
			echo "agent $name not ready after $E2E_WAIT s; log:"
			tail -n 20 "$(agent_log "$name")"
			return 1
		fi
		sleep 0.05
	done
}
# agent_up NAME: the latest start printed "ready" and the API answers.
agent_up() {
	local name=$1
	[ "$(grep -c 'svcplaned: ready' "$(agent_log "$name")")" -ge \
		"$(grep -c '^---- start' "$(agent_log "$name")")" ] || return 1
	sctl "$name" status >/dev/null 2>&1
}

# agent_restart NAME: start the agent again with the arguments it had.
agent_restart() {
	local name=$1
	# shellcheck disable=SC2086
	agent_start "$name" "${AGENT_NS[$name]}" ${AGENT_ARGS[$name]}
}

# agent_kill NAME [SIGNAL]: stop an agent (default SIGKILL: a crash).
agent_kill() {
	# stderr: keep the shell's "Killed" job notice out of the TAP stream
	stop_pid "${AGENT_PID[$1]}" "${2:-KILL}" 2>/dev/null
}

# agents_start - router agent (router program on r-ID, outer source = its
# address) and one endpoint agent per instance (decapsulating from the router).
agents_start() {
	local i ns
	agent_start router "$NS_ROUTER" --src "$ROUTER4" --src "$ROUTER6" || return 1
	sctl router attach "$(if_router)" router || { echo "router attach failed"; return 1; }
	for i in $(seq 1 $N_INST); do
		ns=$(inst_ns "$i")
		agent_start "inst$i" "$ns" || return 1
		sctl "inst$i" attach "$(if_inst "$i")" endpoint ||
			{ echo "inst$i attach failed"; return 1; }
		sctl "inst$i" decap add "$ROUTER4" && sctl "inst$i" decap add "$ROUTER6" ||
			{ echo "inst$i decap add failed"; return 1; }
	done
}

# echod_start I [ARGS...]: svc-echod named instI in instance namespace I.
echod_start() {
	local i=$1 rf
	shift
	rf="$E2E_WORK/echod$i-$RANDOM.ready"
	bg_ns "$E2E_WORK/echod$i.log" "$(inst_ns "$i")" "$TOOLS/svc-echod" \
		--name "inst$i" --ready-file "$rf" "$@"
	ECHOD_PID[$i]=$BG_PID
	wait_until "$E2E_WAIT" test -f "$rf" || { echo "svc-echod inst$i not ready"; return 1; }
}
declare -A ECHOD_PID=()

# echods_start [ARGS...]: one svc-echod per instance.
echods_start() {
	local i
	for i in $(seq 1 $N_INST); do
		echod_start "$i" "$@" || return 1
	done
}

# client_run CMD...: run in the client namespace.
client_run() { in_ns "$NS_CLIENT" "$@"; }

# loadgen OUTFILE ARGS...: svc-loadgen in the client namespace, JSON to OUTFILE.
loadgen() {
	local out=$1
	shift
	in_ns "$NS_CLIENT" "$TOOLS/svc-loadgen" --out "$out" "$@" 2>>"$E2E_WORK/loadgen.log"
}

# loadgen_bg OUTFILE ARGS...: the same in the background; sets BG_PID.
loadgen_bg() {
	local out=$1
	shift
	bg_ns "$out.log" "$NS_CLIENT" "$TOOLS/svc-loadgen" --out "$out" "$@"
}

# ---- assertions on measured results (python3 reads the JSON) ----

# json_check FILE PYTHON: run PYTHON with d = the parsed JSON of FILE; it prints
# "# ..." diagnostics and calls fail("why") on a violated expectation.
json_check() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
path, code = sys.argv[1], sys.argv[2]
failed = []
def fail(msg):
    failed.append(msg)
def note(msg):
    print("# " + str(msg))
try:
    with open(path) as f:
        d = json.load(f)
except Exception as e:
    print("# cannot read %s: %s" % (path, e))
    sys.exit(1)
exec(code, {"d": d, "fail": fail, "note": note, "json": json})
for m in failed:
    print("# " + m)
sys.exit(1 if failed else 0)
EOF
}

# ns_error_counters: the kernel's nonzero drop and ICMP-error counters in every
# namespace of the test (nstat, history untouched), printed as diagnostics when
# a traffic check fails: they say which host refused or dropped what.
ns_error_counters() {
	local ns
	for ns in "${E2E_NETNS[@]}"; do
		echo "# nstat $ns:" $(in_ns "$ns" nstat -as 2>/dev/null |
			awk '$1 ~ /NoPorts|InErrors|RcvbufErrors|CsumErrors|DestUnreachs|OutRateLimit|InDiscards|InNoRoutes|InAddrErrors/ { printf "%s=%s ", $1, $2 }')
	done
}

# check_split FILE MIN_TOTAL TOL_PP NAME=PCT...: every request ok, at least
# MIN_TOTAL, each named instance's share within TOL_PP points of PCT, and no
# other instance answered.
check_split() {
	local file=$1 min=$2 tol=$3
	shift 3
	json_check "$file" "
want = dict((kv.split('=')[0], float(kv.split('=')[1])) for kv in '''$*'''.split())
total, ok = d['total'], d['ok']
note('%s %s %s: %d requests, %d ok, %d failed, %d bytes verified, %d resent' % (d['mode'], d['family'], d['target'], total, ok, d['failed'], d['bytes_verified'], d['retransmits']))
if d['failed']:
    fail('failures: %s' % json.dumps(d['failure_reasons']))
if ok < $min:
    fail('only %d successful requests, want >= $min' % ok)
inst = d['instances']
for n in sorted(set(inst) | set(want)):
    pct = 100.0 * inst.get(n, 0) / ok if ok else 0
    line = '  %s: %d (%.1f%%)' % (n, inst.get(n, 0), pct)
    if n not in want:
        fail('unexpected instance ' + line)
        continue
    note(line + ', want %.0f%% +- $tol' % want[n])
    if abs(pct - want[n]) > $tol:
        fail('%s share %.1f%% outside %.0f +- $tol' % (n, pct, want[n]))
" || { ns_error_counters; return 1; }
}

# json_wait FILE SECONDS PYTHON: poll FILE (JSON, rewritten atomically by its
# writer) every 50 ms until PYTHON, run with d = its content, sets ok = True;
# it may set why (printed if the deadline passes) and give_up = True (the
# outcome can no longer happen: stop waiting). 0 once ok, 1 otherwise.
json_wait() {
	python3 - "$@" <<'EOF'
import json, sys, time
path, limit, code = sys.argv[1], float(sys.argv[2]), sys.argv[3]
end, why = time.monotonic() + limit, "no readable %s" % path
while True:
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError):
        d = None
    if d is not None:
        env = {"d": d, "json": json, "ok": False, "why": "", "give_up": False}
        exec(code, env)
        if env["ok"]:
            sys.exit(0)
        why = env["why"]
        if env["give_up"]:
            print("# " + why)
            sys.exit(1)
    if time.monotonic() >= end:
        print("# not within %d s: %s" % (limit, why))
        sys.exit(1)
    time.sleep(0.05)
EOF
}

# ---- captures ----

# pcap_has FILE FILTER: the capture FILE (still being written by tcpdump -U) holds
# a packet that matches the tcpdump FILTER.
pcap_has() { tcpdump -nr "$1" -c 1 "$2" 2>/dev/null | grep . >/dev/null; }

# pcap_sync FILE FILTER CMD...: run CMD (which sends a marker packet the capture
# sees after everything sent before it) until FILE holds a packet matching FILTER:
# then the capture has every packet that came before. A capture stopped earlier
# loses what tcpdump has not read yet.
pcap_sync() {
	local file=$1 filter=$2 deadline=$(($(now_ms) + E2E_WAIT * 1000))
	shift 2
	until pcap_has "$file" "$filter"; do
		[ "$(now_ms)" -ge "$deadline" ] && return 1
		"$@" >/dev/null 2>&1
		sleep 0.05
	done
}

# ---- long-lived connections ----

# hold_start NAME ARGS...: svc-loadgen hold in the background until hold_stop;
# returns once every connection is established (or failed). Result: $E2E_WORK/NAME.json;
# while it runs, $E2E_WORK/NAME.status holds the result so far (every 50 ms).
declare -A HOLD_PID=()
hold_start() {
	local name=$1
	shift
	rm -f "$E2E_WORK/$name".{ready,stop,json,status,mark}
	loadgen_bg "$E2E_WORK/$name.json" --ready-file "$E2E_WORK/$name.ready" \
		--stop-file "$E2E_WORK/$name.stop" --status-file "$E2E_WORK/$name.status" "$@"
	HOLD_PID[$name]=$BG_PID
	if ! wait_until "$E2E_WAIT" test -f "$E2E_WORK/$name.ready"; then
		echo "hold $name: connections not established within $E2E_WAIT s"
		cat "$E2E_WORK/$name.json.log"
		return 1
	fi
	diag "hold $name: $(cat "$E2E_WORK/$name.ready")"
}

# hold_stop NAME...: ask the holders to finish and wait for their results.
hold_stop() {
	local name
	for name in "$@"; do
		touch "$E2E_WORK/$name.stop"
	done
	for name in "$@"; do
		wait_until "$E2E_WAIT" pid_gone "${HOLD_PID[$name]}" ||
			{ echo "hold $name did not stop"; return 1; }
		wait "${HOLD_PID[$name]}" 2>/dev/null
		[ -f "$E2E_WORK/$name.json" ] || { echo "hold $name wrote no result"; return 1; }
	done
}

# hold_mark NAME...: remember each held connection's exchange count as of now
# (from a status written after this call) for hold_wait.
hold_mark() {
	local name
	for name in "$@"; do
		python3 - "$E2E_WORK/$name.status" "$E2E_WORK/$name.mark" "$E2E_WAIT" <<'EOF' || return 1
import os, shutil, sys, time
src, dst, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
t0, end = time.time(), time.monotonic() + limit
while time.monotonic() < end:
    try:
        if os.stat(src).st_mtime > t0:
            shutil.copyfile(src, dst)
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.02)
print("# %s: no status written within %d s" % (src, limit))
sys.exit(1)
EOF
	done
}

# hold_wait NAME K [INSTANCE fail|any]: wait until every held connection has done
# K more exchanges since hold_mark, except those on INSTANCE, which must all have
# failed (fail) or are not looked at (any, the default). Stops early once a
# connection that must go on has failed. It only waits for the traffic to have
# happened: the checks on the final result assert (diagnostics on stdout).
hold_wait() {
	json_wait "$E2E_WORK/$1.status" "$E2E_WAIT" "
mark = dict((c['id'], c['messages']) for c in json.load(open('$E2E_WORK/$1.mark'))['connections'])
inst, mode, k = '${3:-}', '${4:-any}', $2
behind = []
for c in d['connections']:
    if inst and c['instance'] == inst:
        if mode == 'fail' and c['state'] != 'failed':
            behind.append('connection %d on %s not failed yet (%s)' % (c['id'], inst, c['state']))
    elif c['state'] == 'failed':
        give_up = True
        behind.insert(0, 'connection %d on %s failed: %s' % (c['id'], c['instance'], c['error']))
    elif c['messages'] < mark.get(c['id'], 0) + k:
        behind.append('connection %d: %d of %d more exchanges' % (c['id'], c['messages'] - mark.get(c['id'], 0), k))
ok = not behind
why = '$1: %d connections not there yet: %s' % (len(behind), '; '.join(behind[:3]))
"
}

# check_hold FILE TOTAL [REMOVED]: every connection was established; every one
# served by an instance other than REMOVED stayed intact and kept exchanging.
check_hold() {
	json_check "$1" "
total, removed = $2, '${3:-}'
conns = d['connections']
note('hold %s %s: %d connections, %d established, %d intact, %d exchanges, per instance %s' % (d['proto'], d['family'], d['total'], d['established'], d['intact'], d['messages'], json.dumps(d['instances'], sort_keys=True)))
if d['total'] != total or len(conns) != total:
    fail('%d connections, want %d' % (d['total'], total))
if d['established'] != total:
    fail('%d of %d connections established' % (d['established'], total))
bad = [c for c in conns if c['instance'] != removed and (not c['intact'] or c['messages'] < 2)]
for c in bad[:10]:
    fail('connection %d (port %d) on %s: %s after %d exchanges' % (c['id'], c['local_port'], c['instance'], c['error'], c['messages']))
if len(bad) > 10:
    fail('... %d broken connections in all' % len(bad))
if removed:
    on = [c for c in conns if c['instance'] == removed]
    note('  on the removed %s: %d connections, %d broken (not asserted: the agent may drain it)' % (removed, len(on), sum(1 for c in on if not c['intact'])))
slow = max([c['max_rtt_ms'] for c in conns] + [0])
note('  slowest exchange %.1f ms, resends %d' % (slow, sum(c['resent'] for c in conns)))
"
}

# ---- service configuration through servicectl only ----

# svc_create AGENT SID NAME BIND FAMILY W1 W2 W3: a service with the three
# instances (outer addresses of FAMILY 4 or 6) and one binding.
svc_create() {
	local a=$1 sid=$2 name=$3 bind=$4 fam=$5 i addr
	shift 5
	sctl "$a" service add "$sid" --name "$name" || return 1
	for i in $(seq 1 $N_INST); do
		addr=$(inst_addr$fam "$i")
		sctl "$a" instance add "$sid" "$addr" --weight "$1" --name "inst$i" || return 1
		shift
	done
	sctl "$a" bind add "$bind" "$sid" || return 1
}

# router_restart_fresh: the router agent killed, its programs and pins removed
# (svcplaned --uninstall), then started again from its state file: new maps,
# empty flow table.
router_restart_fresh() {
	agent_kill router TERM
	in_ns "$NS_ROUTER" "$SVC_BIN/svcplaned" --socket "$(agent_sock router)" \
		--pin-dir "$(agent_pin router)" --state-dir "$(agent_state router)" --uninstall ||
		{ echo "svcplaned --uninstall failed"; return 1; }
	[ ! -e "$(agent_pin router)" ] || { echo "pins still there after --uninstall"; return 1; }
	agent_restart router
}

# router_counter REASON: packets the router program counted for REASON
# (servicectl -j stats: {"router": [{"reason", "packets", "bytes"}...]}).
router_counter() { agent_counter router "$1"; }
# agent_counter AGENT REASON: the same on another agent's router program; REASON
# ending in * sums every reason with that prefix (fwd_*: every forwarded packet).
agent_counter() {
	sctl_j "$1" stats | python3 -c '
import json, sys
d, want = json.load(sys.stdin), sys.argv[1]
match = (lambda r: r.startswith(want[:-1])) if want.endswith("*") else (lambda r: r == want)
print(sum(r["packets"] for r in d["router"] if match(r["reason"])))' "$2"
}

# ---- cleanup ----

e2e_cleanup() {
	local rc=$? pid ns a
	trap - EXIT INT TERM
	[ "$E2E_FAILED" != 0 ] && [ "$rc" = 0 ] && rc=1
	# only jobs that still run: an ended job's pid may belong to someone else now
	for pid in "${E2E_PIDS[@]}"; do
		pid_running "$pid" && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${E2E_PIDS[@]}"; do
		if ! wait_until 5 pid_gone "$pid" && pid_running "$pid"; then
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
	done
	if { [ "$E2E_FAILED" != 0 ] || [ "$rc" != 0 ]; } && [ "${E2E_LOGS_ON_FAIL:-1}" = 1 ]; then
		for a in "${!AGENT_PID[@]}"; do
			diag "---- last lines of agent $a log"
			diag "$(tail -n 15 "$(agent_log "$a")" 2>/dev/null)"
		done
	fi
	# by name too: a namespace made in a subshell is not in E2E_NETNS
	if [ -n "$E2E_ID" ]; then
		for ns in $(ip netns list 2>/dev/null | awk -v p="$E2E_PREFIX-$E2E_ID-" \
			'index($1, p) == 1 { print $1 }'); do
			[[ " ${E2E_NETNS[*]} " == *" $ns "* ]] || E2E_NETNS+=("$ns")
		done
	fi
	for ns in "${E2E_NETNS[@]}"; do
		# anything still running in our namespaces was started by this test
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$E2E_ID" ]; then
		rm -rf "/sys/fs/bpf/$E2E_PIN_PREFIX-$E2E_ID"-* 2>/dev/null
	fi
	# last: their processes are gone, their programs' link pins too
	for ((a = ${#E2E_CGROUPS[@]} - 1; a >= 0; a--)); do
		wait_until 10 cg_empty "${E2E_CGROUPS[a]}"
		rmdir "${E2E_CGROUPS[a]}" 2>/dev/null
	done
	if [ -n "$E2E_WORK" ] && [ -d "$E2E_WORK" ]; then
		if [ "${E2E_KEEP:-0}" = 1 ]; then
			diag "kept $E2E_WORK"
		else
			rm -rf "$E2E_WORK"
		fi
	fi
	exit "$rc"
}

# ---- comparing routers: consistent-hash tables and route lookups ----

# ch_table AGENT SID OUT: the service's consistent-hash table as the agent's
# pinned maps hold it (one next-hop id per line, slot order; bpftool).
ch_table() {
	local agent=$1 sid=$2 out=$3 set key inner
	set=$(sctl_j "$agent" service show "$sid" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["service"]["set_id"])') ||
		return 1
	key=$(printf '%d %d %d %d' $((set & 255)) $((set >> 8 & 255)) $((set >> 16 & 255)) \
		$((set >> 24)))
	# shellcheck disable=SC2086
	inner=$(bpftool -j map lookup pinned "$(agent_pin "$agent")/ch_tables" key $key |
		python3 -c '
import json, sys
v = json.load(sys.stdin)["value"]
print(int.from_bytes(bytes(int(b, 16) for b in v), "little") if isinstance(v, list) else v)') ||
		return 1
	bpftool -j map dump id "$inner" | python3 -c '
import json, sys
rows = json.load(sys.stdin)
def num(x):
    return int.from_bytes(bytes(int(b, 16) for b in x), "little") if isinstance(x, list) else int(x)
vals = sorted((num(r["key"]), num(r["value"])) for r in rows)
assert [k for k, _ in vals] == list(range(len(vals))), "keys not 0..n-1"
print("\n".join(str(v) for _, v in vals))' >"$out" && [ -s "$out" ]
}

# ch_differ NAME FILE1 FILE2: percentage of slots that differ (printed); 0 if identical.
ch_differ() {
	python3 - "$@" <<'PYEOF'
import sys
name, a, b = sys.argv[1], open(sys.argv[2]).read().split(), open(sys.argv[3]).read().split()
if len(a) != len(b) or len(a) != 65537:
    print("# %s: %d and %d slots (want 65537)" % (name, len(a), len(b)))
    sys.exit(1)
n = sum(1 for x, y in zip(a, b) if x != y)
print("# %s: %d of %d slots differ (%.3f %%), %d distinct ids" % (name, n, len(a), 100.0 * n / len(a), len(set(a))))
sys.exit(1 if n else 0)
PYEOF
}

# route_queries N SRC: N random route-lookup queries from address SRC (route_lookups.py
# input: "SRC:SPORT", every other one "SRC:SPORT syn").
route_queries() {
	python3 - "$1" "$2" <<'PYEOF'
import random, sys
n, src = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    print("%s:%d%s" % (src, random.randint(1024, 65535), " syn" if i % 2 else ""))
PYEOF
}

# route_lookups_agree BIND QUERIES AGENT...: every agent answers each query (the
# route.get op `servicectl route get` sends, many over one connection:
# route_lookups.py) by the hash, with the same instance and id as the first agent.
route_lookups_agree() {
	local bind=$1 q=$2 first=$3 a
	shift 2
	for a in "$@"; do
		python3 "$(dirname "${BASH_SOURCE[0]}")/route_lookups.py" "$(agent_sock "$a")" \
			"$bind" <"$q" >"$q.$a" || { echo "route lookups on $a failed"; return 1; }
	done
	shift
	for a in "$@"; do
		python3 - "$q.$first" "$q.$a" "$first" "$a" <<'PYEOF' || return 1
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
na, nb = sys.argv[3], sys.argv[4]
keys = ("how", "instance", "nh_id", "instance_name")
bad = [(x, y) for x, y in zip(a, b)
       if "route" not in x or "route" not in y or x["route"]["how"] != "hash"
       or any(x["route"][k] != y["route"][k] for k in keys)]
per = {}
for x in a:
    if "route" in x:
        n = x["route"]["instance_name"] or x["route"]["instance"]
        per[n] = per.get(n, 0) + 1
print("%s vs %s: %d 5-tuples, %d answered differently; %s's picks per instance %s"
      % (na, nb, len(a), len(bad), na, json.dumps(per, sort_keys=True)))
for x, y in bad[:5]:
    print("%s %s / %s %s" % (na, json.dumps(x), nb, json.dumps(y)))
sys.exit(1 if bad or len(a) != len(b) or not a else 0)
PYEOF
	done
}
