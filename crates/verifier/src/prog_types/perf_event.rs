//! `BPF_PROG_TYPE_PERF_EVENT` (`perf_event_verifier_ops`): `struct bpf_perf_event_data`, the
//! sampled registers (`bpf_user_pt_regs_t` of the target architecture) followed by
//! `sample_period` and `addr`, read only. The registers are read whole; the two `u64`
//! fields also narrowly. The kernel rewrites the loads to go through its
//! `bpf_perf_event_data_kern`, which changes nothing the verifier reports.

use super::{CtxAccess, CtxField, ProgTypeOps};
use crate::TargetArch;
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::{Arg, Proto, Ret};
use crate::protos::trace_helpers::{
    GET_ATTACH_COOKIE, GET_STACK, GET_STACKID, PERF_EVENT_OUTPUT, tracing_func_proto, tracing_unmodelled,
};
use kbpf_isa::KernelProgType;

/// The perf event rules for an architecture.
pub struct PerfEvent {
    /// The target architecture.
    pub arch: TargetArch,
}

/// `sizeof(bpf_user_pt_regs_t)`: x86_64's `struct pt_regs` (168 bytes), arm64's
/// `struct user_pt_regs` (31 registers, `sp`, `pc`, `pstate`: 272 bytes).
pub fn user_regs_size(arch: TargetArch) -> i64 {
    match arch {
        TargetArch::X86_64 => 168,
        TargetArch::Arm64 => 272,
    }
}

impl ProgTypeOps for PerfEvent {
    fn ctx_type_name(&self) -> &'static str {
        "bpf_perf_event_data"
    }

    fn name(&self) -> &'static str {
        "perf_event"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::PerfEvent)
    }

    /// `pe_prog_is_valid_access` (64-bit kernels).
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        let regs = user_regs_size(self.arch);
        // sample_period, then addr
        let data_size = regs + 16;
        if a.off < 0 || a.off >= data_size || a.write || a.size <= 0 || a.off % a.size != 0 {
            return None;
        }
        let ok = if a.off >= regs {
            // bpf_ctx_narrow_access_ok with the u64 field size
            a.size <= 8 && a.size & (a.size - 1) == 0
        } else {
            a.size == 8
        };
        ok.then_some(CtxField::Scalar)
    }

    /// `pe_prog_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        let gpl = |args| Some(Proto { args, ret: Ret::Integer, gpl_only: true, map_types: &[] });
        const D: Arg = Arg::DontCare;
        match f {
            F::PerfEventOutput => Some(PERF_EVENT_OUTPUT),
            F::GetStackid => Some(GET_STACKID),
            F::GetStack => Some(GET_STACK),
            // the counter's value into an uninitialized buffer
            F::PerfProgReadValue => {
                gpl([Arg::Ctx, Arg::Mem { write: true, maybe_null: false }, Arg::ConstSize, D, D])
            }
            // the sample's branch records: a NULL buffer asks for the size
            F::ReadBranchRecords => gpl([
                Arg::Ctx,
                Arg::Mem { write: false, maybe_null: true },
                Arg::ConstSizeOrZero,
                Arg::Anything,
                D,
            ]),
            F::GetAttachCookie => Some(GET_ATTACH_COOKIE),
            _ => tracing_func_proto(f),
        }
    }

    fn unmodelled_helper(&self, f: BpfFunc) -> bool {
        tracing_unmodelled(f)
    }

    fn is_tracing(&self) -> bool {
        true
    }

    /// `bpf_get_func_ip` is in the tracing set but works only for kprobes and trampolines.
    fn get_func_ip_support(&self) -> bool {
        false
    }
}
