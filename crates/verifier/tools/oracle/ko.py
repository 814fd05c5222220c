import os
import sys, os, json, struct, errno
sys.path.insert(0, "/work/shared/tools")
import kbpf
from kbpf import bpf, prog_load
def map_create(mtype=2, ks=4, vs=8, maxent=1, name=b"mymap"):
    a = bytearray(128)
    struct.pack_into("<IIIII", a, 0, mtype, ks, vs, maxent, 0)
    a[28:28+len(name)] = name
    fd, err = bpf(0, a)
    return fd
def load(hexs, ptype="socket_filter", lvl=7, maps=None):
    b = bytearray(bytes.fromhex(hexs))
    if maps:
        for i in range(0, len(b), 8):
            if b[i] == 0x18 and (b[i+1] >> 4) in (1, 2):
                fd = struct.unpack_from("<i", b, i+4)[0]
                if fd in maps: struct.pack_into("<i", b, i+4, maps[fd])
    fd, err, log, dt, ts = prog_load(bytes(b), ptype, lvl)
    if fd >= 0: os.close(fd)
    return {"accepted": fd >= 0, "errno": errno.errorcode.get(err) if fd < 0 else None, "log": log}
if __name__ == "__main__":
    # stdin: JSON lines {"hex":..., "type":..., "log":..}
    mp = {}
    for line in sys.stdin:
        if not line.strip(): continue
        r = json.loads(line)
        if "maps" in r and not mp:
            for m in r["maps"]:
                mp[m["fd"]] = map_create(m.get("mtype",2), m["ks"], m["vs"], m.get("max",1), m.get("name","mymap").encode())
        out = load(r["hex"], r.get("type","socket_filter"), r.get("log",7), mp)
        out["id"] = r.get("id")
        print(json.dumps(out), flush=True)
