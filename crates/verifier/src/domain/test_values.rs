//! Test support shared by the domain's soundness tests: scalars built from concrete value sets
//! and membership of a value in every view of a register.

use super::state::RegState;
use super::tnum::Tnum;

/// A scalar whose views are the exact hull of `vals` (then synced).
pub fn from_set(vals: &[u64]) -> RegState {
    let mut r = RegState::unknown_scalar();
    r.var_off = vals.iter().skip(1).fold(Tnum::konst(vals[0]), |a, &v| a.union(Tnum::konst(v)));
    r.b64.umin = *vals.iter().min().unwrap();
    r.b64.umax = *vals.iter().max().unwrap();
    r.b64.smin = vals.iter().map(|&v| v as i64).min().unwrap();
    r.b64.smax = vals.iter().map(|&v| v as i64).max().unwrap();
    r.b32.umin = vals.iter().map(|&v| v as u32).min().unwrap();
    r.b32.umax = vals.iter().map(|&v| v as u32).max().unwrap();
    r.b32.smin = vals.iter().map(|&v| v as i32).min().unwrap();
    r.b32.smax = vals.iter().map(|&v| v as i32).max().unwrap();
    r.bounds_sync();
    r
}

/// `v` lies in every view of `r`: the tnum and the four ranges.
pub fn has(r: &RegState, v: u64) -> bool {
    r.var_off.has(v)
        && (r.b64.umin..=r.b64.umax).contains(&v)
        && (r.b64.smin..=r.b64.smax).contains(&(v as i64))
        && (r.b32.umin..=r.b32.umax).contains(&(v as u32))
        && (r.b32.smin..=r.b32.smax).contains(&(v as i32))
}
