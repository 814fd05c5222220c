//! arm64 JIT backend: BPF to AArch64 machine code with dynasm.
//!
//! Owns: the BPF -> arm64 register map ([`regs`]), typed immediates with encodability checks
//! ([`imms`]), the frame layout and stack-argument ABI ([`abi`]), the lowering of every
//! instruction the interpreter runs ([`emit`]), LSE detection and instruction-cache
//! maintenance ([`host`]) and a yaxpeax-arm disassembler for dumps on any host ([`dump`]).
//!
//! Must not touch: verification, executable-memory management beyond the icache flush, and
//! other architectures.
#![allow(unsafe_code)]

pub mod abi;
pub mod dump;
pub mod emit;
pub mod error;
pub mod host;
pub mod imms;
pub mod regs;

#[cfg(test)]
mod emit_tests;

pub use emit::{Code, EmitOptions, compile};
pub use error::EmitError;
pub use host::{AtomicsMode, flush_icache, host_has_lse};
