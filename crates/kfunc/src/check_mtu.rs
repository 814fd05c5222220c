//! `bpf_check_mtu` for both packet contexts (the skb and xdp variants share the helper id; the
//! context's kind tag picks one). kbpf's test runs have one device, loopback (ifindex 1, the
//! packet's device when `ifindex` is 0): MTU 65536, a 14-byte hardware header; any other
//! `ifindex` is `-ENODEV`.
//!
//! Must not touch: the verifier's prototypes (the kernel's, in kbpf-verifier); this is only what
//! engines call once a program was verified.

use crate::native::{NativeFn, RawNative};
use crate::packet_helpers::{CTX_KIND_OFF, CTX_KIND_SKB, Pkt, ctx_arg, ctx_kind_at, register_helper};
use crate::proto::{ArgKind, ArgProto, NativeArg};
use crate::registry::{Registry, RegistryError};
use kbpf_isa::BpfFunc;

/// `LOOPBACK_MTU`.
const LO_MTU: i32 = 65536;
/// Loopback's `hard_header_len` (`ETH_HLEN`).
const LO_HARD_HEADER: i32 = 14;
const LO_IFINDEX: u32 = 1;
/// `BPF_MTU_CHK_SEGS`.
const CHK_SEGS: u64 = 1;
/// `BPF_MTU_CHK_RET_SUCCESS`, `BPF_MTU_CHK_RET_FRAG_NEEDED`.
const RET_SUCCESS: i64 = 0;
const RET_FRAG_NEEDED: i64 = 1;
const EINVAL: i64 = -22;
const ENODEV: i64 = -19;

/// The skb variant's result and the MTU it stores (0 when it fails before the lookup).
fn skb_check(skb_len: u32, ifindex: u32, mtu_len: u32, len_diff: i32, flags: u64) -> (i64, u32) {
    if flags & !CHK_SEGS != 0 || (flags & CHK_SEGS != 0 && (len_diff != 0 || mtu_len != 0)) {
        return (EINVAL, 0);
    }
    if ifindex != 0 && ifindex != LO_IFINDEX {
        return (ENODEV, 0);
    }
    let dev_len = LO_MTU + LO_HARD_HEADER;
    let len = if mtu_len != 0 { (mtu_len as i32).wrapping_add(LO_HARD_HEADER) } else { skb_len as i32 };
    // a test run's skb is never GSO, so a length past the MTU needs fragmenting
    let ret = if len.wrapping_add(len_diff) <= dev_len { RET_SUCCESS } else { RET_FRAG_NEEDED };
    (ret, LO_MTU as u32)
}

/// The xdp variant's result and the MTU it stores.
fn xdp_check(xdp_len: u32, ifindex: u32, mtu_len: u32, len_diff: i32, flags: u64) -> (i64, u32) {
    if flags != 0 {
        return (EINVAL, 0);
    }
    if ifindex != 0 && ifindex != LO_IFINDEX {
        return (ENODEV, 0);
    }
    let dev_len = LO_MTU + LO_HARD_HEADER;
    let len = if mtu_len != 0 { (mtu_len as i32).wrapping_add(LO_HARD_HEADER) } else { xdp_len as i32 };
    let ret = if len.wrapping_add(len_diff) > dev_len { RET_FRAG_NEEDED } else { RET_SUCCESS };
    (ret, LO_MTU as u32)
}

