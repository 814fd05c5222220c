//! `cargo xtask selftests`: the kernel's own BPF selftests as kbpf's real corpus.
//!
//! The sources are GPL test programs we do not own, so nothing of them enters the repository:
//! everything is fetched and built at test time in a cache directory
//! (`$KBPF_SELFTESTS_CACHE`, default `target/selftests` in the workspace):
//!
//! 1. [`cache`]: Debian's `linux-source-6.12` (installed with apt when we are root), the parts
//!    of it the build needs, libbpf built from the same source, `vmlinux.h` from the running
//!    kernel's BTF, and the libbpf oracle (`xtask/oracle/libbpf_load.c`, ours).
//! 2. [`compile`]: every `progs/*.c` with clang-19 and the selftests Makefile's BPF flags.
//! 3. [`oracle`]: each program of each object loaded by libbpf into the running kernel.
//! 4. [`kbpf_side`]: each program opened, relocated and verified by kbpf's library, in a worker
//!    process per object (a hang or a crash costs that object, not the run).
//! 5. [`report`]: the comparison per program type, as a table and as JSON, kept per run.

mod cache;
mod compile;
mod history;
pub mod jited;
mod kbpf_side;
mod oracle;
mod progdiff;
mod report;
pub mod test_run;
mod timing;
mod worker_proc;
pub mod xlated;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

pub use kbpf_side::worker;

/// What a run covers.
#[derive(Clone, Debug)]
pub struct Options {
    /// Only these objects (file stems, `verifier_and`), in this order.
    pub only: Vec<String>,
    /// At most this many objects: a fixed, evenly spread choice of the sorted list.
    pub sample: Option<usize>,
    /// Parallel jobs (default: the machine's cores).
    pub jobs: Option<usize>,
    /// Seconds kbpf may spend on one object before its worker is stopped.
    pub timeout_secs: u64,
}

const DEFAULT_TIMEOUT_SECS: u64 = 300;

impl Default for Options {
    fn default() -> Options {
        Options { only: Vec::new(), sample: None, jobs: None, timeout_secs: DEFAULT_TIMEOUT_SECS }
    }
}

/// The objects `cargo xtask test` checks: a fixed sample of program types and loader features
/// (maps, global data, subprograms, CO-RE, kfuncs, tail calls), small enough for its budget.
pub const TEST_SAMPLE: &[&str] = &[
    "verifier_and",
    "verifier_bounds",
    "verifier_cfg",
    "test_global_func9",
    "test_global_data",
    "test_core_reloc_kernel",
    "test_tc_link",
    "test_pkt_access",
    "xdp_synproxy_kern",
    "tailcall1",
    "bpf_cubic",
    "cpumask_success",
    "test_map_in_map",
    "test_ringbuf",
];

fn usage() -> &'static str {
    "usage: cargo xtask selftests [--only NAME[,NAME...]] [--sample N] [--jobs N] [--timeout SECS]"
}

/// Parses the command line of `cargo xtask selftests`.
pub fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value =
            |what: &str| it.next().cloned().ok_or_else(|| format!("{what} needs a value\n{}", usage()));
        match a.as_str() {
            "--only" => o.only.extend(value("--only")?.split(',').map(str::to_string)),
            "--sample" => o.sample = Some(value("--sample")?.parse().map_err(|e| format!("--sample: {e}"))?),
            "--jobs" => o.jobs = Some(value("--jobs")?.parse().map_err(|e| format!("--jobs: {e}"))?),
            "--timeout" => {
                o.timeout_secs = value("--timeout")?.parse().map_err(|e| format!("--timeout: {e}"))?
            }
            other => return Err(format!("unknown option {other:?}\n{}", usage())),
        }
    }
    Ok(o)
}

/// `cargo xtask selftests ...`.
pub fn main(args: &[String]) -> Result<bool, String> {
    let opts = parse_args(args)?;
    match run(&opts)? {
        Outcome::Skipped(why) => {
            println!("skipped: selftests ({why})");
            Ok(true)
        }
        Outcome::Ran(summary) => Ok(summary.gate()),
    }
}

/// A run's result: skipped with the reason and how to get the prerequisite, or the summary.
pub enum Outcome {
    Skipped(String),
    Ran(Box<report::Summary>),
}

/// The cache directory: `$KBPF_SELFTESTS_CACHE`, else `target/selftests` in the workspace.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("KBPF_SELFTESTS_CACHE") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => crate::workspace_root().join("target").join("selftests"),
    }
}

