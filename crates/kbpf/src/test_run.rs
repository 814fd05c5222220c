//! `BPF_PROG_TEST_RUN` for kbpf: a packet program is verified for its program type, its
//! context loads are rewritten for kbpf's run-time context (the kernel's
//! `convert_ctx_accesses`), the context is built around the packet like the kernel's test run
//! builds its skb or xdp buffer, and the program runs on an engine.
//!
//! The run-time context is the uapi structure (`struct __sk_buff`, 192 bytes, or
//! `struct xdp_md`, 24 bytes) followed by 64-bit host pointers ([`kbpf_kfunc::packet_helpers::Pkt`]):
//! data, data_end, data_meta, then the bounds of the buffer around the packet (head, end), and
//! for an skb its link-layer and network headers (what `LD_ABS`/`LD_IND` read at `SKF_LL_OFF`
//! and `SKF_NET_OFF`). A program's 32-bit loads of the uapi `data`/`data_end`/`data_meta`
//! fields become 64-bit loads of those pointers; every other field is read where the uapi puts
//! it. Helpers that move the packet (`bpf_xdp_adjust_head`, ...) rewrite the pointers, so the
//! program's next loads see the moved packet.
//!
//! The buffers are the kernel's: an xdp frame is a 4096-byte page with the packet at 256
//! (`XDP_PACKET_HEADROOM`) and 320 bytes at its end the tail may not grow into; an skb has
//! room before its frame for the most a helper can push ([`SKB_HEADROOM`]).

use kbpf_isa::{AttachType, Insn, RawInsn, Size};
use kbpf_kfunc::Registry;
use kbpf_kfunc::packet_helpers::{
    CTX_KIND_FLOW, CTX_KIND_OFF, CTX_KIND_SKB, CTX_KIND_XDP, PKT_PTRS_SIZE, Pkt, RUNTIME_CTX_SIZE,
    SKB_PTRS_SIZE,
};
use kbpf_kfunc::xdp_helpers::{XDP_FRAME_SIZE, XDP_MAX_DATA, XDP_PACKET_HEADROOM};
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
    /// A flow dissector's `struct __sk_buff`: the frame from its Ethernet header, read-only,
    /// and `flow_keys` (no skb: [`kbpf_kfunc::vmlinux::RUNTIME_FLOW_DATA_OFF`]).
    Flow,
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
            ProgType::FlowDissector => Some(CtxLayout::Flow),
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
            CtxLayout::Skb | CtxLayout::Flow => SKB_UAPI_SIZE,
            CtxLayout::Xdp => XDP_UAPI_SIZE,
        }
    }

    /// Where the host packet pointers are in the run-time context.
    fn pointers_at(self) -> usize {
        match self {
            CtxLayout::Flow => kbpf_kfunc::vmlinux::RUNTIME_FLOW_DATA_OFF as usize,
            _ => self.uapi_size(),
        }
    }

    /// uapi offsets of `data`, `data_end`, `data_meta`.
    fn pointer_fields(self) -> [i16; 3] {
        match self {
            CtxLayout::Skb | CtxLayout::Flow => [76, 80, 140],
            CtxLayout::Xdp => [0, 4, 8],
        }
    }

    /// Where the host pointer for the uapi field at `off` lives, if it is one of the three
    /// (the layout `kbpf_jit::link` converts verified programs for).
    fn pointer_slot(self, off: i16) -> Option<i16> {
        let k = self.pointer_fields().iter().position(|&f| f == off)?;
        let slot = (self.pointers_at() + 8 * k) as i16;
        let pt = match self {
            CtxLayout::Skb => ProgType::SchedCls,
            CtxLayout::Xdp => ProgType::Xdp,
            CtxLayout::Flow => ProgType::FlowDissector,
        };
        debug_assert_eq!(kbpf_jit::ctx_pointer_slot(pt, off), Some(slot));
        Some(slot)
    }

    /// Size of the whole run-time context: the uapi structure, the packet pointers, for an skb
    /// its header pointers, and the kind tag (the same for both layouts).
    pub fn size(self) -> usize {
        RUNTIME_CTX_SIZE
    }

    /// The kind tag at `CTX_KIND_OFF` (helpers both types share tell the layouts apart by it).
    fn kind(self) -> u64 {
        match self {
            CtxLayout::Skb => CTX_KIND_SKB,
            CtxLayout::Xdp => CTX_KIND_XDP,
            CtxLayout::Flow => CTX_KIND_FLOW,
        }
    }
}

