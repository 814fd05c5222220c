//! The single successor oracle every fixpoint pass uses (`bpf_insn_successors`).
//!
//! Calls fall through (the callee is not a successor inside the caller's subprogram), `exit` has
//! none, `ja`/`gotol` jump, conditional jumps and `may_goto` have the fall-through first.

use kbpf_isa::{JmpOp, RawInsn};
use smallvec::SmallVec;

/// Successor list of one instruction (at most two).
pub type Succ = SmallVec<[usize; 2]>;

/// Successors of `slots[idx]`. Targets are not range-checked (the CFG check did that).
pub fn insn_successors(slots: &[RawInsn], idx: usize) -> Succ {
    let mut out = Succ::new();
    let Some(insn) = slots.get(idx) else { return out };
    let (can_jump, can_fall) = match insn.jmp_op() {
        Some(JmpOp::Exit) => (false, false),
        Some(JmpOp::Ja) => (true, false),
        Some(JmpOp::Call) => (false, true),
        Some(_) => (true, true),
        None => (false, true),
    };
    if can_fall {
        out.push(idx + insn.slot_len());
    }
    if can_jump {
        let t = idx as i64 + insn.jmp_offset() + 1;
        if t >= 0 {
            out.push(t as usize);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let p = [
            RawInsn::new(0x18, 1, 0, 0, 0),
            RawInsn::new(0, 0, 0, 0, 0),
            RawInsn::new(0x15, 1, 0, 1, 0),
            RawInsn::new(0x05, 0, 0, -4, 0),
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        assert_eq!(insn_successors(&p, 0).as_slice(), &[2]);
        assert_eq!(insn_successors(&p, 2).as_slice(), &[3, 4]);
        assert_eq!(insn_successors(&p, 3).as_slice(), &[0]);
        assert!(insn_successors(&p, 4).is_empty());
    }
}
