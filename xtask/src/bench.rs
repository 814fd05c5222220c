//! `cargo xtask bench`: the engines table (kbpf's `engines` bench, release build, with the
//! targets of issues 3 and 16 and the peers' figures) and the criterion micro benchmarks: what
//! an embedder feels (kbpf's `embed`: invoking a handle, compiling, a host closure call) and a
//! 12-argument kfunc call from JIT code.

use std::process::Command;

use crate::workspace_root;

fn cargo_bench(args: &[&str]) -> Result<bool, String> {
    let status = Command::new(env!("CARGO"))
        .arg("bench")
        .args(args)
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("cargo bench: {e}"))?;
    Ok(status.success())
}

/// `cargo xtask bench [--quick]`: `--quick` skips criterion.
pub fn run(args: &[String]) -> Result<bool, String> {
    let dir = workspace_root().join("benches").join("programs");
    let dir = dir.to_string_lossy().into_owned();
    let mut ok = cargo_bench(&["-q", "-p", "kbpf", "--bench", "engines", "--", &dir])?;
    if !args.iter().any(|a| a == "--quick") {
        ok &= cargo_bench(&["-q", "-p", "kbpf", "--bench", "embed"])?;
        ok &= cargo_bench(&["-q", "-p", "kbpf-jit-x86_64", "--bench", "kfunc_call"])?;
    }
    Ok(ok)
}
