//! Shared helpers for the interpreter's integration tests.
#![allow(dead_code)]

use kbpf_interp::{InterpError, Vm, VmOptions};
use kbpf_isa::{Insn, Program};
use kbpf_kfunc::{NativeFn, Registry};

/// Order-sensitive fold used by the test kfuncs and the stack-argument callees.
pub fn fold(args: &[u64]) -> u64 {
    args.iter().fold(0u64, |acc, &a| acc.wrapping_mul(31).wrapping_add(a))
}

extern "C" fn add5(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    a + b + c + d + e
}
extern "C" fn k6(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64) -> u64 {
    fold(&[a, b, c, d, e, f])
}
extern "C" fn k8(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64, g: u64, h: u64) -> u64 {
    fold(&[a, b, c, d, e, f, g, h])
}
#[allow(clippy::too_many_arguments)]
extern "C" fn k12(
    a: u64,
    b: u64,
    c: u64,
    d: u64,
    e: u64,
    f: u64,
    g: u64,
    h: u64,
    i: u64,
    j: u64,
    k: u64,
    l: u64,
) -> u64 {
    fold(&[a, b, c, d, e, f, g, h, i, j, k, l])
}

/// Helper 1 = `add5` (sum of r1..r5), helper 5 = identity on r1; kfuncs 1006, 1008, 1012 fold
/// 6, 8 and 12 arguments.
pub fn registry() -> Registry {
    let mut r = kbpf_kfunc::profiles::conformance();
    r.add_helper(1, "add5", NativeFn::A5(add5)).unwrap();
    r.add_kfunc(1006, "k6", NativeFn::A6(k6)).unwrap();
    r.add_kfunc(1008, "k8", NativeFn::A8(k8)).unwrap();
    r.add_kfunc(1012, "k12", NativeFn::A12(k12)).unwrap();
    r
}

/// Assembles the conformance dialect.
pub fn asm(src: &str) -> Vec<Insn> {
    kbpf_conformance::assemble_dialect(src).unwrap_or_else(|e| panic!("{e}\n{src}"))
}

pub fn vm_with(insns: Vec<Insn>, opts: VmOptions) -> Result<Vm, InterpError> {
    let p = Program::new(insns).expect("valid program");
    Vm::new(&p, &registry(), opts)
}

pub fn run_insns(insns: Vec<Insn>, mem: &mut [u8]) -> Result<u64, InterpError> {
    vm_with(insns, VmOptions::default())?.run(mem)
}

pub fn try_run(src: &str, mem: &mut [u8]) -> Result<u64, InterpError> {
    run_insns(asm(src), mem)
}

/// Runs with no input; panics on an error.
pub fn run(src: &str) -> u64 {
    try_run(src, &mut []).unwrap_or_else(|e| panic!("{e}\n{src}"))
}
