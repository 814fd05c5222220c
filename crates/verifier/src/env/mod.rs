//! The verifier's environment (`struct bpf_verifier_env`): immutable program facts, the
//! search (pending branches, checkpoints, SCC visits), the log and the current state, as
//! separate parts; [`ctx`] builds the narrow views the instruction families take.

use crate::domain::state::{FuncState, RegState, RegType, VerifierState};
use crate::log::Log;
use crate::messages::{Bug, Reject};
use crate::{ProgType, VerifyOptions};
use kbpf_isa::{CallKind, DecodeErrorKind, Decoded, Insn, SlotIdx, SlotTable};
use kbpf_passes::StaticInfo;
use kbpf_passes::shape::{Flow, shape};

pub(crate) mod ctx;
pub(crate) mod insn_aux;
pub(crate) mod slots;

use slots::SlotVec;

/// A state waiting on the branch stack (`struct bpf_verifier_stack_elem`).
pub(crate) struct Pending {
    pub st: VerifierState,
    pub insn_idx: SlotIdx,
    pub prev_insn_idx: i64,
    pub log_pos: usize,
}

/// Queues `st` to continue at `insn_idx` (`push_stack`): its parent checkpoint gains a
/// branch; too deep a stack rejects. The walk's branches and the ALU's scalar fork share it.
pub(crate) fn push_branch(
    arena: &mut [Checkpoint],
    pending: &mut Vec<Pending>,
    log_pos: usize,
    mut st: VerifierState,
    insn_idx: SlotIdx,
    prev_insn_idx: SlotIdx,
) -> Result<usize, Reject> {
    st.insn_idx = insn_idx;
    if let Some(p) = st.parent
        && let Some(cp) = arena.get_mut(p)
    {
        cp.branches += 1;
    }
    pending.push(Pending { st, insn_idx, prev_insn_idx: prev_insn_idx.index() as i64, log_pos });
    if pending.len() > crate::COMPLEXITY_LIMIT_JMP_SEQ {
        return Err(Reject::JmpSeqTooComplex(pending.len()));
    }
    Ok(pending.len() - 1)
}

/// A cached checkpoint (`struct bpf_verifier_state_list`).
pub(crate) struct Checkpoint {
    pub st: VerifierState,
    pub branches: u32,
    pub hit_cnt: u32,
    pub miss_cnt: u32,
    pub in_list: bool,
    pub cleaned: bool,
    /// Freed like the kernel's `maybe_free_verifier_state`: its state is dropped and its
    /// arena slot waits for reuse; nothing may refer to it any more.
    pub freed: bool,
}

/// One SCC visit (`struct bpf_scc_visit`): its entry checkpoint and recorded back-edges.
#[derive(Default)]
pub(crate) struct Visit {
    pub entry: Option<usize>,
    pub backedges: Vec<(VerifierState, usize)>,
}

/// Immutable facts about the program.
pub(crate) struct Program<'a> {
    /// Every slot decoded once (kbpf-isa's decoder) beside its raw form: the static passes, the
    /// walk, the whole-program scans, the log and the witness read it. The raw slots
    /// (`table.raw()`) are read only where the kernel reads a slot before it is known to be
    /// well formed (the walk's dispatch and structural checks, [`Program::flow`]).
    pub table: SlotTable<'a>,
    pub info: StaticInfo,
    pub opts: &'a VerifyOptions,
    /// Map index for each ld_imm64 slot that references a map.
    pub ld_map: Vec<Option<u32>>,
    /// The attach target of a BTF-attached program (tracing, lsm), resolved before the walk.
    pub attach: Option<crate::btf::attach::AttachInfo>,
}

impl<'a> Program<'a> {
    /// The program type's rules for its expected attach type.
    pub(crate) fn ops(&self) -> crate::prog_types::Ops {
        self.opts.prog_type.ops_with(self.opts.expected_attach_type)
    }

    /// `get_helper_proto`: the prototype of helper `func` for this program (its type, attach
    /// type and struct_ops member), when the target kernel offers it to the program.
    pub(crate) fn helper_proto(&self, func: kbpf_isa::BpfFunc) -> Option<crate::protos::helpers::Proto> {
        // a BTF-attached program's set depends on its attach type
        let proto = match &self.attach {
            Some(a) if let Some(so) = &a.struct_ops => so.func_proto(func),
            Some(a) => crate::protos::btf_helpers::attached_func_proto(
                self.opts.prog_type == crate::ProgType::Lsm,
                func,
                a.attach,
                a.iter_target.as_deref(),
            ),
            None => self.ops().func_proto(func),
        };
        proto.filter(|_| self.opts.kernel_config.offers(func))
    }

