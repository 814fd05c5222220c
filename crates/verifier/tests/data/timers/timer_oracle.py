#!/usr/bin/env python3
"""Load a raw BPF program that uses a timer map into the running kernel, with program BTF
(func_info) and a map whose value BTF holds `struct bpf_timer` at offset 0.

usage: timer_oracle.py PROG.bin --func PC:NARGS[:g|:p] ... [--maps N] [--value-size 16]
                       [--bss-size 8] [--log 2] [--no-func-info] [--run]
(`:g` global linkage, `:p` pointer parameters; PROG.bin from `kbpf asm -o PROG.bin PROG.s`;
`--run` test-runs the program, waits for the timers and prints both maps)
Map references (ld_imm64 src 1/2) with imm i get map i's fd; map 0 is the timer map
(array, 4-byte int key, value `struct elem { struct bpf_timer t; ... }`), map 1 (if any) a
plain 8-byte array (.bss)."""
import argparse, ctypes, os, struct, sys, time
# kbpf.py (the bpf() syscall wrappers) is not part of this repository: $KBPF_SHARED/tools, where
# KBPF_SHARED defaults to the shared/ folder beside the workspace (as for cargo xtask).
_here = os.path.dirname(os.path.abspath(__file__))
_shared = os.environ.get("KBPF_SHARED") or os.path.join(_here, "..", "..", "..", "..", "..", "..", "shared")
sys.path.insert(0, os.path.join(_shared, "tools"))
import kbpf as K

BTF_LOAD, MAP_CREATE, MAP_LOOKUP = 18, 0, 1

def btf_blob(funcs, value_size):
    strs = bytearray(b"\0")
    def name(s):
        off = len(strs); strs.extend(s.encode() + b"\0"); return off
    types = bytearray()
    nid = [1]
    def hdr(n, kind, vlen, st):
        types.extend(struct.pack("<III", n, (kind << 24) | vlen, st)); nid[0] += 1; return nid[0] - 1
    t_int = hdr(name("int"), 1, 0, 4); types.extend(struct.pack("<I", (1 << 24) | 32))
    t_long = hdr(name("long"), 1, 0, 8); types.extend(struct.pack("<I", (1 << 24) | 64))
    t_arr = hdr(0, 3, 0, 0); types.extend(struct.pack("<III", t_long, t_int, 2))
    t_timer = hdr(name("bpf_timer"), 4, 1, 16); types.extend(struct.pack("<III", name("__opaque"), t_arr, 0))
    members = [("t", t_timer, 0)]
    for off in range(16, value_size, 8):
        members.append((f"f{off}", t_long, off * 8))
    t_elem = hdr(name("elem"), 4, len(members), value_size)
    for n, t, bitoff in members:
        types.extend(struct.pack("<III", name(n), t, bitoff))
    t_ptr = hdr(0, 2, 0, t_int)
    info = []
    for pc, nargs, glob in funcs:
        pty = t_ptr if glob == "p" else t_long
        params = [] if pc == 0 else [(name(f"a{i}"), pty) for i in range(nargs)]
        proto = hdr(0, 13, len(params), t_long)
        for n, t in params:
            types.extend(struct.pack("<II", n, t))
        f = hdr(name("prog" if pc == 0 else f"f{pc}"), 12, 1 if (glob is True or pc == 0) else 0, proto)
        info.append((pc, f))
    hdr_bytes = struct.pack("<HBBIIIII", 0xeb9f, 1, 0, 24, 0, len(types), len(types), len(strs))
    return hdr_bytes + bytes(types) + bytes(strs), t_int, t_elem, info

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--func", action="append", default=[])
    ap.add_argument("--maps", type=int, default=1)
    ap.add_argument("--value-size", type=int, default=16)
    ap.add_argument("--log", type=int, default=2)
    ap.add_argument("--no-func-info", action="store_true")
    ap.add_argument("--run", action="store_true")
    ap.add_argument("--bss-size", type=int, default=8)
    a = ap.parse_args()
    funcs = [(0, 0, True)]
    for f in a.func:
        p = f.split(":")
        funcs.append((int(p[0]), int(p[1]), (p[2] if p[2] == "p" else True) if len(p) > 2 else False))
    blob, t_int, t_elem, info = btf_blob(funcs, a.value_size)
    bb = ctypes.create_string_buffer(blob, len(blob)); blog = ctypes.create_string_buffer(1 << 16)
    at = bytearray(64)
    struct.pack_into("<QQIII", at, 0, K.addr(bb), K.addr(blog), len(blob), 1 << 16, 1)
    btf_fd, err = K.bpf(BTF_LOAD, at)
    if btf_fd < 0:
        print("BTF load failed", err, blog.value.decode()); return
    fds = []
    for i in range(a.maps):
        m = bytearray(72)
        if i == 0:
            struct.pack_into("<IIII", m, 0, 2, 4, a.value_size, 1)
            m[28:28 + 9] = b"timer_map"
            struct.pack_into("<III", m, 48, btf_fd, t_int, t_elem)
        else:
            struct.pack_into("<IIII", m, 0, 2, 4, a.bss_size, 1)
            m[28:28 + 4] = b".bss"
        fd, err = K.bpf(MAP_CREATE, m)
        if fd < 0:
            print("map create failed", err); return
        fds.append(fd)
    raw = bytearray(open(a.bin, "rb").read())
    for i in range(0, len(raw), 8):
        code, regs = raw[i], raw[i + 1]
        if code == 0x18 and (regs >> 4) in (1, 2):
            imm, = struct.unpack_from("<i", raw, i + 4)
            struct.pack_into("<i", raw, i + 4, fds[imm])
    insns = bytes(raw)
    ib = ctypes.create_string_buffer(insns, len(insns)); lic = ctypes.create_string_buffer(b"GPL")
    log = ctypes.create_string_buffer(1 << 22)
    fi = b"".join(struct.pack("<II", pc, t) for pc, t in info)
    fib = ctypes.create_string_buffer(fi, len(fi))
    pa = bytearray(256)
    struct.pack_into("<IIQQIIQII", pa, 0, K.PROG_TYPES["socket_filter"], len(insns) // 8, K.addr(ib), K.addr(lic),
                     a.log, 1 << 22, K.addr(log), 0, 0)
    if not a.no_func_info:
        struct.pack_into("<IIQI", pa, 72, btf_fd, 8, K.addr(fib), len(info))
    fd, err = K.bpf(5, pa)
    print(log.value.decode(errors="replace"))
    print("verdict:", "accepted" if fd >= 0 else f"rejected errno {err}")
    if fd >= 0 and a.run:
        r, err, retval, _, _ = K.prog_test_run(fd, "socket_filter")
        print("retval", retval)
        time.sleep(0.2)
        for i, mfd in enumerate(fds):
            key = ctypes.create_string_buffer(4); val = ctypes.create_string_buffer(a.value_size if i == 0 else a.bss_size)
            la = bytearray(32); struct.pack_into("<IIQQ", la, 0, mfd, 0, K.addr(key), K.addr(val))
            K.bpf(MAP_LOOKUP, la)
            print(f"map {i}:", val.raw.hex())

main()
