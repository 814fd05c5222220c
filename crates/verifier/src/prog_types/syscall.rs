//! `BPF_PROG_TYPE_SYSCALL` (`bpf_syscall_verifier_ops`): the context is a user buffer read
//! at any aligned offset below 64 KiB; the program may sleep; it takes no expected attach type.

use super::{CtxAccess, CtxError, CtxField, LoadAttach, ProgTypeOps, no_attach_btf};
use crate::fixups::CtxConv;
use crate::messages::AttachReject;
use crate::protos::func_id::BpfFunc;
use crate::protos::helpers::{Arg, Proto, Ret, base_func_proto, p};
use kbpf_isa::Insn;
use kbpf_isa::KernelProgType;

/// The syscall-program rules.
pub struct Syscall;

impl ProgTypeOps for Syscall {
    fn name(&self) -> &'static str {
        "syscall"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::Syscall)
    }

    /// `bpf_prog_load_check_attach`: no attach BTF id and no expected attach type (a
    /// nonzero number; 0 is `BPF_CGROUP_INET_INGRESS` too).
    fn check_attach(&self, a: LoadAttach) -> Result<(), AttachReject> {
        no_attach_btf(self.name(), a)?;
        match a.expected_attach_type {
            Some(attach) if a.attach_number() != 0 => {
                Err(AttachReject::UnexpectedAttachType { prog_type: self.name(), attach })
            }
            _ => Ok(()),
        }
    }

    /// The context is plain memory: accesses stay as they are (no `convert_ctx_access`).
    fn convert_ctx_access(&self, insn: &Insn, _cx: &CtxConv<'_>) -> Result<Vec<Insn>, CtxError> {
        Ok(vec![*insn])
    }

    /// `syscall_prog_is_valid_access`.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        (a.off >= 0 && a.off < u16::MAX as i64 && a.off % a.size == 0).then_some(CtxField::Scalar)
    }

    /// `syscall_prog_func_proto`: the syscall helpers (`bpf_sys_bpf` needs `CAP_PERFMON`, which
    /// the loader has), then the base set.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        const RD: Arg = Arg::Mem { write: false, maybe_null: false };
        const D: Arg = Arg::DontCare;
        match f {
            BpfFunc::SysBpf => Some(p([Arg::Anything, RD, Arg::ConstSize, D, D], Ret::Integer)),
            BpfFunc::BtfFindByNameKind => {
                Some(p([RD, Arg::ConstSize, Arg::Anything, Arg::Anything, D], Ret::Integer))
            }
            BpfFunc::SysClose => Some(p([Arg::Anything, D, D, D, D], Ret::Integer)),
            BpfFunc::KallsymsLookupName => {
                let res = Arg::FixedMem { size: 8, aligned: true, uninit: true };
                Some(p([RD, Arg::ConstSizeOrZero, Arg::Anything, res, D], Ret::Integer))
            }
            // copy_from_user_task is not in the syscall set
            BpfFunc::CopyFromUserTask => None,
            _ => base_func_proto(f),
        }
    }

    fn sleepable(&self) -> bool {
        true
    }

    fn ctx_bytes(&self) -> Option<usize> {
        Some(crate::SYSCALL_CTX_BYTES)
    }
}
