//! The x86_64 JIT backend.
//!
//! Owns: instruction selection for x86_64 with dynasm (`emit`, `alu`, `mem`), the kernel's
//! register map (`regs`), frames, calls and stack arguments per stack-args.md §5.1 (`abi`), and
//! the iced-x86 listing behind `kbpf jit --dump` (`dump`).
//!
//! Must not touch: executable memory and frame planning (kbpf-jit), verification, the
//! interpreter. It trusts its input like the kernel JIT trusts the verifier: memory accesses are
//! not bounds-checked (the verifier's job), but nothing here panics on any decoded program.
#![allow(unsafe_code)]
// dynasm expands register operands to `.into()` calls on u8.
#![allow(clippy::useless_conversion)]

pub mod abi;
mod alu;
mod dump;
mod emit;
mod enc;
mod mem;
pub mod regs;

#[cfg(test)]
mod emit_tests;

use kbpf_isa::Program;
use kbpf_jit::{Assembly, Backend, JitError, JitOptions, JitProgram};
use kbpf_kfunc::Registry;

pub use dump::disasm_range;

/// The x86_64 backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct X86_64;

impl X86_64 {
    /// Machine code without mapping it: `(code, per-instruction offsets)`; used by tests and
    /// compile-time measurements.
    pub fn assemble(
        &self,
        prog: &Program,
        registry: &Registry,
        opts: &JitOptions,
    ) -> Result<(Vec<u8>, Vec<u32>), JitError> {
        let a = emit::assemble(prog, registry, opts)?;
        Ok((a.code, a.insn_offsets))
    }
}

impl Backend for X86_64 {
    fn name(&self) -> &'static str {
        "x86_64"
    }

    unsafe fn compile_unverified(
        &self,
        prog: &Program,
        registry: &Registry,
        opts: &JitOptions,
    ) -> Result<JitProgram, JitError> {
        if opts.kernel_image {
            return Err(JitError::Link("the kernel's image layout is for listings, not runs".into()));
        }
        let a = emit::assemble(prog, registry, opts)?;
        // SAFETY: the emitter produced a trampoline with the `Entry` signature at `a.entry` and
        // code whose runs are sound exactly when `prog`'s are, which our caller guarantees.
        let code = unsafe { JitProgram::new(&a.code, a.entry, a.insn_offsets, a.func_offsets, a.data)? };
        // SAFETY: without the trampoline no generated code reads the run context
        // (`kbpf_jit::needs_run_ctx`).
        Ok(if a.run_ctx { code } else { unsafe { code.without_run_ctx() } })
    }

    fn dump(&self, prog: &Program, registry: &Registry, opts: &JitOptions) -> Result<String, JitError> {
        let a = emit::assemble(prog, registry, opts)?;
        Ok(dump::listing(prog, registry, &a))
    }

    fn assemble_code(
        &self,
        prog: &Program,
        registry: &Registry,
        opts: &JitOptions,
    ) -> Result<Assembly, JitError> {
        let mut a = emit::assemble(prog, registry, opts)?;
        // the kernel's image ends with its last function (calls and jumps out lead past it)
        if let Some(n) = a.image_len {
            a.code.truncate(n);
        }
        Ok(Assembly { code: a.code, insn_offsets: a.insn_offsets, func_offsets: a.func_offsets })
    }

    fn disasm_objdump(&self, code: &[u8]) -> Vec<(usize, usize, String)> {
        dump::objdump(code)
    }
}

/// LD_ABS/LD_IND: big-endian load of `size` bytes at `off` (the low 32 bits, signed, as the
/// kernel's `int` offset) of the run's packet ([`kbpf_jit::RunCtx::ld_abs_addr`]); `u64::MAX`
/// when out of bounds (no in-bounds result of at most 4 bytes can be that).
pub(crate) extern "C" fn ld_abs_load(run: u64, off: u64, size: u64) -> u64 {
    if run == 0 || size > 8 {
        return u64::MAX;
    }
    // SAFETY: `run` is the generated code's `RunCtx` pointer, live for the whole run.
    let run = unsafe { &*(run as *const kbpf_jit::RunCtx) };
    let Some(from) = run.ld_abs_addr(off as u32 as i32, size) else { return u64::MAX };
    // SAFETY: `ld_abs_addr` keeps the load inside the buffers `JitProgram::execute*` described
    // in the `RunCtx` (the input slice, or an skb frame from its headers to its tail).
    let bytes = unsafe { std::slice::from_raw_parts(from as *const u8, size as usize) };
    bytes.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64)
}
