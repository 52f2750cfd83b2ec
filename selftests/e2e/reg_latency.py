# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Registration latency probe (run inside an instance namespace): listen on
# ADDR:PORT, poll the router agent's API socket until the instance ADDR of SID
# appears (register on bind), close, poll until it is gone (unregister).
# Prints one JSON object: per-round register/unregister latencies in ms.
import json, socket, sys, time

api, sid, inst, vip, port, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])


def listed():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(api)
    s.sendall((json.dumps({"v": 1, "op": "instance.list", "args": {"sid": sid}}) + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    d = json.loads(buf)
    return any(i["addr"] == inst for i in d["result"]["instances"])


def wait_for(want, limit=5.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if listed() == want:
            return True
        time.sleep(0.001)
    return False


out = {"register_ms": [], "unregister_ms": [], "failed": 0}
for _ in range(rounds):
    if not wait_for(False):
        out["failed"] += 1
        break
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((vip, port))
    ls.listen(16)
    t = time.monotonic()
    if not wait_for(True):
        out["failed"] += 1
        ls.close()
        break
    out["register_ms"].append((time.monotonic() - t) * 1e3)
    ls.close()
    t = time.monotonic()
    if not wait_for(False):
        out["failed"] += 1
        break
    out["unregister_ms"].append((time.monotonic() - t) * 1e3)
print(json.dumps(out))
