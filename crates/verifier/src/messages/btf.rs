//! Refusals of the BTF world: the attach target (`check_attach_btf_id`), loads through BTF
//! pointers (`check_ptr_to_btf_access`, `btf_struct_access`) and a target kernel that cannot
//! load trampoline programs at all.

use super::RegName;
use crate::btf::attach::AttachError;
use crate::btf::walk::WalkError;
use kbpf_passes::Errno;
use thiserror::Error;

/// A refusal about target BTF.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum BtfReject {
    /// The attach target does not suit the program.
    #[error("{0}")]
    Attach(AttachError),
    /// The target kernel refuses programs that need a BPF trampoline (fentry, fexit,
    /// fmod_ret, lsm, lsm_cgroup, freplace) in `BPF_PROG_LOAD`, before its verifier runs:
    /// `EPERM` and no log. Linux 6.18 as built for this machine does (the running kernel
    /// answers so for every such program, whatever its attach target); upstream does not.
    #[error("kbpf: the target kernel refuses {0} programs before verification (EPERM, no log)")]
    TrampolineRefused(&'static str),
    /// The struct walk refuses the access.
    #[error("{0}")]
    Walk(WalkError),
    /// A negative offset into a kernel object.
    #[error("{0} is ptr_{1} invalid negative access: off={2}")]
    NegativeAccess(RegName, String, i64),
    /// A variable offset into a kernel object.
    #[error("{0} is ptr_{1} invalid variable offset: off={2}, var_off={3}")]
    VariableOffset(RegName, String, i64, String),
    /// Through a `__user` pointer.
    #[error("{0} is ptr_{1} access user memory: off={2}")]
    UserMemory(RegName, String, i64),
    /// Through a `__percpu` pointer.
    #[error("{0} is ptr_{1} access percpu memory: off={2}")]
    PercpuMemory(RegName, String, i64),
    /// A helper that writes its memory argument given a kernel object.
    #[error("{0}() may write into memory pointed by {1} type={2}")]
    MayWrite(String, RegName, super::TypeName),
    /// A store into a kernel object.
    #[error("only read is supported")]
    OnlyRead,
    /// A store a struct_ops program's `btf_struct_access` refuses (its line).
    #[error("{0}")]
    StructOpsWrite(String),
    /// A global function's arguments do not match its BTF prototype (the errno is the failed
    /// check's).
    #[error("Caller passes invalid args into func#{0} ('{1}')")]
    CallerPassesInvalidArgs(usize, String, Errno),
    /// A kernel object read by a program without a GPL-compatible license.
    #[error("Cannot access kernel 'struct {0}' from non-GPL compatible program")]
    NonGpl(String),
    /// A map pointer read by an unprivileged program (`check_ptr_to_map_access`).
    #[error("'struct {0}' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN")]
    MapPtrUnprivileged(String),
    /// A negative offset from a map pointer.
    #[error("{0} is {1} invalid negative access: off={2}")]
    MapPtrNegative(RegName, String, i64),
    /// A store through a map pointer.
    #[error("only read from {0} is supported")]
    MapPtrOnlyRead(String),
    /// A store netfilter's `btf_struct_access` refuses (tc and XDP programs): its line.
    #[error("{0}")]
    NfConnWrite(String),
}

impl BtfReject {
    /// The kernel's errno.
    pub fn errno(&self) -> Errno {
        match self {
            BtfReject::Attach(a) => a.errno(),
            BtfReject::TrampolineRefused(_) => Errno::EPERM,
            BtfReject::Walk(w) => w.errno(),
            BtfReject::NonGpl(_) => Errno::EINVAL,
            BtfReject::MapPtrUnprivileged(_) => Errno::EPERM,
            BtfReject::CallerPassesInvalidArgs(.., e) => *e,
            _ => Errno::EACCES,
        }
    }
}
