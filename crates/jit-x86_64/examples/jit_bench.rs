//! Times the benchmark programs (`benches/programs/*.user.hex`) under the x86_64 JIT: ns per
//! execution (median of rounds) and compile time per BPF instruction.
//!
//! `cargo run --release -p kbpf-jit-x86_64 --example jit_bench -- [DIR] [ROUNDS]`
//!
//! When `DIR/kbench.c` exists (a C BPF_PROG_TEST_RUN timer; not in the repository, where
//! `cargo xtask bench` times the kernel through the oracle crate) and `cc` works (and we are
//! root), the kernel variants are timed in the same run through it and ratios are printed.
#![allow(unsafe_code)]

use std::time::Instant;

use kbpf_isa::Program;
use kbpf_jit::{Backend, JitOptions};
use kbpf_jit_x86_64::X86_64;

fn load_hex(path: &std::path::Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).expect("readable");
    text.split_whitespace()
        .flat_map(|line| {
            (0..line.len()).step_by(2).map(move |i| u8::from_str_radix(&line[i..i + 2], 16).expect("hex"))
        })
        .collect()
}

/// Builds `kbench` from `dir/kbench.c` next to this binary; `None` if that is impossible.
fn kbench(dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let src = dir.join("kbench.c");
    let out = std::env::temp_dir().join("kbpf-kbench");
    if !out.exists() {
        let ok = std::process::Command::new("cc")
            .arg("-O2")
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .status()
            .ok()?
            .success();
        if !ok {
            return None;
        }
    }
    Some(out)
}

/// Kernel JIT (min, median) ns per execution of `name.kernel.hex`.
fn kernel_time(
    kb: &std::path::Path,
    dir: &std::path::Path,
    name: &str,
    n: u32,
    rounds: usize,
) -> Option<(f64, f64)> {
    let repeat = if n == 0 { "100000" } else { "5" };
    let out = std::process::Command::new(kb)
        .arg(dir.join(format!("{name}.kernel.hex")))
        .arg(n.to_string())
        .arg(repeat)
        .arg(rounds.to_string())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains("ns/exec"))?;
    let field =
        |key: &str| -> Option<f64> { line.split(key).nth(1)?.split_whitespace().next()?.parse().ok() };
    Some((field("min=")?, field("median=")?))
}

/// Nanoseconds this thread has spent on a CPU (the scheduler's own account), so that time spent
/// waiting for a CPU on a shared machine does not count, as in the kernel's test-run timer.
fn on_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/programs"));
    let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(11);
    let reg = kbpf_kfunc::profiles::conformance();
    let kb = kbench(&dir);
    for name in ["sum", "xorshift", "calls", "empty"] {
        let bytes = load_hex(&dir.join(format!("{name}.user.hex")));
        let expected = std::fs::read_to_string(dir.join(format!("{name}.expected"))).unwrap_or_default();
        let mut it = expected.split_whitespace();
        let n: u32 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let want: u64 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let prog = Program::from_bytes(&bytes).expect("decodes");
        // Compile time: many compiles, median per instruction.
        let mut ct = Vec::new();
        for _ in 0..rounds {
            let reps = 200;
            let t = Instant::now();
            for _ in 0..reps {
                // SAFETY: a trusted test program, run only on the inputs it was written for.
                std::hint::black_box(
                    unsafe { X86_64.compile_unverified(&prog, &reg, &JitOptions::default()) }
                        .expect("compiles"),
                );
            }
            ct.push(t.elapsed().as_nanos() as f64 / reps as f64 / prog.len_slots() as f64);
        }
        let (asm_ct, _) = {
            let reps = 2000;
            let t = Instant::now();
            for _ in 0..reps {
                std::hint::black_box(
                    X86_64.assemble(&prog, &reg, &JitOptions::default()).expect("assembles"),
                );
            }
            (t.elapsed().as_nanos() as f64 / reps as f64 / prog.len_slots() as f64, ())
        };
        // SAFETY: a trusted test program, run only on the inputs it was written for.
        let jp = unsafe { X86_64.compile_unverified(&prog, &reg, &JitOptions::default()) }.expect("compiles");
        let mut mem = [0u8; 192];
        mem[8..12].copy_from_slice(&n.to_le_bytes());
        let r0 = jp.run(&mut mem);
        assert_eq!(r0, want, "{name}: wrong result");
        // Short rounds, reporting min and median: the machine is shared, and the kernel's
        // BPF_PROG_TEST_RUN timer also leaves out time spent rescheduled.
        let reps = if n == 0 { 20_000 } else { 1 };
        let mut times = Vec::new();
        for _ in 0..rounds * 5 {
            let t = Instant::now();
            for _ in 0..reps {
                std::hint::black_box(jp.run(std::hint::black_box(&mut mem)));
            }
            times.push(t.elapsed().as_nanos() as f64 / reps as f64);
        }
        let ns = median(&mut times);
        let min = times[0];
        // On-CPU time over longer rounds.
        // Rounds of about 50 ms: the scheduler's account of a running thread is coarse.
        let long_reps = ((50e6 / ns.max(1.0)) as usize).max(3);
        let mut cpu = Vec::new();
        for _ in 0..rounds {
            let (Some(c0), t) = (on_cpu_ns(), Instant::now()) else { break };
            for _ in 0..long_reps {
                std::hint::black_box(jp.run(std::hint::black_box(&mut mem)));
            }
            let _ = t;
            if let Some(c1) = on_cpu_ns() {
                cpu.push((c1 - c0) as f64 / long_reps as f64);
            }
        }
        let cpu_ns = if cpu.is_empty() { f64::NAN } else { median(&mut cpu) };
        println!(
            "{name:9} insns={:4} N={n:8} ns/exec min={min:12.1} median={ns:12.1} on-CPU={cpu_ns:12.1} compile ns/insn={:7.1} (assemble only {:6.1}) code={}B",
            prog.len_slots(),
            median(&mut ct),
            asm_ct,
            jp.code().len()
        );
        if let Some((kmin, kmed)) = kb.as_deref().and_then(|k| kernel_time(k, &dir, name, n, rounds)) {
            println!(
                "{name:9} kernel JIT ns/exec min={kmin:12.1} median={kmed:12.1}   ratio min/min={:.3} median/median={:.3} on-CPU/median={:.3}",
                min / kmin,
                ns / kmed,
                cpu_ns / kmed
            );
        }
    }
}
