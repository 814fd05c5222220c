//! Hostile programs through the CLI binaries (issue 11, item 1): `kbpf run` (verified, both
//! engines, and `--no-verify` on the interpreter), `kbpf verify` and `kbpf plugin` with the
//! interpreter. The exit status is never a signal and stderr never has `panicked at`.
//! (`kbpf plugin --engine jit` is a trusted-input harness and is not fed hostile programs.)

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn hostile() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else { return };
        for p in rd.filter_map(|e| e.ok().map(|e| e.path())) {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "s") {
                out.push(p);
            }
        }
    }
    let mut v = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/hostile"), &mut v);
    v.sort();
    assert!(!v.is_empty(), "no hostile programs");
    v
}

fn check(what: &str, out: std::process::Output) -> Result<(), String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if let Some(sig) = out.status.signal() {
        return Err(format!("{what}: killed by signal {sig}; stderr: {stderr}"));
    }
    if stderr.contains("panicked at") {
        return Err(format!("{what}: {stderr}"));
    }
    Ok(())
}

#[test]
fn hostile_programs_through_the_binaries() {
    let mut failures = Vec::new();
    let files = hostile();
    let mut runs = 0;
    for f in &files {
        let run_args: [&[&str]; 4] = [
            &["run", "--mem", "00000000000000000000000000000000"],
            &["run", "--engine", "jit", "--mem", "00000000000000000000000000000000"],
            &["run", "--no-verify", "--insn-budget", "1000000", "--mem", "00000000000000000000000000000000"],
            &["verify"],
        ];
        for args in run_args {
            let out =
                Command::new(env!("CARGO_BIN_EXE_kbpf")).args(args).arg(f).output().expect("kbpf starts");
            runs += 1;
            if let Err(e) = check(&format!("{} {}", args.join(" "), f.display()), out) {
                failures.push(e);
            }
        }
        // the plugin takes the program as hex on stdin (only programs without map references)
        let Ok(prog) = kbpf::read_program(f, kbpf::SourceKind::Asm) else { continue };
        let hex: String = prog.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let mut child = Command::new(env!("CARGO_BIN_EXE_kbpf"))
            .args(["plugin", "--insn-budget", "1000000", "00000000000000000000000000000000"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kbpf starts");
        child.stdin.take().expect("stdin").write_all(hex.as_bytes()).expect("write");
        runs += 1;
        if let Err(e) = check(&format!("plugin {}", f.display()), child.wait_with_output().expect("waits")) {
            failures.push(e);
        }
    }
    println!("{} programs, {runs} runs of 5 entry points", files.len());
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn plugin_help_says_it_is_a_trusted_input_harness() {
    let out =
        Command::new(env!("CARGO_BIN_EXE_kbpf")).args(["plugin", "--help"]).output().expect("kbpf starts");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("trusted-input test harness"), "{text}");
}

#[test]
fn no_verify_is_interpreter_only() {
    let f = &hostile()[0];
    let out = Command::new(env!("CARGO_BIN_EXE_kbpf"))
        .args(["run", "--no-verify", "--engine", "jit"])
        .arg(f)
        .output()
        .expect("kbpf starts");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("only on the interpreter"));
}

/// A reader that goes away (`kbpf ... | head -1`): kbpf stops with the shell's SIGPIPE status
/// (141) and no panic, whatever it was printing.
#[test]
fn closed_stdout_ends_quietly() {
    let dir = std::env::temp_dir().join(format!("kbpf-closed-pipe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("long.s");
    // a listing far larger than a pipe's buffer
    let text: String = (0..20_000).map(|i| format!("r0 = {i}\n")).collect::<String>() + "exit\n";
    std::fs::write(&src, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kbpf"))
        .arg("disasm")
        .arg(&src)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kbpf runs");
    // read one chunk, then close the pipe
    let mut first = [0u8; 64];
    let n = std::io::Read::read(child.stdout.as_mut().unwrap(), &mut first).unwrap();
    assert!(n > 0);
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    check("disasm into a closed pipe", out.clone()).unwrap();
    assert_eq!(out.status.code(), Some(141), "stderr: {}", String::from_utf8_lossy(&out.stderr));
}
