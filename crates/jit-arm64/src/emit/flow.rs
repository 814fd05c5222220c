//! Jumps, may_goto, helper/kfunc/bpf-to-bpf calls and `callx`.
//!
//! Calls into native code need no argument shuffling: r1..r5 already sit in x0..x4, stack
//! arguments 6..8 were moved to x5..x7 and 9..12 stored at `[sp]` by the outgoing stack-argument
//! stores, which is exactly AAPCS64 for `u64` parameters. The target address is materialised in
//! TMP1 (`blr x10`), and the result moved from x0 to x8 (BPF r0).

use dynasmrt::{DynasmApi, DynasmLabelApi, dynasm};
use kbpf_isa::{JmpCond, Reg, Src, Width};
use kbpf_jit::{FaultKind, JitError};
use kbpf_kfunc::{FuncDesc, FuncKind};

use super::{Cond, Emitter, R, a64};
use crate::abi;
use crate::imms::{AddSubImm, LogicalImm};
use crate::regs::{self, TMP1, TMP2, TMP3, XReg};

fn cond_of(c: JmpCond) -> Cond {
    match c {
        JmpCond::Eq => Cond::Eq,
        JmpCond::Ne | JmpCond::Set => Cond::Ne,
        JmpCond::Gt => Cond::Hi,
        JmpCond::Ge => Cond::Hs,
        JmpCond::Lt => Cond::Lo,
        JmpCond::Le => Cond::Ls,
        JmpCond::Sgt => Cond::Gt,
        JmpCond::Sge => Cond::Ge,
        JmpCond::Slt => Cond::Lt,
        JmpCond::Sle => Cond::Le,
    }
}

