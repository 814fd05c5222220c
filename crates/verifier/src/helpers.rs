//! Helper prototypes (`struct bpf_func_proto`) for the helpers kbpf models, and which program
//! types may call them.

use crate::ProgType;

/// Argument kinds (`enum bpf_arg_type`, with the flags kbpf needs folded in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arg {
    /// Unused.
    DontCare,
    /// Any scalar (pointers leak only for unprivileged loaders).
    Anything,
    /// `CONST_PTR_TO_MAP`.
    ConstMapPtr,
    /// Pointer to `key_size` readable bytes.
    MapKey,
    /// Pointer to `value_size` readable bytes.
    MapValue,
    /// Pointer to memory sized by the next argument; `write` = helper writes it (uninit ok).
    Mem {
        /// Helper writes the memory.
        write: bool,
        /// NULL allowed (with size 0).
        maybe_null: bool,
    },
    /// Size of the previous memory argument (> 0).
    ConstSize,
    /// Size of the previous memory argument (>= 0).
    ConstSizeOrZero,
    /// The program context.
    Ctx,
    /// `ARG_PTR_TO_TIMER`: the `struct bpf_timer` of a map value.
    Timer,
    /// `ARG_CONST_ALLOC_SIZE_OR_ZERO`: a known constant, the size of the returned memory.
    ConstAllocSizeOrZero,
    /// `ARG_PTR_TO_DYNPTR`: `uninit` = constructor of a `local` dynptr (`MEM_UNINIT |
    /// DYNPTR_TYPE_LOCAL`), else an initialized dynptr of any type (`MEM_RDONLY`).
    Dynptr {
        /// Constructor.
        uninit: bool,
        /// `DYNPTR_TYPE_RINGBUF`: created as / must be a ring-buffer dynptr.
        ringbuf: bool,
        /// `OBJ_RELEASE`: the helper releases the dynptr's reference.
        release: bool,
    },
}

/// Return kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// Unknown scalar.
    Integer,
    /// Nothing (R0 not readable).
    Void,
    /// `PTR_TO_MAP_VALUE_OR_NULL`.
    MapValueOrNull,
    /// `RET_PTR_TO_DYNPTR_MEM_OR_NULL`: a slice of the dynptr argument.
    DynptrMemOrNull,
}

/// One prototype.
#[derive(Clone, Copy, Debug)]
pub struct Proto {
    /// Arguments r1..r5.
    pub args: [Arg; 5],
    /// Return kind.
    pub ret: Ret,
    /// GPL-only helper.
    pub gpl_only: bool,
    /// Map types (by kernel number) the helper accepts, empty = any.
    pub map_types: &'static [u32],
}

const D: Arg = Arg::DontCare;
/// A local dynptr constructor argument.
const DYNPTR_NEW: Arg = Arg::Dynptr { uninit: true, ringbuf: false, release: false };
/// An initialized dynptr of any type.
const DYNPTR: Arg = Arg::Dynptr { uninit: false, ringbuf: false, release: false };
/// `BPF_MAP_TYPE_RINGBUF`.
pub const RINGBUF_MAP: u32 = 27;
/// Helpers a ring buffer may be passed to (`check_map_func_compatibility`): output, reserve,
/// query and the dynptr variants.
pub const RINGBUF_HELPERS: [i32; 6] = [130, 131, 134, 198, 199, 200];

fn p(args: [Arg; 5], ret: Ret) -> Proto {
    Proto { args, ret, gpl_only: false, map_types: &[] }
}

