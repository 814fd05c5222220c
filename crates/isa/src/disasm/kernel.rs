//! The kernel verifier's instruction text (`print_bpf_insn` without the `(code) ` prefix).
//!
//! Number formats follow the kernel's: ALU and store immediates in signed decimal, jump
//! immediates as unsigned 32-bit hex (`0x2a`, `0xfffffffb`, zero as `0x0`), memory offsets with
//! an explicit sign after a space (`(r10 -8)`), branch targets as `pc+N`/`pc-N`, 64-bit
//! constants as `0x...`.

use super::{Resolver, pseudo_ldimm64, reg_name};
use crate::helper_names::helper_name;
use crate::insn::{CallTarget, Insn, Src};
use crate::opcode::{AtomicOp, ByteOrder, LdImm64Src, Size, Width};
use crate::reg::Reg;

/// Memory operand `(rN +off)`.
fn mem(base: Reg, off: i16) -> String {
    format!("(r{} {off:+})", base.num())
}

/// `*(u64 *)` or `*(s8 *)` style cast, without the leading star.
fn cast(size: Size, signed: bool) -> String {
    format!("({} *)", if signed { size.c_signed() } else { size.c_unsigned() })
}

pub(super) fn format(insn: &Insn, resolver: &dyn Resolver) -> String {
    match *insn {
        Insn::Alu { width, op, dst, src } => {
            let w = width == Width::W64;
            let rhs = match src {
                Src::Reg(s) => reg_name(w, s),
                Src::Imm(i) => i.to_string(),
            };
            format!("{} {} {rhs}", reg_name(w, dst), op.operator())
        }
        Insn::Neg { width, dst } => {
            let d = reg_name(width == Width::W64, dst);
            format!("{d} = -{d}")
        }
        Insn::MovSx { width, dst, src, from_bits } => {
            let w = width == Width::W64;
            format!("{} = (s{from_bits}){}", reg_name(w, dst), reg_name(w, src))
        }
        Insn::AddrSpaceCast { dst, src, dst_as, src_as } => {
            format!("{dst} = addr_space_cast({src}, {dst_as}, {src_as})")
        }
        Insn::MovPercpu { dst, src } => format!("{dst} = &(void __percpu *)({src})"),
        Insn::Endian { order, bits, dst } => format!("{dst} = {}{bits} {dst}", endian_name(order)),
        Insn::Ja { off } => format!("goto pc{off:+}"),
        Insn::Gotol { imm } => format!("gotol pc{imm:+}"),
        Insn::MayGoto { off } => format!("may_goto pc{off:+}"),
        Insn::Jmp { width, cond, dst, src, off } => {
            let w = width == Width::W64;
            let rhs = match src {
                Src::Reg(s) => reg_name(w, s),
                Src::Imm(i) => format!("0x{:x}", i as u32),
            };
            format!("if {} {} {rhs} goto pc{off:+}", reg_name(w, dst), cond.operator())
        }
        Insn::Call(CallTarget::Helper(id)) => format!("call {}#{id}", helper_name(id).unwrap_or("unknown")),
        Insn::Call(CallTarget::Local(rel)) => format!("call pc{rel:+}"),
        Insn::Call(CallTarget::Kfunc { btf_id, off }) => match resolver.kfunc_name(btf_id, off) {
            Some(name) => format!("call {name}#{btf_id}"),
            None if off == 0 => format!("call kernel-function#{btf_id}"),
            None => format!("call kfunc:{btf_id}:{off}"),
        },
        Insn::Callx { reg } => format!("callx {reg}"),
        Insn::Exit => "exit".to_string(),
        Insn::LdImm64 { dst, src, imm, imm_hi } => {
            let rhs = resolver.ld_imm64(insn).unwrap_or_else(|| match src {
                LdImm64Src::Imm => format!("0x{:x}", Insn::imm64(imm, imm_hi)),
                _ => pseudo_ldimm64(src, imm, imm_hi).unwrap_or_default(),
            });
            format!("{dst} = {rhs}")
        }
        Insn::Load { size, signed, dst, src, off } => {
            format!("{dst} = *{}{}", cast(size, signed), mem(src, off))
        }
        Insn::Store { size, dst, off, src } => {
            let rhs = match src {
                Src::Reg(s) => s.to_string(),
                Src::Imm(i) => i.to_string(),
            };
            format!("*{}{} = {rhs}", cast(size, false), mem(dst, off))
        }
        Insn::StackArgStore { pos, src } => {
            let rhs = match src {
                Src::Reg(s) => s.to_string(),
                Src::Imm(i) => i.to_string(),
            };
            format!("*{}{} = {rhs}", cast(Size::DW, false), mem(Reg::PARAMS, pos.store_off()))
        }
        Insn::StackArgLoad { dst, pos } => {
            format!("{dst} = *{}{}", cast(Size::DW, false), mem(Reg::PARAMS, pos.load_off()))
        }
        Insn::Atomic { size, op, dst, src, off } => atomic(size, op, dst, src, off),
        Insn::LdAbs { size, imm } => format!("r0 = *{}skb[{imm}]", cast(size, false)),
        Insn::LdInd { size, src, imm } => format!("r0 = *{}skb[{src} + {imm}]", cast(size, false)),
    }
}

pub(super) fn endian_name(order: ByteOrder) -> &'static str {
    match order {
        ByteOrder::ToLe => "le",
        ByteOrder::ToBe => "be",
        ByteOrder::Swap => "bswap",
    }
}

/// Operator of the non-fetching read-modify-write atomics, shared with the LLVM printer.
pub(super) fn lock_operator(op: AtomicOp) -> Option<&'static str> {
    Some(match op {
        AtomicOp::Add => "+=",
        AtomicOp::Or => "|=",
        AtomicOp::And => "&=",
        AtomicOp::Xor => "^=",
        _ => return None,
    })
}

/// Name stem of the fetching read-modify-write atomics (`add` in `atomic_fetch_add`).
pub(super) fn fetch_name(op: AtomicOp) -> Option<&'static str> {
    Some(match op {
        AtomicOp::FetchAdd => "add",
        AtomicOp::FetchOr => "or",
        AtomicOp::FetchAnd => "and",
        AtomicOp::FetchXor => "xor",
        _ => return None,
    })
}

fn atomic(size: Size, op: AtomicOp, dst: Reg, src: Reg, off: i16) -> String {
    let ty = cast(size, false);
    let m = mem(dst, off);
    let w64 = if size == Size::DW { "64" } else { "" };
    match op {
        AtomicOp::Add | AtomicOp::Or | AtomicOp::And | AtomicOp::Xor => {
            format!("lock *{ty}{m} {} {src}", lock_operator(op).unwrap_or("?"))
        }
        AtomicOp::FetchAdd | AtomicOp::FetchOr | AtomicOp::FetchAnd | AtomicOp::FetchXor => {
            format!("{src} = atomic{w64}_fetch_{}({ty}{m}, {src})", fetch_name(op).unwrap_or("?"))
        }
        AtomicOp::Xchg => format!("{src} = atomic{w64}_xchg({ty}{m}, {src})"),
        AtomicOp::Cmpxchg => format!("r0 = atomic{w64}_cmpxchg({ty}{m}, r0, {src})"),
        // Load-acquire reads through src into dst.
        AtomicOp::LoadAcquire => format!("{dst} = load_acquire({ty}{})", mem(src, off)),
        AtomicOp::StoreRelease => format!("store_release({ty}{m}, {src})"),
    }
}
