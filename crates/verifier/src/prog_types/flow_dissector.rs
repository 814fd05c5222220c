//! `BPF_PROG_TYPE_FLOW_DISSECTOR` (`flow_dissector_verifier_ops`): only the packet
//! pointers and `flow_keys` of the `__sk_buff`, read-only, and `bpf_skb_load_bytes`.

use super::skb::off::*;
use super::{CtxAccess, CtxField, ProgTypeOps, in_range};
use crate::domain::state::RegType;
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::Proto;
use crate::protos::net_helpers::load_bytes_proto;
use crate::protos::net_helpers::sk_base_func_proto;
use kbpf_isa::KernelProgType;

/// `sizeof(struct __sk_buff)`.
const SKB_SIZE: i64 = 192;

/// The flow dissector rules.
pub struct FlowDissector;

impl ProgTypeOps for FlowDissector {
    fn ctx_type_name(&self) -> &'static str {
        "__sk_buff"
    }

    fn name(&self) -> &'static str {
        "flow_dissector"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::FlowDissector)
    }

    /// `flow_dissector_is_valid_access`.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        let CtxAccess { off, size, write, .. } = a;
        if !(0..SKB_SIZE).contains(&off) || write {
            return None;
        }
        if in_range(off, DATA, 4) {
            return (size == 4).then_some(CtxField::Pointer(RegType::Packet));
        }
        if in_range(off, DATA_END, 4) {
            return (size == 4).then_some(CtxField::Pointer(RegType::PacketEnd));
        }
        if in_range(off, FLOW_KEYS, 8) {
            return (size == 8).then_some(CtxField::Pointer(RegType::FlowKeys));
        }
        None
    }

    /// `flow_dissector_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        match f {
            F::SkbLoadBytes => Some(load_bytes_proto(false)),
            _ => sk_base_func_proto(f),
        }
    }

    fn may_update_sockmap(&self, _delete: bool) -> bool {
        true
    }
}
