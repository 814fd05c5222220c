//! Branch conditions over the abstract domain, with no environment: which way a comparison of
//! two registers goes (`is_branch_taken`) and how each edge refines them (`regs_refine_cond_op`),
//! written once over the generic bounds for both widths.

use crate::domain::state::{MAYBE_NULL, RegState, RegType};
use crate::domain::tnum::Tnum;
use crate::domain::width::{Bounds, Word};
use kbpf_isa::JmpCond;

/// A condition as refinement sees it: the ISA's conditions plus the negation of `&`, which
/// has no opcode of its own (the kernel's `rev_opcode(BPF_JSET)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    /// An encodable condition.
    Is(JmpCond),
    /// `!(a & b)`.
    NotSet,
}

// Short names for the patterns below, in the kernel's spelling.
pub(crate) const JEQ: Cond = Cond::Is(JmpCond::Eq);
pub(crate) const JGT: Cond = Cond::Is(JmpCond::Gt);
pub(crate) const JGE: Cond = Cond::Is(JmpCond::Ge);
pub(crate) const JSET: Cond = Cond::Is(JmpCond::Set);
pub(crate) const JNE: Cond = Cond::Is(JmpCond::Ne);
pub(crate) const JSGT: Cond = Cond::Is(JmpCond::Sgt);
pub(crate) const JSGE: Cond = Cond::Is(JmpCond::Sge);
pub(crate) const JLT: Cond = Cond::Is(JmpCond::Lt);
pub(crate) const JLE: Cond = Cond::Is(JmpCond::Le);
pub(crate) const JSLT: Cond = Cond::Is(JmpCond::Slt);
pub(crate) const JSLE: Cond = Cond::Is(JmpCond::Sle);
pub(crate) const JSET_NOT: Cond = Cond::NotSet;

pub(crate) const AT_PKT_END: i32 = -1;
pub(crate) const BEYOND_PKT_END: i32 = -2;
pub(crate) const MAX_PACKET_OFF: u64 = 0xffff;

/// The condition with operands swapped.
pub(crate) fn flip(op: Cond) -> Cond {
    match op {
        Cond::Is(c) => Cond::Is(c.swap()),
        Cond::NotSet => Cond::NotSet,
    }
}

/// The condition that holds exactly when `op` does not.
pub(crate) fn rev(op: Cond) -> Cond {
    match op {
        Cond::Is(c) => c.negate().map_or(Cond::NotSet, Cond::Is),
        Cond::NotSet => JSET,
    }
}

pub(crate) fn is_reg_const(r: &RegState, w32: bool) -> bool {
    r.ty == RegType::Scalar && if w32 { r.var_off.subreg().is_const() } else { r.var_off.is_const() }
}

pub(crate) fn reg_const(r: &RegState, w32: bool) -> u64 {
    if w32 { r.var_off.value as u32 as u64 } else { r.var_off.value }
}

pub(crate) fn reg_not_null(r: &RegState) -> bool {
    r.flags & MAYBE_NULL == 0
        && matches!(
            r.ty,
            RegType::Sock
                | RegType::TcpSock
                | RegType::MapValue
                | RegType::MapKey
                | RegType::SockCommon
                | RegType::Mem
                | RegType::ConstMapPtr
        )
}

pub(crate) fn is_pkt_any(r: &RegState) -> bool {
    matches!(r.ty, RegType::Packet | RegType::PacketMeta | RegType::PacketEnd)
}

/// `is_scalar_branch_taken`: 1 taken, 0 not taken, -1 unknown.
pub fn scalar_branch_taken(r1: &RegState, r2: &RegState, op: Cond, w32: bool) -> i32 {
    if w32 { scalar_taken::<u32>(r1, r2, op) } else { scalar_taken::<u64>(r1, r2, op) }
}

/// The two ranges share no value.
fn disjoint<W: Word>(a: &Bounds<W>, b: &Bounds<W>) -> bool {
    a.umin > b.umax || a.umax < b.umin || a.smin > b.smax || a.smax < b.smin
}

/// `is_scalar_branch_taken` in the view `W`.
fn scalar_taken<W: Word>(r1: &RegState, r2: &RegState, op: Cond) -> i32 {
    let w32 = W::BITS == 32;
    let (mut r1, mut r2) = (r1, r2);
    let (mut t1, mut t2) = (W::view(r1.var_off), W::view(r2.var_off));
    let (a, b) = (W::get(r1), W::get(r2));
    match op {
        JEQ | JNE => {
            let eq = op == JEQ;
            if t1.is_const() && t2.is_const() {
                return ((t1.value == t2.value) == eq) as i32;
            }
            // a 64-bit comparison also fails when the subregisters cannot be equal
            let disjoint =
                !t1.overlaps(t2) || disjoint(&a, &b) || (!w32 && disjoint(&u32::get(r1), &u32::get(r2)));
            if disjoint {
                return if eq { 0 } else { 1 };
            }
        }
        JSET => {
            if !is_reg_const(r2, w32) {
                std::mem::swap(&mut r1, &mut r2);
                std::mem::swap(&mut t1, &mut t2);
            }
            if !is_reg_const(r2, w32) {
                return -1;
            }
            if (!t1.mask & t1.value) & t2.value != 0 {
                return 1;
            }
            if (t1.mask | t1.value) & t2.value == 0 {
                return 0;
            }
        }
        JGT => {
            if a.umin > b.umax {
                return 1;
            } else if a.umax <= b.umin {
                return 0;
            }
        }
        JSGT => {
            if a.smin > b.smax {
                return 1;
            } else if a.smax <= b.smin {
                return 0;
            }
        }
        JLT => {
            if a.umax < b.umin {
                return 1;
            } else if a.umin >= b.umax {
                return 0;
            }
        }
        JSLT => {
            if a.smax < b.smin {
                return 1;
            } else if a.smin >= b.smax {
                return 0;
            }
        }
        JGE => {
            if a.umin >= b.umax {
                return 1;
            } else if a.umax < b.umin {
                return 0;
            }
        }
        JSGE => {
            if a.smin >= b.smax {
                return 1;
            } else if a.smax < b.smin {
                return 0;
            }
        }
        JLE => {
            if a.umax <= b.umin {
                return 1;
            } else if a.umin > b.umax {
                return 0;
            }
        }
        JSLE => {
            if a.smax <= b.smin {
                return 1;
            } else if a.smin > b.smax {
                return 0;
            }
        }
        _ => {}
    }
    -1
}

