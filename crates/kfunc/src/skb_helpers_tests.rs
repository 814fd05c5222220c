#![allow(unsafe_code)]

use super::*;

/// A run-time skb context like a socket filter's test run: 8 bytes of headroom, a 14-byte
/// Ethernet header (bytes 0xe0..), `data` at the 10-byte network packet (1, 2, ...).
struct Skb {
    ctx: Vec<u8>,
    buf: Vec<u8>,
}

impl Skb {
    fn new() -> Skb {
        let mut buf = vec![0u8; 8 + 14 + 10];
        for (i, b) in buf[8..22].iter_mut().enumerate() {
            *b = 0xe0 + i as u8;
        }
        for (i, b) in buf[22..].iter_mut().enumerate() {
            *b = i as u8 + 1;
        }
        let head = buf.as_ptr() as u64;
        let data = head + 22;
        let p = Pkt { data, data_end: data + 10, meta: data, head, end: head + buf.len() as u64 };
        let mut ctx = vec![0u8; AT as usize + crate::packet_helpers::SKB_PTRS_SIZE];
        // SAFETY: the context has the pointers' bytes.
        unsafe { p.write(ctx.as_mut_ptr() as u64, AT) };
        let at = AT as usize + PKT_PTRS_SIZE;
        ctx[at..at + 8].copy_from_slice(&(head + 8).to_le_bytes());
        ctx[at + 8..at + 16].copy_from_slice(&data.to_le_bytes());
        Skb { ctx, buf }
    }

    fn ctx(&mut self) -> u64 {
        self.ctx.as_mut_ptr() as u64
    }
}

#[test]
fn pull_data_fails_only_past_the_packet() {
    let mut s = Skb::new();
    // SAFETY (every native call below): `s` is a context built around its own buffer.
    assert_eq!(unsafe { skb_pull_data(s.ctx(), 0) }, 0);
    assert_eq!(unsafe { skb_pull_data(s.ctx(), 10) }, 0);
    assert_eq!(unsafe { skb_pull_data(s.ctx(), 11) }, ENOMEM);
}

#[test]
fn change_type_sets_host_to_otherhost() {
    let mut s = Skb::new();
    // SAFETY: as above.
    assert_eq!(unsafe { skb_change_type(s.ctx(), 3) }, 0);
    assert_eq!(s.ctx[4], 3);
    assert_eq!(unsafe { skb_change_type(s.ctx(), 4) }, EINVAL);
    s.ctx[4] = 7; // PACKET_LOOPBACK may not be changed
    assert_eq!(unsafe { skb_change_type(s.ctx(), 0) }, EINVAL);
}

#[test]
fn load_bytes_relative_reads_from_either_header_to_the_tail() {
    let mut s = Skb::new();
    let mut to = [0xffu8; 4];
    let t = to.as_mut_ptr() as u64;
    // SAFETY (every native call below): as above, `to` has 4 writable bytes.
    assert_eq!(unsafe { skb_load_bytes_relative(s.ctx(), 12, t, 4, 0) }, 0);
    assert_eq!(to, [0xec, 0xed, 1, 2]);
    assert_eq!(unsafe { skb_load_bytes_relative(s.ctx(), 6, t, 4, 1) }, 0);
    assert_eq!(to, [7, 8, 9, 10]);
    assert_eq!(unsafe { skb_load_bytes_relative(s.ctx(), 7, t, 4, 1) }, EFAULT);
    assert_eq!(to, [0; 4]);
    to = [0xff; 4];
    assert_eq!(unsafe { skb_load_bytes_relative(s.ctx(), 0, t, 4, 2) }, EFAULT);
    assert_eq!(to, [0; 4]);
    assert_eq!(unsafe { skb_load_bytes_relative(s.ctx(), 0x1_0000, t, 4, 0) }, EFAULT);
    assert_eq!(s.buf[8], 0xe0);
}

#[test]
fn set_tunnel_key_validates_the_key() {
    let mut key = [0u8; 44];
    // SAFETY: `key` has 44 readable bytes.
    let call =
        |key: &[u8; 44], size, flags| unsafe { skb_set_tunnel_key(0, key.as_ptr() as u64, size, flags) };
    assert_eq!(call(&key, 44, 0), 0);
    assert_eq!(call(&key, 8, 0), 0);
    assert_eq!(call(&key, 40, 0), EINVAL);
    assert_eq!(call(&key, 44, 0x20), EINVAL);
    key[24] = 1; // a flow label needs IPv6
    assert_eq!(call(&key, 44, 0), EINVAL);
    assert_eq!(call(&key, 44, 1), 0);
    // the older layouts stop before the label
    assert_eq!(call(&key, 24, 0), 0);
    key[22] = 1;
    assert_eq!(call(&key, 44, 1), EINVAL);
}

#[test]
fn change_head_pushes_zeroes_and_moves_the_link_layer_header() {
    let mut s = Skb::new();
    // SAFETY (every native call below): as above.
    assert_eq!(unsafe { skb_change_head(s.ctx(), 4, 1) }, EINVAL);
    assert_eq!(unsafe { skb_change_head(s.ctx(), u32::MAX as u64, 0) }, EINVAL);
    assert_eq!(unsafe { skb_change_head(s.ctx(), SKB_MAX_LEN - 9, 0) }, EINVAL);
    // more than the 22 bytes of headroom this context has
    assert_eq!(unsafe { skb_change_head(s.ctx(), 23, 0) }, ENOMEM);
    s.ctx[0] = 10;
    assert_eq!(unsafe { skb_change_head(s.ctx(), 4, 0) }, 0);
    let p = unsafe { Pkt::read(s.ctx(), AT) };
    let head = s.buf.as_ptr() as u64;
    assert_eq!((p.data - head, p.len(), p.meta), (18, 14, p.data));
    let at = AT as usize + PKT_PTRS_SIZE;
    assert_eq!(u64::from_le_bytes(s.ctx[at..at + 8].try_into().unwrap()), p.data);
    assert_eq!(s.ctx[0], 14);
    assert_eq!(&s.buf[18..24], &[0, 0, 0, 0, 1, 2]);
}
