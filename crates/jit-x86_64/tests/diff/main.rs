//! Differential testing: the same program on the interpreter and the x86_64 JIT, comparing r0,
//! the input buffer afterwards, and the error. `KBPF_DIFF_COUNT` (default 20000) programs from
//! `KBPF_DIFF_SEED` (default 1).
#![allow(unsafe_code)]

mod generator;

use generator::{Gen, HELPER_BASE, KFUNC_BASE, MEM_LEN, Rng};
use kbpf_interp::{InterpError, Vm, VmOptions};
use kbpf_isa::{Insn, Program};
use kbpf_jit::{Backend, FaultKind, JitOptions};
use kbpf_jit_x86_64::X86_64;
use kbpf_kfunc::{NativeFn, Registry};

macro_rules! mix {
    ($($a:ident),*) => {{
        let mut h: u64 = 0x243f_6a88_85a3_08d3;
        let mut n = 0u64;
        $(
            n += 1;
            h = (h ^ $a.wrapping_mul(n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)).rotate_left(23);
        )*
        let _ = n;
        h
    }};
}

extern "C" fn f0() -> u64 {
    0x243f_6a88_85a3_08d3
}
extern "C" fn f1(a: u64) -> u64 {
    mix!(a)
}
extern "C" fn f2(a: u64, b: u64) -> u64 {
    mix!(a, b)
}
extern "C" fn f3(a: u64, b: u64, c: u64) -> u64 {
    mix!(a, b, c)
}
extern "C" fn f4(a: u64, b: u64, c: u64, d: u64) -> u64 {
    mix!(a, b, c, d)
}
extern "C" fn f5(a: u64, b: u64, c: u64, d: u64, e: u64) -> u64 {
    mix!(a, b, c, d, e)
}
extern "C" fn f6(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64) -> u64 {
    mix!(a, b, c, d, e, f)
}
extern "C" fn f7(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64, g: u64) -> u64 {
    mix!(a, b, c, d, e, f, g)
}
extern "C" fn f8(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64, g: u64, h: u64) -> u64 {
    mix!(a, b, c, d, e, f, g, h)
}
extern "C" fn f9(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64, g: u64, h: u64, i: u64) -> u64 {
    mix!(a, b, c, d, e, f, g, h, i)
}
extern "C" fn f10(a: u64, b: u64, c: u64, d: u64, e: u64, f: u64, g: u64, h: u64, i: u64, j: u64) -> u64 {
    mix!(a, b, c, d, e, f, g, h, i, j)
}
extern "C" fn f11(
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
) -> u64 {
    mix!(a, b, c, d, e, f, g, h, i, j, k)
}
#[allow(clippy::too_many_arguments)]
extern "C" fn f12(
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
    mix!(a, b, c, d, e, f, g, h, i, j, k, l)
}

fn registry() -> Registry {
    let fns = [
        NativeFn::A0(f0),
        NativeFn::A1(f1),
        NativeFn::A2(f2),
        NativeFn::A3(f3),
        NativeFn::A4(f4),
        NativeFn::A5(f5),
        NativeFn::A6(f6),
        NativeFn::A7(f7),
        NativeFn::A8(f8),
        NativeFn::A9(f9),
        NativeFn::A10(f10),
        NativeFn::A11(f11),
        NativeFn::A12(f12),
    ];
    let mut r = kbpf_kfunc::profiles::conformance();
    for (n, f) in fns.into_iter().enumerate() {
        if n <= 5 {
            r.add_helper(HELPER_BASE + n as i32, &format!("h{n}"), f).unwrap();
        }
        r.add_kfunc(KFUNC_BASE + n as i32, &format!("k{n}"), f).unwrap();
    }
    r
}

/// Outcome in engine-neutral terms: r0, or the kind of error and its pc.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    R0(u64),
    UnknownHelper(usize),
    Other(String),
}

/// Runs `insns` on both engines; `Err` describes the first difference.
fn diff(insns: &[Insn], reg: &Registry, mem: &[u8]) -> Result<(), String> {
    let prog = Program::new(insns.to_vec()).map_err(|e| format!("invalid program: {e}"))?;
    let mut m_i = mem.to_vec();
    let interp = match Vm::new(&prog, reg, VmOptions::default()).and_then(|vm| vm.run(&mut m_i)) {
        Ok(r0) => Outcome::R0(r0),
        Err(InterpError::UnknownHelper { pc, .. }) => Outcome::UnknownHelper(pc),
        Err(e) => Outcome::Other(e.to_string()),
    };
    let mut m_j = mem.to_vec();
    // SAFETY: a trusted test program, run only on the inputs it was written for.
    let jp = unsafe { X86_64.compile_unverified(&prog, reg, &JitOptions::default()) }
        .map_err(|e| format!("JIT compile: {e}"))?;
    let jit = match jp.execute(&mut m_j) {
        Ok(r0) => Outcome::R0(r0),
        // Both engines end the program with r0 = 0 on an out-of-bounds LD_ABS/LD_IND.
        Err(f) if f.kind == FaultKind::LdAbsOutOfBounds => Outcome::R0(0),
        Err(f) => Outcome::UnknownHelper(f.pc),
    };
    if interp != jit {
        return Err(format!("interp {interp:?} vs jit {jit:?}"));
    }
    if m_i != m_j {
        return Err(format!("memory differs:\n interp {m_i:02x?}\n jit    {m_j:02x?}"));
    }
    Ok(())
}

/// Asserts that the interpreter and the JIT agree on a program.
macro_rules! assert_same {
    ($insns:expr, $reg:expr, $mem:expr) => {
        if let Err(why) = diff(&$insns, $reg, $mem) {
            panic!("{why}\nprogram:\n{}", listing(&$insns));
        }
    };
}

fn listing(insns: &[Insn]) -> String {
    let mut pc = 0;
    let mut s = String::new();
    for i in insns {
        s += &format!("{pc:4}: {i:?}\n");
        pc += i.slots();
    }
    s
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn random_programs_agree() {
    let count = env("KBPF_DIFF_COUNT", 20_000);
    let seed = env("KBPF_DIFF_SEED", 1);
    let reg = registry();
    for n in 0..count {
        let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(n));
        let mut g = Gen::new(&mut rng);
        g.allow_errors = true;
        let insns = g.program();
        let mut mem = [0u8; MEM_LEN];
        for b in mem.iter_mut() {
            *b = rng.next() as u8;
        }
        if let Err(why) = diff(&insns, &reg, &mem) {
            panic!("program #{n} (seed {seed}): {why}\nprogram:\n{}", listing(&insns));
        }
    }
    eprintln!("{count} random programs agree");
}

#[test]
fn macro_checks_a_hand_written_program() {
    use kbpf_isa::{AluOp, Reg, Src, Width};
    let p = vec![
        Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Src::Imm(7) },
        Insn::Alu { width: Width::W32, op: AluOp::SDiv, dst: Reg::R0, src: Src::Imm(-2) },
        Insn::Exit,
    ];
    assert_same!(p, &registry(), &[]);
}