/// Where the kernel's test runs put the frame modulo an alignment, `(alignment, offset)`:
/// programs that store a packet pointer's low bits into the packet see them. An skb's frame
/// is 64 bytes (`NET_SKB_PAD`) into a `kmalloc` of at least 512 bytes, which is aligned to its
/// power-of-two size; an xdp frame's packet is 256 bytes into a page.
const FRAME_ALIGN_SKB: (usize, usize) = (512, 64);
const FRAME_ALIGN_XDP: (usize, usize) = (4096, XDP_PACKET_HEADROOM);

/// The headroom before an skb's frame: the kernel's test run reserves `NET_SKB_PAD` (64) and
/// reallocates when a helper pushes more; kbpf reserves the most any helper can push
/// ([`kbpf_kfunc::skb_helpers::SKB_MAX_LEN`]) so the buffer never moves during a run.
pub const SKB_HEADROOM: usize = kbpf_kfunc::skb_helpers::SKB_MAX_LEN as usize;

// the natives of `bpf_dynptr_from_skb` / `_xdp` read the pointers where this module puts them;
// the kind tag follows the skb's pointers
const _: () = assert!(SKB_UAPI_SIZE + SKB_PTRS_SIZE <= CTX_KIND_OFF as usize);
const _: () = assert!(XDP_UAPI_SIZE + PKT_PTRS_SIZE <= CTX_KIND_OFF as usize);
const _: () = assert!(CTX_KIND_OFF as usize + 8 <= RUNTIME_CTX_SIZE);
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

/// A context around a packet; the context holds the packet's addresses, so both live together.
pub struct PacketCtx {
    /// The context bytes.
    pub ctx: Vec<u8>,
    /// The packet's whole buffer: headroom, the packet, tailroom (the program may write it,
    /// helpers may move the packet inside it).
    pub buf: Vec<u8>,
    /// The object the context points to: an skb's socket (`__sk_buff.sk`, a `struct bpf_sock`),
    /// a flow dissector's `struct bpf_flow_keys` (`flow_keys`); empty for xdp.
    pub side: Vec<u8>,
    layout: CtxLayout,
    /// The zeroed header the kernel puts back in front of `data_out` (network-layer types).
    net: usize,
}

impl PacketCtx {
    /// Builds the context for `layout` around a copy of `data`, with the fields the kernel's
    /// test run sets: `len`, `protocol` (from the Ethernet header), `ifindex` 1 (loopback).
    pub fn new(layout: CtxLayout, data: &[u8]) -> PacketCtx {
        PacketCtx::at(layout, data, 0)
    }

