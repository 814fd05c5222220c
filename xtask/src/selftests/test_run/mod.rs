//! `cargo xtask test-run-diff`: the selftests programs the running kernel loads and test-runs
//! (`BPF_PROG_TEST_RUN`), run by kbpf on the same inputs from the same initial maps on each
//! engine, and compared: return value, packet after the run, map contents after the run.
//!
//! The kernel side is `test_run_load` (`xtask/oracle/test_run_load.c`), which loads each
//! program afresh, runs it once and dumps the object's maps; its records are cached per object
//! and input in `test-run/oracle/` of the selftests cache. kbpf's side is a worker process per
//! object ([`worker`]). Programs that call helpers whose results depend on the environment
//! (time, randomness, the task, devices, sockets) are reported apart with those helpers, and
//! programs kbpf cannot run with the reason; neither counts as a pass.

mod compare;
pub mod packets;
pub mod worker;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::cache::{self, Cache};
use super::progdiff::stem;
use compare::{Outcome, Row};
use worker::Run;

/// The program types whose loaded programs the oracle test-runs (libbpf's names).
pub const KERNEL_TYPES: &[&str] = &[
    "socket_filter",
    "sched_cls",
    "sched_act",
    "xdp",
    "cgroup_skb",
    "lwt_in",
    "lwt_out",
    "lwt_xmit",
    "lwt_seg6local",
    "flow_dissector",
];

/// The objects `cargo xtask test` compares (tc and xdp programs with maps and global data;
/// `exceptions`: `bpf_throw` from subprograms and callbacks, default and own exception callbacks).
pub const TEST_SAMPLE: &[&str] =
    &["test_pkt_access", "test_global_data", "xdp_synproxy_kern", "test_xdp", "exceptions"];

/// What a run covers.
#[derive(Clone, Debug)]
pub struct Options {
    pub only: Vec<String>,
    pub jobs: usize,
    pub timeout: Duration,
    /// Also the arm64 JIT: the worker cross-built for aarch64, run by `qemu-aarch64-static`.
    pub arm64: bool,
}

fn usage() -> &'static str {
    "usage: cargo xtask test-run-diff [--only NAME[,NAME...]] [--jobs N] [--timeout SECS] [--arm64]"
}

pub fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        only: Vec::new(),
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        timeout: Duration::from_secs(300),
        arm64: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value =
            |what: &str| it.next().cloned().ok_or_else(|| format!("{what} needs a value\n{}", usage()));
        match a.as_str() {
            "--only" => o.only.extend(value("--only")?.split(',').map(str::to_string)),
            "--arm64" => o.arm64 = true,
            "--jobs" => o.jobs = value("--jobs")?.parse().map_err(|e| format!("--jobs: {e}"))?,
            "--timeout" => {
                o.timeout =
                    Duration::from_secs(value("--timeout")?.parse().map_err(|e| format!("--timeout: {e}"))?)
            }
            other => return Err(format!("unknown option {other:?}\n{}", usage())),
        }
    }
    o.jobs = o.jobs.max(1);
    Ok(o)
}

/// `cargo xtask test-run-diff ...`.
pub fn main(args: &[String]) -> Result<bool, String> {
    let opts = parse_args(args)?;
    match run(&opts)? {
        None => Ok(true),
        Some(s) => {
            print!("{}", s.text);
            println!("test-run-diff: report in {}", s.report.display());
            Ok(true)
        }
    }
}

/// A finished comparison.
pub struct Summary {
    pub text: String,
    pub report: PathBuf,
    /// Runs compared and runs that differ, over every engine.
    pub compared: usize,
    pub differing: usize,
}

