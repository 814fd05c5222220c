//! Instruction selection: one pass over the program, one native sequence per BPF instruction,
//! branches through dynasm labels (rel32, resolved at the end).

use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi, dynasm};
use kbpf_isa::{CallTarget, Insn, JmpCond, LdImm64Src, Program, Size, Src, Width};
use kbpf_jit::{ArgLoc, FaultKind, JitError, JitOptions, ProgramPlan, RunCtx, StackArgAbi, TailCallHook};
use kbpf_kfunc::{FuncKind, Registry};

use crate::abi::{self, Frame, Ops};
use crate::alu;
use crate::enc::{self, Bin};
use crate::mem;
use crate::regs::{ARG6, AUX, CTX, TMP, native::*, x};

/// Helper ids above this are not put in the callx table (it is a dense array).
const CALLX_TABLE_MAX: i32 = 1 << 16;

/// Assembled code before it is mapped.
pub struct Assembled {
    /// Machine code.
    pub code: Vec<u8>,
    /// Offset of the entry trampoline.
    pub entry: usize,
    /// Offset of each instruction index.
    pub insn_offsets: Vec<u32>,
    /// Offset of each function.
    pub func_offsets: Vec<u32>,
    /// Tables the code points into.
    pub data: Vec<Box<[u64]>>,
    /// End of each function's last instruction (its fault stubs follow).
    pub func_ends: Vec<u32>,
    /// Whether `entry` is the trampoline that keeps the run context; otherwise it is the main
    /// function, which never reads its third argument.
    pub run_ctx: bool,
    /// [`JitOptions::kernel_image`]: where the functions end and the stand-in `ret` begins.
    pub image_len: Option<usize>,
}

struct Emitter<'a> {
    ops: Ops,
    prog: &'a Program,
    registry: &'a Registry,
    plan: ProgramPlan,
    frames: Vec<Frame>,
    targets: Vec<Option<DynamicLabel>>,
    func_labels: Vec<DynamicLabel>,
    abort: DynamicLabel,
    /// In a program that throws: the trampoline's exit and the function `bpf_throw` calls first.
    unwind: Option<DynamicLabel>,
    exception: Option<usize>,
    stubs: Vec<(DynamicLabel, u64)>,
    callx_table: Option<Box<[u64]>>,
    insn_offsets: Vec<u32>,
    func: usize,
    tail_call: Option<TailCallHook>,
    /// [`JitOptions::kernel_image`]: the stand-in for the return thunk and the kernel
    /// functions calls reach, and the current function's first exit.
    kernel: Option<KernelImage>,
    /// Jumps (by instruction index) in their rel8 form.
    short: &'a [bool],
}

/// Labels of the kernel layout.
struct KernelImage {
    outside: DynamicLabel,
    first_exit: Option<DynamicLabel>,
}

/// Native condition code of a BPF condition; `short`: the rel8 form (the kernel's when the
/// target is within reach).
fn jcc(ops: &mut Ops, cond: JmpCond, l: DynamicLabel, short: bool) {
    macro_rules! j {
        ($op:ident) => {
            if short {
                dynasm!(ops ; .arch x64 ; $op BYTE =>l)
            } else {
                dynasm!(ops ; .arch x64 ; $op =>l)
            }
        };
    }
    match cond {
        JmpCond::Eq => j!(je),
        JmpCond::Ne | JmpCond::Set => j!(jne),
        JmpCond::Gt => j!(ja),
        JmpCond::Ge => j!(jae),
        JmpCond::Lt => j!(jb),
        JmpCond::Le => j!(jbe),
        JmpCond::Sgt => j!(jg),
        JmpCond::Sge => j!(jge),
        JmpCond::Slt => j!(jl),
        JmpCond::Sle => j!(jle),
    }
}

/// `jmp` to `l`, rel8 when `short`.
fn jmp(ops: &mut Ops, l: DynamicLabel, short: bool) {
    if short {
        dynasm!(ops ; .arch x64 ; jmp BYTE =>l);
    } else {
        dynasm!(ops ; .arch x64 ; jmp =>l);
    }
}

