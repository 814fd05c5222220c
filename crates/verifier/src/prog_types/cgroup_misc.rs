//! The small cgroup types: `BPF_PROG_TYPE_CGROUP_SOCKOPT` (`struct bpf_sockopt`, whose
//! option buffer is a packet), `BPF_PROG_TYPE_CGROUP_SYSCTL` (`struct bpf_sysctl`) and
//! `BPF_PROG_TYPE_CGROUP_DEVICE` (`struct bpf_cgroup_dev_ctx`). All return `0..1`.

use super::{CtxAccess, CtxField, LoadAttach, ProgTypeOps, attach_one_of, narrow_ok};
use crate::domain::state::RegType;
use crate::messages::AttachReject;
use crate::protos::cgroup_helpers::{
    cgroup_common_proto, cgroup_current_proto, ctx_only, event_output_data_proto, p, sk_storage_proto,
};
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::{Arg, Proto, Ret, base_func_proto};
use crate::protos::net_helpers::sockopt_proto;
use kbpf_isa::{AttachType, KernelProgType};

/// The cgroup common and current sets, then the type's own, then the base set.
fn cgroup_proto(
    f: BpfFunc,
    attach: Option<AttachType>,
    own: impl FnOnce(BpfFunc) -> Option<Proto>,
) -> Option<Proto> {
    cgroup_common_proto(f, attach)
        .or_else(|| cgroup_current_proto(f))
        .or_else(|| if f == F::PerfEventOutput { Some(event_output_data_proto()) } else { own(f) })
        .or_else(|| base_func_proto(f))
}

/// The sockopt rules.
pub struct CgroupSockopt {
    /// `BPF_CGROUP_SETSOCKOPT` (else getsockopt).
    pub set: bool,
    /// The expected attach type.
    pub attach: Option<AttachType>,
}

impl CgroupSockopt {
    /// The rules at `attach`.
    pub fn new(attach: Option<AttachType>) -> CgroupSockopt {
        CgroupSockopt { set: attach == Some(AttachType::CgroupSetsockopt), attach }
    }
}

/// `struct bpf_sockopt` offsets.
mod sockopt {
    pub const SK: i64 = 0;
    pub const OPTVAL: i64 = 8;
    pub const OPTVAL_END: i64 = 16;
    pub const LEVEL: i64 = 24;
    pub const OPTNAME: i64 = 28;
    pub const OPTLEN: i64 = 32;
    pub const RETVAL: i64 = 36;
    pub const SIZE: i64 = 40;
}

impl ProgTypeOps for CgroupSockopt {
    fn ctx_type_name(&self) -> &'static str {
        "bpf_sockopt"
    }

    fn name(&self) -> &'static str {
        "cgroup_sockopt"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::CgroupSockopt)
    }

    fn check_attach(&self, a: LoadAttach) -> Result<(), AttachReject> {
        attach_one_of(self.name(), a, &[AttachType::CgroupGetsockopt, AttachType::CgroupSetsockopt])
    }

    /// `cg_sockopt_is_valid_access`.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        use sockopt::*;
        let CtxAccess { off, size, write, .. } = a;
        if !(0..SIZE).contains(&off) || size <= 0 || off % size != 0 {
            return None;
        }
        let scalar = |ok: bool| ok.then_some(CtxField::Scalar);
        if write {
            return match off {
                RETVAL => scalar(size == 4 && !self.set),
                OPTNAME | LEVEL => scalar(size == 4 && self.set),
                OPTLEN => scalar(size == 4),
                _ => None,
            };
        }
        let ptr = |t| (size == 8).then_some(CtxField::Pointer(t));
        match off {
            o if (SK..SK + 8).contains(&o) => ptr(RegType::Sock),
            o if (OPTVAL..OPTVAL + 8).contains(&o) => ptr(RegType::Packet),
            o if (OPTVAL_END..OPTVAL_END + 8).contains(&o) => ptr(RegType::PacketEnd),
            o if (RETVAL..RETVAL + 4).contains(&o) => scalar(size == 4 && !self.set),
            _ => scalar(size == 4),
        }
    }

    /// `cg_sockopt_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        cgroup_proto(f, self.attach, |f| match f {
            F::GetNetnsCookie => Some(ctx_only(true)),
            F::SkStorageGet | F::SkStorageDelete => sk_storage_proto(f, false),
            F::Setsockopt | F::Getsockopt if self.set => sockopt_proto(f, Arg::BtfSockCommon),
            F::TcpSock => crate::protos::helpers_tc::tc_helper_proto(f),
            _ => None,
        })
    }

    fn retval_range(&self) -> Option<(i64, i64)> {
        Some((0, 1))
    }

    fn may_write_packet(&self) -> bool {
        true
    }

    fn helper_packet_access(&self, _declared: bool) -> bool {
        true
    }
}

/// The sysctl rules.
pub struct CgroupSysctl {
    /// The expected attach type (`bpf_get_retval` depends on it).
    pub attach: Option<AttachType>,
}

impl ProgTypeOps for CgroupSysctl {
    fn ctx_type_name(&self) -> &'static str {
        "bpf_sysctl"
    }

    fn name(&self) -> &'static str {
        "cgroup_sysctl"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::CgroupSysctl)
    }

    /// `sysctl_is_valid_access`: `write` (read-only) and `file_pos`.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        let CtxAccess { off, size, write, .. } = a;
        if off < 0 || size <= 0 || off + size > 8 || off % size != 0 {
            return None;
        }
        let ok = match off {
            0..4 => !write && narrow_ok(size, 4),
            _ if write => size == 4,
            _ => narrow_ok(size, 4),
        };
        ok.then_some(CtxField::Scalar)
    }

    /// `sysctl_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        const D: Arg = Arg::DontCare;
        const WR: Arg = Arg::Mem { write: true, maybe_null: false };
        const RD: Arg = Arg::Mem { write: false, maybe_null: false };
        cgroup_proto(f, self.attach, |f| match f {
            // ARG_PTR_TO_MEM | MEM_WRITE: initialized, then overwritten
            F::SysctlGetName => {
                Some(p([Arg::Ctx, Arg::MemRw, Arg::ConstSize, Arg::Anything, D], Ret::Integer))
            }
            F::SysctlGetCurrentValue | F::SysctlGetNewValue => {
                Some(p([Arg::Ctx, WR, Arg::ConstSize, D, D], Ret::Integer))
            }
            F::SysctlSetNewValue => Some(p([Arg::Ctx, RD, Arg::ConstSize, D, D], Ret::Integer)),
            _ => None,
        })
    }

    fn retval_range(&self) -> Option<(i64, i64)> {
        Some((0, 1))
    }
}

/// The device rules.
pub struct CgroupDevice {
    /// The expected attach type (`bpf_get_retval` depends on it).
    pub attach: Option<AttachType>,
}

impl ProgTypeOps for CgroupDevice {
    fn ctx_type_name(&self) -> &'static str {
        "bpf_cgroup_dev_ctx"
    }

    fn name(&self) -> &'static str {
        "cgroup_device"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::CgroupDevice)
    }

    /// `cgroup_dev_is_valid_access`: read-only; `access_type` may be read narrow.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        let CtxAccess { off, size, write, .. } = a;
        if write || off < 0 || size <= 0 || off + size > 12 || off % size != 0 {
            return None;
        }
        let ok = if off < 4 { narrow_ok(size, 4) } else { size == 4 };
        ok.then_some(CtxField::Scalar)
    }

    /// `cgroup_dev_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        cgroup_proto(f, self.attach, |_| None)
    }

    fn retval_range(&self) -> Option<(i64, i64)> {
        Some((0, 1))
    }
}
