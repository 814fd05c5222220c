//! `BPF_PROG_TYPE_SK_LOOKUP` (`sk_lookup_verifier_ops`): socket dispatch on a read-only
//! `struct bpf_sk_lookup`; the verdict is `SK_DROP` or `SK_PASS`.

use super::{CtxAccess, CtxField, LoadAttach, ProgTypeOps, attach_one_of, narrow_ok};
use crate::domain::state::RegType;
use crate::messages::AttachReject;
use crate::protos::cgroup_helpers::event_output_data_proto;
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::Proto;
use crate::protos::net_helpers::sk_base_func_proto;
use crate::protos::net_helpers::sk_lookup_proto;
use kbpf_isa::{AttachType, KernelProgType};

/// `struct bpf_sk_lookup` offsets.
mod off {
    pub const SK: i64 = 0;
    pub const FAMILY: i64 = 8;
    pub const REMOTE_PORT: i64 = 36;
    pub const LOCAL_IP4: i64 = 40;
    pub const SIZE: i64 = 68;
}

/// The sk_lookup rules.
pub struct SkLookup;

impl ProgTypeOps for SkLookup {
    fn ctx_type_name(&self) -> &'static str {
        "bpf_sk_lookup"
    }

    fn name(&self) -> &'static str {
        "sk_lookup"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::SkLookup)
    }

    fn check_attach(&self, a: LoadAttach) -> Result<(), AttachReject> {
        attach_one_of(self.name(), a, &[AttachType::SkLookup])
    }

    /// `sk_lookup_is_valid_access`.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        use off::*;
        let CtxAccess { off, size, write, .. } = a;
        if !(0..SIZE).contains(&off) || size <= 0 || off % size != 0 || write {
            return None;
        }
        let ok = match off {
            SK => return (size == 8).then_some(CtxField::PointerOrNull(RegType::Sock)),
            1..FAMILY => false,
            // a 4-byte load of the 2-byte remote_port is kept for old programs, and so is
            // the zero padding after it
            REMOTE_PORT => size == 4 || narrow_ok(size, 2),
            o if (REMOTE_PORT + 2..LOCAL_IP4).contains(&o) => narrow_ok(size, 2),
            _ => narrow_ok(size, 4),
        };
        ok.then_some(CtxField::Scalar)
    }

    /// `sk_lookup_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        sk_lookup_proto(f).or_else(|| match f {
            F::PerfEventOutput => Some(event_output_data_proto()),
            _ => sk_base_func_proto(f),
        })
    }

    fn retval_range(&self) -> Option<(i64, i64)> {
        Some((0, 1))
    }

    fn may_update_sockmap(&self, _delete: bool) -> bool {
        true
    }
}
