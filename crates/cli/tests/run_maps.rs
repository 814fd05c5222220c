//! `kbpf run` with maps: the module's maps are created for the run, `--dump-maps` prints them.

use std::path::Path;
use std::process::Command;

fn kbpf(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kbpf"))
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .args(args)
        .output()
        .expect("kbpf runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn global_data_runs_and_dumps_on_both_engines() {
    for engine in ["interp", "jit"] {
        let (code, out, err) =
            kbpf(&["run", "--engine", engine, "--mem", "00000000", "--dump-maps", "examples/global_data.s"]);
        assert_eq!(code, Some(0), "{engine}: {err}");
        assert_eq!(
            out,
            "0x2a\n\
             map .rodata (array, key 4, value 24, max_entries 1): 1 elements\n  \
             00000000: 68656c6c6f2c206d61707300000000001f00000000000000\n\
             map .data (array, key 4, value 8, max_entries 1): 1 elements\n  \
             00000000: 2a00000000000000\n",
            "{engine}"
        );
    }
}

#[test]
fn tail_calls_and_clang_objects_run() {
    for engine in ["interp", "jit"] {
        let (code, out, err) =
            kbpf(&["run", "--engine", engine, "--mem", "00000000", "examples/tail_calls.s"]);
        assert_eq!((code, out.as_str()), (Some(0), "0x20\n"), "{engine}: {err}");
        let (code, out, err) = kbpf(&[
            "run",
            "--engine",
            engine,
            "--mem",
            "0000000000000000",
            "crates/kbpf/tests/data/globals.o",
        ]);
        assert_eq!((code, out.as_str()), (Some(0), "0xd1\n"), "{engine}: {err}");
    }
}

#[test]
fn disasm_of_a_module_with_maps_reassembles() {
    let (code, text, err) = kbpf(&["disasm", "crates/kbpf/tests/data/globals.o"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        text.starts_with(".map seen, hash, 4, 8, 8\n.map .rodata, array, 4, 14, 1, rdonly_prog, frozen\n"),
        "{text}"
    );
    let tmp = std::env::temp_dir().join(format!("kbpf-cli-{}.s", std::process::id()));
    std::fs::write(&tmp, text).unwrap();
    let (code, out, err) = kbpf(&["run", "--mem", "0000000000000000", tmp.to_str().unwrap()]);
    assert_eq!((code, out.as_str()), (Some(0), "0xd1\n"), "{err}");
}
