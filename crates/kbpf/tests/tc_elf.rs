//! clang-built tc programs (sources beside the objects in `tests/data/`, built with
//! `clang -O2 -target bpf -g`): the ELF section implies the program type, and kbpf's verdict,
//! last error line and processed-instruction count equal what the 6.18 kernel answered for the
//! same object (recorded from `bpf(BPF_PROG_LOAD)` as `sched_cls`).

use std::path::Path;

use kbpf::kfunc::profiles;
use kbpf::verifier::{ProgType, VerifyOptions};
use kbpf::{ProgTypeError, SourceKind, prog_type_for_section};

/// (object, section, kernel error line or None = accepted, kernel processed insns)
const CASES: &[(&str, &str, Option<&str>, u64)] = &[
    ("tc_classify.o", "tc", None, 137),
    ("tc_subprogs.o", "tc/ingress", None, 100),
    ("tc_v6.o", "classifier", None, 137),
    (
        "tc_leak_stale.o",
        "classifier",
        Some("BPF_EXIT instruction in main prog would lead to reference leak"),
        24,
    ),
    ("tc_leak_stale.o", "tcx/ingress", Some("R6 invalid mem access 'scalar'"), 9),
    ("tc_stale_release.o", "tc/a", Some("R8 invalid mem access 'scalar'"), 33),
];

#[test]
fn clang_tc_programs_match_the_kernel() {
    let registry = profiles::testmod();
    for &(obj, section, error, processed) in CASES {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(obj);
        let m = kbpf::read_module(&path, SourceKind::Elf, &registry, Some(section))
            .unwrap_or_else(|e| panic!("{obj}:{section}: {e}"));
        // `tc/a` is no libbpf section name (its `tc` takes no suffix): the kernel's verdict was
        // recorded with the type given explicitly
        match prog_type_for_section(section) {
            Ok(pt) => assert_eq!(pt, ProgType::SchedCls, "{obj}:{section}"),
            Err(e) => assert_eq!(e, ProgTypeError::UnknownSection { section: section.into() }),
        }
        let out = kbpf::verify_module(
            &m,
            VerifyOptions { prog_type: ProgType::SchedCls, log_level: 1, ..Default::default() },
        );
        let got = out.error.as_ref().map(|e| e.message().to_string());
        assert_eq!(got.as_deref(), error, "{obj}:{section}\n{}", out.log);
        assert_eq!(out.stats.processed_insns, processed, "{obj}:{section}");
    }
}
