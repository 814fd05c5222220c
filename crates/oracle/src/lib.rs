//! The running kernel as an oracle for kbpf.
//!
//! Owns: the `bpf(2)` syscall wrappers (`BPF_PROG_LOAD` with the verifier log and its parsed
//! statistics, `BPF_PROG_TEST_RUN`, map creation, JIT/xlated image dumps), the kernel-diff case
//! generator ([`generator`]), the capture of kernel verdicts to files under `tests/kernel-cases/`
//! ([`capture`]), the comparison report ([`compare`](mod@compare)) and the kernel bench timing ([`bench`](mod@bench)).
//!
//! Must not touch: the verifier itself (kbpf's side of a comparison comes in as a closure), nor
//! any global kernel state beyond the programs and maps it creates (all closed on drop).
//! This is the only crate besides the JITs allowed `unsafe`, confined to `sys.rs`.
//!
//! Wiring `cargo xtask kernel-diff` (kbpf's verifier timed at log level 1|4, the level the
//! kernel's `verification time` was recorded at):
//!
//! ```text
//! let (cases, source) = kbpf_oracle::capture::diff_inputs(Path::new("tests/kernel-cases"), live)?;
//! let report = kbpf_oracle::compare(&cases, |case| {
//!     // case.slots, case.prog_type, case.maps (map i = ld_imm64 src=1 imm=i), case.prog_flags
//!     let t = Instant::now();
//!     let out = kbpf_verifier::verify(&case.slots, &opts_for(case));
//!     KbpfVerdict { accepted: out.accepted, error_line: kbpf_oracle::error_line(&out.log), ..,
//!                   verify_time_ns: Some(t.elapsed().as_nanos() as u64) }
//! });
//! println!("{report}");
//! ```
#![allow(unsafe_code)]

pub mod asm_cases;
pub mod bench;
pub mod btf;
pub mod capture;
pub mod case;
pub mod compare;
mod errno;
pub mod generator;
pub mod kbtf;
mod load;
mod map;
pub mod objects;
mod run;
mod sys;

pub use btf::CaseFunc;
pub use case::{CapturedCase, Case, KernelRecord, KfuncCall};
pub use compare::{DiffReport, KbpfVerdict, compare};
pub use errno::Errno;
pub use kbpf_isa::RawInsn;
pub use load::{
    BPF_F_SLEEPABLE, BPF_F_STRICT_ALIGNMENT, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, KernelVerdict,
    LoadRequest, LogLevel, ProgBtf, ProgType, VerifierStats, error_line, is_trailer_line,
    kernel_loads_buffer_iters, kernel_loads_trampolines, load, parse_stats,
};
pub use map::{MapFd, MapKind, MapSpec, create_map, create_maps, map_update};
pub use run::{TestRunResult, jited_image, test_run, xlated};

/// Why the kernel cannot be used as an oracle here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OracleUnavailable {
    /// Not running on Linux.
    #[error("the kernel oracle needs Linux")]
    NotLinux,
    /// Linux, but not x86_64.
    #[error("the kernel oracle is only wired for x86_64")]
    NotX86_64,
    /// `KBPF_NO_ORACLE` is set in the environment.
    #[error("KBPF_NO_ORACLE is set")]
    Disabled,
    /// The probe load failed (usually EPERM: not root / no CAP_BPF).
    #[error("bpf(BPF_PROG_LOAD) of a trivial program failed with {0}")]
    Denied(Errno),
}

/// Checks that `bpf()` works here by loading `r0 = 0; exit` as a socket filter.
pub fn available() -> Result<(), OracleUnavailable> {
    if !cfg!(target_os = "linux") {
        return Err(OracleUnavailable::NotLinux);
    }
    if !cfg!(target_arch = "x86_64") {
        return Err(OracleUnavailable::NotX86_64);
    }
    if std::env::var_os("KBPF_NO_ORACLE").is_some() {
        return Err(OracleUnavailable::Disabled);
    }
    let prog = [RawInsn::new(0xb7, 0, 0, 0, 0), RawInsn::new(0x95, 0, 0, 0, 0)];
    let mut req = LoadRequest::new(ProgType::SocketFilter);
    req.log_level = LogLevel::NONE;
    let v = load(&prog, &req);
    match v.errno {
        None => Ok(()),
        Some(e) => Err(OracleUnavailable::Denied(e)),
    }
}

/// For tests: `Some(reason)` when the oracle is unavailable (and prints it), `None` otherwise.
pub fn skip_reason() -> Option<String> {
    match available() {
        Ok(()) => None,
        Err(e) => {
            let msg = format!("kernel oracle unavailable: {e} (needs root on Linux x86_64 with bpf())");
            eprintln!("{msg}");
            Some(msg)
        }
    }
}
