//! Range deduction between the signed and unsigned views of a scalar, checked against the
//! kernel's verdicts and processed counts (selftests oracle, Linux 6.18).

use kbpf_isa::RawInsn;
use kbpf_verifier::{ProgType, VerifyOptions, verify};

fn p(v: &[(u8, u8, u8, i16, i32)]) -> Vec<RawInsn> {
    v.iter().map(|&(c, d, s, o, m)| RawInsn::new(c, d, s, o, m)).collect()
}

fn opts() -> VerifyOptions {
    VerifyOptions { prog_type: ProgType::SocketFilter, log_level: 1, ..Default::default() }
}

const PRANDOM: (u8, u8, u8, i16, i32) = (0x85, 0, 0, 0, 7);
const W0_AND_ALL: (u8, u8, u8, i16, i32) = (0x54, 0, 0, 0, -1);
const R10_EQ_0: (u8, u8, u8, i16, i32) = (0xb7, 10, 0, 0, 0);
const EXIT: (u8, u8, u8, i16, i32) = (0x95, 0, 0, 0, 0);

/// verifier_bounds.c `signed_unsigned_intersection32_case1`: u32 [3, U32_MAX] and s32
/// [S32_MIN, 1] intersect to the negative piece only, so `w0 s< 0` is always taken and the
/// write to r10 is dead.
#[test]
fn signed_unsigned_intersection32_case1() {
    let prog = p(&[
        PRANDOM,
        W0_AND_ALL,
        (0xa6, 0, 0, 3, 3), // if w0 < 3 goto exit
        (0x66, 0, 0, 2, 1), // if w0 s> 1 goto exit
        (0xc6, 0, 0, 1, 0), // if w0 s< 0 goto exit
        R10_EQ_0,
        EXIT,
    ]);
    let out = verify(&prog, &opts());
    assert!(out.accepted, "{}", out.log);
    assert_eq!(out.stats.processed_insns, 8);
}

/// verifier_bounds.c `signed_unsigned_intersection32_case2`: u32 [0, S32_MIN+3] and s32
/// [-3, 5] intersect to the non-negative piece [0, 5], so `w0 <= 5` is always taken.
#[test]
fn signed_unsigned_intersection32_case2() {
    let prog = p(&[
        PRANDOM,
        W0_AND_ALL,
        (0x26, 0, 0, 4, 0x8000_0003u32 as i32), // if w0 > 0x80000003 goto exit
        (0xc6, 0, 0, 3, -3),                    // if w0 s< -3 goto exit
        (0x66, 0, 0, 2, 5),                     // if w0 s> 5 goto exit
        (0xb6, 0, 0, 1, 5),                     // if w0 <= 5 goto exit
        R10_EQ_0,
        EXIT,
    ]);
    let out = verify(&prog, &opts());
    assert!(out.accepted, "{}", out.log);
    assert_eq!(out.stats.processed_insns, 10);
}

/// Control: when the unsigned range reaches into both pieces of the wrapped signed range,
/// nothing can be dropped and the dead-looking write is still reached.
#[test]
fn signed_unsigned_intersection32_both_pieces() {
    let prog = p(&[
        PRANDOM,
        W0_AND_ALL,
        (0xa6, 0, 0, 3, 1), // if w0 < 1 goto exit: u32 [1, U32_MAX]
        (0x66, 0, 0, 2, 1), // if w0 s> 1 goto exit: s32 [S32_MIN, 1] still holds 1
        (0xc6, 0, 0, 1, 0), // if w0 s< 0 goto exit
        R10_EQ_0,
        EXIT,
    ]);
    let out = verify(&prog, &opts());
    assert!(!out.accepted);
    assert!(out.log.contains("frame pointer is read only"), "{}", out.log);
}
