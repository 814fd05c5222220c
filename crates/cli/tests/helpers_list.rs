//! `kbpf helpers --prog-type T`: a program type's helpers with kernel-spelled prototypes.

use std::process::Command;

fn helpers(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kbpf")).arg("helpers").args(args).output().expect("kbpf runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn lists_a_types_helpers_with_prototypes() {
    let (code, out, err) = helpers(&["--prog-type", "sched_cls"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("   1  bpf_map_lookup_elem(ARG_CONST_MAP_PTR, ARG_PTR_TO_MAP_KEY) -> RET_PTR_TO_MAP_VALUE_OR_NULL\n"), "{out}");
    assert!(out.contains("bpf_skb_store_bytes("), "{out}");
    assert!(
        out.contains(
            "bpf_loop(ARG_ANYTHING, ARG_PTR_TO_FUNC, ARG_PTR_TO_STACK_OR_NULL, ARG_ANYTHING) -> RET_INTEGER\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "bpf_user_ringbuf_drain(ARG_CONST_MAP_PTR, ARG_PTR_TO_FUNC, ARG_PTR_TO_STACK_OR_NULL, ARG_ANYTHING) -> RET_INTEGER  [map_types 31]\n"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "bpf_kptr_xchg(ARG_KPTR_XCHG_DEST, ARG_PTR_TO_BTF_ID_OR_NULL | OBJ_RELEASE) -> RET_PTR_TO_BTF_ID_OR_NULL\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("bpf_this_cpu_ptr(ARG_PTR_TO_PERCPU_BTF_ID) -> RET_PTR_TO_MEM_OR_BTF_ID | MEM_RDONLY\n"),
        "{out}"
    );
    // an xdp program has no skb helpers
    let (_, xdp, _) = helpers(&["--prog-type", "xdp"]);
    assert!(!xdp.contains("bpf_skb_store_bytes("), "{xdp}");
    let (code, json, _) = helpers(&["--prog-type", "xdp", "--format", "json"]);
    assert_eq!(code, Some(0));
    assert!(json.starts_with("[{\"id\":1,\"name\":\"bpf_map_lookup_elem\""), "{json}");
}

#[test]
fn unknown_types_are_refused() {
    let (code, _, err) = helpers(&["--prog-type", "no_such_type"]);
    assert_eq!(code, Some(2));
    assert!(err.starts_with("kbpf: "), "{err}");
}
