//! Locks and the special fields of map values and allocated objects: `bpf_spin_lock` /
//! `bpf_res_spin_lock` sections, direct accesses to special fields, kptr fields.

use super::RegName;
use kbpf_passes::Errno;
use thiserror::Error;

/// A refused lock operation or special-field access.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[allow(missing_docs)]
pub enum LockReject {
    /// An exit, tail call or legacy packet load inside a lock section.
    #[error("{0} cannot be used inside bpf_spin_lock-ed region")]
    InLockSection(&'static str),
    #[error("global function calls are not allowed while holding a lock,\nuse static function instead")]
    GlobalCall,
    /// `.1`: `bpf_spin` or `bpf_res_spin`.
    #[error("{0} doesn't have constant offset. {1}_lock has to be at the constant offset")]
    VarOffset(RegName, &'static str),
    #[error("map '{0}' has to have BTF in order to use {1}_lock")]
    NoBtf(String, &'static str),
    /// `{map|local} '{name|kptr}' has no valid ..._lock`.
    #[error("{0} '{1}' has no valid {2}_lock")]
    NoLock(&'static str, String, &'static str),
    #[error("off {0} doesn't point to 'struct {1}_lock' that is at {2}")]
    Offset(i64, &'static str, u32),
    #[error("Locking two bpf_spin_locks are not allowed")]
    TwoLocks,
    #[error("Acquiring the same lock again, AA deadlock detected")]
    AaDeadlock,
    #[error("{0}_unlock without taking a lock")]
    UnlockWithout(&'static str),
    #[error("{0}_unlock of different lock")]
    UnlockDifferent(&'static str),
    #[error("{0}_unlock cannot be out of order")]
    UnlockOrder(&'static str),
    /// A load or store touching a lock, timer, graph or refcount field.
    #[error("{0} cannot be accessed directly by load/store")]
    DirectAccess(&'static str),
    #[error("{0} cannot be accessed indirectly by helper")]
    KptrIndirect(&'static str),
    #[error("{0} access cannot have variable offset")]
    KptrVarOff(&'static str),
    #[error("{0} access misaligned expected={1} off={2}")]
    KptrMisaligned(&'static str, u32, u64),
    #[error("{0} access size must be BPF_DW")]
    KptrSize(&'static str),
    #[error("kptr in map can only be accessed using BPF_MEM instruction mode")]
    KptrMode,
    #[error("store to referenced kptr disallowed")]
    KptrRefStore,
    #[error("store to uptr disallowed")]
    UptrStore,
    #[error("BPF_ST imm must be 0 when storing to kptr at off={0}")]
    KptrStImm(u32),
    /// `invalid kptr access, R%d type=%s%s expected=%s%s[ or %s%s]`.
    #[error("invalid kptr access, {0} type={1} expected={2}")]
    KptrMatch(RegName, String, String),
    #[error("map '{0}' has to have BTF in order to use bpf_kptr_xchg")]
    KptrXchgNoBtf(String),
    #[error("{0} doesn't have constant offset. kptr has to be at the constant offset")]
    KptrXchgVarOff(RegName),
    #[error("{0} has no valid kptr")]
    NoKptr(RegName),
    #[error("off={0} doesn't point to kptr")]
    NotKptr(u32),
    #[error("off={0} kptr isn't referenced kptr")]
    KptrNotRef(u32),
    /// `Possibly NULL pointer passed to helper arg%d` (the register number).
    #[error("Possibly NULL pointer passed to helper arg{0}")]
    NullToHelper(u8),
}

impl LockReject {
    /// The errno the kernel returns.
    pub fn errno(&self) -> Errno {
        use LockReject::*;
        match self {
            DirectAccess(_) | KptrIndirect(_) | KptrVarOff(_) | KptrMisaligned(..) | KptrSize(_)
            | KptrMode | KptrRefStore | UptrStore | KptrStImm(_) | NotKptr(_) | KptrNotRef(_)
            | KptrMatch(..) | NullToHelper(_) => Errno::EACCES,
            _ => Errno::EINVAL,
        }
    }

    pub(super) fn reg(&self) -> Option<RegName> {
        use LockReject::*;
        match self {
            VarOffset(r, _) | KptrMatch(r, ..) | KptrXchgVarOff(r) | NoKptr(r) => Some(*r),
            _ => None,
        }
    }

    pub(super) fn rename_reg(&mut self, from: RegName, to: RegName) {
        use LockReject::*;
        if let VarOffset(r, _) | KptrMatch(r, ..) | KptrXchgVarOff(r) | NoKptr(r) = self
            && *r == from
        {
            *r = to;
        }
    }
}
