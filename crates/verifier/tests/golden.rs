//! Golden logs captured from the Linux 6.18 verifier (`tests/snapshots/golden__*.snap`, made by
//! loading each program of `tests/golden/cases.txt` into the running kernel as root:
//! `cargo run --release -p kbpf-oracle --bin capture -- --verifier-golden`). Each case
//! is verified by kbpf at the same log level and must print the same verdict and log.
//!
//! Normalisation (applied to both sides when the snapshots were captured): map `ld_imm64`
//! values (kernel addresses) print as `MAP` with the annotation padding collapsed, and the 6.18
//! stack-liveness trace lines (`(0) frame 0 insn 5 +live -8`) are dropped because kbpf does not
//! print them.

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

#[test]
fn kernel_golden_logs() {
    let cases = include_str!("golden/cases.txt");
    let mut n = 0;
    let mut failed = Vec::new();
    for line in cases.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let f: Vec<&str> = line.split('|').collect();
        assert_eq!(f.len(), 5, "bad case line {line}");
        let prog_type = match f[1] {
            "xdp" => ProgType::Xdp,
            "syscall" => ProgType::Syscall,
            _ => ProgType::SocketFilter,
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
        let out = format!("{verdict}\n{}", normalize(&o.log));
        let name = f[0].to_string();
        let ok = std::panic::catch_unwind(|| insta::assert_snapshot!(name.clone(), out)).is_ok();
        if !ok {
            failed.push(f[0].to_string());
        }
        n += 1;
    }
    assert!(n >= 40, "only {n} golden cases");
    assert!(failed.is_empty(), "{} of {n} golden logs differ from the kernel: {failed:?}", failed.len());
}
