//! What the facade's suites share: a module verified the way a plain run verifies it (the
//! input buffer is the context unless the options name a type) and compiled into a handle.
#![allow(dead_code)]

use kbpf::kfunc::Registry;
use kbpf::verifier::ProgType;
use kbpf::{
    CompileOptions, Engine, Handle, Kernel, Linker, Module, Prog, RunError, RunOptions, VerifyConfig,
};

/// Verifies `m` with `registry`'s functions for a context of `ctx_len` bytes (or
/// `opts.prog_type`) and compiles it for `engine`.
pub fn handle(
    m: &Module,
    engine: Engine,
    registry: &Registry,
    ctx_len: usize,
    opts: RunOptions,
) -> Result<Handle, RunError> {
    let linker = Linker::with_registry(registry.clone());
    let config = VerifyConfig {
        prog_type: Some(opts.prog_type.unwrap_or(ProgType::Mem { ctx_size: ctx_len as u32 })),
        kernel: if opts.without_stack_args { Kernel::V6_18 } else { Kernel::V6_18StackArgs },
        allow_global_stack_args: opts.allow_global_stack_args,
        kernel_interpreter: opts.kernel_compat && engine == Engine::Interp,
        ..VerifyConfig::default()
    };
    let verified = Prog::from(m.clone()).verify(&linker, &config).map_err(|e| e.reason)?;
    verified.compile_with(engine, &CompileOptions { insn_budget: opts.insn_budget, ..Default::default() })
}

/// One verified run on a fresh handle: r0 and the handle (its maps).
pub fn run_once(
    m: &Module,
    engine: Engine,
    registry: &Registry,
    mem: &mut [u8],
    opts: RunOptions,
) -> Result<(u64, Handle), RunError> {
    let h = handle(m, engine, registry, mem.len(), opts)?;
    Ok((h.run(mem)?, h))
}

/// One run on the interpreter without verification.
pub fn run_unverified(
    m: &Module,
    registry: &Registry,
    mem: &mut [u8],
    opts: RunOptions,
) -> Result<u64, RunError> {
    let linker = Linker::with_registry(registry.clone());
    let copts = CompileOptions { insn_budget: opts.insn_budget, kernel_interpreter: opts.kernel_compat };
    Prog::from(m.clone()).load_unverified(&linker, &copts)?.run(mem)
}

/// `src` (kbpf assembly) read as a module with `registry`'s functions, through a temporary file.
pub fn asm_module(src: &str, registry: &Registry) -> Module {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let path = std::env::temp_dir().join(format!(
        "kbpf-test-{}-{}.s",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, src).unwrap();
    let m = kbpf::read_module(&path, kbpf::SourceKind::Asm, registry, None).unwrap();
    let _ = std::fs::remove_file(&path);
    m
}
