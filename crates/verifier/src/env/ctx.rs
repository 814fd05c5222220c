//! Narrow views of the env's parts, built here and nowhere else: each instruction family's
//! transfer function takes the view whose fields say what it may read and write, so the borrow
//! checker, not a convention, keeps a family out of the parts it has no business with.

use crate::check::alu::{RegOp, reg_arg};
use crate::domain::state::VerifierState;
use crate::env::{Checkpoint, Counters, Env, Program, Search, SubprogFacts};
use crate::log::Log;
use crate::messages::Reject;
use crate::precision::Precision;

/// A register transfer's view (ALU, `mov`, pointer arithmetic): the current state it rewrites,
/// the log's scratch marks, the program facts it reads, the scalar id generator, and the parts
/// precision marks reach (the subprograms' facts, read; the checkpoint arena, marked).
pub(crate) struct Ctx<'e, 'a> {
    pub cur: &'e mut VerifierState,
    pub log: &'e mut Log,
    pub prog: &'e Program<'a>,
    pub id_gen: &'e mut u32,
    pub subs: &'e SubprogFacts,
    pub arena: &'e mut [Checkpoint],
}

impl<'a> Ctx<'_, 'a> {
    /// A fresh id (`++env->id_gen`).
    pub(crate) fn new_id(&mut self) -> u32 {
        *self.id_gen += 1;
        *self.id_gen
    }

    /// `check_reg_arg`.
    pub(crate) fn check_reg_arg(&mut self, regno: u8, t: RegOp) -> Result<(), Reject> {
        reg_arg(self.cur, self.log, regno, t)
    }

    /// The precision view, reborrowed from this one.
    pub(crate) fn precision(&mut self) -> Precision<'_, 'a> {
        Precision { prog: self.prog, subs: self.subs, cur: self.cur, arena: self.arena, log: self.log }
    }
}

/// A control-flow transfer's view (conditional jumps, `may_goto`, the branch stack and the
/// jump history): the current state, the log, the program facts, and the whole search (the
/// pending branches it pushes, the checkpoints `may_goto` widens against); not the statistics
/// or the per-instruction aux.
pub(crate) struct Walk<'e, 'a> {
    pub cur: &'e mut VerifierState,
    pub log: &'e mut Log,
    pub prog: &'e Program<'a>,
    pub subs: &'e SubprogFacts,
    pub search: &'e mut Search,
}

impl<'a> Walk<'_, 'a> {
    /// `check_reg_arg`.
    pub(crate) fn check_reg_arg(&mut self, regno: u8, t: RegOp) -> Result<(), Reject> {
        reg_arg(self.cur, self.log, regno, t)
    }

    /// The precision view, reborrowed from this one.
    pub(crate) fn precision(&mut self) -> Precision<'_, 'a> {
        Precision {
            prog: self.prog,
            subs: self.subs,
            cur: self.cur,
            arena: &mut self.search.arena,
            log: self.log,
        }
    }
}

/// Pruning's view (`is_state_visited`, SCC visits, back-edges): the control-flow view plus
/// the statistics its checkpoint heuristic reads and counts; not the per-instruction aux or
/// the subprograms' facts (read only through precision).
pub(crate) struct Prune<'e, 'a> {
    pub cur: &'e mut VerifierState,
    pub log: &'e mut Log,
    pub prog: &'e Program<'a>,
    pub subs: &'e SubprogFacts,
    pub search: &'e mut Search,
    pub stats: &'e mut Counters,
}

impl<'a> Prune<'_, 'a> {
    /// The control-flow view, reborrowed from this one (the jump history).
    pub(crate) fn walk(&mut self) -> Walk<'_, 'a> {
        Walk { cur: self.cur, log: self.log, prog: self.prog, subs: self.subs, search: self.search }
    }

    /// The precision view, reborrowed from this one.
    pub(crate) fn precision(&mut self) -> Precision<'_, 'a> {
        Precision {
            prog: self.prog,
            subs: self.subs,
            cur: self.cur,
            arena: &mut self.search.arena,
            log: self.log,
        }
    }
}

/// A stack access's view (spills, fills, bounds, atomics' stack side): the current state, the
/// log, the program facts, the subprograms' facts it writes (the deepest stack use), and the
/// search (the scalar id generator, the jump history a spill or fill records, the checkpoints
/// precision marks reach).
pub(crate) struct Stack<'e, 'a> {
    pub cur: &'e mut VerifierState,
    pub log: &'e mut Log,
    pub prog: &'e Program<'a>,
    pub subs: &'e mut SubprogFacts,
    pub search: &'e mut Search,
}

impl<'a> Stack<'_, 'a> {
    /// The control-flow view, reborrowed from this one (the jump history).
    pub(crate) fn walk(&mut self) -> Walk<'_, 'a> {
        Walk { cur: self.cur, log: self.log, prog: self.prog, subs: self.subs, search: self.search }
    }

    /// The precision view, reborrowed from this one.
    pub(crate) fn precision(&mut self) -> Precision<'_, 'a> {
        Precision {
            prog: self.prog,
            subs: self.subs,
            cur: self.cur,
            arena: &mut self.search.arena,
            log: self.log,
        }
    }
}

impl<'a> Env<'a> {
    /// The stack-access view of the env's parts.
    pub(crate) fn stack(&mut self) -> Stack<'_, 'a> {
        Stack {
            cur: &mut self.cur,
            log: &mut self.log,
            prog: &self.prog,
            subs: &mut self.subs,
            search: &mut self.search,
        }
    }

    /// The pruning view of the env's parts.
    pub(crate) fn prune(&mut self) -> Prune<'_, 'a> {
        Prune {
            cur: &mut self.cur,
            log: &mut self.log,
            prog: &self.prog,
            subs: &self.subs,
            search: &mut self.search,
            stats: &mut self.stats,
        }
    }

    /// The control-flow view of the env's parts.
    pub(crate) fn walk(&mut self) -> Walk<'_, 'a> {
        Walk {
            cur: &mut self.cur,
            log: &mut self.log,
            prog: &self.prog,
            subs: &self.subs,
            search: &mut self.search,
        }
    }

    /// `check_reg_arg` for the families still on the whole env.
    pub(crate) fn check_reg_arg(&mut self, regno: u8, t: RegOp) -> Result<(), Reject> {
        reg_arg(&mut self.cur, &mut self.log, regno, t)
    }

    /// The register-transfer view of the env's parts.
    pub(crate) fn ctx(&mut self) -> Ctx<'_, 'a> {
        Ctx {
            cur: &mut self.cur,
            log: &mut self.log,
            prog: &self.prog,
            id_gen: &mut self.search.id_gen,
            subs: &self.subs,
            arena: &mut self.search.arena,
        }
    }

    /// The precision view of the env's parts.
    pub(crate) fn precision(&mut self) -> Precision<'_, 'a> {
        Precision {
            prog: &self.prog,
            subs: &self.subs,
            cur: &self.cur,
            arena: &mut self.search.arena,
            log: &mut self.log,
        }
    }
}
