//! Verification of a hostile program stays in bounded memory: 64 spilled slots, then a loop that
//! never converges until the 1M processed-instruction limit, so every checkpoint stays a parent
//! (the kernel cannot free one either). Before checkpoints shared their stacks this peaked at
//! 559 MiB; docs/testing.md has the figures.

use kbpf_isa::RawInsn;
use kbpf_verifier::{ProgType, VerifyOptions, verify};

fn hostile_loop() -> Vec<RawInsn> {
    let mut text = vec!["r6 = 0".to_string()];
    text.extend((1..=64).map(|i| format!("*(u64 *)(r10 - {}) = r6", 8 * i)));
    let top = text.len();
    text.push("r6 += 1".into());
    text.extend(std::iter::repeat_n("goto +0".to_string(), 30));
    let back = top as i64 - (text.len() as i64 + 1);
    text.push(format!("if r6 != 0 goto {back}"));
    text.extend(["r0 = 0".into(), "exit".into()]);
    let insns = kbpf_isa::asm::assemble(&text.join("\n")).expect("assembles");
    kbpf_isa::Program::new(insns).expect("a program").to_slots()
}

/// Peak resident set of this process (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("a number")
}

/// Walks 1M instructions: about 8 s in a debug build, 2 s in release. Alone in its test binary,
/// so the process's peak RSS is this verification's.
#[test]
fn a_loop_at_the_instruction_limit_stays_under_256_mib() {
    let opts = VerifyOptions { prog_type: ProgType::SocketFilter, ..VerifyOptions::default() };
    let out = verify(&hostile_loop(), &opts);
    assert!(!out.accepted, "the loop never ends");
    assert_eq!(out.stats.processed_insns, 1_000_001);
    assert!(out.stats.peak_states > 40_000, "{:?}", out.stats);
    let kib = peak_rss_kib();
    assert!(kib < 256 * 1024, "peak RSS {kib} KiB");
}
