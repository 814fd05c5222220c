//! The main walk (`do_check`): pipeline order, the per-instruction loop, path termination and
//! branch popping, and the final stats block.

use crate::helpers::helper_arg_count;
use crate::log::{LEVEL1, LEVEL2, Log, STATS, insn_text};
use crate::messages::{Bug, Reject};
use crate::state::{FuncState, RegState, RegType, VerifierState};
use crate::{MapDef, MapKind, ProgType, Stats, VerifyError, VerifyOptions, VerifyOutcome};
use kbpf_isa::{CallKind, Class, JmpOp, LdImm64Src, Mode, RawInsn, SlotTable};
use kbpf_passes::check::{PseudoLdImm64, Resolver};
use kbpf_passes::{Errno, PassError, PassErrorKind, ResolveError, StaticInfo};
use std::cell::OnceCell;
use std::time::Instant;

/// A state waiting on the branch stack (`struct bpf_verifier_stack_elem`).
pub(crate) struct Pending {
    pub st: VerifierState,
    pub insn_idx: usize,
    pub prev_insn_idx: i64,
    pub log_pos: usize,
}

/// A cached checkpoint (`struct bpf_verifier_state_list`).
pub(crate) struct Checkpoint {
    pub st: VerifierState,
    pub branches: u32,
    pub hit_cnt: u32,
    pub miss_cnt: u32,
    pub in_list: bool,
    pub cleaned: bool,
}

/// One SCC visit (`struct bpf_scc_visit`): its entry checkpoint and recorded back-edges.
#[derive(Default)]
pub(crate) struct Visit {
    pub entry: Option<usize>,
    pub backedges: Vec<(VerifierState, usize)>,
}

/// Immutable facts about the program.
pub(crate) struct Program<'a> {
    pub slots: &'a [RawInsn],
    /// Every slot decoded once, when the log first prints one.
    pub table: OnceCell<SlotTable<'a>>,
    pub info: StaticInfo,
    pub opts: &'a VerifyOptions,
    /// Map index for each ld_imm64 slot that references a map.
    pub ld_map: Vec<Option<u32>>,
}

impl<'a> Program<'a> {
    /// The slot table, decoded on first use.
    pub(crate) fn table(&self) -> &SlotTable<'a> {
        self.table.get_or_init(|| SlotTable::new(self.slots))
    }
}

/// Search bookkeeping: checkpoints, pending branches, counters.
#[derive(Default)]
pub(crate) struct Search {
    pub arena: Vec<Checkpoint>,
    pub explored: Vec<Vec<usize>>,
    pub pending: Vec<Pending>,
    pub id_gen: u32,
    pub insn_processed: u64,
    pub jmps_processed: u64,
    pub prev_jmps_processed: u64,
    pub prev_insn_processed: u64,
    pub total_states: u64,
    pub peak_states: u64,
    pub explored_size: u64,
    pub free_list_size: u64,
    pub num_backedges: u64,
    pub visits: std::collections::HashMap<Vec<u32>, Visit>,
    pub max_states_per_insn: u64,
    pub stack_depth: Vec<u32>,
    pub stack_args: crate::func_info::SubprogArgs,
    pub prev_insn_idx: usize,
    pub hist_insn: Option<usize>,
    /// Global functions some walked path calls (`aux->called`).
    pub global_called: Vec<bool>,
    /// Global functions verified on their own.
    pub global_verified: Vec<bool>,
    /// Instructions some non-pruned path reached (`aux->seen`).
    pub seen: Vec<bool>,
    /// Base pointer type of each load/store (`aux->ptr_type`).
    pub ptr_type: Vec<Option<RegType>>,
    /// Subprograms some path registered as async callbacks (`is_async_cb`).
    pub is_async_cb: Vec<bool>,
    /// Prototypes a callback's arguments did not match (`func_info_aux.unreliable`).
    pub unreliable_proto: Vec<bool>,
}

/// Everything one verification run needs.
pub(crate) struct Env<'a> {
    pub prog: Program<'a>,
    pub search: Search,
    pub log: Log,
    pub cur: VerifierState,
}

struct MapResolver<'a> {
    maps: &'a [MapDef],
    ld_map: Vec<Option<u32>>,
}

