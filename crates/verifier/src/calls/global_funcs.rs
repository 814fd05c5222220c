//! Calls to subprograms with a prototype (`btf_check_subprog_call`) and global functions.
//!
//! A subprogram declared by BTF `func_info` (kbpf: `.func`) has its arguments checked at every
//! call: each declared parameter is a 64-bit integer, so the register (or, with stack
//! arguments, the slot) must hold a scalar. A static callee is then walked in line whatever
//! the check said (the kernel only logs the mismatch); a global one is not entered at all: the
//! call is refused on a mismatch (`Caller passes invalid args into func#N ('name')`), otherwise
//! R0 becomes an unknown scalar and the function is queued. After the main program, every
//! global function some accepted path called is verified on its own from a state built from
//! its prototype (`do_check_subprogs`), until no new one is called.

use crate::calls::stack_args::arg_name;
use crate::domain::state::{RegState, RegType};
use crate::env::ctx::Call;
use crate::messages::Reject;
use crate::messages::{KfuncReject, TypeName};
use crate::protos::func_info::MAX_REG_ARGS;
use crate::protos::helpers::changes_pkt_data;
use kbpf_isa::{CallKind, SlotIdx};
use kbpf_passes::Errno;

/// How the arguments of a call matched the callee's prototype.
pub(crate) enum ArgMatch {
    /// Matched, or the callee has no prototype.
    Ok,
    /// Did not match (already logged); fatal only for a global callee, with this errno.
    Mismatch(Errno),
}

impl Call<'_, '_> {
    /// `btf_check_subprog_call`: the prototype's argument count and types against the caller's
    /// registers and outgoing slots. `Err` is fatal whatever the linkage.
    pub(crate) fn btf_check_subprog_call(&mut self, sub: usize) -> Result<ArgMatch, Reject> {
        let sa = &self.subs.stack_args;
        if !sa.declared.get(sub).copied().unwrap_or(false) {
            return Ok(ArgMatch::Ok);
        }
        let nargs = sa.arg_cnt[sub];
        let global = sa.global[sub];
        let name = sa.name_of(sub);
        if self.prog.opts.stack_args {
            // counts, the call-site slot check and the >5-args global refusal
            self.stack_args_subprog_call(sub)?;
        } else if nargs > MAX_REG_ARGS {
            // Linux 6.18 has no stack arguments: the prototype itself is refused
            if global {
                self.log.put(&format!(
                    "Global function {name}() with {nargs} > {MAX_REG_ARGS} args. Buggy compiler.\n"
                ));
            }
            return Ok(ArgMatch::Mismatch(Errno::EINVAL));
        }
        // a BTF prototype types the arguments (btf_prepare_func_args)
        if let Some(prepared) = self.prepare_func_args(sub) {
            let checked = prepared
                .and_then(|args| args.iter().enumerate().try_for_each(|(i, a)| self.check_global_arg(i, a)));
            return Ok(match checked {
                Ok(()) => ArgMatch::Ok,
                Err(crate::calls::global_args::Untyped(line, errno)) => {
                    if let Some(line) = line {
                        self.log.put(&format!("{line}\n"));
                    }
                    ArgMatch::Mismatch(errno)
                }
            });
        }
        for i in 0..nargs as usize {
            let r = match kbpf_isa::StackArgSlot::of_arg(i) {
                None => self.cur.cur().regs[i + 1].clone(),
                Some(slot) => self.cur.cur().stack_args.get(slot.index()).cloned().unwrap_or_default(),
            };
            if r.ty != RegType::Scalar {
                // logged, not returned: the caller turns the mismatch into its own refusal
                self.log.put(&format!("{}\n", KfuncReject::NotScalar(arg_name(i))));
                return Ok(ArgMatch::Mismatch(Errno::EINVAL));
            }
        }
        Ok(ArgMatch::Ok)
    }

