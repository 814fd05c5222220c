//! Long fuzz runs.
//!
//! * `cargo xtask fuzz jit-diff --count N [--seed S] [--arch x86_64|arm64] [--llsc]`: N random
//!   valid programs on the interpreter and a JIT, compared on r0, memory and error: the x86_64
//!   JIT crate's `diff` test, or the arm64 JIT crate's `differential` test (natively on an
//!   aarch64 host, cross-built under `qemu-aarch64-static` elsewhere; `--llsc` runs qemu as a
//!   cortex-a57, without LSE atomics).
//! * `cargo xtask fuzz TARGET --time SECS`: cargo-fuzz (`cargo +nightly fuzz`) on one of the
//!   targets of `fuzz/` for SECS seconds, seeded from the checked-in corpus `fuzz/corpus/TARGET`
//!   (new inputs go to `target/fuzz-corpus/TARGET`, not into the checked-in corpus).

use std::process::Command;

use crate::{arm64, workspace_root};

/// The cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`).
const TARGETS: [&str; 6] = ["decode", "assemble", "elf", "verify_raw", "verify_gen", "jit_diff"];

/// Runs a fuzzer.
pub fn main(args: &[String]) -> Result<bool, String> {
    let mut it = args.iter();
    let target = it.next().map(String::as_str).unwrap_or("jit-diff");
    let rest: Vec<String> = it.cloned().collect();
    if target == "jit-diff" {
        return jit_diff(&rest);
    }
    if TARGETS.contains(&target) {
        return libfuzzer(target, &rest);
    }
    Err(format!("unknown fuzz target {target:?} (jit-diff, {})", TARGETS.join(", ")))
}

fn jit_diff(args: &[String]) -> Result<bool, String> {
    let (mut count, mut seed) = ("1000000".to_string(), None);
    let mut arch = if cfg!(target_arch = "aarch64") { "arm64" } else { "x86_64" }.to_string();
    let mut llsc = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--count" => count = it.next().ok_or("--count needs a value")?.clone(),
            "--seed" => seed = Some(it.next().ok_or("--seed needs a value")?.clone()),
            "--arch" => arch = it.next().ok_or("--arch needs a value")?.clone(),
            "--llsc" => llsc = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    count.parse::<u64>().map_err(|_| format!("--count {count:?} is not a number"))?;
    let mut cmd = Command::new(env!("CARGO"));
    match arch.as_str() {
        "x86_64" => {
            cmd.args(["test", "--release", "-p", "kbpf-jit-x86_64", "--test", "diff", "--", "--nocapture"])
                .current_dir(workspace_root())
                .env("KBPF_DIFF_COUNT", &count);
            if let Some(s) = &seed {
                cmd.env("KBPF_DIFF_SEED", s);
            }
        }
        "arm64" => {
            let test = ["-p", "kbpf-jit-arm64", "--test", "differential", "--", "--nocapture"];
            if cfg!(target_arch = "aarch64") {
                cmd.args(["test", "--release"]).args(test).current_dir(workspace_root());
            } else {
                if let Some(why) = arm64::unavailable() {
                    return Err(format!("arm64 under qemu: {why}"));
                }
                arm64::cross(&mut cmd).args(["test", "--release", "--target", arm64::TARGET]).args(test);
                if llsc {
                    cmd.env("QEMU_CPU", "cortex-a57");
                } else {
                    cmd.env_remove("QEMU_CPU").env("KBPF_EXPECT_LSE", "1");
                }
            }
            // the arm64 test's names for the same knobs
            cmd.env("KBPF_DIFF_PROGRAMS", &count);
            if let Some(s) = &seed {
                cmd.env("KBPF_DIFF_SEED", s);
            }
        }
        other => return Err(format!("--arch {other:?}: x86_64 or arm64")),
    }
    println!("jit-diff: {count} programs on the interpreter and the {arch} JIT");
    Ok(cmd.status().map_err(|e| e.to_string())?.success())
}

fn libfuzzer(target: &str, args: &[String]) -> Result<bool, String> {
    let mut secs = "600".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--time" => secs = it.next().ok_or("--time needs a value")?.clone(),
            other => return Err(format!("unknown option {other}")),
        }
    }
    secs.parse::<u64>().map_err(|_| format!("--time {secs:?} is not a number"))?;
    let root = workspace_root();
    let scratch = root.join("target/fuzz-corpus").join(target);
    std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
    let seeds = root.join("fuzz/corpus").join(target);
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root.join("fuzz"))
        // the pinned toolchain file would win over `+nightly` inside the workspace
        .env_remove("RUSTUP_TOOLCHAIN")
        .args(["+nightly", "fuzz", "run", target])
        .arg(&scratch)
        .arg(&seeds)
        .args(["--", &format!("-max_total_time={secs}"), "-rss_limit_mb=2048", "-timeout=30"]);
    println!("fuzz {target}: {secs}s of cargo +nightly fuzz (new inputs in {})", scratch.display());
    let st = cmd.status().map_err(|e| format!("cargo +nightly fuzz: {e} (cargo install cargo-fuzz)"))?;
    Ok(st.success())
}
