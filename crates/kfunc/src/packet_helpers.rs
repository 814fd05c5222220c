//! Packet helpers of the skb program types on kbpf's run-time `__sk_buff` (the uapi structure,
//! then the host packet pointers [`Pkt`] at [`RUNTIME_SKB_DATA_OFF`], as `kbpf::test_run`
//! builds it): `bpf_skb_load_bytes`, `bpf_skb_store_bytes`, the checksum helpers
//! (`bpf_l3_csum_replace`, `bpf_l4_csum_replace`, `bpf_csum_diff`, `bpf_csum_update`); the
//! shared pieces of [`crate::xdp_helpers`].
//!
//! A test run's skb is linear and `CHECKSUM_NONE` (nothing a program does changes that), so the
//! checksum helpers only rewrite the packet, and `bpf_csum_update` always fails.
//!
//! Must not touch: the verifier's prototypes (the kernel's, in kbpf-verifier); this is only what
//! engines call once a program was verified.

use crate::csum;
use crate::native::{NativeFn, RawNative};
use crate::proto::{ArgKind, ArgProto, NativeArg, Proto, RetKind};
use crate::registry::{FuncKind, Registry, RegistryError};
use crate::vmlinux::RUNTIME_SKB_DATA_OFF;
use kbpf_isa::BpfFunc;

const EFAULT: u64 = (-14i64) as u64;
const EINVAL: u64 = (-22i64) as u64;
/// `-ENOTSUPP` (the kernel-internal 524).
const ENOTSUPP: u64 = (-524i64) as u64;

/// Bytes of the host pointers after a run-time context's uapi structure.
pub const PKT_PTRS_SIZE: usize = 40;

/// Bytes of the host pointers after a run-time skb's uapi structure: [`Pkt`], then the
/// link-layer and network headers' addresses (where `LD_ABS`/`LD_IND` read negative offsets
/// from, `SKF_LL_OFF` and `SKF_NET_OFF`).
pub const SKB_PTRS_SIZE: usize = PKT_PTRS_SIZE + 16;

/// Where both run-time packet contexts hold their kind tag ([`CTX_KIND_SKB`], [`CTX_KIND_XDP`]):
/// past the skb's host pointers, in padding of the xdp context, so no program writes it and a
/// helper both types share can tell them apart.
pub const CTX_KIND_OFF: u64 = 248;
/// The size of both run-time packet contexts.
pub const RUNTIME_CTX_SIZE: usize = 256;
/// The kind tag of a run-time `__sk_buff`.
pub const CTX_KIND_SKB: u64 = u64::from_le_bytes(*b"kbpf-skb");
/// The kind tag of a run-time `xdp_md`.
pub const CTX_KIND_XDP: u64 = u64::from_le_bytes(*b"kbpf-xdp");
/// The kind tag of a flow dissector's run-time `__sk_buff` (no helper both packet layouts share
/// takes it).
pub const CTX_KIND_FLOW: u64 = u64::from_le_bytes(*b"kbpf-flw");

/// Where the packet pointers of a context with kind tag `kind` are.
pub fn ctx_kind_at(kind: u64) -> Option<u64> {
    match kind {
        CTX_KIND_SKB => Some(RUNTIME_SKB_DATA_OFF),
        CTX_KIND_XDP => Some(crate::vmlinux::RUNTIME_XDP_DATA_OFF),
        _ => None,
    }
}

/// The host pointers a test run puts after the uapi context, in this order: the packet
/// (`data`, `data_end`, `data_meta`, as the program's converted loads read them), then the
/// buffer around it (`head`, `end`: headroom and tailroom included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pkt {
    /// The packet's first byte.
    pub data: u64,
    /// One past its last byte.
    pub data_end: u64,
    /// The metadata's first byte (`data` when there is none).
    pub meta: u64,
    /// The buffer's first byte.
    pub head: u64,
    /// One past the buffer's last byte.
    pub end: u64,
}

impl Pkt {
    /// Reads the pointers at `ctx + at`.
    ///
    /// # Safety
    /// `ctx + at` is readable for [`PKT_PTRS_SIZE`] bytes.
    #[allow(unsafe_code)]
    pub unsafe fn read(ctx: u64, at: u64) -> Pkt {
        // SAFETY: the caller's guarantee.
        let rd = |k: u64| unsafe { std::ptr::read_unaligned((ctx + at + 8 * k) as *const u64) };
        Pkt { data: rd(0), data_end: rd(1), meta: rd(2), head: rd(3), end: rd(4) }
    }

