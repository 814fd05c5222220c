//! Opening the objects and verifying every program, in parallel: std threads pulling indices
//! from one atomic counter, first over the files, then over all their programs.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kbpf::kfunc::Registry;
use kbpf::verifier::VerifyOptions;
use kbpf::{Engine, LoadOptions, LoadedObject};

use super::defs::{Row, Stat, Value};
use super::filter::{Filters, base_name};
use crate::verify::{Judged, Target};

/// How to verify.
pub struct Plan<'a> {
    pub load: LoadOptions,
    pub registry: &'a Registry,
    pub stack_args: bool,
    pub log_level: u32,
    /// The target kernel's helper availability, as `kbpf verify` decides it.
    pub kernel_config: kbpf::verifier::KernelConfig,
    pub jobs: usize,
    pub progress: bool,
}

/// One verified program: its stats and log.
pub struct Verified {
    pub row: Row,
    pub path: String,
    pub log: String,
}

/// What a run produced.
pub struct Collected {
    pub progs: Vec<Verified>,
    /// Files that could not be read or opened, with why.
    pub unreadable: Vec<String>,
    pub files_done: usize,
    pub files_skipped: usize,
    pub progs_skipped: usize,
}

/// Runs `f(i)` for every `i < n` on `jobs` threads; results in index order.
fn par_map<T: Send>(n: usize, jobs: usize, bar: &ProgressBar, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let mut out: Vec<(usize, T)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..jobs.clamp(1, n.max(1)))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break mine;
                        }
                        mine.push((i, f(i)));
                        bar.inc(1);
                    }
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, t)| t).collect()
}

fn bar(show: bool, len: usize, what: &'static str) -> ProgressBar {
    if !show {
        return ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::hidden());
    }
    let b = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({elapsed})") {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_message(what);
    b
}

/// Opens every file the filters let through and verifies every program they let through.
pub fn collect(files: &[PathBuf], filters: &Filters, plan: &Plan<'_>) -> Collected {
    let wanted: Vec<&PathBuf> = files.iter().filter(|p| filters.file(&base_name(p))).collect();
    let files_skipped = files.len() - wanted.len();
    let b = bar(plan.progress, wanted.len(), "opening");
    let opened: Vec<Result<LoadedObject, String>> = par_map(wanted.len(), plan.jobs, &b, |i| {
        let path = wanted[i];
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        match catch_unwind(AssertUnwindSafe(|| kbpf::open_object(&bytes, &plan.load))) {
            Ok(r) => r.map_err(|e| format!("{}: {e}", path.display())),
            Err(_) => Err(format!("{}: kbpf bug: the loader panicked", path.display())),
        }
    });
    b.finish_and_clear();
    let mut unreadable = Vec::new();
    let mut jobs = Vec::new();
    let mut progs_skipped = 0;
    for (path, obj) in wanted.iter().zip(&opened) {
        match obj {
            Ok(o) => {
                let file = base_name(path);
                for p in &o.programs {
                    if filters.prog(&file, &p.name) {
                        jobs.push((path, o, p));
                    } else {
                        progs_skipped += 1;
                    }
                }
            }
            Err(e) => unreadable.push(e.clone()),
        }
    }
    let kfuncs = kbpf::kfunc_table(plan.registry);
    let b = bar(plan.progress, jobs.len(), "verifying");
    let progs = par_map(jobs.len(), plan.jobs, &b, |i| {
        let (path, obj, p) = jobs[i];
        let mut row = Row::default();
        row.set(Stat::FileName, Value::Str(base_name(path)));
        row.set(Stat::ProgName, Value::Str(p.name.clone()));
        let log = match catch_unwind(AssertUnwindSafe(|| verify_one(obj, p, plan, &kfuncs, &mut row))) {
            Ok(log) => log,
            Err(_) => {
                fill_failure(&mut row, "bug", "-");
                "kbpf bug: the verifier panicked\n".into()
            }
        };
        Verified { row, path: path.display().to_string(), log }
    });
    b.finish_and_clear();
    Collected { progs, unreadable, files_done: wanted.len(), files_skipped, progs_skipped }
}

