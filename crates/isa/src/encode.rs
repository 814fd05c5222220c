//! [`Insn`] to raw slots: the exact inverse of [`crate::decode`].

use crate::insn::{CallTarget, Insn, RawInsn, Src};
use crate::opcode::bits::*;
use crate::opcode::{AluOp, ByteOrder, Class, Mode, Size, Width};
use crate::reg::Reg;

fn alu_class(w: Width) -> u8 {
    match w {
        Width::W32 => Class::Alu as u8,
        Width::W64 => Class::Alu64 as u8,
    }
}

fn jmp_class(w: Width) -> u8 {
    match w {
        Width::W32 => Class::Jmp32 as u8,
        Width::W64 => Class::Jmp as u8,
    }
}

impl Insn {
    /// Encodes into one or two raw slots (pushed onto `out`).
    pub fn encode_into(&self, out: &mut Vec<RawInsn>) {
        let r = RawInsn::new;
        let jmp = Class::Jmp as u8;
        let one = match *self {
            Insn::Alu { width, op, dst, src } => {
                let base = alu_class(width) | op.code();
                match src {
                    Src::Reg(s) => r(base | BPF_X, dst.num(), s.num(), op.off(), 0),
                    Src::Imm(i) => r(base | BPF_K, dst.num(), 0, op.off(), i),
                }
            }
            Insn::Neg { width, dst } => r(alu_class(width) | ALU_NEG, dst.num(), 0, 0, 0),
            Insn::MovSx { width, dst, src, from_bits } => {
                r(alu_class(width) | AluOp::Mov.code() | BPF_X, dst.num(), src.num(), from_bits as i16, 0)
            }
            Insn::AddrSpaceCast { dst, src, dst_as, src_as } => r(
                Class::Alu64 as u8 | AluOp::Mov.code() | BPF_X,
                dst.num(),
                src.num(),
                1,
                ((dst_as as u32) << 16 | src_as as u32) as i32,
            ),
            Insn::MovPercpu { dst, src } => {
                r(Class::Alu64 as u8 | AluOp::Mov.code() | BPF_X, dst.num(), src.num(), -1, 0)
            }
            Insn::Endian { order, bits, dst } => {
                let code = match order {
                    ByteOrder::ToLe => Class::Alu as u8 | ALU_END | BPF_K,
                    ByteOrder::ToBe => Class::Alu as u8 | ALU_END | BPF_X,
                    ByteOrder::Swap => Class::Alu64 as u8 | ALU_END | BPF_K,
                };
                r(code, dst.num(), 0, 0, bits as i32)
            }
            Insn::Ja { off } => r(jmp | JMP_JA, 0, 0, off, 0),
            Insn::Gotol { imm } => r(Class::Jmp32 as u8 | JMP_JA, 0, 0, 0, imm),
            Insn::MayGoto { off } => r(jmp | JMP_JCOND, 0, 0, off, 0),
            Insn::Jmp { width, cond, dst, src, off } => {
                let base = jmp_class(width) | cond.code();
                match src {
                    Src::Reg(s) => r(base | BPF_X, dst.num(), s.num(), off, 0),
                    Src::Imm(i) => r(base | BPF_K, dst.num(), 0, off, i),
                }
            }
            Insn::Call(t) => match t {
                CallTarget::Helper(id) => r(jmp | JMP_CALL, 0, 0, 0, id),
                CallTarget::Local(rel) => r(jmp | JMP_CALL, 0, 1, 0, rel),
                CallTarget::Kfunc { btf_id, off } => r(jmp | JMP_CALL, 0, 2, off, btf_id),
            },
            Insn::Callx { reg } => r(jmp | JMP_CALL | BPF_X, reg.num(), 0, 0, 0),
            Insn::Exit => r(jmp | JMP_EXIT, 0, 0, 0, 0),
            Insn::LdImm64 { dst, src, imm, imm_hi } => {
                out.push(r(Class::Ld as u8 | Mode::Imm as u8 | Size::DW as u8, dst.num(), src as u8, 0, imm));
                r(0, 0, 0, 0, imm_hi)
            }
            Insn::Load { size, signed, dst, src, off } => {
                let mode = if signed { Mode::MemSx } else { Mode::Mem };
                r(Class::Ldx as u8 | mode as u8 | size as u8, dst.num(), src.num(), off, 0)
            }
            Insn::Store { size, dst, off, src } => match src {
                Src::Reg(s) => r(Class::Stx as u8 | Mode::Mem as u8 | size as u8, dst.num(), s.num(), off, 0),
                Src::Imm(i) => r(Class::St as u8 | Mode::Mem as u8 | size as u8, dst.num(), 0, off, i),
            },
            Insn::StackArgStore { pos, src } => {
                let params = Reg::PARAMS.num();
                match src {
                    Src::Reg(s) => r(
                        Class::Stx as u8 | Mode::Mem as u8 | Size::DW as u8,
                        params,
                        s.num(),
                        pos.store_off(),
                        0,
                    ),
                    Src::Imm(i) => {
                        r(Class::St as u8 | Mode::Mem as u8 | Size::DW as u8, params, 0, pos.store_off(), i)
                    }
                }
            }
            Insn::StackArgLoad { dst, pos } => r(
                Class::Ldx as u8 | Mode::Mem as u8 | Size::DW as u8,
                dst.num(),
                Reg::PARAMS.num(),
                pos.load_off(),
                0,
            ),
            Insn::Atomic { size, op, dst, src, off } => {
                r(Class::Stx as u8 | Mode::Atomic as u8 | size as u8, dst.num(), src.num(), off, op.imm())
            }
            Insn::LdAbs { size, imm } => r(Class::Ld as u8 | Mode::Abs as u8 | size as u8, 0, 0, 0, imm),
            Insn::LdInd { size, src, imm } => {
                r(Class::Ld as u8 | Mode::Ind as u8 | size as u8, 0, src.num(), 0, imm)
            }
        };
        out.push(one);
    }

    /// Opcode byte of the first slot (what the verifier log prints as `(bf)`).
    pub fn opcode(&self) -> u8 {
        let mut v = Vec::with_capacity(2);
        self.encode_into(&mut v);
        v.first().map_or(0, |s| s.code)
    }

    /// Encodes into raw slots.
    pub fn encode(&self) -> Vec<RawInsn> {
        let mut v = Vec::with_capacity(2);
        self.encode_into(&mut v);
        v
    }
}

/// Encodes a sequence into little-endian bytes.
pub fn encode_bytes(insns: &[Insn]) -> Vec<u8> {
    let mut slots = Vec::with_capacity(insns.len() + 1);
    for i in insns {
        i.encode_into(&mut slots);
    }
    slots.iter().flat_map(|s| s.to_bytes()).collect()
}
