//! `BPF_PROG_TYPE_SOCK_OPS` (`sock_ops_verifier_ops`): TCP event callbacks on
//! `struct bpf_sock_ops`, with the socket, the segment's bytes (read-only packet) and the
//! socket-option, header-option and sockmap helpers.

use super::{CtxAccess, CtxField, ProgTypeOps, narrow_ok};
use crate::domain::state::RegType;
use crate::protos::cgroup_helpers::{
    cgroup_common_proto, ctx_only, event_output_data_proto, sk_storage_proto,
};
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::{Arg, Proto};
use crate::protos::net_helpers::sk_base_func_proto;
use crate::protos::net_helpers::{sock_ops_proto, sockopt_proto};
use kbpf_isa::{AttachType, KernelProgType};

/// `struct bpf_sock_ops` offsets.
mod off {
    pub const REPLY: i64 = 4;
    pub const SK_TXHASH: i64 = 164;
    pub const BYTES_RECEIVED: i64 = 168;
    pub const SK: i64 = 184;
    pub const SKB_DATA: i64 = 192;
    pub const SKB_DATA_END: i64 = 200;
    pub const SKB_LEN: i64 = 208;
    pub const SKB_TCP_FLAGS: i64 = 212;
    pub const SKB_HWTSTAMP: i64 = 216;
    pub const SIZE: i64 = 224;
}

/// The sock_ops rules.
pub struct SockOps {
    /// The expected attach type (`bpf_get_retval` depends on it).
    pub attach: Option<AttachType>,
}

impl ProgTypeOps for SockOps {
    fn ctx_type_name(&self) -> &'static str {
        "bpf_sock_ops"
    }

    fn name(&self) -> &'static str {
        "sock_ops"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::SockOps)
    }

    /// `sock_ops_is_valid_access`.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        use off::*;
        let CtxAccess { off, size, write, .. } = a;
        if !(0..SIZE).contains(&off) || size <= 0 || off % size != 0 {
            return None;
        }
        let field = |ok: bool, f: CtxField| ok.then_some(f);
        if write {
            return field(matches!(off, REPLY | SK_TXHASH) && size == 4, CtxField::Scalar);
        }
        // the 8-byte fields take their whole range (`bpf_ctx_range_ptr`)
        match off {
            BYTES_RECEIVED..SK | SKB_HWTSTAMP..SIZE => field(size == 8, CtxField::Scalar),
            SK..SKB_DATA => field(size == 8, CtxField::PointerOrNull(RegType::Sock)),
            SKB_DATA..SKB_DATA_END => field(size == 8, CtxField::Pointer(RegType::Packet)),
            SKB_DATA_END..SKB_LEN => field(size == 8, CtxField::Pointer(RegType::PacketEnd)),
            SKB_TCP_FLAGS => field(narrow_ok(size, 4), CtxField::Scalar),
            _ => field(size == 4, CtxField::Scalar),
        }
    }

    /// `sock_ops_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        if let Some(p) = cgroup_common_proto(f, self.attach) {
            return Some(p);
        }
        sock_ops_proto(f).or_else(|| match f {
            F::Setsockopt | F::Getsockopt => sockopt_proto(f, Arg::Ctx),
            F::GetSocketCookie => Some(ctx_only(false)),
            F::GetNetnsCookie => Some(ctx_only(true)),
            F::PerfEventOutput => Some(event_output_data_proto()),
            F::SkStorageGet | F::SkStorageDelete => sk_storage_proto(f, false),
            F::TcpSock => crate::protos::helpers_tc::tc_helper_proto(f),
            _ => sk_base_func_proto(f),
        })
    }

    fn retval_range(&self) -> Option<(i64, i64)> {
        Some((0, 1))
    }

    fn helper_packet_access(&self, _declared: bool) -> bool {
        false
    }

    fn may_update_sockmap(&self, delete: bool) -> bool {
        delete
    }
}
