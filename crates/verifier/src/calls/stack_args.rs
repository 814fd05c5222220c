//! Stack arguments (r11 = `BPF_REG_PARAMS`, shared stack-args.md §3-§4): outgoing stores
//! (`check_stack_arg_write`), incoming loads (`check_stack_arg_read`), the call-site check
//! (`check_outgoing_stack_args`), invalidation after calls, the pruning comparison of the slots
//! and the whole-program checks that run after the walk (unused slots, tail calls, non-JIT).
//!
//! The slots are per-frame state ([`FuncState::stack_args`]); an incoming load reads the
//! caller frame's outgoing slot directly. Precision backtracking follows values through the
//! slots (`stack_arg_masks`): an incoming load moves the requirement to the caller's slot, the
//! outgoing store that wrote it moves it to the stored register.

use crate::check::alu::RegOp;
use crate::domain::state::{FuncState, RegState, RegType};
use crate::env::Program;
use crate::env::ctx::Call;
use crate::messages::{Bug, RegName, Reject, StackArgError};
use crate::protos::func_info::{MAX_FUNC_ARGS, MAX_REG_ARGS, MAX_STACK_ARG_SLOTS};
use kbpf_isa::{
    BpfFunc, CallKind, Class, Decoded, Insn, Reg, SlotIdx, SlotTable, Src, StackArgPos, StackArgSlot,
};
use kbpf_passes::shape::{Flow, shape};
use kbpf_passes::subprogs::Subprogs;

/// Name of argument `i` (0-based) in kfunc/subprog argument messages: `R1`..`R5`, then
/// `*(R11-8)`..`*(R11-56)`.
pub(crate) fn arg_name(i: usize) -> RegName {
    RegName::arg(i)
}

/// `stack_arg_safe` plus the `no_stack_arg_load` rule of `func_states_equal`; `regsafe` is the
/// register comparison of the pruning pass (same id map, same exactness).
pub(crate) fn frame_args_safe(
    old: &FuncState,
    cur: &FuncState,
    regsafe: &mut dyn FnMut(&RegState, &RegState) -> bool,
) -> bool {
    if !old.no_stack_arg_load && cur.no_stack_arg_load {
        return false;
    }
    let missing = RegState::not_init();
    let n = old.stack_args.len().max(cur.stack_args.len());
    (0..n).all(|i| {
        let o = old.stack_args.get(i).unwrap_or(&missing);
        let c = cur.stack_args.get(i).unwrap_or(&missing);
        // regsafe lets an old NOT_INIT slot accept anything (except in exact comparisons)
        regsafe(o, c)
    })
}

impl Program<'_> {
    /// The stack-argument form at `idx` when the ABI is on, as kbpf-isa decoded it. One raw form
    /// the strict decoder refuses is read the same way: an `ST` whose unused src field is not
    /// zero, which the kernel's dispatcher routes by base and offset alone.
    pub(crate) fn stack_arg_insn(&self, idx: usize) -> Option<Insn> {
        if !self.opts.stack_args {
            return None;
        }
        match self.table.get(idx)? {
            Decoded::Insn(i @ (Insn::StackArgStore { .. } | Insn::StackArgLoad { .. })) => Some(*i),
            _ => {
                let raw = self.table.raw().get(idx)?;
                let pos = StackArgPos::from_store_off(raw.off)?;
                (raw.class() == Class::St && raw.is_stack_arg_store())
                    .then_some(Insn::StackArgStore { pos, src: Src::Imm(raw.imm) })
            }
        }
    }
}

impl Call<'_, '_> {
    /// `check_stack_arg_write`: `*(u64 *)(r11 - 8k) = imm | rX`.
    pub(crate) fn check_stack_arg_write(&mut self, pos: StackArgPos, src: Src) -> Result<(), Reject> {
        let value = match src {
            Src::Reg(r) => {
                self.check_reg_arg(r.num(), RegOp::Src)?;
                self.cur.cur().regs[r.num() as usize].clone()
            }
            Src::Imm(imm) => RegState::known(imm as i64 as u64),
        };
        let Some(slot) = pos.slot() else {
            return Err(StackArgError::WriteBeyondMax(pos.store_off() as i32).into());
        };
        let spi = slot.index();
        let f = self.cur.cur_mut();
        if f.stack_args.len() <= spi {
            f.stack_args.resize(spi + 1, RegState::not_init());
        }
        f.stack_args[spi] = value;
        f.no_stack_arg_load = true;
        let sub = f.subprogno;
        if let Some(m) = self.subs.stack_args.max_out.get_mut(sub) {
            *m = (*m).max(spi as u32 + 1);
        }
        Ok(())
    }

