//! kbpf: the Linux BPF verifier and JITs as a userspace library.
//!
//! This facade owns nothing but composition: reading a program from its file form, verifying
//! it, choosing an engine (interpreter or the host's JIT backend) and running it under the
//! shared execution contract (docs/interfaces.md). Each subsystem lives in its own crate,
//! re-exported here.
//!
//! The embedding API, step by step (each type's docs have a runnable example):
//! [`Linker`] (host functions as closures, for the verifier and both engines), [`Object`]
//! (bytes, assembly or an ELF object), [`Object::program`] (a [`Prog`] by name),
//! [`Prog::verify`] with a [`VerifyConfig`] into a [`VerifiedProgram`],
//! [`VerifiedProgram::compile`] into a [`Handle`], [`Handle::run`] / [`Handle::run_packet`]
//! as often as needed, and [`Handle::map`] for typed map access from the host.
//!
//! It decides verify-before-run: native code runs only from a [`VerifiedProgram`]; running
//! unverified is explicit: [`Prog::load_unverified`] (safe, interpreter only) or the `unsafe`
//! [`Prog::compile_unverified`].
//!
//! Must not touch: instruction semantics, verification rules, code generation.
#![allow(unsafe_code)] // only at the JIT boundary: `Prepared` and its callers, each with a SAFETY note

mod callbacks;
mod ctx_model;
mod embed;
mod engine;
mod guard;
mod handle;
mod host;
mod kernel_config;
mod layout;
mod libbpf_log;
mod maps;
mod mapview;
mod prepared;
mod sections;
mod source;
mod target_kfuncs;
mod test_run;
mod timers;
mod verify;

pub use embed::{CompileOptions, Kernel, Object, Prog, VerifiedProgram, VerifyConfig, VerifyFailed};
pub use engine::{Arch, Engine, RunError, RunOptions, backend, host_backend};
pub use guard::{Unsupported, check_call, check_engine, verify_for_engine};
pub use handle::Handle;
pub use host::{HOST_KFUNC_BASE_ID, IntoHostFn, LinkError, Linker, MAX_HOST_FNS};
pub use kbpf_elf::{KconfigSource, LoadOptions, LoadedObject, LoadedProgram, ProgError, open_object};
pub use kernel_config::{kernel_config, running_kernel_config};
pub use maps::{create_maps, resolve_maps};
pub use mapview::{MapData, MapView};
pub use source::{
    ElfFacts, Module, ProgSelect, SourceError, SourceKind, module_from_asm, module_from_object, parse_hex,
    read_module, read_module_with, read_program, read_raw_slots,
};

pub use kbpf_elf as elf;
pub use kbpf_interp as interp;
pub use kbpf_isa as isa;
pub use kbpf_jit as jit;
pub use kbpf_kfunc as kfunc;
pub use kbpf_verifier as verifier;
pub use layout::kernel_layout;
pub use libbpf_log::{Poisons, libbpf_error_line};
pub use sections::{
    AttachType, KernelProgType, ProgTypeError, SUPPORTED_PROG_TYPES, attach_type_by_name,
    kernel_prog_type_by_name, kernel_prog_type_for_section, modelled, modelled_type, prog_type_by_name,
    prog_type_for_section,
};
pub use test_run::{
    CtxLayout, PacketCtx, TestRunError, TestRunOutcome, convert_ctx_accesses, pkt_v4, test_run,
};
pub use verify::{kfunc_table, verify_module, with_target_kfuncs};
