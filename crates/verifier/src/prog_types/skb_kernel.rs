//! `bpf_convert_ctx_access` (and tc's variant): `__sk_buff` accesses onto the target kernel's
//! `struct sk_buff`, with the offsets from its BTF ([`KernelLayout`]). Context loads narrower
//! than their field go through [`crate::fixups::narrow_load`] like `convert_ctx_accesses` does.

use kbpf_isa::{AluOp, Insn, JmpCond, Reg, Size, Src, Width};

use super::skb::off as uapi;
use super::{CtxError, CtxUnsupported};
use crate::fixups::{CtxConv, CtxTarget, KernelCall, KernelField as K, KernelLayout, XInsn, narrow_load};
use crate::protos::func_id::BpfFunc;

/// `NO_QUEUE_MAPPING`: `queue_mapping` values from it up are not stored.
const NO_QUEUE_MAPPING: i32 = 0xffff;
/// The `__sk_buff` offsets this module names beyond the access rules'.
const LEN: i64 = 0;
const PKT_TYPE: i64 = 4;
const PROTOCOL: i64 = 16;
const VLAN_PRESENT: i64 = 20;
const VLAN_TCI: i64 = 24;
const VLAN_PROTO: i64 = 28;
const INGRESS_IFINDEX: i64 = 36;
const IFINDEX: i64 = 40;
const HASH: i64 = 68;
const REMOTE_IP4: i64 = 92;
const LOCAL_IP4: i64 = 96;
const REMOTE_IP6: i64 = 100;
const LOCAL_IP6: i64 = 116;
const REMOTE_PORT: i64 = 132;
const LOCAL_PORT: i64 = 136;
const GSO_SEGS: i64 = 164;
const GSO_SIZE: i64 = 176;

/// A context access: a load into `reg`, or a store of `val`, at `off` of the context in `ctx`.
#[derive(Clone, Copy)]
enum Access {
    Read { reg: Reg },
    Write { val: Src },
}

/// The `__sk_buff` access `insn` for the kernel's `struct sk_buff` (`tc` = tc's
/// `tc_cls_act_convert_ctx_access`, which reads `ifindex` without the device check).
pub(super) fn convert(
    prog_type: &'static str,
    insn: &Insn,
    cx: &CtxConv<'_>,
    tc: bool,
) -> Result<Vec<Insn>, CtxError> {
    let unsupported = || CtxError::Unsupported(CtxUnsupported { prog_type, insn: *insn });
    match *insn {
        Insn::Load { size, signed, dst, src, off } => {
            let field_size = read_field_size(off as i64);
            narrow_load(size, signed, dst, off, field_size, |off, size| {
                let (seq, target) = field(off as i64, size, src, Access::Read { reg: dst }, cx, tc)?;
                seq.map(|s| (s, target)).ok_or_else(unsupported)
            })
        }
        Insn::Store { size, dst, off, src } => {
            let (seq, _) = field(off as i64, size, dst, Access::Write { val: src }, cx, tc)?;
            seq.ok_or_else(unsupported)
        }
        _ => Err(unsupported()),
    }
}

/// `bpf_skb_is_valid_access` records a 4-byte field for the reads of its default case (narrow
/// reads allowed); the special cases keep no field size.
fn read_field_size(off: i64) -> u32 {
    use uapi::*;
    let special = (CB..CB_END).contains(&off)
        || [DATA, DATA_META, DATA_END, FLOW_KEYS, TSTAMP, HWTSTAMP, SK, TSTAMP_TYPE].contains(&off);
    if special { 0 } else { 4 }
}

fn ld(size: Size, dst: Reg, src: Reg, off: i32) -> Insn {
    Insn::Load { size, signed: false, dst, src, off: off as i16 }
}

fn st(size: Size, dst: Reg, off: i32, src: Src) -> Insn {
    Insn::Store { size, dst, off: off as i16, src }
}

fn alu32(op: AluOp, dst: Reg, imm: i32) -> Insn {
    Insn::Alu { width: Width::W32, op, dst, src: Src::Imm(imm) }
}

fn jmp(width: Width, cond: JmpCond, dst: Reg, imm: i32, off: i16) -> Insn {
    Insn::Jmp { width, cond, dst, src: Src::Imm(imm), off }
}

