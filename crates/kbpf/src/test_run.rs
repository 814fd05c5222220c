//! `BPF_PROG_TEST_RUN` for kbpf: a packet program is verified for its program type, its
//! context loads are rewritten for kbpf's run-time context (the kernel's
//! `convert_ctx_accesses`), the context is built around the packet like the kernel's test run
//! builds its skb or xdp buffer, and the program runs on an engine.
//!
//! The run-time context is the uapi structure (`struct __sk_buff`, 192 bytes, or
//! `struct xdp_md`, 24 bytes) followed by three 64-bit host pointers: data, data_end and
//! data_meta. A program's 32-bit loads of the uapi `data`/`data_end`/`data_meta` fields become
//! 64-bit loads of those pointers; every other field is read where the uapi puts it.

use kbpf_isa::{AttachType, Insn, RawInsn, Size};
use kbpf_kfunc::Registry;
use kbpf_verifier::{InsnAux, ProgType, VerifyError, VerifyOptions};
use thiserror::Error;

use crate::engine::{Engine, RunError, RunOptions};
use crate::source::{Module, SourceError};
use kbpf_kfunc::maps::MapSet;

/// `sizeof(struct __sk_buff)`.
pub const SKB_UAPI_SIZE: usize = 192;
/// An Ethernet header's length.
pub const ETH_HLEN: usize = 14;
/// `sizeof(struct xdp_md)`.
pub const XDP_UAPI_SIZE: usize = 24;

/// A run-time context layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtxLayout {
    /// `struct __sk_buff` (tc): the packet starts at the Ethernet header.
    Skb,
    /// `struct xdp_md`.
    Xdp,
}

impl CtxLayout {
    /// The layout of a program type's context, for the types kbpf can test-run.
    pub fn of(pt: ProgType) -> Option<CtxLayout> {
        match pt {
            ProgType::SchedCls
            | ProgType::SchedAct
            | ProgType::SocketFilter
            | ProgType::CgroupSkb
            | ProgType::Lwt(_) => Some(CtxLayout::Skb),
            ProgType::Xdp => Some(CtxLayout::Xdp),
            _ => None,
        }
    }

    /// Where the program's packet starts in the frame a test run is given: the kernel's skb
    /// test run pulls the Ethernet header for every skb type but tc's (`is_l2`), so socket
    /// filters, cgroup skb and lwt programs see the frame from its network header (their
    /// `len`, `data` and `LD_ABS` offsets count from there); `data_out` is the whole frame.
    pub fn network_offset(pt: ProgType) -> usize {
        match pt {
            ProgType::SocketFilter | ProgType::CgroupSkb | ProgType::Lwt(_) => ETH_HLEN,
            _ => 0,
        }
    }

    pub(crate) fn uapi_size(self) -> usize {
        match self {
            CtxLayout::Skb => SKB_UAPI_SIZE,
            CtxLayout::Xdp => XDP_UAPI_SIZE,
        }
    }

    /// uapi offsets of `data`, `data_end`, `data_meta`.
    fn pointer_fields(self) -> [i16; 3] {
        match self {
            CtxLayout::Skb => [76, 80, 140],
            CtxLayout::Xdp => [0, 4, 8],
        }
    }

    /// Where the host pointer for the uapi field at `off` lives, if it is one of the three
    /// (the layout `kbpf_jit::link` converts verified programs for).
    fn pointer_slot(self, off: i16) -> Option<i16> {
        let k = self.pointer_fields().iter().position(|&f| f == off)?;
        let slot = (self.uapi_size() + 8 * k) as i16;
        let pt = match self {
            CtxLayout::Skb => ProgType::SchedCls,
            CtxLayout::Xdp => ProgType::Xdp,
        };
        debug_assert_eq!(kbpf_jit::ctx_pointer_slot(pt, off), Some(slot));
        Some(slot)
    }

    /// Size of the whole run-time context.
    pub fn size(self) -> usize {
        self.uapi_size() + 24
    }
}

// the natives of `bpf_dynptr_from_skb` / `_xdp` read the pointers where this module puts them
const _: () = assert!(kbpf_kfunc::vmlinux::RUNTIME_SKB_DATA_OFF as usize == SKB_UAPI_SIZE);
const _: () = assert!(kbpf_kfunc::vmlinux::RUNTIME_XDP_DATA_OFF as usize == XDP_UAPI_SIZE);

/// `convert_ctx_accesses`: every 32-bit context load of `data`, `data_end` or `data_meta` (as
/// the verifier's side table marks them) becomes a 64-bit load of the host pointer.
pub fn convert_ctx_accesses(slots: &[RawInsn], aux: &[InsnAux], layout: CtxLayout) -> Vec<RawInsn> {
    let mut out = slots.to_vec();
    for (i, s) in out.iter_mut().enumerate() {
        if let Ok(Insn::Load { size: Size::W, signed: false, dst, src, off }) =
            kbpf_isa::decode_insn(*s, None)
            && aux.get(i).is_some_and(|a| a.ctx_access)
            && let Some(slot) = layout.pointer_slot(off)
        {
            *s = Insn::Load { size: Size::DW, signed: false, dst, src, off: slot }.encode()[0];
        }
    }
    out
}

