//! Open-coded iterators (`STACK_ITER`): `bpf_iter_<type>_new` turns `sizeof(struct
//! bpf_iter_<type>) / 8` uninitialized stack slots into an iterator holding a reference,
//! `_next` forks the path into "returned an element" (active, one level deeper) and "returned
//! NULL" (drained), `_destroy` releases the reference. Any kfunc may take an initialized
//! iterator through a `__iter` parameter.
//!
//! Loop convergence is the kernel's: `_next` calls are forced checkpoints, an active iterator
//! at a `_next` call whose state is range-equal to a checkpoint still being explored ends the
//! path as a loop (`is_state_visited`), and scalars that changed between iterations are widened
//! (`widen_imprecise_scalars`). The infinite-loop check ignores states whose active iterators
//! differ in depth (`iter_active_depths_differ`).
//!
//! The kernel's `process_iter_arg`, `is_iter_reg_valid_{uninit,init}`,
//! `mark_stack_slots_iter`, `unmark_stack_slots_iter` and `process_iter_next_call`.

use crate::calls::dynptr::{ObjSpi, after};
use crate::domain::state::{
    IterState, MAYBE_NULL, RegState, RegType, SLOT, SlotType, StackObj, VerifierState,
};
use crate::env::ctx::Call;
use crate::messages::{Bug, KfuncReject, Reject};
use crate::protos::func_info::IterRole;
use kbpf_isa::{AttachType, SlotIdx};
use std::sync::Arc;

/// The iterator a call works on (`meta->iter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IterMeta {
    /// Frame whose stack holds it.
    pub frame: usize,
    /// Its first slot.
    pub spi: usize,
    /// Its reference.
    pub ref_obj_id: u32,
}

/// `iter_active_depths_differ`: some active iterator slot has a different depth in `old` and
/// `cur` (the states are then two iterations of one loop, not an infinite loop).
pub(crate) fn iter_active_depths_differ(old: &VerifierState, cur: &VerifierState) -> bool {
    for (fo, fc) in old.frames.iter().zip(cur.frames.iter()) {
        for (so, sc) in fo.stack.iter().zip(fc.stack.iter()) {
            if so.types[0] != SlotType::Iter {
                continue;
            }
            if let (
                StackObj::Iter { state: IterState::Active, depth: d_old, .. },
                StackObj::Iter { depth: d_cur, .. },
            ) = (&so.spilled.obj, &sc.spilled.obj)
                && d_old != d_cur
            {
                return true;
            }
        }
    }
    false
}

impl Call<'_, '_> {
    /// Whether `insn_idx` calls a `KF_ITER_NEXT` kfunc (`is_iter_next_insn`): a forced
    /// checkpoint and the convergence point of iterator loops.
    pub(crate) fn is_iter_next_insn(&self, insn_idx: usize) -> bool {
        self.prog
            .call_at(insn_idx, kbpf_isa::CallKind::Kfunc)
            .is_some_and(|id| self.prog.opts.kfuncs.get(id).is_some_and(|k| k.iter == Some(IterRole::Next)))
    }

    /// At an iter_next call: whether the iterator in r1 is still active (the loop body may run
    /// again, so the path can stop at an equal checkpoint).
    pub(crate) fn iter_next_active(&self) -> bool {
        let r1 = &self.cur.cur().regs[1];
        if r1.ty != RegType::Stack || !r1.var_off.is_const() {
            return false;
        }
        let off = r1.off as i64 + r1.var_off.value as i64;
        let spi = ((-off - 1) / SLOT as i64) as usize;
        self.cur
            .frames
            .get(r1.frameno as usize)
            .and_then(|f| f.stack.get(spi))
            .is_some_and(|s| matches!(s.spilled.obj, StackObj::Iter { state: IterState::Active, .. }))
    }

