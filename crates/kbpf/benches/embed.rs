//! Costs an embedder feels (criterion): invoking a compiled handle, compiling a small program,
//! verifying-and-compiling through the embedding API, and a host closure call.
#![allow(unsafe_code)]

use criterion::{Criterion, criterion_group, criterion_main};
use kbpf::isa::Program;
use kbpf::jit::JitOptions;
use kbpf::{Engine, Linker, Object, VerifyConfig};

fn programs_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/programs")
}

fn hex_program(name: &str) -> Program {
    let text =
        std::fs::read_to_string(programs_dir().join(format!("{name}.user.hex"))).expect("bench program");
    Program::from_bytes(&kbpf::parse_hex(&text).expect("hex")).expect("decodes")
}

fn bench(c: &mut Criterion) {
    let linker = Linker::new();
    let empty = Object::from_asm("r0 = 0\nexit\n", &linker).unwrap().main().unwrap();
    let verified = empty.verify(&linker, &VerifyConfig::mem(0)).unwrap();
    for engine in [Engine::Jit, Engine::Interp] {
        let h = verified.compile(engine).unwrap();
        let name = if engine == Engine::Jit { "jit" } else { "interp" };
        c.bench_function(&format!("invoke handle, empty program ({name})"), |b| {
            b.iter(|| h.run(std::hint::black_box(&mut [])).unwrap())
        });
    }

    let backend = kbpf::host_backend().expect("a JIT backend for this host");
    let reg = kbpf::kfunc::profiles::conformance();
    let opts = JitOptions::default();
    for name in ["sum", "xorshift"] {
        let prog = hex_program(name);
        c.bench_function(&format!("JIT compile {name} ({} insns), incl. drop", prog.len_slots()), |b| {
            // SAFETY: compiled, never run.
            b.iter(|| {
                unsafe { backend.compile_unverified(std::hint::black_box(&prog), &reg, &opts) }.unwrap()
            })
        });
    }
    c.bench_function("VerifiedProgram::compile (jit), empty program", |b| {
        b.iter(|| verified.compile(Engine::Jit).unwrap())
    });
    c.bench_function("verify + compile (jit), empty program", |b| {
        b.iter(|| empty.verify(&linker, &VerifyConfig::mem(0)).unwrap().compile(Engine::Jit).unwrap())
    });

    let mut with_host = Linker::new();
    with_host.func_wrap(1000, "id", |x: u64| x).unwrap();
    let h = Object::from_asm("r1 = 1\ncall 1000\nexit\n", &with_host)
        .unwrap()
        .main()
        .unwrap()
        .verify(&with_host, &VerifyConfig::mem(0))
        .unwrap()
        .compile(Engine::Jit)
        .unwrap();
    c.bench_function("invoke handle calling one host closure (jit)", |b| {
        b.iter(|| h.run(std::hint::black_box(&mut [])).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
