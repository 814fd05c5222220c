//! The fixups' work on frames: `optimize_bpf_loop`'s inlined `bpf_loop` (r6-r8 spilled below
//! the frame), `may_goto`'s loop budget (`do_misc_fixups`, stack slots below that), and the
//! default exception callback appended to a program that throws without declaring one.
//!
//! The verifier's stack depths (what its log prints) already include the added slots, so each
//! rewrite's slots are found from them: `may_goto`'s are the lowest (for a JIT with the timed
//! `may_goto`, x86_64 and arm64, two slots, count then start time; for the interpreter one,
//! the count), the loop's three the next ones up.

use kbpf_isa::{AluOp, CallTarget, Insn, JmpCond, LdImm64Src, Program, Reg, Size, Src, Width};

use super::{FixupError, KernelCall, XInsn};
use crate::Verified;

/// `BPF_MAX_TIMED_LOOPS`: the timed counter's budget between two looks at the clock.
const MAX_TIMED_LOOPS: i32 = 0xffff;
/// `BPF_MAX_LOOPS`: the interpreter's whole `may_goto` budget, and `bpf_loop`'s bound.
const MAX_LOOPS: i32 = 8 * 1024 * 1024;
/// `-E2BIG`: `bpf_loop` asked for more than `BPF_MAX_LOOPS` iterations.
const E2BIG: i32 = -7;
/// The hidden AX register the rewrites use.
const AX: Reg = Reg::R11;

/// Each subprogram's start (instruction index) and its verifier stack depth.
pub(super) struct Frames {
    starts: Vec<usize>,
    depths: Vec<u32>,
    /// Subprograms holding a `may_goto`.
    may_goto: Vec<bool>,
    /// The timed form (a JIT) or the plain counter (the interpreter).
    timed: bool,
}

impl Frames {
    pub(super) fn new(v: &Verified) -> Frames {
        let starts = subprog_starts(v.program(), v.exception_cb());
        let mut may_goto = vec![false; starts.len()];
        for (i, insn) in v.program().insns().iter().enumerate() {
            if matches!(insn, Insn::MayGoto { .. }) {
                may_goto[starts.partition_point(|&s| s <= i).saturating_sub(1)] = true;
            }
        }
        Frames { starts, depths: v.stack_depth().to_vec(), may_goto, timed: v.for_jit() }
    }

    /// The subprogram holding instruction `idx`.
    pub(super) fn sub_of(&self, idx: usize) -> usize {
        self.starts.partition_point(|&s| s <= idx).saturating_sub(1)
    }

    /// Instruction index where subprogram `sub` starts.
    pub(super) fn start(&self, sub: usize) -> usize {
        self.starts.get(sub).copied().unwrap_or(0)
    }

    /// Bytes the kernel adds below the frame of a subprogram with `may_goto`.
    fn extra(&self) -> i32 {
        if self.timed { 16 } else { 8 }
    }

    /// The frame of subprogram `sub` before the kernel adds its counter slots (a negative
    /// offset from r10 of the first added slot is `-depth - extra`).
    fn depth(&self, sub: usize, pc: usize) -> Result<i32, FixupError> {
        self.check(pc)?;
        let d = self.depths.get(sub).copied().unwrap_or(0) as i32 - self.extra();
        if d < 0 {
            return Err(FixupError::Bug(format!("insn {pc}: may_goto without its stack slots")));
        }
        Ok(d)
    }

    /// The subprograms found match the verifier's stack depths.
    fn check(&self, pc: usize) -> Result<(), FixupError> {
        if self.starts.len() != self.depths.len() {
            return Err(FixupError::Unsupported {
                pc,
                what:
                    "a frame rewrite in a program whose subprograms do not match the verifier's stack depths"
                        .into(),
            });
        }
        Ok(())
    }

