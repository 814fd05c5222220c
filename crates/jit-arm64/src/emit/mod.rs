//! Lowering of BPF instructions to arm64 machine code with dynasm.
//!
//! One [`Emitter`] compiles a whole program: the entry trampoline first, then each BPF function
//! (main program, then subprograms in address order) as an AAPCS64 function with the frame of
//! [`crate::abi`], each followed by its fault stubs. Branches use dynasm dynamic labels, one per
//! instruction; conditional branches reach +-1 MiB, so when the code comes out larger than that
//! the program is emitted again with every conditional branch turned into an inverted branch
//! over an unconditional `b` (+-128 MiB).
//!
//! Submodules split the instruction families: [`alu`], [`mem`] (loads, stores, stack
//! arguments, legacy packet loads), [`atomic`], [`flow`] (jumps, calls, exit).

// dynasm keeps the parentheses of `#(expr)` operands and converts register numbers with
// `.into()` in its expansion.
#![allow(unused_parens, clippy::useless_conversion)]

mod alu;
mod atomic;
mod flow;
mod mem;

use dynasmrt::aarch64::Aarch64Relocation;
use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler, dynasm};
use kbpf_isa::{CallTarget, Insn, Program, Reg, Width};
use kbpf_jit::{FaultKind, JitError, JitOptions, MAY_GOTO_BUDGET, ProgramPlan, RunCtx, TailCallHook};
use kbpf_kfunc::Registry;

use crate::abi::{self, Frame};
use crate::imms::{AddSub, AddSubImm, BranchKind, MovStep, mov_plan};
use crate::regs::{self, XReg};

/// dynasm with the aarch64 dialect selected.
macro_rules! a64 {
    ($ops:expr ; $($t:tt)*) => {
        dynasm!($ops ; .arch aarch64 ; $($t)*)
    };
}
pub(crate) use a64;

/// Options of one compilation.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EmitOptions {
    /// Emit LSE atomics (ARMv8.1) instead of LL/SC loops.
    pub lse: bool,
    /// The common JIT options (stack sizing).
    pub jit: JitOptions,
}

/// Machine code of a program plus the maps a dump or a debugger needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Code {
    /// The code; the entry trampoline starts at offset 0.
    pub bytes: Vec<u8>,
    /// Offset of the entry trampoline (`(input, len, *mut RunCtx) -> r0`).
    pub entry: usize,
    /// Byte offset of every BPF instruction, by instruction index.
    pub insn_offsets: Vec<u32>,
    /// Byte offset of each BPF function's prologue, main first.
    pub func_offsets: Vec<u32>,
    /// Byte offset where each function's fault stubs start (its end when it has none).
    pub func_ends: Vec<u32>,
    /// Whether the long (inverted + `b`) conditional branch form was needed.
    pub long_branches: bool,
    /// Whether `entry` is the trampoline keeping the run context; otherwise it is the main
    /// function, which never reads its third argument.
    pub run_ctx: bool,
}

/// Compiles `prog`, calling helpers and kfuncs through the native functions of `registry`.
pub fn compile(prog: &Program, registry: &Registry, opts: &EmitOptions) -> Result<Code, JitError> {
    let plan = ProgramPlan::new(prog, &opts.jit)?;
    let jit = &opts.jit;
    match Emitter::run(prog, &plan, registry, opts.lse, false, jit)? {
        Some(code) => Ok(code),
        None => Emitter::run(prog, &plan, registry, opts.lse, true, jit)?
            .ok_or_else(|| JitError::Assembler("branch out of range with long branches".into())),
    }
}

/// arm64 condition codes used by the lowering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cond {
    Eq,
    Ne,
    Hs,
    Lo,
    Hi,
    Ls,
    Ge,
    Lt,
    Gt,
    Le,
}

impl Cond {
    pub(crate) fn invert(self) -> Cond {
        match self {
            Cond::Eq => Cond::Ne,
            Cond::Ne => Cond::Eq,
            Cond::Hs => Cond::Lo,
            Cond::Lo => Cond::Hs,
            Cond::Hi => Cond::Ls,
            Cond::Ls => Cond::Hi,
            Cond::Ge => Cond::Lt,
            Cond::Lt => Cond::Ge,
            Cond::Gt => Cond::Le,
            Cond::Le => Cond::Gt,
        }
    }
}