    /// [`PacketCtx::new`] for a program that sees `frame` from byte `net` on (see
    /// [`CtxLayout::network_offset`]); `protocol` still comes from the frame's Ethernet header.
    /// An xdp frame longer than the page holds is cut at [`XDP_MAX_DATA`] (see [`test_run`]).
    pub fn at(layout: CtxLayout, frame: &[u8], net: usize) -> PacketCtx {
        let net = net.min(frame.len());
        // the buffer is `size` bytes from `head`, the frame at `start`, in a vector with room to
        // put the frame where the kernel's allocation does modulo `align` (see `FRAME_ALIGN`)
        let (size, start, (align, at)) = match layout {
            CtxLayout::Skb => {
                // headroom, the frame, tailroom to the cache-aligned end (`SKB_DATA_ALIGN`)
                let room = frame.len().div_ceil(64) * 64;
                (SKB_HEADROOM + room, SKB_HEADROOM, FRAME_ALIGN_SKB)
            }
            CtxLayout::Xdp => (XDP_FRAME_SIZE, XDP_PACKET_HEADROOM, FRAME_ALIGN_XDP),
            // the frame alone, in a `kzalloc` of its size
            CtxLayout::Flow => (frame.len(), 0, (8, 0)),
        };
        let mut buf = vec![0u8; size + align];
        let head_at = (at + align - (buf.as_ptr() as usize + start) % align) % align;
        let frame = &frame[..frame.len().min(size - start)];
        buf[head_at + start..head_at + start + frame.len()].copy_from_slice(frame);
        let len = frame.len() - net;
        let mut ctx = vec![0u8; layout.size()];
        let put32 =
            |ctx: &mut Vec<u8>, off: usize, v: u32| ctx[off..off + 4].copy_from_slice(&v.to_le_bytes());
        if layout == CtxLayout::Skb {
            put32(&mut ctx, 0, len as u32);
            if frame.len() >= ETH_HLEN {
                // `protocol` holds the network-order EtherType as stored
                put32(&mut ctx, 16, u16::from_le_bytes([frame[12], frame[13]]) as u32);
            }
            put32(&mut ctx, 40, 1);
            put32(&mut ctx, 160, len as u32); // wire_len
        } else if layout == CtxLayout::Xdp {
            put32(&mut ctx, 12, 1); // ingress_ifindex
        }
        let head = buf.as_ptr() as u64 + head_at as u64;
        let data = head + (start + net) as u64;
        let end = head + size as u64;
        let p = Pkt { data, data_end: data + len as u64, meta: data, head, end };
        let at = layout.pointers_at();
        // SAFETY: `ctx` holds `layout.size()` bytes, the pointers' and the headers' included.
        #[allow(unsafe_code)]
        unsafe {
            p.write(ctx.as_mut_ptr() as u64, at as u64)
        };
        if layout == CtxLayout::Skb {
            // the link-layer header is the frame's start, the network header follows Ethernet
            let mac = head + start as u64;
            let headers = [mac, mac + ETH_HLEN as u64];
            for (k, v) in headers.into_iter().enumerate() {
                let o = at + PKT_PTRS_SIZE + 8 * k;
                ctx[o..o + 8].copy_from_slice(&v.to_le_bytes());
            }
        }
        let k = CTX_KIND_OFF as usize;
        ctx[k..k + 8].copy_from_slice(&layout.kind().to_le_bytes());
        let (side, field) = match layout {
            CtxLayout::Skb => (crate::ctx_model::test_run_sock(frame), crate::ctx_model::SKB_SK),
            CtxLayout::Flow => {
                // no skb: its packet pointers describe an empty packet at the frame's end
                let end = (p.data_end).to_le_bytes();
                let skb = SKB_UAPI_SIZE;
                ctx[skb..skb + 8].copy_from_slice(&end);
                ctx[skb + 8..skb + 16].copy_from_slice(&end);
                (crate::ctx_model::flow_keys(frame), crate::ctx_model::FLOW_KEYS)
            }
            CtxLayout::Xdp => (Vec::new(), 0),
        };
        if !side.is_empty() {
            ctx[field..field + 8].copy_from_slice(&(side.as_ptr() as u64).to_le_bytes());
        }
        PacketCtx { ctx, buf, side, layout, net }
    }

    /// The context and the memory it points to (the packet's buffer, then [`PacketCtx::side`]),
    /// as an engine takes them.
    pub fn parts(&mut self) -> (&mut [u8], [&mut [u8]; 2]) {
        (&mut self.ctx, [self.buf.as_mut_slice(), self.side.as_mut_slice()])
    }

    /// What the kernel's test run does after the program, whatever it did: frees the skb's
    /// socket with what it owns in `maps`, clamps a flow dissector's header offsets into the
    /// frame (`frame_len` bytes).
    pub fn finish(&mut self, maps: &MapSet, frame_len: usize) {
        match self.layout {
            CtxLayout::Skb => maps.release_socket(self.side.as_ptr() as u64),
            CtxLayout::Flow => crate::ctx_model::clamp_flow_keys(&mut self.side, frame_len),
            CtxLayout::Xdp => {}
        }
    }

    /// The packet pointers as the run left them.
    pub fn pkt(&self) -> Pkt {
        let at = self.layout.pointers_at();
        let rd = |k: usize| {
            u64::from_le_bytes(self.ctx[at + 8 * k..at + 8 * k + 8].try_into().unwrap_or_default())
        };
        Pkt { data: rd(0), data_end: rd(1), meta: rd(2), head: rd(3), end: rd(4) }
    }

    /// The packet as the kernel's test run returns it: an xdp frame from its metadata on; an
    /// skb's from `data`, behind the zeroed link-layer header the kernel pushes back for the
    /// network-layer types.
    pub fn data_out(&self) -> Vec<u8> {
        if self.layout == CtxLayout::Flow {
            return self.side.clone();
        }
        let p = self.pkt();
        let base = self.buf.as_ptr() as u64;
        let from = if self.layout == CtxLayout::Xdp { p.meta } else { p.data };
        // the helpers keep the pointers inside the buffer; anything else yields no bytes
        let span = |a: u64| a.checked_sub(base).map(|o| o as usize);
        let bytes = match (span(from), span(p.data_end)) {
            (Some(a), Some(b)) => self.buf.get(a..b).unwrap_or_default(),
            _ => &[],
        };
        let mut out = vec![0u8; self.net];
        out.extend_from_slice(bytes);
        out
    }