impl Emitter<'_> {
    pub(super) fn goto(&mut self, off: i64) -> R {
        let l = self.target(off)?;
        // `goto +0` falls through.
        if off != 0 {
            self.b(l);
        }
        Ok(())
    }

    pub(super) fn jmp(&mut self, width: Width, cond: JmpCond, dst: Reg, src: Src, off: i64) -> R {
        let label = self.target(off)?;
        let d = self.x(dst)?;
        let w64 = width == Width::W64;
        match src {
            Src::Reg(s) => {
                let s = self.x(s)?;
                match (cond == JmpCond::Set, w64) {
                    (true, true) => a64!(self.ops ; tst X(d), X(s)),
                    (true, false) => a64!(self.ops ; tst W(d), W(s)),
                    (false, true) => a64!(self.ops ; cmp X(d), X(s)),
                    (false, false) => a64!(self.ops ; cmp W(d), W(s)),
                }
            }
            Src::Imm(imm) => self.cmp_imm(cond == JmpCond::Set, w64, d, imm),
        }
        self.b_cond(cond_of(cond), label);
        Ok(())
    }

    /// Flags for `d cond imm` (`tst` for jset, else `cmp`/`cmn`).
    fn cmp_imm(&mut self, test: bool, w64: bool, d: XReg, imm: i32) {
        let width = if w64 { Width::W64 } else { Width::W32 };
        let value = if w64 { imm as i64 as u64 } else { imm as u32 as u64 };
        if test {
            if let Some(l) = LogicalImm::new(value, width) {
                match w64 {
                    true => a64!(self.ops ; tst X(d), #(l.value)),
                    false => a64!(self.ops ; tst W(d), #(l.value as u32)),
                }
                return;
            }
        } else {
            // cmn with the negated constant sets the same flags as cmp for any nonzero
            // constant other than INT_MIN, and those are the only ones it is used for.
            let (neg, mag) = (imm < 0, (imm as i64).unsigned_abs());
            if let Some(i) = AddSubImm::new(mag) {
                match (neg, w64, i.lsl12) {
                    (false, true, false) => a64!(self.ops ; cmp XSP(d), #(i.imm12)),
                    (false, true, true) => a64!(self.ops ; cmp XSP(d), #(i.imm12), lsl #12),
                    (false, false, false) => a64!(self.ops ; cmp WSP(d), #(i.imm12)),
                    (false, false, true) => a64!(self.ops ; cmp WSP(d), #(i.imm12), lsl #12),
                    (true, true, false) => a64!(self.ops ; cmn XSP(d), #(i.imm12)),
                    (true, true, true) => a64!(self.ops ; cmn XSP(d), #(i.imm12), lsl #12),
                    (true, false, false) => a64!(self.ops ; cmn WSP(d), #(i.imm12)),
                    (true, false, true) => a64!(self.ops ; cmn WSP(d), #(i.imm12), lsl #12),
                }
                return;
            }
        }
        self.mov_imm(TMP2, value, width);
        match (test, w64) {
            (true, true) => a64!(self.ops ; tst X(d), X(TMP2)),
            (true, false) => a64!(self.ops ; tst W(d), W(TMP2)),
            (false, true) => a64!(self.ops ; cmp X(d), X(TMP2)),
            (false, false) => a64!(self.ops ; cmp W(d), W(TMP2)),
        }
    }

    /// The kernel's may_goto expansion: leave through the branch once the frame's budget is
    /// spent, else count it down.
    pub(super) fn may_goto(&mut self, off: i64) -> R {
        let label = self.target(off)?;
        a64!(self.ops ; ldur X(TMP1), [x29, #(abi::MAY_GOTO_COUNTER)]);
        if self.long {
            let skip = self.ops.new_dynamic_label();
            a64!(self.ops ; cbnz X(TMP1), =>skip ; b =>label ; =>skip);
        } else {
            a64!(self.ops ; cbz X(TMP1), =>label);
        }
        a64!(self.ops
            ; sub XSP(TMP1), XSP(TMP1), #1
            ; stur X(TMP1), [x29, #(abi::MAY_GOTO_COUNTER)]
        );
        Ok(())
    }

    fn native_addr(&self, desc: Option<&FuncDesc>, unknown: JitError) -> R<u64> {
        let desc = desc.ok_or(unknown)?;
        let f = desc.native.ok_or_else(|| JitError::NoNative { pc: self.pc, name: desc.name.clone() })?;
        Ok(f.addr() as u64)
    }

    /// `blr` to a native function and r0 = its result. The address is always built with
    /// `movz` + two `movk` (plus a third for addresses above 2^48, which Linux user space does
    /// not have), so the code layout does not depend on where functions were loaded.
    fn call_native(&mut self, addr: u64) {
        let chunk = |i: u32| ((addr >> (16 * i)) & 0xffff) as u32;
        a64!(self.ops
            ; movz X(TMP1), #chunk(0)
            ; movk X(TMP1), #chunk(1), lsl #16
            ; movk X(TMP1), #chunk(2), lsl #32
        );
        if chunk(3) != 0 {
            a64!(self.ops ; movk X(TMP1), #chunk(3), lsl #48);
        }
        a64!(self.ops ; blr X(TMP1) ; mov X(regs::R0), x0);
    }

    pub(super) fn call_helper(&mut self, id: i32) -> R {
        let addr = self.native_addr(self.registry.helper(id), JitError::UnknownHelper { pc: self.pc, id })?;
        self.call_native(addr);
        Ok(())
    }

    /// `bpf_tail_call(ctx, map, index)`: the resolver (x0 = tail-call state, x1 = map, x2 =
    /// index, as r2/r3 already sit) applies the kernel's rules and returns the target's main
    /// function or 0. A target replaces this frame: every function saves and restores its own
    /// callee-saved registers, so this works from subprograms too (the target's `ret` returns
    /// to this function's caller).
    pub(super) fn tail_call(&mut self) -> R {
        let Some(hook) = self.tail_call else { return Err(self.unsupported("bpf_tail_call")) };
        let fall = self.ops.new_dynamic_label();
        // r1 (ctx) is x0, the resolver's first argument: keep it on the stack (16-byte slot).
        a64!(self.ops ; str x0, [sp, #-16]!);
        self.mov_imm(0, hook.ctx(), Width::W64);
        self.call_native(hook.resolve());
        a64!(self.ops
            ; mov X(TMP3), x0
            ; ldr x0, [sp], #16
            ; cbz X(TMP3), =>fall
        );
        self.teardown();
        a64!(self.ops ; br X(TMP3) ; =>fall);
        Ok(())
    }

    /// `call THROW_ID` (`bpf_throw` after lowering).
    pub(super) fn throw(&mut self) -> R {
        {
            // the exception function with the cookie in x0, then out of every frame with its
            // result in x0 (the kernel unwinds to the main program's exit the same way)
            let f = self.exception.ok_or(JitError::Unsupported {
                pc: self.pc,
                what: "bpf_throw without an exception function",
            })?;
            let (label, unwind) = (self.func_label(f)?, self.unwind);
            a64!(self.ops ; bl =>label ; b =>unwind);
            Ok(())
        }
    }

    pub(super) fn call_kfunc(&mut self, btf_id: i32) -> R {
        let addr =
            self.native_addr(self.registry.kfunc(btf_id), JitError::UnknownKfunc { pc: self.pc, btf_id })?;
        self.call_native(addr);
        Ok(())
    }

    /// bpf-to-bpf call: `bl` the callee, whose result is already in x8. The frame plan has
    /// rejected recursion and call chains deeper than `MAX_CALL_FRAMES`.
    pub(super) fn call_local(&mut self) -> R {
        let target = self.prog.call_target(self.pc).ok_or(self.unsupported("call target"))?;
        let label = self.func_label(target)?;
        a64!(self.ops ; bl =>label);
        Ok(())
    }

    /// `callx reg`: the helper whose id is the register's value, by a compare chain over the
    /// registry's helpers; an unknown id is a fault (the run returns 0).
    pub(super) fn callx(&mut self, reg: Reg) -> R {
        let r = self.x(reg)?;
        let mut helpers: Vec<(i32, u64)> = self
            .registry
            .iter()
            .filter(|d| d.kind == FuncKind::Helper)
            .filter_map(|d| d.native.map(|f| (d.id, f.addr() as u64)))
            .collect();
        helpers.sort_unstable();
        let done = self.ops.new_dynamic_label();
        for (id, addr) in helpers {
            let next = self.ops.new_dynamic_label();
            match AddSubImm::new(id as i64 as u64) {
                Some(i) if !i.lsl12 && id >= 0 => a64!(self.ops ; cmp XSP(r), #(i.imm12)),
                _ => {
                    self.mov_imm(TMP2, id as i64 as u64, Width::W64);
                    a64!(self.ops ; cmp X(r), X(TMP2));
                }
            }
            self.b_cond(Cond::Ne, next);
            self.call_native(addr);
            a64!(self.ops ; b =>done ; =>next);
        }
        let fault = self.fault(FaultKind::UnknownCallx);
        self.b(fault);
        self.ops.dynamic_label(done);
        Ok(())
    }
}
