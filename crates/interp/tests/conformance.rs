//! Every bpf_conformance `.data` file through the interpreter (the suite's helper profile).
//! The suite is found by `kbpf_conformance::suite_dir` (`KBPF_CONFORMANCE_DIR`); ignored by
//! default, `cargo xtask test` runs it with `--ignored` when the suite is present.

use kbpf_conformance::{HOW_TO_GET, TestCase, Verdict, read_suite, run_suite, suite_dir};
use kbpf_interp::{Vm, VmOptions};
use kbpf_isa::Program;

fn outcome(tc: &TestCase) -> Result<u64, String> {
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
    let mut failures = Vec::new();
    let mut passed = 0;
    for (name, verdict) in run_suite(&files, outcome) {
        match verdict {
            Verdict::Pass => passed += 1,
            Verdict::Fail(why) => failures.push(format!("{name}: {why}")),
            Verdict::Skip => failures.push(format!("{name}: no result or error section")),
        }
    }
    eprintln!("conformance (interpreter): {passed}/{} passed", files.len());
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(files.len(), 313, "expected the 313-file suite");
}
