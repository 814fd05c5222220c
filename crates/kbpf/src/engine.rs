//! Engines, run options and run errors; programs run through the embedding API
//! ([`crate::Handle`]) or a packet test run ([`crate::test_run`]).

use kbpf_interp::InterpError;
use kbpf_jit::{Backend, JitError};
use kbpf_verifier::{ProgType, VerifyError};
use thiserror::Error;

pub use crate::guard::Unsupported;

/// Which engine executes a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The reference interpreter.
    Interp,
    /// The host's JIT backend.
    Jit,
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Engine::Interp => "the interpreter",
            Engine::Jit => "the JIT",
        })
    }
}

/// Options common to every engine.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Refuse what the kernel refuses (stack arguments in the interpreter).
    pub kernel_compat: bool,
    /// The program type to verify for; default `ProgType::Mem` with the input buffer's
    /// length as the context size. A run refuses an input smaller than the verified context;
    /// a `syscall` context is padded to the 64 KiB the verifier allows; the packet types run
    /// only through [`crate::test_run`], which builds their context.
    pub prog_type: Option<ProgType>,
    /// kbpf extension: global functions may take more than 5 arguments (see `VerifyOptions`).
    pub allow_global_stack_args: bool,
    /// The interpreter's instruction budget (default `kbpf_interp::DEFAULT_INSN_BUDGET`).
    pub insn_budget: Option<u64>,
    /// Verify as Linux 6.18 exactly (`--kernel 6.18`): without the stack-arguments series, so
    /// any use of r11 is `R11 is invalid`. Default `false`: 6.18 plus the series.
    pub without_stack_args: bool,
}

/// A failed run.
#[derive(Debug, Error)]
pub enum RunError {
    /// The interpreter refused or trapped.
    #[error(transparent)]
    Interp(#[from] InterpError),
    /// The JIT could not compile.
    #[error(transparent)]
    Jit(#[from] JitError),
    /// No JIT backend for this host.
    #[error("no JIT backend for this host architecture ({0})")]
    NoJit(&'static str),
    /// A map could not be created.
    #[error(transparent)]
    Map(#[from] kbpf_kfunc::maps::MapError),
    /// The program's slots do not decode (only the verifier takes malformed programs).
    #[error(transparent)]
    Source(#[from] Box<crate::SourceError>),
    /// A timer fired with a callback that is no function of the module.
    #[error("timer callback {0:#x} is not a function of this module")]
    Callback(u64),
    /// The verifier rejects the program (the kernel would not load it).
    #[error("the verifier rejects the program ({}): {}", .0.errno().name(), .0.message())]
    Rejected(VerifyError),
    /// The verifier accepts the program but this engine cannot run a function it calls.
    #[error(transparent)]
    Unsupported(#[from] Unsupported),
    /// The input does not cover the context the program was verified for.
    #[error("{prog_type:?} program: {why} (input of {given} bytes)")]
    Context {
        /// The verified program type.
        prog_type: ProgType,
        /// What is wrong.
        why: &'static str,
        /// Input bytes given.
        given: usize,
    },
    /// The program type is one the verifier does not model (or none was given).
    #[error(transparent)]
    ProgType(#[from] crate::ProgTypeError),
    /// The embedder asked for something that cannot work (no program type to verify for).
    #[error("{0}")]
    Usage(&'static str),
    /// An invariant of kbpf failed.
    #[error("verifier bug: {0}")]
    Bug(&'static str),
    /// A run refused by native code's input contract, or a fault that ends a run.
    #[error("native run: {0}")]
    Fault(#[from] kbpf_jit::JitFault),
    /// An `ld_imm64` names a map (or value offset) the run does not have.
    #[error("insn {pc}: fd {fd} is not pointing to valid bpf_map (value offset {off})")]
    MapRef {
        /// Slot index.
        pc: usize,
        /// The map index in the instruction.
        fd: i32,
        /// The value offset (second slot's imm).
        off: i32,
    },
}

/// Target architectures of the JIT backends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// x86_64 (SysV).
    X86_64,
    /// arm64 (AAPCS64).
    Arm64,
}

/// The backend for `arch`; any host can compile and dump for either, only the host's can run.
pub fn backend(arch: Arch) -> Box<dyn Backend> {
    match arch {
        Arch::X86_64 => Box::new(kbpf_jit_x86_64::X86_64),
        Arch::Arm64 => Box::new(kbpf_jit_arm64::Arm64::default()),
    }
}

/// The JIT backend that can run code on this host.
pub fn host_backend() -> Option<Box<dyn Backend>> {
    #[cfg(target_arch = "x86_64")]
    {
        Some(Box::new(kbpf_jit_x86_64::X86_64))
    }
    #[cfg(target_arch = "aarch64")]
    {
        Some(Box::new(kbpf_jit_arm64::Arm64::default()))
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        None
    }
}