/// Everything: prerequisites, build, both loaders, the report.
pub fn run(opts: &Options) -> Result<Outcome, String> {
    let start = Instant::now();
    let jobs =
        opts.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let cache = cache::Cache::new(cache_dir());
    if let Some(why) = cache::missing() {
        return Ok(Outcome::Skipped(why));
    }
    cache.prepare()?;
    let sources = select(compile::sources(&cache)?, opts)?;
    println!("selftests: compiling {} programs' sources with {jobs} jobs", sources.len());
    let built = compile::compile_all(&cache, &sources, jobs)?;
    println!(
        "selftests: {} objects ({} compiled now), {} sources skipped (do not compile against this kernel)",
        built.objects.len(),
        built.fresh,
        built.failed.len()
    );
    let libbpf = oracle::run_all(&cache, &built.objects, jobs)?;
    let kbpf = kbpf_side::run_all(&built.objects, jobs, opts.timeout_secs)?;
    let mut summary = report::Summary::build(&libbpf, &kbpf, &built.failed, start.elapsed());
    if let Some((name, before)) = history::previous(&cache) {
        summary.changes_since = Some(name);
        summary.changes = history::changes(&before, &kbpf);
    }
    let full = opts.only.is_empty() && opts.sample.is_none();
    let dir = report::write(&cache, &summary, &libbpf, &kbpf, full)?;
    history::prune(&cache.runs(), history::KEEP_RUNS);
    print!("{}", summary.table());
    println!("selftests: report in {}", dir.display());
    Ok(Outcome::Ran(Box::new(summary)))
}

/// Compiles (or finds in the cache) the objects of the sources named, or of every source:
/// a command that reads the cache's objects must not depend on an earlier run having built them.
pub fn build_objects(cache: &cache::Cache, only: &[String], jobs: usize) -> Result<Vec<PathBuf>, String> {
    let opts = Options { only: only.to_vec(), ..Options::default() };
    let sources = select(compile::sources(cache)?, &opts)?;
    Ok(compile::compile_all(cache, &sources, jobs)?.objects)
}

/// The sources a run covers: `--only` by name, then `--sample` spread over the rest.
fn select(all: Vec<PathBuf>, opts: &Options) -> Result<Vec<PathBuf>, String> {
    let stem = |p: &PathBuf| p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut chosen = if opts.only.is_empty() {
        all
    } else {
        let mut v = Vec::new();
        for name in &opts.only {
            match all.iter().find(|p| stem(p) == *name) {
                Some(p) => v.push(p.clone()),
                None => return Err(format!("--only: no progs/{name}.c in the selftests")),
            }
        }
        v
    };
    if let Some(n) = opts.sample
        && n < chosen.len()
    {
        let step = chosen.len() as f64 / n.max(1) as f64;
        chosen = (0..n).map(|i| chosen[(i as f64 * step) as usize].clone()).collect();
    }
    Ok(chosen)
}

/// Runs `f` on every item with `jobs` threads; results in item order.
pub fn parallel<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let mut out: Vec<(usize, R)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..jobs.min(items.len()).max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_default()).collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_options() {
        let a: Vec<String> =
            ["--only", "a,b", "--sample", "3", "--jobs", "2"].iter().map(|s| s.to_string()).collect();
        let o = parse_args(&a).unwrap();
        assert_eq!(o.only, ["a", "b"]);
        assert_eq!((o.sample, o.jobs, o.timeout_secs), (Some(3), Some(2), DEFAULT_TIMEOUT_SECS));
        assert!(parse_args(&["--bogus".to_string()]).is_err());
        assert!(parse_args(&["--sample".to_string()]).is_err());
    }

    #[test]
    fn samples_are_fixed_and_spread() {
        let all: Vec<PathBuf> = (0..10).map(|i| PathBuf::from(format!("p{i}.c"))).collect();
        let o = Options { sample: Some(3), ..Default::default() };
        let got = select(all.clone(), &o).unwrap();
        assert_eq!(got, [PathBuf::from("p0.c"), PathBuf::from("p3.c"), PathBuf::from("p6.c")]);
        let only = Options { only: vec!["p7".into()], ..Default::default() };
        assert_eq!(select(all.clone(), &only).unwrap(), [PathBuf::from("p7.c")]);
        let missing = Options { only: vec!["nope".into()], ..Default::default() };
        assert!(select(all, &missing).is_err());
    }

    #[test]
    fn parallel_keeps_order() {
        let v: Vec<u32> = (0..100).collect();
        assert_eq!(parallel(&v, 4, |x| x * 2), v.iter().map(|x| x * 2).collect::<Vec<_>>());
    }
}
