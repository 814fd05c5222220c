//! Narrow views of the env's parts, built here and nowhere else: each instruction family's
//! transfer function takes the view whose fields say what it may read and write, so the borrow
//! checker, not a convention, keeps a family out of the parts it has no business with.

use crate::MapDef;
use crate::check::alu::{RegOp, reg_arg};
use crate::domain::state::VerifierState;
use crate::env::{Aux, Checkpoint, Counters, Env, Pending, Program, Search, SubprogFacts};
use crate::log::Log;
use crate::messages::Reject;
use crate::precision::Precision;

/// A register transfer's view (ALU, `mov`, pointer arithmetic): the current state it rewrites,
/// the log's scratch marks, the program facts it reads, the scalar id generator, and the parts
/// precision marks reach (the subprograms' facts, read; the checkpoint arena, marked), and the
/// branch stack, where `maybe_fork_scalars` queues its second outcome.
pub(crate) struct Ctx<'e, 'a> {
    pub cur: &'e mut VerifierState,
    pub log: &'e mut Log,
    pub prog: &'e Program<'a>,
    pub id_gen: &'e mut u32,
    pub subs: &'e SubprogFacts,
    pub arena: &'e mut [Checkpoint],
    pub pending: &'e mut Vec<Pending>,
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

/// A load's or store's view (`check_mem_access` and what it dispatches to: context, map
/// values, packets, sized and BTF memory, the stack, atomics, `ld_imm64` and LD_ABS/IND): the
/// stack view's parts (a stack access grows the subprogram's depth and records the jump
/// history; a context load of a nullable pointer takes a fresh id) plus the per-instruction aux,
/// where it records each access's pointer type (`save_aux_ptr_type`). Not the statistics.
pub(crate) struct Mem<'e, 'a> {
    pub cur: &'e mut VerifierState,
    pub log: &'e mut Log,
    pub prog: &'e Program<'a>,
    pub aux: &'e mut Aux,
    pub subs: &'e mut SubprogFacts,
    pub search: &'e mut Search,
}

/// A call's view (helpers, kfuncs, bpf-to-bpf and global calls, callbacks, stack arguments,
/// and the argument kinds: dynptrs, iterators, sockets, map arguments): the same parts as
/// [`Mem`], all of which a call legitimately reaches: it checks memory arguments as accesses,
/// records the map a helper was verified with (aux), counts the callee's stack arguments and
/// marks global functions called (subprograms' facts), queues callback and iterator states and
/// compares an iterator's `next` with its checkpoint (search). Not the statistics: only the
/// walk's driver (`do_check` and the global functions' walks, on the whole env) counts.
pub(crate) struct Call<'e, 'a> {
    pub cur: &'e mut VerifierState,
    pub log: &'e mut Log,
    pub prog: &'e Program<'a>,
    pub aux: &'e mut Aux,
    pub subs: &'e mut SubprogFacts,
    pub search: &'e mut Search,
}

/// `reborrow!(name: View { field: mut part.path, field: ref part, .. } for Source, ..)` writes
/// `Source::name(&mut self) -> View` for each source, lending each part (or a field of one)
/// mutably (`mut`) or shared (`ref`). The same path serves a source that owns the part (`Env`)
/// and one that borrows it (a view): the reference coerces through the view's own.
macro_rules! reborrow {
    ($name:ident: $view:ident $fields:tt for $($src:ty),+) => {
        $(reborrow!(@one $src, $name, $view, $fields);)+
    };
    (@one $src:ty, $name:ident, $view:ident, { $($field:ident: $kind:ident $($path:ident).+),* $(,)? }) => {
        impl<'a> $src {
            #[doc = concat!("The `", stringify!($view), "` view, lent from this one's parts.")]
            pub(crate) fn $name(&mut self) -> $view<'_, 'a> {
                $view { $($field: reborrow!(@$kind self, $($path).+)),* }
            }
        }
    };
    (@mut $s:ident, $($p:ident).+) => { &mut $s.$($p).+ };
    (@ref $s:ident, $($p:ident).+) => { &$s.$($p).+ };
}