    /// `check_stack_arg_read`: `rX = *(u64 *)(r11 + 8k)` copies the caller's outgoing slot.
    pub(crate) fn check_stack_arg_read(&mut self, dst: Reg, pos: StackArgPos) -> Result<(), Reject> {
        self.check_reg_arg(dst.num(), RegOp::DstNoMark)?;
        if self.cur.cur().no_stack_arg_load {
            return Err(StackArgError::LoadAfterStoreOrCall.into());
        }
        let incoming = self.subs.stack_args.in_args(self.cur.cur().subprogno);
        let spi = match pos.slot() {
            Some(slot) if slot.index() < incoming => slot.index(),
            _ => {
                let off = pos.load_off() as i32;
                return Err(StackArgError::InvalidRead(off, StackArgSlot::bytes(incoming)).into());
            }
        };
        let n = self.cur.frames.len();
        if n == 1 && self.cur.cur().subprogno != 0 {
            // a global function verified on its own (`--allow-global-stack-args`): its
            // incoming arguments are what its prototype says, 64-bit scalars
            self.cur.cur_mut().regs[dst.num() as usize] = RegState::unknown_scalar();
            return Ok(());
        }
        let Some(caller) = n.checked_sub(2).and_then(|c| self.cur.frames.get(c)) else {
            return Err(Bug::StackArgNoCaller.into());
        };
        let value = caller.stack_args.get(spi).cloned().unwrap_or_default();
        if value.ty == RegType::NotInit {
            // the call-site check makes this unreachable for static callees
            return Err(Bug::StackArgUninit(spi + 1).into());
        }
        self.cur.cur_mut().regs[dst.num() as usize] = value;
        Ok(())
    }

    /// Set before any call is checked: a frame with incoming stack arguments may not load them
    /// after a call.
    pub(crate) fn stack_args_before_call(&mut self) {
        let sub = self.cur.cur().subprogno;
        if self.subs.stack_args.in_args(sub) > 0 {
            self.cur.cur_mut().no_stack_arg_load = true;
        }
    }

    /// `check_outgoing_stack_args`: every slot a callee with `nargs` parameters reads is set.
    pub(crate) fn check_outgoing_stack_args(&self, nargs: u32) -> Result<(), Reject> {
        let f = self.cur.cur();
        for slot in (0..nargs as usize).filter_map(StackArgSlot::of_arg) {
            if f.stack_args.get(slot.index()).is_none_or(|r| r.ty == RegType::NotInit) {
                return Err(StackArgError::NotInitialized(nargs, slot.index() + 1).into());
            }
        }
        Ok(())
    }

    /// `invalidate_outgoing_stack_args` of the current frame (slot count unchanged).
    pub(crate) fn invalidate_outgoing_stack_args(&mut self) {
        for r in self.cur.cur_mut().stack_args.iter_mut() {
            *r = RegState::not_init();
        }
    }

    /// The part of `btf_check_subprog_call` about argument counts, at a static or global
    /// subprog call from the current frame (after the call-depth check).
    pub(crate) fn stack_args_subprog_call(&mut self, callee: usize) -> Result<(), Reject> {
        let sa = &self.subs.stack_args;
        let nargs = sa.arg_cnt.get(callee).copied().unwrap_or(0);
        let name = sa.name_of(callee);
        if nargs > MAX_FUNC_ARGS {
            return Err(StackArgError::TooManyParams(name, nargs).into());
        }
        let global = sa.global.get(callee).copied().unwrap_or(false);
        if global && nargs > MAX_REG_ARGS && !self.prog.opts.allow_global_stack_args {
            let line = StackArgError::GlobalTooManyArgs(name.clone(), nargs);
            self.log.put(&format!("{line}\n"));
            self.check_outgoing_stack_args(nargs)?;
            return Err(StackArgError::CallerPassesInvalidArgs(callee, name).into());
        }
        self.check_outgoing_stack_args(nargs)?;
        let caller = self.cur.cur().subprogno;
        let want = (self.subs.stack_args.in_args(caller) + self.subs.stack_args.in_args(callee)) as u32;
        if let Some(c) = self.subs.stack_args.stack_arg_cnt.get_mut(caller) {
            *c = (*c).max(want);
        }
        Ok(())
    }