/// Assembles `prog`; for [`JitOptions::kernel_image`], as the kernel's JIT converges on its
/// layout: pass after pass, each jump whose target the previous pass put within reach of a
/// rel8 takes the short form, until no jump changes (sizes only shrink, so this ends).
pub fn assemble(prog: &Program, registry: &Registry, opts: &JitOptions) -> Result<Assembled, JitError> {
    if !opts.kernel_image {
        return assemble_pass(prog, registry, opts, &[]);
    }
    let mut short = vec![false; prog.len()];
    for _ in 0..32 {
        let a = assemble_pass(prog, registry, opts, &short)?;
        let next = short_jumps(prog, opts, &a, &short)?;
        if next == short {
            return Ok(a);
        }
        short = next;
    }
    assemble_pass(prog, registry, opts, &short)
}

/// Which jumps of the layout `a` reach their targets with a rel8 (the ones already short stay).
fn short_jumps(
    prog: &Program,
    opts: &JitOptions,
    a: &Assembled,
    was: &[bool],
) -> Result<Vec<bool>, JitError> {
    let plan = ProgramPlan::new(prog, opts)?;
    let mut out = was.to_vec();
    for (f, func) in plan.funcs.iter().enumerate() {
        let first_exit = (func.start..func.end).find(|&i| matches!(prog.insns()[i], Insn::Exit));
        for (idx, insn) in prog.insns().iter().enumerate().take(func.end).skip(func.start) {
            let target = match *insn {
                Insn::Exit if first_exit != Some(idx) => first_exit,
                Insn::Ja { .. } | Insn::Gotol { .. } | Insn::Jmp { .. } => {
                    let off = insn.branch_offset().unwrap_or(0);
                    prog.index_at((prog.pc(idx) as i64 + 1 + off) as usize)
                }
                _ => None,
            };
            let Some(t) = target.filter(|&t| t != idx + 1 || matches!(insn, Insn::Exit)) else {
                continue;
            };
            let end = if idx + 1 < func.end { a.insn_offsets[idx + 1] } else { a.func_ends[f] };
            let disp = a.insn_offsets.get(t).copied().unwrap_or(0) as i64 - end as i64;
            if (-128..=127).contains(&disp)
                && let Some(o) = out.get_mut(idx)
            {
                *o = true;
            }
        }
    }
    Ok(out)
}