    /// The slot table.
    pub(crate) fn table(&self) -> &SlotTable<'a> {
        &self.table
    }

    /// Where control goes after slot `i`, for the whole-program scans (call graph, `may_goto`,
    /// tail calls, kfunc calls): read from the decoded instruction, or, for a slot the walk
    /// never checked (dead code may be malformed), from the raw slot as the kernel reads it
    /// (`kbpf_passes::shape`, the one place). `Flow::Next` past the end.
    pub(crate) fn flow(&self, i: usize) -> Flow {
        if i < self.table.len() { shape(&self.table, i).flow } else { Flow::Next }
    }

    /// The call at slot `i` of `kind`: its `imm` (helper id, relative target, kfunc BTF id).
    pub(crate) fn call_at(&self, i: usize, kind: CallKind) -> Option<i32> {
        match self.flow(i) {
            Flow::Call { kind: Some(k), imm } if k == kind => Some(imm),
            _ => None,
        }
    }

    /// The callee of slot `i` when it is a local call or a subprogram reference (`ld_imm64` of a
    /// function): its relative target, and whether it is a reference.
    pub(crate) fn callee_at(&self, i: usize) -> Option<(i32, bool)> {
        match self.flow(i) {
            Flow::Call { kind: Some(CallKind::Local), imm } => Some((imm, false)),
            Flow::FuncRef(imm) => Some((imm, true)),
            _ => None,
        }
    }

    /// The slot's structural refusal, as kbpf-isa's decoder recorded it in the `SlotTable`: each
    /// family's check calls this where the kernel reads the instruction's reserved fields (the
    /// decoder reads them first too), so the walk raises the decoder's error in the kernel's
    /// order and never reads those fields itself. Register numbers above 10 are left to
    /// `check_reg_arg`, which the kernel reaches in each family's own operand order; an opcode
    /// the decoder refuses was refused before the walk by the kernel's opcode table.
    pub(crate) fn structural(&self, idx: SlotIdx) -> Result<(), Reject> {
        match self.table.get(idx.index()) {
            Some(Decoded::Malformed(e)) => match e {
                DecodeErrorKind::ReservedFields(what) => Err(Reject::Reserved(what)),
                DecodeErrorKind::InvalidMayGoto(imm) => Err(Reject::InvalidMayGotoImm(*imm)),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// The decoded instruction at slot `idx`, for a family whose structural and register-number
    /// checks have passed (so the slot decodes; otherwise kbpf broke an invariant).
    pub(crate) fn decoded(&self, idx: SlotIdx) -> Result<Insn, Reject> {
        self.table.insn(idx.index()).map_err(|_| Bug::Undecoded(idx).into())
    }

    /// The slot a jump at `idx` with offset `off` reaches; the CFG check proved it in range.
    pub(crate) fn jump_target(&self, idx: SlotIdx, off: i64) -> Result<SlotIdx, Reject> {
        let len = self.table.len();
        match idx.jump(off) {
            Some(t) if t.index() < len => Ok(t),
            _ => Err(Bug::InsnIdx { idx: (idx.index() as i64 + 1 + off) as usize, len }.into()),
        }
    }

    /// Whether slot `i` is `may_goto`.
    pub(crate) fn is_may_goto(&self, i: usize) -> bool {
        matches!(self.flow(i), Flow::Cond { may_goto: true, .. })
    }
}

/// The search (`explored_states`, the branch stack, `scc_visits`): what the walk and pruning
/// share and nothing else reads.
#[derive(Default)]
pub(crate) struct Search {
    /// The checkpoints alive (cached, on the free list or a parent); lists and parents index
    /// into it. A freed checkpoint's slot is reused ([`Search::add_checkpoint`]), so memory
    /// follows the live states like the kernel's, not every state ever made.
    pub arena: Vec<Checkpoint>,
    /// Arena slots of freed checkpoints, for reuse.
    pub free_slots: Vec<usize>,
    /// The checkpoints cached per hash bucket (`explored_states`): one bucket per slot count,
    /// chosen by `(insn ^ callsite) % len` like the kernel ([`Env::bucket`]), so a bucket is
    /// not a slot and the table is not a `SlotVec`.
    pub explored: Vec<Vec<usize>>,
    /// The branch stack (`push_stack` / `pop_stack`).
    pub pending: Vec<Pending>,
    /// 6.18's stack-slot liveness, fed by the walk's stack reads and writes.
    pub live: crate::prune::liveness::StackLiveness,
    /// SCC visits by call chain.
    pub visits: std::collections::HashMap<Vec<u32>, Visit>,
    /// `env->id_gen`.
    pub id_gen: u32,
    pub explored_size: u64,
    pub free_list_size: u64,
    /// The previous instruction of the walk, and the slot whose jump-history entry this
    /// instruction already pushed.
    pub prev_insn_idx: SlotIdx,
    pub hist_insn: Option<SlotIdx>,
}

impl Search {
    /// Stores a new checkpoint, in a freed slot when there is one; returns its index.
    pub(crate) fn add_checkpoint(&mut self, cp: Checkpoint) -> usize {
        match self.free_slots.pop() {
            Some(i) => {
                self.arena[i] = cp;
                i
            }
            None => {
                self.arena.push(cp);
                self.arena.len() - 1
            }
        }
    }

    /// Frees checkpoint `ci` (`free_verifier_state` + `kfree`): the caller checked that no list,
    /// parent or SCC visit refers to it. Its slot keeps an empty state until reused.
    pub(crate) fn free_checkpoint(&mut self, ci: usize) {
        let Some(cp) = self.arena.get_mut(ci) else { return };
        if cp.freed {
            return;
        }
        cp.freed = true;
        cp.in_list = false;
        cp.st = VerifierState::fresh(Vec::new(), SlotIdx::new(0));
        self.free_slots.push(ci);
    }
}

/// Counters the log's last line and [`crate::Stats`] report, and the checkpoint heuristic reads.
#[derive(Default)]
pub(crate) struct Counters {
    pub insn_processed: u64,
    pub jmps_processed: u64,
    pub prev_jmps_processed: u64,
    pub prev_insn_processed: u64,
    pub total_states: u64,
    pub peak_states: u64,
    pub max_states_per_insn: u64,
    pub num_backedges: u64,
}

/// Per-instruction facts the walk leaves behind (`insn_aux_data`), indexed by slot.
#[derive(Default)]
pub(crate) struct Aux {
    /// Instructions some non-pruned path reached (`aux->seen`).
    seen: SlotVec<bool>,
    /// Pointer type of each load/store (`aux->ptr_type`): the base type and its flags.
    ptr_type: SlotVec<Option<(RegType, u16)>>,
    /// The map each helper call was verified with (`aux->map_ptr_state`).
    map: SlotVec<crate::env::insn_aux::CallMap>,
    /// Per `bpf_loop` call: whether it can still be inlined (`aux->loop_inline_state`).
    pub(crate) loop_inline: std::collections::HashMap<usize, crate::calls::callbacks::LoopInline>,
    /// The struct meta (named by its local type, `None` for a type without one) each
    /// allocation kfunc call was verified with (`aux->kptr_struct_meta`).
    struct_meta: SlotVec<Option<Option<u32>>>,
    /// What the kfunc fixups need of each allocation or graph kfunc call.
    kfunc: SlotVec<Option<crate::env::insn_aux::KfuncFix>>,
}

impl Aux {
    /// Empty facts for `slots` slots.
    pub(crate) fn new(slots: usize) -> Aux {
        Aux {
            seen: SlotVec::filled(slots, false),
            ptr_type: SlotVec::filled(slots, None),
            map: SlotVec::filled(slots, Default::default()),
            loop_inline: Default::default(),
            struct_meta: SlotVec::filled(slots, None),
            kfunc: SlotVec::filled(slots, None),
        }
    }

    /// Number of slots.
    pub(crate) fn len(&self) -> usize {
        self.seen.len()
    }

    /// Records that a non-speculative path reached slot `s`.
    pub(crate) fn mark_seen(&mut self, s: SlotIdx) {
        if let Some(b) = self.seen.get_mut(s) {
            *b = true;
        }
    }

    /// Whether some path reached slot `s`.
    pub(crate) fn seen(&self, s: SlotIdx) -> bool {
        self.seen.get(s).copied().unwrap_or(false)
    }

    /// The pointer type recorded for the access at slot `s`.
    pub(crate) fn ptr_type(&self, s: SlotIdx) -> Option<RegType> {
        self.ptr_type.get(s).copied().flatten().map(|(t, _)| t)
    }

    /// Records that the helper call at `s` was reached with map `m` (`bpf_map_ptr_store`):
    /// a second, different map poisons the slot, as in the kernel.
    pub(crate) fn record_map(&mut self, s: SlotIdx, m: u32) {
        use crate::env::insn_aux::CallMap;
        if let Some(c) = self.map.get_mut(s) {
            *c = match *c {
                CallMap::None => CallMap::One(m),
                CallMap::One(p) if p == m => CallMap::One(m),
                _ => CallMap::Poisoned,
            };
        }
    }

    /// Records the fixup facts of the kfunc call at `s` (the last path's, as the kernel's
    /// `insn_aux_data` keeps).
    pub(crate) fn record_kfunc_fix(&mut self, s: SlotIdx, fix: crate::env::insn_aux::KfuncFix) {
        if let Some(k) = self.kfunc.get_mut(s) {
            *k = Some(fix);
        }
    }

    /// The fixup facts recorded for the kfunc call at `s`.
    pub(crate) fn kfunc_fix(&self, s: SlotIdx) -> Option<crate::env::insn_aux::KfuncFix> {
        self.kfunc.get(s).copied().flatten()
    }

    /// The map recorded for the helper call at `s`.
    pub(crate) fn call_map(&self, s: SlotIdx) -> crate::env::insn_aux::CallMap {
        self.map.get(s).copied().unwrap_or_default()
    }

    /// Records the struct meta the allocation kfunc call at `s` works with; a call reached
    /// with another is refused, as the kernel rewrites it with a single one.
    pub(crate) fn record_struct_meta(&mut self, s: SlotIdx, meta: Option<u32>) -> Result<(), Reject> {
        let Some(prev) = self.struct_meta.get_mut(s) else { return Ok(()) };
        match *prev {
            Some(p) if p != meta => Err(crate::messages::AllocReject::CallTypes.into()),
            _ => {
                *prev = Some(meta);
                Ok(())
            }
        }
    }

    /// The pointer type slot of the access at `s`, to record or compare.
    pub(crate) fn ptr_type_mut(&mut self, s: SlotIdx) -> Option<&mut Option<(RegType, u16)>> {
        self.ptr_type.get_mut(s)
    }
}

/// Per-subprogram facts the walk leaves behind (`subprog_info`, `func_info_aux`).
#[derive(Default)]
pub(crate) struct SubprogFacts {
    /// Deepest stack use seen per subprogram.
    pub stack_depth: Vec<u32>,
    /// Incoming / outgoing stack-argument counts.
    pub stack_args: crate::protos::func_info::SubprogArgs,
    /// Global functions some walked path calls (`aux->called`).
    pub global_called: Vec<bool>,
    /// Global functions verified on their own.
    pub global_verified: Vec<bool>,
    /// Subprograms some path registered as async callbacks (`is_async_cb`).
    pub is_async_cb: Vec<bool>,
    /// Prototypes a callback's arguments did not match (`func_info_aux.unreliable`).
    pub unreliable_proto: Vec<bool>,
    /// Subprograms some path set up as a callback, sync or async, and the exception
    /// callback (`is_cb`): none may throw.
    pub is_cb: Vec<bool>,
    /// The main program's exception callback (`exception_callback_subprog`).
    pub exception_cb: Option<usize>,
    /// bpf_fastcall spill/fill patterns and the stack region they use.
    pub fastcall: crate::calls::fastcall::Fastcall,
}

/// Everything one verification run needs, in parts that borrow apart: the program (never
/// written), what the walk learns about instructions and subprograms, the search, the
/// counters, the log and the current state.
pub(crate) struct Env<'a> {
    pub prog: Program<'a>,
    pub aux: Aux,
    pub subs: SubprogFacts,
    pub search: Search,
    pub stats: Counters,
    pub log: Log,
    pub cur: VerifierState,
    /// The soundness recorder ([`crate::proven`]); `None` in ordinary verification.
    pub proven: Option<Box<crate::proven::Recorder>>,
}

pub(crate) fn initial_state(pt: ProgType) -> VerifierState {
    let mut f = FuncState::new(-1, 0, 0);
    f.regs[1] = RegState::pointer(RegType::Ctx);
    let _ = pt;
    VerifierState::fresh(vec![f], SlotIdx::new(0))
}
