//! The captured corpus under `tests/kernel-cases/`: well-formed, large enough, reproducible
//! against the live kernel where one is available.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kbpf_oracle::capture::read_dir;
use kbpf_oracle::case::{RecordOptions, record_case};
use kbpf_oracle::generator::{DEFAULT_SEED, all_cases};
use kbpf_oracle::{KbpfVerdict, compare, skip_reason};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/kernel-cases")
}

#[test]
fn corpus_is_complete_and_matches_the_generator() {
    let recs = read_dir(&root()).expect("read corpus");
    assert!(recs.len() >= 2000, "{} cases", recs.len());
    let mut fams: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for r in &recs {
        let e = fams.entry(r.case.family.as_str()).or_default();
        if r.kernel.accepted {
            e.0 += 1
        } else {
            e.1 += 1
        }
        assert_eq!(r.kernel.accepted, r.kernel.errno.is_none(), "{}", r.case.name);
        // a kernel without trampolines refuses fentry/fexit before the verifier runs: EPERM,
        // no log
        let refused_early =
            r.kernel.errno == Some(kbpf_oracle::Errno::EPERM) && r.kernel.log.as_deref() == Some("");
        if !r.kernel.accepted && !refused_early {
            assert!(r.kernel.error_line.is_some(), "{}/{}", r.case.family, r.case.name);
        }
        assert!(r.kernel.stats.processed_insns.is_some() || r.kernel.errno.is_some());
    }
    assert!(fams.len() >= 15, "{fams:?}");
    // The files are the generator's output: same cases, same order within a family.
    let mut generated: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for c in all_cases(DEFAULT_SEED) {
        generated.entry(c.family.clone()).or_default().push(c);
    }
    let mut stored: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for r in &recs {
        stored.entry(r.case.family.clone()).or_default().push(r.case.clone());
    }
    assert_eq!(
        generated, stored,
        "re-run `cargo run -p kbpf-oracle --bin capture` after changing the generator"
    );
}

#[test]
fn golden_files_present() {
    let dir = root().join("golden");
    let n = std::fs::read_dir(&dir)
        .expect("golden dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "hex"))
        .count();
    assert!(n >= 40, "{n} golden programs");
}

/// Needs the oracle and the kernel version the corpus was captured on (Linux 6.18.44): run with
/// `--ignored` elsewhere, it fails saying which prerequisite is missing.
#[test]
#[ignore = "needs the kernel oracle on the kernel version of tests/kernel-cases/ (root, Linux 6.18.44 x86_64; cargo xtask test runs it there)"]
fn kernel_agrees_with_itself_on_a_sample() {
    if let Some(why) = skip_reason() {
        panic!("{why}");
    }
    let recs = read_dir(&root()).expect("read corpus");
    let running = kbpf_oracle::case::kernel_release();
    if let Some(r) = recs.first().filter(|r| !kbpf_oracle::case::same_version(&r.kernel.kernel, &running)) {
        panic!(
            "corpus captured on Linux {}, running {running}: re-capture or run on that kernel",
            r.kernel.kernel
        );
    }
    let sample: Vec<_> = recs.into_iter().step_by(37).filter(|r| r.case.family != "loops").collect();
    let rep = compare(&sample, |c| {
        let k = record_case(c, RecordOptions::default());
        KbpfVerdict {
            accepted: k.accepted,
            errno: k.errno,
            error_line: k.error_line,
            log: k.log.unwrap_or_default(),
            stats: k.stats,
            verify_time_ns: None,
            log2: k.log_level2,
        }
    });
    assert_eq!(rep.total.verdict_agree, rep.total.cases, "{rep}");
    assert_eq!(rep.total.error_line_agree, rep.total.both_reject, "{rep}");
}

#[test]
fn report_of_a_trivial_verifier() {
    let recs = read_dir(&root()).expect("read corpus");
    // "Reject everything with R0 !read_ok": agreement equals the kernel's reject share.
    let rep =
        compare(&recs, |_| KbpfVerdict { error_line: Some("R0 !read_ok".into()), ..Default::default() });
    let rejects = recs.iter().filter(|r| !r.kernel.accepted).count();
    assert_eq!(rep.total.verdict_agree, rejects);
    assert_eq!(rep.total.both_accept, 0);
    assert!(rep.error_line_agreement() < 50.0);
    let text = rep.to_string();
    assert!(text.contains("TOTAL") && text.contains("mismatches"));
}
