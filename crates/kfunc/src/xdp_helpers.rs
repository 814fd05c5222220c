//! The xdp packet helpers on kbpf's run-time `xdp_md` (the 24-byte uapi structure, then the
//! host packet pointers of [`crate::packet_helpers::Pkt`]), with the buffer of the kernel's
//! `bpf_prog_test_run_xdp`: a 4096-byte frame, 256 bytes of headroom
//! ([`XDP_PACKET_HEADROOM`]), the packet, and the frame's last 320 bytes reserved for the
//! `skb_shared_info` the tail may not grow into.
//!
//! Must not touch: the verifier's prototypes (the kernel's, in kbpf-verifier); this is only what
//! engines call once a program was verified.

use crate::native::{NativeFn, RawNative};
use crate::packet_helpers::{Pkt, ctx_arg, mem_arg, register_helper};
use crate::proto::NativeArg;
use crate::registry::{Registry, RegistryError};
use crate::vmlinux::RUNTIME_XDP_DATA_OFF;
use kbpf_isa::BpfFunc;

/// `XDP_PACKET_HEADROOM`: where the test run puts the packet in its frame.
pub const XDP_PACKET_HEADROOM: usize = 256;
/// The test run's frame size (`rxqueue->xdp_rxq.frag_size`: a page).
pub const XDP_FRAME_SIZE: usize = 4096;
/// `SKB_DATA_ALIGN(sizeof(struct skb_shared_info))` on x86_64 and arm64: the frame's tail the
/// packet may not grow into.
pub const XDP_TAILROOM: usize = 320;
/// The most packet bytes the test run puts in the linear frame (`max_data_sz`).
pub const XDP_MAX_DATA: usize = XDP_FRAME_SIZE - XDP_PACKET_HEADROOM - XDP_TAILROOM;
/// `sizeof(struct xdp_frame)`: the frame's head `bpf_xdp_adjust_head`/`_meta` keep free.
const XDP_FRAME_HEAD: u64 = 40;
/// The largest metadata (`skb_shared_info::meta_len` is a `u8`).
const META_MAX: u64 = 255;
const ETH_HLEN: u64 = 14;

const EINVAL: u64 = (-22i64) as u64;
const EFAULT: u64 = (-14i64) as u64;
const EACCES: u64 = (-13i64) as u64;

const AT: u64 = RUNTIME_XDP_DATA_OFF;

/// `bpf_xdp_adjust_head(xdp, offset)`: moves `data` by `offset` (metadata moves with it); it
/// must stay after the frame head and the metadata, and leave an Ethernet header.
///
/// # Safety
/// `ctx` is a run-time xdp context the test run built ([`NativeArg::PacketCtx`]).
#[allow(unsafe_code)]
unsafe extern "C" fn xdp_adjust_head(ctx: u64, offset: u64) -> u64 {
    // SAFETY: the contract.
    let mut p = unsafe { Pkt::read(ctx, AT) };
    let metalen = p.data - p.meta;
    let data = p.data.wrapping_add(offset as i32 as i64 as u64);
    let lowest = p.head + XDP_FRAME_HEAD + metalen;
    if (data as i64) < lowest as i64 || data > p.data_end - ETH_HLEN {
        return EINVAL;
    }
    let meta = p.meta.wrapping_add(offset as i32 as i64 as u64);
    if metalen > 0 {
        // SAFETY: both ranges are inside `head..end` (`meta >= head + XDP_FRAME_HEAD`, `data <=
        // data_end`); `copy` allows the overlap.
        unsafe { std::ptr::copy(p.meta as *const u8, meta as *mut u8, metalen as usize) };
    }
    p.meta = meta;
    p.data = data;
    // SAFETY: the contract.
    unsafe { p.write(ctx, AT) };
    0
}

/// `bpf_xdp_adjust_meta(xdp, offset)`: moves `data_meta` by `offset`; the metadata must fit
/// between the frame head and `data`, a multiple of 4 bytes, at most 255.
///
/// # Safety
/// As [`xdp_adjust_head`].
#[allow(unsafe_code)]
unsafe extern "C" fn xdp_adjust_meta(ctx: u64, offset: u64) -> u64 {
    // SAFETY: the contract.
    let mut p = unsafe { Pkt::read(ctx, AT) };
    let meta = p.meta.wrapping_add(offset as i32 as i64 as u64);
    if (meta as i64) < (p.head + XDP_FRAME_HEAD) as i64 || meta > p.data {
        return EINVAL;
    }
    let metalen = p.data - meta;
    if metalen % 4 != 0 || metalen > META_MAX {
        return EACCES;
    }
    p.meta = meta;
    // SAFETY: the contract.
    unsafe { p.write(ctx, AT) };
    0
}

/// `bpf_xdp_adjust_tail(xdp, offset)`: moves `data_end` by `offset`, not past the frame's
/// reserved tail nor below an Ethernet header; grown bytes are zeroed.
///
/// # Safety
/// As [`xdp_adjust_head`].
#[allow(unsafe_code)]
unsafe extern "C" fn xdp_adjust_tail(ctx: u64, offset: u64) -> u64 {
    // SAFETY: the contract.
    let mut p = unsafe { Pkt::read(ctx, AT) };
    let offset = offset as i32 as i64;
    let hard_end = p.end - XDP_TAILROOM as u64;
    let data_end = p.data_end.wrapping_add(offset as u64);
    if data_end as i64 > hard_end as i64 || (data_end as i64) < (p.data + ETH_HLEN) as i64 {
        return EINVAL;
    }
    if offset > 0 {
        // SAFETY: `data_end..data_end + offset` ends at or before `end - XDP_TAILROOM`.
        unsafe { std::ptr::write_bytes(p.data_end as *mut u8, 0, offset as usize) };
    }
    p.data_end = data_end;
    // SAFETY: the contract.
    unsafe { p.write(ctx, AT) };
    0
}

