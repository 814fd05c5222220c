//! `kbpf verify --attach-type NAME`: the expected attach type from the command line, checked
//! like `BPF_PROG_LOAD` checks it and used by xdp's context rules.

use std::process::Command;

/// Reads `xdp_md.egress_ifindex`, which only `BPF_XDP_DEVMAP` programs may.
const EGRESS: &str = "r0 = *(u32 *)(r1 +20)\nr0 = 0\nexit\n";

fn verify(name: &str, src: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let dir = std::env::temp_dir().join(format!("kbpf-cli-attach-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("prog.s");
    std::fs::write(&path, src).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kbpf"))
        .arg("verify")
        .arg(&path)
        .args(args)
        .output()
        .expect("kbpf runs");
    std::fs::remove_dir_all(&dir).ok();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn devmap_programs_read_egress_ifindex() {
    for name in ["xdp_devmap", "BPF_XDP_DEVMAP"] {
        let (code, out, err) = verify(name, EGRESS, &["--prog-type", "xdp", "--attach-type", name]);
        assert_eq!(code, Some(0), "{out}{err}");
    }
    for args in [&["--prog-type", "xdp"][..], &["--prog-type", "xdp", "--attach-type", "xdp_cpumap"]] {
        let (code, out, err) = verify("other", EGRESS, args);
        assert_eq!(code, Some(1), "{out}{err}");
        assert!(out.contains("invalid bpf_context access off=20 size=4"), "{out}");
    }
}

#[test]
fn syscall_programs_take_no_attach_type() {
    let (code, out, err) =
        verify("syscall", "r0 = 0\nexit\n", &["--prog-type", "syscall", "--attach-type", "xdp"]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("verdict: rejected (EINVAL): expected attach type BPF_XDP is invalid for syscall"),
        "{out}"
    );
    // the kernel writes no log: only the verdict line
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn unknown_attach_type_is_bad_input() {
    let (code, out, err) = verify("unknown", EGRESS, &["--prog-type", "xdp", "--attach-type", "devmap"]);
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("--attach-type: unknown attach type \"devmap\""), "{err}");
}
