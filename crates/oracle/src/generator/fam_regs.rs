//! Register and stack families: uninitialised reads, stack edges, spills and fills.

use super::asm::*;
use super::builder::B;
use super::rng::Rng;
use crate::case::Case;
use crate::load::{BPF_F_STRICT_ALIGNMENT, ProgType};

const REGS: [u8; 9] = [0, 2, 3, 4, 5, 6, 7, 8, 9];

/// Reads of registers that may or may not have been written (socket_filter).
pub fn uninit_reg(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "uninit_reg";
    let mut out = Vec::new();
    for i in 0..n {
        let mut init: Vec<u8> = REGS.iter().copied().filter(|_| rng.chance(1, 2)).collect();
        let mut b = B::new();
        for &r in &init {
            b.i(mov(r, rng.range(-5, 5) as i32));
        }
        let steps = rng.range(1, 4);
        for _ in 0..steps {
            let src = if !init.is_empty() && rng.chance(2, 3) { rng.pick(&init) } else { rng.pick(&REGS) };
            let dst = rng.pick(&REGS);
            match rng.below(6) {
                0 => b.i(movr(dst, src)),
                1 => b.i(alu64r(Op::Add, dst, src)),
                2 => b.i(stx(Sz::Dw, 10, src, -8)),
                3 => b.i(jmpi(Cond::Eq, src, 0, 0)),
                4 => b.i(alu32r(Op::Xor, dst, src)),
                _ => b.i(alu64i(Op::Neg, src, 0)),
            };
            if !init.contains(&dst) {
                init.push(dst);
            }
        }
        if rng.chance(2, 3) {
            b.i(mov(0, 1));
        }
        b.i(exit());
        out.push(Case::new(fam, format!("{i:04}"), ProgType::SocketFilter, b.build()));
    }
    out
}

const EDGE_OFFS: [i32; 16] = [-512, -513, -516, -520, -511, -510, -508, -504, -256, -8, -7, -4, -1, 0, 1, 8];

/// Stack stores and loads at and around the frame edges, aligned or not, initialised or not.
pub fn stack(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "stack";
    let mut out = Vec::new();
    for i in 0..n {
        let sz = rng.pick(&SIZES);
        let off = if rng.chance(2, 3) { rng.pick(&EDGE_OFFS) } else { rng.range(-520, 4) as i32 };
        let via = rng.chance(1, 4); // through a copy of r10 with a constant added
        let strict = rng.chance(1, 5);
        let mut b = B::new();
        let (base, disp) = if via {
            let k = rng.pick(&[-8, -16, -256, -500, 8]);
            b.i(movr(6, 10)).i(alu64i(Op::Add, 6, k));
            (6u8, off - k)
        } else {
            (10u8, off)
        };
        let kind = rng.below(4);
        let desc = match kind {
            0 => {
                b.i(st(sz, base, disp as i16, 3)).all(ret0());
                "st"
            }
            1 => {
                b.i(mov(2, 3)).i(stx(sz, base, 2, disp as i16)).all(ret0());
                "stx"
            }
            2 => {
                // Read without a prior write (privileged loads may read uninitialised stack).
                b.i(ldx(sz, 0, base, disp as i16)).i(exit());
                "ld_uninit"
            }
            _ => {
                let wsz = rng.pick(&SIZES);
                let woff = off - rng.pick(&[0, 0, 4, 8]);
                b.i(st(wsz, 10, woff as i16, 5)).i(ldx(sz, 0, base, disp as i16)).i(exit());
                "st_ld"
            }
        };
        let mut c = Case::new(
            fam,
            format!(
                "{i:04}_{desc}{}_{off}{}{}",
                sz.bytes(),
                if via { "_via" } else { "" },
                if strict { "_strict" } else { "" }
            ),
            ProgType::SocketFilter,
            b.build(),
        );
        if strict {
            c = c.with_flags(BPF_F_STRICT_ALIGNMENT);
        }
        out.push(c);
    }
    out
}

/// Spills of pointers and scalars, fills of other sizes, partial overwrites, then use.
pub fn spill_fill(rng: &mut Rng, n: usize) -> Vec<Case> {
    let fam = "spill_fill";
    let mut out = Vec::new();
    for i in 0..n {
        let what = rng.below(3); // 0 ctx pointer, 1 stack pointer, 2 scalar constant
        let off = rng.pick(&[-8, -16, -24, -64]) as i16;
        let mut b = B::new();
        let val = rng.range(0, 40) as i32;
        match what {
            0 => b.i(movr(6, 1)),
            1 => b.i(movr(6, 10)).i(alu64i(Op::Add, 6, -128)),
            _ => b.i(mov(6, val)),
        };
        b.i(stx(Sz::Dw, 10, 6, off));
        let clobber = rng.below(4);
        let cdesc = match clobber {
            0 => "",
            1 => {
                b.i(st(Sz::B, 10, off + rng.range(0, 7) as i16, 0));
                "_clob1"
            }
            2 => {
                b.i(st(Sz::W, 10, off + rng.pick(&[0, 4]) as i16, 0));
                "_clob4"
            }
            _ => {
                b.i(mov(7, 1)).i(stx(Sz::Dw, 10, 7, off));
                "_over"
            }
        };
        let fsz = if rng.chance(2, 3) { Sz::Dw } else { rng.pick(&SIZES) };
        let foff = off + if fsz == Sz::Dw { 0 } else { rng.pick(&[0, 4, 7]) as i16 };
        b.i(ldx(fsz, 2, 10, foff));
        let use_ = rng.below(3);
        let udesc = match use_ {
            0 => {
                // Dereference the filled value.
                b.i(ldx(Sz::W, 0, 2, 0)).all(ret0());
                "deref"
            }
            1 => {
                // Use as a stack offset: r3 = r10 - 64 + r2.
                b.i(movr(3, 10)).i(alu64i(Op::Add, 3, -64)).i(alu64r(Op::Add, 3, 2));
                b.i(st(Sz::B, 3, 0, 1)).all(ret0());
                "stkoff"
            }
            _ => {
                b.i(movr(0, 2)).i(exit());
                "ret"
            }
        };
        let name = format!("{i:04}_w{what}{cdesc}_f{}_{foff}_{udesc}", fsz.bytes());
        out.push(Case::new(fam, name, ProgType::SocketFilter, b.build()));
    }
    out
}
