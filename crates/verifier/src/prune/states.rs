//! Checkpoints and pruning (`is_state_visited`, `states_equal`, `regsafe`, `stacksafe`,
//! `refsafe`), including the infinite-loop check.

use crate::domain::state::{FuncState, RegState, RegType, SLOT, SlotType, StackSlot, VerifierState};
use crate::env::Checkpoint;
use crate::env::ctx::{Prune, Walk};
use crate::messages::Reject;
use crate::prune::evict::bucket;
use kbpf_isa::SlotIdx;

/// Comparison strictness (`enum exact_level`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ExactLevel {
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
    old.b64.contains(&cur.b64) && old.b32.contains(&cur.b32)
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
        && a.b64 == b.b64
        && a.b32 == b.b32
        && a.btf_id == b.btf_id
}

fn regs_exact(old: &RegState, cur: &RegState, idmap: &mut IdMap) -> bool {
    same_value_fields(old, cur) && idmap.check(old.id, cur.id) && idmap.check(old.ref_obj_id, cur.ref_obj_id)
}

fn regsafe(old: &RegState, cur: &RegState, idmap: &mut IdMap, exact: ExactLevel) -> bool {
    if exact == ExactLevel::Exact {
        return regs_exact(old, cur, idmap);
    }
    if old.ty == RegType::NotInit && (exact == ExactLevel::NotExact || cur.ty == RegType::NotInit) {
        return true;
    }
    if old.ty != cur.ty || old.flags != cur.flags {
        return false;
    }
    match old.ty {
        RegType::Scalar => {
            if !old.precise && exact == ExactLevel::NotExact {
                return true;
            }
            // an old register without an id was independent: a link in cur only adds
            // constraints (6.18 stable; the running kernel prunes such a state)
            if old.id != 0 && (old.id & crate::ADD_CONST) != (cur.id & crate::ADD_CONST) {
                return false;
            }
            if old.id & crate::ADD_CONST != 0 && old.off != cur.off {
                return false;
            }
            range_within(old, cur) && old.var_off.contains(cur.var_off) && idmap.check_scalar(old.id, cur.id)
        }
        RegType::MapValue | RegType::MapKey | RegType::Mem => {
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

/// Cheap pre-check for the infinite-loop test: the current frame's registers are bitwise
/// identical, ids included (`states_maybe_looping`).
fn states_maybe_looping(old: &VerifierState, cur: &VerifierState) -> bool {
    if old.frames.len() != cur.frames.len() {
        return false;
    }
    let (o, c) = (old.cur(), cur.cur());
    o.regs
        .iter()
        .zip(c.regs.iter())
        .all(|(a, b)| same_value_fields(a, b) && a.id == b.id && a.ref_obj_id == b.ref_obj_id)
}

fn scalar_for_stack(s: &StackSlot, allow_uninit: bool) -> Option<RegState> {
    if s.types[0] == SlotType::Spill && s.spilled.ty == RegType::Scalar {
        return Some(s.spilled.clone());
    }
    // root may read uninitialized stack, so there INVALID counts as MISC
    if s.types.iter().all(|t| *t == SlotType::Misc || (allow_uninit && *t == SlotType::Invalid)) {
        return Some(RegState::unknown_scalar());
    }
    None
}

/// `allow_uninit`: the program may read uninitialized stack (privileged), so an old MISC byte
/// is satisfied by anything. Only `EXACT` compares slot types byte for byte: a loop's
/// `RANGE_WITHIN` check treats the stack like the ordinary one.
fn stacksafe(
    old: &FuncState,
    cur: &FuncState,
    idmap: &mut IdMap,
    exact: ExactLevel,
    allow_uninit: bool,
) -> bool {
    let old_len = old.allocated_stack();
    let cur_len = cur.allocated_stack();
    let mut i = 0;
    while i < old_len {
        let spi = i / SLOT;
        let b = i % SLOT;
        let ot = old.stack[spi].types[b];
        if exact == ExactLevel::Exact && (i >= cur_len || ot != cur.stack[spi].types[b]) {
            return false;
        }
        if ot == SlotType::Invalid || (allow_uninit && ot == SlotType::Misc) {
            i += 1;
            continue;
        }
        if i >= cur_len {
            return false;
        }
        let ct = cur.stack[spi].types[b];
        if let (Some(o), Some(c)) =
            (scalar_for_stack(&old.stack[spi], allow_uninit), scalar_for_stack(&cur.stack[spi], allow_uninit))
        {
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
        if matches!(ot, SlotType::Dynptr | SlotType::Iter)
            && !special_slot_safe(&old.stack[spi].spilled, &cur.stack[spi].spilled, idmap)
        {
            return false;
        }
        i += 1;
    }
    true
}

/// `stacksafe` for `STACK_DYNPTR` (type, first slot, reference) and `STACK_ITER` (type, state,
/// reference; the depth is deliberately not compared so that loops converge).
fn special_slot_safe(old: &RegState, cur: &RegState, idmap: &mut IdMap) -> bool {
    use crate::domain::state::StackObj;
    let same = match (&old.obj, &cur.obj) {
        (StackObj::Dynptr { ty: a, first_slot: fa }, StackObj::Dynptr { ty: b, first_slot: fb }) => {
            a == b && fa == fb
        }
        (StackObj::Iter { name: a, state: sa, .. }, StackObj::Iter { name: b, state: sb, .. }) => {
            a == b && sa == sb
        }
        _ => false,
    };
    same && idmap.check(old.ref_obj_id, cur.ref_obj_id)
}

/// The iterator facts of the instruction `is_state_visited` runs at, read by the caller (the
/// iterator family owns them): whether it calls `KF_ITER_NEXT`, and whether the iterator in
/// r1 is still active there.
#[derive(Clone, Copy)]
pub(crate) struct IterNext {
    pub at: bool,
    pub active: bool,
}

impl Prune<'_, '_> {
    fn states_equal(&self, old: &VerifierState, cur: &VerifierState, exact: ExactLevel) -> bool {
        if old.frames.len() != cur.frames.len() || (old.speculative && !cur.speculative) {
            return false;
        }
        let mut idmap = IdMap { pairs: Vec::new(), tmp_id_gen: self.search.id_gen };
        // refsafe: the same lock sections
        if old.refs.len() != cur.refs.len()
            || old.active_rcu_lock != cur.active_rcu_lock
            || old.active_preempt_locks != cur.active_preempt_locks
        {
            return false;
        }
        if old.active_locks != cur.active_locks {
            return false;
        }
        match (old.active_lock, cur.active_lock) {
            (None, None) => {}
            (Some((oid, optr)), Some((cid, cptr))) if optr == cptr && idmap.check(oid, cid) => {}
            _ => return false,
        }
        for (o, c) in old.refs.iter().zip(cur.refs.iter()) {
            // locks of one owner, pointers of any
            if !idmap.check(o.id, c.id) || o.kind != c.kind {
                return false;
            }
        }
        for i in 0..old.frames.len() {
            let insn_idx = if i == old.frames.len() - 1 {
                old.insn_idx.index()
            } else {
                old.frames[i + 1].callsite.max(0) as usize
            };
            if old.frames[i].callsite != cur.frames[i].callsite {
                return false;
            }
            // a state that has iterated a callback more often covers fewer iterations to come
            if old.frames[i].callback_depth > cur.frames[i].callback_depth {
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
            if !stacksafe(&old.frames[i], &cur.frames[i], &mut idmap, exact, self.prog.opts.privileged) {
                return false;
            }
            let mut slot_safe = |o: &RegState, c: &RegState| regsafe(o, c, &mut idmap, exact);
            if !crate::calls::stack_args::frame_args_safe(&old.frames[i], &cur.frames[i], &mut slot_safe) {
                return false;
            }
        }
        true
    }

    /// `is_state_visited`: prune against cached checkpoints, or add a new one. Returns whether
    /// the current path can stop here.
    pub(crate) fn is_state_visited(&mut self, slot: SlotIdx, iter: IterNext) -> Result<bool, Reject> {
        let insn_idx = slot.index();
        // `is_force_checkpoint`: the CFG's forced checkpoints (iterator `next` calls)
        let force_checkpoint = self.prog.info.cfg.marks[insn_idx].force_checkpoint || iter.at;
        let force = self.prog.opts.test_state_freq || force_checkpoint || self.cur.jmp_history.len() > 40;
        let s = &self.stats;
        let mut add_new_state = force
            || (s.jmps_processed - s.prev_jmps_processed >= 2
                && s.insn_processed - s.prev_insn_processed >= 8);
        let list = self.search.explored[self.bucket(slot)].clone();
        self.clean_live_states(slot, &list);
        let mut states_cnt = 0u64;
        let mut evict: Vec<(usize, bool)> = Vec::new();
        let is_may_goto = self.prog.is_may_goto(insn_idx);
        for &ci in &list {
            states_cnt += 1;
            let cp = &self.search.arena[ci];
            if cp.st.insn_idx.index() != insn_idx {
                continue;
            }
            // another entry into an async callback (a callback that re-registers itself) is
            // no loop: skip_inf_loop_check
            let other_async_entry = {
                let f = cp.st.cur();
                f.in_async_callback_fn && f.async_entry_cnt != self.cur.cur().async_entry_cnt
            };
            if cp.branches > 0 {
                if !other_async_entry {
                    let iter_next = iter.at;
                    if iter_next
                        && self.states_equal(&cp.st, self.cur, ExactLevel::RangeWithin)
                        && iter.active
                    {
                        return self.evict_then_hit(slot, &evict, ci, true);
                    }
                    if !iter_next
                        && is_may_goto
                        && cp.st.may_goto_depth != self.cur.may_goto_depth
                        && self.states_equal(&cp.st, self.cur, ExactLevel::RangeWithin)
                    {
                        return self.evict_then_hit(slot, &evict, ci, true);
                    }
                    // a callback-calling helper is a loop over the callback's iterations;
                    // it skips the infinite-loop check
                    let calls_callback = self.prog.info.cfg.marks[insn_idx].calls_callback;
                    if !iter_next
                        && calls_callback
                        && self.states_equal(&cp.st, self.cur, ExactLevel::RangeWithin)
                    {
                        return self.hit(ci, slot, true);
                    }
                    // iter_next calls skip the infinite-loop check (skip_inf_loop_check)
                    if !iter_next
                        && !calls_callback
                        && states_maybe_looping(&cp.st, self.cur)
                        && self.states_equal(&cp.st, self.cur, ExactLevel::Exact)
                        && !crate::calls::iter::iter_active_depths_differ(&cp.st, self.cur)
                        && cp.st.may_goto_depth == self.cur.may_goto_depth
                        && cp.st.callback_unroll_depth == self.cur.callback_unroll_depth
                    {
                        let maps = self.prog.opts.maps.clone();
                        let msg_state = |st: &VerifierState| {
                            let names = crate::log::Names {
                                maps: &maps,
                                btf: self.log.btf.as_deref(),
                                prog_btf: self.log.prog_btf.as_deref(),
                            };
                            crate::log::format_func_state(st.cur(), st, true, 0, 0, names)
                        };
                        let old = msg_state(&cp.st);
                        let cur = msg_state(self.cur);
                        let old = old.trim_end().to_string();
                        return Err(Reject::InfiniteLoopStates { insn: insn_idx, cur, old });
                    }
                }
                let s = &self.stats;
                if !force
                    && s.jmps_processed - s.prev_jmps_processed < 20
                    && s.insn_processed - s.prev_insn_processed < 100
                {
                    add_new_state = false;
                }
            } else {
                let is_loop = self.search.incomplete_read_marks(self.prog, &cp.st);
                let exact = if is_loop { ExactLevel::RangeWithin } else { ExactLevel::NotExact };
                if self.states_equal(&cp.st, self.cur, exact) {
                    return self.evict_then_hit(slot, &evict, ci, is_loop);
                }
            }
            // miss
            let pending_marks = self.search.incomplete_read_marks(self.prog, &self.search.arena[ci].st);
            let cp = &mut self.search.arena[ci];
            if add_new_state {
                cp.miss_cnt += 1;
            }
            // a checkpoint may miss more often where the CFG forces one (iterator loops
            // converge there); `BPF_F_TEST_STATE_FREQ` forces states, not this
            let n = if force_checkpoint && cp.branches > 0 { 64 } else { 3 };
            if cp.miss_cnt > cp.hit_cnt * n + n {
                cp.in_list = false;
                // maybe_free_verifier_state: kept on the free list while it has children or
                // its SCC still has back-edges to propagate, else freed now
                let keep = cp.branches > 0 || pending_marks;
                if keep {
                    self.search.free_list_size += 1;
                }
                evict.push((ci, keep));
            }
        }
        self.evict(slot, &evict);
        self.stats.max_states_per_insn = self.stats.max_states_per_insn.max(states_cnt);
        if !add_new_state {
            return Ok(false);
        }
        // new checkpoint
        self.stats.total_states += 1;
        self.search.explored_size += 1;
        self.update_peak();
        self.stats.prev_jmps_processed = self.stats.jmps_processed;
        self.stats.prev_insn_processed = self.stats.insn_processed;
        let mut st = self.cur.clone();
        st.insn_idx = slot;
        let ci = self.search.add_checkpoint(Checkpoint {
            st,
            branches: 1,
            hit_cnt: 0,
            miss_cnt: 0,
            in_list: true,
            cleaned: false,
            freed: false,
        });
        let b = self.bucket(slot);
        self.search.explored[b].insert(0, ci);
        self.maybe_enter_scc(ci);
        if self.prog.opts.privileged {
            for f in self.cur.frames.iter_mut() {
                for r in f.regs.iter_mut() {
                    r.precise = false;
                }
                // the new checkpoint shares this stack: write only when something changes
                if f.stack.iter().any(|s| s.spilled.precise) {
                    for s in f.stack.iter_mut() {
                        s.spilled.precise = false;
                    }
                }
            }
        }
        self.cur.parent = Some(ci);
        self.cur.dfs_depth = self.search.arena[ci].st.dfs_depth + 1;
        self.cur.first_insn_idx = slot;
        self.cur.jmp_history.clear();
        self.search.hist_insn = None;
        Ok(false)
    }
}

impl Walk<'_, '_> {
    /// The most recent unfinished checkpoint at `insn_idx` on the current DFS path
    /// (`find_prev_entry`).
    pub(crate) fn find_prev_entry(&self, slot: SlotIdx) -> Option<usize> {
        // an iterator's `next` looks from the state's parent checkpoint
        let depth = self
            .cur
            .parent
            .and_then(|p| self.search.arena.get(p))
            .map_or(self.cur.dfs_depth, |c| c.st.dfs_depth);
        self.prev_entry_above(slot, depth)
    }

    /// `find_prev_entry` from the current state itself (a callback's return to its call).
    pub(crate) fn find_prev_entry_of_cur(&self, slot: SlotIdx) -> Option<usize> {
        self.prev_entry_above(slot, self.cur.dfs_depth)
    }

    fn prev_entry_above(&self, slot: SlotIdx, depth: u32) -> Option<usize> {
        let insn_idx = slot.index();
        self.search.explored[bucket(self.cur, self.prog.table.len(), insn_idx)].iter().copied().find(|&ci| {
            let cp = &self.search.arena[ci];
            cp.st.insn_idx.index() == insn_idx
                && cp.branches > 0
                && cp.st.frames.len() == self.cur.frames.len()
                && cp.st.frames.iter().zip(self.cur.frames.iter()).all(|(a, b)| a.callsite == b.callsite)
                && cp.st.dfs_depth < depth
        })
    }
}

/// `widen_imprecise_scalars`: scalars that changed since the previous loop iteration and are
/// not precise become unknown, so that loops converge.
pub(crate) fn widen_imprecise_scalars(old: &VerifierState, cur: &mut VerifierState, id_gen: u32) {
    let mut idmap = IdMap { pairs: Vec::new(), tmp_id_gen: id_gen };
    let widen = |o: &RegState, c: &mut RegState, idmap: &mut IdMap| {
        if o.ty != RegType::Scalar || o.ty != c.ty || o.precise || c.precise || regs_exact(o, c, idmap) {
            return;
        }
        *c = RegState::unknown_scalar();
    };
    for fr in (0..old.frames.len().min(cur.frames.len())).rev() {
        let fo = &old.frames[fr];
        let fc = &mut cur.frames[fr];
        for i in 0..fo.regs.len() {
            widen(&fo.regs[i], &mut fc.regs[i], &mut idmap);
        }
        let n = fo.stack.len().min(fc.stack.len());
        for i in 0..n {
            // a shared stack is unshared only when a slot widens
            if fo.stack[i].is_spill() && fc.stack[i].is_spill() {
                let mut r = fc.stack[i].spilled.clone();
                widen(&fo.stack[i].spilled, &mut r, &mut idmap);
                if r != fc.stack[i].spilled {
                    fc.stack[i].spilled = r;
                }
            }
        }
    }
}
