//! One program through the harness: verify it; if accepted, walk it again without pruning,
//! recording what was proved at each instruction ([`kbpf_verifier::proven`]); run it on the
//! checked interpreter over random contexts, comparing every register before every
//! instruction with the record. A memory fault of an accepted program, or a value outside the
//! recorded union, is a soundness violation.

use kbpf_interp::{InterpError, Observer, Step, Vm, VmOptions};
use kbpf_isa::{Insn, Program};
use kbpf_kfunc::Registry;
use kbpf_verifier::proven::{Proven, Recording, RegFact, RegProof, verify_recording};
use kbpf_verifier::state::RegType;
use kbpf_verifier::{ProgType, VerifyOptions};

use crate::generate::Choices;

/// Bytes of context each run gets (the generator reads below 256).
pub const CTX_BYTES: usize = 4096;
/// Instructions one run may execute (`may_goto` loops stop earlier on their own only after
/// millions of iterations; a run that runs out is counted, not a violation).
pub const RUN_BUDGET: u64 = 20_000;

/// Processed-instruction cap of the recording walk (without pruning); a program beyond it
/// gets memory checks only.
pub const RECORD_INSNS: u64 = 50_000;

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
    /// The no-prune walk accepted it too, so values were checked (not only memory).
    pub values_checked: bool,
    /// Runs made.
    pub runs: u64,
    /// Runs that hit [`RUN_BUDGET`].
    pub budget_runs: u64,
    /// Register observations compared with the record.
    pub observations: u64,
    /// The first violation.
    pub violation: Option<Violation>,
}

/// The verifier options the harness uses.
pub fn options() -> VerifyOptions {
    VerifyOptions { prog_type: ProgType::Syscall, nr_cpus: 4, ..VerifyOptions::default() }
}

/// The helpers the generated programs call (`bpf_get_prandom_u32`, `bpf_get_smp_processor_id`).
pub fn registry() -> Registry {
    kbpf_kfunc::profiles::kernel()
}

/// Verifies `insns` and, if accepted, runs it `runs` times (contexts from `seed`).
pub fn check(insns: &[Insn], runs: u64, seed: u64, reg: &Registry) -> Report {
    let mut report = Report::default();
    let Ok(prog) = Program::new(insns.to_vec()) else { return report };
    let slots = prog.to_slots();
    let opts = options();
    let out = kbpf_verifier::verify(&slots, &opts);
    if !out.accepted {
        return report;
    }
    report.accepted = true;
    let (rec, proven) =
        verify_recording(&slots, &opts, Recording { no_prune: true, max_insns: Some(RECORD_INSNS) });
    report.values_checked = rec.accepted;
    let proven = if rec.accepted { proven } else { Proven::default() };
    let vm_opts = VmOptions { insn_budget: RUN_BUDGET, ..VmOptions::default() };
    let Ok(vm) = Vm::new(&prog, reg, vm_opts) else {
        report.violation =
            Some(Violation { kind: ViolationKind::Trap, pc: 0, detail: "the interpreter refused it".into() });
        return report;
    };
    let mut c = Choices::seeded(seed);
    let mut ctx = vec![0u8; CTX_BYTES];
    for _ in 0..runs {
        fill_ctx(&mut c, &mut ctx);
        let mut obs = Checker { proven: &proven, ctx: ctx.as_ptr() as u64, seen: 0, first: None };
        let res = vm.run_observed(&mut ctx, &mut [], None, &mut obs);
        report.runs += 1;
        report.observations += obs.seen;
        if let Some(v) = obs.first {
            report.violation = Some(v);
            return report;
        }
        match res {
            Ok(_) => {}
            Err(InterpError::BudgetExhausted { .. }) => report.budget_runs += 1,
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
    report
}

/// Edge values in the 256 bytes the programs read; the rest stays zero.
fn fill_ctx(c: &mut Choices<'_>, ctx: &mut [u8]) {
    for chunk in ctx[..256].chunks_mut(8) {
        let v = if c.chance(30) { c.bits() } else { c.value() };
        chunk.copy_from_slice(&v.to_le_bytes()[..chunk.len()]);
    }
}

struct Checker<'p> {
    proven: &'p Proven,
    ctx: u64,
    seen: u64,
    first: Option<Violation>,
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

impl Observer for Checker<'_> {
    fn before(&mut self, step: &Step<'_>) {
        if self.first.is_some() {
            return;
        }
        let Some(Some(facts)) = self.proven.insns.get(step.pc) else { return };
        for (r, f) in facts.regs.iter().enumerate() {
            let RegFact::Known(p) = f else { continue };
            let v = step.regs[r];
            // pointers: the variable part is what the tnum and ranges describe
            let base = match p.ty {
                RegType::Scalar => Some(0u64),
                RegType::Stack => Some(step.stack_base + (p.frameno as u64 + 1) * 512),
                RegType::Ctx => Some(self.ctx),
                _ => None,
            };
            let Some(base) = base else { continue };
            self.seen += 1;
            let var = if p.ty == RegType::Scalar {
                v
            } else {
                v.wrapping_sub(base).wrapping_sub(p.off as i64 as u64)
            };
            if let Err(e) = holds(p, var) {
                let what = if p.ty == RegType::Scalar { "" } else { " (pointer's variable offset)" };
                self.first = Some(Violation {
                    kind: ViolationKind::OutsideBounds,
                    pc: step.pc,
                    detail: format!("r{r}{what} before insn {}: {e}", step.pc),
                });
                return;
            }
        }
    }
}
