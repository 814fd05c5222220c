//! `kbpf verify --engine interp --kernel-compat`: verifying for the kernel-compatible
//! interpreter refuses stack arguments like a kernel without a JIT (shared stack-args.md §6).

use std::path::Path;
use std::process::Command;

fn verify(args: &[&str]) -> (Option<i32>, String) {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/stack_args/cases/01_six_args.s");
    let out = Command::new(env!("CARGO_BIN_EXE_kbpf"))
        .arg("verify")
        .arg(&case)
        .args(args)
        .output()
        .expect("kbpf runs");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn kernel_compat_interpreter_refuses_stack_args() {
    let (code, text) = verify(&["--engine", "interp", "--kernel-compat"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("verdict: rejected (EINVAL): stack args are not supported in non-JITed programs"),
        "{text}"
    );
}

#[test]
fn jit_and_kbpf_interpreter_accept() {
    for args in [
        &[][..],
        &["--kernel-compat"][..],
        &["--engine", "interp"][..],
        &["--engine", "jit", "--kernel-compat"][..],
    ] {
        let (code, text) = verify(args);
        assert_eq!(code, Some(0), "{args:?}: {text}");
    }
}
