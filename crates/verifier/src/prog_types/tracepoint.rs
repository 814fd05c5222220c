//! `BPF_PROG_TYPE_TRACEPOINT` (`tracepoint_verifier_ops`): the trace event's record, read only,
//! past its first eight bytes (the kernel keeps the probed registers' address there) and
//! below `PERF_MAX_TRACE_SIZE`.

use super::{CtxAccess, CtxField, ProgTypeOps};
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::Proto;
use crate::protos::trace_helpers::{
    GET_ATTACH_COOKIE, GET_STACK, GET_STACKID, PERF_EVENT_OUTPUT, tracing_func_proto, tracing_unmodelled,
};
use kbpf_isa::KernelProgType;

/// The tracepoint rules.
pub struct Tracepoint;

/// `PERF_MAX_TRACE_SIZE`: the largest trace event record (8192 in 6.18: the running kernel
/// reads a u32 at 8188 and refuses one at 8192; it was 2048 before).
pub const PERF_MAX_TRACE_SIZE: i64 = 8192;

impl ProgTypeOps for Tracepoint {
    fn name(&self) -> &'static str {
        "tracepoint"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::Tracepoint)
    }

    /// `tp_prog_is_valid_access`.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        // the kernel compares the (int) offset with `sizeof(void *)` unsigned: a negative
        // offset passes that test, and the rest
        let ok = (a.off >= 8 || a.off < 0)
            && a.off < PERF_MAX_TRACE_SIZE
            && !a.write
            && a.size > 0
            && a.off % a.size == 0;
        ok.then_some(CtxField::Scalar)
    }

    /// `tp_prog_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        match f {
            F::PerfEventOutput => Some(PERF_EVENT_OUTPUT),
            F::GetStackid => Some(GET_STACKID),
            F::GetStack => Some(GET_STACK),
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
