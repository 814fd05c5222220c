//! `BPF_PROG_TYPE_SK_REUSEPORT` (`sk_reuseport_verifier_ops`): `SO_REUSEPORT` socket
//! selection on a read-only `struct sk_reuseport_md` with the packet readable.

use super::{CtxAccess, CtxField, ProgTypeOps, narrow_ok};
use crate::domain::state::RegType;
use crate::protos::func_id::BpfFunc;
use crate::protos::helpers::Proto;
use crate::protos::net_helpers::sk_base_func_proto;
use crate::protos::net_helpers::sk_reuseport_proto;
use kbpf_isa::KernelProgType;

/// `struct sk_reuseport_md` offsets.
mod off {
    pub const DATA: i64 = 0;
    pub const DATA_END: i64 = 8;
    pub const LEN: i64 = 16;
    pub const ETH_PROTOCOL: i64 = 20;
    pub const HASH: i64 = 32;
    pub const SK: i64 = 40;
    pub const MIGRATING_SK: i64 = 48;
    pub const SIZE: i64 = 56;
}

/// The sk_reuseport rules.
pub struct SkReuseport;

impl ProgTypeOps for SkReuseport {
    fn ctx_type_name(&self) -> &'static str {
        "sk_reuseport_md"
    }

    fn name(&self) -> &'static str {
        "sk_reuseport"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::SkReuseport)
    }

    /// `sk_reuseport_is_valid_access`.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        use off::*;
        let CtxAccess { off, size, write, .. } = a;
        if !(0..SIZE).contains(&off) || size <= 0 || off % size != 0 || write {
            return None;
        }
        let ptr = |f| (size == 8).then_some(f);
        match off {
            DATA => ptr(CtxField::Pointer(RegType::Packet)),
            DATA_END => ptr(CtxField::Pointer(RegType::PacketEnd)),
            SK => ptr(CtxField::Pointer(RegType::Sock)),
            MIGRATING_SK => ptr(CtxField::PointerOrNull(RegType::SockCommon)),
            HASH => (size == 4).then_some(CtxField::Scalar),
            // eth_protocol may not be read narrower than the skb's 2-byte field
            o if (ETH_PROTOCOL..ETH_PROTOCOL + 4).contains(&o) && size < 2 => None,
            LEN..HASH => narrow_ok(size, 4).then_some(CtxField::Scalar),
            _ => None,
        }
    }

    /// `sk_reuseport_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        sk_reuseport_proto(f).or_else(|| sk_base_func_proto(f))
    }

    fn may_update_sockmap(&self, _delete: bool) -> bool {
        true
    }
}
