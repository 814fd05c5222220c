//! Helper prototypes (`struct bpf_func_proto`) for the helpers kbpf models: the base set every
//! program type starts from (`bpf_base_func_proto`); each type's own additions live in its
//! module under `prog_types`.

use crate::ProgType;
use crate::protos::func_id::BpfFunc::{self, self as F};

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
    /// `ARG_PTR_TO_MAP_VALUE_OR_NULL`.
    MapValueOrNull,
    /// Pointer to memory sized by the next argument; `write` = helper writes it (uninit ok).
    Mem {
        /// Helper writes the memory.
        write: bool,
        /// NULL allowed (with size 0).
        maybe_null: bool,
    },
    /// `ARG_PTR_TO_MEM | MEM_WRITE`: memory the helper reads and updates in place.
    MemRw,
    /// Size of the previous memory argument (> 0).
    ConstSize,
    /// Size of the previous memory argument (>= 0).
    ConstSizeOrZero,
    /// The program context.
    Ctx,
    /// `ARG_PTR_TO_TIMER`: the `struct bpf_timer` of a map value.
    Timer,
    /// `ARG_PTR_TO_FUNC`: a static subprogram (`PTR_TO_FUNC`), the callback.
    Func,
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
    /// `ARG_PTR_TO_CTX_OR_NULL`.
    CtxOrNull,
    /// `ARG_PTR_TO_SOCK_COMMON`: any socket pointer, not NULL.
    SockCommon,
    /// `ARG_PTR_TO_SOCKET_OR_NULL`: a full socket or NULL.
    SocketOrNull,
    /// `ARG_PTR_TO_CONST_STR`: a NUL-terminated string in a frozen read-only map.
    ConstStr,
    /// `ARG_PTR_TO_BTF_ID_SOCK_COMMON | OBJ_RELEASE`: a referenced socket to release.
    ReleaseSock,
    /// `ARG_PTR_TO_BTF_ID_SOCK_COMMON`: any socket pointer (BTF ones included), not NULL.
    BtfSockCommon,
    /// `ARG_PTR_TO_FIXED_SIZE_MEM | MEM_WRITE` (or `MEM_UNINIT` when `uninit`): `size`
    /// writable bytes, strictly aligned with `MEM_ALIGNED`.
    FixedMem {
        /// Bytes.
        size: u32,
        /// `MEM_ALIGNED`.
        aligned: bool,
        /// `MEM_UNINIT`: the helper fills the buffer (raw mode).
        uninit: bool,
    },
    /// `ARG_PTR_TO_FIXED_SIZE_MEM`: `n` readable bytes.
    FixedMemRd(u32),
    /// `ARG_PTR_TO_BTF_ID` (`null`: `_OR_NULL`): a BTF pointer to the kernel struct `name`
    /// (or to one that starts with it).
    BtfObj {
        /// The struct's name in the target BTF.
        name: &'static str,
        /// NULL allowed.
        null: bool,
    },
    /// An argument kind kbpf does not model (the call gets no verdict).
    Unmodelled(&'static str),
    /// `ARG_PTR_TO_RINGBUF_MEM | OBJ_RELEASE`: a reserved ring-buffer record to submit or
    /// discard.
    ReleaseRingbufMem,
    /// `ARG_PTR_TO_STACK_OR_NULL`: a callback's context, a stack pointer or NULL.
    StackOrNull,
    /// `ARG_PTR_TO_SPIN_LOCK`: the `struct bpf_spin_lock` of a map value or allocated object.
    SpinLock,
    /// `ARG_KPTR_XCHG_DEST`: a referenced kptr field of a map value (or allocated object).
    KptrXchgDest,
    /// `ARG_PTR_TO_BTF_ID_OR_NULL | OBJ_RELEASE` typed by the destination kptr field: the
    /// referenced pointer `bpf_kptr_xchg` moves into the field.
    KptrXchgSrc,
    /// `ARG_PTR_TO_PERCPU_BTF_ID`: a per-CPU BTF pointer (`bpf_per_cpu_ptr`,
    /// `bpf_this_cpu_ptr`).
    PercpuBtfId,
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
    /// `RET_PTR_TO_MAP_VALUE`: never NULL (`bpf_get_local_storage`).
    MapValue,
    /// `RET_PTR_TO_DYNPTR_MEM_OR_NULL`: a slice of the dynptr argument.
    DynptrMemOrNull,
    /// `RET_PTR_TO_SOCKET_OR_NULL`.
    SocketOrNull,
    /// `RET_PTR_TO_SOCK_COMMON_OR_NULL`.
    SockCommonOrNull,
    /// `RET_PTR_TO_TCP_SOCK_OR_NULL`.
    TcpSockOrNull,
    /// `RET_PTR_TO_BTF_ID` of the kernel struct `name` with these type flags (`MAYBE_NULL`:
    /// `_OR_NULL`, `PTR_TRUSTED`: `RET_PTR_TO_BTF_ID_TRUSTED`).
    BtfObj {
        /// The struct's name in the target BTF.
        name: &'static str,
        /// Type flags.
        flags: u16,
    },
    /// `RET_PTR_TO_RINGBUF_MEM_OR_NULL`: a new reference to `ARG_CONST_ALLOC_SIZE_OR_ZERO`
    /// bytes of ring buffer.
    RingbufMemOrNull,
    /// `RET_PTR_TO_BTF_ID_OR_NULL` typed by the kptr field: `bpf_kptr_xchg`'s old pointer,
    /// a new reference.
    KptrXchg,
    /// `RET_PTR_TO_MEM_OR_BTF_ID | MEM_RDONLY` (`null`: `| PTR_MAYBE_NULL`): one CPU's copy
    /// of the `ARG_PTR_TO_PERCPU_BTF_ID` argument's object.
    PercpuObj {
        /// Whether the CPU may not exist (`bpf_per_cpu_ptr`).
        null: bool,
    },
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

pub(crate) fn p(args: [Arg; 5], ret: Ret) -> Proto {
    Proto { args, ret, gpl_only: false, map_types: &[] }
}

/// The prototype of base helper `id` (`bpf_base_func_proto` with CAP_BPF), `None` when the
/// helper is not in the base set or kbpf does not model it.
pub(crate) fn base_func_proto(f: BpfFunc) -> Option<Proto> {
    use Arg::*;
    match f {
        F::MapLookupElem => Some(p([ConstMapPtr, MapKey, D, D, D], Ret::MapValueOrNull)),
        F::MapUpdateElem => Some(p([ConstMapPtr, MapKey, MapValue, Anything, D], Ret::Integer)),
        F::MapDeleteElem => Some(p([ConstMapPtr, MapKey, D, D, D], Ret::Integer)),
        F::KtimeGetNs
        | F::GetPrandomU32
        | F::GetSmpProcessorId
        | F::GetCurrentPidTgid
        | F::GetCurrentUidGid
        | F::GetCurrentTask
        | F::GetNumaNodeId
        | F::GetCurrentCgroupId
        | F::Jiffies64
        | F::KtimeGetBootNs
        | F::KtimeGetCoarseNs
        | F::KtimeGetTaiNs => Some(p([D; 5], Ret::Integer)),
        F::GetCurrentComm => {
            Some(p([Mem { write: true, maybe_null: false }, ConstSize, D, D, D], Ret::Integer))
        }
        F::TracePrintk => Some(Proto {
            args: [Mem { write: false, maybe_null: false }, ConstSize, D, D, D],
            ret: Ret::Integer,
            gpl_only: true,
            map_types: &[],
        }),
        F::TailCall => Some(Proto {
            args: [Ctx, ConstMapPtr, Anything, D, D],
            ret: Ret::Void,
            gpl_only: false,
            map_types: &[3],
        }),
        F::ProbeReadUser | F::ProbeReadKernel | F::ProbeReadUserStr | F::ProbeReadKernelStr => Some(Proto {
            args: [Mem { write: true, maybe_null: false }, ConstSizeOrZero, Anything, D, D],
            ret: Ret::Integer,
            gpl_only: true,
            map_types: &[],
        }),
        // bpf_dynptr_from_mem, bpf_dynptr_read, bpf_dynptr_write (bpf_base_func_proto, CAP_BPF)
        F::DynptrFromMem => Some(p(
            [Mem { write: true, maybe_null: false }, ConstSizeOrZero, Anything, DYNPTR_NEW, D],
            Ret::Integer,
        )),
        F::DynptrRead => Some(p(
            [Mem { write: true, maybe_null: false }, ConstSizeOrZero, DYNPTR, Anything, Anything],
            Ret::Integer,
        )),
        F::DynptrWrite => Some(p(
            [DYNPTR, Anything, Mem { write: false, maybe_null: false }, ConstSizeOrZero, Anything],
            Ret::Integer,
        )),
        // bpf_timer_init, bpf_timer_set_callback, bpf_timer_start, bpf_timer_cancel
        // (bpf_base_func_proto, CAP_BPF)
        F::TimerInit => Some(Proto {
            args: [Timer, ConstMapPtr, Anything, D, D],
            ret: Ret::Integer,
            gpl_only: true,
            map_types: &[],
        }),
        F::TimerSetCallback => {
            Some(Proto { args: [Timer, Func, D, D, D], ret: Ret::Integer, gpl_only: true, map_types: &[] })
        }
        F::TimerStart => Some(Proto {
            args: [Timer, Anything, Anything, D, D],
            ret: Ret::Integer,
            gpl_only: true,
            map_types: &[],
        }),
        F::TimerCancel => {
            Some(Proto { args: [Timer, D, D, D, D], ret: Ret::Integer, gpl_only: true, map_types: &[] })
        }
        // bpf_dynptr_data
        F::DynptrData => Some(p([DYNPTR, Anything, ConstAllocSizeOrZero, D, D], Ret::DynptrMemOrNull)),
        // bpf_ringbuf_reserve_dynptr, bpf_ringbuf_submit_dynptr, bpf_ringbuf_discard_dynptr
        F::RingbufReserveDynptr => Some(Proto {
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
        F::RingbufSubmitDynptr | F::RingbufDiscardDynptr => {
            Some(p([Dynptr { uninit: false, ringbuf: true, release: true }, Anything, D, D, D], Ret::Void))
        }
        _ => base_extra_proto(f).or_else(|| base_btf_proto(f)),
    }
}

/// The helpers of `bpf_base_func_proto`'s `CAP_BPF` and `CAP_PERFMON` tiers that take or
/// return kernel objects: BTF pointers, per-CPU pointers, callbacks, locks and kptrs. Those
/// kbpf does not model yet have an [`Arg::Unmodelled`] argument, so a call to one gets no
/// verdict rather than a wrong one.
fn base_btf_proto(f: BpfFunc) -> Option<Proto> {
    use Arg::*;
    const TASK: Arg = BtfObj { name: "task_struct", null: false };
    let gpl = |mut pr: Proto| {
        pr.gpl_only = true;
        pr
    };
    Some(match f {
        F::GetCurrentTaskBtf => {
            gpl(p([D; 5], Ret::BtfObj { name: "task_struct", flags: crate::domain::state::PTR_TRUSTED }))
        }
        F::TaskPtRegs => gpl(p([TASK, D, D, D, D], Ret::BtfObj { name: "pt_regs", flags: 0 })),
        F::SnprintfBtf => p(
            [
                Mem { write: true, maybe_null: false },
                ConstSize,
                Mem { write: false, maybe_null: false },
                ConstSize,
                Anything,
            ],
            Ret::Integer,
        ),
        F::Snprintf => gpl(p(
            [
                Mem { write: true, maybe_null: true },
                ConstSizeOrZero,
                ConstStr,
                Mem { write: false, maybe_null: true },
                ConstSizeOrZero,
            ],
            Ret::Integer,
        )),
        F::PerCpuPtr => p([Arg::PercpuBtfId, Anything, D, D, D], Ret::PercpuObj { null: true }),
        F::ThisCpuPtr => p([Arg::PercpuBtfId, D, D, D, D], Ret::PercpuObj { null: false }),
        F::SpinLock | F::SpinUnlock => {
            Proto { args: [Arg::SpinLock, D, D, D, D], ret: Ret::Void, gpl_only: false, map_types: &[] }
        }
        F::KptrXchg => Proto {
            args: [Arg::KptrXchgDest, Arg::KptrXchgSrc, D, D, D],
            ret: Ret::KptrXchg,
            gpl_only: false,
            map_types: &[],
        },
        // bpf_user_ringbuf_drain(user ring buffer, callback_fn, callback_ctx, flags)
        F::UserRingbufDrain => Proto {
            args: [ConstMapPtr, Func, StackOrNull, Anything, D],
            ret: Ret::Integer,
            gpl_only: false,
            map_types: &[31],
        },
        // bpf_for_each_map_elem(map, callback_fn, callback_ctx, flags)
        F::ForEachMapElem => p([ConstMapPtr, Func, StackOrNull, Anything, D], Ret::Integer),
        // bpf_loop(nr_loops, callback_fn, callback_ctx, flags)
        F::Loop => p([Anything, Func, StackOrNull, Anything, D], Ret::Integer),
        _ => return None,
    })
}

/// More of `bpf_base_func_proto` (kernel-checked for socket filters, xdp and tc): map helpers
/// of map types kbpf does not create (they fail the map-type check), string and misc helpers.
fn base_extra_proto(f: BpfFunc) -> Option<Proto> {
    use Arg::*;
    const WR: Arg = Mem { write: true, maybe_null: false };
    const RD: Arg = Mem { write: false, maybe_null: false };
    let gpl = |mut pr: Proto| {
        pr.gpl_only = true;
        pr
    };
    let maps = |mut pr: Proto, types: &'static [u32]| {
        pr.map_types = types;
        pr
    };
    Some(match f {
        // perf_event_read / _value: perf event arrays
        F::PerfEventRead => gpl(maps(p([ConstMapPtr, Anything, D, D, D], Ret::Integer), &[4])),
        F::PerfEventReadValue => gpl(maps(p([ConstMapPtr, Anything, WR, ConstSize, D], Ret::Integer), &[4])),
        // current_task_under_cgroup: cgroup arrays
        F::CurrentTaskUnderCgroup => maps(p([ConstMapPtr, Anything, D, D, D], Ret::Integer), &[8]),
        // queue/stack maps; push and peek also bloom filters
        F::MapPushElem => maps(p([ConstMapPtr, MapValue, Anything, D, D], Ret::Integer), &[22, 23, 30]),
        F::MapPeekElem => maps(p([ConstMapPtr, MapValue, D, D, D], Ret::Integer), &[22, 23, 30]),
        F::MapPopElem => maps(p([ConstMapPtr, MapValue, D, D, D], Ret::Integer), &[22, 23]),
        // strncmp: a buffer and its size against a constant string
        F::Strncmp => p([RD, ConstSize, ConstStr, D, D], Ret::Integer),
        // strtol / strtoul: buf, len, flags, 8-byte result
        F::Strtol | F::Strtoul => {
            p([RD, ConstSize, Anything, FixedMem { size: 8, aligned: true, uninit: true }, D], Ret::Integer)
        }
        F::SendSignal | F::SendSignalThread => gpl(p([Anything, D, D, D, D], Ret::Integer)),
        F::GetNsCurrentPidTgid => p([Anything, Anything, WR, ConstSize, D], Ret::Integer),
        F::GetCurrentAncestorCgroupId => p([Anything, D, D, D, D], Ret::Integer),
        // ringbuf_output / ringbuf_query: ring buffers
        F::RingbufOutput => maps(p([ConstMapPtr, RD, ConstSizeOrZero, Anything, D], Ret::Integer), &[27]),
        F::RingbufQuery => maps(p([ConstMapPtr, Anything, D, D, D], Ret::Integer), &[27]),
        // flags travel in r3 but the prototype declares two arguments (liveness sees r1, r2)
        F::GetBranchSnapshot => gpl(p([WR, ConstSizeOrZero, D, D, D], Ret::Integer)),
        F::TraceVprintk => {
            gpl(p([RD, ConstSize, Mem { write: false, maybe_null: true }, ConstSizeOrZero, D], Ret::Integer))
        }
        // task and cgroup local storage: get and delete both take a NULL owner (checked at run time)
        F::TaskStorageGet => maps(
            p(
                [ConstMapPtr, BtfObj { name: "task_struct", null: true }, MapValueOrNull, Anything, D],
                Ret::MapValueOrNull,
            ),
            &[29],
        ),
        F::TaskStorageDelete => {
            maps(p([ConstMapPtr, BtfObj { name: "task_struct", null: true }, D, D, D], Ret::Integer), &[29])
        }
        F::CgrpStorageGet => maps(
            p(
                [ConstMapPtr, BtfObj { name: "cgroup", null: true }, MapValueOrNull, Anything, D],
                Ret::MapValueOrNull,
            ),
            &[32],
        ),
        F::CgrpStorageDelete => {
            maps(p([ConstMapPtr, BtfObj { name: "cgroup", null: true }, D, D, D], Ret::Integer), &[32])
        }
        // ring buffer records: a new reference, released by submit or discard
        F::RingbufReserve => maps(
            p([ConstMapPtr, ConstAllocSizeOrZero, Anything, D, D], Ret::RingbufMemOrNull),
            &[RINGBUF_MAP],
        ),
        F::RingbufSubmit | F::RingbufDiscard => p([ReleaseRingbufMem, Anything, D, D, D], Ret::Void),
        // map_lookup_percpu_elem: per-CPU hashes and arrays
        F::MapLookupPercpuElem => {
            maps(p([ConstMapPtr, MapKey, Anything, D, D], Ret::MapValueOrNull), &[5, 6, 10])
        }
        // copy_from_user(_task) sleep; only the sleepable syscall programs get to the arguments
        // (and their set leaves out the task variant)
        F::CopyFromUser => gpl(p([WR, ConstSizeOrZero, Anything, D, D], Ret::Integer)),
        F::CopyFromUserTask => gpl(p(
            [WR, ConstSizeOrZero, Anything, BtfObj { name: "task_struct", null: false }, Anything],
            Ret::Integer,
        )),
        _ => return None,
    })
}

/// Helpers that may sleep (`fn->might_sleep`): refused in non-sleepable programs.
pub fn helper_might_sleep(f: BpfFunc) -> bool {
    matches!(f, F::CopyFromUser | F::CopyFromUserTask)
}

/// Whether the helper changes packet data (invalidating packet pointers):
/// `bpf_helper_changes_pkt_data`.
pub fn changes_pkt_data(f: BpfFunc) -> bool {
    matches!(
        f,
        F::SkbStoreBytes
            | F::SkbChangeHead
            | F::SkbChangeTail
            | F::SkbAdjustRoom
            | F::SkbChangeProto
            | F::SkbVlanPush
            | F::SkbVlanPop
            | F::SkbPullData
            | F::L3CsumReplace
            | F::L4CsumReplace
            | F::CloneRedirect
            | F::XdpAdjustHead
            | F::XdpAdjustMeta
            | F::XdpAdjustTail
            | F::MsgPullData
            | F::MsgPushData
            | F::MsgPopData
            | F::StoreHdrOpt
            | F::LwtPushEncap
            | F::LwtSeg6StoreBytes
            | F::LwtSeg6AdjustSrh
            | F::LwtSeg6Action
    )
}

/// Helpers declared with `.pkt_access = true`: the only ones a packet pointer may be passed to
/// (`may_access_direct_pkt_data` with a helper's `meta`), kernel-checked for tc.
pub fn helper_pkt_access(f: BpfFunc) -> bool {
    matches!(
        f,
        F::MapLookupElem
            | F::MapUpdateElem
            | F::MapDeleteElem
            | F::MapPushElem
            | F::MapPopElem
            | F::MapPeekElem
    ) || matches!(f, F::CsumDiff | F::SkLookupTcp | F::SkLookupUdp | F::SkcLookupTcp)
        || matches!(f, F::TcpCheckSyncookie | F::TcpGenSyncookie)
        || matches!(
            f,
            F::TcpRawGenSyncookieIpv4
                | F::TcpRawGenSyncookieIpv6
                | F::TcpRawCheckSyncookieIpv4
                | F::TcpRawCheckSyncookieIpv6
        )
}

/// Helpers that return a new reference (`is_acquire_function`).
pub fn is_acquire_function(f: BpfFunc) -> bool {
    matches!(f, F::SkLookupTcp | F::SkLookupUdp | F::SkcLookupTcp | F::RingbufReserve)
}

/// Helpers whose result shares the argument's reference (`is_ptr_cast_function`).
pub fn is_ptr_cast_function(f: BpfFunc) -> bool {
    matches!(
        f,
        F::SkFullsock
            | F::TcpSock
            | F::SkcToTcp6Sock
            | F::SkcToTcpSock
            | F::SkcToTcpTimewaitSock
            | F::SkcToTcpRequestSock
            | F::SkcToUdp6Sock
            | F::SkcToMptcpSock
            | F::SkcToUnixSock
    )
}

/// Parameter count for liveness (`get_call_summary`).
pub fn helper_arg_count(id: i32, pt: ProgType) -> Option<u8> {
    pt.ops()
        .func_proto(BpfFunc::from_id(id)?)
        .map(|p| p.args.iter().take_while(|a| **a != Arg::DontCare).count() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_set_holds_ring_buffers_and_marks_what_is_not_modelled() {
        let reserve = base_func_proto(F::RingbufReserve).unwrap();
        assert_eq!(reserve.ret, Ret::RingbufMemOrNull);
        assert_eq!(base_func_proto(F::RingbufSubmit).unwrap().args[0], Arg::ReleaseRingbufMem);
        // offered by bpf_base_func_proto to every type, so never "cannot use helper"
        let this_cpu = base_func_proto(F::ThisCpuPtr).unwrap();
        assert_eq!((this_cpu.args[0], this_cpu.ret), (Arg::PercpuBtfId, Ret::PercpuObj { null: false }));
        assert_eq!(base_func_proto(F::PerCpuPtr).unwrap().ret, Ret::PercpuObj { null: true });
        assert_eq!(base_func_proto(F::SpinLock).unwrap().args[0], Arg::SpinLock);
        assert_eq!(base_func_proto(F::SpinUnlock).unwrap().ret, Ret::Void);
        let task = base_func_proto(F::GetCurrentTaskBtf).unwrap();
        assert!(task.gpl_only);
        assert_eq!(task.ret, Ret::BtfObj { name: "task_struct", flags: crate::domain::state::PTR_TRUSTED });
        // bpf_find_vma is bpf_tracing_func_proto's, not the base set's
        assert!(base_func_proto(F::FindVma).is_none());
    }
}