    /// `may_goto off` at submitted slot `pc` in subprogram `sub`: the counter loaded into AX,
    /// the jump when it is spent (the second instruction, aimed by the caller at the original
    /// target), one unit spent and stored back; the timed form asks
    /// `arch_bpf_timed_may_goto` for a new budget when the count reaches zero.
    pub(super) fn may_goto(&self, sub: usize, off: i16, pc: usize) -> Result<Vec<XInsn>, FixupError> {
        let depth = self.depth(sub, pc)?;
        let slot = i16::try_from(-depth - self.extra())
            .map_err(|_| FixupError::Bug(format!("insn {pc}: stack depth {depth}")))?;
        let x = |insn: Insn| XInsn { insn, origin: None, call: None };
        let load = x(Insn::Load { size: Size::DW, signed: false, dst: AX, src: Reg::R10, off: slot });
        let spent = x(Insn::Jmp { width: Width::W64, cond: JmpCond::Eq, dst: AX, src: Src::Imm(0), off });
        let sub1 = x(Insn::Alu { width: Width::W64, op: AluOp::Sub, dst: AX, src: Src::Imm(1) });
        let store = x(Insn::Store { size: Size::DW, dst: Reg::R10, off: slot, src: Src::Reg(AX) });
        let mut seq = vec![load, spent, sub1];
        if self.timed {
            seq.extend([
                x(Insn::Jmp { width: Width::W64, cond: JmpCond::Ne, dst: AX, src: Src::Imm(0), off: 2 }),
                x(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: AX, src: Src::Imm(slot as i32) }),
                // a direct call of a kernel function: id 0 stands in for its address
                XInsn {
                    insn: Insn::Call(CallTarget::Helper(0)),
                    origin: None,
                    call: Some(KernelCall::Symbol("arch_bpf_timed_may_goto")),
                },
            ]);
        }
        seq.push(store);
        Ok(seq)
    }

    /// `inline_bpf_loop` for the `bpf_loop` call at instruction `idx` (submitted slot `pc`) of
    /// subprogram `sub`, its callback `to_cb` instructions after the call: the count checked
    /// against `BPF_MAX_LOOPS`, r6-r8 spilled below the frame and holding the bound, the
    /// counter and the context while the callback is called until it returns non-zero, r0 the
    /// iterations. The callback's call is the patch's instruction 12.
    pub(super) fn inline_loop(&self, sub: usize, to_cb: i32, pc: usize) -> Result<Vec<XInsn>, FixupError> {
        self.check(pc)?;
        let below = if self.may_goto.get(sub).copied().unwrap_or(false) { self.extra() } else { 0 };
        let base = self.depths.get(sub).copied().unwrap_or(0) as i32 - below;
        let slot = |k: i32| {
            i16::try_from(-base + 8 * k)
                .map_err(|_| FixupError::Bug(format!("insn {pc}: stack depth {base}")))
        };
        let x = |insn: Insn| XInsn { insn, origin: None, call: None };
        let mov = |dst, src| x(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src: Src::Reg(src) });
        let (max, cnt, ctx) = (Reg::R6, Reg::R7, Reg::R8);
        let mut seq = vec![
            x(Insn::Jmp {
                width: Width::W64,
                cond: JmpCond::Le,
                dst: Reg::R1,
                src: Src::Imm(MAX_LOOPS),
                off: 2,
            }),
            x(Insn::Alu { width: Width::W32, op: AluOp::Mov, dst: Reg::R0, src: Src::Imm(E2BIG) }),
            x(Insn::Ja { off: 16 }),
        ];
        for (k, r) in [max, cnt, ctx].into_iter().enumerate() {
            seq.push(x(Insn::Store {
                size: Size::DW,
                dst: Reg::R10,
                off: slot(k as i32)?,
                src: Src::Reg(r),
            }));
        }
        seq.extend([
            mov(max, Reg::R1),
            x(Insn::Alu { width: Width::W32, op: AluOp::Mov, dst: cnt, src: Src::Imm(0) }),
            mov(ctx, Reg::R3),
            x(Insn::Jmp { width: Width::W64, cond: JmpCond::Ge, dst: cnt, src: Src::Reg(max), off: 5 }),
            mov(Reg::R1, cnt),
            mov(Reg::R2, ctx),
            x(Insn::Call(CallTarget::Local(to_cb))),
            x(Insn::Alu { width: Width::W64, op: AluOp::Add, dst: cnt, src: Src::Imm(1) }),
            x(Insn::Jmp { width: Width::W64, cond: JmpCond::Eq, dst: Reg::R0, src: Src::Imm(0), off: -6 }),
            mov(Reg::R0, cnt),
        ]);
        for (k, r) in [max, cnt, ctx].into_iter().enumerate() {
            seq.push(x(Insn::Load {
                size: Size::DW,
                signed: false,
                dst: r,
                src: Reg::R10,
                off: slot(k as i32)?,
            }));
        }
        Ok(seq)
    }

    /// The stores that set up subprogram `sub`'s budget, before its first instruction.
    pub(super) fn init(&self, sub: usize, pc: usize) -> Result<Vec<XInsn>, FixupError> {
        let depth = self.depth(sub, pc)?;
        let at = |below: i32| {
            i16::try_from(-depth - below)
                .map_err(|_| FixupError::Bug(format!("insn {pc}: stack depth {depth}")))
        };
        let st = |off, imm| XInsn {
            insn: Insn::Store { size: Size::DW, dst: Reg::R10, off, src: Src::Imm(imm) },
            origin: None,
            call: None,
        };
        Ok(if self.timed {
            vec![st(at(16)?, MAX_TIMED_LOOPS), st(at(8)?, 0)]
        } else {
            vec![st(at(8)?, MAX_LOOPS)]
        })
    }
}

/// Subprogram starts of a program: its entry, bpf-to-bpf call targets, callbacks and the
/// declared exception callback.
fn subprog_starts(prog: &Program, exception_cb: Option<usize>) -> Vec<usize> {
    let mut starts = vec![0usize];
    starts.extend(exception_cb);
    for (i, insn) in prog.insns().iter().enumerate() {
        let rel = match *insn {
            Insn::Call(CallTarget::Local(imm)) => imm as i64,
            Insn::LdImm64 { src: LdImm64Src::Func, imm, .. } => imm as i64,
            _ => continue,
        };
        let target = prog.pc(i) as i64 + 1 + rel;
        if let Some(t) = usize::try_from(target).ok().and_then(|t| prog.index_at(t)) {
            starts.push(t);
        }
    }
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// The default exception callback the kernel appends to a program that reaches `bpf_throw`
/// without declaring its own: the cookie (r1) becomes the return value.
pub(super) fn default_exception_cb(v: &Verified) -> Option<[XInsn; 2]> {
    let throws = v.calls().iter().any(|c| c.kind == crate::CallKind::Kfunc && c.name == "bpf_throw");
    let x = |insn: Insn| XInsn { insn, origin: None, call: None };
    (throws && !v.has_exception_cb()).then(|| {
        [
            x(Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Src::Reg(Reg::R1) }),
            x(Insn::Exit),
        ]
    })
}
