//! One program through the harness: verify it, recording what the walk proved at each
//! instruction ([`kbpf_verifier::proven`]); if accepted, run it on the checked interpreter over
//! random contexts, comparing the registers each instruction reads with the record. A value
//! outside it is a candidate, confirmed or dismissed by a walk along the run's own path
//! ([`crate::path`]). A memory fault of an accepted program, or a value outside what the walk
//! along its path says, is a soundness violation.

use kbpf_interp::{InterpError, Observer, Step, Vm, VmOptions};
use kbpf_isa::{Insn, Program};
use kbpf_kfunc::Registry;
use kbpf_verifier::proven::{Proven, Recording, RegFact, RegProof, verify_recording};
use kbpf_verifier::state::RegType;
use kbpf_verifier::{
    KfuncArg, KfuncArgKind, KfuncDecl, KfuncRet, KfuncTable, KfuncTraits, ProgType, VerifyOptions,
};

use std::sync::OnceLock;
use std::time::Instant;

use crate::generate::Choices;
use crate::path::{TraceStep, unroll};

/// Bytes of context each run gets (the generator reads below 256).
pub const CTX_BYTES: usize = 4096;
/// Instructions one run may execute (`may_goto` loops stop earlier on their own only after
/// millions of iterations; a run that runs out is counted, not a violation).
pub const RUN_BUDGET: u64 = 20_000;

/// Runs of one program that may hit [`RUN_BUDGET`] before the others are skipped.
pub const BUDGET_RUNS: u64 = 3;

/// Processed-instruction cap of the pruning walk that gives the verdict: the generated
/// programs kbpf accepts process under a thousand; past the cap (a loop that would run into
/// the kernel's 1M limit, seconds of walking) the program is counted as capped, not checked.
pub const WALK_INSNS: u64 = 20_000;

/// Processed-instruction cap of the walk along one run's path (it processes about the run's
/// length, at most [`RUN_BUDGET`] steps and their dead ends, times the forks the verifier makes
/// itself: `maybe_fork_scalars` walks the rest of the path twice, and that walk must not prune,
/// or the second state would never be recorded).
pub const PATH_INSNS: u64 = 200_000;

/// What a violation is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViolationKind {
    /// The interpreter refused a memory access of an accepted program.
    OutOfBounds,
    /// A register held a value outside what the verifier recorded there.
    OutsideBounds,
    /// The interpreter failed otherwise (an accepted program must run to `exit`).
    Trap,
}

/// A soundness violation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// What.
    pub kind: ViolationKind,
    /// Slot index.
    pub pc: usize,
    /// Human-readable detail (register, value, the recorded facts).
    pub detail: String,
}

/// The harness's answer for one program.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// kbpf accepted it.
    pub accepted: bool,
    /// The pruning walk went past [`WALK_INSNS`]: no verdict, nothing checked.
    pub capped: bool,
    /// Every run's values were checked (a candidate of every run confirmed on its path).
    pub values_checked: bool,
    /// A value fell outside the pruning walk's record in some run.
    pub rechecked: bool,
    /// Runs walked along their path to confirm a candidate.
    pub path_walks: u64,
    /// Of those, runs whose path walk could not be made or refused the path (memory checks
    /// only for them).
    pub unconfirmed: u64,
    /// Runs made.
    pub runs: u64,
    /// Runs that hit [`RUN_BUDGET`].
    pub budget_runs: u64,
    /// Register observations compared with a record.
    pub observations: u64,
    /// The first violation.
    pub violation: Option<Violation>,
    /// Why the first unconfirmed run was not confirmed.
    pub unconfirmed_why: Option<String>,
    /// Time in the pruning walk, the confirming walks and the runs.
    pub time: Phases,
}

/// Where one program's time went.
#[derive(Clone, Copy, Debug, Default)]
pub struct Phases {
    /// The pruning walk (verdict and first record).
    pub walk: std::time::Duration,
    /// The confirming walks along the runs' paths.
    pub confirm: std::time::Duration,
    /// The interpreter runs.
    pub runs: std::time::Duration,
}

/// The verifier options the harness uses.
pub fn options() -> VerifyOptions {
    VerifyOptions { prog_type: ProgType::Syscall, nr_cpus: 4, ..VerifyOptions::default() }
}

/// [`options`] with what `prog` declares beyond its instructions: its functions' argument
/// counts when it passes stack arguments ([`crate::funcs`]) and the map it addresses
/// ([`crate::maps`]).
pub fn options_for(prog: &Program) -> VerifyOptions {
    VerifyOptions { funcs: crate::funcs::declared(prog), maps: crate::maps::defs(prog), ..options() }
}

