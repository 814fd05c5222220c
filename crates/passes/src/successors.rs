//! The single successor oracle every fixpoint pass uses (`bpf_insn_successors`).
//!
//! Calls fall through (the callee is not a successor inside the caller's subprogram), `exit` has
//! none, `ja`/`gotol` jump, conditional jumps and `may_goto` have the fall-through first.

use crate::shape::{Flow, shape};
use kbpf_isa::SlotTable;
use smallvec::SmallVec;

/// Successor list of one instruction (at most two).
pub type Succ = SmallVec<[usize; 2]>;

/// Successors of slot `idx`. Targets are not range-checked (the CFG check did that).
pub fn insn_successors(table: &SlotTable<'_>, idx: usize) -> Succ {
    let mut out = Succ::new();
    if idx >= table.len() {
        return out;
    }
    let s = shape(table, idx);
    // a subprogram reference (`ld_imm64` of a function) only falls through
    let (jump, fall) = match s.flow {
        Flow::Exit => (None, false),
        Flow::Goto(off) => (Some(off), false),
        Flow::Cond { off, .. } => (Some(off), true),
        Flow::Next | Flow::Call { .. } | Flow::FuncRef(_) => (None, true),
    };
    if fall {
        out.push(idx + s.len);
    }
    if let Some(off) = jump {
        let t = idx as i64 + off + 1;
        if t >= 0 {
            out.push(t as usize);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbpf_isa::RawInsn;

    #[test]
    fn shapes() {
        let p = [
            RawInsn::new(0x18, 1, 0, 0, 0),
            RawInsn::new(0, 0, 0, 0, 0),
            RawInsn::new(0x15, 1, 0, 1, 0),
            RawInsn::new(0x05, 0, 0, -4, 0),
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        let p = SlotTable::new(&p);
        assert_eq!(insn_successors(&p, 0).as_slice(), &[2]);
        assert_eq!(insn_successors(&p, 2).as_slice(), &[3, 4]);
        assert_eq!(insn_successors(&p, 3).as_slice(), &[0]);
        assert!(insn_successors(&p, 4).is_empty());
    }
}
