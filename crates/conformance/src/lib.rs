//! The bpf_conformance suite's test format: the `.data` file parser and an assembler for its
//! assembly dialect (`mov %r0, 1`, `ldxw %r0, [%r1+4]`, `lock fetch add [%r10-8], %r1`,
//! `call local label`, `call %r2`, ...), as the suite's README describes.
//!
//! The suite itself is not part of kbpf: [`suite_dir`] finds it through `KBPF_CONFORMANCE_DIR`
//! (default `<workspace>/../shared/conformance/bpf_conformance`).
//!
//! Owns: turning a `.data` file into a [`TestCase`] and its program into raw slots or decoded
//! [`kbpf_isa::Insn`]s. Used by the interpreter's tests and by the xtask conformance runner.
//!
//! Must not touch: execution (engines), the kernel/LLVM assembly syntax (`kbpf_isa::asm`).

mod dialect;
mod location;
mod parse;
mod suite;

pub use dialect::{AsmError, assemble_dialect, assemble_dialect_raw};
pub use location::{HOW_TO_GET, SUITE_COMMIT, SUITE_DIR_ENV, suite_dir, suite_missing};
pub use parse::{ParseError, TestCase, parse};
pub use suite::{SuiteFile, Verdict, format_hex_bytes, parse_hex_bytes, read_suite, run_suite};
