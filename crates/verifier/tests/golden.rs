//! Golden logs captured from the Linux 6.18 verifier: for each program of `golden/cases.txt`,
//! `golden/<name>.kernel.log` holds the kernel's verdict line and log at the case's log level.
//! kbpf verifies the same program at the same level and must print the same bytes.
//!
//! The logs are the kernel's output, not snapshots of kbpf's: they are plain files compared
//! exactly, written only by the oracle's capture tool (as root, on Linux 6.18:
//! `cargo run --release -p kbpf-oracle --bin capture -- --verifier-golden`), never by a test or
//! by `cargo insta accept`. A mismatch prints a diff (`-` kernel, `+` kbpf).
//!
//! Normalisation (applied by the capture tool to the kernel's log and here to kbpf's): map
//! `ld_imm64` values (kernel addresses) print as `MAP` with the annotation padding collapsed,
//! and the 6.18 stack-liveness trace lines (`(0) frame 0 insn 5 +live -8`) and the timing line
//! are dropped (kbpf prints the trace too, but the captured files do not keep it).

use std::path::{Path, PathBuf};

use kbpf_isa::RawInsn;
use kbpf_verifier::{MapDef, MapKind, ProgType, VerifyOptions, verify};

fn parse_hex(h: &str) -> Vec<RawInsn> {
    let b: Vec<u8> =
        (0..h.len() / 2).filter_map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).ok()).collect();
    b.chunks_exact(8).map(|c| RawInsn::from_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])).collect()
}

fn maps(spec: &str) -> Vec<MapDef> {
    spec.split(',')
        .filter(|s| !s.is_empty())
        .filter_map(|m| {
            let f: Vec<u32> = m.split(':').filter_map(|x| x.parse().ok()).collect();
            (f.len() == 5).then(|| MapDef {
                fd: f[0] as i32,
                name: "mymap".into(),
                kind: if f[1] == 2 { MapKind::Array } else { MapKind::Hash },
                key_size: f[2],
                value_size: f[3],
                max_entries: f[4],
                ..Default::default()
            })
        })
        .collect()
}

/// `(18) rN = 0x...` becomes `(18) rN = MAP`, and the padding before a following `;` collapses.
fn normalize(log: &str) -> String {
    let mut out = Vec::new();
    for line in log.lines() {
        if liveness_trace(line) {
            continue;
        }
        let mut l = line.to_string();
        if let Some(p) = l.find("(18) r")
            && let Some(eq) = l[p..].find(" = 0x")
        {
            let start = p + eq + 3;
            let end =
                l[start + 2..].find(|c: char| !c.is_ascii_hexdigit()).map_or(l.len(), |e| start + 2 + e);
            let rest = l[end..].trim_start().to_string();
            l = format!(
                "{}MAP{}",
                &l[..start],
                if rest.is_empty() { String::new() } else { format!(" {rest}") }
            );
        }
        out.push(l);
    }
    out.join("\n").trim_end().to_string()
}

/// 6.18's stack-liveness trace (`(3,5) frame 0 insn 5 +live -8`, `(0) live stack update ...`):
/// the capture tool drops it from the kernel's logs, so it is dropped from kbpf's too.
fn liveness_trace(l: &str) -> bool {
    let Some(rest) = l.strip_prefix('(') else { return false };
    let Some((ids, tail)) = rest.split_once(") ") else { return false };
    ids.bytes().all(|b| b.is_ascii_digit() || b == b',')
        && (tail.starts_with("frame ") || tail.starts_with("live stack update"))
}

/// How the kernel logs are refreshed, for failure messages.
const RECAPTURE: &str = "the kernel logs are re-captured only by the oracle, as root on Linux 6.18: \
     cargo run --release -p kbpf-oracle --bin capture -- --verifier-golden";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("golden")
}

/// A line diff of `want` (kernel) against `got` (kbpf), unified style: `-` kernel only, `+` kbpf
/// only, up to 3 unchanged lines of context around each change, `...` for the rest.
fn diff(want: &str, got: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    // Longest common subsequence table, from the ends (logs are a few hundred lines at most).
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let near_change =
        |k: usize| ops[k.saturating_sub(3)..(k + 4).min(ops.len())].iter().any(|(c, _)| *c != ' ');
    let mut out = String::new();
    let mut skipped = false;
    for (k, (c, line)) in ops.iter().enumerate() {
        if near_change(k) {
            out.push_str(&format!("{c} {line}\n"));
            skipped = false;
        } else if !skipped {
            out.push_str("  ...\n");
            skipped = true;
        }
    }
    out
}

#[test]
fn kernel_golden_logs() {
    let dir = golden_dir();
    let cases = std::fs::read_to_string(dir.join("cases.txt")).expect("golden/cases.txt");
    let mut n = 0;
    let mut failed = Vec::new();
    let mut report = String::new();
    for line in cases.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let f: Vec<&str> = line.split('|').collect();
        assert_eq!(f.len(), 5, "bad case line {line}");
        let prog_type = match f[1] {
            "socket_filter" => ProgType::SocketFilter,
            "xdp" => ProgType::Xdp,
            "syscall" => ProgType::Syscall,
            "sched_cls" => ProgType::SchedCls,
            "sk_msg" => ProgType::SkMsg,
            other => panic!("{}: unknown program type {other} in cases.txt", f[0]),
        };
        let opts = VerifyOptions {
            prog_type,
            log_level: f[2].parse().unwrap_or(1),
            maps: maps(f[3]),
            log_size: Some(1 << 22),
            // captured on 6.18, before the stack-argument series
            stack_args: false,
            ..Default::default()
        };
        let o = verify(&parse_hex(f[4]), &opts);
        let verdict = format!(
            "accepted={} errno={}",
            if o.accepted { "True" } else { "False" },
            o.error.as_ref().map_or("None", |e| e.errno().name())
        );
        // The file is the verdict line, the log, and one final newline.
        let got = format!("{verdict}\n{}\n", normalize(&o.log));
        let path = dir.join(format!("{}.kernel.log", f[0]));
        let want =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}; {RECAPTURE}", path.display()));
        if got != want {
            failed.push(f[0].to_string());
            report.push_str(&format!("--- {} (kernel)\n+++ kbpf\n{}", path.display(), diff(&want, &got)));
        }
        n += 1;
    }
    assert!(n >= 40, "only {n} golden cases");
    assert!(
        failed.is_empty(),
        "{} of {n} golden logs differ from the kernel's: {failed:?}\n{report}\nFix kbpf, not the files: {RECAPTURE}",
        failed.len()
    );
}

#[test]
fn diff_marks_kernel_and_kbpf_lines() {
    let d = diff("a\nb\nc\n", "a\nx\nc\n");
    assert_eq!(d, "  a\n- b\n+ x\n  c\n");
    assert!(diff("same\n", "same\n").lines().all(|l| l.starts_with(' ')));
}
