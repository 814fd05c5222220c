//! Strongly connected components of the instruction graph (`compute_scc`): an iterative Tarjan
//! in Pearce's formulation. Only non-trivial components (two or more instructions, or a
//! self-loop) get an id, numbered from 1 in completion order; everything else is 0.

use crate::shape::{Flow, shape};
use crate::successors::insn_successors;
use kbpf_isa::{BpfFunc, CallKind, SlotTable};

/// `scc[i]` = component id of instruction `i` (0 = not in a loop).
pub fn compute_scc(slots: &SlotTable<'_>) -> Vec<u32> {
    const NOT_ON_STACK: u32 = u32::MAX;
    let n = slots.len();
    let mut scc = vec![0u32; n];
    let mut pre = vec![0u32; n];
    let mut low = vec![0u32; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut dfs: Vec<usize> = Vec::new();
    let mut next_pre = 1u32;
    let mut next_id = 1u32;
    for root in 0..n {
        if pre[root] != 0 {
            continue;
        }
        stack.clear();
        dfs.clear();
        dfs.push(root);
        'dfs: while let Some(&w) = dfs.last() {
            if pre[w] == 0 {
                low[w] = next_pre;
                pre[w] = next_pre;
                next_pre += 1;
                stack.push(w);
            }
            let succ = insn_successors(slots, w);
            for &s in succ.iter().filter(|&&s| s < n) {
                if pre[s] != 0 {
                    low[w] = low[w].min(low[s]);
                } else {
                    dfs.push(s);
                    continue 'dfs;
                }
            }
            if low[w] < pre[w] {
                dfs.pop();
                continue;
            }
            // a callback-calling helper is an implicit loop (the callback's exit comes back
            // to the call), so it gets an id of its own
            let assign = stack.last() != Some(&w) || succ.contains(&w) || calls_sync_callback(slots, w);
            while let Some(t) = stack.pop() {
                low[t] = NOT_ON_STACK;
                if assign {
                    scc[t] = next_id;
                }
                if t == w {
                    break;
                }
            }
            if assign {
                next_id += 1;
            }
            dfs.pop();
        }
    }
    scc
}

/// `bpf_calls_callback` for helpers: a call of `bpf_loop`, `bpf_for_each_map_elem`, ...
fn calls_sync_callback(slots: &SlotTable<'_>, idx: usize) -> bool {
    match shape(slots, idx).flow {
        Flow::Call { kind: Some(CallKind::Helper), imm } => {
            BpfFunc::from_id(imm).is_some_and(BpfFunc::calls_sync_callback)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbpf_isa::RawInsn;

    #[test]
    fn loop_gets_id() {
        // 0: r0 = 0; 1: r0 += 1; 2: if r0 < 10 goto 1; 3: exit
        let p = [
            RawInsn::new(0xb7, 0, 0, 0, 0),
            RawInsn::new(0x07, 0, 0, 0, 1),
            RawInsn::new(0xa5, 0, 0, -2, 10),
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        assert_eq!(compute_scc(&SlotTable::new(&p)), vec![0, 1, 1, 0]);
        // self loop
        let p = [RawInsn::new(0x15, 0, 0, -1, 0), RawInsn::new(0x95, 0, 0, 0, 0)];
        assert_eq!(compute_scc(&SlotTable::new(&p)), vec![1, 0]);
    }
}
