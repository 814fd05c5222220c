//! The pipeline (`bpf_check`): length check, static passes, the main walk, global functions,
//! the whole-program checks after the walk, the stats block and the witness.

use crate::env::{Aux, Counters, Env, Program, Search, SubprogFacts, initial_state};
use crate::log::{LEVEL1, LEVEL2, Log, STATS, insn_text};
use crate::messages::{BtfReject, Reject};
use crate::prog_types::LoadAttach;
use crate::proven::Recorder;
use crate::{MapDef, MapKind, Stats, VerifyError, VerifyOptions, VerifyOutcome};
use kbpf_isa::{LdImm64Src, RawInsn, SlotIdx, SlotTable};
use kbpf_passes::check::{PseudoLdImm64, Resolver};
use kbpf_passes::{Errno, PassError, PassErrorKind, ResolveError};
use std::time::Instant;

struct MapResolver<'a> {
    maps: &'a [MapDef],
    /// `is_tracing_prog_type`: the program may not use maps with timers.
    tracing: bool,
    /// A socket filter: the program may not use maps with locks.
    socket_filter: bool,
    /// Sleepable programs use only the sleepable-safe map types.
    sleepable: bool,
    literal_fds: &'a [usize],
    ld_map: Vec<Option<u32>>,
    /// The target kernel's BTF, which `__ksym` references name.
    btf: Option<&'a crate::KernelBtf>,
    /// `CONFIG_KALLSYMS_ALL`.
    kallsyms_all: bool,
}

impl MapResolver<'_> {
    /// `check_pseudo_btf_id` for the kernel's own BTF: the id names a function (whose
    /// address kallsyms has) or a variable (listed only with `CONFIG_KALLSYMS_ALL`).
    fn ksym(&self, id: i32) -> Result<(), ResolveError> {
        let Some(btf) = self.btf else {
            return Err(ResolveError::Unmodelled("a __ksym reference without the target's BTF"));
        };
        let Some(t) = u32::try_from(id).ok().and_then(|i| btf.0.get(i)) else {
            return Err(ResolveError::InvalidBtfId(id));
        };
        match t.kind() {
            kbpf_elf::btf::Kind::Func => Ok(()),
            kbpf_elf::btf::Kind::Var if !self.kallsyms_all => {
                Err(ResolveError::KsymAddress(t.name().to_string()))
            }
            kbpf_elf::btf::Kind::Var => Err(ResolveError::Unmodelled("__ksym variables")),
            _ => Err(ResolveError::NotVarOrFunc(id)),
        }
    }
}

