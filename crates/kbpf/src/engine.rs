//! Engines and the one entry point that runs a program on either.

use kbpf_interp::{InterpError, Vm, VmOptions};
use kbpf_isa::Program;
use kbpf_jit::{Backend, JitError, JitOptions};
use kbpf_kfunc::Registry;
use thiserror::Error;

/// Which engine executes a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The reference interpreter.
    Interp,
    /// The host's JIT backend.
    Jit,
}

/// Options common to every engine.
#[derive(Clone, Copy, Debug, Default)]
pub struct RunOptions {
    /// Refuse what the kernel refuses (stack arguments in the interpreter).
    pub kernel_compat: bool,
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

/// Runs `prog` once on `engine` with `mem` as the input buffer and returns `r0`.
pub fn run(
    prog: &Program,
    engine: Engine,
    registry: &Registry,
    mem: &mut [u8],
    opts: RunOptions,
) -> Result<u64, RunError> {
    match engine {
        Engine::Interp => {
            let vm = Vm::new(
                prog,
                registry,
                VmOptions { kernel_compat: opts.kernel_compat, ..Default::default() },
            )?;
            Ok(vm.run(mem)?)
        }
        Engine::Jit => {
            let backend = host_backend().ok_or(RunError::NoJit(std::env::consts::ARCH))?;
            let code = backend.compile(prog, registry, &JitOptions::default())?;
            Ok(code.run(mem))
        }
    }
}
