//! Checkpoints and pruning (`is_state_visited`, `states_equal`, `regsafe`, `stacksafe`,
//! `refsafe`), including the infinite-loop check.

use crate::do_check::{Checkpoint, Env};
use crate::messages::Reject;
use crate::state::{FuncState, RegState, RegType, SLOT, SlotType, StackSlot, VerifierState};

/// Comparison strictness (`enum exact_level`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Exact {
    /// Pruning: old must be at least as general; imprecise scalars are don't-care.
    NotExact,
    /// Like `NotExact`, but every scalar is compared by range.
    RangeWithin,
    /// Equality (infinite-loop detection).
    Exact,
}

/// Old-id to current-id mapping built during one comparison (`struct bpf_idmap`).
struct IdMap {
    pairs: Vec<(u32, u32)>,
    tmp_id_gen: u32,
}

impl IdMap {
    fn check(&mut self, old: u32, cur: u32) -> bool {
        if (old == 0) != (cur == 0) {
            return false;
        }
        if old == 0 {
            return true;
        }
        for &(o, c) in &self.pairs {
            if o == old {
                return c == cur;
            }
            if c == cur {
                return false;
            }
        }
        self.pairs.push((old, cur));
        true
    }

    fn check_scalar(&mut self, old: u32, cur: u32) -> bool {
        if old == 0 {
            return true;
        }
        let cur = if cur != 0 {
            cur
        } else {
            self.tmp_id_gen += 1;
            self.tmp_id_gen
        };
        self.check(old, cur)
    }
}

fn range_within(old: &RegState, cur: &RegState) -> bool {
    old.umin <= cur.umin
        && old.umax >= cur.umax
        && old.smin <= cur.smin
        && old.smax >= cur.smax
        && old.u32_min <= cur.u32_min
        && old.u32_max >= cur.u32_max
        && old.s32_min <= cur.s32_min
        && old.s32_max >= cur.s32_max
}

/// Field-wise equality of everything the kernel's `memcmp(..., offsetof(id))` covers.
fn same_value_fields(a: &RegState, b: &RegState) -> bool {
    a.ty == b.ty
        && a.flags == b.flags
        && a.off == b.off
        && a.map == b.map
        && a.range == b.range
        && a.mem_size == b.mem_size
        && a.subprogno == b.subprogno
        && a.var_off == b.var_off
        && a.smin == b.smin
        && a.smax == b.smax
        && a.umin == b.umin
        && a.umax == b.umax
        && a.s32_min == b.s32_min
        && a.s32_max == b.s32_max
        && a.u32_min == b.u32_min
        && a.u32_max == b.u32_max
}

fn regs_exact(old: &RegState, cur: &RegState, idmap: &mut IdMap) -> bool {
    same_value_fields(old, cur) && idmap.check(old.id, cur.id) && idmap.check(old.ref_obj_id, cur.ref_obj_id)
}

fn regsafe(old: &RegState, cur: &RegState, idmap: &mut IdMap, exact: Exact) -> bool {
    if exact == Exact::Exact {
        return regs_exact(old, cur, idmap);
    }
    if old.ty == RegType::NotInit && (exact == Exact::NotExact || cur.ty == RegType::NotInit) {
        return true;
    }
    if old.ty != cur.ty || old.flags != cur.flags {
        return false;
    }
    match old.ty {
        RegType::Scalar => {
            if !old.precise && exact == Exact::NotExact {
                return true;
            }
            if (old.id & crate::ADD_CONST) != (cur.id & crate::ADD_CONST) {
                return false;
            }
            if old.id & crate::ADD_CONST != 0 && old.off != cur.off {
                return false;
            }
            range_within(old, cur) && old.var_off.contains(cur.var_off) && idmap.check_scalar(old.id, cur.id)
        }
        RegType::MapValue | RegType::Mem => {
            old.off == cur.off
                && old.map == cur.map
                && old.mem_size == cur.mem_size
                && range_within(old, cur)
                && old.var_off.contains(cur.var_off)
                && idmap.check(old.id, cur.id)
                && idmap.check(old.ref_obj_id, cur.ref_obj_id)
        }
        RegType::Packet | RegType::PacketMeta => {
            if old.range < 0 || cur.range < 0 {
                if old.range != cur.range {
                    return false;
                }
            } else if old.range > cur.range {
                return false;
            }
            old.off == cur.off
                && idmap.check(old.id, cur.id)
                && range_within(old, cur)
                && old.var_off.contains(cur.var_off)
        }
        RegType::Stack => regs_exact(old, cur, idmap) && old.frameno == cur.frameno,
        _ => regs_exact(old, cur, idmap),
    }
}

