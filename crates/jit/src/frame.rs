//! Frame planning: where functions start and end, how much BPF stack each needs, which
//! callee-saved BPF registers it touches, its stack-argument traffic, and the call graph (no
//! recursion, at most `MAX_CALL_FRAMES` deep). Architecture-neutral: backends turn a
//! [`FuncPlan`] into their own prologue and epilogue.

use kbpf_isa::{AtomicOp, CallTarget, Insn, LdImm64Src, MAX_BPF_STACK, MAX_CALL_FRAMES, Program, Reg, Src};

use crate::error::JitError;
use crate::options::{JitOptions, StackDepth};

/// The facts about one BPF function that decide its native frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncPlan {
    /// First instruction index (into `Program::insns`).
    pub start: usize,
    /// One past the last instruction index.
    pub end: usize,
    /// Slot index (pc) of the first instruction.
    pub start_pc: usize,
    /// Bytes of BPF stack below r10, a multiple of 16 (of 8 for [`JitOptions::kernel_image`]; 0
    /// when r10 is never mentioned). This is
    /// the hook a verifier fills in (`StackDepth::Verifier`).
    pub stack_depth: u32,
    /// Whether r10 is mentioned at all.
    pub uses_fp: bool,
    /// Callee-saved BPF registers (r6..r9) the function mentions, ascending.
    pub callee_saved: Vec<Reg>,
    /// Outgoing stack-argument slots written (highest slot + 1, 0..=7).
    pub out_stack_args: u8,
    /// Incoming stack-argument slots read (highest slot + 1, 0..=7).
    pub in_stack_args: u8,
    /// Whether the function calls anything (helper, kfunc, callx, bpf-to-bpf, LD_ABS/IND).
    pub makes_calls: bool,
    /// Whether the function itself calls native code (helper, kfunc, callx, LD_ABS/IND).
    pub native_calls: bool,
    /// Whether the native stack must be ABI-aligned at this function's calls: it calls native
    /// code, or calls a BPF function that (transitively) does.
    pub needs_align: bool,
    /// Whether the function contains `may_goto` (needs a loop-budget counter).
    pub may_goto: bool,
    /// Functions called directly, as indices into [`ProgramPlan::funcs`].
    pub callees: Vec<usize>,
}

/// Every function of a program, in address order; function 0 is the main program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramPlan {
    /// The functions.
    pub funcs: Vec<FuncPlan>,
    /// Function index of every instruction index.
    func_of: Vec<u32>,
}

/// Instruction index a bpf-to-bpf call at `pc` goes to.
fn local_call_target(prog: &Program, pc: usize, insn: &Insn) -> Option<usize> {
    match *insn {
        Insn::Call(CallTarget::Local(rel)) => {
            prog.index_at(usize::try_from(pc as i64 + 1 + rel as i64).ok()?)
        }
        _ => None,
    }
}

/// The verifier's per-subprogram stack depths laid over the JIT's functions, the kernel JIT's
/// `stack_depth`: the verifier's subprograms start at the entry, every bpf-to-bpf call target
/// and every callback (`ld_imm64` of a function); the JIT's only at the entry and the call
/// targets, since callbacks run on the engine that drives them and their code stays inside the
/// function before them. Each JIT function gets the deepest depth of the subprograms it
/// contains. `None` when `depths` does not have one entry per subprogram of `prog`.
pub fn verifier_frames(prog: &Program, depths: &[u32]) -> Option<Vec<u32>> {
    verifier_frames_for(prog, prog, depths)
}

