//! Loads, stores, the BPF stack and every atomic operation.
mod common;
use common::*;
use kbpf_isa::*;

#[test]
fn loads_zero_and_sign_extend() {
    let mut m = [0x81u8, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88];
    for (size, signed, want) in [
        (Size::B, false, 0x81u64),
        (Size::H, false, 0x8281),
        (Size::W, false, 0x84838281),
        (Size::DW, false, 0x8887868584838281),
        (Size::B, true, 0xffff_ffff_ffff_ff81),
        (Size::H, true, 0xffff_ffff_ffff_8281),
        (Size::W, true, 0xffff_ffff_8483_8281),
    ] {
        for d in [Reg::R0, Reg::R2, Reg::R5, Reg::R9] {
            let v = vec![
                lddw(d, u64::MAX),
                Insn::Load { size, signed, dst: d, src: Reg::R1, off: 0 },
                movr(Reg::R0, d),
                EXIT,
            ];
            assert_eq!(run_mem(v, &mut m), want, "{size:?} {signed} {d}");
        }
    }
}

#[test]
fn stores_register_and_immediate() {
    for s in [Reg::R0, Reg::R2, Reg::R3, Reg::R4, Reg::R5, Reg::R6] {
        let mut m = [0u8; 16];
        let v = vec![
            lddw(s, 0x1122334455667788),
            stx(Size::B, Reg::R1, 0, s),
            stx(Size::H, Reg::R1, 2, s),
            stx(Size::W, Reg::R1, 4, s),
            stx(Size::DW, Reg::R1, 8, s),
            mov(Reg::R0, 0),
            EXIT,
        ];
        run_mem(v, &mut m);
        assert_eq!(
            m,
            [0x88, 0, 0x88, 0x77, 0x88, 0x77, 0x66, 0x55, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11],
            "{s}"
        );
    }
    let mut m = [0u8; 16];
    let v = vec![
        st(Size::B, Reg::R1, 0, -1),
        st(Size::H, Reg::R1, 2, 0x1234),
        st(Size::W, Reg::R1, 4, -2),
        st(Size::DW, Reg::R1, 8, -3),
        mov(Reg::R0, 0),
        EXIT,
    ];
    run_mem(v, &mut m);
    assert_eq!(
        m,
        [0xff, 0, 0x34, 0x12, 0xfe, 0xff, 0xff, 0xff, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    );
}

#[test]
fn stack_round_trip() {
    let v = vec![
        st(Size::DW, Reg::R10, -8, 7),
        st(Size::W, Reg::R10, -512, 9),
        lddw(Reg::R1, 100),
        stx(Size::DW, Reg::R10, -16, Reg::R1),
        ldx(Size::DW, Reg::R0, Reg::R10, -8),
        ldx(Size::DW, Reg::R2, Reg::R10, -16),
        alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R2)),
        ldx(Size::W, Reg::R2, Reg::R10, -512),
        alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R2)),
        // A pointer into the stack used through another register.
        movr(Reg::R3, Reg::R10),
        alu64(AluOp::Add, Reg::R3, Src::Imm(-8)),
        ldx(Size::DW, Reg::R2, Reg::R3, 0),
        alu64(AluOp::Add, Reg::R0, Src::Reg(Reg::R2)),
        EXIT,
    ];
    assert_eq!(run(v), 7 + 100 + 9 + 7);
}

fn atomic(size: Size, op: AtomicOp, dst: Reg, src: Reg, off: i16) -> Insn {
    Insn::Atomic { size, op, dst, src, off }
}

/// Runs `op` with memory word `old` and operand `val`; returns (memory after, src after, r0 after).
fn rmw(size: Size, op: AtomicOp, base: Reg, src: Reg, old: u64, val: u64, r0: u64) -> (u64, u64, u64) {
    let mut m = [0u8; 24];
    m[8..16].copy_from_slice(&old.to_le_bytes());
    let mut v = vec![movr(Reg::R7, Reg::R1)];
    if base != Reg::R1 {
        v.push(movr(base, Reg::R1));
    }
    v.push(lddw(src, val));
    if src != Reg::R0 && base != Reg::R0 {
        v.push(lddw(Reg::R0, r0));
    }
    v.push(atomic(size, op, base, src, 8));
    v.push(stx(Size::DW, Reg::R7, 16, src));
    v.push(stx(Size::DW, Reg::R7, 0, Reg::R0));
    v.push(mov(Reg::R0, 0));
    v.push(EXIT);
    run_mem(v, &mut m);
    let rd = |o: usize| u64::from_le_bytes(m[o..o + 8].try_into().unwrap());
    (rd(8), rd(16), rd(0))
}

