//! The embedding API end to end: ELF objects by program name, host closures on both engines
//! (state, panics), typed maps, and the refusals an embedder meets.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kbpf::{Engine, LinkError, Linker, Object, RunError, VerifyConfig};

fn engines() -> Vec<Engine> {
    let mut v = vec![Engine::Interp];
    if kbpf::host_backend().is_some() {
        v.push(Engine::Jit);
    }
    v
}

fn maps_calls() -> Object {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../elf/tests/data/maps_calls.o");
    Object::open(path, &Linker::new()).expect("opens")
}

#[test]
fn an_elf_program_by_name_runs_with_its_maps() {
    let obj = maps_calls();
    assert!(obj.program_names().contains(&"prog".to_string()));
    let linker = Linker::new();
    // the section says socket filter, whose context only a test run builds
    let socket = obj.program("prog").unwrap().verify(&linker, &VerifyConfig::default()).unwrap();
    let h = socket.compile(Engine::Interp).unwrap();
    assert!(matches!(h.run(&mut [0; 64]), Err(RunError::Context { .. })));
    // the program ignores its context, so a plain buffer will do
    let verified = obj.program("prog").unwrap().verify(&linker, &VerifyConfig::mem(0)).unwrap();
    for engine in engines() {
        let h = verified.compile(engine).unwrap();
        // counts[1] = 0: add3(0, 2, 3) + glob(4) = 6 + 12
        assert_eq!(h.run(&mut []).unwrap(), 18, "{engine}");
        h.map("counts").unwrap().update(&1u32, &5u64).unwrap();
        assert_eq!(h.run(&mut []).unwrap(), 23, "{engine}");
        let all: Vec<(u32, u64)> = h.map("counts").unwrap().iter().unwrap();
        assert_eq!(all, vec![(0, 0), (1, 5), (2, 0), (3, 0)]);
    }
    assert!(matches!(obj.program("nope"), Err(kbpf::SourceError::NoProgram { .. })));
}

#[test]
fn closures_keep_state_across_runs_and_engines() {
    let calls = Arc::new(AtomicU64::new(0));
    let mut linker = Linker::new();
    let c = calls.clone();
    linker
        .func_wrap(2000, "bump", move |by: u64| c.fetch_add(by, Ordering::SeqCst) + by)
        .unwrap()
        .func_wrap(2001, "five", |a: u64, b: u64, c: u64, d: u64, e: u64| a + b + c + d + e)
        .unwrap();
    let src =
        "r1 = 2\ncall 2000\nr6 = r0\nr1 = 1\nr2 = 2\nr3 = 3\nr4 = 4\nr5 = 5\ncall 2001\nr0 += r6\nexit\n";
    let v = Object::from_asm(src, &linker)
        .unwrap()
        .main()
        .unwrap()
        .verify(&linker, &VerifyConfig::mem(0))
        .unwrap();
    let mut expect = 0;
    for engine in engines() {
        let h = v.compile(engine).unwrap();
        for _ in 0..3 {
            expect += 2;
            assert_eq!(h.run(&mut []).unwrap(), expect + 15, "{engine}");
        }
    }
}

#[test]
fn a_panicking_closure_does_not_unwind_through_the_program() {
    let mut linker = Linker::new();
    linker.func_wrap(3000, "boom", |x: u64| if x == 7 { panic!("host says no") } else { x }).unwrap();
    let src = "r1 = *(u64 *)(r1 + 0)\ncall 3000\nr0 += 1\nexit\n";
    let v = Object::from_asm(src, &linker)
        .unwrap()
        .main()
        .unwrap()
        .verify(&linker, &VerifyConfig::mem(8))
        .unwrap();
    for engine in engines() {
        let h = v.compile(engine).unwrap();
        assert_eq!(h.run(&mut 3u64.to_le_bytes()).unwrap(), 4);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h.run(&mut 7u64.to_le_bytes())));
        let msg = r.expect_err("the panic resumes in the caller");
        assert_eq!(msg.downcast_ref::<&str>(), Some(&"host says no"));
        // the handle still works afterwards
        assert_eq!(h.run(&mut 1u64.to_le_bytes()).unwrap(), 2, "{engine}");
    }
}

#[test]
fn refusals_are_typed() {
    let mut linker = Linker::new();
    assert!(matches!(linker.func_wrap(1, "mine", || 0), Err(LinkError::KernelHelper(1, _))));
    linker.func_wrap(4000, "a", || 0).unwrap();
    assert!(matches!(linker.func_wrap(4000, "b", || 0), Err(LinkError::Registry(_))));
    assert!(matches!(linker.kfunc_wrap("bpf_dynptr_size", || 0), Err(LinkError::DuplicateKfunc(_))));
    // a host helper's argument must be initialised
    linker.func_wrap(4001, "one", |x: u64| x).unwrap();
    let v = Object::from_asm("call 4000\ncall 4001\nexit\n", &linker).unwrap().main().unwrap();
    let err = v.verify(&linker, &VerifyConfig::mem(0)).unwrap_err();
    assert!(err.to_string().contains("R1 !read_ok"), "{err}");
    // an unknown helper id stays the kernel's refusal
    let v = Object::from_asm("call 4002\nexit\n", &linker).unwrap().main().unwrap();
    let err = v.verify(&linker, &VerifyConfig::mem(0)).unwrap_err();
    assert!(err.to_string().contains("invalid func unknown#4002"), "{err}");
    // a program type is needed for a plain module
    let v = Object::from_asm("r0 = 0\nexit\n", &linker).unwrap().main().unwrap();
    assert!(matches!(v.verify(&linker, &VerifyConfig::default()).unwrap_err().reason, RunError::Usage(_)));
    // inputs smaller than the verified context are refused
    let h = v.verify(&linker, &VerifyConfig::mem(16)).unwrap().compile(Engine::Interp).unwrap();
    assert!(matches!(h.run(&mut [0; 8]), Err(RunError::Context { .. })));
    // typed map access checks sizes
    let src = ".map m, hash, 4, 8, 4\nr1 = m ll\nr0 = 0\nexit\n";
    let h = Object::from_asm(src, &linker)
        .unwrap()
        .main()
        .unwrap()
        .verify(&linker, &VerifyConfig::mem(0))
        .unwrap()
        .compile(Engine::Interp)
        .unwrap();
    let m = h.map("m").unwrap();
    assert!(m.update(&1u64, &1u64).is_err());
    m.update(&1u32, &9u64).unwrap();
    assert_eq!(m.get::<u32, u64>(&1).unwrap(), Some(9));
    assert!(m.get::<u32, u32>(&1).is_err());
    m.delete(&1u32).unwrap();
    assert_eq!(m.get::<u32, u64>(&1).unwrap(), None);
}
