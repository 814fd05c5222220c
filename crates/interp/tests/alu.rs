//! ALU and ALU64: division edge cases, shifts, zero extension, movsx, neg, byte order.

mod common;
use common::run;

fn r0(body: &str) -> u64 {
    run(&format!("{body}\nexit"))
}

#[test]
fn division_by_zero() {
    assert_eq!(r0("mov %r0, 7\ndiv %r0, 0"), 0);
    assert_eq!(r0("mov %r0, 7\nmov %r1, 0\ndiv %r0, %r1"), 0);
    assert_eq!(r0("lddw %r0, 0x100000007\ndiv32 %r0, 0"), 0);
    assert_eq!(r0("mov %r0, -7\nsdiv %r0, 0"), 0);
    assert_eq!(r0("mov %r0, -7\nmov %r1, 0\nsdiv32 %r0, %r1"), 0);
}

#[test]
fn modulo_by_zero_leaves_dst() {
    assert_eq!(r0("lddw %r0, 0x100000007\nmod %r0, 0"), 0x1_0000_0007);
    assert_eq!(r0("lddw %r0, 0x100000007\nmov %r1, 0\nmod %r0, %r1"), 0x1_0000_0007);
    // 32-bit: dst unchanged means its zero-extended low half.
    assert_eq!(r0("lddw %r0, 0x100000007\nmod32 %r0, 0"), 7);
    assert_eq!(r0("lddw %r0, 0x100000007\nmov %r1, 0\nmod32 %r0, %r1"), 7);
    assert_eq!(r0("lddw %r0, 0xffffffff80000001\nsmod32 %r0, 0"), 0x8000_0001);
    assert_eq!(r0("lddw %r0, 0xffffffff80000001\nsmod %r0, 0"), 0xffff_ffff_8000_0001);
    // A zero 32-bit divisor with a non-zero upper half is still zero.
    assert_eq!(r0("mov %r0, 9\nlddw %r1, 0x100000000\nmod32 %r0, %r1"), 9);
    assert_eq!(r0("mov %r0, 9\nlddw %r1, 0x100000000\ndiv32 %r0, %r1"), 0);
}

#[test]
fn signed_division() {
    assert_eq!(r0("lddw %r0, 0x8000000000000000\nsdiv %r0, -1"), 0x8000_0000_0000_0000);
    assert_eq!(r0("lddw %r0, 0x8000000000000000\nsmod %r0, -1"), 0);
    assert_eq!(r0("mov32 %r0, 0x80000000\nsdiv32 %r0, -1"), 0x8000_0000);
    assert_eq!(r0("mov32 %r0, 0x80000000\nsmod32 %r0, -1"), 0);
    assert_eq!(r0("mov %r0, -7\nsdiv %r0, 2"), -3i64 as u64);
    assert_eq!(r0("mov %r0, -7\nsmod %r0, 2"), -1i64 as u64);
    assert_eq!(r0("mov %r0, 7\nsmod %r0, -2"), 1);
    assert_eq!(r0("mov32 %r0, -7\nsmod32 %r0, 2"), 0xffff_ffff);
    assert_eq!(r0("mov %r0, -7\ndiv %r0, 2"), (-7i64 as u64) / 2);
}

#[test]
fn shifts_are_masked() {
    assert_eq!(r0("mov %r0, 1\nlsh %r0, 65"), 2);
    assert_eq!(r0("mov %r0, 1\nlsh32 %r0, 33"), 2);
    assert_eq!(r0("mov %r0, 1\nmov %r1, -1\nlsh %r0, %r1"), 1 << 63);
    assert_eq!(r0("mov %r0, 1\nmov %r1, -1\nlsh32 %r0, %r1"), 1 << 31);
    assert_eq!(r0("lddw %r0, 0xffffffff00000010\nrsh32 %r0, 36"), 1);
    assert_eq!(r0("lddw %r0, 0x8000000000000000\nrsh %r0, 127"), 1);
    assert_eq!(r0("mov32 %r0, 0x80000000\narsh32 %r0, 4"), 0xf800_0000);
    assert_eq!(r0("lddw %r0, 0x8000000000000000\narsh %r0, 63"), u64::MAX);
    assert_eq!(r0("lddw %r0, 0x8000000000000000\nmov %r1, 0x43\narsh %r0, %r1"), 0xf000_0000_0000_0000);
}