impl Resolver for MapResolver<'_> {
    fn resolve(&mut self, ld: PseudoLdImm64) -> Result<(), PassError> {
        let err = |e: ResolveError| PassError::new(ld.insn, PassErrorKind::Resolve(e));
        match ld.src {
            LdImm64Src::MapFd | LdImm64Src::MapValue => {
                let Some(idx) = self.maps.iter().position(|m| m.fd == ld.imm) else {
                    return Err(err(ResolveError::BadMapFd(ld.imm)));
                };
                if ld.src == LdImm64Src::MapValue {
                    let m = &self.maps[idx];
                    let off = ld.imm_hi as u32;
                    if off as i64 >= crate::state::MAX_VAR_OFF {
                        return Err(err(ResolveError::DirectValueOffset(off)));
                    }
                    if m.kind != MapKind::Array {
                        return Err(err(ResolveError::NoDirectValueAccess));
                    }
                    // array_map_direct_value_addr: one entry only (ENOTSUPP), then the offset
                    if m.max_entries != 1 || off >= m.value_size {
                        let errno = if m.max_entries != 1 { Errno::ENOTSUPP } else { Errno::EINVAL };
                        return Err(err(ResolveError::MapValuePointer {
                            value_size: m.value_size,
                            off,
                            errno,
                        }));
                    }
                }
                if let Some(slot) = self.ld_map.get_mut(ld.insn) {
                    *slot = Some(idx as u32);
                }
                Ok(())
            }
            // check_pseudo_btf_id: a module's BTF is named by an fd kbpf cannot have
            LdImm64Src::BtfId if ld.imm_hi != 0 => Err(err(ResolveError::ModuleBtfFd)),
            _ => Err(err(ResolveError::FdArray)),
        }
    }
}

/// Result of one instruction.
pub(crate) enum Flow {
    /// Continue at `cur.insn_idx`.
    Next,
    /// The path ended.
    Exit,
}

fn finish(log: Log, stats: Stats, err: Option<(Reject, usize)>, log_size: Option<usize>) -> VerifyOutcome {
    let true_size = log.max_len.max(log.buf.len()) + 1;
    if log.level != 0 && log_size.is_some_and(|s| true_size > s) {
        // a truncated log fails the load with ENOSPC, replacing any other verdict
        let insn = err.as_ref().map(|(_, i)| *i);
        let error = Some(VerifyError::new(insn, Reject::LogNoSpace(err.map(|(r, _)| Box::new(r)))));
        // the kernel's rotating buffer keeps the tail
        let keep = log_size.unwrap_or(0).saturating_sub(1);
        let mut buf = log.buf;
        if buf.len() > keep {
            let mut cut = buf.len() - keep;
            while !buf.is_char_boundary(cut) {
                cut += 1;
            }
            buf = buf.split_off(cut);
        }
        return VerifyOutcome {
            accepted: false,
            error,
            log: buf,
            stats,
            insn_aux: Vec::new(),
            witness: None,
        };
    }
    let error = err.map(|(r, insn)| VerifyError::new(Some(insn), r));
    VerifyOutcome {
        accepted: error.is_none(),
        error,
        log: log.buf,
        stats,
        insn_aux: Vec::new(),
        witness: None,
    }
}