/// A field's conversion (`None` = not one kbpf translates) and the kernel's `target_size`,
/// the size of what the sequence loads.
type Conv = Result<(Option<Vec<Insn>>, u32), CtxError>;

/// The conversion of the (aligned) field at `off`.
fn field(off: i64, size: Size, ctx: Reg, a: Access, cx: &CtxConv<'_>, tc: bool) -> Conv {
    let l = cx.layout;
    let o = |f: K| l.off(f).map_err(CtxError::NoLayout);
    // a plain field of `struct sk_buff` read or written with `sz`
    let plain = |f: K, sz: Size| -> Conv {
        let at = o(f)?;
        let i = match a {
            Access::Read { reg } => ld(sz, reg, ctx, at),
            Access::Write { val } => st(sz, ctx, at, val),
        };
        Ok((Some(vec![i]), sz.bytes()))
    };
    let read = match a {
        Access::Read { reg } => Some(reg),
        Access::Write { .. } => None,
    };
    // `skb->sk->field`: the socket pointer, then the field through it
    let via_sk = |f: K, sz: Size, extra: i32| -> Conv {
        let Some(reg) = read else { return Ok((None, 0)) };
        Ok((Some(vec![ld(Size::DW, reg, ctx, o(K::SkbSk)?), ld(sz, reg, reg, o(f)? + extra)]), sz.bytes()))
    };
    // `skb_shinfo(skb)->field`: head + end (`end` is an offset when it is 32 bits wide)
    let via_shinfo = |f: K, sz: Size| -> Conv {
        let Some(reg) = read else { return Ok((None, 0)) };
        let end = l.get(K::SkbEnd).ok_or(CtxError::NoLayout(K::SkbEnd))?;
        let mut seq = if end.size == 4 {
            vec![
                ld(Size::W, Reg::R11, ctx, end.off),
                ld(Size::DW, reg, ctx, o(K::SkbHead)?),
                Insn::Alu { width: Width::W64, op: AluOp::Add, dst: reg, src: Src::Reg(Reg::R11) },
            ]
        } else {
            vec![ld(Size::DW, reg, ctx, end.off)]
        };
        seq.push(ld(sz, reg, reg, o(f)?));
        Ok((Some(seq), sz.bytes()))
    };
    let cb = || -> Result<i32, CtxError> { o(K::SkbCb) };
    match off {
        LEN => plain(K::SkbLen, Size::W),
        PROTOCOL => plain(K::SkbProtocol, Size::H),
        VLAN_PROTO => plain(K::SkbVlanProto, Size::H),
        VLAN_TCI => plain(K::SkbVlanTci, Size::H),
        uapi::PRIORITY => plain(K::SkbPriority, Size::W),
        INGRESS_IFINDEX => plain(K::SkbIif, Size::W),
        HASH => plain(K::SkbHash, Size::W),
        uapi::MARK => plain(K::SkbMark, Size::W),
        uapi::TC_INDEX => plain(K::SkbTcIndex, Size::H),
        uapi::DATA => plain(K::SkbData, Size::DW),
        uapi::SK => plain(K::SkbSk, Size::DW),
        IFINDEX => {
            let Some(reg) = read else { return Ok((None, 0)) };
            let dev = ld(Size::DW, reg, ctx, o(K::SkbDev)?);
            let ifindex = ld(Size::W, reg, reg, o(K::NetDeviceIfindex)?);
            let seq = if tc {
                vec![dev, ifindex]
            } else {
                vec![dev, jmp(Width::W64, JmpCond::Eq, reg, 0, 1), ifindex]
            };
            Ok((Some(seq), 4))
        }
        PKT_TYPE => {
            let Some(reg) = read else { return Ok((None, 0)) };
            let bits = l.get(K::SkbPktType).and_then(|f| f.bits).ok_or(CtxError::NoLayout(K::SkbPktType))?;
            let mask = ((1i32 << bits.1) - 1) << bits.0;
            Ok((Some(vec![ld(Size::B, reg, ctx, o(K::SkbPktTypeOffset)?), alu32(AluOp::And, reg, mask)]), 1))
        }
        uapi::QUEUE_MAPPING => match a {
            Access::Read { .. } => plain(K::SkbQueueMapping, Size::H),
            Access::Write { val } => {
                let at = o(K::SkbQueueMapping)?;
                let seq = match val {
                    Src::Imm(v) if v >= NO_QUEUE_MAPPING => vec![Insn::Ja { off: 0 }],
                    Src::Imm(_) => vec![st(Size::H, ctx, at, val)],
                    Src::Reg(r) => {
                        vec![jmp(Width::W64, JmpCond::Ge, r, NO_QUEUE_MAPPING, 1), st(Size::H, ctx, at, val)]
                    }
                };
                Ok((Some(seq), 2))
            }
        },
        VLAN_PRESENT => {
            let Some(reg) = read else { return Ok((None, 0)) };
            let seq = vec![
                ld(Size::W, reg, ctx, o(K::SkbVlanAll)?),
                jmp(Width::W64, JmpCond::Eq, reg, 0, 1),
                alu32(AluOp::Mov, reg, 1),
            ];
            Ok((Some(seq), 4))
        }
        o_ if (uapi::CB..uapi::CB_END).contains(&o_) => {
            let at = (o_ - uapi::CB) as i32 + cb()? + o(K::QdiscCbData)?;
            let i = match a {
                Access::Read { reg } => ld(size, reg, ctx, at),
                Access::Write { val } => st(size, ctx, at, val),
            };
            Ok((Some(vec![i]), size.bytes()))
        }
        uapi::TC_CLASSID => {
            let at = cb()? + o(K::QdiscCbTcClassid)?;
            let i = match a {
                Access::Read { reg } => ld(Size::H, reg, ctx, at),
                Access::Write { val } => st(Size::H, ctx, at, val),
            };
            Ok((Some(vec![i]), 2))
        }
        uapi::DATA_META | uapi::DATA_END => {
            let Some(reg) = read else { return Ok((None, 0)) };
            let f = if off == uapi::DATA_META { K::DataEndDataMeta } else { K::DataEndDataEnd };
            Ok((Some(vec![ld(Size::DW, reg, ctx, cb()? + o(f)?)]), 8))
        }
        uapi::WIRE_LEN => {
            let Some(reg) = read else { return Ok((None, 0)) };
            Ok((Some(vec![ld(Size::W, reg, ctx, cb()? + o(K::QdiscCbPktLen)?)]), 4))
        }
        uapi::FAMILY => via_sk(K::SkcFamily, Size::H, 0),
        REMOTE_IP4 => via_sk(K::SkcDaddr, Size::W, 0),
        LOCAL_IP4 => via_sk(K::SkcRcvSaddr, Size::W, 0),
        o_ if (REMOTE_IP6..REMOTE_IP6 + 16).contains(&o_) => {
            via_sk(K::SkcV6Daddr, Size::W, (o_ - REMOTE_IP6) as i32)
        }
        o_ if (LOCAL_IP6..LOCAL_IP6 + 16).contains(&o_) => {
            via_sk(K::SkcV6RcvSaddr, Size::W, (o_ - LOCAL_IP6) as i32)
        }
        REMOTE_PORT => {
            let (seq, t) = via_sk(K::SkcDport, Size::H, 0)?;
            let reg = read.unwrap_or(Reg::R0);
            Ok((
                seq.map(|mut s| {
                    s.push(alu32(AluOp::Lsh, reg, 16));
                    s
                }),
                t,
            ))
        }
        LOCAL_PORT => via_sk(K::SkcNum, Size::H, 0),
        GSO_SEGS => via_shinfo(K::ShinfoGsoSegs, Size::H),
        GSO_SIZE => via_shinfo(K::ShinfoGsoSize, Size::H),
        uapi::HWTSTAMP => via_shinfo(K::ShinfoHwtstamps, Size::DW),
        uapi::TSTAMP => tstamp(l, ctx, a, cx.tstamp_type_access).map(|s| (Some(s), 8)),
        // `bpf_convert_tstamp_type_read`: the `tstamp_type` bits of their byte
        uapi::TSTAMP_TYPE => {
            let Some(reg) = read else { return Ok((None, 0)) };
            let (bit, width) =
                l.get(K::SkbTstampType).and_then(|f| f.bits).ok_or(CtxError::NoLayout(K::SkbTstampType))?;
            let mut seq = vec![
                ld(Size::B, reg, ctx, o(K::SkbMonoTcOffset)?),
                alu32(AluOp::And, reg, ((1i32 << width) - 1) << bit),
            ];
            if bit != 0 {
                seq.push(alu32(AluOp::Rsh, reg, bit as i32));
            }
            Ok((Some(seq), 1))
        }
        _ => Ok((None, 0)),
    }
}

