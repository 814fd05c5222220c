//! The stack-argument scenario suite (docs: ../../docs/stack-args.md; spec: shared
//! stack-args.md §7). Every `cases/*.s` file carries its expectation in header comments:
//!
//! ```text
//! # expect: accept            | # expect: reject EFAULT
//! # retval: 21                | # error: callee expects 7 args, stack arg1 is not initialized
//! # kernel-compat-interp: MSG   (the interpreter in kernel-compatible mode refuses with MSG)
//! # log: TEXT                   (the verifier log contains TEXT)
//! # non-jit: MSG                (verifying for a non-JIT target, like the kernel's interpreter,
//!                                refuses with MSG)
//! # allow-global-stack-args: yes (verify with kbpf's extension on)
//! # log-level: 2                 (verify at this log level; default 1)
//! # test-state-freq: yes         (BPF_F_TEST_STATE_FREQ: a checkpoint at every prune point)
//! # prog-type: tc                (verify as this program type; default socket_filter)
//! # map-value: NAME, KEY, ITEM... (after each run, element KEY of map NAME starts with ITEMs,
//!                                `.mapdata` syntax: `u64 550`)
//! ```
//!
//! Accepted cases run on the interpreter and the host JIT with their maps and must return
//! `retval` on both: tc and xdp cases like the kernel's test run of the selftests (`kbpf::test_run`
//! on `pkt_v4`: context accesses converted, r1 = a context around the packet), the others with
//! a zeroed 64-byte buffer as the context.
//! Cases with maps get fresh maps per engine; the timers they start fire after the main program
//! (a verified `kbpf::Handle`).
//! Every case is also verified with `kbpf::verify_module` (the module's `.func` prototypes and
//! the test kfunc set): verdict, errno and the error line (`# error:`) or a log line (`# log:`)
//! must match.

use std::path::{Path, PathBuf};

use kbpf::interp::{Vm, VmOptions};
use kbpf::kfunc::profiles;
use kbpf::{Engine, RunOptions, SourceKind};

#[path = "../../crates/kbpf/tests/support/mod.rs"]
mod support;

#[derive(Debug, Default)]
struct Expect {
    accept: bool,
    errno: Option<String>,
    retval: Option<u64>,
    error: Option<String>,
    log: Vec<String>,
    kernel_compat_interp: Option<String>,
    non_jit: Option<String>,
    allow_global_stack_args: bool,
    log_level: Option<u32>,
    test_state_freq: bool,
    prog_type: kbpf::verifier::ProgType,
    map_values: Vec<(String, u32, Vec<u8>)>,
}

fn parse_expect(text: &str) -> Expect {
    let mut e = Expect::default();
    for line in text.lines().take_while(|l| l.starts_with('#') || l.trim().is_empty()) {
        let Some((key, value)) = line.trim_start_matches('#').trim().split_once(':') else { continue };
        let value = value.trim().to_string();
        match key.trim() {
            "expect" => {
                e.accept = value == "accept";
                e.errno = value.strip_prefix("reject ").map(str::to_string);
            }
            "retval" => {
                e.retval = Some(match value.strip_prefix("0x") {
                    Some(h) => u64::from_str_radix(h, 16).expect("hex retval"),
                    None => value.parse().expect("decimal retval"),
                })
            }
            "error" => e.error = Some(value),
            "log" => e.log.push(value),
            "kernel-compat-interp" => e.kernel_compat_interp = Some(value),
            "non-jit" => e.non_jit = Some(value),
            "allow-global-stack-args" => e.allow_global_stack_args = value == "yes",
            "log-level" => e.log_level = value.parse().ok(),
            "test-state-freq" => e.test_state_freq = value == "yes",
            "prog-type" => e.prog_type = value.parse().expect("known prog-type"),
            "map-value" => e.map_values.push(parse_map_value(&value)),
            _ => {}
        }
    }
    e
}

/// `NAME, KEY, u64 550, u8 1, ...`: the expected leading bytes of element KEY of map NAME.
fn parse_map_value(text: &str) -> (String, u32, Vec<u8>) {
    let mut parts = text.split(',').map(str::trim);
    let name = parts.next().expect("map name").to_string();
    let key = parts.next().and_then(|k| k.parse().ok()).expect("map key");
    let mut bytes = Vec::new();
    for item in parts {
        let (ty, v) = item.split_once(' ').expect("`uN VALUE`");
        let v: u64 = v.trim().parse().expect("integer");
        let n = match ty {
            "u8" => 1,
            "u16" => 2,
            "u32" => 4,
            _ => 8,
        };
        bytes.extend_from_slice(&v.to_le_bytes()[..n]);
    }
    (name, key, bytes)
}

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/stack_args/cases");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("cases directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "s"))
        .collect();
    v.sort();
    v
}

