//! The loader's flags (`--prog`, `--map`, `--kconfig`, `--btf`, `--kernel`, `--prog-type` for a
//! section libbpf cannot type) and the facts `verify --format json` adds, on
//! `tests/data/loader.o` (source beside it).

use std::path::{Path, PathBuf};
use std::process::Command;

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name).display().to_string()
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

/// A kernel config holding the test object's strong extern.
fn kconfig() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("loader_flags");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("config");
    std::fs::write(&p, "# test\nCONFIG_KBPF_TEST_VALUE=3\n").unwrap();
    p
}

#[test]
fn json_facts_and_map_defaults() {
    let k = kconfig();
    let (code, out, err) = kbpf(&[
        "verify",
        "--format",
        "json",
        "--prog",
        "one",
        "--kconfig",
        k.to_str().unwrap(),
        &data("loader.o"),
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    for want in [
        "\"prog_name\":\"one\"",
        "\"section\":\"socket\"",
        "\"prog_type\":\"socket_filter\"",
        "\"expected_attach_type\":null",
        "\"stack_depth\":[",
        "{\"map\":\"sized_later\",\"what\":\"max_entries 0 -> 10240 (default)\"}",
    ] {
        assert!(out.contains(want), "{want} in {out}");
    }
    assert!(out.contains("\"insns\":"), "{out}");
    // the stats block asked for the stack depths stays out of a level-1 log
    assert!(!out.contains("verification time"), "{out}");
    // text: the defaults are reported before the log
    let (code, out, err) =
        kbpf(&["verify", "--prog", "one", "--kconfig", k.to_str().unwrap(), &data("loader.o")]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.starts_with("kbpf: map 'sized_later': max_entries 0 -> 10240 (default)\n"), "{out}");
}

#[test]
fn map_overrides() {
    let k = kconfig();
    let k = k.to_str().unwrap();
    let (code, out, err) = kbpf(&[
        "verify",
        "--format",
        "json",
        "--prog",
        "one",
        "--kconfig",
        k,
        "--map",
        "sized_later.max_entries=5",
        &data("loader.o"),
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("\"what\":\"max_entries 10240 -> 5 (--map)\""), "{out}");
    for (arg, want) in [
        (
            "nope.max_entries=5",
            "kbpf: ELF: map nope: --map names no map of the object (maps: sized_later, .kconfig)",
        ),
        ("sized_later.colour=5", "kbpf: --map \"sized_later.colour=5\": unknown map field \"colour\""),
        ("sized_later.max_entries=x", "kbpf: --map \"sized_later.max_entries=x\": \"x\" is not a number"),
    ] {
        let (code, _, err) =
            kbpf(&["verify", "--prog", "one", "--kconfig", k, "--map", arg, &data("loader.o")]);
        assert_eq!(code, Some(2), "{arg}: {err}");
        assert!(err.starts_with(want), "{arg}: {err}");
    }
}

#[test]
fn kconfig_file() {
    let k = kconfig();
    let (code, out, err) =
        kbpf(&["run", "--prog", "two", "--kconfig", k.to_str().unwrap(), &data("loader.o")]);
    assert_eq!((code, out.as_str()), (Some(0), "0x4\n"), "{err}");
    let (code, _, err) =
        kbpf(&["verify", "--prog", "two", "--kconfig", "/nonexistent/config", &data("loader.o")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with("kbpf: /nonexistent/config: "), "{err}");
    let empty = k.with_file_name("empty");
    std::fs::write(&empty, "").unwrap();
    let (code, _, err) =
        kbpf(&["verify", "--prog", "two", "--kconfig", empty.to_str().unwrap(), &data("loader.o")]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err, "kbpf: extern 'CONFIG_KBPF_TEST_VALUE' (strong): not resolved\n");
    // in JSON an object the loader refuses still gives one line naming the program
    let (code, out, _) = kbpf(&[
        "verify",
        "--format",
        "json",
        "--prog",
        "two",
        "--kconfig",
        empty.to_str().unwrap(),
        &data("loader.o"),
    ]);
    assert_eq!(code, Some(2));
    assert_eq!(
        out,
        "{\"prog_name\":\"two\",\"section\":null,\"accepted\":null,\"kind\":\"loader\",\"error\":\"extern 'CONFIG_KBPF_TEST_VALUE' (strong): not resolved\"}\n"
    );
}

#[test]
fn programs_by_name_and_section() {
    let k = kconfig();
    let k = k.to_str().unwrap();
    let (code, _, err) = kbpf(&["verify", "--section", "socket", "--kconfig", k, &data("loader.o")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with("kbpf: section \"socket\" holds several programs (one (socket), two (socket))"),
        "{err}"
    );
    let (code, _, err) = kbpf(&["verify", "--prog", "nope", "--kconfig", k, &data("loader.o")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with("kbpf: no program \"nope\" in the object"), "{err}");
    // a section libbpf cannot type names itself, and --prog-type types it
    let (code, _, err) = kbpf(&["verify", "--prog", "legacy", "--kconfig", k, &data("loader.o")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with("kbpf: unknown section \"xdp_vlan01\""), "{err}");
    let (code, out, err) =
        kbpf(&["verify", "--prog", "legacy", "--prog-type", "xdp", "--kconfig", k, &data("loader.o")]);
    assert_eq!(code, Some(0), "{out}{err}");
}

#[test]
fn target_btf_flag() {
    let k = kconfig();
    let k = k.to_str().unwrap();
    let (code, _, err) =
        kbpf(&["verify", "--prog", "traced", "--btf", "/nonexistent/vmlinux", &data("loader.o")]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with("kbpf: --btf: /nonexistent/vmlinux: "), "{err}");
    // an ELF with .BTF that lacks the attach target: the loader's error names it, in JSON too
    let (code, out, err) = kbpf(&[
        "verify",
        "--format",
        "json",
        "--prog",
        "traced",
        "--kconfig",
        k,
        "--btf",
        &data("loader.o"),
        &data("loader.o"),
    ]);
    assert_eq!(code, Some(2), "{err}");
    let want =
        "prog 'traced': failed to find kernel BTF type ID of 'bpf_fentry_test1' (func bpf_fentry_test1)";
    assert!(err.contains(want), "{err}");
    assert!(out.contains("\"kind\":\"loader\"") && out.contains("\"accepted\":null"), "{out}");
    assert!(out.contains("\"expected_attach_type\":\"BPF_TRACE_FENTRY\""), "{out}");
}

#[test]
fn kernel_6_18_has_no_stack_arguments() {
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/twelve_args.s");
    let case = case.to_str().unwrap();
    let (code, out, err) = kbpf(&["verify", case]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = kbpf(&["verify", "--kernel", "6.18", case]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("R11 is invalid") || out.contains("r11"), "{out}");
    let (code, _, err) = kbpf(&["verify", "--kernel", "5.15", case]);
    assert_eq!(code, Some(2), "{err}");
    // `run` verifies for the same target before it runs anything
    let (code, out, err) = kbpf(&["run", case]);
    assert_eq!((code, out.trim()), (Some(0), "0x123456789abc"), "{err}");
    let (code, _, err) = kbpf(&["run", "--kernel", "6.18", case]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("R11 is invalid"), "{err}");
}
