//! `BPF_PROG_TYPE_SK_SKB` (`sk_skb_verifier_ops`): sockmap stream parsers and verdicts on
//! an `__sk_buff` with a writable packet and the sockmap redirects.

use super::cgroup_skb::packet_pointer;
use super::skb::{self, off::*};
use super::{CtxAccess, CtxField, ProgTypeOps, in_range};
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::Proto;
use crate::protos::helpers_tc::tc_helper_proto;
use crate::protos::net_helpers::sk_base_func_proto;
use crate::protos::net_helpers::sk_skb_proto;
use kbpf_isa::KernelProgType;

/// The sk_skb rules.
pub struct SkSkb;

impl ProgTypeOps for SkSkb {
    fn ctx_type_name(&self) -> &'static str {
        "__sk_buff"
    }

    fn name(&self) -> &'static str {
        "sk_skb"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::SkSkb)
    }

    /// `sk_skb_is_valid_access`.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        let off = a.off;
        let hidden = in_range(off, TC_CLASSID, 4)
            || in_range(off, DATA_META, 4)
            || in_range(off, TSTAMP, 8)
            || in_range(off, WIRE_LEN, 4)
            || in_range(off, HWTSTAMP, 8)
            || in_range(off, MARK, 4);
        if hidden || (a.write && !(in_range(off, TC_INDEX, 4) || in_range(off, PRIORITY, 4))) {
            return None;
        }
        let f = skb::skb_access(a)?;
        Some(packet_pointer(off).map_or(f, CtxField::Pointer))
    }

    /// `sk_skb_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        sk_skb_proto(f).or_else(|| match f {
            F::SkbStoreBytes
            | F::SkbLoadBytes
            | F::GetSocketCookie
            | F::GetSocketUid
            | F::PerfEventOutput
            | F::SkLookupTcp
            | F::SkLookupUdp
            | F::SkRelease
            | F::SkcLookupTcp => tc_helper_proto(f),
            _ => sk_base_func_proto(f),
        })
    }

    fn may_write_packet(&self) -> bool {
        true
    }
}