/// The helpers the generated programs call (`bpf_get_prandom_u32`, `bpf_get_smp_processor_id`).
pub fn registry() -> Registry {
    kbpf_kfunc::profiles::kernel()
}

/// Verifies `insns` and, if accepted, runs it `runs` times (contexts from `seed`).
///
/// The verdict and the first record come from one ordinary (pruning) walk; the runs check the
/// registers each instruction reads against it. A pruned path carries its imprecise registers
/// past the prune point, where the record never saw them, so a value outside that record is
/// only a candidate: the run's path is then walked alone ([`crate::path`]) and every register
/// of every step of the run checked against that walk's record; only a value outside it, or a
/// step the walk never reached, is a violation.
pub fn check(insns: &[Insn], runs: u64, seed: u64, reg: &Registry) -> Report {
    check_budget(insns, runs, seed, reg, RUN_BUDGET)
}

/// [`check`] with runs of at most `run_budget` instructions (the fuzz target's are shorter: a
/// run's path walk costs about its length, and a unit must stay far under libFuzzer's timeout
/// under the address sanitizer).
pub fn check_budget(insns: &[Insn], runs: u64, seed: u64, reg: &Registry, run_budget: u64) -> Report {
    let mut report = Report::default();
    let Ok(prog) = Program::new(insns.to_vec()) else { return report };
    let slots = prog.to_slots();
    let opts = options_for(&prog);
    let t = Instant::now();
    let (out, proven) =
        verify_recording(&slots, &opts, Recording { no_prune: false, max_insns: Some(WALK_INSNS) });
    report.time.walk = t.elapsed();
    if !out.accepted {
        report.capped = out.stats.processed_insns > WALK_INSNS;
        return report;
    }
    report.accepted = true;
    report.values_checked = true;
    let vm_opts = VmOptions { insn_budget: run_budget, ..VmOptions::default() };
    // the map's value lives here for every run; the program runs with its address bound in
    let mut value = vec![0u8; crate::maps::MAP_VALUE_BYTES as usize];
    let map_addr = value.as_ptr() as u64;
    let bound =
        if opts.maps.is_empty() { None } else { Program::new(crate::maps::bind(insns, map_addr)).ok() };
    let Ok(vm) = Vm::new(bound.as_ref().unwrap_or(&prog), reg, vm_opts) else {
        report.violation =
            Some(Violation { kind: ViolationKind::Trap, pc: 0, detail: "the interpreter refused it".into() });
        return report;
    };
    let reads = reads(&prog);
    let table = Table::new(&proven, Some(&reads));
    let mut c = Choices::seeded(seed);
    let mut ctx = vec![0u8; CTX_BYTES];
    let mut input = vec![0u8; CTX_BYTES];
    let mut trace = Vec::new();
    let mut budget_runs = 0;
    let t = Instant::now();
    for _ in 0..runs {
        fill_ctx(&mut c, &mut input);
        ctx.copy_from_slice(&input);
        fill_ctx(&mut c, &mut value);
        trace.clear();
        let mut obs = Checker {
            table: &table,
            ctx: ctx.as_ptr() as u64,
            map: map_addr,
            seen: 0,
            first: None,
            trace,
            stack_base: 0,
        };
        let res = vm.run_observed(&mut ctx, &mut [&mut value[..]], None, &mut obs);
        report.runs += 1;
        report.observations += obs.seen;
        let ctx_addr = obs.ctx;
        let stack_base = obs.stack_base;
        trace = obs.trace;
        if obs.first.is_some() {
            report.rechecked = true;
            report.path_walks += 1;
            let tc = Instant::now();
            let confirmed = confirm(&prog, &trace, Bases { ctx: ctx_addr, stack: stack_base, map: map_addr });
            report.time.confirm += tc.elapsed();
            match confirmed {
                Ok((seen, None)) => report.observations += seen,
                Ok((_, Some(v))) => {
                    report.violation = Some(v);
                    return report;
                }
                Err(why) => {
                    report.unconfirmed += 1;
                    report.values_checked = false;
                    report.unconfirmed_why.get_or_insert(why);
                }
            }
        }
        match res {
            Ok(_) => {}
            Err(InterpError::BudgetExhausted { .. }) => {
                report.budget_runs += 1;
                budget_runs += 1;
                // a loop that outlives the budget does so on most contexts: a few runs suffice
                if budget_runs >= BUDGET_RUNS {
                    break;
                }
            }
            Err(e @ InterpError::MemoryAccess { .. }) => {
                report.violation =
                    Some(Violation { kind: ViolationKind::OutOfBounds, pc: e.pc(), detail: e.to_string() });
                return report;
            }
            Err(e) => {
                report.violation =
                    Some(Violation { kind: ViolationKind::Trap, pc: e.pc(), detail: e.to_string() });
                return report;
            }
        }
    }
    report.time.runs = t.elapsed().saturating_sub(report.time.confirm);
    report
}

