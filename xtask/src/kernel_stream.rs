//! `cargo xtask kernel-diff --stream --count N [--seed S] [--jobs J]`: kernel-diff at volume.
//!
//! Programs come from the oracle's generator in batches (each batch is the whole family set,
//! about 4,500 cases, from its own seed derived from `S` and the batch number), each one is
//! loaded into the running kernel and verified by kbpf, and only the comparison is kept:
//! verdict, errno, first error line (both reject), processed instructions (both accept) and
//! the level-1 log where both are short. Nothing is written for an agreeing program; a
//! mismatch is minimised (instructions dropped while the same disagreement stays) and appended
//! to `target/kernel-diff-stream/seed-S/<family>.jsonl`, which `cargo xtask kernel-diff --files
//! --dir DIR` replays. A progress line every 1,000 programs keeps partial figures.

use std::collections::{BTreeMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use kbpf::isa::{Insn, Program};
use kbpf_oracle::capture::write_jsonl;
use kbpf_oracle::case::{RecordOptions, record_case, request_for};
use kbpf_oracle::compare::normalize_log;
use kbpf_oracle::generator::{Rng, generate};
use kbpf_oracle::{CapturedCase, Case, KernelRecord, LogLevel, create_maps, error_line, load};
use kbpf_soundness::minimise::minimise;

use crate::kernel_diff::options;
use crate::workspace_root;

/// Distinct disagreements (kind, kernel line, kbpf line) minimised and written; the others are
/// counted only.
const KEEP_PER_SIGNATURE: usize = 3;

struct Opts {
    count: u64,
    seed: u64,
    jobs: u64,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts { count: 100_000, seed: 1, jobs: 1 };
    let mut it = args.iter().filter(|a| *a != "--stream");
    while let Some(a) = it.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            let v = it.next().ok_or(format!("{name} needs a value"))?;
            v.parse().map_err(|_| format!("{name} {v:?} is not a number"))
        };
        match a.as_str() {
            "--count" => o.count = num("--count")?,
            "--seed" => o.seed = num("--seed")?,
            "--jobs" => o.jobs = num("--jobs")?.max(1),
            other => return Err(format!("kernel-diff --stream: unknown option {other}")),
        }
    }
    Ok(o)
}

/// How kbpf and the kernel disagree on one program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    /// kbpf accepts, the kernel rejects: a potential false accept.
    KbpfAccepts,
    /// The kernel accepts, kbpf rejects.
    KbpfRejects,
    /// Both reject, different errno.
    Errno,
    /// Both reject, different first error line.
    ErrorLine,
    /// Both accept, different processed-instruction count.
    Processed,
    /// Same verdict, different normalised level-1 log (both logs short).
    Log,
}

/// kbpf's side: verdict, errno name, error line, processed count, log.
struct Kbpf {
    accepted: bool,
    errno: Option<String>,
    error_line: Option<String>,
    processed: u64,
    log: String,
}

fn kbpf(case: &Case) -> Kbpf {
    let out = kbpf::verifier::verify(&crate::kernel_diff::slots(case), &options(case, 1 | 4));
    Kbpf {
        accepted: out.accepted,
        errno: out.error.as_ref().map(|e| e.errno().name().to_string()),
        error_line: if out.accepted { None } else { error_line(&out.log) },
        processed: out.stats.processed_insns,
        log: out.log,
    }
}

/// The kernel's record of `case` (level 1|4), with a 1 MiB log: the oracle's default 16 MiB
/// buffer is zeroed on every load, which was three quarters of the time.
fn kernel(case: &Case) -> KernelRecord {
    let Ok(maps) = create_maps(&case.maps) else { return record_case(case, RecordOptions::default()) };
    let mut req = request_for(case, LogLevel::LEVEL1 | LogLevel::STATS);
    req.log_size = 1 << 20;
    req.map_fds = maps.iter().map(|m| m.raw()).collect();
    let Ok(slots) = kbpf_oracle::case::resolve_for_kernel(case, &mut req) else {
        return record_case(case, RecordOptions::default());
    };
    let mut v = load(&slots, &req);
    if v.log_truncated {
        // ENOSPC is the buffer's: the verdict and stats from a stats-only load, the error line
        // from the kept tail of the rotating log (as the oracle's record does)
        req.log_level = LogLevel::STATS;
        let q = load(&slots, &req);
        (v.accepted, v.errno, v.stats) = (q.accepted, q.errno, q.stats);
        if q.accepted {
            v.error_line = None;
        }
    }
    let keep = v.log.len() <= 64 << 10 && !v.log_truncated;
    KernelRecord {
        accepted: v.accepted,
        errno: v.errno,
        error_line: v.error_line,
        stats: v.stats,
        log_level: (LogLevel::LEVEL1 | LogLevel::STATS).0,
        log: keep.then_some(v.log),
        log_level2: None,
        log_truncated: v.log_truncated,
        kernel: String::new(),
        btf: None,
    }
}

