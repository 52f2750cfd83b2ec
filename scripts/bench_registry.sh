#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Registry benchmarks (issue 5/6), printed and written as JSON, never asserted:
#   (a) instance death -> the data plane stops choosing it: kill -9 of the server on an
#       instance host whose agent registers on listen; new SYNs go through the router
#       every ~0.5 ms; the figure is the send time of the last SYN that still reached the
#       dead host (answered by its kernel with a RST: ECONNREFUSED) after the kill, and the
#       time until the router agent no longer lists the instance (its API, polled by a thread
#       that shares the interpreter with the probe loop: coarse, an upper bound);
#   (b) registration -> data plane: from the server's listen() to the first connection
#       through the router reaching it (accept() on that listener), new SYNs every ~0.5 ms;
#   (c) registration -> control plane: from listen() to the router agent listing the
#       instance (its API polled every ms), and from close() to it no longer listing it
#       (these were asserted by test_register once; a test now only checks that they happen).
# Usage: scripts/bench_registry.sh OUTPUT_DIR [RESULT.json]. Root only. BENCH_QUICK=1: fewer rounds.
# Uses the e2e topology library (client -- router -- 3 instance namespaces), removed on exit.
set -uo pipefail
cd "$(dirname "$0")/.."

out=${1:-.output}
case $out in /*) ;; *) out=$PWD/$out ;; esac
result=${2:-}
export SVC_BIN=$out/bin E2E_PREFIX=svcbr E2E_PIN_PREFIX=svcbr E2E_LOGS_ON_FAIL=1
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	death_rounds=5 reg_rounds=10
else
	death_rounds=20 reg_rounds=50
fi
# shellcheck source=../selftests/e2e/lib.sh
source selftests/e2e/lib.sh
E2E_NAME=bench_registry

SID=2001:db8:5e::77  # VIP4:8080, bound on every instance host (death)
SID2=2001:db8:5e::78 # VIP4:8081, bound on instance 3 only (registration)

e2e_init >/dev/null
step "setup: topology" topo_create
setup_agents() {
	local i ns
	agent_start router "$NS_ROUTER" --src "$ROUTER4" || return 1
	sctl router attach "$(if_router)" router &&
		sctl router service add "$SID" --name death &&
		sctl router bind add "$VIP4:8080/tcp" "$SID" &&
		sctl router service add "$SID2" --name reg &&
		sctl router bind add "$VIP4:8081/tcp" "$SID2" || return 1
	for i in $(seq 1 $N_INST); do
		ns=$(inst_ns "$i")
		agent_start "inst$i" "$ns" --register-to "$(agent_sock router)" \
			--instance-addr "$(inst_addr4 "$i")" --lease 5 || return 1
		sctl "inst$i" attach "$(if_inst "$i")" endpoint &&
			sctl "inst$i" decap add "$ROUTER4" &&
			sctl "inst$i" service add "$SID" &&
			sctl "inst$i" bind add "$VIP4:8080/tcp" "$SID" || return 1
	done
	sctl inst3 service add "$SID2" && sctl inst3 bind add "$VIP4:8081/tcp" "$SID2"
}
step "setup: agents" setup_agents
for i in 1 2; do
	step "setup: svc-echod inst$i" echod_start "$i" --port 8080 --tcp
done
# many short probe connections: a wide port range, and no TIME_WAIT (closed with a RST)
in_ns "$NS_CLIENT" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"

cat >"$E2E_WORK/probe.py" <<'EOF'
# Probe: one process, sockets made in the namespace they belong to (setns).
import ctypes, errno, json, os, select, socket, struct, subprocess, sys, threading, time

cfg = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
home = os.open("/proc/self/ns/net", os.O_RDONLY)
fds = {n: os.open("/run/netns/" + n, os.O_RDONLY) for n in (cfg["client_ns"], cfg["inst_ns"])}


def enter(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def listed(sid, addr):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(cfg["api"])
    s.sendall((json.dumps({"v": 1, "op": "instance.list", "args": {"sid": sid}}) + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(65536)
        if not c:
            break
        buf += c
    s.close()
    return any(i["addr"] == addr and i["state"] == "up" for i in json.loads(buf)["result"]["instances"])


def wait_listed(sid, want, limit=10.0, poll=0.002):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if listed(sid, cfg["inst"]) == want:
            return True
        time.sleep(poll)
    return False


LINGER0 = struct.pack("ii", 1, 0)


def probe(port):
    """A non-blocking connect from the client namespace (the caller is in it)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
    try:
        s.connect((cfg["vip"], port))
    except BlockingIOError:
        pass
    return s


def reap(pending, timeout):
    """Finished probes: [(send time, errno)]; closes them (RST, no TIME_WAIT)."""
    done = []
    if not pending:
        return done
    _, w, _ = select.select([], list(pending), [], timeout)
    for s in w:
        e = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        done.append((pending.pop(s), e))
        s.close()
    return done


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else None


def death_round():
    """kill -9 of inst's echod; ms to the last SYN that still reached it, and to unlisted."""
    enter(home)
    srv = subprocess.Popen(["nsenter", "--net=/run/netns/" + cfg["inst_ns"], cfg["echod"],
                            "--name", "victim", "--port", "8080", "--tcp"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_listed(cfg["sid"], True):
        srv.kill(); srv.wait()
        return None
    enter(fds[cfg["client_ns"]])
    pending, refused, sent, errs = {}, [], 0, {}
    # the data path reaches the victim before the kill (its greeting names it)
    end, seen = time.monotonic() + 5.0, False
    while not seen and time.monotonic() < end:
        s = socket.create_connection((cfg["vip"], 8080), timeout=1.0)
        seen = s.recv(64).startswith(b"svc-echod victim")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER0)
        s.close()
    if not seen:
        enter(home)
        srv.kill(); srv.wait()
        return None
    t0 = time.monotonic()
    srv.kill()  # SIGKILL
    early, gone = 0, []

    def watch():  # the router agent's view, polled apart from the probes (a path socket)
        while time.monotonic() - t0 < 5.0 and listed(cfg["sid"], cfg["inst"]):
            time.sleep(0.0005)
        gone.append(time.monotonic())

    th = threading.Thread(target=watch)
    th.start()
    end = t0 + 5.0
    while time.monotonic() < end:
        pending[probe(8080)] = time.monotonic()
        sent += 1
        early += time.monotonic() - t0 < 0.005
        for ts, e in reap(pending, 0.0005):
            errs[e] = errs.get(e, 0) + 1
            if e == errno.ECONNREFUSED and ts >= t0:
                refused.append(ts)
        now = time.monotonic()
        t_unlisted = gone[0] if gone else None
        # done: unlisted, and 200 ms of SYNs since then without a refusal
        if t_unlisted and now - max([t_unlisted] + refused) > 0.2:
            break
    for ts, e in reap(pending, 0.2):
        if e == errno.ECONNREFUSED and ts >= t0:
            refused.append(ts)
    for s in pending:
        s.close()
    srv.wait()
    th.join()
    t_unlisted = gone[0] if gone and gone[0] - t0 < 5.0 else None
    enter(home)
    return {"unlisted_ms": (t_unlisted - t0) * 1e3 if t_unlisted else None,
            "last_refused_ms": (max(refused) - t0) * 1e3 if refused else 0.0,
            "refused": len(refused), "syns": sent, "unanswered": len(pending),
            "syns_first_5ms": early,
            "errors": {errno.errorcode.get(k, "ok"): v for k, v in errs.items()}}


def reg_round():
    """listen() on inst (namespace) -> first accept() of a connection through the router."""
    enter(home)
    if not wait_listed(cfg["sid2"], False):
        return None
    enter(fds[cfg["inst_ns"]])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((cfg["vip"], 8081))
    ls.listen(128)
    t0 = time.monotonic()
    enter(fds[cfg["client_ns"]])
    pending, t1, sent = {}, None, 0
    while time.monotonic() - t0 < 5.0:
        pending[probe(8081)] = time.monotonic()
        sent += 1
        r, _, _ = select.select([ls], [], [], 0.0005)
        if r:
            t1 = time.monotonic()
            break
        now = time.monotonic()
        for s in [s for s, ts in pending.items() if now - ts > 0.3]:
            del pending[s]
            s.close()
    for s in pending:
        s.close()
    ls.close()
    enter(home)
    return {"listen_to_first_conn_ms": (t1 - t0) * 1e3 if t1 else None, "syns": sent}


def api_round():
    """listen() on inst -> listed by the router agent; close() -> no longer listed."""
    enter(home)
    if not wait_listed(cfg["sid2"], False):
        return None
    enter(fds[cfg["inst_ns"]])
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((cfg["vip"], 8081))
    ls.listen(16)
    enter(home)
    t0 = time.monotonic()
    ok = wait_listed(cfg["sid2"], True, poll=0.001)
    t1 = time.monotonic()
    ls.close()
    t2 = time.monotonic()
    gone = ok and wait_listed(cfg["sid2"], False, poll=0.001)
    t3 = time.monotonic()
    if not gone:
        return None
    return {"listen_to_listed_ms": (t1 - t0) * 1e3, "close_to_unlisted_ms": (t3 - t2) * 1e3}


out = {"death": [], "registration": [], "api": [], "failed": []}
for i in range(cfg["death_rounds"]):
    r = death_round()
    (out["death"] if r and r["unlisted_ms"] is not None else out["failed"]).append(r or {"death": i})
for i in range(cfg["reg_rounds"]):
    r = reg_round()
    (out["registration"] if r and r["listen_to_first_conn_ms"] is not None
     else out["failed"]).append(r or {"registration": i})
for i in range(cfg["reg_rounds"]):
    r = api_round()
    (out["api"] if r else out["failed"]).append(r or {"api": i})


def summary(v):
    v = [x for x in v if x is not None]
    return {"n": len(v), "p50": pct(v, 50), "p99": pct(v, 99), "max": max(v) if v else None}


out["summary"] = {
    "death_to_last_syn_reaching_it_ms": summary([r["last_refused_ms"] for r in out["death"]]),
    "death_to_unlisted_at_router_ms": summary([r["unlisted_ms"] for r in out["death"]]),
    "listen_to_first_conn_ms": summary([r["listen_to_first_conn_ms"] for r in out["registration"]]),
    "listen_to_listed_ms": summary([r["listen_to_listed_ms"] for r in out["api"]]),
    "close_to_unlisted_ms": summary([r["close_to_unlisted_ms"] for r in out["api"]]),
}
print(json.dumps(out))
EOF

cfg=$(printf '{"api":"%s","sid":"%s","sid2":"%s","inst":"%s","vip":"%s","client_ns":"%s",
"inst_ns":"%s","echod":"%s","death_rounds":%d,"reg_rounds":%d}' "$(agent_sock router)" "$SID" \
	"$SID2" "$(inst_addr4 3)" "$VIP4" "$NS_CLIENT" "$(inst_ns 3)" "$TOOLS/svc-echod" \
	"$death_rounds" "$reg_rounds")
python3 "$E2E_WORK/probe.py" "$cfg" >"$E2E_WORK/registry.json" ||
	bail "probe" "$(tail -n 5 "$E2E_WORK/registry.json")"

python3 - "$E2E_WORK/registry.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["summary"]
f = lambda x: "-" if x is None else "%.1f" % x
print("registry (ms)                                  rounds     p50     p99     max")
for k, name in (("death_to_unlisted_at_router_ms", "kill -9 -> unlisted at router (API, coarse)"),
                ("death_to_last_syn_reaching_it_ms", "kill -9 -> last new SYN reaching it"),
                ("listen_to_first_conn_ms", "listen() -> first connection via router"),
                ("listen_to_listed_ms", "listen() -> listed by the router (API)"),
                ("close_to_unlisted_ms", "close() -> unlisted by the router (API)")):
    v = s[k]
    print("  %-44s %6d %7s %7s %7s" % (name, v["n"], f(v["p50"]), f(v["p99"]), f(v["max"])))
syn = sum(r["syns"] for r in d["death"])
ref = sum(r["refused"] for r in d["death"])
print("  death: %d SYNs sent after the kills, %d refused by the dead host; %d failed rounds"
      % (syn, ref, len(d["failed"])))
EOF
if [ -n "$result" ]; then
	cp "$E2E_WORK/registry.json" "$result"
fi
exit 0
