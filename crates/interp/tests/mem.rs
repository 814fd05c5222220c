//! Loads, stores, atomics, legacy packet loads and the bounds checks around them.

mod common;
use common::{asm, run, run_insns, try_run};
use kbpf_interp::InterpError;
use kbpf_isa::{AtomicOp, Insn, Reg, Size};

#[test]
fn stack_stores_and_loads() {
    assert_eq!(run("stdw [%r10-8], 0x11223344\nldxdw %r0, [%r10-8]\nexit"), 0x1122_3344);
    assert_eq!(run("stdw [%r10-8], -1\nldxdw %r0, [%r10-8]\nexit"), u64::MAX);
    assert_eq!(run("stw [%r10-4], -1\nldxw %r0, [%r10-4]\nexit"), 0xffff_ffff);
    assert_eq!(run("sth [%r10-2], 0x1234\nldxh %r0, [%r10-2]\nexit"), 0x1234);
    assert_eq!(run("stb [%r10-1], 0x1ff\nldxb %r0, [%r10-1]\nexit"), 0xff);
    let v = "lddw %r1, 0x8877665544332211\n";
    assert_eq!(run(&format!("{v}stxdw [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit")), 0x8877_6655_4433_2211);
    assert_eq!(run(&format!("{v}stxw [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit")), 0x4433_2211);
    assert_eq!(run(&format!("{v}stxh [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit")), 0x2211);
    assert_eq!(run(&format!("{v}stxb [%r10-8], %r1\nldxb %r0, [%r10-8]\nexit")), 0x11);
    // Little-endian layout.
    assert_eq!(run(&format!("{v}stxdw [%r10-8], %r1\nldxh %r0, [%r10-6]\nexit")), 0x4433);
    // The whole 512-byte frame is usable.
    assert_eq!(run("stdw [%r10-512], 7\nldxdw %r0, [%r10-512]\nexit"), 7);
}

#[test]
fn input_buffer() {
    let mut mem = [0x11, 0x22, 0x33, 0x44, 0x80, 0x80, 0x00, 0x80];
    assert_eq!(try_run("ldxh %r0, [%r1+2]\nexit", &mut mem), Ok(0x4433));
    assert_eq!(try_run("ldxdw %r0, [%r1]\nexit", &mut mem), Ok(0x8000_8080_4433_2211));
    assert_eq!(try_run("ldxsb %r0, [%r1+4]\nexit", &mut mem), Ok(0xffff_ffff_ffff_ff80));
    assert_eq!(try_run("ldxsh %r0, [%r1+4]\nexit", &mut mem), Ok(0xffff_ffff_ffff_8080));
    assert_eq!(try_run("ldxsw %r0, [%r1+4]\nexit", &mut mem), Ok(0xffff_ffff_8000_8080));
    assert_eq!(try_run("ldxsb %r0, [%r1]\nexit", &mut mem), Ok(0x11));
    assert_eq!(try_run("mov %r0, %r2\nexit", &mut mem), Ok(8));
    assert_eq!(try_run("stw [%r1+4], 0x55\nmov %r0, 0\nexit", &mut mem), Ok(0));
    assert_eq!(mem[4..], [0x55, 0, 0, 0]);
    let base = mem.as_ptr() as u64;
    assert_eq!(try_run("mov %r0, %r1\nexit", &mut mem), Ok(base));
}

#[test]
fn empty_input_is_null() {
    assert_eq!(run("mov %r0, %r1\nadd %r0, %r2\nexit"), 0);
    let e = try_run("ldxb %r0, [%r1]\nexit", &mut []).unwrap_err();
    assert_eq!(e, InterpError::MemoryAccess { pc: 0, addr: 0, size: 1 });
}

#[test]
fn out_of_bounds_is_an_error_with_pc() {
    let mut mem = [0u8; 8];
    let base = mem.as_ptr() as u64;
    let e = try_run("mov %r0, 0\nldxdw %r0, [%r1+4]\nexit", &mut mem).unwrap_err();
    assert_eq!(e, InterpError::MemoryAccess { pc: 1, addr: base + 4, size: 8 });
    assert_eq!(e.to_string(), format!("insn 1: invalid memory access of 8 bytes at {:#x}", base + 4));
    // Stores too, and the pc counts lddw as two slots.
    let e = try_run("lddw %r3, 1\nstxw [%r1+5], %r3\nexit", &mut mem).unwrap_err();
    assert_eq!(e, InterpError::MemoryAccess { pc: 2, addr: base + 5, size: 4 });
    assert!(try_run("ldxb %r0, [%r1-1]\nexit", &mut mem).is_err());
    assert_eq!(try_run("ldxb %r0, [%r1+7]\nexit", &mut mem), Ok(0));
    // Below the stack, and at r10 itself (the first byte above the frame).
    assert!(matches!(
        run_err("ldxdw %r0, [%r10-520]\nexit"),
        InterpError::MemoryAccess { pc: 0, size: 8, .. }
    ));
    assert!(matches!(run_err("stdw [%r10+0], 1\nexit"), InterpError::MemoryAccess { pc: 0, size: 8, .. }));
    assert!(matches!(run_err("ldxb %r0, [%r10+0]\nexit"), InterpError::MemoryAccess { .. }));
    // A wild pointer.
    assert!(matches!(
        run_err("lddw %r1, 0x1000\nldxb %r0, [%r1]\nexit"),
        InterpError::MemoryAccess { addr: 0x1000, .. }
    ));
}