/// The prototype of helper `id` for program type `pt`, or `None` when the program type may not
/// call it (or kbpf does not model it).
pub fn helper_proto(id: i32, pt: ProgType) -> Option<Proto> {
    use Arg::*;
    let base = match id {
        1 => Some(p([ConstMapPtr, MapKey, D, D, D], Ret::MapValueOrNull)),
        2 => Some(p([ConstMapPtr, MapKey, MapValue, Anything, D], Ret::Integer)),
        3 => Some(p([ConstMapPtr, MapKey, D, D, D], Ret::Integer)),
        5 | 7 | 8 | 42 | 118 | 125 | 160 | 208 => Some(p([D; 5], Ret::Integer)),
        6 => Some(Proto {
            args: [Mem { write: false, maybe_null: false }, ConstSize, D, D, D],
            ret: Ret::Integer,
            gpl_only: true,
            map_types: &[],
        }),
        12 => Some(Proto {
            args: [Ctx, ConstMapPtr, Anything, D, D],
            ret: Ret::Void,
            gpl_only: false,
            map_types: &[3],
        }),
        113 | 115 => Some(Proto {
            args: [Mem { write: true, maybe_null: false }, ConstSizeOrZero, Anything, D, D],
            ret: Ret::Integer,
            gpl_only: true,
            map_types: &[],
        }),
        // bpf_dynptr_from_mem, bpf_dynptr_read, bpf_dynptr_write (bpf_base_func_proto, CAP_BPF)
        197 => Some(p(
            [Mem { write: true, maybe_null: false }, ConstSizeOrZero, Anything, DYNPTR_NEW, D],
            Ret::Integer,
        )),
        201 => Some(p(
            [Mem { write: true, maybe_null: false }, ConstSizeOrZero, DYNPTR, Anything, Anything],
            Ret::Integer,
        )),
        202 => Some(p(
            [DYNPTR, Anything, Mem { write: false, maybe_null: false }, ConstSizeOrZero, Anything],
            Ret::Integer,
        )),
        // bpf_timer_init, bpf_timer_start, bpf_timer_cancel (bpf_base_func_proto, CAP_BPF);
        // bpf_timer_set_callback needs async callbacks, which are not modelled
        169 => Some(Proto {
            args: [Timer, ConstMapPtr, Anything, D, D],
            ret: Ret::Integer,
            gpl_only: true,
            map_types: &[],
        }),
        171 => Some(Proto {
            args: [Timer, Anything, Anything, D, D],
            ret: Ret::Integer,
            gpl_only: true,
            map_types: &[],
        }),
        172 => Some(Proto { args: [Timer, D, D, D, D], ret: Ret::Integer, gpl_only: true, map_types: &[] }),
        // bpf_dynptr_data
        203 => Some(p([DYNPTR, Anything, ConstAllocSizeOrZero, D, D], Ret::DynptrMemOrNull)),
        // bpf_ringbuf_reserve_dynptr, bpf_ringbuf_submit_dynptr, bpf_ringbuf_discard_dynptr
        198 => Some(Proto {
            args: [
                ConstMapPtr,
                Anything,
                Anything,
                Dynptr { uninit: true, ringbuf: true, release: false },
                D,
            ],
            ret: Ret::Integer,
            gpl_only: false,
            map_types: &[RINGBUF_MAP],
        }),
        199 | 200 => {
            Some(p([Dynptr { uninit: false, ringbuf: true, release: true }, Anything, D, D, D], Ret::Void))
        }
        _ => None,
    };
    if base.is_some() {
        return base;
    }
    match (pt, id) {
        (ProgType::SocketFilter, 26) => {
            Some(p([Ctx, Anything, Mem { write: true, maybe_null: false }, ConstSize, D], Ret::Integer))
        }
        (ProgType::SocketFilter, 46 | 47) => Some(p([Ctx, D, D, D, D], Ret::Integer)),
        (ProgType::Xdp, 44 | 54 | 65) => Some(p([Ctx, Anything, D, D, D], Ret::Integer)),
        (ProgType::Xdp, 188) => Some(p([Ctx, D, D, D, D], Ret::Integer)),
        (ProgType::Xdp, 23) => Some(p([Anything, Anything, D, D, D], Ret::Integer)),
        (ProgType::Xdp | ProgType::SocketFilter, 28) => Some(p(
            [
                Mem { write: false, maybe_null: true },
                ConstSizeOrZero,
                Mem { write: false, maybe_null: true },
                ConstSizeOrZero,
                Anything,
            ],
            Ret::Integer,
        )),
        _ => None,
    }
}

/// Whether the helper changes packet data (invalidating packet pointers).
pub fn changes_pkt_data(id: i32) -> bool {
    matches!(id, 44 | 54 | 65 | 9 | 10 | 11 | 31 | 38 | 39 | 43 | 50)
}

/// Parameter count for liveness (`get_call_summary`).
pub fn helper_arg_count(id: i32, pt: ProgType) -> Option<u8> {
    helper_proto(id, pt).map(|p| p.args.iter().take_while(|a| **a != Arg::DontCare).count() as u8)
}
