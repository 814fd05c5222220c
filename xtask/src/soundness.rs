//! `cargo xtask soundness --count N --seed S [--start I] [--runs R] [--jobs J] [--time SECS] [--no-kernel] [--no-save]`:
//! N generated programs (`kbpf-soundness`); each one kbpf accepts runs R times on the checked
//! interpreter against the bounds the verifier recorded per instruction. A violation is
//! minimised and written to `tests/soundness/` (replayed by `cargo test`, so by `cargo xtask
//! test`). Where the kernel oracle is available each kbpf accept is also loaded into the
//! running kernel: an accept the kernel refuses is a potential false accept, counted; the first
//! few are minimised into `target/soundness/false-accepts/`. `--case FILE` checks one assembly
//! file (kbpf's verdict, the kernel's, the harness).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use kbpf::isa::{Insn, Program};
use kbpf_oracle::{LoadRequest, LogLevel, ProgType as KernelProgType};
use kbpf_soundness::minimise::minimise;
use kbpf_soundness::{Totals, cases, check};

use crate::workspace_root;

struct Opts {
    count: u64,
    /// The first program index (programs `start..start + count` of the seed).
    start: u64,
    seed: u64,
    runs: u64,
    jobs: u64,
    kernel: bool,
    save: bool,
    /// Stop drawing programs after this many seconds (the figures so far are printed).
    time: Option<u64>,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o =
        Opts { count: 10_000, start: 0, seed: 1, runs: 32, jobs: 1, kernel: true, save: true, time: None };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            let v = it.next().ok_or(format!("{name} needs a value"))?;
            v.parse().map_err(|_| format!("{name} {v:?} is not a number"))
        };
        match a.as_str() {
            "--count" => o.count = num("--count")?,
            "--seed" => o.seed = num("--seed")?,
            "--start" => o.start = num("--start")?,
            "--runs" => o.runs = num("--runs")?,
            "--jobs" => o.jobs = num("--jobs")?.max(1),
            "--no-kernel" => o.kernel = false,
            "--no-save" => o.save = false,
            "--time" => o.time = Some(num("--time")?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(o)
}

/// The running kernel's verdict on `insns` as a syscall program, and its error line.
fn kernel_verdict(insns: &[Insn]) -> Option<(bool, String)> {
    let prog = Program::new(insns.to_vec()).ok()?;
    let slots = prog.to_slots();
    // the verdict without a log (the kernel formats nothing); a refusal is loaded again for
    // its error line
    let mut req = LoadRequest::new(KernelProgType::Syscall);
    req.log_level = LogLevel::NONE;
    req.log_size = 0;
    if kbpf_oracle::load(&slots, &req).accepted {
        return Some((true, String::new()));
    }
    req.log_level = LogLevel::LEVEL1;
    // the default 16 MiB log is zeroed on every load; a longer log takes a stats-only reload
    req.log_size = 1 << 20;
    let v = kbpf_oracle::load(&slots, &req);
    if v.log_truncated {
        req.log_level = LogLevel::STATS;
        let q = kbpf_oracle::load(&slots, &req);
        return Some((q.accepted, v.error_line.filter(|_| !q.accepted).unwrap_or_default()));
    }
    Some((v.accepted, v.error_line.unwrap_or_default()))
}

fn kbpf_accepts(insns: &[Insn]) -> bool {
    Program::new(insns.to_vec())
        .is_ok_and(|p| kbpf::verifier::verify(&p.to_slots(), &check::options()).accepted)
}

#[derive(Default)]
struct Shared {
    totals: Totals,
    false_accepts: u64,
    kernel_checked: u64,
    saved: Vec<String>,
    false_accept_files: Vec<String>,
    kernel_time: std::time::Duration,
}

/// `--case FILE`: one assembly file through kbpf, the kernel and the harness.
fn one_case(path: &str, runs: u64) -> Result<bool, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let insns = cases::parse(&text)?;
    let prog = Program::new(insns.clone()).map_err(|e| e.to_string())?;
    let out = kbpf::verifier::verify(&prog.to_slots(), &check::options());
    println!(
        "kbpf: {}",
        if out.accepted {
            "accepted".to_string()
        } else {
            format!("rejected: {}", out.log.lines().last().unwrap_or(""))
        }
    );
    if kbpf_oracle::available().is_ok() {
        let (a, line) = kernel_verdict(&insns).unwrap_or_default();
        println!("kernel: {}", if a { "accepted".to_string() } else { format!("rejected: {line}") });
    }
    let r = check(&insns, runs, 1, &check::registry());
    println!("harness: {:?}", r.violation);
    Ok(r.violation.is_none())
}