/// Runs the whole pipeline.
pub(crate) fn run(slots: &[RawInsn], opts: &VerifyOptions) -> VerifyOutcome {
    let start = Instant::now();
    let mut log = Log { level: opts.log_level & (LEVEL1 | LEVEL2 | STATS), ..Log::default() };
    if slots.is_empty() || slots.len() > crate::COMPLEXITY_LIMIT_INSNS as usize {
        // bpf_prog_load rejects the length before the verifier runs: no log.
        let r = Reject::Pass(PassError::new(0, PassErrorKind::BadLength));
        let error = VerifyError::new(None, r);
        return VerifyOutcome {
            accepted: false,
            error: Some(error),
            log: String::new(),
            stats: Stats::default(),
            insn_aux: Vec::new(),
            witness: None,
        };
    }
    let table = OnceCell::new();
    let mut resolver = MapResolver { maps: &opts.maps, ld_map: vec![None; slots.len()] };
    let pt = opts.prog_type;
    let helper_args = move |id: i32| helper_arg_count(id, pt);
    // Subprograms first so that the level-2 header appears even when a later pass fails.
    let pre = kbpf_passes::subprogs::add_subprogs(slots);
    let nsub_found = pre.as_ref().map_or(1, |sp| sp.list.len().max(1));
    if let Ok(sp) = &pre
        && log.verbose2()
    {
        log.put(&sp.log_lines());
    }
    // check_btf_func / check_btf_line (the kernel runs them between check_subprogs and
    // resolving ld_imm64; kbpf's passes run those together, so they come first here)
    if let Ok(sp) = &pre
        && let Err(b) = btf_info_checks(slots, opts, sp)
    {
        let newline = if b.ends_line() { "\n" } else { "" };
        log.put(&format!("{b}{newline}"));
        print_stats(&mut log, &Search::default(), &vec![0; nsub_found], start);
        return finish(log, Stats::default(), Some((Reject::BtfInfo(b), 0)), opts.log_size);
    }
    let passes = pre.and_then(|_| {
        kbpf_passes::run_static_passes(slots, opts.privileged, opts.stack_args, &mut resolver, &helper_args)
    });
    let info = match passes {
        Ok(i) => i,
        Err(e) => {
            let insn = e.insn;
            let r = Reject::Pass(e);
            log.put(&format!("{r}\n"));
            let depths = vec![0; nsub_found];
            print_stats(&mut log, &Search::default(), &depths, start);
            return finish(log, Stats::default(), Some((r, insn)), opts.log_size);
        }
    };
    // check_btf_info without func_info: `check_abnormal_return` (the `.func` declarations stand
    // in for BTF func_info and declare int-returning functions)
    if opts.funcs.is_empty()
        && let Some(r) = abnormal_return(&info.subprogs)
    {
        log.put(&format!("{r}\n"));
        print_stats(&mut log, &Search::default(), &vec![0; nsub_found], start);
        return finish(log, Stats::default(), Some((r, 0)), opts.log_size);
    }
    if log.verbose2() {
        let decoded = table.get_or_init(|| SlotTable::new(slots));
        let text = |i: usize| insn_text(decoded, i, &opts.kfuncs);
        log.put(&kbpf_passes::liveness::format_live_regs(slots, &info.live_regs, &info.scc, &text));
    }
    let nsub = info.subprogs.len();
    let stack_args = crate::func_info::SubprogArgs::new(&info.subprogs, &opts.funcs);
    let mut env = Env {
        prog: Program { slots, table, info, opts, ld_map: resolver.ld_map },
        search: Search {
            explored: vec![Vec::new(); slots.len()],
            stack_depth: vec![0; nsub],
            stack_args,
            global_called: vec![false; nsub],
            global_verified: vec![false; nsub],
            seen: vec![false; slots.len()],
            ptr_type: vec![None; slots.len()],
            is_async_cb: vec![false; nsub],
            unreliable_proto: vec![false; nsub],
            ..Search::default()
        },
        log,
        cur: initial_state(opts.prog_type),
    };
    let res = env.do_check();
    let res = res.and_then(|_| {
        env.pop_log_after_success();
        env.do_check_subprogs()
    });
    let res = res.and_then(|_| env.check_max_stack_depth());
    let res = res.and_then(|_| env.stack_args_after_walk());
    let stats = Stats {
        processed_insns: env.search.insn_processed,
        total_states: env.search.total_states,
        peak_states: env.search.peak_states,
        max_states_per_insn: env.search.max_states_per_insn,
        mark_read: 0,
    };
    let err = match res {
        Ok(()) => None,
        Err(r) => {
            let insn = env.cur.insn_idx;
            let last = match &r {
                Reject::Preceded(_, last) => last.as_ref(),
                r => r,
            };
            let (before, after) = match last {
                Reject::InfiniteLoop(_) | Reject::InfiniteLoopStates { .. } => (true, false),
                Reject::CtxAccess(..) => (false, true),
                _ => (false, false),
            };
            if before {
                env.linfo(insn, "; ");
            }
            let line = r.to_string();
            if !line.is_empty() {
                env.log.put(&format!("{line}\n"));
            }
            if after {
                env.linfo(insn, "; ");
            }
            Some((r, insn))
        }
    };
    let search = std::mem::take(&mut env.search);
    // an accepted program loses its never-visited subprograms to dead-code removal before the
    // kernel prints their stack depths
    let depths: Vec<u32> = (0..nsub.max(1))
        .filter(|&i| {
            err.is_some()
                || i == 0
                || env
                    .prog
                    .info
                    .subprogs
                    .list
                    .get(i)
                    .is_none_or(|s| search.seen[s.start..s.end].contains(&true))
        })
        .map(|i| search.stack_depth.get(i).copied().unwrap_or(0) + may_goto_extra(&env, i, err.is_none()))
        .collect();
    print_stats(&mut env.log, &search, &depths, start);
    let insn_aux = crate::insn_aux::insn_aux(&search);
    let mut out = finish(env.log, stats, err, opts.log_size);
    if out.accepted {
        match crate::witness::build(slots, opts, &insn_aux) {
            Ok(w) => out.witness = Some(w),
            Err(e) => crate::witness::bug(&mut out, e),
        }
    }
    out.insn_aux = insn_aux;
    out
}