/// A context around a packet; the context holds the packet's address, so both live together.
pub struct PacketCtx {
    /// The context bytes.
    pub ctx: Vec<u8>,
    /// The packet (the program may write it).
    pub packet: Vec<u8>,
}

impl PacketCtx {
    /// Builds the context for `layout` around a copy of `data`, with the fields the kernel's
    /// test run sets: `len`, `protocol` (from the Ethernet header), `ifindex` 1 (loopback).
    pub fn new(layout: CtxLayout, data: &[u8]) -> PacketCtx {
        PacketCtx::at(layout, data, 0)
    }

    /// [`PacketCtx::new`] for a program that sees `frame` from byte `net` on (see
    /// [`CtxLayout::network_offset`]); `protocol` still comes from the frame's Ethernet header.
    pub fn at(layout: CtxLayout, frame: &[u8], net: usize) -> PacketCtx {
        let packet = frame.get(net..).unwrap_or_default().to_vec();
        let mut ctx = vec![0u8; layout.size()];
        let put32 =
            |ctx: &mut Vec<u8>, off: usize, v: u32| ctx[off..off + 4].copy_from_slice(&v.to_le_bytes());
        if layout == CtxLayout::Skb {
            put32(&mut ctx, 0, packet.len() as u32);
            if frame.len() >= ETH_HLEN {
                // `protocol` holds the network-order EtherType as stored
                put32(&mut ctx, 16, u16::from_le_bytes([frame[12], frame[13]]) as u32);
            }
            put32(&mut ctx, 40, 1);
            put32(&mut ctx, 160, packet.len() as u32); // wire_len
        } else {
            put32(&mut ctx, 12, 1); // ingress_ifindex
        }
        let base = packet.as_ptr() as u64;
        let end = base + packet.len() as u64;
        let at = layout.uapi_size();
        for (k, v) in [base, end, base].into_iter().enumerate() {
            ctx[at + 8 * k..at + 8 * k + 8].copy_from_slice(&v.to_le_bytes());
        }
        PacketCtx { ctx, packet }
    }
}

