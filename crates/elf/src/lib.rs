//! ELF objects as clang `-target bpf` writes them, opened the way libbpf opens them, and the
//! BTF inside them.
//!
//! Owns: reading sections, symbols and relocations of a BPF object (with `object`); libbpf's
//! section table (program type, expected attach type, flags, BTF attach targets; the uapi
//! enums themselves are kbpf-isa's, re-exported from [`sections`]); the linker
//! (every function of an executable section, `.text` subprograms appended per entry point in
//! libbpf's order, func_info/line_info rebased); map definitions (BTF, legacy, global data,
//! `.kconfig`) with the loader's size defaults and overrides; externs (`.kconfig`, `.ksyms`,
//! kfuncs) against a target BTF; BTF ([`btf`]: `.BTF`, `.BTF.ext`, split module BTF, the target
//! BTF of `/sys/kernel/btf` or a file, C headers from BTF) and CO-RE relocation ([`core`], libbpf's engine).
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
pub mod externs;
pub mod kconfig;
pub mod limits;
mod link;
pub mod map_names;
pub mod maps;
mod object_file;
mod open;
mod reader;
pub mod sections;
pub mod struct_ops;
pub mod synth;

pub use link::POISON_CALL_KFUNC_BASE;
pub use object_file::{ElfError, ElfProgram, MapDef, Object};
pub use open::{KconfigSource, LoadOptions, LoadedObject, LoadedProgram, ProgError, open_object};
