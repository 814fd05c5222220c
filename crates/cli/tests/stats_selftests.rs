//! `kbpf stats -o csv` over objects of the selftests cache (`cargo xtask selftests`:
//! `$KBPF_SELFTESTS_CACHE`, default `target/selftests` in the workspace) reports, for every
//! program, the verdict and processed-instruction count `kbpf verify --prog NAME` reports.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Objects of the xtask test sample (`TEST_SAMPLE`: a fresh clone builds only those) with accepted, rejected and unmodelled programs.
const OBJECTS: &[&str] =
    &["verifier_and", "verifier_bounds", "verifier_cfg", "test_pkt_access", "xdp_synproxy_kern"];

fn objs_dir() -> PathBuf {
    std::env::var_os("KBPF_SELFTESTS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/selftests"))
        .join("objs")
}

fn json_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let at = line.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = &line[at..];
    Some(rest[..rest.find([',', '}']).unwrap_or(rest.len())].trim())
}

#[test]
#[ignore = "needs the selftests cache of cargo xtask selftests and /sys/kernel/btf/vmlinux"]
fn stats_agrees_with_verify_on_selftests() {
    let dir = objs_dir();
    let objs: Vec<PathBuf> =
        OBJECTS.iter().map(|o| dir.join(format!("{o}.bpf.o"))).filter(|p| p.exists()).collect();
    assert!(objs.len() >= 3, "too few of {OBJECTS:?} in {}", dir.display());
    let out = Command::new(env!("CARGO_BIN_EXE_kbpf"))
        .args(["stats", "-q", "-o", "csv", "-e", "file,prog,verdict,insns,kbpf_outcome"])
        .args(&objs)
        .output()
        .unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut compared = 0;
    for row in csv.lines().skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        let [file, prog, verdict, insns, outcome] = f[..] else { panic!("row {row}") };
        let v = Command::new(env!("CARGO_BIN_EXE_kbpf"))
            .args(["verify", "--format", "json", "--prog", prog])
            .arg(dir.join(file))
            .output()
            .unwrap();
        let line = String::from_utf8(v.stdout).unwrap();
        let accepted = json_field(&line, "accepted").unwrap_or("null");
        let want = match outcome {
            "accepted" | "accepted_unrunnable" => "true",
            "rejected" | "unsupported" | "bug" => "false",
            _ => "null",
        };
        assert_eq!(accepted, want, "{file}/{prog}: stats says {outcome}, verify {line}");
        assert_eq!(verdict == "success", accepted == "true", "{file}/{prog}");
        if accepted != "null" {
            assert_eq!(json_field(&line, "processed_insns"), Some(insns), "{file}/{prog}");
        }
        compared += 1;
    }
    assert!(compared >= 10, "only {compared} programs");
}