/// One pass: `prog` at an unknown base address (all code is position independent), with the
/// jumps `short` marks in their rel8 form.
fn assemble_pass(
    prog: &Program,
    registry: &Registry,
    opts: &JitOptions,
    short: &[bool],
) -> Result<Assembled, JitError> {
    let plan = ProgramPlan::new(prog, opts)?;
    let n = prog.len();
    let mut ops = Ops::new(0);
    ops.reserve_ops(16 * n + 128);
    // A program that can fault (LD_ABS/LD_IND, callx) or tail-call needs the run context and
    // the trampoline that saves every callee-saved register, so a fault can unwind from any
    // depth; its main function then saves none itself. Any other program is entered at its
    // main function, which saves only the callee-saved registers it uses (the kernel's
    // `detect_reg_usage`): an empty program costs a call and a `ret`.
    let trampolined = kbpf_jit::needs_run_ctx(prog, opts);
    // With tail calls, a main function may be entered by a jump from any function (replacing
    // that frame), so it saves the callee-saved registers it uses like every other function.
    let main_saves_none = trampolined && opts.tail_call.is_none();
    let frames: Vec<Frame> = plan
        .funcs
        .iter()
        .enumerate()
        .map(
            |(i, f)| {
                if opts.kernel_image { Frame::kernel(f) } else { Frame::new(f, i == 0 && main_saves_none) }
            },
        )
        .collect();
    let func_labels = (0..plan.funcs.len()).map(|_| ops.new_dynamic_label()).collect();
    let abort = ops.new_dynamic_label();
    let unwind = opts.roles.exception_cb.map(|_| ops.new_dynamic_label());
    let mut e = Emitter {
        ops,
        prog,
        registry,
        plan,
        frames,
        targets: vec![None; n],
        func_labels,
        abort,
        unwind,
        exception: opts.roles.exception_cb,
        stubs: Vec::new(),
        callx_table: None,
        insn_offsets: Vec::with_capacity(n),
        func: 0,
        tail_call: opts.tail_call,
        kernel: None,
        short,
    };
    if opts.kernel_image {
        e.kernel = Some(KernelImage { outside: e.ops.new_dynamic_label(), first_exit: None });
    }
    e.check_control_flow()?;
    let entry_label = if trampolined {
        abi::trampoline(&mut e.ops, e.func_labels[0], e.abort, e.unwind)
    } else {
        e.func_labels[0]
    };
    let mut func_offsets = Vec::with_capacity(e.plan.funcs.len());
    let mut func_ends = Vec::with_capacity(e.plan.funcs.len());
    for f in 0..e.plan.funcs.len() {
        e.func = f;
        if let Some(k) = &mut e.kernel {
            k.first_exit = None;
        }
        let label = e.func_labels[f];
        func_offsets.push(e.ops.offset().0 as u32);
        dynasm!(e.ops ; .arch x64 ; =>label);
        e.frames[f].prologue(&mut e.ops);
        let (start, end) = (e.plan.funcs[f].start, e.plan.funcs[f].end);
        for idx in start..end {
            e.insn_offsets.push(e.ops.offset().0 as u32);
            if let Some(l) = e.targets[idx] {
                dynasm!(e.ops ; .arch x64 ; =>l);
            }
            let insn = prog.insns()[idx];
            e.insn(idx, &insn)?;
        }
        if matches!(prog.insns()[end - 1], Insn::Call(_)) {
            // a function ending in a call that never returns (a throw): trap if it did
            dynasm!(e.ops ; .arch x64 ; ud2);
        }
        func_ends.push(e.ops.offset().0 as u32);
        e.emit_stubs();
    }
    let mut image_len = None;
    if let Some(k) = &e.kernel {
        // where the kernel's code jumps and calls out: a `ret` stands in
        let l = k.outside;
        image_len = Some(e.ops.offset().0);
        dynasm!(e.ops ; .arch x64 ; =>l ; ret);
    }
    let mut data = Vec::new();
    if let Some(t) = e.callx_table.take() {
        data.push(t);
    }
    let insn_offsets = std::mem::take(&mut e.insn_offsets);
    let entry =
        e.ops.labels().resolve_dynamic(entry_label).map_err(|err| JitError::Assembler(err.to_string()))?.0;
    let code = e.ops.finalize().map_err(|err| JitError::Assembler(err.to_string()))?;
    Ok(Assembled {
        code,
        entry,
        insn_offsets,
        func_offsets,
        data,
        func_ends,
        run_ctx: trampolined,
        image_len,
    })
}