    /// The uapi context after the run.
    pub fn ctx_out(&self) -> Vec<u8> {
        let mut out = self.ctx[..self.layout.uapi_size()].to_vec();
        // the kernel's `ctx_out` has no socket or flow keys address; neither does kbpf's
        let field = match self.layout {
            CtxLayout::Skb => Some(crate::ctx_model::SKB_SK),
            CtxLayout::Flow => Some(crate::ctx_model::FLOW_KEYS),
            CtxLayout::Xdp => None,
        };
        if let Some(o) = field {
            out[o..o + 8].fill(0);
        }
        out
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
    /// An xdp frame longer than a page's linear part goes to fragments (multi-buffer xdp),
    /// which kbpf's test run does not model.
    #[error("an xdp frame of {0} bytes is longer than the {XDP_MAX_DATA} bytes of a linear test-run frame")]
    XdpFrags(usize),
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
    if data.len() < net || (layout == CtxLayout::Flow && data.len() < ETH_HLEN) {
        return Err(TestRunError::ShortFrame);
    }
    if layout == CtxLayout::Xdp && data.len() > XDP_MAX_DATA {
        return Err(TestRunError::XdpFrags(data.len()));
    }
    let mut opts = opts;
    if opts.kfuncs.is_empty() {
        opts.kfuncs = crate::kfunc_table(registry);
    }
    // the attach type the program loads with: the caller's, else its ELF section's
    let attach = opts.expected_attach_type.or(module.elf.as_ref().and_then(|e| e.expected_attach_type));
    let (witnesses, registry) = match crate::guard::verify_programs(module, opts, registry, engine) {
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
    // the witnesses' programs are linked with their context loads converted for `layout`
    let mut pc = PacketCtx::at(layout, data, net);
    // LD_ABS/LD_IND read the packet, not the context (an skb's legacy packet loads)
    let ld_abs = layout == CtxLayout::Skb;
    let retval =
        crate::maps::run_verified_packet(module, &witnesses, maps, engine, &registry, &mut pc, ld_abs, run);
    pc.finish(maps, data.len());
    let retval = retval?;
    Ok(TestRunOutcome { retval, data_out: pc.data_out(), ctx_out: pc.ctx_out() })
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
        let base = rd(48);
        assert_eq!(base % 4096, 0);
        assert_eq!(rd(24), base + XDP_PACKET_HEADROOM as u64);
        assert_eq!(rd(32) - rd(24), 3);
        assert_eq!((rd(48), rd(56)), (base, base + XDP_FRAME_SIZE as u64));
        assert_eq!(pc.data_out(), [1, 2, 3]);
        let skb = PacketCtx::at(CtxLayout::Skb, &pkt_v4(), ETH_HLEN);
        let rd = |o: usize| u64::from_le_bytes(skb.ctx[o..o + 8].try_into().unwrap());
        let base = rd(216);
        assert_eq!(rd(232) % 512, 64);
        // data at the network header, the link-layer header before it
        assert_eq!(rd(192), base + (SKB_HEADROOM + ETH_HLEN) as u64);
        assert_eq!(rd(200) - rd(192), 40);
        assert_eq!((rd(232), rd(240)), (base + SKB_HEADROOM as u64, rd(192)));
        assert_eq!(skb.data_out()[14..], pkt_v4()[14..]);
    }

    #[test]
    fn xdp_helpers_move_the_packet_and_data_out_follows() {
        let linker = crate::Linker::new();
        // 12 bytes more at the head, 10 less at the tail (6.18 refuses xdp_adjust_meta to xdp)
        let src = "r6 = r1\nr2 = -12\ncall 44\nr1 = r6\nr2 = -10\ncall 65\nr1 = r6\ncall 188\nexit\n";
        let cfg = crate::VerifyConfig::of(ProgType::Xdp);
        for engine in [Engine::Interp, Engine::Jit] {
            let h = crate::Object::from_asm(src, &linker).unwrap().main().unwrap();
            let out =
                h.verify(&linker, &cfg).unwrap().compile(engine).unwrap().run_packet(&pkt_v4()).unwrap();
            assert_eq!(out.retval, 12 + 54 - 10, "{engine}");
            assert_eq!(out.data_out.len(), 8 + 4 + 44, "{engine}");
            assert_eq!(out.data_out[..12], [0; 12], "{engine}");
            assert_eq!(out.data_out[12..], pkt_v4()[..44], "{engine}");
        }
    }

    #[test]
    fn check_mtu_tells_the_two_contexts_apart() {
        let linker = crate::Linker::new();
        // r0 = bpf_check_mtu(ctx, 0, &mtu, len_diff, 0) + mtu
        let src = |diff: i32| {
            format!(
                "*(u32 *)(r10 - 4) = 0\nr2 = 0\nr3 = r10\nr3 += -4\nr4 = {diff}\nr5 = 0\ncall 163\n\
                 r1 = *(u32 *)(r10 - 4)\nr0 += r1\nexit\n"
            )
        };
        for pt in [ProgType::Xdp, ProgType::SchedCls] {
            let cfg = crate::VerifyConfig::of(pt);
            for engine in [Engine::Interp, Engine::Jit] {
                let run = |src: &str| {
                    let h = crate::Object::from_asm(src, &linker).unwrap().main().unwrap();
                    h.verify(&linker, &cfg).unwrap().compile(engine).unwrap().run_packet(&pkt_v4()).unwrap()
                };
                assert_eq!(run(&src(65550 - 54)).retval, 65536, "{pt:?} {engine}");
                assert_eq!(run(&src(65551 - 54)).retval, 65537, "{pt:?} {engine}");
            }
        }
    }

    #[test]
    fn legacy_loads_follow_a_pushed_head() {
        let linker = crate::Linker::new();
        // 4 bytes pushed: the link-layer header moves to them (EtherType at SKF_LL_OFF + 16),
        // the network header stays (SKF_NET_OFF); r0 = len << 16 | EtherType high byte << 8 | 0x45
        let src = "r6 = r1\nr2 = 4\nr3 = 0\ncall 43\nr0 = *(u8 *)skb[-2097136]\nr7 = r0\nr7 <<= 8\n\
                   r0 = *(u8 *)skb[-1048576]\nr0 += r7\nr1 = *(u32 *)(r6 + 0)\nr1 <<= 16\nr0 += r1\nexit\n";
        let cfg = crate::VerifyConfig::of(ProgType::SchedCls);
        for engine in [Engine::Interp, Engine::Jit] {
            let h = crate::Object::from_asm(src, &linker).unwrap().main().unwrap();
            let out =
                h.verify(&linker, &cfg).unwrap().compile(engine).unwrap().run_packet(&pkt_v4()).unwrap();
            assert_eq!(out.retval, (58 << 16) | 0x0845, "{engine}");
            assert_eq!(out.data_out[..4], [0; 4], "{engine}");
            assert_eq!(out.data_out[4..], pkt_v4(), "{engine}");
        }
    }

    #[test]
    fn legacy_loads_reach_the_headers_at_negative_offsets() {
        let linker = crate::Linker::new();
        // the EtherType through SKF_LL_OFF + 12, the IP version byte through SKF_NET_OFF
        let src = "r6 = r1\nr0 = *(u16 *)skb[-2097140]\nr7 = r0\nr0 = *(u8 *)skb[-1048576]\n\
                   r7 <<= 8\nr0 += r7\nexit\n";
        // a load that would end past the tail fails: the program ends with 0
        let past = "r6 = r1\nr0 = *(u16 *)skb[-2097099]\nr0 = 7\nexit\n";
        for pt in [ProgType::SocketFilter, ProgType::SchedCls] {
            let cfg = crate::VerifyConfig::of(pt);
            for engine in [Engine::Interp, Engine::Jit] {
                let run = |src: &str| {
                    let h = crate::Object::from_asm(src, &linker).unwrap().main().unwrap();
                    h.verify(&linker, &cfg).unwrap().compile(engine).unwrap().run_packet(&pkt_v4()).unwrap()
                };
                assert_eq!(run(src).retval, 0x0008_0045, "{pt:?} {engine}");
                assert_eq!(run(past).retval, 0, "{pt:?} {engine}");
                assert_eq!(run(&past.replace("2097099", "2097100")).retval, 7, "{pt:?} {engine}");
            }
        }
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