/// The options of the walk along a run's path ([`options`] with `bpf_throw` as the only
/// kfunc), and `bpf_throw`'s BTF id.
fn path_options() -> &'static (VerifyOptions, i32) {
    static OPTS: OnceLock<(VerifyOptions, i32)> = OnceLock::new();
    OPTS.get_or_init(|| {
        // an id no kernel function has here: the table the generated programs see has none
        let throw = 1 << 30;
        let decl = KfuncDecl {
            btf_id: throw,
            name: "bpf_throw".into(),
            args: vec![KfuncArg { name: "cookie".into(), kind: KfuncArgKind::Scalar, nullable: false }],
            ret: KfuncRet::Void,
            ret_null: false,
            iter: None,
            prog_types: None,
            traits: KfuncTraits::default(),
            unmodelled: None,
        };
        (VerifyOptions { kfuncs: KfuncTable::new(vec![decl]), ..options() }, throw)
    })
}

/// Walks the path of one run (`trace`) and checks every register of every step against that
/// walk's record: the observations made, and the first violation. `Err` when the path walk
/// cannot be made or refuses the path.
fn confirm(prog: &Program, trace: &[TraceStep], bases: Bases) -> Result<(u64, Option<Violation>), String> {
    let (opts, throw) = path_options();
    let u = unroll(prog, trace, *throw)?;
    let path = Program::new(u.insns).map_err(|e| format!("the unrolled path does not decode: {e}"))?;
    // the copies of a callee that takes stack arguments are declared like the callee
    let (funcs, maps) = (crate::funcs::declared(&path), crate::maps::defs(&path));
    let with_decls;
    let opts = if funcs.is_empty() && maps.is_empty() {
        opts
    } else {
        with_decls = VerifyOptions { funcs, maps, ..opts.clone() };
        &with_decls
    };
    let (out, proven) =
        verify_recording(&path.to_slots(), opts, Recording { no_prune: true, max_insns: Some(PATH_INSNS) });
    if !out.accepted {
        let why = out.error.map_or_else(|| "rejected".to_string(), |e| e.to_string());
        return Err(format!("the path walk refused the run's path of {} steps: {why}", trace.len()));
    }
    let table = Table::new(&proven, None);
    let mut seen = 0;
    for (k, (s, &at)) in trace.iter().zip(&u.at).enumerate() {
        let at = at as usize;
        if proven.insns.get(at).is_none_or(Option::is_none) {
            let detail = format!("step {k} (insn {}): the verifier never reached it on the run's path", s.pc);
            return Ok((
                seen,
                Some(Violation { kind: ViolationKind::OutsideBounds, pc: s.pc as usize, detail }),
            ));
        }
        let checks = table.at(at);
        seen += checks.len() as u64;
        if let Err(v) = check_regs(checks, &s.regs, s.pc as usize, bases) {
            return Ok((
                seen,
                Some(Violation { detail: format!("{} (step {k} of the run, on its path)", v.detail), ..v }),
            ));
        }
    }
    Ok((seen, None))
}

/// Per slot, the registers the instruction reads: against the pruning walk's record only
/// those are checked, so a dead register a pruned path carries is no candidate (a register that
/// matters is checked where it is read).
fn reads(prog: &Program) -> Vec<u16> {
    let mut out = Vec::new();
    for insn in prog.insns() {
        // a call's arguments are checked where the callee reads them (helpers: memory checks),
        // r0 at `exit` where the caller reads it
        let uses = match insn {
            Insn::Call(_) | Insn::Exit => 0,
            _ => kbpf_passes::liveness::use_def(insn, &|_| None, &|_| None).uses,
        };
        out.push(uses);
        out.resize(out.len() + insn.slots() - 1, 0);
    }
    out
}

