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
/// kernel's `int` offset) of the input buffer; `u64::MAX` when out of bounds (no in-bounds
/// result of at most 4 bytes can be that).
pub(crate) extern "C" fn ld_abs_load(mem: u64, len: u64, off: u64, size: u64) -> u64 {
    let off = off as u32 as i32;
    if off < 0 || mem == 0 {
        return u64::MAX;
    }
    let off = off as u64;
    if size > 8 || off.checked_add(size).is_none_or(|end| end > len) {
        return u64::MAX;
    }
    // SAFETY: `mem..mem+len` is the caller's input slice (RunCtx filled by JitProgram::execute)
    // and `off + size <= len` was checked above.
    let bytes = unsafe { std::slice::from_raw_parts((mem + off) as *const u8, size as usize) };
    bytes.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64)
}
