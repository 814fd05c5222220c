//! The main walk (`do_check`): the per-instruction loop, dispatch by instruction family to the
//! transfer functions of this directory, path termination and branch popping.

use crate::domain::state::RegState;
use crate::env::ctx::Walk;
use crate::env::slots::after;
use crate::env::{Env, initial_state, push_branch};
use crate::log::{LEVEL2, insn_text};
use crate::messages::{Bug, Reject};
use crate::protos::func_info::MAX_REG_ARGS;
use crate::prune::states::IterNext;
use kbpf_isa::{CallTarget, Class, Insn, JmpOp, Mode, SlotIdx};

pub(crate) mod alu;
pub(crate) mod atomic;
pub(crate) mod branch;
mod btf_access;
pub(crate) mod kptr;
pub(crate) mod ld;
mod map_ptr;
pub(crate) mod mem;
mod nf_conn;
pub(crate) mod stack;

/// Result of one instruction.
pub(crate) enum Flow {
    /// Continue at `cur.insn_idx`.
    Next,
    /// The path ended.
    Exit,
}

impl Env<'_> {
    pub(crate) fn do_check(&mut self) -> Result<(), Reject> {
        let n = self.prog.table.len();
        let mut do_print_state = false;
        let mut prev_insn_idx: i64 = -1;
        // do_check_common: each subprogram's walk starts without a previous line
        self.log.prev_linfo = None;
        self.log.scratch_all();
        loop {
            let slot = self.cur.insn_idx;
            let idx = slot.index();
            if idx >= n {
                return Err(Bug::InsnIdx { idx, len: n }.into());
            }
            self.stats.insn_processed += 1;
            if self.stats.insn_processed > crate::COMPLEXITY_LIMIT_INSNS
                || self
                    .proven
                    .as_ref()
                    .is_some_and(|r| r.mode.max_insns.is_some_and(|m| self.stats.insn_processed > m))
            {
                return Err(Reject::TooLarge(self.stats.insn_processed));
            }
            self.cur.last_insn_idx = SlotIdx::new(prev_insn_idx.max(0) as usize);
            let marks = self.prog.info.cfg.marks[idx];
            self.search.prev_insn_idx = SlotIdx::new(prev_insn_idx.max(0) as usize);
            self.search.hist_insn = None;
            let mut pruned = false;
            // iterator `next` calls are prune points and forced checkpoints (check_cfg)
            let iter_next = self.call().is_iter_next_insn(idx);
            let prune_point = marks.prune_point || iter_next;
            let iter = IterNext { at: iter_next, active: iter_next && self.call().iter_next_active() };
            // recording without pruning still makes checkpoints (they bound the jump history
            // precision tracking walks), it only goes on where the walk would prune
            let no_prune = self.proven.as_ref().is_some_and(|r| r.mode.no_prune);
            if prune_point && self.prune().is_state_visited(slot, iter)? && !no_prune {
                if self.log.on() {
                    if do_print_state {
                        self.log.put(&format!("\nfrom {prev_insn_idx} to {idx}: safe\n"));
                    } else {
                        self.log.put(&format!("{idx}: safe\n"));
                    }
                }
                pruned = true;
            }
            if !pruned {
                if !self.cur.speculative {
                    self.aux.mark_seen(slot);
                }
                if marks.jmp_point {
                    self.walk().push_hist(None);
                }
                if self.log.verbose2() && do_print_state {
                    self.log.put(&format!("\nfrom {prev_insn_idx} to {idx}:"));
                    let cf = self.cur.curframe();
                    let maps = &self.prog.opts.maps;
                    self.log.print_state(&self.cur, cf, true, maps);
                    do_print_state = false;
                }
                if self.log.on() {
                    if self.log.scratched() {
                        self.log.print_insn_state(&self.cur, idx, &self.prog.opts.maps);
                    }
                    self.linfo(idx, "; ");
                    let before = self.log.buf.len();
                    let text = insn_text(self.prog.table(), idx, &self.prog.opts.kfuncs);
                    self.log.put(&format!("{idx}: {text}\n"));
                    self.log.prev_insn_print_pos = self.log.buf.len() - before;
                    self.log.prev_log_pos = self.log.buf.len();
                }
                prev_insn_idx = idx as i64;
                if let Some(rec) = self.proven.as_mut() {
                    rec.observe(idx, &self.cur);
                }
                self.search.live.reset_writes(&self.prog, &self.cur, idx);
                let flow = self.do_check_insn(slot, &mut do_print_state)?;
                self.search.live.commit_writes();
                match flow {
                    Flow::Next => continue,
                    Flow::Exit => {}
                }
            }
            // process_bpf_exit
            self.log.scratch_all();
            self.update_branch_counts(self.cur.parent);
            self.search.live.update(&self.prog, &mut self.log, &self.cur);
            match self.pop_stack() {
                Some((insn, prev)) => {
                    self.cur.insn_idx = insn;
                    prev_insn_idx = prev;
                    do_print_state = true;
                }
                None => break,
            }
        }
        Ok(())
    }

    /// Pops the most recently pushed branch into `cur`.
    fn pop_stack(&mut self) -> Option<(SlotIdx, i64)> {
        let p = self.search.pending.pop()?;
        if self.log.level & LEVEL2 == 0 {
            self.log.reset(p.log_pos);
        }
        self.cur = p.st;
        Some((p.insn_idx, p.prev_insn_idx))
    }

    /// Walks the parent chain decrementing branch counts (`update_branch_counts`).
    fn update_branch_counts(&mut self, mut p: Option<usize>) {
        while let Some(i) = p {
            let Some(cp) = self.search.arena.get_mut(i) else { break };
            cp.branches = cp.branches.saturating_sub(1);
            if cp.branches > 0 {
                break;
            }
            let next = cp.st.parent;
            self.prune().maybe_exit_scc(i);
            // an evicted checkpoint kept alive for its descendants can go now, unless its SCC
            // still has back-edges to propagate (then it stays until the end); the kernel
            // asks after leaving the SCC, whose back-edges that may have drained
            let st = &self.search.arena[i].st;
            if !self.search.arena[i].in_list && !self.search.incomplete_read_marks(&self.prog, st) {
                self.search.free_list_size = self.search.free_list_size.saturating_sub(1);
                self.search.free_checkpoint(i);
            }
            p = next;
        }
    }

    /// Dispatch by class (`do_check_insn`).
    fn do_check_insn(&mut self, slot: SlotIdx, do_print_state: &mut bool) -> Result<Flow, Reject> {
        let idx = slot.index();
        let insn = self.prog.table.raw()[idx];
        let stack_arg = self.prog.stack_arg_insn(idx);
        match insn.class() {
            Class::Alu | Class::Alu64 => self.ctx().check_alu_op(&insn, slot)?,
            Class::Ldx if let Some(Insn::StackArgLoad { dst, pos }) = stack_arg => {
                self.call().check_stack_arg_read(dst, pos)?
            }
            Class::Ldx => self.mem().check_load_mem(&insn, slot)?,
            Class::Stx => {
                if insn.mode() == Some(Mode::Atomic) {
                    self.mem().check_atomic(&insn, slot)?;
                } else {
                    self.prog.structural(slot)?;
                    if let Some(Insn::StackArgStore { pos, src }) = stack_arg {
                        self.call().check_stack_arg_write(pos, src)?;
                    } else {
                        self.mem().check_store_reg(&insn, slot)?;
                    }
                }
            }
            Class::St if let Some(Insn::StackArgStore { pos, src }) = stack_arg => {
                self.call().check_stack_arg_write(pos, src)?
            }
            Class::St => {
                self.prog.structural(slot)?;
                self.mem().check_store_imm(&insn, slot)?;
            }
            Class::Jmp | Class::Jmp32 => {
                self.stats.jmps_processed += 1;
                match insn.jmp_op() {
                    Some(JmpOp::Call) => {
                        self.prog.structural(slot)?;
                        // a call has no register operand: past its reserved fields it decodes
                        let Insn::Call(target) = self.prog.decoded(slot)? else {
                            return Err(Bug::Undecoded(slot).into());
                        };
                        self.call().check_call_under_lock(&target)?;
                        self.call().stack_args_before_call();
                        match target {
                            CallTarget::Local(imm) => self.call().check_func_call(imm, idx)?,
                            CallTarget::Kfunc { btf_id, .. } => {
                                self.call().check_kfunc_call(btf_id)?;
                                // process_bpf_exit_full for an exceptional exit: no return
                                // value, no frame to return to
                                if self.call().kfunc_throws(btf_id) {
                                    self.call().check_resource_leak("bpf_throw")?;
                                    return Ok(Flow::Exit);
                                }
                            }
                            CallTarget::Helper(id) => {
                                self.call().check_helper_call(id, idx)?;
                                self.call().invalidate_outgoing_stack_args();
                                if id == kbpf_isa::BpfFunc::TailCall as i32 && self.cur.frames.len() > 1 {
                                    return self.tail_call_in_subprog(slot);
                                }
                            }
                        }
                        self.log.scratch_reg(0);
                        if matches!(target, CallTarget::Local(_)) {
                            return Ok(Flow::Next);
                        }
                    }
                    Some(JmpOp::Ja) => {
                        self.prog.structural(slot)?;
                        let off = match self.prog.decoded(slot)? {
                            Insn::Ja { off } => off as i64,
                            Insn::Gotol { imm } => imm as i64,
                            _ => return Err(Bug::Undecoded(slot).into()),
                        };
                        self.walk().jump_to(slot, off)?;
                        return Ok(Flow::Next);
                    }
                    Some(JmpOp::Exit) => {
                        // the table reads an exit as the kernel does (its offset ignored)
                        self.prog.structural(slot)?;
                        return self.process_exit(do_print_state);
                    }
                    _ => {
                        self.walk().check_cond_jmp_op(&insn, slot)?;
                        return Ok(Flow::Next);
                    }
                }
            }
            Class::Ld => {
                if insn.is_ld_abs_ind() {
                    if self.mem().check_ld_abs(&insn, slot)? {
                        return self.process_exit(do_print_state);
                    }
                } else if insn.mode() == Some(Mode::Imm) {
                    self.mem().check_ld_imm(&insn, slot)?;
                    self.cur.insn_idx = after(self.cur.insn_idx, 1);
                } else {
                    return Err(Reject::InvalidLdMode);
                }
            }
        }
        self.cur.insn_idx = after(self.cur.insn_idx, 1);
        Ok(Flow::Next)
    }

    /// A tail call in a subprogram (6.18.44): a failed call falls through (queued), a taken
    /// one leaves the subprogram at once, returning an unknown r0 to its caller.
    fn tail_call_in_subprog(&mut self, slot: SlotIdx) -> Result<Flow, Reject> {
        self.walk().push_stack(after(slot, 1), slot)?;
        self.cur.cur_mut().regs[0] = RegState::unknown_scalar();
        self.log.scratch_reg(0);
        self.search.live.update(&self.prog, &mut self.log, &self.cur);
        self.call().prepare_func_exit()?;
        Ok(Flow::Next)
    }

    /// `exit`: leak check, return to the caller or end the path.
    fn process_exit(&mut self, do_print_state: &mut bool) -> Result<Flow, Reject> {
        if self.cur.frames.len() == 1 {
            self.call().check_resource_leak("BPF_EXIT instruction in main prog")?;
        }
        if self.cur.frames.len() > 1 {
            self.search.live.update(&self.prog, &mut self.log, &self.cur);
            self.call().prepare_func_exit()?;
            *do_print_state = true;
            return Ok(Flow::Next);
        }
        if self.cur.cur().in_async_callback_fn {
            self.call().check_async_return_code()?;
            return Ok(Flow::Exit);
        }
        // the exception callback's exit is checked like the main program's
        let sub = self.cur.cur().subprogno;
        if sub != 0 && self.subs.exception_cb != Some(sub) {
            self.call().check_global_subprog_return_code()?;
            return Ok(Flow::Exit);
        }
        // a struct_ops member returning void: r0 is not looked at
        if self.prog.attach.as_ref().is_some_and(|a| a.struct_ops.is_some() && a.ret_void) {
            return Ok(Flow::Exit);
        }
        // a BTF-attached program's range depends on its attach type
        let range = match &self.prog.attach {
            Some(a) => a.retval_range(),
            None => self.prog.ops().retval_range(),
        };
        match range {
            Some(range) => self.call().check_prog_return_code(range)?,
            None => self.check_reg_arg(0, crate::check::alu::RegOp::Src)?,
        }
        Ok(Flow::Exit)
    }
}

