//! Differential testing: random straight-line-and-forward-branch programs run by the arm64 JIT
//! and by the interpreter must give the same r0 and leave the same input buffer. Programs are
//! generated so that both engines can run them without a verifier: all memory traffic goes to
//! eight pre-initialised stack slots or a 64-byte input buffer, jumps only go forward, and
//! r1..r5 are re-initialised after every call. One program in three also has a subprogram that
//! the main program calls with twelve arguments (seven stack arguments) and that reads them.
//!
//! 2,000 programs by default; `KBPF_DIFF_PROGRAMS=N` for more, `KBPF_DIFF_SEED` to vary them.
//! aarch64 only (natively or under qemu-user; see `qemu-test.sh`).
#![cfg(target_arch = "aarch64")]
#![allow(unsafe_code)]

mod common;

use common::*;
use kbpf_interp::{Vm, VmOptions};
use kbpf_isa::{AluOp, AtomicOp, ByteOrder, Insn, JmpCond, Program, Reg, Size, Src, Width};
use kbpf_jit::Backend;
use kbpf_kfunc::NativeFn;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn value(&mut self) -> u64 {
        match self.below(6) {
            0 => self.below(8),
            1 => self.pick(&[0, 1, u64::MAX, 0x8000_0000, 0xffff_ffff, 0x8000_0000_0000_0000, 0x7fff_ffff]),
            2 => self.next() as u32 as u64,
            3 => self.next() as i32 as i64 as u64,
            _ => self.next(),
        }
    }
    fn imm(&mut self) -> i32 {
        match self.below(4) {
            0 => self.below(70) as i32 - 4,
            1 => self.pick(&[0, 1, -1, i32::MIN, i32::MAX, 0xff, 0xfff, 0x1000, -4096]),
            _ => self.next() as i32,
        }
    }
}

/// Registers the body may overwrite (r9 holds the input pointer, r10 is the frame pointer).
const WRITABLE: [Reg; 9] = [Reg::R0, Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5, Reg::R6, Reg::R7, Reg::R8];
const READABLE: [Reg; 10] =
    [Reg::R0, Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5, Reg::R6, Reg::R7, Reg::R8, Reg::R9];

fn reinit_args(r: &mut Rng, out: &mut Vec<Insn>) {
    for reg in [R1, R2, R3, R4, R5] {
        out.push(lddw(reg, r.value()));
    }
}

