//! Every bpf_conformance `.data` file through the interpreter (the suite's helper profile).

use std::path::{Path, PathBuf};

use kbpf_interp::{Vm, VmOptions};
use kbpf_isa::Program;

fn suite_dir() -> PathBuf {
    std::env::var_os("KBPF_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/conformance/bpf_conformance"))
}

/// Runs one file; `Err` describes a failure.
fn run_file(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let tc = kbpf_conformance::parse(&text).map_err(|e| format!("parse: {e}"))?;
    let slots = tc.slots().map_err(|e| format!("asm: {e}"))?;
    let outcome = Program::from_slots(&slots).map_err(|e| e.to_string()).and_then(|p| {
        let vm = Vm::new(&p, &kbpf_kfunc::profiles::conformance(), VmOptions::default())
            .map_err(|e| e.to_string())?;
        let mut mem = tc.mem.clone();
        vm.run(&mut mem).map_err(|e| e.to_string())
    });
    match (outcome, tc.result, &tc.error) {
        (Ok(r0), Some(want), _) if r0 == want => Ok(()),
        (Ok(r0), want, _) => Err(format!("r0 = {r0:#x}, expected {want:x?}")),
        (Err(_), None, Some(_)) => Ok(()),
        (Err(e), _, _) => Err(format!("error: {e}")),
    }
}

#[test]
fn all_conformance_files() {
    let dir = suite_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipping: {} not found", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "data"))
        .collect();
    files.sort();
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            run_file(f).err().map(|e| format!("{}: {e}", f.file_name().unwrap_or_default().to_string_lossy()))
        })
        .collect();
    eprintln!("conformance: {}/{} passed", files.len() - failures.len(), files.len());
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(files.len(), 313, "expected the 313-file suite");
}