/// Everything; `None` when the prerequisites are missing (printed as a skip).
pub fn run(opts: &Options) -> Result<Option<Summary>, String> {
    let start = Instant::now();
    let cache = Cache::new(super::cache_dir());
    if let Some(why) = cache::missing() {
        println!("skipped: test-run-diff ({why})");
        return Ok(None);
    }
    cache.prepare()?;
    let bin = cache.test_run_oracle_bin()?;
    let dir = cache.root.join("test-run");
    let inputs = write_inputs(&dir)?;
    // a fresh cache has only what earlier runs compiled: build what this run needs
    let mut objects: Vec<PathBuf> = super::build_objects(&cache, &opts.only, opts.jobs)?
        .into_iter()
        .filter(|p| !opts.only.is_empty() || may_run(&cache, p))
        .collect();
    objects.sort();
    if let Some(name) = opts.only.iter().find(|o| !objects.iter().any(|p| stem(p) == **o)) {
        return Err(format!("--only: {name}.c does not compile against this kernel's vmlinux.h"));
    }
    println!("test-run-diff: {} objects, {} jobs", objects.len(), opts.jobs);
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut engines: Vec<String> = worker::host_engines().into_iter().map(|(n, _)| n).collect();
    let arm64 = if opts.arm64 { Some(arm64_worker()?) } else { None };
    if arm64.is_some() {
        engines.push("jit-aarch64".into());
    }
    let rows: Vec<Row> = super::parallel(&objects, opts.jobs, |obj| {
        let kernel =
            inputs.iter().map(|(name, file)| (name.clone(), oracle(&dir, &bin, obj, name, file))).collect();
        let mut ours = kbpf_runs(Command::new(&exe).arg("test-run-kbpf").arg(obj), opts.timeout);
        if let Some(arm) = &arm64 {
            let mut cmd = Command::new("qemu-aarch64-static");
            cmd.args(["-L", "/usr/aarch64-linux-gnu"])
                .arg(arm)
                .args(["test-run-kbpf", "--engines", "jit"])
                .arg(obj);
            // an arm64 failure is that engine's, not the host engines'
            match (&mut ours, kbpf_runs(&mut cmd, opts.timeout.saturating_mul(4))) {
                (Ok(v), Ok(more)) => v.extend(more),
                (Ok(v), Err(e)) => v.push(Run {
                    prog: "*".into(),
                    engine: "jit-aarch64".into(),
                    outcome: "cannot_run".into(),
                    error: format!("arm64 worker: {e}"),
                    ..Default::default()
                }),
                (Err(_), _) => {}
            }
        }
        compare::object(&stem(obj), &kernel, &ours, &engines)
    })
    .into_iter()
    .flatten()
    .collect();
    let text = compare::report(&rows, start.elapsed());
    let report = dir.join("report.txt");
    fs::write(&report, &text).map_err(|e| format!("{}: {e}", report.display()))?;
    let compared = rows.iter().filter(|r| matches!(r.outcome, Outcome::Same | Outcome::Differs(_))).count();
    let differing = rows.iter().filter(|r| matches!(r.outcome, Outcome::Differs(_))).count();
    Ok(Some(Summary { text, report, compared, differing }))
}

/// Whether the object has a program of a test-run type the kernel accepts, by the selftests'
/// cached oracle records (an object without a record is tried).
fn may_run(cache: &Cache, obj: &Path) -> bool {
    let Ok(text) = fs::read_to_string(cache.oracle_out().join(format!("{}.jsonl", stem(obj)))) else {
        return true;
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .any(|r| r["outcome"] == "accepted" && KERNEL_TYPES.iter().any(|t| r["prog_type"] == *t))
}

/// The input packets as files for the oracle.
fn write_inputs(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let inputs = dir.join("inputs");
    fs::create_dir_all(&inputs).map_err(|e| format!("{}: {e}", inputs.display()))?;
    packets::INPUTS
        .iter()
        .map(|(name, build)| {
            let file = inputs.join(name);
            let bytes = build();
            if fs::read(&file).ok().as_deref() != Some(&bytes[..]) {
                fs::write(&file, &bytes).map_err(|e| format!("{}: {e}", file.display()))?;
            }
            Ok((name.to_string(), file))
        })
        .collect()
}

/// The oracle's records of one object on one input, by program name (cached until the object,
/// the input or the oracle changes). An error is the whole object's.
fn oracle(dir: &Path, bin: &Path, obj: &Path, input: &str, file: &Path) -> Result<Vec<Value>, String> {
    let out_dir = dir.join("oracle");
    fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let out = out_dir.join(format!("{}.{input}.jsonl", stem(obj)));
    if !cache::newer_than(&out, &[obj, bin, file]) {
        let o = Command::new(bin).arg("--test-run").arg(file).arg(obj).output().map_err(|e| e.to_string())?;
        if !o.status.success() {
            return Err(format!("test_run_load failed: {}", String::from_utf8_lossy(&o.stderr).trim()));
        }
        fs::write(&out, &o.stdout).map_err(|e| e.to_string())?;
    }
    let text = fs::read_to_string(&out).map_err(|e| e.to_string())?;
    Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
}

/// The worker for aarch64: this xtask cross-built (debug) for it, built when out of date.
fn arm64_worker() -> Result<PathBuf, String> {
    if let Some(why) = crate::arm64::unavailable() {
        return Err(format!("--arm64: {why}"));
    }
    let status = crate::arm64::cross(&mut Command::new(env!("CARGO")))
        .args(["build", "--target", crate::arm64::TARGET, "-p", "xtask"])
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err("--arm64: the cross build of xtask failed".into());
    }
    Ok(crate::workspace_root().join("target").join(crate::arm64::TARGET).join("debug/xtask"))
}

/// kbpf's runs of one object, from a worker process (`cmd`) stopped after `timeout`; an
/// error is the whole object's (the worker failed, crashed or hung).
fn kbpf_runs(cmd: &mut Command, timeout: Duration) -> Result<Vec<Run>, String> {
    let out = super::worker_proc::run_worker::<Run>(cmd, timeout)?;
    if out.timed_out {
        return Err(format!("kbpf's worker took more than {}s", timeout.as_secs()));
    }
    if !out.status.success() {
        let (status, n, last) = (out.status, out.records.len(), out.last_err_line());
        return Err(format!("kbpf's worker failed ({status}) after {n} runs: {last}"));
    }
    Ok(out.records)
}
