//! What engines share to run callbacks: the roles of the functions a program gains when its
//! callback-calling helpers are lowered to BPF drivers (`kbpf_jit::lower_callbacks`), and the
//! native the `bpf_for_each_map_elem` driver walks a map with.
//!
//! `bpf_loop` and `bpf_for_each_map_elem` call a BPF subprogram once per iteration. Rather than
//! have a native call back into an engine, each call site is relinked to a *driver*: a BPF
//! function appended to the program that loops as the kernel's helper does and calls the
//! callback with `call` (its own frame, r1..r5 as the kernel passes them, r0 read back). Every
//! engine then runs callbacks as ordinary bpf-to-bpf calls; the drivers' frames do not count
//! against `MAX_CALL_FRAMES` ([`FuncRoles::drivers`]). `bpf_throw` needs the engine itself:
//! it unwinds to the main function's caller through [`FuncRoles::exception_cb`].

use crate::native::{NativeFn, RawNative};
use crate::proto::{ArgKind, ArgProto, NativeArg, Proto, RetKind};
use crate::registry::{FuncKind, Registry, RegistryError};

/// Helper id of [`map_next_elem`]: outside the kernel's helper ids, reached only from the
/// drivers kbpf appends (the verifier never sees them).
pub const MAP_NEXT_ELEM_ID: i32 = 0x4b42_0001;
/// Its name in the registry.
pub const MAP_NEXT_ELEM: &str = "kbpf_map_next_elem";
/// What lowering turns a `bpf_throw` kfunc call into: `call THROW_ID`, a helper id outside the
/// kernel's that every engine runs itself (unwinding), whatever BTF id the target gave
/// `bpf_throw`. No registry has it.
pub const THROW_ID: i32 = 0x4b42_0002;

/// The functions of a lowered program engines treat specially (slots of the lowered program).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FuncRoles {
    /// First slot of each callback driver: a frame of the engine's, not of the program's, so
    /// the `MAX_CALL_FRAMES` limit does not count it (the kernel's helpers are C functions).
    pub drivers: Vec<usize>,
    /// First slot of the function `bpf_throw` runs once the frames are unwound (the program's
    /// `exception_callback:` or the default one appended), if the program throws.
    pub exception_cb: Option<usize>,
}

/// Whether an engine runs the helper or kfunc `name` through the lowering (no native needed):
/// the callback helpers become drivers, `bpf_throw` unwinds.
pub fn lowered(kind: FuncKind, name: &str) -> bool {
    match kind {
        FuncKind::Helper => matches!(name, "bpf_loop" | "bpf_for_each_map_elem"),
        FuncKind::Kfunc => name == "bpf_throw",
    }
}

// Contract: `map` is a map of the run; `state` is writable for `len` bytes.
#[allow(unsafe_code)]
unsafe extern "C" fn map_next_elem(map: u64, state: u64, len: u64) -> u64 {
    // SAFETY: the contract above (`map` checked by the engine or proven by the verifier for
    // the driver's caller; `Map` is used through `&` only).
    let Some(m) = (unsafe { (map as *const crate::maps::Map).as_ref() }) else { return 0 };
    let key_size = m.spec().key_size as usize;
    if len < 8 || (len as usize) < 8 + key_size {
        return 0;
    }
    // SAFETY: `state` is writable for `len >= 8 + key_size` bytes (the contract); unaligned
    // accesses, since an engine's stack slot need not be 8-aligned.
    let cursor = unsafe { (state as *const u64).read_unaligned() };
    let Some((slot, key, value)) = m.elem_from(cursor) else { return 0 };
    // SAFETY: as above.
    unsafe {
        (state as *mut u64).write_unaligned(slot as u64 + 1);
        std::ptr::copy_nonoverlapping(key.as_ptr(), (state as *mut u8).add(8), key_size.min(key.len()));
    }
    value
}

/// Registers [`map_next_elem`]: `(map, state, len) -> value address or 0`, where `state` is
/// the walk's cursor (u64, the next slot to look at) followed by room for a key. It finds the
/// first element at or after the cursor (arrays: every index; hash maps: occupied slots, in
/// slot order), writes its key after the cursor, moves the cursor past it and returns the
/// address of its value (this CPU's copy for a per-CPU map); 0 once no element is left.
pub fn register(r: &mut Registry) -> Result<(), RegistryError> {
    static CONTRACT: [NativeArg; 3] = [NativeArg::Map, NativeArg::mem(2, true, false), NativeArg::Value];
    // SAFETY: `map_next_elem` reads the map and writes `len` bytes at `state`, as the contract
    // says, and returns.
    #[allow(unsafe_code)]
    let f = unsafe { NativeFn::with_contract(RawNative::A3(map_next_elem), &CONTRACT) }
        .expect("one contract entry per parameter");
    let arg = |name: &str, kind: ArgKind| ArgProto { name: name.to_string(), kind, nullable: false };
    let proto = Proto {
        args: vec![
            arg("map", ArgKind::Map),
            // read and written (`uninit`: the native writes it)
            arg("state", ArgKind::Mem { size: None, uninit: true }),
            arg("len", ArgKind::MemSize { constant: false }),
        ],
        ret: Some(RetKind::Scalar),
        ..Proto::default()
    };
    r.register(FuncKind::Helper, MAP_NEXT_ELEM_ID, MAP_NEXT_ELEM, proto, Some(f))
}