/// [`verifier_frames`] for `lowered`, the verified `prog` with callbacks lowered
/// ([`crate::lower_callbacks`]): the same instructions first (a callback is now a call target,
/// so a function of its own), then the appended functions, which are left out of the list
/// (their depth is inferred).
pub fn verifier_frames_for(prog: &Program, lowered: &Program, depths: &[u32]) -> Option<Vec<u32>> {
    let mut subprogs = vec![0usize];
    for (pc, insn) in prog.iter() {
        match *insn {
            Insn::Call(CallTarget::Local(_)) => subprogs.push(local_call_target(prog, pc, insn)?),
            Insn::LdImm64 { src: LdImm64Src::Func, imm, .. } => {
                subprogs.push(prog.index_at(usize::try_from(pc as i64 + 1 + imm as i64).ok()?)?)
            }
            _ => {}
        }
    }
    let mut funcs = vec![0usize];
    for (pc, insn) in lowered.iter() {
        if let Insn::Call(CallTarget::Local(_)) = insn {
            funcs.push(local_call_target(lowered, pc, insn)?);
        }
    }
    funcs.retain(|&f| f < prog.len());
    for v in [&mut subprogs, &mut funcs] {
        v.sort_unstable();
        v.dedup();
    }
    if subprogs.len() != depths.len() {
        return None;
    }
    let mut out = vec![0u32; funcs.len()];
    for (start, depth) in subprogs.iter().zip(depths) {
        // the last function starting at or before the subprogram (the entry starts at 0)
        let f = funcs.partition_point(|&s| s <= *start) - 1;
        out[f] = out[f].max(*depth);
    }
    Some(out)
}

/// Registers an instruction names, in any role (r11 excluded).
fn mentioned(insn: &Insn) -> [Option<Reg>; 3] {
    let src = |s: &Src| match s {
        Src::Reg(r) => Some(*r),
        Src::Imm(_) => None,
    };
    match insn {
        Insn::Alu { dst, src: s, .. } | Insn::Jmp { dst, src: s, .. } => [Some(*dst), src(s), None],
        Insn::Neg { dst, .. } | Insn::Endian { dst, .. } | Insn::LdImm64 { dst, .. } => {
            [Some(*dst), None, None]
        }
        Insn::MovSx { dst, src, .. }
        | Insn::AddrSpaceCast { dst, src, .. }
        | Insn::MovPercpu { dst, src } => [Some(*dst), Some(*src), None],
        Insn::Load { dst, src, .. } => [Some(*dst), Some(*src), None],
        Insn::Store { dst, src: s, .. } => [Some(*dst), src(s), None],
        Insn::StackArgLoad { dst, .. } => [Some(*dst), None, None],
        Insn::StackArgStore { src: s, .. } => [src(s), None, None],
        Insn::Atomic { dst, src, op, .. } => {
            [Some(*dst), Some(*src), if *op == AtomicOp::Cmpxchg { Some(Reg::R0) } else { None }]
        }
        Insn::Callx { reg } => [Some(*reg), None, None],
        Insn::LdInd { src, .. } => [Some(*src), None, None],
        _ => [None, None, None],
    }
}

/// The register an instruction writes, if any (besides the r0..r5 a call clobbers).
fn written(insn: &Insn) -> Option<Reg> {
    match *insn {
        Insn::Alu { dst, .. }
        | Insn::Neg { dst, .. }
        | Insn::MovSx { dst, .. }
        | Insn::AddrSpaceCast { dst, .. }
        | Insn::MovPercpu { dst, .. }
        | Insn::Endian { dst, .. }
        | Insn::LdImm64 { dst, .. }
        | Insn::Load { dst, .. }
        | Insn::StackArgLoad { dst, .. } => Some(dst),
        Insn::Atomic { op: AtomicOp::LoadAcquire, dst, .. } => Some(dst),
        Insn::Atomic { op: AtomicOp::Cmpxchg, .. } => Some(Reg::R0),
        Insn::Atomic { op, src, .. } if op.fetches() => Some(src),
        _ => None,
    }
}

/// The r10-based memory access of an instruction: (offset, size).
fn fp_access(insn: &Insn) -> Option<(i16, u32)> {
    match *insn {
        Insn::Load { src: Reg::R10, off, size, .. } => Some((off, size.bytes())),
        Insn::Store { dst: Reg::R10, off, size, .. } => Some((off, size.bytes())),
        Insn::Atomic { op: AtomicOp::LoadAcquire, src: Reg::R10, off, size, .. } => Some((off, size.bytes())),
        Insn::Atomic { op, dst: Reg::R10, off, size, .. } if op != AtomicOp::LoadAcquire => {
            Some((off, size.bytes()))
        }
        _ => None,
    }
}

/// Whether r10's value leaves the instruction (copied, compared, stored): the whole 512 bytes
/// may then be addressed through another register.
fn fp_escapes(insn: &Insn) -> bool {
    let base_only = fp_access(insn).is_some();
    let regs = mentioned(insn);
    let count = regs.iter().filter(|r| **r == Some(Reg::R10)).count();
    count > usize::from(base_only)
}