/// The first disagreement between the two sides, with each side's summary.
fn disagreement(k: &KernelRecord, u: &Kbpf) -> Option<(Kind, String, String)> {
    let kline = || k.error_line.clone().unwrap_or_default();
    let uline = || u.error_line.clone().unwrap_or_default();
    let kind = match (k.accepted, u.accepted) {
        (false, true) => return Some((Kind::KbpfAccepts, kline(), "accepted".into())),
        (true, false) => return Some((Kind::KbpfRejects, "accepted".into(), uline())),
        (false, false) if k.error_line != u.error_line => Kind::ErrorLine,
        (false, false) if k.errno != u.errno.as_deref().and_then(kbpf_oracle::Errno::from_name) => {
            return Some((Kind::Errno, format!("{:?}", k.errno), format!("{:?}", u.errno)));
        }
        (true, true) if k.stats.processed_insns != Some(u.processed) => {
            return Some((
                Kind::Processed,
                format!("processed {:?}", k.stats.processed_insns),
                format!("processed {}", u.processed),
            ));
        }
        _ => Kind::Log,
    };
    if kind == Kind::ErrorLine {
        return Some((kind, kline(), uline()));
    }
    let klog = k.log.as_deref().filter(|_| !k.log_truncated)?;
    let (kn, un) = (normalize_log(klog), normalize_log(&u.log));
    if kn == un {
        return None;
    }
    let (a, b) = kn
        .lines()
        .chain(std::iter::repeat("(end)"))
        .zip(un.lines().chain(std::iter::repeat("(end)")))
        .find(|(a, b)| a != b)
        .unwrap_or(("", ""));
    Some((Kind::Log, a.to_string(), b.to_string()))
}

/// `case` minimised while the same disagreement (kind and both lines) stays. Cases that declare
/// functions (BTF `func_info` by instruction index) or do not decode are kept whole.
fn minimised(case: &Case, want: &(Kind, String, String)) -> Case {
    let Ok(prog) = Program::from_slots(&case.slots) else { return case.clone() };
    if !case.funcs.is_empty() {
        return case.clone();
    }
    let with = |insns: &[Insn]| -> Option<Case> {
        let p = Program::new(insns.to_vec()).ok()?;
        Some(Case { slots: p.to_slots(), ..case.clone() })
    };
    let insns: Vec<Insn> = prog.insns().to_vec();
    let min = minimise(&insns, &mut |p| {
        with(p).is_some_and(|c| disagreement(&kernel(&c), &kbpf(&c)).as_ref() == Some(want))
    });
    with(&min).unwrap_or_else(|| case.clone())
}

#[derive(Default)]
struct Totals {
    programs: u64,
    distinct: HashSet<u64>,
    kernel_accepts: u64,
    kbpf_accepts: u64,
    both_reject: u64,
    both_accept: u64,
    logs_compared: u64,
    by_kind: BTreeMap<Kind, u64>,
    signatures: BTreeMap<(Kind, String, String), usize>,
    written: u64,
}

impl Totals {
    fn line(&self, secs: f64) -> String {
        let mism: u64 = self.by_kind.values().sum();
        format!(
            "{} programs ({} distinct), kernel accepts {}, kbpf accepts {}, both reject {}, both accept {}, \
             logs compared {}, mismatches {} {:?}, {:.0}s ({:.0}/s)",
            self.programs,
            self.distinct.len(),
            self.kernel_accepts,
            self.kbpf_accepts,
            self.both_reject,
            self.both_accept,
            self.logs_compared,
            mism,
            self.by_kind,
            secs,
            self.programs as f64 / secs.max(1e-9)
        )
    }
}

fn fingerprint(c: &Case) -> u64 {
    let mut h = DefaultHasher::new();
    c.slots.iter().map(|s| s.to_bytes()).collect::<Vec<_>>().hash(&mut h);
    c.prog_type.name().hash(&mut h);
    c.prog_flags.hash(&mut h);
    format!("{:?}{:?}", c.maps, c.funcs).hash(&mut h);
    h.finish()
}

