//! Calls: static bpf-to-bpf calls (`check_func_call`, `prepare_func_exit`) and references
//! (`acquire_reference`, `release_reference`, `check_resource_leak`); helpers in [`helper`] and
//! [`helper_args`], kfuncs, global functions, async callbacks, stack arguments and the
//! argument kinds (dynptrs, iterators, sockets) in the sibling modules.

pub(crate) mod alloc;
pub(crate) mod async_cb;
mod btf_args;
pub(crate) mod callbacks;
pub(crate) mod dev_bound;
pub(crate) mod dynptr;
pub(crate) mod exceptions;
pub(crate) mod fastcall;
pub(crate) mod global_args;
pub(crate) mod global_funcs;
pub(crate) mod graph;
pub(crate) mod helper;
pub(crate) mod helper_args;
pub(crate) mod iter;
pub(crate) mod kfunc_btf;
pub(crate) mod kfunc_call;
mod kfunc_fix;
pub(crate) mod locks;
mod snprintf;
pub(crate) mod sock;
pub(crate) mod stack_args;
pub(crate) mod stack_depth;

use crate::domain::state::{FuncState, RefKind, RegState, RegType};
use crate::env::ctx::Call;
use crate::messages::{Bug, CallReject, KfuncReject, LockReject, Reject};
use kbpf_isa::SlotIdx;

impl Call<'_, '_> {
    /// `clear_all_pkt_pointers`: after a helper that may move the packet, every packet pointer
    /// (registers, spilled slots, outgoing stack-argument slots, every frame) becomes unknown.
    pub(crate) fn clear_all_pkt_pointers(&mut self) {
        let privileged = self.prog.opts.privileged;
        crate::check::branch::for_each_reg(self.cur, |r| {
            // packet pointers, and slices of skb/xdp dynptrs
            if matches!(r.ty, RegType::Packet | RegType::PacketMeta | RegType::PacketEnd)
                || (r.ty == RegType::Mem && r.flags & crate::domain::state::DYNPTR_PKT != 0)
            {
                *r = if privileged { RegState::unknown_scalar() } else { RegState::not_init() };
            }
        });
    }

    /// `acquire_reference`: a new reference state owned by the instruction `insn`.
    pub(crate) fn acquire_reference(&mut self, insn: usize) -> u32 {
        let id = self.new_id();
        self.cur.refs.push(crate::domain::state::RefState {
            id,
            insn,
            kind: crate::domain::state::RefKind::Ptr,
        });
        id
    }

    /// `release_reference`: drops the reference and invalidates every copy of the pointer,
    /// in registers, spilled slots and outgoing stack-argument slots alike. Returns whether the
    /// reference existed.
    pub(crate) fn release_reference(&mut self, ref_obj_id: u32) -> bool {
        let Some(pos) = self.cur.refs.iter().position(|r| r.id == ref_obj_id && r.kind == RefKind::Ptr)
        else {
            return false;
        };
        self.cur.refs.remove(pos);
        let privileged = self.prog.opts.privileged;
        crate::check::branch::for_each_reg(self.cur, |r| {
            if r.ref_obj_id == ref_obj_id {
                // mark_reg_invalid: unknown for a loader allowed to leak pointers
                *r = if privileged { RegState::unknown_scalar() } else { RegState::not_init() };
            }
        });
        true
    }

    /// `check_resource_leak`: every acquired reference listed, then what would leak them.
    /// Then the lock sections that must be closed there (every caller checks them: a main
    /// program exit, a tail call, a legacy packet load).
    pub(crate) fn check_resource_leak(&self, what: &'static str) -> Result<(), Reject> {
        if self.cur.active_locks > 0 {
            return Err(LockReject::InLockSection(what).into());
        }
        // check_reference_leak: pointers only (held locks were refused above)
        if self.cur.refs.iter().any(|r| r.kind == RefKind::Ptr) {
            // each reference is a context line before the refusal
            let last = Reject::from(CallReject::RefLeak(what));
            return Err(self
                .cur
                .refs
                .iter()
                .filter(|r| r.kind == RefKind::Ptr)
                .rev()
                .fold(last, |acc, r| Reject::UnreleasedRef(r.id, r.insn).then(acc)));
        }
        if self.cur.active_rcu_lock {
            return Err(KfuncReject::InRcuSection(what).into());
        }
        if self.cur.active_preempt_locks > 0 {
            return Err(KfuncReject::InPreemptSection(what).into());
        }
        Ok(())
    }

