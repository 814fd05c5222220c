//! Callbacks and exceptions on every engine: `bpf_loop` and `bpf_for_each_map_elem` run their
//! callback as a BPF function (own frame, the kernel's arguments, its return read back), and
//! `bpf_throw` unwinds to the entry with the exception callback's result. One program per test,
//! each run on the interpreter and the host JIT (x86_64 natively, arm64 under qemu through
//! `cargo xtask test`) and checked against the value Linux 6.18 gives.

use kbpf::kfunc::{NativeFn, Registry, profiles};
use kbpf::{Engine, RunOptions};

mod support;

/// BTF id the tests give `bpf_throw`.
const THROW_BTF_ID: i32 = 9001;

fn registry() -> Registry {
    let mut r = profiles::testmod();
    extern "C" fn never(_: u64) -> u64 {
        0
    }
    // the prototype the verifier checks; the engines never call the native
    r.add_kfunc(THROW_BTF_ID, "bpf_throw", NativeFn::A1(never)).unwrap();
    r
}

/// Runs `src` on every engine and checks r0 and the `.bss` words each engine leaves.
fn check(src: &str, r0: u64, bss: &[u64]) {
    let registry = registry();
    let m = support::asm_module(src, &registry);
    let mut engines = vec![Engine::Interp];
    if kbpf::host_backend().is_some() {
        engines.push(Engine::Jit);
    }
    for engine in engines {
        let h = support::handle(&m, engine, &registry, 64, RunOptions::default())
            .unwrap_or_else(|e| panic!("{engine:?}: {e}"));
        let got = h.run(&mut [0u8; 64]).unwrap_or_else(|e| panic!("{engine:?}: {e}"));
        assert_eq!(got, r0, "{engine:?}: r0");
        if let Some(i) = m.maps.iter().position(|s| s.name == ".bss") {
            let v = h.map_set().get(i).unwrap().lookup(&0u32.to_le_bytes()).unwrap();
            let words: Vec<u64> = v.chunks(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
            assert_eq!(&words[..bss.len()], bss, "{engine:?}: .bss");
        }
    }
}

/// One test per program: `name: src => r0, [.bss words]`.
macro_rules! program {
    ($name:ident: $src:expr => $r0:expr, $bss:expr) => {
        #[test]
        fn $name() {
            check(&$src, $r0 as u64, &$bss);
        }
    };
}

const BSS: &str = ".map .bss, array, 4, 64, 1\n";

/// `bpf_map_update_elem(map, key at fp-4, value at fp-16, 0)`.
fn update(map: &str) -> String {
    let args = "r2 = r10\n    r2 += -4\n    r3 = r10\n    r3 += -16\n    r4 = 0";
    format!("r1 = {map} ll\n    {args}\n    call bpf_map_update_elem")
}

/// `helper(r1, cb, ctx, flags)`: `ctx` is a stack offset whose address is passed, or none (0).
fn call(helper: &str, r1: &str, cb: &str, ctx: Option<i16>, flags: i64) -> String {
    let r3 = ctx.map_or("r3 = 0".to_string(), |off| format!("r3 = r10\n    r3 += {off}"));
    format!("r1 = {r1}\n    r2 = func({cb}) ll\n    {r3}\n    r4 = {flags}\n    call {helper}")
}

// bpf_loop(5, cb, &ctx, 0): cb adds i to the context; 5 calls; the context is 0+1+2+3+4
program!(loop_sums: format!("{BSS}
    *(u64 *)(r10 -8) = 0
    {c1}
    r1 = .bss + 0 ll
    r2 = *(u64 *)(r10 -8)
    *(u64 *)(r1 +0) = r2
    exit
.func cb, 2
cb:
    r3 = *(u64 *)(r2 +0)
    r3 += r1
    *(u64 *)(r2 +0) = r3
    r0 = 0
    exit
", c1 = call("bpf_loop", "5", "cb", Some(-8), 0)) => 5, [10]);

// the callback stops at i == 3: the helper returns i + 1
program!(loop_stops_early: format!("{BSS}
    {c2}
    exit
.func cb, 2
cb:
    r0 = 0
    if r1 != 3 goto out
    r0 = 1
out:
    exit
", c2 = call("bpf_loop", "100", "cb", None, 0)) => 4, [0]);

// over BPF_MAX_LOOPS: -E2BIG as a 32-bit value (the inlined loop's), no call made; flags: -EINVAL
program!(loop_limits: format!("{BSS}
    {c3}
    r1 = .bss + 0 ll
    *(u64 *)(r1 +0) = r0
    {c4}
    r1 = .bss + 0 ll
    *(u64 *)(r1 +8) = r0
    {c5}
    exit
.func cb, 2
cb:
    r1 = .bss + 0 ll
    r2 = *(u64 *)(r1 +16)
    r2 += 1
    *(u64 *)(r1 +16) = r2
    r0 = 1
    exit
", c3 = call("bpf_loop", "0x800001", "cb", None, 0), c4 = call("bpf_loop", "1", "cb", None, 1), c5 = call("bpf_loop", "0x800000", "cb", None, 0)) => 1, [0xffff_fff9, (-22i64) as u64, 1]);

// a callback that runs bpf_loop itself, and one that calls a helper (a map update)
program!(loop_nested_with_helper: format!("{BSS}.map counts, hash, 4, 8, 16
    {c6}
    exit
.func outer, 2
outer:
    r6 = r1
    {c7}
    *(u32 *)(r10 -4) = r6
    *(u64 *)(r10 -16) = r0
    {u1}
    r0 = 0
    exit
.func inner, 2
inner:
    r1 = .bss + 0 ll
    r2 = *(u64 *)(r1 +0)
    r2 += 1
    *(u64 *)(r1 +0) = r2
    r0 = 0
    exit
", u1 = update("counts"), c6 = call("bpf_loop", "3", "outer", None, 0), c7 = call("bpf_loop", "4", "inner", None, 0)) => 3, [12]);

// for_each over an array of 4 (values 10, 20, 30, 40): cb(map, &key, &value, ctx) sums
// key * value into the context and stops at key 2; the helper counts the calls (3)
program!(for_each_array_stops: format!("{BSS}.map arr, array, 4, 8, 4
    r6 = 0
fill:
    *(u32 *)(r10 -4) = r6
    r1 = r6
    r1 += 1
    r1 *= 10
    *(u64 *)(r10 -16) = r1
    {u2}
    r6 += 1
    if r6 < 4 goto fill
    *(u64 *)(r10 -24) = 0
    {w1}
    r1 = .bss + 0 ll
    r2 = *(u64 *)(r10 -24)
    *(u64 *)(r1 +0) = r2
    exit
.func cb, 4
cb:
    r5 = *(u32 *)(r2 +0)
    r1 = *(u64 *)(r3 +0)
    r1 *= r5
    r0 = *(u64 *)(r4 +0)
    r0 += r1
    *(u64 *)(r4 +0) = r0
    r0 = 0
    if r5 != 2 goto out
    r0 = 1
out:
    exit
", u2 = update("arr"), w1 = call("bpf_for_each_map_elem", "arr ll", "cb", Some(-24), 0)) => 3, [20 + 2 * 30]);

// for_each over a hash: every element visited once (its value doubled through the pointer),
// keys summed; flags other than 0: -EINVAL
program!(for_each_hash: format!("{BSS}.map h, hash, 4, 8, 8
    r6 = 3
fill:
    *(u32 *)(r10 -4) = r6
    *(u64 *)(r10 -16) = r6
    {u3}
    r6 += 2
    if r6 < 9 goto fill
    {w2}
    r1 = .bss + 0 ll
    *(u64 *)(r1 +8) = r0
    {w3}
    r6 = r0
    *(u32 *)(r10 -4) = 7
    r1 = h ll
    r2 = r10
    r2 += -4
    call bpf_map_lookup_elem
    if r0 == 0 goto out
    r1 = *(u64 *)(r0 +0)
    r2 = .bss + 0 ll
    *(u64 *)(r2 +16) = r1
out:
    r0 = r6
    exit
.func cb, 4
cb:
    r1 = *(u64 *)(r3 +0)
    r1 *= 2
    *(u64 *)(r3 +0) = r1
    r5 = *(u32 *)(r2 +0)
    r1 = .bss + 0 ll
    r2 = *(u64 *)(r1 +0)
    r2 += r5
    *(u64 *)(r1 +0) = r2
    r0 = 0
    exit
", u3 = update("h"), w2 = call("bpf_for_each_map_elem", "h ll", "cb", None, 1), w3 = call("bpf_for_each_map_elem", "h ll", "cb", None, 0)) => 3, [3 + 5 + 7, (-22i64) as u64, 14]);

// bpf_throw from a function two calls deep: the default exception callback returns the cookie
// and nothing after the throw runs
program!(throw_from_nested_callee: format!("{BSS}
    call f
    r1 = .bss + 0 ll
    *(u64 *)(r1 +0) = 1
    r0 = 0
    exit
.func f, 0
f:
    call g
    r1 = .bss + 0 ll
    *(u64 *)(r1 +8) = 1
    r0 = 0
    exit
.func g, 0
g:
    r1 = 42
    call bpf_throw
    r0 = 0
    exit
") => 42, [0, 0]);