/// Seed of batch `b`.
fn batch_seed(seed: u64, b: u64) -> u64 {
    Rng::new(seed).fork(b.wrapping_add(0x5743_7265_616d)).next_u64()
}

/// Runs the streaming comparison.
pub fn main(args: &[String]) -> Result<bool, String> {
    let o = parse(args)?;
    kbpf_oracle::available().map_err(|e| format!("kernel-diff --stream needs the kernel oracle: {e}"))?;
    let out_dir = workspace_root().join("target/kernel-diff-stream").join(format!("seed-{}", o.seed));
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    println!(
        "kernel-diff --stream: {} programs, seed {}, mismatches into {}",
        o.count,
        o.seed,
        out_dir.display()
    );
    let start = Instant::now();
    let shared = Mutex::new(Totals::default());
    let next_batch = AtomicU64::new(0);
    let taken = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..o.jobs {
            s.spawn(|| {
                while taken.load(Ordering::Relaxed) < o.count {
                    let b = next_batch.fetch_add(1, Ordering::Relaxed);
                    for case in generate(batch_seed(o.seed, b), 1.0) {
                        if taken.fetch_add(1, Ordering::Relaxed) >= o.count {
                            break;
                        }
                        one(&case, b, &shared, &out_dir, start);
                    }
                }
            });
        }
    });
    let t = shared.into_inner().unwrap_or_else(|e| e.into_inner());
    println!("kernel-diff --stream: seed {}: {}", o.seed, t.line(start.elapsed().as_secs_f64()));
    for ((kind, k, u), n) in &t.signatures {
        println!("  {n:>7} x {kind:?}: kernel `{k}` / kbpf `{u}`");
    }
    println!("  {} minimised mismatches written under {}", t.written, out_dir.display());
    let false_accepts = t.by_kind.get(&Kind::KbpfAccepts).copied().unwrap_or(0);
    Ok(false_accepts == 0 && t.by_kind.keys().all(|k| *k == Kind::Log))
}

fn one(case: &Case, batch: u64, shared: &Mutex<Totals>, out_dir: &std::path::Path, start: Instant) {
    let k = kernel(case);
    let u = kbpf(case);
    let d = disagreement(&k, &u);
    let fp = fingerprint(case);
    let keep = {
        let mut t = shared.lock().unwrap_or_else(|e| e.into_inner());
        t.programs += 1;
        t.distinct.insert(fp);
        t.kernel_accepts += k.accepted as u64;
        t.kbpf_accepts += u.accepted as u64;
        t.both_reject += (!k.accepted && !u.accepted) as u64;
        t.both_accept += (k.accepted && u.accepted) as u64;
        t.logs_compared += (k.accepted == u.accepted && k.log.is_some() && !k.log_truncated) as u64;
        if t.programs.is_multiple_of(1_000) {
            println!("kernel-diff --stream: {}", t.line(start.elapsed().as_secs_f64()));
            let _ = std::io::stdout().flush();
        }
        match &d {
            None => false,
            Some(sig) => {
                *t.by_kind.entry(sig.0).or_default() += 1;
                let n = t.signatures.entry(sig.clone()).or_default();
                *n += 1;
                *n <= KEEP_PER_SIGNATURE
            }
        }
    };
    let Some(sig) = d.filter(|_| keep) else { return };
    println!(
        "mismatch {:?} {}/{} (batch {batch}): kernel `{}` / kbpf `{}`",
        sig.0, case.family, case.name, sig.1, sig.2
    );
    let mut min = minimised(case, &sig);
    min.name = format!("b{batch}_{}_{:?}", case.name, sig.0);
    let rec = CapturedCase { kernel: kernel(&min), case: min };
    // one file per mismatch family; appended by rewriting (rare: a few per signature)
    static FILES: Mutex<()> = Mutex::new(());
    let _files = FILES.lock().unwrap_or_else(|e| e.into_inner());
    let fam_file = out_dir.join(format!("{}.jsonl", rec.case.family));
    let mut all: Vec<CapturedCase> = std::fs::read_to_string(&fam_file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    all.push(rec);
    let _ = write_jsonl(out_dir, &all);
    shared.lock().unwrap_or_else(|e| e.into_inner()).written += 1;
}
