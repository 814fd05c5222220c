//! The test kfunc set: kbpf's mirror of the kernel's `bpf_testmod` kfuncs that the
//! stack-argument selftests call (stack-args.md §7a), plus kbpf's own 6/7/8/12-argument and
//! acquire/release kfuncs. Each returns the sum of its scalar arguments plus the listed term.

use std::sync::atomic::{AtomicI64, Ordering};

use crate::native::{NativeFn, RawNative};
use crate::proto::{ARENA, ArgKind, ArgProto, KfuncFlags, NativeArg, Proto, RetKind};
use crate::registry::{FuncKind, Registry};

/// First BTF id kbpf hands to the test set (far above vmlinux ids).
pub const TESTMOD_BASE_ID: i32 = 0x4000_0000;

// Pointer arguments arrive as host addresses; the natives that read them are `unsafe extern
// "C" fn`s whose contract is `NativeFn::call`'s (the prototype's `native_args`): the verifier
// proves it for JIT code, the interpreter checks it before each call.

/// Bytes of `struct prog_test_pass1` the natives read (`x0`, `x1`).
const PASS1_READ: u32 = 8;

/// What a native does with a pointer to the kernel object `name` (`None`: not modelled).
pub(crate) fn object_arg(name: &str, nullable: bool) -> Option<crate::NativeArg> {
    match name {
        "prog_test_pass1" => {
            Some(crate::NativeArg::Mem { len: crate::MemLen::Fixed(PASS1_READ), write: false, nullable })
        }
        // only compared with the object the acquire kfunc handed out, never dereferenced
        "prog_test_ref_kfunc" => Some(crate::NativeArg::Value),
        _ => None,
    }
}

/// # Safety
/// `addr` is 0 or `addr + off` is readable for `size_of::<T>()` bytes.
#[allow(unsafe_code)]
unsafe fn read<T: Copy + Default>(addr: u64, off: u64) -> T {
    if addr == 0 {
        return T::default();
    }
    // SAFETY: the caller's contract; the read is unaligned-safe.
    unsafe { std::ptr::read_unaligned(addr.wrapping_add(off) as *const T) }
}

/// # Safety
/// `p` is 0 or a readable `struct prog_test_pass1` prefix of [`PASS1_READ`] bytes.
#[allow(unsafe_code)]
unsafe fn pass1_x0(p: u64) -> u64 {
    // SAFETY: the caller's contract.
    unsafe { read::<i32>(p, 0) as i64 as u64 }
}

/// # Safety
/// As [`pass1_x0`].
#[allow(unsafe_code)]
unsafe fn pass1_x1(p: u64) -> u64 {
    // SAFETY: the caller's contract.
    unsafe { read::<i32>(p, 4) as i64 as u64 }
}

fn sum(v: &[u64]) -> u64 {
    v.iter().fold(0u64, |s, x| s.wrapping_add(*x))
}

fn weighted(v: &[u64]) -> u64 {
    v.iter().enumerate().fold(0u64, |s, (i, x)| s.wrapping_add(x.wrapping_mul(i as u64 + 1)))
}

type U = u64;

