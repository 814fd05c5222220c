//! `BPF_PROG_TYPE_RAW_TRACEPOINT` and `_WRITABLE` (`raw_tracepoint_verifier_ops`,
//! `raw_tracepoint_writable_verifier_ops`): the context is the tracepoint's arguments, up to
//! `MAX_BPF_FUNC_ARGS` `u64`s, read only. In the writable flavour argument 0 is the
//! tracepoint's buffer (`PTR_TO_TP_BUFFER`); how much of it the program touches is checked
//! against the tracepoint when the program is attached, not here.

use super::{CtxAccess, CtxField, ProgTypeOps};
use crate::domain::state::RegType;
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::Proto;
use crate::protos::trace_helpers::{
    GET_ATTACH_COOKIE, GET_STACK_RAW_TP, GET_STACKID, PERF_EVENT_OUTPUT, tracing_func_proto,
    tracing_unmodelled,
};
use kbpf_isa::KernelProgType;

/// `MAX_BPF_FUNC_ARGS` in Linux 6.18.
const MAX_BPF_FUNC_ARGS: i64 = 12;

/// The raw tracepoint rules.
pub struct RawTp {
    /// `raw_tp.w`.
    pub writable: bool,
}

/// `bpf_tracing_ctx_access`: aligned reads of the argument array.
pub(crate) fn tracing_ctx_access(a: CtxAccess) -> bool {
    a.off >= 0 && a.off < 8 * MAX_BPF_FUNC_ARGS && !a.write && a.size > 0 && a.off % a.size == 0
}

impl ProgTypeOps for RawTp {
    fn ctx_type_name(&self) -> &'static str {
        "bpf_raw_tracepoint_args"
    }

    fn name(&self) -> &'static str {
        if self.writable { "raw_tracepoint_writable" } else { "raw_tracepoint" }
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(if self.writable {
            KernelProgType::RawTracepointWritable
        } else {
            KernelProgType::RawTracepoint
        })
    }

    /// `raw_tp_prog_is_valid_access` / `raw_tp_writable_prog_is_valid_access`.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        if self.writable && a.off == 0 {
            if a.size != 8 || a.write {
                return None;
            }
            return tracing_ctx_access(a).then_some(CtxField::Pointer(RegType::TpBuffer));
        }
        tracing_ctx_access(a).then_some(CtxField::Scalar)
    }

    /// `raw_tp_prog_func_proto` (both flavours).
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        match f {
            F::PerfEventOutput => Some(PERF_EVENT_OUTPUT),
            F::GetStackid => Some(GET_STACKID),
            F::GetStack => Some(GET_STACK_RAW_TP),
            // the cookie of a raw tracepoint link (kernel-checked)
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
