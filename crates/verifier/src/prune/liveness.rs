//! Stack-slot liveness as 6.18 computes it (`kernel/bpf/liveness.c`): call-chain sensitive and
//! fed by the walk itself. Each instruction the walk checks records the slots it read
//! (`may_read`, a union over every visit) and the slots it certainly overwrote (`must_write`,
//! an intersection over every visit), per call chain and per frame of that chain. A backward
//! fixpoint over the subprogram's postorder turns them into `live_before`; a callee's entry
//! facts about its callers' frames flow to the call instruction of the caller's chain.
//! `clean_live_states` asks which slots of a finished checkpoint may still be read.
//!
//! A slot read on no explored path is dead, so the analysis knows less than the static
//! conservative pass did early in the walk; it is sound for checkpoints whose every branch is
//! explored (`branches == 0`), the only ones cleaned.

use std::collections::HashMap;

use crate::domain::state::VerifierState;
use crate::env::Program;
use crate::log::Log;
use kbpf_passes::successors::insn_successors;

/// One instruction's marks for one frame of a chain.
#[derive(Clone, Copy, Default)]
struct Masks {
    /// Slots this instruction may read.
    may_read: u64,
    /// Slots this instruction writes in full on every visit.
    must_write: u64,
    /// Slots written by this instruction or on every path after it, within the function.
    must_write_acc: u64,
    /// Slots this instruction or its successors may read first.
    live_before: u64,
}

/// The marks of one function reached through one call chain (`struct func_instance`).
struct Instance {
    /// The call instructions of the outer frames, then the function's first instruction.
    chain: Vec<u32>,
    /// The function's first instruction and its subprogram.
    start: usize,
    subprog: usize,
    /// Per frame of the chain (lazily), per instruction of the function.
    frames: Vec<Option<Vec<Masks>>>,
    /// Whether `must_write` of an instruction was set by a visit yet.
    must_write_set: Vec<bool>,
    updated: bool,
    must_write_dropped: bool,
}

impl Instance {
    fn depth(&self) -> usize {
        self.chain.len() - 1
    }

    fn masks(&self, frame: usize, insn: usize) -> Option<&Masks> {
        self.frames.get(frame)?.as_ref()?.get(insn.checked_sub(self.start)?)
    }

    fn masks_mut(&mut self, frame: usize, insn: usize) -> Option<&mut Masks> {
        let n = self.must_write_set.len();
        let rel = insn.checked_sub(self.start).filter(|&r| r < n)?;
        let f = self.frames.get_mut(frame)?;
        Some(&mut f.get_or_insert_with(|| vec![Masks::default(); n])[rel])
    }

    fn live_before(&self, insn: usize, frame: usize) -> u64 {
        self.masks(frame, insn).map_or(0, |m| m.live_before)
    }
}

/// The analysis (`struct bpf_liveness`): every chain's instance, the instance of the current
/// state's chain, and the writes of the instruction being checked.
#[derive(Default)]
pub(crate) struct StackLiveness {
    instances: Vec<Instance>,
    by_chain: HashMap<Vec<u32>, usize>,
    cur: Option<usize>,
    write_acc: Vec<u64>,
    write_insn: usize,
}

/// The chain of frame `frameno` of `st` (`compute_callchain`).
fn callchain(prog: &Program<'_>, st: &VerifierState, frameno: usize) -> Vec<u32> {
    let mut chain: Vec<u32> = (1..=frameno).map(|i| st.frames[i].callsite.max(0) as u32).collect();
    chain.push(subprog_start(prog, st.frames[frameno].subprogno) as u32);
    chain
}

fn subprog_start(prog: &Program<'_>, sp: usize) -> usize {
    prog.info.subprogs.list.get(sp).map_or(0, |s| s.start.index())
}

/// Slot masks as the kernel prints them (`bpf_fmt_stack_mask`): `-8,-24`.
fn fmt_mask(m: u64) -> String {
    (0..64).filter(|i| m & (1 << i) != 0).map(|i| format!("-{}", (i + 1) * 8)).collect::<Vec<_>>().join(",")
}

