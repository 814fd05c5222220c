//! Atomic read-modify-write, load-acquire and store-release.
//!
//! With LSE (ARMv8.1) the lowering is the kernel's: the non-fetching forms are the `st*`
//! aliases (`ldadd src, xzr, [addr]`, no ordering), the fetching forms and xchg/cmpxchg use the
//! acquire-release `*al` variants; `and` is `ldclr` of the complement. Without LSE each
//! operation is an exclusive-monitor loop, with `stlxr` + `dmb ish` for the fetching forms (full
//! barrier semantics) as in the kernel's LL/SC path.

use dynasmrt::{DynasmApi, DynasmLabelApi, dynasm};
use kbpf_isa::{AtomicOp, Reg, Size};

use super::{Emitter, R, a64};
use crate::regs::{self, AX, TMP1, TMP2, TMP3, XReg};

impl Emitter<'_> {
    pub(super) fn atomic(&mut self, size: Size, op: AtomicOp, dst: Reg, src: Reg, off: i16) -> R {
        match op {
            AtomicOp::LoadAcquire => return self.load_acquire(size, dst, src, off),
            AtomicOp::StoreRelease => return self.store_release(size, dst, src, off),
            _ => {}
        }
        let wide = match size {
            Size::W => false,
            Size::DW => true,
            _ => return Err(self.unsupported("atomic read-modify-write narrower than 32 bits")),
        };
        let base = self.x(dst)?;
        let s = self.x(src)?;
        let a = self.atomic_addr(base, off);
        if self.lse {
            self.rmw_lse(op, wide, a, s)
        } else {
            self.rmw_llsc(op, wide, a, s)
        }
        Ok(())
    }

    /// Register holding `base + off` (TMP1 unless off is 0).
    fn atomic_addr(&mut self, base: XReg, off: i16) -> XReg {
        if off == 0 {
            base
        } else {
            self.add_const(TMP1, base, off as i64, TMP1);
            TMP1
        }
    }

    fn rmw_lse(&mut self, op: AtomicOp, wide: bool, a: XReg, s: XReg) {
        let r0 = regs::R0;
        let t = TMP2;
        if wide {
            match op {
                AtomicOp::Add => a64!(self.ops ; ldadd X(s), xzr, [X(a)]),
                AtomicOp::Or => a64!(self.ops ; ldset X(s), xzr, [X(a)]),
                AtomicOp::Xor => a64!(self.ops ; ldeor X(s), xzr, [X(a)]),
                AtomicOp::And => a64!(self.ops ; mvn X(t), X(s) ; ldclr X(t), xzr, [X(a)]),
                AtomicOp::FetchAdd => a64!(self.ops ; ldaddal X(s), X(s), [X(a)]),
                AtomicOp::FetchOr => a64!(self.ops ; ldsetal X(s), X(s), [X(a)]),
                AtomicOp::FetchXor => a64!(self.ops ; ldeoral X(s), X(s), [X(a)]),
                AtomicOp::FetchAnd => a64!(self.ops ; mvn X(t), X(s) ; ldclral X(t), X(s), [X(a)]),
                AtomicOp::Xchg => a64!(self.ops ; swpal X(s), X(s), [X(a)]),
                AtomicOp::Cmpxchg => {
                    a64!(self.ops ; mov X(t), X(r0) ; casal X(t), X(s), [X(a)] ; mov X(r0), X(t))
                }
                AtomicOp::LoadAcquire | AtomicOp::StoreRelease => {}
            }
        } else {
            match op {
                AtomicOp::Add => a64!(self.ops ; ldadd W(s), wzr, [X(a)]),
                AtomicOp::Or => a64!(self.ops ; ldset W(s), wzr, [X(a)]),
                AtomicOp::Xor => a64!(self.ops ; ldeor W(s), wzr, [X(a)]),
                AtomicOp::And => a64!(self.ops ; mvn W(t), W(s) ; ldclr W(t), wzr, [X(a)]),
                AtomicOp::FetchAdd => a64!(self.ops ; ldaddal W(s), W(s), [X(a)]),
                AtomicOp::FetchOr => a64!(self.ops ; ldsetal W(s), W(s), [X(a)]),
                AtomicOp::FetchXor => a64!(self.ops ; ldeoral W(s), W(s), [X(a)]),
                AtomicOp::FetchAnd => a64!(self.ops ; mvn W(t), W(s) ; ldclral W(t), W(s), [X(a)]),
                AtomicOp::Xchg => a64!(self.ops ; swpal W(s), W(s), [X(a)]),
                AtomicOp::Cmpxchg => {
                    a64!(self.ops ; mov W(t), W(r0) ; casal W(t), W(s), [X(a)] ; mov W(r0), W(t))
                }
                AtomicOp::LoadAcquire | AtomicOp::StoreRelease => {}
            }
        }
    }

    fn rmw_llsc(&mut self, op: AtomicOp, wide: bool, a: XReg, s: XReg) {
        let (old, new, st, r0) = (TMP2, TMP3, AX, regs::R0);
        let lp = self.ops.new_dynamic_label();
        let out = self.ops.new_dynamic_label();
        self.ops.dynamic_label(lp);
        if wide {
            a64!(self.ops ; ldxr X(old), [X(a)]);
        } else {
            a64!(self.ops ; ldxr W(old), [X(a)]);
        }
        // The new value, or the compare for cmpxchg.
        match (op, wide) {
            (AtomicOp::Add | AtomicOp::FetchAdd, true) => a64!(self.ops ; add X(new), X(old), X(s)),
            (AtomicOp::Or | AtomicOp::FetchOr, true) => a64!(self.ops ; orr X(new), X(old), X(s)),
            (AtomicOp::Xor | AtomicOp::FetchXor, true) => a64!(self.ops ; eor X(new), X(old), X(s)),
            (AtomicOp::And | AtomicOp::FetchAnd, true) => a64!(self.ops ; and X(new), X(old), X(s)),
            (AtomicOp::Add | AtomicOp::FetchAdd, false) => a64!(self.ops ; add W(new), W(old), W(s)),
            (AtomicOp::Or | AtomicOp::FetchOr, false) => a64!(self.ops ; orr W(new), W(old), W(s)),
            (AtomicOp::Xor | AtomicOp::FetchXor, false) => a64!(self.ops ; eor W(new), W(old), W(s)),
            (AtomicOp::And | AtomicOp::FetchAnd, false) => a64!(self.ops ; and W(new), W(old), W(s)),
            (AtomicOp::Cmpxchg, true) => a64!(self.ops ; cmp X(old), X(r0) ; b.ne =>out),
            (AtomicOp::Cmpxchg, false) => a64!(self.ops ; cmp W(old), W(r0) ; b.ne =>out),
            _ => {}
        }
        let value = if matches!(op, AtomicOp::Xchg | AtomicOp::Cmpxchg) { s } else { new };
        let fetches = op.fetches();
        match (fetches, wide) {
            (false, true) => a64!(self.ops ; stxr W(st), X(value), [X(a)]),
            (false, false) => a64!(self.ops ; stxr W(st), W(value), [X(a)]),
            (true, true) => a64!(self.ops ; stlxr W(st), X(value), [X(a)]),
            (true, false) => a64!(self.ops ; stlxr W(st), W(value), [X(a)]),
        }
        a64!(self.ops ; cbnz W(st), =>lp);
        if fetches {
            a64!(self.ops ; dmb ish);
        }
        self.ops.dynamic_label(out);
        let result = if op == AtomicOp::Cmpxchg { r0 } else { s };
        match (fetches, wide) {
            (true, true) => a64!(self.ops ; mov X(result), X(old)),
            (true, false) => a64!(self.ops ; mov W(result), W(old)),
            (false, _) => {}
        }
    }

    fn load_acquire(&mut self, size: Size, dst: Reg, src: Reg, off: i16) -> R {
        let d = self.x(dst)?;
        let base = self.x(src)?;
        let a = self.atomic_addr(base, off);
        match size {
            Size::B => a64!(self.ops ; ldarb W(d), [X(a)]),
            Size::H => a64!(self.ops ; ldarh W(d), [X(a)]),
            Size::W => a64!(self.ops ; ldar W(d), [X(a)]),
            Size::DW => a64!(self.ops ; ldar X(d), [X(a)]),
        }
        Ok(())
    }

    fn store_release(&mut self, size: Size, dst: Reg, src: Reg, off: i16) -> R {
        let base = self.x(dst)?;
        let s = self.x(src)?;
        let a = self.atomic_addr(base, off);
        match size {
            Size::B => a64!(self.ops ; stlrb W(s), [X(a)]),
            Size::H => a64!(self.ops ; stlrh W(s), [X(a)]),
            Size::W => a64!(self.ops ; stlr W(s), [X(a)]),
            Size::DW => a64!(self.ops ; stlr X(s), [X(a)]),
        }
        Ok(())
    }
}