fn scalar_for_stack(s: &StackSlot) -> Option<RegState> {
    if s.types[0] == SlotType::Spill && s.spilled.ty == RegType::Scalar {
        return Some(s.spilled.clone());
    }
    // root may read uninitialized stack, so INVALID counts as MISC here
    if s.types.iter().all(|t| matches!(t, SlotType::Misc | SlotType::Invalid)) {
        return Some(RegState::unknown_scalar());
    }
    None
}

fn stacksafe(old: &FuncState, cur: &FuncState, idmap: &mut IdMap, exact: Exact) -> bool {
    let old_len = old.allocated_stack();
    let cur_len = cur.allocated_stack();
    let mut i = 0;
    while i < old_len {
        let spi = i / SLOT;
        let b = i % SLOT;
        let ot = old.stack[spi].types[b];
        if exact != Exact::NotExact && (i >= cur_len || ot != cur.stack[spi].types[b]) {
            return false;
        }
        if ot == SlotType::Invalid || ot == SlotType::Misc {
            i += 1;
            continue;
        }
        if i >= cur_len {
            return false;
        }
        let ct = cur.stack[spi].types[b];
        if let (Some(o), Some(c)) = (scalar_for_stack(&old.stack[spi]), scalar_for_stack(&cur.stack[spi])) {
            if !regsafe(&o, &c, idmap, exact) {
                return false;
            }
            i += SLOT - b;
            continue;
        }
        if ot == SlotType::Misc && ct == SlotType::Zero {
            i += 1;
            continue;
        }
        if ot != ct {
            return false;
        }
        if b != SLOT - 1 {
            i += 1;
            continue;
        }
        if old.stack[spi].types[SLOT - 1] == SlotType::Spill
            && !regsafe(&old.stack[spi].spilled, &cur.stack[spi].spilled, idmap, exact)
        {
            return false;
        }
        i += 1;
    }
    true
}

