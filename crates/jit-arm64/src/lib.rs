//! arm64 JIT backend: BPF to AArch64 machine code with dynasm.
//!
//! Owns: the BPF -> arm64 register map of the kernel's arm64 JIT after the stack-arguments
//! series ([`regs`]), typed immediates with encodability checks so dynasm never panics
//! ([`imms`]), the frame layout, entry trampoline and stack-argument ABI ([`abi`]), the lowering
//! of every instruction the interpreter runs (`emit`), LSE detection and instruction-cache
//! maintenance ([`host`]) and the yaxpeax-arm listing behind `kbpf jit --dump --arch arm64`,
//! which works on any host (`dump`).
//!
//! Must not touch: executable memory and frame planning (kbpf-jit), verification, other
//! architectures. Like the kernel JIT it trusts the verifier for memory safety, but nothing here
//! panics on any decoded program.
//!
//! Testing: on any host, `cargo test -p kbpf-jit-arm64` checks the emit table (golden words and
//! yaxpeax-arm text, plus an llvm-mc-19 round trip when installed), the golden dumps and the
//! compile-time errors. Generated code runs under emulation with
//! `crates/jit-arm64/qemu-test.sh [--facade]`: the execution tests, the conformance suite and
//! the interpreter differential, once on qemu's default CPU (LSE and LL/SC) and once with
//! `QEMU_CPU=cortex-a57` (no LSE, so the runtime check picks LL/SC).
#![allow(unsafe_code)]

pub mod abi;
mod dump;
mod emit;
pub mod host;
pub mod imms;
pub mod regs;

#[cfg(test)]
mod emit_tests;

use kbpf_isa::Program;
use kbpf_jit::{Assembly, Backend, JitError, JitOptions, JitProgram};
use kbpf_kfunc::Registry;

pub use dump::{disasm, disasm_word, listing};
pub use emit::{Code, EmitOptions, compile};
pub use host::{AtomicsMode, flush_icache, host_has_lse};

/// The arm64 backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Arm64 {
    /// LSE atomics or LL/SC loops (default: what the host CPU has).
    pub atomics: AtomicsMode,
}

impl Arm64 {
    /// A backend emitting the given flavour of atomics.
    pub fn with_atomics(atomics: AtomicsMode) -> Arm64 {
        Arm64 { atomics }
    }

    /// Machine code without mapping it (any host): code, entry and offset maps.
    pub fn assemble(&self, prog: &Program, registry: &Registry, opts: &JitOptions) -> Result<Code, JitError> {
        compile(prog, registry, &EmitOptions { lse: self.atomics.use_lse(), jit: opts.clone() })
    }
}

impl Backend for Arm64 {
    fn name(&self) -> &'static str {
        "arm64"
    }

    /// Compiles and maps the program. Only an aarch64 host can run the code, so elsewhere,
    /// after the program has been checked, this is an error (`dump` and [`Arm64::assemble`]
    /// work on any host).
    ///
    /// # Safety
    ///
    /// As [`Backend::compile_unverified`].
    unsafe fn compile_unverified(
        &self,
        prog: &Program,
        registry: &Registry,
        opts: &JitOptions,
    ) -> Result<JitProgram, JitError> {
        let code = self.assemble(prog, registry, opts)?;
        if cfg!(not(target_arch = "aarch64")) {
            return Err(JitError::Unsupported { pc: 0, what: "running arm64 code on a non-arm64 host" });
        }
        // SAFETY: the emitter produced a trampoline with the `Entry` signature at `code.entry`
        // and code whose runs are sound exactly when `prog`'s are, which our caller guarantees.
        let jp = unsafe {
            JitProgram::new(&code.bytes, code.entry, code.insn_offsets, code.func_offsets, Vec::new())?
        };
        // SAFETY: without the trampoline no generated code reads the run context
        // (`kbpf_jit::needs_run_ctx`).
        let jp = if code.run_ctx { jp } else { unsafe { jp.without_run_ctx() } };
        // The code was written through a data mapping: make instruction fetch see it.
        flush_icache(jp.code());
        Ok(jp)
    }

    fn dump(&self, prog: &Program, registry: &Registry, opts: &JitOptions) -> Result<String, JitError> {
        let code = self.assemble(prog, registry, opts)?;
        Ok(listing(prog, registry, &code))
    }

    fn assemble_code(
        &self,
        prog: &Program,
        registry: &Registry,
        opts: &JitOptions,
    ) -> Result<Assembly, JitError> {
        let c = self.assemble(prog, registry, opts)?;
        Ok(Assembly { code: c.bytes, insn_offsets: c.insn_offsets, func_offsets: c.func_offsets })
    }

    fn disasm_objdump(&self, code: &[u8]) -> Vec<(usize, usize, String)> {
        dump::objdump(code)
    }
}
