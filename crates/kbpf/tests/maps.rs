//! Map programs end to end: assembled, verified, run on the interpreter and the host JIT with
//! the same results and the same map contents afterwards.

use std::path::Path;

use kbpf::kfunc::profiles;
use kbpf::verifier::{ProgType, VerifyOptions};
use kbpf::{Engine, RunOptions, SourceKind};

mod support;

type Dump = Vec<Vec<(Vec<u8>, Vec<u8>)>>;

fn module(name: &str) -> kbpf::Module {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name);
    kbpf::read_module(&path, SourceKind::Asm, &profiles::testmod(), None).unwrap()
}

fn verify(m: &kbpf::Module) {
    let opts =
        || VerifyOptions { log_level: 1, prog_type: ProgType::Mem { ctx_size: 4 }, ..Default::default() };
    let out = kbpf::verify_module(m, opts());
    assert!(out.accepted, "{:?}\n{}", out.error, out.log);
    for p in &m.progs {
        let sub = kbpf::Module {
            slots: p.program.to_slots(),
            lines: None,
            funcs: p.funcs.clone(),
            progs: Vec::new(),
            line_info: Vec::new(),
            btf_func_info: false,
            ..m.clone()
        };
        let out = kbpf::verify_module(&sub, opts());
        assert!(out.accepted, "{}: {:?}\n{}", p.name, out.error, out.log);
    }
}

/// Runs `m` once per input on `engine` with fresh maps; returns the results and the map dump.
fn run(m: &kbpf::Module, engine: Engine, inputs: &[&[u8]]) -> (Vec<u64>, Dump) {
    let registry = profiles::testmod();
    // one handle for every input: the smallest is the context it is verified for
    let ctx = inputs.iter().map(|i| i.len()).min().unwrap_or(0);
    let h = support::handle(m, engine, &registry, ctx, RunOptions::default())
        .unwrap_or_else(|e| panic!("{engine:?}: {e}"));
    let rets = inputs
        .iter()
        .map(|i| {
            let mut mem = i.to_vec();
            h.run(&mut mem).unwrap_or_else(|e| panic!("{engine:?}: {e}"))
        })
        .collect();
    (rets, h.map_set().iter().map(|m| m.entries()).collect())
}

fn engines() -> Vec<Engine> {
    let mut v = vec![Engine::Interp];
    if kbpf::host_backend().is_some() {
        v.push(Engine::Jit);
    }
    v
}

#[test]
fn counter_and_hash_sums_agree_across_engines() {
    let m = module("map_counter.s");
    verify(&m);
    let inputs: [&[u8]; 4] = [b"a\x03\0\0", b"a\x01\0\0", b"\0\0\0\0", b"x\x04\0\0"];
    let want = run(&m, Engine::Interp, &inputs);
    assert_eq!(want.0, [1, 2, 3, 4]);
    // sums: key 0 -> 0, 'a' -> 3 + 1, 'x' -> 4
    let sums: Vec<(u32, u64)> = want.1[1]
        .iter()
        .map(|(k, v)| {
            (u32::from_le_bytes(k[..4].try_into().unwrap()), u64::from_le_bytes(v[..8].try_into().unwrap()))
        })
        .collect();
    assert_eq!(sums, [(0, 0), (b'a' as u32, 4), (b'x' as u32, 4)]);
    for e in engines() {
        assert_eq!(run(&m, e, &inputs), want, "{e:?}");
    }
}

#[test]
fn global_data_agrees_across_engines() {
    let m = module("global_data.s");
    verify(&m);
    for e in engines() {
        let (rets, dump) = run(&m, e, &[b"\0\0\0\0"]);
        assert_eq!(rets, [42], "{e:?}");
        assert_eq!(dump[1], [(0u32.to_le_bytes().to_vec(), 42u64.to_le_bytes().to_vec())], "{e:?}");
    }
}

#[test]
fn tail_call_chain_counts_like_the_kernel() {
    let m = module("tail_calls.s");
    verify(&m);
    for e in engines() {
        let (rets, dump) = run(&m, e, &[b"ctx!", b"ctx!"]);
        // the second run starts a fresh count; the map keeps counting
        assert_eq!(rets, [32, 64], "{e:?}");
        assert_eq!(dump[1][0].1, 64u64.to_le_bytes(), "{e:?}");
    }
}

#[test]
fn bad_map_reference_is_a_typed_error() {
    let src = ".map m, array, 4, 8, 1\nr1 = map_value(m, 8)\nr0 = 0\nexit\n";
    let a = kbpf::isa::asm::assemble_module(src, &kbpf::isa::asm::NoKfuncs).unwrap();
    let maps = kbpf::kfunc::maps::MapSet::new(&a.maps, |_| None).unwrap();
    let e = kbpf::resolve_maps(&a.program, &maps).unwrap_err();
    assert_eq!(e.to_string(), "insn 0: fd 0 is not pointing to valid bpf_map (value offset 8)");
}