    /// Writes the pointers to `ctx + at`.
    ///
    /// # Safety
    /// `ctx + at` is writable for [`PKT_PTRS_SIZE`] bytes.
    #[allow(unsafe_code)]
    pub unsafe fn write(&self, ctx: u64, at: u64) {
        for (k, v) in [self.data, self.data_end, self.meta, self.head, self.end].into_iter().enumerate() {
            // SAFETY: the caller's guarantee.
            unsafe { std::ptr::write_unaligned((ctx + at + 8 * k as u64) as *mut u64, v) };
        }
    }

    /// The packet's length.
    pub fn len(&self) -> u64 {
        self.data_end - self.data
    }

    /// The packet is empty.
    pub fn is_empty(&self) -> bool {
        self.data_end == self.data
    }
}

/// The context contract of the packet helpers that rewrite or move the packet, by name
/// ([`NativeArg::PacketCtx`], [`NativeArg::AnyPacketCtx`]).
pub fn packet_ctx_arg(name: &str) -> Option<NativeArg> {
    if name == "bpf_check_mtu" {
        return Some(NativeArg::AnyPacketCtx);
    }
    packet_ctx_at(name).map(|at| NativeArg::PacketCtx { at })
}

fn packet_ctx_at(name: &str) -> Option<u64> {
    match name {
        "bpf_skb_store_bytes"
        | "bpf_l3_csum_replace"
        | "bpf_l4_csum_replace"
        | "bpf_skb_pull_data"
        | "bpf_skb_change_type"
        | "bpf_skb_change_head"
        | "bpf_skb_load_bytes_relative" => Some(RUNTIME_SKB_DATA_OFF),
        "bpf_xdp_adjust_head"
        | "bpf_xdp_adjust_meta"
        | "bpf_xdp_adjust_tail"
        | "bpf_xdp_get_buff_len"
        | "bpf_xdp_load_bytes"
        | "bpf_xdp_store_bytes" => Some(crate::vmlinux::RUNTIME_XDP_DATA_OFF),
        _ => None,
    }
}

/// The context argument of a helper prototype.
pub(crate) fn ctx_arg() -> ArgProto {
    ArgProto { name: "ctx".to_string(), kind: ArgKind::Ctx, nullable: false }
}

/// A memory argument and its size argument; `uninit` when the helper fills it.
pub(crate) fn mem_arg(name: &str, uninit: bool) -> [ArgProto; 2] {
    [
        ArgProto { name: name.to_string(), kind: ArgKind::Mem { size: None, uninit }, nullable: false },
        ArgProto { name: "len".to_string(), kind: ArgKind::MemSize { constant: true }, nullable: false },
    ]
}

/// Registers helper `f` with `args` returning a scalar.
pub(crate) fn register_helper(
    r: &mut Registry,
    f: BpfFunc,
    args: Vec<ArgProto>,
    native: NativeFn,
) -> Result<(), RegistryError> {
    let proto = Proto { args, ret: Some(RetKind::Scalar), ..Proto::default() };
    r.register(FuncKind::Helper, f.id(), f.name(), proto, Some(native))
}

/// `bpf_skb_load_bytes(skb, offset, to, len)`: `len` packet bytes from `offset` (from the
/// packet's start, like the kernel's `skb->data`) into `to`; when they are not all inside the
/// packet (or `offset` is past `INT_MAX`), `to` is zeroed and the result is `-EFAULT`.
///
/// # Safety
/// `ctx + RUNTIME_SKB_DATA_OFF` holds the packet's live `data`/`data_end` pointers and `to` is
/// writable for `len` bytes (the contract registered with it).
#[allow(unsafe_code)]
unsafe extern "C" fn skb_load_bytes(ctx: u64, offset: u64, to: u64, len: u64) -> u64 {
    // SAFETY (both reads): the context's packet pointers, per the contract.
    let data = unsafe { std::ptr::read_unaligned((ctx + RUNTIME_SKB_DATA_OFF) as *const u64) };
    let end = unsafe { std::ptr::read_unaligned((ctx + RUNTIME_SKB_DATA_OFF + 8) as *const u64) };
    let (offset, len) = (offset as u32 as u64, len as u32 as u64);
    let inside = offset <= i32::MAX as u64 && offset + len <= end.saturating_sub(data);
    if !inside {
        // SAFETY: `to` is writable for `len` bytes (the contract).
        unsafe { std::ptr::write_bytes(to as *mut u8, 0, len as usize) };
        return EFAULT;
    }
    // SAFETY: the source is inside the packet (checked above), `to` writable for `len` bytes;
    // `copy` tolerates overlap should the program pass packet memory as `to`.
    unsafe { std::ptr::copy((data + offset) as *const u8, to as *mut u8, len as usize) };
    0
}

