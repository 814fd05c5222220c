//! `BPF_PROG_TYPE_CGROUP_SKB` (`cg_skb_verifier_ops`): a socket-filter `__sk_buff` with a
//! readable packet, a few writable fields, the cgroup storage and socket helpers, and a
//! verdict (`0..1`, or `0..3` at egress where bit 1 asks for congestion notification).

use super::skb::{self, off::*};
use super::{CtxAccess, CtxField, LoadAttach, ProgTypeOps, attach_one_of, in_range};
use crate::domain::state::RegType;
use crate::messages::AttachReject;
use crate::protos::cgroup_helpers::{cgroup_common_proto, sk_storage_proto};
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::Proto;
use crate::protos::net_helpers::sk_cgroup_proto;
use kbpf_isa::{AttachType, KernelProgType};

/// The cgroup skb rules.
pub struct CgroupSkb {
    /// The expected attach type (egress returns 0..3).
    pub attach: Option<AttachType>,
}

impl CgroupSkb {
    /// The rules at `attach` (unset: ingress).
    pub fn new(attach: Option<AttachType>) -> CgroupSkb {
        CgroupSkb { attach }
    }
}

impl ProgTypeOps for CgroupSkb {
    fn ctx_type_name(&self) -> &'static str {
        "__sk_buff"
    }

    fn name(&self) -> &'static str {
        "cgroup_skb"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::CgroupSkb)
    }

    fn check_attach(&self, a: LoadAttach) -> Result<(), AttachReject> {
        attach_one_of(self.name(), a, &[AttachType::CgroupInetIngress, AttachType::CgroupInetEgress])
    }

    /// `cg_skb_is_valid_access` (with CAP_BPF: the packet pointers and `tstamp` writes).
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        let off = a.off;
        if in_range(off, TC_CLASSID, 4) || in_range(off, DATA_META, 4) || in_range(off, WIRE_LEN, 4) {
            return None;
        }
        if a.write {
            let writable = in_range(off, MARK, 4)
                || in_range(off, PRIORITY, 4)
                || in_range(off, CB, CB_END - CB)
                || in_range(off, TSTAMP, 8);
            if !writable {
                return None;
            }
        }
        let f = skb::skb_access(a)?;
        Some(packet_pointer(off).map_or(f, CtxField::Pointer))
    }

    /// `cg_skb_func_proto`: the cgroup common set, its own socket helpers, then the socket
    /// filter's set.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        if let Some(p) = cgroup_common_proto(f, self.attach).or_else(|| sk_storage_proto(f, false)) {
            return Some(p);
        }
        let tc = crate::protos::helpers_tc::tc_helper_proto;
        match f {
            F::SkFullsock
            | F::SkbCgroupId
            | F::SkbAncestorCgroupId
            | F::SkLookupTcp
            | F::SkLookupUdp
            | F::SkRelease
            | F::SkcLookupTcp
            | F::TcpSock
            | F::GetListenerSock
            | F::SkbEcnSetCe => tc(f),
            F::SkCgroupId | F::SkAncestorCgroupId => sk_cgroup_proto(f),
            _ => super::socket_filter::SocketFilter.func_proto(f),
        }
    }

    fn retval_range(&self) -> Option<(i64, i64)> {
        Some((0, if self.attach == Some(AttachType::CgroupInetEgress) { 3 } else { 1 }))
    }

    fn may_update_sockmap(&self, _delete: bool) -> bool {
        false
    }
}

/// The packet pointers of the `__sk_buff` types without `data_meta`.
pub(super) fn packet_pointer(off: i64) -> Option<RegType> {
    if in_range(off, DATA, 4) {
        Some(RegType::Packet)
    } else if in_range(off, DATA_END, 4) {
        Some(RegType::PacketEnd)
    } else {
        None
    }
}
