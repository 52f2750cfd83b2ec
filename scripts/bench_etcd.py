# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The timing side of scripts/bench_etcd.sh (figures, never assertions).
#
#   propagate ROUNDS AGENT...   etcd write -> every router's data plane changed
#   churn N SIDS AGENT...       N instances written into etcd (and removed again):
#                               rate at which every router has applied them, memory
#   stall SECONDS AGENT         API latency (status) of an agent while etcd is away (the
#                               caller kills or freezes etcd before and restores it after)
#   write SECONDS AGENT SID ADDR W  the same for instance.set (weights W, W+1: writes)
#
# Runs in the host namespace, enters the etcd namespace for its HTTP calls
# (--netns), reads the routers' pinned maps with bpf(2) and asks their API
# sockets. Environment: ETCD (host:port), BASE (key prefix, ".../v1/"),
# E2E_WORK-style paths come as arguments: AGENT = SOCKET,PIN_DIR,PID.
import base64, ctypes, json, os, socket, statistics, sys, time, urllib.request

libc = ctypes.CDLL(None, use_errno=True)
NR_BPF = 321
BPF_MAP_LOOKUP_ELEM, BPF_OBJ_GET = 1, 7


def enter_netns(path):
    fd = os.open(path, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "setns " + path)
    os.close(fd)


def bpf_obj_get(path):
    p = ctypes.create_string_buffer(path.encode())
    attr = (ctypes.c_uint64 * 16)()
    attr[0] = ctypes.cast(p, ctypes.c_void_p).value
    fd = libc.syscall(NR_BPF, BPF_OBJ_GET, attr, 128)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "bpf obj get " + path)
    return fd


def map_lookup_u32(fd, key):
    k, v = ctypes.c_uint32(key), ctypes.c_uint32(0)
    attr = (ctypes.c_uint64 * 16)()
    attr[0] = fd
    attr[1] = ctypes.addressof(k)
    attr[2] = ctypes.addressof(v)
    if libc.syscall(NR_BPF, BPF_MAP_LOOKUP_ELEM, attr, 128) != 0:
        return None
    return v.value


