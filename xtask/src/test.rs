//! `cargo xtask test`: everything, in one command, on a fresh machine.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::{conformance, prereq, workspace_root};

/// Pass/fail counts summed over the suites.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    failed_suites: Vec<String>,
}

impl Tally {
    fn suite(&mut self, name: &str, ok: bool, passed: usize, failed: usize) {
        self.passed += passed;
        self.failed += failed;
        if !ok {
            self.failed_suites.push(name.to_string());
        }
    }
}

/// Runs a cargo command, echoing its output, and sums the libtest `test result:` lines.
fn cargo_tests(args: &[&str], envs: &[(&str, &str)]) -> Result<(bool, usize, usize), String> {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(args).current_dir(workspace_root()).stdout(Stdio::piped()).stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
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

/// `cargo xtask test`.
pub fn run(_args: &[String]) -> Result<bool, String> {
    let skips = prereq::ensure();
    let mut tally = Tally::default();

    println!("== unit and integration tests (cargo test --workspace)");
    let (ok, p, f) = cargo_tests(&["test", "--workspace"], &[])?;
    tally.suite("cargo test", ok, p, f);

    println!("== conformance (bpf_conformance, every engine)");
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

    println!("== summary");
    for s in &skips {
        println!("skipped: {s}");
    }
    for s in &tally.failed_suites {
        println!("failed suite: {s}");
    }
    println!("xtask: {} passed, {} failed", tally.passed, tally.failed);
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
