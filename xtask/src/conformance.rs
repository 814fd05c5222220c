//! `cargo xtask conformance`: every bpf_conformance file on every engine, through the plugin
//! protocol of the `kbpf` binary, printed as a test x engine table. The suite is not part of
//! the repository: `kbpf_conformance::suite_dir()` finds it (`KBPF_CONFORMANCE_DIR`, default
//! `<workspace>/../shared/conformance/bpf_conformance`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::workspace_root;

/// Engines the table has a column for.
pub const ENGINES: [&str; 2] = ["interp", "jit"];

/// Outcome of one test on one engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Expected r0 (or expected error) seen.
    Pass,
    /// Wrong result or unexpected error; the text says what was seen.
    Fail(String),
}

/// Totals of a conformance run.
#[derive(Default)]
pub struct Totals {
    /// Passed (test, engine) pairs.
    pub passed: usize,
    /// Failed pairs.
    pub failed: usize,
}

fn hex_arg(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}  ")).collect()
}

/// Builds the release `kbpf` binary and returns its path.
pub fn build_cli() -> Result<PathBuf, String> {
    let root = workspace_root();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--release", "-p", "kbpf-cli"])
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err("cargo build -p kbpf-cli failed".into());
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    Ok(target.join("release").join("kbpf"))
}

fn run_plugin(kbpf: &Path, engine: &str, prog: &[u8], mem: &[u8]) -> Result<(bool, String), String> {
    let mut cmd = Command::new(kbpf);
    cmd.arg("plugin");
    if !mem.is_empty() {
        cmd.arg(hex_arg(mem));
    }
    let mut child = cmd
        .args(["--engine", engine])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", kbpf.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = writeln!(stdin, "{}", hex_arg(prog));
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let mut text = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
    if text.is_empty() {
        text = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
    }
    Ok((out.status.success(), text))
}

fn judge(case: &kbpf_conformance::TestCase, ok: bool, text: &str) -> Outcome {
    if let Some(expected) = &case.error {
        return if !ok && text.lines().next().unwrap_or("") == expected {
            Outcome::Pass
        } else {
            Outcome::Fail(format!("want error {expected:?}, got {text:?}"))
        };
    }
    let want = case.result.unwrap_or(0);
    if !ok {
        return Outcome::Fail(format!("error: {text}"));
    }
    let digits = text.trim().trim_start_matches("0x");
    match u64::from_str_radix(digits, 16) {
        Ok(v) if v == want => Outcome::Pass,
        Ok(v) => Outcome::Fail(format!("r0={v:#x} want {want:#x}")),
        Err(_) => Outcome::Fail(format!("unparsable output {text:?}")),
    }
}

/// Runs every test on each engine; prints the table; returns the totals per engine.
pub fn run(engines: &[&str], verbose: bool) -> Result<Vec<Totals>, String> {
    let dir = kbpf_conformance::suite_dir();
    if let Some(why) = kbpf_conformance::suite_missing() {
        return Err(why);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "data"))
        .collect();
    files.sort();
    let kbpf = build_cli()?;
    let mut totals: Vec<Totals> = engines.iter().map(|_| Totals::default()).collect();
    let width = files.iter().map(|f| f.file_stem().map_or(0, |s| s.len())).max().unwrap_or(4);
    println!("{:width$}  {}", "test", engines.iter().map(|e| format!("{e:8}")).collect::<String>());
    for f in &files {
        let name = f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let mut cells = Vec::new();
        let mut notes = Vec::new();
        let prog = kbpf_conformance::parse(&text).map_err(|e| e.to_string()).and_then(|case| {
            let bytes = case.program_bytes().map_err(|e| e.to_string())?;
            Ok((case, bytes))
        });
        for (i, engine) in engines.iter().enumerate() {
            let outcome = match &prog {
                Err(e) => Outcome::Fail(format!("cannot assemble: {e}")),
                Ok((case, bytes)) => match run_plugin(&kbpf, engine, bytes, &case.mem) {
                    Ok((ok, out)) => judge(case, ok, &out),
                    Err(e) => Outcome::Fail(e),
                },
            };
            match outcome {
                Outcome::Pass => {
                    totals[i].passed += 1;
                    cells.push("pass".to_string());
                }
                Outcome::Fail(why) => {
                    totals[i].failed += 1;
                    cells.push("FAIL".to_string());
                    notes.push(format!("{engine}: {why}"));
                }
            }
        }
        if verbose || !notes.is_empty() {
            let row: String = cells.iter().map(|c| format!("{c:8}")).collect();
            println!("{name:width$}  {row}  {}", notes.join("; "));
        }
    }
    for (e, t) in engines.iter().zip(&totals) {
        println!("conformance {e}: {}/{} passed", t.passed, t.passed + t.failed);
    }
    Ok(totals)
}

/// `cargo xtask conformance [--engine E] [--quiet]`.
pub fn main(args: &[String]) -> Result<bool, String> {
    let mut engines: Vec<&str> = ENGINES.to_vec();
    let mut verbose = true;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--engine" => {
                let e = it.next().ok_or("--engine needs a value")?;
                engines = e
                    .split(',')
                    .map(|s| ENGINES.iter().copied().find(|x| *x == s).ok_or(s))
                    .collect::<Result<_, _>>()
                    .map_err(|s| format!("unknown engine {s}"))?;
            }
            "--quiet" => verbose = false,
            other => return Err(format!("unknown option {other}")),
        }
    }
    let totals = run(&engines, verbose)?;
    let failed: usize = totals.iter().map(|t| t.failed).sum();
    let passed: usize = totals.iter().map(|t| t.passed).sum();
    println!("{passed} passed, {failed} failed");
    Ok(failed == 0)
}
