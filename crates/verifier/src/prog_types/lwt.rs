//! `BPF_PROG_TYPE_LWT_IN`, `_OUT`, `_XMIT`, `_SEG6LOCAL` (`lwt_*_verifier_ops`): a
//! lightweight-tunnel `__sk_buff` with a readable packet (writable at xmit) and each hook's
//! encapsulation helpers on top of `lwt_out_func_proto`.

use super::cgroup_skb::packet_pointer;
use super::skb::{self, off::*};
use super::{CtxAccess, CtxField, ProgTypeOps, in_range};
use crate::LwtKind;
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::Proto;
use crate::protos::helpers_tc::tc_helper_proto;
use crate::protos::net_helpers::lwt_proto;
use crate::protos::net_helpers::sk_base_func_proto;
use kbpf_isa::KernelProgType;

/// The lightweight-tunnel rules.
pub struct Lwt {
    /// Which of the four hooks.
    pub kind: LwtKind,
}

impl ProgTypeOps for Lwt {
    fn ctx_type_name(&self) -> &'static str {
        "__sk_buff"
    }

    fn name(&self) -> &'static str {
        match self.kind {
            LwtKind::In => "lwt_in",
            LwtKind::Out => "lwt_out",
            LwtKind::Xmit => "lwt_xmit",
            LwtKind::Seg6local => "lwt_seg6local",
        }
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(match self.kind {
            LwtKind::In => KernelProgType::LwtIn,
            LwtKind::Out => KernelProgType::LwtOut,
            LwtKind::Xmit => KernelProgType::LwtXmit,
            LwtKind::Seg6local => KernelProgType::LwtSeg6local,
        })
    }

    /// `lwt_is_valid_access`.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        let off = a.off;
        let hidden = in_range(off, TC_CLASSID, 4)
            || in_range(off, FAMILY, LOCAL_PORT_END - FAMILY)
            || in_range(off, DATA_META, 4)
            || in_range(off, TSTAMP, 8)
            || in_range(off, WIRE_LEN, 4)
            || in_range(off, HWTSTAMP, 8);
        if hidden {
            return None;
        }
        if a.write
            && !(in_range(off, MARK, 4) || in_range(off, PRIORITY, 4) || in_range(off, CB, CB_END - CB))
        {
            return None;
        }
        let f = skb::skb_access(a)?;
        Some(packet_pointer(off).map_or(f, CtxField::Pointer))
    }

    /// `lwt_in_func_proto`, `lwt_out_func_proto`, `lwt_xmit_func_proto`,
    /// `lwt_seg6local_func_proto`. The seg6 helpers need `CONFIG_IPV6_SEG6_BPF`, which the
    /// reference kernel (6.18 as configured on the oracle machine) leaves out: seg6local
    /// programs get `lwt_out`'s set.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        let own = match (self.kind, f) {
            (LwtKind::In | LwtKind::Xmit, F::LwtPushEncap) => lwt_proto(f),
            (
                LwtKind::Xmit,
                F::SkbGetTunnelKey
                | F::SkbSetTunnelKey
                | F::SkbGetTunnelOpt
                | F::SkbSetTunnelOpt
                | F::Redirect
                | F::CloneRedirect
                | F::SkbChangeTail
                | F::SkbChangeHead
                | F::SkbStoreBytes
                | F::CsumUpdate
                | F::CsumLevel
                | F::L3CsumReplace
                | F::L4CsumReplace
                | F::SetHashInvalid,
            ) => tc_helper_proto(f),
            _ => None,
        };
        own.or_else(|| match f {
            F::SkbLoadBytes
            | F::SkbPullData
            | F::CsumDiff
            | F::GetCgroupClassid
            | F::GetRouteRealm
            | F::GetHashRecalc
            | F::PerfEventOutput
            | F::SkbUnderCgroup => tc_helper_proto(f),
            _ => sk_base_func_proto(f),
        })
    }

    fn may_write_packet(&self) -> bool {
        self.kind == LwtKind::Xmit
    }
}
