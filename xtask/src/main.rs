//! Project automation, run as `cargo xtask <command>`.
//!
//! Owns the suites that span crates or processes: the full test run (with the installs it needs),
//! the conformance table, the kernel differential, benchmarks and long fuzz runs. Library code
//! stays in the crates; this only drives them.

mod bench;
mod conformance;
mod prereq;
mod test;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  test                      install what it can, then run every suite (unit, integration,
                            conformance on every engine, arm64 under qemu when available)
  conformance [--engine E]  run shared/conformance/bpf_conformance on interp and jit (or E)
                            and print the test x engine table
  bench                     shared/bench on interpreter, JIT and kernel JIT (one run, ratios),
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

/// The shared/ folder beside the checkout (`../shared`), or `$KBPF_SHARED`.
pub fn shared_dir() -> std::path::PathBuf {
    match std::env::var_os("KBPF_SHARED") {
        Some(p) => p.into(),
        None => workspace_root().join("..").join("shared"),
    }
}
