//! Helper calls, bpf-to-bpf calls, callbacks and references.

use super::{RegName, TypeName};
use kbpf_passes::Errno;
use thiserror::Error;

/// A refused call.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[allow(missing_docs)]
pub enum CallReject {
    #[error("cannot call GPL-restricted function from non-GPL compatible program")]
    GplOnly,
    /// `bpf_get_local_storage` cannot fail, so its flags must be 0.
    #[error("get_local_storage() doesn't support non-zero flags")]
    LocalStorageFlags,
    #[error("helper call might sleep in a non-sleepable prog")]
    MightSleep,
    #[error("func {name}#{id} reference has not been acquired before")]
    RefNotAcquired { name: String, id: i32 },
    #[error("expected prog array map for tail call")]
    TailCallMap,
    #[error("Unsupported reg type {0} for bpf_dynptr_from_mem data")]
    DynptrFromMemType(TypeName),
    #[error("cannot pass map_type {map_type} into func {name}#{id}")]
    MapTypeIntoFunc { map_type: u32, name: String, id: i32 },
    #[error("{0} would lead to reference leak")]
    RefLeak(&'static str),
    #[error("helper access to the packet is not allowed")]
    HelperPktAccess,
    #[error("timer pointer in R1 map_uid={timer} doesn't match map pointer in R2 map_uid={map}")]
    TimerMapUid { timer: u32, map: u32 },
    #[error("{0} must be referenced when passed to release function")]
    MustBeReferenced(RegName),
    /// `check_get_func_ip` outside kprobes and trampolines (`ENOTSUPP`).
    #[error("func {name}#{id} not supported for program type {prog_type}")]
    GetFuncIpType { name: String, id: i32, prog_type: u32 },
    #[error("{0} must have zero offset when passed to release func or trusted arg to kfunc")]
    ReleaseOffset(RegName),
    #[error("arg {0} is an unacquired reference")]
    UnacquiredRef(u8),
    #[error("cannot release unowned const bpf_dynptr")]
    ReleaseConstDynptr,
    #[error("Invalid format string")]
    InvalidFormatString,
    #[error("helper call is not allowed in probe")]
    NotAllowedInProbe,
    #[error("{0} is not a known constant'")]
    NotKnownConst(RegName),
    #[error("invalid zero-sized read")]
    ZeroSizedRead,
    #[error("cannot return stack pointer to the caller")]
    ReturnStackPtr,
    #[error("missing btf func_info")]
    MissingFuncInfo,
    #[error("callback function not static")]
    CallbackNotStatic,
    #[error("The sequence of {0} jumps is too complex for async cb.")]
    AsyncJmpSeqTooComplex(usize),
    #[error("At async callback return the register R0 is not a known value ({0})")]
    AsyncRetNotKnown(TypeName),
    /// `verbose_invalid_scalar`: the known signed bounds, or ` unknown scalar value`.
    #[error(
        "At async callback return the register R0 has{} should have been in [{min}, {max}]",
        scalar_bounds(*smin, *smax)
    )]
    AsyncRetRange { smin: i64, smax: i64, min: i64, max: i64 },
    /// `prepare_func_exit` of a synchronous callback.
    #[error("R0 not a scalar value")]
    CallbackRetNotScalar,
    #[error(
        "At callback return the register R0 has{} should have been in [{min}, {max}]",
        scalar_bounds(*smin, *smax)
    )]
    CallbackRetRange { smin: i64, smax: i64, min: i64, max: i64 },
}

fn scalar_bounds(smin: i64, smax: i64) -> String {
    let mut what = String::new();
    if smin > i64::MIN {
        what.push_str(&format!(" smin={smin}"));
    }
    if smax < i64::MAX {
        what.push_str(&format!(" smax={smax}"));
    }
    if what.is_empty() {
        what.push_str(" unknown scalar value");
    }
    what
}

impl CallReject {
    /// The errno the kernel returns.
    pub fn errno(&self) -> Errno {
        use CallReject::*;
        match self {
            DynptrFromMemType(_) | HelperPktAccess | NotKnownConst(_) | ZeroSizedRead => Errno::EACCES,
            AsyncJmpSeqTooComplex(_) => Errno::E2BIG,
            GetFuncIpType { .. } => Errno::ENOTSUPP,
            _ => Errno::EINVAL,
        }
    }

    pub(super) fn reg(&self) -> Option<RegName> {
        match self {
            CallReject::MustBeReferenced(r) | CallReject::NotKnownConst(r) | CallReject::ReleaseOffset(r) => {
                Some(*r)
            }
            _ => None,
        }
    }

    pub(super) fn rename_reg(&mut self, from: RegName, to: RegName) {
        if let CallReject::MustBeReferenced(r) | CallReject::NotKnownConst(r) | CallReject::ReleaseOffset(r) =
            self
            && *r == from
        {
            *r = to;
        }
    }
}
