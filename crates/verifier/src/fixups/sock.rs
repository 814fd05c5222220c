//! `bpf_sock_convert_ctx_access`: loads and stores through a `struct bpf_sock` pointer onto
//! the kernel's `struct sock` (and its `struct sock_common`), offsets from the target's BTF.

use kbpf_isa::{Insn, JmpCond, Reg, Size, Src, Width};

use super::layout::{KernelField as K, KernelLayout};
use super::narrow_load;
use crate::prog_types::{CtxError, CtxUnsupported};

/// `struct bpf_sock` offsets.
const BOUND_DEV_IF: i16 = 0;
const FAMILY: i16 = 4;
const TYPE: i16 = 8;
const PROTOCOL: i16 = 12;
const MARK: i16 = 16;
const PRIORITY: i16 = 20;
const SRC_IP4: i16 = 24;
const SRC_IP6: i16 = 28;
const SRC_PORT: i16 = 44;
const DST_PORT: i16 = 48;
const DST_IP4: i16 = 52;
const DST_IP6: i16 = 56;
const STATE: i16 = 72;
const RX_QUEUE_MAPPING: i16 = 76;
/// `NO_QUEUE_MAPPING`: no receive queue recorded.
const NO_QUEUE_MAPPING: i32 = 0xffff;

/// The `struct bpf_sock` access `insn` for the kernel's structures.
pub(super) fn convert(insn: &Insn, l: &KernelLayout) -> Result<Vec<Insn>, CtxError> {
    let unsupported = || CtxError::Unsupported(CtxUnsupported { prog_type: "bpf_sock", insn: *insn });
    match *insn {
        Insn::Load { size, signed, dst, src, off } => {
            narrow_load(size, signed, dst, off, field_size(off, size), |off, size| {
                load(off, size, dst, src, l)?.ok_or_else(unsupported)
            })
        }
        // bound_dev_if, mark and priority are writable (cgroup sock programs)
        Insn::Store { size: Size::W, dst, off, src } => {
            let f = match off {
                BOUND_DEV_IF => K::SkcBoundDevIf,
                MARK => K::SkMark,
                PRIORITY => K::SkPriority,
                _ => return Err(unsupported()),
            };
            let at = l.off(f).map_err(CtxError::NoLayout)?;
            Ok(vec![Insn::Store { size: Size::W, dst, off: at as i16, src }])
        }
        _ => Err(unsupported()),
    }
}

/// `bpf_xdp_sock_convert_ctx_access`: `queue_id` (the verifier lets nothing else through) is
/// read from the kernel's `struct xdp_sock` at the width of its own member there.
pub(super) fn convert_xdp_sock(insn: &Insn, l: &KernelLayout) -> Result<Vec<Insn>, CtxError> {
    let Insn::Load { dst, src, off: 0, .. } = *insn else {
        return Err(CtxError::Unsupported(CtxUnsupported { prog_type: "bpf_xdp_sock", insn: *insn }));
    };
    let at = l.get(K::XdpSockQueueId).ok_or(CtxError::NoLayout(K::XdpSockQueueId))?;
    let size = match at.size {
        1 => Size::B,
        2 => Size::H,
        4 => Size::W,
        _ => return Err(CtxError::Unsupported(CtxUnsupported { prog_type: "bpf_xdp_sock", insn: *insn })),
    };
    Ok(vec![Insn::Load { size, signed: false, dst, src, off: at.off as i16 }])
}

/// `bpf_sock_is_valid_access`'s recorded field size: 4 bytes for the narrow-readable fields,
/// `dst_port`'s own 2 unless read whole (the legacy 4-byte read).
fn field_size(off: i16, size: Size) -> u32 {
    match off {
        STATE | FAMILY | TYPE | PROTOCOL | SRC_PORT | RX_QUEUE_MAPPING => 4,
        o if (SRC_IP4..SRC_PORT).contains(&o) || (DST_IP4..STATE).contains(&o) => 4,
        o if (DST_PORT..DST_PORT + 2).contains(&o) => {
            if size == Size::W {
                4
            } else {
                2
            }
        }
        _ => 0,
    }
}

/// The load of the (aligned) field at `off`, and the size it loads; `None` = not a field.
fn load(
    off: i16,
    size: Size,
    dst: Reg,
    src: Reg,
    l: &KernelLayout,
) -> Result<Option<(Vec<Insn>, u32)>, CtxError> {
    let loc = |f: K| l.get(f).ok_or(CtxError::NoLayout(f));
    // a field loaded with its own size (`BPF_FIELD_SIZEOF`)
    let own = |f: K| -> Result<Option<(Vec<Insn>, u32)>, CtxError> {
        let at = loc(f)?;
        let sz = Size::from_bytes(at.size).ok_or(CtxError::NoLayout(f))?;
        Ok(Some((vec![Insn::Load { size: sz, signed: false, dst, src, off: at.off as i16 }], at.size)))
    };
    // an address field loaded with the access's size, `extra` bytes in
    let sized = |f: K, extra: i16| -> Result<Option<(Vec<Insn>, u32)>, CtxError> {
        let at = loc(f)?;
        Ok(Some((vec![Insn::Load { size, signed: false, dst, src, off: at.off as i16 + extra }], 4)))
    };
    match off {
        BOUND_DEV_IF => own(K::SkcBoundDevIf),
        MARK => own(K::SkMark),
        PRIORITY => own(K::SkPriority),
        FAMILY => own(K::SkcFamily),
        TYPE => own(K::SkType),
        PROTOCOL => own(K::SkProtocol),
        SRC_IP4 => sized(K::SkcRcvSaddr, 0),
        DST_IP4 => sized(K::SkcDaddr, 0),
        o if (SRC_IP6..SRC_PORT).contains(&o) => sized(K::SkcV6RcvSaddr, o - SRC_IP6),
        o if (DST_IP6..STATE).contains(&o) => sized(K::SkcV6Daddr, o - DST_IP6),
        SRC_PORT => own(K::SkcNum),
        DST_PORT => own(K::SkcDport),
        STATE => own(K::SkcState),
        // without CONFIG_SOCK_RX_QUEUE_MAPPING (no such field in the BTF) the answer is -1
        RX_QUEUE_MAPPING => match l.get(K::SkRxQueueMapping) {
            None => Ok(Some((
                vec![Insn::Alu { width: Width::W64, op: kbpf_isa::AluOp::Mov, dst, src: Src::Imm(-1) }],
                2,
            ))),
            Some(_) => {
                let Some((mut seq, t)) = own(K::SkRxQueueMapping)? else { return Ok(None) };
                seq.push(Insn::Jmp {
                    width: Width::W64,
                    cond: JmpCond::Ne,
                    dst,
                    src: Src::Imm(NO_QUEUE_MAPPING),
                    off: 1,
                });
                seq.push(Insn::Alu { width: Width::W64, op: kbpf_isa::AluOp::Mov, dst, src: Src::Imm(-1) });
                Ok(Some((seq, t)))
            }
        },
        _ => Ok(None),
    }
}
