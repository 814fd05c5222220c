//! JIT common: what every native backend shares.
//!
//! Owns: executable memory under W^X ([`ExecMemory`]: read-write pages from a pool of arenas,
//! filled, flipped to read-execute; recycled read-write a whole arena at a time), the frame plan of each BPF function ([`ProgramPlan`]: BPF
//! stack depth, callee-saved registers, stack-argument traffic, call graph limits), the lowering
//! of calls with more than five arguments to a native convention ([`StackArgAbi`]), the
//! [`Backend`] trait, [`JitOptions`], [`JitError`], the compiled [`JitProgram`] and the safe
//! boundary to native code ([`link`]), the lowering of the callback helpers to BPF drivers that
//! every engine runs ([`lower_callbacks`]): safe compilation takes the verifier's
//! [`kbpf_verifier::Verified`] witness; compiling anything else is `unsafe`.
//!
//! Must not touch: instruction encoding for a particular architecture (the backend crates),
//! verification, interpretation.
#![allow(unsafe_code)]

mod callbacks;
mod error;
mod exec;
mod frame;
mod link;
mod lowering;
mod options;
mod program;

pub use callbacks::{Lowering, func_refs, lower_callbacks, walk_key_max};
pub use error::JitError;
pub use exec::ExecMemory;
pub use frame::{FuncPlan, ProgramPlan, verifier_frames, verifier_frames_for};
pub use link::{Link, VerifiedCode, check_call, check_calls, ctx_pointer_slot, link, link_lowered};
pub use lowering::{ArgLoc, StackArgAbi};
pub use options::{JitOptions, StackDepth, TailCallHook};
pub use program::{BareEntry, FaultKind, Input, JitFault, JitProgram, LdAbsFrame, RunCtx};

use kbpf_isa::Program;
use kbpf_kfunc::Registry;
use kbpf_verifier::Verified;

/// Loop budget of `may_goto` per function invocation (the kernel's `BPF_MAX_LOOPS`).
pub const MAY_GOTO_BUDGET: u64 = 8 * 1024 * 1024;

/// A native code generator. The facade and the CLI know only this trait.
pub trait Backend {
    /// Architecture name (`x86_64`, `arm64`).
    fn name(&self) -> &'static str;

    /// Compiles `prog` without a verifier's witness; helper, kfunc and callx targets come
    /// from `registry`. Tests and the conformance plugin use it for programs the kernel would
    /// reject.
    ///
    /// # Safety
    ///
    /// The code does no bounds checks and has no instruction budget. The caller guarantees
    /// that every run of the returned program, on every input buffer it is given, only reads
    /// and writes that buffer, its own BPF stack frames and memory that outlives the program
    /// (maps whose addresses `prog` embeds, tail-call state), passes the helpers and kfuncs it
    /// calls arguments their natives accept, and terminates: in short, that `prog` would pass
    /// the verifier for the input it runs on, or is otherwise known to behave.
    unsafe fn compile_unverified(
        &self,
        prog: &Program,
        registry: &Registry,
        opts: &JitOptions,
    ) -> Result<JitProgram, JitError>;

    /// Compiles a verified program: [`check_calls`] against `registry`, [`link()`] against
    /// `link` (its maps must be the layout the verifier saw), then native code whose safe runs
    /// accept only inputs covering the context the verifier assumed ([`Input`]). Frame sizes
    /// are the verifier's stack depths under [`StackDepth::Inferred`] (the default), as the
    /// kernel's JITs use them; a caller's `StackDepth::Verifier` is for the unsafe entry only.
    fn compile<'m>(
        &self,
        v: &Verified,
        registry: &Registry,
        link: &Link<'m, '_>,
        opts: &JitOptions,
    ) -> Result<VerifiedCode<'m>, JitError> {
        if matches!(opts.stack_depth, StackDepth::Verifier(_)) {
            return Err(JitError::Link("StackDepth::Verifier is only for compile_unverified".into()));
        }
        check_calls(v, registry, opts.tail_call.is_some())?;
        let (prog, roles) = crate::link::link_lowered(v, link)?;
        // like the kernel's JIT, each frame is the depth the verifier computed for its
        // subprograms (the functions lowering appended size their own)
        let mut opts = JitOptions { roles, ..opts.clone() };
        if let Some(d) = verifier_frames_for(v.program(), &prog, v.stack_depth())
            && opts.stack_depth == StackDepth::Inferred
        {
            opts.stack_depth = StackDepth::Verifier(d);
        }
        let opts = &opts;
        // SAFETY: `prog` is the verifier's post-verification program with references resolved
        // to `link.maps` (whose layout matches what the verifier saw, and which the returned
        // code borrows) and callback tokens no instruction may dereference; every helper and
        // kfunc it calls is the registry's native checked above; the returned code refuses
        // inputs smaller than the verified context. A tail-call hook could only be made through
        // the unsafe `TailCallHook::new`, whose caller vouched for it.
        let code = unsafe { self.compile_unverified(&prog, registry, opts)? };
        Ok(crate::link::verified_code(code, v))
    }

    /// The native code as text, each BPF instruction heading its block (`kbpf jit --dump`,
    /// like `bpftool prog dump jited`).
    fn dump(&self, prog: &Program, registry: &Registry, opts: &JitOptions) -> Result<String, JitError>;

    /// The machine code without mapping it (any host can assemble for any backend).
    fn assemble_code(
        &self,
        prog: &Program,
        registry: &Registry,
        opts: &JitOptions,
    ) -> Result<Assembly, JitError>;

    /// Disassembles `code` as GNU objdump prints it (AT&T syntax on x86_64), addresses
    /// relative to its start: `(offset, length, text)` per native instruction.
    fn disasm_objdump(&self, code: &[u8]) -> Vec<(usize, usize, String)>;
}

/// Machine code before it is mapped, with where each function and BPF instruction starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assembly {
    /// The code.
    pub code: Vec<u8>,
    /// Offset of every BPF instruction, by instruction index.
    pub insn_offsets: Vec<u32>,
    /// Offset of each BPF function, main first; an entry trampoline, if any, precedes the main
    /// function.
    pub func_offsets: Vec<u32>,
}

/// Whether a program's native code needs the run context ([`RunCtx`]) and the entry
/// trampoline that keeps it: it can fault (LD_ABS/LD_IND, `callx`), tail-call or throw (it
/// unwinds to the trampoline). Backends enter any other program at its main function
/// directly, which saves only the callee-saved registers it uses (the kernel's
/// `detect_reg_usage`).
pub fn needs_run_ctx(prog: &Program, opts: &JitOptions) -> bool {
    use kbpf_isa::Insn;
    opts.tail_call.is_some()
        || opts.roles.exception_cb.is_some()
        || prog
            .insns()
            .iter()
            .any(|i| matches!(i, Insn::LdAbs { .. } | Insn::LdInd { .. } | Insn::Callx { .. }))
}

/// Whether a function may end in `insn` besides an unconditional transfer: in a program that
/// throws, a call (`call THROW_ID`, what lowering made of `bpf_throw`, or a call of a function
/// that always throws: the verifier removes what follows). Backends put a trap after it.
pub fn ends_run(insn: &kbpf_isa::Insn, throws: bool) -> bool {
    throws && matches!(insn, kbpf_isa::Insn::Call(_))
}