reborrow!(ctx: Ctx {
    cur: mut cur, log: mut log, prog: ref prog, id_gen: mut search.id_gen, subs: ref subs,
    arena: mut search.arena, pending: mut search.pending,
} for Env<'a>);
reborrow!(walk: Walk {
    cur: mut cur, log: mut log, prog: ref prog, subs: ref subs, search: mut search,
} for Env<'a>, Prune<'_, 'a>, Stack<'_, 'a>, Mem<'_, 'a>, Call<'_, 'a>);
reborrow!(prune: Prune {
    cur: mut cur, log: mut log, prog: ref prog, subs: ref subs, search: mut search, stats: mut stats,
} for Env<'a>);
reborrow!(stack: Stack {
    cur: mut cur, log: mut log, prog: ref prog, subs: mut subs, search: mut search,
} for Mem<'_, 'a>);
reborrow!(mem: Mem {
    cur: mut cur, log: mut log, prog: ref prog, aux: mut aux, subs: mut subs, search: mut search,
} for Env<'a>, Call<'_, 'a>);
reborrow!(call: Call {
    cur: mut cur, log: mut log, prog: ref prog, aux: mut aux, subs: mut subs, search: mut search,
} for Env<'a>, Mem<'_, 'a>);
reborrow!(precision: Precision {
    prog: ref prog, subs: ref subs, cur: ref cur, arena: mut search.arena, log: mut log,
} for Walk<'_, 'a>, Prune<'_, 'a>, Stack<'_, 'a>, Call<'_, 'a>);
reborrow!(precision: Precision {
    prog: ref prog, subs: ref subs, cur: ref cur, arena: mut arena, log: mut log,
} for Ctx<'_, 'a>);

/// `check_reg_arg` on every view that holds the current state and the log.
macro_rules! check_reg_arg {
    ($($src:ty),+) => {$(
        impl $src {
            /// `check_reg_arg`.
            pub(crate) fn check_reg_arg(&mut self, regno: u8, t: RegOp) -> Result<(), Reject> {
                reg_arg(&mut self.cur, &mut self.log, regno, t)
            }
        }
    )+};
}

check_reg_arg!(Env<'_>, Ctx<'_, '_>, Walk<'_, '_>, Mem<'_, '_>, Call<'_, '_>);

/// What the views holding the program and the search offer.
macro_rules! program_and_ids {
    ($($src:ty),+) => {$(
        impl $src {
            /// A fresh id (`++env->id_gen`).
            pub(crate) fn new_id(&mut self) -> u32 {
                self.search.id_gen += 1;
                self.search.id_gen
            }

            /// The program's maps.
            pub(crate) fn maps(&self) -> &[MapDef] {
                &self.prog.opts.maps
            }

            /// `in_sleepable`: the program may sleep (its type always does, or it was loaded
            /// with `BPF_F_SLEEPABLE`).
            pub(crate) fn in_sleepable(&self) -> bool {
                self.prog.opts.prog_type.ops().sleepable() || self.prog.opts.sleepable
            }
        }
    )+};
}

program_and_ids!(Mem<'_, '_>, Call<'_, '_>);

impl Ctx<'_, '_> {
    /// A fresh id (`++env->id_gen`).
    pub(crate) fn new_id(&mut self) -> u32 {
        *self.id_gen += 1;
        *self.id_gen
    }
}

impl Env<'_> {
    /// `verbose_linfo` for instruction `insn`.
    pub(crate) fn linfo(&mut self, insn: usize, prefix: &str) {
        let lines = &self.prog.opts.line_info;
        crate::line_info::verbose_linfo(&mut self.log, lines, self.prog.table.len(), insn, prefix);
    }
}