    /// `is_iter_reg_valid_init`: every slot is `STACK_ITER` of this type, the first holding
    /// the reference.
    fn is_iter_reg_valid_init(
        &self,
        reg: &RegState,
        name: &str,
        nr_slots: usize,
    ) -> Result<usize, Option<KfuncReject>> {
        let spi = match self.stack_slot_obj_get_spi(reg, "iter", nr_slots) {
            Ok(ObjSpi::At(spi)) => spi,
            Ok(ObjSpi::Range) => return Err(None),
            Err(line) => return Err(Some(line)),
        };
        let f = &self.cur.frames[reg.frameno as usize];
        for i in 0..nr_slots {
            let slot = &f.stack[spi - i];
            let st = &slot.spilled;
            if (i == 0) != (st.ref_obj_id != 0) {
                return Err(None);
            }
            match &st.obj {
                StackObj::Iter { name: n, .. } if &**n == name => {}
                _ => return Err(None),
            }
            if slot.types.iter().any(|t| *t != SlotType::Iter) {
                return Err(None);
            }
        }
        Ok(spi)
    }

    /// `check_css_task_iter_allowlist`: LSM programs, iterators, and sleepable programs may
    /// walk a css's tasks.
    pub(crate) fn css_task_iter_allowed(&self) -> bool {
        match self.prog.opts.prog_type {
            crate::ProgType::Lsm => true,
            crate::ProgType::Tracing
                if self.prog.opts.expected_attach_type == Some(AttachType::TraceIter) =>
            {
                true
            }
            _ => self.in_sleepable(),
        }
    }