class Agent:
    def __init__(self, spec):
        self.sock, self.pin, self.pid = spec.split(",")
        self.name = os.path.basename(self.sock).rsplit(".", 1)[0]
        self.ch = bpf_obj_get(self.pin + "/ch_tables")

    resets = 0  # API connections the agent closed before answering (retried)

    def call(self, op, args=None, timeout=None):
        for _ in range(10):
            try:
                return self.call_once(op, args, timeout)
            except ConnectionResetError:
                Agent.resets += 1
        return self.call_once(op, args, timeout)

    def call_once(self, op, args=None, timeout=None):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.sock)
        s.sendall((json.dumps({"v": 1, "op": op, "args": args or {}}) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            c = s.recv(1 << 20)
            if not c:
                break
            buf += c
        s.close()
        return json.loads(buf)

    def rss_kib(self):
        for l in open("/proc/%s/status" % self.pid):
            if l.startswith("VmRSS:"):
                return int(l.split()[1])
        return 0

    def registry(self):
        return self.call("status")["result"]["registry"]


ETCD, BASE = os.environ["ETCD"], os.environ["BASE"]


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def unb64(s):
    return base64.b64decode(s).decode()


def etcd(path, body):
    req = urllib.request.Request("http://%s%s" % (ETCD, path), json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def prefix_end(p):
    return p[:-1] + chr(ord(p[-1]) + 1)


def etcd_range(prefix):
    d = etcd("/v3/kv/range", {"key": b64(prefix), "range_end": b64(prefix_end(prefix))})
    return [(unb64(kv["key"]), unb64(kv.get("value", ""))) for kv in d.get("kvs", [])]


def etcd_txn(puts=(), dels=()):
    ops = [{"request_put": {"key": b64(k), "value": b64(v)}} for k, v in puts]
    ops += [{"request_delete_range": {"key": b64(k)}} for k in dels]
    d = etcd("/v3/kv/txn", {"success": ops})
    return int(d["header"]["revision"])


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def summary(xs):
    return {"n": len(xs), "p50": round(pct(xs, 50), 2), "p99": round(pct(xs, 99), 2),
            "max": round(max(xs), 2)} if xs else {"n": 0}


def set_id(agent, sid):
    return agent.call("service.show", {"sid": sid})["result"]["service"]["set_id"]


def propagate(rounds, agents):
    """Flip one instance's weight in etcd; time until each router's ch_tables
    entry for the service points at a new table."""
    inst = [(k, v) for k, v in etcd_range(BASE + "instances/")]
    key, val = inst[0]
    rec = json.loads(val)
    sid = rec["sid"]
    sets = [set_id(a, sid) for a in agents]
    per_router, every = [], []
    for r in range(rounds):
        before = [map_lookup_u32(a.ch, s) for a, s in zip(agents, sets)]
        rec["weight"] = 2 if rec["weight"] == 1 else 1
        t0 = time.monotonic()
        etcd_txn(puts=[(key, json.dumps(rec))])
        done = [None] * len(agents)
        end = t0 + 60
        while None in done and time.monotonic() < end:
            for i, (a, s) in enumerate(zip(agents, sets)):
                if done[i] is None and map_lookup_u32(a.ch, s) != before[i]:
                    done[i] = (time.monotonic() - t0) * 1e3
        if None in done:
            print("# round %d: %d routers did not change within 60 s" % (r, done.count(None)))
            continue
        per_router += done
        every.append(max(done))
    return {"routers": len(agents), "rounds": rounds, "each_router_ms": summary(per_router),
            "every_router_ms": summary(every)}


def churn(n, sids, agents):
    """n instances spread over the services sids, written into etcd in
    transactions of 120 operations (ids, next hops, instances), then removed."""
    tmpl_i = json.loads(etcd_range(BASE + "instances/")[0][1])
    nh_key, nh_val = etcd_range(BASE + "nexthops/")[0]
    tmpl_n = json.loads(nh_val)
    id_key, id_val = etcd_range(BASE + "ids/")[0]
    tmpl_id = json.loads(id_val)
    rss0 = [a.rss_kib() for a in agents]
    recs = []
    for k in range(n):
        addr = "198.18.%d.%d" % (64 + k // 250, 1 + k % 250)
        nid = 1000 + k
        sid = sids[k % len(sids)]
        i = dict(tmpl_i, sid=sid, addr=addr, name="c%d" % k, weight=1)
        i.pop("lease", None) if "lease" not in tmpl_i else None
        recs.append([(BASE + "ids/%d" % nid, json.dumps(dict(tmpl_id, addr=addr))),
                     (BASE + "nexthops/" + addr, json.dumps(dict(tmpl_n, addr=addr, id=nid))),
                     (BASE + "instances/%s/%s" % (sid, addr), json.dumps(i))])

    def wait_applied(rev, t0):
        """until every router's registry and maps are rebuilt at revision rev or later"""
        done = [None] * len(agents)
        end = time.monotonic() + 900
        while None in done and time.monotonic() < end:
            for j, a in enumerate(agents):
                t = time.monotonic()
                applied = done[j] is None and a.registry()["applied_revision"] >= rev
                api_ms.append((time.monotonic() - t) * 1e3)
                if applied:
                    done[j] = time.monotonic() - t0
            time.sleep(0.01)
        return done

    def rebuilds():
        return [a.registry()["rebuilds"] for a in agents]

    out = {"instances": n, "services": len(sids), "routers": len(agents)}

    api_ms = []

    def phase(name, txns):
        rb0, t0, rev, r0 = rebuilds(), time.monotonic(), 0, Agent.resets
        del api_ms[:]
        for puts, dels in txns:
            rev = etcd_txn(puts=puts, dels=dels)
        t_written = time.monotonic() - t0
        done = wait_applied(rev, t0)
        ok = all(d is not None for d in done)
        out[name] = {"txns": len(txns), "written_s": round(t_written, 2),
                     "etcd_write_rate_per_s": round(n / t_written),
                     "every_router_s": round(max(done), 2) if ok else None,
                     "applied_rate_per_s": round(n / max(done)) if ok else None,
                     "rebuilds": [b - a for a, b in zip(rb0, rebuilds())],
                     # the routers' status calls meanwhile: how long their main loops were away
                     "status_ms": summary(api_ms), "status_resets": Agent.resets - r0}
        out["rss_kib_after_" + name] = [a.rss_kib() for a in agents]

    def batches(items, key):
        txns, cur = [], []
        for it in items:
            cur += it
            if len(cur) >= 120:
                txns.append(key(cur))
                cur = []
        if cur:
            txns.append(key(cur))
        return txns

    out["rss_kib_before"] = rss0
    phase("add", batches(recs, lambda b: (b, ())))
    # removal: the instances go (ids and next hops stay, as they do in a deployment)
    phase("remove", batches([[r[2][0]] for r in recs], lambda b: ((), b)))
    # clean: ids and next hops too
    batch = []
    for r in recs:
        batch += [r[0][0], r[1][0]]
        if len(batch) >= 120:
            etcd_txn(dels=batch)
            batch = []
    if batch:
        rev = etcd_txn(dels=batch)
        wait_applied(rev, time.monotonic())
    return out


def stall(secs, agent):
    """status calls back to back for secs seconds: how long each took."""
    lat, end = [], time.monotonic() + secs
    while time.monotonic() < end:
        t = time.monotonic()
        agent.call("status", timeout=120)
        lat.append((time.monotonic() - t) * 1e3)
        time.sleep(0.05)
    return {"seconds": secs, "api_ms": summary(lat)}


def write(secs, agent, sid, addr, base):
    """instance.set back to back for secs seconds, the weight alternating between
    base and base + 1 (a weight the instance has not had: every call is a write):
    how long each answer (done or refused) took."""
    lat, ok, err, i, end = [], 0, 0, 0, time.monotonic() + secs
    while time.monotonic() < end:
        w, i = base + i % 2, i + 1
        t = time.monotonic()
        d = agent.call("instance.set", {"sid": sid, "addr": addr, "weight": w}, timeout=120)
        lat.append((time.monotonic() - t) * 1e3)
        ok, err = ok + ("result" in d), err + ("result" not in d)
        time.sleep(0.05)
    return {"seconds": secs, "done": ok, "refused": err, "api_ms": summary(lat)}


def main():
    args = sys.argv[1:]
    netns = None
    if args[0] == "--netns":
        netns, args = args[1], args[2:]
    mode = args[0]
    if mode == "propagate":
        agents = [Agent(s) for s in args[2:]]
        enter_netns(netns)
        print(json.dumps(propagate(int(args[1]), agents)))
    elif mode == "churn":
        agents = [Agent(s) for s in args[3:]]
        enter_netns(netns)
        print(json.dumps(churn(int(args[1]), args[2].split(","), agents)))
    elif mode == "stall":
        print(json.dumps(stall(float(args[1]), Agent(args[2]))))
    elif mode == "write":
        print(json.dumps(write(float(args[1]), Agent(args[2]), args[3], args[4], int(args[5]))))


main()
