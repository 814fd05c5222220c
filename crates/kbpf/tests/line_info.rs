//! Line info end to end: the C programs of `tests/line-info/` are compiled with clang-19 (into
//! this test's target directory) and verified by kbpf at log levels 1, 2 and 4; each log must
//! equal, byte for byte, the kernel's log of the same object loaded with its BTF, func_info and
//! line_info (`tests/line-info/golden/<prog>.l<level>.log`, written only by
//! `cargo run --release -p kbpf-oracle --bin capture -- --line-info-golden`).

use std::path::{Path, PathBuf};

use kbpf::SourceKind;
use kbpf::kfunc::profiles;
use kbpf::verifier::VerifyOptions;
use kbpf_oracle::objects::{c_sources, compile_c, golden_text};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/line-info")
}

#[test]
#[ignore = "needs clang-19 (cargo xtask test runs it when clang-19 is on PATH)"]
fn kbpf_logs_match_the_kernels_golden_logs() {
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("line-info");
    let registry = profiles::testmod();
    let mut compared = 0;
    let mut failures = Vec::new();
    for src in c_sources(&root()).expect("tests/line-info") {
        let obj_path = compile_c(&src, &out_dir).unwrap_or_else(|e| panic!("{e}"));
        let bytes = std::fs::read(&obj_path).expect("object");
        let obj = kbpf_elf::Object::parse(&bytes).expect("parses");
        for prog in &obj.programs {
            let m =
                kbpf::read_module(&obj_path, SourceKind::Elf, &registry, Some(&prog.name)).expect("module");
            assert!(!m.line_info.is_empty(), "{}: no line info", prog.name);
            let prog_type = kbpf::prog_type_for_section(&prog.section).expect("section type");
            for level in kbpf_oracle::objects::GOLDEN_LEVELS {
                let opts = VerifyOptions {
                    prog_type,
                    log_level: level,
                    stack_args: false,
                    kfuncs: kbpf::kfunc_table(&registry),
                    ..Default::default()
                };
                let out = kbpf::verify_module(&m, opts);
                let errno = out.error.as_ref().map(|e| e.errno().name());
                let got = golden_text(errno, &out.log);
                let path = root().join("golden").join(format!("{}.l{level}.log", prog.name));
                let want =
                    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                compared += 1;
                if got != want {
                    failures.push(format!("--- {}\n+++ kbpf\n{got}\n--- kernel\n{want}", path.display()));
                }
            }
        }
    }
    assert!(compared >= 18, "only {compared} logs compared");
    assert!(failures.is_empty(), "{} of {compared} logs differ:\n{}", failures.len(), failures.join("\n"));
}

/// The kernel's refusals of damaged func_info / line_info records
/// (`tests/line-info/golden/sub_reject.<case>.l1.log`).
#[test]
#[ignore = "needs clang-19 (cargo xtask test runs it when clang-19 is on PATH)"]
fn damaged_records_are_refused_like_the_kernel() {
    use kbpf_oracle::objects::{BAD_RECORDS_PROG, bad_records, prog_btf};
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("line-info-bad");
    let registry = profiles::testmod();
    let obj_path =
        compile_c(&root().join(format!("{BAD_RECORDS_PROG}.c")), &out_dir).unwrap_or_else(|e| panic!("{e}"));
    let obj = kbpf_elf::Object::parse(&std::fs::read(&obj_path).expect("object")).expect("parses");
    let prog = obj.programs.iter().find(|p| p.name == BAD_RECORDS_PROG).expect("program");
    let m = kbpf::read_module(&obj_path, SourceKind::Elf, &registry, Some(&prog.name)).expect("module");
    let base = prog_btf(&obj, prog).expect("BTF");
    let strs = kbpf_elf::btf::strings(&base.blob).expect("strings");
    let string = |off: u32| {
        let rest = strs.get(off as usize..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        Some(String::from_utf8_lossy(&rest[..end]).into_owned())
    };
    let cases = bad_records(&base);
    assert_eq!(cases.len(), 8);
    let mut failures = Vec::new();
    for (case, b) in cases {
        let funcs = b
            .func_info
            .iter()
            .enumerate()
            .map(|(i, f)| kbpf::isa::FuncDecl { pc: f[0] as usize, ..m.funcs[i].clone() })
            .collect();
        let line_info = b
            .line_info
            .iter()
            .map(|l| kbpf::verifier::LineInfo {
                insn_off: l[0],
                file: string(l[1]),
                line: string(l[2]),
                line_num: l[3] >> 10,
                column: l[3] & 0x3ff,
            })
            .collect();
        let opts = VerifyOptions {
            prog_type: kbpf::prog_type_for_section(&prog.section).expect("section type"),
            log_level: 1,
            stack_args: false,
            kfuncs: kbpf::kfunc_table(&registry),
            funcs,
            btf_func_info: true,
            line_info,
            ..Default::default()
        };
        let out = kbpf::verify_module(&m, opts);
        let errno = out.error.as_ref().map(|e| e.errno().name());
        let got = golden_text(errno, &out.log);
        let path = root().join("golden").join(format!("{BAD_RECORDS_PROG}.{case}.l1.log"));
        let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if got != want {
            failures.push(format!("--- {case}\n+++ kbpf\n{got}\n--- kernel\n{want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
