# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Register/unregister cycle (run inside an instance namespace): listen on
# ADDR:PORT, poll the router agent's API socket until the instance ADDR of SID
# appears (register on bind), close, poll until it is gone (unregister); ROUNDS
# times, each wait bounded by DEADLINE seconds. Prints one JSON object: how many
# rounds registered and unregistered, and what went wrong first. With an 8th
# argument STATUS, that object is also written to STATUS after every round, and
# the cycle ends early once STATUS.stop exists (churn for as long as a test needs). It asserts
# what happened, not how fast (scripts/bench_registry.sh measures that).
import json, os, socket, sys, time

api, sid, inst, vip = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
port, rounds, deadline = int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
status = sys.argv[8] if len(sys.argv) > 8 else None


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


def wait_for(want):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if listed() == want:
            return True
        time.sleep(0.01)
    return False


def save():
    if status:
        with open(status + ".tmp", "w") as f:
            json.dump(out, f)
        os.rename(status + ".tmp", status)


out = {"registered": 0, "unregistered": 0, "error": None}
for r in range(rounds):
    save()
    if status and os.path.exists(status + ".stop"):
        break
    if not wait_for(False):
        out["error"] = "listed before listen()"
        break
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((vip, port))
    ls.listen(16)
    if not wait_for(True):
        out["error"] = "not listed within %d s of listen()" % deadline
        ls.close()
        break
    out["registered"] += 1
    ls.close()
    if not wait_for(False):
        out["error"] = "still listed %d s after close()" % deadline
        break
    out["unregistered"] += 1
save()
print(json.dumps(out))
