//! Project automation, run as `cargo xtask <command>`.
//!
//! Owns the suites that span crates or processes: the full test run (with the installs it needs
//! and the `#[ignore]`d tests it runs where their prerequisite is present), the conformance
//! table, the kernel differential, benchmarks and long fuzz runs. Library code
//! stays in the crates; this only drives them.

mod arm64;
mod bench;
mod conformance;
mod fuzz;
mod gated;
mod kernel_diff;
mod kernel_stream;
mod prereq;
mod selftests;
mod soundness;
mod test;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  test                      install what it can, then run every suite (unit, integration, the
                            #[ignore]d tests whose prerequisite is here, arm64 under qemu,
                            conformance on every engine, kernel-diff); the summary lists each
                            skip as `skipped: WHAT (why, how to get it)`
  conformance [--engine E]  run bpf_conformance ($KBPF_CONFORMANCE_DIR, default
                            ../shared/conformance/bpf_conformance beside the workspace) on
                            interp and jit (or E) and print the test x engine table
  kernel-diff [--files]     kbpf's verifier against the running kernel (or the captured
                            verdicts in tests/kernel-cases/): agreement, processed-insn and
                            verification-time ratios
  kernel-diff --stream --count N [--seed S] [--jobs J]
                            N generated programs through the kernel and kbpf, compared on
                            verdict, errno, error line, processed count and level-1 log; only
                            mismatches are kept (minimised, target/kernel-diff-stream/)
  fuzz jit-diff --count N [--seed S] [--arch arm64]
                            interpreter vs JIT on N random valid programs (default 1M); arm64
                            runs the arm64 JIT's differential test under qemu
  fuzz TARGET --time SECS   cargo-fuzz (nightly) on fuzz/fuzz_targets/TARGET for SECS seconds
                            (decode, assemble, elf, verify_raw, verify_gen, jit_diff)
  soundness --count N --seed S [--runs R] [--jobs J] [--time SECS] [--no-kernel] [--no-save]
                            the verifier soundness harness: generated programs kbpf accepts
                            run R times on the checked interpreter against the verifier's
                            per-instruction bounds; violations minimised into tests/soundness/;
                            kbpf accepts the running kernel refuses are counted
  build-arm64               cross-build an aarch64 kbpf binary (runs under qemu-aarch64-static)
  selftests [--only N,..] [--sample N] [--jobs N] [--timeout SECS]
                            the kernel's BPF selftests (linux-source-6.12, built in
                            $KBPF_SELFTESTS_CACHE, default target/selftests) loaded by libbpf
                            into the running kernel and by kbpf: loader failures, identical
                            instructions, verdicts per program type
  xlated-diff [--only N,..] [--jobs N]
                            kbpf's translated programs (kbpf dump xlated) against the kernel's
                            (bpf_prog_info xlated insns) for the selftests it loads
  jited-diff [--only N,..] [--show STEM/PROG] [--jobs N]
                            kbpf's x86_64 code for them (kbpf dump jited) against the kernel JIT's
                            image, after normalising addresses; the first difference by class
  test-run-diff [--only N,..] [--jobs N] [--timeout SECS]
                            the selftests programs the kernel test-runs (BPF_PROG_TEST_RUN on
                            pkt_v4/pkt_v6) run by kbpf on each engine: retval, packet, maps
  bench                     benches/programs on interpreter, JIT and kernel JIT (one run, ratios),
                            then the criterion micro benchmarks";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    let ok = match cmd.as_str() {
        "test" => test::run(rest),
        "conformance" => conformance::main(rest),
        "bench" => bench::run(rest),
        "build-arm64" => arm64::build(rest),
        "kernel-diff" => kernel_diff::main(rest),
        "fuzz" => fuzz::main(rest),
        "soundness" => soundness::main(rest),
        "selftests" => selftests::main(rest),
        // one object through kbpf, for `selftests` (a process per object: a hang or crash is contained)
        "selftests-kbpf" => selftests::worker(rest),
        "xlated-diff" => selftests::xlated::main(rest),
        "jited-diff" => selftests::jited::main(rest),
        "test-run-diff" => selftests::test_run::main(rest),
        // one object's kbpf test runs, for `test-run-diff` (a process per object)
        "test-run-kbpf" => selftests::test_run::worker::main(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(true)
        }
        other => {
            eprintln!("unknown command {other:?}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match ok {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::from(2)
        }
    }
}

/// Root of the workspace (xtask's parent directory).
pub fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}
