//! The tracing helpers of `kernel/trace/bpf_trace.c`: the set every tracing program type starts
//! from (`bpf_tracing_func_proto`, itself falling back to the base set) and the per-type
//! variants of the helpers that need the probed registers (`perf_event_output`,
//! `get_stackid`, `get_stack`), which each program type picks in its own module.

use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::{Arg, Proto, Ret, base_func_proto};

/// `BPF_MAP_TYPE_PERF_EVENT_ARRAY`.
const PERF_EVENT_ARRAY: u32 = 4;
/// `BPF_MAP_TYPE_STACK_TRACE`.
const STACK_TRACE: u32 = 7;
/// `BPF_MAP_TYPE_RINGBUF`.
const RINGBUF: u32 = 27;

const D: Arg = Arg::DontCare;
const A: Arg = Arg::Anything;
/// `ARG_PTR_TO_UNINIT_MEM`: the helper fills it.
const UNINIT: Arg = Arg::Mem { write: true, maybe_null: false };
/// `ARG_PTR_TO_MEM | MEM_RDONLY`.
const RD: Arg = Arg::Mem { write: false, maybe_null: false };

const fn proto(args: [Arg; 5], gpl_only: bool, map_types: &'static [u32]) -> Proto {
    Proto { args, ret: Ret::Integer, gpl_only, map_types }
}

/// `bpf_perf_event_output` (all tracing variants share the prototype).
pub(crate) const PERF_EVENT_OUTPUT: Proto =
    proto([Arg::Ctx, Arg::ConstMapPtr, A, RD, Arg::ConstSizeOrZero], true, &[PERF_EVENT_ARRAY]);
/// `bpf_get_stackid` (ctx, stack-trace map, flags).
pub(crate) const GET_STACKID: Proto = proto([Arg::Ctx, Arg::ConstMapPtr, A, D, D], true, &[STACK_TRACE]);
/// `bpf_get_stack` of kprobes, tracepoints and perf events: the buffer is filled.
pub(crate) const GET_STACK: Proto = proto([Arg::Ctx, UNINIT, Arg::ConstSizeOrZero, A, D], true, &[]);
/// `bpf_get_stack` of raw tracepoints: 6.18 takes an uninitialised buffer and writes it (the
/// kernel-diff `trace_ctx` cases `get_stack_uninit_raw_tracepoint*`, and the stack slots its
/// level-2 log shows written after the call).
pub(crate) const GET_STACK_RAW_TP: Proto = proto([Arg::Ctx, UNINIT, Arg::ConstSizeOrZero, A, D], true, &[]);
/// `bpf_get_attach_cookie` (every variant takes the context).
pub(crate) const GET_ATTACH_COOKIE: Proto = proto([Arg::Ctx, D, D, D, D], false, &[]);

/// `bpf_tracing_func_proto`: what kprobes, tracepoints, raw tracepoints and perf events may
/// all call (kbpf's model of it; see [`tracing_unmodelled`] for the rest).
pub(crate) fn tracing_func_proto(f: BpfFunc) -> Option<Proto> {
    Some(match f {
        // probe_write_user: root only, and only without lockdown
        F::ProbeWriteUser => proto([A, RD, Arg::ConstSize, D, D], true, &[]),
        // the compat readers (x86 has non-overlapping address spaces)
        F::ProbeRead | F::ProbeReadStr => proto([UNINIT, Arg::ConstSizeOrZero, A, D, D], true, &[]),
        // not GPL-only here (the base set's copy is kernel-checked elsewhere)
        F::SendSignal | F::SendSignalThread => proto([A, D, D, D, D], false, &[]),
        F::PerfEventReadValue => {
            proto([Arg::ConstMapPtr, A, UNINIT, Arg::ConstSize, D], true, &[PERF_EVENT_ARRAY])
        }
        F::RingbufReserve => Proto {
            args: [Arg::ConstMapPtr, Arg::ConstAllocSizeOrZero, A, D, D],
            ret: Ret::RingbufMemOrNull,
            gpl_only: false,
            map_types: &[RINGBUF],
        },
        F::RingbufSubmit | F::RingbufDiscard => Proto {
            args: [Arg::ReleaseRingbufMem, A, D, D, D],
            ret: Ret::Void,
            gpl_only: false,
            map_types: &[],
        },
        // bpf_get_func_ip of the tracing set; kprobes replace it
        F::GetFuncIp => proto([Arg::Ctx, D, D, D, D], true, &[]),
        F::GetBranchSnapshot => proto([UNINIT, Arg::ConstSizeOrZero, D, D, D], true, &[]),
        F::FindVma => crate::protos::btf_helpers::FIND_VMA,
        F::TraceVprintk => proto(
            [RD, Arg::ConstSize, Arg::Mem { write: false, maybe_null: true }, Arg::ConstSizeOrZero, D],
            true,
            &[],
        ),
        // the coarse clock is not NMI-safe: the base set has it, tracing programs do not
        // (kernel-checked)
        F::KtimeGetCoarseNs => return None,
        _ => return base_func_proto(f),
    })
}

/// Helpers `bpf_tracing_func_proto` offers whose argument or return kinds kbpf does not model
/// yet (BTF pointers, callbacks, per-CPU kernel pointers, format strings): a call to one is
/// reported as unsupported, never as a kernel refusal.
pub(crate) fn tracing_unmodelled(f: BpfFunc) -> bool {
    matches!(
        f,
        F::GetCurrentTaskBtf
            | F::TaskPtRegs
            | F::GetTaskStack
            | F::SnprintfBtf
            | F::PerCpuPtr
            | F::ThisCpuPtr
            | F::ForEachMapElem
            | F::Snprintf
            | F::Loop
            | F::SpinLock
            | F::SpinUnlock
            | F::KptrXchg
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracing_set_adds_to_the_base_set() {
        assert!(tracing_func_proto(F::MapLookupElem).is_some());
        assert!(tracing_func_proto(F::ProbeRead).is_some_and(|p| p.gpl_only));
        assert!(tracing_func_proto(F::SendSignal).is_some_and(|p| !p.gpl_only));
        assert!(tracing_func_proto(F::RingbufReserve).is_some_and(|p| p.map_types == [RINGBUF]));
        // packet helpers are not tracing helpers
        assert!(tracing_func_proto(F::SkbLoadBytes).is_none());
        assert!(tracing_func_proto(F::PerfEventOutput).is_none());
        assert!(tracing_func_proto(F::KtimeGetCoarseNs).is_none());
        assert!(tracing_unmodelled(F::GetCurrentTaskBtf));
        assert!(!tracing_unmodelled(F::SkbLoadBytes));
    }
}