impl Resolver for MapResolver<'_> {
    fn resolve(&mut self, ld: PseudoLdImm64) -> Result<(), PassError> {
        let err = |e: ResolveError| PassError::new(ld.insn, PassErrorKind::Resolve(e));
        match ld.src {
            LdImm64Src::MapFd | LdImm64Src::MapValue if self.literal_fds.contains(&ld.insn) => {
                // the loader's own descriptors are never maps
                Err(err(if (0..=2).contains(&ld.imm) {
                    ResolveError::NotAMap(ld.imm)
                } else {
                    ResolveError::BadMapFd(ld.imm)
                }))
            }
            LdImm64Src::MapFd | LdImm64Src::MapValue => {
                // inner map templates have no fd
                let Some(idx) = self.maps.iter().position(|m| m.fd == ld.imm && !m.template) else {
                    return Err(err(ResolveError::BadMapFd(ld.imm)));
                };
                // check_map_prog_compatibility, when the map is first used
                {
                    use crate::btf::record::FieldKind as K;
                    let m = &self.maps[idx];
                    if self.tracing && (m.has_field(K::ListHead) || m.has_field(K::RbRoot)) {
                        return Err(err(ResolveError::TracingField("bpf_{list_head,rb_root}")));
                    }
                    if m.has_field(K::SpinLock) || m.has_field(K::ResSpinLock) {
                        if self.socket_filter {
                            return Err(err(ResolveError::SocketFilterSpinLock));
                        }
                        if self.tracing {
                            return Err(err(ResolveError::TracingField("bpf_spin_lock")));
                        }
                    }
                    if self.tracing && m.timer_off().is_some() {
                        return Err(err(ResolveError::TracingTimer));
                    }
                    if self.tracing && m.has_field(K::Wq) {
                        return Err(err(ResolveError::TracingField("bpf_wq")));
                    }
                    if self.tracing && m.has_field(K::TaskWork) {
                        return Err(err(ResolveError::TracingField("bpf_task_work")));
                    }
                }
                if self.maps[idx].kind == MapKind::StructOps {
                    return Err(err(ResolveError::StructOpsMap));
                }
                let inner = self.maps[idx].inner.and_then(|i| self.maps.get(i as usize));
                if self.sleepable
                    && !(self.maps[idx].kind.sleepable_ok() && inner.is_none_or(|i| i.kind.sleepable_ok()))
                {
                    return Err(err(ResolveError::SleepableMap));
                }
                if ld.src == LdImm64Src::MapValue {
                    let m = &self.maps[idx];
                    let off = ld.imm_hi as u32;
                    if off as i64 >= crate::domain::state::MAX_VAR_OFF {
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
            LdImm64Src::BtfId => self.ksym(ld.imm).map_err(err),
            // Imm and Func never reach the resolver; the map indexes need the load's fd_array
            _ => Err(err(ResolveError::FdArray)),
        }
    }
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
    run_with(slots, opts, None).0
}

/// [`run`] with a recorder of the states the walk reaches each instruction with
/// ([`crate::proven`]), handed back at the end.
pub(crate) fn run_with(
    slots: &[RawInsn],
    opts: &VerifyOptions,
    mut proven: Option<Box<Recorder>>,
) -> (VerifyOutcome, Option<Box<Recorder>>) {
    let start = Instant::now();
    let mut log = Log {
        level: opts.log_level & (LEVEL1 | LEVEL2 | STATS),
        btf: opts.btf.as_ref().map(|b| b.0.clone()),
        prog_btf: opts.prog_btf.as_ref().map(|b| b.0.clone()),
        ..Log::default()
    };
    if slots.is_empty() || slots.len() > crate::COMPLEXITY_LIMIT_INSNS as usize {
        // bpf_prog_load rejects the length before the verifier runs: no log.
        let r = Reject::Pass(PassError::new(0, PassErrorKind::BadLength));
        let error = VerifyError::new(None, r);
        return (
            VerifyOutcome {
                accepted: false,
                error: Some(error),
                log: String::new(),
                stats: Stats::default(),
                insn_aux: Vec::new(),
                witness: None,
            },
            proven,
        );
    }
    // bpf_prog_load_check_attach, also before the verifier: EINVAL, no log
    let attach =
        LoadAttach { expected_attach_type: opts.expected_attach_type, attach_btf_id: opts.attach_btf_id };
    let built = match opts.prog_type {
        crate::ProgType::LircMode2 if !opts.kernel_config.lirc_mode2 => {
            Err(crate::messages::AttachReject::TypeNotBuilt { prog_type: "lirc_mode2" })
        }
        _ => Ok(()),
    };
    let checked = built.and_then(|_| opts.prog_type.ops_with(opts.expected_attach_type).check_attach(attach));
    if let Err(r) = checked {
        let out = VerifyOutcome {
            accepted: false,
            error: Some(VerifyError::new(None, Reject::Attach(r))),
            log: String::new(),
            stats: Stats::default(),
            insn_aux: Vec::new(),
            witness: None,
        };
        return (out, proven);
    }
    // a kernel built without trampolines refuses their programs in bpf_prog_load: EPERM, no log
    if let Some(kind) = crate::btf::attach::needs_trampoline(opts).filter(|_| !opts.trampolines) {
        let out = VerifyOutcome {
            accepted: false,
            error: Some(VerifyError::new(None, Reject::Btf(BtfReject::TrampolineRefused(kind)))),
            log: String::new(),
            stats: Stats::default(),
            insn_aux: Vec::new(),
            witness: None,
        };
        return (out, proven);
    }
    let mut resolver = MapResolver {
        maps: &opts.maps,
        tracing: opts.prog_type.ops().is_tracing(),
        socket_filter: opts.prog_type.ops().kernel_type() == Some(kbpf_isa::KernelProgType::SocketFilter),
        sleepable: opts.sleepable || opts.prog_type.ops().sleepable(),
        literal_fds: &opts.literal_fds,
        ld_map: vec![None; slots.len()],
        btf: opts.btf.as_ref(),
        kallsyms_all: opts.kernel_config.kallsyms_all,
    };
    let helper_args = |id: i32| opts.helper_arg_count(id);
    let kfunc_args = |id: i32| opts.kfunc_arg_count(id);
    // decoded once: the static passes, the walk, the whole-program checks and the witness read
    // this table (a malformed slot is kept and refused where the kernel refuses it)
    let table = SlotTable::new(slots);
    // Subprograms first so that the level-2 header appears even when a later pass fails.
    // the main program's exception callback: a subprogram no call needs to reach
    let exception_cb = opts.funcs.iter().find(|f| f.exception_cb).map(|f| f.pc);
    let pre = kbpf_passes::subprogs::add_subprogs_with(&table, exception_cb);
    let nsub_found = pre.as_ref().map_or(1, |sp| sp.list.len().max(1));
    if let Ok(sp) = &pre
        && log.verbose2()
    {
        log.put(&sp.log_lines());
    }
    // add_subprog_and_kfunc: the kfunc calls' own refusals, then the exception callback's tag
    let early = match crate::calls::dev_bound::check_dev_bound_kfuncs(&table, opts) {
        Err((r, _)) => Some(r),
        Ok(()) if opts.several_exception_cbs => {
            Some(crate::messages::KfuncReject::SeveralExceptionCbs.into())
        }
        Ok(()) => None,
    };
    if pre.is_ok()
        && let Some(r) = early
    {
        log.put(&format!("{r}\n"));
        print_stats(&mut log, &Counters::default(), &vec![0; nsub_found], start);
        return (finish(log, Stats::default(), Some((r, 0)), opts.log_size), proven);
    }
    // check_btf_func / check_btf_line (the kernel runs them between check_subprogs and
    // resolving ld_imm64; kbpf's passes run those together, so they come first here)
    if let Ok(sp) = &pre
        && let Err(b) = btf_info_checks(&table, opts, sp)
    {
        let newline = if b.ends_line() { "\n" } else { "" };
        log.put(&format!("{b}{newline}"));
        print_stats(&mut log, &Counters::default(), &vec![0; nsub_found], start);
        return (finish(log, Stats::default(), Some((Reject::BtfInfo(b), 0)), opts.log_size), proven);
    }
    let passes = pre.and_then(|_| {
        kbpf_passes::run_static_passes(
            &table,
            opts.privileged,
            opts.stack_args,
            &mut resolver,
            &helper_args,
            &kfunc_args,
            exception_cb,
        )
    });
    let info = match passes {
        Ok(mut i) => {
            crate::calls::graph::mark_kfunc_callbacks(&table, opts, &mut i);
            i
        }
        Err(e) => {
            let insn = e.insn;
            if let PassErrorKind::BackEdge { from, to } = e.kind {
                // push_insn names both ends by their source lines
                let lines = &opts.line_info;
                crate::line_info::verbose_linfo(&mut log, lines, slots.len(), from, &format!("{from}: "));
                crate::line_info::verbose_linfo(&mut log, lines, slots.len(), to, &format!("{to}: "));
            }
            let r = Reject::Pass(e);
            log.put(&format!("{r}\n"));
            let depths = vec![0; nsub_found];
            print_stats(&mut log, &Counters::default(), &depths, start);
            return (finish(log, Stats::default(), Some((r, insn)), opts.log_size), proven);
        }
    };
    // check_btf_info without func_info: `check_abnormal_return` (the `.func` declarations stand
    // in for BTF func_info and declare int-returning functions)
    if opts.funcs.is_empty()
        && let Some(r) = abnormal_return(&info.subprogs)
    {
        log.put(&format!("{r}\n"));
        print_stats(&mut log, &Counters::default(), &vec![0; nsub_found], start);
        return (finish(log, Stats::default(), Some((r, 0)), opts.log_size), proven);
    }
    // check_attach_btf_id: the attach target of a BTF-attached program (after check_cfg)
    let attach = match crate::btf::attach::for_program(opts) {
        Ok(a) => a,
        Err(e) => {
            let r = match e {
                crate::btf::attach::AttachError::UnmodelledStructOps(s) => {
                    Reject::Unsupported(crate::messages::Unsupported::StructOps(s))
                }
                e => Reject::Btf(BtfReject::Attach(e)),
            };
            let text = r.to_string();
            if !text.is_empty() && !matches!(r, Reject::Unsupported(_)) {
                log.put(&format!("{text}\n"));
            }
            print_stats(&mut log, &Counters::default(), &vec![0; nsub_found], start);
            return (finish(log, Stats::default(), Some((r, 0)), opts.log_size), proven);
        }
    };
    if log.verbose2() {
        let text = |i: usize| insn_text(&table, i, &opts.kfuncs);
        log.put(&kbpf_passes::liveness::format_live_regs(&table, &info.live_regs, &info.scc, &text));
    }
    let nsub = info.subprogs.len();
    let stack_args = crate::protos::func_info::SubprogArgs::new(&info.subprogs, &opts.funcs);
    // mark_subprog_exc_cb: a callback, an async one (a call chain of its own), always called
    let exc_sub = exception_cb.and_then(|pc| info.subprogs.starting_at(SlotIdx::new(pc)));
    let marked = |v: bool| (0..nsub).map(|i| v || Some(i) == exc_sub).collect::<Vec<bool>>();
    let mut env = Env {
        prog: Program { table, info, opts, ld_map: resolver.ld_map, attach },
        aux: Aux::new(slots.len()),
        subs: SubprogFacts {
            stack_depth: vec![0; nsub],
            stack_args,
            global_called: marked(false),
            global_verified: vec![false; nsub],
            is_async_cb: marked(false),
            is_cb: marked(false),
            exception_cb: exc_sub,
            unreliable_proto: vec![false; nsub],
            fastcall: Default::default(),
        },
        search: Search { explored: vec![Vec::new(); slots.len()], ..Search::default() },
        stats: Counters::default(),
        log,
        cur: initial_state(opts.prog_type),
        proven: proven.take(),
    };
    env.subs.fastcall = crate::calls::fastcall::mark_fastcall_patterns(&env.prog);
    let res = env.do_check();
    let res = res.and_then(|_| {
        env.pop_log_after_success();
        env.do_check_subprogs()
    });
    // remove_fastcall_spills_fills: the kernel's depths from here on; the engines keep the
    // walk's (they run the pairs)
    let walked_depths = env.subs.stack_depth.clone();
    if res.is_ok() {
        env.subs.stack_depth = env.subs.fastcall.depths_after_removal(&env.prog, &walked_depths);
    }
    let res = res.and_then(|_| crate::calls::stack_depth::check_max_stack_depth(&env.prog, &env.subs));
    let res = res.and_then(|_| env.call().stack_args_after_walk());
    let stats = Stats {
        processed_insns: env.stats.insn_processed,
        total_states: env.stats.total_states,
        peak_states: env.stats.peak_states,
        max_states_per_insn: env.stats.max_states_per_insn,
        mark_read: 0,
    };
    let err = match res {
        Ok(()) => None,
        Err(r) => {
            let insn = env.cur.insn_idx.index();
            let last = match &r {
                Reject::Preceded(_, last) => last.as_ref(),
                r => r,
            };
            // the errors the kernel's `verbose_linfo` names the source line of
            let (before, after) = match last {
                Reject::InfiniteLoop(_)
                | Reject::InfiniteLoopStates { .. }
                | Reject::InvalidSpillSize
                | Reject::InvalidFillSize => (true, false),
                Reject::CtxAccess(..) => (false, true),
                _ => (false, false),
            };
            if before {
                env.linfo(insn, "; ");
            }
            let line = r.to_string();
            if matches!(last, Reject::ExceptionCbCall(_)) {
                env.log.put(&line);
            } else if !line.is_empty() {
                env.log.put(&format!("{line}\n"));
            }
            if after {
                env.linfo(insn, "; ");
            }
            Some((r, insn))
        }
    };
    // the search is over: its memory goes before the stats block and the witness
    drop(std::mem::take(&mut env.search));
    let proven = env.proven.take();
    // an accepted program loses its never-visited subprograms to dead-code removal before the
    // kernel prints their stack depths
    let shown: Vec<usize> = (0..nsub.max(1))
        .filter(|&i| {
            err.is_some()
                || i == 0
                || env
                    .prog
                    .info
                    .subprogs
                    .list
                    .get(i)
                    .is_none_or(|s| s.slots().any(|i| env.aux.seen(SlotIdx::new(i))))
        })
        .collect();
    let extra: Vec<u32> = shown.iter().map(|&i| may_goto_extra(&env, i, err.is_none())).collect();
    let loops: Vec<bool> = shown.iter().map(|&i| inlines_loop(&env, i, err.is_none())).collect();
    // `optimize_bpf_loop` first (three registers' slots below the 8-aligned frame), then
    // `may_goto`'s slots
    let depth_of = |d: &[u32]| -> Vec<u32> {
        (shown.iter().zip(&extra).zip(&loops))
            .map(|((&i, e), &l)| {
                let d = d.get(i).copied().unwrap_or(0);
                if l { d.next_multiple_of(8) + 24 + e } else { d + e }
            })
            .collect()
    };
    let depths = depth_of(&env.subs.stack_depth);
    // the frames the engines give each subprogram: the depths the walk saw
    let frame_depths = depth_of(&walked_depths);
    print_stats(&mut env.log, &env.stats, &depths, start);
    let sub_starts: Vec<usize> = env.prog.info.subprogs.list.iter().map(|s| s.start.index()).collect();
    let insn_aux = crate::env::insn_aux::insn_aux(&env.aux, &sub_starts);
    let mut out = finish(env.log, stats, err, opts.log_size);
    if out.accepted {
        match crate::witness::build(&env.prog.table, opts, &insn_aux, &frame_depths) {
            Ok(w) => out.witness = Some(w),
            Err(e) => crate::witness::bug(&mut out, e),
        }
    }
    out.insn_aux = insn_aux;
    (out, proven)
}

/// Stack the kernel's fixups add for `may_goto` in an accepted subprogram before it prints the
/// depths: 16 bytes for the JIT's timed `may_goto` (count and timestamp), 8 for the interpreter.
fn may_goto_extra(env: &Env<'_>, sub: usize, accepted: bool) -> u32 {
    let Some(s) = env.prog.info.subprogs.list.get(sub) else { return 0 };
    let has = s.slots().any(|i| env.prog.is_may_goto(i));
    match (accepted && has, env.prog.opts.jit) {
        (false, _) => 0,
        (true, true) => 16,
        (true, false) => 8,
    }
}

/// An accepted subprogram holds a `bpf_loop` call the kernel inlines (`optimize_bpf_loop`),
/// which spills r6-r8 below its frame.
fn inlines_loop(env: &Env<'_>, sub: usize, accepted: bool) -> bool {
    let Some(s) = env.prog.info.subprogs.list.get(sub) else { return false };
    accepted && s.slots().any(|i| env.aux.loop_inline.get(&i).is_some_and(|l| l.fit))
}

/// func_info (when `funcs` is BTF's) and line_info checks against the subprogram starts.
fn btf_info_checks(
    slots: &SlotTable<'_>,
    opts: &VerifyOptions,
    sp: &kbpf_passes::subprogs::Subprogs,
) -> Result<(), crate::BtfInfoReject> {
    let starts: Vec<usize> = sp.list.iter().map(|s| s.start.index()).collect();
    let starts = if starts.is_empty() { vec![0] } else { starts };
    if opts.btf_func_info {
        crate::line_info::check_func_info(&opts.funcs, &starts)?;
        scalar_returns(slots, opts, sp)?;
    }
    crate::line_info::check_line_info(&opts.line_info, slots, &starts)
}

/// `check_btf_func`: a subprogram other than the main one that uses LD_ABS/LD_IND or a tail
/// call must return an int or an enum by its BTF prototype (either may leave it early with
/// R0 = 0). The kernel knows those uses from `check_subprogs`, which runs first: when that
/// fails, its error comes later from the passes.
fn scalar_returns(
    slots: &SlotTable<'_>,
    opts: &VerifyOptions,
    sp: &kbpf_passes::subprogs::Subprogs,
) -> Result<(), crate::BtfInfoReject> {
    let mut sp = sp.clone();
    if kbpf_passes::subprogs::check_subprogs(slots, &mut sp).is_err() {
        return Ok(());
    }
    for (s, f) in sp.list.iter().zip(&opts.funcs).skip(1) {
        if s.has_ld_abs && !f.ret_scalar {
            return Err(crate::BtfInfoReject::LdAbsReturn);
        }
        if s.has_tail_call && !f.ret_scalar {
            return Err(crate::BtfInfoReject::TailCallReturn);
        }
    }
    Ok(())
}

/// `check_abnormal_return`: a subprogram (not the main one) may not use LD_ABS/LD_IND or tail
/// calls unless BTF says it returns an int.
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

fn stats_block(s: &Counters, depths: &[u32], start: Instant, level: u32) -> String {
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

fn print_stats(log: &mut Log, s: &Counters, depths: &[u32], start: Instant) {
    if log.level != 0 {
        let t = stats_block(s, depths, start, log.level);
        log.buf.push_str(&t);
    }
}