fn run_err(src: &str) -> InterpError {
    try_run(src, &mut []).unwrap_err()
}

#[test]
fn frames_and_dead_stacks() {
    // A callee may use its caller's stack through a pointer.
    let ok = "stdw [%r10-8], 42\nmov %r1, %r10\nadd %r1, -8\ncall local f\nexit\nf:\nldxdw %r0, [%r1]\nstdw [%r10-8], 1\nexit";
    assert_eq!(run(ok), 42);
    // Once the callee returned, its stack is dead.
    let dead = "call local f\nldxdw %r0, [%r0]\nexit\nf:\nstdw [%r10-8], 1\nmov %r0, %r10\nadd %r0, -8\nexit";
    assert!(matches!(run_err(dead), InterpError::MemoryAccess { pc: 1, size: 8, .. }));
    // An access may not straddle two frames.
    let straddle = "call local f\nexit\nf:\nldxdw %r0, [%r10-516]\nexit";
    assert!(matches!(run_err(straddle), InterpError::MemoryAccess { pc: 2, .. }));
    // Each frame has its own r10 and 512 bytes.
    let own = "stdw [%r10-8], 5\ncall local f\nldxdw %r1, [%r10-8]\nadd %r0, %r1\nexit\nf:\nstdw [%r10-8], 7\nldxdw %r0, [%r10-8]\nexit";
    assert_eq!(run(own), 12);
}

#[test]
fn atomics_64() {
    let pre = "stdw [%r10-8], 10\nmov %r1, 3\n";
    let load = "ldxdw %r0, [%r10-8]\nexit";
    assert_eq!(run(&format!("{pre}lock add [%r10-8], %r1\n{load}")), 13);
    assert_eq!(run(&format!("{pre}lock or [%r10-8], %r1\n{load}")), 11);
    assert_eq!(run(&format!("{pre}lock and [%r10-8], %r1\n{load}")), 2);
    assert_eq!(run(&format!("{pre}lock xor [%r10-8], %r1\n{load}")), 9);
    assert_eq!(run(&format!("{pre}lock add [%r10-8], %r1\nmov %r0, %r1\nexit")), 3);
    assert_eq!(run(&format!("{pre}lock fetch add [%r10-8], %r1\nmov %r0, %r1\nexit")), 10);
    assert_eq!(
        run(&format!(
            "{pre}lock fetch xor [%r10-8], %r1\nldxdw %r0, [%r10-8]\nmul %r0, 100\nadd %r0, %r1\nexit"
        )),
        910
    );
    assert_eq!(
        run(&format!("{pre}lock xchg [%r10-8], %r1\nldxdw %r0, [%r10-8]\nmul %r0, 100\nadd %r0, %r1\nexit")),
        310
    );
    // cmpxchg: success stores src and returns the old value in r0; failure only loads.
    assert_eq!(
        run(&format!(
            "{pre}mov %r0, 10\nlock cmpxchg [%r10-8], %r1\nldxdw %r2, [%r10-8]\nmul %r0, 100\nadd %r0, %r2\nexit"
        )),
        1003
    );
    assert_eq!(
        run(&format!(
            "{pre}mov %r0, 11\nlock cmpxchg [%r10-8], %r1\nldxdw %r2, [%r10-8]\nmul %r0, 100\nadd %r0, %r2\nexit"
        )),
        1010
    );
}

#[test]
fn atomics_32_zero_extend() {
    let pre = "stdw [%r10-8], -1\nmov %r1, 1\n";
    // The fetched old value is the zero-extended 32-bit word; the upper word is untouched.
    assert_eq!(run(&format!("{pre}lock fetch add32 [%r10-8], %r1\nmov %r0, %r1\nexit")), 0xffff_ffff);
    assert_eq!(
        run(&format!("{pre}lock fetch add32 [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit")),
        0xffff_ffff_0000_0000
    );
    assert_eq!(run(&format!("{pre}lock xchg32 [%r10-8], %r1\nmov %r0, %r1\nexit")), 0xffff_ffff);
    // cmpxchg32 compares the low half of r0 and zero-extends the result into r0.
    let c = "stw [%r10-4], 5\nlddw %r0, 0xff00000005\nmov %r1, 9\nlock cmpxchg32 [%r10-4], %r1\nldxw %r2, [%r10-4]\nmul %r0, 100\nadd %r0, %r2\nexit";
    assert_eq!(run(c), 509);
    let f = "stw [%r10-4], -1\nmov %r0, 0\nmov %r1, 9\nlock cmpxchg32 [%r10-4], %r1\nexit";
    assert_eq!(run(f), 0xffff_ffff);
}

