//! `cargo xtask kernel-diff`: kbpf's verifier against the running kernel (or, without one, the
//! kernel verdicts captured under tests/kernel-cases/), over the oracle crate's generated
//! families and hand-written cases.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

use kbpf::isa::AttachType;
use kbpf_oracle::{Case, KbpfVerdict, RawInsn, VerifierStats, capture, compare, error_line};
use kbpf_verifier::{KernelBtf, MapDef, MapKind, ProgType, VerifyOptions, verify};

use crate::workspace_root;

/// `BPF_F_TEST_STATE_FREQ` in `prog_flags`.
const BPF_F_TEST_STATE_FREQ: u32 = 1 << 3;
const BPF_F_TEST_REG_INVARIANTS: u32 = 1 << 7;

/// The kernel program types the verifier models; the others are verified as socket filters.
fn prog_type(t: kbpf_oracle::ProgType) -> ProgType {
    match t {
        kbpf_oracle::ProgType::Xdp => ProgType::Xdp,
        kbpf_oracle::ProgType::SchedCls => ProgType::SchedCls,
        kbpf_oracle::ProgType::Syscall => ProgType::Syscall,
        kbpf_oracle::ProgType::CgroupSkb => ProgType::CgroupSkb,
        kbpf_oracle::ProgType::CgroupSock => ProgType::CgroupSock,
        kbpf_oracle::ProgType::CgroupSockAddr => ProgType::CgroupSockAddr,
        kbpf_oracle::ProgType::CgroupSockopt => ProgType::CgroupSockopt,
        kbpf_oracle::ProgType::CgroupSysctl => ProgType::CgroupSysctl,
        kbpf_oracle::ProgType::CgroupDevice => ProgType::CgroupDevice,
        kbpf_oracle::ProgType::SockOps => ProgType::SockOps,
        kbpf_oracle::ProgType::SkSkb => ProgType::SkSkb,
        kbpf_oracle::ProgType::SkMsg => ProgType::SkMsg,
        kbpf_oracle::ProgType::SkLookup => ProgType::SkLookup,
        kbpf_oracle::ProgType::SkReuseport => ProgType::SkReuseport,
        kbpf_oracle::ProgType::FlowDissector => ProgType::FlowDissector,
        kbpf_oracle::ProgType::LwtIn => ProgType::Lwt(kbpf_verifier::LwtKind::In),
        kbpf_oracle::ProgType::LwtOut => ProgType::Lwt(kbpf_verifier::LwtKind::Out),
        kbpf_oracle::ProgType::LwtXmit => ProgType::Lwt(kbpf_verifier::LwtKind::Xmit),
        // the capture machine is x86_64: its pt_regs and perf-event layouts
        kbpf_oracle::ProgType::Kprobe => ProgType::Kprobe(kbpf_verifier::KprobeProg::default()),
        kbpf_oracle::ProgType::Tracepoint => ProgType::Tracepoint,
        kbpf_oracle::ProgType::RawTracepoint => ProgType::RawTracepoint,
        kbpf_oracle::ProgType::RawTracepointWritable => ProgType::RawTracepointWritable,
        kbpf_oracle::ProgType::PerfEvent => {
            ProgType::PerfEvent { arch: kbpf_verifier::TargetArch::default() }
        }
        kbpf_oracle::ProgType::Tracing => ProgType::Tracing,
        kbpf_oracle::ProgType::Lsm => ProgType::Lsm,
        _ => ProgType::SocketFilter,
    }
}

/// What kbpf is told about the target kernel for cases that need its BTF
/// ([`Case::needs_kernel_btf`]): the running kernel's vmlinux BTF (the files' digest must be
/// its, see [`btf_skip`]), its configuration and whether it loads trampoline programs.
struct Target {
    btf: Option<KernelBtf>,
    config: kbpf_verifier::KernelConfig,
    trampolines: bool,
}

fn target() -> &'static Target {
    static T: OnceLock<Target> = OnceLock::new();
    T.get_or_init(|| Target {
        btf: kbpf_oracle::kbtf::vmlinux().ok().map(KernelBtf),
        config: kbpf::running_kernel_config().unwrap_or_default(),
        trampolines: kbpf_oracle::kernel_loads_trampolines().unwrap_or(true),
    })
}

