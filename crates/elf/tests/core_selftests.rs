//! CO-RE on the kernel's own selftests: every object of the selftests cache (built by `cargo
//! xtask selftests`: `$KBPF_SELFTESTS_CACHE`, default `target/selftests` in the workspace)
//! that carries CO-RE records is relocated against the running kernel's BTF, and libbpf built
//! from the same kernel source (the dev-only oracle `core_src/libbpf_core_log.c`, compiled here
//! against the cache's libbpf) must log the same relocations, line for line. Objects libbpf
//! stops on before relocating (unresolved externs and the like) are counted, not compared.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{libbpf_lines, open, ours, per_relo, relocate};
use kbpf_elf::btf::TargetBtf;

fn cache() -> PathBuf {
    std::env::var_os("KBPF_SELFTESTS_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/selftests"))
}

/// Builds the oracle against the cache's libbpf.
fn oracle() -> PathBuf {
    let build = cache().join("build");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("libbpf_core_log");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/core_src/libbpf_core_log.c");
    let st = Command::new("cc")
        .arg("-O1")
        .arg("-I")
        .arg(build.join("libbpf-install/include"))
        .arg(&src)
        .arg(build.join("libbpf/libbpf.a"))
        .args(["-lelf", "-lz", "-o"])
        .arg(&out)
        .status()
        .expect("cc runs");
    assert!(st.success(), "building the libbpf oracle failed");
    out
}

#[test]
#[ignore = "needs the selftests cache of cargo xtask selftests, cc, /sys/kernel/btf/vmlinux and bpf() (root)"]
fn relocations_agree_with_libbpf_on_the_selftests() {
    let oracle = oracle();
    let target = TargetBtf::running_kernel().unwrap();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(cache().join("objs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "o"))
        .collect();
    paths.sort();
    let (mut compared, mut records, mut lines, mut stopped) = (0, 0, 0, Vec::new());
    for path in paths {
        let Some(mut obj) = open(&path) else { continue };
        if obj.ext.core_relos.is_empty() {
            continue;
        }
        let n = obj.ext.core_relos.len();
        let out = Command::new(&oracle).arg(&path).output().unwrap();
        let theirs = libbpf_lines(&String::from_utf8_lossy(&out.stdout));
        if theirs.is_empty() {
            stopped.push(path.file_name().unwrap().to_string_lossy().into_owned());
            continue;
        }
        let mine = relocate(&mut obj, &target).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (a, b) = (per_relo(ours(&mine)), per_relo(theirs));
        assert_eq!(a, b, "{}: kbpf vs libbpf", path.display());
        compared += 1;
        records += n;
        lines += b.iter().map(Vec::len).sum::<usize>();
    }
    eprintln!(
        "{compared} objects ({records} CO-RE records, {lines} libbpf lines) identical; {} objects stopped in \
         libbpf before relocation: {}",
        stopped.len(),
        stopped.join(" ")
    );
    assert!(compared > 0, "no object with CO-RE records in {}", cache().display());
}