static LOAD_BYTES: [NativeArg; 4] = [
    NativeArg::Ctx { packet_at: Some(RUNTIME_SKB_DATA_OFF) },
    NativeArg::V,
    NativeArg::mem(3, true, false),
    NativeArg::V,
];

/// `BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH`.
const STORE_FLAGS: u64 = 0b11;
const F_INVALIDATE_HASH: u64 = 0b10;
/// `struct __sk_buff::hash`.
const SKB_HASH_OFF: u64 = 68;
/// `BPF_F_HDR_FIELD_MASK`.
const HDR_FIELD_MASK: u64 = 0xf;
/// `BPF_F_PSEUDO_HDR`, `BPF_F_MARK_MANGLED_0`, `BPF_F_MARK_ENFORCE`, `BPF_F_IPV6`.
const F_PSEUDO_HDR: u64 = 1 << 4;
const F_MARK_MANGLED_0: u64 = 1 << 5;
const F_MARK_ENFORCE: u64 = 1 << 6;
const F_IPV6: u64 = 1 << 7;
const AT: u64 = RUNTIME_SKB_DATA_OFF;

/// `bpf_skb_store_bytes(skb, offset, from, len, flags)`: `len` bytes of `from` into the packet
/// at `offset`; `-EINVAL` for unknown flags, `-EFAULT` when they do not all fit in the packet.
/// `BPF_F_INVALIDATE_HASH` clears the skb's hash; `BPF_F_RECOMPUTE_CSUM` has nothing to update
/// on a `CHECKSUM_NONE` skb.
///
/// # Safety
/// `ctx` is a run-time skb context the test run built ([`NativeArg::PacketCtx`]) and `from` is
/// readable for `len` bytes.
#[allow(unsafe_code)]
unsafe extern "C" fn skb_store_bytes(ctx: u64, offset: u64, from: u64, len: u64, flags: u64) -> u64 {
    if flags & !STORE_FLAGS != 0 {
        return EINVAL;
    }
    // SAFETY: the contract.
    let p = unsafe { Pkt::read(ctx, AT) };
    let (offset, len) = (offset as u32 as u64, len as u32 as u64);
    if offset > i32::MAX as u64 || offset + len > p.len() {
        return EFAULT;
    }
    // SAFETY: the destination is inside the packet (checked), `from` readable for `len` bytes.
    unsafe { std::ptr::copy(from as *const u8, (p.data + offset) as *mut u8, len as usize) };
    if flags & F_INVALIDATE_HASH != 0 {
        // SAFETY: `hash` is inside the uapi part of the context.
        unsafe { std::ptr::write_unaligned((ctx + SKB_HASH_OFF) as *mut u32, 0) };
    }
    0
}

/// The checksum field at `offset` of the packet, for the csum_replace helpers: `-EFAULT` for an
/// odd offset, one past 0xffff or a field past the packet's end.
fn csum_field(p: &Pkt, offset: u64) -> Result<*mut u16, u64> {
    let offset = offset as u32 as u64;
    if offset > 0xffff || offset & 1 != 0 || offset + 2 > p.len() {
        return Err(EFAULT);
    }
    Ok((p.data + offset) as *mut u16)
}

