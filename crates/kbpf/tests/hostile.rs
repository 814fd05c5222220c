//! Hostile programs through every safe entry point of the facade (issue 11, item 1): each run
//! ends in a value or a typed error, never a signal, an abort or a panic. The programs are the
//! `.s` files under the workspace's `tests/hostile/` plus a few built here; the entry points
//! are a verified `Handle` (both engines; as a plain buffer, a syscall context, and tc and xdp
//! packets through `Handle::run_packet` and `test_run`) and an unverified interpreter handle
//! (`Prog::load_unverified`). The CLI binaries are
//! driven as subprocesses in `crates/cli/tests/hostile_cli.rs`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use kbpf::kfunc::profiles;
use kbpf::verifier::{ProgType, VerifyOptions};
use kbpf::{Engine, Module, RunOptions};

mod support;

/// Programs built here (name, assembly).
const BUILT_IN: [(&str, &str); 6] = [
    ("dead_code_then_wild_store", "r0 = 0\nif r0 == 0 goto +2\nr1 = 0x1000 ll\n*(u64 *)(r1 + 0) = 1\nexit\n"),
    ("ctx_pointer_escape", "r2 = *(u32 *)(r1 + 76)\nr0 = *(u64 *)(r2 + 4096)\nexit\n"),
    ("packet_past_end", "r2 = *(u32 *)(r1 + 76)\nr0 = *(u8 *)(r2 + 60)\nexit\n"),
    ("syscall_edge", "r0 = *(u64 *)(r1 + 32760)\nexit\n"),
    ("call_depth", "call f\nexit\nf:\ncall f\nexit\n"),
    ("r10_write", "r10 = 0\nr0 = 0\nexit\n"),
];

/// Unverified interpreter runs stop after a million instructions (endless loops).
const BUDGET: RunOptions = RunOptions {
    kernel_compat: false,
    prog_type: None,
    allow_global_stack_args: false,
    insn_budget: Some(1 << 20),
    without_stack_args: false,
};

fn hostile_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/hostile")
}

fn asm_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            asm_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "s") {
            out.push(p);
        }
    }
}

/// Every hostile program that assembles (one that does not is itself a typed error).
fn programs() -> Vec<(String, Module)> {
    let registry = profiles::testmod();
    let mut files = Vec::new();
    asm_files(&hostile_dir(), &mut files);
    assert!(!files.is_empty(), "no hostile programs under {}", hostile_dir().display());
    let mut out = Vec::new();
    for f in files {
        let name = f.display().to_string();
        match kbpf::read_module(&f, kbpf::SourceKind::Asm, &registry, None) {
            Ok(m) => out.push((name, m)),
            Err(e) => println!("{name}: {e}"),
        }
    }
    for (name, src) in BUILT_IN {
        out.push((name.to_string(), kbpf::module_from_asm(src, &registry).expect(name)));
    }
    out
}

fn engines() -> Vec<Engine> {
    let mut v = vec![Engine::Interp];
    if kbpf::host_backend().is_some() {
        v.push(Engine::Jit);
    }
    v
}

/// Runs `f`, turning a panic into a failure message naming the program and entry point.
fn guarded<T: std::fmt::Debug>(what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        let msg =
            p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
        format!("{what}: panicked: {msg:?}")
    })
}

#[test]
fn hostile_programs_end_in_values_or_typed_errors_on_every_facade_entry() {
    let registry = profiles::testmod();
    let progs = programs();
    let mut runs = 0;
    let mut failures = Vec::new();
    let mut entries = std::collections::BTreeSet::new();
    for (name, m) in &progs {
        let mut check = |entry: String, r: Result<String, String>| {
            entries.insert(entry.split(' ').next().unwrap_or("").to_string());
            runs += 1;
            match r {
                Ok(outcome) => println!("{name} / {entry}: {outcome}"),
                Err(e) => failures.push(format!("{name} / {e}")),
            }
        };
        let linker = kbpf::Linker::with_registry(registry.clone());
        let prog = kbpf::Prog::from(m.clone());
        for engine in engines() {
            let r = guarded("handle", || {
                support::run_once(m, engine, &registry, &mut [0u8; 64], RunOptions::default())
                    .map(|(r0, _)| r0)
                    .map_err(|e| e.to_string())
            });
            check(format!("handle {engine}"), r.map(|x| format!("{x:?}")));
            for pt in [ProgType::SchedCls, ProgType::Xdp] {
                let r = guarded("test_run", || {
                    let maps = kbpf::create_maps(m).map_err(|e| e.to_string())?;
                    let opts = VerifyOptions { prog_type: pt, ..Default::default() };
                    kbpf::test_run(m, &maps, &registry, opts, engine, &kbpf::pkt_v4(), RunOptions::default())
                        .map(|o| o.retval)
                        .map_err(|e| e.to_string())
                });
                check(format!("test_run({pt:?}) {engine}"), r.map(|x| format!("{x:?}")));
                let r = guarded("run_packet", || {
                    let v = prog.verify(&linker, &kbpf::VerifyConfig::of(pt)).map_err(|e| e.to_string())?;
                    let h = v.compile(engine).map_err(|e| e.to_string())?;
                    h.run_packet(&kbpf::pkt_v4()).map(|o| o.retval).map_err(|e| e.to_string())
                });
                check(format!("run_packet({pt:?}) {engine}"), r.map(|x| format!("{x:?}")));
            }
            let r = guarded("handle syscall", || {
                let opts = RunOptions { prog_type: Some(ProgType::Syscall), ..Default::default() };
                support::run_once(m, engine, &registry, &mut [0u8; 16], opts)
                    .map(|(r0, _)| r0)
                    .map_err(|e| e.to_string())
            });
            check(format!("handle(syscall) {engine}"), r.map(|x| format!("{x:?}")));
        }
        let r = guarded("load_unverified", || {
            support::run_unverified(m, &registry, &mut [0u8; 64], BUDGET).map_err(|e| e.to_string())
        });
        check("load_unverified".into(), r.map(|x| format!("{x:?}")));
    }
    println!(
        "{} programs x {} entry points ({} runs), {} failures",
        progs.len(),
        entries.len(),
        runs,
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn hostile_programs_are_refused_by_the_verifier_before_native_code() {
    // the built-in wild programs never reach the JIT: the verifier's refusal is the answer
    let registry = profiles::testmod();
    for (name, src) in &BUILT_IN[1..] {
        if *name == "syscall_edge" {
            continue;
        }
        let m = kbpf::module_from_asm(src, &registry).unwrap();
        for engine in engines() {
            let r = support::run_once(&m, engine, &registry, &mut [0u8; 64], RunOptions::default());
            assert!(matches!(r, Err(kbpf::RunError::Rejected(_))), "{name} {engine}: {r:?}");
        }
    }
}