extern "C" fn stack_arg(a: U, b: U, c: U, d: U, e: U, f: U, g: U, h: U, i: U, j: U) -> U {
    sum(&[a, b, c, d, e, f, g, h, i, j])
}
#[allow(unsafe_code)]
unsafe extern "C" fn stack_arg_ptr(a: U, b: U, c: U, d: U, e: U, f: U, g: U, h: U, i: U, p: U) -> U {
    // SAFETY: `p` is a readable prog_test_pass1 (the contract).
    sum(&[a, b, c, d, e, f, g, h, i, unsafe { pass1_x0(p) }, unsafe { pass1_x1(p) }])
}
#[allow(unsafe_code)]
unsafe extern "C" fn stack_arg_mix(a: U, b: U, c: U, d: U, e: U, f: U, g: U, p: U, h: U, q: U) -> U {
    // SAFETY: `p` and `q` are readable prog_test_pass1 objects (the contract).
    sum(&[a, b, c, d, e, f, g, unsafe { pass1_x0(p) }, h, unsafe { pass1_x1(q) }])
}
#[allow(unsafe_code)]
unsafe extern "C" fn stack_arg_dynptr(a: U, b: U, c: U, d: U, e: U, f: U, g: U, h: U, i: U, ptr: U) -> U {
    // struct bpf_dynptr_kern { void *data; u32 size; u32 offset; }: the low 24 bits of `size`
    // are the length, the high bits type and flags.
    // SAFETY: `ptr` is a readable 16-byte dynptr (the contract).
    let size = unsafe { read::<u32>(ptr, 8) } as u64 & 0x00ff_ffff;
    sum(&[a, b, c, d, e, f, g, h, i, size])
}
#[allow(unsafe_code)]
unsafe extern "C" fn stack_arg_mem(a: U, b: U, c: U, d: U, e: U, mem: U, len: U) -> U {
    // SAFETY: `mem` is readable for `len` bytes (the contract); fewer are read.
    let bytes: u64 = (0..len.min(1 << 20)).map(|k| unsafe { read::<u8>(mem, k) } as u64).sum();
    sum(&[a, b, c, d, e, bytes])
}
#[allow(unsafe_code)]
unsafe extern "C" fn stack_arg_iter(a: U, b: U, c: U, d: U, e: U, f: U, g: U, h: U, i: U, it: U) -> U {
    // struct bpf_iter_testmod_seq (kernel view) { s64 value; int cnt; }.
    // SAFETY: `it` is 16 readable bytes of iterator state (the contract).
    sum(&[a, b, c, d, e, f, g, h, i, unsafe { read::<i64>(it, 0) } as u64])
}
extern "C" fn stack_arg_ignore_ptr(a: U, b: U, c: U, d: U, e: U, f: U, g: U, h: U, i: U, _p: U) -> U {
    sum(&[a, b, c, d, e, f, g, h, i])
}
extern "C" fn weighted6(a: U, b: U, c: U, d: U, e: U, f: U) -> U {
    weighted(&[a, b, c, d, e, f])
}
extern "C" fn weighted7(a: U, b: U, c: U, d: U, e: U, f: U, g: U) -> U {
    weighted(&[a, b, c, d, e, f, g])
}
extern "C" fn weighted8(a: U, b: U, c: U, d: U, e: U, f: U, g: U, h: U) -> U {
    weighted(&[a, b, c, d, e, f, g, h])
}
extern "C" fn weighted12(a: U, b: U, c: U, d: U, e: U, f: U, g: U, h: U, i: U, j: U, k: U, l: U) -> U {
    weighted(&[a, b, c, d, e, f, g, h, i, j, k, l])
}
extern "C" fn nullable7(a: U, b: U, c: U, d: U, e: U, f: U, p: U) -> U {
    sum(&[a, b, c, d, e, f, (p != 0) as u64])
}

// struct bpf_iter_testmod_seq (kernel view) { s64 value; int cnt; }: 16 bytes on the BPF stack.
/// # Safety
/// `addr + off` is writable for `size_of::<T>()` bytes.
#[allow(unsafe_code)]
unsafe fn write<T: Copy>(addr: u64, off: u64, v: T) {
    // SAFETY: the caller's contract; the write is unaligned-safe.
    unsafe { std::ptr::write_unaligned(addr.wrapping_add(off) as *mut T, v) }
}

