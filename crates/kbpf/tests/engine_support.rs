//! No silent fallbacks between the verifier and the engines (issue 11, item 3): every helper
//! and kfunc the verifier accepts either runs on an engine or is reported for that engine when
//! verifying, and a program the verifier accepts with dead code runs on the JIT as on the
//! interpreter (the JIT gets the post-verification program).

use kbpf::kfunc::{Registry, profiles};
use kbpf::verifier::{CallKind, CalledFn, ProgType, VerifyOptions, helper_arg_count, helper_names};
use kbpf::{Engine, RunError, RunOptions};

mod support;

const TYPES: [ProgType; 5] = [
    ProgType::SocketFilter,
    ProgType::Xdp,
    ProgType::SchedCls,
    ProgType::Syscall,
    ProgType::Mem { ctx_size: 64 },
];

fn engines() -> Vec<Engine> {
    let mut v = vec![Engine::Interp];
    if kbpf::host_backend().is_some() {
        v.push(Engine::Jit);
    }
    v
}

/// `(runs, reported)` for `calls` on `engine`.
fn partition(calls: &[CalledFn], registry: &Registry, engine: Engine) -> (Vec<String>, Vec<String>) {
    let (mut runs, mut reported) = (Vec::new(), Vec::new());
    for c in calls {
        match kbpf::check_call(c, registry, engine) {
            Ok(()) => runs.push(c.name.clone()),
            Err(u) => {
                assert_eq!(
                    (u.kind, u.id, u.name.as_str(), u.engine),
                    (c.kind, c.id, c.name.as_str(), engine)
                );
                reported.push(c.name.clone());
            }
        }
    }
    (runs, reported)
}

#[test]
fn every_accepted_helper_and_kfunc_runs_or_is_reported() {
    let registry = profiles::testmod();
    let kfuncs: Vec<CalledFn> = kbpf::kfunc_table(&registry)
        .into_iter()
        .map(|k| CalledFn {
            kind: CallKind::Kfunc,
            id: k.btf_id,
            name: k.name.clone(),
            arity: k.args.len() as u8,
        })
        .collect();
    for pt in TYPES {
        let helpers: Vec<CalledFn> = (0..helper_names::max_id())
            .filter_map(|id| {
                let arity = helper_arg_count(id, pt)?;
                let name = helper_names::helper_name(id)?;
                Some(CalledFn { kind: CallKind::Helper, id, name, arity })
            })
            .collect();
        assert!(!helpers.is_empty(), "{pt:?}: the verifier accepts no helper?");
        for engine in engines() {
            let (runs, reported) = partition(&helpers, &registry, engine);
            let (kruns, kreported) = partition(&kfuncs, &registry, engine);
            println!(
                "{pt:?} on {engine}: helpers {} run, {} reported; kfuncs {} run, {} reported",
                runs.len(),
                reported.len(),
                kruns.len(),
                kreported.len()
            );
            assert_eq!(runs.len() + reported.len(), helpers.len());
            // the map helpers run everywhere
            assert!(runs.iter().any(|n| n == "bpf_map_lookup_elem"), "{pt:?} {engine}: {runs:?}");
        }
    }
}

#[test]
fn a_helper_without_native_is_reported_at_verification_and_refused_at_run() {
    let registry = profiles::testmod();
    // bpf_get_current_pid_tgid (14): the verifier accepts it for a syscall program; no engine
    // of kbpf has a native for it
    let m = kbpf::module_from_asm("call 14\nr0 = 0\nexit\n", &registry).unwrap();
    let opts = VerifyOptions { prog_type: ProgType::Syscall, ..Default::default() };
    for engine in engines() {
        let (out, unsupported) = kbpf::verify_for_engine(&m, opts.clone(), &registry, engine);
        assert!(out.accepted, "{:?}", out.error);
        let u = unsupported.expect("reported at verification");
        assert_eq!((u.id, u.name.as_str(), u.engine), (14, "bpf_get_current_pid_tgid", engine));
        let run = RunOptions { prog_type: Some(ProgType::Syscall), ..Default::default() };
        match support::run_once(&m, engine, &registry, &mut [0u8; 8], run) {
            Err(RunError::Unsupported(r)) => assert_eq!(r, u),
            other => panic!("{engine}: {other:?}"),
        }
    }
}

#[test]
fn dead_code_runs_on_the_jit_as_on_the_interpreter() {
    let registry = profiles::testmod();
    let m = kbpf::module_from_asm("r0 = 0\nif r0 == 0 goto +1\n*(u32 *)(r10 -3) = r0\nexit\n", &registry)
        .unwrap();
    for engine in engines() {
        let r0 = support::run_once(&m, engine, &registry, &mut [], RunOptions::default());
        assert_eq!(r0.unwrap().0, 0, "{engine}");
    }
}

#[test]
fn a_rejected_program_is_refused_by_every_entry() {
    let registry = profiles::testmod();
    let m = kbpf::module_from_asm("r0 = *(u64 *)(r1 + 8)\nexit\n", &registry).unwrap();
    for engine in engines() {
        let r = support::run_once(&m, engine, &registry, &mut [0u8; 4], RunOptions::default());
        assert!(matches!(r, Err(RunError::Rejected(_))), "{engine}: {r:?}");
    }
    // the interpreter may run it unverified, and traps
    let r = support::run_unverified(&m, &registry, &mut [0u8; 4], RunOptions::default());
    assert!(matches!(r, Err(RunError::Interp(_))), "{r:?}");
}

#[test]
fn an_input_smaller_than_the_verified_context_is_refused() {
    let registry = profiles::testmod();
    let m = kbpf::module_from_asm("r0 = *(u64 *)(r1 + 56)\nexit\n", &registry).unwrap();
    let opts = RunOptions { prog_type: Some(ProgType::Mem { ctx_size: 64 }), ..Default::default() };
    for engine in engines() {
        let h = support::handle(&m, engine, &registry, 0, opts).unwrap();
        let r = h.run(&mut [0u8; 8]);
        assert!(matches!(r, Err(RunError::Context { .. })), "{engine}: {r:?}");
        let mut mem = [7u8; 64];
        assert_eq!(h.run(&mut mem).unwrap(), 0x0707_0707_0707_0707);
    }
    // a packet program's context is built by test_run, never taken from the caller
    let opts = RunOptions { prog_type: Some(ProgType::Xdp), ..Default::default() };
    let m = kbpf::module_from_asm("r0 = 2\nexit\n", &registry).unwrap();
    for engine in engines() {
        let r = support::run_once(&m, engine, &registry, &mut [0u8; 64], opts);
        assert!(matches!(r, Err(RunError::Context { .. })), "{engine}: {r:?}");
    }
}

#[test]
fn a_syscall_context_is_padded_to_what_the_verifier_allows() {
    let registry = profiles::testmod();
    let m = kbpf::module_from_asm("r0 = *(u64 *)(r1 + 32760)\nr0 += 1\nexit\n", &registry).unwrap();
    let opts = RunOptions { prog_type: Some(ProgType::Syscall), ..Default::default() };
    for engine in engines() {
        assert_eq!(support::run_once(&m, engine, &registry, &mut [1u8; 4], opts).unwrap().0, 1, "{engine}");
    }
}
