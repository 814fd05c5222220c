//! Completions and man pages generated from the clap definitions, colour only when asked or on
//! a terminal (never through a pipe, never with `NO_COLOR`), and `btf dump` on bad input.

use std::path::Path;
use std::process::Command;

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name).display().to_string()
}

/// Exit code, stdout, stderr.
fn kbpf_env(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kbpf"));
    cmd.args(args).env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("kbpf runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn kbpf(args: &[&str]) -> (Option<i32>, String, String) {
    kbpf_env(args, &[])
}

#[test]
fn completions_cover_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let (code, out, err) = kbpf(&["completions", shell]);
        assert_eq!(code, Some(0), "{shell}: {err}");
        assert!(out.contains("stats") && out.contains("verify"), "{shell}: {out}");
    }
    let (_, bash, _) = kbpf(&["completions", "bash"]);
    assert!(bash.contains("--fail-on-reject") && bash.contains("--output-format"), "{bash}");
    let (code, _, _) = kbpf(&["completions", "tcsh"]);
    assert_eq!(code, Some(2));
}

#[test]
fn man_pages() {
    let (code, out, err) = kbpf(&["man"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with(".ie") || out.contains(".TH kbpf"), "{out}");
    assert!(out.contains("stats"), "{out}");
    let (code, out, _) = kbpf(&["man", "stats"]);
    assert_eq!(code, Some(0));
    assert!(out.contains(".TH kbpf-stats"), "{out}");
    assert!(out.contains("fail\\-on\\-reject"), "{out}");
    let (code, _, err) = kbpf(&["man", "nope"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("nope") && err.contains("stats"), "{err}");
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let args = |c: &'static str| ["stats", "--color", c, "-e", "file,prog,verdict", "-f", "*/one"];
    let sections = data("sections.o");
    let run = |c: &'static str, env: &[(&str, &str)]| {
        let mut a: Vec<&str> = args(c).to_vec();
        a.push(&sections);
        kbpf_env(&a, env).1
    };
    // a pipe is not a terminal
    assert!(!run("auto", &[]).contains('\x1b'));
    assert!(run("always", &[]).contains("\x1b[32msuccess\x1b[0m"));
    assert!(run("always", &[("NO_COLOR", "1")]).contains('\x1b'), "--color always wins");
    assert!(!run("never", &[]).contains('\x1b'));
    // CSV never gets colour
    let (_, csv, _) =
        kbpf(&["stats", "--color", "always", "-o", "csv", "-e", "file,prog,verdict", &data("sections.o")]);
    assert!(!csv.contains('\x1b'), "{csv}");
}

#[test]
fn btf_dump_refuses_bad_input() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("polish");
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.btf");
    std::fs::write(&junk, b"\x9f\xeb\x01\x00garbage").unwrap();
    for f in [junk.to_str().unwrap(), "/nonexistent/btf", &data("sections.c")] {
        let (code, _, err) = kbpf(&["btf", "dump", f, "--format", "c"]);
        assert_eq!(code, Some(2), "{f}: {err}");
        assert!(err.starts_with("kbpf: ") && !err.contains("panicked"), "{f}: {err}");
    }
    // an object's own .BTF is a BTF file too
    let (code, out, err) = kbpf(&["btf", "dump", &data("loader.o")]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.starts_with("#ifndef __VMLINUX_H__") && out.contains("typedef"), "{out}");
}

#[test]
fn run_repeat_prints_the_mean_like_bpftool() {
    let prog = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/twelve_args.s");
    let prog = prog.to_str().unwrap();
    for engine in ["interp", "jit"] {
        let (code, out, err) = kbpf(&["run", "--engine", engine, "--repeat", "5", prog]);
        assert_eq!(code, Some(0), "{err}");
        let rest = out
            .strip_prefix("Return value: 20015998343868, duration (average): ")
            .unwrap_or_else(|| panic!("{out}"));
        assert!(rest.trim_end().strip_suffix("ns").is_some_and(|n| n.parse::<u64>().is_ok()), "{out}");
    }
    let (_, out, _) = kbpf(&["run", "--repeat", "1", prog]);
    assert!(out.starts_with("Return value: 20015998343868, duration: "), "{out}");
    let (code, _, _) = kbpf(&["run", "--repeat", "0", prog]);
    assert_eq!(code, Some(2));
}