// The iterator natives get 16 readable and writable bytes of state (the contract).
#[allow(unsafe_code)]
unsafe extern "C" fn iter_seq_new(it: U, value: U, cnt: U) -> U {
    let cnt = cnt as i32;
    // SAFETY (all writes): 16 writable bytes at `it`.
    if cnt < 0 {
        unsafe { write(it, 8, 0i32) };
        return (-22i32) as u32 as u64;
    }
    unsafe {
        write(it, 0, value as i64);
        write(it, 8, cnt);
    }
    0
}
#[allow(unsafe_code)]
unsafe extern "C" fn iter_seq_next(it: U) -> U {
    // SAFETY (all accesses): 16 readable and writable bytes at `it`.
    let cnt = unsafe { read::<i32>(it, 8) };
    if cnt <= 0 {
        return 0;
    }
    unsafe { write(it, 8, cnt - 1) };
    it
}
#[allow(unsafe_code)]
unsafe extern "C" fn iter_seq_value(val: U, it: U) -> U {
    // SAFETY (all reads): 16 readable bytes at `it`.
    if unsafe { read::<i32>(it, 8) } < 0 {
        return 0;
    }
    (val as i32 as i64).wrapping_add(unsafe { read::<i64>(it, 0) }) as u64
}
#[allow(unsafe_code)]
unsafe extern "C" fn iter_seq_destroy(it: U) -> U {
    // SAFETY: 16 writable bytes at `it`.
    unsafe { write(it, 8, 0i32) };
    0
}

/// The object `bpf_kfunc_call_test_acquire` hands out; its first word is the reference count.
static REF_OBJ: AtomicI64 = AtomicI64::new(0);

extern "C" fn test_acquire(_scalar_ptr: U) -> U {
    REF_OBJ.fetch_add(1, Ordering::Relaxed);
    &REF_OBJ as *const AtomicI64 as U
}
extern "C" fn test_release(p: U) -> U {
    if p == &REF_OBJ as *const AtomicI64 as U {
        REF_OBJ.fetch_sub(1, Ordering::Relaxed);
    }
    0
}

/// Outstanding references handed out by the acquire kfunc (for leak tests).
pub fn outstanding_refs() -> i64 {
    REF_OBJ.load(Ordering::Relaxed)
}

// What each native checks or dereferences (the contracts the natives above are written
// against; the string, timer, acquire and arena natives ignore their pointer, but an engine
// checks it as the prototype says all the same).
const V: NativeArg = NativeArg::V;
const PASS1: NativeArg = NativeArg::fixed(PASS1_READ, false);
const SEQ: NativeArg = NativeArg::Iter { size: 16 };
static PTR: [NativeArg; 10] = [V, V, V, V, V, V, V, V, V, PASS1];
static MIX: [NativeArg; 10] = [V, V, V, V, V, V, V, PASS1, V, PASS1];
static DYNPTR: [NativeArg; 10] = [V, V, V, V, V, V, V, V, V, NativeArg::DYNPTR];
static MEM: [NativeArg; 7] = [V, V, V, V, V, NativeArg::mem(6, false, false), V];
static ITER: [NativeArg; 10] = [V, V, V, V, V, V, V, V, V, SEQ];
static CONST_STR: [NativeArg; 10] = [V, V, V, V, V, V, V, V, V, NativeArg::Str];
static TIMER: [NativeArg; 10] = [V, V, V, V, V, V, V, V, V, NativeArg::Timer];
static ACQUIRE: [NativeArg; 1] = [NativeArg::fixed(8, false)];
static SEQ_NEW: [NativeArg; 3] = [SEQ, V, V];
static SEQ_ONE: [NativeArg; 1] = [SEQ];
static SEQ_VALUE: [NativeArg; 2] = [V, SEQ];
static ARENA_ARGS: [NativeArg; 6] = [V, V, V, V, V, NativeArg::Unchecked(ARENA)];

/// A native of this module with its contract.
fn native(raw: RawNative, contract: &'static [NativeArg]) -> NativeFn {
    // SAFETY: every native of this module dereferences at most what the contract it is paired
    // with below lists (8 bytes of a prog_test_pass1, a dynptr's size word, memory for its size
    // argument, 16 bytes of testmod_seq state), as its body shows.
    #[allow(unsafe_code)]
    unsafe { NativeFn::with_contract(raw, contract) }.expect("one contract entry per parameter")
}

fn scalars(names: &[&str]) -> Vec<ArgProto> {
    names.iter().map(|n| ArgProto::scalar(n)).collect()
}

