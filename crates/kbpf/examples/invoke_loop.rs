//! Profiling aid: invoke an empty program in a loop, through a `Handle` and through the raw
//! `JitProgram`, and print the process CPU time per run of each (robust on a busy machine).
#![allow(unsafe_code)]

fn cpu_ns() -> u128 {
    let mut ts = libc_timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: valid out-pointer; CLOCK_THREAD_CPUTIME_ID = 3.
    unsafe { clock_gettime(3, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}
#[repr(C)]
struct libc_timespec {
    tv_sec: i64,
    tv_nsec: i64,
}
unsafe extern "C" {
    fn clock_gettime(clk: i32, ts: *mut libc_timespec) -> i32;
}

fn per_run(n: u64, mut f: impl FnMut()) -> f64 {
    let t = cpu_ns();
    for _ in 0..n {
        f();
    }
    (cpu_ns() - t) as f64 / n as f64
}

fn main() {
    let linker = kbpf::Linker::new();
    let n = 20_000_000u64;
    let verified = kbpf::Object::from_asm("r0 = 0\nexit\n", &linker)
        .unwrap()
        .main()
        .unwrap()
        .verify(&linker, &kbpf::VerifyConfig::mem(192))
        .unwrap();
    for engine in [kbpf::Engine::Jit, kbpf::Engine::Interp] {
        let h = verified.compile(engine).unwrap();
        let mut mem = [0u8; 192];
        let ns = per_run(n / 4, || {
            std::hint::black_box(h.run(std::hint::black_box(&mut mem)).unwrap());
        });
        println!("Handle::run ({engine}): {ns:.2} ns CPU per run");
    }
    let prog = kbpf::isa::asm::assemble_program("r0 = 0\nexit\n").unwrap();
    let backend = kbpf::host_backend().unwrap();
    // SAFETY: a trusted two-instruction program.
    let code = unsafe {
        backend.compile_unverified(&prog, &kbpf::kfunc::Registry::new(), &kbpf::jit::JitOptions::default())
    }
    .unwrap();
    let mut mem = [0u8; 192];
    let ns = per_run(n, || {
        std::hint::black_box(code.run(std::hint::black_box(&mut mem)));
    });
    println!("JitProgram::run: {ns:.2} ns CPU per run");
}