fn fill_failure(row: &mut Row, outcome: &str, errno: &str) {
    row.set(Stat::Verdict, Value::Str("failure".into()));
    row.set(Stat::KbpfOutcome, Value::Str(outcome.into()));
    row.set(Stat::KbpfErrno, Value::Str(errno.into()));
}

/// Verifies one program the way `kbpf verify --prog NAME OBJECT` does; returns its log.
fn verify_one(
    obj: &LoadedObject,
    p: &kbpf::LoadedProgram,
    plan: &Plan<'_>,
    kfuncs: &kbpf::verifier::KfuncTable,
    row: &mut Row,
) -> String {
    let elf_name = |s: Option<&str>| Value::Str(s.filter(|s| !s.is_empty()).unwrap_or("unknown").to_string());
    row.set(Stat::ProgType, elf_name(p.prog_type.map(|t| t.name())));
    let attach = p.expected_attach_type.map_or("BPF_CGROUP_INET_INGRESS", |t| t.uapi_name());
    row.set(Stat::AttachType, Value::Str(attach.trim_start_matches("BPF_").to_ascii_lowercase()));
    row.set(Stat::ProgSize, Value::Num(p.insns.len() as i64));
    for s in [
        Stat::Duration,
        Stat::TotalInsns,
        Stat::TotalStates,
        Stat::PeakStates,
        Stat::MaxStatesPerInsn,
        Stat::MarkRead,
        Stat::StackDepth,
    ] {
        row.set(s, Value::Num(0));
    }
    let module = match kbpf::module_from_object(obj, p) {
        Ok(m) => m,
        Err(e) => {
            fill_failure(row, "loader", "-");
            return format!("{e}\n");
        }
    };
    let opts = VerifyOptions {
        log_level: plan.log_level,
        jit: true,
        stack_args: plan.stack_args,
        kfuncs: kfuncs.clone(),
        kernel_config: plan.kernel_config,
        ..Default::default()
    };
    let target = Target { opts, prog_type: None, engine: Engine::Jit, target_arch: None };
    match crate::verify::judge(&module, target, plan.registry) {
        Judged::Refused { kind, error } => {
            fill_failure(row, if kind == "loader" { "loader" } else { "unmodelled" }, "-");
            format!("{error}\n")
        }
        Judged::Verified { outcome, unsupported, stack_depth } => {
            let s = &outcome.stats;
            let n = |v: u64| Value::Num(i64::try_from(v).unwrap_or(i64::MAX));
            row.set(Stat::TotalInsns, n(s.processed_insns));
            row.set(Stat::TotalStates, n(s.total_states));
            row.set(Stat::PeakStates, n(s.peak_states));
            row.set(Stat::MaxStatesPerInsn, n(s.max_states_per_insn));
            row.set(Stat::MarkRead, n(s.mark_read));
            row.set(Stat::Duration, n(duration(&outcome.log)));
            row.set(Stat::StackDepth, n(stack_depth.unwrap_or_default().iter().map(|&d| u64::from(d)).sum()));
            match &outcome.error {
                None => {
                    let what = if unsupported.is_some() { "accepted_unrunnable" } else { "accepted" };
                    row.set(Stat::Verdict, Value::Str("success".into()));
                    row.set(Stat::KbpfOutcome, Value::Str(what.into()));
                    row.set(Stat::KbpfErrno, Value::Str("-".into()));
                }
                Some(e) => fill_failure(row, e.kind().name(), e.errno().name()),
            }
            let mut log = outcome.log;
            if let Some(u) = unsupported {
                log.push_str(&format!("unsupported: kbpf cannot run this program: {u}\n"));
            }
            log
        }
    }
}

/// The `verification time N usec` figure of the stats block.
fn duration(log: &str) -> u64 {
    log.lines()
        .rev()
        .find_map(|l| l.strip_prefix("verification time ")?.strip_suffix(" usec")?.parse().ok())
        .unwrap_or(0)
}