fn fmt_chain(chain: &[u32]) -> String {
    let parts: Vec<String> = chain.iter().map(|c| c.to_string()).collect();
    format!("({})", parts.join(","))
}

impl StackLiveness {
    /// The instance of `chain`, made on first use (`__lookup_instance`).
    fn instance(&mut self, prog: &Program<'_>, chain: Vec<u32>, subprog: usize) -> usize {
        if let Some(&i) = self.by_chain.get(&chain) {
            return i;
        }
        let start = subprog_start(prog, subprog);
        let end = prog.info.subprogs.list.get(subprog + 1).map_or(prog.table.len(), |s| s.start.index());
        let n = end.saturating_sub(start);
        let depth = chain.len();
        self.instances.push(Instance {
            chain: chain.clone(),
            start,
            subprog,
            frames: vec![None; depth],
            must_write_set: vec![false; n],
            updated: false,
            must_write_dropped: false,
        });
        let i = self.instances.len() - 1;
        self.by_chain.insert(chain, i);
        i
    }

    fn lookup(&mut self, prog: &Program<'_>, st: &VerifierState, frameno: usize) -> usize {
        let chain = callchain(prog, st, frameno);
        self.instance(prog, chain, st.frames[frameno].subprogno)
    }

    /// The current state's call stack changed (`bpf_reset_live_stack_callchain`).
    pub(crate) fn reset_callchain(&mut self) {
        self.cur = None;
    }

    fn ensure_cur(&mut self, prog: &Program<'_>, cur: &VerifierState) -> usize {
        match self.cur {
            Some(i) => i,
            None => {
                let i = self.lookup(prog, cur, cur.curframe());
                self.cur = Some(i);
                i
            }
        }
    }

    fn mark_read_in(&mut self, inst: usize, frame: usize, insn: usize, mask: u64) {
        let ins = &mut self.instances[inst];
        let Some(m) = ins.masks_mut(frame, insn) else { return };
        let new = m.may_read | mask;
        let grew = new != m.may_read && (new | m.live_before) != m.live_before;
        m.may_read = new;
        ins.updated |= grew;
    }

    /// Slots `mask` of frame `frame` read by instruction `insn` (`bpf_mark_stack_read`).
    pub(crate) fn mark_read(
        &mut self,
        prog: &Program<'_>,
        cur: &VerifierState,
        frame: usize,
        insn: usize,
        mask: u64,
    ) {
        let i = self.ensure_cur(prog, cur);
        self.mark_read_in(i, frame, insn, mask);
    }

    fn reset_writes_in(&mut self, inst: usize, insn: usize) {
        self.write_insn = insn;
        let depth = self.instances[inst].depth();
        self.write_acc.clear();
        self.write_acc.resize(depth + 1, 0);
    }

    /// Before an instruction is checked (`bpf_reset_stack_write_marks`).
    pub(crate) fn reset_writes(&mut self, prog: &Program<'_>, cur: &VerifierState, insn: usize) {
        let i = self.ensure_cur(prog, cur);
        self.reset_writes_in(i, insn);
    }

    /// Slots `mask` of frame `frame` written in full (`bpf_mark_stack_write`).
    pub(crate) fn mark_write(&mut self, frame: usize, mask: u64) {
        if self.write_acc.len() <= frame {
            self.write_acc.resize(frame + 1, 0);
        }
        self.write_acc[frame] |= mask;
    }

    fn commit_writes_in(&mut self, inst: usize) {
        let insn = self.write_insn;
        let ins = &mut self.instances[inst];
        let Some(rel) = insn.checked_sub(ins.start).filter(|&r| r < ins.must_write_set.len()) else { return };
        let set = ins.must_write_set[rel];
        for frame in 0..=ins.depth() {
            let mut mask = self.write_acc.get(frame).copied().unwrap_or(0);
            if mask == 0 && !set {
                continue;
            }
            let Some(m) = ins.masks_mut(frame, insn) else { continue };
            let old = m.must_write;
            if set {
                mask &= old;
            }
            m.must_write = mask;
            ins.updated |= old != mask;
            ins.must_write_dropped |= old & !mask != 0;
        }
        ins.must_write_set[rel] = true;
        self.write_insn = 0;
    }

