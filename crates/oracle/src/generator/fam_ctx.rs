//! Context and packet families: `__sk_buff` and `xdp_md` field access, packet bounds checks.

use super::asm::*;
use super::builder::B;
use super::rng::Rng;
use crate::case::Case;
use crate::load::ProgType;

/// Loads and stores of `__sk_buff` (socket_filter, some sched_cls) at valid and invalid offsets.
pub fn ctx_skb(rng: &mut Rng, n: usize) -> Vec<Case> {
    let mut out = Vec::new();
    let fam = "ctx_skb";
    // Every 4-byte field as a u32 load.
    for off in (0..=196).step_by(4) {
        let p = vec![ldx(Sz::W, 0, 1, off as i16), mov(0, 0), exit()];
        out.push(Case::new(fam, format!("ld_w_{off}"), ProgType::SocketFilter, p));
    }
    while out.len() < n {
        let i = out.len();
        let aligned = rng.chance(1, 2);
        let sz = if aligned { Sz::W } else { rng.pick(&SIZES) };
        let off = if aligned {
            rng.range(0, 23) * 4
        } else if rng.chance(1, 4) {
            rng.range(-8, 200)
        } else {
            rng.range(0, 48) * 4 + rng.range(0, 3)
        };
        let ty = if rng.chance(1, 4) { ProgType::SchedCls } else { ProgType::SocketFilter };
        let kind = if aligned { rng.below(2) } else { rng.below(4) };
        let (desc, p) = match kind {
            0 | 1 => ("ld", vec![ldx(sz, 2, 1, off as i16), mov(0, 0), exit()]),
            2 => ("stx", vec![mov(2, 7), stx(sz, 1, 2, off as i16), mov(0, 0), exit()]),
            _ => ("st", vec![st(sz, 1, off as i16, 7), mov(0, 0), exit()]),
        };
        let name = format!("{i:04}_{}_{desc}_{}_{off}", ty.name(), sz.bytes());
        out.push(Case::new(fam, name, ty, p));
    }
    out
}

/// Loads and stores of `xdp_md` at every small offset and size.
pub fn ctx_xdp(rng: &mut Rng, n: usize) -> Vec<Case> {
    let mut out = Vec::new();
    let fam = "ctx_xdp";
    for off in 0..24i16 {
        for sz in SIZES {
            if off % 4 != 0 && sz != Sz::B {
                continue;
            }
            let p = vec![ldx(sz, 2, 1, off), mov(0, 2), exit()];
            out.push(Case::new(fam, format!("ld_{}_{off}", sz.bytes()), ProgType::Xdp, p));
        }
    }
    for off in [-8i16, -4, -1, 24, 28, 32] {
        let p = vec![ldx(Sz::W, 2, 1, off), mov(0, 2), exit()];
        out.push(Case::new(fam, format!("ld_4_{off}"), ProgType::Xdp, p));
    }
    while out.len() < n {
        let i = out.len();
        let sz = rng.pick(&SIZES);
        let off = rng.range(0, 28) as i16;
        let p = if rng.chance(1, 2) {
            // Two u32 fields read and combined.
            let a = rng.pick(&[12i16, 16, 16, 12, 0, 20]);
            let c = rng.pick(&[12i16, 16]);
            vec![ldx(Sz::W, 2, 1, a), ldx(Sz::W, 3, 1, c), alu64r(Op::Add, 2, 3), mov(0, 2), exit()]
        } else if rng.chance(1, 2) {
            vec![mov(2, 1), stx(sz, 1, 2, off), mov(0, 2), exit()]
        } else {
            // Modified-ctx dereference: ctx += k, then load.
            let k = rng.pick(&[0, 4, 8]);
            vec![alu64i(Op::Add, 1, k), ldx(sz, 0, 1, off), exit()]
        };
        out.push(Case::new(fam, format!("{i:04}_st_or_mod_{}_{off}", sz.bytes()), ProgType::Xdp, p));
    }
    out
}

/// XDP packet access after a bounds check, right and off by one, in the various compare forms.
pub fn pkt_bounds(rng: &mut Rng, n: usize) -> Vec<Case> {
    let mut out = Vec::new();
    let fam = "pkt_bounds";
    for i in 0..n {
        let k = rng.range(1, 64) as i32;
        let sz = rng.pick(&SIZES);
        // Access offset near the checked length so both verdicts are common.
        let off = (k - sz.bytes() + rng.range(-2, 2) as i32).max(-2);
        let form = rng.below(7);
        let mut b = B::new();
        b.i(ldx(Sz::W, 2, 1, 0)).i(ldx(Sz::W, 3, 1, 4)).i(movr(4, 2)).i(alu64i(Op::Add, 4, k));
        let desc = match form {
            0 => {
                b.j(jmpr(Cond::Gt, 4, 3, 0), "out");
                "gt"
            }
            1 => {
                b.j(jmpr(Cond::Lt, 3, 4, 0), "out");
                "lt_rev"
            }
            2 => {
                b.j(jmpr(Cond::Ge, 4, 3, 0), "out");
                "ge"
            }
            3 => {
                b.j(jmpr(Cond::Le, 3, 4, 0), "out");
                "le_rev"
            }
            4 => {
                // Access on the taken side: if r4 <= r3 goto access.
                b.j(jmpr(Cond::Le, 4, 3, 0), "acc").j(ja(0), "out").label("acc");
                "le_taken"
            }
            5 => {
                // Signed compare: the kernel does not refine packet ranges on it.
                b.j(jmpr(Cond::Sgt, 4, 3, 0), "out");
                "sgt"
            }
            _ => {
                // No check at all.
                "none"
            }
        };
        let store = rng.chance(1, 4);
        if store {
            b.i(st(sz, 2, off as i16, 1));
        } else {
            b.i(ldx(sz, 0, 2, off as i16));
        }
        b.label("out").all(ret0());
        let name = format!("{i:04}_{desc}_k{k}_{}{}_{off}", if store { "st" } else { "ld" }, sz.bytes());
        out.push(Case::new(fam, name, ProgType::Xdp, b.build()));
    }
    out
}
