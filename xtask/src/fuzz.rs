//! `cargo xtask fuzz jit-diff --count N [--seed S]`: N random valid programs on the interpreter
//! and the host JIT, compared on r0, memory and error (the JIT crate's `diff` test, scaled up).

use std::process::Command;

use crate::workspace_root;

/// Runs the differential fuzzer.
pub fn main(args: &[String]) -> Result<bool, String> {
    let mut it = args.iter();
    let target = it.next().map(String::as_str).unwrap_or("jit-diff");
    if target != "jit-diff" {
        return Err(format!("unknown fuzz target {target:?} (jit-diff)"));
    }
    let (mut count, mut seed) = ("1000000".to_string(), None);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--count" => count = it.next().ok_or("--count needs a value")?.clone(),
            "--seed" => seed = Some(it.next().ok_or("--seed needs a value")?.clone()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    count.parse::<u64>().map_err(|_| format!("--count {count:?} is not a number"))?;
    let crate_name = if cfg!(target_arch = "aarch64") { "kbpf-jit-arm64" } else { "kbpf-jit-x86_64" };
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["test", "--release", "-p", crate_name, "--test", "diff", "--", "--nocapture"])
        .current_dir(workspace_root())
        .env("KBPF_DIFF_COUNT", &count);
    if let Some(s) = seed {
        cmd.env("KBPF_DIFF_SEED", s);
    }
    println!("jit-diff: {count} programs on the interpreter and the {crate_name} JIT");
    Ok(cmd.status().map_err(|e| e.to_string())?.success())
}