/// Edge values in the 256 bytes the programs read (all of a shorter buffer: the map value);
/// the rest stays zero.
fn fill_ctx(c: &mut Choices<'_>, ctx: &mut [u8]) {
    let n = ctx.len().min(256);
    for chunk in ctx[..n].chunks_mut(8) {
        let v = if c.chance(30) { c.bits() } else { c.value() };
        chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
    }
}

/// Where a checked register's variable part is measured from.
#[derive(Clone, Copy)]
enum Base {
    Scalar,
    /// A stack pointer into frame `frameno`.
    Stack(u32),
    Ctx,
    /// A pointer into the map's value.
    MapValue,
}

/// The addresses a run's pointers are measured from: the context, the stack area (frame 0's
/// bottom), the map value.
#[derive(Clone, Copy)]
struct Bases {
    ctx: u64,
    stack: u64,
    map: u64,
}

/// One register the record says something about at one instruction.
#[derive(Clone, Copy)]
struct RegCheck {
    reg: u8,
    base: Base,
    proof: RegProof,
}

/// The record flattened for the runs: per slot, the registers to check (those of a type whose
/// value the harness can place: scalars, stack and context pointers, and of those only the
/// ones in the slot's mask), nothing else.
struct Table {
    checks: Vec<RegCheck>,
    /// `checks[start[pc]..start[pc + 1]]` are the checks of slot `pc`.
    start: Vec<u32>,
}

impl Table {
    /// `mask[pc]`: the registers to check at slot `pc` (all where `mask` is `None`).
    fn new(p: &Proven, mask: Option<&[u16]>) -> Table {
        let mut t = Table { checks: Vec::new(), start: Vec::with_capacity(p.insns.len() + 1) };
        for (pc, facts) in p.insns.iter().enumerate() {
            t.start.push(t.checks.len() as u32);
            let Some(facts) = facts else { continue };
            let m = mask.map_or(u16::MAX, |m| m.get(pc).copied().unwrap_or(0));
            for (r, f) in facts.regs.iter().enumerate() {
                let RegFact::Known(proof) = *f else { continue };
                if m & (1 << r) == 0 {
                    continue;
                }
                let base = match proof.ty {
                    RegType::Scalar => Base::Scalar,
                    RegType::Stack => Base::Stack(proof.frameno),
                    RegType::Ctx => Base::Ctx,
                    RegType::MapValue => Base::MapValue,
                    _ => continue,
                };
                t.checks.push(RegCheck { reg: r as u8, base, proof });
            }
        }
        t.start.push(t.checks.len() as u32);
        t
    }

