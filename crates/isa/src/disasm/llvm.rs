//! LLVM 19's BPF instruction text (`llvm-mc -mcpu=v4`, `llvm-objdump`).
//!
//! Differences from the kernel's text: spaces around memory-offset signs (`(r10 - 8)`), signed
//! immediates everywhere (decimal, or `0x`/`-0x` hex), relative targets as `+N`, `ll` on 64-bit
//! constants, `w` registers for 32-bit and narrower loads, stores and atomics, and its own atomic
//! names (`xchg_64`, `cmpxchg32_32`).

use super::kernel::{endian_name, fetch_name, lock_operator};
use super::{pseudo_ldimm64, reg_name};
use crate::insn::{CallTarget, Insn, Src};
use crate::opcode::{AtomicOp, Size, Width};
use crate::reg::Reg;

/// A signed number in LLVM's style.
fn num(v: i64, hex: bool) -> String {
    match (hex, v < 0) {
        (false, _) => v.to_string(),
        (true, false) => format!("{v:#x}"),
        (true, true) => format!("-{:#x}", v.unsigned_abs()),
    }
}

/// A relative target `+N` / `-N`.
fn rel(v: i64, hex: bool) -> String {
    if v < 0 { num(v, hex) } else { format!("+{}", num(v, hex)) }
}

/// Address `r10 - 8` (no parentheses).
fn addr(base: Reg, off: i16, hex: bool) -> String {
    let sign = if off < 0 { '-' } else { '+' };
    format!("{base} {sign} {}", num((off as i64).abs(), hex))
}

fn cast(size: Size, signed: bool) -> String {
    format!("({} *)", if signed { size.c_signed() } else { size.c_unsigned() })
}

/// Whether LLVM (with alu32, implied by v3+) names the value register `w`.
fn narrow(size: Size) -> bool {
    size != Size::DW
}

pub(super) fn format(insn: &Insn, hex: bool) -> String {
    let n = |v: i64| num(v, hex);
    match *insn {
        Insn::Alu { width, op, dst, src } => {
            let w = width == Width::W64;
            let rhs = match src {
                Src::Reg(s) => reg_name(w, s),
                Src::Imm(i) => n(i as i64),
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
            format!("{dst} = addr_space_cast({src}, {}, {})", n(dst_as as i64), n(src_as as i64))
        }
        Insn::MovPercpu { dst, src } => format!("{dst} = &(void __percpu *)({src})"),
        Insn::Endian { order, bits, dst } => format!("{dst} = {}{bits} {dst}", endian_name(order)),
        Insn::Ja { off } => format!("goto {}", rel(off as i64, hex)),
        Insn::Gotol { imm } => format!("gotol {}", rel(imm as i64, hex)),
        Insn::MayGoto { off } => format!("may_goto {}", rel(off as i64, hex)),
        Insn::Jmp { width, cond, dst, src, off } => {
            let w = width == Width::W64;
            let rhs = match src {
                Src::Reg(s) => reg_name(w, s),
                Src::Imm(i) => n(i as i64),
            };
            format!("if {} {} {rhs} goto {}", reg_name(w, dst), cond.operator(), rel(off as i64, hex))
        }
        Insn::Call(CallTarget::Helper(id)) => format!("call {}", n(id as i64)),
        Insn::Call(CallTarget::Local(r)) => format!("call pc{}", rel(r as i64, hex)),
        Insn::Call(CallTarget::Kfunc { btf_id, off: 0 }) => format!("call kfunc:{btf_id}"),
        Insn::Call(CallTarget::Kfunc { btf_id, off }) => format!("call kfunc:{btf_id}:{off}"),
        Insn::Callx { reg } => format!("callx {reg}"),
        Insn::Exit => "exit".to_string(),
        Insn::LdImm64 { dst, src, imm, imm_hi } => match pseudo_ldimm64(src, imm, imm_hi) {
            None => format!("{dst} = {} ll", n(Insn::imm64(imm, imm_hi) as i64)),
            Some(_) if imm_hi == 0 => {
                format!("ld_pseudo\t{dst}, {}, {}", n(src as u8 as i64), n(imm as u32 as i64))
            }
            Some(text) => format!("{dst} = {text} ll"),
        },
        Insn::Load { size, signed, dst, src, off } => {
            let d = reg_name(signed || !narrow(size), dst);
            format!("{d} = *{}({})", cast(size, signed), addr(src, off, hex))
        }
        Insn::Store { size, dst, off, src } => {
            let rhs = match src {
                Src::Reg(s) => reg_name(!narrow(size), s),
                Src::Imm(i) => n(i as i64),
            };
            format!("*{}({}) = {rhs}", cast(size, false), addr(dst, off, hex))
        }
        Insn::StackArgStore { pos, src } => {
            let rhs = match src {
                Src::Reg(s) => reg_name(true, s),
                Src::Imm(i) => n(i as i64),
            };
            format!("*{}({}) = {rhs}", cast(Size::DW, false), addr(Reg::PARAMS, pos.store_off(), hex))
        }
        Insn::StackArgLoad { dst, pos } => {
            format!(
                "{} = *{}({})",
                reg_name(true, dst),
                cast(Size::DW, false),
                addr(Reg::PARAMS, pos.load_off(), hex)
            )
        }
        Insn::Atomic { size, op, dst, src, off } => atomic(size, op, dst, src, off, hex),
        Insn::LdAbs { size, imm } => format!("r0 = *{}skb[{}]", cast(size, false), n(imm as i64)),
        Insn::LdInd { size, src, imm: 0 } => format!("r0 = *{}skb[{src}]", cast(size, false)),
        Insn::LdInd { size, src, imm } => {
            format!("r0 = *{}skb[{src} + {}]", cast(size, false), n(imm as i64))
        }
    }
}

fn atomic(size: Size, op: AtomicOp, dst: Reg, src: Reg, off: i16, hex: bool) -> String {
    let wide = !narrow(size);
    let v = reg_name(wide, src);
    let ty = cast(size, false);
    let a = addr(dst, off, hex);
    match op {
        AtomicOp::Add | AtomicOp::Or | AtomicOp::And | AtomicOp::Xor => {
            format!("lock *{ty}({a}) {} {v}", lock_operator(op).unwrap_or("?"))
        }
        AtomicOp::FetchAdd | AtomicOp::FetchOr | AtomicOp::FetchAnd | AtomicOp::FetchXor => {
            format!("{v} = atomic_fetch_{}({ty}({a}), {v})", fetch_name(op).unwrap_or("?"))
        }
        AtomicOp::Xchg if wide => format!("{v} = xchg_64({a}, {v})"),
        AtomicOp::Xchg => format!("{v} = xchg32_32({a}, {v})"),
        AtomicOp::Cmpxchg if wide => format!("r0 = cmpxchg_64({a}, r0, {v})"),
        AtomicOp::Cmpxchg => format!("w0 = cmpxchg32_32({a}, w0, {v})"),
        // LLVM 20's spelling; load-acquire reads through src into dst.
        AtomicOp::LoadAcquire => {
            format!("{} = load_acquire({ty}({}))", reg_name(wide, dst), addr(src, off, hex))
        }
        AtomicOp::StoreRelease => format!("store_release({ty}({a}), {v})"),
    }
}
