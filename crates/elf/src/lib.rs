//! ELF objects as clang `-target bpf` writes them, and the BTF inside them.
//!
//! Owns: reading sections, symbols and relocations of a BPF object (with `object`), linking each
//! program with the `.text` subprograms it calls, resolving map and global-data references to
//! map indices, and BTF (`.BTF`, `.BTF.ext` func_info, `/sys/kernel/btf/vmlinux`) parsing.
//!
//! Must not touch: verification or execution. The result is plain data: raw instruction slots,
//! function declarations and map definitions.

pub mod btf;
mod object_file;
mod reader;

pub use object_file::{ElfError, ElfProgram, MapDef, Object};
