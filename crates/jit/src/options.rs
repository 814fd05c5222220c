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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TailCallHook {
    /// First argument of `resolve` (the run's tail-call state).
    pub ctx: u64,
    /// Address of the `extern "C" fn(ctx, map, index) -> u64` resolver.
    pub resolve: u64,
}

/// Compilation options.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct JitOptions {
    /// Stack sizing policy.
    pub stack_depth: StackDepth,
    /// Tail-call support; without it a `bpf_tail_call` is a compile error (the helper has no
    /// native).
    pub tail_call: Option<TailCallHook>,
}
