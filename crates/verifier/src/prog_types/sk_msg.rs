//! `BPF_PROG_TYPE_SK_MSG` (`sk_msg_verifier_ops`): sockmap message verdicts on a read-only
//! `struct sk_msg_md` whose `data` / `data_end` bound a writable message buffer.

use super::{CtxAccess, CtxField, ProgTypeOps};
use crate::domain::state::RegType;
use crate::protos::cgroup_helpers::{
    cgroup_current_proto, ctx_only, event_output_data_proto, sk_storage_proto,
};
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::Proto;
use crate::protos::net_helpers::sk_base_func_proto;
use crate::protos::net_helpers::sk_msg_proto;
use kbpf_isa::KernelProgType;

/// `struct sk_msg_md`: the pointers, then the 4-byte fields up to `size`.
mod off {
    pub const DATA: i64 = 0;
    pub const DATA_END: i64 = 8;
    pub const FAMILY: i64 = 16;
    pub const SIZE_END: i64 = 72;
    pub const SK: i64 = 72;
}

/// The sk_msg rules.
pub struct SkMsg;

impl ProgTypeOps for SkMsg {
    fn ctx_type_name(&self) -> &'static str {
        "sk_msg_md"
    }

    fn name(&self) -> &'static str {
        "sk_msg"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::SkMsg)
    }

    /// `sk_msg_is_valid_access`.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        use off::*;
        let CtxAccess { off, size, write, .. } = a;
        if write || size <= 0 || off % size != 0 {
            return None;
        }
        let ptr = |t| (size == 8).then_some(CtxField::Pointer(t));
        match off {
            DATA => ptr(RegType::Packet),
            DATA_END => ptr(RegType::PacketEnd),
            SK => ptr(RegType::Sock),
            FAMILY..SIZE_END => (size == 4).then_some(CtxField::Scalar),
            _ => None,
        }
    }

    /// `sk_msg_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        sk_msg_proto(f).or_else(|| match f {
            F::PerfEventOutput => Some(event_output_data_proto()),
            F::SkStorageGet | F::SkStorageDelete => sk_storage_proto(f, false),
            F::GetNetnsCookie => Some(ctx_only(true)),
            F::GetCgroupClassid => cgroup_current_proto(f),
            _ => sk_base_func_proto(f),
        })
    }

    fn may_write_packet(&self) -> bool {
        true
    }
}