/// Runs the harness.
pub fn main(args: &[String]) -> Result<bool, String> {
    if args.first().is_some_and(|a| a == "--case") {
        let path = args.get(1).ok_or("--case needs a file")?;
        return one_case(path, 200);
    }
    let o = parse(args)?;
    let kernel = o.kernel
        && match kbpf_oracle::available() {
            Ok(()) => true,
            Err(e) => {
                println!("soundness: no kernel comparison ({e})");
                false
            }
        };
    let reg = check::registry();
    let next = AtomicU64::new(0);
    let shared = Mutex::new(Shared::default());
    let start = Instant::now();
    let fa_dir = workspace_root().join("target/soundness/false-accepts");
    std::thread::scope(|s| {
        for _ in 0..o.jobs {
            s.spawn(|| {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let i = o.start.saturating_add(n);
                    if n >= o.count || o.time.is_some_and(|t| start.elapsed().as_secs() >= t) {
                        break;
                    }
                    let insns = kbpf_soundness::program(o.seed, i);
                    let r = check(&insns, o.runs, o.seed ^ i, &reg);
                    let tk = Instant::now();
                    let kv = if kernel && r.accepted { kernel_verdict(&insns) } else { None };
                    let tk = tk.elapsed();
                    let mut sh = shared.lock().unwrap();
                    sh.kernel_time += tk;
                    sh.totals.add(&r);
                    if let Some((accepted, line)) = &kv {
                        sh.kernel_checked += 1;
                        if !accepted {
                            sh.false_accepts += 1;
                            // every index, so each can be replayed with `--start I --count 1`
                            println!("FALSE ACCEPT seed {} program {i}: the kernel says: {line}", o.seed);
                            if sh.false_accept_files.len() < 5 {
                                drop(sh);
                                let min = minimise(&insns, &mut |p| {
                                    kbpf_accepts(p) && kernel_verdict(p).is_some_and(|(a, _)| !a)
                                });
                                let line = kernel_verdict(&min).map(|v| v.1).unwrap_or_else(|| line.clone());
                                let text = cases::render(&min, &format!(
                                    "potential false accept: kbpf accepts, the kernel says: {line}\nseed {} program {i}",
                                    o.seed
                                ))
                                .unwrap_or_default();
                                let _ = std::fs::create_dir_all(&fa_dir);
                                let f = fa_dir.join(format!("seed{}_{i}.s", o.seed));
                                let _ = std::fs::write(&f, text);
                                sh = shared.lock().unwrap();
                                sh.false_accept_files.push(format!("{} ({line})", f.display()));
                            }
                        }
                    }
                    if let Some(v) = &r.violation {
                        println!("VIOLATION seed {} program {i}: {:?} at {}: {}", o.seed, v.kind, v.pc, v.detail);
                        drop(sh);
                        let kind = v.kind.clone();
                        let min = minimise(&insns, &mut |p| {
                            check(p, o.runs, o.seed ^ i, &reg).violation.is_some_and(|w| w.kind == kind)
                        });
                        let v2 = check(&min, o.runs, o.seed ^ i, &reg).violation;
                        let detail = v2.as_ref().map_or(v.detail.clone(), |w| format!("{:?} at {}: {}", w.kind, w.pc, w.detail));
                        let text = cases::render(&min, &format!("soundness violation, {detail}\nseed {} program {i} (cargo xtask soundness)", o.seed))
                            .unwrap_or_default();
                        println!("minimised to {} instructions:\n{text}", min.len());
                        sh = shared.lock().unwrap();
                        if o.save {
                            let f = cases::dir().join(format!("seed{}_{i}.s", o.seed));
                            let _ = std::fs::create_dir_all(cases::dir());
                            let _ = std::fs::write(&f, text);
                            sh.saved.push(f.display().to_string());
                        }
                    }
                    let done = sh.totals.generated;
                    if done % 1_000 == 0 {
                        let k = if kernel {
                            format!(", kernel: {} loaded, {} refused", sh.kernel_checked, sh.false_accepts)
                        } else {
                            String::new()
                        };
                        println!("soundness: {}{k} ({:.0}s)", sh.totals.line(), start.elapsed().as_secs_f64());
                    }
                }
            });
        }
    });
    let sh = shared.into_inner().unwrap();
    println!(
        "soundness: seed {}, {} runs per accepted program, {:.0}s",
        o.seed,
        o.runs,
        start.elapsed().as_secs_f64()
    );
    println!("soundness: {}", sh.totals.line());
    println!("soundness: time: {}, kernel loads {:.1}s", sh.totals.time_line(), sh.kernel_time.as_secs_f64());
    if kernel {
        println!(
            "soundness: kernel comparison: {} kbpf accepts loaded, {} refused by the kernel (potential false accepts)",
            sh.kernel_checked, sh.false_accepts
        );
        for f in &sh.false_accept_files {
            println!("  false accept: {f}");
        }
    }
    for f in &sh.saved {
        println!("  regression case written: {f}");
    }
    Ok(sh.totals.violations == 0)
}
