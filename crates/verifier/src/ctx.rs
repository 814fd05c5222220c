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
}

/// Whether `[off, off+size)` of the context may be accessed; `None` = invalid access.
pub fn ctx_access(pt: ProgType, off: i64, size: i64, write: bool, ldsx: bool) -> Option<CtxField> {
    match pt {
        ProgType::SocketFilter => sk_filter_access(off, size, write, ldsx),
        ProgType::Xdp => xdp_access(off, size, write, ldsx),
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

fn skb_access(off: i64, size: i64, write: bool, _ldsx: bool) -> Option<CtxField> {
    if !(0..SKB_SIZE).contains(&off) || size <= 0 || off % size != 0 {
        return None;
    }
    if in_range(off, 48, 20) {
        // cb[0..4]
        return (off + size <= 68).then_some(CtxField::Scalar);
    }
    if in_range(off, 144, 8) {
        return None; // flow_keys
    }
    if off == 168 {
        // sk: PTR_TO_SOCK_COMMON_OR_NULL, not modelled
        return None;
    }
    if (180..184).contains(&off) {
        return None; // tstamp_type and padding
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
    matches!(pt, ProgType::SocketFilter)
}

/// Whether direct packet writes are allowed.
pub fn may_write_packet(pt: ProgType) -> bool {
    matches!(pt, ProgType::Xdp)
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
