//! `BPF_PROG_TYPE_CGROUP_SOCK` (`cg_sock_verifier_ops`): the context is the socket itself
//! (`struct bpf_sock`); which fields a program may read or write depends on the hook.

use super::hooks::SockHook;
use super::{CtxAccess, CtxField, LoadAttach, ProgTypeOps, attach_one_of};
use crate::calls::sock::bpf_sock_access_ok;
use crate::messages::AttachReject;
use crate::protos::cgroup_helpers::{
    cgroup_common_proto, cgroup_current_proto, ctx_only, event_output_data_proto, sk_storage_proto,
};
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::Proto;
use crate::protos::net_helpers::sk_base_func_proto;
use kbpf_isa::{AttachType, KernelProgType};

/// `struct bpf_sock` offsets the hooks restrict.
mod off {
    pub const BOUND_DEV_IF: i64 = 0;
    pub const MARK: i64 = 16;
    pub const PRIORITY: i64 = 20;
    pub const SRC_IP4: i64 = 24;
    pub const SRC_IP6: i64 = 28;
    pub const SRC_PORT: i64 = 44;
}

/// The cgroup sock rules.
pub struct CgroupSock {
    /// The hook (`None`: an attach type the load refuses).
    pub hook: Option<SockHook>,
    /// The expected attach type, unset fixed up to `BPF_CGROUP_INET_SOCK_CREATE`.
    pub attach: Option<AttachType>,
}

impl CgroupSock {
    /// The rules at `attach`.
    pub fn new(attach: Option<AttachType>) -> CgroupSock {
        CgroupSock {
            hook: SockHook::from_attach(attach),
            attach: attach.or(Some(AttachType::CgroupInetSockCreate)),
        }
    }
}

impl ProgTypeOps for CgroupSock {
    fn ctx_type_name(&self) -> &'static str {
        "bpf_sock"
    }

    fn name(&self) -> &'static str {
        "cgroup_sock"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::CgroupSock)
    }

    fn check_attach(&self, a: LoadAttach) -> Result<(), AttachReject> {
        use AttachType as A;
        let allowed = [
            A::CgroupInetSockCreate,
            A::CgroupInetSockRelease,
            A::CgroupInet4PostBind,
            A::CgroupInet6PostBind,
        ];
        // an unset attach type is fixed up to sock_create before the check
        let a = LoadAttach {
            expected_attach_type: a.expected_attach_type.or(Some(A::CgroupInetSockCreate)),
            ..a
        };
        attach_one_of(self.name(), a, &allowed)
    }

    /// `sock_filter_is_valid_access`: `bpf_sock_is_valid_access`, then the hook's say
    /// (`__sock_filter_check_attach_type`).
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        use off::*;
        if !bpf_sock_access_ok(a.off, a.size) {
            return None;
        }
        let hook = self.hook?;
        let ok = match a.off {
            BOUND_DEV_IF | MARK | PRIORITY => matches!(hook, SockHook::Create | SockHook::Release),
            o if (SRC_IP4..SRC_IP4 + 4).contains(&o) => hook == SockHook::PostBind4 && !a.write,
            o if (SRC_IP6..SRC_IP6 + 16).contains(&o) => hook == SockHook::PostBind6 && !a.write,
            SRC_PORT => matches!(hook, SockHook::PostBind4 | SockHook::PostBind6) && !a.write,
            _ => !a.write,
        };
        ok.then_some(CtxField::Scalar)
    }

    /// `sock_filter_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        if let Some(p) = cgroup_common_proto(f, self.attach).or_else(|| cgroup_current_proto(f)) {
            return Some(p);
        }
        match f {
            F::GetSocketCookie => Some(ctx_only(false)),
            F::GetNetnsCookie => Some(ctx_only(true)),
            F::PerfEventOutput => Some(event_output_data_proto()),
            F::SkStorageGet => sk_storage_proto(f, true),
            _ => sk_base_func_proto(f),
        }
    }

    fn retval_range(&self) -> Option<(i64, i64)> {
        Some((0, 1))
    }
}