/// The slots kbpf verifies for `case`: named kfunc calls carry the target BTF's ids.
pub fn slots(case: &Case) -> Vec<RawInsn> {
    match (&target().btf, case.kfuncs.is_empty()) {
        (Some(b), false) => {
            kbpf_oracle::kbtf::resolve(case, &b.0).map_or_else(|_| case.slots.clone(), |r| r.slots)
        }
        _ => case.slots.clone(),
    }
}

/// Verifier options for a case: maps by index (the case's `ld_imm64` imm), GPL license flag;
/// for cases that need the kernel's BTF, the target's BTF, attach target and kfuncs.
pub fn options(case: &Case, log_level: u32) -> VerifyOptions {
    let mut o = base_options(case, log_level);
    if !case.needs_kernel_btf() {
        return o;
    }
    let t = target();
    o.btf = t.btf.clone();
    o.kernel_config = t.config;
    o.trampolines = t.trampolines;
    o.expected_attach_type = case.expected_attach_type.and_then(AttachType::from_number);
    o.prog_type = o.prog_type.with_expected_attach(o.expected_attach_type);
    o.sleepable = case.prog_flags & kbpf_oracle::BPF_F_SLEEPABLE != 0;
    if let Some(b) = &t.btf {
        o.attach_btf_id = kbpf_oracle::kbtf::resolve(case, &b.0).map_or(0, |r| r.attach_btf_id);
        o.kfuncs = kbpf::with_target_kfuncs(&o, &slots(case));
    }
    o
}

fn base_options(case: &Case, log_level: u32) -> VerifyOptions {
    VerifyOptions {
        prog_type: prog_type(case.prog_type),
        log_level,
        maps: case
            .maps
            .iter()
            .enumerate()
            .map(|(i, m)| MapDef {
                fd: i as i32,
                name: m.name.clone(),
                kind: MapKind::from_raw(m.kind.raw()).unwrap_or(MapKind::Hash),
                key_size: m.key_size,
                value_size: m.value_size,
                max_entries: m.max_entries,
                flags: m.flags,
                frozen: m.frozen,
                initial: m.data_bytes(),
                ..Default::default()
            })
            .collect(),
        gpl: case.license.contains("GPL"),
        test_state_freq: case.prog_flags & BPF_F_TEST_STATE_FREQ != 0,
        test_reg_invariants: case.prog_flags & BPF_F_TEST_REG_INVARIANTS != 0,
        funcs: case
            .funcs
            .iter()
            .map(|f| kbpf_verifier::FuncDecl {
                pc: f.pc,
                name: f.name.clone(),
                nargs: f.nargs,
                global: f.global,
                params: Vec::new(),
                ret_scalar: true,
                exception_cb: false,
            })
            .collect(),
        // the captured kernel (6.18) predates the stack-argument series
        stack_args: false,
        ..VerifyOptions::default()
    }
}

/// kbpf's verdict on one case, timed at log level 1|4 like the kernel's `verification time`.
pub fn kbpf_verdict(case: &Case) -> KbpfVerdict {
    let opts = options(case, 1 | 4);
    let slots = slots(case);
    let t = Instant::now();
    let out = verify(&slots, &opts);
    let ns = t.elapsed().as_nanos() as u64;
    let log2 = Some(verify(&slots, &options(case, 2 | 4)).log);
    KbpfVerdict {
        accepted: out.accepted,
        errno: out.error.as_ref().and_then(|e| kbpf_oracle::Errno::from_name(e.errno().name())),
        error_line: if out.accepted { None } else { error_line(&out.log) },
        stats: VerifierStats {
            processed_insns: Some(out.stats.processed_insns),
            total_states: Some(out.stats.total_states),
            peak_states: Some(out.stats.peak_states),
            max_states_per_insn: Some(out.stats.max_states_per_insn),
            mark_read: Some(out.stats.mark_read),
            ..VerifierStats::default()
        },
        log: out.log,
        verify_time_ns: Some(ns),
        log2,
    }
}

/// A comparison: the report, and why cases were left out (an xtask-counted skip).
pub struct Diff {
    /// The report over the cases compared.
    pub report: kbpf_oracle::DiffReport,
    /// The skip, when cases that need another kernel's BTF were left out.
    pub skipped: Option<String>,
}

/// Runs the comparison and prints the report.
pub fn run(live: bool) -> Result<Diff, String> {
    run_in(live, &workspace_root().join("tests").join("kernel-cases"))
}

