//! `kbpf stats`: veristat's table, CSV and JSON, `-e`, `-s`, `-f`, `-C` (against kbpf's own CSV
//! and a CSV in veristat's format, `tests/data/veristat.csv`, written by hand from veristat's
//! header names), `-v`, and the exit codes, on `tests/data/sections.o` (source beside it).

use std::path::{Path, PathBuf};
use std::process::Command;

fn data(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name).display().to_string()
}

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("stats");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
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

fn ok(args: &[&str]) -> String {
    let (code, out, err) = kbpf(args);
    assert_eq!(code, Some(0), "kbpf {args:?}: {err}");
    out
}

#[test]
fn table_has_veristat_layout() {
    let out = ok(&["stats", "-e", "file,prog,verdict,insns,prog_type,kbpf_outcome", &data("sections.o")]);
    let want = "\
File        Program  Verdict  Total insns  Program type   kbpf outcome
----------  -------  -------  -----------  -------------  ------------
sections.o  odd      failure            0  unknown        unmodelled  
sections.o  one      success            2  socket_filter  accepted    
sections.o  pass     success            2  xdp            accepted    
sections.o  probe    success            2  kprobe         accepted    
sections.o  seven    success            2  socket_filter  accepted    
----------  -------  -------  -----------  -------------  ------------
Done. Processed 1 files, 5 programs. Skipped 0 files, 0 programs.
";
    assert_eq!(out, want);
    // the default columns: veristat's table (without the jited size kbpf does not measure)
    let out = ok(&["stats", &data("sections.o")]);
    assert!(
        out.starts_with(
            "File        Program  Verdict  Duration (us)  Total insns  Total states  Program size\n"
        ),
        "{out}"
    );
}

#[test]
fn csv_and_json() {
    let out = ok(&["stats", "-o", "csv", &data("sections.o")]);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some(
            "file_name,prog_name,verdict,duration,total_insns,total_states,peak_states,max_states_per_insn,max_mark_read_len,prog_size,prog_type,attach_type,stack_depth,kbpf_outcome,kbpf_errno"
        )
    );
    let one = lines.find(|l| l.starts_with("sections.o,one,")).expect("a row for one");
    let f: Vec<&str> = one.split(',').collect();
    assert_eq!(
        (f[2], f[4], f[9], f[10], f[13], f[14]),
        ("success", "2", "2", "socket_filter", "accepted", "-")
    );
    let out = ok(&["stats", "-o", "json", "-e", "file,prog,verdict,insns", &data("sections.o")]);
    assert!(out.starts_with('[') && out.trim_end().ends_with(']'), "{out}");
    assert!(
        out.contains(r#"{"file_name":"sections.o","prog_name":"one","verdict":"success","total_insns":2}"#),
        "{out}"
    );
}

#[test]
fn filters_and_sort() {
    let progs = |out: &str| -> Vec<String> {
        out.lines().skip(1).map(|l| l.split(',').nth(1).unwrap_or_default().to_string()).collect()
    };
    let csv = |extra: &[&str]| {
        let mut a = vec!["stats", "-o", "csv", "-e", "file,prog,insns"];
        a.extend_from_slice(extra);
        let s = data("sections.o");
        a.push(&s);
        progs(&ok(&a))
    };
    assert_eq!(csv(&["-f", "sections.o/o*"]), ["odd", "one"]);
    assert_eq!(csv(&["-f", "*/o*", "-f", "!*/odd"]), ["one"]);
    assert_eq!(csv(&["-f", "other.o"]), Vec::<String>::new());
    assert_eq!(csv(&["-f", "!sections.o"]), Vec::<String>::new());
    let list = tmp("filters.txt");
    std::fs::write(&list, "# comment\n*/p*\n!*/probe\n").unwrap();
    assert_eq!(csv(&["-f", &format!("@{}", list.display())]), ["pass"]);
    // veristat's stat filters, and a bare glob matching program names too
    assert_eq!(csv(&["-f", "insns>1000000"]), Vec::<String>::new());
    assert_eq!(csv(&["-f", "o*", "-f", "insns>=1"]), ["one"]);
    assert_eq!(csv(&["-f", "o*", "-f", "!verdict=success"]), ["odd"]);
    assert_eq!(csv(&["-f", "verdict==failure", "-f", "insns<>2"]), ["odd"]);
    // numbers sort descending by default, names ascending; ties by file and program
    assert_eq!(csv(&["-s", "insns"]), ["one", "pass", "probe", "seven", "odd"]);
    assert_eq!(csv(&["-s", "insns:asc,prog:desc"]), ["odd", "seven", "probe", "pass", "one"]);
    assert_eq!(csv(&["-s", "prog:desc"]), ["seven", "probe", "pass", "one", "odd"]);
}

