//! Every bpf_conformance `.data` file through the x86_64 JIT (the suite's helper profile), and
//! the same programs on the interpreter for agreement. `KBPF_CONFORMANCE_DIR` overrides the
//! suite directory.
#![allow(unsafe_code)]

use std::path::PathBuf;

use kbpf_conformance::{SuiteFile, TestCase, Verdict, read_suite};
use kbpf_isa::Program;
use kbpf_jit::{Backend, JitOptions};
use kbpf_jit_x86_64::X86_64;

fn suite_dir() -> PathBuf {
    std::env::var_os("KBPF_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/conformance/bpf_conformance"))
}

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
fn all_conformance_files_on_the_jit() {
    let Ok(files) = read_suite(&suite_dir()) else {
        eprintln!("skipping: {} not readable", suite_dir().display());
        return;
    };
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