    /// `check_func_call`: a static subprogram call pushes a frame.
    pub(crate) fn check_func_call(&mut self, imm: i32, idx: usize) -> Result<(), Reject> {
        let target = SlotIdx::new(idx).jump(imm as i64);
        let Some((entry, sub)) = target.and_then(|t| Some((t, self.prog.info.subprogs.starting_at(t)?)))
        else {
            // a target before slot 0 starts no subprogram
            return Err(Bug::CallTargetNotSubprog(target.map_or(usize::MAX, SlotIdx::index)).into());
        };
        let args = self.btf_check_subprog_call(sub)?;
        if self.subs.stack_args.global.get(sub).copied().unwrap_or(false) && self.cur.active_locks > 0 {
            return Err(LockReject::GlobalCall.into());
        }
        if self.subs.stack_args.global.get(sub).copied().unwrap_or(false) {
            return self.check_global_func_call(sub, args);
        }
        if self.cur.frames.len() >= kbpf_isa::MAX_CALL_FRAMES {
            return Err(Reject::CallStackTooDeep(self.cur.frames.len() + 1));
        }
        if !self.subs.stack_args.declared.get(sub).copied().unwrap_or(false) {
            // no prototype: no stack arguments, but the caller's slot count still grows
            self.stack_args_subprog_call(sub)?;
        }
        let frameno = self.cur.frames.len() as u32;
        let mut callee = FuncState::new(idx as i64, frameno, sub);
        for r in 1..=5 {
            callee.regs[r] = self.cur.cur().regs[r].clone();
        }
        for r in 0..6 {
            self.cur.cur_mut().regs[r] = RegState::not_init();
        }
        self.cur.frames.push(callee);
        self.cur.insn_idx = entry;
        self.search.live.reset_callchain();
        if self.log.on() {
            let maps = self.prog.opts.maps.clone();
            self.log.put("caller:\n");
            let c = self.cur.frames.len() - 2;
            self.log.print_state(self.cur, c, true, &maps);
            self.log.put("callee:\n");
            let c = self.cur.frames.len() - 1;
            self.log.print_state(self.cur, c, true, &maps);
        }
        self.log.scratch_all();
        Ok(())
    }

    /// `prepare_func_exit`: return to the caller.
    pub(crate) fn prepare_func_exit(&mut self) -> Result<(), Reject> {
        let r0 = self.cur.cur().regs[0].clone();
        if r0.ty == RegType::Stack {
            return Err(CallReject::ReturnStackPtr.into());
        }
        let callsite = self.cur.cur().callsite;
        let n = self.cur.frames.len();
        if n < 2 {
            return Err(Bug::ExitNoCaller.into());
        }
        // a callback's r0 stays in the callback; the walk goes back to the helper call
        let in_callback = self.cur.cur().in_callback_fn;
        let ret = if in_callback {
            let callee = self.cur.cur().clone();
            self.callback_exit(&callee)?
        } else {
            self.cur.frames[n - 2].regs[0] = r0;
            (callsite + 1) as usize
        };
        if self.log.on() {
            let maps = self.prog.opts.maps.clone();
            self.log.put("returning from callee:\n");
            self.log.print_state(self.cur, n - 1, true, &maps);
            self.log.put(&format!("to caller at {ret}:\n"));
            self.log.print_state(self.cur, n - 2, true, &maps);
        }
        self.cur.frames.pop();
        self.invalidate_outgoing_stack_args();
        self.cur.insn_idx = SlotIdx::new(ret);
        if in_callback {
            // widen_imprecise_scalars against the previous visit of the call, as for
            // iterators, so that a callback's loop converges
            let prev = self.walk().find_prev_entry_of_cur(SlotIdx::new(ret));
            if let Some(old) = prev.map(|i| self.search.arena[i].st.clone()) {
                crate::prune::states::widen_imprecise_scalars(&old, self.cur, self.search.id_gen);
            }
        }
        Ok(())
    }
}
