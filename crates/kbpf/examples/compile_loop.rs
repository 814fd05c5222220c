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
    fn getrusage(who: i32, usage: *mut [i64; 18]) -> i32;
}

/// (user, system) CPU time of this thread in ns.
fn user_sys_ns() -> (u128, u128) {
    let mut u = [0i64; 18];
    // SAFETY: `struct rusage` is 18 longs on x86_64 Linux; RUSAGE_THREAD = 1.
    unsafe { getrusage(1, &mut u) };
    let ns = |s: i64, us: i64| s as u128 * 1_000_000_000 + us as u128 * 1000;
    (ns(u[0], u[1]), ns(u[2], u[3]))
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
    let (u0, s0) = user_sys_ns();
    for _ in 0..n {
        // SAFETY: compiled, never run.
        std::hint::black_box(unsafe { backend.compile_unverified(&prog, &reg, &opts) }.unwrap());
    }
    let ns = (cpu_ns() - t) as f64 / n as f64;
    let (u1, s1) = user_sys_ns();
    let (user, sys) = ((u1 - u0) as f64 / n as f64, (s1 - s0) as f64 / n as f64);
    println!(
        "{name}: {ns:.0} ns CPU per compile ({:.1} ns per insn): user {user:.0} ns, system {sys:.0} ns",
        ns / prog.len_slots() as f64
    );
}
