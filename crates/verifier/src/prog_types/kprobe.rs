//! `BPF_PROG_TYPE_KPROBE` (`kprobe_verifier_ops`): kprobes, kretprobes, uprobes, uretprobes,
//! ksyscalls and USDTs read the probed task's `struct pt_regs`, of the target architecture,
//! and get the registers-based helper variants. The link (`expected_attach_type`) picks the
//! `bpf_get_func_ip` flavour and, for sessions, the return range.

use super::{CtxAccess, CtxField, ProgTypeOps};
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::{Arg, Proto, Ret};
use crate::protos::trace_helpers::{
    GET_ATTACH_COOKIE, GET_STACK, GET_STACKID, PERF_EVENT_OUTPUT, tracing_func_proto, tracing_unmodelled,
};
use crate::{KprobeAttach, KprobeProg, TargetArch};
use kbpf_isa::KernelProgType;

/// The kprobe rules for one link flavour and architecture.
pub struct Kprobe(pub KprobeProg);

/// `sizeof(struct pt_regs)` on x86_64: 21 eight-byte registers.
pub const X86_64_PT_REGS: i64 = 168;
/// `sizeof(struct pt_regs)` on arm64 (Linux 6.18): `user_pt_regs` (272 bytes), `orig_x0`,
/// `syscallno` and `pmr`, `sdei_ttbr1`, the 24-byte `stackframe` record, `lockdep_hardirqs`
/// and `exit_rcu`.
pub const ARM64_PT_REGS: i64 = 336;

/// The kernel's `struct pt_regs` of `arch`.
pub fn pt_regs_size(arch: TargetArch) -> i64 {
    match arch {
        TargetArch::X86_64 => X86_64_PT_REGS,
        TargetArch::Arm64 => ARM64_PT_REGS,
    }
}

impl ProgTypeOps for Kprobe {
    fn ctx_type_name(&self) -> &'static str {
        "bpf_user_pt_regs_t"
    }

    /// `bpf_user_pt_regs_t` is a typedef of the architecture's register struct.
    fn ctx_typedef_target(&self) -> &'static str {
        match self.0.arch {
            TargetArch::X86_64 => "pt_regs",
            TargetArch::Arm64 => "user_pt_regs",
        }
    }

    fn name(&self) -> &'static str {
        "kprobe"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::Kprobe)
    }

    /// `kprobe_prog_is_valid_access`: aligned reads inside `struct pt_regs`.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        let size_of = pt_regs_size(self.0.arch);
        let ok = a.off >= 0 && a.off < size_of && !a.write && a.size > 0 && a.off % a.size == 0;
        (ok && a.off + a.size <= size_of).then_some(CtxField::Scalar)
    }

    /// `kprobe_prog_func_proto` (`bpf_override_return` only with
    /// `CONFIG_BPF_KPROBE_OVERRIDE`, which [`crate::KernelConfig`] decides).
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        match f {
            F::OverrideReturn => Some(Proto {
                args: [Arg::Ctx, Arg::Anything, Arg::DontCare, Arg::DontCare, Arg::DontCare],
                ret: Ret::Integer,
                gpl_only: true,
                map_types: &[],
            }),
            F::PerfEventOutput => Some(PERF_EVENT_OUTPUT),
            F::GetStackid => Some(GET_STACKID),
            F::GetStack => Some(GET_STACK),
            // the multi-kprobe flavour reads the entry address from the link, not a kprobe
            F::GetFuncIp => tracing_func_proto(f).map(|mut p| {
                p.gpl_only = self.0.attach != KprobeAttach::KprobeMulti;
                p
            }),
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

    fn sleepable(&self) -> bool {
        self.0.sleepable
    }

    /// `check_return_code`: session programs say whether to run the return probe (0 or 1);
    /// the rest may return anything.
    fn retval_range(&self) -> Option<(i64, i64)> {
        matches!(self.0.attach, KprobeAttach::KprobeSession | KprobeAttach::UprobeSession).then_some((0, 1))
    }
}