    /// After a kfunc call with `nargs` parameters: slots are dead, the frame's count grows.
    pub(crate) fn stack_args_after_kfunc(&mut self, nargs: u32) {
        self.invalidate_outgoing_stack_args();
        if nargs > MAX_REG_ARGS {
            let caller = self.cur.cur().subprogno;
            let want = self.subs.stack_args.in_args(caller) as u32 + (nargs - MAX_REG_ARGS);
            if let Some(c) = self.subs.stack_args.stack_arg_cnt.get_mut(caller) {
                *c = (*c).max(want);
            }
        }
    }

    /// The whole-program checks after the walk, in the kernel's order: tail calls
    /// (`check_max_stack_depth`), unused slots and non-JIT refusals (`bpf_fixup_call_args`).
    pub(crate) fn stack_args_after_walk(&mut self) -> Result<(), Reject> {
        self.check_stack_arg_tail_calls()?;
        let sa = &self.subs.stack_args;
        for sp in 0..sa.max_out.len() {
            let outgoing = sa.stack_arg_cnt[sp].saturating_sub(sa.in_args(sp) as u32);
            if sa.max_out[sp] > outgoing {
                return Err(StackArgError::UnusedSlots(sp, sa.max_out[sp], outgoing).into());
            }
        }
        if !self.prog.opts.jit {
            if (0..self.prog.table.len()).any(|i| self.prog.call_at(i, CallKind::Kfunc).is_some()) {
                return Err(StackArgError::KfuncNonJit.into());
            }
            if (0..sa.arg_cnt.len()).any(|sp| sa.in_args(sp) > 0) {
                return Err(StackArgError::NonJit.into());
            }
        }
        Ok(())
    }

    /// `tail_calls are not allowed in programs with stack args` (`check_max_stack_depth`).
    fn check_stack_arg_tail_calls(&self) -> Result<(), Reject> {
        let cnt = &self.subs.stack_args.stack_arg_cnt;
        if tail_call_with_stack_args(&self.prog.table, &self.prog.info.subprogs, cnt) {
            return Err(StackArgError::TailCalls.into());
        }
        Ok(())
    }
}

/// Whether a tail call is reachable through a chain of frames (from the main program) any of
/// which has `stack_arg_cnt != 0`.
fn tail_call_with_stack_args(slots: &SlotTable<'_>, subs: &Subprogs, stack_arg_cnt: &[u32]) -> bool {
    // calls read through the passes' shape: decoded, or raw for a slot the walk never checked
    let flow = |i: usize| shape(slots, i).flow;
    let tail_call = Flow::Call { kind: Some(CallKind::Helper), imm: BpfFunc::TailCall.id() };
    let has_tail_call =
        |sp: usize| subs.list.get(sp).is_some_and(|s| s.slots().any(|i| flow(i) == tail_call));
    // depth-first over the static call graph; it is acyclic (recursion is refused earlier) and
    // at most MAX_CALL_FRAMES deep on any accepted path
    let mut stack = vec![(0usize, false, 1usize)];
    let mut visited = 0usize;
    while let Some((sp, args_on_chain, depth)) = stack.pop() {
        visited += 1;
        if visited > 100_000 || depth > kbpf_isa::MAX_CALL_FRAMES + 1 {
            break;
        }
        let chain = args_on_chain || stack_arg_cnt.get(sp).is_some_and(|&c| c != 0);
        if chain && has_tail_call(sp) {
            return true;
        }
        let Some(s) = subs.list.get(sp) else { continue };
        for i in s.slots() {
            if let Flow::Call { kind: Some(CallKind::Local), imm } = flow(i) {
                let t = SlotIdx::new(i).jump(imm as i64);
                if let Some(callee) = t.and_then(|t| subs.starting_at(t)) {
                    stack.push((callee, chain, depth + 1));
                }
            }
        }
    }
    false
}

/// Visits every initialised outgoing slot of `f` (the state iterators reach slots too: null
/// checks, packet ranges and linked scalars propagate into them).
pub(crate) fn for_each_slot(f: &mut FuncState, visit: &mut dyn FnMut(&mut RegState)) {
    for r in f.stack_args.iter_mut().filter(|r| r.ty != RegType::NotInit) {
        visit(r);
    }
}

