//! Async callbacks (timer callbacks): `ld_imm64` of a subprogram (`BPF_PSEUDO_FUNC`, giving
//! `PTR_TO_FUNC`), `bpf_timer_set_callback` queueing the callback for verification in a fresh
//! state of its own (`push_callback_call` / `push_async_cb` / `set_timer_callback_state`), and
//! the return-value rule at the callback's `exit` (`check_return_code` for
//! `in_async_callback_fn`).
//!
//! The callback's state has no parent checkpoint and starts at frame 0 with R1 = the timer's map
//! (`CONST_PTR_TO_MAP`), R2 = the element's key (`PTR_TO_MAP_KEY`), R3 = its value
//! (`PTR_TO_MAP_VALUE`), R10 = a fresh stack. It may call static subprograms like any function
//! (stack arguments included); its `exit` must leave R0 = 0.

use crate::domain::state::{FuncState, RegState, RegType, VerifierState};
use crate::env::Pending;
use crate::env::ctx::Call;
use crate::messages::{Bug, CallReject, KfuncReject, RegName, Reject, TypeName};
use kbpf_isa::{Reg, SlotIdx};

impl Call<'_, '_> {
    /// `check_ld_imm` for `BPF_PSEUDO_FUNC`: the target must have a prototype (BTF
    /// `func_info`, kbpf's `.func`) and static linkage.
    pub(crate) fn check_ld_imm_func(&mut self, dst: Reg, imm: i32, idx: usize) -> Result<(), Reject> {
        let target = idx as i64 + imm as i64 + 1;
        let sub = SlotIdx::new(idx).jump(imm as i64).and_then(|t| self.prog.info.subprogs.starting_at(t));
        let Some(sub) = sub else {
            return Err(Bug::FuncTargetNotSubprog(target).into());
        };
        if self.prog.opts.funcs.is_empty() {
            return Err(CallReject::MissingFuncInfo.into());
        }
        if self.subs.stack_args.global.get(sub).copied().unwrap_or(false) {
            return Err(CallReject::CallbackNotStatic.into());
        }
        let mut r = RegState::pointer(RegType::Func);
        r.subprogno = sub as u32;
        self.cur.cur_mut().regs[dst.num() as usize] = r;
        Ok(())
    }

    /// `push_callback_call` for an async callback: the prototype check against the caller's
    /// registers (only logged, as for any callback), then the callback's own state is queued.
    pub(crate) fn push_callback_call(&mut self, sub: usize, call_idx: usize) -> Result<(), Reject> {
        self.check_callback_args(sub);
        if let Some(cb) = self.subs.is_async_cb.get_mut(sub) {
            *cb = true;
        }
        if let Some(cb) = self.subs.is_cb.get_mut(sub) {
            *cb = true;
        }
        let start = self
            .prog
            .info
            .subprogs
            .list
            .get(sub)
            .map(|s| s.start.index())
            .ok_or(Reject::Bug(Bug::NoCallbackSubprog(sub)))?;
        let caller = self.cur.cur();
        let map = caller.regs[1].map;
        let entry_cnt = caller.async_entry_cnt + 1;
        // push_async_cb: a fresh state, like do_check_common's, not a copy of the caller's
        let mut frame = FuncState::new(-1, 0, sub);
        frame.async_entry_cnt = entry_cnt;
        set_timer_callback_state(&mut frame, map);
        // init_func_state marks the whole state scratched
        self.log.scratch_all();
        // zeroed like the kernel's kzalloc'ed state: backtracking in the callback's first
        // segment reports `first_idx 0`
        let st = VerifierState::fresh(vec![frame], SlotIdx::new(start));
        self.search.pending.push(Pending {
            st,
            insn_idx: SlotIdx::new(start),
            prev_insn_idx: call_idx as i64,
            log_pos: self.log.buf.len(),
        });
        if self.search.pending.len() > crate::COMPLEXITY_LIMIT_JMP_SEQ {
            return Err(CallReject::AsyncJmpSeqTooComplex(self.search.pending.len()).into());
        }
        Ok(())
    }

    /// `btf_check_subprog_call` on a callback: a mismatch between the declared (scalar)
    /// parameters and the caller's registers is logged once and marks the prototype
    /// unreliable; it does not fail the call.
    pub(super) fn check_callback_args(&mut self, sub: usize) {
        let sa = &self.subs.stack_args;
        if !sa.declared.get(sub).copied().unwrap_or(false)
            || self.subs.unreliable_proto.get(sub).copied().unwrap_or(false)
        {
            return;
        }
        let nargs = sa.arg_cnt[sub].min(crate::protos::func_info::MAX_REG_ARGS) as usize;
        let bad = (1..=nargs).find(|&r| self.cur.cur().regs[r].ty != RegType::Scalar);
        if let Some(r) = bad {
            self.log.put(&format!("{}\n", KfuncReject::NotScalar(RegName::R(r as u8))));
            if let Some(u) = self.subs.unreliable_proto.get_mut(sub) {
                *u = true;
            }
        }
    }

    /// `check_return_code` at the `exit` of an async callback's frame 0: R0 must be a known
    /// scalar in the callback's return range, [0, 0] for timers.
    pub(crate) fn check_async_return_code(&mut self) -> Result<(), Reject> {
        self.check_reg_arg(0, crate::check::alu::RegOp::Src)?;
        let r0 = self.cur.cur().regs[0].clone();
        if r0.is_pointer() && !self.prog.opts.privileged {
            return Err(Reject::LeaksAddrReturn);
        }
        if r0.ty != RegType::Scalar {
            return Err(CallReject::AsyncRetNotKnown(TypeName::new(r0.ty, r0.flags)).into());
        }
        self.precision().mark_chain_precision(0);
        let (min, max) = (0i64, 0i64);
        if r0.b64.smin >= min && r0.b64.smax <= max {
            return Ok(());
        }
        Err(CallReject::AsyncRetRange { smin: r0.b64.smin, smax: r0.b64.smax, min, max }.into())
    }
}

/// `set_timer_callback_state`: `callback_fn(struct bpf_map *map, void *key, void *value)`, all
/// three of the timer's map; R4 and R5 unreadable.
fn set_timer_callback_state(callee: &mut FuncState, map: u32) {
    for (r, ty) in [(1, RegType::ConstMapPtr), (2, RegType::MapKey), (3, RegType::MapValue)] {
        let mut reg = RegState::pointer(ty);
        reg.map = map;
        callee.regs[r] = reg;
    }
    callee.regs[4] = RegState::not_init();
    callee.regs[5] = RegState::not_init();
    callee.in_async_callback_fn = true;
}