    /// After an instruction checked without error (`bpf_commit_stack_write_marks`); nothing
    /// when the instruction changed the call stack (a call, a return).
    pub(crate) fn commit_writes(&mut self) {
        if let Some(i) = self.cur {
            self.commit_writes_in(i);
        }
    }

    /// `bpf_update_live_stack`: the fixpoint for each instance of the current state's chain
    /// that learnt something, innermost first, so a callee's facts reach its caller.
    pub(crate) fn update(&mut self, prog: &Program<'_>, log: &mut Log, cur: &VerifierState) {
        self.cur = None;
        for frame in (0..=cur.curframe()).rev() {
            let i = self.lookup(prog, cur, frame);
            if self.instances[i].updated {
                self.update_instance(prog, log, i);
                self.instances[i].updated = false;
                self.instances[i].must_write_dropped = false;
            }
        }
    }

    fn update_instance(&mut self, prog: &Program<'_>, log: &mut Log, i: usize) {
        let ins = &mut self.instances[i];
        if ins.must_write_dropped {
            for f in ins.frames.iter_mut().flatten() {
                for m in f.iter_mut() {
                    m.must_write_acc = 0;
                }
            }
        }
        let po = &prog.info.postorder;
        let (lo, hi) =
            (po.starts.get(ins.subprog).copied().unwrap_or(0), po.starts.get(ins.subprog + 1).copied());
        let order = &po.order[lo.min(po.order.len())..hi.unwrap_or(po.order.len()).min(po.order.len())];
        let verbose = log.verbose2();
        let mut iterations = 0;
        loop {
            iterations += 1;
            let mut changed = false;
            for frame in 0..=ins.depth() {
                if ins.frames[frame].is_none() {
                    continue;
                }
                for &insn in order {
                    changed |= update_insn(prog, log, verbose, ins, frame, insn);
                }
            }
            if !changed {
                break;
            }
        }
        if verbose {
            log.put(&format!(
                "{} live stack update done in {iterations} iterations\n",
                fmt_chain(&ins.chain)
            ));
        }
        if ins.depth() > 0 {
            self.propagate_to_outer(prog, i);
        }
    }

    /// A callee's entry facts about its callers' frames become the call instruction's reads
    /// and writes in the caller's chain (`propagate_to_outer_instance`).
    fn propagate_to_outer(&mut self, prog: &Program<'_>, i: usize) {
        let ins = &self.instances[i];
        let depth = ins.depth();
        let start = ins.start;
        let callsite = ins.chain[depth - 1] as usize;
        let mut outer_chain: Vec<u32> = ins.chain[..depth].to_vec();
        let entry: Vec<Option<Masks>> = (0..depth).map(|f| ins.masks(f, start).copied()).collect();
        // the caller's subprogram: the one holding the call instruction
        let outer_sp = prog.info.subprogs.list.iter().rposition(|s| s.start.index() <= callsite).unwrap_or(0);
        outer_chain[depth - 1] = subprog_start(prog, outer_sp) as u32;
        let outer = self.instance(prog, outer_chain, outer_sp);
        self.reset_writes_in(outer, callsite);
        for (frame, m) in entry.iter().enumerate() {
            let Some(m) = m else { continue };
            self.mark_write(frame, m.must_write_acc);
            self.mark_read_in(outer, frame, callsite, m.live_before);
        }
        self.commit_writes_in(outer);
    }

