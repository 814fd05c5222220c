//! A 12-argument kfunc called from JITed BPF versus the same call made natively from Rust.
//! Both loop 100 calls so that the entry trampoline does not count.
#![allow(unsafe_code)]

use criterion::{Criterion, criterion_group, criterion_main};
use kbpf_isa::{AluOp, CallTarget, Insn, JmpCond, Program, Reg, Size, Src, Width};
use kbpf_jit::{Backend, JitOptions};
use kbpf_jit_x86_64::X86_64;
use kbpf_kfunc::{NativeFn, Registry};

const CALLS: i32 = 100;

#[allow(clippy::too_many_arguments)]
extern "C" fn sum12(
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
    a ^ b.wrapping_add(c) ^ d.wrapping_add(e) ^ f.wrapping_add(g) ^ h.wrapping_add(i) ^ j.wrapping_add(k) ^ l
}

fn mov(dst: Reg, imm: i32) -> Insn {
    Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src: Src::Imm(imm) }
}

fn program() -> Program {
    let mut v = vec![mov(Reg::R6, CALLS), mov(Reg::R7, 0)];
    let head = v.len();
    for r in 1..=5 {
        v.push(mov(Reg::GENERAL[r], r as i32));
    }
    for k in 1..=7i16 {
        v.push(Insn::Store { size: Size::DW, dst: Reg::R11, off: -8 * k, src: Src::Imm(5 + k as i32) });
    }
    v.push(Insn::Call(CallTarget::Kfunc { btf_id: 1, off: 0 }));
    v.push(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R7, src: Src::Reg(Reg::R0) });
    v.push(Insn::Alu { width: Width::W64, op: AluOp::Sub, dst: Reg::R6, src: Src::Imm(1) });
    let back = head as i16 - v.len() as i16 - 1;
    v.push(Insn::Jmp { width: Width::W64, cond: JmpCond::Ne, dst: Reg::R6, src: Src::Imm(0), off: back });
    v.push(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Src::Reg(Reg::R7) });
    v.push(Insn::Exit);
    Program::new(v).expect("valid")
}

fn bench(c: &mut Criterion) {
    let mut reg = Registry::new();
    reg.add_kfunc(1, "sum12", NativeFn::A12(sum12)).expect("fresh");
    // SAFETY: a trusted test program, run only on the inputs it was written for.
    let jp =
        unsafe { X86_64.compile_unverified(&program(), &reg, &JitOptions::default()) }.expect("compiles");
    let mut g = c.benchmark_group("kfunc12_x100");
    g.bench_function("jit", |b| b.iter(|| jp.run(std::hint::black_box(&mut []))));
    g.bench_function("native", |b| {
        b.iter(|| {
            let f = std::hint::black_box(
                sum12 as extern "C" fn(u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64, u64) -> u64,
            );
            let mut acc = 0u64;
            for _ in 0..CALLS {
                acc = acc.wrapping_add(f(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
            }
            acc
        })
    });
    g.finish();
    let want: u64 =
        (0..CALLS).map(|_| sum12(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)).fold(0, u64::wrapping_add);
    assert_eq!(jp.run(&mut []), want);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(2)).warm_up_time(std::time::Duration::from_millis(500));
    targets = bench
}
criterion_main!(benches);
