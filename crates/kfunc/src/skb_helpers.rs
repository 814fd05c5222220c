//! The skb helpers that read the headers or change the skb's fields without moving its packet:
//! `bpf_skb_pull_data`, `bpf_skb_change_type`, `bpf_skb_load_bytes_relative`,
//! `bpf_skb_set_tunnel_key`, and `bpf_skb_change_head`, which pushes bytes into the headroom,
//! on the run-time
//! `__sk_buff` of [`crate::packet_helpers`] (a test run's skb is linear: every byte is in its
//! head).
//!
//! Must not touch: the verifier's prototypes (the kernel's, in kbpf-verifier); this is only what
//! engines call once a program was verified.

use crate::native::{NativeFn, RawNative};
use crate::packet_helpers::{PKT_PTRS_SIZE, Pkt, ctx_arg, mem_arg, register_helper};
use crate::proto::{ArgProto, NativeArg};
use crate::registry::{Registry, RegistryError};
use crate::vmlinux::RUNTIME_SKB_DATA_OFF;
use kbpf_isa::BpfFunc;

const AT: u64 = RUNTIME_SKB_DATA_OFF;
const EFAULT: u64 = (-14i64) as u64;
const EINVAL: u64 = (-22i64) as u64;
const ENOMEM: u64 = (-12i64) as u64;
/// `struct __sk_buff::pkt_type`.
const PKT_TYPE_OFF: u64 = 4;
/// `PACKET_OTHERHOST`: the last packet type a program may set.
const PACKET_OTHERHOST: u32 = 3;
/// `BPF_HDR_START_MAC`, `BPF_HDR_START_NET`.
const HDR_START_MAC: u64 = 0;
const HDR_START_NET: u64 = 1;

/// `bpf_skb_pull_data(skb, len)`: makes `len` bytes (0: the linear part) directly accessible;
/// a linear skb already has all of them, so only a length past the packet fails (`-ENOMEM`).
///
/// # Safety
/// `ctx` is a run-time skb context the test run built ([`NativeArg::PacketCtx`]).
#[allow(unsafe_code)]
unsafe extern "C" fn skb_pull_data(ctx: u64, len: u64) -> u64 {
    // SAFETY: the contract.
    let p = unsafe { Pkt::read(ctx, AT) };
    if len as u32 as u64 > p.len() { ENOMEM } else { 0 }
}

/// `bpf_skb_change_type(skb, type)`: sets `pkt_type` when both it and `type` are at most
/// `PACKET_OTHERHOST`.
///
/// # Safety
/// As [`skb_pull_data`].
#[allow(unsafe_code)]
unsafe extern "C" fn skb_change_type(ctx: u64, pkt_type: u64) -> u64 {
    let field = (ctx + PKT_TYPE_OFF) as *mut u32;
    // SAFETY: `pkt_type` is inside the uapi part of the context (the contract).
    let old = unsafe { field.read_unaligned() };
    if old > PACKET_OTHERHOST || pkt_type as u32 > PACKET_OTHERHOST {
        return EINVAL;
    }
    // SAFETY: as above.
    unsafe { field.write_unaligned(pkt_type as u32) };
    0
}

/// `bpf_skb_load_bytes_relative(skb, offset, to, len, start_header)`: `len` bytes at `offset`
/// from the link-layer (0) or network (1) header into `to`, not past the packet's tail; on an
/// error `to` is zeroed and the result is `-EFAULT`.
///
/// # Safety
/// As [`skb_pull_data`], and `to` is writable for `len` bytes.
#[allow(unsafe_code)]
unsafe extern "C" fn skb_load_bytes_relative(ctx: u64, offset: u64, to: u64, len: u64, start: u64) -> u64 {
    // SAFETY: the contract.
    let p = unsafe { Pkt::read(ctx, AT) };
    let header = match start {
        HDR_START_MAC => PKT_PTRS_SIZE as u64,
        HDR_START_NET => PKT_PTRS_SIZE as u64 + 8,
        _ => u64::MAX,
    };
    let len = len as u32 as u64;
    let from = (offset as u32 <= 0xffff && header != u64::MAX)
        // SAFETY: the header pointers follow the packet's inside the built context.
        .then(|| unsafe { std::ptr::read_unaligned((ctx + AT + header) as *const u64) })
        // a header outside the buffer (not one the test run set) reads nothing
        .filter(|&h| h >= p.head && h <= p.data_end)
        .map(|h| h + offset as u32 as u64)
        .filter(|&f| f + len <= p.data_end);
    match from {
        Some(f) => {
            // SAFETY: `f..f + len` lies in `head..data_end` (checked), `to` is writable.
            unsafe { std::ptr::copy(f as *const u8, to as *mut u8, len as usize) };
            0
        }
        None => {
            // SAFETY: `to` is writable for `len` bytes.
            unsafe { std::ptr::write_bytes(to as *mut u8, 0, len as usize) };
            EFAULT
        }
    }
}

