//! Shared pieces of the execution tests: a runner for generated code and a small program
//! builder. Generated code only runs on aarch64 hosts (natively or under qemu-user).
#![allow(unsafe_code)]
#![allow(dead_code, unused_imports)]

use kbpf_isa::{AluOp, AtomicOp, CallTarget, Insn, JmpCond, LdImm64Src, Program, Reg, Size, Src, Width};
use kbpf_jit::{Backend, JitError, JitFault, JitOptions, JitProgram};
use kbpf_jit_arm64::{Arm64, AtomicsMode};
use kbpf_kfunc::Registry;

/// The backend with LSE atomics or LL/SC loops.
pub fn backend(lse: bool) -> Arm64 {
    Arm64::with_atomics(if lse { AtomicsMode::Lse } else { AtomicsMode::LlSc })
}

/// Compiles `insns` through the `Backend` trait.
pub fn jit(insns: &[Insn], reg: &Registry, lse: bool) -> Result<JitProgram, JitError> {
    let prog = Program::new(insns.to_vec()).expect("valid program");
    // SAFETY: a trusted test program, run only on the inputs it was written for.
    unsafe { backend(lse).compile_unverified(&prog, reg, &JitOptions::default()) }
}

/// Compiles and runs `insns` on `input`, with LSE atomics or LL/SC loops; faults are errors.
#[cfg(target_arch = "aarch64")]
pub fn execute_with(insns: &[Insn], reg: &Registry, lse: bool, input: &mut [u8]) -> Result<u64, JitFault> {
    jit(insns, reg, lse).expect("compiles").execute(input)
}

/// Compiles and runs `insns` on `input`; r0 (0 after a fault).
#[cfg(target_arch = "aarch64")]
pub fn run_with(insns: &[Insn], reg: &Registry, lse: bool, input: &mut [u8]) -> u64 {
    jit(insns, reg, lse).expect("compiles").run(input)
}

/// The atomics flavours this CPU can run: always LL/SC, plus LSE when the CPU has it.
pub fn flavours() -> Vec<bool> {
    let mut v = vec![false];
    if kbpf_jit_arm64::host_has_lse() {
        v.push(true);
    }
    v
}

/// Runs with every flavour and checks they agree; returns the result.
#[cfg(target_arch = "aarch64")]
pub fn run(insns: &[Insn], reg: &Registry, input: &mut [u8]) -> u64 {
    let orig = input.to_vec();
    let mut results = Vec::new();
    for lse in flavours() {
        input.copy_from_slice(&orig);
        results.push(run_with(insns, reg, lse, input));
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]), "LSE and LL/SC disagree: {results:x?}");
    results[0]
}

pub use Reg::*;

pub fn mov64(dst: Reg, imm: i32) -> Insn {
    Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src: Src::Imm(imm) }
}
pub fn movr(dst: Reg, src: Reg) -> Insn {
    Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src: Src::Reg(src) }
}
pub fn alu(width: Width, op: AluOp, dst: Reg, src: Src) -> Insn {
    Insn::Alu { width, op, dst, src }
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
pub fn atomic(size: Size, op: AtomicOp, dst: Reg, src: Reg, off: i16) -> Insn {
    Insn::Atomic { size, op, dst, src, off }
}
pub fn jmp(width: Width, cond: JmpCond, dst: Reg, src: Src, off: i16) -> Insn {
    Insn::Jmp { width, cond, dst, src, off }
}
pub fn ja(off: i16) -> Insn {
    Insn::Ja { off }
}
pub fn call_helper(id: i32) -> Insn {
    Insn::Call(CallTarget::Helper(id))
}
pub fn call_kfunc(btf_id: i32) -> Insn {
    Insn::Call(CallTarget::Kfunc { btf_id, off: 0 })
}
pub fn call_local(rel: i32) -> Insn {
    Insn::Call(CallTarget::Local(rel))
}
pub fn exit() -> Insn {
    Insn::Exit
}

/// Reference semantics of a binary ALU operation: the ISA's definition.
pub fn alu_ref(width: Width, op: AluOp, a: u64, b: u64) -> u64 {
    op.eval(width, a, b)
}

/// Interesting operands.
pub const VALUES: [u64; 12] = [
    0,
    1,
    2,
    7,
    63,
    0xffff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1234_5678_9abc_def0,
    0xffff_ffff_8000_0000,
];