/// `bpf_convert_tstamp_read` / `_write`: unless the program reads `tstamp_type`, a tc ingress
/// program sees 0 for a delivery time and its write clears the timestamp's type bits (through
/// the hidden AX register, as `ctx` and the value may share one).
fn tstamp(l: &KernelLayout, ctx: Reg, a: Access, type_access: bool) -> Result<Vec<Insn>, CtxError> {
    let o = |f: K| l.off(f).map_err(CtxError::NoLayout);
    let at = o(K::SkbTstamp)?;
    let mut seq = Vec::new();
    if !type_access {
        let bit = |f: K| l.get(f).and_then(|f| f.bits).ok_or(CtxError::NoLayout(f));
        let ingress = 1i32 << bit(K::SkbTcAtIngress)?.0;
        let (tb, tw) = bit(K::SkbTstampType)?;
        let type_mask = ((1i32 << tw) - 1) << tb;
        let byte = o(K::SkbMonoTcOffset)?;
        let ax = Reg::R11;
        seq.push(ld(Size::B, ax, ctx, byte));
        seq.push(jmp(Width::W32, JmpCond::Set, ax, ingress, 1));
        match a {
            Access::Read { reg } => {
                seq.push(Insn::Ja { off: 4 });
                seq.push(jmp(Width::W32, JmpCond::Set, ax, type_mask, 1));
                seq.push(Insn::Ja { off: 2 });
                seq.push(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: reg, src: Src::Imm(0) });
                seq.push(Insn::Ja { off: 1 });
            }
            Access::Write { .. } => {
                seq.push(Insn::Ja { off: 2 });
                seq.push(alu32(AluOp::And, ax, !type_mask));
                seq.push(st(Size::B, ctx, byte, Src::Reg(ax)));
            }
        }
    }
    seq.push(match a {
        Access::Read { reg } => ld(Size::DW, reg, ctx, at),
        Access::Write { val } => st(Size::DW, ctx, at, val),
    });
    Ok(seq)
}