fn arg(name: &str, kind: ArgKind) -> ArgProto {
    ArgProto {
        name: name.to_string(),
        kind,
        nullable: name.ends_with("__nullable") || name.ends_with("__opt"),
    }
}

fn seq(name: &str) -> ArgProto {
    arg(name, ArgKind::Iter("testmod_seq".into()))
}

fn pass1(name: &str) -> ArgProto {
    arg(name, ArgKind::BtfId("prog_test_pass1".into()))
}

const A9: [&str; 9] = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];

/// Adds the test set to `r`.
pub fn register(r: &mut Registry) -> Result<(), crate::RegistryError> {
    let with = |mut a: Vec<ArgProto>, last: ArgProto| {
        a.push(last);
        a
    };
    let entries: Vec<(&str, Vec<ArgProto>, RetKind, KfuncFlags, NativeFn)> = vec![
        (
            "bpf_kfunc_call_stack_arg",
            scalars(&["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]),
            RetKind::Scalar,
            KfuncFlags::NONE,
            NativeFn::A10(stack_arg),
        ),
        (
            "bpf_kfunc_call_stack_arg_ptr",
            with(scalars(&A9), pass1("p")),
            RetKind::Scalar,
            KfuncFlags::NONE,
            native(RawNative::A10(stack_arg_ptr), &PTR),
        ),
        (
            "bpf_kfunc_call_stack_arg_mix",
            [scalars(&A9[..7]), vec![pass1("p"), ArgProto::scalar("h"), pass1("q")]].concat(),
            RetKind::Scalar,
            KfuncFlags::NONE,
            native(RawNative::A10(stack_arg_mix), &MIX),
        ),
        (
            "bpf_kfunc_call_stack_arg_dynptr",
            with(scalars(&A9), arg("ptr", ArgKind::Dynptr)),
            RetKind::Scalar,
            KfuncFlags::NONE,
            native(RawNative::A10(stack_arg_dynptr), &DYNPTR),
        ),
        (
            "bpf_kfunc_call_stack_arg_mem",
            [
                scalars(&A9[..5]),
                vec![
                    arg("mem", ArgKind::Mem { size: None, uninit: false }),
                    arg("mem__sz", ArgKind::MemSize { constant: false }),
                ],
            ]
            .concat(),
            RetKind::Scalar,
            KfuncFlags::NONE,
            native(RawNative::A7(stack_arg_mem), &MEM),
        ),
        (
            "bpf_kfunc_call_stack_arg_iter",
            with(scalars(&A9), arg("it__iter", ArgKind::Iter("testmod_seq".into()))),
            RetKind::Scalar,
            KfuncFlags::NONE,
            native(RawNative::A10(stack_arg_iter), &ITER),
        ),
        (
            "bpf_kfunc_call_stack_arg_const_str",
            with(scalars(&A9), arg("str__str", ArgKind::ConstStr)),
            RetKind::Scalar,
            KfuncFlags::NONE,
            native(RawNative::A10(stack_arg_ignore_ptr), &CONST_STR),
        ),
        (
            "bpf_kfunc_call_stack_arg_timer",
            with(scalars(&A9), arg("timer", ArgKind::Timer)),
            RetKind::Scalar,
            KfuncFlags::NONE,
            native(RawNative::A10(stack_arg_ignore_ptr), &TIMER),
        ),
        (
            "kbpf_test_weighted6",
            scalars(&A9[..6]),
            RetKind::Scalar,
            KfuncFlags::NONE,
            NativeFn::A6(weighted6),
        ),
        (
            "kbpf_test_weighted7",
            scalars(&A9[..7]),
            RetKind::Scalar,
            KfuncFlags::NONE,
            NativeFn::A7(weighted7),
        ),
        (
            "kbpf_test_weighted8",
            scalars(&A9[..8]),
            RetKind::Scalar,
            KfuncFlags::NONE,
            NativeFn::A8(weighted8),
        ),
        (
            "kbpf_test_weighted12",
            scalars(&["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"]),
            RetKind::Scalar,
            KfuncFlags::NONE,
            NativeFn::A12(weighted12),
        ),
        (
            "kbpf_test_nullable7",
            with(scalars(&A9[..6]), pass1("p__nullable")),
            RetKind::Scalar,
            KfuncFlags::NONE,
            NativeFn::A7(nullable7),
        ),
        (
            "bpf_kfunc_call_test_acquire",
            vec![arg("scalar_ptr", ArgKind::Mem { size: Some(8), uninit: false })],
            RetKind::BtfId("prog_test_ref_kfunc".into()),
            KfuncFlags::ACQUIRE | KfuncFlags::RET_NULL,
            native(RawNative::A1(test_acquire), &ACQUIRE),
        ),
        (
            "bpf_kfunc_call_test_release",
            vec![arg("p", ArgKind::BtfId("prog_test_ref_kfunc".into()))],
            RetKind::Void,
            KfuncFlags::RELEASE,
            NativeFn::A1(test_release),
        ),
        // appended so that the ids of the entries above stay as they were
        (
            "bpf_iter_testmod_seq_new",
            vec![seq("it"), ArgProto::scalar("value"), ArgProto::scalar("cnt")],
            RetKind::Scalar,
            KfuncFlags::ITER_NEW,
            native(RawNative::A3(iter_seq_new), &SEQ_NEW),
        ),
        (
            "bpf_iter_testmod_seq_next",
            vec![seq("it")],
            RetKind::Mem(8),
            KfuncFlags::ITER_NEXT | KfuncFlags::RET_NULL,
            native(RawNative::A1(iter_seq_next), &SEQ_ONE),
        ),
        (
            "bpf_iter_testmod_seq_value",
            vec![ArgProto::scalar("val"), seq("it__iter")],
            RetKind::Scalar,
            KfuncFlags::NONE,
            native(RawNative::A2(iter_seq_value), &SEQ_VALUE),
        ),
        (
            "bpf_iter_testmod_seq_destroy",
            vec![seq("it")],
            RetKind::Void,
            KfuncFlags::ITER_DESTROY,
            native(RawNative::A1(iter_seq_destroy), &SEQ_ONE),
        ),
    ];
    let n = entries.len() as i32;
    for (i, (name, args, ret, flags, native)) in entries.into_iter().enumerate() {
        let proto = Proto { args, ret: Some(ret), flags, prog_types: None };
        r.register(FuncKind::Kfunc, TESTMOD_BASE_ID + i as i32, name, proto, Some(native))?;
    }
    // Prototypes the verifier must refuse at the call (stack-args.md §7 cases 38 and 40): an
    // arena pointer in a stack position (declared in the upstream testmod header), and kbpf's
    // own 13-parameter kfunc (no native: no C ABI call takes 13 here).
    let arena = with(scalars(&A9[..5]), arg("f__arena", ArgKind::Arena));
    let proto = Proto { args: arena, ret: Some(RetKind::Scalar), flags: KfuncFlags::NONE, prog_types: None };
    r.register(
        FuncKind::Kfunc,
        TESTMOD_BASE_ID + n,
        "bpf_kfunc_arena_stack_arg_test",
        proto,
        Some(native(RawNative::A6(arena_stack_arg_test), &ARENA_ARGS)),
    )?;
    let thirteen = scalars(&["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m"]);
    let proto =
        Proto { args: thirteen, ret: Some(RetKind::Scalar), flags: KfuncFlags::NONE, prog_types: None };
    r.register(FuncKind::Kfunc, TESTMOD_BASE_ID + n + 1, "kbpf_test_thirteen_args", proto, None)?;
    Ok(())
}

/// Never runs on a verified program (the verifier refuses the arena pointer in slot 6).
extern "C" fn arena_stack_arg_test(a: U, b: U, c: U, d: U, e: U, _f: U) -> U {
    sum(&[a, b, c, d, e])
}
