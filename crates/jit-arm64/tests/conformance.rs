//! Every bpf_conformance `.data` file through the arm64 JIT (the suite's helper profile), with
//! LSE atomics and with LL/SC loops where the CPU allows, each result also compared with the
//! interpreter's. aarch64 only (natively or under qemu-user; see `qemu-test.sh`).
//! The suite is found by `kbpf_conformance::suite_dir` (`KBPF_CONFORMANCE_DIR`); ignored by
//! default, `cargo xtask test` runs it with `--ignored` when the suite is present.
#![cfg(target_arch = "aarch64")]
#![allow(unsafe_code)]

mod common;

use kbpf_conformance::{HOW_TO_GET, TestCase, Verdict, read_suite, suite_dir};
use kbpf_interp::{Vm, VmOptions};
use kbpf_isa::Program;
use kbpf_jit::{Backend, JitOptions};

fn jit_outcome(tc: &TestCase, lse: bool) -> Result<u64, String> {
    let slots = tc.slots().map_err(|e| format!("asm: {e}"))?;
    let prog = Program::from_slots(&slots).map_err(|e| e.to_string())?;
    let registry = kbpf_kfunc::profiles::conformance();
    // SAFETY: bpf_conformance programs are trusted test input (some are ones the kernel
    // rejects), each run on the memory its test case gives.
    let jp = unsafe { common::backend(lse).compile_unverified(&prog, &registry, &JitOptions::default()) }
        .map_err(|e| e.to_string())?;
    let mut mem = tc.mem.clone();
    jp.execute(&mut mem).map_err(|e| e.to_string())
}

fn interp_outcome(tc: &TestCase) -> Result<u64, String> {
    let slots = tc.slots().map_err(|e| format!("asm: {e}"))?;
    let prog = Program::from_slots(&slots).map_err(|e| e.to_string())?;
    let vm = Vm::new(&prog, &kbpf_kfunc::profiles::conformance(), VmOptions::default())
        .map_err(|e| e.to_string())?;
    let mut mem = tc.mem.clone();
    vm.run(&mut mem).map_err(|e| e.to_string())
}

#[test]
#[ignore = "needs the bpf_conformance suite (KBPF_CONFORMANCE_DIR, default ../shared/conformance/bpf_conformance beside the workspace); cargo xtask test runs it when present"]
fn all_conformance_files() {
    let dir = suite_dir();
    let files = read_suite(&dir).unwrap_or_else(|e| panic!("{}: {e}; {HOW_TO_GET}", dir.display()));
    for lse in common::flavours() {
        let mut failures = Vec::new();
        let mut passed = 0;
        let mut mismatches = Vec::new();
        for f in &files {
            let tc = match &f.case {
                Ok(tc) => tc,
                Err(e) => {
                    failures.push(format!("{}: parse: {e}", f.name));
                    continue;
                }
            };
            let got = jit_outcome(tc, lse);
            match tc.judge(got.as_ref().map(|&r| r).map_err(String::as_str)) {
                Verdict::Pass => passed += 1,
                Verdict::Fail(why) => failures.push(format!("{}: {why}", f.name)),
                Verdict::Skip => failures.push(format!("{}: no result or error section", f.name)),
            }
            if let (Ok(j), Ok(i)) = (&got, interp_outcome(tc))
                && *j != i
            {
                mismatches.push(format!("{}: jit {j:#x}, interpreter {i:#x}", f.name));
            }
        }
        eprintln!(
            "conformance (arm64 JIT, {}): {passed}/{} passed, {} interpreter mismatches",
            if lse { "LSE" } else { "LL/SC" },
            files.len(),
            mismatches.len()
        );
        assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
        assert_eq!(files.len(), 313, "expected the 313-file suite");
    }
}
