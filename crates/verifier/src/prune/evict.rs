//! The explored-states list of an instruction over time (the kernel's `is_state_visited`
//! bookkeeping): evicting checkpoints that stopped paying for themselves, counting a hit,
//! `clean_live_states` (finished checkpoints forget dead registers and stack slots), the
//! hash bucket and the peak-states statistic.

use crate::domain::state::{RegState, VerifierState};
use crate::env::ctx::Prune;
use crate::messages::Reject;
use crate::prune::scc::{callchain, fmt_chain};
use kbpf_isa::SlotIdx;

impl Prune<'_, '_> {
    /// Drops the checkpoints that stopped paying for themselves from the list of `slot`.
    /// Unlinks the evicted checkpoints from this instruction's bucket; those nothing refers to
    /// (`keep` false: no children, no pending back-edges) are freed at once.
    pub(super) fn evict(&mut self, slot: SlotIdx, evict: &[(usize, bool)]) {
        if !evict.is_empty() {
            let b = self.bucket(slot);
            self.search.explored[b].retain(|i| !evict.iter().any(|(e, _)| e == i));
            self.search.explored_size -= evict.len() as u64;
            for &(ci, keep) in evict {
                if !keep {
                    self.search.free_checkpoint(ci);
                }
            }
        }
    }

    /// A hit on checkpoint `ci`: the kernel unlinks each evicted checkpoint the moment it
    /// misses, so those the scan evicted before reaching `ci` are gone even though it hit.
    pub(super) fn evict_then_hit(
        &mut self,
        slot: SlotIdx,
        evict: &[(usize, bool)],
        ci: usize,
        is_loop: bool,
    ) -> Result<bool, Reject> {
        self.evict(slot, evict);
        self.hit(ci, slot, is_loop)
    }

    pub(super) fn hit(&mut self, ci: usize, slot: SlotIdx, is_loop: bool) -> Result<bool, Reject> {
        self.search.arena[ci].hit_cnt += 1;
        if self.prog.info.cfg.marks[slot.index()].jmp_point {
            self.walk().push_hist(None);
        }
        let old = self.search.arena[ci].st.clone();
        self.precision().propagate_precision(&old);
        if is_loop && let Some(chain) = callchain(self.prog, &old) {
            let mut st = self.cur.clone();
            st.insn_idx = slot;
            if self.log.verbose2() {
                self.log.put(&format!("SCC backedge {}\n", fmt_chain(&chain)));
            }
            self.search.visits.entry(chain).or_default().backedges.push((st, ci));
            self.stats.num_backedges += 1;
            self.update_peak();
        }
        Ok(true)
    }

    /// `clean_live_states`: finished checkpoints at this instruction forget dead registers.
    pub(super) fn clean_live_states(&mut self, slot: SlotIdx, list: &[usize]) {
        let insn_idx = slot.index();
        for &ci in list {
            let cp = &self.search.arena[ci];
            if cp.branches > 0 || cp.cleaned || cp.st.insn_idx.index() != insn_idx {
                continue;
            }
            if cp.st.frames.len() != self.cur.frames.len()
                || cp.st.frames.iter().zip(self.cur.frames.iter()).any(|(a, b)| a.callsite != b.callsite)
            {
                continue;
            }
            if self.search.incomplete_read_marks(self.prog, &cp.st) {
                continue;
            }
            let nf = cp.st.frames.len();
            let ips: Vec<usize> = (0..nf)
                .map(|i| if i == nf - 1 { insn_idx } else { cp.st.frames[i + 1].callsite.max(0) as usize })
                .collect();
            let lives: Vec<u16> =
                ips.iter().map(|&ip| self.prog.info.live_regs.get(ip).copied().unwrap_or(0xffff)).collect();
            let stack_lives = self.search.live.alive(self.prog, &self.search.arena[ci].st);
            let cp = &mut self.search.arena[ci];
            for ((f, live), slive) in cp.st.frames.iter_mut().zip(lives).zip(stack_lives) {
                for (r, reg) in f.regs.iter_mut().enumerate().take(10) {
                    if live & (1 << r) == 0 {
                        *reg = RegState::not_init();
                    }
                }
                let dead = |spi: usize| spi < 64 && slive & (1 << spi) == 0;
                let blank = crate::domain::state::StackSlot::default();
                // the stack may be shared with other states: unshare it only to change it
                if f.stack.iter().enumerate().any(|(spi, slot)| dead(spi) && *slot != blank) {
                    for (spi, slot) in f.stack.iter_mut().enumerate() {
                        if dead(spi) {
                            *slot = blank.clone();
                        }
                    }
                }
            }
            cp.cleaned = true;
        }
    }

    pub(crate) fn update_peak(&mut self) {
        let s = &self.search;
        let live = s.explored_size + s.free_list_size + self.stats.num_backedges;
        self.stats.peak_states = self.stats.peak_states.max(live);
    }

    /// [`bucket`] for the current state.
    pub(super) fn bucket(&self, slot: SlotIdx) -> usize {
        bucket(self.cur, self.prog.table.len(), slot.index())
    }
}

/// Hash bucket of the explored-states table: `(insn ^ callsite) % len` like the kernel, so
/// states of different instructions may share a bucket (and count in `max_states_per_insn`).
pub(super) fn bucket(cur: &VerifierState, slots: usize, insn_idx: usize) -> usize {
    let callsite = cur.cur().callsite as i32;
    let n = slots.max(1) as u32;
    (((insn_idx as i32) ^ callsite) as u32 % n) as usize
}
