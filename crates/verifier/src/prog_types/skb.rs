//! `bpf_skb_is_valid_access`: the `__sk_buff` rules every skb program type shares, and the
//! helper every skb type adds to the base set.

use super::{CtxAccess, CtxField, in_range};
use crate::domain::state::RegType;
use crate::protos::helpers::{Arg, Proto, Ret};

/// `sizeof(struct __sk_buff)`.
const SKB_SIZE: i64 = 192;

/// `__sk_buff` field offsets the rules name.
pub(super) mod off {
    pub const MARK: i64 = 8;
    pub const QUEUE_MAPPING: i64 = 12;
    pub const PRIORITY: i64 = 32;
    pub const TC_INDEX: i64 = 44;
    pub const CB: i64 = 48;
    pub const CB_END: i64 = 68;
    pub const TC_CLASSID: i64 = 72;
    pub const DATA: i64 = 76;
    pub const DATA_END: i64 = 80;
    pub const FAMILY: i64 = 88;
    pub const LOCAL_PORT_END: i64 = 140;
    pub const DATA_META: i64 = 140;
    pub const FLOW_KEYS: i64 = 144;
    pub const TSTAMP: i64 = 152;
    pub const WIRE_LEN: i64 = 160;
    pub const SK: i64 = 168;
    pub const TSTAMP_TYPE: i64 = 180;
    pub const HWTSTAMP: i64 = 184;
}

/// The shared rules, after the type's own have run.
pub(super) fn skb_access(a: CtxAccess) -> Option<CtxField> {
    use off::*;
    let CtxAccess { off, size, write, ldsx, .. } = a;
    if !(0..SKB_SIZE).contains(&off) || size <= 0 || off % size != 0 {
        return None;
    }
    if in_range(off, CB, CB_END - CB) {
        return (off + size <= CB_END).then_some(CtxField::Scalar);
    }
    if in_range(off, DATA, 4) || in_range(off, DATA_META, 4) || in_range(off, DATA_END, 4) {
        return (!ldsx && size == 4).then_some(CtxField::Scalar);
    }
    if in_range(off, FLOW_KEYS, 8) {
        return None;
    }
    if in_range(off, HWTSTAMP, 8) {
        return (!write && size == 8).then_some(CtxField::Scalar);
    }
    if in_range(off, TSTAMP, 8) {
        return (size == 8).then_some(CtxField::Scalar);
    }
    if in_range(off, SK, 8) {
        return (off == SK && !write && size == 8).then_some(CtxField::PointerOrNull(RegType::SockCommon));
    }
    if (TSTAMP_TYPE..HWTSTAMP).contains(&off) {
        return None; // tstamp_type (tc handles it first) and padding
    }
    if write {
        return (size == 4).then_some(CtxField::Scalar);
    }
    // narrow loads of 4-byte fields
    (size <= 4 && size & (size - 1) == 0).then_some(CtxField::Scalar)
}

/// The skb types' `bpf_get_netns_cookie` prototype.
pub(super) fn netns_cookie_proto() -> Proto {
    Proto {
        args: [Arg::CtxOrNull, Arg::DontCare, Arg::DontCare, Arg::DontCare, Arg::DontCare],
        ret: Ret::Integer,
        gpl_only: false,
        map_types: &[],
    }
}

/// An `__sk_buff` access converted for `cx.target`: the kernel's `struct sk_buff`
/// ([`super::skb_kernel`]), or kbpf's run-time context, where the 32-bit `data`, `data_end` and
/// `data_meta` loads read the 64-bit host pointers after the uapi structure and everything else
/// reads the uapi field where it is.
pub(super) fn convert(
    prog_type: &'static str,
    insn: &kbpf_isa::Insn,
    cx: &crate::fixups::CtxConv<'_>,
    tc: bool,
) -> Result<Vec<kbpf_isa::Insn>, super::CtxError> {
    use kbpf_isa::{Insn, Size};
    if cx.target == crate::fixups::CtxTarget::Kernel {
        return super::skb_kernel::convert(prog_type, insn, cx, tc);
    }
    const POINTERS: [i16; 3] = [76, 80, 140];
    const UAPI_SIZE: i16 = 192;
    Ok(vec![match *insn {
        Insn::Load { size: Size::W, signed: false, dst, src, off } if POINTERS.contains(&off) => {
            let k = POINTERS.iter().position(|&f| f == off).unwrap_or(0) as i16;
            Insn::Load { size: Size::DW, signed: false, dst, src, off: UAPI_SIZE + 8 * k }
        }
        other => other,
    }])
}
