//! Profiling aid: compile the 8-instruction `sum` benchmark program in a loop and print the
//! thread CPU time per compile (`perf record` it to see where the time goes).
#![allow(unsafe_code)]

fn cpu_ns() -> u128 {
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid out-pointer; CLOCK_THREAD_CPUTIME_ID = 3.
    unsafe { clock_gettime(3, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}
#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}
unsafe extern "C" {
    fn clock_gettime(clk: i32, ts: *mut Timespec) -> i32;
}

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/programs");
    let name = std::env::args().nth(1).unwrap_or_else(|| "sum".into());
    let text = std::fs::read_to_string(dir.join(format!("{name}.user.hex"))).unwrap();
    let prog = kbpf::isa::Program::from_bytes(&kbpf::parse_hex(&text).unwrap()).unwrap();
    let backend = kbpf::host_backend().unwrap();
    let reg = kbpf::kfunc::profiles::conformance();
    let opts = kbpf::jit::JitOptions::default();
    let n = 100_000u32;
    let t = cpu_ns();
    for _ in 0..n {
        // SAFETY: compiled, never run.
        std::hint::black_box(unsafe { backend.compile_unverified(&prog, &reg, &opts) }.unwrap());
    }
    let ns = (cpu_ns() - t) as f64 / n as f64;
    println!("{name}: {ns:.0} ns CPU per compile ({:.1} ns per insn)", ns / prog.len_slots() as f64);
}
