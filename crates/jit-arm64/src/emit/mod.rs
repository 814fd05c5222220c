//! Lowering of BPF instructions to arm64 machine code with dynasm.
//!
//! One [`Emitter`] compiles a whole program: each BPF function (main program and subprograms)
//! becomes an AAPCS64 function with the frame of [`crate::abi`]. Branches use dynasm dynamic
//! labels, one per instruction; conditional branches reach +-1 MiB, so when the code comes out
//! larger than that the program is emitted again with every conditional branch turned into an
//! inverted branch over an unconditional `b` (+-128 MiB).
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

use std::collections::BTreeMap;

use dynasmrt::aarch64::Aarch64Relocation;
use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler, dynasm};
use kbpf_isa::{CallTarget, Insn, Program, Reg, Width};
use kbpf_kfunc::Registry;

use crate::abi;
use crate::error::EmitError;
use crate::imms::{AddSub, BranchKind, MovStep, mov_plan};
use crate::regs::{self, XReg};

/// dynasm with the aarch64 dialect selected.
macro_rules! a64 {
    ($ops:expr ; $($t:tt)*) => {
        dynasm!($ops ; .arch aarch64 ; $($t)*)
    };
}
pub(crate) use a64;

/// Options of one compilation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmitOptions {
    /// Emit LSE atomics (ARMv8.1) instead of LL/SC loops.
    pub lse: bool,
}

/// Machine code of a program plus the maps a dump or a debugger needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Code {
    /// The code; the main function starts at offset 0.
    pub bytes: Vec<u8>,
    /// `(slot pc, byte offset)` of every BPF instruction, in program order.
    pub insn_offsets: Vec<(usize, usize)>,
    /// `(entry pc, byte offset of the prologue)` of every BPF function, main first.
    pub functions: Vec<(usize, usize)>,
    /// Whether the long (inverted + `b`) conditional branch form was needed.
    pub long_branches: bool,
}

