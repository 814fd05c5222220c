//! Packet helpers of the skb program types on kbpf's run-time `__sk_buff` (the uapi structure,
//! then the host `data`/`data_end` pointers at [`RUNTIME_SKB_DATA_OFF`], as `kbpf::test_run`
//! builds it): `bpf_skb_load_bytes`.
//!
//! Must not touch: the verifier's prototypes (the kernel's, in kbpf-verifier); this is only what
//! engines call once a program was verified.

use crate::native::{NativeFn, RawNative};
use crate::proto::{ArgKind, ArgProto, NativeArg, Proto, RetKind};
use crate::registry::{FuncKind, Registry, RegistryError};
use crate::vmlinux::RUNTIME_SKB_DATA_OFF;
use kbpf_isa::BpfFunc;

const EFAULT: u64 = (-14i64) as u64;

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

/// Adds the packet helpers to `r`.
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
    let f = BpfFunc::SkbLoadBytes;
    let proto = Proto { args, ret: Some(RetKind::Scalar), ..Proto::default() };
    r.register(FuncKind::Helper, f.id(), f.name(), proto, Some(native))
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
}
