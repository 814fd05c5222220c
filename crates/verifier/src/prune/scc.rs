//! SCC visits (the kernel's `maybe_enter_scc`, `maybe_exit_scc`, `incomplete_read_marks`):
//! loop back-edges recorded while an SCC is being walked, and their precision propagated when
//! the walk leaves it.

use crate::domain::state::VerifierState;
use crate::env::ctx::Prune;
use crate::env::{Program, Search};

impl Prune<'_, '_> {
    pub(crate) fn maybe_enter_scc(&mut self, ci: usize) {
        let st = self.search.arena[ci].st.clone();
        let Some(chain) = callchain(self.prog, &st) else { return };
        let v = self.search.visits.entry(chain.clone()).or_default();
        if v.entry.is_none() {
            v.entry = Some(ci);
            if self.log.verbose2() {
                self.log.put(&format!("SCC enter {}\n", fmt_chain(&chain)));
            }
        }
    }

    pub(crate) fn maybe_exit_scc(&mut self, ci: usize) {
        let st = self.search.arena[ci].st.clone();
        let Some(chain) = callchain(self.prog, &st) else { return };
        let Some(v) = self.search.visits.get_mut(&chain) else { return };
        if v.entry != Some(ci) {
            return;
        }
        v.entry = None;
        let backedges = std::mem::take(&mut v.backedges);
        if self.log.verbose2() {
            self.log.put(&format!("SCC exit {}\n", fmt_chain(&chain)));
        }
        self.stats.num_backedges -= backedges.len() as u64;
        self.propagate_backedges(backedges);
    }

    /// Re-propagates precision through the recorded loop back-edges until nothing changes.
    fn propagate_backedges(&mut self, mut backedges: Vec<(VerifierState, usize)>) {
        const MAX_BACKEDGE_ITERS: usize = 64;
        for _ in 0..MAX_BACKEDGE_ITERS {
            let mut changed = false;
            // the kernel keeps back-edges in a list, newest first
            for (st, ci) in backedges.iter_mut().rev() {
                let old = self.search.arena[*ci].st.clone();
                std::mem::swap(&mut *self.cur, st);
                changed |= self.precision().propagate_precision(&old);
                std::mem::swap(&mut *self.cur, st);
            }
            if !changed {
                return;
            }
        }
    }
}

impl Search {
    /// Whether `st`'s SCC visit still has back-edges to propagate (`incomplete_read_marks`).
    pub(crate) fn incomplete_read_marks(&self, prog: &Program<'_>, st: &VerifierState) -> bool {
        callchain(prog, st).and_then(|c| self.visits.get(&c)).is_some_and(|v| !v.backedges.is_empty())
    }
}

/// `compute_scc_callchain`: call sites down to the outermost frame inside an SCC.
pub(super) fn callchain(prog: &Program<'_>, st: &VerifierState) -> Option<Vec<u32>> {
    let mut chain = Vec::new();
    let cf = st.frames.len() - 1;
    for i in 0..=cf {
        let idx = if i == cf { st.insn_idx.index() } else { st.frames[i + 1].callsite.max(0) as usize };
        let scc = prog.info.scc.get(idx).copied().unwrap_or(0);
        if scc != 0 {
            chain.push(scc);
            return Some(chain);
        } else if i < cf {
            chain.push(idx as u32);
        }
    }
    None
}

pub(super) fn fmt_chain(chain: &[u32]) -> String {
    format!("({})", chain.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(","))
}
