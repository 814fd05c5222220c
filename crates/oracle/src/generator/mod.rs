//! Deterministic generator of verifier test programs, grouped in families aimed at the
//! accept/reject boundary, plus hand-written cases ([`hand_written`]).
//!
//! Everything is a pure function of the seed: the same seed gives the same cases byte for byte.

pub mod asm;
pub mod builder;
mod fam_btfptr;
mod fam_cfg;
mod fam_ctx;
mod fam_encoding;
mod fam_funcs;
mod fam_kfuncs;
mod fam_mapflags;
mod fam_maps;
mod fam_prune;
mod fam_ptr;
mod fam_regs;
mod fam_scalar;
mod fam_tc;
mod fam_tc_more;
mod fam_trace;
mod hand;
pub mod rng;

pub use hand::hand_written;
pub use rng::Rng;

use crate::case::Case;

/// A family generator: `(rng, target count) -> cases`.
pub type FamilyFn = fn(&mut Rng, usize) -> Vec<Case>;

/// Every family with its default case count.
pub const FAMILIES: &[(&str, FamilyFn, usize)] = &[
    ("uninit_reg", fam_regs::uninit_reg, 120),
    ("stack", fam_regs::stack, 150),
    ("spill_fill", fam_regs::spill_fill, 100),
    ("ctx_skb", fam_ctx::ctx_skb, 200),
    ("ctx_xdp", fam_ctx::ctx_xdp, 130),
    ("pkt_bounds", fam_ctx::pkt_bounds, 150),
    ("map_value", fam_maps::map_value, 150),
    ("helpers", fam_maps::helpers, 150),
    ("scalar_range", fam_scalar::scalar_range, 150),
    ("branch_refine", fam_scalar::branch_refine, 150),
    ("alu32", fam_scalar::alu32, 100),
    ("div_shift", fam_scalar::div_shift, 120),
    ("ptr_arith", fam_ptr::ptr_arith, 150),
    ("atomics", fam_ptr::atomics, 120),
    ("cfg", fam_cfg::cfg, 150),
    ("loops", fam_cfg::loops, 100),
    ("calls", fam_cfg::calls, 150),
    ("encoding", fam_encoding::encoding, 330),
    ("r11", fam_encoding::r11, 40),
    ("prune", fam_prune::prune, 200),
    ("funcs", fam_funcs::funcs, 150),
    ("prune_freq", prune_freq, 100),
    ("tc", fam_tc::tc, 560),
    ("map_flags", fam_mapflags::map_flags, 320),
    // these three need the kernel's BTF (`Case::needs_kernel_btf`)
    ("trace_ctx", fam_trace::trace_ctx, 300),
    ("btf_ptr", fam_btfptr::btf_ptr, 300),
    ("kfuncs", fam_kfuncs::kfuncs, 250),
];

/// The `prune` family with `BPF_F_TEST_STATE_FREQ` (a checkpoint at every prune point), which
/// the kernel's selftests use to exercise state comparison.
fn prune_freq(rng: &mut Rng, n: usize) -> Vec<Case> {
    let mut v = fam_prune::prune(rng, n);
    for c in &mut v {
        c.family = "prune_freq".to_string();
        c.prog_flags |= crate::load::BPF_F_TEST_STATE_FREQ;
    }
    v
}

/// The default seed of the captured corpus.
pub const DEFAULT_SEED: u64 = 0x6b62_7066_2d6f_7263;

/// Generates every family at its default count (`scale` multiplies counts; 1.0 = default).
/// Each family draws from its own sub-stream, so adding a family does not change the others.
pub fn generate(seed: u64, scale: f64) -> Vec<Case> {
    let root = Rng::new(seed);
    let mut out = Vec::new();
    for (k, &(name, f, count)) in FAMILIES.iter().enumerate() {
        let mut rng = root.fork(k as u64 + 1);
        let n = ((count as f64) * scale).round().max(1.0) as usize;
        let mut cases = f(&mut rng, n);
        for c in &mut cases {
            debug_assert_eq!(c.family, name);
            c.family = name.to_string();
        }
        out.extend(cases);
    }
    out
}

/// Generated cases plus the hand-written ones.
pub fn all_cases(seed: u64) -> Vec<Case> {
    let mut v = generate(seed, 1.0);
    v.extend(hand_written());
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn deterministic_unique_and_large_enough() {
        let a = all_cases(DEFAULT_SEED);
        let b = all_cases(DEFAULT_SEED);
        assert_eq!(a, b);
        assert!(a.len() >= 2000, "{} cases", a.len());
        let fams: HashSet<&str> = a.iter().map(|c| c.family.as_str()).collect();
        assert!(fams.len() >= 15);
        let mut names = HashSet::new();
        for c in &a {
            assert!(names.insert((c.family.clone(), c.name.clone())), "duplicate {}/{}", c.family, c.name);
            assert!(!c.slots.is_empty());
            assert!(
                c.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
                "{}",
                c.name
            );
        }
    }

    #[test]
    fn other_seed_differs() {
        assert_ne!(generate(1, 0.2), generate(2, 0.2));
    }
}
