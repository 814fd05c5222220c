//! Runs the generated and hand-written cases through the running kernel and writes
//! `tests/kernel-cases/<family>.jsonl` plus golden logs under `tests/kernel-cases/golden/`.
//!
//! Usage: `capture [--out DIR] [--seed N] [--scale F] [--no-golden] [--bench DIR] [--family F]`
//! (`--family` re-captures only that family's file; may be repeated).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use kbpf_oracle::case::RecordOptions;
use kbpf_oracle::{bench, capture, generator};

fn main() {
    let mut out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/kernel-cases");
    let mut seed = generator::DEFAULT_SEED;
    let mut scale = 1.0f64;
    let mut golden = true;
    let mut bench_dir: Option<PathBuf> = None;
    let mut families: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = args.next().map(PathBuf::from).unwrap_or(out),
            "--seed" => seed = args.next().and_then(|s| s.parse().ok()).unwrap_or(seed),
            "--scale" => scale = args.next().and_then(|s| s.parse().ok()).unwrap_or(scale),
            "--no-golden" => golden = false,
            "--bench" => bench_dir = args.next().map(PathBuf::from),
            "--family" => families.extend(args.next()),
            _ => {
                eprintln!(
                    "usage: capture [--out DIR] [--seed N] [--scale F] [--no-golden] [--bench DIR] [--family F]"
                );
                std::process::exit(2);
            }
        }
    }
    if let Err(e) = kbpf_oracle::available() {
        eprintln!("kernel oracle unavailable: {e}");
        std::process::exit(1);
    }
    if let Some(dir) = bench_dir {
        run_bench(&dir);
        return;
    }
    let mut cases = generator::generate(seed, scale);
    cases.extend(generator::hand_written());
    if !families.is_empty() {
        cases.retain(|c| families.contains(&c.family));
        golden = false;
    }
    let t = Instant::now();
    let opts = RecordOptions { max_log: 4096, max_log_level2: 8192 };
    let recs = capture::record_all(&cases, opts, 10, |done, total| {
        if done % 250 == 0 || done == total {
            eprintln!("  {done}/{total} ({:.1}s)", t.elapsed().as_secs_f64());
        }
    });
    let mut table: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for r in &recs {
        let e = table.entry(r.case.family.as_str()).or_default();
        if r.kernel.accepted {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    let (mut ta, mut tr) = (0, 0);
    println!("{:<16} {:>7} {:>7}", "family", "accept", "reject");
    for (f, (a, r)) in &table {
        println!("{f:<16} {a:>7} {r:>7}");
        ta += a;
        tr += r;
    }
    println!("{:<16} {ta:>7} {tr:>7}  ({} cases, {:.1}s)", "TOTAL", ta + tr, t.elapsed().as_secs_f64());
    match capture::write_jsonl(&out, &recs) {
        Ok(_) => println!("wrote {}", out.display()),
        Err(e) => {
            eprintln!("writing {}: {e}", out.display());
            std::process::exit(1);
        }
    }
    if golden {
        match capture::write_golden(&out.join("golden"), &generator::hand_written()) {
            Ok(names) => println!("wrote {} golden programs", names.len()),
            Err(e) => eprintln!("golden: {e}"),
        }
    }
}

fn run_bench(dir: &std::path::Path) {
    for (name, n, repeat) in [
        ("empty", 0u32, 100_000u32),
        ("sum", 1_000_000, 20),
        ("xorshift", 100_000, 20),
        ("calls", 100_000, 20),
    ] {
        let path = dir.join(format!("{name}.kernel.hex"));
        let r = bench::read_hex_file(&path).and_then(|s| bench::bench_slots(&s, n, repeat, 11));
        match r {
            Ok(b) => println!(
                "{name:<9} N={n:<8} {:>12.0} ns/run (min {} max {}) retval=0x{:08x} insns={} jited={}B verif={:?}us",
                b.median_ns,
                b.rounds_ns.first().copied().unwrap_or(0),
                b.rounds_ns.last().copied().unwrap_or(0),
                b.retval,
                b.insns,
                b.jited_len,
                b.verification_time_us
            ),
            Err(e) => println!("{name}: {e}"),
        }
    }
}
