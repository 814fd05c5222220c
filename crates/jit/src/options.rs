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

/// Compilation options.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct JitOptions {
    /// Stack sizing policy.
    pub stack_depth: StackDepth,
}
