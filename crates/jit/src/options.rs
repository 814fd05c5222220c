//! Options every backend understands.

/// How big each function's BPF stack is.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum StackDepth {
    /// From the function's own r10-relative accesses: the deepest one, rounded to 16 bytes; the
    /// full 512 bytes whenever r10 escapes into another register.
    #[default]
    Inferred,
    /// Always `MAX_BPF_STACK` (512) for a function that mentions r10.
    Max,
    /// Per-function depths from the verifier (indexed like [`crate::ProgramPlan::funcs`]);
    /// the kernel JIT's `stack_depth`. Functions beyond the list fall back to `Inferred`.
    Verifier(Vec<u32>),
}

/// How compiled code performs `bpf_tail_call` (helper 12): it calls `resolve(ctx, map,
/// index)`, a native that applies the kernel's rules (index bounds, `MAX_TAIL_CALL_CNT`, empty
/// slots) and returns the address of the target program's main function or 0 to fall through
/// (`kbpf_kfunc::maps::TailCalls`). A non-zero result replaces the current frame by that function
/// (a jump after this function's epilogue), as the kernel's JIT does; main functions then save
/// the callee-saved registers they use, since a jump from any function may enter them.
///
/// The generated code calls `resolve` by address, so a hook is made only through the `unsafe`
/// [`TailCallHook::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TailCallHook {
    ctx: u64,
    resolve: u64,
}

impl TailCallHook {
    /// A hook calling `resolve(ctx, map, index)`.
    ///
    /// # Safety
    ///
    /// `resolve` must be the address of an `extern "C" fn(u64, u64, u64) -> u64` that is sound
    /// to call with `ctx` and any map and index values a program passes, for as long as code
    /// compiled with this hook can run (e.g. `kbpf_kfunc::maps::tail_call_resolve` with the
    /// address of a `TailCalls` that outlives the code); it must return 0 or the main-function
    /// address of a program compiled against the same hook.
    pub unsafe fn new(ctx: u64, resolve: u64) -> TailCallHook {
        TailCallHook { ctx, resolve }
    }

    /// First argument of the resolver (the run's tail-call state).
    pub fn ctx(&self) -> u64 {
        self.ctx
    }

    /// Address of the resolver.
    pub fn resolve(&self) -> u64 {
        self.resolve
    }
}

/// Compilation options.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct JitOptions {
    /// Stack sizing policy.
    pub stack_depth: StackDepth,
    /// Tail-call support; without it a `bpf_tail_call` is a compile error (the helper has no
    /// native).
    pub tail_call: Option<TailCallHook>,
    /// The kernel JIT's layout, for dumps compared with `bpftool prog dump jited` (x86_64; other
    /// backends ignore it): the ftrace and tail-call nops, a frame for every function with the
    /// verifier's depth rounded to 8, the callee-saved registers pushed after it, every exit
    /// jumping to the first one's epilogue, which ends in a jump to the return thunk, and helper
    /// and kfunc calls as `call rel32` (their targets a stand-in `ret` after the code). No stack
    /// zeroing, no call alignment, no natives: code assembled so is for listings only, and
    /// compiling it to run is an error.
    pub kernel_image: bool,
    /// The functions callback lowering added ([`crate::lower_callbacks`]): drivers, whose
    /// frames do not count against `MAX_CALL_FRAMES`, and the exception function `bpf_throw`
    /// calls before unwinding to the entry (a program that throws is entered through the
    /// trampoline).
    pub roles: kbpf_kfunc::callbacks::FuncRoles,
}