#[test]
fn alu32_zero_extends() {
    assert_eq!(r0("lddw %r0, 0xffffffffffffffff\nadd32 %r0, 1"), 0);
    assert_eq!(r0("lddw %r0, 0xffffffff00000005\nmov32 %r0, %r0"), 5);
    assert_eq!(r0("mov32 %r0, -1"), 0xffff_ffff);
    assert_eq!(r0("mov %r0, -1"), u64::MAX);
    assert_eq!(r0("mov32 %r0, 0x10000\nmul32 %r0, 0x10000"), 0);
    assert_eq!(r0("lddw %r0, 0xffffffff00000001\nsub32 %r0, 2"), 0xffff_ffff);
    assert_eq!(r0("lddw %r0, 0xf0f0f0f0f0f0f0f0\nxor32 %r0, 0"), 0xf0f0_f0f0);
    assert_eq!(r0("lddw %r0, 0xf0f0f0f0f0f0f0f0\nor32 %r0, 1"), 0xf0f0_f0f1);
    assert_eq!(r0("lddw %r0, 0xf0f0f0f0f0f0f0f0\nand32 %r0, -1"), 0xf0f0_f0f0);
}

#[test]
fn alu64_immediates_sign_extend() {
    assert_eq!(r0("mov %r0, 0\nadd %r0, -1"), u64::MAX);
    assert_eq!(r0("mov %r0, 0\nor %r0, 0x80000000"), 0xffff_ffff_8000_0000);
    assert_eq!(r0("mov %r0, 3\nmul %r0, -2"), -6i64 as u64);
}

#[test]
fn neg() {
    assert_eq!(r0("mov %r0, 1\nneg %r0"), u64::MAX);
    assert_eq!(r0("mov %r0, 1\nneg32 %r0"), 0xffff_ffff);
    assert_eq!(r0("lddw %r0, 0x100000000\nneg32 %r0"), 0);
}

#[test]
fn movsx() {
    assert_eq!(r0("mov %r1, 0x80\nmovsx864 %r0, %r1"), 0xffff_ffff_ffff_ff80);
    assert_eq!(r0("mov %r1, 0x80\nmovsx832 %r0, %r1"), 0xffff_ff80);
    assert_eq!(r0("mov %r1, 0x8000\nmovsx1664 %r0, %r1"), 0xffff_ffff_ffff_8000);
    assert_eq!(r0("mov %r1, 0x8000\nmovsx1632 %r0, %r1"), 0xffff_8000);
    assert_eq!(r0("mov32 %r1, 0x80000000\nmovsx3264 %r0, %r1"), 0xffff_ffff_8000_0000);
    assert_eq!(r0("mov %r1, 0x17f\nmovsx864 %r0, %r1"), 0x7f);
}

#[test]
fn byte_order() {
    let v = "lddw %r0, 0x1122334455667788";
    assert_eq!(r0(&format!("{v}\nle16 %r0")), 0x7788);
    assert_eq!(r0(&format!("{v}\nle32 %r0")), 0x5566_7788);
    assert_eq!(r0(&format!("{v}\nle64 %r0")), 0x1122_3344_5566_7788);
    assert_eq!(r0(&format!("{v}\nbe16 %r0")), 0x8877);
    assert_eq!(r0(&format!("{v}\nbe32 %r0")), 0x8877_6655);
    assert_eq!(r0(&format!("{v}\nbe64 %r0")), 0x8877_6655_4433_2211);
    assert_eq!(r0(&format!("{v}\nbswap16 %r0")), 0x8877);
    assert_eq!(r0(&format!("{v}\nbswap32 %r0")), 0x8877_6655);
    assert_eq!(r0(&format!("{v}\nbswap64 %r0")), 0x8877_6655_4433_2211);
}

#[test]
fn lddw_and_mov() {
    assert_eq!(r0("lddw %r0, 0x8877665544332211"), 0x8877_6655_4433_2211);
    assert_eq!(r0("mov %r3, 5\nmov %r0, %r3\nadd %r0, %r3"), 10);
}