/// The backtracking mask bit of the slot a stack-arg instruction addresses (0 when out of
/// range; such an access was rejected during the walk).
pub(crate) fn slot_bit(pos: StackArgPos) -> u8 {
    pos.slot().map_or(0, StackArgSlot::bit)
}

/// The precise scalar slots of `f` as a mask (`propagate_precision`).
pub(crate) fn precise_slots(f: &FuncState) -> u8 {
    let mut m = 0u8;
    for (i, r) in f.stack_args.iter().enumerate().take(MAX_STACK_ARG_SLOTS) {
        if r.ty == RegType::Scalar && r.precise {
            m |= 1 << i;
        }
    }
    m
}

/// Marks the slots of `mask` precise in a parent checkpoint's frame; slots already precise or
/// not scalars leave the mask. Returns whether anything changed.
pub(crate) fn mark_parent_slots(f: &mut FuncState, mask: &mut u8) -> bool {
    let mut changed = false;
    for i in 0..MAX_STACK_ARG_SLOTS {
        if *mask & (1 << i) == 0 {
            continue;
        }
        match f.stack_args.get_mut(i) {
            Some(r) if r.ty == RegType::Scalar && !r.precise => {
                r.precise = true;
                changed = true;
            }
            _ => *mask &= !(1 << i),
        }
    }
    changed
}

/// Marks every scalar slot of `f` precise (the conservative fallback of backtracking).
pub(crate) fn mark_slots_precise(f: &mut FuncState) {
    for r in f.stack_args.iter_mut() {
        if r.ty == RegType::Scalar {
            r.precise = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbpf_isa::RawInsn;
    use kbpf_passes::Errno;

    fn r(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
        RawInsn::new(code, dst, src, off, imm)
    }

    #[test]
    fn tail_calls_and_stack_args() {
        let tail = r(0x85, 0, 0, 0, BpfFunc::TailCall.id());
        let exit = r(0x95, 0, 0, 0, 0);
        // main: call sub; tail call; exit. sub: exit
        let p = [r(0x85, 0, 1, 0, 2), tail, exit, exit];
        let p = SlotTable::new(&p);
        let subs = kbpf_passes::subprogs::add_subprogs(&p).unwrap();
        assert!(!tail_call_with_stack_args(&p, &subs, &[0, 0]));
        assert!(tail_call_with_stack_args(&p, &subs, &[1, 0]));
        // a callee with stack args does not taint the tail call in its caller
        assert!(!tail_call_with_stack_args(&p, &subs, &[0, 1]));
        // main (with stack args) calls sub, which tail-calls
        let p = [r(0x85, 0, 1, 0, 1), exit, tail, exit];
        let p = SlotTable::new(&p);
        let subs = kbpf_passes::subprogs::add_subprogs(&p).unwrap();
        assert!(tail_call_with_stack_args(&p, &subs, &[1, 0]));
        assert!(tail_call_with_stack_args(&p, &subs, &[0, 1]));
        assert!(!tail_call_with_stack_args(&p, &subs, &[0, 0]));
    }

    #[test]
    fn argument_names() {
        assert_eq!(arg_name(0).to_string(), "R1");
        assert_eq!(arg_name(4).to_string(), "R5");
        assert_eq!(arg_name(5).to_string(), "*(R11-8)");
        assert_eq!(arg_name(11).to_string(), "*(R11-56)");
    }

    #[test]
    fn messages_and_errnos() {
        let e = StackArgError::WriteBeyondMax(-80);
        assert_eq!(e.to_string(), "stack arg write offset -80 exceeds max 7 stack args");
        assert_eq!(StackArgError::InvalidRead(8, 0).errno(), Errno::EACCES);
        assert_eq!(StackArgError::NotInitialized(7, 1).errno(), Errno::EFAULT);
        assert_eq!(StackArgError::TooManyParams("f".into(), 13).errno(), Errno::EFAULT);
        assert_eq!(
            StackArgError::UnusedSlots(0, 5, 2).to_string(),
            "func#0 writes 5 stack arg slots, but calls only require 2"
        );
        assert_eq!(StackArgError::TailCalls.errno(), Errno::EINVAL);
    }
}