    fn at(&self, pc: usize) -> &[RegCheck] {
        match (self.start.get(pc), self.start.get(pc + 1)) {
            (Some(&a), Some(&b)) => &self.checks[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// Checks each step's registers against the pruning walk's record (until the first
/// candidate) and keeps the trace for a walk along the run's path.
struct Checker<'p> {
    table: &'p Table,
    ctx: u64,
    map: u64,
    seen: u64,
    first: Option<Violation>,
    trace: Vec<TraceStep>,
    stack_base: u64,
}

/// Whether `v` is a member of what `p` says about a scalar (or a pointer's variable part).
fn holds(p: &RegProof, v: u64) -> Result<(), String> {
    let b = &p.b64;
    let w = v as u32;
    let b32 = &p.b32;
    let ok64 = v >= b.umin && v <= b.umax && (v as i64) >= b.smin && (v as i64) <= b.smax;
    let ok32 = w >= b32.umin && w <= b32.umax && (w as i32) >= b32.smin && (w as i32) <= b32.smax;
    let okt = p.var_off.has(v);
    if ok64 && ok32 && okt {
        return Ok(());
    }
    Err(format!(
        "value {v:#x} outside u64=[{:#x},{:#x}] s64=[{},{}] u32=[{:#x},{:#x}] s32=[{},{}] var_off=({:#x}; {:#x})",
        b.umin,
        b.umax,
        b.smin,
        b.smax,
        b32.umin,
        b32.umax,
        b32.smin,
        b32.smax,
        p.var_off.value,
        p.var_off.mask
    ))
}

/// The first register of `checks` whose value `regs` contradicts.
fn check_regs(checks: &[RegCheck], regs: &[u64; 11], pc: usize, bases: Bases) -> Result<(), Violation> {
    let Bases { ctx, stack: stack_base, map } = bases;
    for c in checks {
        let v = regs[c.reg as usize];
        // pointers: the variable part is what the tnum and ranges describe
        let var = match c.base {
            Base::Scalar => v,
            Base::Stack(frameno) => v
                .wrapping_sub(stack_base + (frameno as u64 + 1) * 512)
                .wrapping_sub(c.proof.off as i64 as u64),
            Base::Ctx => v.wrapping_sub(ctx).wrapping_sub(c.proof.off as i64 as u64),
            Base::MapValue => v.wrapping_sub(map).wrapping_sub(c.proof.off as i64 as u64),
        };
        if let Err(e) = holds(&c.proof, var) {
            let what = if matches!(c.base, Base::Scalar) { "" } else { " (pointer's variable offset)" };
            return Err(Violation {
                kind: ViolationKind::OutsideBounds,
                pc,
                detail: format!("r{}{what} before insn {pc}: {e}", c.reg),
            });
        }
    }
    Ok(())
}

impl Observer for Checker<'_> {
    fn before(&mut self, step: &Step<'_>) {
        self.stack_base = step.stack_base;
        self.trace.push(TraceStep { pc: step.pc as u32, depth: step.depth as u32, regs: *step.regs });
        if self.first.is_some() {
            return;
        }
        let checks = self.table.at(step.pc);
        self.seen += checks.len() as u64;
        let bases = Bases { ctx: self.ctx, stack: step.stack_base, map: self.map };
        if let Err(v) = check_regs(checks, step.regs, step.pc, bases) {
            self.first = Some(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbpf_isa::{AluOp, Reg, Src, Width};
    use kbpf_verifier::proven::InsnProof;
    use kbpf_verifier::tnum::Tnum;
    use kbpf_verifier::width::Bounds;

    /// A record claiming r0 is in [0, 3] before `exit`: a run with r0 = 5 breaks it.
    #[test]
    fn a_value_outside_the_record_is_reported() {
        let insns =
            vec![Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Src::Imm(5) }, Insn::Exit];
        let prog = Program::new(insns).unwrap();
        let reg = registry();
        let vm = Vm::new(&prog, &reg, VmOptions::default()).unwrap();
        let proof = RegProof {
            ty: RegType::Scalar,
            frameno: 0,
            off: 0,
            var_off: Tnum::new(0, 3),
            b64: Bounds { smin: 0, smax: 3, umin: 0, umax: 3 },
            b32: Bounds { smin: 0, smax: 3, umin: 0, umax: 3 },
        };
        let mut regs = [RegFact::Uninit; 11];
        regs[0] = RegFact::Known(proof);
        let proven = Proven { insns: vec![None, Some(InsnProof { regs, frame: Some(0), states: 1 })] };
        let table = Table::new(&proven, None);
        let mut ctx = vec![0u8; 64];
        let mut obs = Checker {
            table: &table,
            ctx: ctx.as_ptr() as u64,
            map: 0,
            seen: 0,
            first: None,
            trace: Vec::new(),
            stack_base: 0,
        };
        vm.run_observed(&mut ctx, &mut [], None, &mut obs).unwrap();
        let v = obs.first.expect("r0 = 5 is outside [0, 3]");
        assert_eq!((v.kind, v.pc), (ViolationKind::OutsideBounds, 1));
        assert!(v.detail.starts_with("r0 before insn 1: value 0x5 outside"), "{}", v.detail);
        assert_eq!(obs.seen, 1);
    }

    /// A run whose r0 differs from what the walk along its path says is a violation there.
    #[test]
    fn a_run_outside_its_path_walk_is_reported() {
        let mov = |imm| Insn::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Src::Imm(imm) };
        let prog = Program::new(vec![mov(5), Insn::Exit]).unwrap();
        // r1 the context at 0, r10 the top of frame 0 with the stack at 0
        let mut regs = [0u64; 11];
        regs[10] = 512;
        let first = TraceStep { pc: 0, depth: 0, regs };
        regs[0] = 5;
        let ok = [first, TraceStep { pc: 1, depth: 0, regs }];
        assert!(confirm(&prog, &ok, Bases { ctx: 0, stack: 0, map: 0 }).unwrap().1.is_none());
        regs[0] = 7;
        let bad = [first, TraceStep { pc: 1, depth: 0, regs }];
        let v = confirm(&prog, &bad, Bases { ctx: 0, stack: 0, map: 0 })
            .unwrap()
            .1
            .expect("r0 = 7 is not what the path gives");
        assert_eq!((v.kind, v.pc), (ViolationKind::OutsideBounds, 1));
        assert!(v.detail.contains("step 1 of the run, on its path"), "{}", v.detail);
    }
}
