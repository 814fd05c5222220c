//! `BPF_PROG_TYPE_SCHED_CLS` (`tc_cls_act_verifier_ops`): `__sk_buff` with direct packet
//! access, more writable fields, and the tc helper set (`crate::protos::helpers_tc`).

use super::skb::{self, off::*};
use super::{CtxAccess, CtxError, CtxField, ProgTypeOps, in_range};
use crate::domain::state::RegType;
use crate::fixups::{CtxConv, XInsn};
use crate::protos::func_id::BpfFunc;
use crate::protos::helpers::Proto;
use crate::protos::net_helpers::sk_base_func_proto;
use kbpf_isa::Insn;
use kbpf_isa::KernelProgType;

/// The tc classifier rules.
pub struct SchedCls;

impl ProgTypeOps for SchedCls {
    fn ctx_type_name(&self) -> &'static str {
        "__sk_buff"
    }

    fn name(&self) -> &'static str {
        "sched_cls"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::SchedCls)
    }

    /// `__sk_buff` onto the kernel's `struct sk_buff`, or kbpf's run-time `__sk_buff` (the uapi
    /// layout with the packet pointers after it).
    fn convert_ctx_access(&self, insn: &Insn, cx: &CtxConv<'_>) -> Result<Vec<Insn>, CtxError> {
        super::skb::convert(self.name(), insn, cx, true)
    }

    /// `tc_cls_act_prologue`: a program that writes the packet directly unclones it first
    /// (dropping it with `TC_ACT_SHOT` when that fails).
    fn gen_prologue(&self, direct_write: bool, cx: &CtxConv<'_>) -> Result<Vec<XInsn>, CtxError> {
        const TC_ACT_SHOT: i32 = 2;
        super::skb_kernel::unclone_prologue(direct_write, cx, TC_ACT_SHOT)
    }

    /// `tc_cls_act_is_valid_access`: tc may write a few more fields, sees the packet pointers
    /// and `tstamp_type` (byte reads only), but not the socket-address fields.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        let off = a.off;
        if a.write {
            let writable = in_range(off, MARK, 4)
                || in_range(off, TC_INDEX, 4)
                || in_range(off, PRIORITY, 4)
                || in_range(off, TC_CLASSID, 4)
                || in_range(off, CB, CB_END - CB)
                || in_range(off, TSTAMP, 8)
                || in_range(off, QUEUE_MAPPING, 4);
            if !writable {
                return None;
            }
        }
        let ptr = if in_range(off, DATA, 4) {
            Some(RegType::Packet)
        } else if in_range(off, DATA_META, 4) {
            Some(RegType::PacketMeta)
        } else if in_range(off, DATA_END, 4) {
            Some(RegType::PacketEnd)
        } else {
            None
        };
        if in_range(off, FAMILY, LOCAL_PORT_END - FAMILY) {
            return None;
        }
        if off == TSTAMP_TYPE {
            return (a.size == 1).then_some(CtxField::Scalar);
        }
        let f = skb::skb_access(a)?;
        Some(ptr.map_or(f, CtxField::Pointer))
    }

    /// `tc_cls_act_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        if f == BpfFunc::GetNetnsCookie {
            return Some(skb::netns_cookie_proto());
        }
        sk_base_func_proto(f).or_else(|| crate::protos::helpers_tc::tc_helper_proto(f))
    }

    fn may_access_skb(&self) -> bool {
        true
    }

    fn may_write_packet(&self) -> bool {
        true
    }

    fn may_update_sockmap(&self, _delete: bool) -> bool {
        true
    }
}

/// `BPF_PROG_TYPE_SCHED_ACT`: tc actions share the classifier's `tc_cls_act_verifier_ops`
/// (context, helpers, packet access, prologue); only the name and kernel type differ.
pub struct SchedAct;

impl ProgTypeOps for SchedAct {
    fn ctx_type_name(&self) -> &'static str {
        SchedCls.ctx_type_name()
    }

    fn name(&self) -> &'static str {
        "sched_act"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::SchedAct)
    }

    fn convert_ctx_access(&self, insn: &Insn, cx: &CtxConv<'_>) -> Result<Vec<Insn>, CtxError> {
        super::skb::convert(self.name(), insn, cx, true)
    }

    fn gen_prologue(&self, direct_write: bool, cx: &CtxConv<'_>) -> Result<Vec<XInsn>, CtxError> {
        SchedCls.gen_prologue(direct_write, cx)
    }

    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        SchedCls.ctx_access(a)
    }

    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        SchedCls.func_proto(f)
    }

    fn may_access_skb(&self) -> bool {
        true
    }

    fn may_write_packet(&self) -> bool {
        true
    }

    fn may_update_sockmap(&self, _delete: bool) -> bool {
        true
    }
}