#[test]
fn clang_object_with_global_data_and_a_hash_map() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/globals.o");
    let m = kbpf::read_module(&path, SourceKind::Elf, &profiles::testmod(), None).unwrap();
    let names: Vec<&str> = m.maps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["seen", ".rodata", ".data", ".bss"]);
    assert!(m.maps[1].frozen);
    assert_eq!(m.maps[1].flags, kbpf::isa::MapFlags::RDONLY_PROG);
    let out = kbpf::verify_module(&m, VerifyOptions::default());
    assert!(out.accepted, "{:?}", out.error);
    for e in engines() {
        // total = 100 + 7 per run, runs counts, greeting[1] = 'e'
        let (rets, dump) = run(&m, e, &[&[0; 8], &[0; 8]]);
        assert_eq!(rets, [107 + 1 + 101, 114 + 2 + 101], "{e:?}");
        assert_eq!(dump[0], [(3u32.to_le_bytes().to_vec(), 2u64.to_le_bytes().to_vec())], "{e:?}");
        assert_eq!(dump[3][0].1, 2u64.to_le_bytes(), "{e:?}");
    }
}

fn asm(src: &str) -> kbpf::Module {
    let dir = std::env::temp_dir().join(format!("kbpf-maps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{:x}.s", src.len() * 31 + src.bytes().map(|b| b as usize).sum::<usize>()));
    std::fs::write(&path, src).unwrap();
    kbpf::read_module(&path, SourceKind::Asm, &profiles::testmod(), None).unwrap()
}

/// A tail call from a subprogram replaces the subprogram's frame: the target's `exit` returns
/// to the subprogram's caller, whose r6..r9 survive although the target uses them.
const SUBPROG_TAIL_CALL: &str = "
.map jmp, prog_array, 4, 4, 1
.mapdata jmp, 0, target
    r6 = 100
    r7 = 1000
    call sub
    r0 += r6
    r0 += r7
    exit
# the kernel refuses tail calls in subprograms without BTF: `.func` stands in for it
.func sub, 1
sub:
    r6 = 5
    r2 = jmp ll
    r3 = 0
    call bpf_tail_call
    r0 = r6
    exit
.prog target
    r6 = 7
    r7 = 8
    r8 = 9
    r9 = 10
    r0 = r6
    r0 += r7
    r0 += r8
    r0 += r9
    exit
";

#[test]
fn tail_call_from_a_subprogram_returns_to_its_caller() {
    let m = asm(SUBPROG_TAIL_CALL);
    verify(&m);
    let (rets, _) = run(&m, Engine::Interp, &[b"ctx!"]);
    assert_eq!(rets, [1134]);
    for e in engines() {
        assert_eq!(run(&m, e, &[b"ctx!"]).0, [1134], "{e:?}");
    }
}

#[test]
fn the_verifier_checks_map_and_helper_types() {
    let m = asm("
.map jmp, prog_array, 4, 4, 1
    r1 = 0
    *(u32 *)(r10 -4) = r1
    r2 = r10
    r2 += -4
    r1 = jmp ll
    call bpf_map_lookup_elem
    r0 = 0
    exit
");
    let out = kbpf::verify_module(&m, VerifyOptions::default());
    let e = out.error.expect("rejected");
    assert_eq!(e.message(), "cannot pass map_type 3 into func bpf_map_lookup_elem#1");
    let m = asm("
.map h, hash, 4, 8, 1
    r2 = h ll
    r3 = 0
    call bpf_tail_call
    r0 = 0
    exit
");
    let out = kbpf::verify_module(&m, VerifyOptions::default());
    assert_eq!(out.error.expect("rejected").message(), "expected prog array map for tail call");
    // direct value access needs a single-entry array
    let m = asm(".map a, array, 4, 8, 2\n r1 = map_value(a, 0)\n r0 = 0\n exit\n");
    let out = kbpf::verify_module(&m, VerifyOptions::default());
    assert_eq!(
        out.error.expect("rejected").message(),
        "invalid access to map value pointer, value_size=8 off=0"
    );
}

#[test]
fn interpreter_refuses_wild_map_pointers() {
    // The map helpers take their map from r1; an address that is no map of the run is an
    // error, not a host dereference.
    let m = asm("r1 = 0x1000 ll\nr2 = r10\nr2 += -8\ncall bpf_map_lookup_elem\nexit\n");
    // (the verifier would refuse it: run it unverified, which only the interpreter may do)
    let e = support::run_unverified(&m, &profiles::testmod(), &mut [], RunOptions::default()).unwrap_err();
    assert_eq!(e.to_string(), "insn 4: 0x1000 is not a map of this run");
}

#[test]
fn clang_object_with_an_initialized_prog_array() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tailcall.o");
    let m = kbpf::read_module(&path, SourceKind::Elf, &profiles::testmod(), Some("entry")).unwrap();
    assert_eq!(m.maps[0].progs, [(2, "second".to_string())]);
    assert_eq!((m.maps[0].key_size, m.maps[0].value_size), (4, 4));
    let out = kbpf::verify_module(&m, VerifyOptions::default());
    assert!(out.accepted, "{:?}", out.error);
    for e in engines() {
        // entry -> second (5 times, counting in .bss), which returns hops * 10
        let (rets, dump) = run(&m, e, &[&[0; 8], &[0; 8]]);
        assert_eq!(rets, [50, 60], "{e:?}");
        assert_eq!(dump[1][0].1, 6u64.to_le_bytes(), "{e:?}");
    }
}