impl Env<'_> {
    fn states_equal(&self, old: &VerifierState, cur: &VerifierState, exact: Exact) -> bool {
        if old.frames.len() != cur.frames.len() || (old.speculative && !cur.speculative) {
            return false;
        }
        let mut idmap = IdMap { pairs: Vec::new(), tmp_id_gen: self.search.id_gen };
        if old.refs.len() != cur.refs.len() {
            return false;
        }
        for (o, c) in old.refs.iter().zip(cur.refs.iter()) {
            if !idmap.check(o.id, c.id) {
                return false;
            }
        }
        for i in 0..old.frames.len() {
            let insn_idx = if i == old.frames.len() - 1 {
                old.insn_idx
            } else {
                old.frames[i + 1].callsite.max(0) as usize
            };
            if old.frames[i].callsite != cur.frames[i].callsite {
                return false;
            }
            let live = self.prog.info.live_regs.get(insn_idx).copied().unwrap_or(0xffff);
            for r in 0..11 {
                // r10 is always live (never in the liveness mask)
                let is_live = r == 10 || live & (1 << r) != 0;
                if is_live && !regsafe(&old.frames[i].regs[r], &cur.frames[i].regs[r], &mut idmap, exact) {
                    return false;
                }
            }
            if !stacksafe(&old.frames[i], &cur.frames[i], &mut idmap, exact) {
                return false;
            }
            let mut slot_safe = |o: &RegState, c: &RegState| regsafe(o, c, &mut idmap, exact);
            if !crate::stack_args::frame_args_safe(&old.frames[i], &cur.frames[i], &mut slot_safe) {
                return false;
            }
        }
        true
    }

    /// Whether the cached checkpoint is an ancestor still inside a loop being explored (the
    /// kernel's `incomplete_read_marks`, approximated by "an unfinished ancestor in the same SCC").
    fn loop_incomplete(&self, insn_idx: usize) -> bool {
        let scc = self.prog.info.scc.get(insn_idx).copied().unwrap_or(0);
        if scc == 0 {
            return false;
        }
        let mut p = self.cur.parent;
        while let Some(i) = p {
            let Some(cp) = self.search.arena.get(i) else { break };
            if cp.branches > 0 && self.prog.info.scc.get(cp.st.insn_idx).copied().unwrap_or(0) == scc {
                return true;
            }
            p = cp.st.parent;
        }
        false
    }

    /// `is_state_visited`: prune against cached checkpoints, or add a new one. Returns whether
    /// the current path can stop here.
    pub(crate) fn is_state_visited(&mut self, insn_idx: usize) -> Result<bool, Reject> {
        let force = self.prog.info.cfg.marks[insn_idx].force_checkpoint || self.cur.jmp_history.len() > 40;
        let s = &self.search;
        let mut add_new_state = force
            || (s.jmps_processed - s.prev_jmps_processed >= 2
                && s.insn_processed - s.prev_insn_processed >= 8);
        // clean the current state's dead registers (compare only live ones, see states_equal)
        let list = self.search.explored[insn_idx].clone();
        let mut states_cnt = 0u64;
        let mut evict: Vec<usize> = Vec::new();
        let is_may_goto = kbpf_passes::raw::is_may_goto(&self.prog.slots[insn_idx]);
        for &ci in &list {
            states_cnt += 1;
            let cp = &self.search.arena[ci];
            if cp.st.insn_idx != insn_idx {
                continue;
            }
            if cp.branches > 0 {
                if is_may_goto
                    && cp.st.may_goto_depth != self.cur.may_goto_depth
                    && self.states_equal(&cp.st, &self.cur, Exact::RangeWithin)
                {
                    return self.hit(ci, insn_idx);
                }
                if self.states_equal(&cp.st, &self.cur, Exact::Exact)
                    && cp.st.may_goto_depth == self.cur.may_goto_depth
                {
                    let maps = self.prog.opts.maps.clone();
                    let msg_state =
                        |st: &VerifierState| crate::log::format_func_state(st.cur(), st, true, 0, 0, &maps);
                    let old = msg_state(&cp.st);
                    let cur = msg_state(&self.cur);
                    return Err(Reject::Other(
                        format!(
                            "infinite loop detected at insn {insn_idx}\ncur state:{}old state:{}",
                            cur,
                            old.trim_end()
                        ),
                        kbpf_passes::Errno::EINVAL,
                    ));
                }
                let s = &self.search;
                if !force
                    && s.jmps_processed - s.prev_jmps_processed < 20
                    && s.insn_processed - s.prev_insn_processed < 100
                {
                    add_new_state = false;
                }
            } else {
                let exact = if self.loop_incomplete(insn_idx) { Exact::RangeWithin } else { Exact::NotExact };
                if self.states_equal(&cp.st, &self.cur, exact) {
                    return self.hit(ci, insn_idx);
                }
            }
            // miss
            let cp = &mut self.search.arena[ci];
            if add_new_state {
                cp.miss_cnt += 1;
            }
            let n = if force && cp.branches > 0 { 64 } else { 3 };
            if cp.miss_cnt > cp.hit_cnt * n + n {
                cp.in_list = false;
                evict.push(ci);
            }
        }
        if !evict.is_empty() {
            self.search.explored[insn_idx].retain(|i| !evict.contains(i));
            self.search.explored_size -= evict.len() as u64;
        }
        self.search.max_states_per_insn = self.search.max_states_per_insn.max(states_cnt);
        if !add_new_state {
            return Ok(false);
        }
        // new checkpoint
        self.search.total_states += 1;
        self.search.explored_size += 1;
        self.search.peak_states = self.search.peak_states.max(self.search.explored_size);
        self.search.prev_jmps_processed = self.search.jmps_processed;
        self.search.prev_insn_processed = self.search.insn_processed;
        let mut st = self.cur.clone();
        st.insn_idx = insn_idx;
        let ci = self.search.arena.len();
        self.search.arena.push(Checkpoint { st, branches: 1, hit_cnt: 0, miss_cnt: 0, in_list: true });
        self.search.explored[insn_idx].insert(0, ci);
        if self.prog.opts.privileged {
            for f in self.cur.frames.iter_mut() {
                for r in f.regs.iter_mut() {
                    r.precise = false;
                }
                for s in f.stack.iter_mut() {
                    s.spilled.precise = false;
                }
            }
        }
        self.cur.parent = Some(ci);
        self.cur.first_insn_idx = insn_idx;
        self.cur.jmp_history.clear();
        self.search.hist_insn = None;
        Ok(false)
    }

    fn hit(&mut self, ci: usize, insn_idx: usize) -> Result<bool, Reject> {
        self.search.arena[ci].hit_cnt += 1;
        if self.prog.info.cfg.marks[insn_idx].jmp_point {
            self.push_hist(None);
        }
        // propagate_precision: registers precise in the old state must be precise here too
        let old = self.search.arena[ci].st.clone();
        for (fr, f) in old.frames.iter().enumerate() {
            for (r, reg) in f.regs.iter().enumerate() {
                if reg.ty == RegType::Scalar && reg.precise && fr == self.cur.curframe() {
                    self.mark_chain_precision(r as u8);
                }
            }
            for (spi, s) in f.stack.iter().enumerate() {
                if s.is_spill() && s.spilled.ty == RegType::Scalar && s.spilled.precise {
                    self.mark_stack_precision(fr, spi);
                }
            }
        }
        Ok(true)
    }
}