pub(crate) struct Emitter<'a> {
    pub(crate) ops: VecAssembler<Aarch64Relocation>,
    pub(crate) prog: &'a Program,
    plan: &'a ProgramPlan,
    pub(crate) registry: &'a Registry,
    pub(crate) lse: bool,
    long: bool,
    /// Label at each instruction (by instruction index), after any prologue.
    insn_labels: Vec<DynamicLabel>,
    /// Label at each function's prologue, by function index.
    func_labels: Vec<DynamicLabel>,
    /// Epilogue of the function being emitted.
    epilogue: DynamicLabel,
    /// The trampoline's abort path: unwind every frame and return 0.
    abort: DynamicLabel,
    /// The trampoline's exit for `bpf_throw`: unwind every frame and return x0.
    pub(crate) unwind: DynamicLabel,
    /// Slot of the function `bpf_throw` calls (`JitOptions::roles`).
    pub(crate) exception: Option<usize>,
    /// Fault stubs of the current function: label and `RunCtx::status` value.
    stubs: Vec<(DynamicLabel, u64)>,
    /// Slot pc of the instruction being emitted, for errors and fault reports.
    pub(crate) pc: usize,
    /// Slot pc one past the current function (its epilogue follows the last instruction).
    func_end_pc: usize,
    /// How `bpf_tail_call` is resolved, if at all.
    pub(crate) tail_call: Option<TailCallHook>,
    /// Frame of the function being emitted.
    frame: Frame,
}

pub(crate) type R<T = ()> = Result<T, JitError>;

impl<'a> Emitter<'a> {
    fn run(
        prog: &'a Program,
        plan: &'a ProgramPlan,
        registry: &'a Registry,
        lse: bool,
        long: bool,
        jit: &JitOptions,
    ) -> R<Option<Code>> {
        let tail_call = jit.tail_call;
        let mut ops = VecAssembler::new(0);
        let insn_labels = (0..prog.len()).map(|_| ops.new_dynamic_label()).collect();
        let func_labels = plan.funcs.iter().map(|_| ops.new_dynamic_label()).collect();
        let epilogue = ops.new_dynamic_label();
        let abort = ops.new_dynamic_label();
        let unwind = ops.new_dynamic_label();
        let mut e = Emitter {
            ops,
            prog,
            plan,
            registry,
            lse,
            long,
            insn_labels,
            func_labels,
            epilogue,
            abort,
            unwind,
            exception: jit.roles.exception_cb,
            stubs: Vec::new(),
            pc: 0,
            func_end_pc: 0,
            tail_call,
            frame: Frame::new(&plan.funcs[0]),
        };
        e.check_control_flow()?;
        let run_ctx = kbpf_jit::needs_run_ctx(prog, jit);
        if run_ctx {
            e.trampoline();
        }
        let mut insn_offsets = Vec::with_capacity(prog.len());
        let mut func_offsets = Vec::with_capacity(plan.funcs.len());
        let mut func_ends = Vec::with_capacity(plan.funcs.len());
        for (fi, f) in plan.funcs.iter().enumerate() {
            func_offsets.push(e.ops.offset().0 as u32);
            let label = e.func_labels[fi];
            e.ops.dynamic_label(label);
            e.epilogue = e.ops.new_dynamic_label();
            let frame = Frame::new(f);
            e.frame = frame;
            e.pc = prog.pc(f.start);
            e.func_end_pc = prog.pc(f.end - 1) + prog.insns()[f.end - 1].slots();
            e.prologue(&frame)?;
            for idx in f.start..f.end {
                e.pc = prog.pc(idx);
                e.ops.dynamic_label(e.insn_labels[idx]);
                insn_offsets.push(e.ops.offset().0 as u32);
                e.insn(&prog.insns()[idx])?;
            }
            if matches!(prog.insns()[f.end - 1], Insn::Call(_)) {
                // a function ending in a call that never returns (a throw): trap if it did
                a64!(e.ops ; brk 0);
            }
            let epi = e.epilogue;
            e.ops.dynamic_label(epi);
            e.epilogue_code();
            func_ends.push(e.ops.offset().0 as u32);
            e.emit_stubs();
        }
        let bytes = match e.ops.finalize() {
            Ok(b) => b,
            Err(_) if !long => return Ok(None),
            Err(err) => return Err(JitError::Assembler(err.to_string())),
        };
        if !long && !BranchKind::Imm19.reaches(bytes.len() as i64) {
            // Some conditional branch might span more than dynasm could catch per label; be
            // conservative and use the long form for big programs.
            return Ok(None);
        }
        if !BranchKind::Imm26.reaches(bytes.len() as i64) {
            return Err(JitError::Assembler(format!(
                "{} bytes of code exceed the +-128 MiB of b/bl",
                bytes.len()
            )));
        }
        let entry = if run_ctx { 0 } else { func_offsets.first().copied().unwrap_or(0) as usize };
        Ok(Some(Code { bytes, entry, insn_offsets, func_offsets, func_ends, long_branches: long, run_ctx }))
    }