/// `BPF_SKB_MAX_LEN` (`SKB_MAX_ALLOC`: four pages less the shared info): the longest packet a
/// helper may grow an skb to, and the headroom a test run's skb reserves, so that no push ever
/// needs the reallocation the kernel would do (the headroom shows nowhere in a test run).
pub const SKB_MAX_LEN: u64 = 4 * 4096 - 320;
/// `struct __sk_buff::len`.
const LEN_OFF: u64 = 0;

/// `bpf_skb_change_head(skb, head_room, flags)`: pushes `head_room` zero bytes in front of the
/// packet, which becomes its link-layer header's start; the packet may not grow past
/// [`SKB_MAX_LEN`] and `flags` must be 0.
///
/// # Safety
/// As [`skb_pull_data`].
#[allow(unsafe_code)]
unsafe extern "C" fn skb_change_head(ctx: u64, head_room: u64, flags: u64) -> u64 {
    // SAFETY: the contract.
    let mut p = unsafe { Pkt::read(ctx, AT) };
    let (len, room) = (p.len() as u32, head_room as u32);
    let new_len = len.wrapping_add(room);
    if flags != 0 || new_len as u64 > SKB_MAX_LEN || new_len < len {
        return EINVAL;
    }
    if p.data - p.head < room as u64 {
        // the test run reserves SKB_MAX_LEN bytes of headroom: unreachable from its skbs
        return ENOMEM;
    }
    p.data -= room as u64;
    p.meta = p.data;
    // SAFETY: `data..data + room` is headroom inside the buffer (checked above); the length and
    // the link-layer header pointer are the context's (uapi `len`, and after the packet
    // pointers).
    unsafe {
        std::ptr::write_bytes(p.data as *mut u8, 0, room as usize);
        p.write(ctx, AT);
        std::ptr::write_unaligned((ctx + AT + PKT_PTRS_SIZE as u64) as *mut u64, p.data);
        std::ptr::write_unaligned((ctx + LEN_OFF) as *mut u32, new_len);
    }
    0
}

/// `sizeof(struct bpf_tunnel_key)`, and the older layouts `bpf_skb_set_tunnel_key` accepts
/// (`offsetof` `local_ipv6`, `tunnel_label`, `tunnel_ext`, `remote_ipv6[1]`), zero-extended.
const TUNNEL_KEY_SIZE: u64 = 44;
const TUNNEL_KEY_OLD_SIZES: [u64; 4] = [28, 24, 22, 8];
/// `BPF_F_TUNINFO_IPV6 | BPF_F_ZERO_CSUM_TX | BPF_F_DONT_FRAGMENT | BPF_F_SEQ_NUMBER |
/// BPF_F_NO_TUNNEL_KEY`.
const TUNNEL_FLAGS: u64 = 0x1f;
const F_TUNINFO_IPV6: u64 = 1;