/// `bpf_l3_csum_replace(skb, offset, from, to, flags)`: patches the checksum at `offset` for a
/// 2- or 4-byte field changed from `from` to `to` (`flags & 0xf`), or by the difference `to`
/// (size 0, `from` must be 0).
///
/// # Safety
/// As [`skb_store_bytes`] (no `from` memory).
#[allow(unsafe_code)]
unsafe extern "C" fn l3_csum_replace(ctx: u64, offset: u64, from: u64, to: u64, flags: u64) -> u64 {
    if flags & !HDR_FIELD_MASK != 0 {
        return EINVAL;
    }
    // SAFETY: the contract.
    let p = unsafe { Pkt::read(ctx, AT) };
    let field = match csum_field(&p, offset) {
        Ok(f) => f,
        Err(e) => return e,
    };
    // SAFETY: two bytes inside the packet (`csum_field`).
    let sum = unsafe { field.read_unaligned() };
    let new = match flags & HDR_FIELD_MASK {
        0 if from != 0 => return EINVAL,
        0 => csum::replace_by_diff(sum, to as u32),
        2 => csum::replace2(sum, from as u16, to as u16),
        4 => csum::replace4(sum, from as u32, to as u32),
        _ => return EINVAL,
    };
    // SAFETY: as above.
    unsafe { field.write_unaligned(new) };
    0
}

/// `bpf_l4_csum_replace(skb, offset, from, to, flags)`: as [`l3_csum_replace`] for a TCP/UDP
/// checksum (on a `CHECKSUM_NONE` skb the pseudo-header flag changes nothing); with
/// `BPF_F_MARK_MANGLED_0`, a zero checksum is left alone (unless `BPF_F_MARK_ENFORCE`) and a
/// result of zero is stored as 0xffff.
///
/// # Safety
/// As [`l3_csum_replace`].
#[allow(unsafe_code)]
unsafe extern "C" fn l4_csum_replace(ctx: u64, offset: u64, from: u64, to: u64, flags: u64) -> u64 {
    let known = F_MARK_MANGLED_0 | F_MARK_ENFORCE | F_PSEUDO_HDR | HDR_FIELD_MASK | F_IPV6;
    if flags & !known != 0 {
        return EINVAL;
    }
    let mangled_0 = flags & F_MARK_MANGLED_0 != 0;
    // SAFETY: the contract.
    let p = unsafe { Pkt::read(ctx, AT) };
    let field = match csum_field(&p, offset) {
        Ok(f) => f,
        Err(e) => return e,
    };
    // SAFETY: two bytes inside the packet (`csum_field`).
    let sum = unsafe { field.read_unaligned() };
    if mangled_0 && flags & F_MARK_ENFORCE == 0 && sum == 0 {
        return 0;
    }
    let mut new = match flags & HDR_FIELD_MASK {
        0 if from != 0 => return EINVAL,
        0 => csum::replace_by_diff(sum, to as u32),
        // `inet_proto_csum_replace2` widens the 16-bit values for `csum_replace4`
        2 => csum::replace4(sum, from as u16 as u32, to as u16 as u32),
        4 => csum::replace4(sum, from as u32, to as u32),
        _ => return EINVAL,
    };
    if mangled_0 && new == 0 {
        new = 0xffff;
    }
    // SAFETY: as above.
    unsafe { field.write_unaligned(new) };
    0
}

/// `bpf_csum_diff(from, from_size, to, to_size, seed)`: the checksum difference of the two
/// buffers on top of `seed`, folded to 16 bits.
///
/// # Safety
/// `from` is readable for `from_size` bytes and `to` for `to_size`, or NULL (then read as
/// empty, whatever its size).
#[allow(unsafe_code)]
unsafe extern "C" fn csum_diff(from: u64, from_size: u64, to: u64, to_size: u64, seed: u64) -> u64 {
    let view = |p: u64, n: u64| -> &[u8] {
        // NULL reads nothing (the contract lets a NULL come with any size)
        if n == 0 || p == 0 {
            return &[];
        }
        // SAFETY: readable for `n` bytes (the contract); not written while borrowed.
        unsafe { std::slice::from_raw_parts(p as *const u8, n as usize) }
    };
    csum::diff(view(from, from_size), view(to, to_size), seed as u32) as u64
}

/// `bpf_csum_update(skb, csum)`: a test run's skb is never `CHECKSUM_COMPLETE`.
extern "C" fn csum_update(_ctx: u64, _csum: u64) -> u64 {
    ENOTSUPP
}

const PKT_CTX: NativeArg = NativeArg::PacketCtx { at: AT };
static STORE_BYTES: [NativeArg; 5] =
    [PKT_CTX, NativeArg::V, NativeArg::mem(3, false, false), NativeArg::V, NativeArg::V];
static CSUM_REPLACE: [NativeArg; 5] = [PKT_CTX, NativeArg::V, NativeArg::V, NativeArg::V, NativeArg::V];
static CSUM_DIFF: [NativeArg; 5] = [
    NativeArg::mem(1, false, true),
    NativeArg::V,
    NativeArg::mem(3, false, true),
    NativeArg::V,
    NativeArg::V,
];

