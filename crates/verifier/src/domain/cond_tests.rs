//! Soundness and exactness of branch refinement on concrete values (`cond.rs`).

use super::*;
use crate::domain::test_values::{from_set, has};

fn holds(op: Cond, w32: bool, a: u64, b: u64) -> bool {
    let (ua, ub, sa, sb) = if w32 {
        (a as u32 as u64, b as u32 as u64, a as u32 as i32 as i64, b as u32 as i32 as i64)
    } else {
        (a, b, a as i64, b as i64)
    };
    match op {
        JEQ => ua == ub,
        JNE => ua != ub,
        JGT => ua > ub,
        JGE => ua >= ub,
        JLT => ua < ub,
        JLE => ua <= ub,
        JSGT => sa > sb,
        JSGE => sa >= sb,
        JSLT => sa < sb,
        JSLE => sa <= sb,
        JSET => ua & ub != 0,
        JSET_NOT => ua & ub == 0,
    }
}

/// Windows of 1..=4 consecutive values around every sign and width boundary, 8 values wide.
fn windows() -> Vec<Vec<u64>> {
    let anchors: [u64; 6] = [0, 0x7c, 0x7fff_fffc, 0xffff_fffc, 0x7fff_ffff_ffff_fffc, 0xffff_ffff_ffff_fffc];
    let mut w = Vec::new();
    for &a in &anchors {
        for start in 0..8u64 {
            for len in [1u64, 2, 4] {
                w.push((0..len).map(|k| a.wrapping_add(start + k)).collect());
            }
        }
    }
    w
}

/// Soundness of `is_branch_taken` and of the refinement on both edges: every concrete pair
/// that takes an edge survives in that edge's refined registers.
#[test]
fn branch_refinement_sound_on_boundary_windows() {
    let ops = [JEQ, JNE, JGT, JGE, JLT, JLE, JSGT, JSGE, JSLT, JSLE, JSET];
    let ws = windows();
    for &w32 in &[false, true] {
        for &op in &ops {
            for wa in ws.iter().step_by(2) {
                for wb in ws.iter().step_by(3) {
                    let (a, b) = (from_set(wa), from_set(wb));
                    let pred = branch_taken(&a, &b, op, w32);
                    let (mut ta, mut tb, mut fa, mut fb) = (a.clone(), b.clone(), a.clone(), b.clone());
                    refine_cond_op(&mut ta, &mut tb, op, w32);
                    refine_cond_op(&mut fa, &mut fb, rev(op), w32);
                    for r in [&mut ta, &mut tb, &mut fa, &mut fb] {
                        r.bounds_sync();
                    }
                    for &x in wa {
                        for &y in wb {
                            let t = holds(op, w32, x, y);
                            assert!(
                                pred == -1 || (pred == 1) == t,
                                "op {op:?} w32={w32} {wa:?} {wb:?} pred {pred}"
                            );
                            let (ra, rb) = if t { (&ta, &tb) } else { (&fa, &fb) };
                            assert!(
                                has(ra, x) && has(rb, y),
                                "op {op:?} w32={w32} taken={t} {x:#x} {y:#x} {wa:?} {wb:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Exhaustive at 8 bits: every pair of ranges [lo, hi] inside 0..16 and every constant
/// operand; the kernel's refinement is exact for unsigned compares against a constant.
#[test]
fn unsigned_refinement_exact_small() {
    for lo in 0..16u64 {
        for hi in lo..16u64 {
            let vals: Vec<u64> = (lo..=hi).collect();
            let a = from_set(&vals);
            for k in 0..16u64 {
                let b = RegState::known(k);
                for op in [JGT, JGE, JLT, JLE] {
                    let (mut ta, mut tb) = (a.clone(), b.clone());
                    refine_cond_op(&mut ta, &mut tb, op, false);
                    ta.bounds_sync();
                    let sat: Vec<u64> = vals.iter().copied().filter(|&x| holds(op, false, x, k)).collect();
                    if let (Some(&mn), Some(&mx)) = (sat.iter().min(), sat.iter().max()) {
                        assert_eq!((ta.b64.umin, ta.b64.umax), (mn, mx), "op {op:?} [{lo},{hi}] vs {k}");
                    }
                }
            }
        }
    }
}
