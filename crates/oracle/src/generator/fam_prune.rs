//! Branchy programs that are mostly valid: chains of diamonds on unknown values writing
//! registers and stack slots, so that state pruning, precision and processed-instruction counts
//! are exercised; some read a register or slot written on one side only.

use super::asm::*;
use super::builder::B;
use super::rng::Rng;
use crate::case::Case;
use crate::load::ProgType;

const L: [(&str, &str); 10] = [
    ("a0", "b0"),
    ("a1", "b1"),
    ("a2", "b2"),
    ("a3", "b3"),
    ("a4", "b4"),
    ("a5", "b5"),
    ("a6", "b6"),
    ("a7", "b7"),
    ("a8", "b8"),
    ("a9", "b9"),
];

/// Diamonds on unknown scalars (`prune` family).
pub fn prune(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "prune";
    let mut out = Vec::new();
    for i in 0..n {
        let mut b = B::new();
        b.i(ldx(Sz::W, 8, 1, 0)).i(call(7)).i(movr(6, 0)).i(call(7)).i(movr(7, 0)).i(mov(9, 0));
        // Registers r2..r5 are clobbered by calls; they are initialised here and written below.
        let one_sided = rng.chance(1, 4);
        let d = rng.range(2, 9) as usize;
        let mut shape = String::new();
        let mut half_written: Option<u8> = None;
        for (k, &(la, lb)) in L.iter().enumerate().take(d) {
            let cond = rng.pick(&CONDS);
            let on = rng.pick(&[6u8, 7, 8]);
            let kk = rng.range(0, 100) as i32;
            match rng.below(4) {
                0 => {
                    // Register diamond: both sides write rX, maybe the same value.
                    let rx = rng.pick(&[2u8, 3, 4, 5]);
                    let (c1, c2) = (rng.range(0, 3) as i32, rng.range(0, 3) as i32);
                    b.j(jmpi(cond, on, kk, 0), la)
                        .i(mov(rx, c1))
                        .j(ja(0), lb)
                        .label(la)
                        .i(mov(rx, c2))
                        .label(lb);
                    shape.push('r');
                }
                1 => {
                    // Stack diamond.
                    let slot = -8 * rng.range(1, 4) as i16;
                    b.j(jmpi(cond, on, kk, 0), la).i(st(Sz::Dw, 10, slot, rng.range(0, 2) as i32));
                    b.j(ja(0), lb).label(la).i(st(Sz::Dw, 10, slot, 1)).label(lb);
                    shape.push('s');
                }
                2 => {
                    // Counter bumped on one side.
                    b.j(jmpi(cond, on, kk, 0), la).i(alu64i(Op::Add, 9, 1)).label(la);
                    let _ = lb;
                    shape.push('c');
                }
                _ => {
                    // Scalar update without a branch.
                    b.i(alu64i(rng.pick(&[Op::And, Op::Rsh, Op::Add, Op::Xor]), 6, rng.range(1, 31) as i32));
                    shape.push('u');
                }
            }
            if one_sided && half_written.is_none() && k + 1 == d / 2 {
                // A register written on one side only (r2..r5 are not initialised otherwise).
                let rx = rng.pick(&[2u8, 3, 4, 5]);
                b.j(jmpi(Cond::Gt, 6, 50, 0), "half").i(mov(rx, 1)).label("half");
                half_written = Some(rx);
            }
        }
        if let Some(rx) = half_written {
            b.i(movr(0, rx)).i(exit());
            shape.push_str(&format!("_half{rx}"));
        } else if rng.chance(1, 2) {
            // The counter is bounded by d: usable as a stack offset.
            b.i(movr(2, 10))
                .i(alu64i(Op::Add, 2, -64))
                .i(alu64r(Op::Add, 2, 9))
                .i(st(Sz::B, 2, 0, 1))
                .all(ret0());
            shape.push_str("_cnt");
        } else {
            b.i(movr(0, 9)).i(exit());
        }
        out.push(Case::new(fam, format!("{i:04}_d{d}_{shape}"), ProgType::SocketFilter, b.build()));
    }
    out
}