/// The selftests' `pkt_v4`: Ethernet (EtherType IPv4), an IPv4 header (IHL 5, protocol TCP,
/// total length 123) and a TCP header (data offset 5, urgent pointer 123), 54 bytes.
pub fn pkt_v4() -> Vec<u8> {
    let mut p = vec![0u8; 54];
    p[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    p[14] = 0x45;
    p[16..18].copy_from_slice(&123u16.to_be_bytes());
    p[23] = 6;
    p[14 + 20 + 12] = 5 << 4;
    p[14 + 20 + 18..14 + 20 + 20].copy_from_slice(&123u16.to_be_bytes());
    p
}

/// Why a test run did not produce a result.
#[derive(Debug, Error)]
pub enum TestRunError {
    /// The program type has no packet context kbpf can build.
    #[error("test runs need a tc, socket filter, cgroup skb, lwt or xdp program type")]
    ProgType,
    /// A frame shorter than its Ethernet header, for a type that starts at the network header
    /// (the kernel's test run refuses it: `EINVAL`).
    #[error("the packet is shorter than an Ethernet header (EINVAL)")]
    ShortFrame,
    /// The verifier refused the program (the kernel would not load it).
    #[error("the verifier rejects the program ({}): {}", .0.errno().name(), .0.message())]
    Rejected(VerifyError),
    /// `bpf_prog_test_run_xdp` runs no devmap or cpumap program (`EINVAL`): they run on
    /// frames a map redirects, which a test run does not model.
    #[error("xdp programs with expected attach type {} cannot be test-run (EINVAL)", .0.uapi_name())]
    AttachType(AttachType),
    /// The program reads a context field kbpf's context does not model (`ctx_model`).
    #[error("insn {insn}: reads {field}")]
    Unmodelled {
        /// Slot of the load.
        insn: usize,
        /// The field and why.
        field: &'static str,
    },
    /// The rewritten program does not decode.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Maps could not be created.
    #[error(transparent)]
    Map(#[from] kbpf_kfunc::maps::MapError),
    /// The engine failed.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// A finished test run.
#[derive(Debug)]
pub struct TestRunOutcome {
    /// r0.
    pub retval: u64,
    /// The packet after the run.
    pub data_out: Vec<u8>,
    /// The uapi context after the run (`struct __sk_buff` or `struct xdp_md`; the host
    /// pointers behind it are not part of it).
    pub ctx_out: Vec<u8>,
}

/// Verifies `module` with `opts` (its program type decides the context), converts its
/// context accesses and runs it once on `engine` with `data` as the packet and `maps` (from
/// [`crate::create_maps`]) as its maps.
pub fn test_run(
    module: &Module,
    maps: &MapSet,
    registry: &Registry,
    opts: VerifyOptions,
    engine: Engine,
    data: &[u8],
    run: RunOptions,
) -> Result<TestRunOutcome, TestRunError> {
    let layout = CtxLayout::of(opts.prog_type).ok_or(TestRunError::ProgType)?;
    let net = CtxLayout::network_offset(opts.prog_type);
    if data.len() < net {
        return Err(TestRunError::ShortFrame);
    }
    let mut opts = opts;
    if opts.kfuncs.is_empty() {
        opts.kfuncs = crate::kfunc_table(registry);
    }
    // the attach type the program loads with: the caller's, else its ELF section's
    let attach = opts.expected_attach_type.or(module.elf.as_ref().and_then(|e| e.expected_attach_type));
    let witnesses = match crate::guard::verify_programs(module, opts, registry, engine) {
        Ok(w) => w,
        Err(RunError::Rejected(e)) => return Err(TestRunError::Rejected(e)),
        Err(e) => return Err(TestRunError::Run(e)),
    };
    // the kernel refuses the run after the load succeeded
    if layout == CtxLayout::Xdp
        && let Some(a @ (AttachType::XdpDevmap | AttachType::XdpCpumap)) = attach
    {
        return Err(TestRunError::AttachType(a));
    }
    if let Some((insn, field)) = witnesses.iter().find_map(|w| crate::ctx_model::unmodelled_field(w, layout))
    {
        return Err(TestRunError::Unmodelled { insn, field });
    }
    // the witnesses' programs are linked with their context loads converted for `layout`
    let mut pc = PacketCtx::at(layout, data, net);
    // LD_ABS/LD_IND read the packet, not the context (an skb's legacy packet loads)
    let ld_abs = layout == CtxLayout::Skb;
    let retval =
        crate::maps::run_verified_packet(module, &witnesses, maps, engine, registry, &mut pc, ld_abs, run)?;
    // the kernel puts a zeroed header back in front
    let mut data_out = vec![0u8; net];
    data_out.extend_from_slice(&pc.packet);
    let ctx_out = pc.ctx[..layout.uapi_size()].to_vec();
    Ok(TestRunOutcome { retval, data_out, ctx_out })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkt_v4_shape() {
        let p = pkt_v4();
        assert_eq!(p.len(), 54);
        assert_eq!(&p[12..14], &[0x08, 0x00]);
        assert_eq!(p[14], 0x45);
    }

    #[test]
    fn only_marked_pointer_loads_are_converted() {
        let ld = |off: i16| RawInsn::new(0x61, 2, 1, off, 0);
        let slots = [ld(76), ld(80), ld(0), ld(76)];
        let mark = |c: bool| InsnAux { ctx_access: c, seen: true, ..Default::default() };
        let aux = [mark(true), mark(true), mark(true), mark(false)];
        let out = convert_ctx_accesses(&slots, &aux, CtxLayout::Skb);
        assert_eq!((out[0].code, out[0].off), (0x79, 192));
        assert_eq!((out[1].code, out[1].off), (0x79, 200));
        assert_eq!((out[2].code, out[2].off), (0x61, 0));
        assert_eq!((out[3].code, out[3].off), (0x61, 76));
    }

    #[test]
    fn context_points_at_the_packet() {
        let pc = PacketCtx::new(CtxLayout::Xdp, &[1, 2, 3]);
        let rd = |o: usize| u64::from_le_bytes(pc.ctx[o..o + 8].try_into().unwrap());
        assert_eq!(rd(24), pc.packet.as_ptr() as u64);
        assert_eq!(rd(32) - rd(24), 3);
    }

    #[test]
    fn socket_filters_see_the_frame_from_its_network_header() {
        let linker = crate::Linker::new();
        // r0 = the first packet byte LD_ABS reads + the skb's len
        let src = "r6 = r1\nr0 = *(u8 *)skb[0]\nr7 = *(u32 *)(r6 + 0)\nr0 += r7\nexit\n";
        let cfg = crate::VerifyConfig::of(ProgType::SocketFilter);
        for engine in [Engine::Interp, Engine::Jit] {
            let h =
                crate::Object::from_asm(src, &linker).unwrap().main().unwrap().verify(&linker, &cfg).unwrap();
            let out = h.compile(engine).unwrap().run_packet(&pkt_v4()).unwrap();
            assert_eq!(out.retval, 0x45 + 40, "{engine}");
            assert_eq!(out.data_out[..14], [0; 14]);
            assert_eq!(out.data_out[14..], pkt_v4()[14..]);
            let short = h.compile(engine).unwrap().run_packet(&[0; 10]);
            assert!(short.is_err());
        }
    }
}
