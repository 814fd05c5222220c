//! `cargo xtask test`: everything, in one command, on a fresh machine. What this machine cannot
//! run (no kernel oracle, no bpf_conformance data, no qemu, ...) is a counted skip listed in the
//! summary as `skipped: WHAT (why, how to get it)`; the run passes without it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::gated::{GATED, Need};
use crate::{arm64, conformance, kernel_diff, prereq, selftests, workspace_root};

/// Pass/fail counts summed over the suites, and what was skipped.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    failed_suites: Vec<String>,
    /// `(what, why and how to get it)`.
    skipped: Vec<(String, String)>,
}

impl Tally {
    fn suite(&mut self, name: &str, ok: bool, passed: usize, failed: usize) {
        self.passed += passed;
        self.failed += failed;
        if !ok {
            self.failed_suites.push(name.to_string());
        }
    }

    fn skip(&mut self, what: &str, why: String) {
        println!("skipped: {what} ({why})");
        self.skipped.push((what.to_string(), why));
    }
}

/// Runs a cargo command, echoing its output, and sums the libtest `test result:` lines.
fn cargo_tests(args: &[&str]) -> Result<(bool, usize, usize), String> {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(args).current_dir(workspace_root());
    run_counting(cmd)
}

/// Runs `cmd`, echoing its stdout, and sums the libtest `test result:` lines.
fn run_counting(mut cmd: Command) -> Result<(bool, usize, usize), String> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = cmd.spawn().map_err(|e| format!("cargo: {e}"))?;
    let (mut passed, mut failed) = (0, 0);
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                passed += count(rest, " passed");
                failed += count(rest, " failed");
            }
        }
    }
    let ok = child.wait().map_err(|e| e.to_string())?.success();
    Ok((ok, passed, failed))
}

/// The number before `what` in a libtest summary (`ok. 12 passed; 0 failed; ...`).
fn count(summary: &str, what: &str) -> usize {
    summary
        .split(';')
        .find_map(|part| part.trim_end().strip_suffix(what).and_then(|n| n.rsplit(' ').next()?.parse().ok()))
        .unwrap_or(0)
}

/// Examples run as tests: `(package, example)`.
const EXAMPLES: [(&str, &str); 1] = [("kbpf", "embed")];

/// `cargo xtask test`.
pub fn run(_args: &[String]) -> Result<bool, String> {
    // Installs what it can; what stays missing shows up below as the skips it causes.
    let _ = prereq::ensure();
    let mut tally = Tally::default();

    println!("== unit and integration tests (cargo test --workspace)");
    let (ok, p, f) = cargo_tests(&["test", "--workspace"])?;
    tally.suite("cargo test", ok, p, f);

    // The examples a reader copies: built by `cargo test`, run here (one test each).
    for (krate, example) in EXAMPLES {
        println!("== example {example} (cargo run -p {krate} --example {example})");
        let status = Command::new(env!("CARGO"))
            .args(["run", "-q", "-p", krate, "--example", example])
            .current_dir(workspace_root())
            .status()
            .map_err(|e| format!("cargo: {e}"))?;
        let ok = status.success();
        tally.suite(&format!("example {example}"), ok, ok as usize, !ok as usize);
    }

    // A fixed sample of the kernel's selftests (the full corpus is `cargo xtask selftests`);
    // first, because it builds the cache the `SelftestsCache` tests below read.
    println!("== selftests sample (cargo xtask selftests --only {})", selftests::TEST_SAMPLE.join(","));
    let sample = selftests::Options {
        only: selftests::TEST_SAMPLE.iter().map(|s| s.to_string()).collect(),
        ..selftests::Options::default()
    };
    match selftests::run(&sample) {
        Ok(selftests::Outcome::Skipped(why)) => tally.skip("selftests", why),
        Ok(selftests::Outcome::Ran(summary)) => {
            // one gate, one test: kbpf never crashed and the kernel judged the sample
            let ok = summary.gate();
            tally.suite("selftests", ok, ok as usize, !ok as usize);
        }
        Err(e) => {
            println!("selftests could not run: {e}");
            tally.suite("selftests", false, 0, 1);
        }
    }

    // `#[ignore]`d tests whose prerequisite is here; a counted skip for each one that is not.
    for need in Need::ALL {
        if let Some(why) = need.missing() {
            tally.skip(need.name(), why);
            continue;
        }
        for g in GATED.iter().filter(|g| g.need == need) {
            println!("== {} ({}, cargo test {} -- --ignored)", need.name(), g.file, g.args.join(" "));
            let mut args = vec!["test"];
            args.extend_from_slice(g.args);
            args.extend_from_slice(&["--", "--ignored"]);
            let (ok, p, f) = cargo_tests(&args)?;
            tally.suite(g.file, ok, p, f);
        }
    }
    let conformance_here = Need::Conformance.missing().is_none();

    match arm64::unavailable() {
        Some(why) => tally.skip("arm64 under qemu", why),
        None => {
            for (name, cmd) in arm64::test_runs(conformance_here) {
                println!("== {name}");
                let (ok, p, f) = run_counting(cmd)?;
                tally.suite(&name, ok, p, f);
            }
        }
    }

    // Without the suite this is the `conformance` skip listed above.
    if conformance_here {
        println!("== conformance (bpf_conformance through the kbpf plugin, every engine)");
        match conformance::run(&conformance::ENGINES, false) {
            Ok(totals) => {
                let (p, f) = totals.iter().fold((0, 0), |(p, f), t| (p + t.passed, f + t.failed));
                tally.suite("conformance", f == 0, p, f);
            }
            Err(e) => {
                println!("conformance could not run: {e}");
                tally.suite("conformance", false, 0, 1);
            }
        }
    }

    println!("== kernel-diff (verifier against the captured kernel verdicts)");
    match kernel_diff::run(false) {
        Ok(kernel_diff::Diff { report, skipped }) => {
            if let Some(why) = skipped {
                tally.skip("kernel-diff tracing families", why);
            }
            // One gate, counted as one test: the per-case disagreements are figures, not failures.
            let ok = kernel_diff::gate(&report);
            tally.suite("kernel-diff", ok, ok as usize, !ok as usize);
        }
        Err(e) => {
            println!("kernel-diff could not run: {e}");
            tally.suite("kernel-diff", false, 0, 1);
        }
    }

    println!("== summary");
    for (what, why) in &tally.skipped {
        println!("skipped: {what} ({why})");
    }
    for s in &tally.failed_suites {
        println!("failed suite: {s}");
    }
    println!("xtask: {} passed, {} failed, {} skipped", tally.passed, tally.failed, tally.skipped.len());
    Ok(tally.failed_suites.is_empty() && tally.failed == 0)
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn reads_libtest_summaries() {
        let s = "ok. 12 passed; 3 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s";
        assert_eq!(count(s, " passed"), 12);
        assert_eq!(count(s, " failed"), 3);
    }
}