#[test]
fn atomics_match_their_definitions() {
    let old = 0xf0f0_f0f0_1234_5678u64;
    let val = 0x0ff0_0ff0_8765_4321u64;
    for (size, mask) in [(Size::DW, u64::MAX), (Size::W, 0xffff_ffffu64)] {
        let hi = old & !mask;
        for op in [
            AtomicOp::Add,
            AtomicOp::Or,
            AtomicOp::And,
            AtomicOp::Xor,
            AtomicOp::FetchAdd,
            AtomicOp::FetchOr,
            AtomicOp::FetchAnd,
            AtomicOp::FetchXor,
            AtomicOp::Xchg,
        ] {
            let new = match op {
                AtomicOp::Add | AtomicOp::FetchAdd => old.wrapping_add(val),
                AtomicOp::Or | AtomicOp::FetchOr => old | val,
                AtomicOp::And | AtomicOp::FetchAnd => old & val,
                AtomicOp::Xor | AtomicOp::FetchXor => old ^ val,
                _ => val,
            } & mask;
            for (base, src) in [
                (Reg::R2, Reg::R3),
                (Reg::R1, Reg::R0),
                (Reg::R0, Reg::R4),
                (Reg::R3, Reg::R6),
                (Reg::R5, Reg::R1),
            ] {
                let (mem, s, r0) = rmw(size, op, base, src, old, val, 0x5555);
                assert_eq!(mem, hi | new, "{size:?} {op:?} mem base {base} src {src}");
                let want_src = if op.fetches() { old & mask } else { val };
                assert_eq!(s, want_src, "{size:?} {op:?} src base {base} src {src}");
                if src != Reg::R0 && base != Reg::R0 {
                    assert_eq!(r0, 0x5555, "{size:?} {op:?} r0 kept, base {base} src {src}");
                }
            }
        }
        // cmpxchg: success and failure, r0 gets the (zero-extended) old value.
        for (expect, stored) in [(old, true), (old ^ 1, false)] {
            for src in [Reg::R2, Reg::R4] {
                let mut m = [0u8; 16];
                m[0..8].copy_from_slice(&old.to_le_bytes());
                let v = vec![
                    lddw(
                        Reg::R0,
                        if size == Size::W { (expect & mask) | 0xdead_0000_0000_0000 } else { expect },
                    ),
                    lddw(src, val),
                    atomic(size, AtomicOp::Cmpxchg, Reg::R1, src, 0),
                    EXIT,
                ];
                let r0 = run_mem(v, &mut m);
                assert_eq!(r0, old & mask, "{size:?} cmpxchg r0");
                let mem = u64::from_le_bytes(m[0..8].try_into().unwrap());
                assert_eq!(mem, if stored { hi | (val & mask) } else { old }, "{size:?} cmpxchg mem");
            }
        }
    }
}

#[test]
fn acquire_release_are_plain_accesses() {
    for size in [Size::B, Size::H, Size::W, Size::DW] {
        let mut m = [0xffu8; 16];
        let v = vec![
            lddw(Reg::R2, 0x0102030405060708),
            atomic(size, AtomicOp::StoreRelease, Reg::R1, Reg::R2, 0),
            atomic(size, AtomicOp::LoadAcquire, Reg::R0, Reg::R1, 0),
            EXIT,
        ];
        let mask = if size == Size::DW { u64::MAX } else { (1u64 << (8 * size.bytes())) - 1 };
        assert_eq!(run_mem(v, &mut m), 0x0102030405060708 & mask, "{size:?}");
    }
}

#[test]
fn every_base_register_with_short_and_long_displacements() {
    // r13 (BPF r7) and rbp need a displacement byte even for offset 0; rsp/r12 need a SIB.
    for base in [Reg::R0, Reg::R1, Reg::R2, Reg::R3, Reg::R4, Reg::R5, Reg::R6, Reg::R7, Reg::R8, Reg::R9] {
        for off in [0i16, 8, 200] {
            let mut m = vec![0u8; 256];
            let mut free = [Reg::R0, Reg::R6, Reg::R8, Reg::R9].into_iter().filter(|r| *r != base);
            let (val, t1, t2) = (free.next().unwrap(), free.next().unwrap(), free.next().unwrap());
            let v = vec![
                movr(base, Reg::R1),
                alu64(AluOp::Sub, base, Src::Imm(off as i32)),
                lddw(val, 0x0102030405060708),
                stx(Size::DW, base, off + 16, val),
                st(Size::W, base, off + 24, 0x11223344),
                Insn::Atomic { size: Size::DW, op: AtomicOp::Add, dst: base, src: val, off: off + 16 },
                ldx(Size::DW, t1, base, off + 16),
                ldx(Size::W, t2, base, off + 24),
                alu64(AluOp::Add, t1, Src::Reg(t2)),
                movr(Reg::R0, t1),
                EXIT,
            ];
            assert_eq!(run_mem(v, &mut m), 2 * 0x0102030405060708 + 0x11223344, "base {base} off {off}");
        }
    }
}