fn pkt_branch_taken(r1: &RegState, r2: &RegState, op: Cond) -> i32 {
    let (pkt, op) = if r1.ty == RegType::PacketEnd {
        (r2, flip(op))
    } else if r2.ty == RegType::PacketEnd {
        (r1, op)
    } else {
        return -1;
    };
    if pkt.range >= 0 {
        return -1;
    }
    match op {
        JLE | JLT if pkt.range == BEYOND_PKT_END || (op == JLT && pkt.range == AT_PKT_END) => 0,
        JGT | JGE if pkt.range == BEYOND_PKT_END || (op == JGE && pkt.range == AT_PKT_END) => 1,
        _ => -1,
    }
}

/// `is_branch_taken`.
pub fn branch_taken(r1: &RegState, r2: &RegState, op: Cond, w32: bool) -> i32 {
    if is_pkt_any(r1) && is_pkt_any(r2) && !w32 {
        return pkt_branch_taken(r1, r2, op);
    }
    if r1.is_pointer() || r2.is_pointer() {
        let (mut a, mut b, mut op) = (r1, r2, op);
        if !is_reg_const(b, w32) {
            op = flip(op);
            std::mem::swap(&mut a, &mut b);
        }
        if !is_reg_const(b, w32) || !reg_not_null(a) || reg_const(b, w32) != 0 {
            return -1;
        }
        return match op {
            JEQ => 0,
            JNE => 1,
            _ => -1,
        };
    }
    scalar_branch_taken(r1, r2, op, w32)
}

/// `regs_refine_cond_op`.
pub fn refine_cond_op(r1: &mut RegState, r2: &mut RegState, op: Cond, w32: bool) {
    if w32 { refine::<u32>(r1, r2, op) } else { refine::<u64>(r1, r2, op) }
}

/// `regs_refine_cond_op` in the view `W`: only that view's ranges and tnum bits change.
fn refine<W: Word>(r1: &mut RegState, r2: &mut RegState, op: Cond) {
    let w32 = W::BITS == 32;
    let (r1, r2, op) = match op {
        JGE | JGT | JSGE | JSGT => (r2, r1, flip(op)),
        _ => (r1, r2, op),
    };
    let (mut a, mut b) = (W::get(r1), W::get(r2));
    match op {
        JEQ => {
            a.umin = a.umin.max(b.umin);
            a.umax = a.umax.min(b.umax);
            a.smin = a.smin.max(b.smin);
            a.smax = a.smax.min(b.smax);
            b = a;
            let t = W::view(r1.var_off).intersect(W::view(r2.var_off));
            r1.var_off = W::with_view(r1.var_off, t);
            r2.var_off = W::with_view(r2.var_off, t);
        }
        JNE | JSET | JSET_NOT => {
            let (r1, r2) = if !is_reg_const(r2, w32) { (r2, r1) } else { (r1, r2) };
            if !is_reg_const(r2, w32) {
                return;
            }
            let val = reg_const(r2, w32);
            match op {
                JNE => {
                    let mut c = W::get(r1);
                    let v = W::trunc(val);
                    if c.umin == v {
                        c.umin = c.umin.inc();
                    }
                    if c.umax == v {
                        c.umax = c.umax.dec();
                    }
                    if c.smin == v.to_s() {
                        c.smin = W::s_inc(c.smin);
                    }
                    if c.smax == v.to_s() {
                        c.smax = W::s_dec(c.smax);
                    }
                    W::put(r1, c);
                }
                JSET => {
                    if !val.is_power_of_two() {
                        return;
                    }
                    r1.var_off = W::with_view(r1.var_off, W::view(r1.var_off).or(Tnum::konst(val)));
                }
                _ => {
                    r1.mark_unbounded();
                    r1.var_off = W::with_view(r1.var_off, W::view(r1.var_off).and(Tnum::konst(!val)));
                }
            }
            return;
        }
        JLE => {
            a.umax = a.umax.min(b.umax);
            b.umin = a.umin.max(b.umin);
        }
        JLT => {
            a.umax = a.umax.min(b.umax.dec());
            b.umin = a.umin.inc().max(b.umin);
        }
        JSLE => {
            a.smax = a.smax.min(b.smax);
            b.smin = a.smin.max(b.smin);
        }
        JSLT => {
            a.smax = a.smax.min(W::s_dec(b.smax));
            b.smin = W::s_inc(a.smin).max(b.smin);
        }
        _ => return,
    }
    W::put(r1, a);
    W::put(r2, b);
}

#[cfg(test)]
#[path = "cond_tests.rs"]
mod tests;