    /// The slots of each frame of checkpoint `st` that may still be read
    /// (`bpf_live_stack_query_init` + `bpf_stack_slot_alive`): read after the checkpoint's
    /// instruction in its own function, or, for an outer frame, after the call it waits on
    /// (before it, when the call calls back: the callback may run again).
    pub(crate) fn alive(&mut self, prog: &Program<'_>, st: &VerifierState) -> Vec<u64> {
        let cf = st.curframe();
        let insts: Vec<usize> = (0..=cf).map(|f| self.lookup(prog, st, f)).collect();
        let curi = &self.instances[insts[cf]];
        let at = st.insn_idx.index();
        (0..=cf)
            .map(|frameno| {
                let mut live = curi.live_before(at, frameno);
                for (i, &inst) in insts.iter().enumerate().take(cf).skip(frameno) {
                    let callsite = curi.chain[i] as usize;
                    let outer = &self.instances[inst];
                    let calls_back = prog.info.cfg.marks.get(callsite).is_some_and(|m| m.calls_callback);
                    live |= outer.live_before(if calls_back { callsite } else { callsite + 1 }, frameno);
                }
                live
            })
            .collect()
    }
}

/// One step of the backward fixpoint at `insn` for `frame` (`update_insn`); whether it changed.
fn update_insn(
    prog: &Program<'_>,
    log: &mut Log,
    verbose: bool,
    ins: &mut Instance,
    frame: usize,
    insn: usize,
) -> bool {
    let succ = insn_successors(&prog.table, insn);
    if succ.is_empty() {
        return false;
    }
    let mut after = 0u64;
    let mut acc = u64::MAX;
    for &s in &succ {
        let m = ins.masks(frame, s).copied().unwrap_or_default();
        after |= m.live_before;
        acc &= m.must_write_acc;
    }
    let Some(m) = ins.masks(frame, insn).copied() else { return false };
    acc |= m.must_write;
    let before = (after & !m.must_write) | m.may_read;
    let changed = before != m.live_before || acc != m.must_write_acc;
    if verbose
        && (m.may_read != 0
            || m.must_write != 0
            || insn == ins.start
            || prog.info.cfg.marks.get(insn).is_some_and(|k| k.prune_point))
    {
        log_change(log, &ins.chain, "live", frame, insn, m.live_before, before);
        log_change(log, &ins.chain, "written", frame, insn, m.must_write_acc, acc);
    }
    if let Some(m) = ins.masks_mut(frame, insn) {
        m.live_before = before;
        m.must_write_acc = acc;
    }
    changed
}

/// `(0) frame 0 insn 5 +live -8 -live -16` (`log_mask_change`).
fn log_change(log: &mut Log, chain: &[u32], what: &str, frame: usize, insn: usize, old: u64, new: u64) {
    let diff = old ^ new;
    if diff == 0 {
        return;
    }
    let mut s = format!("{} frame {frame} insn {insn} ", fmt_chain(chain));
    if new & diff != 0 {
        s.push_str(&format!("+{what} {} ", fmt_mask(new & diff)));
    }
    if !new & diff != 0 {
        s.push_str(&format!("-{what} {}", fmt_mask(!new & diff)));
    }
    s.push('\n');
    log.put(&s);
}

/// `bpf_mark_stack_read` / `bpf_mark_stack_write` on the views that reach the stack.
macro_rules! live_marks {
    ($($src:ty),+) => {$(
        impl $src {
            /// Slots `mask` of frame `frame` read by the current instruction.
            pub(crate) fn live_read(&mut self, frame: usize, mask: u64) {
                let at = self.cur.insn_idx.index();
                self.search.live.mark_read(self.prog, self.cur, frame, at, mask);
            }

            /// Slots `mask` of frame `frame` written in full by the current instruction.
            pub(crate) fn live_write(&mut self, frame: usize, mask: u64) {
                self.search.live.mark_write(frame, mask);
            }
        }
    )+};
}

live_marks!(crate::env::ctx::Stack<'_, '_>, crate::env::ctx::Call<'_, '_>);

/// The slots holding bytes `[lo, hi)` of a frame (offsets from its frame pointer, negative).
pub(crate) fn slots_of(lo: i64, hi: i64) -> u64 {
    (lo..hi).filter(|&i| (-512..0).contains(&i)).fold(0, |m, i| m | 1 << ((-i - 1) / 8))
}