/// `bpf_unclone_prologue`: before a program that writes the packet directly, a cloned skb is
/// made private with `bpf_skb_pull_data(skb, 0)`; when that fails the program returns `drop`.
/// The context survives the call in r6, which the program's first instruction cannot have read.
pub(super) fn unclone_prologue(
    direct_write: bool,
    cx: &CtxConv<'_>,
    drop: i32,
) -> Result<Vec<XInsn>, CtxError> {
    if !direct_write || cx.target != CtxTarget::Kernel {
        return Ok(Vec::new());
    }
    let cloned = cx.layout.get(K::SkbCloned).ok_or(CtxError::NoLayout(K::SkbCloned))?;
    let (bit, width) = cloned.bits.ok_or(CtxError::NoLayout(K::SkbCloned))?;
    let mask = ((1i32 << width) - 1) << bit;
    let x = |insn| XInsn { insn, origin: None, call: None };
    let mov = |dst, src| Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src: Src::Reg(src) };
    let pull = BpfFunc::SkbPullData;
    Ok(vec![
        x(ld(Size::B, Reg::R6, Reg::R1, cloned.off)),
        x(alu32(AluOp::And, Reg::R6, mask)),
        x(jmp(Width::W64, JmpCond::Eq, Reg::R6, 0, 7)),
        x(mov(Reg::R6, Reg::R1)),
        x(Insn::Alu { width: Width::W64, op: AluOp::Xor, dst: Reg::R2, src: Src::Reg(Reg::R2) }),
        XInsn {
            insn: Insn::Call(kbpf_isa::CallTarget::Helper(pull.id())),
            origin: None,
            call: Some(KernelCall::Symbol(pull.name())),
        },
        x(jmp(Width::W64, JmpCond::Eq, Reg::R0, 0, 2)),
        x(alu32(AluOp::Mov, Reg::R0, drop)),
        x(Insn::Exit),
        x(mov(Reg::R1, Reg::R6)),
    ])
}
