# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Many route lookups (the route.get op `servicectl route get` sends) over one
# connection to an agent's API socket: a process per lookup costs ~0.5 s on a
# loaded test machine, this costs milliseconds. Reads one query per line from
# stdin, "SRC:SPORT" or "SRC:SPORT syn"; writes one JSON line per query,
# {"src": ..., "syn": bool, "route": {...}} or {"src": ..., "error": {...}}.
# Usage: route_lookups.py SOCKET VIP:PORT/PROTO [--iif IFACE]
import json, socket, sys

api, dst = sys.argv[1], sys.argv[2]
iif = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--iif" else None
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(api)
f = s.makefile("rwb")
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    args = {"dst": dst, "src": words[0]}
    if "syn" in words[1:]:
        args["syn"] = True
    if iif:
        args["iif"] = iif
    f.write((json.dumps({"v": 1, "op": "route.get", "args": args}) + "\n").encode())
    f.flush()
    answer = json.loads(f.readline())
    out = {"src": words[0], "syn": "syn" in words[1:]}
    if "result" in answer:
        out["route"] = answer["result"]["route"]
    else:
        out["error"] = answer.get("error")
    print(json.dumps(out, sort_keys=True))
