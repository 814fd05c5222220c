//! Delta debugging over instructions: drop one instruction at a time (branch and call offsets
//! re-aimed, a removed target's jumps landing on its successor) while the violation keeps its
//! kind, until no single removal keeps it.

use kbpf_isa::{CallTarget, Insn};

/// Branch and call targets as instruction indices (`None`: not a branch).
fn targets(insns: &[Insn]) -> Vec<Option<usize>> {
    let mut slot_of = Vec::with_capacity(insns.len() + 1);
    let mut pc = 0usize;
    for i in insns {
        slot_of.push(pc);
        pc += i.slots();
    }
    slot_of.push(pc);
    let index_of = |slot: i64| slot_of.iter().position(|&s| s as i64 == slot);
    insns
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let here = slot_of[k] as i64;
            let off = match *i {
                Insn::Jmp { off, .. } | Insn::Ja { off } | Insn::MayGoto { off } => off as i64,
                Insn::Call(CallTarget::Local(imm)) => imm as i64,
                _ => return None,
            };
            index_of(here + off + 1)
        })
        .collect()
}

/// `insns` without instruction `drop`, its branches re-aimed.
pub fn without(insns: &[Insn], drop: usize) -> Vec<Insn> {
    let t = targets(insns);
    let kept: Vec<usize> = (0..insns.len()).filter(|&k| k != drop).collect();
    // new index of old instruction k (a dropped one maps to its successor)
    let new_index = |k: usize| if k > drop { k - 1 } else { k };
    let mut slot_of = Vec::with_capacity(kept.len() + 1);
    let mut pc = 0usize;
    for &k in &kept {
        slot_of.push(pc);
        pc += insns[k].slots();
    }
    slot_of.push(pc);
    kept.iter()
        .enumerate()
        .map(|(n, &k)| {
            let Some(old_t) = t[k] else { return insns[k] };
            let nt = new_index(old_t).min(kept.len());
            let rel = slot_of[nt] as i64 - slot_of[n] as i64 - 1;
            match insns[k] {
                Insn::Jmp { width, cond, dst, src, .. } => {
                    Insn::Jmp { width, cond, dst, src, off: rel as i16 }
                }
                Insn::Ja { .. } => Insn::Ja { off: rel as i16 },
                Insn::MayGoto { .. } => Insn::MayGoto { off: rel as i16 },
                Insn::Call(CallTarget::Local(_)) => Insn::Call(CallTarget::Local(rel as i32)),
                other => other,
            }
        })
        .collect()
}

/// Shrinks `insns` while `still_fails` holds.
pub fn minimise(insns: &[Insn], still_fails: &mut dyn FnMut(&[Insn]) -> bool) -> Vec<Insn> {
    let mut cur = insns.to_vec();
    loop {
        let mut shrunk = false;
        let mut k = cur.len();
        while k > 0 {
            k -= 1;
            if k >= cur.len() {
                continue;
            }
            let cand = without(&cur, k);
            if still_fails(&cand) {
                cur = cand;
                shrunk = true;
            }
        }
        if !shrunk {
            return cur;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbpf_isa::{AluOp, JmpCond, Reg, Src, Width};

    #[test]
    fn reaims_branches() {
        let mov = |v| Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Src::Imm(v) };
        let j = Insn::Jmp { width: Width::W64, cond: JmpCond::Eq, dst: Reg::R0, src: Src::Imm(0), off: 2 };
        let p = vec![j, mov(1), mov(2), mov(3), Insn::Exit];
        let q = without(&p, 1);
        assert_eq!(
            q[0],
            Insn::Jmp { width: Width::W64, cond: JmpCond::Eq, dst: Reg::R0, src: Src::Imm(0), off: 1 }
        );
        // dropping the target lands on its successor
        let r = without(&p, 3);
        assert_eq!(
            r[0],
            Insn::Jmp { width: Width::W64, cond: JmpCond::Eq, dst: Reg::R0, src: Src::Imm(0), off: 2 }
        );
    }
}
