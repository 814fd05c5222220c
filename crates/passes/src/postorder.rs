//! Per-subprogram DFS postorder (`compute_postorder`); reverse postorder is the forward order
//! every fixpoint pass iterates in.

use crate::subprogs::Subprogs;
use crate::successors::insn_successors;
use kbpf_isa::SlotTable;

/// Postorder of all reachable instructions, subprogram by subprogram.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Postorder {
    /// Instruction indices.
    pub order: Vec<usize>,
    /// `starts[i]` = offset in `order` where subprog `i` begins (plus a final sentinel).
    pub starts: Vec<usize>,
}

const DISCOVERED: u8 = 1;
const EXPLORED: u8 = 2;

/// Computes the postorder.
pub fn compute_postorder(slots: &SlotTable<'_>, subprogs: &Subprogs) -> Postorder {
    let n = slots.len();
    let mut state = vec![0u8; n];
    let mut order = Vec::with_capacity(n);
    let mut starts = Vec::with_capacity(subprogs.len() + 1);
    let mut stack: Vec<usize> = Vec::new();
    for sp in &subprogs.list {
        starts.push(order.len());
        if sp.start.index() >= n {
            continue;
        }
        stack.clear();
        stack.push(sp.start.index());
        while let Some(&top) = stack.last() {
            state[top] |= DISCOVERED;
            if state[top] & EXPLORED != 0 {
                order.push(top);
                stack.pop();
                continue;
            }
            for s in insn_successors(slots, top) {
                if s < n && state[s] == 0 {
                    stack.push(s);
                    state[s] |= DISCOVERED;
                }
            }
            state[top] |= EXPLORED;
        }
    }
    starts.push(order.len());
    Postorder { order, starts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subprogs::add_subprogs;
    use kbpf_isa::RawInsn;

    #[test]
    fn diamond() {
        let p = [
            RawInsn::new(0x15, 1, 0, 1, 0),
            RawInsn::new(0xb7, 0, 0, 0, 1),
            RawInsn::new(0xb7, 0, 0, 0, 2),
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        let p = SlotTable::new(&p);
        let po = compute_postorder(&p, &add_subprogs(&p).unwrap());
        assert_eq!(po.order, vec![3, 2, 1, 0]);
        assert_eq!(po.starts, vec![0, 4]);
    }
}