/// Stack the kernel's fixups add for `may_goto` in an accepted subprogram before it prints the
/// depths: 16 bytes for the JIT's timed `may_goto` (count and timestamp), 8 for the interpreter.
fn may_goto_extra(env: &Env<'_>, sub: usize, accepted: bool) -> u32 {
    let Some(s) = env.prog.info.subprogs.list.get(sub) else { return 0 };
    let has = env.prog.slots[s.start..s.end].iter().any(|i| i.is_may_goto());
    match (accepted && has, env.prog.opts.jit) {
        (false, _) => 0,
        (true, true) => 16,
        (true, false) => 8,
    }
}

/// `check_abnormal_return`: a subprogram (not the main one) may not use LD_ABS/LD_IND or tail
/// calls unless BTF says it returns an int.
/// func_info (when `funcs` is BTF's) and line_info checks against the subprogram starts.
fn btf_info_checks(
    slots: &[RawInsn],
    opts: &VerifyOptions,
    sp: &kbpf_passes::subprogs::Subprogs,
) -> Result<(), crate::BtfInfoReject> {
    let starts: Vec<usize> = sp.list.iter().map(|s| s.start).collect();
    let starts = if starts.is_empty() { vec![0] } else { starts };
    if opts.btf_func_info {
        crate::line_info::check_func_info(&opts.funcs, &starts)?;
    }
    crate::line_info::check_line_info(&opts.line_info, slots, &starts)
}

fn abnormal_return(subprogs: &kbpf_passes::subprogs::Subprogs) -> Option<Reject> {
    for sp in subprogs.list.iter().skip(1) {
        if sp.has_ld_abs {
            return Some(Reject::LdAbsInSubprog);
        }
        if sp.has_tail_call {
            return Some(Reject::TailCallInSubprog);
        }
    }
    None
}

fn stats_block(s: &Search, depths: &[u32], start: Instant, level: u32) -> String {
    let mut out = String::new();
    if level & STATS != 0 {
        out.push_str(&format!("verification time {} usec\n", start.elapsed().as_micros()));
        let depths: Vec<String> = depths.iter().map(u32::to_string).collect();
        out.push_str(&format!("stack depth {}\n", depths.join("+")));
    }
    out.push_str(&format!(
        "processed {} insns (limit {}) max_states_per_insn {} total_states {} peak_states {} mark_read 0\n",
        s.insn_processed,
        crate::COMPLEXITY_LIMIT_INSNS,
        s.max_states_per_insn,
        s.total_states,
        s.peak_states
    ));
    out
}

fn print_stats(log: &mut Log, s: &Search, depths: &[u32], start: Instant) {
    if log.level != 0 {
        let t = stats_block(s, depths, start, log.level);
        log.buf.push_str(&t);
    }
}

pub(crate) fn initial_state(pt: ProgType) -> VerifierState {
    let mut f = FuncState::new(-1, 0, 0);
    f.regs[1] = RegState::pointer(RegType::Ctx);
    let _ = pt;
    VerifierState {
        frames: vec![f],
        refs: Vec::new(),
        parent: None,
        insn_idx: 0,
        first_insn_idx: 0,
        last_insn_idx: 0,
        jmp_history: Vec::new(),
        may_goto_depth: 0,
        callback_unroll_depth: 0,
        dfs_depth: 0,
        speculative: false,
    }
}