/// `bpf_skb_set_tunnel_key(skb, key, size, flags)`: validates the key (its size, the flags, no
/// `tunnel_ext`, a `tunnel_label` only for IPv6) and attaches it to the skb as its tunnel
/// metadata, which nothing a test run returns shows (kbpf has no `bpf_skb_get_tunnel_key`).
///
/// # Safety
/// `key` is readable for `size` bytes.
#[allow(unsafe_code)]
unsafe extern "C" fn skb_set_tunnel_key(_ctx: u64, key: u64, size: u64, flags: u64) -> u64 {
    let size = size as u32 as u64;
    if flags & !TUNNEL_FLAGS != 0 || (size != TUNNEL_KEY_SIZE && !TUNNEL_KEY_OLD_SIZES.contains(&size)) {
        return EINVAL;
    }
    let mut k = [0u8; TUNNEL_KEY_SIZE as usize];
    // SAFETY: `key` is readable for `size` bytes, at most the 44 of `k`.
    unsafe { std::ptr::copy_nonoverlapping(key as *const u8, k.as_mut_ptr(), size as usize) };
    let ext = u16::from_ne_bytes([k[22], k[23]]);
    let label = u32::from_ne_bytes([k[24], k[25], k[26], k[27]]);
    if (flags & F_TUNINFO_IPV6 == 0 && label != 0) || ext != 0 {
        return EINVAL;
    }
    0
}

const CTX: NativeArg = NativeArg::PacketCtx { at: AT };
static TUNNEL_KEY: [NativeArg; 4] =
    [NativeArg::Ctx { packet_at: None }, NativeArg::mem(2, false, false), NativeArg::V, NativeArg::V];
static CTX_V: [NativeArg; 2] = [CTX, NativeArg::V];
static CTX_V_V: [NativeArg; 3] = [CTX, NativeArg::V, NativeArg::V];
static RELATIVE: [NativeArg; 5] =
    [CTX, NativeArg::V, NativeArg::mem(3, true, false), NativeArg::V, NativeArg::V];

/// Adds these helpers to `r`.
pub fn register(r: &mut Registry) -> Result<(), RegistryError> {
    // SAFETY (each `with_contract`): the native dereferences exactly what its contract lists:
    // a run-time skb context (its packet pointers, header pointers and uapi fields) and, for
    // `bpf_skb_load_bytes_relative`, `to` for `len` bytes.
    #[allow(unsafe_code)]
    let (pull, change, relative) = unsafe {
        (
            NativeFn::with_contract(RawNative::A2(skb_pull_data), &CTX_V),
            NativeFn::with_contract(RawNative::A2(skb_change_type), &CTX_V),
            NativeFn::with_contract(RawNative::A5(skb_load_bytes_relative), &RELATIVE),
        )
    };
    let one = "one contract entry per parameter";
    // SAFETY: `skb_change_head` dereferences a run-time skb context only (`CTX_V_V`).
    #[allow(unsafe_code)]
    let head = unsafe { NativeFn::with_contract(RawNative::A3(skb_change_head), &CTX_V_V) };
    let args = vec![ctx_arg(), ArgProto::scalar("head_room"), ArgProto::scalar("flags")];
    register_helper(r, BpfFunc::SkbChangeHead, args, head.expect(one))?;
    register_helper(r, BpfFunc::SkbPullData, vec![ctx_arg(), ArgProto::scalar("len")], pull.expect(one))?;
    register_helper(
        r,
        BpfFunc::SkbChangeType,
        vec![ctx_arg(), ArgProto::scalar("type")],
        change.expect(one),
    )?;
    let mut args = vec![ctx_arg(), ArgProto::scalar("offset")];
    args.extend(mem_arg("to", true));
    args.push(ArgProto::scalar("start_header"));
    register_helper(r, BpfFunc::SkbLoadBytesRelative, args, relative.expect(one))?;
    // SAFETY: `skb_set_tunnel_key` reads exactly `key` for `size` bytes (`TUNNEL_KEY`).
    #[allow(unsafe_code)]
    let tunnel = unsafe { NativeFn::with_contract(RawNative::A4(skb_set_tunnel_key), &TUNNEL_KEY) };
    let mut args = vec![ctx_arg()];
    args.extend(mem_arg("key", false));
    args.push(ArgProto::scalar("flags"));
    register_helper(r, BpfFunc::SkbSetTunnelKey, args, tunnel.expect(one))
}

#[cfg(test)]
#[path = "skb_helpers_tests.rs"]
mod tests;
