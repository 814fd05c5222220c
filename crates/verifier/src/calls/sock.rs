//! Socket pointers (`PTR_TO_SOCKET`, `PTR_TO_SOCK_COMMON`, `PTR_TO_TCP_SOCK`): which fields of
//! `struct bpf_sock` / `struct bpf_tcp_sock` a program may read (`check_sock_access` with
//! `bpf_sock_is_valid_access`, `bpf_sock_common_is_valid_access`,
//! `bpf_tcp_sock_is_valid_access`). Socket memory is never writable.

use crate::domain::state::{RegState, RegType};
use crate::env::ctx::Mem;
use crate::messages::{Reject, TypeName};

/// `struct bpf_sock` offsets (uapi layout).
mod bpf_sock {
    pub const FAMILY: i64 = 4;
    pub const TYPE: i64 = 8;
    pub const PROTOCOL: i64 = 12;
    pub const PRIORITY_END: i64 = 24;
    pub const SRC_IP4: i64 = 24;
    pub const SRC_IP6: i64 = 28;
    pub const SRC_PORT: i64 = 44;
    pub const DST_PORT: i64 = 48;
    pub const DST_PORT_END: i64 = 50;
    pub const DST_IP4: i64 = 52;
    pub const DST_IP6: i64 = 56;
    pub const STATE: i64 = 72;
    pub const RX_QUEUE_MAPPING: i64 = 76;
    pub const SIZE: i64 = 80;
}

/// `struct bpf_tcp_sock`: the two u64 counters and the end of the readable part.
mod tcp_sock {
    pub const BYTES_RECEIVED: i64 = 80;
    pub const BYTES_ACKED: i64 = 88;
    pub const END: i64 = 112;
}

/// Loads narrower than the 4-byte field are fine when they are a power of two.
fn narrow_ok(size: i64, field: i64) -> bool {
    size <= field && size & (size - 1) == 0
}

/// `bpf_sock_is_valid_access` for a read of `size` bytes at `off`.
pub fn bpf_sock_access_ok(off: i64, size: i64) -> bool {
    use bpf_sock::*;
    if !(0..SIZE).contains(&off) || size <= 0 || off % size != 0 {
        return false;
    }
    let narrow_field = matches!(off, STATE | FAMILY | TYPE | PROTOCOL | SRC_PORT | RX_QUEUE_MAPPING)
        || (SRC_IP4..SRC_IP4 + 4).contains(&off)
        || (SRC_IP6..SRC_IP6 + 16).contains(&off)
        || (DST_IP4..DST_IP4 + 4).contains(&off)
        || (DST_IP6..DST_IP6 + 16).contains(&off);
    if narrow_field {
        return narrow_ok(size, 4);
    }
    if (DST_PORT..DST_PORT + 4).contains(&off) && off < DST_PORT_END {
        // dst_port is a 2-byte field but a full 4-byte load is tolerated
        let field = if size == 4 { 4 } else { 2 };
        return narrow_ok(size, field);
    }
    if (DST_PORT_END..DST_IP4).contains(&off) {
        return false; // padding after dst_port
    }
    size == 4
}

/// `bpf_sock_common_is_valid_access`: type..priority belong to full sockets only.
pub fn bpf_sock_common_access_ok(off: i64, size: i64) -> bool {
    if (bpf_sock::TYPE..bpf_sock::PRIORITY_END).contains(&off) {
        return false;
    }
    bpf_sock_access_ok(off, size)
}

/// `bpf_tcp_sock_is_valid_access`.
pub fn bpf_tcp_sock_access_ok(off: i64, size: i64) -> bool {
    use tcp_sock::*;
    if !(0..END).contains(&off) || size <= 0 || off % size != 0 {
        return false;
    }
    if off == BYTES_RECEIVED || off == BYTES_ACKED {
        return size == 8;
    }
    size == 4
}

/// `bpf_xdp_sock_is_valid_access`: `struct bpf_xdp_sock` is one `__u32 queue_id`, read whole.
pub fn bpf_xdp_sock_access_ok(off: i64, size: i64) -> bool {
    off == 0 && size == 4
}

impl Mem<'_, '_> {
    /// `check_sock_access`: `off` already includes the register's fixed offset.
    pub(crate) fn check_sock_access(
        &self,
        regno: u8,
        reg: &RegState,
        off: i64,
        size: i64,
    ) -> Result<(), Reject> {
        if reg.b64.smin < 0 {
            return Err(Reject::MinNegative(regno.into()));
        }
        let valid = match reg.ty {
            RegType::SockCommon => bpf_sock_common_access_ok(off, size),
            RegType::Sock => bpf_sock_access_ok(off, size),
            RegType::TcpSock => bpf_tcp_sock_access_ok(off, size),
            RegType::XdpSock => bpf_xdp_sock_access_ok(off, size),
            _ => false,
        };
        if valid {
            return Ok(());
        }
        Err(Reject::InvalidSockAccess(regno.into(), TypeName::new(reg.ty, reg.flags), off, size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bpf_sock_fields() {
        assert!(bpf_sock_access_ok(4, 4));
        assert!(bpf_sock_access_ok(4, 2));
        assert!(bpf_sock_access_ok(4, 1));
        assert!(!bpf_sock_access_ok(6, 2)); // not at a narrow field start
        assert!(bpf_sock_access_ok(0, 4)); // bound_dev_if
        assert!(!bpf_sock_access_ok(0, 2));
        assert!(bpf_sock_access_ok(48, 4));
        assert!(bpf_sock_access_ok(48, 2));
        assert!(!bpf_sock_access_ok(50, 2));
        assert!(!bpf_sock_access_ok(80, 4));
        assert!(!bpf_sock_access_ok(0, 8));
        assert!(bpf_sock_access_ok(60, 1));
        assert!(bpf_sock_access_ok(25, 1)); // inside src_ip4
        assert!(!bpf_sock_access_ok(5, 1)); // family: only at its offset
    }

    #[test]
    fn sock_common_and_tcp() {
        assert!(!bpf_sock_common_access_ok(8, 4));
        assert!(!bpf_sock_common_access_ok(20, 4));
        assert!(bpf_sock_common_access_ok(24, 4));
        assert!(bpf_tcp_sock_access_ok(80, 8));
        assert!(!bpf_tcp_sock_access_ok(80, 4));
        assert!(bpf_tcp_sock_access_ok(108, 4));
        assert!(!bpf_tcp_sock_access_ok(112, 4));
        assert!(!bpf_tcp_sock_access_ok(0, 2));
    }
}