#[test]
fn accepted_scenarios_run_on_every_engine() {
    let registry = profiles::testmod();
    let mut ran = 0;
    for path in cases() {
        let text = std::fs::read_to_string(&path).unwrap();
        let exp = parse_expect(&text);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let m = kbpf::read_module(&path, SourceKind::Asm, &registry, None)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if let Some(msg) = &exp.kernel_compat_interp {
            let err = Vm::new(
                &m.program().expect("decodes"),
                &registry,
                VmOptions { kernel_compat: true, ..Default::default() },
            )
            .err()
            .unwrap_or_else(|| panic!("{name}: kernel-compat interpreter accepted"));
            assert!(err.to_string().contains(msg.as_str()), "{name}: {err}");
        }
        if !exp.accept {
            continue;
        }
        let want = exp.retval.unwrap_or_else(|| panic!("{name}: accept without retval"));
        for engine in [Engine::Interp, Engine::Jit] {
            let (mut maps, mut handle) = (None, None);
            let got = if kbpf::CtxLayout::of(exp.prog_type).is_some() {
                let maps = maps.insert(kbpf::create_maps(&m).unwrap_or_else(|e| panic!("{name}: {e}")));
                // packet programs run like the kernel's test run, on the selftests' pkt_v4
                let opts = kbpf::verifier::VerifyOptions {
                    prog_type: exp.prog_type,
                    allow_global_stack_args: exp.allow_global_stack_args,
                    ..Default::default()
                };
                let data = kbpf::pkt_v4();
                kbpf::test_run(&m, maps, &registry, opts, engine, &data, RunOptions::default())
                    .map(|o| o.retval)
                    .unwrap_or_else(|e| panic!("{name} on {engine:?}: {e}"))
            } else {
                let mut mem = vec![0u8; 64];
                // verified first, as the scenario's program type when it is not a socket filter
                // (whose context only a test run could build), else with the buffer as context
                let opts = RunOptions {
                    allow_global_stack_args: exp.allow_global_stack_args,
                    prog_type: (exp.prog_type != kbpf::verifier::ProgType::SocketFilter)
                        .then_some(exp.prog_type),
                    ..Default::default()
                };
                let h = handle.insert(
                    support::handle(&m, engine, &registry, mem.len(), opts)
                        .unwrap_or_else(|e| panic!("{name} on {engine:?}: {e}")),
                );
                h.run(&mut mem).unwrap_or_else(|e| panic!("{name} on {engine:?}: {e}"))
            };
            let maps = match (&maps, &handle) {
                (Some(m), _) => m,
                (None, Some(h)) => h.map_set(),
                (None, None) => unreachable!("one of the two runs happened"),
            };
            assert_eq!(got, want, "{name} on {engine:?}");
            for (map, key, bytes) in &exp.map_values {
                let fd =
                    m.maps.iter().position(|s| &s.name == map).unwrap_or_else(|| panic!("{name}: {map}"));
                let v = maps.get(fd).and_then(|mp| mp.lookup(&key.to_le_bytes())).expect("element");
                assert_eq!(&v[..bytes.len()], &bytes[..], "{name} on {engine:?}: map {map}[{key}]");
            }
        }
        ran += 1;
    }
    assert!(ran >= 12, "only {ran} accepted scenarios ran");
}

#[test]
fn every_scenario_verifies_as_expected() {
    let registry = profiles::testmod();
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in cases() {
        let text = std::fs::read_to_string(&path).unwrap();
        let exp = parse_expect(&text);
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let m = kbpf::read_module(&path, SourceKind::Asm, &registry, None)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let opts = kbpf::verifier::VerifyOptions {
            log_level: exp.log_level.unwrap_or(1),
            prog_type: exp.prog_type,
            allow_global_stack_args: exp.allow_global_stack_args,
            test_state_freq: exp.test_state_freq,
            ..Default::default()
        };
        let out = kbpf::verify_module(&m, opts);
        checked += 1;
        let got_errno = out.error.as_ref().map(|e| format!("{:?}", e.errno()));
        let got_msg = out.error.as_ref().map(|e| e.message().to_string());
        if out.accepted != exp.accept {
            failures.push(format!("{name}: verdict accepted={} ({got_msg:?})", out.accepted));
            continue;
        }
        if !exp.accept && got_errno != exp.errno {
            failures.push(format!("{name}: errno {got_errno:?}, want {:?} ({got_msg:?})", exp.errno));
        }
        if let Some(want) = &exp.error
            && got_msg.as_deref() != Some(want.as_str())
        {
            failures.push(format!("{name}: error {got_msg:?}, want {want:?}"));
        }
        for line in &exp.log {
            if !out.log.lines().any(|l| l.contains(line.as_str())) {
                failures.push(format!("{name}: log lacks {line:?}"));
            }
        }
        // kernel-compatible verification for the interpreter refuses with the same message
        if let Some(msg) = exp.kernel_compat_interp.as_ref().or(exp.non_jit.as_ref()) {
            let opts =
                kbpf::verifier::VerifyOptions { jit: false, prog_type: exp.prog_type, ..Default::default() };
            let out = kbpf::verify_module(&m, opts);
            let got = out.error.as_ref().map(|e| e.message().to_string());
            if got.as_deref() != Some(msg.as_str()) {
                failures.push(format!("{name}: non-JIT verification gave {got:?}, want {msg:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} scenarios disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 29, "only {checked} scenarios");
}