/// Compiles `prog`, calling helpers and kfuncs through the native functions of `registry`.
pub fn compile(prog: &Program, registry: &Registry, opts: EmitOptions) -> Result<Code, EmitError> {
    match Emitter::run(prog, registry, opts, false)? {
        Some(code) => Ok(code),
        None => match Emitter::run(prog, registry, opts, true)? {
            Some(code) => Ok(code),
            None => Err(EmitError::TooLarge { bytes: usize::MAX }),
        },
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

/// Per-function facts the prologue needs.
#[derive(Clone, Copy, Debug, Default)]
struct FuncInfo {
    reads_in_regs: bool,
    uses_may_goto: bool,
}

pub(crate) struct Emitter<'a> {
    pub(crate) ops: VecAssembler<Aarch64Relocation>,
    pub(crate) prog: &'a Program,
    pub(crate) registry: &'a Registry,
    pub(crate) opts: EmitOptions,
    long: bool,
    /// Label at each instruction (by instruction index), after any prologue.
    insn_labels: Vec<DynamicLabel>,
    /// Label at each function's prologue, by entry pc.
    func_labels: BTreeMap<usize, DynamicLabel>,
    /// Epilogue of the function being emitted.
    epilogue: DynamicLabel,
    /// Exit of the whole program with r0 = 0 (out-of-bounds packet loads, unknown `callx`
    /// ids, call depth exceeded), unwinding every frame.
    pub(crate) abort: DynamicLabel,
    /// Slot pc of the instruction being emitted, for errors.
    pub(crate) pc: usize,
}

/// Fails emission; the `Option` of `run` is `None` when branches did not reach.
pub(crate) type R<T = ()> = Result<T, EmitError>;

impl<'a> Emitter<'a> {
    fn run(prog: &'a Program, registry: &'a Registry, opts: EmitOptions, long: bool) -> R<Option<Code>> {
        let mut ops = VecAssembler::new(0);
        let insn_labels = (0..prog.len()).map(|_| ops.new_dynamic_label()).collect();
        let mut entries: Vec<usize> = vec![0];
        entries.extend(prog.iter().filter_map(|(pc, _)| prog.call_target(pc)));
        entries.sort_unstable();
        entries.dedup();
        let func_labels = entries.iter().map(|&pc| (pc, ops.new_dynamic_label())).collect();
        let epilogue = ops.new_dynamic_label();
        let abort = ops.new_dynamic_label();
        let mut e =
            Emitter { ops, prog, registry, opts, long, insn_labels, func_labels, epilogue, abort, pc: 0 };
        let mut insn_offsets = Vec::with_capacity(prog.len());
        let mut functions = Vec::with_capacity(entries.len());
        for (fi, &entry) in entries.iter().enumerate() {
            let end = entries.get(fi + 1).copied().unwrap_or(prog.len_slots());
            let is_main = fi == 0;
            let info = e.func_info(entry, end);
            functions.push((entry, e.ops.offset().0));
            let label = e.func_labels[&entry];
            e.ops.dynamic_label(label);
            e.epilogue = e.ops.new_dynamic_label();
            e.prologue(is_main, info);
            for (idx, (pc, insn)) in prog.iter().enumerate() {
                if pc < entry || pc >= end {
                    continue;
                }
                e.pc = pc;
                e.ops.dynamic_label(e.insn_labels[idx]);
                insn_offsets.push((pc, e.ops.offset().0));
                e.insn(insn)?;
            }
            let epi = e.epilogue;
            e.ops.dynamic_label(epi);
            e.epilogue_code(is_main);
            if is_main {
                // Unwind to the main frame and return 0.
                let abort = e.abort;
                e.ops.dynamic_label(abort);
                a64!(e.ops ; mov x29, X(regs::MAIN_FP) ; mov X(regs::R0), xzr ; b =>epi);
            }
        }
        let bytes = match e.ops.finalize() {
            Ok(b) => b,
            Err(_) if !long => return Ok(None),
            Err(_) => return Err(EmitError::TooLarge { bytes: usize::MAX }),
        };
        if !long && !BranchKind::Imm19.reaches(bytes.len() as i64) {
            // Some conditional branch might have been out of range had dynasm not caught it;
            // be conservative and use the long form.
            return Ok(None);
        }
        if !BranchKind::Imm26.reaches(bytes.len() as i64) {
            return Err(EmitError::TooLarge { bytes: bytes.len() });
        }
        Ok(Some(Code { bytes, insn_offsets, functions, long_branches: long }))
    }

    fn func_info(&self, entry: usize, end: usize) -> FuncInfo {
        let mut info = FuncInfo::default();
        for (pc, insn) in self.prog.iter() {
            if pc < entry || pc >= end {
                continue;
            }
            match insn {
                Insn::Load { src: Reg::R11, off: 8 | 16 | 24, .. } if insn.is_stack_arg_load() => {
                    info.reads_in_regs = true
                }
                Insn::MayGoto { .. } => info.uses_may_goto = true,
                _ => {}
            }
        }
        info
    }

    fn prologue(&mut self, is_main: bool, info: FuncInfo) {
        a64!(self.ops
            ; stp x29, x30, [sp, #-16]!
            ; mov x29, sp
            ; sub sp, sp, #(abi::FRAME_BELOW_FP)
            ; stp x19, x20, [x29, #(abi::SAVE_X19)]
            ; stp x21, x22, [x29, #(abi::SAVE_X21)]
            ; stp x25, x26, [x29, #(abi::SAVE_X25)]
            ; stp x27, x28, [x29, #(abi::SAVE_X27)]
            ; sub XSP(regs::BPF_FP), x29, #(abi::BPF_FP_OFFSET)
        );
        if is_main {
            a64!(self.ops
                ; stp x23, x24, [x29, #(abi::SAVE_X23)]
                ; mov X(regs::MAIN_FP), x29
                ; mov X(regs::DEPTH), xzr
                ; stp x0, x1, [x29, #(abi::CTX_DATA)]
            );
        }
        if info.reads_in_regs {
            let [a, b, c] = regs::IN_ARGS;
            a64!(self.ops ; mov X(a), x5 ; mov X(b), x6 ; mov X(c), x7);
        }
        if info.uses_may_goto {
            self.mov_imm(regs::TMP1, abi::BPF_MAX_LOOPS, Width::W64);
            a64!(self.ops ; stur X(regs::TMP1), [x29, #(abi::MAY_GOTO_COUNTER)]);
        }
    }

    fn epilogue_code(&mut self, is_main: bool) {
        a64!(self.ops
            ; mov x0, X(regs::R0)
            ; ldp x19, x20, [x29, #(abi::SAVE_X19)]
            ; ldp x21, x22, [x29, #(abi::SAVE_X21)]
            ; ldp x25, x26, [x29, #(abi::SAVE_X25)]
            ; ldp x27, x28, [x29, #(abi::SAVE_X27)]
        );
        if is_main {
            a64!(self.ops ; ldp x23, x24, [x29, #(abi::SAVE_X23)]);
        }
        a64!(self.ops
            ; mov sp, x29
            ; ldp x29, x30, [sp], #16
            ; ret
        );
    }

    fn insn(&mut self, insn: &Insn) -> R {
        match *insn {
            Insn::Alu { width, op, dst, src } => self.alu(width, op, dst, src),
            Insn::Neg { width, dst } => self.neg(width, dst),
            Insn::MovSx { width, dst, src, from_bits } => self.movsx(width, dst, src, from_bits),
            Insn::Endian { order, bits, dst } => self.endian(order, bits, dst),
            Insn::AddrSpaceCast { .. } => Err(self.unsupported("addr_space_cast (arena)")),
            Insn::LdImm64 { dst, src, imm, imm_hi } => self.ld_imm64(dst, src, imm, imm_hi),
            Insn::Load { size, signed, dst, src, off } => self.load(size, signed, dst, src, off),
            Insn::Store { size, dst, off, src } => self.store(size, dst, off, src),
            Insn::Atomic { size, op, dst, src, off } => self.atomic(size, op, dst, src, off),
            Insn::LdAbs { size, imm } => self.ld_packet(size, None, imm),
            Insn::LdInd { size, src, imm } => self.ld_packet(size, Some(src), imm),
            Insn::Ja { off } => self.goto(off as i64),
            Insn::Gotol { imm } => self.goto(imm as i64),
            Insn::MayGoto { off } => self.may_goto(off as i64),
            Insn::Jmp { width, cond, dst, src, off } => self.jmp(width, cond, dst, src, off as i64),
            Insn::Call(CallTarget::Helper(id)) => self.call_helper(id),
            Insn::Call(CallTarget::Kfunc { btf_id, .. }) => self.call_kfunc(btf_id),
            Insn::Call(CallTarget::Local(_)) => self.call_local(),
            Insn::Callx { reg } => self.callx(reg),
            Insn::Exit => {
                let l = self.epilogue;
                a64!(self.ops ; b =>l);
                Ok(())
            }
        }
    }

    pub(crate) fn unsupported(&self, what: &'static str) -> EmitError {
        EmitError::Unsupported { index: self.pc, what }
    }

    /// arm64 register of a BPF value register.
    pub(crate) fn x(&self, r: Reg) -> R<XReg> {
        regs::map(r).ok_or(EmitError::InvalidReg { index: self.pc, reg: r.num() })
    }

    /// Label of the instruction at slot `pc + 1 + off`.
    pub(crate) fn target(&self, off: i64) -> R<DynamicLabel> {
        let to = self.pc as i64 + 1 + off;
        usize::try_from(to)
            .ok()
            .and_then(|t| self.prog.index_at(t))
            .map(|i| self.insn_labels[i])
            .ok_or(self.unsupported("branch target outside the program"))
    }

    /// Prologue label of the function starting at slot `pc`.
    pub(crate) fn func_label(&self, pc: usize) -> R<DynamicLabel> {
        self.func_labels.get(&pc).copied().ok_or(self.unsupported("call target is not a function entry"))
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