impl Emitter<'_> {
    /// Kernel-style structural checks the JIT relies on, and branch-target labels.
    fn check_control_flow(&mut self) -> Result<(), JitError> {
        let prog = self.prog;
        for (fi, f) in self.plan.funcs.iter().enumerate() {
            let last = &prog.insns()[f.end - 1];
            if !last.is_unconditional_transfer() && !kbpf_jit::ends_run(last, self.unwind.is_some()) {
                return Err(JitError::FallThrough { pc: prog.pc(f.end - 1) });
            }
            for idx in f.start..f.end {
                let pc = prog.pc(idx);
                if let Some(off) = prog.insns()[idx].branch_offset() {
                    let to = (pc as i64 + 1 + off) as usize;
                    let t = prog.index_at(to).ok_or(JitError::JumpOutOfRange { pc, to })?;
                    if self.plan.func_of(t) != fi {
                        return Err(JitError::JumpOutOfRange { pc, to });
                    }
                    if self.targets[t].is_none() {
                        self.targets[t] = Some(self.ops.new_dynamic_label());
                    }
                }
            }
        }
        Ok(())
    }

    /// Label of the branch target of instruction `idx`, `None` when it is the next instruction.
    fn target(&self, idx: usize) -> Option<DynamicLabel> {
        let pc = self.prog.pc(idx);
        let off = self.prog.insns()[idx].branch_offset()?;
        let t = self.prog.index_at((pc as i64 + 1 + off) as usize)?;
        if t == idx + 1 { None } else { self.targets[t] }
    }

    /// A jump to an out-of-line stub that records the fault and unwinds.
    fn fault_label(&mut self, kind: FaultKind, pc: usize) -> DynamicLabel {
        let l = self.ops.new_dynamic_label();
        self.stubs.push((l, kind.status(pc)));
        l
    }

    fn emit_stubs(&mut self) {
        let abort = self.abort;
        for (l, status) in std::mem::take(&mut self.stubs) {
            dynasm!(self.ops ; .arch x64 ; =>l);
            if let Ok(imm) = i32::try_from(status) {
                dynasm!(self.ops ; .arch x64 ; mov QWORD [Rq(CTX) + RunCtx::STATUS], imm);
            } else {
                dynasm!(self.ops ; .arch x64 ; mov Rq(TMP), QWORD status as i64 ; mov [Rq(CTX) + RunCtx::STATUS], Rq(TMP));
            }
            dynasm!(self.ops ; .arch x64 ; jmp =>abort);
        }
    }

    fn frame(&self) -> &Frame {
        &self.frames[self.func]
    }

    fn insn(&mut self, idx: usize, insn: &Insn) -> Result<(), JitError> {
        let pc = self.prog.pc(idx);
        let src_reg = |s: &Src| match s {
            Src::Reg(r) => x(*r),
            Src::Imm(_) => TMP,
        };
        match *insn {
            Insn::Alu { width, op, dst, src } => {
                alu::alu(&mut self.ops, width, op, x(dst), src, src_reg(&src))
            }
            Insn::Neg { width, dst } => alu::neg(&mut self.ops, width, x(dst)),
            Insn::MovSx { width, dst, src, from_bits } => {
                alu::movsx(&mut self.ops, width, x(dst), x(src), from_bits)
            }
            Insn::AddrSpaceCast { .. } => return Err(JitError::Unsupported { pc, what: "addr_space_cast" }),
            // the kernel's: this CPU's per-CPU offset added from gs:[this_cpu_off] (its address
            // here 0: a listing only, like every address outside the image)
            Insn::MovPercpu { dst, src } if self.kernel.is_some() => {
                if dst != src {
                    alu::alu(&mut self.ops, Width::W64, kbpf_isa::AluOp::Mov, x(dst), Src::Reg(src), x(src));
                }
                let d = x(dst);
                self.ops.extend([0x65, 0x48 | (d >> 3), 0x03, 0x04 | ((d & 7) << 3), 0x25, 0, 0, 0, 0]);
            }
            Insn::MovPercpu { .. } => return Err(JitError::Unsupported { pc, what: "the per-CPU mov" }),
            Insn::Endian { order, bits, dst } => alu::endian(&mut self.ops, order, bits, x(dst)),
            Insn::Ja { .. } | Insn::Gotol { .. } => {
                if let Some(l) = self.target(idx) {
                    let short = self.is_short(idx);
                    jmp(&mut self.ops, l, short);
                }
            }
            Insn::MayGoto { .. } => self.may_goto(idx, pc),
            Insn::Jmp { width, cond, dst, src, .. } => self.cond_jump(idx, width, cond, x(dst), src),
            Insn::Call(t) => self.call(pc, t)?,
            Insn::Callx { reg } => self.callx(pc, x(reg)),
            Insn::Exit => {
                let frame = self.frame().clone();
                match &mut self.kernel {
                    // the first exit has the epilogue, the others jump to it
                    Some(KernelImage { first_exit: Some(l), .. }) => {
                        let (l, short) = (*l, self.short.get(idx).copied().unwrap_or(false));
                        jmp(&mut self.ops, l, short);
                    }
                    Some(k) => {
                        let (l, outside) = (self.ops.new_dynamic_label(), k.outside);
                        k.first_exit = Some(l);
                        dynasm!(self.ops ; .arch x64 ; =>l);
                        frame.kernel_epilogue(&mut self.ops, outside);
                    }
                    None => frame.epilogue(&mut self.ops),
                }
            }
            Insn::LdImm64 { dst, src, imm, imm_hi } => {
                if src != LdImm64Src::Imm {
                    return Err(JitError::Unsupported {
                        pc,
                        what: "ld_imm64 with a pseudo source (maps, BTF, functions)",
                    });
                }
                alu::mov_imm64(&mut self.ops, x(dst), Insn::imm64(imm, imm_hi) as i64);
            }
            Insn::StackArgLoad { dst, pos } => {
                let off = pos.load_off();
                let slot = pos.slot().filter(|_| self.func != 0).ok_or(JitError::StackArg { pc, off })?;
                match StackArgAbi::X86_64.incoming(slot) {
                    ArgLoc::Reg(_) => dynasm!(self.ops ; .arch x64 ; mov Rq(x(dst)), Rq(ARG6)),
                    // Above the return address and the saved rbp.
                    ArgLoc::Stack(o) => {
                        dynasm!(self.ops ; .arch x64 ; mov Rq(x(dst)), QWORD [rbp + 16 + o as i32])
                    }
                }
            }
            Insn::Load { size, signed, dst, src, off } => {
                mem::load(&mut self.ops, self.kernel.is_some(), size, signed, x(dst), x(src), off as i32)
            }
            Insn::StackArgStore { pos, src } => {
                let slot = pos.slot().ok_or(JitError::StackArg { pc, off: pos.store_off() })?;
                match (StackArgAbi::X86_64.outgoing(slot), src) {
                    (ArgLoc::Reg(_), Src::Reg(r)) => dynasm!(self.ops ; .arch x64 ; mov Rq(ARG6), Rq(x(r))),
                    (ArgLoc::Reg(_), Src::Imm(i)) => dynasm!(self.ops ; .arch x64 ; mov Rq(ARG6), DWORD i),
                    (ArgLoc::Stack(o), Src::Reg(r)) => {
                        mem::store_reg(&mut self.ops, false, Size::DW, RSP, o as i32, x(r))
                    }
                    (ArgLoc::Stack(o), Src::Imm(i)) => {
                        mem::store_imm(&mut self.ops, false, Size::DW, RSP, o as i32, i)
                    }
                }
            }
            Insn::Store { size, dst, off, src: Src::Reg(r) } => {
                mem::store_reg(&mut self.ops, self.kernel.is_some(), size, x(dst), off as i32, x(r))
            }
            Insn::Store { size, dst, off, src: Src::Imm(i) } => {
                mem::store_imm(&mut self.ops, self.kernel.is_some(), size, x(dst), off as i32, i)
            }
            Insn::Atomic { size, op, dst, src, off } => {
                mem::atomic(&mut self.ops, size, op, x(dst), x(src), off as i32)
            }
            Insn::LdAbs { size, imm } => self.ld_abs(pc, size, None, imm),
            Insn::LdInd { size, src, imm } => self.ld_abs(pc, size, Some(x(src)), imm),
        }
        Ok(())
    }

    fn cond_jump(&mut self, idx: usize, width: Width, cond: JmpCond, d: u8, src: Src) {
        let Some(l) = self.target(idx) else { return };
        let w = width == Width::W64;
        match (cond, src) {
            (JmpCond::Set, Src::Reg(s)) => enc::rr(&mut self.ops, w, Bin::Test, d, x(s)),
            (JmpCond::Set, Src::Imm(i)) => enc::ri(&mut self.ops, w, Bin::Test, d, i),
            (_, Src::Reg(s)) => enc::rr(&mut self.ops, w, Bin::Cmp, d, x(s)),
            (_, Src::Imm(0)) => enc::rr(&mut self.ops, w, Bin::Test, d, d),
            (_, Src::Imm(i)) => enc::ri(&mut self.ops, w, Bin::Cmp, d, i),
        }
        let short = self.is_short(idx);
        jcc(&mut self.ops, cond, l, short);
    }

    fn is_short(&self, idx: usize) -> bool {
        self.short.get(idx).copied().unwrap_or(false)
    }

    /// `may_goto`: taken once the function's loop budget is spent, otherwise spends one unit.
    fn may_goto(&mut self, idx: usize, _pc: usize) {
        let off = self.frame().counter_off;
        let next = self.ops.new_dynamic_label();
        let l = self.target(idx).unwrap_or(next);
        dynasm!(self.ops ; .arch x64
            ; cmp QWORD [rbp + off], 0
            ; je =>l
            ; sub QWORD [rbp + off], 1
            ; =>next
        );
    }

    fn native_addr(&self, pc: usize, kind: FuncKind, id: i32) -> Result<u64, JitError> {
        let desc = match kind {
            FuncKind::Helper => self.registry.helper(id).ok_or(JitError::UnknownHelper { pc, id })?,
            FuncKind::Kfunc => self.registry.kfunc(id).ok_or(JitError::UnknownKfunc { pc, btf_id: id })?,
        };
        let f = desc.native.ok_or_else(|| JitError::NoNative { pc, name: desc.name.clone() })?;
        Ok(f.addr() as u64)
    }

    fn call(&mut self, pc: usize, t: CallTarget) -> Result<(), JitError> {
        match t {
            // r1..r5 already sit in rdi, rsi, rdx, rcx, r8; arg 6 in r9, 7.. at [rsp].
            CallTarget::Helper(id)
                if self.tail_call.is_some()
                    && self.registry.helper(id).is_some_and(|d| d.name == "bpf_tail_call") =>
            {
                self.tail_call(pc)?
            }
            CallTarget::Helper(kbpf_kfunc::callbacks::THROW_ID) if self.kernel.is_none() => {
                // the exception function (cookie in r1), then out of every frame with its r0
                let to = self.exception.and_then(|s| self.plan.func_starting_at(s)).zip(self.unwind);
                let (f, unwind) =
                    to.ok_or(JitError::Unsupported { pc, what: "bpf_throw without an exception function" })?;
                let l = self.func_labels[f];
                dynasm!(self.ops ; .arch x64 ; call =>l ; jmp =>unwind);
            }
            CallTarget::Helper(_) | CallTarget::Kfunc { .. } if self.kernel.is_some() => {
                let l = self.kernel.as_ref().map(|k| k.outside).unwrap_or(self.abort);
                dynasm!(self.ops ; .arch x64 ; call =>l);
            }
            CallTarget::Helper(id) => {
                let addr = self.native_addr(pc, FuncKind::Helper, id)?;
                abi::call_abs(&mut self.ops, addr)
            }
            CallTarget::Kfunc { btf_id, .. } => {
                let addr = self.native_addr(pc, FuncKind::Kfunc, btf_id)?;
                abi::call_abs(&mut self.ops, addr)
            }
            CallTarget::Local(_) => {
                let to = self.prog.call_target(pc).and_then(|t| self.plan.func_starting_at(t));
                let f = to.ok_or(JitError::Assembler(format!("insn {pc}: call target is no function")))?;
                let l = self.func_labels[f];
                dynasm!(self.ops ; .arch x64 ; call =>l);
            }
        }
        Ok(())
    }

    /// `bpf_tail_call(ctx, map, index)`: the resolver applies the kernel's rules and returns
    /// the target's main function or 0; a target replaces this frame (after this function's
    /// epilogue, minus the `ret`), so its `ret` returns to this function's caller. Compiled with
    /// a tail-call hook, main functions save the callee-saved registers they use, so this works
    /// from subprograms too.
    fn tail_call(&mut self, pc: usize) -> Result<(), JitError> {
        let Some(hook) = self.tail_call else {
            return Err(JitError::Unsupported { pc, what: "bpf_tail_call" });
        };
        let fall = self.ops.new_dynamic_label();
        let hook_ctx = hook.ctx() as i64;
        // r1 (ctx) lives in rdi, the resolver's first argument: keep it across the call (two
        // pushes keep rsp 16-byte aligned); r2 (map) and r3 (index) are already in rsi, rdx.
        dynasm!(self.ops ; .arch x64
            ; push rdi ; push rdi
            ; mov rdi, QWORD hook_ctx
        );
        abi::call_abs(&mut self.ops, hook.resolve());
        dynasm!(self.ops ; .arch x64
            ; pop rdi ; pop rdi
            ; test rax, rax
            ; jz =>fall
        );
        let frame = self.frame().clone();
        frame.teardown(&mut self.ops);
        dynasm!(self.ops ; .arch x64 ; jmp rax ; =>fall);
        Ok(())
    }

    fn callx_table(&mut self) -> (u64, u32) {
        if self.callx_table.is_none() {
            let helpers: Vec<_> = self
                .registry
                .iter()
                .filter(|d| d.kind == FuncKind::Helper && (0..CALLX_TABLE_MAX).contains(&d.id))
                .filter_map(|d| d.native.map(|f| (d.id as usize, f.addr() as u64)))
                .collect();
            let len = helpers.iter().map(|(id, _)| id + 1).max().unwrap_or(0);
            let mut t = vec![0u64; len].into_boxed_slice();
            for (id, addr) in helpers {
                t[id] = addr;
            }
            self.callx_table = Some(t);
        }
        let t = self.callx_table.as_ref().map(|t| (t.as_ptr() as u64, t.len() as u32));
        t.unwrap_or((0, 0))
    }

    /// `callx reg`: the helper whose id is in `reg`; an unknown id is a fault.
    fn callx(&mut self, pc: usize, r: u8) {
        let (table, len) = self.callx_table();
        let fault = self.fault_label(FaultKind::UnknownCallx, pc);
        dynasm!(self.ops ; .arch x64
            ; mov Rq(TMP), Rq(r)
            ; cmp Rq(TMP), DWORD len as i32
            ; jae =>fault
            ; mov Rq(AUX), QWORD table as i64
            ; mov Rq(TMP), [Rq(AUX) + Rq(TMP) * 8]
            ; test Rq(TMP), Rq(TMP)
            ; jz =>fault
            ; call Rq(TMP)
        );
    }

    /// LD_ABS / LD_IND: r0 = big-endian load from the run's packet (`RunCtx`) through a native helper;
    /// out of bounds ends the program with r0 = 0. Clobbers r1..r5 like a call.
    fn ld_abs(&mut self, pc: usize, size: Size, src: Option<u8>, imm: i32) {
        let fault = self.fault_label(FaultKind::LdAbsOutOfBounds, pc);
        match src {
            Some(s) => {
                dynasm!(self.ops ; .arch x64 ; mov Rq(TMP), Rq(s));
                if imm != 0 {
                    enc::ri(&mut self.ops, true, Bin::Add, TMP, imm);
                }
            }
            None => alu::mov_imm64(&mut self.ops, TMP, imm as i64),
        }
        dynasm!(self.ops ; .arch x64
            ; mov rdi, Rq(CTX)
            ; mov rsi, Rq(TMP)
            ; mov edx, size.bytes() as i32
        );
        abi::call_abs(&mut self.ops, crate::ld_abs_load as *const () as u64);
        dynasm!(self.ops ; .arch x64 ; cmp rax, -1 ; je =>fault);
    }
}
