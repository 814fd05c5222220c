//! ELF objects as clang `-target bpf` writes them, and the BTF inside them.
//!
//! Owns: reading sections, symbols and relocations of a BPF object (with `object`), linking each
//! program with the `.text` subprograms it calls, resolving map and global-data references to
//! map indices, and BTF ([`btf`]: the type model, `.BTF`, `.BTF.ext` func_info/line_info/CO-RE
//! records, split module BTF, the target BTF of `/sys/kernel/btf` or a file), and CO-RE
//! relocation of program instructions against a target BTF ([`core`], libbpf's engine).
//!
//! Every size the file claims (sections, map keys and values, symbols, relocation offsets)
//! is checked against the file and the kernel's limits before anything is allocated for it.
//!
//! Must not touch: verification or execution. The result is plain data: raw instruction slots,
//! function declarations and map definitions. [`btf`] stays free of ELF (`object`) types in its
//! API, so that BTF can be used without an object file.

pub mod btf;
pub mod btf_fixup;
pub mod core;
pub mod limits;
mod object_file;
mod reader;
pub mod synth;

pub use object_file::{ElfError, ElfProgram, MapDef, Object};