impl ProgramPlan {
    /// Plans every function of `prog`.
    pub fn new(prog: &Program, opts: &JitOptions) -> Result<ProgramPlan, JitError> {
        let insns = prog.insns();
        let mut starts = vec![0usize];
        for (pc, insn) in prog.iter() {
            if let Insn::Call(CallTarget::Local(_)) = insn
                && let Some(t) = local_call_target(prog, pc, insn)
            {
                starts.push(t);
            }
        }
        // `bpf_throw` calls the exception function, which nothing else calls
        starts.extend(opts.roles.exception_cb.and_then(|s| prog.index_at(s)));
        starts.sort_unstable();
        starts.dedup();
        let mut func_of = vec![0u32; insns.len()];
        let mut funcs = Vec::with_capacity(starts.len());
        for (f, &start) in starts.iter().enumerate() {
            let end = starts.get(f + 1).copied().unwrap_or(insns.len());
            for slot in &mut func_of[start..end] {
                *slot = f as u32;
            }
            let plan = Self::plan_func(prog, start, end, f, opts)?;
            funcs.push(plan);
        }
        let mut plan = ProgramPlan { funcs, func_of };
        // Callees, now that every start is known.
        for f in 0..plan.funcs.len() {
            let (start, end) = (plan.funcs[f].start, plan.funcs[f].end);
            let mut callees = Vec::new();
            for (i, insn) in insns.iter().enumerate().take(end).skip(start) {
                if let Some(t) = local_call_target(prog, prog.pc(i), insn) {
                    callees.push(plan.func_of[t] as usize);
                }
            }
            callees.sort_unstable();
            callees.dedup();
            plan.funcs[f].callees = callees;
        }
        let drivers: Vec<bool> = plan
            .funcs
            .iter()
            .map(|f| opts.roles.drivers.contains(&f.start_pc) || opts.roles.exception_cb == Some(f.start_pc))
            .collect();
        plan.check_call_graph(prog, &drivers)?;
        // Alignment need flows from callees to callers; the graph is acyclic, so iterating to a
        // fixed point terminates within the depth limit.
        loop {
            let mut changed = false;
            for f in 0..plan.funcs.len() {
                let need = plan.funcs[f].callees.iter().any(|&g| plan.funcs[g].needs_align);
                if need && !plan.funcs[f].needs_align {
                    plan.funcs[f].needs_align = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        Ok(plan)
    }

    fn plan_func(
        prog: &Program,
        start: usize,
        end: usize,
        f: usize,
        opts: &JitOptions,
    ) -> Result<FuncPlan, JitError> {
        let insns = prog.insns();
        let mut uses_fp = false;
        let mut escapes = false;
        let mut deepest: u32 = 0;
        let mut saved = [false; 4];
        let mut out = 0u8;
        let mut inc = 0u8;
        let mut makes_calls = false;
        let mut native_calls = false;
        let mut may_goto = false;
        for (i, insn) in insns.iter().enumerate().take(end).skip(start) {
            let pc = prog.pc(i);
            for r in mentioned(insn).into_iter().flatten() {
                match r {
                    Reg::R6 | Reg::R7 | Reg::R8 | Reg::R9 => saved[r.idx() - 6] = true,
                    Reg::R10 => uses_fp = true,
                    _ => {}
                }
            }
            if written(insn) == Some(Reg::R10) {
                return Err(JitError::FramePointerWrite { pc });
            }
            if let Some((off, size)) = fp_access(insn) {
                let lo = off as i32;
                if lo >= 0 || lo + size as i32 > 0 || -lo > MAX_BPF_STACK as i32 {
                    return Err(JitError::StackOutOfBounds { pc, off, size });
                }
                deepest = deepest.max((-lo) as u32);
            }
            escapes |= fp_escapes(insn);
            match *insn {
                Insn::StackArgStore { pos, .. } => {
                    let slot = pos.slot().ok_or(JitError::StackArg { pc, off: pos.store_off() })?;
                    out = out.max(slot.index() as u8 + 1);
                }
                Insn::StackArgLoad { pos, .. } => {
                    let slot = pos.slot().ok_or(JitError::StackArg { pc, off: pos.load_off() })?;
                    inc = inc.max(slot.index() as u8 + 1);
                }
                _ => {}
            }
            match insn {
                Insn::Call(CallTarget::Local(_)) => makes_calls = true,
                Insn::Call(_) | Insn::Callx { .. } | Insn::LdAbs { .. } | Insn::LdInd { .. } => {
                    makes_calls = true;
                    native_calls = true;
                }
                Insn::MayGoto { .. } => may_goto = true,
                _ => {}
            }
        }
        let inferred = if !uses_fp {
            0
        } else if escapes {
            MAX_BPF_STACK as u32
        } else {
            deepest
        };
        let depth = match &opts.stack_depth {
            StackDepth::Inferred => inferred,
            StackDepth::Max if uses_fp => MAX_BPF_STACK as u32,
            StackDepth::Max => 0,
            StackDepth::Verifier(d) => d.get(f).copied().unwrap_or(inferred),
        };
        let callee_saved =
            [Reg::R6, Reg::R7, Reg::R8, Reg::R9].into_iter().filter(|r| saved[r.idx() - 6]).collect();
        Ok(FuncPlan {
            start,
            end,
            start_pc: prog.pc(start),
            // the kernel's JIT rounds to 8 (`round_up(stack_depth, 8)`); kbpf's frames to 16
            stack_depth: if opts.kernel_image { depth.div_ceil(8) * 8 } else { depth.div_ceil(16) * 16 },
            uses_fp,
            callee_saved,
            out_stack_args: out,
            in_stack_args: inc,
            makes_calls,
            native_calls,
            needs_align: native_calls,
            may_goto,
            callees: Vec::new(),
        })
    }

    /// Rejects recursion and chains deeper than `MAX_CALL_FRAMES`, like the kernel verifier's
    /// `check_max_stack_depth` (the JITs rely on it instead of a run-time counter). The
    /// functions `engine` marks (callback drivers, the exception function) stand for the
    /// kernel's C code: they do not count, and the walk does not follow their calls.
    fn check_call_graph(&self, prog: &Program, engine: &[bool]) -> Result<(), JitError> {
        // Iterative DFS over (function, depth) with an on-path marker.
        let n = self.funcs.len();
        let mut on_path = vec![false; n];
        let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
        on_path[0] = true;
        // frames on the path that count
        let mut frames = 1;
        while let Some(&mut (f, ref mut next)) = stack.last_mut() {
            // a driver may call any callback of the program (it picks one by token at run
            // time), so its edges would make cycles of callbacks that run nested loops: the
            // verifier bounded those (it counts callback frames), and the walk stops there
            let leaf = engine.get(f).copied().unwrap_or(false);
            if !leaf && *next < self.funcs[f].callees.len() {
                let g = self.funcs[f].callees[*next];
                *next += 1;
                let call_pc = self.call_site(prog, f, g);
                if on_path[g] {
                    return Err(JitError::Recursion {
                        pc: call_pc,
                        caller: self.funcs[f].start_pc,
                        callee: self.funcs[g].start_pc,
                    });
                }
                let counts = !engine.get(g).copied().unwrap_or(false);
                if counts && frames + 1 > MAX_CALL_FRAMES {
                    return Err(JitError::CallDepth { pc: call_pc, frames: frames + 1 });
                }
                frames += usize::from(counts);
                on_path[g] = true;
                stack.push((g, 0));
            } else {
                on_path[f] = false;
                frames -= usize::from(!engine.get(f).copied().unwrap_or(false));
                stack.pop();
            }
        }
        Ok(())
    }

    fn call_site(&self, prog: &Program, from: usize, to: usize) -> usize {
        let f = &self.funcs[from];
        (f.start..f.end)
            .map(|i| prog.pc(i))
            .find(|&pc| prog.call_target(pc) == Some(self.funcs[to].start_pc))
            .unwrap_or(f.start_pc)
    }

    /// Index of the function containing instruction index `idx`.
    pub fn func_of(&self, idx: usize) -> usize {
        self.func_of.get(idx).copied().unwrap_or(0) as usize
    }

    /// Index of the function that starts at slot `pc`.
    pub fn func_starting_at(&self, pc: usize) -> Option<usize> {
        self.funcs.iter().position(|f| f.start_pc == pc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbpf_isa::{AluOp, Size, Width};

    fn mov(dst: Reg, imm: i32) -> Insn {
        Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src: Src::Imm(imm) }
    }

    #[test]
    fn splits_functions_and_infers_stack() {
        let p = Program::new(vec![
            Insn::Store { size: Size::DW, dst: Reg::R10, off: -24, src: Src::Imm(1) },
            Insn::Call(CallTarget::Local(1)),
            Insn::Exit,
            mov(Reg::R6, 1),
            mov(Reg::R0, 0),
            Insn::Exit,
        ])
        .unwrap();
        let plan = ProgramPlan::new(&p, &JitOptions::default()).unwrap();
        assert_eq!(plan.funcs.len(), 2);
        assert_eq!(plan.funcs[0].stack_depth, 32);
        assert!(plan.funcs[0].makes_calls);
        assert!(!plan.funcs[0].needs_align);
        assert_eq!(plan.funcs[0].callees, vec![1]);
        assert_eq!(plan.funcs[1].callee_saved, vec![Reg::R6]);
        assert_eq!(plan.funcs[1].stack_depth, 0);
        assert_eq!(plan.func_of(4), 1);
        let max = JitOptions { stack_depth: StackDepth::Max, ..Default::default() };
        assert_eq!(ProgramPlan::new(&p, &max).unwrap().funcs[0].stack_depth, 512);
    }

    #[test]
    fn escaping_fp_takes_the_whole_stack() {
        let p = Program::new(vec![
            Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R1, src: Src::Reg(Reg::R10) },
            Insn::Exit,
        ])
        .unwrap();
        assert_eq!(ProgramPlan::new(&p, &JitOptions::default()).unwrap().funcs[0].stack_depth, 512);
    }

    #[test]
    fn rejects_recursion_and_bad_stack() {
        let p = Program::new(vec![Insn::Call(CallTarget::Local(-1)), Insn::Exit]).unwrap();
        assert!(matches!(
            ProgramPlan::new(&p, &JitOptions::default()),
            Err(JitError::Recursion { pc: 0, .. })
        ));
        let p = Program::new(vec![
            Insn::Store { size: Size::DW, dst: Reg::R10, off: -4, src: Src::Imm(1) },
            Insn::Exit,
        ])
        .unwrap();
        assert!(matches!(
            ProgramPlan::new(&p, &JitOptions::default()),
            Err(JitError::StackOutOfBounds { pc: 0, .. })
        ));
    }

    #[test]
    fn rejects_deep_chains() {
        // main -> f1 -> ... -> f8: nine frames.
        let mut v = Vec::new();
        for _ in 0..9 {
            v.push(Insn::Call(CallTarget::Local(1)));
            v.push(Insn::Exit);
        }
        v.push(mov(Reg::R0, 0));
        v.push(Insn::Exit);
        let p = Program::new(v).unwrap();
        assert!(matches!(ProgramPlan::new(&p, &JitOptions::default()), Err(JitError::CallDepth { .. })));
    }

    #[test]
    fn verifier_depths_cover_the_callbacks_inside_a_function() {
        // main calls f, f loads callback cb: the verifier has three subprograms,
        // the JIT two (cb's code stays in f's body)
        let p = Program::new(vec![
            Insn::Call(CallTarget::Local(3)),
            mov(Reg::R0, 0),
            Insn::Exit,
            Insn::Exit,
            Insn::LdImm64 { dst: Reg::R2, src: LdImm64Src::Func, imm: 1, imm_hi: 0 },
            Insn::Exit,
            mov(Reg::R0, 0),
            Insn::Exit,
        ])
        .unwrap();
        assert_eq!(verifier_frames(&p, &[8, 16, 40]), Some(vec![8, 40]));
        assert_eq!(verifier_frames(&p, &[8, 16]), None);
        let plan = ProgramPlan::new(
            &p,
            &JitOptions { stack_depth: StackDepth::Verifier(vec![8, 40]), ..Default::default() },
        )
        .unwrap();
        assert_eq!(plan.funcs.iter().map(|f| f.stack_depth).collect::<Vec<_>>(), vec![16, 48]);
    }
}
