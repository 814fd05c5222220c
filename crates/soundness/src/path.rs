//! Confirming a candidate on the run's own path.
//!
//! A value outside the pruning walk's record may be a pruned path's imprecise register, so it
//! is only a candidate. The run is then replayed through the verifier along exactly the path it
//! took: [`unroll`] turns the run's trace into a program without loops, every conditional jump
//! kept (so the verifier refines on it as on the original) with the direction the run did not
//! take leading to a two-instruction dead end, and every call into a fresh copy of the callee's
//! path. Walking it gives, before each step, the verifier's state for that path alone, which a
//! sound verifier makes contain the run's values; that is at least as strict as the union over a
//! walk without pruning (which contains every path's state) and costs one walk of the run's
//! length instead of one exponential in its branches.

use kbpf_isa::{CallTarget, Insn, JmpCond, Program, Reg, Src, Width};

/// One step of a run: the instruction about to run and the registers before it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TraceStep {
    /// Slot of the instruction.
    pub pc: u32,
    /// bpf-to-bpf call depth.
    pub depth: u32,
    /// r0..r10.
    pub regs: [u64; 11],
}

/// The program of one path, and where each step of the trace is in it.
#[derive(Debug)]
pub(crate) struct Unrolled {
    /// The instructions.
    pub insns: Vec<Insn>,
    /// `at[k]`: the slot whose recorded state is the one before step `k`.
    pub at: Vec<u32>,
}

/// bpf-to-bpf call copies an unrolled path may have (the kernel's subprogram limit is 256).
const MAX_BODIES: usize = 200;

/// One function body of the unrolled program (the main one, or one call's copy of the callee).
#[derive(Default)]
struct Body {
    insns: Vec<Insn>,
    slots: usize,
    /// (slot of the call in this body, body called).
    calls: Vec<(usize, usize)>,
}

impl Body {
    fn push(&mut self, insn: Insn) {
        self.slots += insn.slots();
        self.insns.push(insn);
    }

    /// Where the direction the run did not take leads, and how a cut trace ends: `r0 = 0;
    /// exit` in the main function; in a callee `r1 = 0; call bpf_throw`, which ends the walk's
    /// path there (an `exit` would return into the caller's path, and its state there could
    /// prune the run's own).
    fn dead_end(&mut self, throw: Option<i32>) {
        let mov = |dst| Insn::Alu { width: Width::W64, op: kbpf_isa::AluOp::Mov, dst, src: Src::Imm(0) };
        match throw {
            None => {
                self.push(mov(Reg::R0));
                self.push(Insn::Exit);
            }
            Some(btf_id) => {
                self.push(mov(Reg::R1));
                self.push(Insn::Call(CallTarget::Kfunc { btf_id, off: 0 }));
            }
        }
    }
}

