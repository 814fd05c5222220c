//! `BPF_PROG_TYPE_CGROUP_SOCK_ADDR` (`cg_sock_addr_verifier_ops`): `struct bpf_sock_addr`
//! at bind, connect, sendmsg, recvmsg, getpeername and getsockname, with the address fields
//! of the hook's family only.

use super::hooks::SockAddrHook::{self, *};
use super::{CtxAccess, CtxField, LoadAttach, ProgTypeOps, narrow_ok, wide_ok};
use crate::domain::state::RegType;
use crate::messages::AttachReject;
use crate::protos::cgroup_helpers::{
    cgroup_common_proto, cgroup_current_proto, ctx_only, event_output_data_proto, sk_storage_proto,
};
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::{Arg, Proto};
use crate::protos::helpers_tc::tc_helper_proto;
use crate::protos::net_helpers::sk_base_func_proto;
use crate::protos::net_helpers::{bind_proto, sockopt_proto};
use kbpf_isa::{AttachType, KernelProgType};

/// `struct bpf_sock_addr` offsets.
mod off {
    pub const USER_IP4: i64 = 4;
    pub const USER_IP6: i64 = 8;
    pub const USER_PORT: i64 = 24;
    pub const MSG_SRC_IP4: i64 = 40;
    pub const MSG_SRC_IP6: i64 = 44;
    pub const SK: i64 = 64;
    pub const SIZE: i64 = 72;
}

/// The sock_addr rules.
pub struct CgroupSockAddr {
    /// The hook (`None`: an attach type the load refuses).
    pub hook: Option<SockAddrHook>,
    /// The expected attach type.
    pub attach: Option<AttachType>,
}

impl CgroupSockAddr {
    /// The rules at `attach`.
    pub fn new(attach: Option<AttachType>) -> CgroupSockAddr {
        CgroupSockAddr { hook: SockAddrHook::from_attach(attach), attach }
    }
}

impl ProgTypeOps for CgroupSockAddr {
    fn ctx_type_name(&self) -> &'static str {
        "bpf_sock_addr"
    }

    fn name(&self) -> &'static str {
        "cgroup_sock_addr"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::CgroupSockAddr)
    }

    fn check_attach(&self, a: LoadAttach) -> Result<(), AttachReject> {
        if self.hook.is_none() {
            let attach = a.expected_attach_type.unwrap_or(AttachType::CgroupInetIngress);
            return Err(AttachReject::UnexpectedAttachType { prog_type: self.name(), attach });
        }
        super::no_attach_btf(self.name(), a)
    }

    /// `sock_addr_is_valid_access`.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        use off::*;
        let CtxAccess { off, size, write, .. } = a;
        if !(0..SIZE).contains(&off) || size <= 0 || off % size != 0 {
            return None;
        }
        let h = self.hook?;
        let field_ok = if (USER_IP4..USER_IP4 + 4).contains(&off) {
            matches!(h, Bind4 | Connect4 | Getpeername4 | Getsockname4 | Sendmsg4 | Recvmsg4)
        } else if (USER_IP6..USER_IP6 + 16).contains(&off) {
            matches!(h, Bind6 | Connect6 | Getpeername6 | Getsockname6 | Sendmsg6 | Recvmsg6)
        } else if (MSG_SRC_IP4..MSG_SRC_IP4 + 4).contains(&off) {
            h == Sendmsg4
        } else if (MSG_SRC_IP6..MSG_SRC_IP6 + 16).contains(&off) {
            h == Sendmsg6
        } else {
            true
        };
        if !field_ok {
            return None;
        }
        let addr = (USER_IP4..USER_PORT + 4).contains(&off) || (MSG_SRC_IP4..MSG_SRC_IP6 + 16).contains(&off);
        if addr {
            let wide = wide_ok(off, size, USER_IP6, USER_IP6 + 16)
                || wide_ok(off, size, MSG_SRC_IP6, MSG_SRC_IP6 + 16);
            let ok = wide || if write { size == 4 } else { narrow_ok(size, 4) };
            return ok.then_some(CtxField::Scalar);
        }
        if (SK..SIZE).contains(&off) {
            return (!write && size == 8).then_some(CtxField::Pointer(RegType::Sock));
        }
        (!write && size == 4).then_some(CtxField::Scalar)
    }

    /// `sock_addr_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        let h = self.hook?;
        if let Some(p) = cgroup_common_proto(f, self.attach).or_else(|| cgroup_current_proto(f)) {
            return Some(p);
        }
        match f {
            F::Bind => matches!(h, Connect4 | Connect6).then(bind_proto),
            F::GetSocketCookie => Some(ctx_only(false)),
            F::GetNetnsCookie => Some(ctx_only(true)),
            F::PerfEventOutput => Some(event_output_data_proto()),
            F::SkLookupTcp | F::SkLookupUdp | F::SkRelease | F::SkcLookupTcp => tc_helper_proto(f),
            F::SkStorageGet | F::SkStorageDelete => sk_storage_proto(f, false),
            F::Setsockopt | F::Getsockopt => {
                if h.is_inet() {
                    sockopt_proto(f, Arg::Ctx)
                } else {
                    None
                }
            }
            _ => sk_base_func_proto(f),
        }
    }

    fn retval_range(&self) -> Option<(i64, i64)> {
        Some(match self.hook {
            Some(h) if h.reports_address() => (1, 1),
            Some(Bind4 | Bind6) => (0, 3),
            _ => (0, 1),
        })
    }
}
