//! PREVAIL-style pre/post-state tests of the abstract domain: a short program establishes the
//! precondition, the instruction under test runs, and the register state the verifier prints for
//! it (level 2, kernel format) is compared with the state Linux 6.18 printed for the same program.

use kbpf_isa::RawInsn;
use kbpf_verifier::{VerifyOptions, verify};

fn i(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
    RawInsn::new(code, dst, src, off, imm)
}

/// The annotation the verifier printed for instruction `idx` (text after `;`).
fn post(prog: &[RawInsn], idx: usize) -> String {
    let out = verify(prog, &VerifyOptions { log_level: 2, ..Default::default() });
    let prefix = format!("{idx}: (");
    out.log
        .lines()
        .find(|l| l.starts_with(&prefix) && l.contains(';'))
        .and_then(|l| l.split_once(';'))
        .map(|(_, s)| s.trim().to_string())
        .unwrap_or_default()
}

const EXIT: (u8, u8, u8, i16, i32) = (0x95, 0, 0, 0, 0);

fn p(v: &[(u8, u8, u8, i16, i32)]) -> Vec<RawInsn> {
    v.iter().map(|&(c, d, s, o, m)| i(c, d, s, o, m)).collect()
}

#[test]
fn u32_load_then_jgt() {
    // pre: r2 = skb->len (u32); post of `if r2 > 10`: fall-through range [0, 10]
    let prog = p(&[(0x61, 2, 1, 0, 0), (0xb7, 0, 0, 0, 0), (0x25, 2, 0, 1, 10), (0xbf, 0, 2, 0, 0), EXIT]);
    assert_eq!(post(&prog, 0), "R1=ctx() R2=scalar(smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff))");
    assert_eq!(post(&prog, 2), "R2=scalar(smin=smin32=0,smax=umax=smax32=umax32=10,var_off=(0x0; 0xf))");
}

#[test]
fn and_then_mul() {
    let prog = p(&[
        (0x61, 3, 1, 0, 0),
        (0x57, 3, 0, 0, 15),
        (0xbf, 4, 3, 0, 0),
        (0x2f, 4, 3, 0, 0),
        (0xbf, 0, 4, 0, 0),
        EXIT,
    ]);
    assert_eq!(post(&prog, 1), "R3=scalar(smin=smin32=0,smax=umax=smax32=umax32=15,var_off=(0x0; 0xf))");
    assert_eq!(
        post(&prog, 2),
        "R3=scalar(id=1,smin=smin32=0,smax=umax=smax32=umax32=15,var_off=(0x0; 0xf)) \
         R4=scalar(id=1,smin=smin32=0,smax=umax=smax32=umax32=15,var_off=(0x0; 0xf))"
    );
    assert_eq!(
        post(&prog, 3),
        "R3=scalar(id=1,smin=smin32=0,smax=umax=smax32=umax32=15,var_off=(0x0; 0xf)) \
         R4=scalar(smin=smin32=0,smax=umax=smax32=umax32=225,var_off=(0x0; 0xff))"
    );
}

#[test]
fn neg_and_byteswap_constants() {
    let prog = p(&[(0xb7, 0, 0, 0, 5), (0x87, 0, 0, 0, 0), (0xbf, 1, 0, 0, 0), (0xdc, 1, 0, 0, 16), EXIT]);
    assert_eq!(post(&prog, 1), "R0=-5");
    assert_eq!(post(&prog, 3), "R1=0xfbff");
}

#[test]
fn stack_spill_narrow() {
    // u32 spill of a constant prints the untouched upper bytes as '?'
    let prog = p(&[(0xb7, 1, 0, 0, 5), (0x63, 10, 1, -8, 0), (0x61, 0, 10, -8, 0), EXIT]);
    assert_eq!(post(&prog, 1), "R1=5 R10=fp0 fp-8=????5");
    assert_eq!(post(&prog, 2), "R0=5 R10=fp0 fp-8=????5");
}

#[test]
fn ctx_pointer_copy_and_fp_arith() {
    let prog = p(&[(0xbf, 2, 1, 0, 0), (0xbf, 3, 10, 0, 0), (0x07, 3, 0, 0, -8), (0xb7, 0, 0, 0, 0), EXIT]);
    assert_eq!(post(&prog, 0), "R1=ctx() R2=ctx()");
    assert_eq!(post(&prog, 2), "R3=fp-8");
}

#[test]
fn signed_range_after_sub() {
    let prog = p(&[(0x61, 2, 1, 0, 0), (0x57, 2, 0, 0, 255), (0x17, 2, 0, 0, 100), (0xb7, 0, 0, 0, 0), EXIT]);
    assert_eq!(post(&prog, 2), "R2=scalar(smin=smin32=-100,smax=smax32=155)");
}
