//! The verifier soundness harness and the bodies of the fuzz targets.
//!
//! Owns: the generator of programs aimed at the verifier's edges ([`generate`]), the check of one
//! program against the checked interpreter ([`check`]: memory faults and register values
//! outside the bounds the verifier recorded per instruction), delta debugging ([`minimise`]),
//! the regression cases under `tests/soundness/` ([`cases`]) and the functions the cargo-fuzz
//! targets in `fuzz/` call ([`targets`]), which the corpus replay test runs on stable.
//! `cargo xtask soundness` drives it (and adds the kernel comparison).
//!
//! Must not touch: verification, execution or decoding themselves; it only calls the crates
//! that own them (the verifier's recording hook is `kbpf_verifier::proven`, the interpreter's
//! observation hook `kbpf_interp::Observer`).

pub mod cases;
pub mod check;
mod choices;
pub mod funcs;
pub mod generate;
pub mod maps;
pub mod minimise;
mod path;
pub mod targets;

pub use check::{Report, Violation, ViolationKind, check};

/// Figures of a harness run.
#[derive(Clone, Debug, Default)]
pub struct Totals {
    /// Programs generated.
    pub generated: u64,
    /// Programs kbpf accepted.
    pub accepted: u64,
    /// Accepted programs whose values were checked (not only memory).
    pub values_checked: u64,
    /// Programs whose pruning walk went past its cap (no verdict, not checked).
    pub capped: u64,
    /// Programs with a candidate (a value outside the pruning walk's record) in some run.
    pub rechecked: u64,
    /// Runs walked along their own path to confirm a candidate.
    pub path_walks: u64,
    /// Runs whose candidate could not be confirmed (memory checks only).
    pub unconfirmed: u64,
    /// Interpreter runs.
    pub runs: u64,
    /// Runs that hit the budget (`may_goto` loops).
    pub budget_runs: u64,
    /// Register observations compared with the verifier's record.
    pub observations: u64,
    /// Violations found.
    pub violations: u64,
    /// Where the time went (summed over threads).
    pub time: check::Phases,
}

impl Totals {
    /// Adds one program's report.
    pub fn add(&mut self, r: &Report) {
        self.generated += 1;
        self.accepted += r.accepted as u64;
        self.values_checked += r.values_checked as u64;
        self.capped += r.capped as u64;
        self.rechecked += r.rechecked as u64;
        self.path_walks += r.path_walks;
        self.unconfirmed += r.unconfirmed;
        self.runs += r.runs;
        self.budget_runs += r.budget_runs;
        self.observations += r.observations;
        self.violations += r.violation.is_some() as u64;
        self.time.walk += r.time.walk;
        self.time.confirm += r.time.confirm;
        self.time.runs += r.time.runs;
    }

    /// Where the time went, one line.
    pub fn time_line(&self) -> String {
        let t = &self.time;
        format!(
            "pruning walks {:.1}s, path walks {:.1}s, runs {:.1}s",
            t.walk.as_secs_f64(),
            t.confirm.as_secs_f64(),
            t.runs.as_secs_f64()
        )
    }

    /// One line of figures.
    pub fn line(&self) -> String {
        format!(
            "generated {}, walk capped {}, accepted {}, values checked {}, with candidates {} ({} runs walked on their path, {} unconfirmed), runs {}, budget-limited runs {}, register observations {}, violations {}",
            self.generated,
            self.capped,
            self.accepted,
            self.values_checked,
            self.rechecked,
            self.path_walks,
            self.unconfirmed,
            self.runs,
            self.budget_runs,
            self.observations,
            self.violations
        )
    }
}

/// Program `i` of a harness run seeded `seed`.
pub fn program(seed: u64, i: u64) -> Vec<kbpf_isa::Insn> {
    let mut c = generate::Choices::seeded(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ i.wrapping_add(1));
    generate::program(&mut c)
}
