//! Compiles one `.hex` program in a loop (for profiling compile time): `x86_compile_loop FILE N`.
#![allow(unsafe_code)]
use kbpf_jit::{Backend, JitOptions};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: x86_compile_loop FILE.hex [N]");
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let text = std::fs::read_to_string(path).expect("readable");
    let bytes: Vec<u8> = text
        .split_whitespace()
        .flat_map(|l| {
            (0..l.len()).step_by(2).map(move |i| u8::from_str_radix(&l[i..i + 2], 16).expect("hex"))
        })
        .collect();
    let prog = kbpf_isa::Program::from_bytes(&bytes).expect("decodes");
    let reg = kbpf_kfunc::profiles::conformance();
    let cpu = || -> u64 {
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let c0 = cpu();
    let t = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(
            // SAFETY: a trusted test program, run only on the inputs it was written for.
            unsafe { kbpf_jit_x86_64::X86_64.compile_unverified(&prog, &reg, &JitOptions::default()) }
                .expect("compiles"),
        );
    }
    let ns = t.elapsed().as_nanos() as f64 / n as f64;
    let on_cpu = (cpu() - c0) as f64 / n as f64;
    let per = |x: f64| x / prog.len_slots() as f64;
    println!(
        "wall {ns:.0} ns per compile ({:.1} ns/insn); on-CPU {on_cpu:.0} ns ({:.1} ns/insn)",
        per(ns),
        per(on_cpu)
    );
}
