//! `kbpf verify --prog-type tc|sched_cls`: the tc program type from the command line.

use std::path::Path;
use std::process::Command;

fn verify(case: &str, args: &[&str]) -> (Option<i32>, String) {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/stack_args/cases").join(case);
    let out = Command::new(env!("CARGO_BIN_EXE_kbpf"))
        .arg("verify")
        .arg(&case)
        .args(args)
        .output()
        .expect("kbpf runs");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn tc_names_select_sched_cls() {
    for name in ["tc", "sched_cls"] {
        let (code, text) = verify("07_stale_pkt_ptr.s", &["--prog-type", name]);
        assert_eq!(code, Some(1), "{text}");
        assert!(
            text.contains("verdict: rejected (EFAULT): callee expects 6 args, stack arg1 is not initialized"),
            "{text}"
        );
    }
}

#[test]
fn socket_filter_cannot_read_packet_pointers() {
    let (code, text) = verify("07_stale_pkt_ptr.s", &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("invalid bpf_context access off=76 size=4"), "{text}");
}

#[test]
fn unknown_type_is_bad_input() {
    let (code, _) = verify("07_stale_pkt_ptr.s", &["--prog-type", "tcp"]);
    assert_eq!(code, Some(2));
}

#[test]
fn json_carries_kind_insn_and_errno() {
    let (code, text) = verify("07_stale_pkt_ptr.s", &["--format", "json"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("\"accepted\":false,\"kind\":\"rejected\",\"insn\":"), "{text}");
    assert!(
        text.contains("\"errno\":\"EACCES\",\"error\":\"invalid bpf_context access off=76 size=4\""),
        "{text}"
    );
    let (code, text) = verify("01_six_args.s", &["--format", "json"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("\"accepted\":true,\"kind\":null,\"insn\":null,\"reg\":null,\"errno\":null"),
        "{text}"
    );
}
