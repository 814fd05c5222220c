//! Shared helpers: instruction constructors and a runner.
#![allow(unsafe_code)]
#![allow(dead_code)]

use kbpf_isa::*;
use kbpf_jit::{Backend, JitFault, JitOptions};
use kbpf_jit_x86_64::X86_64;
use kbpf_kfunc::Registry;

pub fn alu64(op: AluOp, dst: Reg, src: Src) -> Insn {
    Insn::Alu { width: Width::W64, op, dst, src }
}
pub fn alu32(op: AluOp, dst: Reg, src: Src) -> Insn {
    Insn::Alu { width: Width::W32, op, dst, src }
}
pub fn mov(dst: Reg, imm: i32) -> Insn {
    alu64(AluOp::Mov, dst, Src::Imm(imm))
}
pub fn movr(dst: Reg, src: Reg) -> Insn {
    alu64(AluOp::Mov, dst, Src::Reg(src))
}
pub fn lddw(dst: Reg, v: u64) -> Insn {
    Insn::LdImm64 { dst, src: LdImm64Src::Imm, imm: v as u32 as i32, imm_hi: (v >> 32) as u32 as i32 }
}
pub fn ldx(size: Size, dst: Reg, src: Reg, off: i16) -> Insn {
    Insn::Load { size, signed: false, dst, src, off }
}
pub fn ldxs(size: Size, dst: Reg, src: Reg, off: i16) -> Insn {
    Insn::Load { size, signed: true, dst, src, off }
}
pub fn stx(size: Size, dst: Reg, off: i16, src: Reg) -> Insn {
    Insn::Store { size, dst, off, src: Src::Reg(src) }
}
pub fn st(size: Size, dst: Reg, off: i16, imm: i32) -> Insn {
    Insn::Store { size, dst, off, src: Src::Imm(imm) }
}
pub fn jmp(cond: JmpCond, dst: Reg, src: Src, off: i16) -> Insn {
    Insn::Jmp { width: Width::W64, cond, dst, src, off }
}
pub fn jmp32(cond: JmpCond, dst: Reg, src: Src, off: i16) -> Insn {
    Insn::Jmp { width: Width::W32, cond, dst, src, off }
}
pub fn call_local(rel: i32) -> Insn {
    Insn::Call(CallTarget::Local(rel))
}
pub const EXIT: Insn = Insn::Exit;

pub fn prog(insns: Vec<Insn>) -> Program {
    Program::new(insns).expect("valid program")
}

pub fn execute_with(insns: Vec<Insn>, reg: &Registry, mem: &mut [u8]) -> Result<u64, JitFault> {
    let p = prog(insns);
    // SAFETY: a trusted test program, run only on the inputs it was written for.
    let jp = unsafe { X86_64.compile_unverified(&p, reg, &JitOptions::default()) }.expect("compiles");
    jp.execute(mem)
}

pub fn run_with(insns: Vec<Insn>, reg: &Registry, mem: &mut [u8]) -> u64 {
    execute_with(insns, reg, mem).expect("no fault")
}

pub fn run(insns: Vec<Insn>) -> u64 {
    run_with(insns, &kbpf_kfunc::profiles::conformance(), &mut [])
}

pub fn run_mem(insns: Vec<Insn>, mem: &mut [u8]) -> u64 {
    run_with(insns, &kbpf_kfunc::profiles::conformance(), mem)
}
