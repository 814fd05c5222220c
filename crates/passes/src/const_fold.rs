//! Constant folding over r0..r9 and dead-branch pruning (the 2026 tree's `const_fold.c`).
//!
//! Linux 6.18 does not run this before the main walk, so the verifier uses the result only as a
//! side table (and for tests); [`prune_dead_branches`] is the rewrite the newer kernels apply.

use crate::postorder::Postorder;
use crate::raw::{self, CLASS_ALU, CLASS_ALU64, CLASS_JMP, CLASS_JMP32, CLASS_LD, CLASS_LDX, CLASS_STX};
use crate::successors::insn_successors;
use kbpf_isa::{JmpCond, RawInsn, Width};

/// Abstract value of one register.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ConstVal {
    /// No path reached this point yet.
    #[default]
    Unvisited,
    /// Always this 64-bit value.
    Const(u64),
    /// Anything.
    Unknown,
}

impl ConstVal {
    fn join(self, o: ConstVal) -> ConstVal {
        match (self, o) {
            (ConstVal::Unvisited, x) | (x, ConstVal::Unvisited) => x,
            (ConstVal::Const(a), ConstVal::Const(b)) if a == b => self,
            _ => ConstVal::Unknown,
        }
    }
}

/// Register values before each instruction.
pub type ConstRegs = [ConstVal; 10];

fn transfer(insn: &RawInsn, next: Option<&RawInsn>, st: &mut ConstRegs) {
    let d = insn.dst as usize;
    let set = |st: &mut ConstRegs, v: ConstVal| {
        if d < 10 {
            st[d] = v;
        }
    };
    let get = |st: &ConstRegs, r: u8| if (r as usize) < 10 { st[r as usize] } else { ConstVal::Unknown };
    match raw::class(insn) {
        CLASS_ALU | CLASS_ALU64 => {
            let w64 = raw::class(insn) == CLASS_ALU64;
            let src = if raw::src_is_reg(insn) {
                get(st, insn.src)
            } else {
                ConstVal::Const(insn.imm as i64 as u64)
            };
            let trunc = |v: u64| if w64 { v } else { v as u32 as u64 };
            let v = match (raw::op(insn), get(st, insn.dst), src) {
                (0xb0, _, ConstVal::Const(s)) if insn.off == 0 => ConstVal::Const(trunc(s)),
                (0x00, ConstVal::Const(a), ConstVal::Const(b)) if insn.off == 0 => {
                    ConstVal::Const(trunc(a.wrapping_add(b)))
                }
                (0x10, ConstVal::Const(a), ConstVal::Const(b)) if insn.off == 0 => {
                    ConstVal::Const(trunc(a.wrapping_sub(b)))
                }
                (0x50, _, ConstVal::Const(0)) => ConstVal::Const(0),
                _ => ConstVal::Unknown,
            };
            set(st, v);
        }
        CLASS_LD if raw::is_ldimm64(insn) => {
            let v = match (insn.src, next) {
                (0, Some(n)) => ConstVal::Const((insn.imm as u32 as u64) | ((n.imm as u32 as u64) << 32)),
                _ => ConstVal::Unknown,
            };
            set(st, v);
        }
        CLASS_LD => st[0] = ConstVal::Unknown,
        CLASS_LDX => set(st, ConstVal::Unknown),
        CLASS_STX if raw::mode(insn) == 0xc0 => {
            if insn.imm == 0xf1 {
                st[0] = ConstVal::Unknown;
            } else if insn.imm == 0x100 {
                set(st, ConstVal::Unknown);
            } else if insn.imm & 1 != 0 && (insn.src as usize) < 10 {
                st[insn.src as usize] = ConstVal::Unknown;
            }
        }
        CLASS_JMP if raw::op(insn) == raw::jop::CALL => {
            for r in st.iter_mut().take(6) {
                *r = ConstVal::Unknown;
            }
        }
        _ => {}
    }
}