#[test]
fn atomic_out_of_bounds() {
    let e = run_err("mov %r1, 1\nlock add [%r10+0], %r1\nexit");
    assert!(matches!(e, InterpError::MemoryAccess { pc: 1, size: 8, .. }), "{e}");
}

#[test]
fn load_acquire_store_release() {
    let mut p = asm("lddw %r1, 0x8877665544332211\nja +0\nja +0\nexit");
    // store_release((u16 *)(r10 - 2), r1); r0 = load_acquire((u16 *)(r10 - 2))
    p[1] = Insn::Atomic { size: Size::H, op: AtomicOp::StoreRelease, dst: Reg::R10, src: Reg::R1, off: -2 };
    p[2] = Insn::Atomic { size: Size::H, op: AtomicOp::LoadAcquire, dst: Reg::R0, src: Reg::R10, off: -2 };
    assert_eq!(run_insns(p.clone(), &mut []), Ok(0x2211));
    for (size, want) in [(Size::B, 0x11), (Size::W, 0x4433_2211), (Size::DW, 0x8877_6655_4433_2211)] {
        p[1] = Insn::Atomic { size, op: AtomicOp::StoreRelease, dst: Reg::R10, src: Reg::R1, off: -8 };
        p[2] = Insn::Atomic { size, op: AtomicOp::LoadAcquire, dst: Reg::R0, src: Reg::R10, off: -8 };
        assert_eq!(run_insns(p.clone(), &mut []), Ok(want));
    }
    p[2] = Insn::Atomic { size: Size::W, op: AtomicOp::LoadAcquire, dst: Reg::R0, src: Reg::R10, off: 0 };
    assert!(matches!(run_insns(p, &mut []), Err(InterpError::MemoryAccess { pc: 3, size: 4, .. })));
}

#[test]
fn legacy_packet_loads() {
    let mut pkt = [0x11, 0x22, 0x33, 0x44, 0x55];
    let prog = |ld: Insn| {
        let mut p = asm("mov %r0, 5\nmov %r3, 1\nja +0\nadd %r0, 0x100\nexit");
        p[2] = ld;
        p
    };
    assert_eq!(run_insns(prog(Insn::LdAbs { size: Size::H, imm: 2 }), &mut pkt), Ok(0x3344 + 0x100));
    assert_eq!(run_insns(prog(Insn::LdAbs { size: Size::B, imm: 4 }), &mut pkt), Ok(0x55 + 0x100));
    assert_eq!(run_insns(prog(Insn::LdAbs { size: Size::W, imm: 1 }), &mut pkt), Ok(0x2233_4455 + 0x100));
    assert_eq!(
        run_insns(prog(Insn::LdInd { size: Size::W, src: Reg::R3, imm: -1 }), &mut pkt),
        Ok(0x1122_3344 + 0x100)
    );
    // Out of bounds (past the end, or a negative offset): the program ends with r0 = 0.
    assert_eq!(run_insns(prog(Insn::LdAbs { size: Size::W, imm: 2 }), &mut pkt), Ok(0));
    assert_eq!(run_insns(prog(Insn::LdInd { size: Size::B, src: Reg::R3, imm: -2 }), &mut pkt), Ok(0));
    assert_eq!(run_insns(prog(Insn::LdAbs { size: Size::B, imm: 0 }), &mut []), Ok(0));
}

#[test]
fn runs_are_independent() {
    let vm = common::vm_with(asm("ldxdw %r0, [%r10-8]\nstdw [%r10-8], 9\nexit"), Default::default()).unwrap();
    assert_eq!(vm.run(&mut []), Ok(0));
    assert_eq!(vm.run(&mut []), Ok(0));
}

#[test]
fn every_run_starts_on_zeroed_stacks() {
    // Reads frame 0's and a callee's stack before writing them; the stack memory is reused
    // between runs on a thread, so the second run must still see zeros.
    let src = "ldxdw %r6, [%r10-8]\nstdw [%r10-8], 5\ncall local f\nadd %r0, %r6\nexit\n\
               f:\nldxdw %r0, [%r10-504]\nstdw [%r10-504], 9\nexit";
    let vm = common::vm_with(asm(src), kbpf_interp::VmOptions::default()).unwrap();
    for _ in 0..3 {
        assert_eq!(vm.run(&mut []), Ok(0));
    }
    // A deeper call in a later run gets a zeroed frame too.
    let deep = "call local f\nexit\nf:\ncall local g\nexit\ng:\nldxdw %r0, [%r10-8]\nstdw [%r10-8], 1\nexit";
    let vm = common::vm_with(asm(deep), kbpf_interp::VmOptions::default()).unwrap();
    assert_eq!((vm.run(&mut []), vm.run(&mut [])), (Ok(0), Ok(0)));
}
