//! CO-RE on the kernel's own selftests: every object of the selftests cache (built by `cargo
//! xtask selftests`: `$KBPF_SELFTESTS_CACHE`, default `target/selftests` in the workspace)
//! that carries CO-RE records is relocated against the running kernel's BTF, and libbpf built
//! from the same kernel source (the dev-only oracle `core_src/libbpf_core_log.c`, compiled here
//! against the cache's libbpf) must log the same relocations, line for line. Objects libbpf
//! stops on before relocating (unresolved externs and the like) are counted, not compared.
//! The refusals (ambiguity, a bitfield no load covers, an offset too far, a load that cannot
//! be resized) are compared the same way on a hand-built target BTF given as libbpf's
//! `btf_custom_path`.

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

/// Builds the oracle against the cache's libbpf, once for the tests of this file.
fn oracle() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(build_oracle).clone()
}

fn build_oracle() -> PathBuf {
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

/// The target of the refusal cases: `amb` in two flavors that disagree, and `wide` with a
/// bitfield no load covers, a signed field wider than the local one and a far offset.
fn refusal_target() -> Vec<u8> {
    use kbpf_elf::btf::{BtfBuilder, BtfType, IntEncoding, Member};
    let mut b = BtfBuilder::new();
    let int = |b: &mut BtfBuilder, n: &str, size: u32, signed: bool| {
        let encoding = if signed { IntEncoding::Signed } else { IntEncoding::None };
        b.add(BtfType::Int { name: n.into(), size, encoding, offset: 0, bits: size * 8 })
    };
    let m = |n: &str, t: u32, offset: u32, bitfield_size: u32| Member {
        name: n.into(),
        type_id: t,
        offset,
        bitfield_size,
    };
    let i = int(&mut b, "int", 4, true);
    let u = int(&mut b, "unsigned int", 4, false);
    let l = int(&mut b, "long", 8, true);
    b.add(BtfType::Struct { name: "amb".into(), size: 8, members: vec![m("x", i, 0, 0)], kind_flag: false });
    b.add(BtfType::Struct {
        name: "amb___2".into(),
        size: 8,
        members: vec![m("x", i, 32, 0)],
        kind_flag: false,
    });
    b.add(BtfType::Struct {
        name: "wide".into(),
        size: 40008,
        members: vec![m("bits", u, 62, 4), m("sint", l, 64, 0), m("far", i, 40000 * 8, 0)],
        kind_flag: true,
    });
    b.build()
}

#[test]
#[ignore = "needs the selftests cache of cargo xtask selftests, cc, /sys/kernel/btf/vmlinux and bpf() (root)"]
fn refusals_agree_with_libbpf_on_a_hand_built_target() {
    let oracle = oracle();
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let target_path = tmp.join("core_refusal_target.btf");
    std::fs::write(&target_path, refusal_target()).unwrap();
    let target = TargetBtf::load(&target_path).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/core_src");
    let wanted =
        |l: &str| l.starts_with("CO-RE relocating") || (l.starts_with("prog '") && l.contains(" relo"));
    for case in 0..4 {
        let obj_path = tmp.join(format!("core_errors_{case}.o"));
        let st = Command::new("clang-19")
            .current_dir(&src)
            .args(["-O2", "-g", "-target", "bpf", &format!("-DCASE={case}"), "-c", "errors.c", "-o"])
            .arg(&obj_path)
            .status()
            .unwrap();
        assert!(st.success());
        let out = Command::new(&oracle).arg(&obj_path).arg(&target_path).output().unwrap();
        let theirs: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.strip_prefix("libbpf: ").unwrap_or(l))
            .filter(|l| wanted(l))
            .map(str::to_string)
            .collect();
        let mut obj = open(&obj_path).unwrap();
        let mut rel = kbpf_elf::core::Relocator::new(&obj.btf, &target);
        let mut mine = Vec::new();
        let p = &mut obj.progs[0];
        for (i, r) in obj.ext.core_relos.iter().enumerate() {
            match rel.apply_record(&p.name, &mut p.insns, r.insn as usize, i, r) {
                Ok(res) => mine.extend(res.log),
                Err(e) => {
                    mine.extend(rel.failed_log().iter().cloned());
                    mine.extend(e.to_string().lines().map(str::to_string));
                    break;
                }
            }
        }
        let mine: Vec<String> = mine.into_iter().filter(|l| wanted(l)).collect();
        assert_eq!(mine, theirs, "case {case}");
        eprintln!("case {case}: {} lines identical, ending {:?}", mine.len(), mine.last());
    }
}
