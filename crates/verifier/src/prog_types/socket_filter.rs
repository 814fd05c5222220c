//! `BPF_PROG_TYPE_SOCKET_FILTER` (`sk_filter_verifier_ops`): a read-mostly `__sk_buff`
//! without the packet pointers, `LD_ABS`, and the skb load helpers.

use super::skb::{self, off::*};
use super::{CtxAccess, CtxError, CtxField, ProgTypeOps, in_range};
use crate::fixups::CtxConv;
use crate::protos::func_id::BpfFunc::{self, self as F};
use crate::protos::helpers::{Arg, Proto, Ret};
use crate::protos::net_helpers::sk_base_func_proto;
use kbpf_isa::Insn;
use kbpf_isa::KernelProgType;

/// The socket-filter rules.
pub struct SocketFilter;

impl ProgTypeOps for SocketFilter {
    fn ctx_type_name(&self) -> &'static str {
        "__sk_buff"
    }

    fn name(&self) -> &'static str {
        "socket_filter"
    }

    fn kernel_type(&self) -> Option<KernelProgType> {
        Some(KernelProgType::SocketFilter)
    }

    /// `__sk_buff` onto the kernel's `struct sk_buff`, or kbpf's run-time `__sk_buff` (the uapi
    /// layout with the packet pointers after it).
    fn convert_ctx_access(&self, insn: &Insn, cx: &CtxConv<'_>) -> Result<Vec<Insn>, CtxError> {
        super::skb::convert(self.name(), insn, cx, false)
    }

    /// `sk_filter_is_valid_access`.
    fn ctx_access(&self, a: CtxAccess) -> Option<CtxField> {
        let off = a.off;
        // never: tc_classid, data, data_meta, data_end, family..local_port, tstamp, wire_len,
        // hwtstamp
        let hidden = in_range(off, TC_CLASSID, 4)
            || in_range(off, DATA, 4)
            || in_range(off, DATA_META, 4)
            || in_range(off, DATA_END, 4)
            || in_range(off, FAMILY, LOCAL_PORT_END - FAMILY)
            || in_range(off, TSTAMP, 8)
            || in_range(off, WIRE_LEN, 4)
            || in_range(off, HWTSTAMP, 8);
        if hidden || (a.write && !in_range(off, CB, CB_END - CB)) {
            return None;
        }
        skb::skb_access(a)
    }

    /// `sk_filter_func_proto`.
    fn func_proto(&self, f: BpfFunc) -> Option<Proto> {
        use Arg::*;
        const D: Arg = DontCare;
        let p = |args, ret| Some(Proto { args, ret, gpl_only: false, map_types: &[] });
        if f == F::GetNetnsCookie {
            return Some(skb::netns_cookie_proto());
        }
        sk_base_func_proto(f).or_else(|| match f {
            // skb_load_bytes
            F::SkbLoadBytes => {
                p([Ctx, Anything, Mem { write: true, maybe_null: false }, ConstSize, D], Ret::Integer)
            }
            F::SkbLoadBytesRelative | F::PerfEventOutput => crate::protos::helpers_tc::tc_helper_proto(f),
            // get_socket_cookie, get_socket_uid
            F::GetSocketCookie | F::GetSocketUid => p([Ctx, D, D, D, D], Ret::Integer),
            _ => None,
        })
    }

    fn may_access_skb(&self) -> bool {
        true
    }

    fn may_update_sockmap(&self, _delete: bool) -> bool {
        true
    }
}
