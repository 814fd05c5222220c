#![allow(unsafe_code)]

use super::*;

/// A run-time xdp context around a frame like the test run's: `len` packet bytes 1, 2, 3, ...
/// at the headroom.
struct Frame {
    ctx: Vec<u8>,
    buf: Vec<u8>,
}

impl Frame {
    fn new(len: usize) -> Frame {
        let mut buf = vec![0u8; XDP_FRAME_SIZE];
        for (i, b) in buf[XDP_PACKET_HEADROOM..XDP_PACKET_HEADROOM + len].iter_mut().enumerate() {
            *b = i as u8 + 1;
        }
        let head = buf.as_ptr() as u64;
        let data = head + XDP_PACKET_HEADROOM as u64;
        let p =
            Pkt { data, data_end: data + len as u64, meta: data, head, end: head + XDP_FRAME_SIZE as u64 };
        let mut ctx = vec![0u8; AT as usize + crate::packet_helpers::PKT_PTRS_SIZE];
        // SAFETY: the context has the pointers' bytes.
        unsafe { p.write(ctx.as_mut_ptr() as u64, AT) };
        Frame { ctx, buf }
    }

    fn ctx(&mut self) -> u64 {
        self.ctx.as_mut_ptr() as u64
    }

    fn pkt(&self) -> Pkt {
        // SAFETY: as in `new`.
        unsafe { Pkt::read(self.ctx.as_ptr() as u64, AT) }
    }

    /// (data, data_end, meta) as offsets into the buffer.
    fn offsets(&self) -> (u64, u64, u64) {
        let p = self.pkt();
        let h = self.buf.as_ptr() as u64;
        (p.data - h, p.data_end - h, p.meta - h)
    }
}

const H: u64 = XDP_PACKET_HEADROOM as u64;

#[test]
fn adjust_head_moves_data_within_the_frame() {
    let mut f = Frame::new(54);
    // SAFETY (every native call below): `f` is a context built around its own frame.
    assert_eq!(unsafe { xdp_adjust_head(f.ctx(), (-20i64) as u64) }, 0);
    assert_eq!(f.offsets(), (H - 20, H + 54, H - 20));
    assert_eq!(unsafe { xdp_adjust_head(f.ctx(), 20) }, 0);
    // down to the end of the frame's xdp_frame, no further
    let lowest = -(H as i64 - XDP_FRAME_HEAD as i64);
    assert_eq!(unsafe { xdp_adjust_head(f.ctx(), (lowest - 1) as u64) }, EINVAL);
    assert_eq!(unsafe { xdp_adjust_head(f.ctx(), lowest as u64) }, 0);
    assert_eq!(unsafe { xdp_adjust_head(f.ctx(), (-lowest) as u64) }, 0);
    // an Ethernet header must remain
    assert_eq!(unsafe { xdp_adjust_head(f.ctx(), 41) }, EINVAL);
    assert_eq!(unsafe { xdp_adjust_head(f.ctx(), 40) }, 0);
    assert_eq!(f.offsets(), (H + 40, H + 54, H + 40));
    assert_eq!(unsafe { xdp_get_buff_len(f.ctx()) }, 14);
}

#[test]
fn adjust_meta_bounds_and_head_moves_metadata() {
    let mut f = Frame::new(54);
    // SAFETY (every native call below): as above.
    assert_eq!(unsafe { xdp_adjust_meta(f.ctx(), (-6i64) as u64) }, EACCES);
    assert_eq!(unsafe { xdp_adjust_meta(f.ctx(), 4) }, EINVAL);
    assert_eq!(unsafe { xdp_adjust_meta(f.ctx(), (-256i64) as u64) }, EINVAL);
    assert_eq!(unsafe { xdp_adjust_meta(f.ctx(), (-8i64) as u64) }, 0);
    f.buf[(H - 8) as usize..H as usize].copy_from_slice(&[9; 8]);
    // the head moves the metadata along
    assert_eq!(unsafe { xdp_adjust_head(f.ctx(), 4) }, 0);
    assert_eq!(f.offsets(), (H + 4, H + 54, H - 4));
    assert_eq!(&f.buf[(H - 4) as usize..(H + 4) as usize], &[9; 8]);
    // the head may not eat into the metadata's room
    let lowest = -((H + 4) as i64 - XDP_FRAME_HEAD as i64 - 8);
    assert_eq!(unsafe { xdp_adjust_head(f.ctx(), (lowest - 1) as u64) }, EINVAL);
}

#[test]
fn adjust_tail_grows_zeroed_up_to_the_reserved_tail() {
    let mut f = Frame::new(54);
    // SAFETY (every native call below): as above.
    assert_eq!(unsafe { xdp_adjust_tail(f.ctx(), (-41i64) as u64) }, EINVAL);
    assert_eq!(unsafe { xdp_adjust_tail(f.ctx(), (-40i64) as u64) }, 0);
    assert_eq!(unsafe { xdp_adjust_tail(f.ctx(), 40) }, 0);
    // the bytes that came back are zeroed
    assert_eq!(&f.buf[(H + 14) as usize..(H + 54) as usize], &[0; 40]);
    let room = (XDP_FRAME_SIZE - XDP_TAILROOM) as u64 - (H + 54);
    assert_eq!(unsafe { xdp_adjust_tail(f.ctx(), room + 1) }, EINVAL);
    assert_eq!(unsafe { xdp_adjust_tail(f.ctx(), room) }, 0);
    assert_eq!(unsafe { xdp_get_buff_len(f.ctx()) }, XDP_MAX_DATA as u64);
}

#[test]
fn load_and_store_bytes_check_offsets() {
    let mut f = Frame::new(54);
    let mut buf = [0xeeu8; 4];
    let b = buf.as_mut_ptr() as u64;
    // SAFETY (every native call below): as above, and `buf` has 4 bytes.
    assert_eq!(unsafe { xdp_load_bytes(f.ctx(), 50, b, 4) }, 0);
    assert_eq!(buf, [51, 52, 53, 54]);
    assert_eq!(unsafe { xdp_load_bytes(f.ctx(), 51, b, 4) }, EINVAL);
    assert_eq!(unsafe { xdp_load_bytes(f.ctx(), 0x1_0000, b, 4) }, EFAULT);
    // an error leaves the buffer as it was
    assert_eq!(buf, [51, 52, 53, 54]);
    buf = [7; 4];
    assert_eq!(unsafe { xdp_store_bytes(f.ctx(), 0, buf.as_ptr() as u64, 4) }, 0);
    assert_eq!(&f.buf[H as usize..H as usize + 5], &[7, 7, 7, 7, 5]);
    assert_eq!(unsafe { xdp_store_bytes(f.ctx(), 51, buf.as_ptr() as u64, 4) }, EINVAL);
}

#[test]
fn registered_with_their_contracts() {
    let mut r = Registry::new();
    crate::packet_helpers::register(&mut r).unwrap();
    for f in [BpfFunc::XdpAdjustHead, BpfFunc::XdpAdjustTail, BpfFunc::XdpLoadBytes, BpfFunc::XdpStoreBytes] {
        let d = r.helper(f.id()).unwrap();
        let c = d.native.unwrap().contract().unwrap();
        assert_eq!(c[0], NativeArg::PacketCtx { at: AT }, "{}", d.name);
    }
}