/// The program that runs exactly `trace`'s path of `prog` (a trace cut by the run's budget ends
/// each open function in a dead end); `throw` is `bpf_throw`'s BTF id. `Err` for what it cannot
/// express (a trace that does not follow the program, indirect calls, too many calls).
pub(crate) fn unroll(prog: &Program, trace: &[TraceStep], throw: i32) -> Result<Unrolled, String> {
    let mut bodies = vec![Body::default()];
    let mut open = vec![0usize];
    // (body, slot in it) of each step; made absolute once the bodies are laid out
    let mut at = Vec::with_capacity(trace.len());
    for (k, s) in trace.iter().enumerate() {
        let pc = s.pc as usize;
        let insn = *prog.at(pc).ok_or_else(|| format!("step {k}: no instruction at {pc}"))?;
        let (Some(&b), true) = (open.last(), open.len() == s.depth as usize + 1) else {
            return Err(format!("step {k}: depth {} does not follow the calls", s.depth));
        };
        at.push((b, bodies[b].slots));
        let dead = (b > 0).then_some(throw);
        let next = trace.get(k + 1);
        let target = prog.branch_target(pc);
        let goes_to = |t: Option<usize>| next.is_some_and(|n| Some(n.pc as usize) == t && n.depth == s.depth);
        match insn {
            // the registers before the next instruction are the same (`may_goto` refines
            // nothing either way; kept, it would be a checkpoint each loop iteration)
            Insn::Ja { .. } | Insn::Gotol { .. } | Insn::MayGoto { .. } => {}
            Insn::Jmp { width, cond, dst, src, .. } => {
                if next.is_none() || target == Some(pc + 1) {
                    continue;
                }
                let jmp = |cond, off| Insn::Jmp { width, cond, dst, src, off };
                let body = &mut bodies[b];
                // the path goes on at the jump's target: the walk takes the dead end first and
                // the pending path next, so pending paths do not pile up
                match (goes_to(target), cond.negate()) {
                    (true, _) => body.push(jmp(cond, 2)),
                    (false, Some(inv)) => body.push(jmp(inv, 2)),
                    (false, None) => {
                        // `jset` has no negation: the dead end is the target
                        body.push(jmp(JmpCond::Set, 1));
                        body.push(Insn::Ja { off: 2 });
                    }
                }
                body.dead_end(dead);
            }
            Insn::Call(CallTarget::Local(_)) => {
                if next.is_none() {
                    continue;
                }
                if bodies.len() >= MAX_BODIES {
                    return Err(format!("more than {MAX_BODIES} calls"));
                }
                let c = bodies.len();
                let slot = bodies[b].slots;
                bodies[b].calls.push((slot, c));
                bodies[b].push(insn);
                bodies.push(Body::default());
                open.push(c);
            }
            Insn::Exit => {
                bodies[b].push(insn);
                open.pop();
            }
            Insn::Callx { .. } | Insn::Call(CallTarget::Kfunc { .. }) => {
                return Err(format!("step {k}: {insn:?} is not unrolled"));
            }
            // a tail call leaves the program
            Insn::Call(CallTarget::Helper(12)) => return Err(format!("step {k}: tail call")),
            _ => bodies[b].push(insn),
        }
    }
    // a trace cut by the budget: every open function ends where the trace does
    while let Some(b) = open.pop() {
        bodies[b].dead_end((b > 0).then_some(throw));
    }
    let mut start = Vec::with_capacity(bodies.len());
    let mut total = 0;
    for body in &bodies {
        start.push(total);
        total += body.slots;
    }
    let mut insns = Vec::with_capacity(bodies.iter().map(|b| b.insns.len()).sum());
    for (i, body) in bodies.iter().enumerate() {
        let mut slot = start[i];
        let mut calls = body.calls.iter().peekable();
        for insn in &body.insns {
            let insn = match calls.peek() {
                Some(&&(s, c)) if start[i] + s == slot => {
                    calls.next();
                    Insn::Call(CallTarget::Local((start[c] as i64 - slot as i64 - 1) as i32))
                }
                _ => *insn,
            };
            slot += insn.slots();
            insns.push(insn);
        }
    }
    let at = at.into_iter().map(|(b, s)| (start[b] + s) as u32).collect();
    Ok(Unrolled { insns, at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbpf_isa::AluOp;

    fn step(pc: u32, depth: u32) -> TraceStep {
        TraceStep { pc, depth, regs: [0; 11] }
    }

    /// A loop run twice, a call and a jump not taken: straight code with dead ends.
    #[test]
    fn unrolls_loops_calls_and_both_directions() {
        let mov = |dst, imm| Insn::Alu { width: Width::W64, op: AluOp::Mov, dst, src: Src::Imm(imm) };
        let add = Insn::Alu { width: Width::W64, op: AluOp::Add, dst: Reg::R9, src: Src::Imm(1) };
        let insns = vec![
            mov(Reg::R9, 0), // 0
            add,             // 1
            Insn::Jmp { width: Width::W64, cond: JmpCond::Lt, dst: Reg::R9, src: Src::Imm(2), off: -2 }, // 2
            Insn::Call(CallTarget::Local(2)), // 3
            mov(Reg::R0, 0), // 4
            Insn::Exit,      // 5
            Insn::Jmp { width: Width::W64, cond: JmpCond::Set, dst: Reg::R1, src: Src::Imm(1), off: 1 }, // 6
            mov(Reg::R0, 1), // 7
            Insn::Exit,      // 8
        ];
        let prog = Program::new(insns).unwrap();
        let trace: Vec<TraceStep> =
            [(0, 0), (1, 0), (2, 0), (1, 0), (2, 0), (3, 0), (6, 1), (7, 1), (8, 1), (4, 0), (5, 0)]
                .iter()
                .map(|&(p, d)| step(p, d))
                .collect();
        let u = unroll(&prog, &trace, 99).unwrap();
        let text = kbpf_isa::disasm::disassemble(
            &Program::new(u.insns.clone()).unwrap(),
            kbpf_isa::disasm::Syntax::Kernel,
        );
        let jlt = Insn::Jmp { width: Width::W64, cond: JmpCond::Lt, dst: Reg::R9, src: Src::Imm(2), off: 2 };
        let jge = Insn::Jmp { width: Width::W64, cond: JmpCond::Ge, dst: Reg::R9, src: Src::Imm(2), off: 2 };
        let jset =
            Insn::Jmp { width: Width::W64, cond: JmpCond::Set, dst: Reg::R1, src: Src::Imm(1), off: 1 };
        let want = vec![
            mov(Reg::R9, 0),
            add,
            jlt,
            mov(Reg::R0, 0),
            Insn::Exit,
            add,
            jge,
            mov(Reg::R0, 0),
            Insn::Exit,
            Insn::Call(CallTarget::Local(2)),
            mov(Reg::R0, 0),
            Insn::Exit,
            jset,
            Insn::Ja { off: 2 },
            mov(Reg::R1, 0),
            Insn::Call(CallTarget::Kfunc { btf_id: 99, off: 0 }),
            mov(Reg::R0, 1),
            Insn::Exit,
        ];
        assert_eq!(u.insns, want, "{text}");
        assert_eq!(u.at, vec![0, 1, 2, 5, 6, 9, 12, 16, 17, 10, 11]);
    }

    /// A trace cut inside the callee closes both functions.
    #[test]
    fn a_cut_trace_closes_every_function() {
        let insns = vec![Insn::Call(CallTarget::Local(1)), Insn::Exit, Insn::Ja { off: -1 }];
        let prog = Program::new(insns).unwrap();
        let u = unroll(&prog, &[step(0, 0), step(2, 1), step(2, 1)], 99).unwrap();
        assert_eq!(u.insns.len(), 5);
        assert_eq!(u.insns[4], Insn::Call(CallTarget::Kfunc { btf_id: 99, off: 0 }));
        assert_eq!(u.at, vec![0, 3, 3]);
    }
}