/// Leaves out the captured cases that need the capture kernel's BTF when the running
/// machine's is not that one (their verdicts depend on its types and ids), and says why.
pub fn btf_skip(cases: &mut Vec<kbpf_oracle::CapturedCase>) -> Option<String> {
    let running = kbpf_oracle::kbtf::vmlinux_digest();
    let foreign =
        |c: &kbpf_oracle::CapturedCase| c.kernel.btf.as_ref().is_some_and(|d| Ok(d) != running.as_ref());
    let left: Vec<_> = cases.iter().filter(|c| foreign(c)).collect();
    let first = left.first()?;
    let mut fams: Vec<&str> = left.iter().map(|c| c.case.family.as_str()).collect();
    fams.dedup();
    let why = format!(
        "{}: {} cases captured on {}, need that kernel's BTF {}, running {}",
        fams.join(", "),
        left.len(),
        first.kernel.kernel,
        first.kernel.btf.as_deref().unwrap_or(""),
        running.clone().unwrap_or_else(|e| e),
    );
    cases.retain(|c| !foreign(c));
    Some(why)
}

/// [`run`] over the captured cases in `dir` (e.g. a corpus captured with another seed).
pub fn run_in(live: bool, dir: &Path) -> Result<Diff, String> {
    if live && let Err(e) = kbpf_oracle::available() {
        println!(
            "kernel-diff: no kernel oracle ({e}); comparing with the captured verdicts in tests/kernel-cases/"
        );
    }
    let (mut cases, source) =
        capture::diff_inputs(dir, live).map_err(|e| format!("{}: {e}", dir.display()))?;
    let skipped = btf_skip(&mut cases);
    if let Some(why) = &skipped {
        println!("skipped: kernel-diff tracing families ({why})");
    }
    println!("kernel-diff: {} cases ({source:?})", cases.len());
    let report = compare(&cases, kbpf_verdict);
    println!("{report}");
    Ok(Diff { report, skipped })
}

/// The floor `cargo xtask test` holds the verifier to: issue 4's verdict and error-line
/// agreement figures (the processed-insn and timing figures are reported, not gated).
pub fn gate(report: &kbpf_oracle::DiffReport) -> bool {
    report.total.cases >= 2000 && report.verdict_agreement() >= 98.0 && report.error_line_agreement() >= 90.0
}

/// `cargo xtask kernel-diff [--files] [--dir DIR]` (`--stream`: [`crate::kernel_stream`]): `--files` compares with the captured verdicts
/// even when a kernel is available; `--dir` reads another captured corpus (`capture --out DIR
/// --seed N` makes one from other random streams).
pub fn main(args: &[String]) -> Result<bool, String> {
    if args.iter().any(|a| a == "--stream") {
        return crate::kernel_stream::main(args);
    }
    let live = !args.iter().any(|a| a == "--files");
    let Diff { report, .. } = match args.iter().position(|a| a == "--dir").and_then(|i| args.get(i + 1)) {
        Some(dir) => run_in(live, Path::new(dir))?,
        None => run(live)?,
    };
    let failed: Vec<String> =
        report.acceptance().into_iter().filter(|(_, ok)| !ok).map(|(what, _)| what).collect();
    for f in &failed {
        println!("acceptance not met: {f}");
    }
    Ok(failed.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbpf_oracle::{CapturedCase, KernelRecord};

    fn captured(name: &str, btf: Option<&str>) -> CapturedCase {
        let case =
            Case::new("trace_ctx", name, kbpf_oracle::ProgType::Kprobe, vec![RawInsn::new(0x95, 0, 0, 0, 0)]);
        let kernel = KernelRecord {
            accepted: false,
            errno: Some(kbpf_oracle::Errno::EACCES),
            error_line: Some("R0 !read_ok".into()),
            stats: VerifierStats::default(),
            log_level: 5,
            log: None,
            log_level2: None,
            log_truncated: false,
            kernel: "6.18.44".into(),
            btf: btf.map(str::to_string),
        };
        CapturedCase { case, kernel }
    }

    #[test]
    fn records_of_another_kernels_btf_are_a_counted_skip() {
        let mut cases = vec![captured("a", None), captured("b", Some("fnv64:0000000000000000:1"))];
        let why = btf_skip(&mut cases).expect("a skip");
        assert!(why.starts_with("trace_ctx: 1 cases captured on 6.18.44"), "{why}");
        assert_eq!(cases.len(), 1);
        assert_eq!(btf_skip(&mut cases), None);
    }
}
