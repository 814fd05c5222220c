//! `kbpf disasm` shows an ELF object's source lines (`; line @ file:N`) above the instructions
//! by default, `--no-source` leaves them out, and the listing still reassembles (`;` starts a
//! comment). The object is compiled from `tests/line-info/` with clang-19 at test time.

use std::path::{Path, PathBuf};
use std::process::Command;

fn kbpf(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kbpf")).args(args).output().expect("kbpf runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `tests/line-info/<name>.c` compiled into this test's target directory.
fn object(name: &str) -> PathBuf {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/line-info").canonicalize().expect("dir");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.o"));
    let st = Command::new("clang-19")
        .current_dir(&dir)
        .args(["-O2", "-g", "-target", "bpf"])
        .arg(format!("-fdebug-prefix-map={}=.", dir.display()))
        .args(["-c", &format!("{name}.c"), "-o"])
        .arg(&out)
        .status()
        .expect("clang-19 runs");
    assert!(st.success());
    out
}

#[test]
#[ignore = "needs clang-19 (cargo xtask test runs it when clang-19 is on PATH)"]
fn disasm_shows_source_lines_of_elf_objects() {
    let obj = object("sub_reject");
    let obj = obj.to_str().expect("utf-8 path");
    let (code, out, err) = kbpf(&["disasm", obj]);
    assert_eq!(code, Some(0), "{err}");
    let head: Vec<&str> = out.lines().take(4).collect();
    assert_eq!(
        head,
        [
            "; int r = skb->len; @ sub_reject.c:19",
            "0: (61) r6 = *(u32 *)(r1 +0)",
            "; if (skb->mark != 7) @ sub_reject.c:21",
            "1: (61) r2 = *(u32 *)(r1 +8)",
        ]
    );
    assert!(out.contains("; static __noinline int pick(int i) @ sub_reject.c:5\n11: (b7) r2 = 4\n"), "{out}");
    let (_, plain, _) = kbpf(&["disasm", "--no-source", obj]);
    assert!(!plain.contains(';'), "{plain}");
    assert!(out.lines().filter(|l| !l.starts_with("; ")).eq(plain.lines()), "{plain}");
    let (_, llvm, _) = kbpf(&["disasm", "--syntax", "llvm", obj]);
    assert!(llvm.starts_with("; int r = skb->len; @ sub_reject.c:19\n       0:\t"), "{llvm}");
}

#[test]
fn source_is_a_note_without_line_info() {
    let asm = Path::new(env!("CARGO_TARGET_TMPDIR")).join("no_lines.s");
    std::fs::write(&asm, "r0 = 0\nexit\n").expect("write");
    let (code, out, err) = kbpf(&["disasm", "--source", asm.to_str().expect("utf-8")]);
    assert_eq!((code, out.as_str()), (Some(0), "0: (b7) r0 = 0\n1: (95) exit\n"));
    assert!(err.contains("no line info"), "{err}");
}