/// One random body instruction (or a short group), appended to `out`; `left` is how many body
/// instructions follow, the room for forward jumps.
fn body_insn(r: &mut Rng, out: &mut Vec<Insn>, left: usize) {
    let width = if r.below(2) == 0 { Width::W64 } else { Width::W32 };
    let dst = r.pick(&WRITABLE);
    let sizes = [Size::B, Size::H, Size::W, Size::DW];
    match r.below(20) {
        0..=6 => {
            let op = r.pick(&AluOp::ALL);
            let src = if r.below(2) == 0 { Src::Reg(r.pick(&READABLE)) } else { Src::Imm(r.imm()) };
            out.push(alu(width, op, dst, src));
        }
        7 => out.push(Insn::Neg { width, dst }),
        8 => {
            let (w, bits) = r.pick(&[
                (Width::W64, 8),
                (Width::W64, 16),
                (Width::W64, 32),
                (Width::W32, 8),
                (Width::W32, 16),
            ]);
            out.push(Insn::MovSx { width: w, dst, src: r.pick(&READABLE), from_bits: bits });
        }
        9 => {
            let order = r.pick(&[ByteOrder::ToLe, ByteOrder::ToBe, ByteOrder::Swap]);
            out.push(Insn::Endian { order, bits: r.pick(&[16, 32, 64]), dst });
        }
        10 => out.push(lddw(dst, r.value())),
        11 | 12 => {
            // Stack slot k (aligned to the access size inside it) or the input buffer.
            let size = r.pick(&sizes);
            let (base, off) = if r.below(2) == 0 {
                let slot = r.below(8) as i16;
                let inner = (r.below(8 / size.bytes() as u64) as i16) * size.bytes() as i16;
                (R10, -8 * (slot + 1) + inner)
            } else {
                (R9, (r.below(64 / size.bytes() as u64) * size.bytes() as u64) as i16)
            };
            match r.below(4) {
                0 => out.push(Insn::Load {
                    size,
                    signed: size != Size::DW && r.below(2) == 0,
                    dst,
                    src: base,
                    off,
                }),
                1 => out.push(st(size, base, off, r.imm())),
                _ => out.push(stx(size, base, off, r.pick(&READABLE))),
            }
        }
        13 => {
            let size = r.pick(&[Size::W, Size::DW]);
            let op = r.pick(&AtomicOp::ALL[..10]);
            let (base, off) = if r.below(2) == 0 {
                (R10, -8 * (r.below(8) as i16 + 1) + if size == Size::W { 4 * r.below(2) as i16 } else { 0 })
            } else {
                (R9, (r.below(64 / size.bytes() as u64) * size.bytes() as u64) as i16)
            };
            // The value register must be writable for fetching forms.
            out.push(atomic(size, op, base, r.pick(&WRITABLE), off));
        }
        14 => {
            let size = r.pick(&sizes);
            let (base, off) = if r.below(2) == 0 {
                (R10, -8 * (r.below(8) as i16 + 1))
            } else {
                (R9, (r.below(64 / size.bytes() as u64) * size.bytes() as u64) as i16)
            };
            let off = off - off % size.bytes() as i16;
            if r.below(2) == 0 {
                out.push(atomic(size, AtomicOp::LoadAcquire, dst, base, off));
            } else {
                out.push(atomic(size, AtomicOp::StoreRelease, base, r.pick(&READABLE), off));
            }
        }
        15 | 16 if left > 0 => {
            let cond = r.pick(&JmpCond::ALL);
            let src = if r.below(2) == 0 { Src::Reg(r.pick(&READABLE)) } else { Src::Imm(r.imm()) };
            let off = r.below(left.min(12) as u64 + 1) as i16;
            out.push(jmp(width, cond, r.pick(&READABLE), src, off));
        }
        17 => {
            // Helpers of the conformance profile, directly or through callx.
            let id = r.pick(&[0i32, 2, 3, 5]);
            if r.below(2) == 0 {
                out.push(call_helper(id));
            } else {
                out.push(mov64(R6, id));
                out.push(Insn::Callx { reg: R6 });
            }
            reinit_args(r, out);
        }
        18 => {
            // A 12-argument kfunc with stack arguments from registers and immediates.
            for k in 1..=7i16 {
                if r.below(2) == 0 {
                    out.push(stx(Size::DW, R11, -8 * k, r.pick(&READABLE)));
                } else {
                    out.push(st(Size::DW, R11, -8 * k, r.imm()));
                }
            }
            out.push(call_kfunc(100));
            reinit_args(r, out);
        }
        _ => {
            // Legacy packet loads, mostly in bounds (out of bounds ends the run with 0).
            let size = r.pick(&[Size::B, Size::H, Size::W]);
            let imm = if r.below(8) == 0 { r.below(80) as i32 - 8 } else { r.below(60) as i32 };
            match r.below(6) {
                0 | 1 => out.push(Insn::LdAbs { size, imm }),
                2..=4 => {
                    out.push(mov64(R6, r.below(30) as i32));
                    out.push(Insn::LdInd { size, src: R6, imm: imm / 2 });
                }
                _ => out.push(Insn::LdInd { size, src: r.pick(&READABLE), imm }),
            }
        }
    }
}

/// Placeholder offset of a call to the subprogram, fixed once the layout is known.
const CALL_SUB: i32 = i32::MIN;

/// One function: initialisation, a random body, a fold of every register and stack slot into
/// r0, exit. The subprogram (`sub`) takes the input pointer in r5 and reads incoming stack
/// arguments; the main program may call it (`calls_sub`) with all seven slots written.
fn function(r: &mut Rng, sub: bool, calls_sub: bool) -> Vec<Insn> {
    let mut p = vec![movr(R9, if sub { R5 } else { R1 })];
    let init: &[Reg] = if sub { &[R0, R5, R6, R7, R8] } else { &[R0, R1, R2, R3, R4, R5, R6, R7, R8] };
    for &reg in init {
        p.push(lddw(reg, r.value()));
    }
    for k in 1..=8i16 {
        p.push(lddw(R6, r.value()));
        p.push(stx(Size::DW, R10, -8 * k, R6));
    }
    p.push(lddw(R6, r.value()));
    let n = 5 + r.below(if sub { 20 } else { 40 }) as usize;
    let mut groups: Vec<Vec<Insn>> = Vec::new();
    for i in 0..n {
        let mut g = Vec::new();
        match r.below(12) {
            0 if sub => g.push(ldx(Size::DW, r.pick(&WRITABLE), R11, 8 * (1 + r.below(7) as i16))),
            0 if calls_sub => {
                for k in 1..=7i16 {
                    if r.below(2) == 0 {
                        g.push(stx(Size::DW, R11, -8 * k, r.pick(&READABLE)));
                    } else {
                        g.push(st(Size::DW, R11, -8 * k, r.imm()));
                    }
                }
                g.push(movr(R5, R9));
                g.push(call_local(CALL_SUB));
                reinit_args(r, &mut g);
            }
            _ => body_insn(r, &mut g, n - i - 1),
        }
        groups.push(g);
    }
    // Jumps were generated as "skip k groups"; turn that into slot offsets.
    let slots = |g: &[Insn]| g.iter().map(Insn::slots).sum::<usize>();
    for i in 0..groups.len() {
        if let Some(&Insn::Jmp { off: skip, .. }) = groups[i].last() {
            let slot_off =
                groups[i + 1..i + 1 + skip as usize].iter().map(|g| slots(g)).sum::<usize>() as i16;
            if let Some(Insn::Jmp { off, .. }) = groups[i].last_mut() {
                *off = slot_off;
            }
        }
    }
    p.extend(groups.into_iter().flatten());
    for reg in [R1, R2, R3, R4, R5, R6, R7, R8, R9] {
        p.push(alu(Width::W64, AluOp::Mul, R0, Src::Imm(31)));
        p.push(alu(Width::W64, AluOp::Xor, R0, Src::Reg(reg)));
    }
    for k in 1..=8i16 {
        p.push(ldx(Size::DW, R1, R10, -8 * k));
        p.push(alu(Width::W64, AluOp::Mul, R0, Src::Imm(31)));
        p.push(alu(Width::W64, AluOp::Xor, R0, Src::Reg(R1)));
    }
    p.push(exit());
    p
}