    /// The global branch of `check_func_call`: refuse a mismatch, otherwise treat the call
    /// like a helper returning an unknown scalar and queue the callee for verification.
    pub(crate) fn check_global_func_call(&mut self, sub: usize, m: ArgMatch) -> Result<(), Reject> {
        let name = self.subs.stack_args.name_of(sub);
        if let ArgMatch::Mismatch(errno) = m {
            return Err(crate::messages::BtfReject::CallerPassesInvalidArgs(sub, name, errno).into());
        }
        if self.log.on() {
            self.log.put(&format!("Func#{sub} ('{name}') is global and assumed valid.\n"));
        }
        if self.subprog_changes_pkt_data(sub) {
            self.clear_all_pkt_pointers();
        }
        if let Some(c) = self.subs.global_called.get_mut(sub) {
            *c = true;
        }
        for r in 0..6 {
            self.cur.cur_mut().regs[r] = RegState::not_init();
            self.log.scratch_reg(r);
        }
        self.cur.cur_mut().regs[0] = RegState::unknown_scalar();
        self.invalidate_outgoing_stack_args();
        self.cur.insn_idx = crate::env::slots::after(self.cur.insn_idx, 1);
        Ok(())
    }

    /// Whether subprogram `sub`, or anything it calls, may change packet data.
    fn subprog_changes_pkt_data(&self, sub: usize) -> bool {
        let subs = &self.prog.info.subprogs;
        let mut seen = vec![false; subs.list.len()];
        let mut work = vec![sub];
        while let Some(s) = work.pop() {
            if std::mem::replace(&mut seen[s], true) {
                continue;
            }
            let Some(sp) = subs.list.get(s) else { continue };
            for i in sp.slots() {
                // a tail call may run a program that changes the packet: the kernel marks its
                // subprogram as one that changes packet data too
                if self.prog.call_at(i, CallKind::Helper).is_some_and(|id| {
                    crate::protos::func_id::BpfFunc::from_id(id).is_some_and(|f| {
                        changes_pkt_data(f) || f == crate::protos::func_id::BpfFunc::TailCall
                    })
                }) {
                    return true;
                }
                if let Some(imm) = self.prog.call_at(i, CallKind::Local) {
                    let t = SlotIdx::new(i).jump(imm as i64);
                    work.extend(t.and_then(|t| subs.starting_at(t)));
                }
            }
        }
        false
    }

    /// `check_return_code` at the main program's exit when its type bounds the return value:
    /// R0 a known scalar in `[min, max]`.
    pub(crate) fn check_prog_return_code(&mut self, (min, max): (i64, i64)) -> Result<(), Reject> {
        self.check_reg_arg(0, crate::check::alu::RegOp::Src)?;
        let r0 = self.cur.cur().regs[0].clone();
        if r0.is_pointer() && !self.prog.opts.privileged {
            return Err(Reject::LeaksAddrReturn);
        }
        if r0.ty != RegType::Scalar {
            return Err(Reject::ExitNotKnown(crate::messages::TypeName::new(r0.ty, r0.flags)));
        }
        self.precision().mark_chain_precision(0);
        if r0.b64.smin >= min && r0.b64.smax <= max {
            return Ok(());
        }
        // verbose_invalid_scalar: the known signed bounds
        let known = [
            (r0.b64.smin > i64::MIN).then(|| format!("smin={}", r0.b64.smin)),
            (r0.b64.smax < i64::MAX).then(|| format!("smax={}", r0.b64.smax)),
        ];
        let mut bounds: Vec<String> = known.into_iter().flatten().collect();
        if bounds.is_empty() {
            bounds.push("unknown scalar value".into());
        }
        Err(Reject::ExitRange(crate::messages::RegName::R(0), bounds.join(" "), min, max))
    }

    /// `check_global_subprog_return_code`: a global function returns a readable scalar.
    pub(crate) fn check_global_subprog_return_code(&mut self) -> Result<(), Reject> {
        self.check_reg_arg(0, crate::check::alu::RegOp::Src)?;
        let r0 = &self.cur.cur().regs[0];
        if r0.is_pointer() && !self.prog.opts.privileged {
            return Err(Reject::LeaksAddrReturn);
        }
        if r0.ty != RegType::Scalar {
            return Err(Reject::SubprogExitNotScalar(TypeName::new(r0.ty, r0.flags)));
        }
        Ok(())
    }
}
