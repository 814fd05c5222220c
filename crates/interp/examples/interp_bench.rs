//! ns per BPF instruction on the benchmark programs (`cargo run --release -p kbpf-interp
//! --example interp_bench [DIR]`, DIR defaults to the workspace's `benches/programs`). Checks r0 against `*.expected`.
//!
//! Prints wall-clock and on-CPU time (from `/proc/thread-self/schedstat`, so time spent waiting
//! for a CPU on a shared machine is excluded; `-` where unavailable).

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use kbpf_interp::{Vm, VmOptions};
use kbpf_isa::Program;

/// Nanoseconds this thread has spent on a CPU.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/programs"));
    let dir = dir.as_path();
    let mut failed = false;
    let mut out = std::io::stdout().lock();
    for name in ["sum", "xorshift", "calls", "empty"] {
        let hex = std::fs::read_to_string(dir.join(format!("{name}.user.hex")))?;
        let mut bytes = Vec::new();
        for tok in hex.split_whitespace() {
            for i in (0..tok.len()).step_by(2) {
                bytes.push(u8::from_str_radix(tok.get(i..i + 2).ok_or("odd hex")?, 16)?);
            }
        }
        let expected = std::fs::read_to_string(dir.join(format!("{name}.expected")))?;
        let mut it = expected.split_whitespace().map(|t| t.parse::<u64>());
        let (n, want) = (it.next().ok_or("no N")??, it.next().ok_or("no r0")??);
        let prog = Program::from_bytes(&bytes)?;
        let vm = Vm::new(&prog, &kbpf_kfunc::Registry::new(), VmOptions::default())?;
        let mut mem = vec![0u8; 192];
        mem[8..12].copy_from_slice(&(n as u32).to_le_bytes());
        let stats = vm.run_stats(&mut mem)?;
        let rounds = if stats.insns < 1000 { 200_000 } else { 5 };
        let (mut best, mut best_cpu) = (f64::MAX, f64::MAX);
        for _ in 0..rounds.min(7) {
            let (t, c) = (Instant::now(), cpu_ns());
            for _ in 0..rounds {
                std::hint::black_box(vm.run(&mut mem)?);
            }
            best = best.min(t.elapsed().as_secs_f64() / rounds as f64);
            if let (Some(c0), Some(c1)) = (c, cpu_ns()) {
                best_cpu = best_cpu.min((c1 - c0) as f64 * 1e-9 / rounds as f64);
            }
        }
        let ok = stats.r0 == want;
        failed |= !ok;
        let cpu = if best_cpu < f64::MAX {
            format!("{:>6.2}", best_cpu * 1e9 / stats.insns as f64)
        } else {
            "     -".to_string()
        };
        writeln!(
            out,
            "{name:9} r0={:<22} {} insns={:<10} {:>10.1} us/run {:>6.2} ns/insn (on-CPU {cpu} ns/insn)",
            stats.r0,
            if ok { "ok  " } else { "FAIL" },
            stats.insns,
            best * 1e6,
            best * 1e9 / stats.insns as f64
        )?;
    }
    if failed {
        return Err("r0 mismatch".into());
    }
    Ok(())
}