    /// Every function ends in an unconditional transfer and jumps stay inside their function
    /// (the same checks as the x86_64 backend, so both reject the same programs).
    fn check_control_flow(&self) -> R {
        let prog = self.prog;
        for (fi, f) in self.plan.funcs.iter().enumerate() {
            if !prog.insns()[f.end - 1].is_unconditional_transfer()
                && !kbpf_jit::ends_run(&prog.insns()[f.end - 1], self.exception.is_some())
            {
                return Err(JitError::FallThrough { pc: prog.pc(f.end - 1) });
            }
            for idx in f.start..f.end {
                let pc = prog.pc(idx);
                if let Some(to) = prog.branch_target(pc) {
                    let t = prog.index_at(to).ok_or(JitError::JumpOutOfRange { pc, to })?;
                    if self.plan.func_of(t) != fi {
                        return Err(JitError::JumpOutOfRange { pc, to });
                    }
                }
            }
        }
        Ok(())
    }

    /// The entry trampoline and the abort path (see [`crate::abi`]).
    fn trampoline(&mut self) {
        let (ctx, main, abort, unwind) = (regs::CTX, self.func_labels[0], self.abort, self.unwind);
        let restore = self.ops.new_dynamic_label();
        a64!(self.ops
            ; stp x29, x30, [sp, #-(abi::TRAMPOLINE_FRAME as i32)]!
            ; mov x29, sp
            ; stp x19, x20, [sp, #16]
            ; stp x21, x22, [sp, #32]
            ; stp x23, x24, [sp, #48]
            ; stp x25, x26, [sp, #64]
            ; stp x27, x28, [sp, #80]
            ; mov X(ctx), x2
            ; mov x9, sp
            ; str x9, [X(ctx), #(RunCtx::SAVED_SP as u32)]
            ; bl =>main
            ; =>restore
            ; ldp x19, x20, [sp, #16]
            ; ldp x21, x22, [sp, #32]
            ; ldp x23, x24, [sp, #48]
            ; ldp x25, x26, [sp, #64]
            ; ldp x27, x28, [sp, #80]
            ; ldp x29, x30, [sp], #(abi::TRAMPOLINE_FRAME as i32)
            ; ret
            ; =>abort
            ; ldr x9, [X(ctx), #(RunCtx::SAVED_SP as u32)]
            ; mov sp, x9
            ; mov x0, xzr
            ; b =>restore
        );
        if self.exception.is_some() {
            a64!(self.ops
                ; =>unwind
                ; ldr x9, [X(ctx), #(RunCtx::SAVED_SP as u32)]
                ; mov sp, x9
                ; b =>restore
            );
        }
    }

    fn prologue(&mut self, frame: &Frame) -> R {
        // A verifier-supplied stack depth could be anything; the frame must fit `sub #imm12`.
        let size = frame.below_fp();
        if AddSubImm::new(size as u64).is_none_or(|i| i.lsl12) {
            return Err(JitError::Encoding { pc: self.pc, what: "stack frame larger than 4095 bytes" });
        }
        a64!(self.ops
            ; stp x29, x30, [sp, #-16]!
            ; mov x29, sp
            ; sub sp, sp, #size
        );
        let [s19, s21, s25, s27] = frame.saves;
        if s19 {
            a64!(self.ops ; stp x19, x20, [x29, #(abi::SAVE_X19)]);
        }
        if s21 {
            a64!(self.ops ; stp x21, x22, [x29, #(abi::SAVE_X21)]);
        }
        if s25 {
            a64!(self.ops
                ; stp x25, x26, [x29, #(abi::SAVE_X25)]
                ; sub XSP(regs::BPF_FP), x29, #(abi::BPF_FP_OFFSET)
            );
        }
        if s27 {
            a64!(self.ops ; stp x27, x28, [x29, #(abi::SAVE_X27)]);
        }
        if frame.reads_in_regs {
            let [a, b, c] = regs::IN_ARGS;
            a64!(self.ops ; mov X(a), x5 ; mov X(b), x6 ; mov X(c), x7);
        }
        if frame.may_goto {
            self.mov_imm(regs::TMP1, MAY_GOTO_BUDGET, Width::W64);
            a64!(self.ops ; stur X(regs::TMP1), [x29, #(abi::MAY_GOTO_COUNTER)]);
        }
        self.zero_stack(frame.depth);
        Ok(())
    }

    /// Zeroes the BPF stack `[r10 - depth, r10)`: a privileged program may read stack it never
    /// wrote, which the kernel leaves undefined; every kbpf engine gives it zeros (the
    /// interpreter zeroes each frame it enters), so they agree. The prologue checked that the
    /// frame fits `sub #imm12`, so `depth` < 4096; `stp` offsets stay in 0..=496.
    fn zero_stack(&mut self, depth: u32) {
        if depth == 0 {
            return;
        }
        a64!(self.ops ; sub XSP(regs::TMP1), XSP(regs::BPF_FP), #depth);
        let mut off = 0u32;
        let mut base = 0u32;
        while off + 16 <= depth {
            if off - base > 496 {
                a64!(self.ops ; add XSP(regs::TMP1), XSP(regs::TMP1), #512);
                base += 512;
            }
            let rel = (off - base) as i32;
            a64!(self.ops ; stp xzr, xzr, [X(regs::TMP1), #rel]);
            off += 16;
        }
        if off + 8 <= depth {
            let rel = off - base;
            a64!(self.ops ; str xzr, [X(regs::TMP1), #rel]);
            off += 8;
        }
        while off < depth {
            let rel = off - base;
            a64!(self.ops ; strb wzr, [X(regs::TMP1), #rel]);
            off += 1;
        }
    }

    fn epilogue_code(&mut self) {
        a64!(self.ops ; mov x0, X(regs::R0));
        self.teardown();
        a64!(self.ops ; ret);
    }

    /// The epilogue without the result move and the `ret`: callee-saved registers, sp, x29 and
    /// x30 as the caller left them (a tail call then branches to the next program).
    pub(crate) fn teardown(&mut self) {
        let [s19, s21, s25, s27] = self.frame.saves;
        if s19 {
            a64!(self.ops ; ldp x19, x20, [x29, #(abi::SAVE_X19)]);
        }
        if s21 {
            a64!(self.ops ; ldp x21, x22, [x29, #(abi::SAVE_X21)]);
        }
        if s25 {
            a64!(self.ops ; ldp x25, x26, [x29, #(abi::SAVE_X25)]);
        }
        if s27 {
            a64!(self.ops ; ldp x27, x28, [x29, #(abi::SAVE_X27)]);
        }
        a64!(self.ops
            ; mov sp, x29
            ; ldp x29, x30, [sp], #16
        );
    }

    /// A label that records a `kind` fault at the current pc and unwinds the whole run.
    pub(crate) fn fault(&mut self, kind: FaultKind) -> DynamicLabel {
        let l = self.ops.new_dynamic_label();
        self.stubs.push((l, kind.status(self.pc)));
        l
    }

    fn emit_stubs(&mut self) {
        let (ctx, abort) = (regs::CTX, self.abort);
        for (l, status) in std::mem::take(&mut self.stubs) {
            self.ops.dynamic_label(l);
            self.mov_imm(regs::TMP1, status, Width::W64);
            a64!(self.ops ; str X(regs::TMP1), [X(ctx), #(RunCtx::STATUS as u32)] ; b =>abort);
        }
    }

    fn insn(&mut self, insn: &Insn) -> R {
        match *insn {
            Insn::Alu { width, op, dst, src } => self.alu(width, op, dst, src),
            Insn::Neg { width, dst } => self.neg(width, dst),
            Insn::MovSx { width, dst, src, from_bits } => self.movsx(width, dst, src, from_bits),
            Insn::Endian { order, bits, dst } => self.endian(order, bits, dst),
            Insn::AddrSpaceCast { .. } => Err(self.unsupported("addr_space_cast (arena)")),
            Insn::MovPercpu { .. } => Err(self.unsupported("the per-CPU mov")),
            Insn::LdImm64 { dst, src, imm, imm_hi } => self.ld_imm64(dst, src, imm, imm_hi),
            Insn::Load { size, signed, dst, src, off } => self.load(size, signed, dst, src, off),
            Insn::Store { size, dst, off, src } => self.store(size, dst, off, src),
            Insn::StackArgLoad { dst, pos } => self.load_stack_arg(dst, pos),
            Insn::StackArgStore { pos, src } => self.store_stack_arg(pos, src),
            Insn::Atomic { size, op, dst, src, off } => self.atomic(size, op, dst, src, off),
            Insn::LdAbs { size, imm } => self.ld_packet(size, None, imm),
            Insn::LdInd { size, src, imm } => self.ld_packet(size, Some(src), imm),
            Insn::Ja { off } => self.goto(off as i64),
            Insn::Gotol { imm } => self.goto(imm as i64),
            Insn::MayGoto { off } => self.may_goto(off as i64),
            Insn::Jmp { width, cond, dst, src, off } => self.jmp(width, cond, dst, src, off as i64),
            Insn::Call(CallTarget::Helper(id))
                if self.tail_call.is_some()
                    && self.registry.helper(id).is_some_and(|d| d.name == "bpf_tail_call") =>
            {
                self.tail_call()
            }
            Insn::Call(CallTarget::Helper(kbpf_kfunc::callbacks::THROW_ID)) => self.throw(),
            Insn::Call(CallTarget::Helper(id)) => self.call_helper(id),
            Insn::Call(CallTarget::Kfunc { btf_id, .. }) => self.call_kfunc(btf_id),
            Insn::Call(CallTarget::Local(_)) => self.call_local(),
            Insn::Callx { reg } => self.callx(reg),
            Insn::Exit => {
                // The epilogue directly follows the function's last instruction.
                if self.pc + 1 != self.func_end_pc {
                    let l = self.epilogue;
                    a64!(self.ops ; b =>l);
                }
                Ok(())
            }
        }
    }

    pub(crate) fn unsupported(&self, what: &'static str) -> JitError {
        JitError::Unsupported { pc: self.pc, what }
    }

    /// arm64 register of a BPF value register.
    pub(crate) fn x(&self, r: Reg) -> R<XReg> {
        regs::map(r).ok_or(self.unsupported("r11 outside the stack-argument forms"))
    }

    /// Label of the instruction at slot `pc + 1 + off`.
    pub(crate) fn target(&self, off: i64) -> R<DynamicLabel> {
        let to = self.pc as i64 + 1 + off;
        usize::try_from(to)
            .ok()
            .and_then(|t| self.prog.index_at(t))
            .map(|i| self.insn_labels[i])
            .ok_or(JitError::JumpOutOfRange { pc: self.pc, to: to.max(0) as usize })
    }

    /// Prologue label of the function starting at slot `pc`.
    pub(crate) fn func_label(&self, pc: usize) -> R<DynamicLabel> {
        self.plan
            .func_starting_at(pc)
            .map(|f| self.func_labels[f])
            .ok_or(self.unsupported("call target is not a function entry"))
    }

    /// `rd = value` (for `W32`, the low 32 bits, zero-extended).
    pub(crate) fn mov_imm(&mut self, rd: XReg, value: u64, width: Width) {
        for step in mov_plan(value, width) {
            match (step, width) {
                (MovStep::Movz { imm16, shift }, Width::W64) => {
                    a64!(self.ops ; movz X(rd), #imm16, lsl #shift)
                }
                (MovStep::Movz { imm16, shift }, Width::W32) => {
                    a64!(self.ops ; movz W(rd), #imm16, lsl #shift)
                }
                (MovStep::Movn { imm16, shift }, Width::W64) => {
                    a64!(self.ops ; movn X(rd), #imm16, lsl #shift)
                }
                (MovStep::Movn { imm16, shift }, Width::W32) => {
                    a64!(self.ops ; movn W(rd), #imm16, lsl #shift)
                }
                (MovStep::Movk { imm16, shift }, Width::W64) => {
                    a64!(self.ops ; movk X(rd), #imm16, lsl #shift)
                }
                (MovStep::Movk { imm16, shift }, Width::W32) => {
                    a64!(self.ops ; movk W(rd), #imm16, lsl #shift)
                }
                (MovStep::Orr(l), Width::W64) => a64!(self.ops ; orr XSP(rd), xzr, #(l.value)),
                (MovStep::Orr(l), Width::W32) => a64!(self.ops ; orr WSP(rd), wzr, #(l.value as u32)),
            }
        }
    }

    /// `rd = rn + delta` on 64 bits; uses `scratch` when the constant needs materialising
    /// (`scratch` may equal `rd` but not `rn`).
    pub(crate) fn add_const(&mut self, rd: XReg, rn: XReg, delta: i64, scratch: XReg) {
        match AddSub::new(delta) {
            Some(AddSub::Add(i)) if i.lsl12 => a64!(self.ops ; add XSP(rd), XSP(rn), #(i.imm12), lsl #12),
            Some(AddSub::Add(i)) => a64!(self.ops ; add XSP(rd), XSP(rn), #(i.imm12)),
            Some(AddSub::Sub(i)) if i.lsl12 => a64!(self.ops ; sub XSP(rd), XSP(rn), #(i.imm12), lsl #12),
            Some(AddSub::Sub(i)) => a64!(self.ops ; sub XSP(rd), XSP(rn), #(i.imm12)),
            None => {
                self.mov_imm(scratch, delta as u64, Width::W64);
                a64!(self.ops ; add X(rd), X(rn), X(scratch));
            }
        }
    }

    /// `b.cond label`, or the long form `b.!cond 1f; b label; 1:`.
    pub(crate) fn b_cond(&mut self, c: Cond, label: DynamicLabel) {
        if self.long {
            let skip = self.ops.new_dynamic_label();
            self.b_cond_short(c.invert(), skip);
            a64!(self.ops ; b =>label ; =>skip);
        } else {
            self.b_cond_short(c, label);
        }
    }

    fn b_cond_short(&mut self, c: Cond, l: DynamicLabel) {
        match c {
            Cond::Eq => a64!(self.ops ; b.eq =>l),
            Cond::Ne => a64!(self.ops ; b.ne =>l),
            Cond::Hs => a64!(self.ops ; b.hs =>l),
            Cond::Lo => a64!(self.ops ; b.lo =>l),
            Cond::Hi => a64!(self.ops ; b.hi =>l),
            Cond::Ls => a64!(self.ops ; b.ls =>l),
            Cond::Ge => a64!(self.ops ; b.ge =>l),
            Cond::Lt => a64!(self.ops ; b.lt =>l),
            Cond::Gt => a64!(self.ops ; b.gt =>l),
            Cond::Le => a64!(self.ops ; b.le =>l),
        }
    }

    /// `b label`.
    pub(crate) fn b(&mut self, label: DynamicLabel) {
        a64!(self.ops ; b =>label);
    }
}