/// A main program, and in one case out of three a subprogram it calls with 12 arguments.
fn program(r: &mut Rng) -> Vec<Insn> {
    let with_sub = r.below(3) == 0;
    let mut p = function(r, false, with_sub);
    if with_sub {
        let start: usize = p.iter().map(Insn::slots).sum();
        p.extend(function(r, true, false));
        let mut pc = 0usize;
        for insn in &mut p {
            if *insn == call_local(CALL_SUB) {
                *insn = call_local(start as i32 - pc as i32 - 1);
            }
            pc += insn.slots();
        }
    }
    p
}

#[allow(clippy::too_many_arguments)]
extern "C" fn mix12(
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
    [a, b, c, d, e, f, g, h, i, j, k, l].iter().fold(0u64, |acc, &v| acc.rotate_left(7) ^ v)
}

#[test]
fn jit_matches_interpreter_on_random_programs() {
    let mut reg = kbpf_kfunc::profiles::conformance();
    reg.add_kfunc(100, "mix12", NativeFn::A12(mix12)).expect("fresh id");
    let n: usize = std::env::var("KBPF_DIFF_PROGRAMS").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    let seed: u64 = std::env::var("KBPF_DIFF_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed);
    let mut r = Rng(seed | 1);
    let flavours = flavours();
    let (mut mismatches, mut faults, mut with_calls) = (Vec::new(), 0, 0);
    for i in 0..n {
        let insns = program(&mut r);
        let prog = Program::new(insns.clone()).expect("generated programs are well formed");
        with_calls += insns.iter().any(|i| matches!(i, Insn::Call(kbpf_isa::CallTarget::Local(_)))) as usize;
        // One buffer for both engines, so that r9 (its address) agrees.
        let input: Vec<u8> = (0..64).map(|_| r.next() as u8).collect();
        let mut buf = input.clone();
        let want = Vm::new(&prog, &reg, VmOptions::default()).expect("vm").run(&mut buf);
        let m_int = buf.clone();
        let want = match want {
            Ok(v) => v,
            Err(e) => panic!("program {i}: interpreter error {e}"),
        };
        for &lse in &flavours {
            buf.copy_from_slice(&input);
            // SAFETY: a trusted test program, run only on the inputs it was written for.
            let jp = unsafe { backend(lse).compile_unverified(&prog, &reg, &Default::default()) }
                .expect("compiles");
            let got = jp.execute(&mut buf);
            let m_jit = &buf;
            faults += got.is_err() as usize;
            let got = got.unwrap_or(0);
            if got != want || *m_jit != m_int {
                mismatches
                    .push(format!("program {i} lse={lse}: jit {got:#x}, interpreter {want:#x}\n{insns:?}"));
            }
        }
    }
    eprintln!(
        "differential: {n} programs ({with_calls} with bpf-to-bpf calls) x {} atomics flavours, {} mismatches \
         ({faults} runs ended in a fault)",
        flavours.len(),
        mismatches.len()
    );
    assert!(mismatches.is_empty(), "{}", mismatches.iter().take(3).cloned().collect::<Vec<_>>().join("\n\n"));
}
