//! The subcommands agree: one input-format flag, one way to pick an ELF program (`--section`,
//! with the same errors), one program-type vocabulary whose unknown or unmodelled names are
//! errors (never a guess), and `asm` resolves `call NAME` like `verify` and `run`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// Exit code, stdout, stderr.
fn kbpf(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kbpf")).args(args).output().expect("kbpf runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn sections_o() -> String {
    data("sections.o").display().to_string()
}

#[test]
fn every_reader_picks_elf_programs_alike() {
    let obj = sections_o();
    let (code, out, err) = kbpf(&["run", "--section", "seven", &obj]);
    assert_eq!((code, out.as_str()), (Some(0), "0x7\n"), "{err}");
    let (code, out, err) = kbpf(&["disasm", "--section", "seven", &obj]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("r0 = 7"), "{out}");
    let (code, out, err) = kbpf(&["jit", "--dump", "--section", "seven", &obj]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("r0 = 7"), "{out}");
    let (code, out, _) = kbpf(&["verify", "--section", "seven", &obj]);
    assert_eq!(code, Some(0), "{out}");

    // absent and ambiguous: exit 2 and the same line from every subcommand
    for (section, want) in [
        ("nope", "kbpf: no program \"nope\" in the object (programs: pass (xdp), probe (kprobe/do_exit)"),
        ("socket", "kbpf: section \"socket\" holds several programs (one (socket), seven (socket))"),
    ] {
        for cmd in [&["run"][..], &["disasm"], &["jit", "--dump"], &["verify"]] {
            let args: Vec<&str> = cmd.iter().copied().chain(["--section", section, obj.as_str()]).collect();
            let (code, _, err) = kbpf(&args);
            assert_eq!(code, Some(2), "{args:?}: {err}");
            assert!(err.starts_with(want), "{args:?}: {err}");
        }
    }
    // a section only means something in an ELF object
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/twelve_args.s");
    for cmd in ["run", "disasm", "jit", "verify"] {
        let (code, _, err) = kbpf(&[cmd, "--section", "x", case.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{cmd}: {err}");
        assert!(err.contains("only ELF objects have sections"), "{cmd}: {err}");
    }
}

#[test]
fn unmodelled_and_unknown_program_types_are_errors() {
    let obj = sections_o();
    // a kprobe verifies; it cannot run in userspace
    let (code, out, err) = kbpf(&["verify", "--section", "probe", &obj]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, _, err) = kbpf(&["run", "--section", "probe", &obj]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with("kbpf: a kprobe program cannot run in userspace"), "{err}");
    for cmd in ["run", "verify"] {
        let (code, _, err) = kbpf(&[cmd, "--section", "odd", &obj]);
        assert_eq!(code, Some(2), "{cmd}: {err}");
        assert!(err.starts_with("kbpf: unknown section \"mystery\""), "{cmd}: {err}");
        // naming the type explicitly is the way to verify such a program anyway
        let (code, out, err) = kbpf(&[cmd, "--section", "probe", "--prog-type", "socket_filter", &obj]);
        assert_eq!(code, Some(0), "{cmd}: {out}{err}");
    }
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/twelve_args.s");
    for cmd in ["run", "verify"] {
        let (code, _, err) = kbpf(&[cmd, "--prog-type", "ext", case.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{cmd}: {err}");
        assert!(err.contains("program type ext is BPF_PROG_TYPE_EXT, which kbpf does not model yet; supported: socket_filter, sched_cls (tc), xdp, syscall, kprobe, "), "{cmd}: {err}");
        let (code, _, err) = kbpf(&[cmd, "--prog-type", "tcp", case.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{cmd}: {err}");
        assert!(err.contains("unknown program type \"tcp\"; supported: "), "{cmd}: {err}");
    }
}

#[test]
fn one_input_format_flag() {
    // a `.s` file named `.txt` reads as raw slots unless told
    let dir = std::env::temp_dir().join(format!("kbpf-cli-consistency-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("prog.txt");
    std::fs::write(&src, "r0 = 42\nexit\n").unwrap();
    let src = src.to_str().unwrap();
    for cmd in [&["run"][..], &["disasm"], &["jit", "--dump"], &["verify"]] {
        let args: Vec<&str> = cmd.iter().copied().chain(["--input-format", "asm", src]).collect();
        let (code, out, err) = kbpf(&args);
        assert_eq!(code, Some(0), "{args:?}: {out}{err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn asm_resolves_kfunc_and_helper_names() {
    let dir = std::env::temp_dir().join(format!("kbpf-cli-asm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("k.bin");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/kfunc_twelve.s");
    let (code, _, err) = kbpf(&["asm", example.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    let bytes = std::fs::read(&out).unwrap();
    // `call kbpf_test_weighted12`: a kfunc call (src = BPF_PSEUDO_KFUNC_CALL) with its BTF id
    let call = bytes.chunks(8).find(|s| s[0] == 0x85).expect("a call");
    assert_eq!(call[1] >> 4, 2, "{call:02x?}");
    assert_ne!(i32::from_le_bytes([call[4], call[5], call[6], call[7]]), 0);

    let helper = dir.join("h.s");
    std::fs::write(&helper, "call bpf_ktime_get_ns\nexit\n").unwrap();
    let (code, _, err) = kbpf(&["asm", helper.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(&std::fs::read(&out).unwrap()[..8], &[0x85, 0, 0, 0, 5, 0, 0, 0]);

    // the slots as written: `kbpf verify` of the output answers as for the source
    let r12 = dir.join("r12.s");
    std::fs::write(&r12, "r12 = 0\nexit\n").unwrap();
    let (code, _, err) = kbpf(&["asm", r12.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    let (code, text, _) = kbpf(&["verify", out.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(text.contains("verdict: rejected (EINVAL): R12 is invalid"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}
