//! Loads, stores, stack arguments and the legacy packet loads.
//!
//! An access `[base + off]` uses, in order of preference, the scaled unsigned 12-bit offset
//! (`ldr x, [xn, #off]`), the unscaled signed 9-bit one (`ldur`), or a register offset with the
//! constant materialised in TMP1 (`ldr x, [xn, x10]`).

use dynasmrt::{DynasmApi, DynasmLabelApi, dynasm};
use kbpf_isa::{Reg, Size, Src, StackArgPos, Width};

use kbpf_jit::{FaultKind, JitError, RunCtx};

use super::{Cond, Emitter, R, a64};
use crate::abi::{self, ArgSlot};
use crate::imms::{SImm9, ScaledOffset};
use crate::regs::{self, AX, TMP1, TMP2, TMP3, XReg};

/// The load instruction for one size and signedness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LoadKind {
    B,
    H,
    W,
    X,
    SB,
    SH,
    SW,
}

/// How the address of an access is formed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Addr {
    Scaled(XReg, u32),
    Unscaled(XReg, i32),
    Index(XReg, XReg),
}

impl Emitter<'_> {
    /// Chooses the addressing form for `[base + off]` of `size` bytes; may write TMP1.
    fn addr(&mut self, base: XReg, off: i64, size: u32) -> Addr {
        if let Some(ScaledOffset(o)) = ScaledOffset::new(off, size) {
            Addr::Scaled(base, o)
        } else if let Some(SImm9(o)) = SImm9::new(off) {
            Addr::Unscaled(base, o)
        } else {
            self.mov_imm(TMP1, off as u64, Width::W64);
            Addr::Index(base, TMP1)
        }
    }

    fn load_from(&mut self, kind: LoadKind, t: XReg, base: XReg, off: i64) {
        let size = match kind {
            LoadKind::B | LoadKind::SB => 1,
            LoadKind::H | LoadKind::SH => 2,
            LoadKind::W | LoadKind::SW => 4,
            LoadKind::X => 8,
        };
        match (self.addr(base, off, size), kind) {
            (Addr::Scaled(n, o), LoadKind::B) => a64!(self.ops ; ldrb W(t), [X(n), #o]),
            (Addr::Scaled(n, o), LoadKind::H) => a64!(self.ops ; ldrh W(t), [X(n), #o]),
            (Addr::Scaled(n, o), LoadKind::W) => a64!(self.ops ; ldr W(t), [X(n), #o]),
            (Addr::Scaled(n, o), LoadKind::X) => a64!(self.ops ; ldr X(t), [X(n), #o]),
            (Addr::Scaled(n, o), LoadKind::SB) => a64!(self.ops ; ldrsb X(t), [X(n), #o]),
            (Addr::Scaled(n, o), LoadKind::SH) => a64!(self.ops ; ldrsh X(t), [X(n), #o]),
            (Addr::Scaled(n, o), LoadKind::SW) => a64!(self.ops ; ldrsw X(t), [X(n), #o]),
            (Addr::Unscaled(n, o), LoadKind::B) => a64!(self.ops ; ldurb W(t), [X(n), #o]),
            (Addr::Unscaled(n, o), LoadKind::H) => a64!(self.ops ; ldurh W(t), [X(n), #o]),
            (Addr::Unscaled(n, o), LoadKind::W) => a64!(self.ops ; ldur W(t), [X(n), #o]),
            (Addr::Unscaled(n, o), LoadKind::X) => a64!(self.ops ; ldur X(t), [X(n), #o]),
            (Addr::Unscaled(n, o), LoadKind::SB) => a64!(self.ops ; ldursb X(t), [X(n), #o]),
            (Addr::Unscaled(n, o), LoadKind::SH) => a64!(self.ops ; ldursh X(t), [X(n), #o]),
            (Addr::Unscaled(n, o), LoadKind::SW) => a64!(self.ops ; ldursw X(t), [X(n), #o]),
            (Addr::Index(n, m), LoadKind::B) => a64!(self.ops ; ldrb W(t), [X(n), X(m)]),
            (Addr::Index(n, m), LoadKind::H) => a64!(self.ops ; ldrh W(t), [X(n), X(m)]),
            (Addr::Index(n, m), LoadKind::W) => a64!(self.ops ; ldr W(t), [X(n), X(m)]),
            (Addr::Index(n, m), LoadKind::X) => a64!(self.ops ; ldr X(t), [X(n), X(m)]),
            (Addr::Index(n, m), LoadKind::SB) => a64!(self.ops ; ldrsb X(t), [X(n), X(m)]),
            (Addr::Index(n, m), LoadKind::SH) => a64!(self.ops ; ldrsh X(t), [X(n), X(m)]),
            (Addr::Index(n, m), LoadKind::SW) => a64!(self.ops ; ldrsw X(t), [X(n), X(m)]),
        }
    }

    fn store_to(&mut self, size: Size, t: XReg, base: XReg, off: i64) {
        match (self.addr(base, off, size.bytes()), size) {
            (Addr::Scaled(n, o), Size::B) => a64!(self.ops ; strb W(t), [X(n), #o]),
            (Addr::Scaled(n, o), Size::H) => a64!(self.ops ; strh W(t), [X(n), #o]),
            (Addr::Scaled(n, o), Size::W) => a64!(self.ops ; str W(t), [X(n), #o]),
            (Addr::Scaled(n, o), Size::DW) => a64!(self.ops ; str X(t), [X(n), #o]),
            (Addr::Unscaled(n, o), Size::B) => a64!(self.ops ; sturb W(t), [X(n), #o]),
            (Addr::Unscaled(n, o), Size::H) => a64!(self.ops ; sturh W(t), [X(n), #o]),
            (Addr::Unscaled(n, o), Size::W) => a64!(self.ops ; stur W(t), [X(n), #o]),
            (Addr::Unscaled(n, o), Size::DW) => a64!(self.ops ; stur X(t), [X(n), #o]),
            (Addr::Index(n, m), Size::B) => a64!(self.ops ; strb W(t), [X(n), X(m)]),
            (Addr::Index(n, m), Size::H) => a64!(self.ops ; strh W(t), [X(n), X(m)]),
            (Addr::Index(n, m), Size::W) => a64!(self.ops ; str W(t), [X(n), X(m)]),
            (Addr::Index(n, m), Size::DW) => a64!(self.ops ; str X(t), [X(n), X(m)]),
        }
    }

    pub(super) fn load(&mut self, size: Size, signed: bool, dst: Reg, src: Reg, off: i16) -> R {
        let d = self.x(dst)?;
        let s = self.x(src)?;
        let kind = match (size, signed) {
            (Size::B, false) => LoadKind::B,
            (Size::H, false) => LoadKind::H,
            (Size::W, false) => LoadKind::W,
            (Size::DW, _) => LoadKind::X,
            (Size::B, true) => LoadKind::SB,
            (Size::H, true) => LoadKind::SH,
            (Size::W, true) => LoadKind::SW,
        };
        self.load_from(kind, d, s, off as i64);
        Ok(())
    }

    pub(super) fn store(&mut self, size: Size, dst: Reg, off: i16, src: Src) -> R {
        let base = self.x(dst)?;
        let value = match src {
            Src::Reg(r) => self.x(r)?,
            Src::Imm(0) => 31, // wzr / xzr
            Src::Imm(imm) => {
                self.mov_imm(TMP2, imm as i64 as u64, Width::W64);
                TMP2
            }
        };
        self.store_to(size, value, base, off as i64);
        Ok(())
    }

    /// `dst = *(u64 *)(r11 + off)`: an incoming stack argument.
    pub(super) fn load_stack_arg(&mut self, dst: Reg, pos: StackArgPos) -> R {
        let d = self.x(dst)?;
        let err = JitError::StackArg { pc: self.pc, off: pos.load_off() };
        match pos.slot().and_then(abi::incoming).ok_or(err)? {
            ArgSlot::Reg(r) => a64!(self.ops ; mov X(d), X(r)),
            ArgSlot::Stack(o) => a64!(self.ops ; ldr X(d), [x29, #o]),
        }
        Ok(())
    }

    /// `*(u64 *)(r11 + off) = src`: an outgoing stack argument.
    pub(super) fn store_stack_arg(&mut self, pos: StackArgPos, src: Src) -> R {
        let err = JitError::StackArg { pc: self.pc, off: pos.store_off() };
        let slot = abi::outgoing(pos.slot().ok_or(err)?);
        match (slot, src) {
            (ArgSlot::Reg(r), Src::Reg(s)) => {
                let s = self.x(s)?;
                a64!(self.ops ; mov X(r), X(s));
            }
            (ArgSlot::Reg(r), Src::Imm(imm)) => self.mov_imm(r, imm as i64 as u64, Width::W64),
            (ArgSlot::Stack(o), Src::Reg(s)) => {
                let s = self.x(s)?;
                a64!(self.ops ; str X(s), [sp, #o]);
            }
            (ArgSlot::Stack(o), Src::Imm(imm)) => {
                self.mov_imm(TMP2, imm as i64 as u64, Width::W64);
                a64!(self.ops ; str X(TMP2), [sp, #o]);
            }
        }
        Ok(())
    }

    /// Legacy `r0 = ntoh(*(size *)(packet + [src +] imm))` as `RunCtx::ld_abs_addr` says:
    /// without `RunCtx::pkt`, at offsets 0 and up of `mem..mem + len`; with it, through the
    /// context's packet pointers it names (re-read here, as helpers move the packet), from
    /// `data` at offsets 0 and up and from the headers at negative `SKF_NET_OFF`/`SKF_LL_OFF`
    /// offsets, never past `data_end` nor outside `mem..mem + len`. Out of bounds is a fault that
    /// ends the run with 0, as the kernel's rewrite does. Scratch: TMP1..3, AX and r0.
    pub(super) fn ld_packet(&mut self, size: Size, src: Option<Reg>, imm: i32) -> R {
        let n = size.bytes();
        if n == 8 {
            return Err(self.unsupported("8-byte legacy packet load"));
        }
        let fault = self.fault(FaultKind::LdAbsOutOfBounds);
        let (plain, negative, ll, header, check) = (
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
            self.ops.new_dynamic_label(),
        );
        let (ctx, r0) = (regs::CTX, regs::R0);
        // TMP1 = offset: the 32-bit wrapping sum, zero-extended; sign bit set means negative.
        match src {
            Some(s) => {
                let s = self.x(s)?;
                self.mov_imm(TMP2, imm as u32 as u64, Width::W32);
                a64!(self.ops ; add W(TMP1), W(s), W(TMP2));
            }
            None => self.mov_imm(TMP1, imm as u32 as u64, Width::W64),
        }
        a64!(self.ops ; ldr X(AX), [X(ctx), #(RunCtx::PKT as u32)] ; cmp XSP(AX), #0);
        self.b_cond(Cond::Eq, plain);
        // an skb: r0 = data_end (the tail), TMP2 = mem, TMP3 = data; data_end <= mem + len,
        // mem <= data <= data_end
        a64!(self.ops
            ; ldr X(r0), [X(AX), #8]
            ; ldr X(TMP2), [X(ctx), #(RunCtx::MEM as u32)]
            ; ldr X(TMP3), [X(ctx), #(RunCtx::LEN as u32)]
            ; add X(TMP3), X(TMP2), X(TMP3)
            ; cmp X(r0), X(TMP3)
        );
        self.b_cond(Cond::Hi, fault);
        a64!(self.ops ; ldr X(TMP3), [X(AX)] ; cmp X(TMP3), X(TMP2));
        self.b_cond(Cond::Lo, fault);
        a64!(self.ops ; cmp X(r0), X(TMP3));
        self.b_cond(Cond::Lo, fault);
        a64!(self.ops ; tst W(TMP1), #0x8000_0000u32);
        self.b_cond(Cond::Ne, negative);
        a64!(self.ops ; add X(TMP3), X(TMP3), X(TMP1));
        self.b(check);
        // negative: TMP3 = the header's address + the offset past SKF_NET_OFF / SKF_LL_OFF (a
        // 32-bit compare of two negative offsets orders them as signed ones); the header must
        // not lie below mem
        a64!(self.ops ; =>negative);
        self.mov_imm(TMP3, RunCtx::SKF_NET_OFF as u32 as u64, Width::W32);
        a64!(self.ops ; cmp W(TMP1), W(TMP3));
        self.b_cond(Cond::Lo, ll);
        a64!(self.ops ; ldr X(AX), [X(AX), #(RunCtx::PKT_NET as u32)]);
        self.b(header);
        a64!(self.ops ; =>ll);
        self.mov_imm(TMP3, RunCtx::SKF_LL_OFF as u32 as u64, Width::W32);
        a64!(self.ops ; cmp W(TMP1), W(TMP3));
        self.b_cond(Cond::Lo, fault);
        a64!(self.ops ; ldr X(AX), [X(AX), #(RunCtx::PKT_MAC as u32)]);
        a64!(self.ops ; =>header ; cmp X(AX), X(TMP2));
        self.b_cond(Cond::Lo, fault);
        a64!(self.ops ; sub W(TMP1), W(TMP1), W(TMP3) ; add X(TMP3), X(AX), X(TMP1));
        self.b(check);
        // no skb: offsets 0 and up of mem..mem + len (no buffer, mem = 0: fault)
        a64!(self.ops ; =>plain ; tst W(TMP1), #0x8000_0000u32);
        self.b_cond(Cond::Ne, fault);
        a64!(self.ops ; ldr X(TMP3), [X(ctx), #(RunCtx::MEM as u32)] ; cmp XSP(TMP3), #0);
        self.b_cond(Cond::Eq, fault);
        a64!(self.ops
            ; ldr X(r0), [X(ctx), #(RunCtx::LEN as u32)]
            ; add X(r0), X(TMP3), X(r0)
            ; add X(TMP3), X(TMP3), X(TMP1)
        );
        // the load must end by the tail in r0
        a64!(self.ops ; =>check ; add XSP(TMP1), XSP(TMP3), #n ; cmp X(TMP1), X(r0));
        self.b_cond(Cond::Hi, fault);
        match size {
            Size::B => a64!(self.ops ; ldrb W(r0), [X(TMP3)]),
            Size::H => a64!(self.ops ; ldrh W(r0), [X(TMP3)] ; rev16 W(r0), W(r0)),
            _ => a64!(self.ops ; ldr W(r0), [X(TMP3)] ; rev W(r0), W(r0)),
        }
        Ok(())
    }
}