/// Forward fixpoint. `out[i]` = register values before instruction `i`.
pub fn compute_const_regs(slots: &[RawInsn], postorder: &Postorder) -> Vec<ConstRegs> {
    let n = slots.len();
    let mut before = vec![[ConstVal::Unvisited; 10]; n];
    // Entry state of every subprogram: everything unknown.
    for w in postorder.starts.windows(2) {
        if let Some(&entry) = postorder.order.get(w[0]..w[1]).and_then(|s| s.last()) {
            before[entry] = [ConstVal::Unknown; 10];
        }
    }
    let mut changed = true;
    while changed {
        changed = false;
        for &idx in postorder.order.iter().rev() {
            if before[idx].iter().all(|v| *v == ConstVal::Unvisited) {
                continue;
            }
            let mut st = before[idx];
            transfer(&slots[idx], slots.get(idx + 1), &mut st);
            for s in insn_successors(slots, idx) {
                if s >= n {
                    continue;
                }
                let mut merged = before[s];
                for r in 0..10 {
                    merged[r] = merged[r].join(st[r]);
                }
                if merged != before[s] {
                    before[s] = merged;
                    changed = true;
                }
            }
        }
    }
    before
}

/// Rewrites conditional jumps whose operands are folded constants into `ja` (taken: the jump
/// offset; not taken: `ja +0`). `may_goto` is never folded. Returns the number rewritten.
pub fn prune_dead_branches(slots: &mut [RawInsn], consts: &[ConstRegs]) -> usize {
    let mut changed = 0;
    for i in 0..slots.len() {
        let insn = slots[i];
        let class = raw::class(&insn);
        if !(class == CLASS_JMP || class == CLASS_JMP32) {
            continue;
        }
        let Some(cond) = JmpCond::from_code(raw::op(&insn)) else { continue };
        let Some(st) = consts.get(i) else { continue };
        let get = |r: u8| if (r as usize) < 10 { st[r as usize] } else { ConstVal::Unknown };
        let (ConstVal::Const(a), ConstVal::Const(b)) = (
            get(insn.dst),
            if raw::src_is_reg(&insn) { get(insn.src) } else { ConstVal::Const(insn.imm as i64 as u64) },
        ) else {
            continue;
        };
        let width = if class == CLASS_JMP32 { Width::W32 } else { Width::W64 };
        let off = if cond.eval(width, a, b) { insn.off } else { 0 };
        slots[i] = RawInsn::new(0x05, 0, 0, off, 0);
        changed += 1;
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::postorder::compute_postorder;
    use crate::subprogs::add_subprogs;

    #[test]
    fn folds_and_prunes() {
        let mut p = vec![
            RawInsn::new(0xb7, 1, 0, 0, 3),
            RawInsn::new(0x07, 1, 0, 0, 4),
            RawInsn::new(0x15, 1, 0, 1, 7), // if r1 == 7 goto +1
            RawInsn::new(0xb7, 0, 0, 0, 1),
            RawInsn::new(0xb7, 0, 0, 0, 0),
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        let po = compute_postorder(&p, &add_subprogs(&p).unwrap());
        let c = compute_const_regs(&p, &po);
        assert_eq!(c[2][1], ConstVal::Const(7));
        assert_eq!(c[2][2], ConstVal::Unknown);
        assert_eq!(prune_dead_branches(&mut p, &c), 1);
        assert_eq!(p[2], RawInsn::new(0x05, 0, 0, 1, 0));
    }

    #[test]
    fn join_to_unknown() {
        let p = vec![
            RawInsn::new(0xb7, 0, 0, 0, 1),
            RawInsn::new(0x15, 1, 0, 1, 0),
            RawInsn::new(0xb7, 0, 0, 0, 2),
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        let po = compute_postorder(&p, &add_subprogs(&p).unwrap());
        let c = compute_const_regs(&p, &po);
        assert_eq!(c[3][0], ConstVal::Unknown);
        assert_eq!(c[2][0], ConstVal::Const(1));
    }
}