    /// `process_iter_arg`: argument `argno` points to a `struct bpf_iter_<name>` of `size`
    /// bytes. Returns the iterator for `_next` / `_destroy` / `__iter` users.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn process_iter_arg(
        &mut self,
        reg: &RegState,
        regno: u8,
        argno: usize,
        name: &str,
        size: u32,
        role: Option<IterRole>,
        insn_idx: usize,
    ) -> Result<Option<IterMeta>, Reject> {
        if reg.ty != RegType::Stack {
            return Err(KfuncReject::IterNotStack(argno).into());
        }
        let nr_slots = (size as usize / SLOT).max(1);
        let frame = reg.frameno as usize;
        if role == Some(IterRole::New) {
            // is_iter_reg_valid_uninit
            let uninit = match self.stack_slot_obj_get_spi(reg, "iter", nr_slots) {
                Ok(ObjSpi::Range) => Ok(()),
                Ok(ObjSpi::At(spi)) => {
                    let f = &self.cur.frames[frame];
                    if (0..nr_slots).any(|i| f.stack[spi - i].types.contains(&SlotType::Iter)) {
                        Err(None)
                    } else {
                        Ok(())
                    }
                }
                Err(line) => Err(Some(line)),
            };
            if let Err(line) = uninit {
                return Err(after(line, KfuncReject::IterNotUninit(name.to_string(), argno)));
            }
            for i in (0..nr_slots * SLOT).step_by(SLOT) {
                let i = i as i64;
                self.mem().check_stack_access_within_bounds(
                    regno,
                    reg,
                    reg.off as i64 + i,
                    SLOT as i64,
                    true,
                )?;
                let off = reg.off as i64 + reg.var_off.value as i64 + i;
                let spi = ((-off - 1) / SLOT as i64) as usize;
                // a plain 8-byte write: destroys a dynptr there, scrubs spills
                self.destroy_if_dynptr_stack_slot(frame, spi)?;
                self.live_write(frame, 1 << spi);
                if let Some(s) = self.cur.frames[frame].stack.get_mut(spi) {
                    s.spilled = RegState::not_init();
                    s.types = [SlotType::Misc; SLOT];
                }
            }
            self.mark_stack_slots_iter(reg, name, nr_slots, insn_idx)?;
            return Ok(None);
        }
        let spi = match self.is_iter_reg_valid_init(reg, name, nr_slots) {
            Ok(spi) => spi,
            Err(line) => {
                return Err(after(line, KfuncReject::IterNotInit(name.to_string(), argno)));
            }
        };
        // mark_iter_read (mark_stack_slot_obj_read)
        for i in 0..nr_slots {
            self.live_read(frame, 1 << (spi - i));
            self.log.scratch_stack(spi - i);
        }
        let ref_obj_id = self.cur.frames[frame].stack[spi].spilled.ref_obj_id;
        if role == Some(IterRole::Destroy) {
            self.release_reference(ref_obj_id);
            let f = &mut self.cur.frames[frame];
            for i in 0..nr_slots {
                f.stack[spi - i].spilled = RegState::not_init();
                f.stack[spi - i].types = [SlotType::Invalid; SLOT];
            }
            for i in 0..nr_slots {
                self.live_write(frame, 1 << (spi - i));
            }
            for i in 0..nr_slots {
                self.log.scratch_stack(spi - i);
            }
        }
        Ok(Some(IterMeta { frame, spi, ref_obj_id }))
    }

    /// `mark_stack_slots_iter`.
    fn mark_stack_slots_iter(
        &mut self,
        reg: &RegState,
        name: &str,
        nr_slots: usize,
        insn_idx: usize,
    ) -> Result<(), Reject> {
        let spi = match self.stack_slot_obj_get_spi(reg, "iter", nr_slots) {
            Ok(ObjSpi::At(spi)) => spi,
            Ok(ObjSpi::Range) => return Err(Bug::IterBeyondStack.into()),
            Err(line) => return Err(line.into()),
        };
        let id = self.acquire_reference(insn_idx);
        let name: Arc<str> = Arc::from(name);
        let f = &mut self.cur.frames[reg.frameno as usize];
        for i in 0..nr_slots {
            let mut st = RegState::pointer(RegType::Stack);
            st.ref_obj_id = if i == 0 { id } else { 0 };
            st.obj = StackObj::Iter { name: name.clone(), state: IterState::Active, depth: 0 };
            f.stack[spi - i].spilled = st;
            f.stack[spi - i].types = [SlotType::Iter; SLOT];
        }
        for i in 0..nr_slots {
            self.live_write(reg.frameno as usize, 1 << (spi - i));
            self.log.scratch_stack(spi - i);
        }
        Ok(())
    }

    /// `process_iter_next_call`: the current path continues with the iterator drained and
    /// r0 = NULL; while it is active, a queued path continues at the next instruction with the
    /// iterator one level deeper and r0 non-NULL.
    pub(crate) fn process_iter_next_call(&mut self, insn_idx: usize, it: IterMeta) -> Result<(), Reject> {
        let state = match &self.cur.frames[it.frame].stack[it.spi].spilled.obj {
            StackObj::Iter { state, .. } => *state,
            _ => return Err(Bug::IterState.into()),
        };
        if state == IterState::Active {
            let parent_ok = self.cur.parent.and_then(|p| self.search.arena.get(p)).is_some_and(|cp| {
                cp.st.insn_idx.index() == insn_idx
                    && cp.st.frames.len() == self.cur.frames.len()
                    && cp.st.frames.iter().zip(self.cur.frames.iter()).all(|(a, b)| a.callsite == b.callsite)
            });
            if !parent_ok {
                return Err(Bug::IterParent.into());
            }
            let prev = self.walk().find_prev_entry(SlotIdx::new(insn_idx));
            let q = self.walk().push_stack(SlotIdx::new(insn_idx + 1), SlotIdx::new(insn_idx))?;
            let id_gen = self.search.id_gen;
            let prev_st = prev.map(|i| self.search.arena[i].st.clone());
            if let Some(p) = self.search.pending.get_mut(q) {
                if let StackObj::Iter { state, depth, .. } =
                    &mut p.st.frames[it.frame].stack[it.spi].spilled.obj
                {
                    *state = IterState::Active;
                    *depth += 1;
                }
                if let Some(old) = prev_st {
                    crate::prune::states::widen_imprecise_scalars(&old, &mut p.st, id_gen);
                }
                let cf = p.st.frames.len() - 1;
                p.st.frames[cf].regs[0].flags &= !MAYBE_NULL;
            }
        }
        if let StackObj::Iter { state, .. } = &mut self.cur.frames[it.frame].stack[it.spi].spilled.obj {
            *state = IterState::Drained;
        }
        self.cur.cur_mut().regs[0] = RegState::known(0);
        Ok(())
    }
}
