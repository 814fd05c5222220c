//! JIT common: what every native backend shares.
//!
//! Owns: executable memory under W^X ([`ExecMemory`]: mapped read-write, filled, flipped to
//! read-execute, unmapped on drop), the frame plan of each BPF function ([`ProgramPlan`]: BPF
//! stack depth, callee-saved registers, stack-argument traffic, call graph limits), the lowering
//! of calls with more than five arguments to a native convention ([`StackArgAbi`]), the
//! [`Backend`] trait, [`JitOptions`], [`JitError`] and the compiled [`JitProgram`].
//!
//! Must not touch: instruction encoding for a particular architecture (the backend crates),
//! verification, interpretation.
#![allow(unsafe_code)]

mod error;
mod exec;
mod frame;
mod lowering;
mod options;
mod program;

pub use error::JitError;
pub use exec::ExecMemory;
pub use frame::{FuncPlan, ProgramPlan};
pub use lowering::{ArgLoc, StackArgAbi, load_slot, store_slot};
pub use options::{JitOptions, StackDepth, TailCallHook};
pub use program::{FaultKind, JitFault, JitProgram, RunCtx};

use kbpf_isa::Program;
use kbpf_kfunc::Registry;

/// Loop budget of `may_goto` per function invocation (the kernel's `BPF_MAX_LOOPS`).
pub const MAY_GOTO_BUDGET: u64 = 8 * 1024 * 1024;

/// A native code generator. The facade and the CLI know only this trait.
pub trait Backend {
    /// Architecture name (`x86_64`, `arm64`).
    fn name(&self) -> &'static str;

    /// Compiles `prog`; helper, kfunc and callx targets come from `registry`.
    fn compile(&self, prog: &Program, registry: &Registry, opts: &JitOptions)
    -> Result<JitProgram, JitError>;

    /// The native code as text, each BPF instruction heading its block (`kbpf jit --dump`,
    /// like `bpftool prog dump jited`).
    fn dump(&self, prog: &Program, registry: &Registry, opts: &JitOptions) -> Result<String, JitError>;
}