/// `bpf_xdp_get_buff_len(xdp)`: the packet's length (a test run's frame has no fragments).
///
/// # Safety
/// As [`xdp_adjust_head`].
#[allow(unsafe_code)]
unsafe extern "C" fn xdp_get_buff_len(ctx: u64) -> u64 {
    // SAFETY: the contract.
    let p = unsafe { Pkt::read(ctx, AT) };
    p.data_end - p.data
}

/// Where `len` bytes at `offset` of the packet are, or the helper's error: `-EFAULT` for an
/// offset or length past 0xffff, `-EINVAL` past the packet's end (`bpf_xdp_pointer`).
fn xdp_span(p: &Pkt, offset: u64, len: u64) -> Result<u64, u64> {
    let (offset, len) = (offset as u32 as u64, len as u32 as u64);
    if offset > 0xffff || len > 0xffff {
        return Err(EFAULT);
    }
    if offset + len > p.data_end - p.data {
        return Err(EINVAL);
    }
    Ok(p.data + offset)
}

/// `bpf_xdp_load_bytes(xdp, offset, buf, len)`: copies packet bytes into `buf`; on an error
/// `buf` is left as it was.
///
/// # Safety
/// As [`xdp_adjust_head`], and `buf` is writable for `len` bytes.
#[allow(unsafe_code)]
unsafe extern "C" fn xdp_load_bytes(ctx: u64, offset: u64, buf: u64, len: u64) -> u64 {
    // SAFETY: the contract.
    let p = unsafe { Pkt::read(ctx, AT) };
    match xdp_span(&p, offset, len) {
        // SAFETY: the source is inside the packet, `buf` writable for `len` bytes (the
        // contract); `copy` allows a `buf` in the packet.
        Ok(src) => unsafe {
            std::ptr::copy(src as *const u8, buf as *mut u8, len as u32 as usize);
            0
        },
        Err(e) => e,
    }
}

/// `bpf_xdp_store_bytes(xdp, offset, buf, len)`: copies `buf` into the packet.
///
/// # Safety
/// As [`xdp_adjust_head`], and `buf` is readable for `len` bytes.
#[allow(unsafe_code)]
unsafe extern "C" fn xdp_store_bytes(ctx: u64, offset: u64, buf: u64, len: u64) -> u64 {
    // SAFETY: the contract.
    let p = unsafe { Pkt::read(ctx, AT) };
    match xdp_span(&p, offset, len) {
        // SAFETY: the destination is inside the packet, `buf` readable for `len` bytes.
        Ok(dst) => unsafe {
            std::ptr::copy(buf as *const u8, dst as *mut u8, len as u32 as usize);
            0
        },
        Err(e) => e,
    }
}

const CTX: NativeArg = NativeArg::PacketCtx { at: AT };
static CTX_V: [NativeArg; 2] = [CTX, NativeArg::V];
static CTX_ONLY: [NativeArg; 1] = [CTX];
static LOAD: [NativeArg; 4] = [CTX, NativeArg::V, NativeArg::mem(3, true, false), NativeArg::V];
static STORE: [NativeArg; 4] = [CTX, NativeArg::V, NativeArg::mem(3, false, false), NativeArg::V];

/// Adds the xdp packet helpers to `r`.
pub fn register(r: &mut Registry) -> Result<(), RegistryError> {
    // SAFETY (every `with_contract` below): each native dereferences exactly what its
    // contract lists: the packet pointers and buffer of a run-time xdp context and, for the
    // byte copies, `buf` for `len` bytes.
    #[allow(unsafe_code)]
    let natives = unsafe {
        [
            (BpfFunc::XdpAdjustHead, NativeFn::with_contract(RawNative::A2(xdp_adjust_head), &CTX_V)),
            (BpfFunc::XdpAdjustMeta, NativeFn::with_contract(RawNative::A2(xdp_adjust_meta), &CTX_V)),
            (BpfFunc::XdpAdjustTail, NativeFn::with_contract(RawNative::A2(xdp_adjust_tail), &CTX_V)),
            (BpfFunc::XdpGetBuffLen, NativeFn::with_contract(RawNative::A1(xdp_get_buff_len), &CTX_ONLY)),
            (BpfFunc::XdpLoadBytes, NativeFn::with_contract(RawNative::A4(xdp_load_bytes), &LOAD)),
            (BpfFunc::XdpStoreBytes, NativeFn::with_contract(RawNative::A4(xdp_store_bytes), &STORE)),
        ]
    };
    for (f, native) in natives {
        let native = native.expect("one contract entry per parameter");
        let args = match native.arity() {
            1 => vec![ctx_arg()],
            2 => vec![ctx_arg(), crate::ArgProto::scalar("offset")],
            _ => {
                let store = f == BpfFunc::XdpStoreBytes;
                let mut v = vec![ctx_arg(), crate::ArgProto::scalar("offset")];
                v.extend(mem_arg("buf", !store));
                v
            }
        };
        register_helper(r, f, args, native)?;
    }
    Ok(())
}

#[cfg(test)]
#[path = "xdp_helpers_tests.rs"]
mod tests;
