//! Arguments that point into map values: constant strings and `struct bpf_timer`.

use super::RegName;
use kbpf_passes::Errno;
use thiserror::Error;

/// A refused pointer into a map value.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[allow(missing_docs)]
pub enum MapArgReject {
    #[error("arg#{0} doesn't point to a const string")]
    NotConstStr(usize),
    #[error("{0} does not point to a readonly map'")]
    NotReadonlyMap(RegName),
    #[error("{0} is not a constant address'")]
    NotConstAddr(RegName),
    /// The ld_imm64 resolver's message, refused here with `EACCES`.
    #[error("{}", kbpf_passes::ResolveError::NoDirectValueAccess)]
    NoDirectValueAccess,
    /// `ENOTSUPP` for a map with more than one element, `EINVAL` past the value's end.
    #[error("direct value access on string failed")]
    DirectValueAccess(Errno),
    #[error("string is not zero-terminated")]
    NotZeroTerminated,
    #[error("arg#{0} doesn't point to a map value")]
    NotMapValue(usize),
    #[error("{0} doesn't have constant offset. bpf_timer has to be at the constant offset")]
    TimerVarOffset(RegName),
    #[error("map '{0}' has no valid bpf_timer")]
    NoTimer(String),
    #[error("off {off} doesn't point to 'struct bpf_timer' that is at {field}")]
    TimerOffset { off: i64, field: u32 },
}

impl MapArgReject {
    /// The errno the kernel returns.
    pub fn errno(&self) -> Errno {
        use MapArgReject::*;
        match self {
            NotReadonlyMap(_) | NotConstAddr(_) | NoDirectValueAccess => Errno::EACCES,
            DirectValueAccess(e) => *e,
            _ => Errno::EINVAL,
        }
    }

    pub(super) fn reg(&self) -> Option<RegName> {
        use MapArgReject::*;
        match self {
            NotReadonlyMap(r) | NotConstAddr(r) | TimerVarOffset(r) => Some(*r),
            _ => None,
        }
    }

    pub(super) fn rename_reg(&mut self, from: RegName, to: RegName) {
        use MapArgReject::*;
        if let NotReadonlyMap(r) | NotConstAddr(r) | TimerVarOffset(r) = self
            && *r == from
        {
            *r = to;
        }
    }
}