impl Env<'_> {
    pub(crate) fn new_id(&mut self) -> u32 {
        self.search.id_gen += 1;
        self.search.id_gen
    }

    /// `verbose_linfo` for instruction `insn`.
    pub(crate) fn linfo(&mut self, insn: usize, prefix: &str) {
        let lines = &self.prog.opts.line_info;
        crate::line_info::verbose_linfo(&mut self.log, lines, self.prog.slots.len(), insn, prefix);
    }

    pub(crate) fn maps(&self) -> &[MapDef] {
        &self.prog.opts.maps
    }

    pub(crate) fn do_check(&mut self) -> Result<(), Reject> {
        let n = self.prog.slots.len();
        let mut do_print_state = false;
        let mut prev_insn_idx: i64 = -1;
        // do_check_common: each subprogram's walk starts without a previous line
        self.log.prev_linfo = None;
        self.log.scratch_all();
        loop {
            let idx = self.cur.insn_idx;
            if idx >= n {
                return Err(Bug::InsnIdx { idx, len: n }.into());
            }
            self.search.insn_processed += 1;
            if self.search.insn_processed > crate::COMPLEXITY_LIMIT_INSNS {
                return Err(Reject::TooLarge(self.search.insn_processed));
            }
            self.cur.last_insn_idx = prev_insn_idx.max(0) as usize;
            let marks = self.prog.info.cfg.marks[idx];
            self.search.prev_insn_idx = prev_insn_idx.max(0) as usize;
            self.search.hist_insn = None;
            let mut pruned = false;
            // iterator `next` calls are prune points and forced checkpoints (check_cfg)
            let prune_point = marks.prune_point || self.is_iter_next_insn(idx);
            if prune_point && self.is_state_visited(idx)? {
                if self.log.on() {
                    if do_print_state {
                        self.log.put(&format!("\nfrom {prev_insn_idx} to {idx}: safe\n"));
                    } else {
                        self.log.put(&format!("{idx}: safe\n"));
                    }
                }
                pruned = true;
            }
            if !pruned {
                if !self.cur.speculative {
                    self.search.seen[idx] = true;
                }
                if marks.jmp_point {
                    self.push_hist(None);
                }
                if self.log.verbose2() && do_print_state {
                    self.log.put(&format!("\nfrom {prev_insn_idx} to {idx}:"));
                    let cf = self.cur.curframe();
                    let maps = &self.prog.opts.maps;
                    self.log.print_state(&self.cur, cf, true, maps);
                    do_print_state = false;
                }
                if self.log.on() {
                    if self.log.scratched() {
                        self.log.print_insn_state(&self.cur, idx, &self.prog.opts.maps);
                    }
                    self.linfo(idx, "; ");
                    let before = self.log.buf.len();
                    let text = insn_text(self.prog.table(), idx, &self.prog.opts.kfuncs);
                    self.log.put(&format!("{idx}: {text}\n"));
                    self.log.prev_insn_print_pos = self.log.buf.len() - before;
                    self.log.prev_log_pos = self.log.buf.len();
                }
                prev_insn_idx = idx as i64;
                match self.do_check_insn(idx, &mut do_print_state)? {
                    Flow::Next => continue,
                    Flow::Exit => {}
                }
            }
            // process_bpf_exit
            self.log.scratch_all();
            self.update_branch_counts(self.cur.parent);
            match self.pop_stack() {
                Some((insn, prev)) => {
                    self.cur.insn_idx = insn;
                    prev_insn_idx = prev;
                    do_print_state = true;
                }
                None => break,
            }
        }
        Ok(())
    }

    /// Pops the most recently pushed branch into `cur`.
    fn pop_stack(&mut self) -> Option<(usize, i64)> {
        let p = self.search.pending.pop()?;
        if self.log.level & LEVEL2 == 0 {
            self.log.reset(p.log_pos);
        }
        self.cur = p.st;
        Some((p.insn_idx, p.prev_insn_idx))
    }

    /// Queues the current state (copied) to continue at `insn_idx` (`push_stack`).
    pub(crate) fn push_stack(&mut self, insn_idx: usize, prev_insn_idx: usize) -> Result<usize, Reject> {
        let mut st = self.cur.clone();
        st.insn_idx = insn_idx;
        if let Some(p) = st.parent
            && let Some(cp) = self.search.arena.get_mut(p)
        {
            cp.branches += 1;
        }
        self.search.pending.push(Pending {
            st,
            insn_idx,
            prev_insn_idx: prev_insn_idx as i64,
            log_pos: self.log.buf.len(),
        });
        if self.search.pending.len() > crate::COMPLEXITY_LIMIT_JMP_SEQ {
            return Err(Reject::JmpSeqTooComplex(self.search.pending.len()));
        }
        Ok(self.search.pending.len() - 1)
    }

    /// Walks the parent chain decrementing branch counts (`update_branch_counts`).
    fn update_branch_counts(&mut self, mut p: Option<usize>) {
        while let Some(i) = p {
            let Some(cp) = self.search.arena.get_mut(i) else { break };
            cp.branches = cp.branches.saturating_sub(1);
            if cp.branches > 0 {
                break;
            }
            let next = cp.st.parent;
            // an evicted checkpoint kept alive for its descendants can go now, unless its SCC
            // still has back-edges to propagate (then it stays until the end)
            if !self.search.arena[i].in_list && !self.incomplete_read_marks(&self.search.arena[i].st) {
                self.search.free_list_size = self.search.free_list_size.saturating_sub(1);
            }
            self.maybe_exit_scc(i);
            p = next;
        }
    }

    /// Type of register `r` before an access through it (NOT_INIT for invalid numbers).
    fn base_type(&self, r: u8) -> RegType {
        self.cur.cur().regs.get(r as usize).map_or(RegType::NotInit, |r| r.ty)
    }

    /// Dispatch by class (`do_check_insn`).
    fn do_check_insn(&mut self, idx: usize, do_print_state: &mut bool) -> Result<Flow, Reject> {
        let insn = self.prog.slots[idx];
        let stack_args = self.prog.opts.stack_args;
        match insn.class() {
            Class::Alu | Class::Alu64 => self.check_alu_op(&insn)?,
            Class::Ldx if stack_args && insn.is_stack_arg_load() => self.check_stack_arg_read(&insn)?,
            Class::Ldx => {
                let base = self.base_type(insn.src);
                self.check_load_mem(&insn, idx)?;
                self.save_aux_ptr_type(idx, base)?;
            }
            Class::Stx => {
                if insn.mode() == Some(Mode::Atomic) {
                    self.check_atomic(&insn, idx)?;
                } else {
                    if insn.mode() != Some(Mode::Mem) || insn.imm != 0 {
                        return Err(Reject::Reserved("STX"));
                    }
                    if stack_args && insn.is_stack_arg_store() {
                        self.check_stack_arg_write(&insn)?;
                    } else {
                        let base = self.base_type(insn.dst);
                        self.check_store_reg(&insn, idx)?;
                        self.save_aux_ptr_type(idx, base)?;
                    }
                }
            }
            Class::St if stack_args && insn.is_stack_arg_store() => self.check_stack_arg_write(&insn)?,
            Class::St => {
                if insn.mode() != Some(Mode::Mem) || insn.src != 0 {
                    return Err(Reject::Reserved("ST"));
                }
                self.check_reg_arg(insn.dst, crate::alu::RegOp::Src)?;
                let base = self.base_type(insn.dst);
                self.check_mem_access(
                    idx,
                    insn.dst,
                    insn.off as i64,
                    insn.size().bytes() as i64,
                    true,
                    None,
                    false,
                )?;
                self.save_aux_ptr_type(idx, base)?;
            }
            Class::Jmp | Class::Jmp32 => {
                self.search.jmps_processed += 1;
                let class = insn.class();
                match insn.jmp_op() {
                    Some(JmpOp::Call) => {
                        let kind = insn.call_kind();
                        let off_ok = insn.off == 0 || kind == Some(CallKind::Kfunc);
                        if insn.is_reg_src()
                            || !off_ok
                            || matches!(kind, None | Some(CallKind::Other))
                            || insn.dst != 0
                        {
                            return Err(Reject::Reserved("CALL"));
                        }
                        self.stack_args_before_call();
                        match kind {
                            Some(CallKind::Local) => self.check_func_call(&insn, idx)?,
                            Some(CallKind::Kfunc) => self.check_kfunc_call(&insn)?,
                            _ => {
                                self.check_helper_call(&insn, idx)?;
                                self.invalidate_outgoing_stack_args();
                            }
                        }
                        self.log.scratch_reg(0);
                        if kind == Some(CallKind::Local) {
                            return Ok(Flow::Next);
                        }
                    }
                    Some(JmpOp::Ja) => {
                        if insn.is_reg_src()
                            || insn.src != 0
                            || insn.dst != 0
                            || (class == Class::Jmp && insn.imm != 0)
                            || (class == Class::Jmp32 && insn.off != 0)
                        {
                            return Err(Reject::Reserved("JA"));
                        }
                        let t = idx as i64 + insn.jmp_offset() + 1;
                        self.cur.insn_idx = t as usize;
                        return Ok(Flow::Next);
                    }
                    Some(JmpOp::Exit) => {
                        if insn.is_reg_src()
                            || insn.imm != 0
                            || insn.src != 0
                            || insn.dst != 0
                            || class == Class::Jmp32
                        {
                            return Err(Reject::Reserved("EXIT"));
                        }
                        return self.process_exit(do_print_state);
                    }
                    _ => {
                        self.check_cond_jmp_op(&insn, idx)?;
                        return Ok(Flow::Next);
                    }
                }
            }
            Class::Ld => {
                if insn.is_ld_abs_ind() {
                    self.check_ld_abs(&insn)?;
                } else if insn.mode() == Some(Mode::Imm) {
                    self.check_ld_imm(&insn, idx)?;
                    self.cur.insn_idx += 1;
                } else {
                    return Err(Reject::InvalidLdMode);
                }
            }
        }
        self.cur.insn_idx += 1;
        Ok(Flow::Next)
    }

    /// `exit`: leak check, return to the caller or end the path.
    fn process_exit(&mut self, do_print_state: &mut bool) -> Result<Flow, Reject> {
        if self.cur.frames.len() == 1 {
            self.check_resource_leak("BPF_EXIT instruction in main prog")?;
        }
        if self.cur.frames.len() > 1 {
            self.prepare_func_exit()?;
            *do_print_state = true;
            return Ok(Flow::Next);
        }
        if self.cur.cur().in_async_callback_fn {
            self.check_async_return_code()?;
            return Ok(Flow::Exit);
        }
        if self.cur.cur().subprogno != 0 {
            self.check_global_subprog_return_code()?;
            return Ok(Flow::Exit);
        }
        match self.prog.opts.prog_type.ops().retval_range() {
            Some(range) => self.check_prog_return_code(range)?,
            None => self.check_reg_arg(0, crate::alu::RegOp::Src)?,
        }
        Ok(Flow::Exit)
    }

    /// Static stack-depth check along call chains (`check_max_stack_depth`).
    fn check_max_stack_depth(&mut self) -> Result<(), Reject> {
        let info = &self.prog.info;
        let slots = self.prog.slots;
        // depth-first over the static call graph from subprog 0
        let round = |d: u32| d.div_ceil(16) * 16;
        let depth_of = |sp: usize| round(self.search.stack_depth.get(sp).copied().unwrap_or(0));
        // the main program and every async callback start a call chain of their own
        let is_async = |sp: usize| self.search.is_async_cb.get(sp).copied().unwrap_or(false);
        let roots = (0..info.subprogs.len().max(1)).rev().filter(|&i| i == 0 || is_async(i));
        let mut stack: Vec<(usize, u32, usize)> = roots.map(|i| (i, depth_of(i), 1)).collect();
        let mut seen_paths = 0usize;
        while let Some((sp, depth, frames)) = stack.pop() {
            seen_paths += 1;
            if seen_paths > 100_000 {
                break;
            }
            if depth > 512 {
                return Err(Reject::CombinedStack(frames, depth as i64));
            }
            let Some(s) = info.subprogs.list.get(sp) else { continue };
            for (i, insn) in slots.iter().enumerate().take(s.end).skip(s.start) {
                let func_ref = insn.is_pseudo_func();
                if insn.call_kind() == Some(CallKind::Local) || func_ref {
                    let t = (i as i64 + insn.imm as i64 + 1) as usize;
                    // a reference to an async callback does not grow this chain's stack
                    let callee = info.subprogs.starting_at(t).filter(|&c| !(func_ref && is_async(c)));
                    if let Some(callee) = callee {
                        if frames + 1 > kbpf_isa::MAX_CALL_FRAMES {
                            return Err(Reject::MaxCallDepth(frames + 1));
                        }
                        let d = self.search.stack_depth.get(callee).copied().unwrap_or(0);
                        stack.push((callee, depth + round(d), frames + 1));
                    }
                }
            }
        }
        Ok(())
    }
}
