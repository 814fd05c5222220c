//! `kbpf dump jited` in bpftool's layout: the symbol line with the kernel's tag, `%4x:\t` and
//! objdump's AT&T text, `--opcodes` bytes, bpftool's JSON, and arm64.

use std::process::Command;

fn dump(args: &[&str]) -> String {
    let dir = std::env::temp_dir().join(format!("kbpf-dump-jited-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("two.s");
    std::fs::write(&src, "w0 = 2\nexit\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kbpf"))
        .args(["dump", "jited"])
        .args(args)
        .arg(&src)
        .output()
        .expect("kbpf runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bpftool_layout() {
    // d4f8542f2b42fac5: the tag Linux 6.18 gives `w0 = 2; exit` (bpftool prog show); the code in
    // the kernel JIT's layout (the kernel's own image of it, bytes for bytes, but for the return
    // thunk's address, which points past the image)
    let entry = "bpf_prog_d4f8542f2b42fac5:\n   0:\tnopl   (%rax,%rax)\n   5:\tnopl   (%rax)\n   8:\tpush   %rbp\n   9:\tmov    %rsp,%rbp\n";
    assert_eq!(dump(&[]), format!("{entry}   c:\tmov    $0x2,%eax\n  11:\tleave\n  12:\tjmp    0x17\n\n"));
    let op = dump(&["--opcodes"]);
    assert!(op.contains("   c:\tmov    $0x2,%eax\n\tb8 02 00 00 00 \n  11:\tleave\n\tc9 \n"), "{op}");
    assert!(
        op.starts_with("bpf_prog_d4f8542f2b42fac5:\n   0:\tnopl   (%rax,%rax)\n\t0f 1f 44 00 00 \n"),
        "{op}"
    );
    let json = dump(&["--json"]);
    assert!(json.starts_with("[{\"name\":\"bpf_prog_d4f8542f2b42fac5\",\"insns\":[{\"pc\":\"0x0\",\"operation\":\"nopl\",\"operands\":[\"(%rax,%rax)\"]}"), "{json}");
    assert!(json.ends_with("{\"pc\":\"0x11\",\"operation\":\"leave\",\"operands\":[null]},{\"pc\":\"0x12\",\"operation\":\"jmp\",\"operands\":[\"0x17\"]}]}]\n"), "{json}");
    let arm = dump(&["--arch", "arm64"]);
    assert!(arm.starts_with("bpf_prog_d4f8542f2b42fac5:\n   0:\tstp\tx29, x30, [sp, #-0x10]!\n"), "{arm}");
    assert!(arm.ends_with("\tret\n\n"), "{arm}");
}

/// `kbpf jit --dump` of a program the verifier accepts compiles the verifier's program (the
/// known-false branch and its dead code are gone, the frame is the verifier's 8 bytes rounded
/// up); of one it rejects, the program as written after a note.
#[test]
fn jit_dump_compiles_the_verified_program() {
    let dir = std::env::temp_dir().join(format!("kbpf-jit-dump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |name: &str, src: &str| {
        let path = dir.join(name);
        std::fs::write(&path, src).unwrap();
        let out =
            Command::new(env!("CARGO_BIN_EXE_kbpf")).args(["jit", "--dump"]).arg(&path).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let (code, note) =
        run("dead.s", "r1 = 5\n*(u64 *)(r10 - 8) = r1\nif r1 == 5 goto +2\nr0 = 7\nexit\nr0 = 1\nexit\n");
    assert!(note.is_empty(), "{note}");
    assert!(!code.contains("r0 = 7") && !code.contains("if r1"), "{code}");
    assert!(code.contains("sub rsp,10h"), "{code}");
    let (code, note) = run("bad.s", "exit\n");
    assert!(note.contains("the verifier rejects this program (EACCES: R0 !read_ok)"), "{note}");
    assert!(code.contains("exit"), "{code}");
}
