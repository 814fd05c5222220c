//! Context access rules per program type (`*_is_valid_access`).

use crate::ProgType;
use crate::state::RegType;

/// What a valid context load yields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtxField {
    /// An unknown scalar.
    Scalar,
    /// A pointer of this type with offset 0.
    Pointer(RegType),
    /// A pointer that must be NULL-checked (gets a fresh id).
    PointerOrNull(RegType),
}

/// Whether `[off, off+size)` of the context may be accessed; `None` = invalid access.
pub fn ctx_access(pt: ProgType, off: i64, size: i64, write: bool, ldsx: bool) -> Option<CtxField> {
    match pt {
        ProgType::SocketFilter => sk_filter_access(off, size, write, ldsx),
        ProgType::Xdp => xdp_access(off, size, write, ldsx),
        ProgType::SchedCls => tc_cls_act_access(off, size, write, ldsx),
        ProgType::Syscall => {
            (off >= 0 && off < u16::MAX as i64 && off % size == 0).then_some(CtxField::Scalar)
        }
        ProgType::Mem { ctx_size } => (off >= 0 && off + size <= ctx_size as i64).then_some(CtxField::Scalar),
    }
}

/// `sizeof(struct __sk_buff)`.
const SKB_SIZE: i64 = 192;

fn in_range(off: i64, start: i64, len: i64) -> bool {
    off >= start && off < start + len
}

fn sk_filter_access(off: i64, size: i64, write: bool, ldsx: bool) -> Option<CtxField> {
    // Fields a socket filter may never touch: tc_classid, data, data_meta, data_end,
    // family..local_port, tstamp, wire_len, hwtstamp.
    if in_range(off, 72, 4)
        || in_range(off, 76, 4)
        || in_range(off, 140, 4)
        || in_range(off, 80, 4)
        || in_range(off, 88, 52)
        || in_range(off, 152, 8)
        || in_range(off, 160, 4)
        || in_range(off, 184, 8)
    {
        return None;
    }
    if write && !in_range(off, 48, 20) {
        return None;
    }
    skb_access(off, size, write, ldsx)
}

/// `__sk_buff` field offsets the rules below name.
mod skb {
    pub const QUEUE_MAPPING: i64 = 12;
    pub const PRIORITY: i64 = 32;
    pub const TC_INDEX: i64 = 44;
    pub const MARK: i64 = 8;
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
    pub const SK: i64 = 168;
    pub const TSTAMP_TYPE: i64 = 180;
    pub const HWTSTAMP: i64 = 184;
}

/// `tc_cls_act_is_valid_access`: tc may write a few more fields, sees the packet pointers and
/// `tstamp_type` (byte reads only), but not the socket-address fields.
fn tc_cls_act_access(off: i64, size: i64, write: bool, ldsx: bool) -> Option<CtxField> {
    use skb::*;
    if write {
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
        return (size == 1).then_some(CtxField::Scalar);
    }
    let f = skb_access(off, size, write, ldsx)?;
    Some(ptr.map_or(f, CtxField::Pointer))
}

/// `bpf_skb_is_valid_access`: the rules every `__sk_buff` program type shares.
fn skb_access(off: i64, size: i64, write: bool, ldsx: bool) -> Option<CtxField> {
    use skb::*;
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

fn xdp_access(off: i64, size: i64, write: bool, ldsx: bool) -> Option<CtxField> {
    if off == 20 {
        return None; // egress_ifindex (devmap programs only)
    }
    if write {
        return None;
    }
    if ldsx && matches!(off, 0 | 4 | 8) {
        return None;
    }
    if !(0..24).contains(&off) || size <= 0 || off % size != 0 || size != 4 {
        return None;
    }
    Some(match off {
        0 => CtxField::Pointer(RegType::Packet),
        4 => CtxField::Pointer(RegType::PacketEnd),
        8 => CtxField::Pointer(RegType::PacketMeta),
        _ => CtxField::Scalar,
    })
}

/// Whether LD_ABS/LD_IND are allowed (`may_access_skb`).
pub fn may_access_skb(pt: ProgType) -> bool {
    matches!(pt, ProgType::SocketFilter | ProgType::SchedCls)
}

/// Whether direct packet writes are allowed.
pub fn may_write_packet(pt: ProgType) -> bool {
    matches!(pt, ProgType::Xdp | ProgType::SchedCls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skb_rules() {
        assert_eq!(ctx_access(ProgType::SocketFilter, 0, 4, false, false), Some(CtxField::Scalar));
        assert_eq!(ctx_access(ProgType::SocketFilter, 0, 8, false, false), None);
        assert_eq!(ctx_access(ProgType::SocketFilter, 0, 4, true, false), None);
        assert_eq!(ctx_access(ProgType::SocketFilter, 48, 4, true, false), Some(CtxField::Scalar));
        assert_eq!(ctx_access(ProgType::SocketFilter, 76, 4, false, false), None);
        assert_eq!(ctx_access(ProgType::SocketFilter, 1000, 8, false, false), None);
    }

    #[test]
    fn xdp_rules() {
        assert_eq!(ctx_access(ProgType::Xdp, 0, 4, false, false), Some(CtxField::Pointer(RegType::Packet)));
        assert_eq!(
            ctx_access(ProgType::Xdp, 4, 4, false, false),
            Some(CtxField::Pointer(RegType::PacketEnd))
        );
        assert_eq!(ctx_access(ProgType::Xdp, 0, 8, false, false), None);
        assert_eq!(ctx_access(ProgType::Xdp, 12, 4, false, false), Some(CtxField::Scalar));
    }
}