/// `bpf_check_mtu(ctx, ifindex, mtu_len, len_diff, flags)`: whether the packet (or `*mtu_len`
/// as an L3 length) plus `len_diff` fits the device's MTU; `*mtu_len` becomes the MTU.
///
/// # Safety
/// `ctx` is a run-time packet context the test run built, of either kind
/// ([`NativeArg::AnyPacketCtx`]), and `mtu_len` is 4 readable and writable bytes.
#[allow(unsafe_code)]
unsafe extern "C" fn check_mtu(ctx: u64, ifindex: u64, mtu_len: u64, len_diff: u64, flags: u64) -> u64 {
    // SAFETY: the tag and the packet pointers of a built context (the contract).
    let kind = unsafe { std::ptr::read_unaligned((ctx + CTX_KIND_OFF) as *const u64) };
    let Some(at) = ctx_kind_at(kind) else { return EINVAL as u64 };
    // SAFETY: as above.
    let p = unsafe { Pkt::read(ctx, at) };
    let field = mtu_len as *mut u32;
    // SAFETY: `mtu_len` is 4 readable and writable bytes (the contract).
    let given = unsafe { field.read_unaligned() };
    let check = if kind == CTX_KIND_SKB { skb_check } else { xdp_check };
    let (ret, mtu) = check(p.len() as u32, ifindex as u32, given, len_diff as i32, flags);
    // SAFETY: as above.
    unsafe { field.write_unaligned(mtu) };
    ret as u64
}

static CHECK_MTU: [NativeArg; 5] = [
    NativeArg::AnyPacketCtx,
    NativeArg::V,
    NativeArg::Mem { len: crate::proto::MemLen::Fixed(4), write: true, nullable: false },
    NativeArg::V,
    NativeArg::V,
];

/// Adds `bpf_check_mtu` to `r`.
pub fn register(r: &mut Registry) -> Result<(), RegistryError> {
    // SAFETY: `check_mtu` dereferences exactly what `CHECK_MTU` lists: a run-time packet
    // context of either kind and the 4 bytes of `mtu_len`.
    #[allow(unsafe_code)]
    let native = unsafe { NativeFn::with_contract(RawNative::A5(check_mtu), &CHECK_MTU) }
        .expect("one contract entry per parameter");
    let mtu_len = ArgProto {
        name: "mtu_len".to_string(),
        kind: ArgKind::Mem { size: Some(4), uninit: true },
        nullable: false,
    };
    let args = vec![
        ctx_arg(),
        ArgProto::scalar("ifindex"),
        mtu_len,
        ArgProto::scalar("len_diff"),
        ArgProto::scalar("flags"),
    ];
    register_helper(r, BpfFunc::CheckMtu, args, native)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_skb_variant_on_loopback() {
        assert_eq!(skb_check(54, 0, 0, 0, 0), (RET_SUCCESS, 65536));
        assert_eq!(skb_check(54, 1, 0, 65550 - 54, 0), (RET_SUCCESS, 65536));
        assert_eq!(skb_check(54, 1, 0, 65551 - 54, 0), (RET_FRAG_NEEDED, 65536));
        assert_eq!(skb_check(54, 0, 65536, 0, 0), (RET_SUCCESS, 65536));
        assert_eq!(skb_check(54, 0, 65537, 0, 0), (RET_FRAG_NEEDED, 65536));
        assert_eq!(skb_check(54, 0, 0, -100, 0), (RET_SUCCESS, 65536));
        assert_eq!(skb_check(54, 0, 0, 0, 2), (EINVAL, 0));
        assert_eq!(skb_check(54, 0, 0, 1, CHK_SEGS), (EINVAL, 0));
        assert_eq!(skb_check(54, 0, 0, 0, CHK_SEGS), (RET_SUCCESS, 65536));
        assert_eq!(skb_check(54, 2, 0, 0, 0), (ENODEV, 0));
    }

    #[test]
    fn the_xdp_variant_on_loopback() {
        assert_eq!(xdp_check(54, 0, 0, 0, 0), (RET_SUCCESS, 65536));
        assert_eq!(xdp_check(54, 0, 0, 65551 - 54, 0), (RET_FRAG_NEEDED, 65536));
        assert_eq!(xdp_check(54, 0, 0, 0, CHK_SEGS), (EINVAL, 0));
        assert_eq!(xdp_check(54, 7, 0, 0, 0), (ENODEV, 0));
    }
}