/// Global functions are walks of their own (`do_check_common` per function), so the driver
/// runs them.
impl Env<'_> {
    /// `do_check_subprogs`: verifies each called, not yet verified global function in
    /// subprogram order, and again while that discovers new ones.
    pub(crate) fn do_check_subprogs(&mut self) -> Result<(), Reject> {
        loop {
            let mut new = 0;
            for sub in 1..self.subs.global_called.len() {
                let sa = &self.subs.stack_args;
                if !sa.global[sub] || !self.subs.global_called[sub] || self.subs.global_verified[sub] {
                    continue;
                }
                let name = sa.name_of(sub);
                let nargs = sa.arg_cnt[sub];
                self.do_check_global(sub, &name, nargs)?;
                if self.log.on() {
                    self.log.put(&format!(
                        "Func#{sub} ('{name}') is safe for any args that match its prototype\n"
                    ));
                }
                self.subs.global_verified[sub] = true;
                new += 1;
            }
            if new == 0 {
                return Ok(());
            }
        }
    }

    /// `do_check_common` for a global function: a fresh state whose declared parameters are
    /// unknown scalars, explored states forgotten.
    fn do_check_global(&mut self, sub: usize, name: &str, nargs: u32) -> Result<(), Reject> {
        let Some(start) = self.prog.info.subprogs.list.get(sub).map(|s| s.start.index()) else {
            return Err(crate::messages::Bug::NoSubprog(sub).into());
        };
        if self.log.on() {
            self.log.put(&format!("Validating {name}() func#{sub}...\n"));
        }
        let mut st = initial_state(self.prog.opts.prog_type);
        let f = st.cur_mut();
        f.subprogno = sub;
        f.regs[1] = RegState::not_init();
        for r in 1..=nargs.min(MAX_REG_ARGS) as usize {
            f.regs[r] = RegState::unknown_scalar();
        }
        // typed by the BTF prototype when there is one
        let prepared = self.call().prepare_func_args(sub);
        if self.subs.exception_cb == Some(sub) {
            crate::calls::exceptions::check_exception_cb_proto(prepared.as_ref(), nargs)?;
        }
        if let Some(Ok(args)) = prepared {
            for (i, a) in args.iter().enumerate().take(MAX_REG_ARGS as usize) {
                st.cur_mut().regs[i + 1] = self.call().global_arg_reg(a)?;
            }
        }
        st.insn_idx = SlotIdx::new(start);
        st.first_insn_idx = SlotIdx::new(start);
        self.cur = st;
        for e in self.search.explored.iter_mut() {
            e.clear();
        }
        self.search.visits.clear();
        self.do_check()?;
        self.pop_log_after_success();
        Ok(())
    }

    /// At level 1 a successful walk keeps no log (`bpf_vlog_reset(log, 0)`).
    pub(crate) fn pop_log_after_success(&mut self) {
        if self.log.level & LEVEL2 == 0 {
            self.log.reset(0);
        }
    }
}

impl Walk<'_, '_> {
    /// Queues the current state (copied) to continue at `insn_idx` (`push_stack`).
    pub(crate) fn push_stack(&mut self, insn_idx: SlotIdx, prev_insn_idx: SlotIdx) -> Result<usize, Reject> {
        let s = &mut *self.search;
        push_branch(
            &mut s.arena,
            &mut s.pending,
            self.log.buf.len(),
            self.cur.clone(),
            insn_idx,
            prev_insn_idx,
        )
    }

    /// Continues the walk at the target of the jump at `idx`.
    pub(crate) fn jump_to(&mut self, idx: SlotIdx, off: i64) -> Result<(), Reject> {
        self.cur.insn_idx = self.prog.jump_target(idx, off)?;
        Ok(())
    }
}