/// Adds the packet helpers (skb and xdp) to `r`.
pub fn register(r: &mut Registry) -> Result<(), RegistryError> {
    let arg = |name: &str, kind: ArgKind| ArgProto { name: name.to_string(), kind, nullable: false };
    let args = vec![
        arg("skb", ArgKind::Ctx),
        ArgProto::scalar("offset"),
        arg("to", ArgKind::Mem { size: None, uninit: true }),
        arg("len", ArgKind::MemSize { constant: true }),
    ];
    // SAFETY: `skb_load_bytes` dereferences exactly what `LOAD_BYTES` lists: the packet
    // pointers of a run-time skb context and `to` for its size argument.
    #[allow(unsafe_code)]
    let native = unsafe { NativeFn::with_contract(RawNative::A4(skb_load_bytes), &LOAD_BYTES) }
        .expect("one contract entry per parameter");
    register_helper(r, BpfFunc::SkbLoadBytes, args, native)?;

    let scalars = |names: &[&str]| names.iter().map(|n| ArgProto::scalar(n)).collect::<Vec<_>>();
    // SAFETY (each `with_contract`): the native dereferences exactly what its contract lists:
    // the packet pointers and packet of a run-time skb context, and the memory arguments for
    // their size arguments.
    #[allow(unsafe_code)]
    let (store, l3, l4, diff) = unsafe {
        (
            NativeFn::with_contract(RawNative::A5(skb_store_bytes), &STORE_BYTES),
            NativeFn::with_contract(RawNative::A5(l3_csum_replace), &CSUM_REPLACE),
            NativeFn::with_contract(RawNative::A5(l4_csum_replace), &CSUM_REPLACE),
            NativeFn::with_contract(RawNative::A5(csum_diff), &CSUM_DIFF),
        )
    };
    let one = "one contract entry per parameter";
    let mut args = vec![ctx_arg(), ArgProto::scalar("offset")];
    args.extend(mem_arg("from", false));
    args.push(ArgProto::scalar("flags"));
    register_helper(r, BpfFunc::SkbStoreBytes, args, store.expect(one))?;
    let replace_args = || {
        let mut v = vec![ctx_arg()];
        v.extend(scalars(&["offset", "from", "to", "flags"]));
        v
    };
    register_helper(r, BpfFunc::L3CsumReplace, replace_args(), l3.expect(one))?;
    register_helper(r, BpfFunc::L4CsumReplace, replace_args(), l4.expect(one))?;
    let nullable_mem = |name: &str| ArgProto {
        name: name.to_string(),
        kind: ArgKind::Mem { size: None, uninit: false },
        nullable: true,
    };
    let size = |name: &str| arg(name, ArgKind::MemSize { constant: true });
    let diff_args = vec![
        nullable_mem("from"),
        size("from_size"),
        nullable_mem("to"),
        size("to_size"),
        ArgProto::scalar("seed"),
    ];
    register_helper(r, BpfFunc::CsumDiff, diff_args, diff.expect(one))?;
    register_helper(
        r,
        BpfFunc::CsumUpdate,
        vec![ctx_arg(), ArgProto::scalar("csum")],
        NativeFn::A2(csum_update),
    )?;
    crate::skb_helpers::register(r)?;
    crate::check_mtu::register(r)?;
    crate::sock_helpers::register(r)?;
    crate::redirect::register(r)?;
    crate::xdp_helpers::register(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(unsafe_code)]
    fn loads_inside_the_packet_and_zeroes_outside() {
        let packet = [1u8, 2, 3, 4, 5, 6];
        let mut ctx = vec![0u8; RUNTIME_SKB_DATA_OFF as usize + 24];
        let base = packet.as_ptr() as u64;
        let at = RUNTIME_SKB_DATA_OFF as usize;
        ctx[at..at + 8].copy_from_slice(&base.to_le_bytes());
        ctx[at + 8..at + 16].copy_from_slice(&(base + 6).to_le_bytes());
        let mut to = [0xffu8; 4];
        let call = |off: u64, to: &mut [u8; 4]| {
            // SAFETY: the context holds the packet's pointers, `to` has 4 writable bytes.
            unsafe { skb_load_bytes(ctx.as_ptr() as u64, off, to.as_mut_ptr() as u64, 4) }
        };
        assert_eq!(call(2, &mut to), 0);
        assert_eq!(to, [3, 4, 5, 6]);
        assert_eq!(call(3, &mut to), EFAULT);
        assert_eq!(to, [0; 4]);
        to = [0xff; 4];
        assert_eq!(call(u64::MAX, &mut to), EFAULT);
        assert_eq!(to, [0; 4]);
    }

    /// A run-time skb context around `buf` (no headroom), its hash field set.
    #[allow(unsafe_code)]
    fn skb_ctx(buf: &mut [u8]) -> Vec<u8> {
        let data = buf.as_mut_ptr() as u64;
        let end = data + buf.len() as u64;
        let p = Pkt { data, data_end: end, meta: data, head: data, end };
        let mut ctx = vec![0u8; AT as usize + SKB_PTRS_SIZE];
        ctx[SKB_HASH_OFF as usize] = 0x77;
        // SAFETY: the context has the pointers' bytes.
        unsafe { p.write(ctx.as_mut_ptr() as u64, AT) };
        ctx
    }

    #[test]
    #[allow(unsafe_code)]
    fn store_bytes_checks_flags_and_bounds() {
        let mut pkt = [0u8; 8];
        let mut ctx = skb_ctx(&mut pkt);
        let c = ctx.as_mut_ptr() as u64;
        let from = [1u8, 2, 3, 4];
        let f = from.as_ptr() as u64;
        // SAFETY (every call below): the context is built around `pkt`, `from` has 4 bytes.
        assert_eq!(unsafe { skb_store_bytes(c, 4, f, 4, 4) }, EINVAL);
        assert_eq!(unsafe { skb_store_bytes(c, 5, f, 4, 0) }, EFAULT);
        assert_eq!(unsafe { skb_store_bytes(c, 4, f, 4, 1) }, 0);
        assert_eq!(ctx[SKB_HASH_OFF as usize], 0x77);
        assert_eq!(unsafe { skb_store_bytes(c, 0, f, 2, 2) }, 0);
        assert_eq!(ctx[SKB_HASH_OFF as usize], 0);
        assert_eq!(pkt, [1, 2, 0, 0, 1, 2, 3, 4]);
    }

    #[test]
    #[allow(unsafe_code)]
    fn csum_replace_patches_the_field() {
        // an IPv4 header with a valid checksum at 10
        let mut h = [0x45u8, 0, 0, 0x54, 0, 0, 0x40, 0, 0x40, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        let c = csum::fold(csum::partial(&h, 0));
        h[10..12].copy_from_slice(&c.to_le_bytes());
        let mut ctx = skb_ctx(&mut h);
        let cx = ctx.as_mut_ptr() as u64;
        let old = u32::from_le_bytes([10, 0, 0, 1]) as u64;
        let new = u32::from_le_bytes([192, 168, 0, 1]) as u64;
        // SAFETY (every call below): the context is built around `h`.
        assert_eq!(unsafe { l3_csum_replace(cx, 11, old, new, 4) }, EFAULT);
        assert_eq!(unsafe { l3_csum_replace(cx, 10, old, new, 3) }, EINVAL);
        assert_eq!(unsafe { l3_csum_replace(cx, 10, 1, new, 0) }, EINVAL);
        assert_eq!(unsafe { l3_csum_replace(cx, 10, old, new, 4) }, 0);
        drop(ctx);
        h[12..16].copy_from_slice(&[192, 168, 0, 1]);
        assert_eq!(csum::fold(csum::partial(&h, 0)), 0);
        // a zero L4 checksum stays zero with BPF_F_MARK_MANGLED_0
        let mut udp = [0u8; 8];
        let mut ctx = skb_ctx(&mut udp);
        let cx = ctx.as_mut_ptr() as u64;
        // SAFETY: as above.
        assert_eq!(unsafe { l4_csum_replace(cx, 6, 0, 5, F_MARK_MANGLED_0 | 2) }, 0);
        assert_eq!(unsafe { l4_csum_replace(cx, 6, 0, 5, 1 << 8) }, EINVAL);
        assert_eq!(unsafe { l4_csum_replace(cx, 6, 0, 5, 2) }, 0);
        drop(ctx);
        assert_ne!(udp[6..8], [0, 0]);
    }
}
