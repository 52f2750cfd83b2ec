#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Bad input through servicectl and through the raw API socket: every malformed
# request gets its expected error (exit status, error class, message naming
# the bad argument), and none changes anything: the registry as servicectl -j
# shows it, the state file and the BPF maps are the same before and after.
# The agent must survive all of it and exit cleanly (under ASan/UBSan in
# `make check`: any finding fails its exit status or shows in its log).
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${SVC_BIN:-$ROOT/.output-san/bin}
NAME=test_api_badinput
ID="$$$RANDOM"
NS="svcbad-$ID"
PIN="/sys/fs/bpf/svcbad-$ID"
WORK=$(mktemp -d "/tmp/svcbad-$ID.XXXXXX")
SOCK="$WORK/api.sock"
AGENT_PID=
FAILED=0

ok() { echo "ok - $NAME: $1"; }
fail() {
	echo "not ok - $NAME: $1"
	[ -n "${2:-}" ] && echo "$2" | sed 's/^/# /'
	FAILED=1
	return 0
}
skip_all() {
	echo "ok - $NAME: all # SKIP $1"
	exit 0
}

cleanup() {
	if [ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
		kill -KILL "$AGENT_PID" 2>/dev/null
		wait "$AGENT_PID" 2>/dev/null
	fi
	if [ -d "$PIN" ] && [ -x "$BIN/svcplaned" ]; then
		nsenter --net="/run/netns/$NS" "$BIN/svcplaned" --uninstall --socket "$SOCK" \
			--pin-dir "$PIN" --state-dir "$WORK/state" >/dev/null 2>&1
	fi
	rm -rf "$PIN"
	ip netns del "$NS" 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' INT TERM # the EXIT trap then cleans up

# Only a missing privilege skips; what `make tests` builds and `make deps` installs
# (packages, bpffs) must be there: its absence is a failure.
[ "$(id -u)" = 0 ] || skip_all "needs root (network namespace, bpffs)"
for b in svcplaned servicectl; do
	[ -x "$BIN/$b" ] || { fail "all: $BIN/$b not built (make tests)"; exit 1; }
done
for t in ip nsenter python3 bpftool; do
	command -v "$t" >/dev/null || { fail "all: $t not installed (make deps)"; exit 1; }
done
mountpoint -q /sys/fs/bpf || { fail "all: bpffs not mounted at /sys/fs/bpf (make deps)"; exit 1; }

in_ns() { nsenter --net="/run/netns/$NS" "$@"; }
sctl() { in_ns "$BIN/servicectl" -s "$SOCK" "$@"; }

ip netns add "$NS" || { fail "setup: netns"; exit 1; }
ip -n "$NS" link set lo up
# Names inside our own namespace cannot collide with anyone's.
IF0=bad0
ip -n "$NS" link add "$IF0" type veth peer name bad1 || { fail "setup: veth"; exit 1; }
ip -n "$NS" link set "$IF0" up

# ---- start the agent and wait (with a deadline) for its readiness line ----
# nsenter execs the agent (no fork for a net namespace alone): $! is svcplaned itself.
nsenter --net="/run/netns/$NS" "$BIN/svcplaned" --socket "$SOCK" --pin-dir "$PIN" \
	--state-dir "$WORK/state" --metrics 127.0.0.1:9465 --mode skb >"$WORK/agent.log" 2>&1 &
AGENT_PID=$!
deadline=$((SECONDS + ${E2E_WAIT:-120}))
while [ $SECONDS -lt $deadline ]; do
	grep -q '^svcplaned: ready$' "$WORK/agent.log" && break
	kill -0 "$AGENT_PID" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q '^svcplaned: ready$' "$WORK/agent.log"; then
	fail "agent start" "$(cat "$WORK/agent.log")"
	exit 1
fi
ok "agent started"
[ "$(stat -c %a "$SOCK")" = 600 ] && ok "socket mode 0600" || fail "socket mode 0600" "$(stat -c %a "$SOCK")"

# ---- a baseline configuration ----
SID=2001:db8:5::1
base=(
	"service add $SID --name web"
	"service add 2001:db8:5::2"
	"instance add $SID 10.0.1.2 --weight 2"
	"instance add $SID 2001:db8:18:1::2 --name v6"
	"bind add 198.19.0.10:80/tcp $SID"
	"rule add 2001:db8:6::/48 forward 10.0.2.1:3 [2001:db8::9]:1"
	"rule add 2001:db8:7::/48 drop"
	"prefix add 2001:db8:5::/48"
	"decap add 10.0.0.254"
	"src set 10.0.0.1"
)
for c in "${base[@]}"; do
	# shellcheck disable=SC2086
	out=$(sctl $c 2>&1) || { fail "baseline: $c" "$out"; exit 1; }
done
ok "baseline configured"

# Everything an operator can see, plus the state file and the maps themselves.
snapshot() {
	local c
	for c in "service list" "instance list" "bind list" "rule list" "prefix list" \
		"decap list" "src show" "service show $SID"; do
		# shellcheck disable=SC2086
		sctl -j $c || echo "FAILED: $c"
	done
	sha256sum "$WORK/state/state.json"
	for m in bindings service_table sid_prefixes decap_sources router_cfg; do
		echo "map $m"
		bpftool -j map dump pinned "$PIN/$m"
		echo
	done
	# nexthops is an array of 65536 indexed by ids hashed from the address:
	# look up the ids the API says are in use (key: 4 bytes, little endian).
	local k
	for k in $({ sctl -j instance list; sctl -j rule list; } |
		grep -o '"nh_id": *[0-9]*' | grep -o '[0-9]*$' | sort -un); do
		bpftool -j map lookup pinned "$PIN/nexthops" \
			key $((k & 255)) $((k >> 8 & 255)) 0 0
		echo
	done
}
snapshot >"$WORK/before" 2>&1
grep -q FAILED "$WORK/before" && fail "snapshot" "$(cat "$WORK/before")"
# The snapshot must really see the configuration (else comparing it proves nothing).
if python3 - "$WORK/before" <<'EOF'; then ok "snapshot sees the configuration"; else fail "snapshot sees the configuration"; fi
import sys
t = open(sys.argv[1]).read()
need = ['"10.0.1.2"', '198.19.0.10:80/tcp', '2001:db8:6::/48', '"prefixlen":48',
        '10.0.0.254', '"flags":3']
missing = [n for n in need if n not in t]
if missing:
    print("# snapshot lacks: %s" % " ".join(missing))
sys.exit(1 if missing else 0)
EOF

# ---- servicectl: bad command lines and refused requests ----
# exit status | expected stderr text | arguments
cli_cases=(
	"2|unknown command 'servce'|servce list"
	"2|service: unknown subcommand 'ad'|service ad $SID"
	"2|service add: missing SID|service add"
	"2|invalid SID '2001:db8::zz'|service add 2001:db8::zz"
	"2|invalid SID '10.0.0.1'|service add 10.0.0.1"
	"2|invalid --name 'web!'|service add 2001:db8:5::9 --name web!"
	"2|unknown option '--nam'|service add 2001:db8:5::9 --nam x"
	"2|unexpected argument 'extra'|service del $SID extra"
	"2|invalid VIP:PORT/PROTO '198.19.0.10:80/sctp'|bind add 198.19.0.10:80/sctp $SID"
	"2|invalid VIP:PORT/PROTO '198.19.0.10:70000/tcp'|bind add 198.19.0.10:70000/tcp $SID"
	"2|invalid ADDR '10.0.1.300'|instance add $SID 10.0.1.300"
	"2|invalid --weight '0'|instance add $SID 10.0.1.9 --weight 0"
	"2|invalid --weight '1001'|instance add $SID 10.0.1.9 --weight 1001"
	"2|invalid --state 'sideways'|instance set $SID 10.0.1.2 --state sideways"
	"2|nothing to set|instance set $SID 10.0.1.2"
	"2|invalid PREFIX '2001:db8:6::1/48'|rule add 2001:db8:6::1/48 drop"
	"2|invalid PREFIX '2001:db8:6::/129'|rule add 2001:db8:6::/129 drop"
	"2|forward needs at least one next hop|rule add 2001:db8:8::/48 forward"
	"2|drop takes no next hops|rule add 2001:db8:8::/48 drop 10.0.0.1"
	"2|invalid HOP '10.0.0.1:0'|rule add 2001:db8:8::/48 forward 10.0.0.1:0"
	"2|invalid ACTION 'shove'|rule add 2001:db8:8::/48 shove"
	"2|invalid IFACE 'a/b'|attach a/b router"
	"2|invalid PROG 'bridge'|attach $IF0 bridge"
	"2|invalid --mode 'generic'|attach $IF0 router --mode generic"
	"2|stats: unknown option '--reset'|stats --reset"
	"1|service.add: service 2001:db8:5::1 exists [exists]|service add $SID"
	"1|name 'web' is taken|service add 2001:db8:5::9 --name web"
	"1|service.del: no service 2001:db8:5::9 [not_found]|service del 2001:db8:5::9"
	"1|still has 1 binding|service del $SID"
	"1|service.show: no service 2001:db8:5::9 [not_found]|service show 2001:db8:5::9"
	"1|instance.add: no service 2001:db8:5::9 [not_found]|instance add 2001:db8:5::9 10.0.1.2"
	"1|has instance 10.0.1.2 already [exists]|instance add $SID 10.0.1.2"
	"1|unspecified address|instance add $SID 0.0.0.0"
	"1|has no instance 10.0.1.9 [not_found]|instance set $SID 10.0.1.9 --weight 3"
	"1|has no instance 10.0.1.9 [not_found]|instance del $SID 10.0.1.9"
	"1|no service 2001:db8:5::9 [not_found]|instance list 2001:db8:5::9"
	"1|binding 198.19.0.10:80/tcp exists|bind add 198.19.0.10:80/tcp 2001:db8:5::2"
	"1|bind.add: no service 2001:db8:5::9 [not_found]|bind add 198.19.0.11:80/tcp 2001:db8:5::9"
	"1|no binding 198.19.0.99:80/tcp [not_found]|bind del 198.19.0.99:80/tcp"
	"1|rule 2001:db8:6::/48 exists [exists]|rule add 2001:db8:6::/48 drop"
	"1|service 2001:db8:5::1's own rule|rule add $SID/128 drop"
	"1|service's own rule|rule del $SID/128"
	"1|next hop 10.0.3.1 given twice|rule add 2001:db8:8::/48 forward 10.0.3.1 10.0.3.1:2"
	"1|no rule 2001:db8:9::/48 [not_found]|rule del 2001:db8:9::/48"
	"1|prefix 2001:db8:5::/48 exists [exists]|prefix add 2001:db8:5::/48"
	"1|no prefix 2001:db8:9::/48 [not_found]|prefix del 2001:db8:9::/48"
	"1|decap source 10.0.0.254 exists [exists]|decap add 10.0.0.254"
	"1|no decap source 10.0.0.9 [not_found]|decap del 10.0.0.9"
	"1|source: the unspecified address|src set 0.0.0.0"
	"1|no interface 'nosuch0' [not_found]|attach nosuch0 router"
	"1|no svcplane program attached to $IF0 [not_found]|detach $IF0"
)
for c in "${cli_cases[@]}"; do
	want_rc=${c%%|*}
	rest=${c#*|}
	want_msg=${rest%%|*}
	args=${rest#*|}
	# shellcheck disable=SC2086
	out=$(sctl $args 2>"$WORK/err")
	rc=$?
	err=$(cat "$WORK/err")
	if [ "$rc" != "$want_rc" ]; then
		fail "servicectl $args: exit $rc (want $want_rc)" "$err"
	elif [[ "$err" != *"$want_msg"* ]]; then
		fail "servicectl $args: stderr lacks '$want_msg'" "$err"
	elif [ -n "$out" ]; then
		fail "servicectl $args: printed on stdout" "$out"
	else
		ok "servicectl $args -> $rc"
	fi
done

# -j errors are JSON on stderr, with the error class.
out=$(sctl -j service show 2001:db8:5::9 2>&1 >/dev/null)
if python3 -c 'import json,sys; e=json.loads(sys.argv[1])["error"]; sys.exit(e["code"] != "not_found" or "2001:db8:5::9" not in e["message"])' "$out"; then
	ok "-j error is JSON with code not_found"
else
	fail "-j error is JSON with code not_found" "$out"
fi
out=$(sctl -j service add nope 2>&1 >/dev/null)
rc=$?
if [ "$rc" = 2 ] && python3 -c 'import json,sys; e=json.loads(sys.argv[1])["error"]; sys.exit(e["code"] != "usage")' "$out"; then
	ok "-j usage error is JSON with code usage, exit 2"
else
	fail "-j usage error is JSON with code usage, exit 2" "rc=$rc $out"
fi
out=$(in_ns "$BIN/servicectl" -s "$WORK/nosuch.sock" status 2>&1)
rc=$?
[ "$rc" = 1 ] && [[ "$out" == *"cannot reach svcplaned at $WORK/nosuch.sock"* ]] &&
	ok "unreachable agent: exit 1, names the socket" ||
	fail "unreachable agent: exit 1, names the socket" "rc=$rc $out"

# ---- raw socket: garbage, wrong version, oversized, unknown fields ----
# Each case: bytes to send (python literal) | expected error code | message text.
python3 - "$SOCK" <<'EOF' || FAILED=1
import json, socket, sys
path = sys.argv[1]
NAME = "test_api_badinput"
SID = "2001:db8:5::1"

def exchange(data, answers=1, shut=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(data)
    if shut:
        s.shutdown(socket.SHUT_WR)
    buf = b""
    while buf.count(b"\n") < answers:
        c = s.recv(1 << 16)
        if not c:
            break
        buf += c
    s.close()
    return [json.loads(l) for l in buf.split(b"\n") if l]

def req(op, args=None, v=1):
    o = {"v": v, "op": op}
    if args is not None:
        o["args"] = args
    return (json.dumps(o) + "\n").encode()

cases = [
    (b"garbage\n", "invalid_argument", "malformed JSON"),
    (b"\x00\x01\x02\n", "invalid_argument", "NUL"),
    (b"\xff\xfe{}\n", "invalid_argument", "malformed JSON"),
    (b'{"v":1,"op":"st\xc3\x28tus"}\n', "invalid_argument", "malformed JSON"),
    (b"[]\n", "invalid_argument", "not a JSON object"),
    (b"{\n", "invalid_argument", "incomplete"),
    (b'{"op":"status"}\n', "invalid_argument", "no field 'v'"),
    (b'{"v":"1","op":"status"}\n', "invalid_argument", "'v' must be an integer"),
    (req("status", v=2), "unsupported_version", "version 2"),
    (req("status", v=0), "unsupported_version", "version 0"),
    (b'{"v":1}\n', "invalid_argument", "'op'"),
    (b'{"v":1,"op":"status","id":7}\n', "invalid_argument", "unknown request field 'id'"),
    (b'{"v":1,"op":"status","args":[]}\n', "invalid_argument", "'args' must be an object"),
    (req("service.drop", {}), "invalid_argument", "unknown op 'service.drop'"),
    (req("SERVICE.ADD", {}), "invalid_argument", "malformed op"),
    (req("service.add", {}), "invalid_argument", "missing argument 'sid'"),
    (req("service.add", {"sid": 5}), "invalid_argument", "'sid' must be a string"),
    (req("service.add", {"sid": "2001:db8:5::9", "colour": "red"}), "invalid_argument", "unknown argument 'colour'"),
    (req("service.add", {"sid": "x" * 5000}), "invalid_argument", "invalid serviceID"),
    (req("service.add", {"sid": "2001:db8:5::9", "name": "a b"}), "invalid_argument", "invalid name"),
    (req("instance.add", {"sid": SID, "addr": "10.0.1.9", "weight": 5000}), "invalid_argument", "'weight' = 5000 out of range"),
    (req("instance.add", {"sid": SID, "addr": "10.0.1.9", "weight": -1}), "invalid_argument", "out of range"),
    (req("instance.add", {"sid": SID, "addr": "10.0.1.9", "weight": 1.5}), "invalid_argument", "must be an integer"),
    (req("instance.add", {"sid": SID, "addr": "10.0.1.9", "weight": "2"}), "invalid_argument", "must be an integer"),
    (req("instance.set", {"sid": SID, "addr": "10.0.1.2", "state": "maybe"}), "invalid_argument", "unknown value 'maybe'"),
    (req("bind.add", {"binding": "198.19.0.10:80", "sid": SID}), "invalid_argument", "invalid VIP:PORT/PROTO"),
    (req("rule.add", {"prefix": "2001:db8:8::/48", "action": "none"}), "invalid_argument", "'none'"),
    (req("rule.add", {"prefix": "2001:db8:8::/48", "action": "forward", "hops": "10.0.0.1"}), "invalid_argument", "'hops' must be an array"),
    (req("rule.add", {"prefix": "2001:db8:8::/48", "action": "forward", "hops": [{"addr": "10.0.0.1", "w": 1}]}), "invalid_argument", "hops[0]: unknown argument 'w'"),
    (req("rule.add", {"prefix": "2001:db8:8::/48", "action": "forward", "hops": [{"addr": "10.0.0.%d" % i} for i in range(65)]}), "invalid_argument", "more than 64"),
    (req("rule.add", {"prefix": "2001:db8:8::/48", "action": "forward", "hops": []}), "invalid_argument", "forward needs"),
    (req("flows.list", {"limit": 0}), "invalid_argument", "out of range"),
    (req("flows.list", {"count_only": "yes"}), "invalid_argument", "true or false"),
    (req("attach", {"iface": "../etc", "prog": "router"}), "invalid_argument", "invalid name"),
    # NUL escaped: json-c would decode it and every C-string consumer would stop there
    (b'{"v":1,"op":"status\\u0000junk"}\n', "invalid_argument", "\\u0000 (NUL)"),
    (b'{"v":1,"op":"service.del","args":{"sid":"2001:db8:5::2\\u0000x"}}\n', "invalid_argument", "\\u0000 (NUL)"),
    (b'{"v":1,"op":"status","args":{"a\\u0000":1}}\n', "invalid_argument", "\\u0000 (NUL)"),
    # raw NUL inside a string
    (b'{"v":1,"op":"service.del","args":{"sid":"2001:db8:5::2\x00x"}}\n', "invalid_argument", "NUL"),
    # invalid UTF-8: overlong '/', overlong NUL, encoded surrogate, > U+10FFFF; escaped lone surrogates
    (b'{"v":1,"op":"service.del","args":{"sid":"2001:db8:5::2\xc0\xaf"}}\n', "invalid_argument", "invalid UTF-8"),
    (b'{"v":1,"op":"service.add","args":{"sid":"2001:db8:5::9","name":"a\xc0\x80"}}\n', "invalid_argument", "invalid UTF-8"),
    (b'{"v":1,"op":"service.add","args":{"sid":"2001:db8:5::9","name":"\xed\xa0\x80"}}\n', "invalid_argument", "invalid UTF-8"),
    (b'{"v":1,"op":"service.add","args":{"sid":"2001:db8:5::9","name":"\xf4\x90\x80\x80"}}\n', "invalid_argument", "invalid UTF-8"),
    (b'{"v":1,"op":"service.add","args":{"sid":"2001:db8:5::9","name":"\\ud800"}}\n', "invalid_argument", "high surrogate"),
    (b'{"v":1,"op":"service.add","args":{"sid":"2001:db8:5::9","name":"\\udfff"}}\n', "invalid_argument", "low surrogate"),
    # null is not "the default"
    (req("instance.add", {"sid": SID, "addr": "10.0.1.9", "weight": None}), "invalid_argument", "argument 'weight' is null"),
    (req("instance.del", {"sid": SID, "addr": "10.0.1.2", "dead": None}), "invalid_argument", "argument 'dead' is null"),
    (req("service.add", {"sid": None}), "invalid_argument", "argument 'sid' is null"),
    (b'{"v":1,"op":"status","args":null}\n', "invalid_argument", "'args' must be an object"),
    (b'{"v":1,"op":null}\n', "invalid_argument", "'op'"),
    (b'{"v":null,"op":"status"}\n', "invalid_argument", "'v' must be an integer"),
    # a newline in a rejected argument: the log must not get a line of its own (checked below)
    (req("service.add", {"sid": "x\nsvcplaned: FAKE-LINE"}), "invalid_argument", "invalid serviceID"),
]
failed = False
for data, code, text in cases:
    label = repr(data[:60])
    try:
        ans = exchange(data)
        e = ans[0]
        good = (e.get("v") == 1 and e.get("ok") is False and e["error"]["code"] == code
                and text in e["error"]["message"] and len(ans) == 1)
    except Exception as ex:  # noqa: BLE001 - any failure is a test failure
        good, e = False, repr(ex)
    print(("ok" if good else "not ok") + f" - {NAME}: raw {label} -> {code}")
    if not good:
        print(f"# got {e}")
        failed = True

# Oversized line: too_large, then the connection keeps working for the next line.
big = b'{"v":1,"op":"status","args":{"pad":"' + b"x" * 70000 + b'"}}\n'
ans = exchange(big + req("src.show"), answers=2)
good = (len(ans) == 2 and ans[0]["error"]["code"] == "too_large" and ans[1]["ok"] is True
        and ans[1]["result"]["src"]["ipv4"] == "10.0.0.1")
print(("ok" if good else "not ok") + f" - {NAME}: raw 70 kB line -> too_large, next request served")
failed |= not good
# 64 KiB of garbage without any newline, then EOF: one too_large answer.
ans = exchange(b"y" * 65537)
good = len(ans) == 1 and ans[0]["error"]["code"] == "too_large"
print(("ok" if good else "not ok") + f" - {NAME}: raw 64 KiB without newline -> too_large")
failed |= not good
# Pipelined requests and blank lines: one answer per request, in order.
ans = exchange(b"\n" + req("src.show") + b"  \r\n" + b"junk\n" + req("prefix.list"), answers=3)
good = (len(ans) == 3 and ans[0]["ok"] and ans[1]["error"]["code"] == "invalid_argument"
        and ans[2]["result"]["prefixes"][0]["prefix"] == "2001:db8:5::/48")
print(("ok" if good else "not ok") + f" - {NAME}: pipelined requests answered in order")
failed |= not good
# A client that connects and sends nothing does not block others.
idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
idle.connect(path)
half = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
half.connect(path)
half.sendall(b'{"v":1,"op":"sta')
ans = exchange(req("status"))
good = len(ans) == 1 and ans[0]["ok"] and ans[0]["result"]["agent"]["pid"] > 0
print(("ok" if good else "not ok") + f" - {NAME}: idle and half-sent clients do not block others")
failed |= not good
idle.close()
half.close()
sys.exit(1 if failed else 0)
EOF

# ---- the log: one event, one line ----
if grep -q '^svcplaned: FAKE-LINE' "$WORK/agent.log"; then
	fail "log: a newline in a rejected argument made a line of its own" "$(grep -n 'FAKE-LINE' "$WORK/agent.log")"
elif grep -qF "'x\\nsvcplaned: FAKE-LINE'" "$WORK/agent.log"; then
	ok "log: a newline in a rejected argument is written as \\n"
else
	fail "log: the rejected argument is not in the log, escaped" "$(grep -n 'FAKE' "$WORK/agent.log")"
fi

# ---- a second agent on the same pins, with another state dir: refused ----
# (else it would reconcile its empty registry into the running agent's maps)
out=$(timeout 60 nsenter --net="/run/netns/$NS" "$BIN/svcplaned" --socket "$WORK/api2.sock" \
	--pin-dir "$PIN" --state-dir "$WORK/state2" --mode skb 2>&1)
rc=$?
if [ "$rc" = 1 ] && [[ "$out" == *"pin directory $PIN is in use by another svcplaned"* ]]; then
	ok "second agent on the same --pin-dir refused (exit 1, names the pin directory)"
else
	fail "second agent on the same --pin-dir refused" "rc=$rc $out"
fi
# --uninstall must not pull the pins from under a running agent either
out=$(timeout 60 nsenter --net="/run/netns/$NS" "$BIN/svcplaned" --uninstall \
	--socket "$WORK/api2.sock" --pin-dir "$PIN" --state-dir "$WORK/state2" 2>&1)
rc=$?
if [ "$rc" = 1 ] && [[ "$out" == *"in use by another svcplaned"* ]] && [ -e "$PIN/nexthops" ]; then
	ok "--uninstall on a running agent's --pin-dir refused, pins kept"
else
	fail "--uninstall on a running agent's --pin-dir refused" "rc=$rc $out"
fi

# ---- nothing changed ----
snapshot >"$WORK/after" 2>&1
if diff -u "$WORK/before" "$WORK/after" >"$WORK/diff"; then
	ok "registry, state file and maps unchanged by every bad request"
else
	fail "registry, state file and maps unchanged by every bad request" "$(head -40 "$WORK/diff")"
fi

# The agent counted the refusals (metrics) and still serves.
metrics=$(in_ns python3 -c 'import urllib.request; print(urllib.request.urlopen("http://127.0.0.1:9465/metrics", timeout=5).read().decode())' 2>&1)
for code in invalid_argument not_found exists unsupported_version too_large; do
	n=$(echo "$metrics" | awk -v c="$code" '$1 == "svcplane_api_requests_total{result=\""c"\"}" {print $2}')
	if [ -n "$n" ] && [ "$n" -gt 0 ]; then
		ok "metrics count $code requests ($n)"
	else
		fail "metrics count $code requests" "$(echo "$metrics" | grep api_requests)"
	fi
done

# The flood guard at its default (docs/svcplaned.md --flood-insert-rate): in status and metrics.
st=$(sctl -j status 2>&1)
fg=$(echo "$st" | python3 -c 'import json, sys; a = json.load(sys.stdin)["agent"]; print(a["flood_insert_rate"], a["flood_guard_engaged_cpus"])' 2>&1)
if [ "$fg" = "10000 0" ]; then
	ok "status: flood guard rate 10000 (default), engaged on 0 CPUs"
else
	fail "status: flood guard rate 10000 (default), engaged on 0 CPUs" "$fg; $st"
fi
if echo "$metrics" | grep -qx 'svcplane_flood_insert_rate 10000' &&
	echo "$metrics" | grep -qx 'svcplane_flood_guard_engaged_cpus 0' &&
	echo "$metrics" | grep -qx 'svcplane_packets_total{program="router",reason="ev_flood_noinsert"} 0'; then
	ok "metrics: flood guard rate, engaged CPUs, ev_flood_noinsert"
else
	fail "metrics: flood guard rate, engaged CPUs, ev_flood_noinsert" "$(echo "$metrics" | grep flood)"
fi

# ---- clean exit (ASan/UBSan report at exit would fail it) ----
kill -TERM "$AGENT_PID"
wait "$AGENT_PID"
rc=$?
AGENT_PID=
if [ "$rc" = 0 ] && ! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$WORK/agent.log"; then
	ok "agent exited cleanly on SIGTERM (status 0, no sanitizer finding)"
else
	fail "agent exited cleanly on SIGTERM" "status $rc; $(grep -E -A5 'Sanitizer|runtime error' "$WORK/agent.log" | head -20)"
fi
exit $FAILED
