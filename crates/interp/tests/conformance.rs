//! Every bpf_conformance `.data` file through the interpreter (the suite's helper profile).
//! `KBPF_CONFORMANCE_DIR` overrides the suite directory.

use std::path::PathBuf;

use kbpf_conformance::{TestCase, Verdict, read_suite, run_suite};
use kbpf_interp::{Vm, VmOptions};
use kbpf_isa::Program;

fn suite_dir() -> PathBuf {
    std::env::var_os("KBPF_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/conformance/bpf_conformance"))
}

fn outcome(tc: &TestCase) -> Result<u64, String> {
    let slots = tc.slots().map_err(|e| format!("asm: {e}"))?;
    let prog = Program::from_slots(&slots).map_err(|e| e.to_string())?;
    let vm = Vm::new(&prog, &kbpf_kfunc::profiles::conformance(), VmOptions::default())
        .map_err(|e| e.to_string())?;
    let mut mem = tc.mem.clone();
    vm.run(&mut mem).map_err(|e| e.to_string())
}

#[test]
fn all_conformance_files() {
    let Ok(files) = read_suite(&suite_dir()) else {
        eprintln!("skipping: {} not readable", suite_dir().display());
        return;
    };
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