#[test]
fn compare_reads_kbpf_and_veristat_csv() {
    let base = tmp("base.csv");
    std::fs::write(&base, ok(&["stats", "-o", "csv", &data("sections.o")])).unwrap();
    // kbpf against itself: every verdict matches
    let out =
        ok(&["stats", "-C", "-e", "file,prog,verdict,insns", base.to_str().unwrap(), base.to_str().unwrap()]);
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some(
            "File        Program  Verdict (A)  Verdict (B)  Verdict (DIFF)  Total insns (A)  Total insns (B)  Total insns (DIFF)"
        )
    );
    assert!(out.contains("sections.o  one      success      success      MATCH                         2                2         +0 (+0.00%)"), "{out}");
    // kbpf against veristat's CSV: the common columns, rows on one side compared with zeros
    let out = ok(&["stats", "-C", "-o", "csv", base.to_str().unwrap(), &data("veristat.csv")]);
    let mut lines = out.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("file_name,prog_name,verdict_base,verdict_comp,verdict_diff,duration_base,"),
        "{header}"
    );
    assert!(!header.contains("kbpf_outcome") && !header.contains("prog_size_jited"), "{header}");
    let row = |p: &str| {
        out.lines().find(|l| l.starts_with(&format!("sections.o,{p},"))).unwrap_or_default().to_string()
    };
    assert!(row("one").contains(",success,success,MATCH,"), "{out}");
    assert!(row("one").contains(",2,4,+2 (+100.00%),"), "{out}");
    assert!(row("pass").contains(",success,failure,MISMATCH,"), "{out}");
    assert!(row("gone").starts_with("sections.o,gone,N/A,success,MISMATCH,0,12,+12 (+100.00%),"), "{out}");
    assert!(row("odd").contains(",failure,N/A,MISMATCH,"), "{out}");
    // sorted by the difference (descending), ties by file and program
    let out =
        ok(&["stats", "-C", "-o", "csv", "-s", "insns_diff", base.to_str().unwrap(), &data("veristat.csv")]);
    let order: Vec<&str> = out.lines().skip(1).map(|l| l.split(',').nth(1).unwrap_or_default()).collect();
    assert_eq!(order, ["gone", "one", "odd", "pass", "probe", "seven"], "{out}");
    let (code, _, err) = kbpf(&["stats", "-s", "insns_diff", &data("sections.o")]);
    assert_eq!(code, Some(2), "a difference needs -C: {err}");
    // -C needs two files with the key columns
    let (code, _, err) = kbpf(&["stats", "-C", base.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    let bad = tmp("bad.csv");
    std::fs::write(&bad, "verdict,total_insns\nsuccess,3\n").unwrap();
    let (code, _, err) = kbpf(&["stats", "-C", bad.to_str().unwrap(), base.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("file_name"), "{err}");
}

#[test]
fn verbose_log_and_exit_codes() {
    let out = ok(&["stats", "-v", "-f", "*/one", &data("sections.o")]);
    assert!(out.starts_with("PROCESSING "), "{out}");
    assert!(
        out.contains("sections.o/one, DURATION US: ") && out.contains("VERDICT: success, VERIFIER LOG:\n"),
        "{out}"
    );
    assert!(out.contains("processed 2 insns") && out.contains("\nverification time "), "{out}");
    // a program refused: 0, unless --fail-on-reject
    let (code, _, _) = kbpf(&["stats", "--fail-on-reject", "-f", "*/one", &data("sections.o")]);
    assert_eq!(code, Some(0));
    let (code, _, _) = kbpf(&["stats", "--fail-on-reject", &data("sections.o")]);
    assert_eq!(code, Some(1));
    // an input that cannot be read: 2, the others still reported
    let (code, out, err) = kbpf(&["stats", "-o", "csv", "/nonexistent/x.o", &data("sections.o")]);
    assert_eq!(code, Some(2));
    assert!(err.contains("/nonexistent/x.o"), "{err}");
    assert!(out.contains("sections.o,one,"), "{out}");
    // unknown stat names and a stat kbpf does not measure are usage errors
    for e in ["nope", "prog_size_jited"] {
        let (code, _, err) = kbpf(&["stats", "-e", e, &data("sections.o")]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(e), "{err}");
    }
}
