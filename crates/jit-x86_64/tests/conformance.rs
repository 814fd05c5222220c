//! Every bpf_conformance `.data` file through the x86_64 JIT (the suite's helper profile), and
//! the same programs on the interpreter for agreement. The suite is found by
//! `kbpf_conformance::suite_dir` (`KBPF_CONFORMANCE_DIR`); ignored by default, `cargo xtask test`
//! runs it with `--ignored` when the suite is present.
#![allow(unsafe_code)]

use kbpf_conformance::{HOW_TO_GET, SuiteFile, TestCase, Verdict, read_suite, suite_dir};
use kbpf_isa::Program;
use kbpf_jit::{Backend, JitOptions};
use kbpf_jit_x86_64::X86_64;

fn outcome(tc: &TestCase) -> Result<u64, String> {
    let slots = tc.slots().map_err(|e| format!("asm: {e}"))?;
    let prog = Program::from_slots(&slots).map_err(|e| e.to_string())?;
    let registry = kbpf_kfunc::profiles::conformance();
    // SAFETY: bpf_conformance programs are trusted test input (some are ones the kernel
    // rejects), each run on the memory its test case gives.
    let jp = unsafe { X86_64.compile_unverified(&prog, &registry, &JitOptions::default()) }
        .map_err(|e| e.to_string())?;
    let mut mem = tc.mem.clone();
    jp.execute(&mut mem).map_err(|e| e.to_string())
}

fn verdict(f: &SuiteFile) -> Verdict {
    match &f.case {
        Ok(tc) => tc.judge(outcome(tc).as_ref().map(|&r| r).map_err(String::as_str)),
        Err(e) => Verdict::Fail(format!("parse: {e}")),
    }
}

#[test]
#[ignore = "needs the bpf_conformance suite (KBPF_CONFORMANCE_DIR, default ../shared/conformance/bpf_conformance beside the workspace); cargo xtask test runs it when present"]
fn all_conformance_files_on_the_jit() {
    let dir = suite_dir();
    let files = read_suite(&dir).unwrap_or_else(|e| panic!("{}: {e}; {HOW_TO_GET}", dir.display()));
    let mut failures = Vec::new();
    let mut passed = 0;
    for f in &files {
        match verdict(f) {
            Verdict::Pass => passed += 1,
            Verdict::Fail(why) => failures.push(format!("{}: {why}", f.name)),
            Verdict::Skip => failures.push(format!("{}: no result or error section", f.name)),
        }
    }
    eprintln!("conformance (x86_64 JIT): {passed}/{} passed", files.len());
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(files.len(), 313, "expected the 313-file suite");
}
